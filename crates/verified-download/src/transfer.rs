//! One resumable, verified transfer into a partial file, renamed into
//! place only once verified.
//!
//! A `206` is appended only when its `Content-Range` starts where the
//! partial ends; a `200` to a Range request restarts from zero. Size and
//! sha256 are checked before the rename: nothing unverified ever sits at
//! the destination.

use crate::DownloadError;
use crate::client::{Answer, ByteRange, Client, Follow, status_error};
use crate::digest::{Digest, Sha256Stream};
use crate::event::{Event, Events};
use crate::partial::Partial;
use crate::pipeline::{Streamed, stream_body};
use crate::policy::ParallelPolicy;
use crate::retry::{Failure, retrying, transient};
use crate::stall::StallPolicy;
use crate::{parallel, parts, space};
use std::cell::Cell;
use std::path::PathBuf;
use std::time::Instant;
use url::Url;

/// What to download and what it must turn out to be.
#[derive(Debug, Clone)]
pub struct Request<'a> {
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
    /// When to split the file over several connections.
    pub parallel: ParallelPolicy,
}

/// A completed, verified transfer.
#[derive(Debug, Clone)]
pub struct Done {
    /// The sha256 of the file's bytes.
    pub digest: Digest,
    /// Bytes received over the network by this call.
    pub transferred: u64,
}

/// The partial's bytes once every one arrived, before verification.
#[derive(Debug)]
pub(crate) struct Received {
    /// The digest of the partial's bytes, in file order.
    pub hasher: Sha256Stream,
    /// Bytes the partial holds.
    pub have: u64,
    /// The size the server announced.
    pub total: Option<u64>,
    /// Bytes received over the network.
    pub transferred: u64,
    /// The most connections that carried them at once.
    pub connections: usize,
}

/// Downloads `req`, resuming its partial file and retrying transient
/// failures; verifies and renames into place. Large files go over
/// parallel ranged connections when the server allows (see
/// [`parallel`]). Reports `Started` (once, with the size when metadata or
/// the first answer gives it), `Progress`, `Retrying` and `Finished` to
/// `events`. A verification failure deletes the partial;
/// any other failure keeps it to resume.
pub fn download(
    client: &Client,
    req: &Request<'_>,
    events: Events<'_>,
) -> Result<Done, DownloadError> {
    let started = Instant::now();
    let fetched = if req.parallel.applies(req.expected_size) {
        parallel::transfer(client, req, events)
    } else {
        single(client, req, events, None)
    };
    let (received, resumed_from) = match fetched {
        Ok(fetched) => fetched,
        Err(e) => {
            if e.is_verification() {
                discard(req);
            }
            return Err(e);
        }
    };
    let (transferred, connections, size) =
        (received.transferred, received.connections, received.have);
    let digest = verify(req, received)?;
    parts::remove(&req.partial);
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
        connections,
        size,
    });
    Ok(Done {
        digest,
        transferred,
    })
}

/// Deletes the partial and its state file.
fn discard(req: &Request<'_>) {
    let _ = std::fs::remove_file(&req.partial);
    parts::remove(&req.partial);
}

/// One stream into the partial, appending to what it holds; `first` is
/// an answer already in hand (the parallel probe's `200`). Returns the
/// bytes and where the partial resumed.
pub(super) fn single(
    client: &Client,
    req: &Request<'_>,
    events: Events<'_>,
    first: Option<Answer>,
) -> Result<(Received, u64), DownloadError> {
    let (end, resumed_from) = stream(client, req, events, first, None)?;
    let received = match end {
        StreamEnd::Complete(received) => received,
        // Without `split_rest` a stream only ends; were it ever cut
        // short, the size check before the rename refuses it.
        StreamEnd::Split(Prefix {
            partial,
            transferred,
            ..
        }) => partial.into_received(transferred),
    };
    Ok((received, resumed_from))
}

/// How a stream ended.
pub(super) enum StreamEnd {
    /// Every byte arrived.
    Complete(Received),
    /// Stopped early so that the rest goes over parallel ranges.
    Split(Prefix),
}

/// A stream stopped to be split: the partial holds a prefix of the file
/// (its size known from the ranged answer) and the digest of that prefix.
pub(super) struct Prefix {
    pub partial: Partial,
    /// The file's size, from the ranged answer.
    pub total: u64,
    /// Bytes the stream received.
    pub transferred: u64,
}

