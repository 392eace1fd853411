//! Model references: what a caller asks for, parsed and checked before any
//! file or network is touched.
//!
//! Accepted forms:
//!
//! | input | parsed as |
//! |---|---|
//! | `file:/abs/m.gguf`, `/abs/m.gguf`, `rel/m.gguf` | [`ModelRef::File`] (relative to the current dir) |
//! | `hf:org/repo` | [`ModelRef::Hf`], file chosen by the HF fetcher |
//! | `hf:org/repo/path/in/repo.gguf` | [`ModelRef::Hf`] with `path` |
//! | `hf:org/repo@revision/path.gguf` | with `revision` (branch, tag, commit, `refs/pr/N`) |
//! | `hf:org/repo:Q4_K_M` | with `quant`, resolved from the repo listing |
//! | `https://…`, `http://…` | [`ModelRef::Https`] / [`ModelRef::Http`] |

use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Component, Path, PathBuf};
use std::str::FromStr;

/// A parsed model reference. [`ModelRef::id`] is its stable, normalized
/// name; the catalog is keyed by it.
///
/// ```
/// use model_provisioner::ModelRef;
/// let r = ModelRef::parse("hf:TheOrg/tiny-GGUF@v1.0/models/tiny.Q4_K_M.gguf").unwrap();
/// assert_eq!(r.id(), "hf:TheOrg/tiny-GGUF@v1.0/models/tiny.Q4_K_M.gguf");
/// assert_eq!(r.scheme(), "hf");
/// assert!(ModelRef::parse("hf:org/repo/../etc/passwd").is_err());
/// ```
///
/// A URL ref keeps its credentials (userinfo, signed query parameters) for
/// the fetcher, but never shows them: `id()`, `Display` and `Debug` use
/// [`public_url`].
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ModelRef {
    /// A local file; the path is absolute and lexically normalized.
    File { path: PathBuf },
    /// A file in a Hugging Face repository.
    Hf {
        org: String,
        repo: String,
        /// Branch, tag or commit; `None` means the default branch (`main`).
        revision: Option<String>,
        /// Path of the file inside the repo.
        path: Option<String>,
        /// Quantization selector such as `Q4_K_M`, used when `path` is `None`.
        quant: Option<String>,
    },
    /// A file behind an `https://` URL.
    Https { url: String },
    /// A file behind an `http://` URL (the fetcher restricts it to loopback
    /// unless told otherwise).
    Http { url: String },
}

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
    fn without_secrets(mut self) -> Self {
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

impl ModelRef {
    /// Parse a reference; relative paths resolve against the current dir.
    pub fn parse(input: &str) -> Result<Self, RefError> {
        let cwd = std::env::current_dir().ok();
        Self::parse_in(input, cwd.as_deref())
    }

    /// Parse a reference, resolving relative paths against `base` (an
    /// error for a relative path when `base` is `None`).
    pub fn parse_in(input: &str, base: Option<&Path>) -> Result<Self, RefError> {
        Self::parse_checked(input, base).map_err(RefError::without_secrets)
    }

    fn parse_checked(input: &str, base: Option<&Path>) -> Result<Self, RefError> {
        if input.trim().is_empty() {
            return Err(RefError::Empty);
        }
        if let Some(position) = input.find(|c: char| c.is_control()) {
            return Err(RefError::ControlCharacter {
                input: input.to_string(),
                position,
            });
        }
        match split_scheme(input) {
            Some(("file", rest)) => parse_file(input, rest, base),
            Some(("hf", rest)) => parse_hf(input, rest),
            Some(("https", _)) => parse_url(input, "https").map(|url| Self::Https { url }),
            Some(("http", _)) => parse_url(input, "http").map(|url| Self::Http { url }),
            Some((scheme, _)) => Err(RefError::UnknownScheme {
                input: input.to_string(),
                scheme: scheme.to_string(),
            }),
            None => file_ref(input, Path::new(input), base),
        }
    }

    /// The stable, normalized name of this reference: the catalog key and
    /// the narration target. Equal refs have equal ids.
    pub fn id(&self) -> String {
        self.to_string()
    }

    /// `file`, `hf`, `https` or `http`: what picks the fetcher.
    pub fn scheme(&self) -> &'static str {
        match self {
            Self::File { .. } => "file",
            Self::Hf { .. } => "hf",
            Self::Https { .. } => "https",
            Self::Http { .. } => "http",
        }
    }
}

