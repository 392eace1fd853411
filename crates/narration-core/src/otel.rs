//! OpenTelemetry adapter (feature `otel`): narrations become span events.
//!
//! [`layer`] combines two layers. tracing-opentelemetry turns tracing spans
//! into OpenTelemetry spans (it sees spans only, so narrations are not
//! exported twice); [`NarrationEventLayer`] adds each narration to the
//! OpenTelemetry span it was emitted in, as an event named after the action,
//! with every narration field as an attribute under its
//! [`NarrationFields`](crate::NarrationFields) name and `trace_id`/`span_id`
//! filled from that span. A `*-failed` narration also marks the span as
//! failed.
//!
//! Narrations outside any span have no OpenTelemetry span to join and are not
//! exported; provisioners open one span per lifecycle for this reason.
//!
//! [`otlp_provider`] builds a tracer provider that exports over OTLP/HTTP
//! with JSON bodies through [`UreqHttpClient`]: no async runtime involved.
//! A collector that cannot be reached costs a program at most
//! [`EXPORT_TIMEOUT`] per batch (on the exporter's own thread) and
//! [`SHUTDOWN_TIMEOUT`] at exit, and is reported once, as a WARN event on
//! the target `narration_core::otel`.

use crate::decode::{Narration, decode_in_context, remember_span_context, update_span_context};
use async_trait::async_trait;
use opentelemetry::trace::{Status, TraceContextExt};
use opentelemetry::{KeyValue, Value};
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{
    ExporterBuildError, Protocol, RetryPolicy, WithExportConfig, WithHttpConfig,
};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::SdkTracerProvider;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tracing::dispatcher::WeakDispatch;
use tracing::span::{Attributes, Id, Record};
use tracing::{Dispatch, Event, Subscriber};
use tracing_subscriber::filter::{FilterFn, Filtered};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

/// Spans to OpenTelemetry spans, narrations to events on them.
///
/// ```
/// use narration_core::{narrate, otel, NarrationFields};
/// use opentelemetry::trace::TracerProvider as _;
/// use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
/// use tracing_subscriber::layer::SubscriberExt;
///
/// let exporter = InMemorySpanExporter::default();
/// let provider = SdkTracerProvider::builder().with_simple_exporter(exporter.clone()).build();
/// let subscriber = tracing_subscriber::registry().with(otel::layer(provider.tracer("doc")));
/// tracing::subscriber::with_default(subscriber, || {
///     let _span = tracing::info_span!("ensure_present").entered();
///     narrate(NarrationFields { actor: "model-provisioner", action: "resolve", ..Default::default() });
/// });
/// let spans = exporter.get_finished_spans().unwrap();
/// assert_eq!(spans[0].events.events[0].name, "resolve");
/// ```
pub fn layer<S, T>(tracer: T) -> impl Layer<S> + Send + Sync + 'static
where
    S: Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
    T: opentelemetry::trace::Tracer + Send + Sync + 'static,
    T::Span: Send + Sync + 'static,
{
    crate::interest::keep_narrations_interested();
    let spans_only: Filtered<_, FilterFn, S> = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_filter(FilterFn::new(|meta| meta.is_span()));
    spans_only.and_then(NarrationEventLayer::default())
}

/// Adds narrations to the OpenTelemetry span they were emitted in. Use it
/// behind tracing-opentelemetry's layer, as [`layer`] does.
#[derive(Debug, Default)]
pub struct NarrationEventLayer {
    dispatch: OnceLock<WeakDispatch>,
}

impl<S> Layer<S> for NarrationEventLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_register_dispatch(&self, subscriber: &Dispatch) {
        let _ = self.dispatch.set(subscriber.downgrade());
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        remember_span_context(attrs, id, &ctx);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        update_span_context(id, values, &ctx);
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let Some(mut narration) = decode_in_context(event, &ctx) else {
            return;
        };
        let Some(span_id) = ctx.event_span(event).map(|span| span.id()) else {
            return;
        };
        let Some(dispatch) = self.dispatch.get().and_then(WeakDispatch::upgrade) else {
            return;
        };
        // No span extensions may be held here: this locks them itself.
        let Some(cx) = tracing_opentelemetry::get_otel_context(&span_id, &dispatch) else {
            return;
        };
        let span = cx.span();
        let context = span.span_context();
        if context.is_valid() {
            narration.fields.trace_id = Some(context.trace_id().to_string());
            narration.fields.span_id = Some(context.span_id().to_string());
        }
        if narration.level == crate::NarrationLevel::Error {
            span.set_status(Status::error(narration.human.clone()));
        }
        span.add_event(narration.action, attributes(&narration));
    }
}

