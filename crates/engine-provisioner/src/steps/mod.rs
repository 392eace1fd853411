//! The steps of an ensure, one module each, in the order they run:
//! preflight → checkout → build (cache, configure, compile) → model →
//! finish (flags, port). Steps return errors; they do not narrate their
//! own failures (the lifecycle does, once).

pub(crate) mod build;
pub(crate) mod checkout;
mod configure;
pub(crate) mod finish;
pub(crate) mod model;
pub(crate) mod preflight;

use crate::error::{ProvisionError, Result};
use crate::plan::Plan;
use crate::prepared::PreparedEngine;
use crate::say::Say;
use narration_core::catalog::engine as ev;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// `start`: what is about to be prepared.
pub(crate) fn announce(plan: &Plan, say: &Say<'_>) {
    let variant = if plan.cuda { "cuda" } else { "cpu" };
    say.step(
        ev::START,
        &plan.pool_id,
        format!(
            "Starting engine provisioning for pool {}: llama.cpp {} ({variant}) from {}",
            plan.pool_id, plan.git_ref, plan.repo
        ),
    );
}

/// `complete`: what was prepared, and how long it took.
pub(crate) fn complete(prepared: &PreparedEngine, say: &Say<'_>, t0: Instant) {
    say.complete(
        &prepared.engine_version,
        format!(
            "Engine prepared: {} at port {}, model: {}",
            prepared.engine_version,
            prepared.port,
            prepared.model_path.display()
        ),
        t0.elapsed(),
    );
}

/// One ensure at a time per cache dir (other processes included), from
/// preflight to the end of the build; released before the model step.
#[derive(Debug)]
pub(crate) struct BuildLock {
    file: File,
}

impl BuildLock {
    /// Create the cache dir and take `<cache_dir>/.lock`, waiting for a
    /// holder to finish.
    pub(crate) fn acquire(cache_dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(cache_dir).map_err(|source| ProvisionError::Io {
            what: "cannot create cache dir",
            path: cache_dir.to_path_buf(),
            source,
        })?;
        let path = lock_path(cache_dir);
        let io = |source| ProvisionError::Io {
            what: "cannot lock",
            path: path.clone(),
            source,
        };
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io)?;
        file.lock().map_err(io)?;
        Ok(Self { file })
    }

    /// Let the next ensure in.
    pub(crate) fn release(self) {
        // Closing the file releases the lock; unlocking first says so.
        let _ = self.file.unlock();
    }
}

/// The lock file of a cache dir.
pub(crate) fn lock_path(cache_dir: &Path) -> PathBuf {
    cache_dir.join(".lock")
}
