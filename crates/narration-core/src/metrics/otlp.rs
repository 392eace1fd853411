//! The OpenTelemetry side of the metrics: one instrument per metric,
//! recorded as observations arrive; the meter provider's periodic reader
//! exports them (and once more at shutdown).

use super::observe::{Observation, Sink};
use super::samples::STEP_BUCKETS;
use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram, Meter};

/// The instruments, made from one meter.
pub(crate) struct Instruments {
    step_duration: Histogram<f64>,
    transfer_bytes: Counter<u64>,
    cache_hits: Counter<u64>,
    cache_misses: Counter<u64>,
    failures: Counter<u64>,
}

impl Instruments {
    pub(crate) fn new(meter: &Meter) -> Self {
        Self {
            step_duration: meter
                .f64_histogram("provision.step.duration")
                .with_unit("s")
                .with_description("Duration of one provisioning step, by actor, step and outcome")
                .with_boundaries(STEP_BUCKETS.to_vec())
                .build(),
            transfer_bytes: meter
                .u64_counter("provision.transfer.bytes")
                .with_unit("By")
                .with_description("Bytes downloaded, by actor and source kind")
                .build(),
            cache_hits: meter
                .u64_counter("provision.cache.hits")
                .with_description("Work skipped because a verified result was cached")
                .build(),
            cache_misses: meter
                .u64_counter("provision.cache.misses")
                .with_description("Work done because nothing verified was cached")
                .build(),
            failures: meter
                .u64_counter("provision.failures")
                .with_description("Failure narrations, by actor and error type")
                .build(),
        }
    }
}

fn kv(key: &'static str, value: &str) -> KeyValue {
    KeyValue::new(key, value.to_string())
}

impl Sink for Instruments {
    fn observe(&self, observation: &Observation<'_>) {
        match *observation {
            Observation::Step {
                actor,
                step,
                outcome,
                seconds,
            } => self.step_duration.record(
                seconds,
                &[kv("actor", actor), kv("step", step), kv("outcome", outcome)],
            ),
            Observation::Transfer {
                actor,
                source,
                bytes,
            } => self
                .transfer_bytes
                .add(bytes, &[kv("actor", actor), kv("source", source)]),
            Observation::Cache { actor, hit: true } => {
                self.cache_hits.add(1, &[kv("actor", actor)])
            }
            Observation::Cache { actor, hit: false } => {
                self.cache_misses.add(1, &[kv("actor", actor)])
            }
            Observation::Failure { actor, error_kind } => self
                .failures
                .add(1, &[kv("actor", actor), kv("error.type", error_kind)]),
        }
    }
}
