//! What the model cache holds, read from disk and joined with the catalog:
//! repos, revisions, files, size on disk (each blob counted once), when
//! each was last used, which catalog entries use it, and what is wrong
//! (dangling links, orphan blobs, interrupted downloads, folders the
//! reference client would call corrupted), and the OCI image layouts of
//! `oci://` pulls.
//!
//! The totals are the ones `huggingface_hub.scan_cache_dir()` reports for
//! the same cache: a repo it would refuse (a dangling link, a ref to a
//! missing snapshot, a folder that is not a repo) is listed here with
//! the reason, and left out of the totals as it leaves it out.

mod oci;
mod repo;

use crate::catalog::CatalogEntry;
use crate::error::ProvisionError;
use crate::hf::shared_store;
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

pub use oci::{CachedOciLayout, CachedOciModel};
pub use repo::{CachedFile, CachedRepo, CachedRevision};

/// The whole cache: every repo folder, the HTTPS downloads, and problems.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CacheScan {
    /// The cache directory scanned.
    pub cache_dir: PathBuf,
    /// Repos the reference client accepts (what `repo_count` counts).
    pub repo_count: usize,
    /// Bytes of the blobs those repos use, each blob counted once.
    pub size_on_disk: u64,
    /// Every repo folder, sorted by id; a corrupted one says why.
    pub repos: Vec<CachedRepo>,
    /// Files fetched over HTTPS into `{cache}/https/`.
    pub downloads: Vec<CachedDownload>,
    /// Repo folders holding only a partial download (a first download
    /// running or interrupted, before any snapshot exists): not corrupted,
    /// the next ensure of the file resumes them.
    pub in_progress: Vec<PartialDownload>,
    /// What is wrong, for people to clean up.
    pub problems: Vec<CacheProblem>,
    /// The OCI image layouts of `oci://` pulls (`{cache}/oci/`), apart
    /// from the Hub totals.
    pub oci: Vec<CachedOciLayout>,
    /// Bytes of their blobs, each stored file counted once.
    pub oci_size_on_disk: u64,
}

/// A file fetched over HTTPS (outside the Hub layout).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CachedDownload {
    /// The file.
    pub path: PathBuf,
    /// Its size.
    pub size_bytes: u64,
    /// Catalog entries recorded at this path.
    pub catalog_ids: Vec<String>,
    /// Latest use among them (ms since the Unix epoch).
    pub last_used_at_ms: Option<u64>,
    /// The file's last access (ms since the Unix epoch).
    pub last_accessed_ms: Option<u64>,
}

/// A first download of a repo's file, not finished yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartialDownload {
    /// `org/name`.
    pub repo_id: String,
    /// The partial file (`blobs/{etag}.incomplete`).
    pub path: PathBuf,
    /// Bytes already there.
    pub size_bytes: u64,
    /// True when the next download of the file continues from these
    /// bytes instead of starting over.
    pub resumable: bool,
}

/// Something in the cache that is not as it should be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CacheProblem {
    /// What kind of problem.
    pub kind: ProblemKind,
    /// The path concerned.
    pub path: PathBuf,
    /// Bytes it takes, where it takes any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<u64>,
    /// A sentence for people.
    pub detail: String,
}

/// The kinds of [`CacheProblem`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProblemKind {
    /// A snapshot link whose blob is gone.
    DanglingLink,
    /// A blob no snapshot links to: space nothing can use.
    OrphanBlob,
    /// A partial download (`.incomplete`): resumed by the next download of
    /// the same file, else dead space.
    Incomplete,
    /// A folder the reference client would refuse, and why.
    CorruptedRepo,
}

impl ProblemKind {
    /// The kebab-case name shown to people and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DanglingLink => "dangling-link",
            Self::OrphanBlob => "orphan-blob",
            Self::Incomplete => "incomplete",
            Self::CorruptedRepo => "corrupted-repo",
        }
    }
}

