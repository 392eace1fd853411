//! Hub metadata: the HEAD on a resolve URL (commit, etag, size, where the
//! GET goes) and the listing API, each retried on transient failures.

use crate::hf::error::HfError;
use crate::hf::http::{Client, Failure, Follow, display_url, header, join};
use crate::hf::narrate::Narrator;
use crate::hf::retry::{Backoff, sleep};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use std::io::Read;
use ureq::Body;
use ureq::http::Response;

/// What the Hub says about one file.
#[derive(Debug, Clone)]
pub(crate) struct FileMeta {
    pub commit: String,
    /// Blob name: sha256 (LFS) or git sha1, quotes and `W/` stripped.
    pub etag: String,
    pub size: Option<u64>,
    /// Where the GET goes (the CDN for LFS files).
    pub location: String,
}

/// What went wrong, before it is an error: `EntryNotFound` may carry the
/// commit so the absence can be remembered.
#[derive(Debug)]
pub(crate) struct MetaError {
    pub error: HfError,
    pub missing_at_commit: Option<String>,
}

impl From<HfError> for MetaError {
    fn from(error: HfError) -> Self {
        Self {
            error,
            missing_at_commit: None,
        }
    }
}

const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');
const PATH: &AsciiSet = &UNRESERVED.remove(b'/');

/// `{endpoint}/{repo}/resolve/{revision}/{file}`, revision fully encoded,
/// `/` in the file path kept.
pub(crate) fn resolve_url(endpoint: &str, repo: &str, revision: &str, file: &str) -> String {
    format!(
        "{endpoint}/{repo}/resolve/{}/{}",
        utf8_percent_encode(revision, UNRESERVED),
        utf8_percent_encode(file, PATH)
    )
}

/// Runs `op` until it succeeds, fails for good, or the retry budget is
/// spent; each retry is narrated as `download-retry`.
pub(crate) fn retrying<T>(
    client: &Client,
    what: &str,
    url: &str,
    n: Narrator<'_>,
    mut op: impl FnMut() -> Result<T, Failure>,
) -> Result<T, HfError> {
    let mut backoff = Backoff::new(&client.settings.retry);
    loop {
        match op() {
            Ok(v) => return Ok(v),
            Err(Failure::Fatal(e)) => return Err(e),
            Err(Failure::Transient {
                reason,
                retry_after,
            }) => {
                let attempt = backoff.attempt();
                let Some(delay) = backoff.next_delay(retry_after) else {
                    return Err(HfError::RetriesExhausted {
                        url: display_url(url),
                        attempts: attempt,
                        last: reason,
                    });
                };
                n.retry(what, attempt, backoff.max_attempts(), delay, &reason);
                sleep(delay);
            }
        }
    }
}

/// HEAD on the resolve URL, same-origin redirects followed; a cross-origin
/// redirect carries the metadata and names where the GET goes.
pub(crate) fn file_meta(
    client: &Client,
    endpoint: &str,
    repo: &str,
    revision: &str,
    file: &str,
    n: Narrator<'_>,
) -> Result<FileMeta, MetaError> {
    let url = resolve_url(endpoint, repo, revision, file);
    let mut missing_at_commit = None;
    let result = retrying(client, &format!("{repo}/{file}"), &url, n, || {
        let (answered, resp) = client.request("HEAD", &url, None, Follow::SameOrigin)?;
        let status = resp.status().as_u16();
        if status >= 400 {
            if let Some(c) = header(&resp, "x-repo-commit").filter(|c| is_safe_name(c)) {
                missing_at_commit = Some(c.to_string());
            }
            return Err(Failure::Fatal(hub_error(
                &resp, &answered, client, repo, revision, file,
            )));
        }
        parse_meta(&resp, &answered).map_err(Failure::Fatal)
    });
    result.map_err(|error| MetaError {
        missing_at_commit: (error.kind() == "entry-not-found")
            .then_some(missing_at_commit)
            .flatten(),
        error,
    })
}

fn parse_meta(resp: &Response<Body>, answered: &str) -> Result<FileMeta, HfError> {
    let url = display_url(answered);
    let commit = header(resp, "x-repo-commit")
        .filter(|c| is_safe_name(c))
        .ok_or_else(|| HfError::NotAHub { url: url.clone() })?;
    let etag = header(resp, "x-linked-etag")
        .or_else(|| header(resp, "etag"))
        .map(normalize_etag)
        .filter(|e| is_safe_name(e))
        .ok_or_else(|| HfError::MissingEtag { url: url.clone() })?;
    let redirect = (300..400).contains(&resp.status().as_u16());
    let size = header(resp, "x-linked-size")
        .or_else(|| {
            (!redirect)
                .then(|| header(resp, "content-length"))
                .flatten()
        })
        .and_then(|v| v.trim().parse().ok());
    let location = match header(resp, "location").filter(|_| redirect) {
        Some(l) => join(answered, l),
        None => answered.to_string(),
    };
    Ok(FileMeta {
        commit: commit.to_string(),
        etag,
        size,
        location,
    })
}

