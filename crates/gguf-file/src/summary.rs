//! The handful of GGUF facts a provisioner records about a model.

use std::fs::File;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::GgufError;
use crate::reader::read_header_named;
use crate::types::file_type_name;
use crate::value::GgufHeader;

/// What a catalog row and a handoff file say about a GGUF model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GgufSummary {
    /// `general.architecture`, e.g. `llama`.
    pub architecture: Option<String>,
    /// `general.name`.
    pub name: Option<String>,
    /// `<arch>.context_length`: the training context.
    pub context_length: Option<u64>,
    /// `<arch>.block_count`: the number of layers.
    pub block_count: Option<u64>,
    /// `<arch>.embedding_length`.
    pub embedding_length: Option<u64>,
    /// `general.file_type` (llama.cpp's `llama_ftype`).
    pub file_type: Option<u32>,
    /// Human name of `file_type`, e.g. `F32`, `Q4_K_M`.
    pub quantization: Option<String>,
    /// Number of tensors in the file.
    pub tensor_count: u64,
    /// GGUF format version (2 or 3).
    pub version: u32,
    /// File size in bytes.
    pub file_size: u64,
}

impl GgufHeader {
    /// The summary of this header.
    pub fn summary(&self) -> GgufSummary {
        let architecture = self.get_str("general.architecture").map(str::to_owned);
        let arch_key = |suffix: &str| {
            architecture
                .as_deref()
                .and_then(|arch| self.get_u64(&format!("{arch}.{suffix}")))
        };
        let file_type = self
            .get_u64("general.file_type")
            .and_then(|v| u32::try_from(v).ok());
        GgufSummary {
            name: self.get_str("general.name").map(str::to_owned),
            context_length: arch_key("context_length"),
            block_count: arch_key("block_count"),
            embedding_length: arch_key("embedding_length"),
            file_type,
            quantization: file_type.and_then(file_type_name).map(str::to_owned),
            tensor_count: self.tensor_count,
            version: self.version,
            file_size: self.file_size,
            architecture,
        }
    }
}

/// Read the GGUF header of the file at `path` and summarize it.
///
/// Refuses non-GGUF files ([`GgufError::NotGguf`]), v1 and big-endian files,
/// truncated files (including files cut off inside their tensor data), and
/// corrupt headers, with an error naming the file; never panics and never
/// allocates more than the file's own size suggests.
pub fn read_summary(path: &Path) -> Result<GgufSummary, GgufError> {
    Ok(read_header_file(path)?.summary())
}

/// Read the whole GGUF header (every metadata pair and tensor info) of the
/// file at `path`, with errors naming it.
pub fn read_header_file(path: &Path) -> Result<GgufHeader, GgufError> {
    let file = File::open(path).map_err(|source| GgufError::Io {
        file: path.to_path_buf(),
        source,
    })?;
    read_header_named(file, path)
}
