//! Narrations of a transfer, with the ensure's correlation id, pool id and
//! model ref carried on each.

use crate::fetch::FetchContext;
use crate::model_ref::ModelRef;
use narration_core::catalog::model as actions;
use narration_core::{NarrationFields, narrate};
use std::time::Duration;

/// Emits model-provisioner narrations for one fetch.
#[derive(Clone, Copy)]
pub(crate) struct Narrator<'a> {
    pub ctx: &'a FetchContext,
    pub model: &'a ModelRef,
}

impl<'a> Narrator<'a> {
    pub fn new(ctx: &'a FetchContext, model: &'a ModelRef) -> Self {
        Self { ctx, model }
    }

    /// Narrates `action` with `human`, letting `extra` fill more fields.
    pub fn emit(
        &self,
        action: &'static str,
        human: String,
        extra: impl FnOnce(&mut NarrationFields),
    ) {
        let mut fields = self.ctx.fields(action, self.model, human);
        extra(&mut fields);
        narrate(fields);
    }

    /// `download-retry` with the backoff about to be waited.
    pub fn retry(&self, what: &str, attempt: u32, max: u32, delay: Duration, reason: &str) {
        self.emit(
            actions::DOWNLOAD_RETRY,
            format!(
                "{what}: {reason}; retrying in {} ms (attempt {} of {max})",
                delay.as_millis(),
                attempt + 1
            ),
            |f| {
                f.backoff_ms = Some(delay.as_millis() as u64);
                f.error_kind = Some("transient".to_string());
            },
        );
    }
}

pub(crate) use crate::units::{human_bytes, mb_per_s};
