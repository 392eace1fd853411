//! Progress as data: what an ensure is doing and how far it got, handed
//! to the caller's [`ProgressObserver`] as a typed [`Progress`] value, so
//! an orchestrator draws its own bars without decoding narrations.
//!
//! The numbers are those the narrations carry. A [`ProgressReporter`]
//! calls the observer at every step change, at the end of a step, and at
//! most every [`PROGRESS_INTERVAL`] in between while the numbers move.

use serde::Serialize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The longest quiet gap between two calls while numbers move is about
/// this (plus the time between two chunks of data).
pub const PROGRESS_INTERVAL: Duration = Duration::from_millis(100);

/// The step an ensure is in.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProgressStep {
    /// Waiting for another task or process that holds the lock.
    LockWait,
    /// Bytes arriving over the network (`done`/`total` in bytes).
    Download,
    /// Hashing a file already on disk (`done`/`total` in bytes).
    Hash,
    /// Checking the tools a build needs.
    Preflight,
    /// Cloning or checking out the source.
    Checkout,
    /// Configuring the build (CMake).
    Configure,
    /// Compiling (`done`/`total` in build steps, the `[n/N]` of the build
    /// tool).
    Build,
    /// Unpacking or installing a prebuilt engine.
    Install,
}

impl ProgressStep {
    /// The unit `done` and `total` count in this step.
    pub fn unit(self) -> ProgressUnit {
        match self {
            Self::Build => ProgressUnit::Steps,
            _ => ProgressUnit::Bytes,
        }
    }

    /// A short word for displays (`download`, `hash`, `build`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LockWait => "lock-wait",
            Self::Download => "download",
            Self::Hash => "hash",
            Self::Preflight => "preflight",
            Self::Checkout => "checkout",
            Self::Configure => "configure",
            Self::Build => "build",
            Self::Install => "install",
        }
    }
}

impl std::fmt::Display for ProgressStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What `done` and `total` count.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProgressUnit {
    /// Bytes.
    Bytes,
    /// Build steps (compile units).
    Steps,
}

/// One progress report.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Progress {
    /// The ensure's correlation id (the one on its narrations).
    pub correlation_id: Option<String>,
    /// The pool, when the ensure is for one.
    pub pool_id: Option<String>,
    /// What is being prepared: the model ref id or the pool id.
    pub target: String,
    /// The step.
    pub step: ProgressStep,
    /// Bytes or build steps done so far in this step.
    pub done: u64,
    /// The total, when known.
    pub total: Option<u64>,
    /// What `done` and `total` count.
    pub unit: ProgressUnit,
    /// Connections carrying a download at the moment (0 outside downloads).
    pub connections: usize,
    /// True on the step's last report (its `done` is final).
    pub finished: bool,
}

impl Progress {
    /// A report of `step` on `target` with nothing done yet.
    pub fn new(step: ProgressStep, target: impl Into<String>) -> Self {
        Self {
            correlation_id: None,
            pool_id: None,
            target: target.into(),
            step,
            done: 0,
            total: None,
            unit: step.unit(),
            connections: 0,
            finished: false,
        }
    }

    /// The fraction done, when the total is known and not zero.
    pub fn fraction(&self) -> Option<f64> {
        self.total
            .filter(|&t| t > 0)
            .map(|t| (self.done as f64 / t as f64).min(1.0))
    }
}

/// Receives [`Progress`] reports. Called from the thread doing the work:
/// keep it short (update a counter, send on a channel).
///
/// Any `Fn(&Progress) + Send + Sync` closure is an observer:
///
/// ```
/// use verified_download::{Progress, ProgressObserver, ProgressReporter};
/// use std::sync::Arc;
/// let observer: Arc<dyn ProgressObserver> = Arc::new(|p: &Progress| {
///     eprintln!("{} {} {}/{:?}", p.target, p.step, p.done, p.total);
/// });
/// let reporter = ProgressReporter::new(Some(observer), None, None, "llama-server.tar.gz");
/// assert!(reporter.is_active());
/// ```
pub trait ProgressObserver: Send + Sync {
    /// One report.
    fn progress(&self, progress: &Progress);
}

