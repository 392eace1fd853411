//! `provision`: provision llama.cpp engines and GGUF models from the command
//! line, narrating every step on stderr and printing the result on stdout.
//!
//! The binary is thin: it parses arguments, installs narration output and
//! calls the `model-provisioner` and `engine-provisioner` crates.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
