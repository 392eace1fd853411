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

/// `1.5 GiB`, `12.0 MiB`, `512 B`.
pub(crate) fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = UNITS[0];
    for u in &UNITS[1..] {
        if v < 1024.0 {
            break;
        }
        v /= 1024.0;
        unit = u;
    }
    format!("{v:.1} {unit}")
}

/// Throughput in MB/s (10^6 bytes per second), for humans.
pub(crate) fn mb_per_s(bytes: u64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs <= 0.0 {
        0.0
    } else {
        bytes as f64 / 1e6 / secs
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn human_bytes_picks_a_readable_unit() {
        assert_eq!(super::human_bytes(512), "512 B");
        assert_eq!(super::human_bytes(1536), "1.5 KiB");
        assert_eq!(super::human_bytes(1 << 30), "1.0 GiB");
    }
}
