//! The Hub's content: repos, commits, refs and files, as the protocol
//! exposes them (commit sha, sha256 for LFS files, git blob sha1 otherwise).

use sha1::Sha1;
use sha2::{Digest as _, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// A file to put in a commit: its bytes and whether the Hub stores it in LFS
/// (LFS files are answered with a sha256 `X-Linked-Etag` and a 302 to the
/// CDN listener; plain files with a sha1 `ETag` and the body from the Hub).
#[derive(Clone, Debug)]
pub struct FileSpec {
    pub(crate) content: Arc<[u8]>,
    pub(crate) lfs: bool,
}

impl FileSpec {
    /// An LFS file (every real GGUF file is one).
    pub fn lfs(content: impl Into<Vec<u8>>) -> Self {
        Self {
            content: content.into().into(),
            lfs: true,
        }
    }

    /// A small file stored in git itself.
    pub fn plain(content: impl Into<Vec<u8>>) -> Self {
        Self {
            content: content.into().into(),
            lfs: false,
        }
    }

    /// The lowercase hex sha256 of the content.
    pub fn sha256(&self) -> String {
        sha256_hex(&self.content)
    }
}

/// A file as stored: content plus the identifiers the protocol shows.
#[derive(Debug)]
pub(crate) struct StoredFile {
    pub content: Arc<[u8]>,
    pub lfs: bool,
    pub sha256: String,
    /// git blob sha1 of the content (plain files) or of the LFS pointer.
    pub git_oid: String,
}

impl StoredFile {
    pub fn new(spec: FileSpec) -> Self {
        let sha256 = sha256_hex(&spec.content);
        let git_oid = if spec.lfs {
            let pointer = format!(
                "version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {}\n",
                spec.content.len()
            );
            git_blob_sha1(pointer.as_bytes())
        } else {
            git_blob_sha1(&spec.content)
        };
        Self {
            content: spec.content,
            lfs: spec.lfs,
            sha256,
            git_oid,
        }
    }

    /// The etag a client names the blob by.
    pub fn etag(&self) -> &str {
        if self.lfs {
            &self.sha256
        } else {
            &self.git_oid
        }
    }
}

/// One commit: the whole tree at that point.
#[derive(Debug, Clone, Default)]
pub(crate) struct Commit {
    pub files: BTreeMap<String, Arc<StoredFile>>,
}

/// A repository: commits by sha, refs (branches and tags) to commits.
#[derive(Debug, Default)]
pub(crate) struct Repo {
    pub commits: HashMap<String, Commit>,
    pub refs: HashMap<String, String>,
    /// A gated repo answers 401/403 `GatedRepo` unless this token is sent.
    pub token: Option<String>,
    counter: u64,
}

impl Repo {
    /// The commit sha a revision (branch, tag or full sha) resolves to.
    pub fn resolve(&self, revision: &str) -> Option<&str> {
        if let Some(sha) = self.refs.get(revision) {
            return Some(sha);
        }
        self.commits
            .get_key_value(revision)
            .map(|(k, _)| k.as_str())
    }

    /// Adds a commit on `branch` holding the branch's files plus `files`.
    pub fn commit(
        &mut self,
        repo_id: &str,
        branch: &str,
        files: Vec<(String, FileSpec)>,
    ) -> String {
        let mut tree = self
            .refs
            .get(branch)
            .and_then(|sha| self.commits.get(sha))
            .cloned()
            .unwrap_or_default();
        let mut seed = format!("{repo_id}\0{branch}\0{}", self.counter);
        self.counter += 1;
        for (path, spec) in files {
            let stored = StoredFile::new(spec);
            seed.push_str(&format!("\0{path}\0{}", stored.sha256));
            tree.files.insert(path, Arc::new(stored));
        }
        let sha = hex::encode(Sha1::digest(seed.as_bytes()));
        self.commits.insert(sha.clone(), tree);
        self.refs.insert(branch.to_string(), sha.clone());
        sha
    }
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

pub(crate) fn git_blob_sha1(bytes: &[u8]) -> String {
    let mut h = Sha1::new();
    h.update(format!("blob {}\0", bytes.len()).as_bytes());
    h.update(bytes);
    hex::encode(h.finalize())
}
