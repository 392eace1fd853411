//! Narration for one pool: every event carries the pool id.

use crate::actions as ev;
use crate::error::ProvisionError;
use narration_core::{NarrationFields, narrate};
use std::time::Duration;

/// Narrates on behalf of one pool (and one ensure's correlation id).
pub(crate) struct Say<'a> {
    pub pool_id: &'a str,
    pub correlation_id: Option<&'a str>,
}

impl<'a> Say<'a> {
    /// Narrations for `pool_id`, without a correlation id.
    pub fn new(pool_id: &'a str) -> Self {
        Self {
            pool_id,
            correlation_id: None,
        }
    }

    fn fields(&self, action: &'static str, target: &str, human: String) -> NarrationFields {
        NarrationFields {
            actor: ev::ACTOR,
            action,
            target: target.to_string(),
            human,
            pool_id: Some(self.pool_id.to_string()),
            engine: Some("llamacpp".into()),
            correlation_id: self.correlation_id.map(str::to_string),
            ..Default::default()
        }
    }

    /// A step starts or happens.
    pub fn step(&self, action: &'static str, target: &str, human: String) {
        narrate(self.fields(action, target, human));
    }

    /// A step finished, with its duration.
    pub fn done(&self, action: &'static str, target: &str, human: String, took: Duration) {
        narrate(NarrationFields {
            duration_ms: Some(took.as_millis() as u64),
            ..self.fields(action, target, human)
        });
    }

    /// A step whose outcome the metrics count (`hit`: a cached build
    /// reused; `miss`: the work a missing cache costs), with its duration
    /// when it is over.
    pub fn counted(
        &self,
        action: &'static str,
        target: &str,
        human: String,
        outcome: &'static str,
        took: Option<Duration>,
    ) {
        narrate(NarrationFields {
            duration_ms: took.map(|t| t.as_millis() as u64),
            outcome: Some(outcome.to_string()),
            ..self.fields(action, target, human)
        });
    }

    /// A step that moved bytes finished, with its duration and the bytes.
    pub fn done_bytes(
        &self,
        action: &'static str,
        target: &str,
        human: String,
        took: Duration,
        bytes: u64,
    ) {
        narrate(NarrationFields {
            duration_ms: Some(took.as_millis() as u64),
            bytes: Some(bytes),
            ..self.fields(action, target, human)
        });
    }

    /// The lifecycle finished.
    pub fn complete(&self, engine_version: &str, human: String, took: Duration) {
        narrate(NarrationFields {
            duration_ms: Some(took.as_millis() as u64),
            engine_version: Some(engine_version.to_string()),
            ..self.fields(ev::COMPLETE, self.pool_id, human)
        });
    }

    /// An error is about to be returned.
    pub fn failed(&self, err: &ProvisionError) {
        narrate(NarrationFields {
            error_kind: Some(err.error_kind().to_string()),
            ..self.fields(err.action(), self.pool_id, err.to_string())
        });
    }
}
