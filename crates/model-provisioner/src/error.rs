//! The errors of model provisioning. Every variant names its input and its
//! message says what to do; [`ProvisionError::error_kind`] is the stable
//! `error_kind` narrated with it.

use crate::actions as act;
use crate::digest::{Digest, DigestError};
use crate::error_kind::ErrorKind;
use crate::model_ref::RefError;
use crate::step::Step;
use std::path::PathBuf;

/// A boxed error from a lower layer (a fetcher, the GGUF reader).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why `ensure_present` (or a fetcher) failed.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    /// The model reference does not parse.
    #[error(transparent)]
    InvalidRef(#[from] RefError),
    /// The expected digest does not parse.
    #[error(transparent)]
    InvalidDigest(#[from] DigestError),
    /// The local file the reference names does not exist.
    #[error("model file {path} does not exist: check the path or download it first")]
    MissingFile {
        /// The path the reference names.
        path: PathBuf,
    },
    /// The file exists but cannot be read.
    #[error("model file {path} cannot be read ({source}): check its permissions")]
    UnreadableFile {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The path names a directory or a device, not a file.
    #[error("model path {path} is not a regular file")]
    NotAFile {
        /// The path.
        path: PathBuf,
    },
    /// The file's sha256 is not the one the caller expected.
    #[error(
        "digest mismatch for {model} at {path}: expected {expected}, got {actual}; the file is corrupt or not the one you meant"
    )]
    DigestMismatch {
        /// The model reference, in its public form.
        model: String,
        /// The file whose bytes were hashed.
        path: PathBuf,
        /// The digest the caller expected.
        expected: Digest,
        /// The digest of the bytes.
        actual: Digest,
    },
    /// The file is not a GGUF model this reader accepts.
    #[error("{path} is not a usable GGUF model: {source}")]
    NotGguf {
        /// The file.
        path: PathBuf,
        /// What the GGUF reader found.
        #[source]
        source: crate::gguf::GgufError,
    },
    /// The file changed while it was hashed: the digest describes no
    /// stable content.
    #[error(
        "model file {path} changed while it was being hashed; wait for the writer to finish and retry"
    )]
    ChangedWhileHashing {
        /// The file.
        path: PathBuf,
    },
    /// The catalog could not be read or written.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// The catalog entry is retired: it is not handed to new pools.
    #[error(
        "model {id} is retired in the catalog and is not handed to new pools; run `provision catalog activate {id}` to use it again"
    )]
    Retired {
        /// The catalog id.
        id: String,
    },
    /// No registered fetcher handles the reference's scheme.
    #[error(
        "no fetcher handles {scheme}: references like {model}; register one with the provisioner builder"
    )]
    NoFetcher {
        /// The model reference.
        model: String,
        /// Its scheme.
        scheme: String,
    },
    /// Offline, and the model is not in the cache.
    #[error(
        "offline mode: {model} is not in the local cache; run once without offline mode (HF_HUB_OFFLINE) to fetch it"
    )]
    Offline {
        /// The model reference.
        model: String,
    },
    /// The Hugging Face fetcher failed.
    #[error("fetching {model} failed: {source}")]
    Hub {
        /// The model ref, normalized.
        model: String,
        /// What went wrong with the Hub.
        #[source]
        source: crate::hf_error::HfError,
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
    /// The CA bundle the settings name cannot be used (when the
    /// provisioner is built, before any download).
    #[error(transparent)]
    CaBundle(crate::download::DownloadError),
    /// Pulling from an OCI registry failed.
    #[error("fetching {model} failed: {source}")]
    Oci {
        /// The model ref, normalized.
        model: String,
        /// What went wrong with the registry or the layout.
        #[source]
        source: crate::oci_error::OciError,
    },
    /// A third-party fetcher failed.
    #[error("fetching {model} failed: {source}")]
    Fetch {
        /// The model reference, in its public form.
        model: String,
        /// Stable kebab-case kind narrated as `error_kind`.
        kind: &'static str,
        /// The fetcher's own error.
        #[source]
        source: BoxError,
    },
    /// The caller cancelled the ensure through its
    /// [`Cancel`](crate::Cancel) token. The partial download and its state
    /// file are kept: the next ensure resumes them.
    #[error("provisioning {model} was cancelled during {step}; the next ensure resumes it")]
    Cancelled {
        /// The model reference, in its public form.
        model: String,
        /// The step it stopped in (`download`, `verify`, `lock-wait`, …).
        step: &'static str,
    },
    /// A file of ours (provenance log, handoff, a removal) could not be
    /// written or deleted.
    #[error("cannot write {what} {path} ({source}): check the directory exists and is writable")]
    Write {
        /// Which file.
        what: &'static str,
        /// Where.
        path: PathBuf,
        /// The OS error.
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

    /// The kind a caller matches on, whichever layer failed.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::InvalidRef(_)
            | Self::InvalidDigest(_)
            | Self::NotAFile { .. }
            | Self::NotGguf { .. }
            | Self::NoFetcher { .. } => ErrorKind::InvalidInput,
            Self::MissingFile { .. } => ErrorKind::NotFound,
            Self::UnreadableFile { .. } | Self::ChangedWhileHashing { .. } | Self::Write { .. } => {
                ErrorKind::Io
            }
            Self::Catalog(source) => source.class(),
            Self::DigestMismatch { .. } => ErrorKind::DigestMismatch,
            Self::Retired { .. } => ErrorKind::Retired,
            Self::Offline { .. } => ErrorKind::OfflineMiss,
            Self::Hub { source, .. } => source.class(),
            Self::Download { source, .. } | Self::CaBundle(source) => source.class(),
            Self::Oci { source, .. } => source.class(),
            Self::Fetch { .. } => ErrorKind::Other,
            Self::Cancelled { .. } => ErrorKind::Cancelled,
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
            Self::Catalog(CatalogError::Locked { .. }) => "catalog-locked",
            Self::Catalog(_) => "catalog",
            Self::Retired { .. } => "model-retired",
            Self::NoFetcher { .. } => "no-fetcher",
            Self::Offline { .. } => "offline-miss",
            Self::Hub { source, .. } => source.kind(),
            Self::Download { source, .. } | Self::CaBundle(source) => source.kind(),
            Self::Oci { source, .. } => source.kind(),
            Self::Fetch { kind, .. } => kind,
            Self::Cancelled { .. } => "cancelled",
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
            | Self::Retired { .. }
            | Self::CaBundle(_) => act::ENSURE_FAILED,
            Self::Download { source, .. } if source.is_verification() => act::VERIFY_FAILED,
            Self::Hub { source, .. } if source.is_verification() => act::VERIFY_FAILED,
            // The Hub answered, but the model is not there for us (no
            // repo, revision or file, gated, not a Hub, nothing selected):
            // no download started.
            Self::Hub { source, .. } if source.download().is_none() => act::ENSURE_FAILED,
            Self::Oci { source, .. } if source.is_verification() => act::VERIFY_FAILED,
            Self::Oci { source, .. } if source.is_unavailable() => act::ENSURE_FAILED,
            Self::Hub { .. } | Self::Download { .. } | Self::Fetch { .. } | Self::Oci { .. } => {
                act::DOWNLOAD_FAILED
            }
            Self::Cancelled { .. } => act::CANCELLED,
            Self::UnreadableFile { .. } | Self::Catalog(_) | Self::Write { .. } => {
                step.failed_action()
            }
        }
    }
}

