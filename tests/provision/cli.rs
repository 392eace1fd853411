//! The `provision` binary, run as a user would: every verb, exit codes,
//! `--json` shapes, the narration line format on stderr, and bad input.
//!
//! Each test gets its own catalog, caches and HOME, and no network: the
//! only models are the committed tiny GGUF and copies of it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, SystemTime};

use serde_json::Value;

const TINY_DIGEST: &str = "sha256:13d1380edc9c49f2eb9c06e13ac4d954ae4edc7fb30fefd08cb57f77667621bd";

fn tiny() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/tiny-llama.gguf")
}

/// An isolated environment for the binary.
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

    fn catalog(&self) -> PathBuf {
        self.path("data/catalog.sqlite")
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_provision"));
        cmd.args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("HOME", self.path("home"))
            .env("PROVISION_CATALOG", self.catalog())
            .env("HF_HUB_CACHE", self.path("hub"))
            .env("HF_HUB_OFFLINE", "1")
            .env("HF_ENDPOINT", "http://127.0.0.1:9")
            .env_remove("RUST_LOG")
            .env_remove("HF_TOKEN")
            .env_remove("HF_HOME")
            .env_remove("XDG_CACHE_HOME")
            .env_remove("XDG_DATA_HOME")
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .env_remove("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")
            .env_remove("PROVISION_METRICS_FILE")
            .env_remove("TRACEPARENT");
        cmd
    }

    fn run(&self, args: &[&str]) -> Run {
        Run(self.cmd(args).output().expect("the binary runs"))
    }

    /// A private copy of the tiny model with an old mtime.
    fn model_copy(&self, name: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::copy(tiny(), &path).expect("copy model");
        let past = SystemTime::now() - Duration::from_secs(3600);
        let file = std::fs::File::options()
            .write(true)
            .open(&path)
            .expect("open");
        file.set_modified(past).expect("set mtime");
        path
    }
}

struct Run(Output);

impl Run {
    fn code(&self) -> i32 {
        self.0.status.code().expect("exited normally")
    }
    fn stdout(&self) -> String {
        String::from_utf8(self.0.stdout.clone()).expect("utf-8 stdout")
    }
    fn stderr(&self) -> String {
        String::from_utf8(self.0.stderr.clone()).expect("utf-8 stderr")
    }
    fn json(&self) -> Value {
        serde_json::from_slice(&self.0.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}): {}", self.stdout()))
    }
    fn ok(self) -> Self {
        assert_eq!(self.code(), 0, "stderr: {}", self.stderr());
        self
    }
    /// Exit 1 with exactly one `provision: error:` line, last on stderr,
    /// that contains `needle`.
    fn fails_with(self, needle: &str) -> Self {
        let stderr = self.stderr();
        assert_eq!(self.code(), 1, "stderr: {stderr}");
        let errors: Vec<&str> = stderr
            .lines()
            .filter(|l| l.starts_with("provision: error: "))
            .collect();
        assert_eq!(errors.len(), 1, "one error line: {stderr}");
        assert_eq!(
            stderr.lines().last(),
            Some(errors[0]),
            "the error comes last: {stderr}"
        );
        assert!(
            errors[0].contains(needle),
            "{:?} not in {}",
            needle,
            errors[0]
        );
        assert!(
            !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
            "{stderr}"
        );
        assert!(
            self.stdout().is_empty(),
            "no result on failure: {}",
            self.stdout()
        );
        self
    }
}

// ---------------------------------------------------------------- help

#[test]
fn help_shows_the_defaults_from_the_environment() {
    let env = Env::new();
    let top = env.run(&["--help"]).ok().stdout();
    for needle in [
        "model",
        "engine",
        "catalog",
        "gguf",
        "--json",
        "--log-format",
        "--quiet",
        "PROVISION_CATALOG",
        "HF_HUB_CACHE",
        "RUST_LOG",
    ] {
        assert!(top.contains(needle), "{needle} missing from --help:\n{top}");
    }
    let model = env.run(&["model", "--help"]).ok().stdout();
    let hub = env.path("hub");
    assert!(
        model.contains(&format!("[default: {}]", hub.display())),
        "{model}"
    );
    assert!(
        model.contains(&format!("[default: {}]", env.catalog().display()))
            || model.contains("PROVISION_CATALOG"),
        "{model}"
    );

    let mut cmd = env.cmd(&["catalog", "--help"]);
    cmd.env_remove("PROVISION_CATALOG")
        .env("XDG_DATA_HOME", env.path("xdg"));
    let out = Run(cmd.output().expect("runs")).ok().stdout();
    let want = env.path("xdg/provision/catalog.sqlite");
    assert!(
        out.contains(&format!("[default: {}]", want.display())),
        "{out}"
    );
}

#[test]
fn usage_errors_exit_2() {
    let env = Env::new();
    for args in [
        &["bogus"][..],
        &["model"],
        &["gguf"],
        &["catalog", "frobnicate"],
        &["model", "x", "--nope"],
        &["-q", "-v", "gguf", "x"],
    ] {
        let run = env.run(args);
        assert_eq!(run.code(), 2, "{args:?}: {}", run.stderr());
        assert!(run.stdout().is_empty());
    }
    assert_eq!(
        env.run(&["--version"]).ok().stdout().trim(),
        format!("provision {}", env!("CARGO_PKG_VERSION"))
    );
}

