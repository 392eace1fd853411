//! GGUF: read the header and metadata of GGUF v2/v3 model files with
//! bounded allocations, and write small GGUF files (tests, the README's
//! tiny model).
//!
//! [`read_summary`] is what a provisioner needs (architecture, sizes,
//! quantization); [`read_header`] gives every metadata pair and tensor info.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use model_provisioner::gguf;
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("tiny.gguf");
//! gguf::write_tiny_llama(&path, gguf::TINY_LLAMA_SEED)?;
//! let summary = gguf::read_summary(&path)?;
//! assert_eq!(summary.architecture.as_deref(), Some("llama"));
//! assert_eq!(summary.quantization.as_deref(), Some("F32"));
//! assert_eq!(summary.block_count, Some(2));
//! # Ok(()) }
//! ```

mod error;
mod reader;
mod summary;
mod tiny;
mod types;
mod value;
mod writer;

pub use error::GgufError;
pub use reader::{
    DEFAULT_ALIGNMENT, GGUF_MAGIC, MAX_ARRAY_DEPTH, MAX_ARRAY_LEN, MAX_DIMS, MAX_HEADER_BYTES,
    MAX_KEY_LEN, MAX_KV_COUNT, MAX_STRING_LEN, MAX_TENSOR_COUNT, read_header,
};
pub use summary::{GgufSummary, read_header_file, read_summary};
pub use tiny::{TINY_LLAMA_SEED, tiny_llama_writer, write_tiny_llama};
pub use types::{GGML_TYPE_F32, GgufValueType, file_type_name, tensor_byte_size, tensor_type_name};
pub use value::{GgufArray, GgufHeader, GgufKv, GgufTensorInfo, GgufValue};
pub use writer::GgufWriter;

#[cfg(test)]
mod tests;
