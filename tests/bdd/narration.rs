//! Steps for the narration features: fields, redaction, capture, log lines,
//! provenance and correlation. Every narration runs inside the scenario's
//! own capture (`capture.in_scope`), so concurrent scenarios never mix.

use crate::World;
use cucumber::{given, then, when};
use narration_core::{
    CaptureAdapter, CapturedNarration, LogFormat, LogLayer, NarrationFields, field_value, narrate,
};
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug, Default)]
pub struct State {
    capture: CaptureAdapter,
    fields: NarrationFields,
}

impl State {
    fn captured(&self) -> Vec<CapturedNarration> {
        self.capture.captured()
    }

    /// The one narration the scenario captured.
    fn only(&self) -> CapturedNarration {
        let captured = self.captured();
        assert_eq!(
            captured.len(),
            1,
            "expected one narration, got {captured:#?}"
        );
        captured.into_iter().next().expect("checked above")
    }
}

/// Actor and action names are `&'static str`: take the vocabulary's copy when
/// there is one, and keep the few a scenario invents for the process.
fn static_name(name: &str) -> &'static str {
    let vocabularies = [
        &model_provisioner::actions::VOCABULARY,
        &engine_provisioner::actions::VOCABULARY,
    ];
    for v in vocabularies {
        if v.actor == name {
            return v.actor;
        }
        if let Some(action) = v.action(name) {
            return action.name;
        }
    }
    Box::leak(name.to_owned().into_boxed_str())
}

/// Set a field of `f` by its `NarrationFields` name; numbers parse as u64.
fn set_field(f: &mut NarrationFields, name: &str, value: &str) {
    let number = || {
        value
            .parse::<u64>()
            .unwrap_or_else(|_| panic!("{name} takes a number, not {value:?}"))
    };
    let text = || Some(value.to_string());
    match name {
        "target" => f.target = value.to_string(),
        "human" => f.human = value.to_string(),
        "correlation_id" => f.correlation_id = text(),
        "session_id" => f.session_id = text(),
        "job_id" => f.job_id = text(),
        "task_id" => f.task_id = text(),
        "pool_id" => f.pool_id = text(),
        "replica_id" => f.replica_id = text(),
        "worker_id" => f.worker_id = text(),
        "error_kind" => f.error_kind = text(),
        "engine" => f.engine = text(),
        "engine_version" => f.engine_version = text(),
        "model_ref" => f.model_ref = text(),
        "device" => f.device = text(),
        "emitted_by" => f.emitted_by = text(),
        "trace_id" => f.trace_id = text(),
        "span_id" => f.span_id = text(),
        "parent_span_id" => f.parent_span_id = text(),
        "source_location" => f.source_location = text(),
        "outcome" => f.outcome = text(),
        "source_kind" => f.source_kind = text(),
        "retry_after_ms" => f.retry_after_ms = Some(number()),
        "backoff_ms" => f.backoff_ms = Some(number()),
        "duration_ms" => f.duration_ms = Some(number()),
        "bytes" => f.bytes = Some(number()),
        "total_bytes" => f.total_bytes = Some(number()),
        "emitted_at_ms" => f.emitted_at_ms = Some(number()),
        other => panic!("NarrationFields has no field {other:?}"),
    }
}

fn tagged(tag: &str, i: usize) -> NarrationFields {
    NarrationFields {
        actor: "bdd",
        action: "tick",
        target: format!("{tag}#{i}"),
        human: format!("tick {i}"),
        job_id: Some(tag.to_string()),
        ..Default::default()
    }
}

#[given(expr = "a narration from {string} doing {string} on {string} saying {string}")]
fn a_narration(w: &mut World, actor: String, action: String, target: String, human: String) {
    w.narration.fields = NarrationFields {
        actor: static_name(&actor),
        action: static_name(&action),
        target,
        human,
        ..Default::default()
    };
}

#[given(expr = "the narration field {string} is set to {string}")]
fn set_narration_field(w: &mut World, name: String, value: String) {
    set_field(&mut w.narration.fields, &name, &value);
}

#[when("it is narrated")]
fn it_is_narrated(w: &mut World) {
    let fields = w.narration.fields.clone();
    w.narration.capture.in_scope(|| narrate(fields));
}

#[when(expr = "it is narrated inside a span with correlation_id {string} and pool_id {string}")]
fn narrated_in_span(w: &mut World, correlation_id: String, pool_id: String) {
    let fields = w.narration.fields.clone();
    w.narration.capture.in_scope(|| {
        let span = tracing::info_span!(
            "ensure_present",
            correlation_id = correlation_id.as_str(),
            pool_id = pool_id.as_str()
        );
        span.in_scope(|| narrate(fields));
    });
}

#[when(
    expr = "it is narrated inside nested spans with correlation_id {string} outside and {string} inside"
)]
fn narrated_in_nested_spans(w: &mut World, outer: String, inner: String) {
    let fields = w.narration.fields.clone();
    w.narration.capture.in_scope(|| {
        let outer = tracing::info_span!("provision", correlation_id = outer.as_str());
        outer.in_scope(|| {
            tracing::info_span!("step", correlation_id = inner.as_str())
                .in_scope(|| narrate(fields))
        });
    });
}

#[when(expr = "{int} narrations tagged {string} are narrated")]
fn many_tagged(w: &mut World, count: usize, tag: String) {
    w.narration.capture.in_scope(|| {
        for i in 0..count {
            narrate(tagged(&tag, i));
            std::thread::yield_now();
        }
    });
}

#[when("a spawned thread narrates with the capture's dispatcher")]
fn spawned_with_dispatcher(w: &mut World) {
    let dispatch = w.narration.capture.dispatch();
    std::thread::spawn(move || {
        tracing::dispatcher::with_default(&dispatch, || narrate(tagged("carried", 0)))
    })
    .join()
    .expect("the spawned thread finished");
}

