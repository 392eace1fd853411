//! When a body that still moves is as good as stopped: nothing for
//! [`StallPolicy::idle`], or less than [`StallPolicy::min_rate`] over
//! [`StallPolicy::window`] (curl's `--speed-limit`/`--speed-time`). A
//! stalled attempt is retried (resuming) like a dropped connection; when
//! the retries run out the download fails as
//! [`DownloadError::Stalled`](crate::DownloadError::Stalled).

use crate::units::human_bytes;
use std::time::{Duration, Instant};

/// When a transfer counts as stalled.
///
/// ```
/// use verified_download::StallPolicy;
/// use std::time::Duration;
/// let p = StallPolicy::default();
/// assert_eq!((p.idle, p.min_rate, p.window), (Duration::from_secs(30), 1024, Duration::from_secs(60)));
/// let strict = StallPolicy { idle: Duration::from_secs(5), ..p };
/// assert!(strict.idle < p.idle);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StallPolicy {
    /// No byte for this long: stalled.
    pub idle: Duration,
    /// Bytes per second a body must average over [`window`](Self::window).
    pub min_rate: u64,
    /// The span the average is taken over.
    pub window: Duration,
}

impl Default for StallPolicy {
    fn default() -> Self {
        Self {
            idle: Duration::from_secs(30),
            min_rate: 1024,
            window: Duration::from_secs(60),
        }
    }
}

/// Watches one body as its bytes arrive.
#[derive(Debug, Clone)]
pub(crate) struct StallWatch {
    policy: StallPolicy,
    last_byte: Instant,
    /// When the current window began, and the bytes seen before it.
    window: (Instant, u64),
    bytes: u64,
}

impl StallWatch {
    /// Starts watching a body whose reading begins now.
    pub fn new(policy: StallPolicy) -> Self {
        let now = Instant::now();
        Self {
            policy,
            last_byte: now,
            window: (now, 0),
            bytes: 0,
        }
    }

    /// `n` bytes arrived.
    pub fn arrived(&mut self, n: u64) {
        if n > 0 {
            self.bytes += n;
            self.last_byte = Instant::now();
        }
    }

    /// Why the body counts as stalled now, if it does.
    pub fn stalled(&mut self) -> Option<String> {
        self.stalled_at(Instant::now())
    }

    fn stalled_at(&mut self, now: Instant) -> Option<String> {
        let idle = now.saturating_duration_since(self.last_byte);
        if idle >= self.policy.idle {
            return Some(format!("stalled: no data for {} s", idle.as_secs()));
        }
        let (began, at_start) = self.window;
        let span = now.saturating_duration_since(began);
        if span < self.policy.window {
            return None;
        }
        let moved = self.bytes - at_start;
        let wanted = (self.policy.min_rate as f64 * span.as_secs_f64()) as u64;
        self.window = (now, self.bytes);
        (moved < wanted).then(|| {
            format!(
                "stalled: {} in {} s, under {}/s",
                human_bytes(moved),
                span.as_secs(),
                human_bytes(self.policy.min_rate)
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> StallPolicy {
        StallPolicy {
            idle: Duration::from_secs(30),
            min_rate: 1000,
            window: Duration::from_secs(60),
        }
    }

    #[test]
    fn silence_past_the_idle_limit_is_a_stall() {
        let mut w = StallWatch::new(policy());
        let t0 = w.last_byte;
        assert_eq!(w.stalled_at(t0 + Duration::from_secs(29)), None);
        let why = w.stalled_at(t0 + Duration::from_secs(30)).unwrap();
        assert!(why.contains("no data for 30 s"), "{why}");
    }

    #[test]
    fn a_trickle_under_the_rate_over_the_window_is_a_stall_and_a_fast_body_is_not() {
        let mut w = StallWatch::new(policy());
        let t0 = w.window.0;
        w.arrived(59_000);
        // Bytes keep coming (the idle clock restarts), but too few.
        w.last_byte = t0 + Duration::from_secs(59);
        assert!(w.stalled_at(t0 + Duration::from_secs(60)).is_some());
        let mut w = StallWatch::new(policy());
        let t0 = w.window.0;
        w.arrived(61_000);
        w.last_byte = t0 + Duration::from_secs(59);
        assert_eq!(w.stalled_at(t0 + Duration::from_secs(60)), None);
    }
}
