//! Unit tests for the GGUF reader and writer (Python interop lives in the
//! crate's `tests/gguf_python.rs`).

use std::io::Cursor;

use super::*;

fn bytes_of(w: &GgufWriter) -> Vec<u8> {
    let mut out = Vec::new();
    w.write_to(&mut out).expect("write to memory");
    out
}

fn parse(bytes: &[u8]) -> Result<GgufHeader, GgufError> {
    read_header(Cursor::new(bytes))
}

/// Hand-built header bytes, for inputs the writer refuses to produce.
#[derive(Default)]
struct Raw(Vec<u8>);

impl Raw {
    fn header(version: u32, tensors: u64, kvs: u64) -> Self {
        let mut r = Raw(b"GGUF".to_vec());
        r.u32(version).u64(tensors).u64(kvs);
        r
    }
    fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn u64(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn str(&mut self, s: &[u8]) -> &mut Self {
        self.u64(s.len() as u64);
        self.0.extend_from_slice(s);
        self
    }
    fn raw(&mut self, b: &[u8]) -> &mut Self {
        self.0.extend_from_slice(b);
        self
    }
}

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
    assert_eq!(h.metadata, w.metadata_for_tests());
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
fn truncation_at_every_header_offset_is_an_error_not_a_panic() {
    let bytes = bytes_of(&tiny_llama_writer(7).expect("tiny model"));
    let full = parse(&bytes).expect("full file parses");
    for cut in 0..full.data_offset as usize {
        let err = parse(&bytes[..cut]).expect_err("a cut header must fail");
        if cut < 4 {
            assert!(err.is_not_gguf(), "cut {cut}: {err}");
        } else {
            assert_eq!(err.kind(), "gguf-truncated", "cut {cut}: {err}");
        }
    }
}

#[test]
fn truncation_inside_tensor_data_is_reported() {
    let bytes = bytes_of(&tiny_llama_writer(7).expect("tiny model"));
    let full = parse(&bytes).expect("full file parses");
    let mut cut = full.data_offset as usize;
    while cut < bytes.len() - 32 {
        let err = parse(&bytes[..cut]).expect_err("cut in data must fail");
        assert_eq!(err.kind(), "gguf-truncated", "cut {cut}: {err}");
        assert!(err.to_string().contains("data of tensor"), "{err}");
        cut += 997;
    }
    // The padding after the last tensor is not data: cutting it is fine.
    let last = full.tensors.last().expect("tensors");
    let size =
        tensor_byte_size(last.ggml_type, last.element_count().expect("count")).expect("size");
    let end = (full.data_offset + last.offset + size) as usize;
    assert!(parse(&bytes[..end]).is_ok());
    assert!(parse(&bytes[..end - 1]).is_err());
}

#[test]
fn huge_array_count_is_refused_before_allocating() {
    let mut raw = Raw::header(3, 0, 1);
    raw.str(b"tokenizer.ggml.tokens").u32(9).u32(8).u64(1 << 60);
    let err = parse(&raw.0).expect_err("2^60 strings");
    assert_eq!(err.kind(), "gguf-too-large", "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("array length") && msg.contains("tokenizer.ggml.tokens"),
        "{msg}"
    );

    // Under the cap but more than the file could hold: truncated.
    let mut raw = Raw::header(3, 0, 1);
    raw.str(b"k").u32(9).u32(0).u64(1 << 20);
    assert_eq!(
        parse(&raw.0)
            .expect_err("1 MiB of u8 in a tiny file")
            .kind(),
        "gguf-truncated"
    );
}

#[test]
fn huge_string_and_key_lengths_are_refused() {
    let mut raw = Raw::header(3, 0, 1);
    raw.str(b"general.name").u32(8).u64(1 << 62);
    let err = parse(&raw.0).expect_err("huge string");
    assert_eq!(err.kind(), "gguf-too-large", "{err}");

    let mut raw = Raw::header(3, 0, 1);
    raw.u64(u64::MAX).raw(&[0; 64]);
    assert_eq!(
        parse(&raw.0).expect_err("huge key").kind(),
        "gguf-too-large"
    );

    let mut raw = Raw::header(3, 0, 1);
    raw.str(b"k").u32(8).u64(1000).raw(b"short");
    assert_eq!(
        parse(&raw.0).expect_err("string past the end").kind(),
        "gguf-truncated"
    );
}

#[test]
fn huge_tensor_and_kv_counts_are_refused() {
    assert_eq!(
        parse(&Raw::header(3, u64::MAX, 0).0)
            .expect_err("tensors")
            .kind(),
        "gguf-too-large"
    );
    assert_eq!(
        parse(&Raw::header(3, 0, 1 << 40).0)
            .expect_err("kvs")
            .kind(),
        "gguf-too-large"
    );
    assert_eq!(
        parse(&Raw::header(3, 1000, 0).0)
            .expect_err("tensors")
            .kind(),
        "gguf-truncated"
    );
}

#[test]
fn deeply_nested_arrays_are_refused() {
    let mut raw = Raw::header(3, 0, 1);
    raw.str(b"deep").u32(9);
    for _ in 0..=MAX_ARRAY_DEPTH {
        raw.u32(9).u64(1);
    }
    raw.u32(0).u64(0);
    let err = parse(&raw.0).expect_err("too deep");
    assert_eq!(err.kind(), "gguf-too-large", "{err}");
    assert!(err.to_string().contains("nesting"), "{err}");
}

#[test]
fn unknown_value_types_are_named() {
    let mut raw = Raw::header(3, 0, 1);
    raw.str(b"general.weird").u32(13).u32(0);
    let err = parse(&raw.0).expect_err("type 13");
    assert!(
        matches!(err, GgufError::UnknownValueType { type_id: 13, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("general.weird"), "{err}");

    let mut raw = Raw::header(3, 0, 1);
    raw.str(b"arr").u32(9).u32(99).u64(1);
    let err = parse(&raw.0).expect_err("array of type 99");
    assert!(
        matches!(err, GgufError::UnknownValueType { type_id: 99, .. }),
        "{err:?}"
    );
}

#[test]
fn bad_utf8_in_keys_and_values_is_refused() {
    let mut raw = Raw::header(3, 0, 1);
    raw.str(b"bad\xffkey").u32(4).u32(1);
    let err = parse(&raw.0).expect_err("bad key");
    assert_eq!(err.kind(), "gguf-bad-utf8", "{err}");

    let mut raw = Raw::header(3, 0, 1);
    raw.str(b"general.name").u32(8).str(b"\xc3\x28");
    let err = parse(&raw.0).expect_err("bad value");
    assert_eq!(err.kind(), "gguf-bad-utf8", "{err}");
    assert!(err.to_string().contains("general.name"), "{err}");

    let mut raw = Raw::header(3, 1, 0);
    raw.str(b"\x80").u32(1).u64(1).u32(0).u64(0);
    assert_eq!(
        parse(&raw.0).expect_err("bad tensor name").kind(),
        "gguf-bad-utf8"
    );
}

#[test]
fn non_gguf_and_unsupported_versions_are_refused_clearly() {
    let err = parse(b"\x7fELF\x02\x01\x01\x00 not a model").expect_err("ELF");
    assert!(err.is_not_gguf());
    assert!(err.to_string().contains("\\x7fELF"), "{err}");
    assert!(
        parse(b"")
            .expect_err("empty")
            .to_string()
            .contains("empty file")
    );

    let err = parse(&Raw::header(1, 0, 0).0).expect_err("v1");
    assert!(
        matches!(err, GgufError::UnsupportedVersion { version: 1, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("v1"), "{err}");

    let err = parse(&Raw::header(3u32.swap_bytes(), 0, 0).0).expect_err("big-endian");
    assert!(err.to_string().contains("big-endian"), "{err}");

    let err = parse(&Raw::header(4, 0, 0).0).expect_err("v4");
    assert!(err.to_string().contains("newer"), "{err}");
}

#[test]
fn structural_corruption_is_refused() {
    let mut raw = Raw::header(3, 0, 2);
    raw.str(b"k").u32(4).u32(1).str(b"k").u32(4).u32(2);
    assert!(
        parse(&raw.0)
            .expect_err("dup")
            .to_string()
            .contains("duplicate key")
    );

    let mut raw = Raw::header(3, 0, 1);
    raw.str(b"b").u32(7).raw(&[2]);
    assert_eq!(parse(&raw.0).expect_err("bool 2").kind(), "gguf-corrupt");

    let mut raw = Raw::header(3, 0, 1);
    raw.str(b"general.alignment").u32(4).u32(24);
    assert!(
        parse(&raw.0)
            .expect_err("align 24")
            .to_string()
            .contains("power of two")
    );

    let mut raw = Raw::header(3, 1, 0);
    raw.str(b"t").u32(5).raw(&[0; 64]);
    assert_eq!(parse(&raw.0).expect_err("5 dims").kind(), "gguf-too-large");

    let mut raw = Raw::header(3, 1, 0);
    raw.str(b"t").u32(1).u64(4).u32(0).u64(3);
    assert!(
        parse(&raw.0)
            .expect_err("misaligned")
            .to_string()
            .contains("alignment")
    );

    let mut raw = Raw::header(3, 1, 0);
    raw.str(b"t").u32(2).u64(u64::MAX).u64(4).u32(0).u64(0);
    assert!(
        parse(&raw.0)
            .expect_err("overflow")
            .to_string()
            .contains("overflows")
    );
}

#[test]
fn errors_from_read_summary_name_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("missing.gguf");
    let err = read_summary(&missing).expect_err("missing");
    assert_eq!(err.kind(), "gguf-io");
    assert!(err.to_string().contains("missing.gguf"), "{err}");

    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "hello world").expect("write");
    let err = read_summary(&text).expect_err("text");
    assert!(err.is_not_gguf());
    assert_eq!(err.file(), text.as_path());
    assert!(err.to_string().contains("notes.txt"), "{err}");
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

#[test]
fn tiny_llama_has_the_shape_llama_cpp_needs() {
    let w = tiny_llama_writer(TINY_LLAMA_SEED).expect("tiny");
    let bytes = bytes_of(&w);
    let h = parse(&bytes).expect("parses");
    let s = h.summary();
    assert_eq!(s.architecture.as_deref(), Some("llama"));
    assert_eq!(
        (s.context_length, s.block_count, s.embedding_length),
        (Some(2048), Some(2), Some(64))
    );
    assert_eq!(s.quantization.as_deref(), Some("F32"));
    assert_eq!(h.get_u64("llama.rope.dimension_count"), Some(16));
    assert_eq!(h.get_u64("llama.attention.head_count"), Some(4));
    assert!(matches!(
        h.get("llama.attention.layer_norm_rms_epsilon"),
        Some(GgufValue::F32(_))
    ));
    assert_eq!(h.get_str("tokenizer.ggml.model"), Some("llama"));
    let Some(GgufValue::Array(GgufArray::String(tokens))) = h.get("tokenizer.ggml.tokens") else {
        panic!("tokens array missing");
    };
    assert_eq!(tokens.len(), 300);
    assert_eq!(&tokens[..3], ["<unk>", "<s>", "</s>"]);
    assert_eq!(tokens[3 + 0x0A], "<0x0A>");
    let Some(GgufValue::Array(GgufArray::I32(types))) = h.get("tokenizer.ggml.token_type") else {
        panic!("token types missing");
    };
    assert!(
        types[3..259].iter().all(|&t| t == 6),
        "byte tokens typed BYTE"
    );
    let Some(GgufValue::Array(GgufArray::F32(scores))) = h.get("tokenizer.ggml.scores") else {
        panic!("scores missing");
    };
    assert!(
        scores[259..].windows(2).all(|p| p[0] > p[1]),
        "pieces have descending scores"
    );
    assert_eq!(s.tensor_count, 3 + 9 * 2);
    assert!(
        (400_000..600_000).contains(&bytes.len()),
        "{} bytes",
        bytes.len()
    );
}

#[test]
fn tiny_llama_is_deterministic_per_seed() {
    let a = bytes_of(&tiny_llama_writer(1).expect("tiny"));
    let b = bytes_of(&tiny_llama_writer(1).expect("tiny"));
    let c = bytes_of(&tiny_llama_writer(2).expect("tiny"));
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[cfg(unix)]
#[test]
fn write_file_leaves_a_world_readable_model_and_no_temp_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("m.gguf");
    write_tiny_llama(&path, 3).expect("write");
    let mode = std::fs::metadata(&path)
        .expect("metadata")
        .permissions()
        .mode();
    assert_eq!(mode & 0o644, 0o644, "mode {mode:o}");
    let entries = std::fs::read_dir(dir.path()).expect("read_dir").count();
    assert_eq!(entries, 1, "only the model is left");
}

#[test]
fn random_header_corruption_never_panics() {
    let bytes = bytes_of(&tiny_llama_writer(11).expect("tiny model"));
    let header_len = parse(&bytes).expect("parses").data_offset as usize;
    // splitmix64, inline: deterministic corruption patterns.
    let mut state = 0x1234_5678_9abc_def0u64;
    let mut next = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let (mut failures, mut parsed) = (0, 0);
    let mut corrupt = bytes.clone();
    for _ in 0..3000 {
        corrupt.copy_from_slice(&bytes);
        for _ in 0..=(next() % 4) {
            let at = 4 + (next() as usize % (header_len - 4));
            corrupt[at] = next() as u8;
        }
        match parse(&corrupt) {
            Ok(_) => parsed += 1,
            Err(_) => failures += 1,
        }
    }
    // Hits in float values or token text still parse; hits in lengths,
    // counts and types are refused. None may panic or abort.
    assert!(
        failures > 100 && parsed > 100,
        "{failures} refused, {parsed} parsed"
    );
}
