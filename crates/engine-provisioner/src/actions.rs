//! The words this crate narrates: its actor, `engine-provisioner`, and
//! every action, with the level it is emitted at. `specs/narration-events.md`
//! lists the same rows; a workspace test holds the two together.

narration_core::vocabulary! {
    /// Actions of `engine-provisioner`.
    actor "engine-provisioner";
    /// No provider exists for the pool's engine.
    PROVIDER_FAILED = "provider-failed", Error;
    /// The pool configuration is invalid, or its ref/repo is refused before any
    /// process (`invalid-ref`, `invalid-repo`, `invalid-config`,
    /// `missing-config`).
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
    /// `git-submodule`, `ref-not-found`).
    GIT_FAILED = "git-failed", Error;
    /// `external` mode: running the configured binary's `--version` (again
    /// with `engine_version` and `duration_ms` when it answered).
    BINARY_CHECK = "binary-check", Info;
    /// `external` mode: the binary is missing, not executable, or its
    /// `--version` failed or timed out (`binary-check`).
    BINARY_CHECK_FAILED = "binary-check-failed", Error;
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
