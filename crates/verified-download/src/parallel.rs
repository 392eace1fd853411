//! A large file over several connections. A fresh file (or a prefix left
//! by a stream) starts as one ranged stream, split when it proves slower
//! than the hash ([`split`](super::split)); a partial with a state file
//! goes straight to its missing pieces, the first of them requested as
//! the probe: a `206` whose `Content-Range` matches opens the parallel
//! transfer, anything the server sends for the whole file (`200`) is
//! streamed as today. Pieces are written at their
//! offsets; the sha256 follows the finished prefix in file order
//! ([`prefix_hash`](super::prefix_hash)); finished ranges are recorded
//! beside the partial ([`parts`](super::parts)) so a resume fetches only
//! what is missing. A connection far slower than the others has the rest
//! of its piece handed to a fresh connection.

use crate::DownloadError;
use crate::client::{Answer, ByteRange, Client, Follow, status_error};
use crate::digest::Sha256Stream;
use crate::event::{Event, Events};
use crate::interrupt;
use crate::parts::{self, Parts};
use crate::piece::{self, Body, Msg, Queue, Shared, Slot};
use crate::prefix_hash::hash_prefix;
use crate::ranges::RangeSet;
use crate::retry::{Failure, retrying, transient};
use crate::space;
use crate::transfer::{Prefix, Received, Request, StreamEnd, parse_content_range, single, stream};
use crate::units::human_bytes;
use std::collections::BTreeMap;
use std::fs::File;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::time::{Duration, Instant};

/// How often the coordinator looks at the connections.
const TICK: Duration = Duration::from_millis(100);
/// A piece younger than this is not judged a straggler.
const STRAGGLER_MIN_AGE: Duration = Duration::from_millis(500);
/// A straggler runs at under this fraction of the others' median rate.
const STRAGGLER_FACTOR: f64 = 4.0;
/// Rests smaller than this are left to the connection that has them.
const STRAGGLER_MIN_REST: u64 = 1 << 20;
/// How often the state file is saved while pieces run (it is saved as
/// each piece finishes too, and at a cancel), so a kill loses little of
/// the pieces in flight: at most this long of their bytes is fetched
/// again on the resume.
const SAVE_EVERY: Duration = Duration::from_millis(250);
/// After a piece fails for good, how long the pieces in flight may take
/// to finish (and be kept for the resume) before they are abandoned.
const FAILURE_GRACE: Duration = Duration::from_secs(5);

/// What the probe found.
enum Probe {
    /// The server sends the whole file (or has none to range over): one
    /// stream, starting with this answer when there is one.
    Whole(Option<Answer>),
    /// The server honours Range; `total` is the file's size.
    Ranged { total: u64, body: Body },
}

/// Downloads `req` over parallel ranged connections when the server
/// allows and the link needs them, else in one stream. Returns the
/// digest of the partial's bytes and where the transfer resumed.
pub(super) fn transfer(
    client: &Client,
    req: &Request<'_>,
    events: Events<'_>,
) -> Result<(Received, u64), DownloadError> {
    if req.parallel.stream_first && !parts::path_for(&req.partial).exists() {
        let split_rest = 2 * req.parallel.chunk();
        let (end, resumed_from) = stream(client, req, events, None, Some(split_rest))?;
        let received = match end {
            StreamEnd::Complete(received) => received,
            StreamEnd::Split(prefix) => from_prefix(client, req, prefix, events)?,
        };
        return Ok((received, resumed_from));
    }
    let io = |action| move |e| DownloadError::io(action, &req.partial, e);
    let file = File::options()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&req.partial)
        .map_err(io("open"))?;
    let mut resume = resumable(req, &file)?;
    let resumed_from = resume.done.covered();
    let probe = retrying(client.retry(), &req.url, events, || {
        probe(client, req, &file, &mut resume)
    })?;
    let (total, body) = match probe {
        Probe::Whole(answer) => {
            drop(file);
            return single(client, req, events, answer);
        }
        Probe::Ranged { total, body } => (total, body),
    };
    // Told after the probe, so that a size only the server knew is in it.
    events(Event::Started {
        url: &narration_core::public_url(req.url.as_str()),
        resumed_from,
        total: Some(total),
    });
    let parts = Parts {
        total,
        done: resume.done,
    };
    extend(req, &file, &parts, 0)?;
    let run = Run::new(client, req, &file);
    let received = run.pieces(parts, Some(body), Sha256Stream::new(), 0, events)?;
    Ok((received, resumed_from))
}

