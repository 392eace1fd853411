//! Which narrations count for what, from the fields the narrating crate
//! sets: every ERROR narration is a failure; `outcome` says `hit`, `miss`
//! or `transferred` (with `bytes`, from `source_kind`). No action name or
//! reference prefix is read here: the crates own their words.
//! `narrate()` asks [`counts`] before it emits, so only narrations that
//! count reach [`classify`]: one visit over their fields.

use super::observe::Observation;
use crate::counted::{Counts, counts};
use crate::emit::NarrationLevel;
use tracing::Event;
use tracing::field::{Field, Visit};

/// Text kept inline: actors and actions are short names.
struct Short {
    bytes: [u8; 48],
    len: usize,
}

impl Default for Short {
    fn default() -> Self {
        Self {
            bytes: [0; 48],
            len: 0,
        }
    }
}

impl Short {
    fn set(&mut self, value: &str) {
        // Cut at a char boundary; a longer name is not one of ours anyway.
        let mut end = value.len().min(self.bytes.len());
        while !value.is_char_boundary(end) {
            end -= 1;
        }
        self.bytes[..end].copy_from_slice(&value.as_bytes()[..end]);
        self.len = end;
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or("")
    }
}

/// The fields of a narration that metrics need.
#[derive(Default)]
struct Fields {
    actor: Short,
    outcome: Short,
    source_kind: Short,
    error_kind: Option<String>,
    bytes: Option<u64>,
}

struct Visitor {
    fields: Fields,
}

impl Visit for Visitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "actor" => self.fields.actor.set(value),
            "outcome" => self.fields.outcome.set(value),
            "source_kind" => self.fields.source_kind.set(value),
            "error_kind" => self.fields.error_kind = Some(value.to_string()),
            _ => {}
        }
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "bytes" {
            self.fields.bytes = Some(value);
        }
    }
    fn record_debug(&mut self, _: &Field, _: &dyn std::fmt::Debug) {}
}

/// The observations one narration event stands for (at most one: a
/// failure is never also a hit or a transfer).
pub(crate) fn classify(event: &Event<'_>, observe: &mut dyn FnMut(&Observation<'_>)) {
    let error = NarrationLevel::from_tracing(event.metadata().level()) == NarrationLevel::Error;
    let mut visitor = Visitor {
        fields: Fields::default(),
    };
    event.record(&mut visitor);
    let f = &visitor.fields;
    let actor = f.actor.as_str();
    let outcome = Some(f.outcome.as_str()).filter(|o| !o.is_empty());
    let observation = match counts(error, outcome, f.bytes.is_some()) {
        None => return,
        Some(Counts::Failure) => Observation::Failure {
            actor,
            error_kind: f.error_kind.as_deref().unwrap_or("unknown"),
        },
        Some(Counts::Transfer) => Observation::Transfer {
            actor,
            source: Some(f.source_kind.as_str())
                .filter(|s| !s.is_empty())
                .unwrap_or("file"),
            bytes: f.bytes.unwrap_or(0),
        },
        Some(Counts::CacheHit) => Observation::Cache { actor, hit: true },
        Some(Counts::CacheMiss) => Observation::Cache { actor, hit: false },
    };
    observe(&observation);
}
