//! Free space, checked before a transfer fetches its bytes: a download
//! that cannot fit fails at once, naming what it needs and what is free,
//! instead of filling the disk to its last byte and failing there (and
//! leaving every other writer on that disk without space).

use crate::DownloadError;
use std::path::Path;

/// Fails with [`DownloadError::NoSpace`] when the filesystem of `partial`
/// has fewer than `needed` bytes free for this process. A filesystem that
/// cannot say how much is free is not judged (the writes will tell).
pub(super) fn check(partial: &Path, needed: u64) -> Result<(), DownloadError> {
    let dir = match partial.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let Some(free) = free_bytes(dir) else {
        return Ok(());
    };
    if needed > free {
        return Err(DownloadError::NoSpace {
            path: partial.to_path_buf(),
            needed,
            free,
        });
    }
    Ok(())
}

/// Bytes an unprivileged writer may still use on the filesystem of `dir`.
fn free_bytes(dir: &Path) -> Option<u64> {
    let st = rustix::fs::statvfs(dir).ok()?;
    Some(st.f_bavail.saturating_mul(st.f_frsize))
}

#[cfg(test)]
mod tests {
    #[test]
    fn more_than_the_disk_holds_is_refused_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let partial = dir.path().join("x.incomplete");
        super::check(&partial, 0).unwrap();
        let err = super::check(&partial, u64::MAX).unwrap_err();
        assert_eq!(err.kind(), "no-space");
        let text = err.to_string();
        assert!(
            text.contains("x.incomplete") && text.contains("provision cache prune"),
            "{text}"
        );
    }
}
