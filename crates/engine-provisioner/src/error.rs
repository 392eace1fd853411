//! The provisioner's typed errors. Each knows the failure narration it is
//! reported with ([`ProvisionError::action`]), its `error_kind` string
//! ([`ProvisionError::error_kind`]) and the [`ErrorKind`] a program
//! matches on ([`ProvisionError::kind`]): this is the one place those
//! mappings live.

use crate::actions as ev;
use crate::config::ConfigError;
use crate::toolchain::MissingTool;
use std::path::PathBuf;
use verified_download::ErrorKind;

/// The git command that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GitStep {
    /// `git clone`.
    Clone,
    /// `git fetch` of the one ref needed.
    Fetch,
    /// `git checkout --detach`.
    Checkout,
    /// `git submodule update`.
    Submodule,
    /// `git rev-parse` resolving a ref (fails only when git cannot run).
    RevParse,
}

impl GitStep {
    /// The git subcommand.
    pub fn as_str(self) -> &'static str {
        match self {
            GitStep::Clone => "clone",
            GitStep::Fetch => "fetch",
            GitStep::Checkout => "checkout",
            GitStep::Submodule => "submodule",
            GitStep::RevParse => "rev-parse",
        }
    }

    /// The `error_kind` of a failure in this step (also the step named
    /// when a cancel stops it).
    pub(crate) fn error_kind(self) -> &'static str {
        match self {
            GitStep::Clone => "git-clone",
            GitStep::Fetch => "git-fetch",
            GitStep::Checkout => "git-checkout",
            GitStep::Submodule => "git-submodule",
            GitStep::RevParse => "git-rev-parse",
        }
    }
}