/// A download failure as the provisioner's error for one model.
pub(crate) trait IntoProvision {
    /// The provisioner's error for `model`: the caller's digest mismatch
    /// becomes [`ProvisionError::DigestMismatch`], the rest
    /// [`ProvisionError::Download`].
    fn into_provision(self, model: String) -> ProvisionError;
}

impl IntoProvision for crate::download::DownloadError {
    fn into_provision(self, model: String) -> ProvisionError {
        match self {
            Self::DigestMismatch {
                path,
                expected,
                actual,
            } => ProvisionError::DigestMismatch {
                model,
                path,
                expected,
                actual,
            },
            source => ProvisionError::Download { model, source },
        }
    }
}

/// Why the catalog could not be read or written. The database path is
/// always named.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// SQLite refused an operation.
    #[error("catalog {path}: {source}; check the file is a catalog database and is writable")]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// The catalog's directory could not be created.
    #[error("catalog {path}: cannot create its directory ({source})")]
    Io {
        /// The database file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The database was written by a newer build.
    #[error(
        "catalog {path} has schema version {found}, newer than this build understands ({supported}); upgrade the provisioner"
    )]
    SchemaTooNew {
        /// The database file.
        path: PathBuf,
        /// The version it records.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// A row does not decode.
    #[error(
        "catalog {path}: row {id:?} is corrupt ({reason}); remove it and ensure the model again"
    )]
    CorruptRow {
        /// The database file.
        path: PathBuf,
        /// The row's id.
        id: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Another process held the write lock for longer than the lock
    /// timeout.
    #[error(
        "catalog locked by another process: {path} (waited {waited:.1?}); try again when it is done, or set PROVISION_CATALOG_LOCK_TIMEOUT to wait longer"
    )]
    Locked {
        /// The database file.
        path: PathBuf,
        /// How long this process waited.
        waited: std::time::Duration,
    },
    /// No entry has this id.
    #[error("catalog {path}: no entry {id:?}")]
    NotFound {
        /// The database file.
        path: PathBuf,
        /// The id asked for.
        id: String,
    },
}

impl CatalogError {
    /// The kind a caller matches on: [`ErrorKind::Locked`] (worth another
    /// try later) for a lock held too long, [`ErrorKind::Io`] otherwise.
    pub fn class(&self) -> ErrorKind {
        match self {
            Self::Locked { .. } => ErrorKind::Locked,
            _ => ErrorKind::Io,
        }
    }
}
