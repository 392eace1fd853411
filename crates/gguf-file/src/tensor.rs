//! Where each tensor's data lies: the list a loader, a checker or a
//! `provision gguf`-style report needs, with offsets made absolute.

use std::fmt;
use std::path::Path;

use crate::error::GgufError;
use crate::summary::read_header_file;
use crate::types::{tensor_byte_size, tensor_type_name};
use crate::value::GgufHeader;

/// A ggml tensor type id, known to this reader or not.
///
/// Displays as its ggml name (`F32`, `Q4_K`), or as `unknown(<id>)` for a
/// type newer than this reader's table: such a tensor is listed, not
/// refused, since its name, shape and offset are still right.
///
/// ```
/// use gguf_file::GgmlType;
/// assert_eq!(GgmlType(12).to_string(), "Q4_K");
/// assert_eq!(GgmlType(999).to_string(), "unknown(999)");
/// assert_eq!(GgmlType(999).name(), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GgmlType(pub u32);

impl GgmlType {
    /// The raw id written in the file.
    pub fn id(self) -> u32 {
        self.0
    }

    /// The ggml name (`"Q8_0"`), `None` when this reader does not know it.
    pub fn name(self) -> Option<&'static str> {
        tensor_type_name(self.0)
    }
}

impl fmt::Display for GgmlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "unknown({})", self.0),
        }
    }
}

/// One tensor as it lies in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GgufTensor {
    /// Tensor name, e.g. `blk.0.attn_q.weight`.
    pub name: String,
    /// Its ggml type.
    pub ggml_type: GgmlType,
    /// Dimensions in ggml order (fastest-varying first; numpy's reversed),
    /// as gguf-py's `ReaderTensor.shape` gives them.
    pub shape: Vec<u64>,
    /// Absolute byte offset of the data in the file: the aligned start of
    /// the tensor data section plus the tensor's own offset.
    pub data_offset: u64,
    /// Bytes of data; `None` when the type is unknown to this reader (its
    /// block size, hence its size, is unknown).
    pub size: Option<u64>,
}

impl GgufHeader {
    /// Every tensor in file order, with absolute data offsets and sizes.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use gguf_file::{GgufWriter, read_header};
    /// let mut w = GgufWriter::new();
    /// w.add_tensor_f32("a", &[4], &[0.0; 4])?;
    /// w.add_tensor_f32("b", &[2, 3], &[1.0; 6])?;
    /// let mut bytes = Vec::new();
    /// w.write_to(&mut bytes)?;
    /// let header = read_header(std::io::Cursor::new(bytes))?;
    /// let tensors = header.tensor_list();
    /// assert_eq!(tensors[1].name, "b");
    /// assert_eq!(tensors[1].ggml_type.to_string(), "F32");
    /// assert_eq!(tensors[1].shape, vec![2, 3]);
    /// assert_eq!(tensors[1].data_offset, header.data_offset + 32);
    /// assert_eq!(tensors[1].size, Some(24));
    /// # Ok(()) }
    /// ```
    pub fn tensor_list(&self) -> Vec<GgufTensor> {
        self.tensors
            .iter()
            .map(|t| GgufTensor {
                name: t.name.clone(),
                ggml_type: GgmlType(t.ggml_type),
                shape: t.dims.clone(),
                data_offset: self.data_offset.saturating_add(t.offset),
                size: t
                    .element_count()
                    .and_then(|n| tensor_byte_size(t.ggml_type, n)),
            })
            .collect()
    }
}

/// Read the header of the GGUF file at `path` and list its tensors
/// (see [`GgufHeader::tensor_list`]), with errors naming the file.
pub fn read_tensors(path: &Path) -> Result<Vec<GgufTensor>, GgufError> {
    Ok(read_header_file(path)?.tensor_list())
}
