//! The pool inputs every mode's plan reads alike: the model section no
//! pool can do without, and the default engine cache dirs. Below every
//! mode, so a mode never imports another mode for them.

use crate::config::{ConfigError, ModelSpec, PoolConfig};
use crate::error::ProvisionError;
use model_provisioner::locations::{env_var, xdg_cache_home};
use std::path::PathBuf;

/// `$XDG_CACHE_HOME/provision/engines/<id>`, else `~/.cache/…`; refused
/// when neither gives an absolute path.
pub(crate) fn default_cache_dir(pool_id: &str, key: &str) -> Result<PathBuf, ProvisionError> {
    Ok(xdg_engines_dir(key)?.join(pool_id))
}

/// `$XDG_CACHE_HOME/provision/engines`, else `~/.cache/…`; refused when
/// neither gives an absolute path.
pub(crate) fn xdg_engines_dir(key: &str) -> Result<PathBuf, ProvisionError> {
    let dir = xdg_cache_home(&env_var).join("provision").join("engines");
    if dir.is_absolute() {
        Ok(dir)
    } else {
        Err(ProvisionError::Config(ConfigError::invalid(
            key,
            "neither XDG_CACHE_HOME nor HOME gives an absolute path: set this key to an absolute path",
        )))
    }
}

/// `[provisioning.model]`, which every pool needs.
pub(crate) fn required_model(pool: &PoolConfig) -> Result<&ModelSpec, ProvisionError> {
    pool.provisioning
        .model
        .as_ref()
        .ok_or_else(|| ProvisionError::MissingSection {
            pool_id: pool.id.clone(),
            key: "provisioning.model",
            hint: "add ref (a path or hf:org/repo/file.gguf) under [provisioning.model]",
        })
}
