//! Truncated, corrupt and hostile files are refused with an error that
//! names what is wrong, before anything they claim is allocated.

use gguf_file::{GgufError, MAX_ARRAY_DEPTH, read_summary, tensor_byte_size, tiny_llama_writer};

use crate::support::{Raw, bytes_of, parse};

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
