//! Metadata pairs: keys, typed values, and arrays (possibly nested).

use std::collections::HashSet;
use std::io::Read;

use super::bounded::cap_hint;
use super::diagnostics::quote;
use super::{MAX_ARRAY_DEPTH, MAX_ARRAY_LEN, MAX_KEY_LEN, MAX_STRING_LEN, Parser};
use crate::error::GgufError;
use crate::types::GgufValueType;
use crate::value::{GgufArray, GgufKv, GgufValue};

impl<R: Read> Parser<R> {
    /// `kv_count` metadata pairs with unique, non-empty keys, in file order.
    pub(super) fn metadata(&mut self, kv_count: u64) -> Result<Vec<GgufKv>, GgufError> {
        let mut metadata = Vec::with_capacity(cap_hint(kv_count));
        let mut seen = HashSet::with_capacity(cap_hint(kv_count));
        for index in 0..kv_count {
            let key_offset = self.pos;
            self.context = format!("metadata pair #{index}");
            let key = self.string("key", MAX_KEY_LEN)?;
            self.context = format!("key {}", quote(&key));
            if key.is_empty() {
                return Err(self.corrupt_at(
                    key_offset,
                    format!("metadata pair #{index} has an empty key"),
                ));
            }
            if !seen.insert(key.clone()) {
                return Err(self.corrupt_at(key_offset, format!("duplicate key {}", quote(&key))));
            }
            let type_offset = self.pos;
            let type_id = self.u32("value type")?;
            let value_type = self.value_type(type_id, type_offset, "value".into())?;
            let value = self.value(value_type, 0)?;
            metadata.push(GgufKv { key, value });
            self.check_header_budget()?;
        }
        Ok(metadata)
    }

    fn value_type(
        &self,
        type_id: u32,
        offset: u64,
        what: String,
    ) -> Result<GgufValueType, GgufError> {
        GgufValueType::from_id(type_id).ok_or_else(|| GgufError::UnknownValueType {
            file: self.file.clone(),
            what: format!("{what} of {}", self.context),
            type_id,
            offset,
        })
    }

    fn value(&mut self, ty: GgufValueType, depth: u32) -> Result<GgufValue, GgufError> {
        Ok(match ty {
            GgufValueType::U8 => GgufValue::U8(self.fixed::<1>("u8 value")?[0]),
            GgufValueType::I8 => GgufValue::I8(i8::from_le_bytes(self.fixed("i8 value")?)),
            GgufValueType::U16 => GgufValue::U16(u16::from_le_bytes(self.fixed("u16 value")?)),
            GgufValueType::I16 => GgufValue::I16(i16::from_le_bytes(self.fixed("i16 value")?)),
            GgufValueType::U32 => GgufValue::U32(self.u32("u32 value")?),
            GgufValueType::I32 => GgufValue::I32(i32::from_le_bytes(self.fixed("i32 value")?)),
            GgufValueType::F32 => GgufValue::F32(f32::from_le_bytes(self.fixed("f32 value")?)),
            GgufValueType::Bool => GgufValue::Bool(self.bool()?),
            GgufValueType::String => {
                GgufValue::String(self.string("string value", MAX_STRING_LEN)?)
            }
            GgufValueType::Array => GgufValue::Array(self.array(depth)?),
            GgufValueType::U64 => GgufValue::U64(self.u64("u64 value")?),
            GgufValueType::I64 => GgufValue::I64(i64::from_le_bytes(self.fixed("i64 value")?)),
            GgufValueType::F64 => GgufValue::F64(f64::from_le_bytes(self.fixed("f64 value")?)),
        })
    }

    /// An array's element type and count, checked, then its elements.
    fn array(&mut self, depth: u32) -> Result<GgufArray, GgufError> {
        let type_offset = self.pos;
        if depth >= MAX_ARRAY_DEPTH {
            return Err(GgufError::TooLarge {
                file: self.file.clone(),
                what: format!("array nesting depth of {}", self.context),
                claimed: u64::from(depth) + 1,
                limit: MAX_ARRAY_DEPTH.into(),
                offset: type_offset,
            });
        }
        let type_id = self.u32("array element type")?;
        let elem = self.value_type(type_id, type_offset, "array element type".into())?;
        let count = self.u64("array length")?;
        self.check_count(
            "array length",
            count,
            MAX_ARRAY_LEN,
            elem.min_encoded_size(),
            8,
        )?;
        self.array_elements(elem, count as usize, depth)
    }

    /// `n` elements of type `elem`; `n` has been checked against the file.
    fn array_elements(
        &mut self,
        elem: GgufValueType,
        n: usize,
        depth: u32,
    ) -> Result<GgufArray, GgufError> {
        macro_rules! numeric {
            ($variant:ident, $ty:ty) => {{
                const SIZE: usize = std::mem::size_of::<$ty>();
                let bytes = self.bytes(n * SIZE, "array elements")?;
                GgufArray::$variant(
                    bytes
                        .chunks_exact(SIZE)
                        .map(|c| {
                            let mut b = [0u8; SIZE];
                            b.copy_from_slice(c);
                            <$ty>::from_le_bytes(b)
                        })
                        .collect(),
                )
            }};
        }
        Ok(match elem {
            GgufValueType::U8 => GgufArray::U8(self.bytes(n, "array elements")?),
            GgufValueType::I8 => numeric!(I8, i8),
            GgufValueType::U16 => numeric!(U16, u16),
            GgufValueType::I16 => numeric!(I16, i16),
            GgufValueType::U32 => numeric!(U32, u32),
            GgufValueType::I32 => numeric!(I32, i32),
            GgufValueType::F32 => numeric!(F32, f32),
            GgufValueType::U64 => numeric!(U64, u64),
            GgufValueType::I64 => numeric!(I64, i64),
            GgufValueType::F64 => numeric!(F64, f64),
            GgufValueType::Bool => GgufArray::Bool(self.bool_elements(n)?),
            GgufValueType::String => {
                let mut out = Vec::with_capacity(n.min(1 << 16));
                for _ in 0..n {
                    out.push(self.string("array string", MAX_STRING_LEN)?);
                }
                GgufArray::String(out)
            }
            GgufValueType::Array => {
                let mut out = Vec::with_capacity(n.min(1 << 12));
                for _ in 0..n {
                    out.push(self.array(depth + 1)?);
                }
                GgufArray::Array(out)
            }
        })
    }

    fn bool_elements(&mut self, n: usize) -> Result<Vec<bool>, GgufError> {
        let offset = self.pos;
        let bytes = self.bytes(n, "array elements")?;
        let mut out = Vec::with_capacity(n);
        for (i, b) in bytes.into_iter().enumerate() {
            out.push(self.bool_from(b, offset + i as u64)?);
        }
        Ok(out)
    }

    fn bool(&mut self) -> Result<bool, GgufError> {
        let offset = self.pos;
        let [b] = self.fixed::<1>("bool value")?;
        self.bool_from(b, offset)
    }

    fn bool_from(&self, b: u8, offset: u64) -> Result<bool, GgufError> {
        match b {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(self.corrupt_at(
                offset,
                format!("bool in {} is {other}, not 0 or 1", self.context),
            )),
        }
    }
}
