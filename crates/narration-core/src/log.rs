//! Log adapter: writes narrations as human lines or JSON lines.
//!
//! [`LogLayer`] is a tracing-subscriber layer. It reads narration events
//! back into a typed [`Narration`] (with correlation fields inherited from
//! the enclosing spans) and writes one line per narration to any
//! [`MakeWriter`]: stderr by default, a file, a buffer in tests. Every other
//! tracing event is left alone for the other layers of the subscriber.
//!
//! ```
//! use narration_core::{narrate, LogFormat, LogLayer, NarrationFields};
//! use tracing_subscriber::layer::SubscriberExt;
//!
//! let subscriber = tracing_subscriber::registry().with(LogLayer::new(LogFormat::Human));
//! tracing::subscriber::with_default(subscriber, || {
//!     narrate(NarrationFields {
//!         actor: "model-provisioner",
//!         action: "resolve",
//!         target: "file:/m.gguf".into(),
//!         human: "Resolving model reference: file:/m.gguf".into(),
//!         ..Default::default()
//!     });
//! });
//! // stderr: [model-provisioner] resolve: Resolving model reference: file:/m.gguf
//! ```

use crate::decode::{Narration, decode_in_context, remember_span_context, update_span_context};
use crate::inert::inert;
use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;
use std::io::{self, Write};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

/// How a [`LogLayer`] writes each narration.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// `[actor] action: human`, for people.
    #[default]
    Human,
    /// One JSON object per line: `level`, `actor`, `action`, `target`,
    /// `human`, then every field that is set, under its
    /// [`NarrationFields`](crate::NarrationFields) name.
    Json,
}

/// A tracing-subscriber layer that writes narrations as log lines.
///
/// `W` is where lines go; the default writes to stderr. Each line is
/// assembled in a reused buffer and written with one `write_all`, so lines
/// from concurrent threads do not interleave on a shared stderr.
pub struct LogLayer<W = fn() -> io::Stderr> {
    format: LogFormat,
    timestamps: bool,
    make_writer: W,
    shown_elsewhere: Vec<(&'static str, &'static str)>,
}

impl LogLayer {
    /// A layer writing `format` lines to stderr, without timestamps.
    pub fn new(format: LogFormat) -> Self {
        crate::interest::keep_narrations_interested();
        Self {
            format,
            timestamps: false,
            make_writer: io::stderr,
            shown_elsewhere: Vec::new(),
        }
    }
}

impl<W> LogLayer<W> {
    /// Prefix human lines with an RFC 3339 UTC timestamp
    /// (`2026-01-02T03:04:05.678901Z [actor] action: human`). JSON lines
    /// always carry `emitted_at_ms` and are not changed by this.
    pub fn with_timestamps(mut self, timestamps: bool) -> Self {
        self.timestamps = timestamps;
        self
    }

    /// Write no human line for these (actor, action) pairs: a display
    /// shows them instead (a progress bar draws `download-progress`).
    /// JSON lines are written as always.
    pub fn without_human_lines_for(mut self, pairs: &[(&'static str, &'static str)]) -> Self {
        self.shown_elsewhere.extend_from_slice(pairs);
        self
    }

    /// Write lines to `make_writer` instead: anything tracing-subscriber's
    /// `fmt` layer accepts (`std::io::stderr`, a `Mutex<File>`,
    /// `std::io::sink`, a closure returning a writer).
    pub fn with_writer<W2>(self, make_writer: W2) -> LogLayer<W2>
    where
        W2: for<'a> MakeWriter<'a> + 'static,
    {
        LogLayer {
            format: self.format,
            timestamps: self.timestamps,
            make_writer,
            shown_elsewhere: self.shown_elsewhere,
        }
    }

    /// Append the line for `narration` (with its trailing newline) to `out`.
    pub fn format_line(&self, narration: &Narration, out: &mut Vec<u8>) {
        match self.format {
            LogFormat::Human => {
                if self.timestamps {
                    // SystemTime's formatter writes RFC 3339 and cannot fail
                    // on an in-memory buffer.
                    let _ = SystemTime.format_time(&mut Writer::new(&mut BytesWriter(out)));
                    out.push(b' ');
                }
                write_human(narration, out);
            }
            LogFormat::Json => {
                // Serializing plain strings and numbers into a Vec cannot
                // fail; a failure would at worst drop this line.
                let _ = serde_json::to_writer(&mut *out, narration);
            }
        }
        out.push(b'\n');
    }
}

/// `[actor] action: human`, with line breaks in the human text turned into
/// spaces so that one narration is always one line, and every other
/// control character or bidi override escaped ([`inert`]): the human text
/// quotes refs, file metadata and server messages.
fn write_human(n: &Narration, out: &mut Vec<u8>) {
    out.push(b'[');
    out.extend_from_slice(n.actor.as_bytes());
    out.extend_from_slice(b"] ");
    out.extend_from_slice(n.action.as_bytes());
    out.extend_from_slice(b": ");
    let human = if n.human.contains(['\n', '\r']) {
        Cow::Owned(n.human.replace(['\n', '\r'], " "))
    } else {
        Cow::Borrowed(n.human.as_str())
    };
    out.extend_from_slice(inert(&human).as_bytes());
}

struct BytesWriter<'a>(&'a mut Vec<u8>);

impl fmt::Write for BytesWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

thread_local! {
    static LINE: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

impl<S, W> Layer<S> for LogLayer<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'a> MakeWriter<'a> + 'static,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        remember_span_context(attrs, id, &ctx);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        update_span_context(id, values, &ctx);
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let Some(narration) = decode_in_context(event, &ctx) else {
            return;
        };
        if self.format == LogFormat::Human
            && self
                .shown_elsewhere
                .iter()
                .any(|&(actor, action)| narration.actor == actor && narration.action == action)
        {
            return;
        }
        let write = |line: &mut Vec<u8>| {
            line.clear();
            self.format_line(&narration, line);
            let mut writer = self.make_writer.make_writer_for(event.metadata());
            // A log sink that fails (closed pipe, full disk) must not take
            // the provisioner down with it.
            let _ = writer.write_all(line);
        };
        LINE.with(|cell| match cell.try_borrow_mut() {
            Ok(mut line) => write(&mut line),
            // Re-entered from inside a writer: use a fresh buffer.
            Err(_) => write(&mut Vec::new()),
        });
    }
}
