//! The check every handed-out binary passes, whatever its mode: run
//! `--version` as a cancellable child with a deadline, read the build
//! number and commit from its version line, and hash the binary. The
//! `external` and `binary` providers both use it, each mapping a refusal
//! to its own error (naming its own config key).

use crate::exec::{self, Captured, Stop, ToolEnv};
use model_provisioner::Cancel;
use std::path::Path;
use std::time::{Duration, Instant};

/// What `--version` said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Answer {
    /// The build number (`6000` of `version: 6000 (abcdef0)`).
    pub build: String,
    /// The commit it names (empty when none).
    pub commit: String,
}

/// Why the binary was not accepted.
#[derive(Debug)]
pub(crate) enum Refused {
    /// The caller cancelled; the child's process group was stopped.
    Cancelled,
    /// It did not start, failed, timed out or printed no version line.
    Problem(String),
}

/// `binary --version` with `env` (PATH and extra variables such as
/// `LD_LIBRARY_PATH`), stopped when `env.cancel` fires or `timeout`
/// passes.
pub(crate) fn run(binary: &Path, env: &ToolEnv, timeout: Duration) -> Result<Answer, Refused> {
    let mut cmd = env.command(binary);
    cmd.arg("--version");
    let out = match capture_within(cmd, &env.cancel, timeout) {
        Ok(out) => out,
        Err(Bounded::Cancelled) => return Err(Refused::Cancelled),
        Err(Bounded::TimedOut) => {
            return Err(Refused::Problem(format!(
                "`--version` did not finish within {} s (stopped)",
                timeout.as_secs()
            )));
        }
        Err(Bounded::Failed(why)) => return Err(Refused::Problem(why)),
    };
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let quoted = exec::last_lines(text.trim(), 5);
    if !out.status.success() {
        return Err(Refused::Problem(format!(
            "`--version` failed ({}): {quoted}",
            out.status
        )));
    }
    parse_version(&text)
        .map(|(build, commit)| Answer { build, commit })
        .ok_or_else(|| {
            Refused::Problem(format!(
                "`--version` printed no `version: N (commit)` or `version: X (build N, commit C)` line: {quoted}"
            ))
        })
}

/// The binary's sha256 (hex), or why it could not be read.
pub(crate) fn sha256_hex(binary: &Path) -> Result<String, String> {
    model_provisioner::hash_file(binary)
        .map(|(digest, _)| digest.hex())
        .map_err(|e| format!("cannot be read to hash it: {e}"))
}

/// The build number and commit of `--version`'s version line, in either
/// form llama.cpp prints: `version: 6000 (abcdef0)` → `("6000",
/// "abcdef0")`; `version: 0.5.0-dev (build 1, commit 784bfba)` → `("1",
/// "784bfba")`.
pub(crate) fn parse_version(text: &str) -> Option<(String, String)> {
    let is_word = |w: &str| !w.is_empty() && w.bytes().all(|b| b.is_ascii_alphanumeric());
    let digits = |w: &str| !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit());
    text.lines().find_map(|line| {
        let rest = line.trim().strip_prefix("version:")?.trim();
        let (first, rest) = rest.split_once(' ').unwrap_or((rest, ""));
        let inside = rest
            .trim()
            .strip_prefix('(')
            .and_then(|r| r.split(')').next())
            .unwrap_or("");
        if digits(first) {
            let commit = Some(inside).filter(|c| is_word(c)).unwrap_or("");
            return Some((first.to_string(), commit.to_string()));
        }
        // `(build N, commit H)`
        let mut build = None;
        let mut commit = "";
        for part in inside.split(',') {
            match part.trim().split_once(' ') {
                Some(("build", n)) if digits(n) => build = Some(n),
                Some(("commit", c)) if is_word(c) => commit = c,
                _ => {}
            }
        }
        build.map(|n| (n.to_string(), commit.to_string()))
    })
}

/// Why a bounded command gave no output.
enum Bounded {
    Cancelled,
    TimedOut,
    Failed(String),
}

/// [`exec::capture`] with a deadline: a watchdog cancels the child's own
/// token when the caller cancels or the time is up (the child's process
/// group is stopped either way).
fn capture_within(
    cmd: std::process::Command,
    cancel: &Cancel,
    timeout: Duration,
) -> std::result::Result<Captured, Bounded> {
    let child_token = Cancel::new();
    let done = Cancel::new();
    let deadline = Instant::now() + timeout;
    let result = std::thread::scope(|s| {
        s.spawn(|| {
            while done.sleep(Duration::from_millis(25)).is_ok() {
                if cancel.is_cancelled() || Instant::now() >= deadline {
                    child_token.cancel();
                    break;
                }
            }
        });
        let result = exec::capture(cmd, &child_token);
        done.cancel();
        result
    });
    match result {
        Ok(out) => Ok(out),
        Err(Stop::Cancelled) if cancel.is_cancelled() => Err(Bounded::Cancelled),
        Err(Stop::Cancelled) => Err(Bounded::TimedOut),
        Err(Stop::Failed(f)) => Err(Bounded::Failed(f.status)),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_version;

    #[test]
    fn version_lines_give_the_build_number_and_commit() {
        assert_eq!(
            parse_version("load_backend: x\nversion: 6000 (abcdef0)\nbuilt with cc"),
            Some(("6000".into(), "abcdef0".into()))
        );
        assert_eq!(parse_version("version: 12"), Some(("12".into(), "".into())));
        assert_eq!(
            parse_version("version: 0.5.0-dev (build 1, commit 784bfba)\nbuilt with GNU"),
            Some(("1".into(), "784bfba".into()))
        );
        assert_eq!(parse_version("version: dev (x)"), None);
        assert_eq!(parse_version("llama-server 1.0"), None);
    }
}
