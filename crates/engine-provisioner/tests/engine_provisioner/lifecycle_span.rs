//! One `engine_ensure` span per ensure, holding every narration of it, so
//! span-based exporters (OpenTelemetry) see the whole lifecycle.

use crate::support::FakeTools;
use engine_provisioner::EngineProvisioner;
use std::sync::{Arc, Mutex};
use tracing::span::{Attributes, Id};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

#[derive(Default)]
struct Seen {
    ensure_spans: usize,
    narrations: usize,
    outside: Vec<String>,
}

#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Seen>>);

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Recorder {
    fn on_new_span(&self, attrs: &Attributes<'_>, _: &Id, _: Context<'_, S>) {
        if attrs.metadata().name() == "engine_ensure" {
            self.0.lock().unwrap().ensure_spans += 1;
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        if !narration_core::is_narration(event) {
            return;
        }
        let inside = ctx
            .event_scope(event)
            .is_some_and(|scope| scope.from_root().any(|s| s.name() == "engine_ensure"));
        let mut seen = self.0.lock().unwrap();
        seen.narrations += 1;
        if !inside {
            let action = narration_core::decode(event)
                .map(|n| n.action)
                .unwrap_or("?");
            seen.outside.push(action.to_string());
        }
    }
}

#[test]
fn every_narration_of_an_ensure_is_inside_its_one_lifecycle_span() {
    let fake = FakeTools::new();
    let recorder = Recorder::default();
    let subscriber = tracing_subscriber::registry().with(recorder.clone());
    tracing::subscriber::with_default(subscriber, || {
        fake.provider().ensure(&fake.pool("v0", &[])).unwrap();
        fake.fail("cmake.fail-build");
        fake.provider().ensure(&fake.pool("v1", &[])).unwrap_err();
    });
    let seen = recorder.0.lock().unwrap();
    assert_eq!(seen.ensure_spans, 2);
    assert!(seen.narrations > 10, "{}", seen.narrations);
    assert_eq!(seen.outside, Vec::<String>::new());
}

/// One span as a tracing backend would draw it: its name, its parent's
/// name, and the `error_kind` recorded on it.
#[derive(Debug, Clone)]
struct SpanSeen {
    name: &'static str,
    parent: Option<&'static str>,
    error_kind: Option<String>,
}

/// A narration's action and the name of its innermost span.
type EventSeen = (&'static str, Option<&'static str>);

#[derive(Clone, Default)]
struct Waterfall {
    spans: Arc<Mutex<Vec<(Id, SpanSeen)>>>,
    events: Arc<Mutex<Vec<EventSeen>>>,
}

struct ErrorKind<'a>(&'a mut Option<String>);

impl tracing::field::Visit for ErrorKind<'_> {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "error_kind" {
            *self.0 = Some(value.to_string());
        }
    }
    fn record_debug(&mut self, _: &tracing::field::Field, _: &dyn std::fmt::Debug) {}
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Waterfall {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let parent = ctx
            .span(id)
            .and_then(|s| s.parent())
            .map(|p| p.metadata().name());
        let seen = SpanSeen {
            name: attrs.metadata().name(),
            parent,
            error_kind: None,
        };
        self.spans.lock().unwrap().push((id.clone(), seen));
    }

    fn on_record(&self, id: &Id, values: &tracing::span::Record<'_>, _: Context<'_, S>) {
        let mut spans = self.spans.lock().unwrap();
        // Ids are reused after a span closes: the latest one is this one.
        if let Some((_, seen)) = spans.iter_mut().rev().find(|(i, _)| i == id) {
            values.record(&mut ErrorKind(&mut seen.error_kind));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        if let Some(n) = narration_core::decode(event) {
            let innermost = ctx.event_span(event).map(|s| s.name());
            self.events.lock().unwrap().push((n.action, innermost));
        }
    }
}