impl std::fmt::Display for GitStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything that can stop `plan` or `ensure`. Match on
/// [`ProvisionError::kind`] (new variants may be added).
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    /// The pool config failed validation.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A required config section is absent.
    #[error("pool {pool_id}: `{key}` is required for engine llamacpp: {hint}")]
    MissingSection {
        /// The pool.
        pool_id: String,
        /// The missing key.
        key: &'static str,
        /// What to add.
        hint: &'static str,
    },
    /// The engine parses but has no provider.
    #[error(
        "pool {pool_id}: engine {engine:?} is not supported yet; only \"llamacpp\" can be provisioned"
    )]
    Unsupported {
        /// The pool.
        pool_id: String,
        /// The engine named.
        engine: &'static str,
    },
    /// The pool's provisioning mode parses but has no provider (or a plan
    /// made for one mode was handed to another mode's provider).
    #[error(
        "pool {pool_id}: provisioning mode {mode:?} is not supported yet; set `provisioning.mode` to \"source\" (build from git), \"binary\" (a release archive) or \"external\" (an installed llama-server)"
    )]
    UnsupportedMode {
        /// The pool.
        pool_id: String,
        /// The mode named.
        mode: &'static str,
    },
    /// The `external` mode's binary is missing, not executable, or failed
    /// its `--version` check.
    #[error(
        "pool {pool_id}: `provisioning.external.binary` {binary}: {problem}; point it at a working llama-server (an absolute path or a name on PATH)"
    )]
    ExternalBinary {
        /// The pool.
        pool_id: String,
        /// The binary as configured (or resolved).
        binary: String,
        /// What is wrong with it.
        problem: String,
    },
    /// `binary` mode: the archive could not be downloaded, or its bytes
    /// are not the expected ones (`digest-mismatch`: nothing installed).
    #[error("pool {pool_id}: `provisioning.binary.url` {url}: {source}")]
    BinaryDownload {
        /// The pool.
        pool_id: String,
        /// The archive's URL, without credentials.
        url: String,
        /// The download layer's error (boxed: it is large).
        #[source]
        source: Box<model_provisioner::ProvisionError>,
    },
    /// `binary` mode: the archive at an `https`/`http` URL could not be
    /// downloaded, or its bytes are not the expected ones.
    #[error("pool {pool_id}: `provisioning.binary.url` {url}: {source}")]
    ArchiveDownload {
        /// The pool.
        pool_id: String,
        /// The archive's URL, without credentials.
        url: String,
        /// What the download layer said (boxed: it is large).
        #[source]
        source: Box<verified_download::DownloadError>,
    },
    /// `binary` mode: the archive was refused while unpacking (an unsafe
    /// entry, over a limit, not an archive, no `llama-server`); nothing
    /// was installed.
    #[error(
        "pool {pool_id}: the archive of `provisioning.binary.url` {url} was refused: {source}; nothing was installed"
    )]
    Archive {
        /// The pool.
        pool_id: String,
        /// The archive's URL, without credentials.
        url: String,
        /// Which entry, and why.
        #[source]
        source: crate::archive::ArchiveError,
    },
    /// `binary` mode: the unpacked `llama-server` failed its `--version`
    /// check; nothing was installed.
    #[error(
        "pool {pool_id}: the llama-server of `provisioning.binary.url` {url} ({binary}): {problem}; nothing was installed: use an archive built for this system, with its shared libraries beside the binary"
    )]
    ArchiveBinary {
        /// The pool.
        pool_id: String,
        /// The archive's URL, without credentials.
        url: String,
        /// The binary's path inside the archive.
        binary: String,
        /// What `--version` said.
        problem: String,
    },
    /// Build tools are missing (all of them listed).
    #[error("{}", crate::toolchain::describe_missing(missing, note))]
    MissingTools {
        /// Every missing tool.
        missing: Vec<MissingTool>,
        /// Why no automatic install happened, or how it failed.
        note: Option<String>,
    },
    /// A git command failed.
    #[error(
        "git {step} failed for {repo} (ref {git_ref}): {detail}\nCheck that the repository is reachable and the ref exists; see {log}"
    )]
    Git {
        /// Which git command.
        step: GitStep,
        /// The repository, without credentials.
        repo: String,
        /// The ref.
        git_ref: String,
        /// Exit status (or spawn error) and the last lines of its output.
        detail: String,
        /// Where git's output is.
        log: PathBuf,
    },
    /// The ref does not exist in the repository.
    #[error(
        "ref {git_ref:?} was not found in {repo}: use an existing tag, branch or full commit id"
    )]
    RefNotFound {
        /// The repository, without credentials.
        repo: String,
        /// The ref.
        git_ref: String,
    },
    /// CMake configure failed (after the retry, for CUDA builds).
    #[error("cmake configure failed{}: {status}\n{tail}\n{advice}\nFull log: {log}", if *cuda { " for the CUDA build" } else { "" })]
    CmakeConfigure {
        /// Whether CUDA was requested.
        cuda: bool,
        /// Exit status.
        status: String,
        /// CMake's error tail.
        tail: String,
        /// What to do next.
        advice: String,
        /// The build log.
        log: PathBuf,
    },
    /// `cmake --build` failed.
    #[error("building llama-server failed: {status}\n{tail}\nFull log: {log}")]
    Build {
        /// Exit status.
        status: String,
        /// Last lines of the build output.
        tail: String,
        /// The build log.
        log: PathBuf,
    },
    /// The build succeeded but left no binary.
    #[error("the build finished but {path} does not exist; check the build log {log}")]
    BinaryMissing {
        /// Where the binary should be.
        path: PathBuf,
        /// The build log.
        log: PathBuf,
    },
    /// Another ensure held the cache dir's build lock past the timeout.
    #[error(transparent)]
    LockTimeout(verified_download::file_lock::LockError),
    /// A file in the cache dir could not be read or written.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// model-provisioner could not provide the model; its `error_kind`
    /// (`digest-mismatch`, `offline-miss`, …) is this error's kind.
    #[error("model {model_ref} for pool {pool_id}: {source}")]
    Model {
        /// The pool.
        pool_id: String,
        /// The model reference's public id.
        model_ref: String,
        /// model-provisioner's error (boxed: it is large, and every
        /// `Result` here would carry its size).
        #[source]
        source: Box<model_provisioner::ProvisionError>,
    },
    /// The caller cancelled the ensure; child processes were killed and the
    /// build dir kept, so the next ensure carries on.
    #[error("provisioning pool {pool_id} was cancelled during {step}; the next ensure carries on")]
    Cancelled {
        /// The pool.
        pool_id: String,
        /// The step it stopped in (`lock-wait`, `git-clone`, `cmake-build`, …).
        step: &'static str,
    },
    /// Not even an ephemeral port could be bound on loopback.
    #[error("no free port on 127.0.0.1 for pool {pool_id}: {source}")]
    Port {
        /// The pool.
        pool_id: String,
        /// The bind error.
        #[source]
        source: std::io::Error,
    },
}

