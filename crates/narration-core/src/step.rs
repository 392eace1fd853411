//! Step spans: each step of a lifecycle runs in a span of its own, a child
//! of the lifecycle span, so that a tracing backend draws a waterfall and
//! the metrics layer can time each step.
//!
//! A step span is made with [`step_span!`](crate::step_span): its name is
//! the step's (`fetch`, `build`), and it carries the fields [`STEP_FIELD`]
//! (the step again, for layers that read fields rather than names) and
//! `actor`, plus empty slots that [`fail_step`] fills when the step fails:
//! `error_kind`, and for OpenTelemetry `error.type` and
//! `otel.status_code` (tracing-opentelemetry turns `"ERROR"` there into
//! the span's error status).

/// The field that marks a span as a step span and names the step.
pub const STEP_FIELD: &str = "step";

/// The span field that names the actor of a step span.
pub const ACTOR_FIELD: &str = "actor";

/// The span field that [`fail_step`] records the failure's `error_kind` in.
pub const ERROR_KIND_FIELD: &str = "error_kind";

/// An INFO span for one step of a lifecycle, named after the step.
///
/// `step_span!(actor, "fetch")`, optionally followed by more fields in
/// tracing's syntax (`"url.full" = url`). Enter it (or use `in_scope`)
/// while the step runs; call [`fail_step`] on it when the step fails.
///
/// ```
/// use narration_core::{fail_step, step_span};
/// let span = step_span!("model-provisioner", "fetch", "url.full" = "https://example.com/m.gguf");
/// let result: Result<(), &str> = span.in_scope(|| Err("network-error"));
/// if let Err(kind) = result {
///     fail_step(&span, kind);
/// }
/// ```
#[macro_export]
macro_rules! step_span {
    ($actor:expr, $step:literal $(, $($fields:tt)+)?) => {
        $crate::__private::tracing::info_span!(
            $step,
            step = $step,
            actor = $actor,
            error_kind = $crate::__private::tracing::field::Empty,
            "error.type" = $crate::__private::tracing::field::Empty,
            "otel.status_code" = $crate::__private::tracing::field::Empty,
            $($($fields)+)?
        )
    };
}

/// Mark a step span as failed with `error_kind`: the span's `error_kind`
/// and `error.type` fields, and an `ERROR` status for OpenTelemetry.
pub fn fail_step(span: &tracing::Span, error_kind: &str) {
    span.record(ERROR_KIND_FIELD, error_kind);
    span.record("error.type", error_kind);
    span.record("otel.status_code", "ERROR");
}
