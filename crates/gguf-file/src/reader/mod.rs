//! Bounded GGUF header parser.
//!
//! Every length and count read from the file is checked against the bytes
//! that remain and against fixed caps *before* anything is allocated, so a
//! corrupt or hostile header (a 2^60-element array, a 1 TB string) is an
//! error, never an out-of-memory abort.

use std::collections::HashSet;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::error::GgufError;
use super::types::{GgufValueType, tensor_byte_size, tensor_type_name};
use super::value::{GgufArray, GgufHeader, GgufKv, GgufTensorInfo, GgufValue};

/// The four bytes every GGUF file starts with.
pub const GGUF_MAGIC: [u8; 4] = *b"GGUF";
/// Tensor data alignment when `general.alignment` is absent.
pub const DEFAULT_ALIGNMENT: u64 = 32;

/// Longest key accepted (the GGUF specification caps keys at 65535 bytes).
pub const MAX_KEY_LEN: u64 = 65_535;
/// Longest string value accepted (chat templates are a few tens of KB).
pub const MAX_STRING_LEN: u64 = 64 << 20;
/// Most elements accepted in one array (vocabularies have ~10^5–10^6).
pub const MAX_ARRAY_LEN: u64 = 1 << 24;
/// Most metadata pairs accepted.
pub const MAX_KV_COUNT: u64 = 1 << 20;
/// Most tensors accepted.
pub const MAX_TENSOR_COUNT: u64 = 1 << 20;
/// Most bytes the metadata and tensor infos may take together.
pub const MAX_HEADER_BYTES: u64 = 1 << 30;
/// Deepest nesting of arrays inside arrays.
pub const MAX_ARRAY_DEPTH: u32 = 8;
/// Most tensor dimensions (ggml's `GGML_MAX_DIMS`).
pub const MAX_DIMS: u32 = 4;

const STREAM_LABEL: &str = "(stream)";

/// Read a GGUF header (version, all metadata, all tensor infos) from the
/// current position of `reader`.
///
/// The stream's length is taken with a seek to its end so that every
/// claimed size can be checked against what is really there. Errors name
/// the file as `(stream)`; [`super::read_summary`] names the real path.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use gguf_file::{GgufValue, GgufWriter, read_header};
/// let mut w = GgufWriter::new();
/// w.add_kv("general.architecture", GgufValue::String("llama".into()))?;
/// let mut bytes = Vec::new();
/// w.write_to(&mut bytes)?;
/// let header = read_header(std::io::Cursor::new(bytes))?;
/// assert_eq!(header.get_str("general.architecture"), Some("llama"));
/// # Ok(()) }
/// ```
pub fn read_header<R: Read + Seek>(reader: R) -> Result<GgufHeader, GgufError> {
    read_header_named(reader, Path::new(STREAM_LABEL))
}

/// [`read_header`] with errors naming `file`.
pub(crate) fn read_header_named<R: Read + Seek>(
    mut reader: R,
    file: &Path,
) -> Result<GgufHeader, GgufError> {
    let io_err = |source: io::Error| GgufError::Io {
        file: file.to_path_buf(),
        source,
    };
    let start = reader.stream_position().map_err(io_err)?;
    let end = reader.seek(SeekFrom::End(0)).map_err(io_err)?;
    reader.seek(SeekFrom::Start(start)).map_err(io_err)?;
    let len = end.saturating_sub(start);
    let mut parser = Parser {
        input: BufReader::with_capacity(1 << 16, reader),
        pos: 0,
        len,
        file: file.to_path_buf(),
        context: String::new(),
    };
    parser.header()
}

struct Parser<R> {
    input: BufReader<R>,
    /// Bytes consumed from the start of the GGUF data.
    pos: u64,
    /// Total bytes available.
    len: u64,
    file: PathBuf,
    /// The key or tensor being parsed, for error messages.
    context: String,
}

