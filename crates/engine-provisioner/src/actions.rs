//! The words this crate narrates: its actor, `engine-provisioner`, and
//! every action, with the level it is emitted at. `specs/narration-events.md`
//! lists the same rows; a workspace test holds the two together.

narration_core::vocabulary! {
    /// Actions of `engine-provisioner`.
    actor "engine-provisioner";
    /// No provider exists for the pool's engine.
    PROVIDER_FAILED = "provider-failed", Error;
    /// The pool configuration is invalid: TOML, a type, or a value refused
    /// before any process (`invalid-config`, naming the key); a section the
    /// mode needs is absent (`missing-config`).
    CONFIG_FAILED = "config-failed", Error;
    /// Provisioning of a pool begins.
    START = "start", Info;
    /// Another process holds the build lock of the cache dir; waiting.
    LOCK_WAIT = "lock-wait", Info;
    /// Checking the required tools.
    PREFLIGHT = "preflight", Info;
    /// Installing missing tools through apt-get/dnf/pacman
    /// (`allow_package_installs` and root only).
    PACKAGE_INSTALL = "package-install", Info;
    /// Required tools are missing (all listed, with install hints;
    /// `missing-tools`).
    PREFLIGHT_FAILED = "preflight-failed", Error;
    /// Cloning the source repository (again with `duration_ms` when done);
    /// credentials masked.
    GIT_CLONE = "git-clone", Info;
    /// Fetching a ref that is not present locally.
    GIT_FETCH = "git-fetch", Info;
    /// Checking out the ref detached, or finding the checkout already there (no
    /// git process).
    GIT_CHECKOUT = "git-checkout", Info;
    /// A git step failed (`git-clone`, `git-fetch`, `git-checkout`,
    /// `git-submodule`, `git-rev-parse`, `ref-not-found`).
    GIT_FAILED = "git-failed", Error;
    /// `external` and `binary` modes: running the binary's `--version`
    /// (again with `engine_version` and `duration_ms` when it answered).
    BINARY_CHECK = "binary-check", Info;
    /// `external` and `binary` modes: the binary is missing, not
    /// executable, or its `--version` failed or timed out (`binary-check`).
    BINARY_CHECK_FAILED = "binary-check-failed", Error;
    /// `binary` mode: downloading the release archive (URL without
    /// credentials); the transfer's own progress follows.
    BINARY_DOWNLOAD = "binary-download", Info;
    /// `binary` mode: bytes of the archive so far (`bytes`; at most once a
    /// second, `https`/`http` URLs).
    BINARY_DOWNLOAD_PROGRESS = "binary-download-progress", Info;
    /// `binary` mode: a transient download failure; retrying after a
    /// back-off.
    BINARY_DOWNLOAD_RETRY = "binary-download-retry", Warn;
    /// `binary` mode: the archive is on disk (`bytes`, `duration_ms`).
    BINARY_DOWNLOADED = "binary-downloaded", Info;
    /// `binary` mode: the archive could not be downloaded (the download
    /// layer's `error_kind`: `network`, `http-status`, …).
    BINARY_DOWNLOAD_FAILED = "binary-download-failed", Error;
    /// `binary` mode: the archive's sha256 matched (computed while it
    /// arrived, or checked on the file already downloaded).
    VERIFY = "verify", Info;
    /// `binary` mode: the archive's sha256 is not the expected one
    /// (`digest-mismatch`); nothing is installed.
    VERIFY_FAILED = "verify-failed", Error;
    /// `binary` mode: unpacking the archive into a temporary folder (again
    /// with `bytes` and `duration_ms` when done).
    UNPACK = "unpack", Info;
    /// `binary` mode: the archive was refused (`unsafe-archive`,
    /// `archive-too-large`, `not-an-archive`, `no-binary`); nothing is
    /// installed.
    UNPACK_FAILED = "unpack-failed", Error;
    /// `binary` mode: the checked install was renamed into place under its
    /// archive's sha256 (`duration_ms`).
    INSTALLED = "installed", Info;
    /// `binary` mode: the install is already there and its binary unchanged
    /// (size and mtime); no network, no process.
    INSTALL_CACHED = "install-cached", Info;
    /// The build stamp matches (commit, CMake definitions, compilers);
    /// configure and build skipped (`duration_ms`).
    BUILD_CACHED = "build-cached", Info;
    /// Configuring the build.
    CMAKE_CONFIGURE = "cmake-configure", Info;
    /// Retrying configure with a compatible host compiler.
    CMAKE_RETRY = "cmake-retry", Warn;
    /// Configure failed, after the one retry for CUDA (`cmake-configure`,
    /// `cuda-configure`); quotes the CMake error.
    CMAKE_FAILED = "cmake-failed", Error;
    /// Building the binary.
    CMAKE_BUILD = "cmake-build", Info;
    /// The binary was built and the stamp written (`duration_ms`).
    BUILT = "built", Info;
    /// The build failed or left no binary (`build`, `binary-missing`); quotes
    /// the log's last lines.
    BUILD_FAILED = "build-failed", Error;
    /// The cache dir, its lock or the build stamp could not be written
    /// (`cache-io`).
    CACHE_FAILED = "cache-failed", Error;
    /// The pool's model could not be provisioned.
    MODEL_FAILED = "model-failed", Error;
    /// No free port could be found.
    PORT_FAILED = "port-failed", Error;
    /// The caller cancelled the ensure (`error_kind` `cancelled`, the step
    /// it stopped in); child processes were killed, the build dir kept.
    CANCELLED = "cancelled", Warn;
    /// The engine is prepared (`duration_ms`, `engine_version`).
    COMPLETE = "complete", Info;
}
