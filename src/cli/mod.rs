//! The `provision` command line: arguments, output, and one module per verb.

mod actions;
mod args;
mod cache;
mod catalog;
mod doctor;
mod engine;
mod error;
mod gguf;
mod logging;
mod model;
mod output;
mod progress;
mod push;
mod tensors;

use std::process::ExitCode;
use std::sync::Arc;

use model_provisioner::ProgressObserver;

use clap::Parser;

use args::{Cli, Command};
use error::{CliError, EXIT_FAILURE};
use output::Output;

/// Parse arguments, install narration output, run the verb, map the
/// outcome to an exit code. Usage errors exit 2 through clap.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let out = Output::new(cli.global.json);
    let logging = match logging::install(&cli.global) {
        Ok(guard) => guard,
        Err(e) => return report(&CliError::new(e)),
    };
    // The process's root span: every lifecycle span is its child, and a
    // caller's TRACEPARENT makes it the caller's.
    let root = tracing::info_span!("provision", command = cli.command.name());
    narration_core::continue_trace_from_env(&root);
    let display = progress::observer(logging.display());
    let result = root.in_scope(|| run(cli.command, &out, display));
    // A step without an end report (a clone, a configure) may still spin.
    if let Some(display) = logging.display() {
        display.clear();
    }
    // Closed before the guard flushes, so that it is exported.
    drop(root);
    drop(logging);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => report(&e),
    }
}

/// Run the verb; `progress` draws the bars on a terminal.
fn run(
    command: Command,
    out: &Output,
    progress: Option<Arc<dyn ProgressObserver>>,
) -> Result<(), CliError> {
    match command {
        Command::Gguf(args) => gguf::run(&args, out),
        Command::Catalog(args) => catalog::run(args, out),
        Command::Cache(args) => cache::run(args, out),
        Command::Doctor(args) => doctor::run(&args, out),
        Command::Model(args) => model::run(&args, out, progress),
        Command::Engine(args) => engine::run(&args, out, progress),
        Command::Push(args) => push::run(&args, out),
    }
}

/// The error line: always human, so made inert (it quotes refs, server
/// messages and file snippets).
fn report(e: &CliError) -> ExitCode {
    eprintln!("provision: error: {}", narration_core::inert(e.message()));
    ExitCode::from(EXIT_FAILURE)
}
