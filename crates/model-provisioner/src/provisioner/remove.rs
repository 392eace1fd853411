//! Removing a model from the catalog, and deleting the files that only it
//! uses: a file the reference named directly is never deleted, and a blob
//! in the Hugging Face cache only when no snapshot link of any revision and
//! no other catalog entry still uses it.

use super::ModelProvisioner;
use crate::catalog::{CatalogEntry, Origin};
use crate::error::{CatalogError, ProvisionError};
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
        let target = path.canonicalize().ok();
        if let Some(other) = self.other_entry_using(entry, target.as_deref())? {
            out.kept_files
                .push(kept(path, &format!("catalog entry {other} uses it too")));
            return Ok(());
        }
        let is_link = path
            .symlink_metadata()
            .is_ok_and(|m| m.file_type().is_symlink());
        delete(path, out)?;
        let Some(blob) = target.filter(|_| is_link) else {
            return Ok(());
        };
        match other_snapshot_link(path, &blob) {
            Some(link) => out.kept_files.push(kept(
                &blob,
                &format!("snapshot link {} still points to it", link.display()),
            )),
            None => delete(&blob, out)?,
        }
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
            .find(|other| other.local_path.canonicalize().ok().as_deref() == Some(target))
            .map(|other| other.id))
    }
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
                && path.canonicalize().ok().as_deref() == Some(blob)
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
