//! When one stream should hand the rest of a file to parallel ranges.
//!
//! A verified download can never finish before the sha256 of its last
//! byte, so more connections help only while the network, not the hash,
//! sets the pace. On a fast link one stream already outruns sha256, and
//! extra connections would only take CPU from the hasher. A large file
//! therefore starts as one stream (with a `Range`, so the server shows it
//! honours ranges) and is split when, over [`SLOW_WINDOWS`] windows of
//! [`WINDOW`] in a row, the stream runs slower than [`SPLIT_BELOW`] of the
//! rate the hasher has shown it can go: the hasher is then idle a good
//! most of the time, waiting for bytes. One window is not enough: a
//! connection's first tenth of a second is often slow on the fastest link
//! (measured here: 515 MB/s, then 870 MB/s), and a needless split costs
//! far more than a late one.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How often a stream is judged, over what it did since the last time.
pub(super) const WINDOW: Duration = Duration::from_millis(100);
/// Slow windows in a row that split a stream.
const SLOW_WINDOWS: u32 = 2;
/// A stream slower than this fraction of the hash rate is split. Low on
/// purpose: on a machine whose CPUs are busy (with the hash, the writes,
/// or a local server) one stream's rate wanders (measured here between
/// 0.3 and 1 times the hash rate over 100 ms), and more connections would
/// only add to the load; behind a per-connection cap (tens of MB/s against
/// a hash rate above 1 GB/s) the ratio is far below this.
const SPLIT_BELOW: f64 = 0.25;
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
    /// When the current window began, and the stream's bytes then.
    window: (Instant, u64),
    /// Windows in a row the stream was slow.
    slow: u32,
}

impl<'m> SplitWatch<'m> {
    /// Starts watching a stream whose body begins now.
    pub fn new(meter: &'m HashMeter, min_rest: u64) -> Self {
        Self {
            meter,
            min_rest,
            window: (Instant::now(), 0),
            slow: 0,
        }
    }

    /// When the stream should next be looked at: a reader hands over what
    /// it has by then instead of filling its buffer.
    pub fn deadline(&self) -> Instant {
        self.window.0 + WINDOW
    }

    /// After `streamed` bytes of this stream, with `rest` bytes of the
    /// file still to come: true when the rest should go over parallel
    /// ranges.
    pub fn should_split(&mut self, streamed: u64, rest: u64) -> bool {
        let now = Instant::now();
        let (began, at_start) = self.window;
        if now < began + WINDOW {
            return false;
        }
        self.window = (now, streamed);
        let elapsed = now.duration_since(began).as_secs_f64();
        let stream_rate = streamed.saturating_sub(at_start) as f64 / elapsed;
        let slow = self
            .meter
            .rate()
            .is_none_or(|hash_rate| stream_rate < hash_rate * SPLIT_BELOW);
        self.slow = if slow { self.slow + 1 } else { 0 };
        self.slow >= SLOW_WINDOWS && rest >= self.min_rest
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

    /// Judges one window of 1 s in which the stream moved `bytes`.
    fn window(w: &mut SplitWatch<'_>, streamed: &mut u64, bytes: u64, rest: u64) -> bool {
        w.window.0 -= Duration::from_secs(1);
        *streamed += bytes;
        w.should_split(*streamed, rest)
    }

    const GIB: u64 = 1 << 30;
    const MIB: u64 = 1 << 20;

    #[test]
    fn nothing_is_judged_before_the_window() {
        let m = meter(GIB, Duration::from_secs(1));
        let mut w = SplitWatch::new(&m, 1);
        assert!(!w.should_split(0, GIB), "too early to judge");
    }

    #[test]
    fn a_stream_far_slower_than_the_hash_for_two_windows_is_split() {
        // The hasher showed 1 GiB/s.
        let m = meter(GIB, Duration::from_secs(1));
        let (mut w, mut n) = (SplitWatch::new(&m, 1), 0);
        assert!(!window(&mut w, &mut n, 32 * MIB, GIB), "one slow window");
        assert!(window(&mut w, &mut n, 32 * MIB, GIB), "two: split");
    }

    #[test]
    fn a_slow_start_or_a_passing_stall_does_not_split_a_fast_stream() {
        let m = meter(GIB, Duration::from_secs(1));
        let (mut w, mut n) = (SplitWatch::new(&m, 1), 0);
        assert!(!window(&mut w, &mut n, 100 * MIB, GIB), "slow start");
        assert!(!window(&mut w, &mut n, 900 * MIB, GIB), "then fast");
        assert!(!window(&mut w, &mut n, 100 * MIB, GIB), "a stall");
        assert!(!window(&mut w, &mut n, 900 * MIB, GIB), "fast again");
        assert!(!window(&mut w, &mut n, 300 * MIB, GIB), "a busy CPU");
        assert!(!window(&mut w, &mut n, 300 * MIB, GIB), "for a while");
    }

    #[test]
    fn a_small_rest_stays_with_the_stream_and_an_unmeasured_hash_splits() {
        let m = meter(GIB, Duration::from_secs(1));
        let (mut w, mut n) = (SplitWatch::new(&m, 64 * MIB), 0);
        assert!(!window(&mut w, &mut n, 1, MIB));
        assert!(!window(&mut w, &mut n, 1, MIB), "1 MiB left: not worth it");
        let idle = HashMeter::default();
        let (mut w, mut n) = (SplitWatch::new(&idle, 1), 0);
        assert!(!window(&mut w, &mut n, 100, GIB));
        assert!(window(&mut w, &mut n, 100, GIB), "almost nothing arrived");
    }
}
