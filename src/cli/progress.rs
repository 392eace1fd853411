//! Progress bars on a terminal, driven by narrations: a transfer shows
//! bytes and speed, hashing and builds show a spinner with elapsed time.
//! Log lines are written through the bars so the two never garble.

use std::io::{self, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use narration_core::catalog::{engine, model};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, Layer};

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

/// Starts, advances and clears one bar from the narration stream.
pub struct ProgressLayer {
    bars: MultiProgress,
    current: Arc<Mutex<Option<ProgressBar>>>,
}

impl ProgressLayer {
    /// Draw into `writer`'s bars.
    pub fn new(writer: BarWriter) -> Self {
        Self {
            bars: writer.bars,
            current: Arc::new(Mutex::new(None)),
        }
    }

    fn start(&self, style: &str, message: String) {
        let bar = self.bars.add(ProgressBar::new_spinner());
        if let Ok(style) = ProgressStyle::with_template(style) {
            bar.set_style(style);
        }
        bar.set_message(message);
        bar.enable_steady_tick(Duration::from_millis(120));
        if let Some(old) = self.slot().replace(bar) {
            old.finish_and_clear();
        }
    }

    fn advance(&self, bytes: u64) {
        if let Some(bar) = self.slot().as_ref() {
            bar.set_position(bytes);
        }
    }

    fn clear(&self) {
        if let Some(bar) = self.slot().take() {
            bar.finish_and_clear();
            self.bars.remove(&bar);
        }
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Option<ProgressBar>> {
        // A poisoned lock only means a bar update panicked; keep drawing.
        self.current.lock().unwrap_or_else(|p| p.into_inner())
    }
}

const TRANSFER: &str = "{spinner} {msg} {bytes} ({binary_bytes_per_sec}, {elapsed})";
const WORKING: &str = "{spinner} {msg} ({elapsed})";

impl<S: Subscriber> Layer<S> for ProgressLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let Some(n) = narration_core::decode(event) else {
            return;
        };
        let f = &n.fields;
        match (f.actor, f.action) {
            (model::ACTOR, model::DOWNLOAD) => {
                self.start(TRANSFER, format!("downloading {}", f.target))
            }
            (model::ACTOR, model::DOWNLOAD_PROGRESS) => self.advance(f.bytes.unwrap_or(0)),
            (model::ACTOR, model::VERIFY) => self.start(WORKING, format!("hashing {}", f.target)),
            (engine::ACTOR, engine::GIT_CLONE) => {
                self.start(WORKING, format!("cloning {}", f.target))
            }
            (engine::ACTOR, engine::CMAKE_BUILD) => {
                self.start(WORKING, "building llama-server".to_string())
            }
            (model::ACTOR, model::DOWNLOAD_RETRY) => {}
            (_, action)
                if action.ends_with("-failed")
                    || matches!(
                        action,
                        "downloaded"
                            | "verified"
                            | "cache-hit"
                            | "complete"
                            | "built"
                            | "git-checkout"
                    ) =>
            {
                self.clear()
            }
            _ => {}
        }
    }
}
