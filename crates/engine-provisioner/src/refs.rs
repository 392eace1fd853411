//! The two pool values that reach git, as types that can only hold a
//! checked value: a [`GitRef`] or [`RepoUrl`] that exists was validated
//! when it was made, so no step checks it again.

use crate::validate::{self, ValidationError};
use serde::{Serialize, Serializer};
use std::fmt;

/// A tag, branch or full commit id that git cannot read as an option and
/// that follows `git check-ref-format`.
///
/// ```
/// use engine_provisioner::GitRef;
/// assert_eq!(GitRef::parse("b6000").unwrap().as_str(), "b6000");
/// assert!(GitRef::parse("--upload-pack=touch /tmp/x").is_err());
/// assert!(GitRef::parse("../../etc").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GitRef(String);

impl GitRef {
    /// Check `value` and keep it.
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        validate::git_ref(value)?;
        Ok(Self(value.to_string()))
    }

    /// The ref as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for GitRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for GitRef {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// A repository URL (`https://`, `ssh://`, `git://` or `file:///abs`).
///
/// The URL is kept as written, credentials included, for git alone;
/// `Display`, `Debug` and `Serialize` show its public form
/// ([`narration_core::public_url`]), so a plan, an error or a log line
/// cannot carry the credentials.
///
/// ```
/// use engine_provisioner::RepoUrl;
/// let repo = RepoUrl::parse("https://user:s3cret@github.com/ggml-org/llama.cpp").unwrap();
/// assert_eq!(repo.to_string(), "https://github.com/ggml-org/llama.cpp");
/// assert!(!format!("{repo:?}").contains("s3cret"));
/// assert!(RepoUrl::parse("ext::sh -c id").is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RepoUrl(String);

impl RepoUrl {
    /// Check `value` and keep it.
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        validate::repo_url(value)?;
        Ok(Self(value.to_string()))
    }

    /// The URL as written, credentials included: only for git's argv.
    pub(crate) fn for_git(&self) -> &str {
        &self.0
    }

    /// The URL without credentials or secret query values.
    pub fn public(&self) -> String {
        narration_core::public_url(&self.0)
    }
}

impl fmt::Display for RepoUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.public())
    }
}

impl fmt::Debug for RepoUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RepoUrl({})", self.public())
    }
}

impl Serialize for RepoUrl {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.public())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_credentials_reach_git_only() {
        let repo = RepoUrl::parse("https://user:tok3n@example.org/a/b").unwrap();
        assert_eq!(repo.for_git(), "https://user:tok3n@example.org/a/b");
        for shown in [
            repo.to_string(),
            format!("{repo:?}"),
            serde_json::to_string(&repo).unwrap(),
        ] {
            assert!(!shown.contains("tok3n"), "{shown}");
            assert!(shown.contains("example.org/a/b"), "{shown}");
        }
    }

    #[test]
    fn refs_serialize_as_written() {
        let r = GitRef::parse("feature/x-1").unwrap();
        assert_eq!(serde_json::to_string(&r).unwrap(), "\"feature/x-1\"");
    }
}
