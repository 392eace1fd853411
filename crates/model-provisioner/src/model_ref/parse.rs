//! Parsing each form of model reference, with the checks that refuse
//! traversal, empty parts, control characters and unknown schemes.

use super::{ModelRef, RefError};
use std::path::{Component, Path, PathBuf};

/// `scheme:` at the start, when the part before the colon looks like a URI
/// scheme (so `dir/a:b.gguf` stays a path).
pub(super) fn split_scheme(input: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = input.split_once(':')?;
    let mut chars = scheme.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    (first_ok && rest_ok).then_some((scheme, rest))
}

pub(super) fn parse_file(
    input: &str,
    rest: &str,
    base: Option<&Path>,
) -> Result<ModelRef, RefError> {
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

pub(super) fn file_ref(
    input: &str,
    path: &Path,
    base: Option<&Path>,
) -> Result<ModelRef, RefError> {
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

pub(super) fn parse_hf(input: &str, rest: &str) -> Result<ModelRef, RefError> {
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

pub(super) fn parse_url(input: &str, scheme: &str) -> Result<String, RefError> {
    let bad = |reason| RefError::BadUrl {
        input: input.to_string(),
        reason,
    };
    if !input[scheme.len() + 1..].starts_with("//") {
        return Err(bad("a URL needs '//' after the scheme"));
    }
    if input.contains(char::is_whitespace) {
        return Err(bad("a URL must not contain whitespace"));
    }
    let mut url = url::Url::parse(input).map_err(|_| bad("it is not a valid URL"))?;
    match url.host() {
        None | Some(url::Host::Domain("")) => return Err(bad("the URL has no host")),
        // A host name is letters, digits, `-`, `_` and dots; anything else
        // (`*`, `=`, …) names no server, and would not survive redaction.
        Some(url::Host::Domain(d))
            if !d
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')) =>
        {
            return Err(bad("the host is not a DNS name or an IP address"));
        }
        Some(_) => {}
    }
    if matches!(url.path(), "" | "/") {
        return Err(bad("the URL has no file path"));
    }
    // The fragment never reaches a server: leave it out of the id. The url
    // crate lower-cases the host (case-insensitive) and keeps credentials.
    url.set_fragment(None);
    Ok(url.into())
}
