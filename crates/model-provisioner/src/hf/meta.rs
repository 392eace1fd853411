//! Hub metadata: the HEAD on a resolve URL (commit, etag, size, where the
//! GET goes) and the listing API, each retried on transient failures.

use crate::download::{Answer, Client, Events, Failure, Follow, parse_url, redirect_target};
use crate::download::{retrying, status_error, transient};
use crate::hf::cache::is_commit_hash;
use crate::hf_error::{HfError, bounded};
use narration_core::public_url;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use std::io::Read;
use url::Url;

/// What the Hub says about one file.
#[derive(Debug, Clone)]
pub(crate) struct FileMeta {
    pub commit: String,
    /// Blob name: sha256 (LFS) or git sha1, quotes and `W/` stripped.
    pub etag: String,
    pub size: Option<u64>,
    /// Where the GET goes (the CDN for LFS files).
    pub location: Url,
}

/// What went wrong, before it is an error: `EntryNotFound` may carry the
/// commit so the absence can be remembered.
#[derive(Debug)]
pub(crate) struct MetaError {
    pub error: HfError,
    pub missing_at_commit: Option<String>,
}

/// Where a metadata request goes and what it is about.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Subject<'a> {
    pub endpoint: &'a str,
    pub repo: &'a str,
    pub revision: &'a str,
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

/// HEAD on the resolve URL, same-origin redirects followed; a cross-origin
/// redirect carries the metadata and names where the GET goes.
pub(crate) fn file_meta(
    client: &Client,
    at: Subject<'_>,
    file: &str,
    events: Events<'_>,
) -> Result<FileMeta, MetaError> {
    let url = parse_url(&resolve_url(at.endpoint, at.repo, at.revision, file))
        .map_err(|e| MetaError::from(HfError::from(e)))?;
    let mut missing_at_commit = None;
    let result = retrying(client.retry(), &url, events, || {
        let answer = client
            .request("HEAD", &url, None, Follow::SameOrigin)
            .map_err(Failure::lift)?;
        if answer.status() >= 400 {
            if let Some(c) = answer.header("x-repo-commit").filter(|c| is_commit_hash(c)) {
                missing_at_commit = Some(c.to_string());
            }
            return Err(Failure::Fatal(hub_error(&answer, client, at, file)));
        }
        parse_meta(&answer).map_err(Failure::Fatal)
    });
    result.map_err(|error| MetaError {
        missing_at_commit: matches!(error, HfError::EntryNotFound { .. })
            .then_some(missing_at_commit)
            .flatten(),
        error,
    })
}

impl From<HfError> for MetaError {
    fn from(error: HfError) -> Self {
        Self {
            error,
            missing_at_commit: None,
        }
    }
}

fn parse_meta(answer: &Answer) -> Result<FileMeta, HfError> {
    let url = public_url(answer.url.as_str());
    let commit = answer
        .header("x-repo-commit")
        .ok_or_else(|| HfError::NotAHub { url: url.clone() })?;
    if !is_commit_hash(commit) {
        return Err(HfError::BadCommit {
            url,
            received: bounded(commit),
        });
    }
    let etag = answer
        .header("x-linked-etag")
        .or_else(|| answer.header("etag"))
        .map(normalize_etag)
        .filter(|e| is_safe_name(e))
        .ok_or_else(|| HfError::MissingEtag { url: url.clone() })?;
    let redirect = redirect_target(answer)?;
    let size = answer
        .header("x-linked-size")
        .or_else(|| {
            redirect
                .is_none()
                .then(|| answer.header("content-length"))
                .flatten()
        })
        .and_then(|v| v.trim().parse().ok());
    Ok(FileMeta {
        commit: commit.to_string(),
        etag,
        size,
        location: redirect.unwrap_or_else(|| answer.url.clone()),
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
fn hub_error(answer: &Answer, client: &Client, at: Subject<'_>, file: &str) -> HfError {
    let repo = at.repo.to_string();
    let endpoint = || answer.url.origin().ascii_serialization();
    match answer.header("x-error-code") {
        Some("RepoNotFound") => HfError::RepoNotFound {
            repo,
            endpoint: endpoint(),
        },
        Some("RevisionNotFound") => HfError::RevisionNotFound {
            repo,
            revision: at.revision.to_string(),
        },
        Some("EntryNotFound") => HfError::EntryNotFound {
            repo,
            revision: at.revision.to_string(),
            file: file.to_string(),
        },
        Some("GatedRepo") if client.has_token() => HfError::GatedDenied { repo },
        Some("GatedRepo") => HfError::GatedNoToken { repo },
        _ if answer.status() == 401 => HfError::RepoNotFound {
            repo,
            endpoint: endpoint(),
        },
        _ => status_error(&answer.url, answer.status()).into(),
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
    at: Subject<'_>,
    events: Events<'_>,
) -> Result<Listing, HfError> {
    let url = parse_url(&format!(
        "{}/api/models/{}/revision/{}",
        at.endpoint,
        at.repo,
        utf8_percent_encode(at.revision, UNRESERVED)
    ))?;
    let body = retrying(client.retry(), &url, events, || {
        let answer = client
            .request("GET", &url, None, Follow::All)
            .map_err(Failure::lift)?;
        if answer.status() >= 400 {
            return Err(Failure::Fatal(hub_error(&answer, client, at, "")));
        }
        let mut text = String::new();
        answer
            .response
            .into_body()
            .into_reader()
            .take(MAX_LISTING)
            .read_to_string(&mut text)
            .map_err(|e| transient(format!("listing cut short ({})", e.kind())))?;
        Ok(text)
    })?;
    parse_listing(at.repo, &body)
}

fn parse_listing(repo: &str, body: &str) -> Result<Listing, HfError> {
    let bad = |reason: &str| HfError::BadListing {
        repo: repo.to_string(),
        reason: reason.to_string(),
    };
    let v: serde_json::Value = serde_json::from_str(body).map_err(|_| bad("not JSON"))?;
    let commit = v["sha"].as_str().ok_or_else(|| bad("no commit sha"))?;
    if !is_commit_hash(commit) {
        return Err(bad(&format!(
            "its commit sha {} is not 40 lowercase hex digits",
            bounded(commit)
        )));
    }
    let commit = commit.to_string();
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