/// Goes on over parallel ranges from where a split stream stopped: its
/// prefix is finished and already hashed.
fn from_prefix(
    client: &Client,
    req: &Request<'_>,
    prefix: Prefix,
    events: Events<'_>,
) -> Result<Received, DownloadError> {
    let Prefix {
        partial,
        total,
        transferred,
    } = prefix;
    let parts = Parts {
        total,
        done: RangeSet::prefix(partial.have),
    };
    extend(req, &partial.file, &parts, partial.have)?;
    let run = Run::new(client, req, &partial.file);
    run.pieces(parts, None, partial.hasher, transferred, events)
}

/// Saves the state, then extends the partial to the file's size: a
/// partial of full length never exists without its state. `hashed`:
/// bytes from 0 the digest already covers.
fn extend(req: &Request<'_>, file: &File, parts: &Parts, hashed: u64) -> Result<(), DownloadError> {
    let io = |action| move |e| DownloadError::io(action, &req.partial, e);
    space::check(
        &req.partial,
        parts.total.saturating_sub(parts.done.covered()),
    )?;
    parts::save_as(&req.partial, file, parts, hashed, parts.total)?;
    file.set_len(parts.total).map_err(io("extend"))
}

/// What the partial holds, as far as can be trusted.
struct Resume {
    done: RangeSet,
    /// The size, when a state file or the metadata says it.
    total: Option<u64>,
}

/// The finished ranges of the partial: its state file when that matches,
/// else the partial as a prefix (a single stream's, or the reference
/// client's) when it fits, else nothing.
fn resumable(req: &Request<'_>, file: &File) -> Result<Resume, DownloadError> {
    let io = |e| DownloadError::io("read", &req.partial, e);
    let (chunk, connections) = (req.parallel.chunk(), req.parallel.connections);
    let max = |total| parts::max_ranges(total, chunk, connections);
    if let Some(parts) = parts::load(&req.partial, file, max)
        && req.expected_size.is_none_or(|s| s == parts.total)
    {
        return Ok(Resume {
            done: parts.done,
            total: Some(parts.total),
        });
    }
    let had_state = parts::path_for(&req.partial).exists();
    let len = file.metadata().map_err(io)?.len();
    if had_state || req.expected_size.is_some_and(|s| len > s) {
        parts::remove(&req.partial);
        file.set_len(0)
            .map_err(|e| DownloadError::io("truncate", &req.partial, e))?;
        return Ok(Resume {
            done: RangeSet::default(),
            total: req.expected_size,
        });
    }
    Ok(Resume {
        done: RangeSet::prefix(len),
        total: req.expected_size,
    })
}

