//! The model step: the plan's model ref and digest, already typed, handed
//! to the shared model provisioner (resolve, fetch when needed, verify,
//! inspect, catalogue). It narrates its own steps.

use crate::error::{ProvisionError, Result};
use crate::options::EngineOptions;
use crate::plan::Plan;
use model_provisioner::{EnsureOptions, ErrorKind, ModelProvisioner};
use std::path::PathBuf;

/// The verified local model file. The caller's token, observer and
/// correlation id go with it; a cancelled model ensure is the engine's
/// `Cancelled` (step `model`), so a caller matches one variant.
pub(crate) fn run(
    plan: &Plan,
    models: &ModelProvisioner,
    engine: &EngineOptions,
) -> Result<PathBuf> {
    let options = EnsureOptions {
        pool_id: Some(plan.pool_id.clone()),
        correlation_id: engine.correlation_id.clone(),
        cancel: engine.cancel.clone(),
        progress: engine.progress.clone(),
    };
    models
        .ensure_present_with(&plan.model_ref, plan.model_digest, &options)
        .map(|resolved| resolved.local_path)
        .map_err(|source| {
            if source.kind() == ErrorKind::Cancelled {
                return ProvisionError::cancelled(&plan.pool_id, STEP);
            }
            ProvisionError::Model {
                pool_id: plan.pool_id.clone(),
                model_ref: plan.model_ref.id(),
                source: Box::new(source),
            }
        })
}

/// The step named when a cancel stops the model.
const STEP: &str = "model";
