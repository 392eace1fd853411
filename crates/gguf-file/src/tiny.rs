//! The tiny random-weight llama model: small enough to commit (~0.5 MB),
//! complete enough for a real `llama-server` to load and serve.
//!
//! Shapes and keys follow what llama.cpp requires:
//! head dimension = `rope.dimension_count`,
//! `layer_norm_rms_epsilon` present, a SentencePiece-style "llama" vocab
//! with byte-fallback tokens so that `\n` maps to `<0x0A>`.

use std::io;
use std::path::Path;

use crate::value::{GgufArray, GgufValue};
use crate::writer::GgufWriter;

/// The seed of the committed `examples/tiny-llama.gguf`.
pub const TINY_LLAMA_SEED: u64 = 0x5EED_11A3A;

const N_EMBD: u64 = 64;
const N_LAYER: u64 = 2;
const N_HEAD: u64 = 4;
const N_FF: u64 = 128;
const N_CTX: u32 = 2048;
const WEIGHT_SCALE: f32 = 0.02;

/// SentencePiece token types, as llama.cpp reads `tokenizer.ggml.token_type`.
const TOKEN_NORMAL: i32 = 1;
const TOKEN_UNKNOWN: i32 = 2;
const TOKEN_CONTROL: i32 = 3;
const TOKEN_BYTE: i32 = 6;

/// Word pieces after the control and byte tokens, best score first.
const PIECES: &[&str] = &[
    "▁", "e", "t", "a", "o", "i", "n", "s", "h", "r", "d", "l", "u", "c", "m", "w", "f", "g", "y",
    "p", "b", "v", "k", "j", "x", "q", "z", "▁t", "▁a", "he", "in", "th", "er", "on", "▁the",
    "▁hello", "▁world", ".", ",", "!", "?",
];

/// Write the tiny llama model for `seed` to `path` (atomically).
///
/// The same seed always gives the same bytes: the weights come from an
/// integer generator and exact float arithmetic, no platform math library.
pub fn write_tiny_llama(path: &Path, seed: u64) -> io::Result<()> {
    tiny_llama_writer(seed)?.write_file(path)
}

/// The tiny llama model for `seed`, ready to write anywhere.
pub fn tiny_llama_writer(seed: u64) -> io::Result<GgufWriter> {
    let mut w = GgufWriter::new();
    let (tokens, scores, types) = vocabulary();
    let n_vocab = tokens.len() as u64;
    let s = |v: &str| GgufValue::String(v.to_owned());
    w.add_kv("general.architecture", s("llama"))?
        .add_kv("general.name", s("tiny-llama"))?
        .add_kv("general.file_type", GgufValue::U32(0))?
        .add_kv("llama.vocab_size", GgufValue::U32(n_vocab as u32))?
        .add_kv("llama.context_length", GgufValue::U32(N_CTX))?
        .add_kv("llama.embedding_length", GgufValue::U32(N_EMBD as u32))?
        .add_kv("llama.block_count", GgufValue::U32(N_LAYER as u32))?
        .add_kv("llama.feed_forward_length", GgufValue::U32(N_FF as u32))?
        .add_kv(
            "llama.rope.dimension_count",
            GgufValue::U32((N_EMBD / N_HEAD) as u32),
        )?
        .add_kv("llama.attention.head_count", GgufValue::U32(N_HEAD as u32))?
        .add_kv(
            "llama.attention.head_count_kv",
            GgufValue::U32(N_HEAD as u32),
        )?
        .add_kv(
            "llama.attention.layer_norm_rms_epsilon",
            GgufValue::F32(1e-5),
        )?
        .add_kv("llama.rope.freq_base", GgufValue::F32(10_000.0))?
        .add_kv("tokenizer.ggml.model", s("llama"))?
        .add_kv(
            "tokenizer.ggml.tokens",
            GgufValue::Array(GgufArray::String(tokens)),
        )?
        .add_kv(
            "tokenizer.ggml.scores",
            GgufValue::Array(GgufArray::F32(scores)),
        )?
        .add_kv(
            "tokenizer.ggml.token_type",
            GgufValue::Array(GgufArray::I32(types)),
        )?
        .add_kv("tokenizer.ggml.bos_token_id", GgufValue::U32(1))?
        .add_kv("tokenizer.ggml.eos_token_id", GgufValue::U32(2))?
        .add_kv("tokenizer.ggml.unknown_token_id", GgufValue::U32(0))?
        .add_kv("tokenizer.ggml.add_bos_token", GgufValue::Bool(true))?
        .add_kv("tokenizer.ggml.add_eos_token", GgufValue::Bool(false))?;

    let mut rng = SplitMix64(seed);
    let ones = |n: u64| vec![1.0f32; n as usize];
    w.add_tensor_f32(
        "token_embd.weight",
        &[N_EMBD, n_vocab],
        &rng.weights(N_EMBD * n_vocab),
    )?;
    for i in 0..N_LAYER {
        let b = |t: &str| format!("blk.{i}.{t}.weight");
        w.add_tensor_f32(b("attn_norm"), &[N_EMBD], &ones(N_EMBD))?;
        for t in ["attn_q", "attn_k", "attn_v", "attn_output"] {
            w.add_tensor_f32(b(t), &[N_EMBD, N_EMBD], &rng.weights(N_EMBD * N_EMBD))?;
        }
        w.add_tensor_f32(b("ffn_norm"), &[N_EMBD], &ones(N_EMBD))?;
        w.add_tensor_f32(b("ffn_gate"), &[N_EMBD, N_FF], &rng.weights(N_EMBD * N_FF))?;
        w.add_tensor_f32(b("ffn_up"), &[N_EMBD, N_FF], &rng.weights(N_EMBD * N_FF))?;
        w.add_tensor_f32(b("ffn_down"), &[N_FF, N_EMBD], &rng.weights(N_FF * N_EMBD))?;
    }
    w.add_tensor_f32("output_norm.weight", &[N_EMBD], &ones(N_EMBD))?;
    w.add_tensor_f32(
        "output.weight",
        &[N_EMBD, n_vocab],
        &rng.weights(N_EMBD * n_vocab),
    )?;
    Ok(w)
}

/// `<unk> <s> </s>`, the 256 byte tokens, then the pieces with
/// descending scores (SentencePiece merges prefer higher scores).
fn vocabulary() -> (Vec<String>, Vec<f32>, Vec<i32>) {
    let mut tokens = vec!["<unk>".to_owned(), "<s>".to_owned(), "</s>".to_owned()];
    let mut scores = vec![0.0f32; 3];
    let mut types = vec![TOKEN_UNKNOWN, TOKEN_CONTROL, TOKEN_CONTROL];
    for byte in 0..=255u8 {
        tokens.push(format!("<0x{byte:02X}>"));
        scores.push(0.0);
        types.push(TOKEN_BYTE);
    }
    for (rank, piece) in PIECES.iter().enumerate() {
        tokens.push((*piece).to_owned());
        scores.push(-(rank as f32) - 1.0);
        types.push(TOKEN_NORMAL);
    }
    (tokens, scores, types)
}

/// splitmix64: a tiny, well-mixed generator; enough for random weights.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 24 bits: exact in f32.
    fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Roughly normal values (sum of four uniforms, centred), scaled small.
    /// Only exact-rounding float operations: identical on every platform.
    fn weights(&mut self, n: u64) -> Vec<f32> {
        (0..n)
            .map(|_| {
                let sum = self.unit() + self.unit() + self.unit() + self.unit();
                (sum - 2.0) * WEIGHT_SCALE
            })
            .collect()
    }
}
