//! One repo folder of the hub cache, read the way the reference client
//! reads it (`huggingface_hub/utils/_cache_manager.py`).

use super::{CacheProblem, PartialDownload, ProblemKind, Uses, accessed_ms, files_under};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

/// A repo folder (`models--org--name`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CachedRepo {
    /// `org/name`.
    pub repo_id: String,
    /// `model`, `dataset` or `space` (empty when the folder name says none).
    pub repo_type: String,
    /// The folder.
    pub path: PathBuf,
    /// Bytes of the blobs its snapshots use, each counted once.
    pub size_on_disk: u64,
    /// Every snapshot, sorted by commit.
    pub revisions: Vec<CachedRevision>,
    /// Latest access to any of its blobs (ms since the Unix epoch).
    pub last_accessed_ms: Option<u64>,
    /// Latest use by an ensure, from the catalog.
    pub last_used_at_ms: Option<u64>,
    /// Catalog entries using files of this repo.
    pub catalog_ids: Vec<String>,
    /// Why the reference client would refuse this folder, if it would.
    pub corrupted: Option<String>,
}

/// One snapshot (`snapshots/{commit}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CachedRevision {
    /// The commit.
    pub commit: String,
    /// Refs (`main`, `refs/pr/1`) naming it.
    pub refs: Vec<String>,
    /// Bytes of the blobs its files use, each counted once.
    pub size_on_disk: u64,
    /// Its files, sorted by name.
    pub files: Vec<CachedFile>,
}

/// One file of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CachedFile {
    /// Path inside the repo, `/`-separated.
    pub name: String,
    /// The snapshot link (or copy).
    pub link: PathBuf,
    /// The blob it points to.
    pub blob: PathBuf,
    /// The blob's size.
    pub size_bytes: u64,
    /// The blob's last access (ms since the Unix epoch).
    pub last_accessed_ms: Option<u64>,
    /// Catalog entries recorded at this link.
    pub catalog_ids: Vec<String>,
    /// Latest use among them.
    pub last_used_at_ms: Option<u64>,
}

/// Scan the folder at `path`, adding what is wrong to `problems`.
pub(super) fn scan_repo(
    path: &Path,
    uses: &Uses<'_>,
    problems: &mut Vec<CacheProblem>,
) -> CachedRepo {
    let folder = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (prefix, id) = folder.split_once("--").unwrap_or(("", &folder));
    let mut repo = CachedRepo {
        repo_id: id.replace("--", "/"),
        repo_type: repo_type(prefix).unwrap_or_default().to_string(),
        path: path.to_path_buf(),
        size_on_disk: 0,
        revisions: Vec::new(),
        last_accessed_ms: None,
        last_used_at_ms: None,
        catalog_ids: Vec::new(),
        corrupted: None,
    };
    if let Err(why) = read_into(&mut repo, path, prefix, &folder, uses, problems) {
        problems.push(CacheProblem {
            kind: ProblemKind::CorruptedRepo,
            path: path.to_path_buf(),
            size_bytes: None,
            detail: why.clone(),
        });
        repo.corrupted = Some(why);
    }
    repo
}

/// True for a repo folder that has no snapshot yet and whose blobs are
/// only partial downloads: what a first download leaves while it runs, or
/// after it was stopped. The reference client calls it corrupted ("no
/// snapshots folder"); it is a download in progress.
pub(super) fn only_partial(path: &Path) -> bool {
    if path.join("snapshots").exists() || !path.join("blobs").is_dir() {
        return false;
    }
    let blobs = files_under(&path.join("blobs"));
    !blobs.is_empty() && blobs.iter().all(|(p, _)| is_partial(p))
}

/// The partial downloads of the repo folder at `path`.
pub(super) fn partials(path: &Path) -> Vec<PartialDownload> {
    let folder = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let repo_id = folder
        .split_once("--")
        .map_or(folder.as_str(), |(_, id)| id)
        .replace("--", "/");
    files_under(&path.join("blobs"))
        .into_iter()
        .filter(|(p, _)| p.extension().is_some_and(|e| e == "incomplete"))
        .map(|(p, meta)| PartialDownload {
            repo_id: repo_id.clone(),
            path: p,
            size_bytes: meta.len(),
            resumable: meta.len() > 0,
        })
        .collect()
}

/// A partial download or the state files kept beside it
/// (`{etag}.incomplete`, `{etag}.incomplete.*`).
fn is_partial(path: &Path) -> bool {
    path.file_name()
        .map(|n| n.to_string_lossy())
        .is_some_and(|n| n.ends_with(".incomplete") || n.contains(".incomplete."))
}

fn repo_type(prefix: &str) -> Option<&'static str> {
    match prefix {
        "models" => Some("model"),
        "datasets" => Some("dataset"),
        "spaces" => Some("space"),
        _ => None,
    }
}

