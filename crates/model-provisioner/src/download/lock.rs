//! A cross-process lock per file: an OS file lock (`flock` on Unix, the
//! same lock the reference HF client's `filelock` takes), held while a
//! blob downloads. The OS drops it when the holder exits, even when killed.

use crate::download::DownloadError;
use std::fs::{File, OpenOptions};
use std::path::Path;

/// Held while alive; released on drop.
#[derive(Debug)]
pub(crate) struct FileLock {
    _file: File,
}

/// Blocks until this process holds the lock at `path` (created if needed).
pub(crate) fn lock(path: &Path) -> Result<FileLock, DownloadError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| DownloadError::io("create", dir, e))?;
    }
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| DownloadError::io("open lock", path, e))?;
    file.lock()
        .map_err(|e| DownloadError::io("lock", path, e))?;
    Ok(FileLock { _file: file })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_second_holder_waits_for_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x/e.lock");
        let first = super::lock(&path).unwrap();
        let p = path.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        let t = std::thread::spawn(move || {
            let _second = super::lock(&p).unwrap();
            tx.send(()).unwrap();
        });
        assert!(
            rx.recv_timeout(std::time::Duration::from_millis(200))
                .is_err(),
            "second got the lock while first held it"
        );
        drop(first);
        rx.recv_timeout(std::time::Duration::from_secs(5)).unwrap();
        t.join().unwrap();
    }
}
