//! The fetcher plug-in point: how a [`ModelRef`] becomes a local file.
//!
//! The provisioner picks the first registered [`Fetcher`] whose
//! [`schemes`](Fetcher::schemes) contains [`ModelRef::scheme`] (`file`,
//! `hf`, `https`, `http`) and calls [`Fetcher::fetch`]. Everything after
//! that — verification, GGUF inspection, the catalog, the handoff — is the
//! provisioner's job, the same for every source.
//!
//! # Contract
//!
//! - **Result.** [`Fetched::path`] is a complete regular file on local
//!   disk; nothing partial or unverified is ever returned (or left at a
//!   final path). It stays valid after `fetch` returns.
//! - **Digest.** Set [`Fetched::digest`] only when this call computed the
//!   sha256 over exactly the bytes at `path` while writing them (e.g. with
//!   [`Sha256Stream`](crate::Sha256Stream), continuing over a resumed
//!   prefix). When `expected` is `Some`, the fetcher should compare it
//!   before moving the file into place and fail with
//!   [`ProvisionError::DigestMismatch`] on a mismatch, so that wrong bytes
//!   never reach a final path; the provisioner compares it again itself
//!   and does not hash again. On a cache hit (no transfer), return
//!   `digest: None`: the provisioner verifies through the catalog
//!   fingerprint or by hashing; or, when this call hashed the cached file
//!   now (the Hub fetcher checks a blob against its etag unless
//!   [`FetchContext::vouched`] covers it), that sha256 with
//!   `bytes_transferred: 0`, which the provisioner records as hashed now.
//! - **Narration.** A fetcher that transfers bytes narrates its own
//!   transfer: `download` (start), optionally `download-progress` /
//!   `download-retry`, then `downloaded` (with `bytes` and `duration_ms`).
//!   Build the fields with [`FetchContext::fields`] so correlation id, pool
//!   id and model ref are carried. The provisioner narrates `resolve`,
//!   `ensure`, `verify`, `cache-hit`, `verified` / `verify-failed`,
//!   `register`, `complete`.
//! - **Failure.** A fetcher returns its failure as a typed
//!   [`ProvisionError`] and does not narrate it: the provisioner narrates
//!   it once, at its boundary (`download-failed`, `verify-failed`, or
//!   `ensure-failed` for a missing local file, an offline miss or a
//!   reference that selects nothing), with `error_kind` =
//!   [`ProvisionError::error_kind`]. Third-party fetchers wrap their own
//!   errors with [`ProvisionError::fetch`] and a stable kebab-case kind.
//! - **Offline.** With [`FetchContext::offline`] set, a fetcher makes no
//!   network request; a file missing from its cache is
//!   [`ProvisionError::Offline`].
//! - **Where.** Network fetchers store under [`FetchContext::cache_dir`]
//!   (or their own configured cache, e.g. the HF cache), writing to a
//!   temporary name and renaming into place.
//! - **Threads.** Fetchers are `Send + Sync` and may be called from several
//!   threads and processes at once; cross-process exclusion is theirs.

use crate::actions;
use crate::cancel::Cancel;
use crate::digest::Digest;
use crate::error::ProvisionError;
use crate::fingerprint::Fingerprint;
use crate::model_ref::ModelRef;
use crate::progress::ProgressReporter;
use narration_core::NarrationFields;
use std::path::PathBuf;

/// A source of model files for one or more [`ModelRef`] schemes. See the
/// module documentation for the contract.
pub trait Fetcher: Send + Sync {
    /// The [`ModelRef::scheme`] values this fetcher handles.
    fn schemes(&self) -> &'static [&'static str];

    /// Make `model` available as a local file.
    fn fetch(
        &self,
        model: &ModelRef,
        expected: Option<&Digest>,
        ctx: &FetchContext,
    ) -> Result<Fetched, ProvisionError>;
}

/// What a fetch produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The complete local file.
    pub path: PathBuf,
    /// sha256 computed by this call over the bytes at `path`, while
    /// writing them or (with `bytes_transferred` 0) by hashing a cached
    /// file now; `None` when this call did not hash them.
    pub digest: Option<Digest>,
    /// Bytes moved over the network by this call (0 on a cache hit).
    pub bytes_transferred: u64,
    /// Where the bytes came from, for provenance (a URL without
    /// credentials, `hf:org/repo@commit/file`, or the local path).
    pub source: String,
    /// For an OCI pull: the registry, manifest and layers it was pinned
    /// to, which the catalog records.
    pub oci: Option<crate::catalog::OciRecord>,
}

