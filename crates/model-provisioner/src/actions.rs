//! The words this crate narrates: its actor, `model-provisioner`, and
//! every action, with the level it is emitted at. `specs/narration-events.md`
//! lists the same rows; a workspace test holds the two together.

narration_core::vocabulary! {
    /// Actions of `model-provisioner`.
    actor "model-provisioner";
    /// Starting to parse a model reference.
    RESOLVE = "resolve", Info;
    /// The model reference could not be parsed.
    RESOLVE_FAILED = "resolve-failed", Error;
    /// Ensuring the model is present locally.
    ENSURE = "ensure", Info;
    /// The model is not available (missing file, no fetcher, offline miss).
    ENSURE_FAILED = "ensure-failed", Error;
    /// An OCI manifest was fetched and its digest pinned (format and
    /// layers named).
    MANIFEST = "manifest", Info;
    /// Starting a download.
    DOWNLOAD = "download", Info;
    /// Bytes received so far in a transfer (at a bounded rate).
    DOWNLOAD_PROGRESS = "download-progress", Info;
    /// A transient transfer failure; retrying after `backoff_ms`.
    DOWNLOAD_RETRY = "download-retry", Warn;
    /// The Hub stayed unreachable: the cached snapshot is used instead.
    DOWNLOAD_FALLBACK = "download-fallback", Warn;
    /// Another process holds the file's lock; waiting for it.
    LOCK_WAIT = "lock-wait", Info;
    /// The download finished.
    DOWNLOADED = "downloaded", Info;
    /// The download failed for good.
    DOWNLOAD_FAILED = "download-failed", Error;
    /// Starting the digest check (`bytes`: file size when hashing).
    VERIFY = "verify", Info;
    /// A verified fingerprint matched: hashing was skipped.
    CACHE_HIT = "cache-hit", Info;
    /// The digest is established and matches any expected one (`bytes` hashed,
    /// `duration_ms`).
    VERIFIED = "verified", Info;
    /// The digest does not match, or the file could not be hashed or changed
    /// while hashed.
    VERIFY_FAILED = "verify-failed", Error;
    /// A cached blob is not what the Hub's etag promises: moved aside
    /// (`.corrupt`) and downloaded again; the run goes on.
    VERIFY_WARNING = "verify-warning", Warn;
    /// The file is not a GGUF model.
    INSPECT_FAILED = "inspect-failed", Error;
    /// The file is a GGUF model with something this reader cannot check,
    /// such as a tensor type it does not know (`unknown-tensor-type`).
    INSPECT_WARNING = "inspect-warning", Warn;
    /// Another process holds the catalog's write lock; a write waits for
    /// it (once, after about a second).
    CATALOG_WAIT = "catalog-wait", Info;
    /// The catalog row was written.
    REGISTER = "register", Info;
    /// The catalog or the provenance log could not be written.
    REGISTER_FAILED = "register-failed", Error;
    /// The model is ready (`duration_ms`, `bytes` = model size).
    COMPLETE = "complete", Info;
    /// The engine handoff file was written.
    HANDOFF = "handoff", Info;
    /// The handoff file could not be written.
    HANDOFF_FAILED = "handoff-failed", Error;
    /// Cache pruning removed a model file (`bytes` freed).
    PRUNE = "prune", Info;
    /// Cache pruning could not remove a file; the entry is kept.
    PRUNE_FAILED = "prune-failed", Error;
    /// Removing or pruning a model: a link points outside the repo's own
    /// `blobs/` folder; the link was deleted, the file it names kept.
    DELETE_WARNING = "delete-warning", Warn;
    /// The caller cancelled the ensure (`error_kind` `cancelled`, the step
    /// it stopped in); the partial download is kept for the next ensure.
    CANCELLED = "cancelled", Warn;
    /// Publishing a verified model to an OCI registry began.
    PUSH = "push", Info;
    /// One blob of a push: uploaded, or skipped because the registry has it
    /// (`bytes`).
    PUSH_BLOB = "push-blob", Info;
    /// The push finished: the manifest is under its tag (`bytes` uploaded,
    /// `duration_ms`).
    PUSHED = "pushed", Info;
    /// The push failed (`error_kind`).
    PUSH_FAILED = "push-failed", Error;
}
