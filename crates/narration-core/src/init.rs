//! One call that sets up narration output for a binary.
//!
//! [`init`] installs a global subscriber made of: the [`LogLayer`] (one
//! line per narration), a diagnostics layer for every other event the
//! filter lets through (tracing's own format, redacted), the caller's own
//! layers, and, with the `otel` feature and an endpoint, OTLP/HTTP export
//! of spans and narrations. The filter comes from `RUST_LOG`, or from the
//! [`Verbosity`] when `RUST_LOG` is unset. `log` records (from crates that
//! use the `log` crate, such as ureq) are carried into tracing. The pieces
//! ([`LogLayer`], [`NarrationFilter`], `otel::layer`) are public for
//! programs that compose their own subscriber.

use crate::diagnostics::{self, SharedWriter};
use crate::filter::Directives;
pub use crate::init_error::InitError;
use crate::log::{LogFormat, LogLayer};
use crate::metrics::Metrics;
use std::path::PathBuf;
use tracing::level_filters::LevelFilter;
use tracing_subscriber::fmt::writer::BoxMakeWriter;
use tracing_subscriber::layer::{Layer, SubscriberExt};
use tracing_subscriber::registry::Registry;

/// The filter used when `RUST_LOG` is unset or empty, at
/// [`Verbosity::Normal`].
pub const DEFAULT_FILTER: &str = "narration=info";

/// How much [`init`] writes when `RUST_LOG` is unset or empty. When
/// `RUST_LOG` is set, its directives are used instead, whatever the
/// verbosity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Verbosity {
    /// Retries and failures only (`narration=warn`).
    Quiet,
    /// Every narration ([`DEFAULT_FILTER`], `narration=info`).
    #[default]
    Normal,
    /// Every narration, and the debug events of every crate, `log` records
    /// included (`debug`).
    Debug,
}

impl Verbosity {
    /// The filter directives this verbosity stands for.
    pub fn default_filter(self) -> &'static str {
        match self {
            Self::Quiet => "narration=warn",
            Self::Normal => DEFAULT_FILTER,
            Self::Debug => "debug",
        }
    }
}

/// A layer of the caller's, for [`InitOptions::layers`].
pub type BoxedLayer = Box<dyn Layer<Registry> + Send + Sync + 'static>;

/// What [`init`] sets up.
///
/// ```no_run
/// use narration_core::{init, InitOptions, LogFormat, Verbosity};
/// let _guard = init(InitOptions {
///     format: LogFormat::Json,
///     timestamps: true,
///     verbosity: Verbosity::Quiet,
///     ..Default::default()
/// })?;
/// # Ok::<(), narration_core::InitError>(())
/// ```
pub struct InitOptions {
    /// Human lines or JSON lines.
    pub format: LogFormat,
    /// Prefix human lines (and diagnostics) with a UTC timestamp.
    pub timestamps: bool,
    /// What is written when `RUST_LOG` is unset or empty.
    pub verbosity: Verbosity,
    /// Where narration lines and diagnostics go; stderr when `None`. Any
    /// tracing-subscriber `MakeWriter`, boxed with `BoxMakeWriter::new`
    /// (a writer that prints above progress bars, say).
    pub writer: Option<BoxMakeWriter>,
    /// Layers of the caller's (a progress bar driven by narrations). Each
    /// sees every span and event, unfiltered, after the narration line for
    /// that event was written.
    pub layers: Vec<BoxedLayer>,
    /// Export spans and narrations over OTLP/HTTP (JSON) to this collector,
    /// e.g. `http://127.0.0.1:4318` (`/v1/traces` is appended when missing).
    /// Needs the `otel` feature.
    pub otel_endpoint: Option<String>,
    /// Export metrics over OTLP/HTTP (JSON) to this URL, used as given
    /// (`http://127.0.0.1:4318/v1/metrics`). When `None` and
    /// `otel_endpoint` is set, `<otel_endpoint>/v1/metrics`. Needs the
    /// `otel` feature.
    pub otel_metrics_endpoint: Option<String>,
    /// Add this run's metrics to this Prometheus textfile (for
    /// node_exporter's textfile collector) when the guard is dropped.
    pub metrics_file: Option<PathBuf>,
    /// `service.name` reported to the collector.
    pub service_name: String,
    /// (actor, action) pairs whose human lines are not written because a
    /// display of the caller's shows them (a progress bar draws
    /// `download-progress`); JSON lines, OpenTelemetry and metrics still
    /// carry them.
    pub shown_elsewhere: Vec<(&'static str, &'static str)>,
}

