//! One call that sets up narration output for a binary.
//!
//! [`init`] installs a global subscriber: the [`LogLayer`] writing to
//! stderr, filtered by `RUST_LOG` (default `narration=info`), and, with the
//! `otel` feature and an endpoint, OTLP/HTTP export of spans and narrations.
//! [`init_with`] adds one layer of the caller's own (a progress bar, say).
//! The pieces ([`LogLayer`], [`NarrationFilter`], `otel::layer`) are public
//! for programs that compose their own subscriber.

use crate::log::{LogFormat, LogLayer};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Metadata, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::{Context, Filter, Identity, Layer, SubscriberExt};
use tracing_subscriber::registry::{LookupSpan, Registry};
use tracing_subscriber::util::SubscriberInitExt;

/// The filter used when `RUST_LOG` is unset or empty.
pub const DEFAULT_FILTER: &str = "narration=info";

/// What [`init`] sets up.
///
/// ```no_run
/// use narration_core::{init, InitOptions, LogFormat};
/// let _guard = init(InitOptions {
///     format: LogFormat::Json,
///     timestamps: true,
///     ..Default::default()
/// })?;
/// # Ok::<(), narration_core::InitError>(())
/// ```
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// Human lines or JSON lines on stderr.
    pub format: LogFormat,
    /// Prefix human lines with a UTC timestamp.
    pub timestamps: bool,
    /// Export spans and narrations over OTLP/HTTP (JSON) to this collector,
    /// e.g. `http://127.0.0.1:4318` (`/v1/traces` is appended when missing).
    /// Needs the `otel` feature.
    pub otel_endpoint: Option<String>,
    /// `service.name` reported to the collector.
    pub service_name: String,
    /// Filter directives used when `RUST_LOG` is unset or empty.
    pub default_filter: String,
}

impl Default for InitOptions {
    fn default() -> Self {
        Self {
            format: LogFormat::Human,
            timestamps: false,
            otel_endpoint: None,
            service_name: "provision".to_string(),
            default_filter: DEFAULT_FILTER.to_string(),
        }
    }
}

/// Why [`init`] could not set up narration output.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// The filter directives do not parse.
    #[error(
        "the log filter {directives:?} (from {origin}) is not valid: {source}; \
         write directives such as `narration=info` or `narration=warn,model_provisioner=debug`"
    )]
    Filter {
        directives: String,
        origin: &'static str,
        #[source]
        source: tracing_subscriber::filter::ParseError,
    },
    /// Something already installed a global subscriber.
    #[error(
        "a global tracing subscriber is already installed; call narration_core::init once, \
         at the start of main, and compose other layers with init_with"
    )]
    AlreadyInstalled(#[source] tracing_subscriber::util::TryInitError),
    /// An OTLP endpoint was given but the crate was built without `otel`.
    #[error(
        "OpenTelemetry export to {endpoint} was asked for, but narration-core was built \
         without its `otel` feature; rebuild with that feature or leave the endpoint out"
    )]
    OtelDisabled { endpoint: String },
    /// The OTLP exporter could not be built.
    #[cfg(feature = "otel")]
    #[error(
        "cannot set up OTLP export to {endpoint}: {source}; give the collector's base URL, \
         such as http://127.0.0.1:4318"
    )]
    Otel {
        endpoint: String,
        #[source]
        source: opentelemetry_otlp::ExporterBuildError,
    },
}

/// Keeps export running; dropping it flushes and shuts down the OTLP
/// exporter, so hold it until `main` returns.
#[must_use = "dropping the guard stops OpenTelemetry export"]
#[derive(Debug, Default)]
pub struct InitGuard {
    #[cfg(feature = "otel")]
    provider: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

impl Drop for InitGuard {
    fn drop(&mut self) {
        #[cfg(feature = "otel")]
        if let Some(provider) = self.provider.take() {
            // Nothing useful can be done with a failed final flush at exit.
            let _ = provider.shutdown();
        }
    }
}

/// Install the global subscriber for a binary: narration lines on stderr in
/// `options.format`, filtered by `RUST_LOG` (default
/// `options.default_filter`), plus OTLP export when `otel_endpoint` is set.
pub fn init(options: InitOptions) -> Result<InitGuard, InitError> {
    init_with(options, Identity::new())
}

/// Like [`init`], with one more layer of the caller's, which sees every
/// span and event unfiltered (a progress bar driven by spans, for example).
pub fn init_with<L>(options: InitOptions, extra: L) -> Result<InitGuard, InitError>
where
    L: Layer<Registry> + Send + Sync + 'static,
{
    let log = LogLayer::new(options.format)
        .with_timestamps(options.timestamps)
        .with_writer(std::io::stderr)
        .with_filter(NarrationFilter::from_env(&options.default_filter)?);
    let base = tracing_subscriber::registry().with(extra).with(log);
    match &options.otel_endpoint {
        None => {
            base.try_init().map_err(InitError::AlreadyInstalled)?;
            Ok(InitGuard::default())
        }
        Some(endpoint) => init_otel(base, endpoint, &options),
    }
}

#[cfg(feature = "otel")]
fn init_otel<S>(base: S, endpoint: &str, options: &InitOptions) -> Result<InitGuard, InitError>
where
    S: Subscriber + for<'a> LookupSpan<'a> + Send + Sync + 'static,
{
    use opentelemetry::trace::TracerProvider as _;
    let provider =
        crate::otel::otlp_provider(endpoint, &options.service_name).map_err(|source| {
            InitError::Otel {
                endpoint: crate::redact(endpoint).into_owned(),
                source,
            }
        })?;
    let layer = crate::otel::layer(provider.tracer("narration"))
        .with_filter(NarrationFilter::from_env(&options.default_filter)?);
    base.with(layer)
        .try_init()
        .map_err(InitError::AlreadyInstalled)?;
    Ok(InitGuard {
        provider: Some(provider),
    })
}

#[cfg(not(feature = "otel"))]
fn init_otel<S>(_: S, endpoint: &str, _: &InitOptions) -> Result<InitGuard, InitError> {
    Err(InitError::OtelDisabled {
        endpoint: crate::redact(endpoint).into_owned(),
    })
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
        Self::parse(directives, "the program")
    }

    /// Read `RUST_LOG`, or use `default` when it is unset or empty.
    pub fn from_env(default: &str) -> Result<Self, InitError> {
        match std::env::var(EnvFilter::DEFAULT_ENV) {
            Ok(value) if !value.trim().is_empty() => Self::parse(&value, "RUST_LOG"),
            _ => Self::parse(default, "the default filter"),
        }
    }

    fn parse(directives: &str, origin: &'static str) -> Result<Self, InitError> {
        EnvFilter::builder()
            .parse(directives)
            .map(|env| Self { env })
            .map_err(|source| InitError::Filter {
                directives: directives.to_string(),
                origin,
                source,
            })
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
