//! When one stream should hand the rest of a file to parallel ranges.
//!
//! A verified download can never finish before the sha256 of its last
//! byte, so more connections help only while the network, not the hash,
//! sets the pace. On a fast link one stream already outruns sha256, and
//! extra connections would only take CPU from the hasher. A large file
//! therefore starts as one stream (with a `Range`, so the server shows it
//! honours ranges) and is split when, after [`WINDOW`], the stream runs
//! slower than [`SPLIT_BELOW`] of the rate the hasher has shown it can
//! go: the hasher is then idle a good part of the time, waiting for bytes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long a stream runs before it is judged, and how often after.
pub(super) const WINDOW: Duration = Duration::from_millis(100);
/// A stream slower than this fraction of the hash rate is split.
const SPLIT_BELOW: f64 = 2.0 / 3.0;
/// Hashing fewer bytes than this tells nothing about the hash rate (a
/// stream that delivered so little in a window is slow by any measure).
const MIN_SAMPLE: u64 = 256 * 1024;

/// What the hashing stage reports: bytes hashed and the time it spent
/// hashing them (not waiting), so its rate is the rate it could go.
#[derive(Debug, Default)]
pub(super) struct HashMeter {
    hashed: AtomicU64,
    busy_ns: AtomicU64,
}

impl HashMeter {
    /// Records `bytes` hashed in `took`.
    pub fn record(&self, bytes: usize, took: Duration) {
        self.hashed.fetch_add(bytes as u64, Ordering::Relaxed);
        self.busy_ns
            .fetch_add(took.as_nanos() as u64, Ordering::Relaxed);
    }

    /// Bytes per second the hasher can take, once it has hashed enough
    /// to tell.
    fn rate(&self) -> Option<f64> {
        let hashed = self.hashed.load(Ordering::Relaxed);
        let busy = self.busy_ns.load(Ordering::Relaxed);
        (hashed >= MIN_SAMPLE && busy > 0).then(|| hashed as f64 * 1e9 / busy as f64)
    }
}

/// Watches one stream and says when to split the rest of the file.
#[derive(Debug)]
pub(super) struct SplitWatch<'m> {
    meter: &'m HashMeter,
    /// Rests smaller than this are left to the stream.
    min_rest: u64,
    started: Instant,
    next_check: Instant,
}

impl<'m> SplitWatch<'m> {
    /// Starts watching a stream whose body begins now.
    pub fn new(meter: &'m HashMeter, min_rest: u64) -> Self {
        let started = Instant::now();
        Self {
            meter,
            min_rest,
            started,
            next_check: started + WINDOW,
        }
    }

    /// When the stream should next be looked at: a reader hands over what
    /// it has by then instead of filling its buffer.
    pub fn deadline(&self) -> Instant {
        self.next_check
    }

    /// After `streamed` bytes of this stream, with `rest` bytes of the
    /// file still to come: true when the rest should go over parallel
    /// ranges. Judges the stream's average rate since it started (a
    /// passing stall does not split a fast stream).
    pub fn should_split(&mut self, streamed: u64, rest: u64) -> bool {
        let now = Instant::now();
        if now < self.next_check {
            return false;
        }
        self.next_check = now + WINDOW;
        if rest < self.min_rest {
            return false;
        }
        let elapsed = now.duration_since(self.started).as_secs_f64();
        let stream_rate = streamed as f64 / elapsed;
        self.meter
            .rate()
            .is_none_or(|hash_rate| stream_rate < hash_rate * SPLIT_BELOW)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meter(hashed: u64, busy: Duration) -> HashMeter {
        let m = HashMeter::default();
        m.record(hashed as usize, busy);
        m
    }

    #[test]
    fn nothing_is_judged_before_the_window() {
        let m = meter(1 << 30, Duration::from_secs(1));
        let mut w = SplitWatch::new(&m, 1);
        assert!(!w.should_split(0, 1 << 30), "too early to judge");
    }

    #[test]
    fn a_stream_slower_than_the_hash_is_split_and_a_fast_one_is_not() {
        // The hasher showed 1 GiB/s.
        let m = meter(1 << 30, Duration::from_secs(1));
        let mut w = SplitWatch::new(&m, 1);
        w.started -= Duration::from_secs(1);
        w.next_check = Instant::now();
        assert!(w.should_split(32 << 20, 1 << 30), "32 MiB/s: split");
        let mut w = SplitWatch::new(&m, 1);
        w.started -= Duration::from_secs(1);
        w.next_check = Instant::now();
        assert!(!w.should_split(900 << 20, 1 << 30), "900 MiB/s: stay");
    }

    #[test]
    fn a_small_rest_stays_with_the_stream_and_an_unmeasured_hash_splits() {
        let m = meter(1 << 30, Duration::from_secs(1));
        let mut w = SplitWatch::new(&m, 64 << 20);
        w.next_check = Instant::now();
        assert!(!w.should_split(1, 1 << 20), "1 MiB left: not worth it");
        let idle = HashMeter::default();
        let mut w = SplitWatch::new(&idle, 1);
        w.next_check = Instant::now();
        assert!(
            w.should_split(100, 1 << 30),
            "almost nothing arrived: split"
        );
    }
}
