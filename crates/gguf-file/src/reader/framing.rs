//! The fixed start of a GGUF file (magic, version, counts) and the
//! alignment that places the tensor data after the header.

use std::io::Read;

use super::diagnostics::escape_bytes;
use super::{DEFAULT_ALIGNMENT, GGUF_MAGIC, MAX_KV_COUNT, MAX_TENSOR_COUNT, Parser};
use crate::error::GgufError;
use crate::value::{GgufKv, GgufValue};

/// What the first 24 bytes of a GGUF file declare.
pub(super) struct Framing {
    pub(super) version: u32,
    pub(super) tensor_count: u64,
    pub(super) kv_count: u64,
}

impl<R: Read> Parser<R> {
    /// Magic, version, tensor count and metadata pair count, each checked.
    pub(super) fn framing(&mut self) -> Result<Framing, GgufError> {
        let magic = self.magic()?;
        if magic != GGUF_MAGIC {
            return Err(GgufError::NotGguf {
                file: self.file.clone(),
                found: escape_bytes(&magic),
            });
        }
        let version = self.u32("version")?;
        self.check_version(version)?;

        let tensor_count = self.u64("tensor count")?;
        let kv_count = self.u64("metadata pair count")?;
        // A tensor info takes at least 8 (name len) + 4 (n_dims) + 4 (type)
        // + 8 (offset) bytes; a metadata pair 8 (key len) + 4 (type) + 1.
        self.check_count("tensor count", tensor_count, MAX_TENSOR_COUNT, 24, 16)?;
        self.check_count("metadata pair count", kv_count, MAX_KV_COUNT, 13, 8)?;
        Ok(Framing {
            version,
            tensor_count,
            kv_count,
        })
    }

    fn magic(&mut self) -> Result<[u8; 4], GgufError> {
        if self.len < 4 {
            let mut head = vec![0u8; self.len as usize];
            self.input.read_exact(&mut head).map_err(|e| self.io(e))?;
            return Err(GgufError::NotGguf {
                file: self.file.clone(),
                found: if head.is_empty() {
                    "an empty file".into()
                } else {
                    format!("{} ({} bytes in all)", escape_bytes(&head), head.len())
                },
            });
        }
        let mut magic = [0u8; 4];
        self.read_into(&mut magic, "magic")?;
        Ok(magic)
    }

    fn check_version(&self, version: u32) -> Result<(), GgufError> {
        let hint = match version {
            2 | 3 => return Ok(()),
            1 => "GGUF v1 is obsolete; convert the model again with a current llama.cpp",
            0 => "the file is corrupt",
            v if matches!(v.swap_bytes(), 1..=3) => {
                "this is a big-endian GGUF file; use the little-endian build of the model"
            }
            v if v < 64 => "the file is newer than this reader; upgrade provision",
            _ => "the file is corrupt",
        };
        Err(GgufError::UnsupportedVersion {
            file: self.file.clone(),
            version,
            hint,
        })
    }
}

/// `general.alignment` when present: a non-zero power of two, as a u32.
pub(super) fn alignment(metadata: &[GgufKv]) -> Result<u64, String> {
    let Some(kv) = metadata.iter().find(|kv| kv.key == "general.alignment") else {
        return Ok(DEFAULT_ALIGNMENT);
    };
    match kv.value {
        GgufValue::U32(a) if a.is_power_of_two() => Ok(a.into()),
        GgufValue::U32(a) => Err(format!("general.alignment is {a}, not a power of two")),
        ref other => Err(format!(
            "general.alignment has type {:?}, expected u32",
            other.value_type()
        )),
    }
}
