//! Typed errors of the Hugging Face and HTTPS fetchers. Messages name the
//! repo, file or URL (never with its query or credentials) and say what to
//! do; no header value or token is ever part of one.

use std::path::PathBuf;

/// Why a Hub or HTTPS download failed.
#[derive(Debug, thiserror::Error)]
pub enum HfError {
    #[error(
        "repository {repo} was not found on {endpoint}: check the name; if it is private, set HF_TOKEN to a token with access"
    )]
    RepoNotFound { repo: String, endpoint: String },
    #[error("repository {repo} has no revision {revision:?}: check the branch, tag or commit")]
    RevisionNotFound { repo: String, revision: String },
    #[error(
        "repository {repo} at {revision} has no file {file:?}: check the path (list the repo's files on the Hub)"
    )]
    EntryNotFound {
        repo: String,
        revision: String,
        file: String,
    },
    #[error(
        "repository {repo} is gated and no token was sent: accept its terms on the model page, then set HF_TOKEN (or HF_TOKEN_PATH) to a token of that account"
    )]
    GatedNoToken { repo: String },
    #[error(
        "repository {repo} is gated and the token sent has no access: accept its terms on the model page with the token's account, or use another token"
    )]
    GatedDenied { repo: String },
    #[error("{url} answered 401 Unauthorized: set HF_TOKEN to a valid token")]
    Unauthorized { url: String },
    #[error("{url} answered 403 Forbidden: the token has no access to this resource")]
    Forbidden { url: String },
    #[error("{url} did not answer like a Hugging Face Hub (no X-Repo-Commit): check HF_ENDPOINT")]
    NotAHub { url: String },
    #[error(
        "{url} gave no ETag for the file: check HF_ENDPOINT points at a Hub or mirror that sends one"
    )]
    MissingEtag { url: String },
    #[error("{url} redirected more than {max} times: the server is misconfigured")]
    TooManyRedirects { url: String, max: u32 },
    #[error("{url} answered HTTP {status}: {hint}")]
    Status {
        url: String,
        status: u16,
        hint: &'static str,
    },
    #[error(
        "{url}: gave up after {attempts} attempts ({last}); check the network and try again (the partial download is kept and resumes)"
    )]
    RetriesExhausted {
        url: String,
        attempts: u32,
        last: String,
    },
    #[error("{url}: {reason}")]
    Network { url: String, reason: String },
    #[error(
        "{file}: got {actual} bytes, expected {expected}; the partial download was deleted, try again"
    )]
    SizeMismatch {
        file: String,
        expected: u64,
        actual: u64,
    },
    #[error(
        "{file}: sha256 {actual} does not match the Hub's etag {expected}; the download was corrupted in transit and was deleted, try again"
    )]
    EtagMismatch {
        file: String,
        expected: String,
        actual: String,
    },
    #[error(
        "cannot {action} {path} ({source}): check the cache directory exists, is writable and has space"
    )]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "repository {repo} has no GGUF file matching quantization {quant:?}; available: {}",
        list(available)
    )]
    QuantNotFound {
        repo: String,
        quant: String,
        available: Vec<String>,
    },
    #[error("repository {repo}: quantization {quant:?} matches several files ({}); name the file instead: hf:{repo}/<file>", candidates.join(", "))]
    QuantAmbiguous {
        repo: String,
        quant: String,
        candidates: Vec<String>,
    },
    #[error("repository {repo} holds several GGUF files ({}); pick one with hf:{repo}:<QUANT> or hf:{repo}/<file>", files.join(", "))]
    NoFileChosen { repo: String, files: Vec<String> },
    #[error("repository {repo}: the file listing could not be read ({reason}); check HF_ENDPOINT")]
    BadListing { repo: String, reason: String },
    #[error("split GGUF {file}: shard {missing} of the set is not in the repository")]
    MissingShard { file: String, missing: String },
    #[error(
        "{url}: plain http is allowed to loopback only; use https:// or allow insecure http explicitly"
    )]
    InsecureUrl { url: String },
    #[error(
        "{url}: a sha256 digest is required for https downloads; pass one, or opt out explicitly"
    )]
    DigestRequired { url: String },
    #[error("{url} is not a valid URL: {reason}")]
    BadUrl { url: String, reason: &'static str },
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none (the repository has no .gguf files)".to_string()
    } else {
        items.join(", ")
    }
}

impl HfError {
    /// Stable kebab-case `error_kind` narrated with this error.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::RepoNotFound { .. } => "repo-not-found",
            Self::RevisionNotFound { .. } => "revision-not-found",
            Self::EntryNotFound { .. } => "entry-not-found",
            Self::GatedNoToken { .. } | Self::GatedDenied { .. } => "gated-repo",
            Self::Unauthorized { .. } => "unauthorized",
            Self::Forbidden { .. } => "forbidden",
            Self::NotAHub { .. } => "not-a-hub",
            Self::MissingEtag { .. } => "missing-etag",
            Self::TooManyRedirects { .. } => "too-many-redirects",
            Self::Status { .. } => "http-status",
            Self::RetriesExhausted { .. } => "retries-exhausted",
            Self::Network { .. } => "network",
            Self::SizeMismatch { .. } => "size-mismatch",
            Self::EtagMismatch { .. } => "etag-mismatch",
            Self::Io { .. } => "io",
            Self::QuantNotFound { .. } => "quant-not-found",
            Self::QuantAmbiguous { .. } => "quant-ambiguous",
            Self::NoFileChosen { .. } => "no-file-chosen",
            Self::BadListing { .. } => "bad-listing",
            Self::MissingShard { .. } => "missing-shard",
            Self::InsecureUrl { .. } => "insecure-url",
            Self::DigestRequired { .. } => "digest-required",
            Self::BadUrl { .. } => "bad-url",
        }
    }

    /// True when the bytes did not match what was promised: narrated as
    /// `verify-failed` rather than `download-failed`.
    pub fn is_verification(&self) -> bool {
        matches!(self, Self::SizeMismatch { .. } | Self::EtagMismatch { .. })
    }

    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
