//! Typed errors of the Hugging Face fetcher. Messages name the repo, file
//! or endpoint and say what to do; no header value or token is ever part
//! of one. Network and transfer failures are [`DownloadError`]s, carried
//! by [`HfError::Transport`]. A leaf module (re-exported as
//! `hf::HfError`): `error` wraps it while the fetcher returns
//! `ProvisionError`, so it sits below both.

use crate::download::DownloadError;
use crate::error_kind::ErrorKind;
use std::path::PathBuf;

/// Why a Hub fetch failed.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum HfError {
    /// The Hub has no such repository (or it is private and no token with
    /// access was sent).
    #[error(
        "repository {repo} was not found on {endpoint}: check the name; if it is private, set HF_TOKEN to a token with access"
    )]
    RepoNotFound {
        /// `org/repo`.
        repo: String,
        /// The Hub's origin.
        endpoint: String,
    },
    /// The repository has no such branch, tag or commit.
    #[error("repository {repo} has no revision {revision:?}: check the branch, tag or commit")]
    RevisionNotFound {
        /// `org/repo`.
        repo: String,
        /// The revision asked for.
        revision: String,
    },
    /// The revision has no such file (remembered under `.no_exist/`).
    #[error(
        "repository {repo} at {revision} has no file {file:?}: check the path (list the repo's files on the Hub)"
    )]
    EntryNotFound {
        /// `org/repo`.
        repo: String,
        /// The revision asked for.
        revision: String,
        /// The path in the repository.
        file: String,
    },
    /// A gated repository, asked without a token.
    #[error(
        "repository {repo} is gated and no token was sent: accept its terms on the model page, then set HF_TOKEN (or HF_TOKEN_PATH) to a token of that account"
    )]
    GatedNoToken {
        /// `org/repo`.
        repo: String,
    },
    /// A gated repository, asked with a token that has no access.
    #[error(
        "repository {repo} is gated and the token sent has no access: accept its terms on the model page with the token's account, or use another token"
    )]
    GatedDenied {
        /// `org/repo`.
        repo: String,
    },
    /// The endpoint answered without `X-Repo-Commit`.
    #[error("{url} did not answer like a Hugging Face Hub (no X-Repo-Commit): check HF_ENDPOINT")]
    NotAHub {
        /// The URL that answered, public form.
        url: String,
    },
    /// The endpoint named a commit that is not 40 lowercase hex digits
    /// (in `X-Repo-Commit` or a listing's `sha`): refused where received,
    /// so it never names a ref or a snapshot folder.
    #[error(
        "{url} named the commit {received} (not 40 lowercase hex digits): check HF_ENDPOINT points at a Hugging Face Hub"
    )]
    BadCommit {
        /// The URL that answered, public form.
        url: String,
        /// What it sent, escaped and cut to a few dozen characters.
        received: String,
    },
    /// The endpoint answered without an etag to name the blob by.
    #[error(
        "{url} gave no ETag for the file: check HF_ENDPOINT points at a Hub or mirror that sends one"
    )]
    MissingEtag {
        /// The URL that answered, public form.
        url: String,
    },
    /// A file operation on the HF cache failed.
    #[error(
        "cannot {action} {path} ({source}): check the cache directory exists, is writable and has space"
    )]
    Io {
        /// What was being done (`create`, `write ref`, `link snapshot`).
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// No GGUF file in the repository carries the quantization.
    #[error(
        "repository {repo} has no GGUF file matching quantization {quant:?}; available: {}",
        list(available)
    )]
    QuantNotFound {
        /// `org/repo`.
        repo: String,
        /// The quantization asked for.
        quant: String,
        /// The GGUF files (first shard of each split set) there are.
        available: Vec<String>,
    },
    /// Several GGUF files carry the quantization.
    #[error(
        "repository {repo}: quantization {quant:?} matches several files ({}); name the file instead: hf:{repo}/<file>",
        summary(candidates)
    )]
    QuantAmbiguous {
        /// `org/repo`.
        repo: String,
        /// The quantization asked for.
        quant: String,
        /// The files that match.
        candidates: Vec<String>,
    },
    /// No file and no quantization named, and not exactly one GGUF there.
    #[error("{}", no_file_chosen(repo, files))]
    NoFileChosen {
        /// `org/repo`.
        repo: String,
        /// The GGUF files there are.
        files: Vec<String>,
    },
    /// The listing API answered something unreadable.
    #[error("repository {repo}: the file listing could not be read ({reason}); check HF_ENDPOINT")]
    BadListing {
        /// `org/repo`.
        repo: String,
        /// What was wrong with it.
        reason: String,
    },
    /// A split GGUF set lacks one of its shards.
    #[error("split GGUF {file}: shard {missing} of the set is not in the repository")]
    MissingShard {
        /// The first shard.
        file: String,
        /// The shard that is not there.
        missing: String,
    },
    /// A cached blob is not what its etag (its file name) promises.
    #[error(
        "{path}: the cached bytes hash to {found}, not to {etag} as the Hub's etag (the blob's name) promises; the cache was changed outside this tool: run online to download it again"
    )]
    BlobMismatch {
        /// The snapshot link.
        path: PathBuf,
        /// The etag: the sha256 or git blob id promised.
        etag: String,
        /// The same hash of the bytes found.
        found: String,
    },
    /// A request or transfer failed: network, HTTP status, bytes that did
    /// not verify, the blob lock.
    #[error(transparent)]
    Transport(#[from] DownloadError),
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none (the repository has no .gguf files)".to_string()
    } else {
        summary(items)
    }
}

