//! The action catalog: every (actor, action) a provisioner may narrate.
//!
//! `specs/narration-events.md` mirrors this module; a test fails when the
//! two differ.

/// Actions of `model-provisioner`.
pub mod model {
    pub const ACTOR: &str = "model-provisioner";
    pub const RESOLVE: &str = "resolve";
    pub const ENSURE: &str = "ensure";
    pub const DOWNLOAD: &str = "download";
    pub const DOWNLOADED: &str = "downloaded";
    pub const DOWNLOAD_FAILED: &str = "download-failed";
    /// Bytes received so far in a transfer (at a bounded rate).
    pub const DOWNLOAD_PROGRESS: &str = "download-progress";
    /// A transient transfer failure; retrying after `backoff_ms`.
    pub const DOWNLOAD_RETRY: &str = "download-retry";
    /// The Hub stayed unreachable: the cached snapshot is used instead.
    pub const DOWNLOAD_FALLBACK: &str = "download-fallback";
    /// Another process holds the file's lock; waiting for it.
    pub const LOCK_WAIT: &str = "lock-wait";
    pub const VERIFY: &str = "verify";
    pub const VERIFIED: &str = "verified";
    pub const VERIFY_FAILED: &str = "verify-failed";
    pub const COMPLETE: &str = "complete";
    /// The model reference could not be parsed.
    pub const RESOLVE_FAILED: &str = "resolve-failed";
    /// The model is not available (missing file, no fetcher, offline miss).
    pub const ENSURE_FAILED: &str = "ensure-failed";
    /// A verified fingerprint matched: hashing was skipped.
    pub const CACHE_HIT: &str = "cache-hit";
    /// The file is not a GGUF model.
    pub const INSPECT_FAILED: &str = "inspect-failed";
    /// The catalog row was written.
    pub const REGISTER: &str = "register";
    /// The catalog or the provenance log could not be written.
    pub const REGISTER_FAILED: &str = "register-failed";
    /// The engine handoff file was written.
    pub const HANDOFF: &str = "handoff";
    /// The handoff file could not be written.
    pub const HANDOFF_FAILED: &str = "handoff-failed";

    /// Every action, in lifecycle order.
    pub const ALL: &[&str] = &[
        RESOLVE,
        RESOLVE_FAILED,
        ENSURE,
        ENSURE_FAILED,
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
        INSPECT_FAILED,
        REGISTER,
        REGISTER_FAILED,
        COMPLETE,
        HANDOFF,
        HANDOFF_FAILED,
    ];
}

/// Actions of `engine-provisioner`.
pub mod engine {
    pub const ACTOR: &str = "engine-provisioner";
    pub const START: &str = "start";
    pub const PREFLIGHT: &str = "preflight";
    pub const GIT_CLONE: &str = "git-clone";
    pub const GIT_CHECKOUT: &str = "git-checkout";
    pub const CMAKE_CONFIGURE: &str = "cmake-configure";
    pub const CMAKE_RETRY: &str = "cmake-retry";
    pub const CMAKE_FAILED: &str = "cmake-failed";
    pub const CMAKE_BUILD: &str = "cmake-build";
    pub const COMPLETE: &str = "complete";
    pub const PROVIDER_FAILED: &str = "provider-failed";
    pub const CONFIG_FAILED: &str = "config-failed";
    pub const PREFLIGHT_FAILED: &str = "preflight-failed";
    pub const PACKAGE_INSTALL: &str = "package-install";
    pub const GIT_FETCH: &str = "git-fetch";
    pub const GIT_FAILED: &str = "git-failed";
    pub const BUILD_CACHED: &str = "build-cached";
    pub const BUILT: &str = "built";
    pub const BUILD_FAILED: &str = "build-failed";
    pub const CACHE_FAILED: &str = "cache-failed";
    /// Another process holds the build lock of the cache dir; waiting.
    pub const LOCK_WAIT: &str = "lock-wait";
    pub const MODEL_FAILED: &str = "model-failed";
    pub const PORT_FAILED: &str = "port-failed";

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
        COMPLETE,
    ];
}

/// Every actor with its actions: what `specs/narration-events.md` lists,
/// one table per actor. A new action needs its constant in the actor's
/// module, an entry in that module's `ALL`, and a row in the spec table;
/// the catalog test names whichever is missing.
pub const ALL: &[(&str, &[&str])] = &[(model::ACTOR, model::ALL), (engine::ACTOR, engine::ALL)];

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