/// `W/"abc"` → `abc`.
fn normalize_etag(v: &str) -> String {
    v.trim()
        .trim_start_matches("W/")
        .trim_matches('"')
        .to_string()
}

/// Safe as one path component: letters, digits, `-`, `_`, `.`; not `.`/`..`.
fn is_safe_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s != "."
        && s != ".."
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Maps a 4xx/5xx Hub answer to a typed error through `X-Error-Code`.
/// Only the code is read; no header value reaches the message.
fn hub_error(
    resp: &Response<Body>,
    url: &str,
    client: &Client,
    repo: &str,
    revision: &str,
    file: &str,
) -> HfError {
    let status = resp.status().as_u16();
    let token_sent = client.settings.token.is_some();
    let repo = repo.to_string();
    match header(resp, "x-error-code") {
        Some("RepoNotFound") => HfError::RepoNotFound {
            repo,
            endpoint: client_endpoint(url),
        },
        Some("RevisionNotFound") => HfError::RevisionNotFound {
            repo,
            revision: revision.to_string(),
        },
        Some("EntryNotFound") => HfError::EntryNotFound {
            repo,
            revision: revision.to_string(),
            file: file.to_string(),
        },
        Some("GatedRepo") if token_sent => HfError::GatedDenied { repo },
        Some("GatedRepo") => HfError::GatedNoToken { repo },
        _ if status == 401 => HfError::RepoNotFound {
            repo,
            endpoint: client_endpoint(url),
        },
        _ => crate::hf::transfer::status_error(url, status),
    }
}

fn client_endpoint(url: &str) -> String {
    let u = display_url(url);
    match u
        .find("://")
        .and_then(|i| u[i + 3..].find('/').map(|j| i + 3 + j))
    {
        Some(end) => u[..end].to_string(),
        None => u,
    }
}

/// A repo listing: the commit and every file path.
#[derive(Debug, Clone)]
pub(crate) struct Listing {
    pub commit: String,
    pub files: Vec<String>,
}

const MAX_LISTING: u64 = 16 << 20;

/// `GET {endpoint}/api/models/{repo}/revision/{revision}`.
pub(crate) fn listing(
    client: &Client,
    endpoint: &str,
    repo: &str,
    revision: &str,
    n: Narrator<'_>,
) -> Result<Listing, HfError> {
    let url = format!(
        "{endpoint}/api/models/{repo}/revision/{}",
        utf8_percent_encode(revision, UNRESERVED)
    );
    let bad = |reason: &str| HfError::BadListing {
        repo: repo.to_string(),
        reason: reason.to_string(),
    };
    let body = retrying(client, &format!("listing {repo}"), &url, n, || {
        let (answered, resp) = client.request("GET", &url, None, Follow::All)?;
        if resp.status().as_u16() >= 400 {
            return Err(Failure::Fatal(hub_error(
                &resp, &answered, client, repo, revision, "",
            )));
        }
        let mut text = String::new();
        resp.into_body()
            .into_reader()
            .take(MAX_LISTING)
            .read_to_string(&mut text)
            .map_err(|e| Failure::Transient {
                reason: format!("listing cut short ({})", e.kind()),
                retry_after: None,
            })?;
        Ok(text)
    })?;
    let v: serde_json::Value = serde_json::from_str(&body).map_err(|_| bad("not JSON"))?;
    let commit = v["sha"]
        .as_str()
        .filter(|c| is_safe_name(c))
        .ok_or_else(|| bad("no commit sha"))?
        .to_string();
    let siblings = v["siblings"].as_array().ok_or_else(|| bad("no siblings"))?;
    let files = siblings
        .iter()
        .filter_map(|s| s["rfilename"].as_str())
        .filter(|p| crate::hf::select::is_safe_repo_path(p))
        .map(str::to_string)
        .collect();
    Ok(Listing { commit, files })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_url_encodes_revision_fully_and_keeps_slashes_in_paths() {
        assert_eq!(
            resolve_url("http://h", "o/r", "refs/pr/1", "d/a b.gguf"),
            "http://h/o/r/resolve/refs%2Fpr%2F1/d/a%20b.gguf"
        );
    }

    #[test]
    fn etags_are_normalized_and_checked() {
        assert_eq!(normalize_etag("W/\"abc\""), "abc");
        assert!(!is_safe_name("../x"));
        assert!(!is_safe_name(".."));
        assert!(is_safe_name(&"a".repeat(64)));
    }
}
