//! One resumable, verified transfer into a `.incomplete` file, shared by the
//! Hub and HTTPS fetchers.
//!
//! Bytes are written and hashed as they arrive (on a second thread, so the
//! hash overlaps the network); a resumed partial is hashed once first so
//! the digest continues. A `206` is appended only when its `Content-Range`
//! starts where the partial ends; a `200` to a Range request restarts from
//! zero. Size and sha256 are checked before the rename: nothing unverified
//! ever sits at the destination.

use crate::digest::{Digest, Sha256Stream};
use crate::hf::error::HfError;
use crate::hf::http::{Client, Failure, Follow, display_url, header};
use crate::hf::narrate::{Narrator, human_bytes, mb_per_s};
use narration_core::catalog::model as actions;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// What to download and what it must turn out to be.
#[derive(Debug, Clone)]
pub(crate) struct Download<'a> {
    /// Where the GET goes (redirects are followed).
    pub url: String,
    /// A name for narrations and errors (`org/repo/file.gguf`, a URL).
    pub label: String,
    /// The partial file, kept across attempts and processes.
    pub partial: PathBuf,
    /// Where the verified file is renamed to.
    pub dest: PathBuf,
    /// Size promised by the server's metadata, when known.
    pub expected_size: Option<u64>,
    /// A 64-hex etag: the Hub's sha256 of the file.
    pub etag_sha256: Option<String>,
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

/// Why a fetch failed, before it becomes a [`crate::ProvisionError`].
#[derive(Debug)]
pub(crate) enum FetchFailure {
    Hf(HfError),
    /// The bytes' sha256 is not the caller's digest.
    Mismatch {
        path: PathBuf,
        expected: Digest,
        actual: Digest,
    },
    /// Offline and not in the cache.
    Offline,
}

impl From<HfError> for FetchFailure {
    fn from(e: HfError) -> Self {
        FetchFailure::Hf(e)
    }
}

/// Bytes per network read and per write/hash chunk.
const CHUNK: usize = 1 << 20;
/// Chunks in flight between the network reader, the writer and the hasher.
const IN_FLIGHT: usize = 8;

/// Downloads `d`, resuming its partial file, retrying transient failures;
/// verifies and renames into place. Narrates `download`, `download-progress`,
/// `download-retry` and `downloaded`; failures are narrated by the caller.
pub(crate) fn download(
    client: &Client,
    d: &Download<'_>,
    n: Narrator<'_>,
) -> Result<Done, FetchFailure> {
    let started = Instant::now();
    let mut state = Partial::open(&d.partial, d.expected_size)?;
    let resumed_from = state.have;
    narrate_start(d, resumed_from, n);
    let mut backoff = crate::hf::retry::Backoff::new(&client.settings.retry);
    let mut progress = Progress::new(started);
    loop {
        match attempt(client, d, &mut state, &mut progress, n) {
            Ok(()) => break,
            Err(Failure::Fatal(e)) => {
                if e.is_verification() {
                    let _ = std::fs::remove_file(&d.partial);
                }
                return Err(e.into());
            }
            Err(Failure::Transient {
                reason,
                retry_after,
            }) => {
                let attempt = backoff.attempt();
                let Some(delay) = backoff.next_delay(retry_after) else {
                    return Err(HfError::RetriesExhausted {
                        url: display_url(&d.url),
                        attempts: attempt,
                        last: reason,
                    }
                    .into());
                };
                n.retry(&d.label, attempt, backoff.max_attempts(), delay, &reason);
                crate::hf::retry::sleep(delay);
            }
        }
    }
    let digest = verify(d, state)?;
    std::fs::rename(&d.partial, &d.dest).map_err(|e| HfError::io("move into place", &d.dest, e))?;
    narrate_done(d, progress.transferred, resumed_from, started.elapsed(), n);
    Ok(Done {
        digest,
        transferred: progress.transferred,
    })
}

/// The partial file and the digest of what it holds.
struct Partial {
    file: File,
    path: PathBuf,
    hasher: Sha256Stream,
    have: u64,
    /// Size learned from metadata or the first response.
    total: Option<u64>,
}

impl Partial {
    /// Opens (or creates) the partial and hashes what it already holds.
    fn open(path: &Path, expected_size: Option<u64>) -> Result<Self, HfError> {
        let io = |action| move |e| HfError::io(action, path, e);
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(path)
            .map_err(io("open"))?;
        let mut have = file.metadata().map_err(io("read"))?.len();
        let mut hasher = Sha256Stream::new();
        if expected_size.is_some_and(|s| have > s) {
            file.set_len(0).map_err(io("truncate"))?;
            have = 0;
        }
        if have > 0 {
            file.seek(SeekFrom::Start(0)).map_err(io("read"))?;
            let hashed = hasher
                .update_from_reader((&mut file).take(have))
                .map_err(io("read"))?;
            if hashed != have {
                return Err(HfError::io(
                    "read",
                    path,
                    std::io::ErrorKind::UnexpectedEof.into(),
                ));
            }
        }
        file.seek(SeekFrom::Start(have)).map_err(io("seek"))?;
        Ok(Self {
            file,
            path: path.to_path_buf(),
            hasher,
            have,
            total: expected_size,
        })
    }

