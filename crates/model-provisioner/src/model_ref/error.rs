//! Why a model reference was refused.

use narration_core::public_url;

/// Why a model reference was refused. Every variant carries the input.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefError {
    /// Nothing was given.
    #[error(
        "model reference is empty: give a path, file:/abs/path, hf:org/repo/file.gguf or https://…"
    )]
    Empty,
    /// A control character (newline, escape, …) in the reference.
    #[error("model reference {input:?} contains a control character at byte {position}")]
    ControlCharacter {
        /// The reference as given (credentials removed).
        input: String,
        /// Byte offset of the character.
        position: usize,
    },
    /// A scheme other than `file:`, `hf:`, `https:` or `http:`.
    #[error(
        "model reference {input:?} uses unknown scheme {scheme:?}: use file:, hf:, https:, http: or oci:"
    )]
    UnknownScheme {
        /// The reference as given.
        input: String,
        /// The scheme found.
        scheme: String,
    },
    /// A required part (org, repo, path, …) is empty.
    #[error("model reference {input:?} has an empty {part}")]
    EmptyPart {
        /// The reference as given.
        input: String,
        /// Which part.
        part: &'static str,
    },
    /// An org, repo or quantization name with characters the Hub refuses.
    #[error("model reference {input:?}: {part} {value:?} is not a valid name ({reason})")]
    BadName {
        /// The reference as given.
        input: String,
        /// Which part.
        part: &'static str,
        /// Its value.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A `..` that would leave the repository.
    #[error("model reference {input:?}: path segment {segment:?} would leave the repository")]
    Traversal {
        /// The reference as given.
        input: String,
        /// The offending segment.
        segment: String,
    },
    /// An absolute path inside a repository.
    #[error("model reference {input:?}: the path inside the repository must be relative")]
    AbsolutePath {
        /// The reference as given.
        input: String,
    },
    /// A revision git and the Hub would refuse.
    #[error("model reference {input:?}: revision {revision:?} is not valid ({reason})")]
    BadRevision {
        /// The reference as given.
        input: String,
        /// The revision.
        revision: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A URL that cannot name a file on a host.
    #[error("model reference {input:?}: {reason}")]
    BadUrl {
        /// The reference as given (credentials removed).
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An `@digest` that is not `sha256:` and 64 lower-case hex digits.
    #[error("model reference {input:?}: digest {digest:?} is not valid ({reason})")]
    BadDigest {
        /// The reference as given.
        input: String,
        /// The digest given.
        digest: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A relative path, and no current directory to resolve it against.
    #[error(
        "model reference {input:?}: the current directory is unavailable to resolve a relative path"
    )]
    NoCurrentDir {
        /// The reference as given.
        input: String,
    },
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
            | Self::BadDigest { input, .. }
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
            | Self::BadDigest { input, .. }
            | Self::NoCurrentDir { input } => input,
        }
    }
}
