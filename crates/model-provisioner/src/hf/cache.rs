//! The Hugging Face cache layout, exactly as the reference client reads it:
//!
//! ```text
//! {cache}/CACHEDIR.TAG
//! {cache}/.locks/models--{org}--{repo}/{etag}.lock
//! {cache}/models--{org}--{repo}/blobs/{etag}[.incomplete]
//! {cache}/models--{org}--{repo}/refs/{revision}          (commit, no newline)
//! {cache}/models--{org}--{repo}/snapshots/{commit}/{file} -> ../../blobs/{etag}
//! {cache}/models--{org}--{repo}/.no_exist/{commit}/{file}
//! ```

use std::io;
use std::path::{Path, PathBuf};

const CACHEDIR_TAG: &str = "Signature: 8a477f597d28d172789f06886806bc55\n\
# This file is a cache directory tag created by huggingface_hub.\n\
# For information about cache directory tags, see:\n\
#\thttps://bford.info/cachedir/\n";

/// Paths of one repo in the hub cache.
#[derive(Debug, Clone)]
pub(crate) struct RepoCache {
    root: PathBuf,
    folder: String,
}

impl RepoCache {
    /// `repo_id` is `org/repo` (models only).
    pub fn new(root: &Path, repo_id: &str) -> Self {
        Self {
            root: root.to_path_buf(),
            folder: format!("models--{}", repo_id.replace('/', "--")),
        }
    }

    fn repo_dir(&self) -> PathBuf {
        self.root.join(&self.folder)
    }

    pub fn blob(&self, etag: &str) -> PathBuf {
        self.blob_dir().join(etag)
    }

    /// The repo's `blobs/` folder.
    pub fn blob_dir(&self) -> PathBuf {
        self.repo_dir().join("blobs")
    }

    /// Where `refs/{revision}` lives.
    pub fn ref_path(&self, revision: &str) -> PathBuf {
        self.repo_dir().join("refs").join(revision)
    }

    /// Moves the blob `etag`, whose bytes are not what its name promises,
    /// to `blobs/{etag}.corrupt` (replacing an older one): kept as
    /// evidence, never served, reported by the cache scan as a file no
    /// snapshot uses. A blob that is a link is moved as the link, so the
    /// file it points to is untouched. Called under the blob's lock.
    pub fn quarantine(&self, etag: &str) -> io::Result<PathBuf> {
        let aside = self.blob_dir().join(format!("{etag}.corrupt"));
        std::fs::rename(self.blob(etag), &aside)?;
        Ok(aside)
    }

    /// The repo's use lock (see [`use_shared`](Self::use_shared)).
    pub fn use_lock_path(&self) -> PathBuf {
        self.root.join(".locks").join(&self.folder).join(REPO_LOCK)
    }

    /// Takes the repo's use lock shared: held by every fetch working in
    /// the repo folder, so that no cleanup removes a folder under it.
    pub fn use_shared(&self) -> io::Result<RepoUse> {
        let path = self.use_lock_path();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)?;
        file.lock_shared()?;
        Ok(RepoUse {
            file,
            cache: self.clone(),
        })
    }

    pub fn incomplete(&self, etag: &str) -> PathBuf {
        self.repo_dir()
            .join("blobs")
            .join(format!("{etag}.incomplete"))
    }

    pub fn lock_path(&self, etag: &str) -> PathBuf {
        self.root
            .join(".locks")
            .join(&self.folder)
            .join(format!("{etag}.lock"))
    }

    pub fn snapshot(&self, commit: &str, file: &str) -> PathBuf {
        self.repo_dir().join("snapshots").join(commit).join(file)
    }

    pub fn no_exist(&self, commit: &str, file: &str) -> PathBuf {
        self.repo_dir().join(".no_exist").join(commit).join(file)
    }

    /// Creates the blobs directory and `CACHEDIR.TAG`.
    pub fn prepare(&self) -> io::Result<()> {
        std::fs::create_dir_all(self.repo_dir().join("blobs"))?;
        let tag = self.root.join("CACHEDIR.TAG");
        if !tag.exists() {
            write_atomic(&tag, CACHEDIR_TAG.as_bytes())?;
        }
        Ok(())
    }

    /// Remove the repo folder when nothing was stored in it (its `blobs`,
    /// `snapshots`, `refs` and `.no_exist` folders all empty), so that a
    /// failed first download leaves no trace another tool could misread.
    /// Only through [`RepoUse::tidy`]: never while another fetch works here.
    fn remove_if_empty(&self) {
        let repo = self.repo_dir();
        for sub in ["blobs", "snapshots", "refs", ".no_exist"] {
            // Fails, harmlessly, when the folder holds anything.
            let _ = std::fs::remove_dir(repo.join(sub));
        }
        let _ = std::fs::remove_dir(&repo);
    }

    /// The commit `refs/{revision}` names, if recorded.
    pub fn read_ref(&self, revision: &str) -> Option<String> {
        let text = std::fs::read_to_string(self.repo_dir().join("refs").join(revision)).ok()?;
        let commit = text.trim();
        is_commit_hash(commit).then(|| commit.to_string())
    }

    /// Records `revision` → `commit` (no trailing newline: the reference
    /// client's offline lookup breaks on one). Not written for a revision
    /// that is itself a commit.
    pub fn write_ref(&self, revision: &str, commit: &str) -> io::Result<()> {
        if revision == commit || self.read_ref(revision).as_deref() == Some(commit) {
            return Ok(());
        }
        write_atomic(
            &self.repo_dir().join("refs").join(revision),
            commit.as_bytes(),
        )
    }

    /// Points `snapshots/{commit}/{file}` at `blobs/{etag}` with a relative
    /// link (one more `../` per subdirectory of `file`).
    pub fn link(&self, commit: &str, file: &str, etag: &str) -> io::Result<PathBuf> {
        let link = self.snapshot(commit, file);
        let depth = file.split('/').count() - 1;
        let target = PathBuf::from(format!("{}../../blobs/{etag}", "../".repeat(depth)));
        if std::fs::read_link(&link).is_ok_and(|t| t == target) {
            return Ok(link);
        }
        let dir = link.parent().unwrap_or(&self.root);
        std::fs::create_dir_all(dir)?;
        let tmp = dir.join(format!(".{}.{}.tmp", etag, std::process::id()));
        let _ = std::fs::remove_file(&tmp);
        make_link(&target, &tmp, &self.blob(etag))?;
        std::fs::rename(&tmp, &link)?;
        Ok(link)
    }

    /// Remembers that `file` does not exist at `commit`.
    pub fn mark_missing(&self, commit: &str, file: &str) -> io::Result<()> {
        let p = self.no_exist(commit, file);
        if let Some(dir) = p.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(p, b"")
    }

    /// The commit `revision` names in the cache (offline): itself when it
    /// is a commit with a snapshot, else `refs/{revision}`.
    pub fn resolve_offline(&self, revision: &str) -> Option<String> {
        if is_commit_hash(revision) && self.repo_dir().join("snapshots").join(revision).is_dir() {
            return Some(revision.to_string());
        }
        self.read_ref(revision)
    }

    /// Every file path in a snapshot, `/`-separated, sorted.
    pub fn snapshot_files(&self, commit: &str) -> Vec<String> {
        let base = self.repo_dir().join("snapshots").join(commit);
        let mut out = Vec::new();
        let mut stack = vec![base.clone()];
        while let Some(dir) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in entries.flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if let Ok(rel) = p.strip_prefix(&base) {
                    let parts: Vec<_> = rel
                        .components()
                        .map(|c| c.as_os_str().to_string_lossy().into_owned())
                        .collect();
                    out.push(parts.join("/"));
                }
            }
        }
        out.sort();
        out
    }
}

