//! The tiny llama model: it has the shape llama.cpp needs, the same seed
//! gives the same bytes, and the committed `examples/tiny-llama.gguf` is
//! exactly what `write_tiny_llama(TINY_LLAMA_SEED)` writes, so the README's
//! digest stays true and anyone can regenerate the file
//! (`cargo run --example write-tiny-llama`).

use std::path::PathBuf;

use gguf_file::{
    GgufArray, GgufValue, TINY_LLAMA_SEED, read_summary, tiny_llama_writer, write_tiny_llama,
};

use crate::support::{bytes_of, parse};

fn committed() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/tiny-llama.gguf")
}

#[test]
fn committed_tiny_llama_is_reproduced_byte_for_byte() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fresh = dir.path().join("tiny-llama.gguf");
    write_tiny_llama(&fresh, TINY_LLAMA_SEED).expect("write");
    let want = std::fs::read(committed()).expect("examples/tiny-llama.gguf is committed");
    let got = std::fs::read(&fresh).expect("read fresh");
    assert_eq!(got.len(), want.len(), "size differs");
    assert!(
        got == want,
        "bytes differ: regenerate with `cargo run --example write-tiny-llama`"
    );
}

#[test]
fn committed_tiny_llama_summary() {
    let s = read_summary(&committed()).expect("parses");
    assert_eq!(s.architecture.as_deref(), Some("llama"));
    assert_eq!(s.name.as_deref(), Some("tiny-llama"));
    assert_eq!(s.context_length, Some(2048));
    assert_eq!(s.block_count, Some(2));
    assert_eq!(s.embedding_length, Some(64));
    assert_eq!(s.quantization.as_deref(), Some("F32"));
    assert_eq!(s.tensor_count, 21);
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
