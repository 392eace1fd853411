//! Helpers shared by the test modules: in-memory writing and parsing, and
//! hand-built header bytes for inputs the writer refuses to produce.

use std::io::Cursor;

use gguf_file::{GgufError, GgufHeader, GgufWriter, read_header};

/// The whole file `w` writes, in memory.
pub fn bytes_of(w: &GgufWriter) -> Vec<u8> {
    let mut out = Vec::new();
    w.write_to(&mut out).expect("write to memory");
    out
}

/// Parse in-memory GGUF bytes.
pub fn parse(bytes: &[u8]) -> Result<GgufHeader, GgufError> {
    read_header(Cursor::new(bytes))
}

#[derive(Default)]
pub struct Raw(pub Vec<u8>);

impl Raw {
    pub fn header(version: u32, tensors: u64, kvs: u64) -> Self {
        let mut r = Raw(b"GGUF".to_vec());
        r.u32(version).u64(tensors).u64(kvs);
        r
    }
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn str(&mut self, s: &[u8]) -> &mut Self {
        self.u64(s.len() as u64);
        self.0.extend_from_slice(s);
        self
    }
    pub fn raw(&mut self, b: &[u8]) -> &mut Self {
        self.0.extend_from_slice(b);
        self
    }
}
