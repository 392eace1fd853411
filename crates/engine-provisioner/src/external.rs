//! The `external` mode: a `llama-server` installed outside the provisioner
//! (`[provisioning.external] binary`). Nothing is built or downloaded; the
//! binary must answer `--version` (a cancellable child, with a timeout)
//! before it is handed out, and its sha256 and version are recorded.

use crate::EngineProvisioner;
use crate::actions as ev;
use crate::config::{Mode, PoolConfig};
use crate::error::{ProvisionError, Result};
use crate::exec::ToolEnv;
use crate::lifecycle::{self, in_step};
use crate::options::EngineOptions;
use crate::plan::{ModeDetails, Plan, PlanStep};
use crate::pool_inputs::{default_cache_dir, required_model};
use crate::prepared::PreparedEngine;
use crate::say::Say;
use crate::version_check::{self, Refused};
use model_provisioner::ModelProvisioner;
use narration_core::step_span;
use serde::Serialize;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use verified_download::Cancel;

/// How long `--version` may take by default (a CUDA build initialises its
/// devices first).
pub const DEFAULT_VERSION_TIMEOUT: Duration = Duration::from_secs(30);

/// Hands out an installed `llama-server` after checking that it runs, and
/// gets the pool's model from a shared [`ModelProvisioner`].
#[derive(Debug, Clone)]
pub struct LlamaCppExternal {
    models: Arc<ModelProvisioner>,
    path: OsString,
    version_timeout: Duration,
}

/// The `external` mode's details in a [`Plan`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExternalPlan {
    /// `provisioning.external.binary` as written.
    pub configured: PathBuf,
    /// Where it was found on PATH (a bare name) or the path itself;
    /// `None` when a bare name is not on PATH (ensure fails naming the key).
    pub resolved: Option<PathBuf>,
    /// Where port records live.
    pub cache_dir: PathBuf,
    /// `CUDA_VISIBLE_DEVICES` from the pool env, handed to the server.
    pub device_mask: Option<String>,
}

impl ModeDetails for ExternalPlan {
    fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

impl LlamaCppExternal {
    /// A provider using the process PATH and the default `--version`
    /// timeout.
    pub fn new(models: Arc<ModelProvisioner>) -> Self {
        Self {
            models,
            path: std::env::var_os("PATH").unwrap_or_default(),
            version_timeout: DEFAULT_VERSION_TIMEOUT,
        }
    }

    /// Use this PATH to find a bare binary name and to run it.
    pub fn with_path(mut self, path: impl Into<OsString>) -> Self {
        self.path = path.into();
        self
    }

    /// How long `--version` may run before the binary is refused.
    pub fn with_version_timeout(mut self, timeout: Duration) -> Self {
        self.version_timeout = timeout;
        self
    }

    fn env(&self, cancel: &Cancel) -> ToolEnv {
        ToolEnv {
            path: self.path.clone(),
            vars: Vec::new(),
            cancel: cancel.clone(),
        }
    }

    fn plan_for(&self, pool: &PoolConfig) -> Result<Plan> {
        pool.validate()?;
        let external =
            pool.provisioning
                .external
                .as_ref()
                .ok_or_else(|| ProvisionError::MissingSection {
                    pool_id: pool.id.clone(),
                    key: "provisioning.external",
                    hint: "add binary (a path or a name on PATH) under [provisioning.external]",
                })?;
        let model = required_model(pool)?;
        let cache_dir = match &external.cache_dir {
            Some(dir) => dir.clone(),
            None => default_cache_dir(&pool.id, "provisioning.external.cache_dir")?,
        };
        let resolved = if external.binary.is_absolute() {
            Some(external.binary.clone())
        } else {
            self.env(&Cancel::new())
                .which(&external.binary.to_string_lossy())
        };
        let binary_path = resolved.clone().unwrap_or_else(|| external.binary.clone());
        let details = ExternalPlan {
            configured: external.binary.clone(),
            resolved,
            cache_dir,
            device_mask: pool.provisioning.env.get("CUDA_VISIBLE_DEVICES").cloned(),
        };
        Ok(Plan {
            pool_id: pool.id.clone(),
            engine: "llamacpp".into(),
            mode: Mode::External,
            engine_version: "llamacpp-external".into(),
            steps: vec![
                PlanStep::new(
                    "binary-check",
                    format!(
                        "run {} --version (at most {} s), record its version and sha256; nothing is built",
                        binary_path.display(),
                        self.version_timeout.as_secs()
                    ),
                    vec![binary_path.clone()],
                ),
                PlanStep::new("model", format!("ensure {}", model.model_ref.id()), vec![]),
                PlanStep::new(
                    "flags",
                    "normalize, add --model, --host 127.0.0.1 and a free --port",
                    vec![details.cache_dir.join("ports")],
                ),
            ],
            binary_path,
            tools: Vec::new(),
            model_ref: model.model_ref.clone(),
            model_digest: model.digest,
            server_flags: pool.provisioning.flags.clone(),
            ports: pool.provisioning.ports.clone(),
            details: Some(Arc::new(details)),
        })
    }

