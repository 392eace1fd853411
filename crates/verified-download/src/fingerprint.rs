//! File fingerprints: the cheap identity of a file's bytes, so a warm
//! ensure can skip re-hashing an unchanged file.
//!
//! A fingerprint is (size, mtime ns, ctime ns, inode, device). Any write
//! through the file system changes mtime and ctime; `touch -d` can reset
//! mtime but not ctime, and replacing the file changes the inode.
//!
//! Timestamps have a coarse granularity, so a write that lands in the same
//! clock tick as the hash would leave the fingerprint unchanged ("racy
//! clean", as git calls it). A fingerprint taken less than
//! [`RACY_WINDOW_NS`] after the file's last change is therefore not
//! trusted: the next ensure hashes again.

use serde::{Deserialize, Serialize};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// How long after its last change a file's fingerprint is not trusted.
pub const RACY_WINDOW_NS: i64 = 2_000_000_000;

/// The identity of a file's current contents as the file system reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Fingerprint {
    /// Size in bytes.
    pub size: u64,
    /// Last modification, ns since the Unix epoch.
    pub mtime_ns: i64,
    /// Last status change, ns since the Unix epoch.
    pub ctime_ns: i64,
    /// Inode number.
    pub inode: u64,
    /// Device number.
    pub device: u64,
}

impl Fingerprint {
    /// The fingerprint of the file at `path` (following symlinks, as the
    /// HF cache's snapshot links need).
    pub fn of(path: &Path) -> std::io::Result<Self> {
        Ok(Self::from_metadata(&std::fs::metadata(path)?))
    }

    /// The fingerprint described by `meta`.
    pub fn from_metadata(meta: &std::fs::Metadata) -> Self {
        Self {
            size: meta.len(),
            mtime_ns: meta.mtime().saturating_mul(1_000_000_000) + meta.mtime_nsec(),
            ctime_ns: meta.ctime().saturating_mul(1_000_000_000) + meta.ctime_nsec(),
            inode: meta.ino(),
            device: meta.dev(),
        }
    }

    /// Whether this fingerprint, taken just before hashing started at
    /// `hash_started_ns`, can vouch for the hashed bytes later: the file's
    /// last change must be older than the racy window.
    pub fn trustworthy_at(&self, hash_started_ns: i64) -> bool {
        self.trustworthy_within(hash_started_ns, RACY_WINDOW_NS)
    }

    /// [`trustworthy_at`](Self::trustworthy_at) with another racy window
    /// (file systems with nanosecond timestamps can use a shorter one).
    pub fn trustworthy_within(&self, hash_started_ns: i64, window_ns: i64) -> bool {
        let last_change = self.mtime_ns.max(self.ctime_ns);
        last_change < hash_started_ns.saturating_sub(window_ns)
    }
}

impl Fingerprint {
    /// Whether this is the fingerprint of a settled file (see [`settle`]):
    /// its mtime lies further in the past than the racy window, where no
    /// write at or after `now_ns` can put it. Such a fingerprint vouches
    /// for the bytes at once; ctime is not consulted, since settling
    /// itself moves it.
    pub fn settled_at(&self, now_ns: i64, window_ns: i64) -> bool {
        self.mtime_ns < now_ns.saturating_sub(window_ns)
    }
}

/// Settle a file that was just written and verified: make it read-only
/// and set its mtime to a past instant. Any later write moves the mtime to
/// the present, off that instant, so a fingerprint taken now detects it
/// with no racy window, and the next ensure need not hash the file again.
/// Fetchers call this before moving a verified download into place, so
/// that no reader ever sees the file change.
pub fn settle(path: &Path) -> std::io::Result<Fingerprint> {
    use std::os::unix::fs::PermissionsExt;
    let file = std::fs::File::open(path)?;
    let past = SystemTime::now() - std::time::Duration::from_secs(SETTLED_AGE_SECS);
    file.set_modified(past)?;
    let mut perms = file.metadata()?.permissions();
    perms.set_mode(perms.mode() & 0o444);
    file.set_permissions(perms)?;
    Fingerprint::of(path)
}

/// How far in the past [`settle`] puts a file's mtime: beyond any racy
/// window in use.
const SETTLED_AGE_SECS: u64 = 60;

/// Wall-clock now in nanoseconds since the Unix epoch (the clock file
/// timestamps use).
pub fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Wall-clock now in milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::time::Duration;

    #[test]
    fn in_place_write_changes_the_fingerprint() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.bin");
        std::fs::write(&path, b"aaaa").unwrap();
        let before = Fingerprint::of(&path).unwrap();
        let mut f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        f.write_all(b"b").unwrap();
        drop(f);
        // Restore the old mtime: ctime still moves.
        let f = std::fs::File::options().write(true).open(&path).unwrap();
        f.set_modified(UNIX_EPOCH + Duration::from_nanos(before.mtime_ns as u64))
            .unwrap();
        let after = Fingerprint::of(&path).unwrap();
        assert_eq!(after.size, before.size);
        assert_eq!(after.mtime_ns, before.mtime_ns);
        assert_ne!(after, before);
    }

    #[test]
    fn a_just_written_file_is_not_trusted_an_old_one_is() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.bin");
        std::fs::write(&path, b"x").unwrap();
        let fp = Fingerprint::of(&path).unwrap();
        assert!(!fp.trustworthy_at(now_ns()));
        assert!(fp.trustworthy_at(now_ns() + RACY_WINDOW_NS + 1_000_000_000));
    }
}
