//! The action catalog: every (actor, action) a provisioner may narrate.
//!
//! `specs/narration-events.md` mirrors this module; a test fails when the
//! two differ.

/// Actions of `model-provisioner`.
pub mod model {
    /// The actor name these actions are narrated under.
    pub const ACTOR: &str = "model-provisioner";
    /// Starting to parse a model reference.
    pub const RESOLVE: &str = "resolve";
    /// Ensuring the model is present locally.
    pub const ENSURE: &str = "ensure";
    /// Starting a download.
    pub const DOWNLOAD: &str = "download";
    /// An OCI manifest was fetched and its digest pinned (format and
    /// layers named).
    pub const MANIFEST: &str = "manifest";
    /// The download finished.
    pub const DOWNLOADED: &str = "downloaded";
    /// The download failed for good.
    pub const DOWNLOAD_FAILED: &str = "download-failed";
    /// Bytes received so far in a transfer (at a bounded rate).
    pub const DOWNLOAD_PROGRESS: &str = "download-progress";
    /// A transient transfer failure; retrying after `backoff_ms`.
    pub const DOWNLOAD_RETRY: &str = "download-retry";
    /// The Hub stayed unreachable: the cached snapshot is used instead.
    pub const DOWNLOAD_FALLBACK: &str = "download-fallback";
    /// Another process holds the file's lock; waiting for it.
    pub const LOCK_WAIT: &str = "lock-wait";
    /// Another process holds the catalog's write lock; a write waits for
    /// it (once, after about a second).
    pub const CATALOG_WAIT: &str = "catalog-wait";
    /// Starting the digest check (`bytes`: file size when hashing).
    pub const VERIFY: &str = "verify";
    /// The digest is established and matches any expected one (`bytes` hashed,
    /// `duration_ms`).
    pub const VERIFIED: &str = "verified";
    /// The digest does not match, or the file could not be hashed or changed
    /// while hashed.
    pub const VERIFY_FAILED: &str = "verify-failed";
    /// A cached blob is not what the Hub's etag promises: moved aside
    /// (`.corrupt`) and downloaded again; the run goes on.
    pub const VERIFY_WARNING: &str = "verify-warning";
    /// The model is ready (`duration_ms`, `bytes` = model size).
    pub const COMPLETE: &str = "complete";
    /// The model reference could not be parsed.
    pub const RESOLVE_FAILED: &str = "resolve-failed";
    /// The model is not available (missing file, no fetcher, offline miss).
    pub const ENSURE_FAILED: &str = "ensure-failed";
    /// A verified fingerprint matched: hashing was skipped.
    pub const CACHE_HIT: &str = "cache-hit";
    /// The file is not a GGUF model.
    pub const INSPECT_FAILED: &str = "inspect-failed";
    /// The file is a GGUF model with something this reader cannot check,
    /// such as a tensor type it does not know (`unknown-tensor-type`).
    pub const INSPECT_WARNING: &str = "inspect-warning";
    /// The catalog row was written.
    pub const REGISTER: &str = "register";
    /// The catalog or the provenance log could not be written.
    pub const REGISTER_FAILED: &str = "register-failed";
    /// The engine handoff file was written.
    pub const HANDOFF: &str = "handoff";
    /// The handoff file could not be written.
    pub const HANDOFF_FAILED: &str = "handoff-failed";
    /// Cache pruning removed a model file (`bytes` freed).
    pub const PRUNE: &str = "prune";
    /// Cache pruning could not remove a file; the entry is kept.
    pub const PRUNE_FAILED: &str = "prune-failed";
    /// Removing or pruning a model: a link points outside the repo's own
    /// `blobs/` folder; the link was deleted, the file it names kept.
    pub const DELETE_WARNING: &str = "delete-warning";
    /// The caller cancelled the ensure (`error_kind` `cancelled`, the step
    /// it stopped in); the partial download is kept for the next ensure.
    pub const CANCELLED: &str = "cancelled";

    /// Publishing a verified model to an OCI registry began.
    pub const PUSH: &str = "push";
    /// One blob of a push: uploaded, or skipped because the registry has it
    /// (`bytes`).
    pub const PUSH_BLOB: &str = "push-blob";
    /// The push finished: the manifest is under its tag (`bytes` uploaded,
    /// `duration_ms`).
    pub const PUSHED: &str = "pushed";
    /// The push failed (`error_kind`).
    pub const PUSH_FAILED: &str = "push-failed";