/// One stream into the partial, as [`single`]; with `split_rest`, it asks
/// with a `Range` (even from byte 0) and, when a `206` comes back and the
/// stream proves slower than the hash, stops with at least `split_rest`
/// bytes to go ([`StreamEnd::Split`]).
pub(super) fn stream(
    client: &Client,
    req: &Request<'_>,
    events: Events<'_>,
    mut first: Option<Answer>,
    split_rest: Option<u64>,
) -> Result<(StreamEnd, u64), DownloadError> {
    keep_finished_prefix(req)?;
    let mut partial = Partial::open(&req.partial, req.expected_size)?;
    let resumed_from = partial.have;
    if let Some(total) = req.expected_size {
        space::check(&req.partial, total.saturating_sub(partial.have))?;
    }
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
        let answer = match first.take() {
            Some(answer) => answer,
            None => {
                let range = (partial.have > 0 || split_rest.is_some()).then_some(ByteRange {
                    start: partial.have,
                    end: None,
                });
                client.request("GET", &req.url, range, Follow::All)?
            }
        };
        attempt(
            req,
            answer,
            &mut partial,
            &mut transferred,
            split_rest,
            &start,
            (client.stall(), events),
        )
    })?;
    let end = match (streamed, partial.total) {
        (Streamed::Split, Some(total)) => StreamEnd::Split(Prefix {
            partial,
            total,
            transferred,
        }),
        // Only a stream of known size is split (nothing is "left" of an
        // unknown one), so this is a stream that ended.
        _ => StreamEnd::Complete(partial.into_received(transferred)),
    };
    Ok((end, resumed_from))
}

/// [`Event::Started`], told once per transfer: at once when metadata gave
/// the size, else when the first answer is accepted, so that the size its
/// `Content-Length` or `Content-Range` gives is in it.
pub(super) struct Start {
    /// The GET's URL, public form.
    pub url: String,
    /// Bytes the partial held when the transfer began.
    pub resumed_from: u64,
    /// Whether `Started` was reported.
    pub told: Cell<bool>,
}

impl Start {
    /// Report `Started` with `total`, unless it was already.
    pub fn tell(&self, total: Option<u64>, events: Events<'_>) {
        if !self.told.replace(true) {
            events(Event::Started {
                url: &self.url,
                resumed_from: self.resumed_from,
                total,
            });
        }
    }
}

/// A parallel transfer's partial, about to be appended to: cut to its
/// finished prefix (nothing when its state cannot be trusted).
fn keep_finished_prefix(req: &Request<'_>) -> Result<(), DownloadError> {
    if !parts::path_for(&req.partial).exists() {
        return Ok(());
    }
    let io = |action| move |e| DownloadError::io(action, &req.partial, e);
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&req.partial)
        .map_err(io("open"))?;
    let (chunk, connections) = (req.parallel.chunk(), req.parallel.connections);
    let max = |total| parts::max_ranges(total, chunk, connections);
    let keep = parts::load(&req.partial, &file, max).map_or(0, |p| p.done.prefix_end());
    file.set_len(keep).map_err(io("truncate"))?;
    parts::remove(&req.partial);
    Ok(())
}

/// Validates one GET's answer against the partial, then streams its body
/// into it (counting into `transferred`); only a ranged answer's body may
/// be split.
fn attempt(
    req: &Request<'_>,
    answer: Answer,
    partial: &mut Partial,
    transferred: &mut u64,
    mut split_rest: Option<u64>,
    start: &Start,
    (stall, events): (StallPolicy, Events<'_>),
) -> Result<Streamed, Failure> {
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
            // A size learned only now may be too small to split.
            if partial.total.is_none_or(|t| t < req.parallel.min_size) {
                split_rest = None;
            }
        }
        200 => {
            // Nothing to split: the server sends the whole file.
            split_rest = None;
            if partial.have > 0 {
                // The server ignored Range: appending this body would corrupt the file.
                partial.restart()?;
            }
            if let Some(len) = answer.header("content-length").and_then(|v| v.parse().ok()) {
                partial.total.get_or_insert(len);
            }
        }
        416 if partial.total == Some(partial.have) => return Ok(Streamed::Ended),
        416 => {
            partial.restart()?;
            return Err(transient("range not satisfiable; restarting"));
        }
        status => return Err(Failure::Fatal(status_error(&answer.url, status))),
    }
    if req.expected_size.is_none()
        && let Some(total) = partial.total
    {
        // A size only the answer told: checked before its body streams.
        space::check(&req.partial, total.saturating_sub(partial.have))?;
    }
    start.tell(partial.total, events);
    let body = answer.response.into_body().into_reader();
    stream_body(
        body,
        &req.label,
        partial,
        transferred,
        split_rest,
        stall,
        events,
    )
}

/// `bytes S-E/L` → (S, L).
pub(super) fn parse_content_range(v: &str) -> Option<(u64, u64)> {
    let rest = v.trim().strip_prefix("bytes ")?;
    let (range, len) = rest.split_once('/')?;
    let (start, end) = range.split_once('-')?;
    let (start, end, len): (u64, u64, u64) =
        (start.parse().ok()?, end.parse().ok()?, len.parse().ok()?);
    (start <= end && end < len).then_some((start, len))
}

/// Size, then sha256 against the advertised digest and the caller's. A
/// mismatch deletes the partial, so the next try starts clean.
fn verify(req: &Request<'_>, received: Received) -> Result<Digest, DownloadError> {
    let Received {
        hasher,
        have,
        total,
        ..
    } = received;
    let refuse = |e: DownloadError| {
        discard(req);
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
