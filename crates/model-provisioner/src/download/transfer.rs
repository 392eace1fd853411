//! One resumable, verified transfer into a partial file, renamed into
//! place only once verified.
//!
//! A `206` is appended only when its `Content-Range` starts where the
//! partial ends; a `200` to a Range request restarts from zero. Size and
//! sha256 are checked before the rename: nothing unverified ever sits at
//! the destination.

use crate::digest::Digest;
use crate::download::DownloadError;
use crate::download::client::{Client, Follow, status_error};
use crate::download::event::{Event, Events};
use crate::download::partial::Partial;
use crate::download::pipeline::stream_body;
use crate::download::retry::{Failure, retrying, transient};
use std::cell::Cell;
use std::path::PathBuf;
use std::time::Instant;
use url::Url;

/// What to download and what it must turn out to be.
#[derive(Debug, Clone)]
pub(crate) struct Request<'a> {
    /// Where the GET goes (redirects are followed).
    pub url: Url,
    /// A name for errors (`org/repo/file.gguf`, a URL in public form).
    pub label: String,
    /// The partial file, kept across attempts and processes.
    pub partial: PathBuf,
    /// Where the verified file is renamed to.
    pub dest: PathBuf,
    /// Size promised by the server's metadata, when known.
    pub expected_size: Option<u64>,
    /// The sha256 the server advertised (the Hub's 64-hex etag).
    pub advertised: Option<Digest>,
    /// The caller's digest.
    pub expected: Option<&'a Digest>,
}

/// A completed, verified transfer.
#[derive(Debug, Clone)]
pub(crate) struct Done {
    pub digest: Digest,
    /// Bytes received over the network by this call.
    pub transferred: u64,
}

/// Downloads `req`, resuming its partial file and retrying transient
/// failures; verifies and renames into place. Reports `Started` (once,
/// with the size when metadata or the first answer gives it), `Progress`,
/// `Retrying` and `Finished` to `events`. A verification
/// failure deletes the partial; any other failure keeps it to resume.
pub(crate) fn download(
    client: &Client,
    req: &Request<'_>,
    events: Events<'_>,
) -> Result<Done, DownloadError> {
    let started = Instant::now();
    let mut partial = Partial::open(&req.partial, req.expected_size)?;
    let resumed_from = partial.have;
    let start = Start {
        url: narration_core::public_url(req.url.as_str()),
        resumed_from,
        told: Cell::new(false),
    };
    if req.expected_size.is_some() {
        start.tell(req.expected_size, events);
    }
    let mut transferred = 0;
    let streamed = retrying(client.retry(), &req.url, events, || {
        attempt(client, req, &mut partial, &mut transferred, &start, events)
    });
    if let Err(e) = streamed {
        if e.is_verification() {
            let _ = std::fs::remove_file(&req.partial);
        }
        return Err(e);
    }
    let digest = verify(req, partial)?;
    // Read-only, with a past mtime, before anyone can see it: its
    // fingerprint vouches for the verified bytes from now on.
    crate::fingerprint::settle(&req.partial)
        .map_err(|e| DownloadError::io("settle", &req.partial, e))?;
    std::fs::rename(&req.partial, &req.dest)
        .map_err(|e| DownloadError::io("move into place", &req.dest, e))?;
    events(Event::Finished {
        transferred,
        elapsed: started.elapsed(),
        resumed_from,
    });
    Ok(Done {
        digest,
        transferred,
    })
}

/// [`Event::Started`], told once per transfer: at once when metadata gave
/// the size, else when the first answer is accepted, so that the size its
/// `Content-Length` or `Content-Range` gives is in it.
struct Start {
    /// The GET's URL, public form.
    url: String,
    resumed_from: u64,
    told: Cell<bool>,
}

impl Start {
    fn tell(&self, total: Option<u64>, events: Events<'_>) {
        if !self.told.replace(true) {
            events(Event::Started {
                url: &self.url,
                resumed_from: self.resumed_from,
                total,
            });
        }
    }
}

/// One GET: validates the answer against the partial, then streams the body.
fn attempt(
    client: &Client,
    req: &Request<'_>,
    partial: &mut Partial,
    transferred: &mut u64,
    start: &Start,
    events: Events<'_>,
) -> Result<(), Failure> {
    let range = (partial.have > 0).then_some(partial.have);
    let answer = client.request("GET", &req.url, range, Follow::All)?;
    match answer.status() {
        206 => {
            let cr = answer.header("content-range").and_then(parse_content_range);
            let continues = cr.is_some_and(|(start, len)| {
                start == partial.have && partial.total.is_none_or(|t| t == len)
            });
            if !continues {
                partial.restart()?;
                return Err(transient(
                    "the server's Content-Range does not continue the partial file; restarting",
                ));
            }
            if let Some((_, len)) = cr {
                partial.total = Some(len);
            }
        }
        200 => {
            if partial.have > 0 {
                // The server ignored Range: appending this body would corrupt the file.
                partial.restart()?;
            }
            if let Some(len) = answer.header("content-length").and_then(|v| v.parse().ok()) {
                partial.total.get_or_insert(len);
            }
        }
        416 if partial.total == Some(partial.have) => return Ok(()),
        416 => {
            partial.restart()?;
            return Err(transient("range not satisfiable; restarting"));
        }
        status => return Err(Failure::Fatal(status_error(&answer.url, status))),
    }
    start.tell(partial.total, events);
    let body = answer.response.into_body().into_reader();
    stream_body(body, &req.label, partial, transferred, events)
}

/// `bytes S-E/L` → (S, L).
fn parse_content_range(v: &str) -> Option<(u64, u64)> {
    let rest = v.trim().strip_prefix("bytes ")?;
    let (range, len) = rest.split_once('/')?;
    let (start, end) = range.split_once('-')?;
    let (start, end, len): (u64, u64, u64) =
        (start.parse().ok()?, end.parse().ok()?, len.parse().ok()?);
    (start <= end && end < len).then_some((start, len))
}

/// Size, then sha256 against the advertised digest and the caller's. A
/// mismatch deletes the partial, so the next try starts clean.
fn verify(req: &Request<'_>, partial: Partial) -> Result<Digest, DownloadError> {
    let Partial {
        file,
        hasher,
        have,
        total,
        ..
    } = partial;
    drop(file);
    let refuse = |e: DownloadError| {
        let _ = std::fs::remove_file(&req.partial);
        Err(e)
    };
    if let Some(expected) = req.expected_size.or(total)
        && have != expected
    {
        return refuse(DownloadError::SizeMismatch {
            file: req.label.clone(),
            expected,
            actual: have,
        });
    }
    let digest = hasher.finish();
    if let Some(advertised) = req.advertised
        && digest != advertised
    {
        return refuse(DownloadError::EtagMismatch {
            file: req.label.clone(),
            expected: advertised.hex(),
            actual: digest.hex(),
        });
    }
    if let Some(&expected) = req.expected
        && digest != expected
    {
        return refuse(DownloadError::DigestMismatch {
            path: req.dest.clone(),
            expected,
            actual: digest,
        });
    }
    Ok(digest)
}

#[cfg(test)]
mod tests {
    #[test]
    fn content_range_is_parsed_strictly() {
        use super::parse_content_range as p;
        assert_eq!(p("bytes 10-99/100"), Some((10, 100)));
        assert_eq!(p("bytes 10-100/100"), None);
        assert_eq!(p("bytes */100"), None);
        assert_eq!(p("items 1-2/3"), None);
    }
}
