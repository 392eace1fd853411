//! One resumable, verified transfer into a partial file, renamed into
//! place only once verified: over one stream ([`stream`](crate::stream))
//! or, for a large file, over parallel ranges
//! ([`parallel`](crate::parallel)). Size and sha256 are checked before
//! the rename: nothing unverified ever sits at the destination.

use crate::DownloadError;
use crate::client::Client;
use crate::digest::Digest;
use crate::event::{Event, Events};
use crate::job::{Done, Received, Request};
use crate::stream::single;
use crate::{parallel, parts};
use std::time::Instant;

/// Downloads `req`, resuming its partial file and retrying transient
/// failures; verifies and renames into place. Large files go over
/// parallel ranged connections when the server allows (see
/// [`ParallelPolicy`](crate::ParallelPolicy)). Reports `Started` (once, with the size when metadata or
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
