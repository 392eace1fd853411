//! What an ensure hands back, and what a caller may pass to it.

use crate::cancel::Cancel;
use crate::digest::Digest;
use crate::gguf::GgufSummary;
use crate::progress::ProgressObserver;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;

/// How a model's digest was established in this ensure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verification {
    /// The file was hashed now.
    Hashed,
    /// The fetcher hashed the bytes as it wrote them.
    InFlight,
    /// The catalog's verified fingerprint matched: no hashing.
    Fingerprint,
}

impl Verification {
    /// How this verification established the digest, for people.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Hashed => "sha256 computed now",
            Self::InFlight => "sha256 computed while downloading",
            Self::Fingerprint => "unchanged since last verified (catalog fingerprint)",
        }
    }
}

/// A model ready for an engine: where it is and what it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedModel {
    /// The normalized model ref id ([`ModelRef::id`](crate::ModelRef::id)):
    /// the catalog key and the narration target.
    pub id: String,
    /// The verified local file.
    pub local_path: PathBuf,
    /// Its sha256.
    pub digest: Digest,
    /// Its size.
    pub size_bytes: u64,
    /// What its GGUF header says.
    pub gguf: GgufSummary,
    /// Where the bytes came from: the local path, the URL without
    /// credentials, or `hf:org/repo@commit/file`.
    pub source: String,
    /// How the digest was established in this ensure.
    pub verification: Verification,
}

/// Per-call context for
/// [`ModelProvisioner::ensure_present_with`](crate::ModelProvisioner::ensure_present_with).
#[derive(Clone, Default)]
pub struct EnsureOptions {
    /// Correlation id carried on every narration; generated when `None`.
    pub correlation_id: Option<String>,
    /// The pool the model is for, carried on every narration.
    pub pool_id: Option<String>,
    /// Cancels the ensure: it then returns
    /// [`ProvisionError::Cancelled`](crate::ProvisionError::Cancelled)
    /// promptly, keeping its partial download for the next ensure.
    pub cancel: Cancel,
    /// Receives typed [`Progress`](crate::Progress) reports.
    pub progress: Option<Arc<dyn ProgressObserver>>,
}

impl std::fmt::Debug for EnsureOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnsureOptions")
            .field("correlation_id", &self.correlation_id)
            .field("pool_id", &self.pool_id)
            .field("cancel", &self.cancel)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}
