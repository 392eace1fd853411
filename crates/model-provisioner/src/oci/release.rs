//! Letting go of a manifest in a local layout, leaving it valid for every
//! reader: under the layout's lock (the one a pull holds), `index.json`
//! loses the tag (rewritten under a temporary name and renamed, other
//! entries and fields kept as they were), then, once no tag and no other
//! catalog entry needs the manifest, its model folder goes and every blob
//! that no remaining manifest needs. When any remaining manifest cannot be
//! read, no blob is deleted (unknown means keep).

use super::inventory::{Inventory, sha256_hex};
use super::manifest::ANNOTATION_REF_NAME;
use crate::file_lock::{self, LockError, LockWait};
use crate::oci_error::OciError;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Which `index.json` entries of the manifest go.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Untag<'a> {
    /// The entry naming this tag.
    Tag(&'a str),
    /// Every entry of the manifest.
    Every,
    /// None (a pull by digest has no tag).
    Nothing,
}

/// What [`release`] did.
#[derive(Debug, Default)]
pub(crate) struct Released {
    /// Files and folders deleted.
    pub deleted: Vec<PathBuf>,
    /// What stayed, and why.
    pub kept: Vec<(PathBuf, String)>,
}

/// The layout and manifest (hex) of a model file a pull named
/// (`<layout>/models/sha256-<hex>/<name>`), or of a manifest blob
/// (`<layout>/blobs/sha256/<hex>`), when `path` is one.
pub(crate) fn model_of(path: &Path) -> Option<(PathBuf, String)> {
    let folder = path.parent()?;
    let up = folder.parent()?;
    let root = up.parent()?;
    let hex = if up.file_name()? == "models" {
        sha256_hex(&folder.file_name()?.to_str()?.replacen('-', ":", 1))?
    } else if up.file_name()? == "blobs" && folder.file_name()? == "sha256" {
        sha256_hex(&format!("sha256:{}", path.file_name()?.to_str()?))?
    } else {
        return None;
    };
    Inventory::is_layout(root).then(|| (root.to_path_buf(), hex))
}

/// Removes `untag`'s entries of `manifest` from the layout at `root`;
/// with `collect`, then deletes its model folder and the blobs nothing
/// in use needs any more (unless a tag still names it).
pub(crate) fn release(
    root: &Path,
    manifest: &str,
    untag: Untag<'_>,
    collect: bool,
    wait: LockWait,
) -> Result<Released, OciError> {
    let lock_path = root.join(".lock");
    let _lock = file_lock::acquire(&lock_path, wait, &mut |_| {}).map_err(|e| match e {
        LockError::Io { path, source } => OciError::layout("lock", path, source),
        other => OciError::layout("lock", &lock_path, std::io::Error::other(other.to_string())),
    })?;
    untag_in_index(root, manifest, untag)?;
    let mut out = Released::default();
    if !collect {
        return Ok(out);
    }
    let inv = Inventory::read(root)?;
    let still_tagged = inv.manifests.get(manifest).filter(|tags| !tags.is_empty());
    if let Some(tags) = still_tagged {
        let tags: Vec<&str> = tags.iter().map(String::as_str).collect();
        out.kept.push((
            inv.model_dir(manifest),
            format!("index.json still tags it {}", tags.join(", ")),
        ));
        return Ok(out);
    }
    let dir = inv.model_dir(manifest);
    if dir.is_dir() {
        std::fs::remove_dir_all(&dir).map_err(|e| OciError::layout("delete", &dir, e))?;
        out.deleted.push(dir);
    }
    // Read again: the manifest's folder is gone, so it is no longer in use.
    let inv = Inventory::read(root)?;
    let Some(live) = inv.live() else {
        out.kept.push((
            root.to_path_buf(),
            "a manifest in index.json cannot be read; no blob deleted".to_string(),
        ));
        return Ok(out);
    };
    for hex in inv.blobs.keys().filter(|b| !live.contains(*b)) {
        let path = inv.blob(hex);
        match std::fs::remove_file(&path) {
            Ok(()) => out.deleted.push(path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(OciError::layout("delete", &path, e)),
        }
    }
    Ok(out)
}

/// Drops the entries of `manifest` that `untag` names from `index.json`,
/// keeping every other entry and field; writes only when something changed.
fn untag_in_index(root: &Path, manifest: &str, untag: Untag<'_>) -> Result<(), OciError> {
    if matches!(untag, Untag::Nothing) {
        return Ok(());
    }
    let path = root.join("index.json");
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(OciError::layout("read", &path, e)),
    };
    let parse = |e| OciError::layout("parse", &path, std::io::Error::other(e));
    let mut index: serde_json::Value = serde_json::from_slice(&bytes).map_err(parse)?;
    let Some(entries) = index.get_mut("manifests").and_then(|m| m.as_array_mut()) else {
        return Ok(());
    };
    let before = entries.len();
    let wanted = format!("sha256:{manifest}");
    entries.retain(|d| {
        let same = d.get("digest").and_then(|v| v.as_str()) == Some(wanted.as_str());
        let tag = d
            .get("annotations")
            .and_then(|a| a.get(ANNOTATION_REF_NAME))
            .and_then(|t| t.as_str());
        let goes = match untag {
            Untag::Tag(t) => same && tag == Some(t),
            Untag::Every => same,
            Untag::Nothing => false,
        };
        !goes
    });
    if entries.len() == before {
        return Ok(());
    }
    let bytes = serde_json::to_vec_pretty(&index).map_err(parse)?;
    let mut tmp = tempfile::NamedTempFile::new_in(root)
        .map_err(|e| OciError::layout("create a temporary file in", root, e))?;
    tmp.write_all(&bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| OciError::layout("write", &path, e))?;
    tmp.persist(&path)
        .map_err(|e| OciError::layout("move into place", &path, e.error))?;
    Ok(())
}