/// How many names an error line lists before it summarises the rest.
const LISTED: usize = 8;

/// The first few names and "… and N more": an error line stays one
/// readable line however many files a repository lists.
pub(crate) fn summary(items: &[String]) -> String {
    let shown: Vec<String> = items.iter().take(LISTED).map(|i| bounded(i)).collect();
    match items.len().saturating_sub(LISTED) {
        0 => shown.join(", "),
        more => format!("{}, … and {more} more", shown.join(", ")),
    }
}

/// A value received from outside, for an error line: control characters
/// escaped, cut at 64 characters.
pub(crate) fn bounded(text: &str) -> String {
    let escaped: String = text.chars().flat_map(char::escape_debug).collect();
    match escaped.char_indices().nth(64) {
        Some((cut, _)) => format!("{}…", &escaped[..cut]),
        None => escaped,
    }
}

fn no_file_chosen(repo: &str, files: &[String]) -> String {
    if files.is_empty() {
        format!(
            "repository {repo} holds no GGUF file: check the repository, or name a file with hf:{repo}/<file>"
        )
    } else {
        format!(
            "repository {repo} holds several GGUF files ({}); pick one with hf:{repo}:<QUANT> or hf:{repo}/<file>",
            summary(files)
        )
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
            Self::NotAHub { .. } => "not-a-hub",
            Self::BadCommit { .. } => "bad-commit",
            Self::MissingEtag { .. } => "missing-etag",
            Self::Io { .. } => "io",
            Self::QuantNotFound { .. } => "quant-not-found",
            Self::QuantAmbiguous { .. } => "quant-ambiguous",
            Self::NoFileChosen { .. } => "no-file-chosen",
            Self::BadListing { .. } => "bad-listing",
            Self::MissingShard { .. } => "missing-shard",
            Self::BlobMismatch { .. } => "digest-mismatch",
            Self::Transport(e) => e.kind(),
        }
    }

    /// The kind a caller matches on.
    pub(crate) fn class(&self) -> ErrorKind {
        match self {
            Self::RepoNotFound { .. }
            | Self::RevisionNotFound { .. }
            | Self::EntryNotFound { .. }
            | Self::QuantNotFound { .. }
            | Self::MissingShard { .. } => ErrorKind::NotFound,
            Self::GatedNoToken { .. } | Self::GatedDenied { .. } => ErrorKind::Denied,
            Self::NotAHub { .. }
            | Self::BadCommit { .. }
            | Self::QuantAmbiguous { .. }
            | Self::NoFileChosen { .. } => ErrorKind::InvalidInput,
            Self::MissingEtag { .. } | Self::BadListing { .. } => ErrorKind::Network,
            Self::Io { .. } => ErrorKind::Io,
            Self::BlobMismatch { .. } => ErrorKind::DigestMismatch,
            Self::Transport(e) => e.class(),
        }
    }

    /// True when choosing the files failed (quantization not found or
    /// ambiguous, no file chosen, a missing shard): the reference is
    /// wrong for this repository, nothing was downloaded.
    pub fn is_selection(&self) -> bool {
        matches!(
            self,
            Self::QuantNotFound { .. }
                | Self::QuantAmbiguous { .. }
                | Self::NoFileChosen { .. }
                | Self::MissingShard { .. }
        )
    }

    /// True when bytes did not verify: a cached blob against its etag, or
    /// a transfer against its digest or size.
    pub fn is_verification(&self) -> bool {
        match self {
            Self::BlobMismatch { .. } => true,
            Self::Transport(e) => e.is_verification(),
            _ => false,
        }
    }

    /// The download layer's error, when a request or transfer failed.
    pub fn download(&self) -> Option<&DownloadError> {
        match self {
            Self::Transport(e) => Some(e),
            _ => None,
        }
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