/// Every set field of a narration as OpenTelemetry attributes, named as in
/// the JSON log lines (`level`, `actor`, `action`, `target`, `human`, …).
pub fn attributes(narration: &Narration) -> Vec<KeyValue> {
    let Ok(serde_json::Value::Object(map)) = serde_json::to_value(narration) else {
        return Vec::new();
    };
    map.into_iter()
        .filter_map(|(key, value)| {
            let value = match value {
                serde_json::Value::String(s) => Value::from(s),
                serde_json::Value::Number(n) => match n.as_i64() {
                    Some(i) => Value::I64(i),
                    None => Value::from(n.to_string()),
                },
                serde_json::Value::Bool(b) => Value::Bool(b),
                _ => return None,
            };
            Some(KeyValue::new(key, value))
        })
        .collect()
}

/// How long one export request may take before it is given up. The batch
/// that fails is dropped, not retried: a program's exit does not wait on
/// a collector that is not there.
pub const EXPORT_TIMEOUT: Duration = Duration::from_millis(750);

/// How long dropping [`crate::InitGuard`] waits for the last export. Longer
/// than [`EXPORT_TIMEOUT`], so that a failing last export is still
/// reported before the program exits.
pub const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(1);

/// A tracer provider exporting spans (and the narrations on them) in
/// batches over OTLP/HTTP with JSON bodies to `endpoint`, the collector's
/// base URL (`http://127.0.0.1:4318`) or its full `/v1/traces` URL. Each
/// request gives up after [`EXPORT_TIMEOUT`] and is not retried; the first
/// failure is reported (see [`UreqHttpClient`]). Call
/// `shutdown_with_timeout(SHUTDOWN_TIMEOUT)` (or drop [`crate::InitGuard`])
/// to flush at exit.
pub fn otlp_provider(
    endpoint: &str,
    service_name: &str,
) -> Result<SdkTracerProvider, ExporterBuildError> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpJson)
        .with_http_client(UreqHttpClient::new(EXPORT_TIMEOUT))
        .with_retry_policy(RetryPolicy::disabled())
        .with_timeout(EXPORT_TIMEOUT)
        .with_endpoint(traces_url(endpoint))
        .build()?;
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            Resource::builder()
                .with_service_name(service_name.to_string())
                .build(),
        )
        .build())
}

/// A meter provider exporting metrics over OTLP/HTTP with JSON bodies to
/// `url`, the full metrics URL (`http://127.0.0.1:4318/v1/metrics`, see
/// [`metrics_url`]), every 60 s and once more at shutdown. Requests give
/// up after [`EXPORT_TIMEOUT`] and are not retried; the first failure is
/// reported (see [`UreqHttpClient`]). Feed it with
/// [`Metrics::layer_with_meter`](crate::Metrics::layer_with_meter).
pub fn otlp_meter_provider(
    url: &str,
    service_name: &str,
) -> Result<SdkMeterProvider, ExporterBuildError> {
    let exporter = opentelemetry_otlp::MetricExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpJson)
        .with_http_client(UreqHttpClient::new(EXPORT_TIMEOUT))
        .with_retry_policy(RetryPolicy::disabled())
        .with_timeout(EXPORT_TIMEOUT)
        .with_endpoint(url)
        .build()?;
    Ok(SdkMeterProvider::builder()
        .with_periodic_exporter(exporter)
        .with_resource(
            Resource::builder()
                .with_service_name(service_name.to_string())
                .build(),
        )
        .build())
}