impl ProvisionError {
    /// The failure action narrated for this error.
    pub fn action(&self) -> &'static str {
        use ProvisionError::*;
        match self {
            Config(_) | MissingSection { .. } => ev::CONFIG_FAILED,
            Unsupported { .. } | UnsupportedMode { .. } => ev::PROVIDER_FAILED,
            ExternalBinary { .. } | ArchiveBinary { .. } => ev::BINARY_CHECK_FAILED,
            BinaryDownload { source, .. } if source.kind() == ErrorKind::DigestMismatch => {
                ev::VERIFY_FAILED
            }
            BinaryDownload { .. } => ev::BINARY_DOWNLOAD_FAILED,
            ArchiveDownload { source, .. } if source.is_verification() => ev::VERIFY_FAILED,
            ArchiveDownload { .. } => ev::BINARY_DOWNLOAD_FAILED,
            Archive { .. } => ev::UNPACK_FAILED,
            MissingTools { .. } => ev::PREFLIGHT_FAILED,
            Git { .. } | RefNotFound { .. } => ev::GIT_FAILED,
            CmakeConfigure { .. } => ev::CMAKE_FAILED,
            Build { .. } | BinaryMissing { .. } => ev::BUILD_FAILED,
            Io { .. } | LockTimeout(_) => ev::CACHE_FAILED,
            Model { .. } => ev::MODEL_FAILED,
            Port { .. } => ev::PORT_FAILED,
            Cancelled { .. } => ev::CANCELLED,
        }
    }

    /// A short, stable `error_kind` string, as narrated.
    pub fn error_kind(&self) -> &'static str {
        use ProvisionError::*;
        match self {
            Config(_) => "invalid-config",
            MissingSection { .. } => "missing-config",
            Unsupported { .. } => "unsupported-engine",
            UnsupportedMode { .. } => "unsupported-mode",
            ExternalBinary { .. } | ArchiveBinary { .. } => "binary-check",
            BinaryDownload { source, .. } => source.error_kind(),
            ArchiveDownload { source, .. } => source.kind(),
            Archive { source, .. } => source.kind_str(),
            MissingTools { .. } => "missing-tools",
            Git { step, .. } => step.error_kind(),
            RefNotFound { .. } => "ref-not-found",
            CmakeConfigure { cuda: true, .. } => "cuda-configure",
            CmakeConfigure { cuda: false, .. } => "cmake-configure",
            Build { .. } => "build",
            BinaryMissing { .. } => "binary-missing",
            Io { .. } => "cache-io",
            LockTimeout(_) => "lock-timeout",
            Model { source, .. } => source.error_kind(),
            Port { .. } => "port",
            Cancelled { .. } => "cancelled",
        }
    }
}

impl ProvisionError {
    /// What kind of failure this is, in the one enum model-provisioner's
    /// errors use too (a model failure is its model error's kind), so an
    /// orchestrator decides what to do next with one `match`:
    /// [`ErrorKind::is_retryable`] says whether trying again may help.
    pub fn kind(&self) -> ErrorKind {
        use ProvisionError::*;
        match self {
            Config(_) | MissingSection { .. } => ErrorKind::InvalidInput,
            Unsupported { .. } | UnsupportedMode { .. } => ErrorKind::Unsupported,
            ExternalBinary { .. } | ArchiveBinary { .. } => ErrorKind::Toolchain,
            BinaryDownload { source, .. } => source.kind(),
            ArchiveDownload { source, .. } => source.class(),
            Archive { source, .. } => match source {
                crate::archive::ArchiveError::Io { .. } => ErrorKind::Io,
                crate::archive::ArchiveError::Cancelled => ErrorKind::Cancelled,
                _ => ErrorKind::InvalidInput,
            },
            MissingTools { .. } => ErrorKind::Toolchain,
            // Clone, fetch and submodule updates talk to the remote.
            Git {
                step: GitStep::Clone | GitStep::Fetch | GitStep::Submodule,
                ..
            } => ErrorKind::Network,
            // A checkout failing is the local clone or disk; rev-parse
            // fails only when git cannot run.
            Git {
                step: GitStep::Checkout,
                ..
            } => ErrorKind::Io,
            Git {
                step: GitStep::RevParse,
                ..
            } => ErrorKind::Toolchain,
            RefNotFound { .. } => ErrorKind::NotFound,
            CmakeConfigure { .. } | Build { .. } | BinaryMissing { .. } => ErrorKind::Build,
            LockTimeout(_) => ErrorKind::Locked,
            Io { .. } | Port { .. } => ErrorKind::Io,
            Model { source, .. } => source.kind(),
            Cancelled { .. } => ErrorKind::Cancelled,
        }
    }

    /// The caller cancelled `pool_id`'s ensure during `step`.
    pub(crate) fn cancelled(pool_id: &str, step: &'static str) -> Self {
        ProvisionError::Cancelled {
            pool_id: pool_id.to_string(),
            step,
        }
    }
}

/// Shorthand for results in this crate.
pub type Result<T, E = ProvisionError> = std::result::Result<T, E>;
