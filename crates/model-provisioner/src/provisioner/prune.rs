//! Cache pruning: free space down to a size, or drop what has not been
//! used for a while, least recently used first. Pinned catalog entries are
//! never touched; catalog entries go through [`ModelProvisioner::remove`]
//! (so a blob another snapshot still links to stays), and files the
//! catalog does not know follow the same rule.

use super::ModelProvisioner;
use super::remove::{
    KeptFile, OwnBlob, kept_outside, other_snapshot_link, own_blob, sweep_store_entry,
};
use crate::actions as act;
use crate::cache_scan::{self, CacheScan};
use crate::catalog::CatalogEntry;
use crate::error::ProvisionError;
use crate::fingerprint::now_ms;
use crate::hf::shared_store;
use crate::oci::release::{self, Untag};
use crate::units::human_bytes;
use narration_core::{NarrationFields, narrate};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What [`ModelProvisioner::prune`] should free.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrunePolicy {
    /// Remove least recently used models until the cache takes at most
    /// this many bytes.
    pub max_size: Option<u64>,
    /// Remove every model not used for longer than this.
    pub older_than: Option<Duration>,
    /// Plan only: remove nothing.
    pub dry_run: bool,
}

/// What [`ModelProvisioner::prune`] removed (or, dry, would remove).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PruneReport {
    /// Nothing was removed: this is the plan.
    pub dry_run: bool,
    /// Cache size before (Hub blobs in use, each once, plus downloads and
    /// OCI layouts).
    pub size_before: u64,
    /// Cache size after (expected, when dry).
    pub size_after: u64,
    /// The removals, least recently used first.
    pub removed: Vec<Pruned>,
    /// Pinned catalog entries in the cache, never removed.
    pub pinned: Vec<String>,
}

/// One model file pruned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pruned {
    /// The snapshot link or downloaded file.
    pub path: PathBuf,
    /// Catalog entries removed with it (none for a file it does not know).
    pub catalog_ids: Vec<String>,
    /// When it was last used: the catalog's record, else the file's atime.
    pub last_used_ms: Option<u64>,
    /// Bytes freed (0 when another link keeps its blob).
    pub freed_bytes: u64,
    /// Why it goes: `over-size` or `unused`.
    pub reason: &'static str,
    /// Files deleted (empty when dry).
    pub deleted_files: Vec<PathBuf>,
    /// Files kept, and why.
    pub kept_files: Vec<KeptFile>,
}

/// A file that may be pruned: a snapshot link or a download.
struct Candidate {
    path: PathBuf,
    blob: PathBuf,
    size: u64,
    ids: Vec<String>,
    last_used_ms: Option<u64>,
}

impl ModelProvisioner {
    /// Free cache space by `policy`, least recently used first, narrating
    /// `prune` for every removal (and `prune-failed` before an error).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use model_provisioner::{ModelProvisioner, PrunePolicy};
    /// let dir = tempfile::tempdir()?;
    /// let models = ModelProvisioner::builder(dir.path().join("hub")).build()?;
    /// let policy = PrunePolicy { max_size: Some(0), ..Default::default() };
    /// let report = models.prune(&policy)?;
    /// assert!(report.removed.is_empty(), "an empty cache has nothing to prune");
    /// # Ok(()) }
    /// ```
    pub fn prune(&self, policy: &PrunePolicy) -> Result<PruneReport, ProvisionError> {
        let entries = self.catalog.list()?;
        let scan = cache_scan::scan(&self.cache_dir, &entries)?;
        let (candidates, pinned) = candidates(&scan, &entries);
        let mut report = plan(&scan, candidates, policy, now_ms());
        report.pinned = pinned;
        if policy.dry_run {
            return Ok(report);
        }
        let mut touched = BTreeSet::new();
        for item in &mut report.removed {
            if let Err(e) = self.prune_one(item) {
                narrate(NarrationFields {
                    actor: act::ACTOR,
                    action: act::PRUNE_FAILED,
                    target: target(item),
                    human: format!("Could not prune {}: {e}", item.path.display()),
                    error_kind: Some(e.error_kind().to_string()),
                    ..Default::default()
                });
                return Err(e);
            }
            touched.insert(item.path.clone());
            narrate(NarrationFields {
                actor: act::ACTOR,
                action: act::PRUNE,
                target: target(item),
                human: format!(
                    "Pruned {} ({}, last used {}): freed {}",
                    item.path.display(),
                    item.reason,
                    item.last_used_ms
                        .map_or_else(|| "never".to_string(), |ms| format!("at {ms} ms")),
                    human_bytes(item.freed_bytes)
                ),
                bytes: Some(item.freed_bytes),
                ..Default::default()
            });
        }
        for path in &touched {
            tidy(path);
        }
        Ok(report)
    }