impl Default for InitOptions {
    fn default() -> Self {
        Self {
            format: LogFormat::Human,
            timestamps: false,
            verbosity: Verbosity::Normal,
            writer: None,
            layers: Vec::new(),
            otel_endpoint: None,
            otel_metrics_endpoint: None,
            metrics_file: None,
            service_name: "provision".to_string(),
            shown_elsewhere: Vec::new(),
        }
    }
}

impl std::fmt::Debug for InitOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InitOptions")
            .field("format", &self.format)
            .field("timestamps", &self.timestamps)
            .field("verbosity", &self.verbosity)
            .field("writer", &self.writer.as_ref().map(|_| "custom"))
            .field("layers", &self.layers.len())
            .field(
                "otel_endpoint",
                &self.otel_endpoint.as_deref().map(crate::public_url),
            )
            .field(
                "otel_metrics_endpoint",
                &self.otel_metrics_endpoint.as_deref().map(crate::public_url),
            )
            .field("metrics_file", &self.metrics_file)
            .field("service_name", &self.service_name)
            .field("shown_elsewhere", &self.shown_elsewhere)
            .finish()
    }
}

/// Keeps export running; dropping it adds this run's metrics to the
/// metrics file, then flushes and shuts down the OTLP exporters (waiting
/// at most `otel::SHUTDOWN_TIMEOUT` each), so hold it until `main`
/// returns.
#[must_use = "dropping the guard stops OpenTelemetry export"]
#[derive(Debug, Default)]
pub struct InitGuard {
    #[cfg(feature = "otel")]
    provider: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
    #[cfg(feature = "otel")]
    meter_provider: Option<opentelemetry_sdk::metrics::SdkMeterProvider>,
    metrics_file: Option<(Metrics, PathBuf)>,
}

impl Drop for InitGuard {
    fn drop(&mut self) {
        if let Some((metrics, path)) = self.metrics_file.take()
            && let Err(e) = metrics.merge_into_file(&path)
        {
            tracing::warn!(target: "narration_core::metrics", "{e}");
        }
        #[cfg(feature = "otel")]
        if let Some(provider) = self.meter_provider.take() {
            // As for spans: a failed last export was reported already.
            let _ = provider.shutdown_with_timeout(crate::otel::SHUTDOWN_TIMEOUT);
        }
        #[cfg(feature = "otel")]
        if let Some(provider) = self.provider.take() {
            // A failed final export was already reported once by the
            // exporter; nothing more can be done with it at exit.
            let _ = provider.shutdown_with_timeout(crate::otel::SHUTDOWN_TIMEOUT);
        }
    }
}

/// Install the global subscriber for a binary: narration lines in
/// `options.format` on `options.writer` (stderr by default), the other
/// events the filter enables on the same writer, the caller's layers, and
/// OTLP export when `otel_endpoint` is set. The filter is `RUST_LOG` when it
/// is set and not empty, else `options.verbosity`'s.
pub fn init(mut options: InitOptions) -> Result<InitGuard, InitError> {
    let directives = Directives::from_env_or(options.verbosity.default_filter());
    let writer = SharedWriter::new(
        options
            .writer
            .take()
            .unwrap_or_else(|| BoxMakeWriter::new(std::io::stderr)),
    );
    let diagnostics_filter = directives.diagnostics_filter()?;
    let log_records = diagnostics_filter.max_level();
    let narrations = LogLayer::new(options.format)
        .with_timestamps(options.timestamps)
        .without_human_lines_for(&options.shown_elsewhere)
        .with_writer(writer.clone())
        .with_filter(directives.narration_filter()?);
    let diagnostics = diagnostics::layer(
        options.format,
        options.timestamps,
        writer,
        diagnostics_filter,
    );
    let (tracer, mut guard) = otel_tracer(&options.otel_endpoint, &options.service_name)?;
    let metrics = metrics_layer(&options, &mut guard)?;
    // Narration lines first, so that a caller's layer (a progress bar)
    // acts after the line for the same event is written.
    let mut layers: Vec<BoxedLayer> = vec![narrations.boxed(), diagnostics];
    layers.extend(options.layers);
    layers.extend(metrics);
    install(
        tracing_subscriber::registry().with(layers),
        tracer,
        &directives,
    )?;
    bridge_log_records(log_records);
    Ok(guard)
}

/// Carry `log` records up to `max` into tracing. A program that installed
/// its own `log` logger keeps it.
fn bridge_log_records(max: LevelFilter) {
    use tracing_log::AsLog;
    let _ = tracing_log::LogTracer::builder()
        .with_max_level(max.as_log())
        .init();
}

