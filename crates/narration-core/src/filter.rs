//! Which events each output of [`init`](crate::init) takes: the filter
//! directives (from `RUST_LOG` or the verbosity), the narration filter that
//! keeps spans, and the diagnostics filter for every other event.

use crate::emit::NARRATION_TARGET;
use crate::init_error::InitError;
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Metadata, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::{Context, Filter};
use tracing_subscriber::registry::LookupSpan;

/// Directives every diagnostics filter starts with, so that narration-core's
/// own warnings (an OpenTelemetry export that fails) are shown unless the
/// directives name `narration_core` themselves.
const OWN_WARNINGS: &str = "narration_core=warn";

/// The crate whose TRACE events are the HTTP client's dumps of the bytes
/// on the wire (`ureq_proto::util`, 16 bytes a line): request headers with
/// the `Authorization` token cut across lines, where no redaction rule can
/// recognise it. They never reach a log, whatever the directives say.
const WIRE_DUMPS: &str = "ureq_proto";

/// True for an event that may dump the bytes on the wire.
fn is_wire_dump(meta: &Metadata<'_>) -> bool {
    let target = meta.target();
    *meta.level() == tracing::Level::TRACE
        && target
            .strip_prefix(WIRE_DUMPS)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
}

/// The filter directives in force and where they came from: `RUST_LOG`
/// when it is set and not empty, else the verbosity's default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Directives {
    pub(crate) text: String,
    pub(crate) origin: &'static str,
}

impl Directives {
    pub(crate) fn from_env_or(default: &str) -> Self {
        match std::env::var(EnvFilter::DEFAULT_ENV) {
            Ok(value) if !value.trim().is_empty() => Self {
                text: value,
                origin: "RUST_LOG",
            },
            _ => Self {
                text: default.to_string(),
                origin: "the default filter",
            },
        }
    }

    fn env_filter(&self, prefix: Option<&str>) -> Result<EnvFilter, InitError> {
        let text = match prefix {
            // Later directives for the same target replace earlier ones.
            Some(prefix) => format!("{prefix},{}", self.text),
            None => self.text.clone(),
        };
        EnvFilter::builder()
            .parse(&text)
            .map_err(|source| InitError::Filter {
                directives: self.text.clone(),
                origin: self.origin,
                source,
            })
    }

    pub(crate) fn narration_filter(&self) -> Result<NarrationFilter, InitError> {
        self.env_filter(None).map(|env| NarrationFilter { env })
    }

    pub(crate) fn diagnostics_filter(&self) -> Result<DiagnosticsFilter, InitError> {
        self.env_filter(Some(OWN_WARNINGS))
            .map(|env| DiagnosticsFilter { env })
    }
}

/// An [`EnvFilter`] for every event that is not a narration: what the
/// directives enable, plus narration-core's own warnings. Narrations are
/// left to the narration layer so that none is written twice.
pub(crate) struct DiagnosticsFilter {
    env: EnvFilter,
}

impl DiagnosticsFilter {
    /// The most verbose level this filter lets through, for the `log`
    /// bridge: `log` records below it are dropped before they are built.
    pub(crate) fn max_level(&self) -> LevelFilter {
        self.env.max_level_hint().unwrap_or(LevelFilter::TRACE)
    }
}

impl<S> Filter<S> for DiagnosticsFilter
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn enabled(&self, meta: &Metadata<'_>, cx: &Context<'_, S>) -> bool {
        // `log` records share one callsite per level, so wire dumps bridged
        // from `log` are only recognised here, by their own target.
        meta.target() != NARRATION_TARGET
            && !is_wire_dump(meta)
            && Filter::<S>::enabled(&self.env, meta, cx)
    }

    fn callsite_enabled(&self, meta: &'static Metadata<'static>) -> Interest {
        if (meta.target() == NARRATION_TARGET && meta.is_event()) || is_wire_dump(meta) {
            Interest::never()
        } else {
            Filter::<S>::callsite_enabled(&self.env, meta)
        }
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Filter::<S>::max_level_hint(&self.env)
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        Filter::<S>::on_new_span(&self.env, attrs, id, ctx)
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        Filter::<S>::on_record(&self.env, id, values, ctx)
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        Filter::<S>::on_enter(&self.env, id, ctx)
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        Filter::<S>::on_exit(&self.env, id, ctx)
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        Filter::<S>::on_close(&self.env, id, ctx)
    }
}

/// An [`EnvFilter`] for narration adapters that lets every span through.
///
/// The directives choose which narrations are written (`narration=warn`
/// keeps warnings and errors). Spans pass whatever their target (at INFO
/// and above, and at lower levels when the directives enable those levels
/// anywhere), so that narrations inside them still inherit their
/// correlation fields and OpenTelemetry still sees the lifecycle spans they
/// belong to.
pub struct NarrationFilter {
    env: EnvFilter,
}

impl std::fmt::Debug for NarrationFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NarrationFilter({})", self.env)
    }
}

impl NarrationFilter {
    /// Parse `directives` (`RUST_LOG` syntax).
    pub fn new(directives: &str) -> Result<Self, InitError> {
        Directives {
            text: directives.to_string(),
            origin: "the program",
        }
        .narration_filter()
    }

    /// Read `RUST_LOG`, or use `default` when it is unset or empty.
    pub fn from_env(default: &str) -> Result<Self, InitError> {
        Directives::from_env_or(default).narration_filter()
    }
}

impl<S> Filter<S> for NarrationFilter
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn enabled(&self, meta: &Metadata<'_>, cx: &Context<'_, S>) -> bool {
        meta.is_span() || Filter::<S>::enabled(&self.env, meta, cx)
    }

    fn callsite_enabled(&self, meta: &'static Metadata<'static>) -> Interest {
        // Let the env filter see span callsites too, so span-field
        // directives (`[ensure{pool_id=a}]`) keep working.
        let env = Filter::<S>::callsite_enabled(&self.env, meta);
        if meta.is_span() {
            Interest::always()
        } else {
            env
        }
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        // INFO at least, so that INFO lifecycle spans pass even under
        // `narration=warn`; no more than the directives ask for, so that
        // debug!/trace! callsites elsewhere stay off tracing's fast path.
        Filter::<S>::max_level_hint(&self.env).map(|env| env.max(LevelFilter::INFO))
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        Filter::<S>::on_new_span(&self.env, attrs, id, ctx)
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        Filter::<S>::on_record(&self.env, id, values, ctx)
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        Filter::<S>::on_enter(&self.env, id, ctx)
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        Filter::<S>::on_exit(&self.env, id, ctx)
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        Filter::<S>::on_close(&self.env, id, ctx)
    }
}
