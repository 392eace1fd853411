//! The CLI's failure: one line for stderr and an exit code.

use std::fmt;

/// Exit code for a provisioning failure (usage errors exit 2, via clap).
pub const EXIT_FAILURE: u8 = 1;

/// A failure to report: a one-line message, already free of secrets.
#[derive(Debug)]
pub struct CliError {
    message: String,
}

impl CliError {
    /// A failure with `message` (any error's `Display`).
    pub fn new(message: impl fmt::Display) -> Self {
        Self {
            message: one_line(&narration_core::redact(&message.to_string())),
        }
    }

    /// The line printed on stderr.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl<E: std::error::Error> From<E> for CliError {
    fn from(e: E) -> Self {
        CliError::new(e)
    }
}

/// Join lines so that the message is a single line on stderr.
fn one_line(s: &str) -> String {
    s.split(['\n', '\r'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_one_line() {
        let e = CliError::new("first\n  second\r\nthird\n");
        assert_eq!(e.message(), "first second third");
    }

    #[test]
    fn messages_are_redacted() {
        let e = CliError::new("GET https://x/?token=hf_abcdefghijklmnopqrstuvwxyz0123 failed");
        assert!(
            !e.message().contains("hf_abcdefghijklmnopqrstuvwxyz0123"),
            "{}",
            e.message()
        );
    }
}
