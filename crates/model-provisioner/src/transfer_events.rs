//! The fetchers' narrations of a download: turns the download layer's
//! [`Event`]s into `download`, `download-progress` (at a bounded rate),
//! `download-retry` and `downloaded`, with the ensure's correlation id,
//! pool id and model ref carried on each. One translator serves the Hub
//! and the HTTPS fetcher alike.
//!
//! The same events feed the ensure's typed progress
//! ([`ProgressReporter`](crate::ProgressReporter)): `download` with the
//! bytes the partial holds at the start, while bytes move (and at least
//! every quarter second while the transfer runs), and `finished` with
//! `done == total` once verified; `lock-wait` while another process holds
//! the file's lock. The numbers are those the narrations carry. `done`
//! only grows, but for one case: a server that answers a resume's `Range`
//! with the whole file (`200`) restarts the file, and `done` from zero.

use crate::actions;
use crate::download::Event;
use crate::fetch::FetchContext;
use crate::model_ref::ModelRef;
use crate::units::{human_bytes, mb_per_s};
use narration_core::{NarrationFields, narrate, outcome, source_kind};
use std::cell::Cell;
use std::fmt::Display;
use std::time::{Duration, Instant};

/// Narrates for one fetch of `model`.
#[derive(Clone, Copy)]
pub(crate) struct Narrator<'a> {
    ctx: &'a FetchContext,
    model: &'a ModelRef,
}

impl<'a> Narrator<'a> {
    pub fn new(ctx: &'a FetchContext, model: &'a ModelRef) -> Self {
        Self { ctx, model }
    }

    /// A translator for the requests and transfer of `label`
    /// (`org/repo/file.gguf`, `listing org/repo`, a URL).
    pub fn transfer(self, label: impl Into<String>) -> TransferNarration<'a> {
        TransferNarration {
            n: self,
            label: label.into(),
            rate: Cell::new(Rate::new(Instant::now())),
        }
    }

    /// The Hub stayed unreachable, so the cached snapshot at `commit` is
    /// used: a warning, not a failure, since the run goes on.
    pub fn hub_unreachable_cache_used(self, error: &dyn Display, commit: &str) {
        self.emit(
            actions::DOWNLOAD_FALLBACK,
            format!("{error}; using the cached copy at {commit}"),
            |f| f.error_kind = Some("hub-unreachable-cache-used".to_string()),
        );
    }

    /// A cached blob was not what its etag promises: moved aside and
    /// downloaded again. A warning, since the run goes on.
    pub fn blob_quarantined(
        self,
        blob: &std::path::Path,
        etag: &str,
        found: &str,
        aside: &std::path::Path,
    ) {
        self.emit(
            actions::VERIFY_WARNING,
            format!(
                "Cached blob {} hashes to {found}, not to its etag {etag}: moved aside to {} and downloading it again",
                blob.display(),
                aside.display()
            ),
            |f| f.error_kind = Some("digest-mismatch".to_string()),
        );
    }

    fn emit(self, action: &'static str, human: String, extra: impl FnOnce(&mut NarrationFields)) {
        let mut fields = self.ctx.fields(action, self.model, human);
        extra(&mut fields);
        narrate(fields);
    }
}

/// Narrates the events of one subject's requests and transfer.
pub(crate) struct TransferNarration<'a> {
    n: Narrator<'a>,
    label: String,
    rate: Cell<Rate>,
}

