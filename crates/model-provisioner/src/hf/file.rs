//! One file of a repository made present: a pinned snapshot, a blob
//! already in the cache, or a download under the blob's lock.

use crate::digest::Digest;
use crate::download::{self, DownloadError, ParallelPolicy, Request};
use crate::fetch::Vouched;
use crate::fingerprint::Fingerprint;
use crate::hf::HfFetcher;
use crate::hf::blob_check::{self, Checked, Promise};
use crate::hf::cache::{RepoCache, is_commit_hash};
use crate::hf::fetcher::FetchFailure;
use crate::hf::meta::{self, FileMeta, Subject};
use crate::hf_error::HfError;
use crate::transfer_events::Narrator;
use std::path::{Path, PathBuf};

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
    /// The file the catalog vouches for, if any.
    pub vouched: Option<&'a Vouched>,
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

/// Whether a cached blob may be served.
pub(super) enum Judged {
    /// Yes; `Some` sha256 when it was hashed now.
    Serve(Option<Digest>),
    /// No: its bytes are not what its etag promises.
    Bad(Checked),
}

/// What the HEAD step found.
enum Head {
    Meta(FileMeta),
    /// The Hub was unreachable; the cached snapshot stands in.
    Cached(Present),
}

impl HfFetcher {
    /// Makes `req.file` present: pinned snapshot, existing blob, or a
    /// download under the blob's lock. A blob already in the cache is
    /// served only once it is known good (see [`judge`](Self::judge)); a
    /// bad one is moved aside under its lock and downloaded again.
    pub(super) fn ensure_file(&self, req: &FileRequest<'_>) -> Result<Present, FetchFailure> {
        // A commit pins content: a snapshot that exists needs no request
        // once its blob is known good.
        if is_commit_hash(req.at)
            && let Some(present) = self.pinned(req)?
        {
            return Ok(present);
        }
        let meta = match self.head(req)? {
            Head::Meta(meta) => meta,
            Head::Cached(present) => return Ok(present),
        };
        if !is_commit_hash(req.revision) {
            req.cache
                .write_ref(req.revision, &meta.commit)
                .map_err(|e| HfError::io("write ref", req.cache.ref_path(req.revision), e))?;
        }
        let advertised = Promise::of(&meta.etag).and_then(Promise::sha256);
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
        let snapshot = req.cache.snapshot(&meta.commit, req.file);
        let blob = req.cache.blob(&meta.etag);
        if blob.is_file()
            && let Judged::Serve(digest) = self.judge(req, &snapshot, &meta.etag)?
        {
            return self.linked(req, &meta, digest, 0);
        }
        let t = req.n.transfer(label(req));
        let _lock = download::lock(
            &req.cache.lock_path(&meta.etag),
            self.config.lock_wait,
            &|e| t.on(e),
        )?;
        if blob.is_file() {
            // Another process finished it while this one waited, or it is
            // the bad blob seen above: judged again, under the lock.
            match self.judge(req, &snapshot, &meta.etag)? {
                Judged::Serve(digest) => return self.linked(req, &meta, digest, 0),
                Judged::Bad(found) => self.quarantine(req, &meta.etag, &found)?,
            }
        }
        // A failed run elsewhere may have removed the empty folders.
        req.cache
            .prepare()
            .map_err(|e| HfError::io("create", req.cache.blob_dir(), e))?;
        let done = download::download(
            &self.client,
            &Request {
                url: meta.location.clone(),
                label: label(req),
                partial: req.cache.incomplete(&meta.etag),
                dest: blob.clone(),
                expected_size: meta.size,
                advertised,
                expected: req.expected,
                parallel: req.parallel.clone(),
            },
            &|e| t.on(e),
        )?;
        self.check_git_blob(req, &meta, &blob)?;
        self.linked(req, &meta, Some(done.digest), done.transferred)
    }

    /// A plain git file's etag is its git blob id, which the download
    /// layer (hashing sha256 only) cannot check while streaming: the
    /// downloaded blob is read once more, still under its lock, and moved
    /// aside when it is not what the etag promises.
    fn check_git_blob(
        &self,
        req: &FileRequest<'_>,
        meta: &FileMeta,
        blob: &Path,
    ) -> Result<(), FetchFailure> {
        let Some(promise @ Promise::GitBlob(_)) = Promise::of(&meta.etag) else {
            return Ok(());
        };
        let found = blob_check::check(blob, promise).map_err(|e| HfError::io("hash", blob, e))?;
        if found.kept {
            return Ok(());
        }
        req.cache
            .quarantine(&meta.etag)
            .map_err(|e| HfError::io("move aside", blob, e))?;
        Err(FetchFailure::BadBlob {
            path: req.cache.snapshot(&meta.commit, req.file),
            etag: meta.etag.clone(),
            found: found.found(),
        })
    }

