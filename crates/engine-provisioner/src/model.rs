//! The model step: the pool's model reference, handed to model-provisioner.

use crate::config::ModelSpec;
use crate::error::ProvisionError;
use model_provisioner::{Digest, ModelRef};
use std::path::PathBuf;

/// A verified local model file for `spec`.
pub fn ensure(pool_id: &str, spec: &ModelSpec) -> Result<PathBuf, ProvisionError> {
    let fail = |message: String| ProvisionError::Model {
        pool_id: pool_id.to_string(),
        model_ref: spec.model_ref.clone(),
        message,
    };
    let digest: Option<Digest> = match &spec.digest {
        Some(d) => Some(d.parse().map_err(|e| fail(format!("{e}")))?),
        None => None,
    };
    let model_ref = ModelRef::parse(&spec.model_ref).map_err(|e| fail(e.to_string()))?;
    match model_ref {
        ModelRef::File { path } => {
            if !path.is_file() {
                return Err(fail(format!("{} does not exist", path.display())));
            }
            if let Some(want) = digest {
                let (got, _) = model_provisioner::hash_file(&path)
                    .map_err(|e| fail(format!("cannot read {}: {e}", path.display())))?;
                if got != want {
                    return Err(fail(format!(
                        "digest mismatch: expected {want}, file has {got}"
                    )));
                }
            }
            Ok(path)
        }
        other => Err(fail(format!(
            "{} references need the model-provisioner fetcher",
            other.scheme()
        ))),
    }
}
