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
    let mut options = options(global, terminal, env_url("OTEL_EXPORTER_OTLP_ENDPOINT"));
    options.otel_metrics_endpoint = env_url("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT");
    let guard = narration_core::init(options)?;
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
        metrics_file: global.metrics_file.clone(),
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

/// An OTLP collector URL from the environment variable `name`, when this
/// build can export to one.
fn env_url(name: &str) -> Option<String> {
    if cfg!(feature = "otel") {
        std::env::var(name).ok().filter(|v| !v.trim().is_empty())
    } else {
        None
    }
}
