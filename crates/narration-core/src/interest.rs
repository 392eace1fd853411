//! Keeps tracing's per-callsite interest cache from ever concluding that
//! nobody listens to narrations.
//!
//! Tracing caches, per callsite and per process, whether any dispatcher is
//! interested. While at most one dispatcher is registered, tracing computes
//! that interest from whatever dispatcher is current *on the thread that
//! happens to register or rebuild*. So a narration first emitted on a thread
//! with no subscriber, or a subscriber created on a thread before it became
//! that thread's default, marks the callsite "never", and a capture or log
//! layer installed later sees nothing.
//!
//! The fix: one extra dispatcher that lives for the whole process and answers
//! "sometimes" for narration callsites. With it registered, tracing always
//! consults every live dispatcher, and "sometimes" makes each narration ask
//! the dispatcher that is current on its own thread. Non-narration callsites
//! get "always", which leaves other dispatchers' answers as they are.

use crate::names::NARRATION_TARGET;
use std::sync::OnceLock;
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Dispatch, Event, Metadata, Subscriber};

struct AlwaysAsk;

impl Subscriber for AlwaysAsk {
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        if metadata.target() == NARRATION_TARGET {
            Interest::sometimes()
        } else {
            Interest::always()
        }
    }
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        false
    }
    fn max_level_hint(&self) -> Option<LevelFilter> {
        // Narrations are INFO, WARN or ERROR; asking for more would make
        // every debug!/trace! callsite in the process pay for a check.
        Some(LevelFilter::INFO)
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, _: &Event<'_>) {}
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

/// Register the process-wide [`AlwaysAsk`] dispatcher once. Cheap after the
/// first call (one atomic load). Called by `narrate()` and by every adapter
/// constructor, so the cache is fixed before any narration callsite can be
/// registered.
pub(crate) fn keep_narrations_interested() {
    static ALWAYS_ASK: OnceLock<Dispatch> = OnceLock::new();
    ALWAYS_ASK.get_or_init(|| Dispatch::new(AlwaysAsk));
}