    /// Drops what the partial holds and starts from byte zero.
    fn restart(&mut self) -> Result<(), HfError> {
        let io = |e| HfError::io("truncate", &self.path, e);
        self.file.set_len(0).map_err(io)?;
        self.file.seek(SeekFrom::Start(0)).map_err(io)?;
        self.hasher = Sha256Stream::new();
        self.have = 0;
        Ok(())
    }
}

/// One GET: validates the answer against the partial, then streams the body.
fn attempt(
    client: &Client,
    d: &Download<'_>,
    state: &mut Partial,
    progress: &mut Progress,
    n: Narrator<'_>,
) -> Result<(), Failure> {
    let range = (state.have > 0).then_some(state.have);
    let (answered, resp) = client.request("GET", &d.url, range, Follow::All)?;
    let status = resp.status().as_u16();
    match status {
        206 => {
            let cr = header(&resp, "content-range").and_then(parse_content_range);
            let continues = cr.is_some_and(|(start, len)| {
                start == state.have && state.total.is_none_or(|t| t == len)
            });
            if !continues {
                state.restart()?;
                return Err(transient(
                    "the server's Content-Range does not continue the partial file; restarting",
                ));
            }
            if let Some((_, len)) = cr {
                state.total = Some(len);
            }
        }
        200 => {
            if state.have > 0 {
                // The server ignored Range: appending this body would corrupt the file.
                state.restart()?;
            }
            if let Some(len) = header(&resp, "content-length").and_then(|v| v.parse().ok()) {
                state.total.get_or_insert(len);
            }
        }
        416 if state.total == Some(state.have) => return Ok(()),
        416 => {
            state.restart()?;
            return Err(transient("range not satisfiable; restarting"));
        }
        _ => return Err(Failure::Fatal(status_error(&answered, status))),
    }
    stream_body(resp.into_body().into_reader(), d, state, progress, n)
}

fn transient(reason: &str) -> Failure {
    Failure::Transient {
        reason: reason.to_string(),
        retry_after: None,
    }
}

