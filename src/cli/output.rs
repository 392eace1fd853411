//! Results on stdout: one JSON document with `--json`, short human lines
//! otherwise. Nothing else is ever written to stdout.

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

/// `1.5 GiB`-style size.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::human_bytes;

    #[test]
    fn sizes_read_naturally() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(491_168), "479.7 KiB");
        assert_eq!(human_bytes(5 << 30), "5.0 GiB");
    }
}
