//! Strings from outside (GGUF metadata, model refs, pool files) reach a
//! terminal inert: in human output on stdout and stderr, control
//! characters (C0, DEL, C1) and bidirectional overrides are escaped, so
//! a file cannot clear the screen, recolour it, set the window title or
//! the clipboard (OSC), or reorder what is shown. JSON output keeps the
//! exact strings (JSON escapes them itself).

use model_provisioner::gguf::{GgufValue, GgufWriter};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Clear screen, red, a C1 CSI, a clipboard write (OSC 52) ended by BEL,
/// a right-to-left override, DEL.
const HOSTILE: &str =
    "\u{1b}[2J\u{1b}[31m X \u{9b}1m\u{1b}]52;c;cHduZWQ=\u{7} \u{202e}gnp.exe\u{7f}";

/// Characters that must never reach a terminal from outside text.
fn is_live(c: char) -> bool {
    (c.is_control() && c != '\n') || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Panics when `bytes` (human output) holds a live character.
fn assert_inert(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    if let Some((i, c)) = text.char_indices().find(|&(_, c)| is_live(c)) {
        panic!("{what} carries {c:?} at byte {i}:\n{text:?}");
    }
}

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn run(&self, args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_provision"));
        for a in args {
            cmd.arg(a.as_ref());
        }
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.path("home"))
            .env("PROVISION_CATALOG", self.path("data/catalog.sqlite"))
            .env("HF_HUB_CACHE", self.path("hub"))
            .env("HF_HUB_OFFLINE", "1")
            .stdin(Stdio::null())
            .output()
            .expect("provision runs")
    }
}

/// A GGUF whose architecture and name are [`HOSTILE`].
fn hostile_gguf(path: &Path) {
    let s = |v: &str| GgufValue::String(v.to_string());
    let mut w = GgufWriter::new();
    w.add_kv("general.architecture", s(&format!("llama{HOSTILE}")))
        .and_then(|w| w.add_kv("general.name", s(HOSTILE)))
        .and_then(|w| w.add_tensor_f32("t", &[4], &[0.0; 4]))
        .expect("metadata");
    w.write_file(path).expect("write gguf");
}

#[test]
fn hostile_gguf_metadata_is_escaped_in_human_output_and_exact_in_json() {
    let env = Env::new();
    let model = env.path("hostile.gguf");
    hostile_gguf(&model);
    let id = format!("file:{}", model.display());

    for args in [
        vec![&"model" as &dyn AsRef<std::ffi::OsStr>, &model],
        vec![&"gguf", &model],
        vec![&"gguf", &"--metadata", &model],
        vec![&"catalog", &"show", &id],
    ] {
        let out = env.run(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_inert("stdout", &out.stdout);
        assert_inert("stderr", &out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("\\u{1b}[2J"),
            "the name is shown, escaped: {stdout}"
        );
    }

    let out = env.run(&[&"--json", &"--log-format", &"json", &"model", &model]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let resolved: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(
        resolved["gguf"]["name"], HOSTILE,
        "JSON keeps the exact name"
    );
    let complete = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|n| n["action"] == "complete")
        .expect("a complete narration");
    assert!(
        complete["human"]
            .as_str()
            .is_some_and(|h| h.contains(HOSTILE)),
        "JSON narration keeps the exact architecture: {complete}"
    );
}

#[test]
fn a_hostile_ref_is_escaped_in_narration_and_the_error_line() {
    let env = Env::new();
    for format in ["human", "json"] {
        let bad = format!("hf:org/{HOSTILE}/x.gguf");
        let out = env.run(&[&"--log-format", &format, &"model", &bad]);
        assert!(!out.status.success());
        assert_inert(&format!("stdout ({format} logs)"), &out.stdout);
        // The error line is human whatever the log format; JSON lines
        // escape control characters themselves (not bidi overrides, which
        // are not live in a JSON string).
        let stderr = String::from_utf8_lossy(&out.stderr);
        let human: Vec<&str> = stderr
            .lines()
            .filter(|l| format == "human" || l.starts_with("provision: error:"))
            .collect();
        assert_inert(
            &format!("stderr ({format} logs)"),
            human.join("\n").as_bytes(),
        );
        assert!(stderr.contains("provision: error:"), "{stderr}");
    }
}

#[test]
fn a_hostile_pool_file_is_escaped_in_the_error_line() {
    let env = Env::new();
    let pool = env.path("pool.toml");
    std::fs::write(
        &pool,
        format!("id = \"{HOSTILE}\"\nengine = \"llamacpp\"\n"),
    )
    .expect("write");
    for args in [
        vec![&"engine" as &dyn AsRef<std::ffi::OsStr>, &pool, &"--plan"],
        vec![&"engine", &pool],
        vec![&"doctor", &"--offline", &pool],
    ] {
        let out = env.run(&args);
        assert!(!out.status.success());
        assert_inert("stdout", &out.stdout);
        assert_inert("stderr", &out.stderr);
    }
}
