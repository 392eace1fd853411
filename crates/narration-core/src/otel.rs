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

use crate::decode::{Narration, decode_in_context, remember_span_context, update_span_context};
use async_trait::async_trait;
use opentelemetry::trace::{Status, TraceContextExt};
use opentelemetry::{KeyValue, Value};
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{ExporterBuildError, Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use std::sync::OnceLock;
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

/// A tracer provider exporting spans (and the narrations on them) in
/// batches over OTLP/HTTP with JSON bodies to `endpoint`, the collector's
/// base URL (`http://127.0.0.1:4318`) or its full `/v1/traces` URL.
/// Call `shutdown()` (or drop [`crate::InitGuard`]) to flush at exit.
pub fn otlp_provider(
    endpoint: &str,
    service_name: &str,
) -> Result<SdkTracerProvider, ExporterBuildError> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpJson)
        .with_http_client(UreqHttpClient::new(Duration::from_secs(10)))
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
#[derive(Debug, Clone)]
pub struct UreqHttpClient {
    agent: ureq::Agent,
}

impl UreqHttpClient {
    /// A client whose requests give up after `timeout` in all.
    pub fn new(timeout: Duration) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .build()
            .into();
        Self { agent }
    }
}

#[async_trait]
impl HttpClient for UreqHttpClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let (parts, body) = request.into_parts();
        let request = Request::from_parts(parts, body.to_vec());
        let response = self.agent.run(request)?;
        let (parts, mut body) = response.into_parts();
        let bytes = body.with_config().limit(MAX_RESPONSE_BYTES).read_to_vec()?;
        Ok(Response::from_parts(parts, Bytes::from(bytes)))
    }
}

#[cfg(test)]
mod tests {
    use super::traces_url;

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