    /// Delete one planned file: through the catalog when it knows it.
    fn prune_one(&self, item: &mut Pruned) -> Result<(), ProvisionError> {
        for id in &item.catalog_ids {
            let removal = self.remove(id, true)?;
            item.deleted_files.extend(removal.deleted_files);
            item.kept_files.extend(removal.kept_files);
        }
        if item.catalog_ids.is_empty() {
            let path = item.path.clone();
            match release::model_of(&path) {
                // A manifest in a layout: all of it goes, the layout stays valid.
                Some((root, manifest)) => {
                    let released =
                        release::release(&root, &manifest, Untag::Every, true, self.lock_wait)
                            .map_err(|source| ProvisionError::Oci {
                                model: path.display().to_string(),
                                source,
                            })?;
                    item.deleted_files.extend(released.deleted);
                    item.kept_files.extend(
                        released
                            .kept
                            .into_iter()
                            .map(|(path, reason)| KeptFile { path, reason }),
                    );
                }
                None => delete_unknown(&path, item)?,
            }
        }
        Ok(())
    }
}

fn target(item: &Pruned) -> String {
    item.catalog_ids
        .first()
        .cloned()
        .unwrap_or_else(|| item.path.display().to_string())
}

/// Every prunable file, and the pinned entries that keep theirs.
fn candidates(scan: &CacheScan, entries: &[CatalogEntry]) -> (Vec<Candidate>, Vec<String>) {
    let by_id: HashMap<&str, &CatalogEntry> = entries.iter().map(|e| (e.id.as_str(), e)).collect();
    let mut out = Vec::new();
    let mut pinned = Vec::new();
    let files = scan
        .repos
        .iter()
        .filter(|r| r.corrupted.is_none())
        .flat_map(|r| &r.revisions)
        .flat_map(|rev| &rev.files)
        .map(|f| {
            (
                &f.link,
                &f.blob,
                f.size_bytes,
                &f.catalog_ids,
                f.last_accessed_ms,
            )
        });
    let downloads = scan.downloads.iter().map(|d| {
        (
            &d.path,
            &d.path,
            d.size_bytes,
            &d.catalog_ids,
            d.last_accessed_ms,
        )
    });
    let oci = scan.oci.iter().flat_map(|l| &l.models).map(|m| {
        (
            &m.path,
            &m.path,
            m.own_bytes,
            &m.catalog_ids,
            m.last_accessed_ms,
        )
    });
    for (path, blob, size, ids, accessed) in files.chain(downloads).chain(oci) {
        let known: Vec<&CatalogEntry> = ids
            .iter()
            .filter_map(|id| by_id.get(id.as_str()).copied())
            .collect();
        if known.iter().any(|e| e.pinned) {
            pinned.extend(known.iter().filter(|e| e.pinned).map(|e| e.id.clone()));
            continue;
        }
        let last_used_ms = if known.is_empty() {
            accessed
        } else {
            known
                .iter()
                .map(|e| e.last_used_at_ms.unwrap_or(e.created_at_ms))
                .max()
        };
        out.push(Candidate {
            path: path.clone(),
            blob: stored_file(blob),
            size,
            ids: ids.clone(),
            last_used_ms,
        });
    }
    pinned.sort();
    pinned.dedup();
    (out, pinned)
}

/// The file whose bytes a blob takes: the shared store entry a repo blob
/// links to (one copy for every repo linking to it), else the blob.
fn stored_file(blob: &Path) -> PathBuf {
    shared_store::store_target(blob).unwrap_or_else(|| blob.to_path_buf())
}

