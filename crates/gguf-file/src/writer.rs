//! A small GGUF v3 writer: metadata plus tensors, data aligned to 32 bytes
//! (or `general.alignment`). Used by tests and for the README's tiny model.

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use crate::reader::{DEFAULT_ALIGNMENT, GGUF_MAGIC};
use crate::types::{GGML_TYPE_F32, tensor_byte_size};
use crate::value::{GgufArray, GgufKv, GgufValue};

/// Builds a GGUF v3 file in memory and writes it out.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use gguf_file::{GgufValue, GgufWriter, read_header};
/// let mut w = GgufWriter::new();
/// w.add_kv("general.architecture", GgufValue::String("llama".into()))?;
/// w.add_tensor_f32("output_norm.weight", &[4], &[1.0; 4])?;
/// let mut bytes = Vec::new();
/// w.write_to(&mut bytes)?;
/// let header = read_header(std::io::Cursor::new(&bytes))?;
/// assert_eq!(header.tensors[0].dims, vec![4]);
/// // 16 bytes of f32 data, padded to the 32-byte alignment.
/// assert_eq!(bytes.len() as u64, header.data_offset + 32);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
pub struct GgufWriter {
    metadata: Vec<GgufKv>,
    tensors: Vec<PendingTensor>,
}

#[derive(Debug, Clone)]
struct PendingTensor {
    name: String,
    dims: Vec<u64>,
    ggml_type: u32,
    data: Vec<u8>,
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

impl GgufWriter {
    /// An empty writer (GGUF v3, alignment 32).
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a metadata pair. Keys must be unique and non-empty; setting
    /// `general.alignment` (a power-of-two `u32`) changes the alignment.
    pub fn add_kv(&mut self, key: impl Into<String>, value: GgufValue) -> io::Result<&mut Self> {
        let key = key.into();
        if key.is_empty() {
            return Err(invalid("GGUF metadata key is empty".into()));
        }
        if self.metadata.iter().any(|kv| kv.key == key) {
            return Err(invalid(format!("GGUF metadata key {key:?} added twice")));
        }
        if key == "general.alignment" && !matches!(value, GgufValue::U32(a) if a.is_power_of_two())
        {
            return Err(invalid(
                "general.alignment must be a power-of-two u32".into(),
            ));
        }
        self.metadata.push(GgufKv { key, value });
        Ok(self)
    }

    /// Add an f32 tensor; `dims` are in ggml order (numpy's shape reversed)
    /// and their product must equal `data.len()`.
    pub fn add_tensor_f32(
        &mut self,
        name: impl Into<String>,
        dims: &[u64],
        data: &[f32],
    ) -> io::Result<&mut Self> {
        let bytes = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.add_tensor_raw(name, dims, GGML_TYPE_F32, bytes)
    }

    /// Add a tensor of any known ggml type from its raw little-endian bytes.
    pub fn add_tensor_raw(
        &mut self,
        name: impl Into<String>,
        dims: &[u64],
        ggml_type: u32,
        data: Vec<u8>,
    ) -> io::Result<&mut Self> {
        let name = name.into();
        if name.is_empty() || self.tensors.iter().any(|t| t.name == name) {
            return Err(invalid(format!(
                "GGUF tensor name {name:?} is empty or used twice"
            )));
        }
        if dims.is_empty() || dims.len() > 4 {
            return Err(invalid(format!(
                "tensor {name:?} has {} dimensions; 1 to 4 allowed",
                dims.len()
            )));
        }
        let elements = dims
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d))
            .ok_or_else(|| invalid(format!("tensor {name:?} dimensions overflow")))?;
        let expected = tensor_byte_size(ggml_type, elements).ok_or_else(|| {
            invalid(format!(
                "tensor {name:?}: unknown type {ggml_type} or partial block"
            ))
        })?;
        if expected != data.len() as u64 {
            return Err(invalid(format!(
                "tensor {name:?} needs {expected} bytes for {dims:?}, got {}",
                data.len()
            )));
        }
        self.tensors.push(PendingTensor {
            name,
            dims: dims.to_vec(),
            ggml_type,
            data,
        });
        Ok(self)
    }

    /// The metadata pairs added so far, in the order they will be written.
    pub fn metadata(&self) -> &[GgufKv] {
        &self.metadata
    }

    fn alignment(&self) -> u64 {
        self.metadata
            .iter()
            .find_map(|kv| match (kv.key.as_str(), &kv.value) {
                ("general.alignment", GgufValue::U32(a)) => Some(u64::from(*a)),
                _ => None,
            })
            .unwrap_or(DEFAULT_ALIGNMENT)
    }

    /// Write the whole file to `out`.
    pub fn write_to<W: Write>(&self, out: W) -> io::Result<()> {
        let mut out = Counting {
            inner: out,
            written: 0,
        };
        let align = self.alignment();
        out.write_all(&GGUF_MAGIC)?;
        out.write_all(&3u32.to_le_bytes())?;
        out.write_all(&(self.tensors.len() as u64).to_le_bytes())?;
        out.write_all(&(self.metadata.len() as u64).to_le_bytes())?;
        for kv in &self.metadata {
            write_str(&mut out, &kv.key)?;
            out.write_all(&kv.value.value_type().id().to_le_bytes())?;
            write_value(&mut out, &kv.value)?;
        }
        let mut offset = 0u64;
        let mut offsets = Vec::with_capacity(self.tensors.len());
        for t in &self.tensors {
            write_str(&mut out, &t.name)?;
            out.write_all(&(t.dims.len() as u32).to_le_bytes())?;
            for d in &t.dims {
                out.write_all(&d.to_le_bytes())?;
            }
            out.write_all(&t.ggml_type.to_le_bytes())?;
            out.write_all(&offset.to_le_bytes())?;
            offsets.push(offset);
            offset = (offset + t.data.len() as u64).div_ceil(align) * align;
        }
        pad(&mut out, align)?;
        let data_start = out.written;
        for (t, off) in self.tensors.iter().zip(offsets) {
            pad_to(&mut out, data_start + off)?;
            out.write_all(&t.data)?;
        }
        // Pad the last tensor too, as the reference writer does.
        pad(&mut out, align)?;
        out.flush()
    }

    /// Write the file to `path` through a temporary file renamed into
    /// place, so a reader never sees half a model.
    pub fn write_file(&self, path: &Path) -> io::Result<()> {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let tmp = tempfile::NamedTempFile::new_in(dir)?;
        {
            let mut w = BufWriter::new(tmp.as_file());
            self.write_to(&mut w)?;
            w.flush()?;
        }
        tmp.as_file().sync_all()?;
        // Temporary files are private (0600); a model file is not.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            tmp.as_file()
                .set_permissions(fs::Permissions::from_mode(0o644))?;
        }
        tmp.persist(path).map_err(|e| e.error)?;
        Ok(())
    }
}