// ---------------------------------------------------------------- gguf

#[test]
fn gguf_prints_a_human_summary() {
    let env = Env::new();
    let out = env.run(&["gguf", "examples/tiny-llama.gguf"]).ok();
    let text = out.stdout();
    for line in [
        "file             examples/tiny-llama.gguf",
        "architecture     llama",
        "context length   2048",
        "block count      2",
        "quantization     F32 (file type 0)",
        "tensors          21",
        "size             479.7 KiB (491168 bytes)",
    ] {
        assert!(text.lines().any(|l| l == line), "{line:?} missing:\n{text}");
    }
    assert!(
        out.stderr().is_empty(),
        "reading a header narrates nothing: {}",
        out.stderr()
    );
}

#[test]
fn gguf_json_is_the_summary_with_the_path() {
    let env = Env::new();
    let v = env
        .run(&["gguf", "--json", "examples/tiny-llama.gguf"])
        .ok()
        .json();
    assert_eq!(v["path"], "examples/tiny-llama.gguf");
    assert_eq!(v["architecture"], "llama");
    assert_eq!(v["name"], "tiny-llama");
    assert_eq!(v["context_length"], 2048);
    assert_eq!(v["block_count"], 2);
    assert_eq!(v["embedding_length"], 64);
    assert_eq!(v["file_type"], 0);
    assert_eq!(v["quantization"], "F32");
    assert_eq!(v["tensor_count"], 21);
    assert_eq!(v["version"], 3);
    assert_eq!(v["file_size"], 491168);
    assert!(v.get("metadata").is_none());

    let v = env
        .run(&["gguf", "--json", "--metadata", "examples/tiny-llama.gguf"])
        .ok()
        .json();
    assert_eq!(v["metadata"]["tokenizer.ggml.model"], "llama");
    assert_eq!(v["metadata"]["tokenizer.ggml.tokens"]["len"], 300);
    assert_eq!(v["metadata"]["tokenizer.ggml.tokens"]["head"][1], "<s>");
    assert_eq!(v["metadata"]["llama.rope.dimension_count"], 16);
}

#[test]
fn gguf_json_metadata_keeps_nan_and_infinities_in_float_arrays() {
    use model_provisioner::gguf::{GgufArray, GgufValue, GgufWriter};
    let env = Env::new();
    let file = env.path("floats.gguf");
    let mut w = GgufWriter::new();
    w.add_kv(
        "test.f32s",
        GgufValue::Array(GgufArray::F32(vec![
            1.5,
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
        ])),
    )
    .and_then(|w| {
        w.add_kv(
            "test.f64s",
            GgufValue::Array(GgufArray::F64(vec![f64::NEG_INFINITY, 0.25, f64::NAN])),
        )
    })
    .expect("metadata");
    w.write_file(&file).expect("write gguf");
    let path = file.to_str().expect("utf-8");

    let v = env.run(&["gguf", "--json", "--metadata", path]).ok().json();
    let head = |key: &str| v["metadata"][key]["head"].clone();
    assert_eq!(
        head("test.f32s"),
        serde_json::json!([1.5, "NaN", "inf", "-inf"])
    );
    assert_eq!(head("test.f64s"), serde_json::json!(["-inf", 0.25, "NaN"]));

    let text = env.run(&["gguf", "--metadata", path]).ok().stdout();
    assert!(
        text.contains(r#"test.f32s = [4 × F32] [1.5, "NaN", "inf", "-inf"]"#),
        "{text}"
    );
}

#[test]
fn gguf_refuses_bad_files_in_one_line() {
    let env = Env::new();
    env.run(&["gguf", "Cargo.toml"])
        .fails_with("Cargo.toml is not a GGUF file");
    env.run(&["gguf", "no/such.gguf"])
        .fails_with("no/such.gguf");
    let cut = env.path("cut.gguf");
    let bytes = std::fs::read(tiny()).expect("read");
    std::fs::write(&cut, &bytes[..5000]).expect("write");
    env.run(&["gguf", cut.to_str().expect("utf-8")])
        .fails_with("is truncated");
}

/// The tensors as gguf-py (llama.cpp's reference reader) lists them:
/// `[name, type name, shape, data offset, bytes]`.
const PYTHON_TENSORS: &str = r#"
import sys, json
import gguf
r = gguf.GGUFReader(sys.argv[1])
print(json.dumps([[t.name, t.tensor_type.name, [int(d) for d in t.shape],
                   int(t.data_offset), int(t.n_bytes)] for t in r.tensors]))
"#;

/// True when python3 can import the reference `gguf` package; under
/// CI=true a missing reference is a failure, elsewhere the test is skipped.
fn python_gguf_available() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import gguf"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but python3 with the gguf package is missing (pip install gguf)"
        );
        eprintln!("skipping: python3 with the gguf package is missing (pip install gguf)");
    }
    ok
}

