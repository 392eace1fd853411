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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pool_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replica_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worker_id: Option<String>,

    // Outcome and timing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backoff_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// Bytes moved or hashed by the step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,

    // Engine and model context.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engine_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_ref: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,

    // Provenance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emitted_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emitted_at_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub span_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_span_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_location: Option<String>,
}
