//! Why a model reference was refused.

use narration_core::public_url;

/// Why a model reference was refused. Every variant carries the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefError {
    #[error(
        "model reference is empty: give a path, file:/abs/path, hf:org/repo/file.gguf or https://…"
    )]
    Empty,
    #[error("model reference {input:?} contains a control character at byte {position}")]
    ControlCharacter { input: String, position: usize },
    #[error(
        "model reference {input:?} uses unknown scheme {scheme:?}: use file:, hf:, https: or http:"
    )]
    UnknownScheme { input: String, scheme: String },
    #[error("model reference {input:?} has an empty {part}")]
    EmptyPart { input: String, part: &'static str },
    #[error("model reference {input:?}: {part} {value:?} is not a valid name ({reason})")]
    BadName {
        input: String,
        part: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error("model reference {input:?}: path segment {segment:?} would leave the repository")]
    Traversal { input: String, segment: String },
    #[error("model reference {input:?}: the path inside the repository must be relative")]
    AbsolutePath { input: String },
    #[error("model reference {input:?}: revision {revision:?} is not valid ({reason})")]
    BadRevision {
        input: String,
        revision: String,
        reason: &'static str,
    },
    #[error("model reference {input:?}: {reason}")]
    BadUrl { input: String, reason: &'static str },
    #[error(
        "model reference {input:?}: the current directory is unavailable to resolve a relative path"
    )]
    NoCurrentDir { input: String },
}

impl RefError {
    /// Errors quote their input: strip credentials and tokens from it first,
    /// so a refused URL cannot carry a secret into a message.
    pub(super) fn without_secrets(mut self) -> Self {
        if let Some(input) = self.input_mut() {
            *input = public_url(&narration_core::redact(input));
        }
        self
    }

    fn input_mut(&mut self) -> Option<&mut String> {
        match self {
            Self::Empty => None,
            Self::ControlCharacter { input, .. }
            | Self::UnknownScheme { input, .. }
            | Self::EmptyPart { input, .. }
            | Self::BadName { input, .. }
            | Self::Traversal { input, .. }
            | Self::AbsolutePath { input }
            | Self::BadRevision { input, .. }
            | Self::BadUrl { input, .. }
            | Self::NoCurrentDir { input } => Some(input),
        }
    }

    /// The input that was refused (empty for [`RefError::Empty`]).
    pub fn input(&self) -> &str {
        match self {
            Self::Empty => "",
            Self::ControlCharacter { input, .. }
            | Self::UnknownScheme { input, .. }
            | Self::EmptyPart { input, .. }
            | Self::BadName { input, .. }
            | Self::Traversal { input, .. }
            | Self::AbsolutePath { input }
            | Self::BadRevision { input, .. }
            | Self::BadUrl { input, .. }
            | Self::NoCurrentDir { input } => input,
        }
    }
}
