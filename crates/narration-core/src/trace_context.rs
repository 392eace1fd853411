//! W3C trace context across processes: a caller's `TRACEPARENT` becomes
//! the parent of this process's root span, and whatever this process
//! prepares (an engine, a model handoff) carries a `traceparent` so that
//! the program that starts it continues the same trace.
//!
//! Without the `otel` feature, or without an OpenTelemetry layer
//! installed, there is no trace to continue: both functions do nothing.

/// The environment variable a caller passes its W3C `traceparent` in.
pub const TRACEPARENT_ENV: &str = "TRACEPARENT";

/// The environment variable a caller passes its W3C `tracestate` in.
pub const TRACESTATE_ENV: &str = "TRACESTATE";

/// Where a span sits in a trace, in W3C form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceContext {
    /// The trace id, 32 lowercase hex digits.
    pub trace_id: String,
    /// `00-<trace id>-<span id>-<flags>`: give it to a child process as
    /// `TRACEPARENT` to continue the trace under this span.
    pub traceparent: String,
}

/// Make `span` (a process's root span, not yet entered) a child of the
/// trace given in `TRACEPARENT` (and `TRACESTATE`). True when a parent was
/// set; false when the variable is unset or not a valid traceparent, or
/// when nothing exports spans.
///
/// ```
/// let root = tracing::info_span!("provision");
/// // No OpenTelemetry layer is installed here: nothing to continue.
/// assert!(!narration_core::continue_trace_from_env(&root));
/// ```
pub fn continue_trace_from_env(span: &tracing::Span) -> bool {
    let Ok(traceparent) = std::env::var(TRACEPARENT_ENV) else {
        return false;
    };
    let tracestate = std::env::var(TRACESTATE_ENV).ok();
    imp::set_remote_parent(span, traceparent, tracestate)
}

/// The trace context of the current span, when spans are exported.
///
/// ```
/// // No OpenTelemetry layer is installed here.
/// assert_eq!(narration_core::current_trace(), None);
/// ```
pub fn current_trace() -> Option<TraceContext> {
    imp::current()
}

#[cfg(feature = "otel")]
mod imp {
    use super::TraceContext;
    use opentelemetry::propagation::TextMapPropagator;
    use opentelemetry::trace::TraceContextExt;
    use opentelemetry_sdk::propagation::TraceContextPropagator;
    use std::collections::HashMap;
    use tracing_opentelemetry::OpenTelemetrySpanExt;

    pub(super) fn set_remote_parent(
        span: &tracing::Span,
        traceparent: String,
        tracestate: Option<String>,
    ) -> bool {
        let mut carrier = HashMap::from([("traceparent".to_string(), traceparent)]);
        if let Some(state) = tracestate {
            carrier.insert("tracestate".to_string(), state);
        }
        let parent = TraceContextPropagator::new().extract(&carrier);
        if !parent.span().span_context().is_valid() {
            return false;
        }
        span.set_parent(parent).is_ok()
    }

    pub(super) fn current() -> Option<TraceContext> {
        let cx = tracing::Span::current().context();
        let span_context = cx.span().span_context().clone();
        if !span_context.is_valid() {
            return None;
        }
        let mut carrier = HashMap::new();
        TraceContextPropagator::new().inject_context(&cx, &mut carrier);
        Some(TraceContext {
            trace_id: span_context.trace_id().to_string(),
            traceparent: carrier.remove("traceparent")?,
        })
    }
}

#[cfg(not(feature = "otel"))]
mod imp {
    use super::TraceContext;

    pub(super) fn set_remote_parent(_: &tracing::Span, _: String, _: Option<String>) -> bool {
        false
    }

    pub(super) fn current() -> Option<TraceContext> {
        None
    }
}