impl TransferNarration<'_> {
    /// Reports `event` as typed progress (the download layer's one
    /// mapping) and narrates it (progress only when due).
    pub fn on(&self, event: Event<'_>) {
        verified_download::report_progress(&self.n.ctx.progress, &event);
        match event {
            Event::Started {
                url,
                resumed_from,
                total,
            } => self.started(url, resumed_from, total),
            Event::Progress {
                have,
                total,
                transferred,
                ..
            } => self.progress(have, total, transferred),
            Event::Retrying {
                attempt,
                max,
                delay,
                reason,
            } => self.retrying(attempt, max, delay, reason),
            Event::LockWait { path, holder_pid } => self.lock_wait(path, holder_pid),
            Event::Finished {
                transferred,
                elapsed,
                resumed_from,
                connections,
                ..
            } => self.finished(transferred, elapsed, resumed_from, connections),
        }
    }

    fn lock_wait(&self, path: &std::path::Path, holder_pid: Option<u32>) {
        let holder =
            holder_pid.map_or_else(|| "another process".to_string(), |p| format!("pid {p}"));
        self.n.emit(
            actions::LOCK_WAIT,
            format!(
                "Waiting for {holder} downloading {} (lock {})",
                self.label,
                path.display()
            ),
            |_| {},
        );
    }

    fn started(&self, url: &str, resumed_from: u64, total: Option<u64>) {
        self.rate.set(Rate::new(Instant::now()));
        let size = total.map_or_else(|| "unknown size".to_string(), human_bytes);
        let label = &self.label;
        let human = if resumed_from > 0 {
            let at = human_bytes(resumed_from);
            format!("Resuming {label} at {at} of {size} from {url}")
        } else {
            format!("Downloading {label} ({size}) from {url}")
        };
        self.n.emit(actions::DOWNLOAD, human, |f| {
            f.bytes = total;
            f.total_bytes = total;
        });
    }

    fn progress(&self, have: u64, total: Option<u64>, transferred: u64) {
        let mut rate = self.rate.get();
        let now = Instant::now();
        if !rate.due(now, have, total) {
            return;
        }
        rate.last_at = now;
        rate.last_bytes = have;
        self.rate.set(rate);
        let of = total.map_or_else(String::new, |t| {
            let percent = have as f64 * 100.0 / t.max(1) as f64;
            format!(" of {} ({percent:.0}%)", human_bytes(t))
        });
        let speed = mb_per_s(transferred, now.duration_since(rate.started));
        self.n.emit(
            actions::DOWNLOAD_PROGRESS,
            format!(
                "{}: {}{of} at {speed:.1} MB/s",
                self.label,
                human_bytes(have)
            ),
            |f| {
                f.bytes = Some(have);
                f.total_bytes = total;
            },
        );
    }

    fn retrying(&self, attempt: u32, max: u32, delay: Duration, reason: &str) {
        let ms = delay.as_millis();
        self.n.emit(
            actions::DOWNLOAD_RETRY,
            format!(
                "{}: {reason}; retrying in {ms} ms (attempt {} of {max})",
                self.label,
                attempt + 1
            ),
            |f| {
                f.backoff_ms = Some(u64::try_from(ms).unwrap_or(u64::MAX));
                f.error_kind = Some("transient".to_string());
            },
        );
    }

    fn finished(&self, transferred: u64, elapsed: Duration, resumed_from: u64, connections: usize) {
        let resumed = if resumed_from > 0 {
            format!(", resumed after {}", human_bytes(resumed_from))
        } else {
            String::new()
        };
        let over = if connections > 1 {
            format!(" over {connections} connections")
        } else {
            String::new()
        };
        self.n.emit(
            actions::DOWNLOADED,
            format!(
                "Downloaded {} ({} in {:.1} s, {:.1} MB/s{over}{resumed}), sha256 verified while streaming",
                self.label,
                human_bytes(transferred),
                elapsed.as_secs_f64(),
                mb_per_s(transferred, elapsed)
            ),
            |f| {
                f.bytes = Some(transferred);
                f.duration_ms = Some(u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX));
                f.outcome = Some(outcome::TRANSFERRED.to_string());
                f.source_kind = Some(source_kind_of(self.n.model).to_string());
            },
        );
    }
}

/// Where a model's bytes come from, as the transfer metrics label it.
fn source_kind_of(model: &ModelRef) -> &'static str {
    match model {
        ModelRef::Hf { .. } => source_kind::HF,
        ModelRef::Https { .. } | ModelRef::Http { .. } => source_kind::HTTPS,
        ModelRef::Oci { .. } => source_kind::OCI,
        ModelRef::File { .. } => source_kind::FILE,
    }
}

/// When `download-progress` is due: each 5% (at most every 250 ms), and at
/// least every 2 s while the transfer runs (bytes or not: the download
/// layer reports the time passing); never for the last byte (`downloaded`
/// says that).
#[derive(Debug, Clone, Copy)]
struct Rate {
    started: Instant,
    last_at: Instant,
    last_bytes: u64,
}

impl Rate {
    fn new(now: Instant) -> Self {
        Self {
            started: now,
            last_at: now,
            last_bytes: 0,
        }
    }

    fn due(&self, now: Instant, have: u64, total: Option<u64>) -> bool {
        let since = now.duration_since(self.last_at);
        let step = total.map_or(u64::MAX, |t| (t / 20).max(1));
        let due = (have.saturating_sub(self.last_bytes) >= step
            && since >= Duration::from_millis(250))
            || since >= Duration::from_secs(2);
        due && total != Some(have)
    }
}

#[cfg(test)]
mod tests {
    use super::Rate;
    use std::time::{Duration, Instant};

    #[test]
    fn progress_is_due_each_five_percent_after_a_quarter_second_or_every_two_seconds() {
        let t0 = Instant::now();
        let rate = Rate::new(t0);
        let ms = |n| t0 + Duration::from_millis(n);
        assert!(!rate.due(ms(100), 50, Some(100)), "too soon");
        assert!(rate.due(ms(300), 5, Some(100)), "5% after 250 ms");
        assert!(!rate.due(ms(300), 4, Some(100)), "under 5%");
        assert!(rate.due(ms(2100), 1, Some(100)), "2 s passed");
        assert!(
            !rate.due(ms(2100), 100, Some(100)),
            "complete: downloaded says it"
        );
        assert!(rate.due(ms(2100), 1, None), "unknown size: every 2 s");
    }
}
