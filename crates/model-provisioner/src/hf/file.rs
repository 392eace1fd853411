//! One file of a repository made present: a pinned snapshot, a blob
//! already in the cache, or a download under the blob's lock.

use crate::digest::Digest;
use crate::download::{self, DownloadError, ParallelPolicy, Request};
use crate::hf::HfFetcher;
use crate::hf::cache::{RepoCache, is_commit_hash};
use crate::hf::error::HfError;
use crate::hf::fetcher::FetchFailure;
use crate::hf::meta::{self, FileMeta, Subject};
use crate::transfer_events::Narrator;
use std::path::PathBuf;

/// One file to make present.
pub(super) struct FileRequest<'a> {
    pub cache: &'a RepoCache,
    /// `org/repo`.
    pub repo: &'a str,
    /// The revision the ref asked for (a branch, tag or commit).
    pub revision: &'a str,
    /// Where to resolve it: the revision, or the commit pinned earlier.
    pub at: &'a str,
    /// The path in the repository.
    pub file: &'a str,
    /// The caller's digest for this file.
    pub expected: Option<&'a Digest>,
    /// This file's share of the connection budget (files of a split
    /// GGUF run at once and split it).
    pub parallel: &'a ParallelPolicy,
    pub n: Narrator<'a>,
}

/// One file made present.
pub(super) struct Present {
    pub path: PathBuf,
    /// sha256 computed while this call wrote the bytes.
    pub digest: Option<Digest>,
    pub transferred: u64,
    /// The commit the file was resolved at.
    pub commit: String,
}

impl Present {
    /// Already there: nothing moved, nothing hashed.
    pub fn hit(path: PathBuf, commit: &str) -> Self {
        Self {
            path,
            digest: None,
            transferred: 0,
            commit: commit.to_string(),
        }
    }
}

/// What the HEAD step found.
enum Head {
    Meta(FileMeta),
    /// The Hub was unreachable; the cached snapshot stands in.
    Cached(Present),
}

impl HfFetcher {
    /// Makes `req.file` present: pinned snapshot, existing blob, or a
    /// download under the blob's lock.
    pub(super) fn ensure_file(&self, req: &FileRequest<'_>) -> Result<Present, FetchFailure> {
        // A commit pins content: a snapshot that exists needs no request.
        if is_commit_hash(req.at) && req.cache.snapshot(req.at, req.file).is_file() {
            return Ok(Present::hit(req.cache.snapshot(req.at, req.file), req.at));
        }
        let meta = match self.head(req)? {
            Head::Meta(meta) => meta,
            Head::Cached(present) => return Ok(present),
        };
        if !is_commit_hash(req.revision) {
            req.cache
                .write_ref(req.revision, &meta.commit)
                .map_err(|e| HfError::io("write ref", &self.config.cache_dir, e))?;
        }
        let advertised = sha256_etag(&meta.etag);
        // The Hub already says what the bytes hash to: refuse before moving any.
        if let (Some(advertised), Some(&want)) = (advertised, req.expected)
            && advertised != want
        {
            return Err(FetchFailure::Mismatch {
                path: req.cache.snapshot(&meta.commit, req.file),
                expected: want,
                actual: advertised,
            });
        }
        let blob = req.cache.blob(&meta.etag);
        if blob.is_file() {
            return self.linked(req, &meta, None, 0);
        }
        let t = req.n.transfer(label(req));
        let _lock = download::lock(
            &req.cache.lock_path(&meta.etag),
            self.config.lock_wait,
            &|e| t.on(e),
        )?;
        if blob.is_file() {
            // Another process finished it while this one waited.
            return self.linked(req, &meta, None, 0);
        }
        let done = download::download(
            &self.client,
            &Request {
                url: meta.location.clone(),
                label: label(req),
                partial: req.cache.incomplete(&meta.etag),
                dest: blob,
                expected_size: meta.size,
                advertised,
                expected: req.expected,
                parallel: req.parallel.clone(),
            },
            &|e| t.on(e),
        )?;
        self.linked(req, &meta, Some(done.digest), done.transferred)
    }

    /// The HEAD on the resolve URL; when the Hub stays unreachable and
    /// this revision was fetched before, the cached snapshot instead, as
    /// the reference client does, rather than fail a node with the model
    /// on disk.
    fn head(&self, req: &FileRequest<'_>) -> Result<Head, FetchFailure> {
        let at = Subject {
            endpoint: &self.config.endpoint,
            repo: req.repo,
            revision: req.at,
        };
        let t = req.n.transfer(label(req));
        let e = match meta::file_meta(&self.client, at, req.file, &|e| t.on(e)) {
            Ok(meta) => return Ok(Head::Meta(meta)),
            Err(e) => e,
        };
        if let Some(commit) = &e.missing_at_commit {
            let _ = req.cache.mark_missing(commit, req.file);
        }
        if e.error
            .download()
            .is_some_and(DownloadError::is_unreachable)
            && let Some(commit) = req.cache.resolve_offline(req.at)
            && req.cache.snapshot(&commit, req.file).is_file()
        {
            req.n.hub_unreachable_cache_used(&e.error, &commit);
            let path = req.cache.snapshot(&commit, req.file);
            return Ok(Head::Cached(Present::hit(path, &commit)));
        }
        Err(e.error.into())
    }

    /// Links the snapshot to the blob and reports the file present.
    fn linked(
        &self,
        req: &FileRequest<'_>,
        meta: &FileMeta,
        digest: Option<Digest>,
        transferred: u64,
    ) -> Result<Present, FetchFailure> {
        let path = req
            .cache
            .link(&meta.commit, req.file, &meta.etag)
            .map_err(|e| HfError::io("link snapshot", &self.config.cache_dir, e))?;
        Ok(Present {
            path,
            digest,
            transferred,
            commit: meta.commit.clone(),
        })
    }
}

/// `org/repo/file` for narrations and errors.
fn label(req: &FileRequest<'_>) -> String {
    format!("{}/{}", req.repo, req.file)
}

/// A 64-hex etag is the file's sha256 (LFS); a git sha1 is not.
fn sha256_etag(etag: &str) -> Option<Digest> {
    (etag.len() == 64)
        .then(|| Digest::from_sha256_hex(&etag.to_ascii_lowercase()).ok())
        .flatten()
}
