//! Capture adapter: collects narrations for assertions in tests.
//!
//! Each [`CaptureAdapter`] owns its own dispatcher, so parallel tests never
//! see each other's narrations. `install()` makes it the calling thread's
//! default until the adapter is dropped; `in_scope()` runs a closure with it,
//! which is what concurrent async scenarios (cucumber) need.
//!
//! Narrations from a thread the test spawns are captured when the child
//! runs under the same dispatcher:
//!
//! ```
//! use narration_core::{narrate, CaptureAdapter, NarrationFields};
//! let capture = CaptureAdapter::install();
//! let dispatch = capture.dispatch();
//! std::thread::spawn(move || {
//!     tracing::dispatcher::with_default(&dispatch, || {
//!         narrate(NarrationFields { actor: "worker", action: "start", ..Default::default() });
//!     })
//! })
//! .join()
//! .unwrap();
//! capture.assert_sequence(&[("worker", "start")]);
//! ```

use crate::decode::{Narration, decode_in_context, remember_span_context, update_span_context};
use std::sync::{Arc, Mutex, MutexGuard};
use tracing::dispatcher::{self, DefaultGuard, Dispatch};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::{LookupSpan, Registry};

/// A narration as captured: level and every field, typed.
pub type CapturedNarration = Narration;

type Sink = Arc<Mutex<Vec<CapturedNarration>>>;

/// A tracing layer that appends every narration to a shared buffer. Use it
/// directly to capture inside a subscriber you build yourself.
#[derive(Clone, Default)]
pub struct CaptureLayer {
    sink: Sink,
}

impl CaptureLayer {
    /// Every narration this layer (and its clones) received, in order.
    pub fn captured(&self) -> Vec<CapturedNarration> {
        lock(&self.sink).clone()
    }
}

impl<S> Layer<S> for CaptureLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        remember_span_context(attrs, id, &ctx);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        update_span_context(id, values, &ctx);
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        if let Some(narration) = decode_in_context(event, &ctx) {
            lock(&self.sink).push(narration);
        }
    }
}

fn lock(sink: &Sink) -> MutexGuard<'_, Vec<CapturedNarration>> {
    // A test that panicked while holding the lock must not hide what it captured.
    sink.lock().unwrap_or_else(|e| e.into_inner())
}

/// Collects the narrations emitted under it, for assertions.
///
/// ```
/// use narration_core::{narrate, CaptureAdapter, NarrationFields};
/// let capture = CaptureAdapter::install();
/// narrate(NarrationFields {
///     actor: "model-provisioner",
///     action: "resolve",
///     target: "file:/m.gguf".into(),
///     human: "Resolving model reference: file:/m.gguf".into(),
///     ..Default::default()
/// });
/// capture.assert_includes("Resolving model reference");
/// capture.assert_field("action", "resolve");
/// ```
pub struct CaptureAdapter {
    sink: Sink,
    dispatch: Dispatch,
    _guard: Option<DefaultGuard>,
}

impl std::fmt::Debug for CaptureAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureAdapter")
            .field("captured", &lock(&self.sink).len())
            .finish()
    }
}

impl CaptureAdapter {
    /// A capture that is not yet the default anywhere; run code under it
    /// with [`CaptureAdapter::in_scope`].
    pub fn new() -> Self {
        crate::interest::keep_narrations_interested();
        let layer = CaptureLayer::default();
        let sink = layer.sink.clone();
        let dispatch = Dispatch::new(Registry::default().with(layer));
        Self {
            sink,
            dispatch,
            _guard: None,
        }
    }

    /// A capture that is the calling thread's default dispatcher until it is
    /// dropped. Each test installs its own.
    pub fn install() -> Self {
        let mut capture = Self::new();
        capture._guard = Some(dispatcher::set_default(&capture.dispatch));
        capture
    }

    /// Run `f` with this capture as the thread's dispatcher.
    pub fn in_scope<T>(&self, f: impl FnOnce() -> T) -> T {
        dispatcher::with_default(&self.dispatch, f)
    }

    /// The dispatcher to carry into threads the test spawns.
    pub fn dispatch(&self) -> Dispatch {
        self.dispatch.clone()
    }

    /// Every narration captured so far, in emission order.
    pub fn captured(&self) -> Vec<CapturedNarration> {
        lock(&self.sink).clone()
    }

    /// Forget what was captured.
    pub fn clear(&self) {
        lock(&self.sink).clear();
    }

    /// Panics unless some narration's `human` text contains `needle`.
    pub fn assert_includes(&self, needle: &str) {
        let captured = self.captured();
        assert!(
            captured.iter().any(|n| n.human.contains(needle)),
            "no narration's human text contains {needle:?}; captured:\n{}",
            describe(&captured)
        );
    }

    /// Panics unless some narration has field `name` equal to `value`.
    /// `name` is a [`NarrationFields`](crate::NarrationFields) field name.
    pub fn assert_field(&self, name: &str, value: &str) {
        let captured = self.captured();
        assert!(
            captured
                .iter()
                .any(|n| field_value(n, name).as_deref() == Some(value)),
            "no narration has {name} = {value:?}; captured:\n{}",
            describe(&captured)
        );
    }

    /// Panics unless the captured narrations contain `expected` (actor,
    /// action) pairs in this order, possibly with others in between.
    pub fn assert_sequence(&self, expected: &[(&str, &str)]) {
        let captured = self.captured();
        let mut want = expected.iter().peekable();
        for n in &captured {
            if let Some((actor, action)) = want.peek()
                && n.actor == *actor
                && n.action == *action
            {
                want.next();
            }
        }
        if let Some((actor, action)) = want.next() {
            panic!(
                "narration sequence broken at ({actor}, {action}); expected {expected:?}; captured:\n{}",
                describe(&captured)
            );
        }
    }
}

impl Default for CaptureAdapter {
    fn default() -> Self {
        Self::new()
    }
}

/// Any field of a narration as text, by its `NarrationFields` name.
pub fn field_value(n: &Narration, name: &str) -> Option<String> {
    let value = serde_json::to_value(n).ok()?;
    match value.get(name)? {
        serde_json::Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

fn describe(captured: &[CapturedNarration]) -> String {
    captured
        .iter()
        .map(|n| format!("  [{}] {}: {}", n.actor, n.action, n.human))
        .collect::<Vec<_>>()
        .join("\n")
}
