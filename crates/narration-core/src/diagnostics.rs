//! Every tracing event that is not a narration (the debug events of other
//! crates, `log` records among them, and narration-core's own warnings),
//! written by tracing-subscriber's `fmt` layer to the same writer as the
//! narration lines, and redacted on the way: other crates do not promise
//! to keep secrets out of their debug output. Human lines are made
//! [`inert`] too: debug output quotes headers and bodies from servers.

use crate::filter::DiagnosticsFilter;
use crate::inert::inert_lines;
use crate::log::LogFormat;
use crate::redact::redact;
use std::io::{self, Write};
use std::sync::Arc;
use tracing::Metadata;
use tracing_subscriber::Layer;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::writer::BoxMakeWriter;
use tracing_subscriber::registry::Registry;

/// One writer shared by the narration layer and the diagnostics layer.
#[derive(Clone)]
pub(crate) struct SharedWriter(Arc<BoxMakeWriter>);

impl SharedWriter {
    pub(crate) fn new(writer: BoxMakeWriter) -> Self {
        Self(Arc::new(writer))
    }
}

impl<'a> MakeWriter<'a> for SharedWriter {
    type Writer = Box<dyn Write + 'a>;

    fn make_writer(&'a self) -> Self::Writer {
        self.0.make_writer()
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Self::Writer {
        self.0.make_writer_for(meta)
    }
}

/// Hands out writers that collect one formatted event and write it,
/// redacted (and, for human lines, inert), when dropped.
struct Redacting<M> {
    inner: M,
    human: bool,
}

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for Redacting<M> {
    type Writer = RedactedLine<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        RedactedLine::new(self.inner.make_writer(), self.human)
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Self::Writer {
        RedactedLine::new(self.inner.make_writer_for(meta), self.human)
    }
}

/// One formatted event on its way to the real writer.
struct RedactedLine<W: Write> {
    inner: W,
    buf: Vec<u8>,
    human: bool,
}

impl<W: Write> RedactedLine<W> {
    fn new(inner: W, human: bool) -> Self {
        Self {
            inner,
            buf: Vec::new(),
            human,
        }
    }
}

impl<W: Write> Write for RedactedLine<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<W: Write> Drop for RedactedLine<W> {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.buf);
        let redacted = redact(&text);
        let text = if self.human {
            inert_lines(&redacted)
        } else {
            std::borrow::Cow::Borrowed(&*redacted)
        };
        // A log sink that fails must not take the program down with it.
        let _ = self.inner.write_all(text.as_bytes());
        let _ = self.inner.flush();
    }
}

/// The diagnostics layer: tracing's own line format (or its JSON lines,
/// when narrations are JSON too), without colours, timestamps as for
/// narration lines.
pub(crate) fn layer(
    format: LogFormat,
    timestamps: bool,
    writer: SharedWriter,
    filter: DiagnosticsFilter,
) -> Box<dyn Layer<Registry> + Send + Sync> {
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(Redacting {
            inner: writer,
            human: format == LogFormat::Human,
        })
        .with_ansi(false);
    match (format, timestamps) {
        (LogFormat::Json, _) => fmt.json().flatten_event(true).with_filter(filter).boxed(),
        (LogFormat::Human, true) => fmt.with_filter(filter).boxed(),
        (LogFormat::Human, false) => fmt.without_time().with_filter(filter).boxed(),
    }
}
