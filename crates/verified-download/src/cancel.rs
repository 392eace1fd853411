//! A cancellation token an orchestrator hands to an ensure: every wait in
//! the provisioners (socket reads, back-off sleeps, lock waits, hashing,
//! child processes) checks it, so a drained pool or a passed deadline stops
//! the work within a fraction of a second.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// A cheap, cloneable cancellation token. All clones share one flag:
/// cancelling any of them cancels the work holding the others.
///
/// ```
/// use verified_download::Cancel;
/// use std::time::Duration;
///
/// let cancel = Cancel::new();
/// let worker = cancel.clone();
/// let t = std::thread::spawn(move || {
///     // A back-off sleep that ends as soon as the token is cancelled.
///     worker.sleep(Duration::from_secs(60)).is_err()
/// });
/// cancel.cancel();
/// assert!(t.join().unwrap(), "the sleep was cut short");
/// assert!(cancel.is_cancelled());
/// ```
#[derive(Clone, Default)]
pub struct Cancel {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    flag: AtomicBool,
    /// Wakes sleepers at once when the flag is set.
    lock: Mutex<()>,
    wake: Condvar,
}

/// The work was cancelled through its [`Cancel`] token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cancelled")]
pub struct Cancelled;

impl Cancel {
    /// A token that is not cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Cancel the work holding this token (or any clone of it). Idempotent.
    pub fn cancel(&self) {
        self.inner.flag.store(true, Ordering::SeqCst);
        let _guard = self.inner.lock.lock();
        self.inner.wake.notify_all();
    }

    /// True once [`cancel`](Self::cancel) was called on any clone.
    pub fn is_cancelled(&self) -> bool {
        self.inner.flag.load(Ordering::Relaxed)
    }

    /// `Err(Cancelled)` once cancelled: the one-line check at each wait.
    pub fn check(&self) -> Result<(), Cancelled> {
        if self.is_cancelled() {
            Err(Cancelled)
        } else {
            Ok(())
        }
    }

    /// Sleep for `duration`, or until cancelled (then `Err(Cancelled)`).
    pub fn sleep(&self, duration: Duration) -> Result<(), Cancelled> {
        let deadline = Instant::now() + duration;
        let mut guard = self
            .inner
            .lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        loop {
            self.check()?;
            let now = Instant::now();
            if now >= deadline {
                return Ok(());
            }
            guard = self
                .inner
                .wake
                .wait_timeout(guard, deadline - now)
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        }
    }

    /// True when `self` and `other` are clones of one token.
    pub fn same_as(&self, other: &Cancel) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl std::fmt::Debug for Cancel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cancel")
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

/// Tokens compare by identity: two options are equal when they cancel
/// together.
impl PartialEq for Cancel {
    fn eq(&self, other: &Self) -> bool {
        self.same_as(other)
    }
}

impl Eq for Cancel {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sleep_runs_its_course_when_nobody_cancels() {
        let started = Instant::now();
        Cancel::new().sleep(Duration::from_millis(30)).unwrap();
        assert!(started.elapsed() >= Duration::from_millis(30));
    }

    #[test]
    fn cancelling_a_clone_wakes_a_sleeper_at_once() {
        let cancel = Cancel::new();
        let sleeper = cancel.clone();
        let t = std::thread::spawn(move || {
            let started = Instant::now();
            let outcome = sleeper.sleep(Duration::from_secs(30));
            (outcome, started.elapsed())
        });
        std::thread::sleep(Duration::from_millis(20));
        cancel.cancel();
        let (outcome, slept) = t.join().unwrap();
        assert_eq!(outcome, Err(Cancelled));
        assert!(slept < Duration::from_secs(5), "{slept:?}");
        assert!(cancel.check().is_err());
        assert!(!Cancel::new().is_cancelled());
    }
}
