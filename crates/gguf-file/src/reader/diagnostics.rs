//! Error construction: every error names the file, the byte offset, and
//! the key or tensor being read when it went wrong.

use std::io::{self, Read};

use super::Parser;
use crate::error::GgufError;

impl<R: Read> Parser<R> {
    /// `what`, followed by the key or tensor being read when there is one.
    pub(super) fn describe(&self, what: &str) -> String {
        if self.context.is_empty() {
            what.to_string()
        } else {
            format!("{what} of {}", self.context)
        }
    }

    pub(super) fn context_or_header(&self) -> &str {
        if self.context.is_empty() {
            "the header"
        } else {
            &self.context
        }
    }

    pub(super) fn truncated_at(&self, offset: u64, what: String, needed: u64) -> GgufError {
        GgufError::Truncated {
            file: self.file.clone(),
            what,
            offset,
            needed,
            file_size: self.len,
        }
    }

    pub(super) fn corrupt_at(&self, offset: u64, reason: String) -> GgufError {
        GgufError::Corrupt {
            file: self.file.clone(),
            offset,
            reason,
        }
    }

    pub(super) fn io(&self, source: io::Error) -> GgufError {
        GgufError::Io {
            file: self.file.clone(),
            source,
        }
    }
}

/// A key or name for an error message: quoted, escaped, and shortened.
pub(super) fn quote(s: &str) -> String {
    const MAX: usize = 96;
    if s.chars().count() > MAX {
        let head: String = s.chars().take(MAX).collect();
        format!("{head:?}…")
    } else {
        format!("{s:?}")
    }
}

/// Raw bytes for an error message, non-ASCII escaped.
pub(super) fn escape_bytes(bytes: &[u8]) -> String {
    format!("\"{}\"", bytes.escape_ascii())
}
