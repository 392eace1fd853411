//! The names on the wire that layers select narrations by, apart from the
//! emitter so that the interest guard and the layers can name them
//! without depending on it.

/// The tracing target every narration event is emitted on. Adapters select
/// narrations by this target; filters such as `RUST_LOG=narration=info`
/// use it too.
pub const NARRATION_TARGET: &str = "narration";

/// The tracing field that carries
/// [`NarrationFields::target`](crate::NarrationFields::target). A field
/// named `target` would collide with tracing's own event target.
pub const TARGET_FIELD: &str = "narration_target";
