//! The `binary` mode's plan: the neutral [`Plan`] with its steps, and
//! the typed details ([`BinaryPlan`]) the provider executes it with.

use super::install;
use crate::config::{Mode, PoolConfig};
use crate::error::{ProvisionError, Result};
use crate::plan::{ModeDetails, Plan, PlanStep};
use crate::pool_inputs::{required_model, xdg_engines_dir};
use model_provisioner::{Digest, ModelRef};
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The `binary` mode's details in a [`Plan`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BinaryPlan {
    /// The archive's URL, without credentials.
    pub url: String,
    /// The archive reference as typed (credentials kept, never shown).
    #[serde(skip)]
    pub source: ModelRef,
    /// The expected sha256 of the archive, when the pool names one.
    pub sha256: Option<Digest>,
    /// `provisioning.binary.binary`: the binary's path inside the archive.
    pub binary: Option<PathBuf>,
    /// Root of installs (`<install_dir>/<sha256>/`), downloads
    /// (`downloads/`) and port records (`ports/`).
    pub install_dir: PathBuf,
    /// `CUDA_VISIBLE_DEVICES` from the pool env, handed to the server.
    pub device_mask: Option<String>,
}

impl ModeDetails for BinaryPlan {
    fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// The neutral plan of a `binary` pool; reads and writes nothing.
pub(super) fn make(pool: &PoolConfig, version_timeout: Duration) -> Result<Plan> {
    pool.validate()?;
    let binary = pool.provisioning.binary.as_ref().ok_or_else(|| {
        ProvisionError::MissingSection {
            pool_id: pool.id.clone(),
            key: "provisioning.binary",
            hint: "add url and sha256 of a llama.cpp release archive under [provisioning.binary]",
        }
    })?;
    let model = required_model(pool)?;
    let install_dir = match &binary.install_dir {
        Some(dir) => dir.clone(),
        None => xdg_engines_dir("provisioning.binary.install_dir")?.join("binary"),
    };
    let details = BinaryPlan {
        url: binary.url.id(),
        source: binary.url.clone(),
        sha256: binary.sha256,
        binary: binary.binary.clone(),
        install_dir,
        device_mask: pool.provisioning.env.get("CUDA_VISIBLE_DEVICES").cloned(),
    };
    let install = match &details.sha256 {
        Some(d) => install::final_dir(&details.install_dir, &d.hex()),
        None => details.install_dir.clone(),
    };
    let binary_path = install.join(
        details
            .binary
            .clone()
            .unwrap_or_else(|| PathBuf::from("llama-server")),
    );
    let digest = details.sha256.map_or_else(
        || "the sha256 its source publishes".into(),
        |d| d.to_string(),
    );
    Ok(Plan {
        pool_id: pool.id.clone(),
        engine: "llamacpp".into(),
        mode: Mode::Binary,
        engine_version: "llamacpp-binary".into(),
        steps: vec![
            PlanStep::new(
                "binary-download",
                format!(
                    "download {} unless {} is installed, checking {digest}",
                    details.url,
                    install.display()
                ),
                vec![details.install_dir.join("downloads")],
            ),
            PlanStep::new(
                "unpack",
                "unpack into a temporary folder beside the installs, refusing unsafe entries",
                vec![details.install_dir.clone()],
            ),
            PlanStep::new(
                "binary-check",
                format!(
                    "run llama-server --version (at most {} s) with its folder on LD_LIBRARY_PATH",
                    version_timeout.as_secs()
                ),
                vec![binary_path.clone()],
            ),
            PlanStep::new(
                "install",
                "rename the checked folder into place under the archive's sha256",
                vec![install],
            ),
            PlanStep::new("model", format!("ensure {}", model.model_ref.id()), vec![]),
            PlanStep::new(
                "flags",
                "normalize, add --model, --host 127.0.0.1 and a free --port",
                vec![details.install_dir.join("ports")],
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
