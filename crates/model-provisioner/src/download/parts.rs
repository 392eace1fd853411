//! The state file of a parallel transfer, beside its partial file: which
//! ranges are finished, so a killed process fetches only what is missing.
//!
//! The partial's length, inode and modification time are recorded with
//! each save. A state file that is unreadable, or whose partial does not
//! match (another length or inode, or a modification time older than the
//! one recorded: in-flight writes after the last save only move it
//! forward), is ignored and the transfer starts over. The sha256 of the
//! file is checked before the rename whatever the state file says, so a
//! wrong state can cost a download, never store a bad blob.

use crate::download::ranges::RangeSet;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// What a previous run finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Parts {
    /// The file's size.
    pub total: u64,
    /// Finished ranges.
    pub done: RangeSet,
}

/// The file's format (version 1).
#[derive(Serialize, Deserialize)]
struct Saved {
    version: u32,
    total: u64,
    done: RangeSet,
    /// Bytes from 0 the digest had covered (re-hashed from the file on resume).
    hashed: u64,
    partial_len: u64,
    partial_inode: u64,
    partial_mtime: (i64, i64),
}

const VERSION: u32 = 1;

/// `{partial}.parts`.
pub(super) fn path_for(partial: &Path) -> PathBuf {
    let mut name = partial.as_os_str().to_owned();
    name.push(".parts");
    name.into()
}

/// The saved state of `partial` (open as `file`), when it is readable and
/// matches the file.
pub(super) fn load(partial: &Path, file: &File) -> Option<Parts> {
    let text = std::fs::read(path_for(partial)).ok()?;
    let saved: Saved = serde_json::from_slice(&text).ok()?;
    let meta = file.metadata().ok()?;
    let matches = saved.version == VERSION
        && meta.len() == saved.partial_len
        && meta.len() == saved.total
        && meta.ino() == saved.partial_inode
        && (meta.mtime(), meta.mtime_nsec()) >= saved.partial_mtime
        && saved.done.fits(saved.total)
        && saved.hashed <= saved.done.prefix_end();
    matches.then_some(Parts {
        total: saved.total,
        done: saved.done,
    })
}

/// Records `parts` for `partial` (open as `file`): written aside and
/// renamed over, so a reader sees the old state or the new one.
pub(super) fn save(partial: &Path, file: &File, parts: &Parts, hashed: u64) -> io::Result<()> {
    save_as(partial, file, parts, hashed, file.metadata()?.len())
}

/// [`save`], recording the partial's length as `len`: written just before
/// the partial is extended to it, so a partial of full length never
/// exists without its state.
pub(super) fn save_as(
    partial: &Path,
    file: &File,
    parts: &Parts,
    hashed: u64,
    len: u64,
) -> io::Result<()> {
    let meta = file.metadata()?;
    let saved = Saved {
        version: VERSION,
        total: parts.total,
        done: parts.done.clone(),
        hashed,
        partial_len: len,
        partial_inode: meta.ino(),
        partial_mtime: (meta.mtime(), meta.mtime_nsec()),
    };
    let path = path_for(partial);
    let mut tmp = path.clone().into_os_string();
    tmp.push(".tmp");
    std::fs::write(&tmp, serde_json::to_vec(&saved).map_err(io::Error::other)?)?;
    std::fs::rename(&tmp, &path)
}

/// Deletes the state file of `partial`, if any.
pub(super) fn remove(partial: &Path) {
    let _ = std::fs::remove_file(path_for(partial));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_and_a_changed_partial_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let partial = dir.path().join("f.incomplete");
        let file = File::options()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&partial)
            .unwrap();
        file.set_len(100).unwrap();
        let parts = Parts {
            total: 100,
            done: RangeSet::prefix(40),
        };
        save(&partial, &file, &parts, 10).unwrap();
        assert_eq!(load(&partial, &file), Some(parts.clone()));
        file.set_len(99).unwrap();
        assert_eq!(load(&partial, &file), None, "another length");
        file.set_len(100).unwrap();
        std::fs::write(path_for(&partial), b"{not json").unwrap();
        assert_eq!(load(&partial, &file), None, "unreadable");
        remove(&partial);
        assert_eq!(load(&partial, &file), None, "absent");
    }
}