/// The use lock's file name under `.locks/models--{org}--{repo}/` (the
/// reference client's blob locks are named `{etag}.lock`; this name can
/// never be an etag's).
const REPO_LOCK: &str = ".repo-use.lock";

/// A fetch's shared hold on its repo folder; see [`RepoCache::use_shared`].
#[derive(Debug)]
pub(crate) struct RepoUse {
    file: std::fs::File,
    cache: RepoCache,
}

impl RepoUse {
    /// After a failed fetch: removes the repo's empty folders, but only
    /// when no other fetch holds the repo (the lock is taken exclusively
    /// without waiting; when another holds it, the folders stay for it).
    pub fn tidy(self) {
        if self.file.try_lock().is_ok() {
            self.cache.remove_if_empty();
        }
    }
}

#[cfg(unix)]
fn make_link(target: &Path, at: &Path, _blob: &Path) -> io::Result<()> {
    std::os::unix::fs::symlink(target, at)
}

/// Without symlinks the reference client copies the blob; so do we.
#[cfg(not(unix))]
fn make_link(_target: &Path, at: &Path, blob: &Path) -> io::Result<()> {
    std::fs::copy(blob, at).map(|_| ())
}

/// True for a full git commit id: 40 lowercase hex digits, as git and the
/// Hub write them (and as `refs/` and `snapshots/` name them).
pub(crate) fn is_commit_hash(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Writes through a temporary file and a rename: readers never see half.
fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    io::Write::write_all(&mut tmp, bytes)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_the_reference_client() {
        let dir = tempfile::tempdir().unwrap();
        let c = RepoCache::new(dir.path(), "org/model");
        c.prepare().unwrap();
        assert!(dir.path().join("CACHEDIR.TAG").is_file());
        let commit = "a".repeat(40);
        c.write_ref("main", &commit).unwrap();
        assert_eq!(
            std::fs::read(dir.path().join("models--org--model/refs/main")).unwrap(),
            commit.as_bytes()
        );
        c.write_ref(&commit, &commit).unwrap();
        assert!(
            !dir.path()
                .join("models--org--model/refs")
                .join(&commit)
                .exists()
        );
        std::fs::write(c.blob("e1"), b"x").unwrap();
        let link = c.link(&commit, "sub/dir/f.gguf", "e1").unwrap();
        assert_eq!(
            std::fs::read_link(&link).unwrap(),
            Path::new("../../../../blobs/e1")
        );
        assert_eq!(std::fs::read(&link).unwrap(), b"x");
        assert_eq!(c.resolve_offline("main").as_deref(), Some(commit.as_str()));
        assert_eq!(c.resolve_offline(&commit).as_deref(), Some(commit.as_str()));
        assert_eq!(
            c.snapshot_files(&commit),
            vec!["sub/dir/f.gguf".to_string()]
        );
        assert!(
            c.lock_path("e1")
                .ends_with(".locks/models--org--model/e1.lock")
        );
    }
}