/// Fill `repo` from disk; `Err` is why the reference client refuses it.
fn read_into(
    repo: &mut CachedRepo,
    path: &Path,
    prefix: &str,
    folder: &str,
    uses: &Uses<'_>,
    problems: &mut Vec<CacheProblem>,
) -> Result<(), String> {
    if !path.is_dir() {
        return Err("not a directory: not a cached repo".into());
    }
    if !folder.contains("--") || repo_type(prefix).is_none() {
        return Err(format!(
            "folder name {folder:?} is not a cached repo (models--org--name, datasets--…, spaces--…)"
        ));
    }
    let snapshots = path.join("snapshots");
    if !snapshots.is_dir() {
        return Err("no snapshots folder".into());
    }
    let mut refs = read_refs(&path.join("refs"))?;
    let mut revisions = std::fs::read_dir(&snapshots)
        .map_err(|e| format!("snapshots folder unreadable: {e}"))?
        .flatten()
        .map(|i| i.path())
        .collect::<Vec<_>>();
    revisions.sort();
    let mut walk = Walk {
        uses,
        problems,
        blobs: BTreeMap::new(),
        refused: None,
    };
    for rev_path in revisions {
        if rev_path.is_file() {
            walk.refuse(format!(
                "a file in the snapshots folder: {}",
                rev_path.display()
            ));
            continue;
        }
        let commit = rev_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let names = refs.remove(&commit).unwrap_or_default();
        repo.revisions.push(walk.revision(&rev_path, commit, names));
    }
    let files = repo.revisions.iter().flat_map(|r| &r.files);
    repo.catalog_ids = files
        .clone()
        .flat_map(|f| f.catalog_ids.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    repo.last_used_at_ms = files.filter_map(|f| f.last_used_at_ms).max();
    repo.size_on_disk = walk.blobs.values().map(|(size, _)| size).sum();
    repo.last_accessed_ms = walk.blobs.values().filter_map(|(_, at)| *at).max();
    loose_blobs(&path.join("blobs"), &walk.blobs, walk.problems);
    if let Some(why) = walk.refused {
        return Err(why);
    }
    if !refs.is_empty() {
        let missing: Vec<String> = refs.into_values().flatten().collect();
        return Err(format!(
            "refs name snapshots that are missing: {}",
            missing.join(", ")
        ));
    }
    Ok(())
}

/// Reading one repo's snapshots: the blobs they use and what is wrong.
struct Walk<'a, 'p> {
    uses: &'a Uses<'a>,
    problems: &'p mut Vec<CacheProblem>,
    /// Every blob a snapshot uses: (size, last access in ms).
    blobs: BTreeMap<PathBuf, (u64, Option<u64>)>,
    /// The first reason the reference client would refuse the repo.
    refused: Option<String>,
}

impl Walk<'_, '_> {
    fn refuse(&mut self, why: String) {
        self.refused.get_or_insert(why);
    }

    /// The snapshot at `rev_path`, its size counting each blob once.
    fn revision(
        &mut self,
        rev_path: &Path,
        commit: String,
        refs: BTreeSet<String>,
    ) -> CachedRevision {
        let mut revision = CachedRevision {
            refs: refs.into_iter().collect(),
            commit,
            size_on_disk: 0,
            files: Vec::new(),
        };
        let mut own = BTreeSet::new();
        for (link, meta) in files_under(rev_path) {
            let Some(file) = self.file(rev_path, link, &meta) else {
                continue;
            };
            if own.insert(file.blob.clone()) {
                revision.size_on_disk += file.size_bytes;
            }
            revision.files.push(file);
        }
        revision
    }

    /// One snapshot file and its blob; `None` (and a problem) when the
    /// blob is gone.
    fn file(
        &mut self,
        rev_path: &Path,
        link: PathBuf,
        meta: &std::fs::Metadata,
    ) -> Option<CachedFile> {
        let blob = if meta.file_type().is_symlink() {
            match std::fs::read_link(&link) {
                Ok(target) => normalize(&link.parent().unwrap_or(rev_path).join(target)),
                Err(_) => link.clone(),
            }
        } else {
            link.clone()
        };
        let Ok(blob_meta) = std::fs::metadata(&blob) else {
            self.problems.push(CacheProblem {
                kind: ProblemKind::DanglingLink,
                path: link,
                size_bytes: None,
                detail: format!("points to {}, which is gone", blob.display()),
            });
            self.refuse(format!("blob missing (broken link): {}", blob.display()));
            return None;
        };
        let (size_bytes, last_accessed_ms) = *self
            .blobs
            .entry(blob.clone())
            .or_insert((blob_meta.len(), accessed_ms(&blob_meta)));
        let (catalog_ids, last_used_at_ms) = self.uses.of(&link);
        Some(CachedFile {
            name: relative_name(rev_path, &link),
            link,
            blob,
            size_bytes,
            last_accessed_ms,
            catalog_ids,
            last_used_at_ms,
        })
    }
}

/// `refs/**`: commit → ref names (the file holds the commit, no newline).
fn read_refs(dir: &Path) -> Result<BTreeMap<String, BTreeSet<String>>, String> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    if !dir.exists() {
        return Ok(out);
    }
    if dir.is_file() {
        return Err("refs is a file, not a folder".into());
    }
    for (path, _) in files_under(dir) {
        let Ok(commit) = std::fs::read_to_string(&path) else {
            continue;
        };
        out.entry(commit)
            .or_default()
            .insert(relative_name(dir, &path));
    }
    Ok(out)
}

/// Blobs no snapshot uses, and partial downloads.
fn loose_blobs(
    dir: &Path,
    used: &BTreeMap<PathBuf, (u64, Option<u64>)>,
    problems: &mut Vec<CacheProblem>,
) {
    for (path, meta) in files_under(dir) {
        let partial = path.extension().is_some_and(|e| e == "incomplete");
        if !partial && used.contains_key(&normalize(&path)) {
            continue;
        }
        let (kind, detail) = if partial {
            (
                ProblemKind::Incomplete,
                "a partial download: the next download of this file resumes it; else it is dead space",
            )
        } else {
            (ProblemKind::OrphanBlob, "no snapshot links to this blob")
        };
        problems.push(CacheProblem {
            kind,
            path,
            size_bytes: Some(meta.len()),
            detail: detail.to_string(),
        });
    }
}

/// `base/a/b` → `a/b`.
fn relative_name(base: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(base).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// `a/b/../c` → `a/c`, without touching the disk (like `os.path.abspath`
/// after the join, so that a link's blob is named as the blobs folder
/// names it).
pub(crate) fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}
