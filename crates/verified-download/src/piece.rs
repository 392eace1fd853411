//! One connection of a parallel transfer: takes pieces from the queue,
//! GETs each with a `Range`, and writes the bytes at their offsets in the
//! partial file. A piece's failures are retried (resuming where it got
//! to) with the transfer's retry policy; one that keeps failing fails the
//! whole transfer.

use crate::DownloadError;
use crate::cancel::Cancel;
use crate::client::{ByteRange, Client, Follow, status_error};
use crate::event::Event;
use crate::interrupt;
use crate::pipeline::QUIET;
use crate::retry::{Failure, retrying, transient};
use crate::stall::{StallPolicy, StallWatch};
use crate::transfer::parse_content_range;
use crate::units::human_bytes;
use std::collections::VecDeque;
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};
use url::Url;

/// Bytes per socket read and file write; one buffer per connection.
const BUFFER: usize = 256 * 1024;

/// A body being read.
pub(super) type Body = ureq::BodyReader<'static>;

/// A range of the file being fetched, `[start, end)`. `end` can be
/// lowered while it runs (its rest is handed to another connection);
/// writes check it under its lock, so no byte past it is written once
/// lowered.
#[derive(Debug)]
pub(super) struct Slot {
    pub id: usize,
    pub start: u64,
    pub end: Mutex<u64>,
    /// Bytes from `start` are written up to here.
    pub pos: AtomicU64,
    pub started: OnceLock<Instant>,
}

impl Slot {
    pub fn new(id: usize, start: u64, end: u64) -> Arc<Self> {
        Arc::new(Self {
            id,
            start,
            end: Mutex::new(end),
            pos: AtomicU64::new(start),
            started: OnceLock::new(),
        })
    }

    pub fn end(&self) -> MutexGuard<'_, u64> {
        self.end.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.pos.load(Ordering::Acquire) - self.start
    }
}

/// What a connection tells the coordinator.
#[derive(Debug)]
pub(super) enum Msg {
    /// The slot is finished (up to its end as it now stands).
    Done(usize),
    /// A piece failed for good; the transfer stops.
    Failed(DownloadError),
    /// A piece's attempt failed transiently and will be retried.
    Retrying {
        attempt: u32,
        max: u32,
        delay: Duration,
        reason: String,
    },
}

/// Pieces waiting for a connection. Connections wait on it while others
/// run, since a straggler's rest may still be queued.
#[derive(Debug, Default)]
pub(super) struct Queue {
    inner: Mutex<(VecDeque<Arc<Slot>>, bool)>,
    ready: Condvar,
}

impl Queue {
    fn lock(&self) -> MutexGuard<'_, (VecDeque<Arc<Slot>>, bool)> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn push(&self, slot: Arc<Slot>, first: bool) {
        let mut q = self.lock();
        if first {
            q.0.push_front(slot);
        } else {
            q.0.push_back(slot);
        }
        self.ready.notify_one();
    }

    /// Ends the transfer: every waiting connection returns.
    pub fn close(&self) {
        self.lock().1 = true;
        self.ready.notify_all();
    }

    fn next(&self) -> Option<Arc<Slot>> {
        let mut q = self.lock();
        loop {
            if q.1 {
                return None;
            }
            if let Some(slot) = q.0.pop_front() {
                return Some(slot);
            }
            q = self.ready.wait(q).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// What every connection of one transfer shares.
pub(super) struct Shared<'a> {
    pub client: &'a Client,
    pub url: &'a Url,
    pub file: &'a File,
    pub path: &'a Path,
    pub total: u64,
    pub queue: Queue,
    pub abort: AtomicBool,
    /// Bytes received over the network, all connections.
    pub received: AtomicU64,
    /// Connections still running.
    pub live: AtomicUsize,
    /// Bytes from 0 the sha256 has covered.
    pub hashed: AtomicU64,
    pub msgs: Sender<Msg>,
    /// The transfer's cancel token, entered by every connection's thread.
    pub cancel: Cancel,
    /// When a piece's body counts as stalled.
    pub stall: StallPolicy,
}

/// One connection: `first` (the probe's piece, its body already open),
/// then pieces from the queue until it closes.
pub(super) fn connection(sh: &Shared<'_>, first: Option<(Arc<Slot>, Body)>) {
    pieces(sh, first);
    sh.live.fetch_sub(1, Ordering::AcqRel);
}

fn pieces(sh: &Shared<'_>, mut first: Option<(Arc<Slot>, Body)>) {
    let mut buf = vec![0u8; BUFFER];
    loop {
        let (slot, body) = match first.take() {
            Some((slot, body)) => (slot, Some(body)),
            None => match sh.queue.next() {
                Some(slot) => (slot, None),
                None => return,
            },
        };
        slot.started.get_or_init(Instant::now);
        let result = fetch(sh, &slot, body, &mut buf);
        if sh.abort.load(Ordering::Acquire) {
            return;
        }
        let msg = match result {
            Ok(()) => Msg::Done(slot.id),
            Err(e) => Msg::Failed(e),
        };
        let failed = matches!(msg, Msg::Failed(_));
        if sh.msgs.send(msg).is_err() || failed {
            return;
        }
    }
}

/// Fetches the slot, retrying from where it got to.
fn fetch(
    sh: &Shared<'_>,
    slot: &Slot,
    mut body: Option<Body>,
    buf: &mut [u8],
) -> Result<(), DownloadError> {
    let forward = |e: Event<'_>| {
        if let Event::Retrying {
            attempt,
            max,
            delay,
            reason,
        } = e
        {
            let reason = reason.to_string();
            let _ = sh.msgs.send(Msg::Retrying {
                attempt,
                max,
                delay,
                reason,
            });
        }
    };
    retrying(sh.client.retry(), sh.url, &forward, || {
        if sh.abort.load(Ordering::Acquire) {
            return Ok(());
        }
        let body = match body.take() {
            Some(b) => b,
            None => match open(sh, slot)? {
                Some(b) => b,
                None => return Ok(()),
            },
        };
        copy(sh, slot, body, buf)
    })
}