/// What a fetch call needs to know about the surrounding `ensure_present`.
#[derive(Debug, Clone, Default)]
pub struct FetchContext {
    /// Correlation id of this ensure, carried on every narration.
    pub correlation_id: Option<String>,
    /// The pool this model is for, when known.
    pub pool_id: Option<String>,
    /// No network: serve from cache or fail with [`ProvisionError::Offline`].
    pub offline: bool,
    /// Directory where network fetchers may keep downloads.
    pub cache_dir: PathBuf,
    /// The ensure's cancellation token: every wait checks it, and a
    /// cancelled fetch returns [`ProvisionError::Cancelled`] keeping its
    /// partial download.
    pub cancel: Cancel,
    /// Where typed progress goes (nowhere without an observer).
    pub progress: ProgressReporter,
    /// The file the catalog verified for this ref, as it was then: a
    /// fetcher may serve that file without hashing it again while its
    /// fingerprint is unchanged, and must check any other file it did not
    /// write in this call before serving it.
    pub vouched: Option<Vouched>,
}

/// A file the catalog verified: its path, its fingerprint at the time and
/// the digest established then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vouched {
    /// The file (for the Hub, the snapshot link).
    pub path: PathBuf,
    /// Its fingerprint when it was verified.
    pub fingerprint: Fingerprint,
    /// Its sha256.
    pub digest: Digest,
}

impl Vouched {
    /// Whether `path` is the vouched file and the file at `blob` (the same
    /// bytes, behind any link) still has the vouched fingerprint.
    pub fn covers(&self, path: &std::path::Path, blob: &std::path::Path) -> bool {
        self.path == path && Fingerprint::of(blob).is_ok_and(|f| f == self.fingerprint)
    }
}

impl FetchContext {
    /// A context for fetching into `cache_dir`.
    pub fn new(cache_dir: impl Into<PathBuf>) -> Self {
        Self {
            cache_dir: cache_dir.into(),
            ..Self::default()
        }
    }

    /// Narration fields for a model-provisioner `action` on `model`, with
    /// the correlation id, pool id and model ref filled in.
    ///
    /// ```
    /// use model_provisioner::{FetchContext, ModelRef};
    /// let ctx = FetchContext::new("/tmp/cache");
    /// let model = ModelRef::parse("hf:org/repo/m.gguf").unwrap();
    /// let f = ctx.fields("download", &model, "Downloading m.gguf from org/repo".into());
    /// narration_core::narrate(narration_core::NarrationFields { bytes: Some(0), ..f });
    /// ```
    pub fn fields(&self, action: &'static str, model: &ModelRef, human: String) -> NarrationFields {
        NarrationFields {
            actor: actions::ACTOR,
            action,
            target: model.id(),
            human,
            correlation_id: self.correlation_id.clone(),
            pool_id: self.pool_id.clone(),
            model_ref: Some(model.id()),
            ..Default::default()
        }
    }
}

/// Local files: `file:` refs and bare paths. Transfers nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct FileFetcher;

impl Fetcher for FileFetcher {
    fn schemes(&self) -> &'static [&'static str] {
        &["file"]
    }

    fn fetch(
        &self,
        model: &ModelRef,
        _expected: Option<&Digest>,
        _ctx: &FetchContext,
    ) -> Result<Fetched, ProvisionError> {
        let ModelRef::File { path } = model else {
            return Err(ProvisionError::NoFetcher {
                model: model.id(),
                scheme: model.scheme().to_string(),
            });
        };
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_file() => Ok(Fetched {
                path: path.clone(),
                digest: None,
                bytes_transferred: 0,
                source: path.display().to_string(),
                oci: None,
            }),
            Ok(_) => Err(ProvisionError::NotAFile { path: path.clone() }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(ProvisionError::MissingFile { path: path.clone() })
            }
            Err(source) => Err(ProvisionError::UnreadableFile {
                path: path.clone(),
                source,
            }),
        }
    }
}