#[test]
fn gguf_tensors_match_the_python_reference_reader() {
    if !python_gguf_available() {
        return;
    }
    let env = Env::new();
    let ours = env
        .run(&["gguf", "--json", "--tensors", "examples/tiny-llama.gguf"])
        .ok()
        .json();
    let py = Command::new("python3")
        .args(["-c", PYTHON_TENSORS])
        .arg(tiny())
        .output()
        .expect("python3 runs");
    assert!(
        py.status.success(),
        "{}",
        String::from_utf8_lossy(&py.stderr)
    );
    let theirs: Value = serde_json::from_slice(&py.stdout).expect("python printed JSON");
    let ours = ours.as_array().expect("a JSON array");
    let theirs = theirs.as_array().expect("a JSON array");
    assert_eq!(ours.len(), 21);
    assert_eq!(ours.len(), theirs.len());
    for (o, t) in ours.iter().zip(theirs) {
        let row = serde_json::json!([
            o["name"],
            o["type"],
            o["shape"],
            o["data_offset"],
            o["size"]
        ]);
        assert_eq!(&row, t);
    }
}

/// A copy of the tiny model whose first tensor has the ggml type `id`.
fn with_first_tensor_type(env: &Env, name: &str, id: u32) -> PathBuf {
    let path = env.model_copy(name);
    let mut bytes = std::fs::read(&path).expect("read");
    let header =
        model_provisioner::gguf::read_header(std::io::Cursor::new(&bytes)).expect("header");
    let first = &header.tensors[0];
    // A tensor info: u64 name length, the name, u32 dim count, u64 per dim,
    // then the u32 type.
    let mut key = (first.name.len() as u64).to_le_bytes().to_vec();
    key.extend_from_slice(first.name.as_bytes());
    let at = bytes
        .windows(key.len())
        .position(|w| w == key.as_slice())
        .expect("tensor info found")
        + key.len()
        + 4
        + 8 * first.dims.len();
    bytes[at..at + 4].copy_from_slice(&id.to_le_bytes());
    std::fs::write(&path, &bytes).expect("write");
    let file = std::fs::File::options()
        .write(true)
        .open(&path)
        .expect("open");
    file.set_modified(SystemTime::now() - Duration::from_secs(3600))
        .expect("set mtime");
    path
}

#[test]
fn gguf_tensors_table_shows_an_unknown_type_by_its_id() {
    let env = Env::new();
    let path = with_first_tensor_type(&env, "odd.gguf", 250);
    let path = path.to_str().expect("utf-8");
    let text = env.run(&["gguf", "--tensors", path]).ok().stdout();
    let header = text.lines().next().expect("a header line");
    assert!(header.starts_with("NAME"), "{text}");
    assert_eq!(text.lines().count(), 22, "{text}");
    let first = text.lines().nth(1).expect("first tensor");
    assert!(
        first.starts_with("token_embd.weight") && first.contains("unknown(250)"),
        "{first}"
    );
    let v = env.run(&["gguf", "--json", "--tensors", path]).ok().json();
    assert_eq!(v[0]["type"], "unknown(250)");
    assert_eq!(v[0]["type_id"], 250);
    assert_eq!(
        v[0]["size"],
        Value::Null,
        "size unknown for an unknown type"
    );
    assert_eq!(v[1]["type"], "F32");
}

#[test]
fn model_with_an_unknown_tensor_type_is_provisioned_with_a_warning() {
    let env = Env::new();
    let path = with_first_tensor_type(&env, "odd.gguf", 250);
    let out = env
        .run(&[
            "--log-format",
            "json",
            "model",
            path.to_str().expect("utf-8"),
        ])
        .ok();
    let warnings: Vec<Value> = out
        .stderr()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .filter(|l| l["action"] == "inspect-warning")
        .collect();
    assert_eq!(warnings.len(), 1, "{}", out.stderr());
    assert_eq!(warnings[0]["level"], "WARN");
    assert_eq!(warnings[0]["error_kind"], "unknown-tensor-type");
    let human = warnings[0]["human"].as_str().expect("human");
    assert!(
        human.contains("unknown(250)") && human.contains("token_embd.weight"),
        "{human}"
    );
    // The plain model has nothing to warn about.
    let plain = env
        .run(&["--log-format", "json", "model", "examples/tiny-llama.gguf"])
        .ok();
    assert!(
        !plain.stderr().contains("inspect-warning"),
        "{}",
        plain.stderr()
    );
}

// ---------------------------------------------------------------- model

#[test]
fn model_with_digest_narrates_each_step_and_prints_the_result() {
    let env = Env::new();
    let out = env
        .run(&["model", "examples/tiny-llama.gguf", "--digest", TINY_DIGEST])
        .ok();
    let stdout = out.stdout();
    assert!(
        stdout
            .lines()
            .any(|l| l == format!("digest           {TINY_DIGEST}")),
        "{stdout}"
    );
    assert!(
        stdout.lines().any(|l| l == "architecture     llama"),
        "{stdout}"
    );
    let stderr = out.stderr();
    let actions: Vec<&str> = stderr
        .lines()
        .map(|l| {
            let rest = l
                .strip_prefix("[model-provisioner] ")
                .unwrap_or_else(|| panic!("not a narration line: {l:?}"));
            rest.split(':').next().expect("action")
        })
        .collect();
    assert_eq!(
        actions,
        [
            "resolve", "ensure", "verify", "verified", "register", "complete"
        ],
        "{stderr}"
    );
}

