//! The last step: the port (stable per pool and replica, see `port`), the
//! normalized `llama-server` flags and the server's environment,
//! assembled into the [`PreparedEngine`].

use crate::config::{ConfigError, Mode};
use crate::error::{ProvisionError, Result};
use crate::options::EngineOptions;
use crate::plan::Plan;
use crate::prepared::PreparedEngine;
use crate::{flags, port, validate};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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

/// What the last step needs besides the neutral plan: where port records
/// live, whether the binary offloads to a GPU, and what the binary is.
pub(crate) struct Target<'a> {
    /// The cache dir holding `ports/<pool>/<replica>`.
    pub cache_dir: &'a Path,
    /// A CUDA build (keeps GPU-layer flags).
    pub cuda: bool,
    /// `CUDA_VISIBLE_DEVICES` for the server.
    pub device_mask: Option<String>,
    /// The commit the binary comes from (as far as known).
    pub commit: String,
    /// sha256 of the binary (hex).
    pub binary_sha256: String,
    /// The engine version (`external` learns it from the binary).
    pub engine_version: String,
}

/// Everything the supervisor needs to start the engine.
pub(crate) fn run(
    plan: &Plan,
    target: Target<'_>,
    replica_id: String,
    model_path: PathBuf,
) -> Result<PreparedEngine> {
    let record = port::record_path(target.cache_dir, &plan.pool_id, &replica_id);
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
        target.cuda,
    );
    Ok(PreparedEngine {
        binary_path: plan.binary_path.clone(),
        flags,
        host: port::HOST.into(),
        port,
        health_url: format!("http://{}:{port}/health", port::HOST),
        env: server_env(target.device_mask.as_deref()),
        model_path,
        engine_version: target.engine_version,
        commit: target.commit,
        binary_sha256: target.binary_sha256,
        provisioning_mode: mode_name(plan.mode).into(),
        pool_id: plan.pool_id.clone(),
        replica_id,
        device_mask: target.device_mask,
        trace_id: None,
        traceparent: None,
    })
}

fn mode_name(mode: Mode) -> &'static str {
    mode.as_str()
}

/// The variables the server starts with: the device mask for CUDA builds.
/// The binary is linked statically (`BUILD_SHARED_LIBS=OFF`) and a CUDA
/// build finds its runtime through the build's RPATH, so nothing else.
fn server_env(device_mask: Option<&str>) -> BTreeMap<String, String> {
    device_mask
        .iter()
        .map(|mask| ("CUDA_VISIBLE_DEVICES".to_string(), mask.to_string()))
        .collect()
}