impl fmt::Display for ModelRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File { path } => write!(f, "file:{}", path.display()),
            Self::Hf {
                org,
                repo,
                revision,
                path,
                quant,
            } => {
                write!(f, "hf:{org}/{repo}")?;
                if let Some(rev) = revision {
                    write!(f, "@{rev}")?;
                }
                if let Some(p) = path {
                    write!(f, "/{p}")?;
                }
                if let Some(q) = quant {
                    write!(f, ":{q}")?;
                }
                Ok(())
            }
            Self::Https { url } | Self::Http { url } => f.write_str(&public_url(url)),
        }
    }
}

impl fmt::Debug for ModelRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File { path } => f.debug_struct("File").field("path", path).finish(),
            Self::Hf {
                org,
                repo,
                revision,
                path,
                quant,
            } => f
                .debug_struct("Hf")
                .field("org", org)
                .field("repo", repo)
                .field("revision", revision)
                .field("path", path)
                .field("quant", quant)
                .finish(),
            Self::Https { url } => f
                .debug_struct("Https")
                .field("url", &public_url(url))
                .finish(),
            Self::Http { url } => f
                .debug_struct("Http")
                .field("url", &public_url(url))
                .finish(),
        }
    }
}

/// Query parameter names whose values are credentials (signed URLs, API
/// keys), matched as lower-case substrings.
const SECRET_QUERY_NAMES: &[&str] = &[
    "token",
    "key",
    "sig",
    "secret",
    "password",
    "passwd",
    "auth",
    "credential",
    "session",
];

/// A URL as it may be shown and stored: no userinfo, and the values of
/// secret-looking query parameters replaced by `REDACTED`.
///
/// ```
/// use model_provisioner::public_url;
/// assert_eq!(
///     public_url("https://me:pw@host/m.gguf?X-Amz-Signature=abc&v=2"),
///     "https://host/m.gguf?X-Amz-Signature=REDACTED&v=2"
/// );
/// ```
pub fn public_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (path, query) = tail.split_once('?').unwrap_or((tail, ""));
    let mut out = format!("{scheme}://{host}{path}");
    if !query.is_empty() {
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name, _))
                    if SECRET_QUERY_NAMES
                        .iter()
                        .any(|s| name.to_ascii_lowercase().contains(s)) =>
                {
                    format!("{name}=REDACTED")
                }
                _ => pair.to_string(),
            })
            .collect();
        out.push('?');
        out.push_str(&pairs.join("&"));
    }
    out
}

impl FromStr for ModelRef {
    type Err = RefError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// `scheme:` at the start, when the part before the colon looks like a URI
/// scheme (so `dir/a:b.gguf` stays a path).
fn split_scheme(input: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = input.split_once(':')?;
    let mut chars = scheme.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    (first_ok && rest_ok).then_some((scheme, rest))
}

fn parse_file(input: &str, rest: &str, base: Option<&Path>) -> Result<ModelRef, RefError> {
    // file:///abs and file:/abs both name /abs.
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    if rest.is_empty() {
        return Err(RefError::EmptyPart {
            input: input.to_string(),
            part: "file path",
        });
    }
    file_ref(input, Path::new(rest), base)
}

fn file_ref(input: &str, path: &Path, base: Option<&Path>) -> Result<ModelRef, RefError> {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        match base {
            Some(b) => b.join(path),
            None => {
                return Err(RefError::NoCurrentDir {
                    input: input.to_string(),
                });
            }
        }
    };
    Ok(ModelRef::File {
        path: normalize(&absolute),
    })
}

/// Drop `.` and repeated separators. `..` is kept: resolving it lexically
/// would be wrong across symlinks.
fn normalize(path: &Path) -> PathBuf {
    path.components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect()
}

const MAX_NAME: usize = 96;
const MAX_REVISION: usize = 255;

