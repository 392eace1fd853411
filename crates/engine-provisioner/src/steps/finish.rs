//! The last step: the port (stable per pool and replica, see `port`), the
//! normalized `llama-server` flags and the server's environment,
//! assembled into the [`PreparedEngine`].

use super::build::Built;
use crate::config::ConfigError;
use crate::error::{ProvisionError, Result};
use crate::options::EngineOptions;
use crate::plan::Plan;
use crate::prepared::PreparedEngine;
use crate::{flags, port, validate};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The options' replica id, checked: it names a file in the cache dir.
pub(crate) fn replica_id(options: &EngineOptions) -> Result<String> {
    let id = options.replica();
    validate::pool_id(id).map_err(|_| {
        ProvisionError::Config(ConfigError::invalid(
            "replica_id",
            format!(
                "{id:?} is not a valid replica id: use 1-64 letters, digits, '-', '_' or '.', not starting with '-' or '.'"
            ),
        ))
    })?;
    Ok(id.to_string())
}

/// Everything the supervisor needs to start the engine.
pub(crate) fn run(
    plan: &Plan,
    replica_id: String,
    commit: String,
    built: Built,
    model_path: PathBuf,
) -> Result<PreparedEngine> {
    let record = port::record_path(&plan.cache_dir, &plan.pool_id, &replica_id);
    let port_error = |source| ProvisionError::Port {
        pool_id: plan.pool_id.clone(),
        source,
    };
    let mut port = port::choose(&plan.ports, port::remembered(&record)).map_err(port_error)?;
    // Checked again right before it is handed out; taken in between: the
    // next choice (configured ports first, then an ephemeral one).
    if !port::is_free(port) {
        port = port::choose(&plan.ports, None).map_err(port_error)?;
    }
    port::remember(&record, port);
    let flags = flags::server_flags(
        &plan.server_flags,
        &model_path.to_string_lossy(),
        port::HOST,
        port,
        plan.cuda,
    );
    Ok(PreparedEngine {
        binary_path: plan.binary_path.clone(),
        flags,
        host: port::HOST.into(),
        port,
        health_url: format!("http://{}:{port}/health", port::HOST),
        env: server_env(plan),
        model_path,
        engine_version: plan.engine_version.clone(),
        commit,
        binary_sha256: built.binary_sha256,
        provisioning_mode: "source".into(),
        pool_id: plan.pool_id.clone(),
        replica_id,
        device_mask: plan.device_mask.clone(),
        trace_id: None,
        traceparent: None,
    })
}

/// The variables the server starts with: the device mask for CUDA builds.
/// The binary is linked statically (`BUILD_SHARED_LIBS=OFF`) and a CUDA
/// build finds its runtime through the build's RPATH, so nothing else.
fn server_env(plan: &Plan) -> BTreeMap<String, String> {
    plan.device_mask
        .iter()
        .map(|mask| ("CUDA_VISIBLE_DEVICES".to_string(), mask.clone()))
        .collect()
}
