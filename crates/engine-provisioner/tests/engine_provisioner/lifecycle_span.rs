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
