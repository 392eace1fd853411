//! Bounded reads: every read is checked against the bytes that remain
//! before a buffer is allocated, so an allocation never exceeds what the
//! file itself holds.

use std::io::{self, Read};

use super::{MAX_HEADER_BYTES, Parser};
use crate::error::GgufError;

impl<R: Read> Parser<R> {
    /// A `u64`-length-prefixed UTF-8 string of at most `max` bytes.
    pub(super) fn string(&mut self, what: &str, max: u64) -> Result<String, GgufError> {
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
    /// `min_size` bytes) cannot fit in what remains of the file. `width` is
    /// how many bytes back the count itself starts, for the error's offset.
    pub(super) fn check_count(
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

    /// Refuse a header that has grown past [`MAX_HEADER_BYTES`].
    pub(super) fn check_header_budget(&self) -> Result<(), GgufError> {
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

    pub(super) fn u32(&mut self, what: &str) -> Result<u32, GgufError> {
        Ok(u32::from_le_bytes(self.fixed(what)?))
    }

    pub(super) fn u64(&mut self, what: &str) -> Result<u64, GgufError> {
        Ok(u64::from_le_bytes(self.fixed(what)?))
    }

    pub(super) fn fixed<const N: usize>(&mut self, what: &str) -> Result<[u8; N], GgufError> {
        let mut buf = [0u8; N];
        self.read_into(&mut buf, what)?;
        Ok(buf)
    }

    /// Read `n` bytes, checked against the remaining length first so that
    /// the allocation is bounded by the file itself.
    pub(super) fn bytes(&mut self, n: usize, what: &str) -> Result<Vec<u8>, GgufError> {
        self.ensure_available(n as u64, what)?;
        let mut buf = vec![0u8; n];
        self.read_into(&mut buf, what)?;
        Ok(buf)
    }

    pub(super) fn read_into(&mut self, buf: &mut [u8], what: &str) -> Result<(), GgufError> {
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
}

/// Initial capacity for a vector of `count` checked elements: bounded so a
/// large-but-valid count still grows on demand.
pub(super) fn cap_hint(count: u64) -> usize {
    count.min(1 << 12) as usize
}
