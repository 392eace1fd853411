//! Retrying transient failures: exponential backoff with jitter, the
//! server's `Retry-After` honoured, and a bound on attempts and total time.

use std::time::{Duration, Instant};

/// How transient failures (connect errors, timeouts, resets, 408/429/5xx)
/// are retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// Backoff before the first retry; doubles each time.
    pub base_delay: Duration,
    /// Cap on one backoff (a `Retry-After` above it is cut to it).
    pub max_delay: Duration,
    /// Cap on time spent waiting across all retries of one download.
    pub max_total_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_total_wait: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// A policy for tests: many quick attempts.
    pub fn quick() -> Self {
        Self {
            max_attempts: 6,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(50),
            max_total_wait: Duration::from_secs(5),
        }
    }
}

/// Tracks the retries of one operation.
#[derive(Debug)]
pub(crate) struct Backoff {
    policy: RetryPolicy,
    attempt: u32,
    waited: Duration,
}

impl Backoff {
    pub fn new(policy: &RetryPolicy) -> Self {
        Self {
            policy: policy.clone(),
            attempt: 1,
            waited: Duration::ZERO,
        }
    }

    /// The attempt about to run or running (1-based).
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// Attempts allowed in all.
    pub fn max_attempts(&self) -> u32 {
        self.policy.max_attempts
    }

    /// The wait before the next attempt, or `None` when the budget is spent.
    /// `retry_after` is the server's request, taken when it is longer than
    /// the computed backoff.
    pub fn next_delay(&mut self, retry_after: Option<Duration>) -> Option<Duration> {
        if self.attempt >= self.policy.max_attempts {
            return None;
        }
        let exp = self
            .policy
            .base_delay
            .saturating_mul(1u32 << (self.attempt - 1).min(16))
            .min(self.policy.max_delay);
        // Full jitter in the upper half: spreads concurrent clients apart
        // while keeping the backoff growing.
        let half = exp / 2;
        let jitter = Duration::from_nanos(fastrand::u64(0..=half.as_nanos() as u64));
        let mut delay = half + jitter;
        if let Some(ra) = retry_after {
            delay = delay.max(ra.min(self.policy.max_delay));
        }
        if self.waited + delay > self.policy.max_total_wait {
            return None;
        }
        self.waited += delay;
        self.attempt += 1;
        Some(delay)
    }
}

/// Sleeps for `d` (a named step so callers read as a sequence).
pub(crate) fn sleep(d: Duration) {
    let until = Instant::now() + d;
    while let Some(left) = until.checked_duration_since(Instant::now()) {
        if left.is_zero() {
            break;
        }
        std::thread::sleep(left);
    }
}

/// True for statuses worth retrying: 408, 429 and 5xx.
pub(crate) fn is_retryable_status(status: u16) -> bool {
    status == 408 || status == 429 || (500..600).contains(&status)
}

/// Reads `Retry-After` in seconds (an HTTP date is ignored: the backoff
/// applies instead).
pub(crate) fn parse_retry_after(value: Option<&str>) -> Option<Duration> {
    value?.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_bounded_and_stops() {
        let p = RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(300),
            max_total_wait: Duration::from_secs(10),
        };
        let mut b = Backoff::new(&p);
        let d1 = b.next_delay(None).unwrap();
        let d2 = b.next_delay(None).unwrap();
        let d3 = b.next_delay(None).unwrap();
        assert!((50..=100).contains(&(d1.as_millis() as u64)));
        assert!((100..=200).contains(&(d2.as_millis() as u64)));
        assert!((150..=300).contains(&(d3.as_millis() as u64)));
        assert_eq!(b.next_delay(None), None, "4 attempts in all");
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_cap_and_total_budget() {
        let p = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_secs(5),
            max_total_wait: Duration::from_secs(8),
        };
        let mut b = Backoff::new(&p);
        assert_eq!(
            b.next_delay(Some(Duration::from_secs(2))),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            b.next_delay(Some(Duration::from_secs(60))),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            b.next_delay(Some(Duration::from_secs(2))),
            None,
            "total wait would pass 8 s"
        );
    }

    #[test]
    fn retryable_statuses() {
        for s in [408, 429, 500, 502, 503, 504] {
            assert!(is_retryable_status(s));
        }
        for s in [200, 206, 301, 400, 401, 403, 404, 416] {
            assert!(!is_retryable_status(s));
        }
        assert_eq!(parse_retry_after(Some(" 3 ")), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after(Some("Wed, 21 Oct 2015 07:28:00 GMT")),
            None
        );
    }
}
