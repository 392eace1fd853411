//! What an orchestrator hands one ensure besides the pool: ids for its
//! narrations and reports, a cancellation token, and a progress observer.

use std::sync::Arc;
use verified_download::{Cancel, ProgressObserver};

/// The replica id when the options name none.
pub const DEFAULT_REPLICA_ID: &str = "r0";

/// Options for one [`EngineProvisioner::ensure_with`](crate::EngineProvisioner::ensure_with).
///
/// ```
/// use engine_provisioner::EngineOptions;
/// use model_provisioner::{Cancel, Progress};
/// use std::sync::Arc;
///
/// let cancel = Cancel::new();
/// let options = EngineOptions {
///     correlation_id: Some("req-42".into()),
///     replica_id: Some("r1".into()),
///     cancel: cancel.clone(),
///     progress: Some(Arc::new(|p: &Progress| eprintln!("{} {}/{:?}", p.step, p.done, p.total))),
/// };
/// // Another task may call cancel.cancel(): the ensure then returns
/// // ProvisionError::Cancelled within about a second.
/// # let _ = options;
/// ```
#[derive(Clone, Default)]
pub struct EngineOptions {
    /// Carried on every narration and progress report of the ensure
    /// (model-provisioner's too); `None`: model-provisioner makes one for
    /// its own narrations.
    pub correlation_id: Option<String>,
    /// The replica being prepared (`r0` when `None`): named in the
    /// [`PreparedEngine`](crate::PreparedEngine) and keying its remembered
    /// port. Letters, digits, `-`, `_`, `.`.
    pub replica_id: Option<String>,
    /// Cancels the ensure: lock waits, git and CMake (with every process
    /// they started) and the model download stop, and the ensure returns
    /// [`ProvisionError::Cancelled`](crate::ProvisionError::Cancelled).
    pub cancel: Cancel,
    /// Receives typed progress reports: `preflight`, `checkout`,
    /// `configure`, `build` (`[n/N]` build steps) for a source build, or
    /// `download` and `install` (bytes unpacked) in `binary` mode, then
    /// the model's own steps.
    pub progress: Option<Arc<dyn ProgressObserver>>,
}

impl EngineOptions {
    /// The replica id to use.
    pub fn replica(&self) -> &str {
        self.replica_id.as_deref().unwrap_or(DEFAULT_REPLICA_ID)
    }
}

impl std::fmt::Debug for EngineOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineOptions")
            .field("correlation_id", &self.correlation_id)
            .field("replica_id", &self.replica_id)
            .field("cancel", &self.cancel)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}