    /// Every action, in lifecycle order.
    pub const ALL: &[&str] = &[
        RESOLVE,
        RESOLVE_FAILED,
        ENSURE,
        ENSURE_FAILED,
        MANIFEST,
        DOWNLOAD,
        DOWNLOAD_PROGRESS,
        DOWNLOAD_RETRY,
        DOWNLOAD_FALLBACK,
        LOCK_WAIT,
        DOWNLOADED,
        DOWNLOAD_FAILED,
        VERIFY,
        CACHE_HIT,
        VERIFIED,
        VERIFY_FAILED,
        VERIFY_WARNING,
        INSPECT_FAILED,
        INSPECT_WARNING,
        CATALOG_WAIT,
        REGISTER,
        REGISTER_FAILED,
        COMPLETE,
        HANDOFF,
        HANDOFF_FAILED,
        PRUNE,
        PRUNE_FAILED,
        DELETE_WARNING,
        CANCELLED,
        PUSH,
        PUSH_BLOB,
        PUSHED,
        PUSH_FAILED,
    ];
}

/// Actions of `engine-provisioner`.
pub mod engine {
    /// The actor name these actions are narrated under.
    pub const ACTOR: &str = "engine-provisioner";
    /// Provisioning of a pool begins.
    pub const START: &str = "start";
    /// Checking the required tools.
    pub const PREFLIGHT: &str = "preflight";
    /// Cloning the source repository (again with `duration_ms` when done);
    /// credentials masked.
    pub const GIT_CLONE: &str = "git-clone";
    /// Checking out the ref detached, or finding the checkout already there (no
    /// git process).
    pub const GIT_CHECKOUT: &str = "git-checkout";
    /// `external` and `binary` modes: running the binary's `--version`
    /// (again with `engine_version` and `duration_ms` when it answered).
    pub const BINARY_CHECK: &str = "binary-check";
    /// `external` and `binary` modes: the binary is missing, not
    /// executable, or its `--version` failed or timed out (`binary-check`).
    pub const BINARY_CHECK_FAILED: &str = "binary-check-failed";
    /// `binary` mode: downloading the release archive (URL without
    /// credentials); the transfer's own progress follows.
    pub const BINARY_DOWNLOAD: &str = "binary-download";
    /// `binary` mode: bytes of the archive so far (`bytes`; at most once a
    /// second, `https`/`http` URLs).
    pub const BINARY_DOWNLOAD_PROGRESS: &str = "binary-download-progress";
    /// `binary` mode: a transient download failure; retrying after a
    /// back-off.
    pub const BINARY_DOWNLOAD_RETRY: &str = "binary-download-retry";
    /// `binary` mode: the archive is on disk (`bytes`, `duration_ms`).
    pub const BINARY_DOWNLOADED: &str = "binary-downloaded";
    /// `binary` mode: the archive could not be downloaded (the download
    /// layer's `error_kind`: `network`, `http-status`, …).
    pub const BINARY_DOWNLOAD_FAILED: &str = "binary-download-failed";
    /// `binary` mode: the archive's sha256 matched (computed while it
    /// arrived, or checked on the file already downloaded).
    pub const VERIFY: &str = "verify";
    /// `binary` mode: the archive's sha256 is not the expected one
    /// (`digest-mismatch`); nothing is installed.
    pub const VERIFY_FAILED: &str = "verify-failed";
    /// `binary` mode: unpacking the archive into a temporary folder
    /// (again with `bytes` and `duration_ms` when done).
    pub const UNPACK: &str = "unpack";
    /// `binary` mode: the archive was refused (`unsafe-archive`,
    /// `archive-too-large`, `not-an-archive`, `no-binary`); nothing is
    /// installed.
    pub const UNPACK_FAILED: &str = "unpack-failed";
    /// `binary` mode: the checked install was renamed into place under
    /// its archive's sha256 (`duration_ms`).
    pub const INSTALLED: &str = "installed";
    /// `binary` mode: the install is already there and its binary
    /// unchanged (size and mtime); no network, no process.
    pub const INSTALL_CACHED: &str = "install-cached";
    /// Configuring the build.
    pub const CMAKE_CONFIGURE: &str = "cmake-configure";
    /// Retrying configure with a compatible host compiler.
    pub const CMAKE_RETRY: &str = "cmake-retry";
    /// Configure failed, after the one retry for CUDA (`cmake-configure`,
    /// `cuda-configure`); quotes the CMake error.
    pub const CMAKE_FAILED: &str = "cmake-failed";
    /// Building the binary.
    pub const CMAKE_BUILD: &str = "cmake-build";
    /// The engine is prepared (`duration_ms`, `engine_version`).
    pub const COMPLETE: &str = "complete";
    /// No provider exists for the pool's engine.
    pub const PROVIDER_FAILED: &str = "provider-failed";
    /// The pool configuration is invalid, or its ref/repo is refused before any
    /// process (`invalid-ref`, `invalid-repo`, `invalid-config`,
    /// `missing-config`).
    pub const CONFIG_FAILED: &str = "config-failed";
    /// Required tools are missing (all listed, with install hints;
    /// `missing-tools`).
    pub const PREFLIGHT_FAILED: &str = "preflight-failed";
    /// Installing missing tools through apt-get/dnf/pacman
    /// (`allow_package_installs` and root only).
    pub const PACKAGE_INSTALL: &str = "package-install";
    /// Fetching a ref that is not present locally.
    pub const GIT_FETCH: &str = "git-fetch";
    /// A git step failed (`git-clone`, `git-fetch`, `git-checkout`,
    /// `git-submodule`, `ref-not-found`).
    pub const GIT_FAILED: &str = "git-failed";
    /// The build stamp matches (commit, CMake definitions, compilers);
    /// configure and build skipped (`duration_ms`).
    pub const BUILD_CACHED: &str = "build-cached";
    /// The binary was built and the stamp written (`duration_ms`).
    pub const BUILT: &str = "built";
    /// The build failed or left no binary (`build`, `binary-missing`); quotes
    /// the log's last lines.
    pub const BUILD_FAILED: &str = "build-failed";
    /// The cache dir, its lock or the build stamp could not be written
    /// (`cache-io`).
    pub const CACHE_FAILED: &str = "cache-failed";
    /// Another process holds the build lock of the cache dir; waiting.
    pub const LOCK_WAIT: &str = "lock-wait";
    /// The pool's model could not be provisioned.
    pub const MODEL_FAILED: &str = "model-failed";
    /// No free port could be found.
    pub const PORT_FAILED: &str = "port-failed";
    /// The caller cancelled the ensure (`error_kind` `cancelled`, the step
    /// it stopped in); child processes were killed, the build dir kept.
    pub const CANCELLED: &str = "cancelled";