fn parse_hf(input: &str, rest: &str) -> Result<ModelRef, RefError> {
    let err_empty = |part| RefError::EmptyPart {
        input: input.to_string(),
        part,
    };
    let (org, after_org) = rest.split_once('/').ok_or_else(|| err_empty("repo"))?;
    check_name(input, "org", org)?;
    let repo_end = after_org.find(['@', '/', ':']).unwrap_or(after_org.len());
    let (repo, mut tail) = after_org.split_at(repo_end);
    check_name(input, "repo", repo)?;

    let mut revision = None;
    if let Some(after_at) = tail.strip_prefix('@') {
        let end = revision_end(after_at);
        let (rev, t) = after_at.split_at(end);
        check_revision(input, rev)?;
        revision = Some(rev.to_string());
        tail = t;
    }

    let mut path = None;
    let mut quant = None;
    if let Some(p) = tail.strip_prefix('/') {
        check_repo_path(input, p)?;
        path = Some(p.to_string());
    } else if let Some(q) = tail.strip_prefix(':') {
        if q.is_empty() {
            return Err(err_empty("quantization"));
        }
        if !q
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        {
            return Err(RefError::BadName {
                input: input.to_string(),
                part: "quantization",
                value: q.to_string(),
                reason: "use letters, digits, '_', '-' or '.'",
            });
        }
        quant = Some(q.to_string());
    } else if !tail.is_empty() {
        // Only '@' can leave something else here: a second revision marker.
        return Err(RefError::BadRevision {
            input: input.to_string(),
            revision: tail.to_string(),
            reason: "give at most one @revision",
        });
    }
    Ok(ModelRef::Hf {
        org: org.to_string(),
        repo: repo.to_string(),
        revision,
        path,
        quant,
    })
}

/// Where a revision ends: at the next `/` or `:`, except that a pull-request
/// ref `refs/pr/N` keeps its slashes.
fn revision_end(s: &str) -> usize {
    if let Some(num) = s.strip_prefix("refs/pr/") {
        let digits = num.chars().take_while(|c| c.is_ascii_digit()).count();
        return "refs/pr/".len() + digits;
    }
    s.find(['/', ':']).unwrap_or(s.len())
}

fn check_name(input: &str, part: &'static str, value: &str) -> Result<(), RefError> {
    let bad = |reason| {
        Err(RefError::BadName {
            input: input.to_string(),
            part,
            value: value.to_string(),
            reason,
        })
    };
    if value.is_empty() {
        return Err(RefError::EmptyPart {
            input: input.to_string(),
            part,
        });
    }
    if value.len() > MAX_NAME {
        return bad("longer than 96 characters");
    }
    if !value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return bad("use letters, digits, '-', '_' or '.'");
    }
    if value.starts_with(['-', '.']) || value.ends_with(['-', '.']) {
        return bad("must not start or end with '-' or '.'");
    }
    if value.contains("--") || value.contains("..") {
        return bad("must not contain '--' or '..'");
    }
    Ok(())
}

fn check_revision(input: &str, rev: &str) -> Result<(), RefError> {
    let bad = |reason| {
        Err(RefError::BadRevision {
            input: input.to_string(),
            revision: rev.to_string(),
            reason,
        })
    };
    if rev.is_empty() {
        return Err(RefError::EmptyPart {
            input: input.to_string(),
            part: "revision",
        });
    }
    if rev.len() > MAX_REVISION {
        return bad("longer than 255 characters");
    }
    if let Some(n) = rev.strip_prefix("refs/pr/") {
        if n.is_empty() {
            return bad("refs/pr/ needs a pull-request number");
        }
        return Ok(());
    }
    if !rev
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return bad("use letters, digits, '-', '_' or '.'");
    }
    if rev.starts_with(['-', '.']) {
        return bad("must not start with '-' or '.'");
    }
    if rev.contains("..") || rev.ends_with(".lock") {
        return bad("must not contain '..' or end with '.lock'");
    }
    Ok(())
}

fn check_repo_path(input: &str, path: &str) -> Result<(), RefError> {
    if path.is_empty() {
        return Err(RefError::EmptyPart {
            input: input.to_string(),
            part: "path in the repository",
        });
    }
    if path.starts_with('/') || path.contains('\\') {
        return Err(RefError::AbsolutePath {
            input: input.to_string(),
        });
    }
    for segment in path.split('/') {
        match segment {
            "" => {
                return Err(RefError::EmptyPart {
                    input: input.to_string(),
                    part: "path segment",
                });
            }
            "." | ".." => {
                return Err(RefError::Traversal {
                    input: input.to_string(),
                    segment: segment.to_string(),
                });
            }
            _ => {}
        }
    }
    Ok(())
}

