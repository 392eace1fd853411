//! Engine provisioning: from a pool config to a `llama-server` binary,
//! normalized flags and a verified model, ready for the orchestrator to
//! start. Nothing here starts the engine.
//!
//! The pool config is typed when it is loaded ([`PoolConfig`]); `plan`
//! turns it into a [`Plan`] that owns every checked input, and `ensure`
//! executes that plan. Models come from a [`ModelProvisioner`] the caller
//! builds once and shares (the CLI and every pool use the same cache and
//! catalog).
//!
//! ```
//! use engine_provisioner::{PoolConfig, provider_for};
//! use model_provisioner::ModelProvisioner;
//! use std::sync::Arc;
//!
//! let dir = tempfile::tempdir()?;
//! // In a service: ModelProvisioner::at(model_provisioner::Locations::from_env()).build()?
//! let models = Arc::new(ModelProvisioner::builder(dir.path().join("models")).build()?);
//! let pool = PoolConfig::from_toml_str(&format!(
//!     r#"
//!     id = "tiny"
//!     engine = "llamacpp"
//!     [provisioning.source]
//!     repo = "https://github.com/ggml-org/llama.cpp"
//!     ref = "b6000"
//!     [provisioning.source.build]
//!     cache_dir = "{}"
//!     generator = "make"
//!     [provisioning.model]
//!     ref = "/models/tiny.gguf"
//!     "#,
//!     dir.path().join("engine").display()
//! ))?;
//! let provisioner = provider_for(&pool, models)?;
//! let plan = provisioner.plan(&pool)?; // starts nothing, writes nothing
//! assert_eq!(plan.engine_version, "llamacpp-source:b6000-cpu");
//! assert_eq!(plan.mode.as_str(), "source");
//! assert_eq!(plan.model_ref.id(), "file:/models/tiny.gguf");
//! // provisioner.ensure(&pool)? clones, builds and ensures the model.
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

pub mod actions;
mod archive;
#[cfg(feature = "tokio")]
mod async_ensure;
mod binary;
mod build_progress;
mod build_state;
mod cache;
mod child;
mod cmake;
mod config;
mod error;
mod exec;
mod external;
mod flags;
mod git;
mod lifecycle;
mod options;
mod plan;
mod pool_inputs;
mod port;
mod prepared;
mod providers;
mod refs;
mod say;
mod source;
mod source_plan;
mod steps;
mod toolchain;
mod validate;
mod version_check;

#[cfg(feature = "tokio")]
pub use async_ensure::ensure_async;
pub use binary::{ArchiveError, ArchiveLimits, BinaryPlan, LlamaCppBinary};
pub use build_state::BuildCacheState;
pub use cache::{CacheKey, FileId, Stamp};
pub use config::{
    Binary, Build, ConfigError, Engine, External, Generator, MAX_POOL_FILE_BYTES, Mode, ModelSpec,
    PoolConfig, Provisioning, Source,
};
pub use error::{GitStep, ProvisionError, Result};
pub use external::{DEFAULT_VERSION_TIMEOUT, ExternalPlan, LlamaCppExternal};
pub use options::{DEFAULT_REPLICA_ID, EngineOptions};
pub use plan::{ModeDetails, Plan, PlanStep};
pub use prepared::PreparedEngine;
pub use providers::{ProviderFactory, Providers};
pub use refs::{GitRef, RepoUrl};
pub use source::LlamaCppSource;
pub use source_plan::{SourcePlan, ToolVars};
pub use toolchain::{DEFAULT_CUDA_SEARCH_DIRS, MissingTool, NvccFound, find_nvcc_on};
pub use validate::ValidationError;
/// The kind an error is ([`ProvisionError::kind`]) and the token that
/// cancels an ensure ([`EngineOptions::cancel`]), shared with
/// model-provisioner.
pub use verified_download::{Cancel, ErrorKind};

use model_provisioner::ModelProvisioner;
use std::sync::Arc;

/// A way to prepare an engine for a pool.
pub trait EngineProvisioner {
    /// What [`EngineProvisioner::ensure`] would do: validation, paths,
    /// flags, tools. Starts no process and writes no file.
    fn plan(&self, pool: &PoolConfig) -> Result<Plan>;

    /// Plan, then make the engine ready (tools, source, build, model,
    /// flags, port) and describe it, with the caller's ids, cancellation
    /// token and progress observer. Never starts the engine.
    fn ensure_with(&self, pool: &PoolConfig, options: &EngineOptions) -> Result<PreparedEngine>;

    /// [`EngineProvisioner::ensure_with`] with default options (replica
    /// `r0`, never cancelled, no progress reports).
    fn ensure(&self, pool: &PoolConfig) -> Result<PreparedEngine> {
        self.ensure_with(pool, &EngineOptions::default())
    }
}

/// The provisioner for the pool's engine and mode, getting models from
/// `models`: llama.cpp `source` (the default), `binary` or `external`; other
/// engines and modes parse but are refused here (`unsupported`). It may
/// move to and be shared between threads (an async runtime's
/// `spawn_blocking`, one task per pool). [`Providers`] is the table behind
/// it, for a caller adding a mode.
pub fn provider_for(
    pool: &PoolConfig,
    models: Arc<ModelProvisioner>,
) -> Result<Box<dyn EngineProvisioner + Send + Sync>> {
    Providers::builtin().provider_for(pool, models)
}