    /// Every action, in lifecycle order.
    pub const ALL: &[&str] = &[
        PROVIDER_FAILED,
        CONFIG_FAILED,
        START,
        LOCK_WAIT,
        PREFLIGHT,
        PACKAGE_INSTALL,
        PREFLIGHT_FAILED,
        GIT_CLONE,
        GIT_FETCH,
        GIT_CHECKOUT,
        GIT_FAILED,
        BINARY_DOWNLOAD,
        BINARY_DOWNLOAD_PROGRESS,
        BINARY_DOWNLOAD_RETRY,
        BINARY_DOWNLOADED,
        BINARY_DOWNLOAD_FAILED,
        VERIFY,
        VERIFY_FAILED,
        UNPACK,
        UNPACK_FAILED,
        INSTALL_CACHED,
        BINARY_CHECK,
        BINARY_CHECK_FAILED,
        INSTALLED,
        BUILD_CACHED,
        CMAKE_CONFIGURE,
        CMAKE_RETRY,
        CMAKE_FAILED,
        CMAKE_BUILD,
        BUILT,
        BUILD_FAILED,
        CACHE_FAILED,
        MODEL_FAILED,
        PORT_FAILED,
        CANCELLED,
        COMPLETE,
    ];
}

/// Actions of `provision doctor`.
pub mod doctor {
    /// The actor name these actions are narrated under.
    pub const ACTOR: &str = "doctor";
    /// The checks begin.
    pub const START: &str = "start";
    /// A check passed (target: the check's name).
    pub const CHECK: &str = "check";
    /// A check found something that deserves attention; the human line
    /// carries the hint.
    pub const CHECK_WARNING: &str = "check-warning";
    /// A check failed: provisioning will fail until it is fixed.
    pub const CHECK_FAILED: &str = "check-failed";
    /// Every check ran (counts of failures and warnings).
    pub const COMPLETE: &str = "complete";

    /// Every action, in order.
    pub const ALL: &[&str] = &[START, CHECK, CHECK_WARNING, CHECK_FAILED, COMPLETE];
}

/// Every actor with its actions: what `specs/narration-events.md` lists,
/// one table per actor. A new action needs its constant in the actor's
/// module, an entry in that module's `ALL`, and a row in the spec table;
/// the catalog test names whichever is missing.
pub const ALL: &[(&str, &[&str])] = &[
    (model::ACTOR, model::ALL),
    (engine::ACTOR, engine::ALL),
    (doctor::ACTOR, doctor::ALL),
];

/// True when `action` is in `actor`'s catalog.
///
/// ```
/// use narration_core::catalog;
/// assert!(catalog::contains("model-provisioner", catalog::model::RESOLVE));
/// assert!(!catalog::contains("model-provisioner", "teleport"));
/// ```
pub fn contains(actor: &str, action: &str) -> bool {
    ALL.iter()
        .any(|(a, actions)| *a == actor && actions.contains(&action))
}
