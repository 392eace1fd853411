//! The per-blob lock of a download: one process transfers a file, others
//! wait for it (told through [`Event::LockWait`]) and then find it there.

use crate::file_lock::{self, FileLock, LockError, LockWait};
use crate::{DownloadError, Event, Events};
use std::path::Path;

/// Take the lock at `path`, waiting as `policy` says, or until the
/// thread's cancel token ([`interrupt`](super::interrupt)) is cancelled.
pub fn lock(path: &Path, policy: LockWait, events: Events<'_>) -> Result<FileLock, DownloadError> {
    let mut told = |w: file_lock::Waiting<'_>| {
        events(Event::LockWait {
            path: w.path,
            holder_pid: w.holder_pid,
        })
    };
    let cancel = crate::interrupt::current();
    file_lock::acquire_until(path, policy, &cancel, &mut told).map_err(|e| match e {
        LockError::Io { path, source } => DownloadError::io("lock", path, source),
        timeout @ LockError::Timeout { .. } => DownloadError::LockTimeout(timeout),
        LockError::Cancelled { .. } => DownloadError::Cancelled,
    })
}