/// Asks for the first missing piece. A `206` must start where asked and
/// name the known size; a size that changed under a resume starts over.
fn probe(
    client: &Client,
    req: &Request<'_>,
    file: &File,
    resume: &mut Resume,
) -> Result<Probe, Failure> {
    let start = resume.done.prefix_end();
    let range = match resume.total {
        Some(total) => resume
            .done
            .missing(total, req.parallel.chunk())
            .first()
            .copied(),
        None => Some((start, start + req.parallel.chunk())),
    };
    // Everything is there: ask for the last byte, to learn the server
    // still has this file.
    let (a, b) = range.unwrap_or((start.saturating_sub(1), start));
    let asked = ByteRange {
        start: a,
        end: Some(b - 1),
    };
    let answer = client.request("GET", &req.url, Some(asked), Follow::All)?;
    match answer.status() {
        206 => {}
        200 => return Ok(Probe::Whole(Some(answer))),
        // Nothing to range over (an empty file of unknown size).
        416 if resume.done.covered() == 0 => return Ok(Probe::Whole(None)),
        416 => return Err(restart(req, file, resume, "range not satisfiable")),
        status => return Err(Failure::Fatal(status_error(&answer.url, status))),
    }
    let cr = answer.header("content-range").and_then(parse_content_range);
    let Some((_, total)) = cr.filter(|&(from, _)| from == a) else {
        return Err(transient(
            "the server's Content-Range does not match the range asked for",
        ));
    };
    if req.expected_size.is_some_and(|s| s != total) {
        return Err(transient(
            "the server's Content-Range names another size than the metadata",
        ));
    }
    if resume.total.is_some_and(|t| t != total) || !resume.done.fits(total) {
        return Err(restart(req, file, resume, "the file's size changed"));
    }
    Ok(Probe::Ranged {
        total,
        body: answer.response.into_body().into_reader(),
    })
}

/// Drops what the partial holds; the next attempt starts from zero.
fn restart(req: &Request<'_>, file: &File, resume: &mut Resume, why: &str) -> Failure {
    parts::remove(&req.partial);
    if let Err(e) = file.set_len(0) {
        return Failure::Fatal(DownloadError::io("truncate", &req.partial, e));
    }
    resume.done = RangeSet::default();
    resume.total = req.expected_size;
    transient(format!("{why}; restarting"))
}

/// One parallel transfer under way.
struct Run<'a, 'r> {
    client: &'a Client,
    req: &'a Request<'r>,
    file: &'a File,
    connections: usize,
    chunk: u64,
}

/// The coordinator's view of the pieces.
struct Board {
    parts: Parts,
    /// Pieces not finished (queued or running), by id.
    active: BTreeMap<usize, Arc<Slot>>,
    next_id: usize,
    /// Rates (bytes/s) of finished pieces, for the straggler rule.
    rates: Vec<f64>,
    /// The frontier last given to the hasher.
    frontier: u64,
}

impl<'a, 'r> Run<'a, 'r> {
    fn new(client: &'a Client, req: &'a Request<'r>, file: &'a File) -> Self {
        Self {
            client,
            req,
            file,
            connections: req.parallel.connections,
            chunk: req.parallel.chunk(),
        }
    }

    /// Fetches every missing piece (the first already open when `body` is
    /// given), hashing on from `hasher` (which has seen the file's first
    /// `hasher.bytes()`), then returns the file's digest. `transferred`:
    /// bytes this download received before.
    fn pieces(
        &self,
        parts: Parts,
        body: Option<Body>,
        hasher: Sha256Stream,
        transferred: u64,
        events: Events<'_>,
    ) -> Result<Received, DownloadError> {
        let total = parts.total;
        let missing = parts.done.missing(total, self.chunk);
        let (tx, rx) = channel();
        let sh = Shared {
            client: self.client,
            url: &self.req.url,
            file: self.file,
            path: &self.req.partial,
            total,
            queue: Queue::default(),
            abort: AtomicBool::new(false),
            received: AtomicU64::new(transferred),
            live: AtomicUsize::new(0),
            hashed: AtomicU64::new(0),
            msgs: tx,
            cancel: interrupt::current(),
            stall: self.client.stall(),
        };
        let mut board = Board {
            parts,
            active: BTreeMap::new(),
            next_id: 0,
            rates: Vec::new(),
            frontier: 0,
        };
        let mut slots = missing.iter().map(|&(a, b)| board.add(a, b));
        let first = match body {
            Some(body) => slots.next().map(|slot| (slot, body)),
            None => None,
        };
        slots.for_each(|slot| sh.queue.push(slot, false));
        let (ftx, frx) = channel();
        let connections = self.connections.clamp(1, missing.len().max(1));
        sh.live.store(connections, Ordering::Release);
        // Set when the transfer failed or was cancelled: its digest is
        // not needed, so the hasher stops at once.
        let give_up = AtomicBool::new(false);
        let result = std::thread::scope(|s| {
            let hasher = s.spawn(|| hash_prefix(self.file, hasher, frx, &sh.hashed, &give_up));
            let mut first = first;
            for _ in 0..connections {
                let first = first.take();
                let sh = &sh;
                s.spawn(move || {
                    let _cancel = interrupt::enter(&sh.cancel);
                    piece::connection(sh, first)
                });
            }
            let outcome = self.coordinate(&sh, &mut board, &rx, &ftx, events);
            give_up.store(outcome.is_err(), Ordering::Release);
            sh.abort.store(true, Ordering::Release);
            sh.queue.close();
            drop(ftx);
            let hashed_result = hasher.join();
            (outcome, hashed_result)
        });
        match result {
            (Err(e), _) => {
                let _ = board.save(self, &sh);
                Err(e)
            }
            (Ok(()), Ok(Ok(hasher))) => Ok(Received {
                have: hasher.bytes(),
                hasher,
                total: Some(total),
                transferred: sh.received.load(Ordering::Relaxed),
                connections,
            }),
            (Ok(()), Ok(Err(e))) => Err(DownloadError::io("read", &self.req.partial, e)),
            (Ok(()), Err(_)) => Err(DownloadError::io(
                "hash",
                &self.req.partial,
                std::io::Error::other("the hashing thread panicked"),
            )),
        }
    }

