//! What every mode's ensure shares, below the modes: the lifecycle's span
//! and narrations, the step wrapper that marks a failed span, the steps
//! every mode ends with ([`model`], then [`finish`]: flags, port) and the
//! `complete` narration. `source`, `binary` and `external` each run
//! their own steps first, then these.

pub(crate) mod finish;
pub(crate) mod model;

use crate::error::{ProvisionError, Result};
use crate::options::EngineOptions;
use crate::plan::{ModeDetails, Plan};
use crate::prepared::PreparedEngine;
use crate::say::Say;
use narration_core::fail_step;
use std::time::Instant;
use verified_download::ProgressReporter;

/// One ensure of `plan` in the lifecycle's span: `run` does the mode's
/// steps, and a failure is narrated once, here, at the boundary.
pub(crate) fn execute(
    plan: &Plan,
    options: &EngineOptions,
    run: impl FnOnce(&Say<'_>) -> Result<PreparedEngine>,
) -> Result<PreparedEngine> {
    let _span = lifecycle_span(&plan.pool_id).entered();
    let say = say_for(&plan.pool_id, options);
    run(&say).inspect_err(|e| say.failed(e))
}

/// One ensure of `pool`: the plan made and carried out in the lifecycle's
/// span, a failure of either narrated once, here.
pub(crate) fn ensure(
    pool_id: &str,
    options: &EngineOptions,
    make_plan: impl FnOnce() -> Result<Plan>,
    run: impl FnOnce(&Plan, &Say<'_>) -> Result<PreparedEngine>,
) -> Result<PreparedEngine> {
    let _span = lifecycle_span(pool_id).entered();
    let say = say_for(pool_id, options);
    make_plan()
        .and_then(|plan| run(&plan, &say))
        .inspect_err(|e| say.failed(e))
}

/// The mode's details of `plan`; a plan another mode's provider made is
/// refused (`unsupported-mode`).
pub(crate) fn details<T: ModeDetails>(plan: &Plan) -> Result<&T> {
    plan.details::<T>()
        .ok_or_else(|| ProvisionError::UnsupportedMode {
            pool_id: plan.pool_id.clone(),
            mode: plan.mode.as_str(),
        })
}

/// Typed progress of one ensure, to the caller's observer, about the pool.
pub(crate) fn progress_for(plan: &Plan, options: &EngineOptions) -> ProgressReporter {
    ProgressReporter::new(
        options.progress.clone(),
        options.correlation_id.clone(),
        Some(plan.pool_id.clone()),
        plan.pool_id.clone(),
    )
}

/// Run one step in its span (a child of the lifecycle span); a failure
/// marks the span failed with its `error_kind`.
pub(crate) fn in_step<T>(span: tracing::Span, body: impl FnOnce() -> Result<T>) -> Result<T> {
    let result = span.in_scope(body);
    if let Err(e) = &result {
        fail_step(&span, e.error_kind());
    }
    result
}

/// Narrations for one ensure of `pool_id`, with the caller's correlation id.
pub(crate) fn say_for<'a>(pool_id: &'a str, options: &'a EngineOptions) -> Say<'a> {
    Say {
        pool_id,
        correlation_id: options.correlation_id.as_deref(),
    }
}

/// One span per ensure: every narration of it (model-provisioner's too)
/// is an event of this span.
pub(crate) fn lifecycle_span(pool_id: &str) -> tracing::Span {
    tracing::info_span!("engine_ensure", pool_id = %pool_id, engine = "llamacpp")
}

/// The trace context (when spans are exported) added to a prepared
/// engine, then `complete`.
pub(crate) fn finalize(mut prepared: PreparedEngine, say: &Say<'_>, t0: Instant) -> PreparedEngine {
    // The lifecycle span's context: the engine's start continues here.
    if let Some(trace) = narration_core::current_trace() {
        prepared.trace_id = Some(trace.trace_id);
        prepared
            .env
            .insert("TRACEPARENT".into(), trace.traceparent.clone());
        prepared.traceparent = Some(trace.traceparent);
    }
    complete(&prepared, say, t0);
    prepared
}

/// `complete`: what was prepared, and how long it took.
pub(crate) fn complete(prepared: &PreparedEngine, say: &Say<'_>, t0: Instant) {
    say.complete(
        &prepared.engine_version,
        format!(
            "Engine prepared: {} at port {}, model: {}",
            prepared.engine_version,
            prepared.port,
            prepared.model_path.display()
        ),
        t0.elapsed(),
    );
}
