//! Content-addressed installs: `<root>/<archive sha256>/` holds one
//! archive unpacked, shared by every pool that names it. An install is
//! made in a temporary folder beside it (`.tmp-…`), checked, stamped and
//! renamed into place in one step, so a reader sees a whole install or
//! none. Two ensures racing on the same archive both unpack; the first
//! rename wins, the loser removes its folder and uses the winner's.
//!
//! The stamp (`.provision/<which binary>.json` inside the install)
//! records what the `--version` check found and the binary's sha256 and
//! fingerprint (size, mtime, ctime, inode): a warm ensure compares the
//! fingerprint, like model-provisioner's catalog does for models, and
//! neither hashes the binary nor runs it.

use model_provisioner::{Fingerprint, sha256_bytes};
use serde::{Deserialize, Serialize};
use std::io;
use std::path::{Path, PathBuf};

/// Folder of stamps inside an install.
const STAMPS: &str = ".provision";

/// What the check of one binary of an install found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Stamp {
    /// The archive's sha256 (hex): the install's folder name.
    pub archive_sha256: String,
    /// The binary, relative to the install.
    pub binary: PathBuf,
    /// Its sha256 (hex).
    pub binary_sha256: String,
    /// `--version`'s build number.
    pub build: String,
    /// `--version`'s commit.
    pub commit: String,
    /// The binary's fingerprint when it was checked.
    pub fingerprint: Fingerprint,
}

/// `<root>/<hex>`.
pub(crate) fn final_dir(root: &Path, hex: &str) -> PathBuf {
    root.join(hex)
}

/// A fresh temporary folder name beside the installs.
pub(crate) fn temp_dir(root: &Path, hex: &str) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    root.join(format!(".tmp-{hex}-{}-{n}", std::process::id()))
}

/// The stamp file for the pool's binary choice: `default` when the
/// archive's one `llama-server` is used, else named by the configured
/// path's hash (two pools may pick two binaries of one archive).
pub(crate) fn stamp_path(install: &Path, configured: Option<&Path>) -> PathBuf {
    let name = match configured {
        None => "default".to_string(),
        Some(p) => sha256_bytes(p.as_os_str().as_encoded_bytes()).hex()[..16].to_string(),
    };
    install.join(STAMPS).join(format!("{name}.json"))
}

/// The stamp of `install` for this binary choice, as written.
pub(crate) fn read_stamp(install: &Path, configured: Option<&Path>) -> Option<Stamp> {
    let text = std::fs::read(stamp_path(install, configured)).ok()?;
    serde_json::from_slice(&text).ok()
}

/// Whether the stamped binary still has the fingerprint it was checked
/// with (size, mtime, ctime, inode: a rewrite or replacement changes one).
pub(crate) fn unchanged(install: &Path, stamp: &Stamp) -> bool {
    Fingerprint::of(&install.join(&stamp.binary)).is_ok_and(|now| now == stamp.fingerprint)
}

/// Write `stamp` for this choice (a temporary file renamed into place).
pub(crate) fn write_stamp(
    install: &Path,
    configured: Option<&Path>,
    stamp: &Stamp,
) -> io::Result<()> {
    let path = stamp_path(install, configured);
    let dir = install.join(STAMPS);
    std::fs::create_dir_all(&dir)?;
    let tmp = temp_dir(&dir, "stamp");
    let text = serde_json::to_vec_pretty(stamp).map_err(io::Error::other)?;
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, &path)
}

/// Removes a temporary folder when dropped, unless it was renamed into
/// place.
pub(crate) struct TempInstall {
    path: PathBuf,
    keep: bool,
}

impl TempInstall {
    /// Create the folder.
    pub(crate) fn create(path: PathBuf) -> io::Result<Self> {
        std::fs::create_dir_all(&path)?;
        Ok(Self { path, keep: false })
    }

    /// The folder.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Rename it to `to`. `Ok(true)`: this call put it there; `Ok(false)`:
    /// another install got there first (this folder is removed on drop).
    pub(crate) fn commit(mut self, to: &Path) -> io::Result<bool> {
        match std::fs::rename(&self.path, to) {
            Ok(()) => {
                self.keep = true;
                Ok(true)
            }
            // rename(2) onto a non-empty folder: ENOTEMPTY or EEXIST.
            Err(e)
                if to.is_dir()
                    && (e.kind() == io::ErrorKind::DirectoryNotEmpty
                        || e.kind() == io::ErrorKind::AlreadyExists) =>
            {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }
}

impl Drop for TempInstall {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// Move a damaged install out of the way (renamed, then removed), so the
/// next install of its archive starts clean. A reader holding files of it
/// keeps them (they are unlinked, not changed).
pub(crate) fn discard(install: &Path, root: &Path, hex: &str) -> io::Result<()> {
    let aside = temp_dir(root, hex);
    match std::fs::rename(install, &aside) {
        Ok(()) => std::fs::remove_dir_all(&aside),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}