/// The metrics URL for a collector: `http://host:4318` (or its traces
/// URL) → `http://host:4318/v1/metrics`; a URL that already names the
/// metrics path is kept.
pub fn metrics_url(endpoint: &str) -> String {
    let base = endpoint.trim_end_matches('/');
    let base = base.strip_suffix("/v1/traces").unwrap_or(base);
    if base.ends_with("/v1/metrics") {
        base.to_string()
    } else {
        format!("{base}/v1/metrics")
    }
}

/// `http://host:4318` → `http://host:4318/v1/traces`; a URL that already
/// names the path is kept.
fn traces_url(endpoint: &str) -> String {
    let base = endpoint.trim_end_matches('/');
    if base.ends_with("/v1/traces") {
        base.to_string()
    } else {
        format!("{base}/v1/traces")
    }
}

/// The largest collector answer read back; collectors answer with a few
/// bytes of status.
const MAX_RESPONSE_BYTES: u64 = 4 * 1024 * 1024;

/// A blocking OTLP transport on ureq. The SDK's batch processor runs exports
/// on its own thread, so blocking there is fine and no async runtime is
/// needed.
///
/// The first request that fails (no connection, a timeout, an answer that
/// is not 2xx) is reported as one WARN event on the target
/// `narration_core::otel`, naming the collector's URL (without credentials)
/// and the reason; later failures of the same client (and its clones) are
/// not reported again, so an absent collector costs one line, not one per
/// batch.
#[derive(Debug, Clone)]
pub struct UreqHttpClient {
    agent: ureq::Agent,
    reported: Arc<AtomicBool>,
}

impl UreqHttpClient {
    /// A client whose requests give up after `timeout` in all.
    pub fn new(timeout: Duration) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .build()
            .into();
        Self {
            agent,
            reported: Arc::default(),
        }
    }

    fn send(&self, request: Request<Bytes>) -> Result<Response<Bytes>, ureq::Error> {
        let (parts, body) = request.into_parts();
        let request = Request::from_parts(parts, body.to_vec());
        let response = self.agent.run(request)?;
        let (parts, mut body) = response.into_parts();
        let bytes = body.with_config().limit(MAX_RESPONSE_BYTES).read_to_vec()?;
        Ok(Response::from_parts(parts, Bytes::from(bytes)))
    }

    /// Warn about the first failed export, once.
    fn report_once(&self, url: &str, reason: &dyn std::fmt::Display) {
        if self.reported.swap(true, Ordering::Relaxed) {
            return;
        }
        let url = crate::public_url(url);
        let reason = reason.to_string();
        let reason = crate::redact(&reason);
        tracing::warn!(
            target: WARNING_TARGET,
            "OpenTelemetry export to {url} failed: {reason}; spans and narrations are not \
             exported while this lasts (further failures are not reported)"
        );
    }
}

/// The tracing target of [`UreqHttpClient`]'s warning.
const WARNING_TARGET: &str = "narration_core::otel";

#[async_trait]
impl HttpClient for UreqHttpClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let url = request.uri().to_string();
        match self.send(request) {
            Ok(response) => {
                if !response.status().is_success() {
                    let status = response.status();
                    self.report_once(&url, &format_args!("the collector answered {status}"));
                }
                Ok(response)
            }
            Err(e) => {
                self.report_once(&url, &e);
                Err(e.into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{metrics_url, traces_url};

    #[test]
    fn metrics_path_replaces_the_traces_path_or_is_appended() {
        assert_eq!(metrics_url("http://c:4318"), "http://c:4318/v1/metrics");
        assert_eq!(
            metrics_url("http://c:4318/v1/traces"),
            "http://c:4318/v1/metrics"
        );
        assert_eq!(
            metrics_url("http://c:4318/v1/metrics/"),
            "http://c:4318/v1/metrics"
        );
    }

    #[test]
    fn traces_path_is_appended_once() {
        assert_eq!(traces_url("http://c:4318"), "http://c:4318/v1/traces");
        assert_eq!(traces_url("http://c:4318/"), "http://c:4318/v1/traces");
        assert_eq!(
            traces_url("http://c:4318/v1/traces"),
            "http://c:4318/v1/traces"
        );
    }
}
