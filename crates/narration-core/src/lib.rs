//! Narration: structured, redacted, human-readable events that say what a
//! provisioner is doing, carried by `tracing`.
//!
//! Call [`narrate`] with a [`NarrationFields`]; compose adapters (tracing
//! layers) to capture narrations in tests ([`CaptureAdapter`]), write them as
//! log lines ([`LogLayer`]), or export them to OpenTelemetry (`otel`
//! module, feature `otel`); run lifecycle steps in [`step_span!`]s and
//! derive metrics from spans and narrations ([`Metrics`]: a Prometheus
//! textfile, or OTLP). Binaries call [`init`] once.
//!
//! ```
//! use narration_core::{narrate, CaptureAdapter, NarrationFields};
//!
//! // In a test, capture what the code under test narrates.
//! let capture = CaptureAdapter::install();
//! narrate(NarrationFields {
//!     actor: "model-provisioner",
//!     action: "download",
//!     target: "https://example.com/m.gguf?token=hunter2".into(),
//!     human: "Downloading m.gguf".into(),
//!     ..Default::default()
//! });
//! capture.assert_sequence(&[("model-provisioner", "download")]);
//! // Secrets never reach an adapter.
//! let target = &capture.captured()[0].target;
//! assert_eq!(target, "https://example.com/m.gguf?token=[REDACTED]");
//! ```
//!
//! A binary writes narrations on stderr instead:
//!
//! ```no_run
//! use narration_core::{init, InitOptions, Verbosity};
//! let _guard = init(InitOptions { verbosity: Verbosity::Quiet, ..Default::default() })?;
//! # Ok::<(), narration_core::InitError>(())
//! ```

#![deny(missing_docs)]

mod capture;
mod counted;
mod decode;
mod diagnostics;
mod emit;
mod fields;
mod filter;
mod inert;
mod init;
mod init_error;
mod interest;
mod log;
mod metrics;
mod names;
#[cfg(feature = "otel")]
pub mod otel;
mod public_url;
mod redact;
mod step;
mod trace_context;
mod vocabulary;

pub use capture::{CaptureAdapter, CaptureLayer, CapturedNarration, field_value};
pub use decode::{
    Narration, decode, decode_in_context, is_narration, remember_span_context, update_span_context,
};
pub use emit::{NARRATION_TARGET, NarrationLevel, TARGET_FIELD, narrate};
pub use fields::{NarrationFields, outcome, source_kind};
pub use filter::NarrationFilter;
pub use inert::{inert, inert_lines, is_live};
pub use init::{BoxedLayer, DEFAULT_FILTER, InitError, InitGuard, InitOptions, Verbosity, init};
pub use log::{LogFormat, LogLayer};
pub use metrics::{Metrics, MetricsFileError};
pub use public_url::public_url;
pub use redact::{REDACTED, redact};
pub use step::{ACTOR_FIELD, ERROR_KIND_FIELD, STEP_FIELD, fail_step};
pub use trace_context::{
    TRACEPARENT_ENV, TRACESTATE_ENV, TraceContext, continue_trace_from_env, current_trace,
};
/// The boxed writer [`InitOptions::writer`] takes (tracing-subscriber's).
pub use tracing_subscriber::fmt::writer::BoxMakeWriter;
pub use vocabulary::{ActionSpec, Registry, Vocabulary};

/// What [`step_span!`] expands to needs; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use tracing;
}
