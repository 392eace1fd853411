//! Streaming a response body into the partial file: a three-stage
//! pipeline. This thread reads the body, a second writes each chunk to the
//! file, a third hashes what was written; the stages overlap, so the
//! transfer costs the slowest of the three, not their sum. [`IN_FLIGHT`]
//! chunks of [`CHUNK`] bytes circulate, so memory stays flat. A stream
//! that may be split stops early when [`SplitWatch`] says the network,
//! not the hash, sets its pace.
//!
//! The reader gets the thread back at least every [`QUIET`] even when no
//! byte arrives ([`interrupt::quiet`]): it then looks at the cancel token,
//! judges a stall ([`StallWatch`]) and reports progress, so progress is
//! told by time and a silent or trickling body ends.

use crate::DownloadError;
use crate::digest::Sha256Stream;
use crate::event::{Event, Events};
use crate::interrupt;
use crate::partial::Partial;
use crate::retry::{Failure, transient};
use crate::split::{HashMeter, SplitWatch};
use crate::stall::{StallPolicy, StallWatch};
use crate::units::human_bytes;
use std::fs::File;
use std::io::{Read, Write};
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::time::{Duration, Instant};

/// Bytes per network read and per write/hash chunk.
const CHUNK: usize = 1 << 20;
/// Chunks in flight between the network reader, the writer and the hasher.
const IN_FLIGHT: usize = 8;

/// The longest a read holds the thread without a byte, and the longest
/// bytes that arrived wait before they are handed on (and reported).
pub(super) const QUIET: Duration = Duration::from_millis(250);

/// A buffer and how many of its bytes are data.
type Chunk = (Vec<u8>, usize);

/// How a body stopped being streamed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Streamed {
    /// It ended: every byte it had is in the partial.
    Ended,
    /// It was stopped to fetch the rest over parallel ranges; the partial
    /// holds (and the hasher has seen) a prefix of the file.
    Split,
}

/// Appends `body` to `partial`, hashing as it goes; counts received bytes
/// into `transferred` and reports each chunk as [`Event::Progress`]. With
/// `split_rest` (a body that a ranged answer started), the stream stops
/// with [`Streamed::Split`] once it proves slower than the hash while at
/// least that many bytes are still to come. A body that stalls as `stall`
/// says ends with [`Failure::Stalled`]; a cancel, with
/// [`DownloadError::Cancelled`] (what arrived is kept in the partial).
pub(super) fn stream_body(
    body: impl Read,
    label: &str,
    partial: &mut Partial,
    transferred: &mut u64,
    split_rest: Option<u64>,
    stall: StallPolicy,
    events: Events<'_>,
) -> Result<Streamed, Failure> {
    let (write_tx, write_rx) = sync_channel::<Chunk>(IN_FLIGHT);
    let (hash_tx, hash_rx) = sync_channel::<Chunk>(IN_FLIGHT);
    let (free_tx, free_rx) = channel::<Vec<u8>>();
    for _ in 0..IN_FLIGHT {
        let _ = free_tx.send(vec![0u8; CHUNK]);
    }
    let total = partial.total;
    let meter = HashMeter::default();
    let reader = BodyReader {
        body,
        label,
        free: free_rx,
        write: write_tx,
        have: partial.have,
        streamed: 0,
        total,
        transferred,
        watch: split_rest.map(|rest| SplitWatch::new(&meter, rest)),
        stall: StallWatch::new(stall),
        events,
    };
    let (file, hasher) = (&mut partial.file, &mut partial.hasher);
    let (read_result, write_result) = std::thread::scope(|s| {
        let writer = s.spawn(move || write_chunks(file, write_rx, hash_tx));
        let meter = &meter;
        s.spawn(move || hash_chunks(hasher, hash_rx, free_tx, meter));
        let read_result = reader.run();
        let write_result = writer
            .join()
            .unwrap_or_else(|_| Err(std::io::ErrorKind::Other.into()));
        (read_result, write_result)
    });
    write_result.map_err(|e| Failure::Fatal(DownloadError::io("write", &partial.path, e)))?;
    partial.have = partial.hasher.bytes();
    if read_result? == Streamed::Split {
        return Ok(Streamed::Split);
    }
    if let Some(t) = total
        && partial.have < t
    {
        return Err(transient(format!(
            "the body ended early at {} of {}",
            human_bytes(partial.have),
            human_bytes(t)
        )));
    }
    Ok(Streamed::Ended)
}

/// Writes each chunk, then hands it to the hasher. Only bytes that reached
/// the file are hashed: the digest always describes the partial exactly,
/// whatever fails.
fn write_chunks(
    file: &mut File,
    chunks: Receiver<Chunk>,
    hash: SyncSender<Chunk>,
) -> std::io::Result<()> {
    for (buf, len) in chunks {
        file.write_all(&buf[..len])?;
        if hash.send((buf, len)).is_err() {
            break;
        }
    }
    Ok(())
}

/// Hashes each written chunk and returns its buffer to the reader;
/// `meter` hears how long hashing took.
fn hash_chunks(
    hasher: &mut Sha256Stream,
    chunks: Receiver<Chunk>,
    free: Sender<Vec<u8>>,
    meter: &HashMeter,
) {
    for (buf, len) in chunks {
        let began = Instant::now();
        hasher.update(&buf[..len]);
        meter.record(len, began.elapsed());
        let _ = free.send(buf);
    }
}

