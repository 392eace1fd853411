//! Cross-process locks that say when they wait and do not wait forever.
//!
//! An OS file lock (`flock` on Unix, the lock the reference HF client's
//! `filelock` takes too) that the OS drops when its holder exits, even when
//! killed. The holder writes its pid into the file, so a waiter can say who
//! it waits for; after [`LockWait::notice_after`] the waiter is told once,
//! and after [`LockWait::timeout`] it gives up with [`LockError::Timeout`].
//! The model provisioner's blob locks and the engine provisioner's build
//! lock both wait here.

use crate::cancel::Cancel;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long to wait for a lock, and when to say so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockWait {
    /// Waiting longer than this is reported (once).
    pub notice_after: Duration,
    /// Waiting longer than this fails.
    pub timeout: Duration,
}

impl Default for LockWait {
    /// Notice after 1 s; give up after an hour (a large model on a slow
    /// link can hold a blob lock that long).
    fn default() -> Self {
        Self {
            notice_after: Duration::from_secs(1),
            timeout: Duration::from_secs(3600),
        }
    }
}

/// A lock that is being waited for.
#[derive(Debug, Clone, Copy)]
pub struct Waiting<'a> {
    /// The lock file.
    pub path: &'a Path,
    /// The holder's pid, when it wrote one.
    pub holder_pid: Option<u32>,
}

/// Why a lock was not taken.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// The lock file could not be created or locked.
    #[error("cannot lock {path}: {source}")]
    Io {
        /// The lock file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Another process held the lock for longer than the timeout.
    #[error(
        "waited {} s for {path} held by {}; if no other provisioning is running, that process is stuck: stop it, or raise the lock timeout",
        waited.as_secs(),
        holder_pid.map_or_else(|| "another process".to_string(), |p| format!("pid {p}"))
    )]
    Timeout {
        /// The lock file.
        path: PathBuf,
        /// How long this process waited.
        waited: Duration,
        /// The holder's pid, when known.
        holder_pid: Option<u32>,
    },
    /// The caller cancelled the wait.
    #[error("stopped waiting for {path}: cancelled")]
    Cancelled {
        /// The lock file.
        path: PathBuf,
    },
}

/// Held while alive; the OS releases it on drop or exit.
#[derive(Debug)]
pub struct FileLock {
    file: File,
}

impl FileLock {
    /// Release the lock now.
    pub fn release(self) {
        let _ = self.file.unlock();
    }
}

/// How often a waiter tries again.
const POLL: Duration = Duration::from_millis(50);

/// How long a waiter's notice may wait for the holder's pid to appear.
const PID_GRACE: Duration = Duration::from_millis(250);

/// Take the lock at `path` (created with its folder if needed), waiting as
/// `policy` says; `on_wait` hears once that the lock is held elsewhere.
pub fn acquire(
    path: &Path,
    policy: LockWait,
    on_wait: &mut dyn FnMut(Waiting<'_>),
) -> Result<FileLock, LockError> {
    acquire_until(path, policy, &Cancel::new(), on_wait)
}

/// [`acquire`], giving up with [`LockError::Cancelled`] as soon as
/// `cancel` is cancelled (checked at every poll, and the wait between
/// polls ends at once).
pub fn acquire_until(
    path: &Path,
    policy: LockWait,
    cancel: &Cancel,
    on_wait: &mut dyn FnMut(Waiting<'_>),
) -> Result<FileLock, LockError> {
    let io = |source| LockError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path)
        .map_err(io)?;
    let started = Instant::now();
    let mut told = false;
    let cancelled = || LockError::Cancelled {
        path: path.to_path_buf(),
    };
    loop {
        cancel.check().map_err(|_| cancelled())?;
        match file.try_lock() {
            Ok(()) => {
                write_pid(&mut file);
                return Ok(FileLock { file });
            }
            Err(std::fs::TryLockError::WouldBlock) => {}
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        }
        let waited = started.elapsed();
        if waited >= policy.timeout {
            return Err(LockError::Timeout {
                path: path.to_path_buf(),
                waited,
                holder_pid: holder_pid(&mut file),
            });
        }
        if !told && waited >= policy.notice_after {
            // A holder writes its pid just after it took the lock: give it
            // a moment, so that the notice can name it.
            let pid = holder_pid(&mut file);
            if pid.is_some() || waited >= policy.notice_after + PID_GRACE {
                told = true;
                on_wait(Waiting {
                    path,
                    holder_pid: pid,
                });
            }
        }
        cancel
            .sleep(POLL.min(policy.timeout.saturating_sub(waited)))
            .map_err(|_| cancelled())?;
    }
}

/// Record this process as the holder (best effort: only a hint).
fn write_pid(file: &mut File) {
    let _ = file.set_len(0);
    let _ = file.rewind();
    let _ = write!(file, "{}", std::process::id());
}

fn holder_pid(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.rewind().ok()?;
    file.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_waiter_is_told_who_holds_the_lock_and_gives_up_at_the_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("locks/a.lock");
        let held = acquire(&path, LockWait::default(), &mut |_| {}).unwrap();
        let policy = LockWait {
            notice_after: Duration::from_millis(20),
            timeout: Duration::from_millis(200),
        };
        let mut heard = Vec::new();
        let err = acquire(&path, policy, &mut |w| heard.push(w.holder_pid)).unwrap_err();
        assert_eq!(
            heard,
            vec![Some(std::process::id())],
            "told once, with the pid"
        );
        match err {
            LockError::Timeout {
                holder_pid, waited, ..
            } => {
                assert_eq!(holder_pid, Some(std::process::id()));
                assert!(waited >= policy.timeout);
            }
            other => panic!("{other:?}"),
        }
        held.release();
        acquire(&path, policy, &mut |_| panic!("free: no wait")).unwrap();
    }

    #[test]
    fn a_cancelled_waiter_stops_waiting() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.lock");
        let _held = acquire(&path, LockWait::default(), &mut |_| {}).unwrap();
        let cancel = Cancel::new();
        let canceller = cancel.clone();
        let p = path.clone();
        let t = std::thread::spawn(move || {
            acquire_until(&p, LockWait::default(), &canceller, &mut |_| {})
        });
        std::thread::sleep(Duration::from_millis(100));
        cancel.cancel();
        match t.join().unwrap() {
            Err(LockError::Cancelled { path: p }) => assert_eq!(p, path),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_second_holder_gets_the_lock_when_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.lock");
        let first = acquire(&path, LockWait::default(), &mut |_| {}).unwrap();
        let p = path.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        let t = std::thread::spawn(move || {
            let _second = acquire(&p, LockWait::default(), &mut |_| {}).unwrap();
            tx.send(()).unwrap();
        });
        assert!(rx.recv_timeout(Duration::from_millis(200)).is_err());
        drop(first);
        rx.recv_timeout(Duration::from_secs(5)).unwrap();
        t.join().unwrap();
    }
}
