//! Why pulling from an OCI registry failed. No variant carries a header
//! value, a token or a credential: only names, digests and media types.
//! A leaf module (re-exported as `oci::OciError`): `error` wraps it while
//! the OCI fetcher returns `ProvisionError`, so it sits below both.

use crate::error_kind::ErrorKind;
use std::path::PathBuf;

/// Why an `oci://` model could not be pulled.
#[derive(Debug, thiserror::Error)]
pub enum OciError {
    /// The artifact holds no model layer this provisioner understands.
    #[error(
        "{reference} is not a model artifact this provisioner reads (config {config}, layers: {}); \
         push a GGUF as a Docker Model Runner, ModelPack or Ollama artifact",
        layers.join(", ")
    )]
    UnsupportedArtifact {
        /// The reference, in its public form.
        reference: String,
        /// The config media type found.
        config: String,
        /// The layer media types found.
        layers: Vec<String>,
    },
    /// The registry refused the credentials, or wants some and none are
    /// configured.
    #[error(
        "registry {registry} refused access to {repository}: add credentials for it to the Docker config \
         (~/.docker/config.json auths, or the file REGISTRY_AUTH_FILE names) and check they can pull"
    )]
    Unauthorized {
        /// The registry host.
        registry: String,
        /// The repository.
        repository: String,
    },
    /// The manifest's bytes do not hash to the digest they were pinned by
    /// (the reference's `@sha256:` or the registry's
    /// `Docker-Content-Digest`).
    #[error(
        "manifest of {reference} does not match its digest: expected {expected}, got {actual}; \
         the registry or a cache in front of it served other bytes"
    )]
    ManifestDigestMismatch {
        /// The reference, in its public form.
        reference: String,
        /// The digest it was pinned by.
        expected: String,
        /// The sha256 of the bytes received.
        actual: String,
    },
    /// The registry has no such repository, tag or digest.
    #[error("{reference} is not in the registry: check the repository and tag")]
    NotFound {
        /// The reference, in its public form.
        reference: String,
    },
    /// A manifest or index that does not parse or breaks the spec.
    #[error("{reference}: the registry sent a manifest this provisioner cannot use ({reason})")]
    BadManifest {
        /// The reference, in its public form.
        reference: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An answer the distribution API does not give.
    #[error("registry {registry} answered HTTP {status} for {what}; check the registry")]
    Status {
        /// The registry host.
        registry: String,
        /// HTTP status.
        status: u16,
        /// What was asked (`manifest`, `token`, …).
        what: &'static str,
    },
    /// The registry credentials file could not be read.
    #[error("registry credentials file {path}: {reason}")]
    AuthConfig {
        /// The file.
        path: PathBuf,
        /// What is wrong with it (never its content).
        reason: String,
    },
    /// The Docker config names a credential helper for the registry that
    /// is missing or cannot answer.
    #[error("credential helper {helper} for {registry}: {reason}")]
    CredentialHelper {
        /// The program (`docker-credential-<name>`).
        helper: String,
        /// The registry asked about.
        registry: String,
        /// What went wrong (never the helper's output).
        reason: String,
    },
    /// The local OCI layout could not be read or written.
    #[error("OCI layout {path}: cannot {what} ({source}); check the cache directory is writable")]
    Layout {
        /// The file or directory.
        path: PathBuf,
        /// What was being done.
        what: &'static str,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

impl OciError {
    /// The stable kebab-case `error_kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::UnsupportedArtifact { .. } => "unsupported-artifact",
            Self::Unauthorized { .. } => "unauthorized",
            Self::ManifestDigestMismatch { .. } => "manifest-digest-mismatch",
            Self::NotFound { .. } => "manifest-not-found",
            Self::BadManifest { .. } => "bad-manifest",
            Self::Status { .. } => "registry-status",
            Self::AuthConfig { .. } => "auth-config",
            Self::CredentialHelper { .. } => "credential-helper",
            Self::Layout { .. } => "layout-write",
        }
    }

    /// The [`ErrorKind`] a caller matches on.
    pub(crate) fn class(&self) -> ErrorKind {
        match self {
            Self::UnsupportedArtifact { .. } => ErrorKind::Unsupported,
            Self::Unauthorized { .. } => ErrorKind::Denied,
            Self::ManifestDigestMismatch { .. } => ErrorKind::DigestMismatch,
            Self::NotFound { .. } => ErrorKind::NotFound,
            Self::BadManifest { .. } | Self::Status { .. } => ErrorKind::Network,
            Self::AuthConfig { .. } | Self::CredentialHelper { .. } => ErrorKind::InvalidInput,
            Self::Layout { .. } => ErrorKind::Io,
        }
    }

    /// True for a broken digest promise (narrated as `verify-failed`).
    pub(crate) fn is_verification(&self) -> bool {
        matches!(self, Self::ManifestDigestMismatch { .. })
    }

    /// True when the failure came before any transfer: the model is not
    /// there for us (narrated as `ensure-failed`).
    pub(crate) fn is_unavailable(&self) -> bool {
        matches!(
            self,
            Self::UnsupportedArtifact { .. }
                | Self::Unauthorized { .. }
                | Self::NotFound { .. }
                | Self::AuthConfig { .. }
                | Self::CredentialHelper { .. }
        )
    }

    pub(crate) fn layout(
        what: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Self::Layout {
            path: path.into(),
            what,
            source,
        }
    }
}