/// Scan `cache_dir`, joining what it holds with the catalog `entries`.
/// A missing cache dir is an empty cache.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = tempfile::tempdir()?;
/// let scan = model_provisioner::cache_scan::scan(&dir.path().join("hub"), &[])?;
/// assert_eq!(scan.repo_count, 0);
/// assert_eq!(scan.size_on_disk, 0);
/// # Ok(()) }
/// ```
pub fn scan(cache_dir: &Path, entries: &[CatalogEntry]) -> Result<CacheScan, ProvisionError> {
    let mut out = CacheScan {
        cache_dir: cache_dir.to_path_buf(),
        repo_count: 0,
        size_on_disk: 0,
        repos: Vec::new(),
        downloads: Vec::new(),
        in_progress: Vec::new(),
        problems: Vec::new(),
        oci: Vec::new(),
        oci_size_on_disk: 0,
    };
    let items = match std::fs::read_dir(cache_dir) {
        Ok(items) => items,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(source) => {
            return Err(ProvisionError::UnreadableFile {
                path: cache_dir.to_path_buf(),
                source,
            });
        }
    };
    let uses = Uses::new(entries);
    for item in items.flatten() {
        let path = item.path();
        let name = item.file_name().to_string_lossy().into_owned();
        match name.as_str() {
            ".locks" | "CACHEDIR.TAG" | ".DS_Store" | "Thumbs.db" | "desktop.ini" => {}
            "https" if path.is_dir() => out.downloads.extend(downloads(&path, &uses)),
            "oci" if path.is_dir() => {
                (out.oci, out.oci_size_on_disk) = oci::scan(&path, &uses, &mut out.problems);
            }
            shared_store::DIR_NAME if shared_store::is_store_dir(&path) => {}
            _ if repo::only_partial(&path) => {
                out.in_progress.extend(repo::partials(&path));
            }
            _ => out
                .repos
                .push(repo::scan_repo(&path, &uses, &mut out.problems)),
        }
    }
    out.repos.sort_by(|a, b| a.repo_id.cmp(&b.repo_id));
    out.downloads.sort_by(|a, b| a.path.cmp(&b.path));
    out.in_progress.sort_by(|a, b| a.path.cmp(&b.path));
    let healthy = out.repos.iter().filter(|r| r.corrupted.is_none());
    out.repo_count = healthy.clone().count();
    out.size_on_disk = physical_size(cache_dir, healthy);
    Ok(out)
}

/// Bytes on disk, each stored file once: the blobs the healthy repos use,
/// except links into the shared blob store, plus every store entry (one
/// copy however many repos link to it, and store-only entries too), as
/// the reference client counts them.
fn physical_size<'a>(cache_dir: &Path, healthy: impl Iterator<Item = &'a CachedRepo>) -> u64 {
    let mut blobs: HashMap<&Path, u64> = HashMap::new();
    for f in healthy
        .flat_map(|r| &r.revisions)
        .flat_map(|rev| &rev.files)
    {
        if shared_store::store_target(&f.blob).is_none() {
            blobs.insert(&f.blob, f.size_bytes);
        }
    }
    let store: u64 = shared_store::entries(cache_dir)
        .iter()
        .map(|(_, n)| n)
        .sum();
    blobs.values().sum::<u64>() + store
}

/// Which catalog entries use which file, keyed by the file's path with
/// its folder resolved (a snapshot link is matched as a link, not as the
/// blob it points to).
struct Uses<'a> {
    by_path: Vec<(PathBuf, &'a CatalogEntry)>,
}

impl<'a> Uses<'a> {
    fn new(entries: &'a [CatalogEntry]) -> Self {
        Self {
            by_path: entries.iter().map(|e| (key(&e.local_path), e)).collect(),
        }
    }

    /// Ids of the entries at `path`, sorted, and their latest use.
    fn of(&self, path: &Path) -> (Vec<String>, Option<u64>) {
        let k = key(path);
        let found: Vec<&CatalogEntry> = self
            .by_path
            .iter()
            .filter(|(p, _)| *p == k)
            .map(|(_, e)| *e)
            .collect();
        let mut ids: Vec<String> = found.iter().map(|e| e.id.clone()).collect();
        ids.sort();
        (ids, found.iter().filter_map(|e| e.last_used_at_ms).max())
    }
}

/// `path` with its parent canonicalized: stable across `..`, relative
/// cache dirs and symlinked parents, without following the file itself.
fn key(path: &Path) -> PathBuf {
    match (
        path.parent().and_then(|p| p.canonicalize().ok()),
        path.file_name(),
    ) {
        (Some(dir), Some(name)) => dir.join(name),
        _ => path.to_path_buf(),
    }
}

/// Every file under `{cache}/https/` but locks and partial downloads.
fn downloads(root: &Path, uses: &Uses<'_>) -> Vec<CachedDownload> {
    let mut out = Vec::new();
    for (path, meta) in files_under(root) {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        if name.as_deref() == Some(".lock") || name.is_some_and(|n| n.ends_with(".incomplete")) {
            continue;
        }
        let (catalog_ids, last_used_at_ms) = uses.of(&path);
        out.push(CachedDownload {
            path,
            size_bytes: meta.len(),
            catalog_ids,
            last_used_at_ms,
            last_accessed_ms: accessed_ms(&meta),
        });
    }
    out
}

/// Every non-directory under `root` (links not followed), with its
/// metadata.
pub(crate) fn files_under(root: &Path) -> Vec<(PathBuf, std::fs::Metadata)> {
    let mut out = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(items) = std::fs::read_dir(&dir) else {
            continue;
        };
        for item in items.flatten() {
            let path = item.path();
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            if meta.is_dir() {
                pending.push(path);
            } else {
                out.push((path, meta));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Last access time in ms since the Unix epoch, when the platform has it.
pub(crate) fn accessed_ms(meta: &std::fs::Metadata) -> Option<u64> {
    let at = meta.accessed().ok()?.duration_since(UNIX_EPOCH).ok()?;
    u64::try_from(at.as_millis()).ok()
}
