//! The catalog while another process holds its write lock (a real second
//! process, `python3`'s sqlite3, in `BEGIN IMMEDIATE`): every verb that
//! only reads answers at once, and a write fails with the typed
//! "catalog locked" error after the configured wait, saying once that it
//! waits.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::time::{Duration, Instant};

const TINY_DIGEST: &str = "sha256:13d1380edc9c49f2eb9c06e13ac4d954ae4edc7fb30fefd08cb57f77667621bd";

/// Longer than any verb takes here and shorter than the 30 s a read used
/// to wait: only a guard against a hung test, not a measurement.
const HANG_GUARD: Duration = Duration::from_secs(25);

fn tiny() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/tiny-llama.gguf")
}

/// A process holding the catalog's write lock until dropped.
struct Writer {
    child: Child,
    stdin: Option<ChildStdin>,
}

impl Writer {
    /// Starts `python3` with a write transaction open on `db`; returns
    /// once the lock is held.
    fn hold(db: &Path) -> Self {
        let script = "import sqlite3, sys\n\
            c = sqlite3.connect(sys.argv[1], isolation_level=None)\n\
            c.execute('BEGIN IMMEDIATE')\n\
            c.execute('UPDATE models SET pinned = pinned')\n\
            print('held', flush=True)\n\
            sys.stdin.read()\n\
            c.execute('ROLLBACK')\n";
        let mut child = Command::new("python3")
            .args(["-c", script])
            .arg(db)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the writer answers");
        assert_eq!(line.trim(), "held", "the writer took the lock");
        let stdin = child.stdin.take();
        Self { child, stdin }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn catalog(&self) -> PathBuf {
        self.dir.path().join("data/catalog.sqlite")
    }

    /// `provision ARGS` with the catalog lock wait set to `wait_s`,
    /// killed if it runs past [`HANG_GUARD`].
    fn run(&self, args: &[&str], wait_s: &str) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_provision"));
        cmd.args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path().join("home"))
            .env("PROVISION_CATALOG", self.catalog())
            .env("HF_HUB_CACHE", self.dir.path().join("hub"))
            .env("HF_HUB_OFFLINE", "1")
            .env("PROVISION_CATALOG_LOCK_TIMEOUT", wait_s)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("provision runs");
        let deadline = Instant::now() + HANG_GUARD;
        while child.try_wait().expect("wait").is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        child.wait_with_output().expect("output")
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn readers_answer_while_another_process_writes_and_a_write_fails_typed() {
    let env = Env {
        dir: tempfile::tempdir().expect("tempdir"),
    };
    let model = tiny();
    let model = model.to_str().expect("utf-8 path");
    let first = env.run(&["model", model, "--digest", TINY_DIGEST], "30");
    assert!(first.status.success(), "{}", text(&first.stderr));
    let id = format!("file:{model}");
    let other = env.dir.path().join("other.gguf");
    std::fs::copy(tiny(), &other).expect("copy");
    let other = other.to_str().expect("utf-8 path");

    let _writer = Writer::hold(&env.catalog());
    // A wait of 30 s, as by default: a reader that waited for the writer
    // would be killed by the guard and fail here.
    for args in [
        vec!["catalog", "list"],
        vec!["catalog", "show", &id],
        vec!["cache", "scan"],
        vec!["doctor", "--offline"],
        vec!["model", model, "--digest", TINY_DIGEST],
    ] {
        let out = env.run(&args, "30");
        assert!(
            out.status.success(),
            "`provision {}` answers while another process writes: {:?}\n{}",
            args.join(" "),
            out.status,
            text(&out.stderr)
        );
    }

    let out = env.run(
        &[
            "--log-format",
            "json",
            "model",
            other,
            "--digest",
            TINY_DIGEST,
        ],
        "2",
    );
    let stderr = text(&out.stderr);
    assert!(!out.status.success(), "the write cannot succeed: {stderr}");
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let waits = lines
        .iter()
        .filter(|n| n["action"] == "catalog-wait")
        .count();
    assert_eq!(waits, 1, "the wait is narrated once: {stderr}");
    let failed = lines
        .iter()
        .find(|n| n["action"] == "register-failed")
        .unwrap_or_else(|| panic!("register-failed narrated: {stderr}"));
    assert_eq!(failed["error_kind"], "catalog-locked", "{stderr}");
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("provision: error:") && last.contains("catalog locked by another process"),
        "{stderr}"
    );
}
