//! Which narrations count for metrics, decided from what `narrate()` knows
//! before it emits: the level and the `outcome` field the narrating crate
//! sets ([`outcome`](crate::outcome)); never from an action name. Both the
//! emitter (which puts counted narrations on callsites of their own) and
//! the metrics layer ask here.

use crate::outcome;

/// What a narration counts for, told from what `narrate()` knows before
/// it emits: its level, its `outcome` and whether it carries `bytes`.
/// `narrate()` puts the narrations that count on their own callsites
/// ([`COUNTED_EVENT`](crate::emit::COUNTED_EVENT)), so the metrics layer
/// never sees the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Counts {
    /// An ERROR narration.
    Failure,
    /// `bytes` fetched (`outcome` `transferred`).
    Transfer,
    /// `outcome` `hit`.
    CacheHit,
    /// `outcome` `miss`.
    CacheMiss,
}

/// See [`Counts`]; `None`: the narration counts for nothing.
pub(crate) fn counts(error: bool, said: Option<&str>, has_bytes: bool) -> Option<Counts> {
    if error {
        return Some(Counts::Failure);
    }
    match said? {
        outcome::TRANSFERRED if has_bytes => Some(Counts::Transfer),
        outcome::HIT => Some(Counts::CacheHit),
        outcome::MISS => Some(Counts::CacheMiss),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::{Counts, counts};
    use crate::outcome;

    #[test]
    fn what_counts_is_known_before_the_event_is_emitted() {
        assert_eq!(counts(true, None, false), Some(Counts::Failure));
        assert_eq!(
            counts(true, Some(outcome::HIT), false),
            Some(Counts::Failure),
            "a failure is never also a hit"
        );
        assert_eq!(
            counts(false, Some(outcome::TRANSFERRED), true),
            Some(Counts::Transfer)
        );
        assert_eq!(counts(false, Some(outcome::TRANSFERRED), false), None);
        assert_eq!(
            counts(false, Some(outcome::HIT), false),
            Some(Counts::CacheHit)
        );
        assert_eq!(
            counts(false, Some(outcome::MISS), true),
            Some(Counts::CacheMiss)
        );
        assert_eq!(counts(false, None, true), None, "no outcome, no count");
        assert_eq!(counts(false, Some("something-else"), true), None);
    }
}
