//! One execution per model: two ensures of the same ref, in one process
//! or in several sharing a cache, do not both fetch and verify it. The
//! second waits (narrating `lock-wait` with whom it waits for: the other
//! task's correlation id in this process, the other pid elsewhere), then
//! reads the catalog the first one wrote, so the first one's verification
//! stands and nothing is hashed again.
//!
//! Two locks, taken in order: a table of the refs being ensured in this
//! process (so a waiter can name the task it waits for, and threads do
//! not poll the file), then a file lock in `<cache>/.locks/` for other
//! processes. Local files are not gated: nothing is fetched for them.

use super::lifecycle::Ensure;
use crate::actions as act;
use crate::cancel::Cancel;
use crate::digest::sha256_bytes;
use crate::download::DownloadError;
use crate::error::ProvisionError;
use crate::file_lock::{self, FileLock, LockError, LockWait};
use crate::progress::ProgressStep;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, LazyLock, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// The folder (under the cache's `.locks`, which cache scans skip) that
/// holds one lock file per model being ensured.
const LOCK_DIR: &str = ".locks/provision-ensure";

/// How often an in-process waiter looks at its cancel token.
const POLL: Duration = Duration::from_millis(50);

/// The default wait: said at once (the other task is known), given up
/// after an hour, as for a blob lock.
pub(crate) const ENSURE_LOCK_WAIT: LockWait = LockWait {
    notice_after: Duration::ZERO,
    timeout: Duration::from_secs(3600),
};

/// Refs being ensured in this process: lock file → the ensuring task's
/// correlation id.
struct Table {
    running: Mutex<HashMap<PathBuf, String>>,
    freed: Condvar,
}

static TABLE: LazyLock<Table> = LazyLock::new(|| Table {
    running: Mutex::new(HashMap::new()),
    freed: Condvar::new(),
});

fn running() -> MutexGuard<'static, HashMap<PathBuf, String>> {
    TABLE.running.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Held while one ensure runs; dropping it lets the next one in.
pub(super) struct Gate {
    key: PathBuf,
    file: Option<FileLock>,
}

impl Drop for Gate {
    fn drop(&mut self) {
        // The file first: a task of this process let in by the table must
        // find the file free, or it would wait (and say so) twice.
        if let Some(file) = self.file.take() {
            file.release();
        }
        running().remove(&self.key);
        TABLE.freed.notify_all();
    }
}

/// The lock file of the ensure of `id` in `cache_dir`.
pub(super) fn lock_path(cache_dir: &Path, id: &str) -> PathBuf {
    let hex = sha256_bytes(id.as_bytes()).hex();
    cache_dir
        .join(LOCK_DIR)
        .join(format!("{}.lock", &hex[..32]))
}

/// Wait until no other task or process ensures `e.target`, then hold it.
pub(super) fn enter(
    e: &Ensure<'_>,
    cache_dir: &Path,
    policy: LockWait,
) -> Result<Gate, ProvisionError> {
    let key = lock_path(cache_dir, &e.target);
    let cancel = &e.ctx.cancel;
    let mine = e.ctx.correlation_id.clone().unwrap_or_default();
    wait_in_process(e, &key, &mine, cancel)?;
    // From here on this task is in the table: on any error, the gate's
    // drop takes it out again.
    let file = file_lock::acquire_until(&key, policy, cancel, &mut |w| {
        e.ctx.progress.begin(ProgressStep::LockWait, None);
        let holder = w
            .holder_pid
            .map_or_else(|| "another process".to_string(), |p| format!("pid {p}"));
        e.say(
            act::LOCK_WAIT,
            format!(
                "Waiting for {holder}, which is ensuring {} (lock {})",
                e.target,
                w.path.display()
            ),
        );
    });
    let file = match file {
        Ok(file) => file,
        Err(err) => {
            running().remove(&key);
            TABLE.freed.notify_all();
            return Err(lock_failed(e, err));
        }
    };
    Ok(Gate {
        key,
        file: Some(file),
    })
}

/// Wait for the task of this process that ensures the same ref, then
/// take its place in the table.
fn wait_in_process(
    e: &Ensure<'_>,
    key: &Path,
    mine: &str,
    cancel: &Cancel,
) -> Result<(), ProvisionError> {
    let mut table = running();
    let mut told = false;
    while let Some(other) = table.get(key) {
        if !told {
            told = true;
            e.ctx.progress.begin(ProgressStep::LockWait, None);
            e.say(
                act::LOCK_WAIT,
                format!(
                    "Waiting for task {other} of this process (pid {}), which is ensuring {}",
                    std::process::id(),
                    e.target
                ),
            );
        }
        if cancel.is_cancelled() {
            return Err(cancelled(e));
        }
        table = TABLE
            .freed
            .wait_timeout(table, POLL)
            .unwrap_or_else(PoisonError::into_inner)
            .0;
    }
    if cancel.is_cancelled() {
        return Err(cancelled(e));
    }
    table.insert(key.to_path_buf(), mine.to_string());
    Ok(())
}

fn cancelled(e: &Ensure<'_>) -> ProvisionError {
    ProvisionError::Cancelled {
        model: e.target.clone(),
        step: act::LOCK_WAIT,
    }
}

fn lock_failed(e: &Ensure<'_>, err: LockError) -> ProvisionError {
    match err {
        LockError::Cancelled { .. } => cancelled(e),
        LockError::Io { path, source } => ProvisionError::Write {
            what: "ensure lock",
            path,
            source,
        },
        timeout => ProvisionError::Download {
            model: e.target.clone(),
            source: DownloadError::LockTimeout(timeout),
        },
    }
}
