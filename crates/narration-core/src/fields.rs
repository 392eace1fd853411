//! The one struct every narration is made of.

use serde::Serialize;

/// Everything a narration can say. `actor`, `action`, `target` and `human`
/// are always set; the rest is optional and filled with
/// `..Default::default()`.
///
/// ```
/// use narration_core::{narrate, NarrationFields};
/// let r = "org/repo";
/// narrate(NarrationFields {
///     actor: "model-provisioner",
///     action: "download",
///     target: "hf:org/repo".to_string(),
///     human: format!("Downloading from Hugging Face: {}", r),
///     ..Default::default()
/// });
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NarrationFields {
    /// Who speaks: a component name such as `model-provisioner`.
    pub actor: &'static str,
    /// What happened, from the actor's catalog (`resolve`, `cmake-build`, …).
    pub action: &'static str,
    /// What it happened to: a model ref, a pool id, a path.
    pub target: String,
    /// One sentence for people.
    pub human: String,

    // Correlation and identity.
    /// Ties together every narration of one request or run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// The session the work belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// The job the work belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    /// The task the work belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    /// The engine pool being provisioned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pool_id: Option<String>,
    /// The pool replica being provisioned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replica_id: Option<String>,
    /// The worker doing the step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worker_id: Option<String>,

    // Outcome and timing.
    /// On a `*-failed` narration: a short kebab-case kind (`digest-mismatch`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<String>,
    /// The wait a server asked for before the next attempt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
    /// The wait before the next attempt of a `*-retry` narration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backoff_ms: Option<u64>,
    /// How long the step took.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// Bytes moved or hashed by the step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// The whole size of what `bytes` counts toward (a download's file
    /// size), when known: with `bytes`, how far along the step is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_bytes: Option<u64>,
    /// What the step's outcome counts for in metrics, said by the crate
    /// that narrates it: `hit` (verified work reused: a cache hit, a
    /// cached build), `miss` (the work done because nothing verified was
    /// cached: a hash, a configure) or `transferred` (`bytes` fetched over
    /// the network).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// Where a transfer's bytes came from: `hf`, `https`, `oci` or `file`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_kind: Option<String>,

    // Engine and model context.
    /// The engine (`llamacpp`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
    /// The engine build (`llamacpp-source:<ref>-<cpu|cuda>`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engine_version: Option<String>,
    /// The model reference as given (`hf:org/repo/f.gguf`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_ref: Option<String>,
    /// The device the engine is built for or runs on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,

    // Provenance.
    /// `crate@version` of the emitter; `narrate` fills its own when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emitted_by: Option<String>,
    /// Unix time in milliseconds; `narrate` fills it when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emitted_at_ms: Option<u64>,
    /// The trace the narration belongs to (hex), inherited from spans.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    /// The span the narration was emitted in (hex), inherited from spans.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub span_id: Option<String>,
    /// The parent of that span (hex), inherited from spans.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_span_id: Option<String>,
    /// Where in the source the narration was emitted (`file:line`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_location: Option<String>,
}

/// The values of [`NarrationFields::outcome`] the metrics count.
pub mod outcome {
    /// Verified work was reused (a cache hit, a cached build).
    pub const HIT: &str = "hit";
    /// Work was done because nothing verified was cached (a hash of the
    /// whole file, a configure).
    pub const MISS: &str = "miss";
    /// `bytes` were fetched over the network.
    pub const TRANSFERRED: &str = "transferred";
}

/// The values of [`NarrationFields::source_kind`]: the `source` label of
/// the transfer metrics.
pub mod source_kind {
    /// The Hugging Face Hub (`hf:` refs).
    pub const HF: &str = "hf";
    /// A plain URL (`https://`, loopback `http://`).
    pub const HTTPS: &str = "https";
    /// An OCI registry (`oci://`).
    pub const OCI: &str = "oci";
    /// A local file.
    pub const FILE: &str = "file";
}
