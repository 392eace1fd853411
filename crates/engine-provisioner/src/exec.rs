//! Running external tools: never through a shell, with an explicit PATH,
//! output appended to a log file so a failure can quote its last lines.

use std::ffi::{OsStr, OsString};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, PoisonError};

/// How many log lines an error message quotes.
pub const TAIL_LINES: usize = 20;

/// The environment every tool runs with: the search PATH and the pool's
/// extra variables.
#[derive(Debug, Clone, Default)]
pub struct ToolEnv {
    /// PATH given to children (and used to find the tools).
    pub path: OsString,
    /// Extra variables (`[provisioning] env`, CUDA hints).
    pub vars: Vec<(String, String)>,
}

impl ToolEnv {
    /// A command for `program` with this environment.
    pub fn command(&self, program: &Path) -> Command {
        let mut cmd = Command::new(program);
        cmd.env("PATH", &self.path);
        for (k, v) in &self.vars {
            cmd.env(k, v);
        }
        cmd.stdin(Stdio::null());
        cmd
    }

    /// The value the children see for `name`, if set here.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Find `program` on this PATH.
    pub fn which(&self, program: &str) -> Option<PathBuf> {
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
        which::which_in(program, Some(&self.path), cwd).ok()
    }

    /// Put `dir` first on PATH.
    pub fn prepend_path(&mut self, dir: &Path) {
        let mut parts = vec![dir.to_path_buf()];
        parts.extend(std::env::split_paths(&self.path));
        if let Ok(joined) = std::env::join_paths(parts) {
            self.path = joined;
        }
    }
}

/// A command that ran and failed (or could not start).
#[derive(Debug, Clone)]
pub struct Failure {
    /// `exit status: 1`, `signal: 9`, or the spawn error.
    pub status: String,
    /// The last lines it wrote.
    pub tail: String,
}

/// Run `cmd` to completion with stdout and stderr appended to `log`,
/// line by line and redacted. A header line names the command in the log.
pub fn run_logged(mut cmd: Command, log: &Path) -> Result<(), Failure> {
    let mut file = open_append(log)?;
    let start = file.seek(SeekFrom::End(0)).unwrap_or(0);
    // Arguments may hold a repo URL with credentials: never log them.
    let _ = writeln!(file, "$ {}", narration_core::redact(&describe(&cmd)));
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let program = program_name(&cmd);
    let could_not = |e: std::io::Error| Failure {
        status: format!("could not start {program}: {e}"),
        tail: String::new(),
    };
    let mut child = cmd.spawn().map_err(could_not)?;
    // Tools quote their arguments back (git: "unable to access
    // 'https://user:pass@host/…'"), so what they write is redacted too.
    let file = Mutex::new(file);
    let (out, err) = (child.stdout.take(), child.stderr.take());
    std::thread::scope(|s| {
        if let Some(out) = out {
            s.spawn(|| copy_redacted(out, &file));
        }
        if let Some(err) = err {
            s.spawn(|| copy_redacted(err, &file));
        }
    });
    let status = child.wait().map_err(could_not)?;
    if status.success() {
        Ok(())
    } else {
        Err(Failure {
            status: status.to_string(),
            tail: tail_from(log, start, TAIL_LINES),
        })
    }
}

/// Run `cmd` and return its trimmed stdout; stderr is kept for the error.
pub fn run_captured(mut cmd: Command) -> Result<String, Failure> {
    let out = cmd.output().map_err(|e| Failure {
        status: format!("could not start {}: {e}", program_name(&cmd)),
        tail: String::new(),
    })?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(Failure {
            status: out.status.to_string(),
            tail: last_lines(&String::from_utf8_lossy(&out.stderr), TAIL_LINES),
        })
    }
}