fn parse_url(input: &str, scheme: &str) -> Result<String, RefError> {
    let bad = |reason| RefError::BadUrl {
        input: input.to_string(),
        reason,
    };
    let rest = &input[scheme.len() + 1..];
    let rest = rest
        .strip_prefix("//")
        .ok_or_else(|| bad("a URL needs '//' after the scheme"))?;
    if rest.contains(char::is_whitespace) {
        return Err(bad("a URL must not contain whitespace"));
    }
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let host_port = authority.rsplit('@').next().unwrap_or(authority);
    if host_port.is_empty() || host_port.starts_with(':') {
        return Err(bad("the URL has no host"));
    }
    // The fragment never reaches a server: leave it out of the id.
    let tail = tail.split('#').next().unwrap_or("");
    let path = if tail.is_empty() || tail.starts_with('?') {
        return Err(bad("the URL has no file path"));
    } else {
        tail
    };
    // Host names are case-insensitive; credentials are not.
    let (userinfo, host_port) = match authority.rsplit_once('@') {
        Some((user, host)) => (format!("{user}@"), host),
        None => (String::new(), authority),
    };
    Ok(format!(
        "{scheme}://{userinfo}{}{path}",
        host_port.to_ascii_lowercase()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hf(
        org: &str,
        repo: &str,
        rev: Option<&str>,
        path: Option<&str>,
        quant: Option<&str>,
    ) -> ModelRef {
        ModelRef::Hf {
            org: org.into(),
            repo: repo.into(),
            revision: rev.map(Into::into),
            path: path.map(Into::into),
            quant: quant.map(Into::into),
        }
    }

    #[test]
    fn url_credentials_reach_the_fetcher_but_never_the_id() {
        let r = ModelRef::parse("https://Me:PassWord@Example.COM/m.gguf?token=T0K&v=1").unwrap();
        let ModelRef::Https { url } = &r else {
            panic!("not https: {r:?}")
        };
        assert_eq!(url, "https://Me:PassWord@example.com/m.gguf?token=T0K&v=1");
        assert_eq!(r.id(), "https://example.com/m.gguf?token=REDACTED&v=1");
        assert!(!format!("{r:?}").contains("PassWord"));
        let err = ModelRef::parse("https://me:PassWord@host").unwrap_err();
        assert!(!err.to_string().contains("PassWord"), "{err}");
    }

    #[test]
    fn parses_every_accepted_form() {
        let base = Path::new("/work");
        let p = |s| ModelRef::parse_in(s, Some(base)).unwrap();
        assert_eq!(
            p("file:/m/a.gguf"),
            ModelRef::File {
                path: "/m/a.gguf".into()
            }
        );
        assert_eq!(
            p("file:///m/a.gguf"),
            ModelRef::File {
                path: "/m/a.gguf".into()
            }
        );
        assert_eq!(
            p("/m//./a.gguf"),
            ModelRef::File {
                path: "/m/a.gguf".into()
            }
        );
        assert_eq!(
            p("models/a.gguf"),
            ModelRef::File {
                path: "/work/models/a.gguf".into()
            }
        );
        assert_eq!(
            p("./a:b.gguf"),
            ModelRef::File {
                path: "/work/a:b.gguf".into()
            }
        );
        assert_eq!(p("hf:org/repo"), hf("org", "repo", None, None, None));
        assert_eq!(
            p("hf:org/repo/dir/f.gguf"),
            hf("org", "repo", None, Some("dir/f.gguf"), None)
        );
        assert_eq!(
            p("hf:org/repo@v2/f.gguf"),
            hf("org", "repo", Some("v2"), Some("f.gguf"), None)
        );
        assert_eq!(
            p("hf:org/repo:Q4_K_M"),
            hf("org", "repo", None, None, Some("Q4_K_M"))
        );
        assert_eq!(
            p("hf:org/repo@main:Q8_0"),
            hf("org", "repo", Some("main"), None, Some("Q8_0"))
        );
        assert_eq!(
            p("hf:org/repo@refs/pr/12/f.gguf"),
            hf("org", "repo", Some("refs/pr/12"), Some("f.gguf"), None)
        );
        assert_eq!(
            p("https://Example.COM/x/m.gguf?v=1#frag"),
            ModelRef::Https {
                url: "https://example.com/x/m.gguf?v=1".into()
            }
        );
        assert_eq!(
            p("http://127.0.0.1:8080/m.gguf"),
            ModelRef::Http {
                url: "http://127.0.0.1:8080/m.gguf".into()
            }
        );
    }

    #[test]
    fn id_is_stable_and_reparses_to_the_same_ref() {
        for s in [
            "file:/m/a.gguf",
            "hf:org/repo",
            "hf:org/repo/dir/f.gguf",
            "hf:org/repo@v2/f.gguf",
            "hf:org/repo@refs/pr/3/f.gguf",
            "hf:org/repo:Q4_K_M",
            "https://example.com/m.gguf",
        ] {
            let r = ModelRef::parse(s).unwrap();
            assert_eq!(r.id(), s);
            assert_eq!(ModelRef::parse(&r.id()).unwrap(), r);
        }
        let a = ModelRef::parse_in("a.gguf", Some(Path::new("/w"))).unwrap();
        let b = ModelRef::parse("file:/w/./a.gguf").unwrap();
        assert_eq!(a.id(), b.id());
    }

    #[test]
    fn refuses_bad_refs_with_a_typed_error_naming_the_input() {
        type Check = fn(&RefError) -> bool;
        let cases: &[(&str, Check)] = &[
            ("", |e| matches!(e, RefError::Empty)),
            (
                "s3://bucket/m.gguf",
                |e| matches!(e, RefError::UnknownScheme { scheme, .. } if scheme == "s3"),
            ),
            ("hf:org", |e| {
                matches!(e, RefError::EmptyPart { part: "repo", .. })
            }),
            ("hf:/repo", |e| {
                matches!(e, RefError::EmptyPart { part: "org", .. })
            }),
            ("hf:org/", |e| {
                matches!(e, RefError::EmptyPart { part: "repo", .. })
            }),
            ("hf:org/repo/", |e| matches!(e, RefError::EmptyPart { .. })),
            ("hf:org/repo/a//b", |e| {
                matches!(
                    e,
                    RefError::EmptyPart {
                        part: "path segment",
                        ..
                    }
                )
            }),
            ("hf:org/repo/../x", |e| {
                matches!(e, RefError::Traversal { .. })
            }),
            ("hf:org/repo/a/./x", |e| {
                matches!(e, RefError::Traversal { .. })
            }),
            ("hf:org/repo//etc/passwd", |e| {
                matches!(e, RefError::AbsolutePath { .. })
            }),
            ("hf:org/repo/a\\b", |e| {
                matches!(e, RefError::AbsolutePath { .. })
            }),
            ("hf:org/repo@/f", |e| {
                matches!(
                    e,
                    RefError::EmptyPart {
                        part: "revision",
                        ..
                    }
                )
            }),
            ("hf:org/repo@-x/f", |e| {
                matches!(e, RefError::BadRevision { .. })
            }),
            ("hf:org/repo@a..b/f", |e| {
                matches!(e, RefError::BadRevision { .. })
            }),
            ("hf:org/repo@a@b", |e| {
                matches!(e, RefError::BadRevision { .. })
            }),
            ("hf:org/repo@refs/pr/", |e| {
                matches!(e, RefError::BadRevision { .. })
            }),
            ("hf:org/re po", |e| {
                matches!(e, RefError::BadName { part: "repo", .. })
            }),
            ("hf:-org/repo", |e| {
                matches!(e, RefError::BadName { part: "org", .. })
            }),
            ("hf:org/repo:", |e| {
                matches!(
                    e,
                    RefError::EmptyPart {
                        part: "quantization",
                        ..
                    }
                )
            }),
            ("hf:org/repo:Q4 K", |e| {
                matches!(
                    e,
                    RefError::BadName {
                        part: "quantization",
                        ..
                    }
                )
            }),
            ("hf:org/re\u{7}po", |e| {
                matches!(e, RefError::ControlCharacter { .. })
            }),
            ("/m/a\n.gguf", |e| {
                matches!(e, RefError::ControlCharacter { .. })
            }),
            ("https:example.com/m", |e| {
                matches!(e, RefError::BadUrl { .. })
            }),
            ("https:///m.gguf", |e| matches!(e, RefError::BadUrl { .. })),
            ("https://host", |e| matches!(e, RefError::BadUrl { .. })),
            ("file:", |e| matches!(e, RefError::EmptyPart { .. })),
        ];
        for (input, check) in cases {
            let err = ModelRef::parse(input).expect_err(input);
            assert!(check(&err), "{input:?} gave {err:?}");
            assert_eq!(err.input(), *input);
            if !input.is_empty() {
                assert!(err.to_string().contains(&format!("{input:?}")), "{err}");
            }
        }
    }

    #[test]
    fn relative_path_without_a_base_is_an_error() {
        assert!(matches!(
            ModelRef::parse_in("a.gguf", None),
            Err(RefError::NoCurrentDir { .. })
        ));
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC{0,64}") {
            let _ = ModelRef::parse_in(&s, Some(Path::new("/b")));
        }

        #[test]
        fn hf_paths_never_escape_the_repo(s in "[a-z./]{1,24}") {
            if let Ok(ModelRef::Hf { path: Some(p), .. }) = ModelRef::parse(&format!("hf:o/r/{s}")) {
                proptest::prop_assert!(!p.starts_with('/'));
                proptest::prop_assert!(p.split('/').all(|seg| seg != ".." && seg != "." && !seg.is_empty()));
            }
        }
    }
}