    /// The snapshot pinned by the commit `req.at`, when it exists and its
    /// blob is good; `None` sends the file through the HEAD (a snapshot
    /// that is not a link to a blob names no etag to check).
    fn pinned(&self, req: &FileRequest<'_>) -> Result<Option<Present>, FetchFailure> {
        let snapshot = req.cache.snapshot(req.at, req.file);
        if !snapshot.is_file() {
            return Ok(None);
        }
        let Some(etag) = linked_etag(&snapshot) else {
            return Ok(None);
        };
        Ok(match self.judge(req, &snapshot, &etag)? {
            Judged::Serve(digest) => Some(Present {
                path: snapshot,
                digest,
                transferred: 0,
                commit: req.at.to_string(),
            }),
            // The HEAD names the blob again; it is moved aside under its
            // lock and downloaded.
            Judged::Bad(_) => None,
        })
    }

    /// Whether the cached blob `etag`, behind `snapshot`, may be served:
    /// the catalog vouches for the snapshot by its fingerprint, or the
    /// blob is hashed now and compared with the etag.
    pub(super) fn judge(
        &self,
        req: &FileRequest<'_>,
        snapshot: &Path,
        etag: &str,
    ) -> Result<Judged, FetchFailure> {
        judge_blob(req.cache, req.vouched, snapshot, etag)
    }

    /// Moves the bad blob `etag` aside as `{etag}.corrupt` (kept as
    /// evidence, never served) and says so; called under its lock.
    fn quarantine(
        &self,
        req: &FileRequest<'_>,
        etag: &str,
        found: &Checked,
    ) -> Result<(), FetchFailure> {
        let blob = req.cache.blob(etag);
        let aside = req
            .cache
            .quarantine(etag)
            .map_err(|e| HfError::io("move aside", &blob, e))?;
        req.n.blob_quarantined(&blob, etag, &found.found(), &aside);
        Ok(())
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
            let path = req.cache.snapshot(&commit, req.file);
            let digest = serve_cached(req.cache, req.vouched, &path)?;
            req.n.hub_unreachable_cache_used(&e.error, &commit);
            return Ok(Head::Cached(Present {
                digest,
                ..Present::hit(path, &commit)
            }));
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
            .map_err(|e| {
                HfError::io(
                    "link snapshot",
                    req.cache.snapshot(&meta.commit, req.file),
                    e,
                )
            })?;
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

/// The etag a snapshot link names: the file name of its target.
pub(super) fn linked_etag(snapshot: &Path) -> Option<String> {
    let target = std::fs::read_link(snapshot).ok()?;
    Some(target.file_name()?.to_str()?.to_string())
}

/// [`HfFetcher::judge`], for callers without a request: the vouched
/// snapshot is served as is; any other blob is hashed (its fingerprint
/// unchanged throughout) and compared with what its etag promises. An
/// etag that promises nothing checkable is served unhashed, for the
/// provisioner to hash.
pub(super) fn judge_blob(
    cache: &RepoCache,
    vouched: Option<&Vouched>,
    snapshot: &Path,
    etag: &str,
) -> Result<Judged, FetchFailure> {
    let blob = cache.blob(etag);
    let Some(promise) = Promise::of(etag) else {
        return Ok(Judged::Serve(None));
    };
    if vouched.is_some_and(|v| {
        v.covers(snapshot, &blob) && promise.sha256().is_none_or(|d| d == v.digest)
    }) {
        return Ok(Judged::Serve(None));
    }
    let io = |e| HfError::io("hash", &blob, e);
    let before = Fingerprint::of(&blob).map_err(io)?;
    let checked = blob_check::check(&blob, promise).map_err(io)?;
    if Fingerprint::of(&blob).map_err(io)? != before {
        return Err(HfError::io(
            "hash",
            &blob,
            std::io::Error::other("the file changed while it was hashed; try again"),
        )
        .into());
    }
    Ok(if checked.kept {
        Judged::Serve(Some(checked.sha256))
    } else {
        Judged::Bad(checked)
    })
}

/// A cached snapshot served without the Hub (offline, or the Hub
/// unreachable): its blob must be good, or the fetch fails, since no good
/// copy can be fetched. `Some` sha256 when it was hashed now.
pub(super) fn serve_cached(
    cache: &RepoCache,
    vouched: Option<&Vouched>,
    snapshot: &Path,
) -> Result<Option<Digest>, FetchFailure> {
    let Some(etag) = linked_etag(snapshot) else {
        // Not a link (a copy, as on systems without symlinks): no etag
        // names its bytes; the provisioner hashes it.
        return Ok(None);
    };
    match judge_blob(cache, vouched, snapshot, &etag)? {
        Judged::Serve(digest) => Ok(digest),
        Judged::Bad(found) => Err(FetchFailure::BadBlob {
            path: snapshot.to_path_buf(),
            etag,
            found: found.found(),
        }),
    }
}
