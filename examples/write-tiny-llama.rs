//! Regenerate `examples/tiny-llama.gguf`, the README's tiny model:
//!
//! ```text
//! cargo run --example write-tiny-llama -- examples/tiny-llama.gguf
//! ```
//!
//! The output is byte-for-byte identical for the same seed (a test in
//! model-provisioner checks the committed copy against it).

use std::path::PathBuf;
use std::process::ExitCode;

use model_provisioner::gguf::{TINY_LLAMA_SEED, write_tiny_llama};

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let path = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("examples/tiny-llama.gguf"));
    let seed = match args.next().map(|s| s.to_string_lossy().parse::<u64>()) {
        None => TINY_LLAMA_SEED,
        Some(Ok(seed)) => seed,
        Some(Err(e)) => {
            eprintln!("write-tiny-llama: the seed must be an unsigned integer: {e}");
            return ExitCode::from(2);
        }
    };
    match write_tiny_llama(&path, seed) {
        Ok(()) => {
            println!("{}", path.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("write-tiny-llama: cannot write {}: {e}", path.display());
            ExitCode::FAILURE
        }
    }
}
