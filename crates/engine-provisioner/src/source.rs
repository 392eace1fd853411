//! The llama.cpp source provider: plan once, then execute the plan step by
//! step ([`LlamaCppSource::execute`] reads top to bottom). Each step
//! narrates its start and its outcome; a failure is narrated once, here,
//! at the lifecycle's boundary.

use crate::actions as ev;
use crate::config::PoolConfig;
use crate::error::Result;
use crate::exec::ToolEnv;
use crate::lifecycle::{self, in_step};
use crate::options::EngineOptions;
use crate::plan::Plan;
use crate::prepared::PreparedEngine;
use crate::say::Say;
use crate::source_plan::SourcePlan;
use crate::steps::{self, BuildLock};
use crate::{EngineProvisioner, toolchain};
use model_provisioner::ModelProvisioner;
use narration_core::step_span;
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;
use verified_download::file_lock::LockWait;
use verified_download::{Cancel, ProgressStep};

/// Builds `llama-server` from a git checkout of llama.cpp and gets the
/// pool's model from a shared [`ModelProvisioner`].
///
/// Tools are looked up on the PATH given here (the process PATH by
/// default) and children run with it; tests put fake tools first.
#[derive(Debug, Clone)]
pub struct LlamaCppSource {
    pub(crate) models: Arc<ModelProvisioner>,
    pub(crate) path: OsString,
    pub(crate) cuda_search_dirs: Vec<PathBuf>,
    pub(crate) as_root: bool,
    pub(crate) lock_wait: LockWait,
}

impl LlamaCppSource {
    /// A provider getting models from `models`, using the process PATH,
    /// the default CUDA search dirs (`/usr/local`, `/opt`) and the real
    /// effective uid.
    pub fn new(models: Arc<ModelProvisioner>) -> Self {
        Self {
            models,
            path: std::env::var_os("PATH").unwrap_or_default(),
            cuda_search_dirs: toolchain::DEFAULT_CUDA_SEARCH_DIRS
                .iter()
                .map(PathBuf::from)
                .collect(),
            as_root: toolchain::running_as_root(),
            lock_wait: LockWait::default(),
        }
    }

    /// Use this PATH to find tools and to run them.
    pub fn with_path(mut self, path: impl Into<OsString>) -> Self {
        self.path = path.into();
        self
    }

    /// Look for CUDA roots (`cuda`, `cuda*`) in these dirs when nvcc is
    /// not on PATH.
    pub fn with_cuda_search_dirs(mut self, dirs: Vec<PathBuf>) -> Self {
        self.cuda_search_dirs = dirs;
        self
    }

    /// Override the root check that gates `allow_package_installs`.
    pub fn with_root(mut self, as_root: bool) -> Self {
        self.as_root = as_root;
        self
    }

    /// How long an ensure waits for another one building in the same
    /// cache dir (default: told after 1 s, given up after an hour).
    pub fn with_lock_wait(mut self, lock_wait: LockWait) -> Self {
        self.lock_wait = lock_wait;
        self
    }

    /// Carry out a plan made by [`EngineProvisioner::plan`] with this
    /// provider: what `ensure` does after planning.
    pub fn execute(&self, plan: &Plan) -> Result<PreparedEngine> {
        self.execute_with(plan, &EngineOptions::default())
    }

    /// [`LlamaCppSource::execute`] with the caller's options. A plan made
    /// by another mode's provider is refused (`unsupported`).
    pub fn execute_with(&self, plan: &Plan, options: &EngineOptions) -> Result<PreparedEngine> {
        lifecycle::execute(plan, options, |say| self.run(plan, options, say))
    }

    /// The PATH and the pool's variables every tool runs with, and the
    /// token that stops them.
    pub(crate) fn tool_env(&self, plan: &SourcePlan, cancel: &Cancel) -> ToolEnv {
        ToolEnv {
            path: self.path.clone(),
            vars: plan.tool_env.pairs().to_vec(),
            cancel: cancel.clone(),
        }
    }

    /// The lifecycle, one step per line.
    fn run(&self, plan: &Plan, options: &EngineOptions, say: &Say<'_>) -> Result<PreparedEngine> {
        let details = lifecycle::details::<SourcePlan>(plan)?;
        let t0 = Instant::now();
        let replica_id = lifecycle::finish::replica_id(options)?;
        let progress = lifecycle::progress_for(plan, options);
        let cancel = &options.cancel;
        steps::announce(details, say);
        let lock = BuildLock::acquire(&details.cache_dir, self.lock_wait, cancel, &progress, say)?;
        progress.begin(ProgressStep::Preflight, None);
        let host = steps::preflight::Host {
            env: self.tool_env(details, cancel),
            cuda_search_dirs: &self.cuda_search_dirs,
            as_root: self.as_root,
        };
        let (tools, env) = in_step(step_span!(ev::ACTOR, "preflight"), || {
            steps::preflight::run(host, details, say)
        })?;
        progress.begin(ProgressStep::Checkout, None);
        let repo = details.repo.to_string();
        let commit = in_step(
            step_span!(ev::ACTOR, "checkout", "url.full" = repo.as_str()),
            || steps::checkout::run(details, &tools, &env, say),
        )?;
        let built = in_step(step_span!(ev::ACTOR, "build"), || {
            steps::build::run(details, &tools, &env, &commit, &progress, say)
        })?;
        // A model download may take minutes: other ensures on this cache
        // dir need not wait for it.
        lock.release();
        let model_path = in_step(step_span!(ev::ACTOR, "model"), || {
            lifecycle::model::run(plan, &self.models, options)
        })?;
        let target = lifecycle::finish::Target {
            cache_dir: &details.cache_dir,
            cuda: details.cuda,
            device_mask: details.device_mask.clone(),
            commit,
            binary_sha256: built.binary_sha256,
            engine_version: plan.engine_version.clone(),
        };
        let prepared = in_step(step_span!(ev::ACTOR, "finish"), || {
            lifecycle::finish::run(plan, target, replica_id, model_path)
        })?;
        Ok(lifecycle::finalize(prepared, say, t0))
    }

    fn plan_for(&self, pool: &PoolConfig) -> Result<Plan> {
        let env = ToolEnv {
            path: self.path.clone(),
            ..ToolEnv::default()
        };
        SourcePlan::for_pool(pool, &env).map(SourcePlan::into_plan)
    }
}

impl EngineProvisioner for LlamaCppSource {
    fn plan(&self, pool: &PoolConfig) -> Result<Plan> {
        self.plan_for(pool)
            .inspect_err(|e| Say::new(&pool.id).failed(e))
    }

    fn ensure_with(&self, pool: &PoolConfig, options: &EngineOptions) -> Result<PreparedEngine> {
        lifecycle::ensure(
            &pool.id,
            options,
            || self.plan_for(pool),
            |plan, say| self.run(plan, options, say),
        )
    }
}
