//! One enum a caller matches on, whatever layer failed: a download here,
//! or (in the crates built on this one) a registry, a catalog, a build or
//! the caller's own input.

/// What kind of failure an error is, for a program deciding what to do
/// next ([`is_retryable`](Self::is_retryable)). New kinds may be added:
/// match with a wildcard arm.
///
/// ```
/// use verified_download::{DownloadError, ErrorKind};
/// let err = DownloadError::Status { url: "https://example.com/f".into(), status: 404, hint: "check the URL" };
/// assert_eq!(err.class(), ErrorKind::NotFound);
/// assert!(!err.class().is_retryable());
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The model, repository, revision, file or quantization is not there.
    NotFound,
    /// The bytes are not those the caller (or the Hub) said they must be.
    DigestMismatch,
    /// A transfer ended with bytes that do not add up (size, the server's
    /// own digest): fetching again may succeed.
    CorruptTransfer,
    /// The server could not be reached, kept failing or stalled.
    Network,
    /// Offline, and the model is not in the cache.
    OfflineMiss,
    /// The catalog entry is retired.
    Retired,
    /// Another process held a lock (or the catalog) past the timeout.
    Locked,
    /// The caller cancelled.
    Cancelled,
    /// The credentials sent give no access (or none were sent).
    Denied,
    /// The caller's input is wrong: a reference, digest, URL or config.
    InvalidInput,
    /// A local file or disk operation failed (permissions, space).
    Io,
    /// A tool the work needs is missing or unusable (git, cmake, a
    /// compiler, nvcc, an engine binary that does not run).
    Toolchain,
    /// Building or installing the engine failed.
    Build,
    /// The engine or provisioning mode is not supported.
    Unsupported,
    /// A third-party fetcher's own failure.
    Other,
}

impl ErrorKind {
    /// True when the same call may succeed if simply tried again later:
    /// the network, a lock held elsewhere, a transfer that came out wrong.
    pub fn is_retryable(self) -> bool {
        matches!(self, Self::Network | Self::Locked | Self::CorruptTransfer)
    }
}
