//! The `source` mode's own steps, one module each, in the order they
//! run: preflight → checkout → build (cache, configure, compile); then
//! the steps every mode shares ([`crate::lifecycle`]: model, finish).
//! Steps return errors; they do not narrate their own failures (the
//! lifecycle does, once).

pub(crate) mod build;
pub(crate) mod checkout;
mod configure;
pub(crate) mod preflight;

use crate::actions as ev;
use crate::error::{ProvisionError, Result};
use crate::say::Say;
use crate::source_plan::SourcePlan;
use std::path::{Path, PathBuf};
use verified_download::file_lock::{self, FileLock, LockError, LockWait, Waiting};
use verified_download::{Cancel, ProgressReporter, ProgressStep};

/// `start`: what is about to be prepared.
pub(crate) fn announce(plan: &SourcePlan, say: &Say<'_>) {
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

/// One ensure at a time per cache dir (other processes included), from
/// preflight to the end of the build; released before the model step. A
/// wait is narrated (`lock-wait`, after about a second) and bounded.
#[derive(Debug)]
pub(crate) struct BuildLock {
    lock: FileLock,
}

impl BuildLock {
    /// Create the cache dir and take `<cache_dir>/.lock`, waiting for a
    /// holder to finish, at most as long as `policy` says.
    /// `cancel` ends the wait at once (`Cancelled` in step `lock-wait`);
    /// a wait is reported to `progress` as the `lock-wait` step.
    pub(crate) fn acquire(
        cache_dir: &Path,
        policy: LockWait,
        cancel: &Cancel,
        progress: &ProgressReporter,
        say: &Say<'_>,
    ) -> Result<Self> {
        std::fs::create_dir_all(cache_dir).map_err(|source| ProvisionError::Io {
            what: "cannot create cache dir",
            path: cache_dir.to_path_buf(),
            source,
        })?;
        let path = lock_path(cache_dir);
        let mut told = |w: Waiting<'_>| {
            progress.begin(ProgressStep::LockWait, None);
            let holder = w
                .holder_pid
                .map_or_else(|| "another process".to_string(), |p| format!("pid {p}"));
            say.step(
                ev::LOCK_WAIT,
                say.pool_id,
                format!(
                    "Waiting for {holder}, which is building in {} (lock {})",
                    cache_dir.display(),
                    w.path.display()
                ),
            );
        };
        let lock =
            file_lock::acquire_until(&path, policy, cancel, &mut told).map_err(|e| match e {
                LockError::Io { path, source } => ProvisionError::Io {
                    what: "cannot lock",
                    path,
                    source,
                },
                LockError::Cancelled { .. } => {
                    ProvisionError::cancelled(say.pool_id, ev::LOCK_WAIT)
                }
                timeout => ProvisionError::LockTimeout(timeout),
            })?;
        Ok(Self { lock })
    }

    /// Let the next ensure in.
    pub(crate) fn release(self) {
        self.lock.release();
    }
}

/// The lock file of a cache dir.
pub(crate) fn lock_path(cache_dir: &Path) -> PathBuf {
    cache_dir.join(".lock")
}
