//! Progress bars on a terminal. The provisioners report typed progress
//! ([`Progress`]) to a [`ProgressDisplay`], their [`ProgressObserver`]: a
//! download or a hash of known size is a bar with percent, bytes of total,
//! rate and ETA; a build is a bar of `[n/N]` steps; a step without numbers
//! (preflight, a clone, a configure, a lock wait) is a spinner until the
//! next report. The display reads no narration: what it draws is typed,
//! and the verb clears it when it returns. Log lines are written through
//! the bars so the two never garble.

use std::io::{self, Write};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use model_provisioner::actions as model;
use model_provisioner::{Progress, ProgressObserver, ProgressStep, ProgressUnit};
use narration_core::inert;
use tracing_subscriber::fmt::MakeWriter;

/// The narrations a bar shows instead of a line on a terminal.
pub const SHOWN_AS_BARS: &[(&str, &str)] = &[(model::ACTOR, model::DOWNLOAD_PROGRESS)];

/// Writes log lines above the bars (suspending them while a line prints).
#[derive(Clone)]
pub struct BarWriter {
    bars: MultiProgress,
}

impl BarWriter {
    /// Bars drawn on stderr.
    pub fn new() -> Self {
        Self {
            bars: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
        }
    }
}

/// One log line, written when dropped.
pub struct BarLine {
    bars: MultiProgress,
    buf: Vec<u8>,
}

impl Write for BarLine {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for BarLine {
    fn drop(&mut self) {
        let buf = std::mem::take(&mut self.buf);
        // Nothing sensible can be done when stderr itself is gone.
        self.bars.suspend(|| {
            let _ = io::stderr().write_all(&buf);
        });
    }
}

impl<'a> MakeWriter<'a> for BarWriter {
    type Writer = BarLine;
    fn make_writer(&'a self) -> BarLine {
        BarLine {
            bars: self.bars.clone(),
            buf: Vec::new(),
        }
    }
}

/// The kind of bar a report is drawn as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BarShape {
    /// Bytes of a known total: percent, bytes of total, rate, ETA.
    Bytes { total: u64 },
    /// Bytes of an unknown total: bytes and rate.
    OpenBytes,
    /// Build steps of a known total: `[n/N]`.
    Steps { total: u64 },
    /// Nothing to count: the step and the time spent.
    Working,
}

/// What the bar shows for one report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BarState {
    /// The step and target the bar is for; a new key starts a new bar.
    pub key: (ProgressStep, String),
    pub shape: BarShape,
    /// The words before the bar (the target made inert).
    pub message: String,
    pub position: u64,
    /// The step is over: the bar goes.
    pub finished: bool,
}

/// The bar for `p`.
pub fn bar_state(p: &Progress) -> BarState {
    let total = p.total.filter(|&t| t > 0);
    let shape = match (p.step, p.unit, total) {
        (ProgressStep::Download | ProgressStep::Hash, ProgressUnit::Bytes, Some(total)) => {
            BarShape::Bytes { total }
        }
        (ProgressStep::Download | ProgressStep::Hash, ProgressUnit::Bytes, None) => {
            BarShape::OpenBytes
        }
        (_, ProgressUnit::Steps, Some(total)) => BarShape::Steps { total },
        _ => BarShape::Working,
    };
    let verb = match p.step {
        ProgressStep::Download => "downloading",
        ProgressStep::Hash => "hashing",
        ProgressStep::LockWait => "waiting for",
        ProgressStep::Build => "building",
        other => other.as_str(),
    };
    BarState {
        key: (p.step, p.target.clone()),
        shape,
        message: format!("{verb} {}", inert(&p.target)),
        position: p.done,
        finished: p.finished,
    }
}

