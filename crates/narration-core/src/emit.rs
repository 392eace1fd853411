//! `narrate()`: redact, stamp provenance, pick the level, emit one event.

use crate::fields::NarrationFields;
use crate::redact::redact;
use std::borrow::Cow;
use std::time::{SystemTime, UNIX_EPOCH};

pub use crate::names::{NARRATION_TARGET, TARGET_FIELD};

/// The tracing event name of narrations that count for metrics (a
/// failure, `downloaded`, a cache hit or miss): they get callsites of
/// their own, so a layer that wants only them (the metrics layer) filters
/// the others out by callsite, without reading a field.
pub(crate) const COUNTED_EVENT: &str = "narration counted";
/// The tracing event name of every other narration.
pub(crate) const PLAIN_EVENT: &str = "narration";

/// Default `emitted_by` for narrations that do not set one.
pub(crate) const EMITTED_BY: &str = concat!("narration-core@", env!("CARGO_PKG_VERSION"));

/// The level a narration is emitted at, chosen from its action name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum NarrationLevel {
    /// A step started or finished as planned.
    Info,
    /// A `*-retry`: something failed and is tried again.
    Warn,
    /// A `*-failed`: the step gave up.
    Error,
}

impl NarrationLevel {
    /// `*-failed` is an error; `*-retry`, `*-fallback`, `*-warning` and
    /// `cancelled` are warnings; everything else is info.
    pub fn for_action(action: &str) -> Self {
        if action.ends_with("-failed") || action == "failed" {
            Self::Error
        } else if action.ends_with("-retry")
            || action == "retry"
            || action.ends_with("-fallback")
            || action.ends_with("-warning")
            || action == "cancelled"
        {
            Self::Warn
        } else {
            Self::Info
        }
    }

    pub(crate) fn from_tracing(level: &tracing::Level) -> Self {
        match *level {
            tracing::Level::ERROR => Self::Error,
            tracing::Level::WARN => Self::Warn,
            _ => Self::Info,
        }
    }

    /// The name used in log lines: `INFO`, `WARN`, `ERROR`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "INFO",
            Self::Warn => "WARN",
            Self::Error => "ERROR",
        }
    }
}

