//! Narration output on stderr: narration-core's log layer, filtered by
//! `RUST_LOG`, with a progress bar on a terminal.

use std::io::IsTerminal;

use narration_core::{
    InitError, InitGuard, InitOptions, LogFormat, LogLayer, NARRATION_TARGET, NarrationFilter,
};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::{Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

use super::args::{Global, LogFormatArg};
use super::progress::{BarWriter, ProgressLayer};

/// Keeps narration output (and OTLP export) alive until dropped.
pub struct Logging {
    _guard: Option<InitGuard>,
}

/// Filter used when `RUST_LOG` is unset, from `-q` / `-v`.
fn default_filter(global: &Global) -> &'static str {
    match (global.quiet, global.verbose) {
        (true, _) => "narration=warn",
        (false, 0) => "narration=info",
        (false, _) => "narration=debug",
    }
}

/// Install the global subscriber for this process.
///
/// `-v` adds timestamps to narration lines; `-vv` also prints the debug
/// events of every crate (HTTP, SQLite, …) through tracing's own formatter.
pub fn install(global: &Global) -> Result<Logging, InitError> {
    let format = match global.log_format {
        LogFormatArg::Human => LogFormat::Human,
        LogFormatArg::Json => LogFormat::Json,
    };
    let filter = default_filter(global);
    let timestamps = global.verbose >= 1;
    let otel_endpoint = otel_endpoint();
    let bars = !global.quiet
        && global.verbose < 2
        && format == LogFormat::Human
        && otel_endpoint.is_none()
        && std::io::stderr().is_terminal();
    if bars {
        let writer = BarWriter::new();
        let log = LogLayer::new(format)
            .with_timestamps(timestamps)
            .with_writer(writer.clone())
            .with_filter(NarrationFilter::from_env(filter)?);
        // The log layer sits inside so that a step's line prints before
        // the bar that follows it.
        tracing_subscriber::registry()
            .with(log)
            .with(ProgressLayer::new(writer))
            .try_init()
            .map_err(InitError::AlreadyInstalled)?;
        return Ok(Logging { _guard: None });
    }
    let options = InitOptions {
        format,
        timestamps,
        otel_endpoint,
        default_filter: filter.to_string(),
        ..InitOptions::default()
    };
    let guard = if global.verbose >= 2 {
        let debug = tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(false)
            .with_filter(EnvFilter::new(format!("debug,{NARRATION_TARGET}=off")));
        narration_core::init_with(options, debug)?
    } else {
        narration_core::init(options)?
    };
    Ok(Logging {
        _guard: Some(guard),
    })
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