#[when("a spawned thread narrates without it")]
fn spawned_without_dispatcher(_w: &mut World) {
    std::thread::spawn(|| narrate(tagged("uncarried", 0)))
        .join()
        .expect("the spawned thread finished");
}

#[when("the capture is cleared")]
fn cleared(w: &mut World) {
    w.narration.capture.clear();
}

#[then(expr = "exactly {int} narration(s) is/are captured")]
fn exactly_n(w: &mut World, n: usize) {
    let captured = w.narration.captured();
    assert_eq!(captured.len(), n, "{captured:#?}");
}

#[then(expr = "every captured narration is tagged {string}")]
fn all_tagged(w: &mut World, tag: String) {
    for n in w.narration.captured() {
        assert_eq!(
            n.job_id.as_deref(),
            Some(tag.as_str()),
            "foreign narration: {n:?}"
        );
    }
}

#[then(expr = "the captured narration has actor {string} and action {string}")]
fn actor_and_action(w: &mut World, actor: String, action: String) {
    let n = w.narration.only();
    assert_eq!((n.actor, n.action), (actor.as_str(), action.as_str()));
}

#[then(expr = "the captured narration field {string} is {string}")]
fn field_is(w: &mut World, name: String, value: String) {
    let n = w.narration.only();
    assert_eq!(
        field_value(&n, &name).as_deref(),
        Some(value.as_str()),
        "{n:#?}"
    );
}

#[then(expr = "the captured narration field {string} is absent")]
fn field_absent(w: &mut World, name: String) {
    let n = w.narration.only();
    assert_eq!(field_value(&n, &name), None, "{n:#?}");
}

#[then(expr = "the captured narration field {string} contains {string}")]
fn field_contains(w: &mut World, name: String, part: String) {
    let n = w.narration.only();
    let value = field_value(&n, &name).unwrap_or_default();
    assert!(value.contains(&part), "{name} = {value:?}");
}

#[then(expr = "the captured narration field {string} starts with {string}")]
fn field_starts_with(w: &mut World, name: String, prefix: String) {
    let n = w.narration.only();
    let value = field_value(&n, &name).unwrap_or_default();
    assert!(value.starts_with(&prefix), "{name} = {value:?}");
}

#[then(expr = "the captured narration level is {string}")]
fn level_is(w: &mut World, level: String) {
    assert_eq!(w.narration.only().level.as_str(), level);
}

#[then(expr = "no captured narration contains {string}")]
fn no_narration_contains(w: &mut World, secret: String) {
    for n in w.narration.captured() {
        let whole = serde_json::to_string(&n).expect("a narration serializes");
        assert!(!whole.contains(&secret), "{secret:?} leaked: {whole}");
    }
}

#[then("the captured narration was emitted within the last minute")]
fn emitted_recently(w: &mut World) {
    let at = w
        .narration
        .only()
        .emitted_at_ms
        .expect("emitted_at_ms is filled");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_millis() as u64;
    assert!(
        at <= now && now - at < 60_000,
        "emitted_at_ms {at}, now {now}"
    );
}

/// `"actor action, actor action"` as pairs.
fn pairs(list: &str) -> Vec<(&str, &str)> {
    list.split(',')
        .map(|p| p.trim().split_once(' ').expect("\"actor action\" pairs"))
        .collect()
}

#[then(expr = "the captured sequence includes {string}")]
fn sequence_includes(w: &mut World, list: String) {
    w.narration.capture.assert_sequence(&pairs(&list));
}

#[then(expr = "the captured sequence does not include {string} in that order")]
fn sequence_excludes(w: &mut World, list: String) {
    let capture = &w.narration.capture;
    let accepted = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        capture.assert_sequence(&pairs(&list))
    }));
    assert!(accepted.is_err(), "the sequence {list:?} was accepted");
}

/// The captured narration written by the log layer's formatter.
fn log_line(w: &World, format: LogFormat) -> String {
    let n = w.narration.only();
    let mut out = Vec::new();
    LogLayer::new(format).format_line(&n, &mut out);
    String::from_utf8(out).expect("log lines are UTF-8")
}

#[then(expr = "its human log line is {string}")]
fn human_line(w: &mut World, expected: String) {
    assert_eq!(log_line(w, LogFormat::Human), format!("{expected}\n"));
}

#[then(expr = "its JSON log line has the keys {string} in this order")]
fn json_keys(w: &mut World, keys: String) {
    let line = log_line(w, LogFormat::Json);
    assert!(
        line.ends_with('\n') && line.matches('\n').count() == 1,
        "one line: {line:?}"
    );
    let value: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&line).expect("the line is one JSON object");
    let want: Vec<&str> = keys.split(',').map(str::trim).collect();
    assert_eq!(value.len(), want.len(), "keys of {line}");
    // The map forgets order and duplicates: check both in the text.
    let mut last = 0;
    for key in &want {
        let quoted = format!("\"{key}\":");
        assert_eq!(
            line.matches(&quoted).count(),
            1,
            "{key} is not there exactly once: {line}"
        );
        let at = line.find(&quoted).expect("counted above");
        assert!(at >= last, "{key} is out of order: {line}");
        last = at;
    }
}

#[then(expr = "its JSON log line has {string} equal to {string}")]
fn json_value(w: &mut World, key: String, expected: String) {
    let line = log_line(w, LogFormat::Json);
    let value: serde_json::Value = serde_json::from_str(&line).expect("one JSON object");
    let got = match &value[&key] {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    assert_eq!(got, expected, "{line}");
}
