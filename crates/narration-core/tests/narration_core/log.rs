//! The log adapter: exact human lines, JSON shape, pass-through of other
//! events, span inheritance, and redaction in what is written.

use narration_core::{LogFormat, LogLayer, NarrationFields, narrate};
use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

/// An in-memory log sink shared between the layer and the test.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Buffer {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

impl io::Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Buffer {
    type Writer = Buffer;
    fn make_writer(&'a self) -> Buffer {
        self.clone()
    }
}

/// Run `f` under a subscriber holding one log layer; return what it wrote.
fn logged(format: LogFormat, timestamps: bool, f: impl FnOnce()) -> String {
    let buffer = Buffer::default();
    let layer = LogLayer::new(format)
        .with_timestamps(timestamps)
        .with_writer(buffer.clone());
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), f);
    buffer.text()
}

fn resolve() -> NarrationFields {
    NarrationFields {
        actor: "model-provisioner",
        action: "resolve",
        target: "file:/m.gguf".into(),
        human: "Resolving model reference: file:/m.gguf".into(),
        ..Default::default()
    }
}

#[test]
fn human_line_is_exactly_actor_action_human() {
    let out = logged(LogFormat::Human, false, || narrate(resolve()));
    assert_eq!(
        out,
        "[model-provisioner] resolve: Resolving model reference: file:/m.gguf\n"
    );
}

#[test]
fn human_line_with_timestamp_has_an_rfc3339_prefix() {
    let out = logged(LogFormat::Human, true, || narrate(resolve()));
    let (stamp, rest) = out.split_once(' ').unwrap();
    assert_eq!(
        rest,
        "[model-provisioner] resolve: Resolving model reference: file:/m.gguf\n"
    );
    assert!(
        stamp.len() >= 20 && stamp.ends_with('Z') && stamp.as_bytes()[10] == b'T',
        "{stamp}"
    );
    assert!(stamp.starts_with("20"), "{stamp}");
}

#[test]
fn a_human_text_with_line_breaks_stays_on_one_line() {
    let out = logged(LogFormat::Human, false, || {
        narrate(NarrationFields {
            actor: "a",
            action: "b",
            human: "one\ntwo\r\nthree".into(),
            ..Default::default()
        })
    });
    assert_eq!(out, "[a] b: one two  three\n");
}

/// The keys of one JSON object, in order, duplicates kept.
struct Keys(Vec<String>);

impl<'de> Deserialize<'de> for Keys {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Keys;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Keys, A::Error> {
                let mut keys = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    map.next_value::<IgnoredAny>()?;
                    keys.push(key);
                }
                Ok(Keys(keys))
            }
        }
        d.deserialize_map(V)
    }
}

#[test]
fn json_lines_have_stable_names_every_set_field_and_no_duplicate_keys() {
    let out = logged(LogFormat::Json, false, || {
        narrate(NarrationFields {
            pool_id: Some("pool-a".into()),
            bytes: Some(1024),
            total_bytes: Some(4096),
            duration_ms: Some(12),
            error_kind: Some("none".into()),
            ..resolve()
        });
        narrate(NarrationFields {
            action: "download-failed",
            ..resolve()
        });
    });
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "one object per line:\n{out}");

    let keys = serde_json::from_str::<Keys>(lines[0]).unwrap().0;
    assert_eq!(
        keys,
        [
            "level",
            "actor",
            "action",
            "target",
            "human",
            "pool_id",
            "error_kind",
            "duration_ms",
            "bytes",
            "total_bytes",
            "emitted_by",
            "emitted_at_ms"
        ]
    );
    let v: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(v["level"], "INFO");
    assert_eq!(v["actor"], "model-provisioner");
    assert_eq!(v["action"], "resolve");
    assert_eq!(v["target"], "file:/m.gguf");
    assert_eq!(v["human"], "Resolving model reference: file:/m.gguf");
    assert_eq!(v["bytes"], 1024, "numbers stay numbers");
    assert_eq!(v["total_bytes"], 4096);
    assert!(v["emitted_at_ms"].as_u64().unwrap() > 1_600_000_000_000);
    assert!(
        v.get("narration_target").is_none(),
        "the internal field name never leaks"
    );

    let failed: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
    assert_eq!(failed["level"], "ERROR");
}

/// Counts every event it sees: stands for the user's own layers.
#[derive(Clone, Default)]
struct Counter(Arc<AtomicUsize>);

impl<S: tracing::Subscriber> Layer<S> for Counter {
    fn on_event(&self, _: &tracing::Event<'_>, _: Context<'_, S>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn other_tracing_events_are_left_to_the_other_layers() {
    let buffer = Buffer::default();
    let counter = Counter::default();
    let subscriber = tracing_subscriber::registry()
        .with(LogLayer::new(LogFormat::Json).with_writer(buffer.clone()))
        .with(counter.clone());
    tracing::subscriber::with_default(subscriber, || {
        tracing::info!(target: "my_app", answer = 42, "not a narration");
        tracing::warn!("neither is this");
        narrate(resolve());
    });
    assert_eq!(
        counter.0.load(Ordering::SeqCst),
        3,
        "the user's layer sees every event"
    );
    assert_eq!(
        buffer.text().lines().count(),
        1,
        "the log layer writes only the narration"
    );
}

#[test]
fn json_lines_carry_correlation_inherited_from_spans() {
    let out = logged(LogFormat::Json, false, || {
        let span = tracing::info_span!(
            "ensure_present",
            correlation_id = "corr-9",
            pool_id = "pool-z"
        );
        span.in_scope(|| narrate(resolve()));
    });
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["correlation_id"], "corr-9");
    assert_eq!(v["pool_id"], "pool-z");
}

#[test]
fn written_lines_carry_no_secret() {
    let out = logged(LogFormat::Json, false, || {
        narrate(NarrationFields {
            target: "https://user:pw-canary@host/f?token=tok-canary".into(),
            human: "Authorization: Bearer hf_canaryCANARYcanary".into(),
            ..resolve()
        })
    });
    for secret in ["pw-canary", "tok-canary", "hf_canaryCANARYcanary"] {
        assert!(!out.contains(secret), "{secret} in {out}");
    }
}