#[test]
fn model_json_is_one_resolved_model_and_a_warm_run_skips_hashing() {
    let env = Env::new();
    let model = env.model_copy("m.gguf");
    // A fingerprint is trusted only once the file's ctime (which cannot be
    // set back) is older than the 2 s racy window.
    std::thread::sleep(Duration::from_millis(2200));
    let path = model.to_str().expect("utf-8");
    let v = env.run(&["model", "--json", path]).ok().json();
    assert_eq!(v["id"], format!("file:{path}"));
    assert_eq!(v["local_path"], path);
    assert_eq!(v["digest"], TINY_DIGEST);
    assert_eq!(v["size_bytes"], 491168);
    assert_eq!(v["gguf"]["architecture"], "llama");
    assert_eq!(v["gguf"]["quantization"], "F32");
    assert_eq!(v["verification"], "hashed");

    let warm = env
        .run(&["model", "--json", path, "--digest", TINY_DIGEST])
        .ok();
    assert_eq!(warm.json()["verification"], "fingerprint");
    assert!(
        warm.stderr().contains("[model-provisioner] cache-hit: "),
        "{}",
        warm.stderr()
    );
}

#[test]
fn log_format_json_writes_one_json_object_per_stderr_line() {
    let env = Env::new();
    let out = env
        .run(&["model", "--log-format", "json", "examples/tiny-llama.gguf"])
        .ok();
    let lines: Vec<Value> = out
        .stderr()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(lines.len() >= 5);
    for l in &lines {
        assert_eq!(l["actor"], "model-provisioner");
        assert_eq!(l["level"], "INFO");
        assert!(
            l["action"].is_string() && l["human"].is_string() && l["correlation_id"].is_string()
        );
    }
    assert_eq!(lines.last().expect("lines")["action"], "complete");
    // stdout still carries the human result.
    assert!(out.stdout().starts_with("model "), "{}", out.stdout());
}

#[test]
fn quiet_keeps_stderr_for_failures_only() {
    let env = Env::new();
    let out = env.run(&["-q", "model", "examples/tiny-llama.gguf"]).ok();
    assert!(out.stderr().is_empty(), "{}", out.stderr());
    let bad = env
        .run(&["--quiet", "model", "examples/missing.gguf"])
        .fails_with("does not exist");
    assert!(
        bad.stderr().contains("[model-provisioner] ensure-failed: "),
        "{}",
        bad.stderr()
    );
}

#[test]
fn rust_log_filters_narrations() {
    let env = Env::new();
    let mut cmd = env.cmd(&["model", "examples/tiny-llama.gguf"]);
    cmd.env("RUST_LOG", "narration=error");
    let out = Run(cmd.output().expect("runs")).ok();
    assert!(out.stderr().is_empty(), "{}", out.stderr());
}

#[test]
fn model_refuses_bad_input_in_one_line() {
    let env = Env::new();
    env.run(&["model", "ftp://example.com/m.gguf"])
        .fails_with("unknown scheme \"ftp\"");
    env.run(&["model", "hf:org/../m.gguf"])
        .fails_with("hf:org/../m.gguf");
    env.run(&[
        "model",
        "examples/tiny-llama.gguf",
        "--digest",
        "sha256:1234",
    ])
    .fails_with("--digest");
    env.run(&[
        "model",
        "examples/tiny-llama.gguf",
        "--digest",
        "md5:d41d8cd98f00b204e9800998ecf8427e",
    ])
    .fails_with("--digest");
    env.run(&["model", "examples/missing.gguf"])
        .fails_with("examples/missing.gguf does not exist");
    let zeros = format!("sha256:{}", "0".repeat(64));
    let out = env
        .run(&["model", "examples/tiny-llama.gguf", "--digest", &zeros])
        .fails_with("digest mismatch");
    assert!(
        out.stderr().contains("[model-provisioner] verify-failed: "),
        "{}",
        out.stderr()
    );
    env.run(&["model", "Cargo.toml"]).fails_with("Cargo.toml");
    env.run(&["model", "examples/tiny-llama.gguf", "--revision", "v1"])
        .fails_with("--revision applies to hf: refs only");
}

#[test]
fn offline_hf_ref_without_a_cached_copy_fails_without_network() {
    let env = Env::new();
    env.run(&["model", "--offline", "hf:some-org/some-repo/m.gguf"])
        .fails_with("some-org/some-repo");
}

