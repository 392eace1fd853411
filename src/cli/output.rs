//! Results on stdout: one JSON document with `--json`, short human lines
//! otherwise. Nothing else is ever written to stdout. Human lines quote
//! model metadata, refs and paths, so they are made inert (control
//! characters and bidi overrides escaped) on the way out; JSON keeps the
//! exact strings.

use std::io::{self, Write};

use serde::Serialize;

use super::error::CliError;

/// Where and how results are printed.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    json: bool,
}

impl Output {
    /// `json`: print JSON instead of human lines.
    pub fn new(json: bool) -> Self {
        Self { json }
    }

    /// Print `value` as JSON, or the lines `human` writes.
    pub fn emit<T: Serialize + ?Sized>(
        &self,
        value: &T,
        human: impl FnOnce(&mut String),
    ) -> Result<(), CliError> {
        let mut text = String::new();
        if self.json {
            text = serde_json::to_string_pretty(value)?;
            text.push('\n');
        } else {
            human(&mut text);
            text = narration_core::inert_lines(&text).into_owned();
        }
        write_stdout(text.as_bytes())
    }
}

/// Write to stdout; a closed pipe (`provision … | head`) is not an error.
fn write_stdout(bytes: &[u8]) -> Result<(), CliError> {
    let mut stdout = io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(CliError::new(format!(
            "cannot write the result to stdout: {e}"
        ))),
    }
}
