//! What the writer writes, the reader reads back: every value type, tensor
//! layout and alignment, and the summary drawn from them.

use gguf_file::{GgufArray, GgufSummary, GgufValue, GgufWriter};

use crate::support::{Raw, bytes_of, parse};

fn every_value_type() -> GgufWriter {
    let mut w = GgufWriter::new();
    w.add_kv("general.architecture", GgufValue::String("llama".into()))
        .and_then(|w| w.add_kv("general.name", GgufValue::String("ünïcode ▁ name".into())))
        .and_then(|w| w.add_kv("general.file_type", GgufValue::U32(15)))
        .and_then(|w| w.add_kv("llama.context_length", GgufValue::U64(4096)))
        .and_then(|w| w.add_kv("llama.block_count", GgufValue::I32(3)))
        .and_then(|w| w.add_kv("llama.embedding_length", GgufValue::U16(8)))
        .and_then(|w| w.add_kv("t.u8", GgufValue::U8(250)))
        .and_then(|w| w.add_kv("t.i8", GgufValue::I8(-5)))
        .and_then(|w| w.add_kv("t.i16", GgufValue::I16(-300)))
        .and_then(|w| w.add_kv("t.f32", GgufValue::F32(1.5)))
        .and_then(|w| w.add_kv("t.bool", GgufValue::Bool(true)))
        .and_then(|w| w.add_kv("t.i64", GgufValue::I64(-1 << 40)))
        .and_then(|w| w.add_kv("t.f64", GgufValue::F64(-2.25)))
        .and_then(|w| w.add_kv("t.empty", GgufValue::String(String::new())))
        .and_then(|w| w.add_kv("t.arr.u8", GgufValue::Array(GgufArray::U8(vec![1, 2, 3]))))
        .and_then(|w| w.add_kv("t.arr.i8", GgufValue::Array(GgufArray::I8(vec![-1, 1]))))
        .and_then(|w| w.add_kv("t.arr.u16", GgufValue::Array(GgufArray::U16(vec![9]))))
        .and_then(|w| w.add_kv("t.arr.i16", GgufValue::Array(GgufArray::I16(vec![-9]))))
        .and_then(|w| w.add_kv("t.arr.u32", GgufValue::Array(GgufArray::U32(vec![7, 8]))))
        .and_then(|w| w.add_kv("t.arr.i32", GgufValue::Array(GgufArray::I32(vec![-7]))))
        .and_then(|w| {
            w.add_kv(
                "t.arr.f32",
                GgufValue::Array(GgufArray::F32(vec![0.5, -0.5])),
            )
        })
        .and_then(|w| {
            w.add_kv(
                "t.arr.bool",
                GgufValue::Array(GgufArray::Bool(vec![true, false])),
            )
        })
        .and_then(|w| {
            w.add_kv(
                "t.arr.u64",
                GgufValue::Array(GgufArray::U64(vec![u64::MAX])),
            )
        })
        .and_then(|w| {
            w.add_kv(
                "t.arr.i64",
                GgufValue::Array(GgufArray::I64(vec![i64::MIN])),
            )
        })
        .and_then(|w| w.add_kv("t.arr.f64", GgufValue::Array(GgufArray::F64(vec![1e300]))))
        .and_then(|w| {
            w.add_kv(
                "t.arr.str",
                GgufValue::Array(GgufArray::String(vec![
                    "a".into(),
                    "".into(),
                    "<0x0A>".into(),
                ])),
            )
        })
        .and_then(|w| w.add_kv("t.arr.empty", GgufValue::Array(GgufArray::F32(vec![]))))
        .and_then(|w| {
            w.add_kv(
                "t.arr.nested",
                GgufValue::Array(GgufArray::Array(vec![
                    GgufArray::U32(vec![1, 2]),
                    GgufArray::String(vec!["x".into()]),
                    GgufArray::Array(vec![GgufArray::I8(vec![-1])]),
                ])),
            )
        })
        .and_then(|w| w.add_tensor_f32("a.weight", &[8, 2], &[0.25; 16]))
        .and_then(|w| w.add_tensor_f32("b.weight", &[3], &[1.0, 2.0, 3.0]))
        .expect("valid writer input");
    w
}

#[test]
fn round_trip_preserves_every_value_type_and_tensor() {
    let w = every_value_type();
    let bytes = bytes_of(&w);
    let h = parse(&bytes).expect("own output parses");
    assert_eq!(h.version, 3);
    assert_eq!(h.metadata, w.metadata());
    assert_eq!(h.tensors.len(), 2);
    assert_eq!(h.tensors[0].dims, vec![8, 2]);
    assert_eq!(
        h.tensors[1].offset, 64,
        "second tensor starts at the next 32-byte boundary"
    );
    assert_eq!(h.data_offset % 32, 0);
    assert_eq!(bytes.len() % 32, 0, "the last tensor is padded too");
    let f32s: Vec<f32> = bytes[h.data_offset as usize..][..16 * 4]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    assert_eq!(f32s, vec![0.25; 16]);
}

#[test]
fn summary_widens_integer_types_and_names_the_quantization() {
    let h = parse(&bytes_of(&every_value_type())).expect("parses");
    let s = h.summary();
    assert_eq!(s.architecture.as_deref(), Some("llama"));
    assert_eq!(s.name.as_deref(), Some("ünïcode ▁ name"));
    assert_eq!(s.context_length, Some(4096));
    assert_eq!(s.block_count, Some(3));
    assert_eq!(s.embedding_length, Some(8));
    assert_eq!(s.file_type, Some(15));
    assert_eq!(s.quantization.as_deref(), Some("Q4_K_M"));
    assert_eq!(s.tensor_count, 2);
    assert_eq!(s.version, 3);
    let json = serde_json::to_string(&s).expect("serializes");
    let back: GgufSummary = serde_json::from_str(&json).expect("deserializes");
    assert_eq!(back, s);
}

#[test]
fn summary_of_a_header_without_metadata_is_all_none() {
    let raw = Raw::header(2, 0, 0);
    let s = parse(&raw.0).expect("empty v2 file parses").summary();
    assert_eq!(s.architecture, None);
    assert_eq!(s.quantization, None);
    assert_eq!((s.version, s.tensor_count, s.file_size), (2, 0, 24));
}

#[test]
fn writer_refuses_inconsistent_input() {
    let mut w = GgufWriter::new();
    assert!(w.add_kv("", GgufValue::U8(0)).is_err());
    assert!(w.add_kv("k", GgufValue::U8(0)).is_ok());
    assert!(w.add_kv("k", GgufValue::U8(1)).is_err());
    assert!(w.add_kv("general.alignment", GgufValue::U32(48)).is_err());
    assert!(w.add_tensor_f32("t", &[3, 3], &[0.0; 8]).is_err());
    assert!(w.add_tensor_f32("t", &[], &[]).is_err());
    assert!(
        w.add_tensor_raw("q", &[100], 12, vec![0; 144]).is_err(),
        "partial Q4_K block"
    );
}

#[test]
fn writer_honours_a_custom_alignment() {
    let mut w = GgufWriter::new();
    w.add_kv("general.alignment", GgufValue::U32(64))
        .and_then(|w| w.add_tensor_f32("a", &[1], &[1.0]))
        .and_then(|w| w.add_tensor_f32("b", &[1], &[2.0]))
        .expect("valid");
    let h = parse(&bytes_of(&w)).expect("parses");
    assert_eq!(h.alignment, 64);
    assert_eq!(h.data_offset % 64, 0);
    assert_eq!(h.tensors[1].offset, 64);
}
