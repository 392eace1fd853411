//! Narration output on stderr: the CLI's flags mapped to
//! `narration_core::InitOptions`, with a progress bar on a terminal.

use std::io::IsTerminal;
use std::sync::Arc;

use crate::cli::actions::doctor;
use narration_core::{BoxMakeWriter, InitError, InitGuard, InitOptions, LogFormat, Verbosity};

use super::args::{Global, LogFormatArg};
use super::progress::{BarWriter, ProgressDisplay, SHOWN_AS_BARS};

/// Keeps narration output (and OTLP export) alive until dropped.
pub struct Logging {
    _guard: InitGuard,
    display: Option<Arc<ProgressDisplay>>,
}

impl Logging {
    /// The progress display on the terminal, when there is one.
    pub fn display(&self) -> Option<&Arc<ProgressDisplay>> {
        self.display.as_ref()
    }
}

/// Install the global subscriber for this process.
///
/// `-q` keeps retries and failures; `-v` adds timestamps; `-vv` also prints
/// the debug events of every crate (HTTP, OTLP export, …). `RUST_LOG`, when
/// set, chooses what is printed instead of `-q`/`-v`.
pub fn install(global: &Global) -> Result<Logging, InitError> {
    let terminal = std::io::stderr().is_terminal();
    let (mut options, display) = options(global, terminal, env_url("OTEL_EXPORTER_OTLP_ENDPOINT"));
    options.otel_metrics_endpoint = env_url("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT");
    let guard = narration_core::init(options)?;
    Ok(Logging {
        _guard: guard,
        display,
    })
}

/// Narrations a command's own table shows on a terminal: the doctor's
/// passing checks (warnings and failures are still narrated as lines).
const SHOWN_AS_TABLE: &[(&str, &str)] = &[(doctor::ACTOR, doctor::CHECK)];

/// The options for `global`'s flags; progress bars when stderr is a
/// `terminal` and plain narration lines are all that is printed. Without
/// `-v`, what the bar shows (`download-progress`) is not printed as lines
/// too.
fn options(
    global: &Global,
    terminal: bool,
    otel_endpoint: Option<String>,
) -> (InitOptions, Option<Arc<ProgressDisplay>>) {
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
    let mut display = None;
    if terminal && format == LogFormat::Human && verbosity == Verbosity::Normal {
        // Lines are written above the bars, so the two never garble.
        let writer = BarWriter::new();
        let shown = Arc::new(ProgressDisplay::new(&writer));
        options.writer = Some(BoxMakeWriter::new(writer));
        if global.verbose == 0 {
            options.shown_elsewhere = SHOWN_AS_BARS
                .iter()
                .chain(SHOWN_AS_TABLE)
                .copied()
                .collect();
        }
        display = Some(shown);
    }
    (options, display)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::actions::doctor;
    use crate::cli::args::Cli;
    use clap::Parser;
    use model_provisioner::actions as model;

    /// (a display, download-progress lines left out) for these flags.
    fn bars(flags: &[&str], terminal: bool) -> (bool, bool) {
        let args = ["provision"]
            .iter()
            .chain(flags)
            .chain(&["catalog", "list"]);
        let cli = Cli::try_parse_from(args).unwrap();
        let (options, display) = options(&cli.global, terminal, None);
        let hidden = options
            .shown_elsewhere
            .contains(&(model::ACTOR, model::DOWNLOAD_PROGRESS));
        let check_hidden = options
            .shown_elsewhere
            .contains(&(doctor::ACTOR, doctor::CHECK));
        assert_eq!(hidden, check_hidden, "OK checks follow the bars' rule");
        for shown in [doctor::CHECK_WARNING, doctor::CHECK_FAILED] {
            assert!(!options.shown_elsewhere.contains(&(doctor::ACTOR, shown)));
        }
        (display.is_some(), hidden)
    }

    #[test]
    fn a_bar_replaces_progress_lines_only_on_a_terminal_in_plain_human_output() {
        assert_eq!(bars(&[], true), (true, true));
        assert_eq!(bars(&[], false), (false, false), "not a terminal");
        assert_eq!(bars(&["-q"], true), (false, false));
        assert_eq!(bars(&["--log-format", "json"], true), (false, false));
        assert_eq!(bars(&["-v"], true), (true, false), "-v keeps the lines");
        assert_eq!(bars(&["-vv"], true), (false, false));
    }
}