struct Counting<W> {
    inner: W,
    written: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn pad<W: Write>(out: &mut Counting<W>, align: u64) -> io::Result<()> {
    let target = out.written.div_ceil(align) * align;
    pad_to(out, target)
}

fn pad_to<W: Write>(out: &mut Counting<W>, target: u64) -> io::Result<()> {
    let n = target.saturating_sub(out.written);
    out.write_all(&vec![0u8; n as usize])
}

fn write_str<W: Write>(out: &mut W, s: &str) -> io::Result<()> {
    out.write_all(&(s.len() as u64).to_le_bytes())?;
    out.write_all(s.as_bytes())
}

fn write_value<W: Write>(out: &mut W, v: &GgufValue) -> io::Result<()> {
    match v {
        GgufValue::U8(x) => out.write_all(&x.to_le_bytes()),
        GgufValue::I8(x) => out.write_all(&x.to_le_bytes()),
        GgufValue::U16(x) => out.write_all(&x.to_le_bytes()),
        GgufValue::I16(x) => out.write_all(&x.to_le_bytes()),
        GgufValue::U32(x) => out.write_all(&x.to_le_bytes()),
        GgufValue::I32(x) => out.write_all(&x.to_le_bytes()),
        GgufValue::F32(x) => out.write_all(&x.to_le_bytes()),
        GgufValue::Bool(x) => out.write_all(&[u8::from(*x)]),
        GgufValue::String(s) => write_str(out, s),
        GgufValue::Array(a) => write_array(out, a),
        GgufValue::U64(x) => out.write_all(&x.to_le_bytes()),
        GgufValue::I64(x) => out.write_all(&x.to_le_bytes()),
        GgufValue::F64(x) => out.write_all(&x.to_le_bytes()),
    }
}

fn write_array<W: Write>(out: &mut W, a: &GgufArray) -> io::Result<()> {
    out.write_all(&a.element_type().id().to_le_bytes())?;
    out.write_all(&(a.len() as u64).to_le_bytes())?;
    macro_rules! each {
        ($v:expr) => {{
            for x in $v {
                out.write_all(&x.to_le_bytes())?;
            }
            Ok(())
        }};
    }
    match a {
        GgufArray::U8(v) => out.write_all(v),
        GgufArray::I8(v) => each!(v),
        GgufArray::U16(v) => each!(v),
        GgufArray::I16(v) => each!(v),
        GgufArray::U32(v) => each!(v),
        GgufArray::I32(v) => each!(v),
        GgufArray::F32(v) => each!(v),
        GgufArray::U64(v) => each!(v),
        GgufArray::I64(v) => each!(v),
        GgufArray::F64(v) => each!(v),
        GgufArray::Bool(v) => {
            for b in v {
                out.write_all(&[u8::from(*b)])?;
            }
            Ok(())
        }
        GgufArray::String(v) => {
            for s in v {
                write_str(out, s)?;
            }
            Ok(())
        }
        GgufArray::Array(v) => {
            for inner in v {
                write_array(out, inner)?;
            }
            Ok(())
        }
    }
}
