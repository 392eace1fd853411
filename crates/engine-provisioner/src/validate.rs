//! Input checks that run before any process starts: a value that git or
//! CMake could read as an option, or that could escape a path, never
//! reaches them. [`crate::GitRef`] and [`crate::RepoUrl`] run these when
//! they are built, so a loaded pool holds only checked values.

/// Why a value was refused. Each variant carries the value.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    /// Empty where a value is needed.
    #[error("is empty")]
    Empty,
    /// Starts with `-`: a tool would read it as an option.
    #[error("{value:?} starts with '-', which git or cmake would read as an option")]
    LeadingDash {
        /// The value.
        value: String,
    },
    /// Contains a control character.
    #[error("{value:?} contains a control character at byte {position}")]
    ControlCharacter {
        /// The value.
        value: String,
        /// Byte offset of the first one.
        position: usize,
    },
    /// A git ref that git itself would refuse or that walks up (`..`).
    #[error("{value:?} is not a valid git ref: {reason}")]
    BadRef {
        /// The value.
        value: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// A repository URL with a scheme outside https/ssh/git/file.
    #[error(
        "{value:?} is not an allowed repository URL: {reason}; use https://, ssh://, git:// or file:///absolute/path"
    )]
    BadRepo {
        /// The value.
        value: String,
        /// What is wrong.
        reason: String,
    },
    /// A pool id with characters outside `[A-Za-z0-9._-]`.
    #[error("{value:?} is not a valid pool id: use letters, digits, '-', '_' and '.' (max 64)")]
    BadPoolId {
        /// The value.
        value: String,
    },
    /// A CMake flag that is not a `-DNAME=VALUE` definition.
    #[error("{value:?} is not a CMake definition: write -DNAME=VALUE")]
    BadCmakeFlag {
        /// The value.
        value: String,
    },
}

impl ValidationError {
    /// The same error quoting its value without URL credentials.
    fn without_credentials(self) -> Self {
        let scrub = |value: String| narration_core::public_url(&value);
        match self {
            Self::LeadingDash { value } => Self::LeadingDash {
                value: scrub(value),
            },
            Self::ControlCharacter { value, position } => Self::ControlCharacter {
                value: scrub(value),
                position,
            },
            other => other,
        }
    }
}

/// No control characters.
pub fn plain_text(value: &str) -> Result<(), ValidationError> {
    match value.char_indices().find(|(_, c)| c.is_control()) {
        Some((position, _)) => Err(ValidationError::ControlCharacter {
            value: value.to_string(),
            position,
        }),
        None => Ok(()),
    }
}

fn no_option_like(value: &str) -> Result<(), ValidationError> {
    if value.is_empty() {
        return Err(ValidationError::Empty);
    }
    plain_text(value)?;
    if value.starts_with('-') {
        return Err(ValidationError::LeadingDash {
            value: value.to_string(),
        });
    }
    Ok(())
}

/// A pool id: 1–64 of `[A-Za-z0-9._-]`, not starting with `-` or `.`.
pub fn pool_id(value: &str) -> Result<(), ValidationError> {
    let ok = !value.is_empty()
        && value.len() <= 64
        && !value.starts_with(['-', '.'])
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(ValidationError::BadPoolId {
            value: value.to_string(),
        })
    }
}

/// True when a ref breaks the rule.
type RefRule = fn(&str) -> bool;

/// The `git check-ref-format` rules a ref is checked against, each with
/// the reason given when it breaks it.
const REF_RULES: &[(RefRule, &str)] = &[
    (|v| v.contains(".."), "contains '..'"),
    (|v| v.contains(' '), "contains a space"),
    (
        |v| v.contains(['~', '^', ':', '?', '*', '[', '\\']),
        "contains one of ~ ^ : ? * [ \\",
    ),
    (|v| v.contains("@{") || v == "@", "contains '@{' or is '@'"),
    (
        |v| v.starts_with('/') || v.ends_with('/') || v.contains("//"),
        "has an empty path component",
    ),
    (
        |v| v.ends_with('.') || v.ends_with(".lock"),
        "ends with '.' or '.lock'",
    ),
    (
        |v| v.split('/').any(|part| part.starts_with('.')),
        "has a component starting with '.'",
    ),
];

/// A git ref (tag, branch or commit id), following `git check-ref-format`
/// and refusing `..` and a leading `-`.
pub fn git_ref(value: &str) -> Result<(), ValidationError> {
    no_option_like(value)?;
    match REF_RULES.iter().find(|(breaks, _)| breaks(value)) {
        Some((_, reason)) => Err(ValidationError::BadRef {
            value: value.to_string(),
            reason,
        }),
        None => Ok(()),
    }
}

