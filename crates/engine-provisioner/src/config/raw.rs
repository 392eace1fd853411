//! The pool TOML as written: plain strings where [`PoolConfig`] has types.
//! Serde reads this shape; the conversion below types each value and names
//! the key of the first one refused, as a typed [`ConfigError`] (a serde
//! error would only carry it as text).

use super::{
    Binary, Build, ConfigError, Engine, External, Mode, ModelSpec, PoolConfig, Provisioning, Source,
};
use crate::refs::{GitRef, RepoUrl};
use model_provisioner::{Digest, ModelRef};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPool {
    id: String,
    engine: Engine,
    #[serde(default)]
    provisioning: RawProvisioning,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProvisioning {
    #[serde(default)]
    allow_package_installs: bool,
    #[serde(default)]
    allow_binary_downloads: bool,
    #[serde(default)]
    ports: Vec<u16>,
    #[serde(default)]
    flags: Vec<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    mode: Mode,
    #[serde(default)]
    source: Option<RawSource>,
    #[serde(default)]
    external: Option<External>,
    #[serde(default)]
    binary: Option<RawBinary>,
    #[serde(default)]
    model: Option<RawModel>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBinary {
    url: String,
    #[serde(default)]
    sha256: Option<String>,
    #[serde(default)]
    binary: Option<PathBuf>,
    #[serde(default)]
    install_dir: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    repo: String,
    #[serde(rename = "ref")]
    git_ref: String,
    #[serde(default)]
    submodules: bool,
    #[serde(default)]
    build: Build,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModel {
    #[serde(rename = "ref")]
    model_ref: String,
    #[serde(default)]
    digest: Option<String>,
    /// Read only to refuse it with advice (see [`RawModel::typed`]).
    #[serde(default)]
    cache_dir: Option<PathBuf>,
}

impl TryFrom<RawPool> for PoolConfig {
    type Error = ConfigError;

    fn try_from(raw: RawPool) -> Result<Self, ConfigError> {
        let p = raw.provisioning;
        let pool = PoolConfig {
            id: raw.id,
            engine: raw.engine,
            provisioning: Provisioning {
                allow_package_installs: p.allow_package_installs,
                allow_binary_downloads: p.allow_binary_downloads,
                ports: p.ports,
                flags: p.flags,
                env: p.env,
                mode: p.mode,
                source: p.source.map(RawSource::typed).transpose()?,
                external: p.external,
                binary: p.binary.map(RawBinary::typed).transpose()?,
                model: p.model.map(RawModel::typed).transpose()?,
            },
        };
        pool.validate()?;
        Ok(pool)
    }
}

impl RawSource {
    fn typed(self) -> Result<Source, ConfigError> {
        Ok(Source {
            repo: RepoUrl::parse(&self.repo)
                .map_err(|e| ConfigError::from_validation("provisioning.source.repo", e))?,
            git_ref: GitRef::parse(&self.git_ref)
                .map_err(|e| ConfigError::from_validation("provisioning.source.ref", e))?,
            submodules: self.submodules,
            build: self.build,
        })
    }
}

impl RawBinary {
    fn typed(self) -> Result<Binary, ConfigError> {
        let url = ModelRef::parse(&self.url)
            .map_err(|e| ConfigError::invalid("provisioning.binary.url", e.to_string()))?;
        // A bare hex digest (what `sha256sum` prints) or `sha256:<hex>`.
        let sha256 = self
            .sha256
            .as_deref()
            .map(|s| {
                if s.contains(':') {
                    s.parse::<Digest>()
                } else {
                    format!("sha256:{s}").parse::<Digest>()
                }
            })
            .transpose()
            .map_err(|e| ConfigError::invalid("provisioning.binary.sha256", e.to_string()))?;
        Ok(Binary {
            url,
            sha256,
            binary: self.binary,
            install_dir: self.install_dir,
        })
    }
}

impl RawModel {
    fn typed(self) -> Result<ModelSpec, ConfigError> {
        if self.cache_dir.is_some() {
            // The model cache is shared by every pool and the CLI; one pool
            // cannot move it.
            return Err(ConfigError::invalid(
                "provisioning.model.cache_dir",
                "is no longer supported: the model cache belongs to the shared model provisioner. \
                 Remove this key and set HF_HUB_CACHE (or HF_HOME) for the process, or build the \
                 ModelProvisioner handed to the engine provisioner with that cache dir \
                 (ModelProvisioner::builder(dir) or Locations::with_cache_dir)",
            ));
        }
        let model_ref = ModelRef::parse(&self.model_ref)
            .map_err(|e| ConfigError::invalid("provisioning.model.ref", e.to_string()))?;
        let digest = self
            .digest
            .as_deref()
            .map(str::parse::<Digest>)
            .transpose()
            .map_err(|e| ConfigError::invalid("provisioning.model.digest", e.to_string()))?;
        Ok(ModelSpec { model_ref, digest })
    }
}
