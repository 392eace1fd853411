//! Metadata as JSON: values keep their types, and NaN and infinities come
//! out as "NaN", "inf" and "-inf" instead of a `null` that loses them.

use gguf_file::{GgufArray, GgufValue, GgufWriter};
use serde_json::{Map, Value, json};

use crate::support::{bytes_of, parse};

/// The metadata of `w`, written and read back, as one JSON object.
fn metadata_json(w: &GgufWriter) -> Map<String, Value> {
    let header = parse(&bytes_of(w)).expect("own output parses");
    header
        .metadata
        .iter()
        .map(|kv| {
            let value = serde_json::to_value(&kv.value).expect("metadata serializes");
            (kv.key.clone(), value)
        })
        .collect()
}

#[test]
fn non_finite_float_metadata_serializes_as_named_strings() {
    let mut w = GgufWriter::new();
    w.add_kv("f32.nan", GgufValue::F32(f32::NAN))
        .and_then(|w| w.add_kv("f32.inf", GgufValue::F32(f32::INFINITY)))
        .and_then(|w| w.add_kv("f32.neg_inf", GgufValue::F32(f32::NEG_INFINITY)))
        .and_then(|w| w.add_kv("f64.nan", GgufValue::F64(f64::NAN)))
        .and_then(|w| w.add_kv("f64.inf", GgufValue::F64(f64::INFINITY)))
        .and_then(|w| w.add_kv("f64.neg_inf", GgufValue::F64(f64::NEG_INFINITY)))
        .and_then(|w| w.add_kv("f32.finite", GgufValue::F32(-0.5)))
        .and_then(|w| w.add_kv("f64.finite", GgufValue::F64(1e300)))
        .expect("valid writer input");
    let got = metadata_json(&w);
    assert_eq!(got["f32.nan"], json!("NaN"));
    assert_eq!(got["f32.inf"], json!("inf"));
    assert_eq!(got["f32.neg_inf"], json!("-inf"));
    assert_eq!(got["f64.nan"], json!("NaN"));
    assert_eq!(got["f64.inf"], json!("inf"));
    assert_eq!(got["f64.neg_inf"], json!("-inf"));
    assert_eq!(got["f32.finite"], json!(-0.5));
    assert_eq!(got["f64.finite"], json!(1e300));
}

#[test]
fn non_finite_floats_inside_arrays_serialize_as_named_strings() {
    let mut w = GgufWriter::new();
    w.add_kv(
        "scores",
        GgufValue::Array(GgufArray::F32(vec![
            0.25,
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
        ])),
    )
    .and_then(|w| {
        w.add_kv(
            "nested",
            GgufValue::Array(GgufArray::Array(vec![GgufArray::F64(vec![
                f64::NEG_INFINITY,
                2.0,
            ])])),
        )
    })
    .expect("valid writer input");
    let got = metadata_json(&w);
    assert_eq!(got["scores"], json!([0.25, "NaN", "inf", "-inf"]));
    assert_eq!(got["nested"], json!([["-inf", 2.0]]));
}

#[test]
fn every_other_value_serializes_as_its_plain_json_form() {
    let mut w = GgufWriter::new();
    w.add_kv("u8", GgufValue::U8(250))
        .and_then(|w| w.add_kv("i64", GgufValue::I64(-1 << 40)))
        .and_then(|w| w.add_kv("u64", GgufValue::U64(u64::MAX)))
        .and_then(|w| w.add_kv("bool", GgufValue::Bool(true)))
        .and_then(|w| w.add_kv("str", GgufValue::String("▁hello".into())))
        .and_then(|w| {
            w.add_kv(
                "tokens",
                GgufValue::Array(GgufArray::String(vec!["<s>".into(), "</s>".into()])),
            )
        })
        .and_then(|w| w.add_kv("flags", GgufValue::Array(GgufArray::Bool(vec![false]))))
        .expect("valid writer input");
    let got = metadata_json(&w);
    assert_eq!(
        Value::Object(got),
        json!({
            "u8": 250,
            "i64": -1_099_511_627_776_i64,
            "u64": u64::MAX,
            "bool": true,
            "str": "▁hello",
            "tokens": ["<s>", "</s>"],
            "flags": [false],
        })
    );
}

#[test]
fn finite_f32_metadata_of_the_tiny_model_stays_a_number() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("tiny.gguf");
    gguf_file::write_tiny_llama(&path, gguf_file::TINY_LLAMA_SEED).expect("write");
    let header = gguf_file::read_header_file(&path).expect("parses");
    let eps = header
        .get("llama.attention.layer_norm_rms_epsilon")
        .expect("epsilon present");
    let eps = serde_json::to_value(eps).expect("serializes");
    assert!(
        (eps.as_f64().expect("a number") - 1e-5).abs() < 1e-9,
        "{eps}"
    );
}
