//! `ensure_async` (feature `tokio`): an engine ensure from a tokio task
//! without blocking the runtime. The work runs on the blocking pool with
//! the caller's tracing dispatcher and span; dropping the future (a
//! `tokio::time::timeout`, `JoinHandle::abort`) cancels it, which kills
//! git or cmake with their process groups.

use crate::EngineProvisioner;
use crate::config::PoolConfig;
use crate::error::{ProvisionError, Result};
use crate::options::EngineOptions;
use crate::prepared::PreparedEngine;
use model_provisioner::blocking::run_blocking;
use std::future::Future;
use std::sync::Arc;

/// [`EngineProvisioner::ensure_with`] as a `Send + 'static` future for a
/// tokio runtime. Dropping it before it completes cancels the ensure
/// through `options.cancel`, with the same guarantees as a cancel.
///
/// ```no_run
/// use engine_provisioner::{EngineOptions, PoolConfig, ensure_async, provider_for};
/// use model_provisioner::{Locations, ModelProvisioner};
/// use std::sync::Arc;
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let models = Arc::new(ModelProvisioner::at(Locations::from_env()).build()?);
/// let pool = PoolConfig::from_path("pool.toml".as_ref())?;
/// let provider = Arc::from(provider_for(&pool, models)?);
/// let deadline = std::time::Duration::from_secs(1800);
/// let engine = tokio::time::timeout(deadline, ensure_async(provider, pool, EngineOptions::default()))
///     .await??; // on the deadline the build is cancelled, its processes killed
/// println!("{}", engine.health_url);
/// # Ok(()) }
/// ```
pub fn ensure_async(
    provisioner: Arc<dyn EngineProvisioner + Send + Sync>,
    pool: PoolConfig,
    options: EngineOptions,
) -> impl Future<Output = Result<PreparedEngine>> + Send + 'static {
    let pool_id = pool.id.clone();
    let work = run_blocking(options.cancel.clone(), move || {
        provisioner.ensure_with(&pool, &options)
    });
    async move {
        work.await
            .unwrap_or_else(|_stopped| Err(ProvisionError::cancelled(&pool_id, "start")))
    }
}
