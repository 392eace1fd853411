//! Engine provisioning: from a pool config to a `llama-server` binary,
//! normalized flags and a verified model, ready for the orchestrator to
//! start. Nothing here starts the engine.
//!
//! ```no_run
//! use engine_provisioner::{PoolConfig, provider_for};
//! let pool = PoolConfig::from_path("pool.toml".as_ref())?;
//! let provisioner = provider_for(&pool)?;
//! println!("{:#?}", provisioner.plan(&pool)?);
//! let engine = provisioner.ensure(&pool)?;
//! println!("{}", serde_json::to_string_pretty(&engine)?);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod cache;
pub mod cmake;
mod config;
mod error;
mod exec;
pub mod flags;
mod git;
mod llamacpp;
mod model;
mod plan;
pub mod port;
pub mod preflight;
mod prepared;
mod say;
pub mod validate;

pub use cache::{CacheKey, FileId, Stamp};
pub use config::{
    Build, ConfigError, Engine, Generator, ModelSpec, PoolConfig, Provisioning, Source,
};
pub use error::{ProvisionError, Result};
pub use llamacpp::LlamaCppSource;
pub use plan::Plan;
pub use prepared::PreparedEngine;

/// A way to prepare an engine for a pool.
pub trait EngineProvisioner {
    /// What [`EngineProvisioner::ensure`] would do: validation, paths,
    /// flags, tools. Starts no process and writes no file.
    fn plan(&self, pool: &PoolConfig) -> Result<Plan>;

    /// Make the engine ready (tools, source, build, model, flags, port)
    /// and describe it. Never starts the engine.
    fn ensure(&self, pool: &PoolConfig) -> Result<PreparedEngine>;
}

/// The provisioner for the pool's engine: llama.cpp from source; other
/// engines parse but are refused here.
pub fn provider_for(pool: &PoolConfig) -> Result<Box<dyn EngineProvisioner>> {
    match pool.engine {
        Engine::Llamacpp => Ok(Box::new(LlamaCppSource::new())),
        other => {
            let err = ProvisionError::Unsupported {
                pool_id: pool.id.clone(),
                engine: other.as_str(),
            };
            say::Say { pool_id: &pool.id }.failed(&err);
            Err(err)
        }
    }
}