/// GETs the rest of the slot; `None` when nothing is left.
fn open(sh: &Shared<'_>, slot: &Slot) -> Result<Option<Body>, Failure> {
    let pos = slot.pos.load(Ordering::Acquire);
    let end = *slot.end();
    if pos >= end {
        return Ok(None);
    }
    let range = ByteRange {
        start: pos,
        end: Some(end - 1),
    };
    let answer = sh.client.request("GET", sh.url, Some(range), Follow::All)?;
    match answer.status() {
        206 => {}
        200 => return Err(transient("the server ignored the Range of a chunk request")),
        status => return Err(Failure::Fatal(status_error(&answer.url, status))),
    }
    let cr = answer.header("content-range").and_then(parse_content_range);
    if cr != Some((pos, sh.total)) {
        return Err(transient(
            "the server's Content-Range does not match the range asked for",
        ));
    }
    Ok(Some(answer.response.into_body().into_reader()))
}

/// Writes the body at the slot's offsets until the slot's end, giving up
/// when the body stalls or the transfer is cancelled or aborted.
fn copy(sh: &Shared<'_>, slot: &Slot, mut body: Body, buf: &mut [u8]) -> Result<(), Failure> {
    let mut stall = StallWatch::new(sh.stall);
    loop {
        if sh.abort.load(Ordering::Acquire) {
            return Ok(());
        }
        if sh.cancel.is_cancelled() {
            return Err(Failure::Fatal(DownloadError::Cancelled));
        }
        if let Some(why) = stall.stalled() {
            let at = human_bytes(slot.pos.load(Ordering::Acquire));
            return Err(Failure::Stalled(format!("{why}, at {at}")));
        }
        let n = match interrupt::quiet(QUIET, || body.read(buf)) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted || interrupt::is_quiet(&e) => {
                continue;
            }
            Err(_) if sh.cancel.is_cancelled() => {
                return Err(Failure::Fatal(DownloadError::Cancelled));
            }
            Err(e) => {
                let at = human_bytes(slot.pos.load(Ordering::Acquire));
                return Err(transient(format!("connection lost at {at} ({})", e.kind())));
            }
        };
        sh.received.fetch_add(n as u64, Ordering::Relaxed);
        stall.arrived(n as u64);
        let end = slot.end();
        let pos = slot.pos.load(Ordering::Acquire);
        if n == 0 {
            if pos >= *end {
                return Ok(());
            }
            return Err(transient(format!(
                "a chunk's body ended early at {}",
                human_bytes(pos)
            )));
        }
        let take = (n as u64).min(end.saturating_sub(pos));
        sh.file
            .write_all_at(&buf[..take as usize], pos)
            .map_err(|e| Failure::Fatal(DownloadError::io("write", sh.path, e)))?;
        slot.pos.store(pos + take, Ordering::Release);
        if pos + take >= *end {
            return Ok(());
        }
    }
}
