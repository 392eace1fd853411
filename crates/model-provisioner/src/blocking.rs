//! Running blocking provisioning work from a tokio runtime (feature
//! `tokio`). The provisioners do their work on threads (sockets, files,
//! child processes); an orchestrator in a runtime must not run it on its
//! workers. [`run_blocking`] moves it to tokio's blocking pool and keeps
//! the three things an async caller expects:
//!
//! - **Its tracing context.** The caller's dispatcher and current span go
//!   with the work, so a per-task capture hears its narrations and OTel
//!   spans get the right parent.
//! - **Cancellation by drop.** Dropping the future (a
//!   `tokio::time::timeout` that expires, `JoinHandle::abort`, a `select!`
//!   that picks another branch) cancels the work's [`Cancel`] token: the
//!   work stops at its next check instead of running on unseen.
//! - **Panics.** A panic in the work resumes in the awaiting task.
//!
//! The model provisioner's `ensure_async` is built on it; other crates
//! (the engine provisioner) reuse it for their own work.

use crate::cancel::Cancel;
use std::future::Future;

/// The blocking work never ran or never reported back: the runtime shut
/// down first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the runtime shut down before the blocking work finished")]
pub struct Stopped;

/// Run `work` on tokio's blocking pool with the caller's tracing
/// dispatcher and span, and cancel `cancel` when the returned future is
/// dropped before the work finished. `work` must stop soon after `cancel`
/// is cancelled (pass it the same token).
///
/// The dispatcher and span are taken when this function is called, so
/// the future may be moved to another task or thread before it is polled.
///
/// ```
/// use model_provisioner::Cancel;
/// use model_provisioner::blocking::run_blocking;
/// use std::time::Duration;
///
/// # let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
/// # rt.block_on(async {
/// let cancel = Cancel::new();
/// let token = cancel.clone();
/// // A long wait, checked against the token.
/// let work = run_blocking(cancel.clone(), move || token.sleep(Duration::from_secs(3600)));
/// let stopped = tokio::time::timeout(Duration::from_millis(20), work).await;
/// assert!(stopped.is_err(), "the timeout dropped the future");
/// assert!(cancel.is_cancelled(), "and dropping it cancelled the work");
///
/// let done = run_blocking(Cancel::new(), || 6 * 7).await;
/// assert_eq!(done, Ok(42));
/// # });
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn run_blocking<T, F>(
    cancel: Cancel,
    work: F,
) -> impl Future<Output = Result<T, Stopped>> + Send
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let dispatch = tracing::dispatcher::get_default(Clone::clone);
    let span = tracing::Span::current();
    let guard = CancelOnDrop {
        cancel,
        armed: true,
    };
    async move {
        let handle = tokio::task::spawn_blocking(move || {
            tracing::dispatcher::with_default(&dispatch, || span.in_scope(work))
        });
        let outcome = handle.await;
        guard.disarm();
        match outcome {
            Ok(value) => Ok(value),
            Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
            Err(_) => Err(Stopped),
        }
    }
}

/// Cancels its token when dropped while armed: the future that owned it
/// was dropped before the work finished.
struct CancelOnDrop {
    cancel: Cancel,
    armed: bool,
}

impl CancelOnDrop {
    /// The work finished: nothing to cancel any more.
    fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if self.armed {
            self.cancel.cancel();
        }
    }
}