/// The first stage: fills free buffers from the body and passes them on.
struct BodyReader<'a, 'e, R> {
    body: R,
    label: &'a str,
    free: Receiver<Vec<u8>>,
    write: SyncSender<Chunk>,
    have: u64,
    /// Bytes of this body read so far.
    streamed: u64,
    total: Option<u64>,
    transferred: &'a mut u64,
    /// Present when the stream may be split.
    watch: Option<SplitWatch<'a>>,
    stall: StallWatch,
    events: Events<'e>,
}

impl<R: Read> BodyReader<'_, '_, R> {
    /// Reads until the body ends, fails, the watch splits it, or the
    /// pipeline stops (then the writer's error is what the caller
    /// reports). Dropping `self` closes the writer's channel.
    fn run(mut self) -> Result<Streamed, Failure> {
        let mut spare = None;
        loop {
            if interrupt::cancelled() {
                return Err(Failure::Fatal(DownloadError::Cancelled));
            }
            if let Some(why) = self.stall.stalled() {
                return Err(Failure::Stalled(format!(
                    "{why}, after {}",
                    human_bytes(self.have)
                )));
            }
            if self.split_now() {
                return Ok(Streamed::Split);
            }
            let mut buf = match spare.take() {
                Some(buf) => buf,
                None => match self.free.recv() {
                    Ok(buf) => buf,
                    Err(_) => return Ok(Streamed::Ended),
                },
            };
            let until = self.watch.as_ref().map(SplitWatch::deadline);
            let len = match read_full(&mut self.body, &mut buf, until) {
                Ok(0) => return Ok(Streamed::Ended),
                Ok(len) => len as u64,
                Err(e) if interrupt::is_quiet(&e) => {
                    // Nothing arrived for a while: the time still counts.
                    spare = Some(buf);
                    self.report();
                    continue;
                }
                Err(_) if interrupt::cancelled() => {
                    return Err(Failure::Fatal(DownloadError::Cancelled));
                }
                Err(e) => {
                    return Err(transient(format!(
                        "connection lost after {} ({})",
                        human_bytes(self.have),
                        e.kind()
                    )));
                }
            };
            if let Some(expected) = self.total.filter(|&t| self.have + len > t) {
                return Err(Failure::Fatal(DownloadError::SizeMismatch {
                    file: self.label.to_string(),
                    expected,
                    actual: self.have + len,
                }));
            }
            if self.write.send((buf, len as usize)).is_err() {
                return Ok(Streamed::Ended);
            }
            self.have += len;
            self.streamed += len;
            *self.transferred += len;
            self.stall.arrived(len);
            self.report();
        }
    }

    fn report(&self) {
        (self.events)(Event::Progress {
            have: self.have,
            total: self.total,
            transferred: *self.transferred,
            connections: 1,
        });
    }

    /// Asks the watch, when there is one, whether to stop here.
    fn split_now(&mut self) -> bool {
        let rest = self.total.map_or(0, |t| t.saturating_sub(self.have));
        let streamed = self.streamed;
        self.watch
            .as_mut()
            .is_some_and(|w| w.should_split(streamed, rest))
    }
}

/// Fills `buf` as far as the body allows (fewer, larger chunks for the
/// writer), or until `until` (and at most [`QUIET`]) once it holds
/// something; returns 0 only at the end of the body, and the
/// [`interrupt::is_quiet`] error when nothing arrived for [`QUIET`].
fn read_full(
    body: &mut impl Read,
    buf: &mut [u8],
    until: Option<Instant>,
) -> std::io::Result<usize> {
    let mut filled = 0;
    let hand_over = Instant::now() + QUIET;
    let until = until.map_or(hand_over, |t| t.min(hand_over));
    while filled < buf.len() {
        if filled > 0 && Instant::now() >= until {
            break;
        }
        match interrupt::quiet(QUIET, || body.read(&mut buf[filled..])) {
            Ok(0) => break,
            Ok(k) => filled += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            // Hand over what arrived; the error comes back on the next read.
            Err(_) if filled > 0 => break,
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_is_appended_hashed_and_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.incomplete");
        std::fs::write(&path, b"hello ").unwrap();
        let mut partial = Partial::open(&path, Some(11)).unwrap();
        let mut transferred = 0;
        let seen = std::cell::Cell::new(0);
        let events = |e: Event<'_>| {
            if let Event::Progress { have, .. } = e {
                seen.set(have);
            }
        };
        let end = stream_body(
            &b"world"[..],
            "f",
            &mut partial,
            &mut transferred,
            None,
            StallPolicy::default(),
            &events,
        );
        assert_eq!(end.unwrap(), Streamed::Ended);
        assert_eq!((partial.have, transferred, seen.get()), (11, 5, 11));
        assert_eq!(std::fs::read(&path).unwrap(), b"hello world");
        let digest = std::mem::take(&mut partial.hasher).finish();
        assert_eq!(digest, crate::sha256_bytes(b"hello world"));
    }

    #[test]
    fn a_body_longer_than_promised_is_a_size_mismatch() {
        let dir = tempfile::tempdir().unwrap();
        let mut partial = Partial::open(&dir.path().join("f"), Some(3)).unwrap();
        let err = stream_body(
            &b"toolong"[..],
            "f",
            &mut partial,
            &mut 0,
            None,
            StallPolicy::default(),
            &|_| {},
        );
        assert!(
            matches!(
                err,
                Err(Failure::Fatal(DownloadError::SizeMismatch {
                    actual: 7,
                    ..
                }))
            ),
            "{err:?}"
        );
    }
}
