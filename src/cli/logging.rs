//! Narration output on stderr: the CLI's flags mapped to
//! `narration_core::InitOptions`, with a progress bar on a terminal.

use std::io::IsTerminal;

use narration_core::{BoxMakeWriter, InitError, InitGuard, InitOptions, LogFormat, Verbosity};

use super::args::{Global, LogFormatArg};
use super::progress::{BarWriter, ProgressLayer};

/// Keeps narration output (and OTLP export) alive until dropped.
pub struct Logging {
    _guard: InitGuard,
}

/// Install the global subscriber for this process.
///
/// `-q` keeps retries and failures; `-v` adds timestamps; `-vv` also prints
/// the debug events of every crate (HTTP, OTLP export, …). `RUST_LOG`, when
/// set, chooses what is printed instead of `-q`/`-v`.
pub fn install(global: &Global) -> Result<Logging, InitError> {
    let terminal = std::io::stderr().is_terminal();
    let guard = narration_core::init(options(global, terminal, otel_endpoint()))?;
    Ok(Logging { _guard: guard })
}

/// The options for `global`'s flags; progress bars when stderr is a
/// `terminal` and plain narration lines are all that is printed.
fn options(global: &Global, terminal: bool, otel_endpoint: Option<String>) -> InitOptions {
    let format = match global.log_format {
        LogFormatArg::Human => LogFormat::Human,
        LogFormatArg::Json => LogFormat::Json,
    };
    let verbosity = match (global.quiet, global.verbose) {
        (true, _) => Verbosity::Quiet,
        (false, 0 | 1) => Verbosity::Normal,
        (false, _) => Verbosity::Debug,
    };
    let mut options = InitOptions {
        format,
        timestamps: global.verbose >= 1,
        verbosity,
        otel_endpoint,
        ..InitOptions::default()
    };
    if terminal && format == LogFormat::Human && verbosity == Verbosity::Normal {
        // Lines are written above the bars, so the two never garble.
        let writer = BarWriter::new();
        options
            .layers
            .push(Box::new(ProgressLayer::new(writer.clone())));
        options.writer = Some(BoxMakeWriter::new(writer));
    }
    options
}

/// The OTLP collector, when this build can export to one.
fn otel_endpoint() -> Option<String> {
    if cfg!(feature = "otel") {
        std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT")
            .ok()
            .filter(|v| !v.trim().is_empty())
    } else {
        None
    }
}