    /// Hears the connections until every piece is finished or one fails;
    /// feeds the hasher, reports progress, and splits stragglers. After a
    /// failure no piece starts, and those in flight get
    /// [`FAILURE_GRACE`] to finish, so the resume keeps them.
    fn coordinate(
        &self,
        sh: &Shared<'_>,
        board: &mut Board,
        rx: &Receiver<Msg>,
        hasher: &Sender<u64>,
        events: Events<'_>,
    ) -> Result<(), DownloadError> {
        let mut failed: Option<(DownloadError, Instant)> = None;
        let mut last_check = Instant::now();
        let mut last_save = Instant::now();
        loop {
            if sh.cancel.is_cancelled() {
                // Every connection sees the token within a read slice; the
                // scope joins them, then the state is saved as it stands.
                return Err(DownloadError::Cancelled);
            }
            match &failed {
                None if board.active.is_empty() => break,
                Some(_) if sh.live.load(Ordering::Acquire) == 0 => break,
                Some((_, at)) if at.elapsed() > FAILURE_GRACE => {
                    sh.abort.store(true, Ordering::Release);
                }
                _ => {}
            }
            match rx.recv_timeout(TICK) {
                Ok(Msg::Done(id)) => {
                    board.finish(id);
                    board.save(self, sh)?;
                }
                Ok(Msg::Failed(e)) => {
                    if failed.is_none() {
                        sh.queue.close();
                        failed = Some((e, Instant::now()));
                    }
                }
                Ok(Msg::Retrying {
                    attempt,
                    max,
                    delay,
                    reason,
                }) => events(Event::Retrying {
                    attempt,
                    max,
                    delay,
                    reason: &reason,
                }),
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {}
            }
            if failed.is_none() {
                self.tick(sh, board, hasher, events, &mut last_check);
                if last_save.elapsed() >= SAVE_EVERY {
                    last_save = Instant::now();
                    board.save(self, sh)?;
                }
            }
        }
        if let Some((e, _)) = failed {
            return Err(e);
        }
        let _ = hasher.send(board.parts.total);
        Ok(())
    }

