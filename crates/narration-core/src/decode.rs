//! Reading a narration back out of a tracing event, for the adapters.
//!
//! Adapters never parse formatted text: they visit the event's fields into a
//! typed [`Narration`], then fill correlation and trace fields the caller
//! left empty from the spans the event was emitted in.

use crate::emit::{NARRATION_TARGET, NarrationLevel, TARGET_FIELD};
use crate::fields::NarrationFields;
use serde::Serialize;
use std::collections::HashSet;
use std::fmt;
use std::sync::{LazyLock, Mutex};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

/// A narration as an adapter received it: the level it was emitted at and
/// every field, typed. Derefs to [`NarrationFields`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Narration {
    /// The level the event was emitted at.
    pub level: NarrationLevel,
    /// Every field, with span-inherited correlation filled in.
    #[serde(flatten)]
    pub fields: NarrationFields,
}

impl std::ops::Deref for Narration {
    type Target = NarrationFields;
    fn deref(&self) -> &NarrationFields {
        &self.fields
    }
}

/// Actor and action names come back from tracing as borrowed `&str`; they
/// were `&'static str` at the call site, so the set of distinct names is
/// bounded by the program text and interning them is bounded too.
fn intern(name: &str) -> &'static str {
    static NAMES: LazyLock<Mutex<HashSet<&'static str>>> = LazyLock::new(Default::default);
    let mut names = NAMES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(known) = names.get(name) {
        return known;
    }
    let leaked: &'static str = Box::leak(name.to_owned().into_boxed_str());
    names.insert(leaked);
    leaked
}

/// Field names that a span can hand down to the narrations inside it.
const INHERITED: &[&str] = &[
    "correlation_id",
    "session_id",
    "job_id",
    "task_id",
    "pool_id",
    "replica_id",
    "worker_id",
    "trace_id",
    "span_id",
    "parent_span_id",
];

/// Set one named field of `f` from its text form. Unknown names are ignored,
/// so user fields on the same event never break decoding.
fn set_field(f: &mut NarrationFields, name: &str, value: String) {
    let number = || value.parse::<u64>().ok();
    match name {
        "actor" => f.actor = intern(&value),
        "action" => f.action = intern(&value),
        TARGET_FIELD => f.target = value,
        "human" => f.human = value,
        "correlation_id" => f.correlation_id = Some(value),
        "session_id" => f.session_id = Some(value),
        "job_id" => f.job_id = Some(value),
        "task_id" => f.task_id = Some(value),
        "pool_id" => f.pool_id = Some(value),
        "replica_id" => f.replica_id = Some(value),
        "worker_id" => f.worker_id = Some(value),
        "error_kind" => f.error_kind = Some(value),
        "retry_after_ms" => f.retry_after_ms = number(),
        "backoff_ms" => f.backoff_ms = number(),
        "duration_ms" => f.duration_ms = number(),
        "bytes" => f.bytes = number(),
        "total_bytes" => f.total_bytes = number(),
        "engine" => f.engine = Some(value),
        "engine_version" => f.engine_version = Some(value),
        "model_ref" => f.model_ref = Some(value),
        "outcome" => f.outcome = Some(value),
        "source_kind" => f.source_kind = Some(value),
        "device" => f.device = Some(value),
        "emitted_by" => f.emitted_by = Some(value),
        "emitted_at_ms" => f.emitted_at_ms = number(),
        "trace_id" => f.trace_id = Some(value),
        "span_id" => f.span_id = Some(value),
        "parent_span_id" => f.parent_span_id = Some(value),
        "source_location" => f.source_location = Some(value),
        _ => {}
    }
}

fn get_inherited<'a>(f: &'a mut NarrationFields, name: &str) -> Option<&'a mut Option<String>> {
    Some(match name {
        "correlation_id" => &mut f.correlation_id,
        "session_id" => &mut f.session_id,
        "job_id" => &mut f.job_id,
        "task_id" => &mut f.task_id,
        "pool_id" => &mut f.pool_id,
        "replica_id" => &mut f.replica_id,
        "worker_id" => &mut f.worker_id,
        "trace_id" => &mut f.trace_id,
        "span_id" => &mut f.span_id,
        "parent_span_id" => &mut f.parent_span_id,
        _ => return None,
    })
}

struct FieldsVisitor<'a>(&'a mut NarrationFields);

impl Visit for FieldsVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        set_field(self.0, field.name(), value.to_owned());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        set_field(self.0, field.name(), value.to_string());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        set_field(self.0, field.name(), value.to_string());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        set_field(self.0, field.name(), format!("{value:?}"));
    }
}

/// True when `event` is a narration (emitted by [`crate::narrate`]).
pub fn is_narration(event: &Event<'_>) -> bool {
    event.metadata().target() == NARRATION_TARGET
}

/// Decode a narration event without span context.
pub fn decode(event: &Event<'_>) -> Option<Narration> {
    if !is_narration(event) {
        return None;
    }
    let mut fields = NarrationFields::default();
    event.record(&mut FieldsVisitor(&mut fields));
    Some(Narration {
        level: NarrationLevel::from_tracing(event.metadata().level()),
        fields,
    })
}

/// Decode a narration event and fill the correlation and trace fields it
/// left empty from the spans it was emitted in, innermost first.
pub fn decode_in_context<S>(event: &Event<'_>, ctx: &Context<'_, S>) -> Option<Narration>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let mut narration = decode(event)?;
    if let Some(scope) = ctx.event_scope(event) {
        for span in scope {
            let extensions = span.extensions();
            let Some(inherited) = extensions.get::<SpanContext>() else {
                continue;
            };
            for (name, value) in &inherited.0 {
                if let Some(slot) = get_inherited(&mut narration.fields, name)
                    && slot.is_none()
                {
                    *slot = Some(crate::redact(value).into_owned());
                }
            }
        }
    }
    Some(narration)
}

/// The inheritable fields a span was created (or later recorded) with.
#[derive(Default)]
struct SpanContext(Vec<(&'static str, String)>);

struct SpanContextVisitor<'a>(&'a mut SpanContext);

impl SpanContextVisitor<'_> {
    fn put(&mut self, field: &Field, value: String) {
        let name = field.name();
        if let Some(known) = INHERITED.iter().find(|n| **n == name) {
            self.0.0.retain(|(n, _)| n != known);
            self.0.0.push((known, value));
        }
    }
}

impl Visit for SpanContextVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, value.to_owned());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, value.to_string());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, value.to_string());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, format!("{value:?}"));
    }
}

/// Remember a new span's inheritable fields. Every adapter layer calls this
/// from `on_new_span`; the first one on a registry stores them.
pub fn remember_span_context<S>(attrs: &Attributes<'_>, id: &Id, ctx: &Context<'_, S>)
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let Some(span) = ctx.span(id) else { return };
    let mut extensions = span.extensions_mut();
    if extensions.get_mut::<SpanContext>().is_some() {
        return;
    }
    let mut context = SpanContext::default();
    attrs.record(&mut SpanContextVisitor(&mut context));
    extensions.insert(context);
}

/// Update a span's inheritable fields recorded after its creation
/// (`span.record("correlation_id", …)`). Adapters call this from `on_record`.
pub fn update_span_context<S>(id: &Id, values: &Record<'_>, ctx: &Context<'_, S>)
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let Some(span) = ctx.span(id) else { return };
    let mut extensions = span.extensions_mut();
    if let Some(context) = extensions.get_mut::<SpanContext>() {
        values.record(&mut SpanContextVisitor(context));
    }
}