/// An unexpected status on a GET, as a typed error.
pub(crate) fn status_error(url: &str, status: u16) -> HfError {
    let url = display_url(url);
    match status {
        401 => HfError::Unauthorized { url },
        403 => HfError::Forbidden { url },
        404 => HfError::Status {
            url,
            status,
            hint: "the file is not there; check the URL",
        },
        _ => HfError::Status {
            url,
            status,
            hint: "unexpected answer; check the URL and the server",
        },
    }
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

/// A three-stage pipeline: this thread reads the body, a second writes
/// each chunk to the partial file, a third hashes what was written; the
/// stages overlap, so the transfer costs the slowest of the three, not
/// their sum. [`IN_FLIGHT`] chunks of [`CHUNK`] bytes circulate.
fn stream_body(
    mut body: impl Read,
    d: &Download<'_>,
    state: &mut Partial,
    progress: &mut Progress,
    n: Narrator<'_>,
) -> Result<(), Failure> {
    let (write_tx, write_rx) = mpsc::sync_channel::<(Vec<u8>, usize)>(IN_FLIGHT);
    let (hash_tx, hash_rx) = mpsc::sync_channel::<(Vec<u8>, usize)>(IN_FLIGHT);
    let (free_tx, free_rx) = mpsc::channel::<Vec<u8>>();
    for _ in 0..IN_FLIGHT {
        let _ = free_tx.send(vec![0u8; CHUNK]);
    }
    let total = state.total;
    let Partial {
        file, hasher, path, ..
    } = state;
    let mut have = state.have;
    let (read_result, write_result) = std::thread::scope(|s| {
        let writer = s.spawn(move || -> std::io::Result<()> {
            // Only bytes that reached the file are hashed: the digest always
            // describes the partial exactly, whatever fails.
            for (buf, len) in write_rx {
                file.write_all(&buf[..len])?;
                if hash_tx.send((buf, len)).is_err() {
                    break;
                }
            }
            Ok(())
        });
        s.spawn(move || {
            for (buf, len) in hash_rx {
                hasher.update(&buf[..len]);
                let _ = free_tx.send(buf);
            }
        });
        let read_result = (|| {
            loop {
                let Ok(mut buf) = free_rx.recv() else {
                    return Ok(()); // the pipeline stopped: the writer's error is reported below
                };
                let len = match read_full(&mut body, &mut buf) {
                    Ok(0) => return Ok(()),
                    Ok(len) => len,
                    Err(e) => {
                        return Err(transient(&format!(
                            "connection lost after {} ({})",
                            human_bytes(have),
                            e.kind()
                        )));
                    }
                };
                if total.is_some_and(|t| have + len as u64 > t) {
                    return Err(Failure::Fatal(HfError::SizeMismatch {
                        file: d.label.clone(),
                        expected: total.unwrap_or(0),
                        actual: have + len as u64,
                    }));
                }
                if write_tx.send((buf, len)).is_err() {
                    return Ok(());
                }
                have += len as u64;
                progress.received(len as u64, have, total, &d.label, n);
            }
        })();
        drop(write_tx);
        let write_result = writer
            .join()
            .unwrap_or_else(|_| Err(std::io::ErrorKind::Other.into()));
        (read_result, write_result)
    });
    write_result.map_err(|e| Failure::Fatal(HfError::io("write", path.as_path(), e)))?;
    state.have = state.hasher.bytes();
    read_result?;
    if let Some(t) = total
        && state.have < t
    {
        return Err(transient(&format!(
            "the body ended early at {} of {}",
            human_bytes(state.have),
            human_bytes(t)
        )));
    }
    Ok(())
}

/// Fills `buf` as far as the body allows (fewer, larger chunks for the
/// writer); returns 0 only at the end of the body.
fn read_full(body: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match body.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(k) => filled += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) if filled > 0 => {
                // Hand over what arrived; the error comes back on the next read.
                let _ = e;
                break;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Size, then sha256 against the etag and the caller's digest. A mismatch
/// deletes the partial, so the next try starts clean.
fn verify(d: &Download<'_>, state: Partial) -> Result<Digest, FetchFailure> {
    let Partial {
        file,
        hasher,
        have,
        total,
        ..
    } = state;
    drop(file);
    let discard = || {
        let _ = std::fs::remove_file(&d.partial);
    };
    if let Some(expected) = d.expected_size.or(total)
        && have != expected
    {
        discard();
        return Err(HfError::SizeMismatch {
            file: d.label.clone(),
            expected,
            actual: have,
        }
        .into());
    }
    let digest = hasher.finish();
    if let Some(etag) = &d.etag_sha256
        && digest.hex() != *etag
    {
        discard();
        return Err(HfError::EtagMismatch {
            file: d.label.clone(),
            expected: etag.clone(),
            actual: digest.hex(),
        }
        .into());
    }
    if let Some(expected) = d.expected
        && digest != *expected
    {
        discard();
        return Err(FetchFailure::Mismatch {
            path: d.dest.clone(),
            expected: *expected,
            actual: digest,
        });
    }
    Ok(digest)
}

fn narrate_start(d: &Download<'_>, resumed_from: u64, n: Narrator<'_>) {
    let size = d
        .expected_size
        .map_or_else(|| "unknown size".to_string(), human_bytes);
    let human = if resumed_from > 0 {
        format!(
            "Resuming {} at {} of {size} from {}",
            d.label,
            human_bytes(resumed_from),
            display_url(&d.url)
        )
    } else {
        format!(
            "Downloading {} ({size}) from {}",
            d.label,
            display_url(&d.url)
        )
    };
    n.emit(actions::DOWNLOAD, human, |f| f.bytes = d.expected_size);
}

fn narrate_done(
    d: &Download<'_>,
    transferred: u64,
    resumed_from: u64,
    elapsed: Duration,
    n: Narrator<'_>,
) {
    let resumed = if resumed_from > 0 {
        format!(", resumed after {}", human_bytes(resumed_from))
    } else {
        String::new()
    };
    n.emit(
        actions::DOWNLOADED,
        format!(
            "Downloaded {} ({} in {:.1} s, {:.1} MB/s{resumed}), sha256 verified while streaming",
            d.label,
            human_bytes(transferred),
            elapsed.as_secs_f64(),
            mb_per_s(transferred, elapsed)
        ),
        |f| {
            f.bytes = Some(transferred);
            f.duration_ms = Some(elapsed.as_millis() as u64);
        },
    );
}

/// `download-progress` at a bounded rate: each 5% (at most every 250 ms),
/// and at least every 2 s while bytes flow.
struct Progress {
    started: Instant,
    last_at: Instant,
    last_bytes: u64,
    transferred: u64,
}

impl Progress {
    fn new(started: Instant) -> Self {
        Self {
            started,
            last_at: started,
            last_bytes: 0,
            transferred: 0,
        }
    }

    fn received(&mut self, len: u64, have: u64, total: Option<u64>, label: &str, n: Narrator<'_>) {
        self.transferred += len;
        let now = Instant::now();
        let since = now.duration_since(self.last_at);
        let step = total.map_or(u64::MAX, |t| (t / 20).max(1));
        let due = (have.saturating_sub(self.last_bytes) >= step
            && since >= Duration::from_millis(250))
            || since >= Duration::from_secs(2);
        if !due || total == Some(have) {
            return;
        }
        self.last_at = now;
        self.last_bytes = have;
        let of = total.map_or_else(String::new, |t| {
            format!(
                " of {} ({:.0}%)",
                human_bytes(t),
                have as f64 * 100.0 / t.max(1) as f64
            )
        });
        n.emit(
            actions::DOWNLOAD_PROGRESS,
            format!(
                "{label}: {}{of} at {:.1} MB/s",
                human_bytes(have),
                mb_per_s(self.transferred, now.duration_since(self.started))
            ),
            |f| f.bytes = Some(have),
        );
    }
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
