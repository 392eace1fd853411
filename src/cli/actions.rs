//! The words the CLI narrates (`provision doctor`), and the registry of
//! every vocabulary this program links: what `specs/narration-events.md`
//! lists, one table per actor. A new action needs its line in its crate's
//! `vocabulary!` and a row in the spec table; the workspace test names
//! whichever is missing.

use narration_core::Registry;

/// Every actor this program narrates under, with its actions.
#[allow(
    dead_code,
    reason = "read by the workspace test that holds specs/narration-events.md to the code"
)]
pub const REGISTRY: Registry = Registry::new(&[
    &model_provisioner::actions::VOCABULARY,
    &engine_provisioner::actions::VOCABULARY,
    &doctor::VOCABULARY,
]);

/// Actions of `provision doctor`.
pub mod doctor {
    narration_core::vocabulary! {
        /// Actions of `provision doctor`.
        actor "doctor";
        /// The checks begin.
        START = "start", Info;
        /// A check passed (target: the check's name).
        CHECK = "check", Info;
        /// A check found something that deserves attention; the human line
        /// carries the hint.
        CHECK_WARNING = "check-warning", Warn;
        /// A check failed: provisioning will fail until it is fixed.
        CHECK_FAILED = "check-failed", Error;
        /// Every check ran (counts of failures and warnings).
        COMPLETE = "complete", Info;
    }
}
