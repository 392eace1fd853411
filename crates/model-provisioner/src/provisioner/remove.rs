//! Removing a model from the catalog, and deleting the files that only it
//! uses: a file the reference named directly is never deleted, and a blob
//! in the Hugging Face cache only when no snapshot link of any revision and
//! no other catalog entry still uses it.

use super::ModelProvisioner;
use crate::actions as act;
use crate::catalog::{CatalogEntry, Origin};
use crate::error::{CatalogError, ProvisionError};
use crate::hf::shared_store::{self, Sweep};
use crate::model_ref::ModelRef;
use crate::oci::release::{self, Untag};
use narration_core::{NarrationFields, narrate};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// What [`ModelProvisioner::remove`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Removal {
    /// The catalog id.
    pub id: String,
    /// Whether the catalog row was deleted.
    pub removed: bool,
    /// Files deleted, links first.
    pub deleted_files: Vec<PathBuf>,
    /// Files left in place, each with the reason.
    pub kept_files: Vec<KeptFile>,
}

/// A file [`ModelProvisioner::remove`] did not delete, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeptFile {
    /// The file.
    pub path: PathBuf,
    /// Why it stays, for people.
    pub reason: String,
}

impl ModelProvisioner {
    /// Remove the catalog entry `id`. With `delete_files`, also delete the
    /// downloaded file behind it: the snapshot link it owns, and the blob
    /// when nothing else uses it. Files are deleted before the row, so a
    /// failure keeps the entry that points at them.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use model_provisioner::{ModelProvisioner, gguf};
    /// let dir = tempfile::tempdir()?;
    /// let model = dir.path().join("tiny.gguf");
    /// gguf::write_tiny_llama(&model, gguf::TINY_LLAMA_SEED)?;
    /// let models = ModelProvisioner::builder(dir.path().join("cache")).build()?;
    /// let resolved = models.ensure_present_str(model.to_str().unwrap(), None)?;
    /// let removal = models.remove(&resolved.id, true)?;
    /// assert!(removal.removed);
    /// assert!(model.is_file(), "a file the ref names directly is never deleted");
    /// # Ok(()) }
    /// ```
    pub fn remove(&self, id: &str, delete_files: bool) -> Result<Removal, ProvisionError> {
        let entry = self
            .catalog
            .get(id)?
            .ok_or_else(|| CatalogError::NotFound {
                path: PathBuf::new(),
                id: id.to_string(),
            })?;
        let mut removal = Removal {
            id: entry.id.clone(),
            removed: false,
            deleted_files: Vec::new(),
            kept_files: Vec::new(),
        };
        if delete_files {
            self.delete_files(&entry, &mut removal)?;
        }
        removal.removed = self.catalog.remove(id)?;
        Ok(removal)
    }

    fn delete_files(&self, entry: &CatalogEntry, out: &mut Removal) -> Result<(), ProvisionError> {
        let path = &entry.local_path;
        if entry.origin == Origin::Local {
            out.kept_files
                .push(kept(path, "the reference names this file directly"));
            return Ok(());
        }
        let target = file_key(path);
        let layout = release::model_of(path);
        if let Some(other) = self.other_entry_using(entry, target.as_deref())? {
            if let Some((root, manifest)) = &layout {
                // The other entry keeps the files; this one's tag goes.
                self.release_oci(entry, root, manifest, false, out)?;
            }
            out.kept_files
                .push(kept(path, &format!("catalog entry {other} uses it too")));
            return Ok(());
        }
        if let Some((root, manifest)) = &layout {
            return self.release_oci(entry, root, manifest, true, out);
        }
        let blob = own_blob(path);
        delete(path, out)?;
        let blob = match blob {
            OwnBlob::NotALink => return Ok(()),
            OwnBlob::Outside(file) => {
                out.kept_files.push(kept_outside(&entry.id, path, &file));
                return Ok(());
            }
            OwnBlob::Inside(blob) => blob,
        };
        match other_snapshot_link(path, &blob) {
            Some(link) => out.kept_files.push(kept(
                &blob,
                &format!("snapshot link {} still points to it", link.display()),
            )),
            None => {
                let entry = shared_store::store_target(&blob);
                delete(&blob, out)?;
                if let Some(entry) = entry {
                    sweep_store_entry(&entry, &mut out.deleted_files, &mut out.kept_files)?;
                }
            }
        }
        Ok(())
    }

    /// An `oci://` entry's model in its layout: its tag leaves `index.json`
    /// and, with `collect`, the blobs no other manifest needs go.
    fn release_oci(
        &self,
        entry: &CatalogEntry,
        root: &Path,
        manifest: &str,
        collect: bool,
        out: &mut Removal,
    ) -> Result<(), ProvisionError> {
        let tag = match ModelRef::parse(&entry.id) {
            Ok(ModelRef::Oci { tag: Some(tag), .. }) => Some(tag),
            _ => None,
        };
        let untag = tag.as_deref().map_or(Untag::Nothing, Untag::Tag);
        let released =
            release::release(root, manifest, untag, collect, self.lock_wait).map_err(|source| {
                ProvisionError::Oci {
                    model: entry.id.clone(),
                    source,
                }
            })?;
        out.deleted_files.extend(released.deleted);
        out.kept_files.extend(
            released
                .kept
                .into_iter()
                .map(|(path, reason)| kept(&path, &reason)),
        );
        Ok(())
    }

