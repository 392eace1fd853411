//! The committed `examples/tiny-llama.gguf` is exactly what
//! `write_tiny_llama(TINY_LLAMA_SEED)` writes, so the README's digest stays
//! true and anyone can regenerate the file
//! (`cargo run --example write-tiny-llama`).

use std::path::PathBuf;

use model_provisioner::gguf::{TINY_LLAMA_SEED, read_summary, write_tiny_llama};

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