impl<F: Fn(&Progress) + Send + Sync> ProgressObserver for F {
    fn progress(&self, progress: &Progress) {
        self(progress)
    }
}

/// Calls an observer for one ensure: fills in its ids, reports every step
/// change and step end, and in between at most every
/// [`PROGRESS_INTERVAL`]. Without an observer it does nothing.
#[derive(Clone, Default)]
pub struct ProgressReporter {
    observer: Option<Arc<dyn ProgressObserver>>,
    correlation_id: Option<String>,
    pool_id: Option<String>,
    target: String,
    last: Arc<Mutex<Option<(ProgressStep, Instant)>>>,
}

impl std::fmt::Debug for ProgressReporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProgressReporter")
            .field("observer", &self.observer.is_some())
            .field("target", &self.target)
            .finish()
    }
}

impl ProgressReporter {
    /// A reporter to `observer` for `target`, with the ensure's ids.
    pub fn new(
        observer: Option<Arc<dyn ProgressObserver>>,
        correlation_id: Option<String>,
        pool_id: Option<String>,
        target: impl Into<String>,
    ) -> Self {
        Self {
            observer,
            correlation_id,
            pool_id,
            target: target.into(),
            last: Arc::default(),
        }
    }

    /// The same observer and ids for another target (a model of a pool).
    pub fn for_target(&self, target: impl Into<String>) -> Self {
        Self {
            target: target.into(),
            last: Arc::default(),
            ..self.clone()
        }
    }

    /// True when someone listens.
    pub fn is_active(&self) -> bool {
        self.observer.is_some()
    }

    /// Report `done` of `total` in `step` over `connections`: at once on a
    /// step change or when `finished`, else when the last report is
    /// [`PROGRESS_INTERVAL`] old.
    pub fn report(
        &self,
        step: ProgressStep,
        done: u64,
        total: Option<u64>,
        connections: usize,
        finished: bool,
    ) {
        let Some(observer) = &self.observer else {
            return;
        };
        let now = Instant::now();
        {
            let mut last = self
                .last
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let due = match *last {
                Some((s, at)) => s != step || finished || now - at >= PROGRESS_INTERVAL,
                None => true,
            };
            if !due {
                return;
            }
            *last = Some((step, now));
        }
        observer.progress(&Progress {
            correlation_id: self.correlation_id.clone(),
            pool_id: self.pool_id.clone(),
            target: self.target.clone(),
            step,
            done,
            total,
            unit: step.unit(),
            connections,
            finished,
        });
    }

    /// A step begins (always reported, `done` 0).
    pub fn begin(&self, step: ProgressStep, total: Option<u64>) {
        self.report(step, 0, total, 0, false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_changes_and_ends_always_report_and_the_rest_is_throttled() {
        let seen = Arc::new(Mutex::new(Vec::<Progress>::new()));
        let sink = Arc::clone(&seen);
        let observer: Arc<dyn ProgressObserver> =
            Arc::new(move |p: &Progress| sink.lock().unwrap().push(p.clone()));
        let r = ProgressReporter::new(Some(observer), Some("c1".into()), None, "m");
        r.begin(ProgressStep::Download, Some(100));
        for done in 1..=50 {
            r.report(ProgressStep::Download, done, Some(100), 1, false);
        }
        r.report(ProgressStep::Download, 100, Some(100), 1, true);
        r.begin(ProgressStep::Hash, Some(100));
        let seen = seen.lock().unwrap();
        let steps: Vec<(ProgressStep, u64, bool)> =
            seen.iter().map(|p| (p.step, p.done, p.finished)).collect();
        assert_eq!(
            steps,
            [
                (ProgressStep::Download, 0, false),
                (ProgressStep::Download, 100, true),
                (ProgressStep::Hash, 0, false)
            ],
            "50 quick reports inside one interval are throttled away"
        );
        assert_eq!(seen[0].correlation_id.as_deref(), Some("c1"));
        assert_eq!(seen[1].fraction(), Some(1.0));
    }

    #[test]
    fn without_an_observer_nothing_happens() {
        let r = ProgressReporter::default();
        assert!(!r.is_active());
        r.report(ProgressStep::Build, 1, Some(2), 0, false);
    }
}