fn style(shape: BarShape) -> &'static str {
    match shape {
        BarShape::Bytes { .. } => {
            "{spinner} {msg} [{bar:30}] {percent:>3}% {binary_bytes}/{binary_total_bytes} \
             ({binary_bytes_per_sec}, ETA {eta})"
        }
        BarShape::OpenBytes => "{spinner} {msg} {binary_bytes} ({binary_bytes_per_sec}, {elapsed})",
        BarShape::Steps { .. } => "{spinner} {msg} [{bar:30}] [{pos}/{len}] ({elapsed})",
        BarShape::Working => "{spinner} {msg} ({elapsed})",
    }
}

/// The bar on screen.
struct Current {
    key: (ProgressStep, String),
    shape: BarShape,
    bar: ProgressBar,
}

/// The terminal's progress display: one bar at a time, for the step in
/// progress.
pub struct ProgressDisplay {
    bars: MultiProgress,
    current: Mutex<Option<Current>>,
}

impl ProgressDisplay {
    /// Draw among `writer`'s bars.
    pub fn new(writer: &BarWriter) -> Self {
        Self::in_bars(writer.bars.clone())
    }

    fn in_bars(bars: MultiProgress) -> Self {
        Self {
            bars,
            current: Mutex::new(None),
        }
    }

    /// Show `state`: a new bar when the step, target or shape changed,
    /// else the same bar moved on; the bar goes when the step finished.
    pub fn show(&self, state: BarState) {
        let mut slot = self.slot();
        let same = slot
            .as_ref()
            .is_some_and(|c| c.key == state.key && c.shape == state.shape);
        if !same {
            if let Some(old) = slot.take() {
                self.remove(old.bar);
            }
            if state.finished {
                return;
            }
            let bar = match state.shape {
                BarShape::Bytes { total } | BarShape::Steps { total } => ProgressBar::new(total),
                BarShape::OpenBytes | BarShape::Working => ProgressBar::new_spinner(),
            };
            let bar = self.bars.add(bar);
            if let Ok(style) = ProgressStyle::with_template(style(state.shape)) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_message(state.message.clone());
            bar.set_position(state.position);
            // A resumed download starts part way: the rate counts from here.
            bar.reset_eta();
            bar.enable_steady_tick(Duration::from_millis(120));
            *slot = Some(Current {
                key: state.key,
                shape: state.shape,
                bar,
            });
            return;
        }
        if let Some(current) = slot.as_ref() {
            current.bar.set_position(state.position);
        }
        if state.finished
            && let Some(done) = slot.take()
        {
            self.remove(done.bar);
        }
    }

    /// Take the bar away (the verb returned, done or failed).
    pub fn clear(&self) {
        if let Some(old) = self.slot().take() {
            self.remove(old.bar);
        }
    }

    fn remove(&self, bar: ProgressBar) {
        bar.finish_and_clear();
        self.bars.remove(&bar);
    }

    fn slot(&self) -> MutexGuard<'_, Option<Current>> {
        // A poisoned lock only means a bar update panicked; keep drawing.
        self.current.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The bar on screen: its step and target, shape, position and length.
    #[cfg(test)]
    fn on_screen(&self) -> Option<(ProgressStep, BarShape, u64, Option<u64>)> {
        self.slot()
            .as_ref()
            .map(|c| (c.key.0, c.shape, c.bar.position(), c.bar.length()))
    }
}

impl ProgressObserver for ProgressDisplay {
    fn progress(&self, progress: &Progress) {
        self.show(bar_state(progress));
    }
}

