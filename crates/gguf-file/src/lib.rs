//! Read and write GGUF model files (the format of llama.cpp and ggml).
//!
//! The reader parses the header of GGUF v2/v3 files (version, every
//! metadata pair, every tensor info) with bounded allocations: every count
//! and length a file claims is checked against the bytes that really
//! remain and against fixed caps before anything is allocated, so a corrupt
//! or hostile file is an error ([`GgufError`]), never a panic or an
//! out-of-memory abort. The writer builds small GGUF v3 files (tests, the
//! tiny random-weight llama model used in examples).
//!
//! [`read_summary`] gives the handful of facts a provisioner records
//! (architecture, sizes, quantization); [`read_tensors`] lists every
//! tensor with its type, shape, absolute data offset and size;
//! [`read_header_file`] and [`read_header`] give every metadata pair and
//! tensor info.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("tiny.gguf");
//! gguf_file::write_tiny_llama(&path, gguf_file::TINY_LLAMA_SEED)?;
//!
//! let summary = gguf_file::read_summary(&path)?;
//! assert_eq!(summary.architecture.as_deref(), Some("llama"));
//! assert_eq!(summary.quantization.as_deref(), Some("F32"));
//! assert_eq!(summary.block_count, Some(2));
//! assert_eq!(summary.tensor_count, 21);
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

mod error;
mod reader;
mod serialize;
mod summary;
mod tensor;
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
pub use tensor::{GgmlType, GgufTensor, read_tensors};
pub use tiny::{TINY_LLAMA_SEED, tiny_llama_writer, write_tiny_llama};
pub use types::{GGML_TYPE_F32, GgufValueType, file_type_name, tensor_byte_size, tensor_type_name};
pub use value::{GgufArray, GgufHeader, GgufKv, GgufTensorInfo, GgufValue};
pub use writer::GgufWriter;