/// True when `value` is a full 40-hex commit id.
pub fn is_full_commit(value: &str) -> bool {
    value.len() == 40 && value.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A repository URL with scheme `https`, `ssh`, `git` or `file`; `file`
/// URLs need an absolute path.
pub fn repo_url(value: &str) -> Result<(), ValidationError> {
    no_option_like(value).map_err(ValidationError::without_credentials)?;
    // The refused value is quoted in errors: without its credentials.
    let bad = |reason: &str| {
        Err(ValidationError::BadRepo {
            value: narration_core::public_url(value),
            reason: reason.to_string(),
        })
    };
    let Some((scheme, rest)) = value.split_once("://") else {
        return bad("it has no scheme");
    };
    match scheme {
        "https" | "ssh" | "git" => {
            let host = rest.split('/').next().unwrap_or("");
            let host = host.rsplit('@').next().unwrap_or(host);
            if host.is_empty() || host.starts_with('-') {
                return bad("the host is empty or starts with '-'");
            }
            if value.chars().any(char::is_whitespace) {
                return bad("it contains whitespace");
            }
            Ok(())
        }
        "file" => {
            if !rest.starts_with('/') {
                return bad("a file:// URL needs an absolute path (file:///path)");
            }
            if rest.split('/').any(|p| p == "..") {
                return bad("the path contains '..'");
            }
            Ok(())
        }
        other => bad(&format!("scheme {other:?} is not allowed")),
    }
}

/// A CMake cache definition `-DNAME=VALUE` (or `-DNAME:TYPE=VALUE`).
pub fn cmake_flag(value: &str) -> Result<(), ValidationError> {
    plain_text(value)?;
    let bad = || {
        Err(ValidationError::BadCmakeFlag {
            value: value.to_string(),
        })
    };
    let Some(def) = value.strip_prefix("-D") else {
        return bad();
    };
    let Some((name, _)) = def.split_once('=') else {
        return bad();
    };
    let name = name.split(':').next().unwrap_or(name);
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
    {
        return bad();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_accepted() {
        for r in [
            "v0",
            "b6000",
            "master",
            "feature/x-1",
            "0c1e57098",
            "784bfba963081f83f96bddfdca58e02b4576ff49",
        ] {
            assert!(git_ref(r).is_ok(), "{r}");
        }
    }

    #[test]
    fn hostile_refs_refused() {
        for r in [
            "",
            "-x",
            "--upload-pack=touch /tmp/pwned",
            "v0\n",
            "a\u{7f}b",
            "../../etc",
            "a..b",
            "a b",
            "a:b",
            "HEAD~1",
            "x^{}",
            "/abs",
            "x/",
            "x.lock",
            ".hidden",
            "@",
            "a@{1}",
        ] {
            assert!(git_ref(r).is_err(), "{r:?} was accepted");
        }
    }

    #[test]
    fn repos() {
        for ok in [
            "https://github.com/ggml-org/llama.cpp",
            "ssh://git@github.com/ggml-org/llama.cpp.git",
            "git://example.org/llama.cpp",
            "file:///srv/git/llama.cpp",
        ] {
            assert!(repo_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "-uhttps://x",
            "http://example.org/x",
            "ext::sh -c touch% /tmp/pwned",
            "fd::3",
            "git@github.com:org/repo.git",
            "/local/path",
            "file://relative/path",
            "file:///a/../b",
            "https://-oProxyCommand=x/y",
            "https://host/a\tb",
        ] {
            assert!(repo_url(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn refused_repos_are_quoted_without_credentials() {
        for bad in [
            "http://user:s3cr3t@example.org/x",
            "-https://user:s3cr3t@example.org/x",
            "https://user:s3cr3t@example.org/a\u{7}b",
        ] {
            let msg = repo_url(bad).unwrap_err().to_string();
            assert!(!msg.contains("s3cr3t"), "{msg}");
        }
    }

    #[test]
    fn cmake_flags() {
        assert!(cmake_flag("-DGGML_CUDA=ON").is_ok());
        assert!(cmake_flag("-DCMAKE_CUDA_ARCHITECTURES:STRING=90").is_ok());
        for bad in [
            "GGML_CUDA=ON",
            "-DX",
            "-D=1",
            "--trace",
            "-DX=1\n",
            "-P/tmp/x.cmake",
        ] {
            assert!(cmake_flag(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn pool_ids() {
        assert!(pool_id("gpu-0").is_ok());
        for bad in ["", "-x", ".x", "a/b", "a b", &"x".repeat(65)] {
            assert!(pool_id(bad).is_err(), "{bad:?}");
        }
    }
}