#[test]
fn stdout_closed_early_is_not_a_crash() {
    let env = Env::new();
    let mut child = env
        .cmd(&["gguf", "--metadata", "examples/tiny-llama.gguf"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait");
    assert!(
        matches!(out.status.code(), Some(0)),
        "{:?} {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

// ---------------------------------------------------------------- catalog

#[test]
fn catalog_verbs_list_show_retire_verify_remove() {
    let env = Env::new();
    assert_eq!(
        env.run(&["catalog", "list", "--json"]).ok().json(),
        serde_json::json!([])
    );
    assert!(
        env.run(&["catalog", "list"])
            .ok()
            .stdout()
            .contains("is empty")
    );

    let model = env.model_copy("c.gguf");
    let path = model.to_str().expect("utf-8");
    env.run(&["model", path]).ok();
    let id = format!("file:{path}");

    let list = env.run(&["catalog", "list", "--json"]).ok().json();
    let rows = list.as_array().expect("array");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["id"], id.as_str());
    assert_eq!(rows[0]["lifecycle"], "active");
    assert_eq!(rows[0]["digest"], TINY_DIGEST);
    let human = env.run(&["catalog", "list"]).ok().stdout();
    assert!(
        human.starts_with("ID ") && human.contains(&id) && human.contains("active"),
        "{human}"
    );

    let show = env.run(&["catalog", "show", &id, "--json"]).ok().json();
    assert_eq!(show["gguf"]["architecture"], "llama");
    assert_eq!(show["size_bytes"], 491168);
    assert!(
        env.run(&["catalog", "show", &id])
            .ok()
            .stdout()
            .contains("state            active")
    );

    let retired = env.run(&["--json", "catalog", "retire", &id]).ok().json();
    assert_eq!(retired["lifecycle"], "retired");
    assert_eq!(
        env.run(&["catalog", "retire", &id]).ok().stdout(),
        format!("retired {id}\n")
    );

    let verified = env.run(&["catalog", "verify", "--json"]).ok().json();
    assert_eq!(verified[0]["outcome"], "verified");
    assert_eq!(verified[0]["bytes"], 491168);

    // Change the file in place: verify must say so and exit 1.
    let mut bytes = std::fs::read(&model).expect("read");
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&model, &bytes).expect("write");
    let out = env.run(&["catalog", "verify", &id]);
    assert_eq!(out.code(), 1, "{}", out.stderr());
    assert!(
        out.stdout().starts_with(&format!("MISMATCH {id}")),
        "{}",
        out.stdout()
    );
    assert!(
        out.stderr()
            .contains("1 of 1 catalog entries failed verification"),
        "{}",
        out.stderr()
    );

    // A file ref names the user's own file: --delete-files keeps it.
    let removed = env
        .run(&["catalog", "remove", &id, "--delete-files", "--json"])
        .ok()
        .json();
    assert_eq!(removed["removed"], true);
    assert_eq!(removed["deleted_files"], serde_json::json!([]));
    assert_eq!(removed["kept_files"][0]["path"], path);
    assert_eq!(
        removed["kept_files"][0]["reason"],
        "the reference names this file directly"
    );
    assert!(model.exists());
    assert_eq!(
        env.run(&["catalog", "list", "--json"]).ok().json(),
        serde_json::json!([])
    );
}

#[test]
fn catalog_pin_unpin_and_every_ensure_records_its_use() {
    let env = Env::new();
    let model = env.model_copy("p.gguf");
    // Past the racy window, so that the second run is a warm hit (see
    // model_json_is_one_resolved_model_and_a_warm_run_skips_hashing).
    std::thread::sleep(Duration::from_millis(2200));
    let path = model.to_str().expect("utf-8");
    let first = env.run(&["--json", "model", path]).ok().json();
    let id = first["id"].as_str().expect("id").to_string();
    let row = env.run(&["--json", "catalog", "show", &id]).ok().json();
    assert_eq!(row["pinned"], false);
    let used = row["last_used_at_ms"].as_u64().expect("used once");

    // A warm ensure (no hashing, nothing re-registered) is a use too.
    let warm = env.run(&["--json", "model", path]).ok().json();
    assert_eq!(warm["verification"], "fingerprint");
    let row = env.run(&["--json", "catalog", "show", &id]).ok().json();
    // The second run starts after the first has exited: a later clock.
    assert!(
        row["last_used_at_ms"].as_u64().expect("used") > used,
        "{row}"
    );

    let pinned = env.run(&["--json", "catalog", "pin", &id]).ok().json();
    assert_eq!(pinned["pinned"], true);
    assert_eq!(
        pinned["lifecycle"], "active",
        "pinning changes nothing else"
    );
    let show = env.run(&["catalog", "show", &id]).ok().stdout();
    assert!(show.lines().any(|l| l == "pinned           yes"), "{show}");
    assert_eq!(
        env.run(&["catalog", "unpin", &id]).ok().stdout(),
        format!("unpinned {id}\n")
    );
    env.run(&["catalog", "pin", "file:/nope.gguf"])
        .fails_with("no entry \"file:/nope.gguf\"");
}

#[test]
fn catalog_unknown_id_and_bad_catalog_fail_in_one_line() {
    let env = Env::new();
    env.run(&["catalog", "show", "file:/nope.gguf"])
        .fails_with("no entry \"file:/nope.gguf\"");
    env.run(&["catalog", "retire", "file:/nope.gguf"])
        .fails_with("provision catalog list");
    env.run(&["catalog", "remove", "x"]).fails_with("no entry");
    env.run(&["catalog", "verify", "x"]).fails_with("no entry");
    let not_db = env.path("not-a-db.sqlite");
    std::fs::write(
        &not_db,
        "this is not a database, just text that is long enough to not be one",
    )
    .expect("write");
    env.run(&[
        "catalog",
        "list",
        "--catalog",
        not_db.to_str().expect("utf-8"),
    ])
    .fails_with("not-a-db.sqlite");
}

// ---------------------------------------------------------------- engine

fn pool_toml(env: &Env, engine: &str) -> PathBuf {
    let path = env.path("pool.toml");
    let text = format!(
        r#"id = "cli-pool"
engine = "{engine}"
[provisioning]
flags = ["--ctx-size", "128"]
[provisioning.source]
repo = "file://{repo}"
ref = "v0"
[provisioning.source.build]
cache_dir = "{cache}"
[provisioning.model]
ref = "{model}"
digest = "{TINY_DIGEST}"
"#,
        repo = env.path("no-such-repo").display(),
        cache = env.path("engine").display(),
        model = tiny().display(),
    );
    std::fs::write(&path, text).expect("write pool");
    path
}

#[test]
fn engine_plan_of_an_external_pool_shows_its_mode_and_steps() {
    let env = Env::new();
    let pool = env.path("ext.toml");
    std::fs::write(
        &pool,
        format!(
            "id = \"ext\"\nengine = \"llamacpp\"\n[provisioning]\nmode = \"external\"\n\
             [provisioning.external]\nbinary = \"/usr/bin/llama-server\"\ncache_dir = \"{}\"\n\
             [provisioning.model]\nref = \"{}\"\n",
            env.path("engine").display(),
            tiny().display()
        ),
    )
    .expect("write pool");
    let pool = pool.to_str().expect("utf-8");
    let human = env.run(&["engine", pool, "--plan"]).ok().stdout();
    assert!(human.contains("mode      external\n"), "{human}");
    assert!(
        human.contains("  1. binary-check: run /usr/bin/llama-server --version"),
        "{human}"
    );
    let plan = env.run(&["engine", pool, "--plan", "--json"]).ok().json();
    assert_eq!(plan["mode"], "external");
    assert_eq!(plan["steps"][0]["kind"], "binary-check");
    assert_eq!(plan["configured"], "/usr/bin/llama-server");

    let package = env.path("pkg.toml");
    std::fs::write(
        &package,
        std::fs::read_to_string(pool)
            .expect("read")
            .replace("\"external\"\n", "\"package\"\n"),
    )
    .expect("write pool");
    let stderr = env
        .run(&["engine", package.to_str().expect("utf-8"), "--plan"])
        .stderr();
    assert!(
        stderr.contains("provisioning mode \"package\" is not supported yet"),
        "{stderr}"
    );
}

#[test]
fn engine_plan_prints_steps_or_a_plan_object() {
    let env = Env::new();
    let pool = pool_toml(&env, "llamacpp");
    let pool = pool.to_str().expect("utf-8");
    let human = env.run(&["engine", pool, "--plan"]).ok().stdout();
    assert!(human.starts_with("pool      cli-pool\n"), "{human}");
    assert!(human.contains("steps:\n  1. "), "{human}");
    let plan = env.run(&["engine", pool, "--plan", "--json"]).ok().json();
    assert_eq!(plan["pool_id"], "cli-pool");
    assert_eq!(plan["engine"], "llamacpp");
    assert_eq!(plan["git_ref"], "v0");
    assert_eq!(plan["model_digest"], TINY_DIGEST);
    assert!(plan["steps"].as_array().is_some_and(|s| !s.is_empty()));
    assert!(
        !env.path("engine").join("src").exists(),
        "a plan does nothing"
    );
}

#[test]
fn engine_failures_exit_1_in_one_line() {
    let env = Env::new();
    let missing = env.path("missing.toml");
    env.run(&["engine", missing.to_str().expect("utf-8")])
        .fails_with("missing.toml");

    let bad = env.path("bad.toml");
    std::fs::write(&bad, "id = \n").expect("write");
    env.run(&["engine", bad.to_str().expect("utf-8")])
        .fails_with("bad.toml: pool config is not valid");

    // An endless file is refused after 1 MiB, naming it and the limit.
    env.run(&["engine", "/dev/zero", "--plan"])
        .fails_with("/dev/zero is larger than 1048576 bytes");

    let pool = pool_toml(&env, "vllm");
    env.run(&["engine", pool.to_str().expect("utf-8"), "--plan"])
        .fails_with("cli-pool");

    // A repository that does not exist: git fails, the narration says so.
    let pool = pool_toml(&env, "llamacpp");
    let out = env.run(&["engine", pool.to_str().expect("utf-8")]);
    if out.code() == 1 {
        let out = out.fails_with("no-such-repo");
        assert!(
            out.stderr().contains("[engine-provisioner] "),
            "{}",
            out.stderr()
        );
    } else {
        panic!(
            "ensure against a missing repository must fail: {}",
            out.stderr()
        );
    }
}

// ---------------------------------------------------------------- terminal

/// Run under a pseudo-terminal with util-linux `script`; `None` when it is
/// not installed.
fn in_terminal(env: &Env, args: &str) -> Option<String> {
    let bin = env!("CARGO_BIN_EXE_provision");
    let probe = Command::new("script").arg("--version").output();
    if !matches!(&probe, Ok(o) if o.status.success()) {
        eprintln!("skipping: util-linux `script` is not installed to provide a terminal");
        return None;
    }
    let mut std_cmd = Command::new("script");
    std_cmd
        .args(["-qec", &format!("{bin} {args}"), "/dev/null"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", env.path("home"))
        .env("PROVISION_CATALOG", env.catalog())
        .env("TERM", "xterm");
    let out = std_cmd.output().expect("script runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn a_terminal_gets_a_spinner_and_quiet_or_json_logs_do_not() {
    let env = Env::new();
    let Some(tty) = in_terminal(&env, "model examples/tiny-llama.gguf") else {
        return;
    };
    assert!(
        tty.contains("hashing file:"),
        "spinner expected on a terminal: {tty:?}"
    );
    assert!(tty.contains("[model-provisioner] complete: "), "{tty:?}");
    for quiet in [
        "-q model examples/tiny-llama.gguf",
        "--log-format json model examples/tiny-llama.gguf",
    ] {
        let out = in_terminal(&env, quiet).expect("script present");
        assert!(!out.contains("hashing file:"), "{quiet}: {out:?}");
    }
}

// ---------------------------------------------------------------- hub

#[test]
fn hf_model_downloads_from_a_loopback_hub_then_serves_offline_and_deletes_cleanly() {
    let env = Env::new();
    let hub = hub_standin::Hub::start().expect("stand-in hub");
    let bytes = std::fs::read(tiny()).expect("read model");
    let spec = hub_standin::FileSpec::lfs(bytes);
    let blob = hub_standin::Hub::cdn_path(&spec);
    hub.commit("org/tiny", "main", vec![("tiny-F32.gguf", spec)]);
    let hf = |args: &[&str]| {
        let mut cmd = env.cmd(args);
        cmd.env("HF_ENDPOINT", hub.endpoint())
            .env_remove("HF_HUB_OFFLINE");
        Run(cmd.output().expect("runs"))
    };

    let out = hf(&[
        "--json",
        "model",
        "hf:org/tiny/tiny-F32.gguf",
        "--digest",
        TINY_DIGEST,
    ])
    .ok();
    let v = out.json();
    assert_eq!(v["id"], "hf:org/tiny/tiny-F32.gguf");
    assert_eq!(v["digest"], TINY_DIGEST);
    assert_eq!(v["verification"], "in-flight");
    let local = PathBuf::from(v["local_path"].as_str().expect("path"));
    assert!(local.starts_with(env.path("hub")), "{}", local.display());
    let stderr = out.stderr();
    for step in ["download: ", "downloaded: ", "register: ", "complete: "] {
        assert!(
            stderr.contains(&format!("[model-provisioner] {step}")),
            "{step} missing: {stderr}"
        );
    }
    assert_eq!(hub.count("GET", &blob), 1, "downloaded once");
    assert_eq!(hub.body_bytes(&blob), 491168);

    // The Hub is no longer needed: --offline serves the cached copy.
    let again = hf(&["--json", "model", "hf:org/tiny/tiny-F32.gguf", "--offline"])
        .ok()
        .json();
    assert_eq!(again["local_path"], v["local_path"]);
    assert_eq!(hub.count("GET", &blob), 1, "no second download");

    // Removing with --delete-files drops the snapshot link and its blob.
    let removed = hf(&[
        "--json",
        "catalog",
        "remove",
        "hf:org/tiny/tiny-F32.gguf",
        "--delete-files",
    ])
    .ok()
    .json();
    let deleted = removed["deleted_files"].as_array().expect("deleted");
    assert_eq!(deleted.len(), 2, "{removed}");
    assert!(!local.exists());
}

#[test]
fn a_refused_token_never_appears_on_stderr_or_stdout() {
    let env = Env::new();
    let hub = hub_standin::Hub::start().expect("stand-in hub");
    let bytes = std::fs::read(tiny()).expect("read model");
    hub.commit(
        "org/gated",
        "main",
        vec![("m.gguf", hub_standin::FileSpec::lfs(bytes))],
    );
    hub.gate("org/gated", "hf_TheRightTokenValue0123456789abcdef");
    let wrong = "hf_WrongTokenValueXYZ0123456789abcdefgh";
    for format in ["human", "json"] {
        let mut cmd = env.cmd(&["--log-format", format, "model", "hf:org/gated/m.gguf"]);
        cmd.env("HF_ENDPOINT", hub.endpoint())
            .env_remove("HF_HUB_OFFLINE")
            .env("HF_TOKEN", wrong);
        let out = Run(cmd.output().expect("runs")).fails_with("org/gated");
        assert!(!out.stderr().contains(wrong), "{}", out.stderr());
        assert!(
            !out.stderr().contains("WrongTokenValue"),
            "{}",
            out.stderr()
        );
    }
    assert!(
        hub.requests()
            .iter()
            .any(|r| r.authorization.as_deref() == Some(&format!("Bearer {wrong}"))),
        "the token was sent to the Hub"
    );
}

#[test]
fn verbose_lines_carry_a_utc_timestamp() {
    let env = Env::new();
    let out = env.run(&["-v", "model", "examples/tiny-llama.gguf"]).ok();
    let stderr = out.stderr();
    assert!(!stderr.is_empty());
    for line in stderr.lines() {
        let (stamp, rest) = line.split_once(' ').expect("timestamp then line");
        assert!(
            stamp.len() >= 20 && stamp.ends_with('Z') && stamp.as_bytes()[10] == b'T',
            "{line}"
        );
        assert!(rest.starts_with("[model-provisioner] "), "{line}");
    }
}

// ---------------------------------------------------------------- cache

#[test]
fn cache_scan_lists_a_downloaded_model_with_its_catalog_entry() {
    let env = Env::new();
    let hub = hub_standin::Hub::start().expect("stand-in hub");
    let bytes = std::fs::read(tiny()).expect("read model");
    hub.commit(
        "org/tiny",
        "main",
        vec![("tiny-F32.gguf", hub_standin::FileSpec::lfs(bytes))],
    );
    let mut cmd = env.cmd(&["model", "hf:org/tiny/tiny-F32.gguf"]);
    cmd.env("HF_ENDPOINT", hub.endpoint())
        .env_remove("HF_HUB_OFFLINE");
    Run(cmd.output().expect("runs")).ok();
    // Debris the scan must report.
    let blobs = env.path("hub/models--org--tiny/blobs");
    std::fs::write(blobs.join("0123.incomplete"), [0u8; 10]).expect("partial");

    let v = env.run(&["--json", "cache", "scan"]).ok().json();
    assert_eq!(v["repo_count"], 1);
    assert_eq!(v["size_on_disk"], 491168);
    let repo = &v["repos"][0];
    assert_eq!(repo["repo_id"], "org/tiny");
    assert_eq!(repo["catalog_ids"][0], "hf:org/tiny/tiny-F32.gguf");
    assert!(repo["last_used_at_ms"].is_u64(), "{repo}");
    assert_eq!(repo["revisions"][0]["refs"][0], "main");
    assert_eq!(v["problems"][0]["kind"], "incomplete");

    let text = env.run(&["cache", "scan"]).ok().stdout();
    assert!(text.contains(": 1 repos, 479.7 KiB on disk"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("org/tiny") && l.contains("hf:org/tiny/tiny-F32.gguf")),
        "{text}"
    );
    assert!(text.contains("incomplete: "), "{text}");
}

#[test]
fn cache_prune_plans_keeps_pinned_models_and_removes_the_rest() {
    let env = Env::new();
    let hub = hub_standin::Hub::start().expect("stand-in hub");
    let bytes = std::fs::read(tiny()).expect("read model");
    hub.commit(
        "org/tiny",
        "main",
        vec![("tiny-F32.gguf", hub_standin::FileSpec::lfs(bytes))],
    );
    let id = "hf:org/tiny/tiny-F32.gguf";
    let mut cmd = env.cmd(&["model", id]);
    cmd.env("HF_ENDPOINT", hub.endpoint())
        .env_remove("HF_HUB_OFFLINE");
    Run(cmd.output().expect("runs")).ok();

    env.run(&["cache", "prune"]).fails_with("--max-size");
    assert_eq!(env.run(&["cache", "prune", "--max-size", "lots"]).code(), 2);

    let plan = env
        .run(&["--json", "cache", "prune", "--max-size", "1K", "--dry-run"])
        .ok()
        .json();
    assert_eq!(plan["dry_run"], true);
    assert_eq!(plan["size_before"], 491168);
    assert_eq!(plan["size_after"], 0);
    assert_eq!(plan["removed"][0]["catalog_ids"][0], id);
    let text = env
        .run(&["cache", "prune", "--max-size", "1K", "--dry-run"])
        .ok()
        .stdout();
    assert!(text.starts_with("would remove "), "{text}");
    assert!(text.contains("nothing removed"), "{text}");
    assert_eq!(
        env.run(&["--json", "cache", "scan"]).ok().json()["repo_count"],
        1
    );

    env.run(&["catalog", "pin", id]).ok();
    let kept = env
        .run(&["--json", "cache", "prune", "--max-size", "1K"])
        .ok()
        .json();
    assert_eq!(kept["removed"], serde_json::json!([]));
    assert_eq!(kept["pinned"][0], id);

    env.run(&["catalog", "unpin", id]).ok();
    let out = env
        .run(&["--json", "cache", "prune", "--older-than", "0s"])
        .ok();
    assert_eq!(out.json()["removed"][0]["freed_bytes"], 491168);
    assert!(
        out.stderr().contains("[model-provisioner] prune: Pruned "),
        "{}",
        out.stderr()
    );
    let scan = env.run(&["--json", "cache", "scan"]).ok().json();
    assert_eq!(scan["repo_count"], 0);
    assert_eq!(scan["problems"], serde_json::json!([]));
    assert_eq!(
        env.run(&["catalog", "list", "--json"]).ok().json(),
        serde_json::json!([])
    );
    env.run(&["catalog", "verify"]).ok();
}
