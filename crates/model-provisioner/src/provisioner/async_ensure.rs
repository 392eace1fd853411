//! `ensure_async` (feature `tokio`): an ensure awaited from a runtime,
//! run on the blocking pool by [`run_blocking`], cancelled when dropped.

use super::ModelProvisioner;
use crate::blocking::run_blocking;
use crate::digest::Digest;
use crate::error::ProvisionError;
use crate::model_ref::ModelRef;
use crate::resolved::{EnsureOptions, ResolvedModel};
use std::future::Future;
use std::sync::Arc;

impl ModelProvisioner {
    /// [`ensure_present_str_with`](Self::ensure_present_str_with) for async
    /// callers: the work runs on tokio's blocking pool (never on a
    /// runtime worker), its narrations reach the caller's tracing
    /// dispatcher and span, and dropping the future cancels it through
    /// `opts.cancel` (so `tokio::time::timeout` or `JoinHandle::abort`
    /// stop the download, lock wait or hash; the partial download is
    /// kept for the next ensure). The future is `Send + 'static`: spawn
    /// it.
    ///
    /// ```
    /// use model_provisioner::{EnsureOptions, ModelProvisioner, gguf};
    /// use std::sync::Arc;
    /// # let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    /// # rt.block_on(async {
    /// let dir = tempfile::tempdir()?;
    /// let model = dir.path().join("tiny.gguf");
    /// gguf::write_tiny_llama(&model, gguf::TINY_LLAMA_SEED)?;
    /// let models = Arc::new(ModelProvisioner::builder(dir.path().join("cache")).build()?);
    ///
    /// let task = tokio::spawn(models.ensure_async(
    ///     model.to_str().unwrap(),
    ///     None,
    ///     EnsureOptions::default(),
    /// ));
    /// let resolved = task.await??;
    /// assert_eq!(resolved.local_path, model);
    /// # Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
    /// # }).unwrap();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn ensure_async(
        self: &Arc<Self>,
        input: &str,
        expected: Option<Digest>,
        opts: EnsureOptions,
    ) -> impl Future<Output = Result<ResolvedModel, ProvisionError>> + Send + 'static {
        let this = Arc::clone(self);
        let input = input.to_string();
        let cancel = opts.cancel.clone();
        let shown = narration_core::public_url(&input);
        let work = run_blocking(cancel, move || {
            this.ensure_present_str_with(&input, expected, &opts)
        });
        async move {
            work.await.unwrap_or_else(|_stopped| {
                Err(ProvisionError::Cancelled {
                    model: shown,
                    step: "start",
                })
            })
        }
    }

    /// [`ensure_async`](Self::ensure_async) for a parsed [`ModelRef`].
    pub fn ensure_ref_async(
        self: &Arc<Self>,
        model: &ModelRef,
        expected: Option<Digest>,
        opts: EnsureOptions,
    ) -> impl Future<Output = Result<ResolvedModel, ProvisionError>> + Send + 'static {
        let this = Arc::clone(self);
        let model = model.clone();
        let cancel = opts.cancel.clone();
        let id = model.id();
        let work = run_blocking(cancel, move || {
            this.ensure_present_with(&model, expected, &opts)
        });
        async move {
            work.await.unwrap_or_else(|_stopped| {
                Err(ProvisionError::Cancelled {
                    model: id,
                    step: "start",
                })
            })
        }
    }
}
