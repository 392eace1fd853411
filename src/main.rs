//! `provision`: provision llama.cpp engines and GGUF models from the command line.

fn main() {}
