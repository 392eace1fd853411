//! Tensor infos: names, dimensions, types and data offsets, and the check
//! that every tensor's data lies inside the file.

use std::collections::HashSet;
use std::io::Read;

use super::bounded::cap_hint;
use super::diagnostics::quote;
use super::{MAX_DIMS, MAX_KEY_LEN, Parser};
use crate::error::GgufError;
use crate::types::{tensor_byte_size, tensor_type_name};
use crate::value::GgufTensorInfo;

impl<R: Read> Parser<R> {
    /// `tensor_count` tensor infos with unique names, in file order.
    pub(super) fn tensor_infos(
        &mut self,
        tensor_count: u64,
        alignment: u64,
    ) -> Result<Vec<GgufTensorInfo>, GgufError> {
        let mut tensors = Vec::with_capacity(cap_hint(tensor_count));
        let mut names = HashSet::with_capacity(cap_hint(tensor_count));
        for index in 0..tensor_count {
            let info_offset = self.pos;
            self.context = format!("tensor info #{index}");
            let info = self.tensor_info(alignment)?;
            if !names.insert(info.name.clone()) {
                return Err(self.corrupt_at(
                    info_offset,
                    format!("duplicate tensor name {}", quote(&info.name)),
                ));
            }
            tensors.push(info);
            self.check_header_budget()?;
        }
        Ok(tensors)
    }

    fn tensor_info(&mut self, alignment: u64) -> Result<GgufTensorInfo, GgufError> {
        let info_offset = self.pos;
        let name = self.string("tensor name", MAX_KEY_LEN)?;
        self.context = format!("tensor {}", quote(&name));
        let dims_offset = self.pos;
        let n_dims = self.u32("dimension count")?;
        if n_dims > MAX_DIMS {
            return Err(GgufError::TooLarge {
                file: self.file.clone(),
                what: format!("dimension count of {}", self.context),
                claimed: n_dims.into(),
                limit: MAX_DIMS.into(),
                offset: dims_offset,
            });
        }
        let mut dims = Vec::with_capacity(n_dims as usize);
        for _ in 0..n_dims {
            dims.push(self.u64("dimension")?);
        }
        let ggml_type = self.u32("tensor type")?;
        let offset = self.u64("data offset")?;
        if !offset.is_multiple_of(alignment) {
            return Err(self.corrupt_at(
                info_offset,
                format!(
                    "{} has data offset {offset}, not a multiple of the alignment {alignment}",
                    self.context
                ),
            ));
        }
        Ok(GgufTensorInfo {
            name,
            dims,
            ggml_type,
            offset,
        })
    }

    /// Tensors of known types must lie inside the file; a file cut off in
    /// its tensor data is as truncated as one cut off in its header.
    pub(super) fn check_tensor_extents(
        &self,
        tensors: &[GgufTensorInfo],
        data_offset: u64,
    ) -> Result<(), GgufError> {
        for t in tensors {
            let Some(elements) = t.element_count() else {
                return Err(self.corrupt_at(
                    data_offset,
                    format!(
                        "tensor {} has dimensions {:?} whose product overflows",
                        quote(&t.name),
                        t.dims
                    ),
                ));
            };
            if tensor_type_name(t.ggml_type).is_none() {
                // A type newer than this table: its size is unknown, so only
                // its start can be checked.
                if data_offset.saturating_add(t.offset) > self.len {
                    return Err(self.truncated_at(
                        data_offset.saturating_add(t.offset),
                        format!("data of tensor {}", quote(&t.name)),
                        1,
                    ));
                }
                continue;
            }
            let Some(size) = tensor_byte_size(t.ggml_type, elements) else {
                return Err(self.corrupt_at(
                    data_offset,
                    format!(
                        "tensor {} of type {} has {elements} elements, not a whole number of blocks",
                        quote(&t.name),
                        tensor_type_name(t.ggml_type).unwrap_or("?")
                    ),
                ));
            };
            let start = data_offset.saturating_add(t.offset);
            if start.saturating_add(size) > self.len {
                return Err(self.truncated_at(
                    start,
                    format!("data of tensor {}", quote(&t.name)),
                    size,
                ));
            }
        }
        Ok(())
    }
}
