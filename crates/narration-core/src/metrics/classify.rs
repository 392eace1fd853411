//! Which narrations count for what: a `downloaded` narration's bytes,
//! cache hits and misses, failures. `narrate()` asks [`counts`] before it
//! emits, so only narrations that count reach [`classify`]: one visit over
//! their fields.

use super::observe::Observation;
use crate::catalog::{engine, model};
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
    action: Short,
    error_kind: Option<String>,
    bytes: Option<u64>,
    /// `hf`, `https` or `file`, from the model ref (or the target).
    source: Option<&'static str>,
}

struct Visitor {
    fields: Fields,
}

impl Visit for Visitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "actor" => self.fields.actor.set(value),
            "action" => self.fields.action.set(value),
            "error_kind" => self.fields.error_kind = Some(value.to_string()),
            // The model ref, when set, says where the bytes came from
            // better than the target (it comes later in the event).
            "model_ref" => self.fields.source = Some(source_kind(value)),
            crate::emit::TARGET_FIELD if self.fields.source.is_none() => {
                self.fields.source = Some(source_kind(value))
            }
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

/// `hf:` refs are `hf`, URLs `https` (plain `http` included), the rest
/// (paths, `file:`) `file`.
fn source_kind(reference: &str) -> &'static str {
    if reference.starts_with("hf:") {
        "hf"
    } else if reference.starts_with("https://") || reference.starts_with("http://") {
        "https"
    } else {
        "file"
    }
}

/// What a narration counts for, told from what `narrate()` knows before
/// it emits: its level, actor, action and whether it carries `bytes`.
/// `narrate()` puts the narrations that count on their own callsites
/// ([`COUNTED_EVENT`](crate::emit::COUNTED_EVENT)), so the metrics layer
/// never sees the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Counts {
    Failure,
    Transfer,
    CacheHit,
    CacheMiss,
}

/// See [`Counts`]; `None`: the narration counts for nothing.
pub(crate) fn counts(error: bool, actor: &str, action: &str, has_bytes: bool) -> Option<Counts> {
    if error {
        return Some(Counts::Failure);
    }
    match (actor, action) {
        (model::ACTOR, model::DOWNLOADED) if has_bytes => Some(Counts::Transfer),
        (model::ACTOR, model::CACHE_HIT) | (engine::ACTOR, engine::BUILD_CACHED) => {
            Some(Counts::CacheHit)
        }
        // Only the `verify` that hashes carries the byte count it reads.
        (model::ACTOR, model::VERIFY) if has_bytes => Some(Counts::CacheMiss),
        (engine::ACTOR, engine::CMAKE_CONFIGURE) => Some(Counts::CacheMiss),
        _ => None,
    }
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
    let observation = match counts(error, actor, f.action.as_str(), f.bytes.is_some()) {
        None => return,
        Some(Counts::Failure) => Observation::Failure {
            actor,
            error_kind: f.error_kind.as_deref().unwrap_or("unknown"),
        },
        Some(Counts::Transfer) => Observation::Transfer {
            actor,
            source: f.source.unwrap_or("file"),
            bytes: f.bytes.unwrap_or(0),
        },
        Some(Counts::CacheHit) => Observation::Cache { actor, hit: true },
        Some(Counts::CacheMiss) => Observation::Cache { actor, hit: false },
    };
    observe(&observation);
}

#[cfg(test)]
mod tests {
    use super::{Counts, counts, source_kind};
    use crate::catalog::{engine, model};

    #[test]
    fn what_counts_is_known_before_the_event_is_emitted() {
        let m = model::ACTOR;
        assert_eq!(
            counts(true, m, "anything-failed", false),
            Some(Counts::Failure)
        );
        assert_eq!(
            counts(false, m, model::DOWNLOADED, true),
            Some(Counts::Transfer)
        );
        assert_eq!(counts(false, m, model::DOWNLOADED, false), None);
        assert_eq!(
            counts(false, m, model::CACHE_HIT, false),
            Some(Counts::CacheHit)
        );
        assert_eq!(
            counts(false, m, model::VERIFY, true),
            Some(Counts::CacheMiss)
        );
        assert_eq!(counts(false, m, model::VERIFY, false), None, "no hashing");
        assert_eq!(
            counts(false, engine::ACTOR, engine::BUILD_CACHED, false),
            Some(Counts::CacheHit)
        );
        assert_eq!(counts(false, m, model::RESOLVE, false), None);
    }

    #[test]
    fn source_kinds() {
        assert_eq!(source_kind("hf:org/repo/f.gguf"), "hf");
        assert_eq!(source_kind("https://example.com/f.gguf"), "https");
        assert_eq!(source_kind("http://127.0.0.1:1/f.gguf"), "https");
        assert_eq!(source_kind("/models/f.gguf"), "file");
        assert_eq!(source_kind("file:/models/f.gguf"), "file");
    }
}