    /// Between messages: moves the hasher's frontier, reports progress,
    /// and now and then looks for a straggler.
    fn tick(
        &self,
        sh: &Shared<'_>,
        board: &mut Board,
        hasher: &Sender<u64>,
        events: Events<'_>,
        last_check: &mut Instant,
    ) {
        let frontier = board.frontier();
        if frontier > board.frontier {
            board.frontier = frontier;
            let _ = hasher.send(frontier);
        }
        events(Event::Progress {
            have: board.have(),
            total: Some(board.parts.total),
            transferred: sh.received.load(Ordering::Relaxed),
            connections: sh.live.load(Ordering::Relaxed),
        });
        if last_check.elapsed() < TICK * 2 {
            return;
        }
        *last_check = Instant::now();
        if let Some(reason) = board.split_straggler(&sh.queue) {
            events(Event::Retrying {
                attempt: 1,
                max: 2,
                delay: Duration::ZERO,
                reason: &reason,
            });
        }
    }
}

impl Board {
    /// Records beside the partial the finished ranges and what the
    /// pieces still running have written (a piece's bytes below its
    /// position are in the file before the position moves).
    fn save(&self, run: &Run<'_, '_>, sh: &Shared<'_>) -> Result<(), DownloadError> {
        let mut written = self.parts.clone();
        for slot in self.active.values() {
            let end = *slot.end();
            written
                .done
                .add(slot.start, slot.pos.load(Ordering::Acquire).min(end));
        }
        let hashed = sh.hashed.load(Ordering::Relaxed);
        let hashed = hashed.min(written.done.prefix_end());
        parts::save(&run.req.partial, run.file, &written, hashed)
    }

    fn add(&mut self, start: u64, end: u64) -> Arc<Slot> {
        let slot = Slot::new(self.next_id, start, end);
        self.next_id += 1;
        self.active.insert(slot.id, slot.clone());
        slot
    }

    /// Records a finished piece and its rate.
    fn finish(&mut self, id: usize) {
        let Some(slot) = self.active.remove(&id) else {
            return;
        };
        let end = *slot.end();
        self.parts.done.add(slot.start, end);
        if let Some(age) = slot.started.get().map(Instant::elapsed) {
            self.rates
                .push((end - slot.start) as f64 / age.as_secs_f64().max(1e-3));
        }
    }

    /// Bytes from 0 that are final: the finished prefix, and what the
    /// piece that continues it has written.
    fn frontier(&self) -> u64 {
        let prefix = self.parts.done.prefix_end();
        let running = self
            .active
            .values()
            .find(|s| s.start == prefix)
            .map_or(0, |s| s.written());
        prefix + running
    }

    /// Bytes in the partial: finished and in flight.
    fn have(&self) -> u64 {
        let running: u64 = self.active.values().map(|s| s.written()).sum();
        self.parts.done.covered() + running
    }

    /// Finds a running piece far slower than the others and hands the
    /// rest of it to a fresh connection; returns why, for the event.
    fn split_straggler(&mut self, queue: &Queue) -> Option<String> {
        let now = Instant::now();
        let running: Vec<(Arc<Slot>, f64)> = self
            .active
            .values()
            .filter_map(|s| {
                let age = now.duration_since(*s.started.get()?);
                (age >= STRAGGLER_MIN_AGE)
                    .then(|| (s.clone(), s.written() as f64 / age.as_secs_f64()))
            })
            .collect();
        for (i, (slot, rate)) in running.iter().enumerate() {
            let mut others: Vec<f64> = self.rates.clone();
            others.extend(
                running
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, r)| r.1),
            );
            if others.len() < 2 {
                continue;
            }
            others.sort_by(f64::total_cmp);
            let median = others[others.len() / 2];
            if *rate >= median / STRAGGLER_FACTOR {
                continue;
            }
            let mut end = slot.end();
            let split = slot.pos.load(Ordering::Acquire);
            if end.saturating_sub(split) < STRAGGLER_MIN_REST {
                continue;
            }
            let rest_end = std::mem::replace(&mut *end, split);
            drop(end);
            let rest = self.add(split, rest_end);
            queue.push(rest, true);
            return Some(format!(
                "a connection ran at {}/s, far below the others' {}/s; its remaining {} is re-requested on a fresh connection",
                human_bytes(*rate as u64),
                human_bytes(median as u64),
                human_bytes(rest_end - split)
            ));
        }
        None
    }
}
