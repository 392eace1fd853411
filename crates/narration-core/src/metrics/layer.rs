//! The metrics layer: step durations from step spans, the rest from
//! narrations. It adds no call to any provisioner.

use super::classify::classify;
use super::observe::{Observation, Sinks};
use crate::emit::{COUNTED_EVENT, NARRATION_TARGET};
use crate::step::{ACTOR_FIELD, ERROR_KIND_FIELD, STEP_FIELD};
use std::time::Instant;
use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::filter::FilterFn;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

/// A tracing-subscriber layer that derives metrics from step spans (made
/// with [`step_span!`](crate::step_span)) and narrations, and hands them
/// to a [`Metrics`](super::Metrics) store (and, with `otel`, to
/// OpenTelemetry instruments). Make one with
/// [`Metrics::layer`](super::Metrics::layer).
///
/// It is wrapped in [`filter`] only: a narration filtered out of the log
/// (`-q`) still counts.
pub(crate) struct MetricsLayer {
    pub(crate) sinks: Sinks,
}

impl std::fmt::Debug for MetricsLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MetricsLayer({} sinks)", self.sinks.len())
    }
}

impl MetricsLayer {
    fn observe(&self, observation: &Observation<'_>) {
        for sink in &self.sinks {
            sink.observe(observation);
        }
    }
}

fn is_step_span(meta: &Metadata<'_>) -> bool {
    meta.is_span() && meta.fields().field(STEP_FIELD).is_some()
}

fn wanted(meta: &Metadata<'_>) -> bool {
    is_step_span(meta)
        || (meta.is_event() && meta.target() == NARRATION_TARGET && meta.name() == COUNTED_EVENT)
}

/// The layer's own filter: step spans and the narrations that count for
/// something, nothing else, so other callsites (most narrations among
/// them) stay as cheap as without the layer. A per-layer filter, decided
/// once per callsite, so it never hides anything from the other layers.
pub(crate) fn filter() -> FilterFn<fn(&Metadata<'_>) -> bool> {
    FilterFn::new(wanted as fn(&Metadata<'_>) -> bool).with_max_level_hint(LevelFilter::INFO)
}

/// A step span's timer, kept in the span's extensions.
struct StepTimer {
    actor: String,
    step: String,
    error_kind: Option<String>,
    started: Instant,
}

struct StepFields<'a>(&'a mut StepTimer);

impl Visit for StepFields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            ACTOR_FIELD => self.0.actor = value.to_string(),
            STEP_FIELD => self.0.step = value.to_string(),
            ERROR_KIND_FIELD => self.0.error_kind = Some(value.to_string()),
            _ => {}
        }
    }
    fn record_debug(&mut self, _: &Field, _: &dyn std::fmt::Debug) {}
}

impl<S> Layer<S> for MetricsLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if !is_step_span(attrs.metadata()) {
            return;
        }
        let Some(span) = ctx.span(id) else { return };
        let mut timer = StepTimer {
            actor: String::new(),
            step: String::new(),
            error_kind: None,
            started: Instant::now(),
        };
        attrs.record(&mut StepFields(&mut timer));
        span.extensions_mut().insert(timer);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        if let Some(timer) = extensions.get_mut::<StepTimer>() {
            values.record(&mut StepFields(timer));
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let Some(timer) = span.extensions_mut().remove::<StepTimer>() else {
            return;
        };
        self.observe(&Observation::Step {
            actor: &timer.actor,
            step: &timer.step,
            outcome: timer.error_kind.as_deref().unwrap_or("ok"),
            seconds: timer.started.elapsed().as_secs_f64(),
        });
    }

    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        if event.metadata().target() != NARRATION_TARGET {
            return;
        }
        classify(event, &mut |observation| self.observe(observation));
    }
}
