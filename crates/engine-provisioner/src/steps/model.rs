//! The model step: the plan's model ref and digest, already typed, handed
//! to the shared model provisioner (resolve, fetch when needed, verify,
//! inspect, catalogue). It narrates its own steps.

use crate::error::{ProvisionError, Result};
use crate::plan::Plan;
use model_provisioner::{EnsureOptions, ModelProvisioner};
use std::path::PathBuf;

/// The verified local model file.
pub(crate) fn run(plan: &Plan, models: &ModelProvisioner) -> Result<PathBuf> {
    let options = EnsureOptions {
        pool_id: Some(plan.pool_id.clone()),
        ..EnsureOptions::default()
    };
    models
        .ensure_present_with(&plan.model_ref, plan.model_digest, &options)
        .map(|resolved| resolved.local_path)
        .map_err(|source| ProvisionError::Model {
            pool_id: plan.pool_id.clone(),
            model_ref: plan.model_ref.id(),
            source: Box::new(source),
        })
}
