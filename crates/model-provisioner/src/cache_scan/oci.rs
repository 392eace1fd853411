//! The OCI image layouts under `{cache}/oci/` (`oci://` pulls): each
//! layout's models (manifest, tags, size), its blobs counted once, and
//! what is wrong in it (blobs no manifest needs, partial downloads).

use super::{CacheProblem, ProblemKind, Uses, accessed_ms, files_under};
use crate::oci::inventory::Inventory;
use serde::Serialize;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// One repository's layout (`{cache}/oci/<registry>/<repository>/`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CachedOciLayout {
    /// The registry (`host[:port]`).
    pub registry: String,
    /// The repository path.
    pub repository: String,
    /// The layout folder (`skopeo inspect oci:<path>:<tag>` reads it).
    pub path: PathBuf,
    /// Bytes of its blobs, each counted once.
    pub size_on_disk: u64,
    /// Its models, by manifest digest.
    pub models: Vec<CachedOciModel>,
}

/// One manifest of a layout: a model pulled by tag or by digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CachedOciModel {
    /// `sha256:<hex>`.
    pub manifest_digest: String,
    /// The tags `index.json` gives it (none for a pull by digest).
    pub tags: Vec<String>,
    /// The model file (a catalog entry's, else the first in its folder,
    /// else the manifest blob).
    pub path: PathBuf,
    /// Bytes of the blobs it needs (manifest, config, layers).
    pub size_bytes: u64,
    /// Bytes only it needs: what removing it frees.
    pub own_bytes: u64,
    /// Catalog entries recorded at its model files.
    pub catalog_ids: Vec<String>,
    /// Latest use among them (ms since the Unix epoch).
    pub last_used_at_ms: Option<u64>,
    /// The model file's last access (ms since the Unix epoch).
    pub last_accessed_ms: Option<u64>,
}

/// Every layout under `oci_dir`, sorted by registry and repository;
/// their problems go to `problems`. Returns them and their bytes on disk
/// (a blob hard-linked into two layouts counted once).
pub(super) fn scan(
    oci_dir: &Path,
    uses: &Uses<'_>,
    problems: &mut Vec<CacheProblem>,
) -> (Vec<CachedOciLayout>, u64) {
    let mut layouts = Vec::new();
    let mut seen = HashSet::new();
    let mut total = 0;
    let mut pending = vec![oci_dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        if Inventory::is_layout(&dir) {
            if let Some(layout) = read_layout(oci_dir, &dir, uses, problems) {
                for blob in layout_blobs(&dir) {
                    if let Ok(meta) = std::fs::metadata(&blob)
                        && seen.insert(file_id(&meta))
                    {
                        total += meta.len();
                    }
                }
                layouts.push(layout);
            }
            continue;
        }
        let Ok(items) = std::fs::read_dir(&dir) else {
            continue;
        };
        for item in items.flatten() {
            if item.file_type().is_ok_and(|t| t.is_dir()) {
                pending.push(item.path());
            }
        }
    }
    layouts.sort_by(|a, b| (&a.registry, &a.repository).cmp(&(&b.registry, &b.repository)));
    (layouts, total)
}

fn read_layout(
    oci_dir: &Path,
    dir: &Path,
    uses: &Uses<'_>,
    problems: &mut Vec<CacheProblem>,
) -> Option<CachedOciLayout> {
    let rel = dir.strip_prefix(oci_dir).ok()?;
    let mut parts = rel.iter().map(|p| p.to_string_lossy().into_owned());
    // The layout folder names the registry with ':' written as '_'.
    let registry = parts.next()?.replace('_', ":");
    let repository = parts.collect::<Vec<_>>().join("/");
    let inv = match Inventory::read(dir) {
        Ok(inv) => inv,
        Err(e) => {
            problems.push(CacheProblem {
                kind: ProblemKind::CorruptedRepo,
                path: dir.to_path_buf(),
                size_bytes: None,
                detail: format!("OCI layout unreadable: {e}"),
            });
            return None;
        }
    };
    let models = inv
        .manifests
        .iter()
        .map(|(hex, tags)| model(&inv, hex, tags.iter().cloned().collect(), uses))
        .collect();
    if let Some(live) = inv.live() {
        for (hex, size) in inv.blobs.iter().filter(|(b, _)| !live.contains(*b)) {
            problems.push(CacheProblem {
                kind: ProblemKind::OrphanBlob,
                path: inv.blob(hex),
                size_bytes: Some(*size),
                detail: "no manifest of this OCI layout needs it: `provision cache prune` or \
                         deleting the file frees it"
                    .to_string(),
            });
        }
    }
    for (path, meta) in files_under(&dir.join("ingest")) {
        problems.push(CacheProblem {
            kind: ProblemKind::Incomplete,
            path,
            size_bytes: Some(meta.len()),
            detail: "partial OCI blob: the next pull of its model resumes it".to_string(),
        });
    }
    Some(CachedOciLayout {
        registry,
        repository,
        path: dir.to_path_buf(),
        size_on_disk: inv.blobs.values().sum(),
        models,
    })
}

fn model(inv: &Inventory, hex: &str, tags: Vec<String>, uses: &Uses<'_>) -> CachedOciModel {
    let dir = inv.model_dir(hex);
    let files: Vec<PathBuf> = files_under(&dir).into_iter().map(|(p, _)| p).collect();
    let mut catalog_ids = Vec::new();
    let mut last_used_at_ms = None;
    let mut path = None;
    for file in &files {
        let (ids, used) = uses.of(file);
        if !ids.is_empty() && path.is_none() {
            path = Some(file.clone());
        }
        catalog_ids.extend(ids);
        last_used_at_ms = last_used_at_ms.max(used);
    }
    catalog_ids.sort();
    catalog_ids.dedup();
    let path = path
        .or_else(|| files.first().cloned())
        .unwrap_or_else(|| inv.blob(hex));
    CachedOciModel {
        manifest_digest: format!("sha256:{hex}"),
        tags,
        last_accessed_ms: std::fs::metadata(&path).ok().and_then(|m| accessed_ms(&m)),
        path,
        size_bytes: inv.size_of(hex),
        own_bytes: inv.own_size(hex),
        catalog_ids,
        last_used_at_ms,
    }
}

fn layout_blobs(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir.join("blobs").join("sha256"))
        .map(|items| items.flatten().map(|i| i.path()).collect())
        .unwrap_or_default()
}

fn file_id(meta: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}