    /// Another catalog entry whose file is `entry`'s file (or its blob).
    fn other_entry_using(
        &self,
        entry: &CatalogEntry,
        target: Option<&Path>,
    ) -> Result<Option<String>, ProvisionError> {
        let Some(target) = target else {
            return Ok(None);
        };
        Ok(self
            .catalog
            .list()?
            .into_iter()
            .filter(|other| other.id != entry.id)
            .find(|other| file_key(&other.local_path).as_deref() == Some(target))
            .map(|other| other.id))
    }
}

/// What identifies the file behind a catalog entry: for a snapshot link,
/// its repo blob (not followed further, so two repos linking into the same
/// shared store entry are two files, each with its own link); else the
/// file, canonical.
fn file_key(path: &Path) -> Option<PathBuf> {
    match own_blob(path) {
        OwnBlob::Inside(blob) => {
            let dir = blob.parent()?.canonicalize().ok()?;
            Some(dir.join(blob.file_name()?))
        }
        _ => path.canonicalize().ok(),
    }
}

/// After the last repo blob link to the shared store entry `entry` went:
/// let the store's rules decide whether the entry goes (under its lock,
/// checked against the manifest), and say what happened.
pub(super) fn sweep_store_entry(
    entry: &Path,
    deleted: &mut Vec<PathBuf>,
    kept_files: &mut Vec<KeptFile>,
) -> Result<(), ProvisionError> {
    let swept = shared_store::sweep(entry).map_err(|source| ProvisionError::Write {
        what: "shared blob store entry",
        path: entry.to_path_buf(),
        source,
    })?;
    match swept {
        Sweep::Deleted => deleted.push(entry.to_path_buf()),
        Sweep::Referenced(links) => {
            let shown: Vec<String> = links.iter().map(|l| l.display().to_string()).collect();
            kept_files.push(kept(
                entry,
                &format!(
                    "shared blob store entry still linked from {}",
                    shown.join(", ")
                ),
            ));
        }
        Sweep::Unknown(why) => {
            kept_files.push(kept(entry, &format!("shared blob store entry kept: {why}")))
        }
    }
    Ok(())
}

/// Where a link to be deleted points.
pub(super) enum OwnBlob {
    /// Not a link: deleting it deletes the file, nothing else.
    NotALink,
    /// A file in the repo's own `blobs/` folder (itself maybe a link, to
    /// the shared blob store: deleted as the link).
    Inside(PathBuf),
    /// Anywhere else (or unreadable): never deleted through this link.
    Outside(PathBuf),
}

/// Where the link `path` (a snapshot file of a cached repo) points, one
/// step, resolved by hand: a deletion follows a link only into the repo's
/// own `blobs/` folder (a real folder, not a link), so a link planted to a
/// file outside the cache never gets that file deleted.
pub(super) fn own_blob(path: &Path) -> OwnBlob {
    let Ok(target) = std::fs::read_link(path) else {
        return OwnBlob::NotALink;
    };
    let joined = normalize(&path.parent().unwrap_or(Path::new("")).join(&target));
    let blobs = path
        .ancestors()
        .find(|p| p.file_name() == Some("snapshots".as_ref()))
        .and_then(Path::parent)
        .map(|repo| repo.join("blobs"));
    let inside = blobs.as_deref().is_some_and(|blobs| {
        joined.parent() == Some(blobs)
            && blobs.symlink_metadata().is_ok_and(|m| m.is_dir())
            && joined.symlink_metadata().is_ok_and(|m| !m.is_dir())
    });
    if inside {
        OwnBlob::Inside(joined)
    } else {
        OwnBlob::Outside(joined)
    }
}

/// `a/b/../c` → `a/c`, without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            c => out.push(c),
        }
    }
    out
}

/// `file`, named by the link `link` of `id`, is outside the repo's blobs:
/// kept, and said at WARN.
pub(super) fn kept_outside(id: &str, link: &Path, file: &Path) -> KeptFile {
    let reason = format!(
        "link {} points outside the cache's blobs folder; the link was deleted, the file kept",
        link.display()
    );
    narrate(NarrationFields {
        actor: act::ACTOR,
        action: act::DELETE_WARNING,
        target: id.to_string(),
        human: format!("Kept {}: {reason}", file.display()),
        ..Default::default()
    });
    kept(file, &reason)
}

fn kept(path: &Path, reason: &str) -> KeptFile {
    KeptFile {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

/// A snapshot link of the same cached repo, other than `link`, that
/// resolves to `blob`: any file name, any revision.
pub(super) fn other_snapshot_link(link: &Path, blob: &Path) -> Option<PathBuf> {
    let snapshots = link
        .ancestors()
        .find(|p| p.file_name() == Some("snapshots".as_ref()))?;
    let mut pending = vec![snapshots.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for item in std::fs::read_dir(&dir).ok()?.flatten() {
            let path = item.path();
            let Ok(kind) = item.file_type() else { continue };
            if kind.is_dir() {
                pending.push(path);
            } else if kind.is_symlink()
                && path != link
                && matches!(own_blob(&path), OwnBlob::Inside(b) if b == blob)
            {
                return Some(path);
            }
        }
    }
    None
}

fn delete(path: &Path, out: &mut Removal) -> Result<(), ProvisionError> {
    match std::fs::remove_file(path) {
        Ok(()) => {
            out.deleted_files.push(path.to_path_buf());
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(ProvisionError::Write {
            what: "model file (the catalog entry was kept)",
            path: path.to_path_buf(),
            source,
        }),
    }
}