/// Pick removals, least recently used first, until the policy holds. A
/// blob's bytes count as freed when its last link goes.
fn plan(
    scan: &CacheScan,
    mut candidates: Vec<Candidate>,
    policy: &PrunePolicy,
    now: u64,
) -> PruneReport {
    let mut links: HashMap<PathBuf, usize> = HashMap::new();
    for f in scan
        .repos
        .iter()
        .flat_map(|r| &r.revisions)
        .flat_map(|rev| &rev.files)
    {
        *links.entry(stored_file(&f.blob)).or_default() += 1;
    }
    for d in &scan.downloads {
        *links.entry(d.path.clone()).or_default() += 1;
    }
    let size_before = scan.size_on_disk
        + scan.downloads.iter().map(|d| d.size_bytes).sum::<u64>()
        + scan.oci_size_on_disk;
    let cutoff = policy
        .older_than
        .map(|age| now.saturating_sub(u64::try_from(age.as_millis()).unwrap_or(u64::MAX)));
    candidates.sort_by_key(|c| c.last_used_ms.unwrap_or(0));
    let mut size = size_before;
    let mut removed = Vec::new();
    for c in candidates {
        let unused = cutoff.is_some_and(|cut| c.last_used_ms.unwrap_or(0) < cut);
        let over = policy.max_size.is_some_and(|max| size > max);
        if !unused && !over {
            continue;
        }
        let left = links.entry(c.blob.clone()).or_insert(1);
        *left = left.saturating_sub(1);
        let freed = if *left == 0 { c.size } else { 0 };
        size = size.saturating_sub(freed);
        removed.push(Pruned {
            path: c.path,
            catalog_ids: c.ids,
            last_used_ms: c.last_used_ms,
            freed_bytes: freed,
            reason: if unused { "unused" } else { "over-size" },
            deleted_files: Vec::new(),
            kept_files: Vec::new(),
        });
    }
    PruneReport {
        dry_run: policy.dry_run,
        size_before,
        size_after: size,
        removed,
        pinned: Vec::new(),
    }
}

/// Delete a file the catalog does not know: the link, then its blob when
/// no other snapshot links to it.
fn delete_unknown(path: &Path, item: &mut Pruned) -> Result<(), ProvisionError> {
    let blob = own_blob(path);
    remove_file(path, item)?;
    let blob = match blob {
        OwnBlob::NotALink => return Ok(()),
        OwnBlob::Outside(file) => {
            let shown = path.display().to_string();
            item.kept_files.push(kept_outside(&shown, path, &file));
            return Ok(());
        }
        OwnBlob::Inside(blob) => blob,
    };
    match other_snapshot_link(path, &blob) {
        Some(link) => item.kept_files.push(KeptFile {
            path: blob,
            reason: format!("snapshot link {} still points to it", link.display()),
        }),
        None => {
            let entry = shared_store::store_target(&blob);
            remove_file(&blob, item)?;
            if let Some(entry) = entry {
                sweep_store_entry(&entry, &mut item.deleted_files, &mut item.kept_files)?;
            }
        }
    }
    Ok(())
}

fn remove_file(path: &Path, item: &mut Pruned) -> Result<(), ProvisionError> {
    match std::fs::remove_file(path) {
        Ok(()) => {
            item.deleted_files.push(path.to_path_buf());
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(ProvisionError::Write {
            what: "cached model file",
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// After a snapshot file is gone: drop the folders it leaves empty, the
/// refs to a snapshot that is gone, and the whole repo folder once it
/// holds no snapshot and no blob, so the reference client never sees a
/// ref to a missing snapshot.
fn tidy(path: &Path) {
    let Some(snapshots) = path
        .ancestors()
        .find(|p| p.file_name() == Some("snapshots".as_ref()))
    else {
        return;
    };
    let Some(repo) = snapshots.parent() else {
        return;
    };
    for dir in path.ancestors().skip(1).take_while(|d| *d != snapshots) {
        if std::fs::remove_dir(dir).is_err() {
            break;
        }
    }
    drop_refs_to_missing_snapshots(repo, snapshots);
    let empty = |dir: &Path| std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_none());
    if empty(snapshots) && empty(&repo.join("blobs")) {
        let _ = std::fs::remove_dir_all(repo);
    }
}

fn drop_refs_to_missing_snapshots(repo: &Path, snapshots: &Path) {
    for (ref_path, _) in cache_scan::files_under(&repo.join("refs")) {
        let Ok(commit) = std::fs::read_to_string(&ref_path) else {
            continue;
        };
        if !snapshots.join(commit.trim()).is_dir() {
            let _ = std::fs::remove_file(&ref_path);
        }
    }
}