/// Append each line of `from` to `log`, redacted, until `from` ends. A
/// failed write drops the line but keeps reading, so the tool never
/// blocks on a full pipe.
fn copy_redacted(from: impl Read, log: &Mutex<File>) {
    let mut reader = BufReader::new(from);
    let mut line = Vec::new();
    while matches!(reader.read_until(b'\n', &mut line), Ok(n) if n > 0) {
        let text = String::from_utf8_lossy(&line);
        let clean = narration_core::redact(&text);
        let mut file = log.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = file.write_all(clean.as_bytes());
        line.clear();
    }
}

fn open_append(log: &Path) -> Result<File, Failure> {
    if let Some(dir) = log.parent() {
        std::fs::create_dir_all(dir).map_err(io_failure)?;
    }
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(io_failure)
}

fn io_failure(e: std::io::Error) -> Failure {
    Failure {
        status: format!("log file error: {e}"),
        tail: String::new(),
    }
}

fn program_name(cmd: &Command) -> String {
    cmd.get_program().to_string_lossy().into_owned()
}

/// The command as one line, for logs (arguments are validated values, but
/// environment values are left out: they may hold secrets).
pub fn describe(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(OsStr::to_string_lossy)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The last `n` lines of `log` written after byte `start`.
pub fn tail_from(log: &Path, start: u64, n: usize) -> String {
    let mut text = String::new();
    if let Ok(mut f) = File::open(log) {
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        // Only the end matters; 64 KiB holds far more than n lines.
        let from = start.max(len.saturating_sub(64 * 1024));
        if f.seek(SeekFrom::Start(from)).is_ok() {
            let mut bytes = Vec::new();
            let _ = f.read_to_end(&mut bytes);
            text = String::from_utf8_lossy(&bytes).into_owned();
        }
    }
    last_lines(&text, n)
}

/// The last `n` non-empty lines of `text`.
pub fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_quotes_the_tail_of_this_command_only() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("build.log");
        std::fs::write(&log, "old line from an earlier run\n").unwrap();
        let env = ToolEnv {
            path: std::env::var_os("PATH").unwrap_or_default(),
            vars: vec![],
        };
        let sh = env.which("sh").unwrap();
        let mut cmd = env.command(&sh);
        cmd.args(["-c", "echo one; echo two >&2; exit 3"]);
        let f = run_logged(cmd, &log).unwrap_err();
        assert!(f.status.contains('3'), "{}", f.status);
        assert!(
            f.tail.contains("one") && f.tail.contains("two"),
            "{}",
            f.tail
        );
        assert!(!f.tail.contains("earlier run"), "{}", f.tail);
    }

    #[test]
    fn logged_command_lines_hide_credentials() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("git.log");
        let env = ToolEnv {
            path: std::env::var_os("PATH").unwrap_or_default(),
            vars: vec![],
        };
        let mut cmd = env.command(&env.which("true").unwrap());
        cmd.arg("https://user:s3cr3t-tok@example.org/repo.git");
        run_logged(cmd, &log).unwrap();
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(!text.contains("s3cr3t-tok"), "{text}");
        assert!(text.contains("example.org/repo.git"), "{text}");
    }

    #[test]
    fn what_tools_write_is_redacted_in_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("git.log");
        let env = ToolEnv {
            path: std::env::var_os("PATH").unwrap_or_default(),
            vars: vec![],
        };
        let mut cmd = env.command(&env.which("sh").unwrap());
        cmd.args([
            "-c",
            "echo cloning; echo \"fatal: unable to access 'https://u:pw-wombat@h/r.git'\" >&2; exit 128",
        ]);
        let f = run_logged(cmd, &log).unwrap_err();
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(!text.contains("pw-wombat"), "{text}");
        assert!(
            text.contains("cloning") && text.contains("h/r.git"),
            "{text}"
        );
        assert!(
            !f.tail.contains("pw-wombat") && f.tail.contains("fatal"),
            "{}",
            f.tail
        );
    }

    #[test]
    fn last_lines_keeps_the_end() {
        assert_eq!(last_lines("a\nb\n\nc\n", 2), "b\nc");
    }
}
