//! Typed errors for GGUF reading: each names the file and what is wrong.

use std::io;
use std::path::{Path, PathBuf};

/// Why a GGUF file could not be read.
///
/// Every variant names the file (or `(stream)` for [`crate::read_header`]
/// on an anonymous reader) and the byte offset where parsing stopped, so
/// the message alone tells an operator which file is bad and why.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GgufError {
    /// The file could not be opened or read (permissions, I/O error).
    #[error("cannot read GGUF file {}: {source}; check that it exists and is readable", file.display())]
    Io {
        /// The file being read.
        file: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: io::Error,
    },
    /// The file does not start with the `GGUF` magic.
    #[error("{} is not a GGUF file: it starts with {found} instead of \"GGUF\"; pass a .gguf model file", file.display())]
    NotGguf {
        /// The file being read.
        file: PathBuf,
        /// The first bytes found, escaped for display.
        found: String,
    },
    /// A GGUF version this reader does not handle (v1, big-endian, future).
    #[error("{} uses GGUF version {version}, which is not supported (only v2 and v3 are): {hint}", file.display())]
    UnsupportedVersion {
        /// The file being read.
        file: PathBuf,
        /// The version number as read (little-endian).
        version: u32,
        /// What to do about it.
        hint: &'static str,
    },
    /// The file ends before a structure it declares.
    #[error("{} is truncated: {what} at byte {offset} needs {needed} bytes but the file ends at byte {file_size}; download it again", file.display())]
    Truncated {
        /// The file being read.
        file: PathBuf,
        /// What was being read.
        what: String,
        /// Absolute byte offset where it starts.
        offset: u64,
        /// Bytes needed from `offset`.
        needed: u64,
        /// Size of the file.
        file_size: u64,
    },
    /// A count or length above the sane limits (a corrupt or hostile header).
    #[error("{} is corrupt: {what} at byte {offset} claims {claimed}, above the limit of {limit}", file.display())]
    TooLarge {
        /// The file being read.
        file: PathBuf,
        /// What was being read.
        what: String,
        /// The value the file claims.
        claimed: u64,
        /// The largest value accepted.
        limit: u64,
        /// Absolute byte offset of the claim.
        offset: u64,
    },
    /// A key or string value that is not valid UTF-8.
    #[error("{} is corrupt: {what} at byte {offset} is not valid UTF-8", file.display())]
    BadUtf8 {
        /// The file being read.
        file: PathBuf,
        /// What was being read.
        what: String,
        /// Absolute byte offset of the string's bytes.
        offset: u64,
    },
    /// A metadata value type id outside the GGUF specification.
    #[error("{} is corrupt or from a newer GGUF revision: unknown value type {type_id} for {what} at byte {offset}", file.display())]
    UnknownValueType {
        /// The file being read.
        file: PathBuf,
        /// The key (and array position) whose type is unknown.
        what: String,
        /// The type id found.
        type_id: u32,
        /// Absolute byte offset of the type id.
        offset: u64,
    },
    /// Any other structural inconsistency (duplicate key, bad alignment,
    /// tensor data outside the file, too many dimensions...).
    #[error("{} is corrupt at byte {offset}: {reason}", file.display())]
    Corrupt {
        /// The file being read.
        file: PathBuf,
        /// Absolute byte offset where the problem was found.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
}

impl GgufError {
    /// A stable, kebab-case kind for narration's `error_kind` field.
    pub fn kind(&self) -> &'static str {
        match self {
            GgufError::Io { .. } => "gguf-io",
            GgufError::NotGguf { .. } => "not-gguf",
            GgufError::UnsupportedVersion { .. } => "gguf-unsupported-version",
            GgufError::Truncated { .. } => "gguf-truncated",
            GgufError::TooLarge { .. } => "gguf-too-large",
            GgufError::BadUtf8 { .. } => "gguf-bad-utf8",
            GgufError::UnknownValueType { .. } => "gguf-unknown-type",
            GgufError::Corrupt { .. } => "gguf-corrupt",
        }
    }

    /// The file the error is about.
    pub fn file(&self) -> &Path {
        match self {
            GgufError::Io { file, .. }
            | GgufError::NotGguf { file, .. }
            | GgufError::UnsupportedVersion { file, .. }
            | GgufError::Truncated { file, .. }
            | GgufError::TooLarge { file, .. }
            | GgufError::BadUtf8 { file, .. }
            | GgufError::UnknownValueType { file, .. }
            | GgufError::Corrupt { file, .. } => file,
        }
    }

    /// True when the file is not a GGUF file at all (as opposed to a GGUF
    /// file that is damaged or unsupported).
    pub fn is_not_gguf(&self) -> bool {
        matches!(self, GgufError::NotGguf { .. })
    }
}