/// The tracer spans are exported with (`None` without an endpoint).
#[cfg(feature = "otel")]
type Tracer = Option<opentelemetry_sdk::trace::SdkTracer>;
#[cfg(not(feature = "otel"))]
type Tracer = Option<std::convert::Infallible>;

#[cfg(feature = "otel")]
fn otel_tracer(
    endpoint: &Option<String>,
    service_name: &str,
) -> Result<(Tracer, InitGuard), InitError> {
    use opentelemetry::trace::TracerProvider as _;
    let Some(endpoint) = endpoint else {
        return Ok((None, InitGuard::default()));
    };
    let provider =
        crate::otel::otlp_provider(endpoint, service_name).map_err(|source| InitError::Otel {
            endpoint: crate::public_url(endpoint),
            source,
        })?;
    let tracer = provider.tracer("narration");
    let mut guard = InitGuard::default();
    guard.provider = Some(provider);
    Ok((Some(tracer), guard))
}

#[cfg(not(feature = "otel"))]
fn otel_tracer(endpoint: &Option<String>, _: &str) -> Result<(Tracer, InitGuard), InitError> {
    match endpoint {
        None => Ok((None, InitGuard::default())),
        Some(endpoint) => Err(InitError::OtelDisabled {
            endpoint: crate::public_url(endpoint),
        }),
    }
}

/// Set `subscriber`, with the OTel layer outermost when there is a tracer,
/// as the global default. Outermost, not in the list of layers: a `Vec`
/// of layers (tracing-subscriber 0.3) does not tell its layers which
/// dispatcher they run in, and the OTel layer needs that to put
/// narrations on their spans.
#[cfg(feature = "otel")]
fn install<S>(subscriber: S, tracer: Tracer, directives: &Directives) -> Result<(), InitError>
where
    S: tracing::Subscriber
        + for<'a> tracing_subscriber::registry::LookupSpan<'a>
        + Send
        + Sync
        + 'static,
{
    // Not as an `Option` layer either: that does not pass it on.
    let installed = match tracer {
        Some(tracer) => {
            let otel = crate::otel::layer(tracer).with_filter(directives.narration_filter()?);
            tracing::subscriber::set_global_default(subscriber.with(otel))
        }
        None => tracing::subscriber::set_global_default(subscriber),
    };
    installed.map_err(InitError::AlreadyInstalled)
}

#[cfg(not(feature = "otel"))]
fn install<S>(subscriber: S, _: Tracer, _: &Directives) -> Result<(), InitError>
where
    S: tracing::Subscriber + Send + Sync + 'static,
{
    tracing::subscriber::set_global_default(subscriber).map_err(InitError::AlreadyInstalled)
}

/// The metrics layer, when a metrics file or an OTLP metrics endpoint is
/// set; unfiltered, so that a narration left out of the log still counts.
#[cfg(feature = "otel")]
fn metrics_layer(
    options: &InitOptions,
    guard: &mut InitGuard,
) -> Result<Option<BoxedLayer>, InitError> {
    use opentelemetry::metrics::MeterProvider as _;
    let metrics = Metrics::new();
    let url = options.otel_metrics_endpoint.clone().or_else(|| {
        options
            .otel_endpoint
            .as_deref()
            .map(crate::otel::metrics_url)
    });
    let layer = match url {
        Some(url) => {
            let provider = crate::otel::otlp_meter_provider(&url, &options.service_name).map_err(
                |source| InitError::Otel {
                    endpoint: crate::public_url(&url),
                    source,
                },
            )?;
            let layer = metrics
                .layer_with_meter(&provider.meter("narration"))
                .boxed();
            guard.meter_provider = Some(provider);
            layer
        }
        None if options.metrics_file.is_some() => metrics.layer().boxed(),
        None => return Ok(None),
    };
    guard.metrics_file = options.metrics_file.clone().map(|path| (metrics, path));
    Ok(Some(layer))
}

#[cfg(not(feature = "otel"))]
fn metrics_layer(
    options: &InitOptions,
    guard: &mut InitGuard,
) -> Result<Option<BoxedLayer>, InitError> {
    if let Some(endpoint) = &options.otel_metrics_endpoint {
        return Err(InitError::OtelDisabled {
            endpoint: crate::public_url(endpoint),
        });
    }
    let Some(path) = &options.metrics_file else {
        return Ok(None);
    };
    let metrics = Metrics::new();
    let layer = metrics.layer().boxed();
    guard.metrics_file = Some((metrics, path.clone()));
    Ok(Some(layer))
}
