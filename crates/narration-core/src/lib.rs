//! Narration: structured, redacted, human-readable events that say what a
//! provisioner is doing, carried by `tracing`.
//!
//! Call [`narrate`] with a [`NarrationFields`]; compose adapters (tracing
//! layers) to capture narrations in tests ([`CaptureAdapter`]), write them as
//! log lines, or export them to OpenTelemetry.

mod capture;
pub mod catalog;
mod decode;
mod emit;
mod fields;
mod redact;

pub use capture::{CaptureAdapter, CaptureLayer, CapturedNarration, field_value};
pub use decode::{
    Narration, decode, decode_in_context, is_narration, remember_span_context, update_span_context,
};
pub use emit::{NARRATION_TARGET, NarrationLevel, TARGET_FIELD, narrate};
pub use fields::NarrationFields;
pub use redact::{REDACTED, redact};
