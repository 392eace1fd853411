//! Running external tools: never through a shell, with an explicit PATH,
//! output appended to a log file so a failure can quote its last lines.

use std::ffi::{OsStr, OsString};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Mutex, PoisonError};

use crate::child::{self, Ended};
use verified_download::Cancel;

/// How many log lines an error message quotes.
pub const TAIL_LINES: usize = 20;

/// The environment every tool runs with: the search PATH, the pool's
/// extra variables, and the caller's token that stops them.
#[derive(Debug, Clone, Default)]
pub struct ToolEnv {
    /// PATH given to children (and used to find the tools).
    pub path: OsString,
    /// Extra variables (`[provisioning] env`, CUDA hints).
    pub vars: Vec<(String, String)>,
    /// Cancels every tool run with this environment (see [`crate::child`]).
    pub cancel: Cancel,
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

/// Why a command did not succeed.
#[derive(Debug)]
pub enum Stop {
    /// It failed, or could not start.
    Failed(Failure),
    /// The caller cancelled: the command and everything it started were
    /// stopped (see [`crate::child`]).
    Cancelled,
}

impl From<Failure> for Stop {
    fn from(f: Failure) -> Self {
        Stop::Failed(f)
    }
}

/// Run `cmd` to completion with stdout and stderr appended to `log`,
/// line by line and redacted. A header line names the command in the log.
/// `cancel` stops it (and its children) within a fraction of a second.
pub fn run_logged(cmd: Command, log: &Path, cancel: &Cancel) -> Result<(), Stop> {
    run_logged_lines(cmd, log, cancel, &|_| {})
}

/// [`run_logged`], handing each output line (redacted) to `on_line` as it
/// arrives, from the threads reading the pipes.
pub fn run_logged_lines(
    mut cmd: Command,
    log: &Path,
    cancel: &Cancel,
    on_line: &(dyn Fn(&str) + Sync),
) -> Result<(), Stop> {
    cancel.check().map_err(|_| Stop::Cancelled)?;
    let mut file = open_append(log)?;
    let start = file.seek(SeekFrom::End(0)).unwrap_or(0);
    // Arguments may hold a repo URL with credentials: never log them.
    let _ = writeln!(file, "$ {}", narration_core::redact(&describe(&cmd)));
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    child::own_group(&mut cmd);
    let program = program_name(&cmd);
    let could_not = |e: std::io::Error| Failure {
        status: format!("could not start {program}: {e}"),
        tail: String::new(),
    };
    let mut running = cmd.spawn().map_err(could_not)?;
    // Tools quote their arguments back (git: "unable to access
    // 'https://user:pass@host/…'"), so what they write is redacted too.
    let file = Mutex::new(file);
    let (out, err) = (running.stdout.take(), running.stderr.take());
    let ended = std::thread::scope(|s| {
        if let Some(out) = out {
            s.spawn(|| copy_redacted(out, &file, on_line));
        }
        if let Some(err) = err {
            s.spawn(|| copy_redacted(err, &file, on_line));
        }
        // The readers end when the pipes close: after the group is gone.
        child::wait(&mut running, cancel)
    });
    match ended.map_err(could_not)? {
        Ended::Cancelled => Err(Stop::Cancelled),
        Ended::Exited(status) if status.success() => Ok(()),
        Ended::Exited(status) => Err(Stop::Failed(Failure {
            status: status.to_string(),
            tail: tail_from(log, start, TAIL_LINES),
        })),
    }
}

/// Run `cmd` and return its trimmed stdout; stderr is kept for the error.
/// Cancellable like [`run_logged`].
pub fn run_captured(cmd: Command, cancel: &Cancel) -> Result<String, Stop> {
    let out = capture(cmd, cancel)?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(Stop::Failed(Failure {
            status: out.status.to_string(),
            tail: last_lines(&String::from_utf8_lossy(&out.stderr), TAIL_LINES),
        }))
    }
}

/// What a captured command exited with and wrote.
#[derive(Debug)]
pub struct Captured {
    /// Its exit status (failure is the caller's to judge).
    pub status: ExitStatus,
    /// Everything it wrote to stdout.
    pub stdout: Vec<u8>,
    /// Everything it wrote to stderr.
    pub stderr: Vec<u8>,
}

