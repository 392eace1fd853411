//! Metrics derived from step spans and narrations, with no call of their
//! own in any provisioner.
//!
//! | metric (Prometheus textfile) | OpenTelemetry | labels | from |
//! |---|---|---|---|
//! | `provision_step_duration_seconds` (histogram) | `provision.step.duration` (s) | actor, step, outcome | step spans' close times |
//! | `provision_transfer_bytes_total` | `provision.transfer.bytes` (By) | actor, source | `bytes` of narrations with `outcome` `transferred` |
//! | `provision_cache_hits_total` | `provision.cache.hits` | actor | narrations with `outcome` `hit` |
//! | `provision_cache_misses_total` | `provision.cache.misses` | actor | narrations with `outcome` `miss` |
//! | `provision_failures_total` | `provision.failures` | actor, error_kind | every ERROR narration |
//!
//! The step histogram's `outcome` label is `ok` or the `error_kind` the
//! step span failed with; `source` is the narration's `source_kind` (`hf`,
//! `https`, `oci` or `file`). The narrating crate says what counts (a
//! model's `cache-hit` and an engine's `build-cached` both carry `outcome`
//! `hit`): nothing here reads an action name. Durations come from step spans (not from
//! narrations' `duration_ms`) because every step has a span and only some
//! narrate a duration.
//!
//! ```
//! use narration_core::{narrate, step_span, Metrics, NarrationFields};
//! use tracing_subscriber::layer::SubscriberExt;
//!
//! let metrics = Metrics::new();
//! let subscriber = tracing_subscriber::registry().with(metrics.layer());
//! tracing::subscriber::with_default(subscriber, || {
//!     step_span!("model-provisioner", "verify").in_scope(|| {
//!         narrate(NarrationFields {
//!             actor: "model-provisioner",
//!             action: "cache-hit",
//!             outcome: Some(narration_core::outcome::HIT.into()),
//!             ..Default::default()
//!         });
//!     });
//! });
//! let text = metrics.render();
//! assert!(text.contains("provision_cache_hits_total{actor=\"model-provisioner\"} 1"));
//! assert!(text.contains("provision_step_duration_seconds_count{actor=\"model-provisioner\",step=\"verify\",outcome=\"ok\"} 1"));
//! ```

mod classify;
mod layer;
mod observe;
#[cfg(feature = "otel")]
pub(crate) mod otlp;
mod samples;
mod textfile;

use layer::MetricsLayer;
use observe::{Observation, Sink};
use samples::{Family, Part, Samples};
use std::path::Path;
use std::sync::{Arc, Mutex};
pub use textfile::MetricsFileError;
use tracing::Subscriber;
use tracing_subscriber::layer::Layer;
use tracing_subscriber::registry::LookupSpan;

/// This process's metrics: a tracing layer feeds them
/// ([`Metrics::layer`]); [`Metrics::render`] shows them and
/// [`Metrics::merge_into_file`] adds them to a Prometheus textfile.
/// Clones share the same store.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    store: Arc<Store>,
}

#[derive(Debug, Default)]
struct Store(Mutex<Samples>);

impl Store {
    fn samples(&self) -> std::sync::MutexGuard<'_, Samples> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Sink for Store {
    fn observe(&self, observation: &Observation<'_>) {
        let mut samples = self.samples();
        match *observation {
            Observation::Step {
                actor,
                step,
                outcome,
                seconds,
            } => samples.observe(
                vec![
                    ("actor", actor.into()),
                    ("step", step.into()),
                    ("outcome", outcome.into()),
                ],
                seconds,
            ),
            Observation::Transfer {
                actor,
                source,
                bytes,
            } => samples.add(
                Family::TransferBytes,
                vec![("actor", actor.into()), ("source", source.into())],
                Part::Value,
                bytes as f64,
            ),
            Observation::Cache { actor, hit } => {
                let family = if hit {
                    Family::CacheHits
                } else {
                    Family::CacheMisses
                };
                samples.add(family, vec![("actor", actor.into())], Part::Value, 1.0)
            }
            Observation::Failure { actor, error_kind } => samples.add(
                Family::Failures,
                vec![("actor", actor.into()), ("error_kind", error_kind.into())],
                Part::Value,
                1.0,
            ),
        }
    }
}

impl Metrics {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// A layer that records into this store.
    pub fn layer<S>(&self) -> impl Layer<S> + Send + Sync + 'static
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        self.layer_with(Vec::new())
    }

    /// A layer that records into this store and into OpenTelemetry
    /// instruments made from `meter` (see [`crate::otel::otlp_meter_provider`]).
    #[cfg(feature = "otel")]
    pub fn layer_with_meter<S>(
        &self,
        meter: &opentelemetry::metrics::Meter,
    ) -> impl Layer<S> + Send + Sync + 'static
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        self.layer_with(vec![
            Arc::new(otlp::Instruments::new(meter)) as Arc<dyn Sink>
        ])
    }

    fn layer_with<S>(&self, mut sinks: Vec<Arc<dyn Sink>>) -> impl Layer<S> + Send + Sync + 'static
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        crate::interest::keep_narrations_interested();
        sinks.insert(0, self.store.clone());
        MetricsLayer { sinks }.with_filter(layer::filter())
    }

    /// This process's samples in the Prometheus text format.
    pub fn render(&self) -> String {
        self.store.samples().render()
    }

    /// Add this process's samples to the Prometheus textfile at `path`
    /// (created when absent) and write it back atomically, under an
    /// exclusive lock on `<path>.lock`: counts accumulate across runs, and
    /// concurrent runs lose none.
    pub fn merge_into_file(&self, path: &Path) -> Result<(), MetricsFileError> {
        let samples = self.store.samples().clone();
        textfile::merge_into(path, &samples)
    }
}
