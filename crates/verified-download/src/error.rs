//! Why a download failed. Messages name the URL in its public form (no
//! credentials, secret query values redacted) or the file, and say what to
//! do; no header value or token is ever part of one.

use crate::digest::Digest;
use crate::error_kind::ErrorKind;
use std::path::PathBuf;

/// Why an HTTP request or a transfer failed.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    /// The server wants credentials.
    #[error(
        "{url} answered 401 Unauthorized: it wants credentials; check that a valid token or password for it is configured"
    )]
    Unauthorized {
        /// The URL, public form.
        url: String,
    },
    /// The credentials sent give no access.
    #[error("{url} answered 403 Forbidden: the credentials sent have no access to this resource")]
    Forbidden {
        /// The URL, public form.
        url: String,
    },
    /// A redirect chain longer than the configured maximum.
    #[error("{url} redirected more than {max} times: the server is misconfigured")]
    TooManyRedirects {
        /// The URL first asked for, public form.
        url: String,
        /// Redirects allowed.
        max: u32,
    },
    /// A status that is neither success nor worth retrying.
    #[error("{url} answered HTTP {status}: {hint}")]
    Status {
        /// The URL that answered, public form.
        url: String,
        /// The HTTP status.
        status: u16,
        /// What to do about it.
        hint: &'static str,
    },
    /// Transient failures went on past the retry budget.
    #[error(
        "{url}: gave up after {attempts} attempts ({last}); check the network and try again (the partial download is kept and resumes)"
    )]
    RetriesExhausted {
        /// The URL, public form.
        url: String,
        /// Attempts made, the first included.
        attempts: u32,
        /// Why the last attempt failed.
        last: String,
    },
    /// The proxy refused the request (a `CONNECT` or a request it answered
    /// itself with 403 or 407). Names the proxy's host, never its
    /// credentials.
    #[error("the proxy {proxy} refused the request to {url} (HTTP {status}): {hint}")]
    Proxy {
        /// The proxy, public form (no credentials).
        proxy: String,
        /// The URL asked for, public form.
        url: String,
        /// The proxy's status.
        status: u16,
        /// What to do about it.
        hint: &'static str,
    },
    /// A failure of the connection that retrying cannot mend (TLS, protocol).
    #[error("{url}: {reason}")]
    Network {
        /// The URL, public form.
        url: String,
        /// What failed and what to check.
        reason: &'static str,
    },
    /// The body was not the size the server promised.
    #[error(
        "{file}: got {actual} bytes, expected {expected}; the partial download was deleted, try again"
    )]
    SizeMismatch {
        /// What was downloaded (the request's label: a URL, a name).
        file: String,
        /// Bytes promised.
        expected: u64,
        /// Bytes received.
        actual: u64,
    },
    /// The bytes' sha256 is not the one the server advertised (e.g. an
    /// etag that is a sha256).
    #[error(
        "{file}: sha256 {actual} does not match the server's etag {expected}; the download was corrupted in transit and was deleted, try again"
    )]
    EtagMismatch {
        /// What was downloaded.
        file: String,
        /// The advertised sha256, hex.
        expected: String,
        /// The sha256 of the bytes received, hex.
        actual: String,
    },
    /// The bytes' sha256 is not the caller's digest; the download was deleted.
    #[error(
        "{}: the bytes hash to {actual}, not the expected {expected}; the download was deleted: check the digest or the source",
        path.display()
    )]
    DigestMismatch {
        /// Where the file would have gone.
        path: PathBuf,
        /// The caller's digest.
        expected: Digest,
        /// The digest of the bytes received.
        actual: Digest,
    },
    /// A local file operation failed.
    #[error(
        "cannot {action} {path} ({source}): check the directory exists, is writable and has space"
    )]
    Io {
        /// What was being done (`open`, `write`, `lock`, …).
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// Another process held the file's lock past the lock timeout.
    #[error(transparent)]
    LockTimeout(crate::file_lock::LockError),
    /// Plain `http://` off loopback, or a redirect from https down to it.
    #[error(
        "{url}: plain http is allowed to loopback only; use https:// or allow insecure http explicitly"
    )]
    InsecureUrl {
        /// The URL, public form.
        url: String,
    },
    /// An https download without a digest to check the bytes against.
    #[error(
        "{url}: a sha256 digest is required for https downloads; pass one, or opt out explicitly"
    )]
    DigestRequired {
        /// The URL, public form.
        url: String,
    },
    /// A URL that cannot be requested.
    #[error("{url} is not a valid URL: {reason}")]
    BadUrl {
        /// The URL, public form.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The body stalled (see [`StallPolicy`](crate::StallPolicy)) on every
    /// attempt.
    #[error(
        "{url}: the transfer stalled on {attempts} attempts ({last}); check the network and try again (the partial download is kept and resumes)"
    )]
    Stalled {
        /// The URL, public form.
        url: String,
        /// Attempts made, the first included.
        attempts: u32,
        /// How the last attempt stalled.
        last: String,
    },
    /// The partial's filesystem has less free space than the bytes still
    /// to fetch.
    #[error(
        "{}: {} still to download but only {} free on its filesystem; free space (e.g. `provision cache prune`) and try again",
        path.display(), crate::units::human_bytes(*needed), crate::units::human_bytes(*free)
    )]
    NoSpace {
        /// The partial file.
        path: PathBuf,
        /// Bytes still to fetch.
        needed: u64,
        /// Bytes free for this process on the filesystem.
        free: u64,
    },
    /// The caller cancelled; the partial file and its state are kept.
    #[error("the transfer was cancelled; the partial download is kept and resumes")]
    Cancelled,
    /// The CA bundle to trust cannot be used.
    #[error(
        "the CA bundle {} cannot be used: {reason}; point SSL_CERT_FILE at a PEM file of CA certificates, or unset it",
        path.display()
    )]
    CaBundle {
        /// The bundle file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

impl DownloadError {
    /// Stable kebab-case `error_kind` narrated with this error.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Unauthorized { .. } => "unauthorized",
            Self::Forbidden { .. } => "forbidden",
            Self::TooManyRedirects { .. } => "too-many-redirects",
            Self::Status { .. } => "http-status",
            Self::RetriesExhausted { .. } => "retries-exhausted",
            Self::Network { .. } => "network",
            Self::Proxy { .. } => "proxy",
            Self::SizeMismatch { .. } => "size-mismatch",
            Self::EtagMismatch { .. } => "etag-mismatch",
            Self::DigestMismatch { .. } => "digest-mismatch",
            Self::Io { .. } => "io",
            Self::LockTimeout(_) => "lock-timeout",
            Self::InsecureUrl { .. } => "insecure-url",
            Self::DigestRequired { .. } => "digest-required",
            Self::BadUrl { .. } => "bad-url",
            Self::Stalled { .. } => "stalled",
            Self::NoSpace { .. } => "no-space",
            Self::Cancelled => "cancelled",
            Self::CaBundle { .. } => "ca-bundle",
        }
    }

    /// The kind a caller matches on.
    pub fn class(&self) -> ErrorKind {
        match self {
            Self::Unauthorized { .. }
            | Self::Forbidden { .. }
            | Self::Proxy { status: 407, .. } => ErrorKind::Denied,
            Self::Proxy { .. } => ErrorKind::Network,
            Self::Status { status: 404, .. } => ErrorKind::NotFound,
            Self::TooManyRedirects { .. }
            | Self::Status { .. }
            | Self::RetriesExhausted { .. }
            | Self::Network { .. }
            | Self::Stalled { .. } => ErrorKind::Network,
            Self::SizeMismatch { .. } | Self::EtagMismatch { .. } => ErrorKind::CorruptTransfer,
            Self::DigestMismatch { .. } => ErrorKind::DigestMismatch,
            Self::Io { .. } | Self::NoSpace { .. } => ErrorKind::Io,
            Self::LockTimeout(_) => ErrorKind::Locked,
            Self::InsecureUrl { .. }
            | Self::DigestRequired { .. }
            | Self::BadUrl { .. }
            | Self::CaBundle { .. } => ErrorKind::InvalidInput,
            Self::Cancelled => ErrorKind::Cancelled,
        }
    }

    /// True when the bytes were wrong (size or sha256 not as promised or
    /// expected): a verification failure, not a transfer failure.
    pub fn is_verification(&self) -> bool {
        matches!(
            self,
            Self::SizeMismatch { .. } | Self::EtagMismatch { .. } | Self::DigestMismatch { .. }
        )
    }

    /// True when the server could not be reached or kept failing: retries
    /// exhausted, or a connection that cannot be made to work.
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            Self::RetriesExhausted { .. } | Self::Network { .. } | Self::Stalled { .. }
        )
    }

    /// An I/O failure of `action` on `path`.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
