//! What the metrics layer derives from spans and narrations, and the
//! sinks that take it: the in-process [`Metrics`](super::Metrics) store
//! (for the Prometheus textfile) and, with `otel`, OpenTelemetry
//! instruments.

use std::sync::Arc;

/// One measurement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Observation<'a> {
    /// A step span closed after `seconds`; `outcome` is `ok` or the
    /// `error_kind` recorded on it.
    Step {
        actor: &'a str,
        step: &'a str,
        outcome: &'a str,
        seconds: f64,
    },
    /// A `downloaded` narration's bytes; `source` is `hf`, `https` or `file`.
    Transfer {
        actor: &'a str,
        source: &'a str,
        bytes: u64,
    },
    /// A cache hit (`true`) or miss.
    Cache { actor: &'a str, hit: bool },
    /// An ERROR narration.
    Failure { actor: &'a str, error_kind: &'a str },
}

/// Takes observations.
pub(crate) trait Sink: Send + Sync {
    fn observe(&self, observation: &Observation<'_>);
}

/// The sinks of one layer.
pub(crate) type Sinks = Vec<Arc<dyn Sink>>;
