//! Integration tests of the `gguf-file` crate, through its public API.

mod hostile;
mod json;
mod python;
mod round_trip;
mod support;
mod tensors;
mod tiny_llama;
