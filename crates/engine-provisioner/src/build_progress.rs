//! Build progress read from the build tool's own output as it streams:
//! Ninja's `[n/N]` status (done = n, total = N build steps) and Make's
//! `[ 45%]` (done = 45, total = 100: Make counts percent, not steps).

use std::sync::{Mutex, PoisonError};
use verified_download::{ProgressReporter, ProgressStep};

/// `(done, total)` from a line that starts with Ninja's `[n/N]` or Make's
/// `[ p%]` status; `None` for any other line.
pub fn parse(line: &str) -> Option<(u64, u64)> {
    let inner = line.trim_start().strip_prefix('[')?;
    let (inner, _) = inner.split_once(']')?;
    if let Some((n, total)) = inner.split_once('/') {
        let (n, total) = (n.trim().parse().ok()?, total.trim().parse().ok()?);
        return (n <= total && total > 0).then_some((n, total));
    }
    let percent: u64 = inner.trim().strip_suffix('%')?.trim().parse().ok()?;
    (percent <= 100).then_some((percent, 100))
}

/// Turns output lines into `build` progress reports that never go
/// backwards (the pipes are read by two threads; a late or repeated
/// status line does not lower `done`).
pub struct BuildProgress<'a> {
    reporter: &'a ProgressReporter,
    /// Highest `done` seen, and the latest total.
    state: Mutex<(u64, Option<u64>)>,
}

impl<'a> BuildProgress<'a> {
    /// Start the `build` step on `reporter`.
    pub fn begin(reporter: &'a ProgressReporter) -> Self {
        reporter.begin(ProgressStep::Build, None);
        Self {
            reporter,
            state: Mutex::new((0, None)),
        }
    }

    /// One line of build output.
    pub fn line(&self, line: &str) {
        let Some((n, total)) = parse(line) else {
            return;
        };
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let done = state.0.max(n).min(total);
        *state = (done, Some(total));
        // Reported under the lock, so reports leave in order.
        self.reporter
            .report(ProgressStep::Build, done, Some(total), 0, false);
    }

    /// The build succeeded: every step is done.
    pub fn finish(&self) {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let (done, total) = *state;
        self.reporter
            .report(ProgressStep::Build, total.unwrap_or(done), total, 0, true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ninja_steps_and_make_percent() {
        assert_eq!(parse("[12/345] Building CXX object a.o"), Some((12, 345)));
        assert_eq!(parse("[ 45%] Building C object ggml.c.o"), Some((45, 100)));
        assert_eq!(parse("[100%] Built target llama-server"), Some((100, 100)));
        for other in [
            "-- Configuring done",
            "[a/b] x",
            "[3/2] more done than total",
            "[0/0] nothing",
            "[101%] x",
            "x [1/2]",
            "[1/2",
        ] {
            assert_eq!(parse(other), None, "{other}");
        }
    }
}