/// The observer to hand a provisioner: the display, when there is one.
pub fn observer(display: Option<&Arc<ProgressDisplay>>) -> Option<Arc<dyn ProgressObserver>> {
    display.map(|d| Arc::clone(d) as Arc<dyn ProgressObserver>)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(step: ProgressStep, done: u64, total: Option<u64>, finished: bool) -> Progress {
        let mut p = Progress::new(step, "hf:org/repo/m.gguf");
        p.done = done;
        p.total = total;
        p.finished = finished;
        p
    }

    #[test]
    fn a_download_of_known_size_is_a_bar_of_bytes_of_its_total() {
        let s = bar_state(&report(
            ProgressStep::Download,
            35 << 20,
            Some(96 << 20),
            false,
        ));
        assert_eq!(s.shape, BarShape::Bytes { total: 96 << 20 });
        assert_eq!(s.position, 35 << 20);
        assert_eq!(s.message, "downloading hf:org/repo/m.gguf");
        assert!(style(s.shape).contains("{percent"));
        assert!(style(s.shape).contains("{eta}"));
        assert!(style(s.shape).contains("{binary_total_bytes}"));
    }

    #[test]
    fn hashing_builds_and_unknown_sizes_have_their_own_shapes() {
        let hash = bar_state(&report(ProgressStep::Hash, 1, Some(10), false));
        assert_eq!(hash.shape, BarShape::Bytes { total: 10 });
        assert!(hash.message.starts_with("hashing "));
        let open = bar_state(&report(ProgressStep::Download, 5, None, false));
        assert_eq!(open.shape, BarShape::OpenBytes);
        let build = bar_state(&report(ProgressStep::Build, 3, Some(120), false));
        assert_eq!(build.shape, BarShape::Steps { total: 120 });
        assert!(style(build.shape).contains("[{pos}/{len}]"));
        let wait = bar_state(&report(ProgressStep::LockWait, 0, None, false));
        assert_eq!(wait.shape, BarShape::Working);
    }

    #[test]
    fn a_hostile_target_is_shown_inert() {
        let mut p = report(ProgressStep::Download, 0, Some(1), false);
        p.target = "hf:org/\u{1b}]0;title\u{7}/m.gguf".into();
        let s = bar_state(&p);
        assert!(!s.message.chars().any(narration_core::is_live), "{s:?}");
    }

    #[test]
    fn the_display_follows_reports_and_clears_when_a_step_finishes() {
        let display =
            ProgressDisplay::in_bars(MultiProgress::with_draw_target(ProgressDrawTarget::hidden()));
        let total = Some(96 << 20);
        display.progress(&report(ProgressStep::Download, 0, total, false));
        display.progress(&report(ProgressStep::Download, 35 << 20, total, false));
        assert_eq!(
            display.on_screen(),
            Some((
                ProgressStep::Download,
                BarShape::Bytes { total: 96 << 20 },
                35 << 20,
                total
            ))
        );
        display.progress(&report(ProgressStep::Download, 96 << 20, total, true));
        assert_eq!(display.on_screen(), None, "a finished step clears its bar");
        display.progress(&report(ProgressStep::Hash, 1 << 20, total, false));
        assert_eq!(
            display.on_screen().map(|s| (s.0, s.2)),
            Some((ProgressStep::Hash, 1 << 20))
        );
        display.progress(&report(ProgressStep::Build, 7, Some(40), false));
        assert_eq!(
            display.on_screen(),
            Some((
                ProgressStep::Build,
                BarShape::Steps { total: 40 },
                7,
                Some(40)
            )),
            "a step change replaces the bar"
        );
    }

    #[test]
    fn a_step_without_numbers_spins_until_the_next_report_and_clear_ends_it() {
        let display =
            ProgressDisplay::in_bars(MultiProgress::with_draw_target(ProgressDrawTarget::hidden()));
        display.progress(&Progress::new(ProgressStep::Checkout, "pool-a"));
        assert_eq!(
            display.on_screen().map(|s| (s.0, s.1)),
            Some((ProgressStep::Checkout, BarShape::Working))
        );
        display.progress(&report(ProgressStep::Build, 3, Some(40), false));
        assert_eq!(
            display.on_screen().map(|s| (s.0, s.1)),
            Some((ProgressStep::Build, BarShape::Steps { total: 40 }))
        );
        display.clear();
        assert_eq!(display.on_screen(), None);
    }
}