    /// Carry out a plan made by this provider's [`EngineProvisioner::plan`];
    /// a plan of another mode is refused (`unsupported`).
    pub fn execute_with(&self, plan: &Plan, options: &EngineOptions) -> Result<PreparedEngine> {
        lifecycle::execute(plan, options, |say| self.run(plan, options, say))
    }

    /// The lifecycle: start, preflight (the binary is there and
    /// executable), binary check (`--version`), hash, model, flags, port.
    fn run(&self, plan: &Plan, options: &EngineOptions, say: &Say<'_>) -> Result<PreparedEngine> {
        let details = lifecycle::details::<ExternalPlan>(plan)?;
        let t0 = Instant::now();
        let replica_id = lifecycle::finish::replica_id(options)?;
        say.step(
            ev::START,
            &plan.pool_id,
            format!(
                "Starting engine provisioning for pool {}: llama.cpp external binary {}",
                plan.pool_id,
                details.configured.display()
            ),
        );
        say.step(
            ev::PREFLIGHT,
            &plan.pool_id,
            format!(
                "Checking the external binary {}",
                plan.binary_path.display()
            ),
        );
        let binary = executable(plan, details)?;
        let (version, commit) = in_step(step_span!(ev::ACTOR, "binary-check"), || {
            self.check_version(plan, &binary, &options.cancel, say)
        })?;
        let sha256 =
            version_check::sha256_hex(&binary).map_err(|why| binary_error(plan, &binary, why))?;
        let model_path = in_step(step_span!(ev::ACTOR, "model"), || {
            lifecycle::model::run(plan, &self.models, options)
        })?;
        let target = lifecycle::finish::Target {
            cache_dir: &details.cache_dir,
            // The build is unknown: GPU-layer flags pass through as written.
            cuda: true,
            device_mask: details.device_mask.clone(),
            commit,
            binary_sha256: sha256,
            engine_version: version,
        };
        let mut prepared = in_step(step_span!(ev::ACTOR, "finish"), || {
            lifecycle::finish::run(plan, target, replica_id, model_path)
        })?;
        prepared.binary_path = binary;
        Ok(lifecycle::finalize(prepared, say, t0))
    }

    /// `binary --version`, cancellable and bounded by the timeout: the
    /// engine version (`llamacpp-external:b<N>`) and the commit it names.
    fn check_version(
        &self,
        plan: &Plan,
        binary: &Path,
        cancel: &Cancel,
        say: &Say<'_>,
    ) -> Result<(String, String)> {
        let target = binary.display().to_string();
        say.step(
            ev::BINARY_CHECK,
            &target,
            format!("Running {target} --version"),
        );
        let t = Instant::now();
        let answer = match version_check::run(binary, &self.env(cancel), self.version_timeout) {
            Ok(answer) => answer,
            Err(Refused::Cancelled) => {
                return Err(ProvisionError::cancelled(&plan.pool_id, ev::BINARY_CHECK));
            }
            Err(Refused::Problem(why)) => return Err(binary_error(plan, binary, why)),
        };
        let version = format!("llamacpp-external:b{}", answer.build);
        say.done(
            ev::BINARY_CHECK,
            &target,
            format!(
                "{target} answers: version {} ({}), engine {version}",
                answer.build, answer.commit
            ),
            t.elapsed(),
        );
        Ok((version, answer.commit))
    }
}

/// The resolved binary, when it exists as an executable file.
fn executable(plan: &Plan, details: &ExternalPlan) -> Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let Some(binary) = &details.resolved else {
        return Err(binary_error(
            plan,
            &details.configured,
            "not found on PATH".into(),
        ));
    };
    match std::fs::metadata(binary) {
        Err(e) => Err(binary_error(plan, binary, format!("cannot be read: {e}"))),
        Ok(m) if !m.is_file() => Err(binary_error(plan, binary, "is not a file".into())),
        Ok(m) if m.permissions().mode() & 0o111 == 0 => {
            Err(binary_error(plan, binary, "is not executable".into()))
        }
        Ok(_) => Ok(binary.clone()),
    }
}

fn binary_error(plan: &Plan, binary: &Path, problem: String) -> ProvisionError {
    ProvisionError::ExternalBinary {
        pool_id: plan.pool_id.clone(),
        binary: binary.display().to_string(),
        problem,
    }
}

impl EngineProvisioner for LlamaCppExternal {
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
