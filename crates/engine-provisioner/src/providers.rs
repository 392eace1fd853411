//! The mode table: which provider prepares a pool, by its
//! `[provisioning] mode`. Adding a mode is one provider module (a type
//! implementing [`EngineProvisioner`] that makes a neutral [`Plan`](crate::Plan)) and
//! one row here — or, outside this crate, one [`Providers::with`] call.

use crate::EngineProvisioner;
use crate::binary::LlamaCppBinary;
use crate::config::{Engine, Mode, PoolConfig};
use crate::error::{ProvisionError, Result};
use crate::external::LlamaCppExternal;
use crate::say::Say;
use crate::source::LlamaCppSource;
use model_provisioner::ModelProvisioner;
use std::sync::Arc;

/// Makes the provider of one mode, getting models from the shared
/// provisioner.
pub type ProviderFactory =
    Arc<dyn Fn(Arc<ModelProvisioner>) -> Box<dyn EngineProvisioner + Send + Sync> + Send + Sync>;

/// Providers by mode (llama.cpp only; other engines are refused before the
/// table is read).
#[derive(Clone)]
pub struct Providers {
    rows: Vec<(Mode, ProviderFactory)>,
}

impl std::fmt::Debug for Providers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.rows.iter().map(|(m, _)| m.as_str()))
            .finish()
    }
}

impl Providers {
    /// The modes this crate provides: `source`, `binary` and `external`.
    pub fn builtin() -> Self {
        Self { rows: Vec::new() }
            .with(Mode::Source, |m| Box::new(LlamaCppSource::new(m)))
            .with(Mode::External, |m| Box::new(LlamaCppExternal::new(m)))
            .with(Mode::Binary, |m| Box::new(LlamaCppBinary::new(m)))
    }

    /// This table with `mode` provided by `make` (replacing a row for the
    /// same mode).
    pub fn with(
        mut self,
        mode: Mode,
        make: impl Fn(Arc<ModelProvisioner>) -> Box<dyn EngineProvisioner + Send + Sync>
        + Send
        + Sync
        + 'static,
    ) -> Self {
        self.rows.retain(|(m, _)| *m != mode);
        self.rows.push((mode, Arc::new(make)));
        self
    }

    /// The factory for `mode`, when the table has one.
    pub fn provider_for_mode(&self, mode: Mode) -> Option<&ProviderFactory> {
        self.rows.iter().find(|(m, _)| *m == mode).map(|(_, f)| f)
    }

    /// The provider for `pool`'s engine and mode; an engine or a mode
    /// without a provider is refused (narrated `provider-failed`).
    pub fn provider_for(
        &self,
        pool: &PoolConfig,
        models: Arc<ModelProvisioner>,
    ) -> Result<Box<dyn EngineProvisioner + Send + Sync>> {
        let refused = match pool.engine {
            Engine::Llamacpp => match self.provider_for_mode(pool.provisioning.mode) {
                Some(make) => return Ok(make(models)),
                None => ProvisionError::UnsupportedMode {
                    pool_id: pool.id.clone(),
                    mode: pool.provisioning.mode.as_str(),
                },
            },
            other => ProvisionError::Unsupported {
                pool_id: pool.id.clone(),
                engine: other.as_str(),
            },
        };
        Say::new(&pool.id).failed(&refused);
        Err(refused)
    }
}
