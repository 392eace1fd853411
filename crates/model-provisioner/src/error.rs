//! The errors of model provisioning. Every variant names its input and its
//! message says what to do; [`ProvisionError::error_kind`] is the stable
//! `error_kind` narrated with it.

use crate::digest::{Digest, DigestError};
use crate::model_ref::RefError;
use crate::provisioner::Step;
use narration_core::catalog::model as act;
use std::path::PathBuf;

/// A boxed error from a lower layer (a fetcher, the GGUF reader).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why `ensure_present` (or a fetcher) failed.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error(transparent)]
    InvalidRef(#[from] RefError),
    #[error(transparent)]
    InvalidDigest(#[from] DigestError),
    #[error("model file {path} does not exist: check the path or download it first")]
    MissingFile { path: PathBuf },
    #[error("model file {path} cannot be read ({source}): check its permissions")]
    UnreadableFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("model path {path} is not a regular file")]
    NotAFile { path: PathBuf },
    #[error(
        "digest mismatch for {model} at {path}: expected {expected}, got {actual}; the file is corrupt or not the one you meant"
    )]
    DigestMismatch {
        model: String,
        path: PathBuf,
        expected: Digest,
        actual: Digest,
    },
    #[error("{path} is not a usable GGUF model: {source}")]
    NotGguf {
        path: PathBuf,
        #[source]
        source: crate::gguf::GgufError,
    },
    #[error(
        "model file {path} changed while it was being hashed; wait for the writer to finish and retry"
    )]
    ChangedWhileHashing { path: PathBuf },
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error(
        "model {id} is retired in the catalog and is not handed to new pools; run `provision catalog activate {id}` to use it again"
    )]
    Retired { id: String },
    #[error(
        "no fetcher handles {scheme}: references like {model}; register one with the provisioner builder"
    )]
    NoFetcher { model: String, scheme: String },
    #[error(
        "offline mode: {model} is not in the local cache; run once without offline mode (HF_HUB_OFFLINE) to fetch it"
    )]
    Offline { model: String },
    /// The Hugging Face fetcher failed.
    #[error("fetching {model} failed: {source}")]
    Hub {
        /// The model ref, normalized.
        model: String,
        /// What went wrong with the Hub.
        #[source]
        source: crate::hf::HfError,
    },
    /// A download (HTTPS, or a Hub transfer) failed.
    #[error("fetching {model} failed: {source}")]
    Download {
        /// The model ref, normalized.
        model: String,
        /// What went wrong with the download.
        #[source]
        source: crate::download::DownloadError,
    },
    /// A third-party fetcher failed.
    #[error("fetching {model} failed: {source}")]
    Fetch {
        model: String,
        /// Stable kebab-case kind narrated as `error_kind`.
        kind: &'static str,
        #[source]
        source: BoxError,
    },
    #[error("cannot write {what} {path} ({source}): check the directory exists and is writable")]
    Write {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl ProvisionError {
    /// Wrap a fetcher's own error with its stable kind.
    pub fn fetch(
        model: impl Into<String>,
        kind: &'static str,
        source: impl Into<BoxError>,
    ) -> Self {
        Self::Fetch {
            model: model.into(),
            kind,
            source: source.into(),
        }
    }

    /// The kebab-case `error_kind` narrated with this error.
    pub fn error_kind(&self) -> &'static str {
        match self {
            Self::InvalidRef(_) => "invalid-ref",
            Self::InvalidDigest(_) => "invalid-digest",
            Self::MissingFile { .. } => "missing-file",
            Self::UnreadableFile { .. } => "unreadable-file",
            Self::NotAFile { .. } => "not-a-file",
            Self::DigestMismatch { .. } => "digest-mismatch",
            Self::NotGguf { source, .. } => source.kind(),
            Self::ChangedWhileHashing { .. } => "changed-while-hashing",
            Self::Catalog(_) => "catalog",
            Self::Retired { .. } => "model-retired",
            Self::NoFetcher { .. } => "no-fetcher",
            Self::Offline { .. } => "offline-miss",
            Self::Hub { source, .. } => source.kind(),
            Self::Download { source, .. } => source.kind(),
            Self::Fetch { kind, .. } => kind,
            Self::Write { .. } => "write",
        }
    }
}

impl ProvisionError {
    /// The failure action narrated for this error when it happened during
    /// `step`: the one place errors meet the narration catalog. An error
    /// that says which promise broke names it (a digest mismatch is
    /// `verify-failed` even when found while downloading); the rest take
    /// the failing step's action.
    pub(crate) fn failure_action(&self, step: Step) -> &'static str {
        match self {
            Self::InvalidRef(_) | Self::InvalidDigest(_) => act::RESOLVE_FAILED,
            Self::DigestMismatch { .. } | Self::ChangedWhileHashing { .. } => act::VERIFY_FAILED,
            Self::NotGguf { .. } => act::INSPECT_FAILED,
            Self::MissingFile { .. }
            | Self::NotAFile { .. }
            | Self::NoFetcher { .. }
            | Self::Offline { .. }
            | Self::Retired { .. } => act::ENSURE_FAILED,
            Self::Download { source, .. } if source.is_verification() => act::VERIFY_FAILED,
            Self::Hub { source, .. } if source.download().is_some_and(|d| d.is_verification()) => {
                act::VERIFY_FAILED
            }
            Self::Hub { source, .. } if source.is_selection() => act::ENSURE_FAILED,
            Self::Hub { .. } | Self::Download { .. } | Self::Fetch { .. } => act::DOWNLOAD_FAILED,
            Self::UnreadableFile { .. } | Self::Catalog(_) | Self::Write { .. } => {
                step.failed_action()
            }
        }
    }
}

/// Why the catalog could not be read or written. The database path is
/// always named.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("catalog {path}: {source}; check the file is a catalog database and is writable")]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("catalog {path}: cannot create its directory ({source})")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "catalog {path} has schema version {found}, newer than this build understands ({supported}); upgrade the provisioner"
    )]
    SchemaTooNew {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error(
        "catalog {path}: row {id:?} is corrupt ({reason}); remove it and ensure the model again"
    )]
    CorruptRow {
        path: PathBuf,
        id: String,
        reason: String,
    },
    #[error("catalog {path}: no entry {id:?}")]
    NotFound { path: PathBuf, id: String },
}
