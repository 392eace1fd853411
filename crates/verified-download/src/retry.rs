//! The one retry loop, for metadata requests and transfers alike:
//! exponential backoff with jitter, the server's `Retry-After` (seconds or
//! an HTTP date) honoured, and a bound on attempts and total waiting.

use crate::DownloadError;
use crate::event::{Event, Events};
use crate::interrupt;
use std::time::{Duration, SystemTime};
use url::Url;

/// How transient failures (connect errors, timeouts, resets, 408/429/5xx)
/// are retried.
///
/// ```
/// use verified_download::RetryPolicy;
/// let patient = RetryPolicy { max_attempts: 10, ..RetryPolicy::default() };
/// assert!(patient.max_attempts > RetryPolicy::quick().max_attempts);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// Backoff before the first retry; doubles each time.
    pub base_delay: Duration,
    /// Cap on one backoff (a `Retry-After` above it is cut to it).
    pub max_delay: Duration,
    /// Cap on time spent waiting across all retries of one operation.
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

/// How one attempt failed.
#[derive(Debug)]
pub enum Failure<E = DownloadError> {
    /// Worth retrying: connect error, timeout, reset, 408/429/5xx.
    Transient {
        /// Why, for the retry event and the final error (never a header value).
        reason: String,
        /// The server's `Retry-After`, when it sent one.
        retry_after: Option<Duration>,
    },
    /// The body stalled ([`StallPolicy`](crate::StallPolicy)): retried
    /// like a transient failure, [`DownloadError::Stalled`] once the
    /// retries run out.
    Stalled(String),
    /// Not worth retrying.
    Fatal(E),
}

impl<E> From<E> for Failure<E> {
    fn from(e: E) -> Self {
        Failure::Fatal(e)
    }
}

impl Failure {
    /// The same failure, its fatal error widened to a caller's error type.
    pub fn lift<E: From<DownloadError>>(self) -> Failure<E> {
        match self {
            Failure::Transient {
                reason,
                retry_after,
            } => Failure::Transient {
                reason,
                retry_after,
            },
            Failure::Stalled(reason) => Failure::Stalled(reason),
            Failure::Fatal(e) => Failure::Fatal(e.into()),
        }
    }
}

/// A transient failure without a `Retry-After`.
pub fn transient<E>(reason: impl Into<String>) -> Failure<E> {
    Failure::Transient {
        reason: reason.into(),
        retry_after: None,
    }
}

/// Runs `op` until it succeeds, fails for good, or the retry budget is
/// spent; each retry is reported as [`Event::Retrying`] before its wait.
/// Under a cancelled token (see [`interrupt`](super::interrupt)) no
/// attempt starts, the back-off wait ends at once, and whatever the
/// attempt failed with becomes [`DownloadError::Cancelled`].
pub fn retrying<T, E: From<DownloadError>>(
    policy: &RetryPolicy,
    url: &Url,
    events: Events<'_>,
    mut op: impl FnMut() -> Result<T, Failure<E>>,
) -> Result<T, E> {
    let cancel = interrupt::current();
    let mut backoff = Backoff::new(policy);
    loop {
        if cancel.is_cancelled() {
            return Err(DownloadError::Cancelled.into());
        }
        let (reason, retry_after, stalled) = match op() {
            Ok(v) => return Ok(v),
            Err(_) if cancel.is_cancelled() => return Err(DownloadError::Cancelled.into()),
            Err(Failure::Fatal(e)) => return Err(e),
            Err(Failure::Transient {
                reason,
                retry_after,
            }) => (reason, retry_after, false),
            Err(Failure::Stalled(reason)) => (reason, None, true),
        };
        let attempt = backoff.attempt;
        let Some(delay) = backoff.next_delay(retry_after) else {
            let url = narration_core::public_url(url.as_str());
            return Err(if stalled {
                DownloadError::Stalled {
                    url,
                    attempts: attempt,
                    last: reason,
                }
            } else {
                DownloadError::RetriesExhausted {
                    url,
                    attempts: attempt,
                    last: reason,
                }
            }
            .into());
        };
        events(Event::Retrying {
            attempt,
            max: policy.max_attempts,
            delay,
            reason: &reason,
        });
        if cancel.sleep(delay).is_err() {
            return Err(DownloadError::Cancelled.into());
        }
    }
}

/// Tracks the retries of one operation.
#[derive(Debug)]
struct Backoff {
    policy: RetryPolicy,
    /// The attempt about to run or running (1-based).
    attempt: u32,
    waited: Duration,
}

impl Backoff {
    fn new(policy: &RetryPolicy) -> Self {
        Self {
            policy: policy.clone(),
            attempt: 1,
            waited: Duration::ZERO,
        }
    }

    /// The wait before the next attempt, or `None` when the budget is spent.
    /// `retry_after` is the server's request, taken when it is longer than
    /// the computed backoff.
    fn next_delay(&mut self, retry_after: Option<Duration>) -> Option<Duration> {
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

/// True for statuses worth retrying: 408, 429 and 5xx.
pub(crate) fn is_retryable_status(status: u16) -> bool {
    status == 408 || status == 429 || (500..600).contains(&status)
}

/// Reads `Retry-After`: delay-seconds, or an HTTP date (the wait until
/// then, zero when it is past).
pub(crate) fn parse_retry_after(value: Option<&str>, now: SystemTime) -> Option<Duration> {
    let value = value?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
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
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = httpdate::parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT").unwrap();
        let p = |v| parse_retry_after(Some(v), now);
        assert_eq!(p(" 3 "), Some(Duration::from_secs(3)));
        assert_eq!(
            p("Wed, 21 Oct 2015 07:28:30 GMT"),
            Some(Duration::from_secs(30))
        );
        assert_eq!(p("Wed, 21 Oct 2015 07:00:00 GMT"), Some(Duration::ZERO));
        assert_eq!(p("soon"), None);
        assert_eq!(parse_retry_after(None, now), None);
    }

    #[test]
    fn the_loop_reports_each_retry_and_gives_up_with_the_last_reason() {
        let url = Url::parse("https://u:p@h/x?token=abc").unwrap();
        let seen = std::cell::RefCell::new(Vec::new());
        let record = |e: Event<'_>| {
            if let Event::Retrying { attempt, max, .. } = e {
                seen.borrow_mut().push((attempt, max));
            }
        };
        let policy = RetryPolicy {
            max_attempts: 3,
            ..RetryPolicy::quick()
        };
        let err =
            retrying::<(), DownloadError>(&policy, &url, &record, || Err(transient("HTTP 503")))
                .unwrap_err();
        assert_eq!(seen.into_inner(), vec![(1, 3), (2, 3)]);
        assert!(err.is_unreachable());
        let text = err.to_string();
        assert!(
            text.contains("3 attempts") && text.contains("HTTP 503"),
            "{text}"
        );
        assert!(!text.contains("u:p") && !text.contains("abc"), "{text}");
    }
}
