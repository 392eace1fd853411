//! Bounded GGUF header parser.
//!
//! Every length and count read from the file is checked against the bytes
//! that remain and against fixed caps *before* anything is allocated, so a
//! corrupt or hostile header (a 2^60-element array, a 1 TB string) is an
//! error, never an out-of-memory abort.
//!
//! The parser reads top to bottom in [`Parser::header`]: the framing (magic,
//! version, counts), the metadata pairs, the tensor infos, then a check that
//! the tensor data lies inside the file. Each concern has its own module;
//! all reads go through the bounded primitives in `bounded`.

use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::error::GgufError;
use crate::value::GgufHeader;

mod bounded;
mod diagnostics;
mod framing;
mod metadata;
mod tensors;

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
/// the file as `(stream)`; [`crate::read_summary`] and
/// [`crate::read_header_file`] name the real path.
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

/// The parse state: a position that only moves forward, the length every
/// claim is checked against, and what is being read, for error messages.
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
    /// The whole header, in file order.
    fn header(&mut self) -> Result<GgufHeader, GgufError> {
        let framing = self.framing()?;
        let metadata = self.metadata(framing.kv_count)?;
        let alignment =
            framing::alignment(&metadata).map_err(|reason| self.corrupt_at(self.pos, reason))?;
        let tensors = self.tensor_infos(framing.tensor_count, alignment)?;
        let data_offset = self.pos.div_ceil(alignment).saturating_mul(alignment);
        self.check_tensor_extents(&tensors, data_offset)?;
        Ok(GgufHeader {
            version: framing.version,
            tensor_count: framing.tensor_count,
            metadata,
            tensors,
            alignment,
            data_offset,
            file_size: self.len,
        })
    }
}
