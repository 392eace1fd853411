//! The last step: a free port and the normalized `llama-server` flags,
//! assembled into the [`PreparedEngine`].

use super::build::Built;
use crate::error::{ProvisionError, Result};
use crate::plan::Plan;
use crate::prepared::PreparedEngine;
use crate::{flags, port};
use std::path::PathBuf;

/// Everything the orchestrator needs to start the engine.
pub(crate) fn run(
    plan: &Plan,
    commit: String,
    built: Built,
    model_path: PathBuf,
) -> Result<PreparedEngine> {
    let port = port::choose(&plan.ports).map_err(|source| ProvisionError::Port {
        pool_id: plan.pool_id.clone(),
        source,
    })?;
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
        model_path,
        engine_version: plan.engine_version.clone(),
        commit,
        binary_sha256: built.binary_sha256,
        provisioning_mode: "source".into(),
        pool_id: plan.pool_id.clone(),
        replica_id: "r0".into(),
        device_mask: plan.device_mask.clone(),
        trace_id: None,
        traceparent: None,
    })
}
