//! No string field of any narration can carry a secret: a canary goes
//! through every field, in every form a secret takes, and must not come out
//! of the capture adapter or the log layer.

use narration_core::{CaptureAdapter, NarrationFields, REDACTED, field_value, narrate};

/// Each form puts the canary where a real secret would be.
const FORMS: &[&str] = &[
    "hf_CANARYabc123xyz",
    "Bearer CANARYabc123xyz",
    "Authorization: Basic CANARYabc123xyz",
    "https://user:CANARYabc123xyz@example.com/x",
    "https://example.com/f?token=CANARYabc123xyz&x=1",
    "https://example.com/f?access_token=CANARYabc123xyz",
    "https://example.com/f?X-Amz-Signature=CANARYabc123xyz",
    "https://example.com/f?sig=CANARYabc123xyz",
    "api_key=CANARYabc123xyz",
    "password: CANARYabc123xyz",
    "HF_TOKEN=CANARYabc123xyz",
    "secret=CANARYabc123xyz",
];

const CANARY: &str = "CANARYabc123xyz";

/// Puts a value into one string field.
type Setter = fn(&mut NarrationFields, String);

/// The names of every string field of `NarrationFields`, with a setter.
fn string_fields() -> Vec<(&'static str, Setter)> {
    vec![
        ("target", |f, v| f.target = v),
        ("human", |f, v| f.human = v),
        ("correlation_id", |f, v| f.correlation_id = Some(v)),
        ("session_id", |f, v| f.session_id = Some(v)),
        ("job_id", |f, v| f.job_id = Some(v)),
        ("task_id", |f, v| f.task_id = Some(v)),
        ("pool_id", |f, v| f.pool_id = Some(v)),
        ("replica_id", |f, v| f.replica_id = Some(v)),
        ("worker_id", |f, v| f.worker_id = Some(v)),
        ("error_kind", |f, v| f.error_kind = Some(v)),
        ("engine", |f, v| f.engine = Some(v)),
        ("engine_version", |f, v| f.engine_version = Some(v)),
        ("model_ref", |f, v| f.model_ref = Some(v)),
        ("device", |f, v| f.device = Some(v)),
        ("emitted_by", |f, v| f.emitted_by = Some(v)),
        ("trace_id", |f, v| f.trace_id = Some(v)),
        ("span_id", |f, v| f.span_id = Some(v)),
        ("parent_span_id", |f, v| f.parent_span_id = Some(v)),
        ("source_location", |f, v| f.source_location = Some(v)),
    ]
}

#[test]
fn the_field_list_covers_every_string_field() {
    // Serialize a narration with every Option set; each string-valued key
    // must be in string_fields(), so a new field cannot skip this test.
    let mut all = NarrationFields {
        actor: "a",
        action: "b",
        ..Default::default()
    };
    for (_, set) in string_fields() {
        set(&mut all, "x".into());
    }
    let value = serde_json::to_value(&all).unwrap();
    let names: Vec<&str> = string_fields().iter().map(|(n, _)| *n).collect();
    for (key, v) in value.as_object().unwrap() {
        if v.is_string() && key != "actor" && key != "action" {
            assert!(
                names.contains(&key.as_str()),
                "string field {key} is not pushed through the canary test"
            );
        }
    }
    assert_eq!(
        names.len(),
        value.as_object().unwrap().len() - 2,
        "every string field is set"
    );
}

#[test]
fn a_canary_secret_in_any_field_never_reaches_a_capture() {
    let capture = CaptureAdapter::install();
    let mut pushed = 0;
    for (name, set) in string_fields() {
        for form in FORMS {
            let mut fields = NarrationFields {
                actor: "canary-test",
                action: "probe",
                ..Default::default()
            };
            set(&mut fields, format!("before {form} after"));
            narrate(fields);
            pushed += 1;
            let captured = capture.captured();
            let n = captured.last().unwrap();
            let value = field_value(n, name).unwrap_or_default();
            assert!(
                !value.contains(CANARY),
                "{name} carried the canary from {form:?}: {value:?}"
            );
            assert!(
                value.contains(REDACTED),
                "{name}: {form:?} was not marked redacted: {value:?}"
            );
            let whole = serde_json::to_string(n).unwrap();
            assert!(!whole.contains(CANARY), "{whole}");
        }
    }
    assert_eq!(capture.captured().len(), pushed);
}