/// Emit one narration.
///
/// Every string field is redacted on its way into the event (and not at
/// all when no subscriber takes it), `emitted_by` and `emitted_at_ms` are
/// filled when absent, and exactly one tracing event is emitted on the
/// [`NARRATION_TARGET`] target at the level [`NarrationLevel::for_action`]
/// picks. Correlation and trace fields that the caller leaves empty are
/// inherited from the enclosing span by the adapters.
///
/// ```
/// use narration_core::{narrate, NarrationFields};
/// narrate(NarrationFields {
///     actor: "engine-provisioner",
///     action: "cmake-build",
///     target: "pool-a".to_string(),
///     human: "Building llama-server with 8 parallel jobs".to_string(),
///     pool_id: Some("pool-a".to_string()),
///     ..Default::default()
/// });
/// ```
pub fn narrate(fields: NarrationFields) {
    crate::interest::keep_narrations_interested();
    emit(&fields);
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// One callsite per name, level and field list. `full` names every field;
/// `compact` and `minimal` only the ones most narrations set, because every
/// named field costs each layer a visit even when it is empty. Adding a
/// field to `NarrationFields` means adding it to `full` and to `shape`.
macro_rules! emit_at {
    (full, $name:expr, $level:expr, $f:expr, $emitted_by:expr, $emitted_at_ms:expr) => {
        tracing::event!(
            name: $name,
            target: "narration",
            $level,
            actor = $f.actor,
            action = $f.action,
            narration_target = redact(&$f.target).as_ref(),
            human = redact(&$f.human).as_ref(),
            correlation_id = $f.correlation_id.as_deref().map(redact).as_deref(),
            session_id = $f.session_id.as_deref().map(redact).as_deref(),
            job_id = $f.job_id.as_deref().map(redact).as_deref(),
            task_id = $f.task_id.as_deref().map(redact).as_deref(),
            pool_id = $f.pool_id.as_deref().map(redact).as_deref(),
            replica_id = $f.replica_id.as_deref().map(redact).as_deref(),
            worker_id = $f.worker_id.as_deref().map(redact).as_deref(),
            error_kind = $f.error_kind.as_deref().map(redact).as_deref(),
            retry_after_ms = $f.retry_after_ms,
            backoff_ms = $f.backoff_ms,
            duration_ms = $f.duration_ms,
            bytes = $f.bytes,
            total_bytes = $f.total_bytes,
            outcome = $f.outcome.as_deref().map(redact).as_deref(),
            source_kind = $f.source_kind.as_deref().map(redact).as_deref(),
            engine = $f.engine.as_deref().map(redact).as_deref(),
            engine_version = $f.engine_version.as_deref().map(redact).as_deref(),
            model_ref = $f.model_ref.as_deref().map(redact).as_deref(),
            device = $f.device.as_deref().map(redact).as_deref(),
            emitted_by = $emitted_by().as_ref(),
            emitted_at_ms = $emitted_at_ms(),
            trace_id = $f.trace_id.as_deref().map(redact).as_deref(),
            span_id = $f.span_id.as_deref().map(redact).as_deref(),
            parent_span_id = $f.parent_span_id.as_deref().map(redact).as_deref(),
            source_location = $f.source_location.as_deref().map(redact).as_deref(),
        )
    };
    (minimal, $name:expr, $level:expr, $f:expr, $emitted_by:expr, $emitted_at_ms:expr) => {
        tracing::event!(
            name: $name,
            target: "narration",
            $level,
            actor = $f.actor,
            action = $f.action,
            narration_target = redact(&$f.target).as_ref(),
            human = redact(&$f.human).as_ref(),
            correlation_id = $f.correlation_id.as_deref().map(redact).as_deref(),
            pool_id = $f.pool_id.as_deref().map(redact).as_deref(),
            emitted_by = $emitted_by().as_ref(),
            emitted_at_ms = $emitted_at_ms(),
        )
    };
    (compact, $name:expr, $level:expr, $f:expr, $emitted_by:expr, $emitted_at_ms:expr) => {
        tracing::event!(
            name: $name,
            target: "narration",
            $level,
            actor = $f.actor,
            action = $f.action,
            narration_target = redact(&$f.target).as_ref(),
            human = redact(&$f.human).as_ref(),
            correlation_id = $f.correlation_id.as_deref().map(redact).as_deref(),
            job_id = $f.job_id.as_deref().map(redact).as_deref(),
            pool_id = $f.pool_id.as_deref().map(redact).as_deref(),
            error_kind = $f.error_kind.as_deref().map(redact).as_deref(),
            duration_ms = $f.duration_ms,
            bytes = $f.bytes,
            total_bytes = $f.total_bytes,
            outcome = $f.outcome.as_deref().map(redact).as_deref(),
            source_kind = $f.source_kind.as_deref().map(redact).as_deref(),
            model_ref = $f.model_ref.as_deref().map(redact).as_deref(),
            emitted_by = $emitted_by().as_ref(),
            emitted_at_ms = $emitted_at_ms(),
        )
    };
}

/// Which callsite a narration fits: the smallest whose field list holds
/// every field it sets.
#[derive(Clone, Copy)]
enum Shape {
    Minimal,
    Compact,
    Full,
}

fn shape(f: &NarrationFields) -> Shape {
    let beyond_compact = f.session_id.is_some()
        || f.task_id.is_some()
        || f.replica_id.is_some()
        || f.worker_id.is_some()
        || f.retry_after_ms.is_some()
        || f.backoff_ms.is_some()
        || f.engine.is_some()
        || f.engine_version.is_some()
        || f.device.is_some()
        || f.trace_id.is_some()
        || f.span_id.is_some()
        || f.parent_span_id.is_some()
        || f.source_location.is_some();
    let beyond_minimal = f.job_id.is_some()
        || f.error_kind.is_some()
        || f.duration_ms.is_some()
        || f.bytes.is_some()
        || f.total_bytes.is_some()
        || f.outcome.is_some()
        || f.source_kind.is_some()
        || f.model_ref.is_some();
    if beyond_compact {
        Shape::Full
    } else if beyond_minimal {
        Shape::Compact
    } else {
        Shape::Minimal
    }
}

/// Emits on the counted callsites or the plain ones (see
/// [`COUNTED_EVENT`]): a few string comparisons, so that layers wanting
/// only the counted ones never see the rest.
fn emit(f: &NarrationFields) {
    let level = NarrationLevel::for_action(f.action);
    let error = level == NarrationLevel::Error;
    if crate::counted::counts(error, f.outcome.as_deref(), f.bytes.is_some()).is_some() {
        emit_counted(f, level);
    } else {
        emit_plain(f, level);
    }
}

/// A function that emits on one set of callsites, all named `$event`.
///
/// Field values are computed only when some subscriber takes the event
/// (tracing evaluates them after its enabled check): that is where every
/// string is redacted and the clock is read. Redaction borrows unless it
/// removed something, and the provenance defaults are constants, so a
/// narration without secrets allocates nothing here.
macro_rules! emitter {
    ($(#[$doc:meta])* $name:ident, $event:expr) => {
        $(#[$doc])*
        fn $name(f: &NarrationFields, level: NarrationLevel) {
            use NarrationLevel::{Error, Info, Warn};
            use tracing::Level;
            let by = || match &f.emitted_by {
                Some(given) => redact(given),
                None => Cow::Borrowed(EMITTED_BY),
            };
            let at = || f.emitted_at_ms.unwrap_or_else(now_ms);
            match (level, shape(f)) {
                (Info, Shape::Minimal) => emit_at!(minimal, $event, Level::INFO, f, by, at),
                (Warn, Shape::Minimal) => emit_at!(minimal, $event, Level::WARN, f, by, at),
                (Error, Shape::Minimal) => emit_at!(minimal, $event, Level::ERROR, f, by, at),
                (Info, Shape::Compact) => emit_at!(compact, $event, Level::INFO, f, by, at),
                (Warn, Shape::Compact) => emit_at!(compact, $event, Level::WARN, f, by, at),
                (Error, Shape::Compact) => emit_at!(compact, $event, Level::ERROR, f, by, at),
                (Info, Shape::Full) => emit_at!(full, $event, Level::INFO, f, by, at),
                (Warn, Shape::Full) => emit_at!(full, $event, Level::WARN, f, by, at),
                (Error, Shape::Full) => emit_at!(full, $event, Level::ERROR, f, by, at),
            }
        }
    };
}

emitter!(
    /// Narrations that count for nothing in metrics (most of them).
    emit_plain,
    PLAIN_EVENT
);
emitter!(
    /// Narrations that count for metrics: their own callsites.
    emit_counted,
    COUNTED_EVENT
);