impl<R: Read> Parser<R> {
    fn header(&mut self) -> Result<GgufHeader, GgufError> {
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

        let alignment = alignment(&metadata).map_err(|reason| self.corrupt_at(self.pos, reason))?;

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

        let data_offset = self.pos.div_ceil(alignment).saturating_mul(alignment);
        self.check_tensor_extents(&tensors, data_offset)?;
        Ok(GgufHeader {
            version,
            tensor_count,
            metadata,
            tensors,
            alignment,
            data_offset,
            file_size: self.len,
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
    fn check_tensor_extents(
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
        let n = count as usize;
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
            GgufValueType::Bool => {
                let offset = self.pos;
                let bytes = self.bytes(n, "array elements")?;
                let mut out = Vec::with_capacity(n);
                for (i, b) in bytes.into_iter().enumerate() {
                    out.push(self.bool_from(b, offset + i as u64)?);
                }
                GgufArray::Bool(out)
            }
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

    /// A `u64`-length-prefixed UTF-8 string of at most `max` bytes.
    fn string(&mut self, what: &str, max: u64) -> Result<String, GgufError> {
        let len_offset = self.pos;
        let len = self.u64(&format!("{what} length"))?;
        if len > max {
            return Err(GgufError::TooLarge {
                file: self.file.clone(),
                what: format!("{what} length of {}", self.context),
                claimed: len,
                limit: max,
                offset: len_offset,
            });
        }
        let bytes_offset = self.pos;
        let bytes = self.bytes(len as usize, what)?;
        String::from_utf8(bytes).map_err(|_| GgufError::BadUtf8 {
            file: self.file.clone(),
            what: format!("{what} of {}", self.context),
            offset: bytes_offset,
        })
    }

    /// Refuse a count above `max`, or one whose elements (each at least
    /// `min_size` bytes) cannot fit in what remains of the file.
    fn check_count(
        &self,
        what: &str,
        count: u64,
        max: u64,
        min_size: u64,
        width: u64,
    ) -> Result<(), GgufError> {
        let offset = self.pos - width;
        if count > max {
            return Err(GgufError::TooLarge {
                file: self.file.clone(),
                what: format!("{what} of {}", self.context_or_header()),
                claimed: count,
                limit: max,
                offset,
            });
        }
        let needed = count.saturating_mul(min_size);
        if needed > self.remaining() {
            return Err(self.truncated_at(
                self.pos,
                format!("{what} {count} of {}", self.context_or_header()),
                needed,
            ));
        }
        Ok(())
    }

    fn check_header_budget(&self) -> Result<(), GgufError> {
        if self.pos > MAX_HEADER_BYTES {
            return Err(GgufError::TooLarge {
                file: self.file.clone(),
                what: "metadata and tensor infos".into(),
                claimed: self.pos,
                limit: MAX_HEADER_BYTES,
                offset: 0,
            });
        }
        Ok(())
    }

    fn u32(&mut self, what: &str) -> Result<u32, GgufError> {
        Ok(u32::from_le_bytes(self.fixed(what)?))
    }

    fn u64(&mut self, what: &str) -> Result<u64, GgufError> {
        Ok(u64::from_le_bytes(self.fixed(what)?))
    }

    fn fixed<const N: usize>(&mut self, what: &str) -> Result<[u8; N], GgufError> {
        let mut buf = [0u8; N];
        self.read_into(&mut buf, what)?;
        Ok(buf)
    }

    /// Read `n` bytes, checked against the remaining length first so that
    /// the allocation is bounded by the file itself.
    fn bytes(&mut self, n: usize, what: &str) -> Result<Vec<u8>, GgufError> {
        self.ensure_available(n as u64, what)?;
        let mut buf = vec![0u8; n];
        self.read_into(&mut buf, what)?;
        Ok(buf)
    }

    fn read_into(&mut self, buf: &mut [u8], what: &str) -> Result<(), GgufError> {
        self.ensure_available(buf.len() as u64, what)?;
        match self.input.read_exact(buf) {
            Ok(()) => {
                self.pos += buf.len() as u64;
                Ok(())
            }
            // The stream was shorter than its seek length said (a file
            // truncated while we read it): report it as truncation.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                Err(self.truncated_at(self.pos, self.describe(what), buf.len() as u64))
            }
            Err(e) => Err(self.io(e)),
        }
    }

    fn ensure_available(&self, n: u64, what: &str) -> Result<(), GgufError> {
        if n > self.remaining() {
            return Err(self.truncated_at(self.pos, self.describe(what), n));
        }
        Ok(())
    }

    fn remaining(&self) -> u64 {
        self.len.saturating_sub(self.pos)
    }

    fn describe(&self, what: &str) -> String {
        if self.context.is_empty() {
            what.to_string()
        } else {
            format!("{what} of {}", self.context)
        }
    }

    fn context_or_header(&self) -> &str {
        if self.context.is_empty() {
            "the header"
        } else {
            &self.context
        }
    }

    fn truncated_at(&self, offset: u64, what: String, needed: u64) -> GgufError {
        GgufError::Truncated {
            file: self.file.clone(),
            what,
            offset,
            needed,
            file_size: self.len,
        }
    }

    fn corrupt_at(&self, offset: u64, reason: String) -> GgufError {
        GgufError::Corrupt {
            file: self.file.clone(),
            offset,
            reason,
        }
    }

    fn io(&self, source: io::Error) -> GgufError {
        GgufError::Io {
            file: self.file.clone(),
            source,
        }
    }
}

/// `general.alignment` when present: a non-zero power of two, as a u32.
fn alignment(metadata: &[GgufKv]) -> Result<u64, String> {
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

/// Initial capacity for a vector of `count` checked elements: bounded so a
/// large-but-valid count still grows on demand.
fn cap_hint(count: u64) -> usize {
    count.min(1 << 12) as usize
}

/// A key or name for an error message: quoted, escaped, and shortened.
fn quote(s: &str) -> String {
    const MAX: usize = 96;
    if s.chars().count() > MAX {
        let head: String = s.chars().take(MAX).collect();
        format!("{head:?}…")
    } else {
        format!("{s:?}")
    }
}

fn escape_bytes(bytes: &[u8]) -> String {
    format!("\"{}\"", bytes.escape_ascii())
}