/// Run `cmd` to its end, capturing its output; `Err` only when it could
/// not start or was cancelled.
pub fn capture(mut cmd: Command, cancel: &Cancel) -> Result<Captured, Stop> {
    cancel.check().map_err(|_| Stop::Cancelled)?;
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    child::own_group(&mut cmd);
    let program = program_name(&cmd);
    let could_not = |e: std::io::Error| Failure {
        status: format!("could not start {program}: {e}"),
        tail: String::new(),
    };
    let mut running = cmd.spawn().map_err(could_not)?;
    let (out, err) = (running.stdout.take(), running.stderr.take());
    let (ended, stdout, stderr) = std::thread::scope(|s| {
        let stdout = s.spawn(|| read_all(out));
        let stderr = s.spawn(|| read_all(err));
        let ended = child::wait(&mut running, cancel);
        (
            ended,
            stdout.join().unwrap_or_default(),
            stderr.join().unwrap_or_default(),
        )
    });
    match ended.map_err(could_not)? {
        Ended::Cancelled => Err(Stop::Cancelled),
        Ended::Exited(status) => Ok(Captured {
            status,
            stdout,
            stderr,
        }),
    }
}

fn read_all(from: Option<impl Read>) -> Vec<u8> {
    let mut bytes = Vec::new();
    if let Some(mut from) = from {
        let _ = from.read_to_end(&mut bytes);
    }
    bytes
}

/// Append each line of `from` to `log`, redacted, until `from` ends. A
/// failed write drops the line but keeps reading, so the tool never
/// blocks on a full pipe.
fn copy_redacted(from: impl Read, log: &Mutex<File>, on_line: &(dyn Fn(&str) + Sync)) {
    let mut reader = BufReader::new(from);
    let mut line = Vec::new();
    while matches!(reader.read_until(b'\n', &mut line), Ok(n) if n > 0) {
        let text = String::from_utf8_lossy(&line);
        let clean = narration_core::redact(&text);
        on_line(clean.trim_end());
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

    fn failed(r: Result<(), Stop>) -> Failure {
        match r {
            Err(Stop::Failed(f)) => f,
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    #[test]
    fn lines_reach_the_callback_as_they_are_written() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("build.log");
        let env = ToolEnv {
            path: std::env::var_os("PATH").unwrap_or_default(),
            ..ToolEnv::default()
        };
        let mut cmd = env.command(&env.which("sh").unwrap());
        cmd.args(["-c", "echo '[1/2] a'; echo '[2/2] b'"]);
        let seen = Mutex::new(Vec::new());
        run_logged_lines(cmd, &log, &env.cancel, &|l| {
            seen.lock().unwrap().push(l.to_string())
        })
        .unwrap();
        assert_eq!(*seen.lock().unwrap(), ["[1/2] a", "[2/2] b"]);
    }

    #[test]
    fn failure_quotes_the_tail_of_this_command_only() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("build.log");
        std::fs::write(&log, "old line from an earlier run\n").unwrap();
        let env = ToolEnv {
            path: std::env::var_os("PATH").unwrap_or_default(),
            vars: vec![],
            cancel: Cancel::new(),
        };
        let sh = env.which("sh").unwrap();
        let mut cmd = env.command(&sh);
        cmd.args(["-c", "echo one; echo two >&2; exit 3"]);
        let f = failed(run_logged(cmd, &log, &env.cancel));
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
            cancel: Cancel::new(),
        };
        let mut cmd = env.command(&env.which("true").unwrap());
        cmd.arg("https://user:s3cr3t-tok@example.org/repo.git");
        run_logged(cmd, &log, &env.cancel).unwrap();
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
            cancel: Cancel::new(),
        };
        let mut cmd = env.command(&env.which("sh").unwrap());
        cmd.args([
            "-c",
            "echo cloning; echo \"fatal: unable to access 'https://u:pw-wombat@h/r.git'\" >&2; exit 128",
        ]);
        let f = failed(run_logged(cmd, &log, &env.cancel));
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