impl Waterfall {
    fn children_of(&self, parent: &str) -> Vec<&'static str> {
        let spans = self.spans.lock().unwrap();
        spans
            .iter()
            .filter(|(_, s)| s.parent == Some(parent))
            .map(|(_, s)| s.name)
            .collect()
    }

    fn span(&self, name: &str) -> SpanSeen {
        let spans = self.spans.lock().unwrap();
        let found = spans.iter().find(|(_, s)| s.name == name);
        found.map(|(_, s)| s.clone()).expect("the span exists")
    }

    /// The innermost span of the last narration named `action`.
    fn innermost_span_of(&self, action: &str) -> Option<&'static str> {
        let events = self.events.lock().unwrap();
        let found = events.iter().rev().find(|(a, _)| *a == action);
        found.and_then(|(_, span)| *span)
    }
}

#[test]
fn each_step_is_a_child_span_and_the_model_ensure_nests_in_the_model_step() {
    let fake = FakeTools::new();
    let waterfall = Waterfall::default();
    let subscriber = tracing_subscriber::registry().with(waterfall.clone());
    tracing::subscriber::with_default(subscriber, || {
        fake.provider().ensure(&fake.pool("v0", &[])).unwrap();
    });
    assert_eq!(
        waterfall.children_of("engine_ensure"),
        ["preflight", "checkout", "build", "model", "finish"]
    );
    assert_eq!(waterfall.children_of("model"), ["ensure_present"]);
    assert_eq!(
        waterfall.children_of("ensure_present"),
        ["resolve", "fetch", "inspect", "verify", "register"]
    );
    assert_eq!(waterfall.innermost_span_of("cmake-build"), Some("build"));
    assert_eq!(waterfall.innermost_span_of("git-clone"), Some("checkout"));
    assert_eq!(
        waterfall.innermost_span_of("complete"),
        Some("engine_ensure")
    );
    assert_eq!(waterfall.span("build").error_kind, None);
}

#[test]
fn a_failing_step_span_carries_the_error_kind() {
    let fake = FakeTools::new();
    fake.fail("cmake.fail-build");
    let waterfall = Waterfall::default();
    let subscriber = tracing_subscriber::registry().with(waterfall.clone());
    let err = tracing::subscriber::with_default(subscriber, || {
        fake.provider().ensure(&fake.pool("v0", &[])).unwrap_err()
    });
    assert_eq!(
        waterfall.span("build").error_kind.as_deref(),
        Some(err.error_kind())
    );
    assert_eq!(waterfall.span("checkout").error_kind, None);
    assert_eq!(
        waterfall.children_of("engine_ensure"),
        ["preflight", "checkout", "build"],
        "no step runs after the failing one"
    );
}

#[test]
fn engine_and_model_spans_are_one_trace_and_the_prepared_engine_carries_it() {
    use narration_core::otel;
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let fake = FakeTools::new();
    let subscriber = tracing_subscriber::registry().with(otel::layer(provider.tracer("test")));
    let prepared = tracing::subscriber::with_default(subscriber, || {
        fake.provider().ensure(&fake.pool("v0", &[])).unwrap()
    });
    provider.force_flush().unwrap();
    let spans = exporter.get_finished_spans().unwrap();
    let by_name = |name: &str| spans.iter().find(|s| s.name == name).unwrap();
    let engine = by_name("engine_ensure");
    let trace = engine.span_context.trace_id();
    for span in &spans {
        assert_eq!(span.span_context.trace_id(), trace, "{}", span.name);
    }
    let parent_of = |child: &str, parent: &str| {
        assert_eq!(
            by_name(child).parent_span_id,
            by_name(parent).span_context.span_id(),
            "{child} is a child of {parent}"
        );
    };
    parent_of("model", "engine_ensure");
    parent_of("ensure_present", "model");
    parent_of("fetch", "ensure_present");
    assert_eq!(prepared.trace_id, Some(trace.to_string()));
    assert_eq!(
        prepared.traceparent,
        Some(format!("00-{trace}-{}-01", engine.span_context.span_id()))
    );
}
