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
//!
//! The file is bounded: a state naming more ranges than the file has
//! pieces (and straggler splits), or ranges that are inverted, overlap,
//! are out of order or reach past the file, is not a state this code
//! wrote, and the transfer starts over rather than asking for each
//! range. A directory where the state file belongs is removed with it.

use crate::DownloadError;
use crate::ranges::RangeSet;
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

/// The saved state of `partial` (open as `file`), when it is readable,
/// matches the file and names well-formed ranges, at most
/// `max_ranges(total)` of them.
pub(super) fn load(
    partial: &Path,
    file: &File,
    max_ranges: impl Fn(u64) -> usize,
) -> Option<Parts> {
    let text = std::fs::read(path_for(partial)).ok()?;
    let saved: Saved = serde_json::from_slice(&text).ok()?;
    let meta = file.metadata().ok()?;
    let matches = saved.version == VERSION
        && meta.len() == saved.partial_len
        && meta.len() == saved.total
        && meta.ino() == saved.partial_inode
        && (meta.mtime(), meta.mtime_nsec()) >= saved.partial_mtime
        && saved.done.len() <= max_ranges(saved.total)
        && saved.done.is_canonical(saved.total)
        && saved.hashed <= saved.done.prefix_end();
    matches.then_some(Parts {
        total: saved.total,
        done: saved.done,
    })
}

/// Records `parts` for `partial` (open as `file`): written aside and
/// renamed over, so a reader sees the old state or the new one.
pub(super) fn save(
    partial: &Path,
    file: &File,
    parts: &Parts,
    hashed: u64,
) -> Result<(), DownloadError> {
    let len = file
        .metadata()
        .map_err(|e| DownloadError::io("read", partial, e))?
        .len();
    save_as(partial, file, parts, hashed, len)
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
) -> Result<(), DownloadError> {
    let meta = file
        .metadata()
        .map_err(|e| DownloadError::io("read", partial, e))?;
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
    let tmp = PathBuf::from(tmp);
    let text = serde_json::to_vec(&saved).map_err(io::Error::other);
    let written = text.and_then(|text| {
        remove_path(&tmp);
        std::fs::write(&tmp, text)
    });
    written.map_err(|e| DownloadError::io("write", &tmp, e))?;
    if path.is_dir() {
        remove_path(&path);
    }
    std::fs::rename(&tmp, &path).map_err(|e| DownloadError::io("replace", &path, e))
}

/// Deletes the state file of `partial`, if any (a directory in its place
/// too: nothing but this code writes there).
pub(super) fn remove(partial: &Path) {
    remove_path(&path_for(partial));
}

fn remove_path(path: &Path) {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => {
            let _ = std::fs::remove_dir_all(path);
        }
        Ok(_) => {
            let _ = std::fs::remove_file(path);
        }
        Err(_) => {}
    }
}

/// The most ranges a state of a `total`-byte file fetched in `chunk`
/// pieces over `connections` can name: one per piece, and one per
/// straggler split in flight.
pub(super) fn max_ranges(total: u64, chunk: u64, connections: usize) -> usize {
    let pieces = usize::try_from(total.div_ceil(chunk.max(1))).unwrap_or(usize::MAX);
    pieces.saturating_add(connections).saturating_add(1)
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
        assert_eq!(load(&partial, &file, |_| 4), Some(parts.clone()));
        file.set_len(99).unwrap();
        assert_eq!(load(&partial, &file, |_| 4), None, "another length");
        file.set_len(100).unwrap();
        std::fs::write(path_for(&partial), b"{not json").unwrap();
        assert_eq!(load(&partial, &file, |_| 4), None, "unreadable");
        remove(&partial);
        assert_eq!(load(&partial, &file, |_| 4), None, "absent");
    }

    /// A state file as an attacker (or a bug) would write it, for a
    /// partial of `total` bytes.
    fn forged(partial: &Path, file: &File, total: u64, done: &str) {
        file.set_len(total).unwrap();
        let meta = file.metadata().unwrap();
        let text = format!(
            r#"{{"version":1,"total":{total},"done":{done},"hashed":0,"partial_len":{total},"partial_inode":{},"partial_mtime":[{},{}]}}"#,
            meta.ino(),
            meta.mtime(),
            meta.mtime_nsec()
        );
        std::fs::write(path_for(partial), text).unwrap();
    }

    #[test]
    fn too_many_inverted_overlapping_or_outside_ranges_are_not_a_state() {
        let dir = tempfile::tempdir().unwrap();
        let partial = dir.path().join("f.incomplete");
        let file = File::options()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&partial)
            .unwrap();
        forged(&partial, &file, 100, "[[0,10],[20,30]]");
        assert!(
            load(&partial, &file, |_| 2).is_some(),
            "a well-formed state"
        );
        assert_eq!(
            load(&partial, &file, |_| 1),
            None,
            "more ranges than pieces"
        );
        for bad in [
            "[[30,20]]",
            "[[0,10],[5,20]]",
            "[[20,30],[0,10]]",
            "[[0,10],[10,20]]",
            "[[90,140]]",
            "[[5,5]]",
        ] {
            forged(&partial, &file, 100, bad);
            assert_eq!(load(&partial, &file, |_| 10), None, "{bad}");
        }
    }

    #[test]
    fn a_directory_in_place_of_the_state_file_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let partial = dir.path().join("f.incomplete");
        let file = File::options()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&partial)
            .unwrap();
        file.set_len(10).unwrap();
        std::fs::create_dir_all(path_for(&partial).join("inner")).unwrap();
        assert_eq!(load(&partial, &file, |_| 4), None);
        let parts = Parts {
            total: 10,
            done: RangeSet::prefix(4),
        };
        save(&partial, &file, &parts, 0).unwrap();
        assert_eq!(load(&partial, &file, |_| 4), Some(parts));
    }
}
