//! How a read blocked on a silent socket notices a cancel, and how a body
//! reader gets the thread back now and then although no byte arrives.
//!
//! ureq reads on the caller's thread and blocks in the socket until the
//! per-read timeout. A timeout of a fraction of a second would end every
//! slow request, and ureq has no hook to stop a read from another thread.
//! So the agent's connector chain ends with [`Watchful`], which wraps
//! every transport (TLS over TCP included) and waits for input in slices
//! of at most [`SLICE`]: between slices it looks at the [`Cancel`] token
//! the current thread runs under ([`enter`]), and gives up with a
//! [`Cancelled`] I/O error once it is cancelled. The ureq timeout asked
//! for is still honoured in full across the slices; a timed-out slice
//! consumed nothing, so the connection (and TLS over it) is intact.
//!
//! A body reader that wants the thread back while the socket is silent
//! (to report progress by time, to judge a stall) reads inside [`quiet`]:
//! after that long without a byte the read returns a `WouldBlock` error
//! ([`is_quiet`]), and ureq's body reader, whose state an I/O error does
//! not change, can simply be read again.
//!
//! Not covered: DNS resolution and the TCP connect itself (bounded by the
//! connect timeout), and writes.

use crate::cancel::Cancel;
use std::cell::RefCell;
use std::io;
use std::time::{Duration, Instant};
use ureq::unversioned::transport::time::Duration as UreqDuration;
use ureq::unversioned::transport::{Buffers, ConnectionDetails, Connector, NextTimeout, Transport};

/// The longest a read waits before it looks at the cancel token again.
pub(crate) const SLICE: Duration = Duration::from_millis(50);

/// What the current thread runs under.
#[derive(Default)]
struct Scope {
    cancel: Option<Cancel>,
    /// Hand the thread back after this long without a byte.
    quiet_after: Option<Duration>,
}

thread_local! {
    static SCOPE: RefCell<Scope> = RefCell::default();
}

/// Restores the thread's previous cancel token when dropped.
#[must_use = "the token applies while the guard lives"]
pub struct Entered {
    previous: Option<Cancel>,
}

impl Drop for Entered {
    fn drop(&mut self) {
        let previous = self.previous.take();
        SCOPE.with(|s| s.borrow_mut().cancel = previous);
    }
}

/// Runs this thread's requests, reads, back-off sleeps and lock waits
/// under `cancel` until the guard is dropped. Threads a download starts
/// enter the same token.
pub fn enter(cancel: &Cancel) -> Entered {
    let previous = SCOPE.with(|s| s.borrow_mut().cancel.replace(cancel.clone()));
    Entered { previous }
}

/// The token this thread runs under (a fresh one, never cancelled, when
/// none was entered).
pub fn current() -> Cancel {
    SCOPE
        .with(|s| s.borrow().cancel.clone())
        .unwrap_or_default()
}

/// True once the token this thread runs under is cancelled.
pub fn cancelled() -> bool {
    SCOPE.with(|s| s.borrow().cancel.as_ref().is_some_and(Cancel::is_cancelled))
}

/// Runs `read` so that it returns a [`is_quiet`] error after `after`
/// without a byte, instead of waiting for the read timeout.
pub(crate) fn quiet<T>(after: Duration, read: impl FnOnce() -> T) -> T {
    let previous = SCOPE.with(|s| s.borrow_mut().quiet_after.replace(after));
    let out = read();
    SCOPE.with(|s| s.borrow_mut().quiet_after = previous);
    out
}

/// The error a read gives up with once cancelled.
#[derive(Debug, thiserror::Error)]
#[error("cancelled")]
pub(crate) struct Cancelled;

/// The error a [`quiet`] read returns after its silence.
#[derive(Debug, thiserror::Error)]
#[error("no data yet")]
struct Quiet;

/// True for the error a [`quiet`] read returns when nothing arrived.
pub(crate) fn is_quiet(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::WouldBlock && e.get_ref().is_some_and(|x| x.is::<Quiet>())
}

/// The last link of the connector chain: wraps each transport in
/// [`WatchfulTransport`].
#[derive(Debug, Default)]
pub(crate) struct Watchful;

impl Connector<Box<dyn Transport>> for Watchful {
    type Out = WatchfulTransport;

    fn connect(
        &self,
        _details: &ConnectionDetails,
        chained: Option<Box<dyn Transport>>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        Ok(chained.map(|inner| WatchfulTransport { inner }))
    }
}

/// A transport whose reads wait in slices, looking at the thread's cancel
/// token between them.
#[derive(Debug)]
pub(crate) struct WatchfulTransport {
    inner: Box<dyn Transport>,
}

impl Transport for WatchfulTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        self.inner.buffers()
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        self.inner.transmit_output(amount, timeout)
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        let full = timeout.for_read();
        let limit = match full.after {
            UreqDuration::Exact(d) => Some(d),
            UreqDuration::NotHappening => None,
        };
        let quiet_after = SCOPE.with(|s| s.borrow().quiet_after);
        let began = Instant::now();
        loop {
            if cancelled() {
                return Err(ureq::Error::Io(io::Error::other(Cancelled)));
            }
            let waited = began.elapsed();
            if quiet_after.is_some_and(|q| waited >= q) {
                return Err(ureq::Error::Io(io::Error::new(
                    io::ErrorKind::WouldBlock,
                    Quiet,
                )));
            }
            let left = limit.map(|l| l.saturating_sub(waited));
            if left.is_some_and(|l| l.is_zero()) {
                return Err(ureq::Error::Timeout(full.reason));
            }
            let slice = left.map_or(SLICE, |l| l.min(SLICE));
            let sliced = NextTimeout {
                after: UreqDuration::Exact(slice),
                reason: full.reason,
                per_read: None,
                per_write: timeout.per_write,
            };
            match self.inner.await_input(sliced) {
                Err(ureq::Error::Timeout(_)) => continue,
                other => return other,
            }
        }
    }

    fn is_open(&mut self) -> bool {
        self.inner.is_open()
    }

    fn is_tls(&self) -> bool {
        self.inner.is_tls()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scope_sets_the_token_and_restores_the_previous_one() {
        assert!(!cancelled());
        let outer = Cancel::new();
        let _a = enter(&outer);
        {
            let inner = Cancel::new();
            let _b = enter(&inner);
            inner.cancel();
            assert!(cancelled());
            assert!(current().same_as(&inner));
        }
        assert!(!cancelled(), "the outer token is back");
        assert!(current().same_as(&outer));
    }

    #[test]
    fn quiet_errors_are_told_apart() {
        let e = io::Error::new(io::ErrorKind::WouldBlock, Quiet);
        assert!(is_quiet(&e));
        assert!(!is_quiet(&io::Error::from(io::ErrorKind::WouldBlock)));
    }
}
