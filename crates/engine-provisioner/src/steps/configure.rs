//! CMake configure: purge a stale cache first, and for CUDA builds retry
//! once with a compatible host compiler. A GPU build is never replaced by
//! a CPU build.

use crate::actions as ev;
use crate::cache::FileId;
use crate::cmake;
use crate::error::{ProvisionError, Result};
use crate::exec::{self, Failure, Stop, ToolEnv};
use crate::say::Say;
use crate::source_plan::SourcePlan;
use crate::toolchain::Toolchain;
use narration_core::outcome;
use std::path::{Path, PathBuf};

/// Configure with `defs`. Returns the identities of the retry host
/// compilers (empty without a retry): they join the cache key.
pub(super) fn run(
    plan: &SourcePlan,
    tools: &Toolchain,
    env: &ToolEnv,
    defs: &[String],
    say: &Say<'_>,
) -> Result<Vec<FileId>> {
    let stale = purge_if_stale(plan, defs)?;
    say.counted(
        ev::CMAKE_CONFIGURE,
        &plan.pool_id,
        describe(plan, defs, stale),
        outcome::MISS,
        None,
    );
    let first = match configure(plan, tools, env, defs) {
        Ok(()) => return Ok(Vec::new()),
        Err(Stop::Cancelled) => return Err(cancelled(plan)),
        Err(Stop::Failed(f)) => f,
    };
    if !plan.cuda {
        return Err(configure_error(
            plan,
            first,
            "Check the CMake error above; the flags come from provisioning.source.build.cmake_flags.".into(),
        ));
    }
    retry_with_host_compiler(plan, tools, env, defs, first, say)
}

/// Run `cmake -S -B -G <defs>`; remember `defs` when it succeeds.
fn configure(
    plan: &SourcePlan,
    tools: &Toolchain,
    env: &ToolEnv,
    defs: &[String],
) -> std::result::Result<(), Stop> {
    let mut cmd = env.command(&tools.cmake);
    cmd.args(cmake::configure_args(
        &plan.checkout_dir,
        &plan.build_dir,
        plan.generator,
        defs,
    ));
    exec::run_logged(cmd, &plan.build_log, &env.cancel)?;
    save_last_defs(plan, defs);
    Ok(())
}

/// The human line of `cmake-configure`.
fn describe(plan: &SourcePlan, defs: &[String], stale: Option<String>) -> String {
    let mut human = format!("Configuring CMake build with flags: {defs:?}");
    if !plan.mapped_flags.is_empty() {
        human.push_str(&format!(" ({:?} mapped to GGML_CUDA)", plan.mapped_flags));
    }
    if let Some(reason) = stale {
        human.push_str(&format!("; purged stale CMakeCache.txt: {reason}"));
    }
    human
}

/// The CUDA retry: the first compatible host compiler pair, a fresh cache.
fn retry_with_host_compiler(
    plan: &SourcePlan,
    tools: &Toolchain,
    env: &ToolEnv,
    defs: &[String],
    first: Failure,
    say: &Say<'_>,
) -> Result<Vec<FileId>> {
    let Some((cc, cxx)) = cmake::find_host_compiler(env) else {
        let tried: Vec<&str> = cmake::HOST_COMPILERS.iter().map(|(c, _)| *c).collect();
        return Err(configure_error(
            plan,
            first,
            format!(
                "No compatible host compiler to retry with (looked for {}). Install gcc-13 and g++-13, or set -DCMAKE_CUDA_HOST_COMPILER in cmake_flags. A GPU build is never replaced by a CPU build.",
                tried.join(", ")
            ),
        ));
    };
    say.step(
        ev::CMAKE_RETRY,
        &plan.pool_id,
        format!(
            "CUDA configure failed ({}); retrying once with host compiler {} / {}",
            first.status,
            cc.display(),
            cxx.display()
        ),
    );
    // A new compiler needs a fresh cache.
    purge(plan)?;
    let mut retry_defs = defs.to_vec();
    retry_defs.extend(cmake::host_compiler_defs(&cc, &cxx));
    match configure(plan, tools, env, &retry_defs) {
        Ok(()) => Ok([cc, cxx].iter().filter_map(|p| FileId::of(p)).collect()),
        Err(Stop::Cancelled) => Err(cancelled(plan)),
        Err(Stop::Failed(f)) => Err(configure_error(
            plan,
            f,
            format!(
                "The retry with host compiler {} failed too. Check that the CUDA toolkit supports this compiler and GPU (set -DCMAKE_CUDA_ARCHITECTURES), or set -DCMAKE_CUDA_HOST_COMPILER yourself. A GPU build is never replaced by a CPU build.",
                cxx.display()
            ),
        )),
    }
}

fn cancelled(plan: &SourcePlan) -> ProvisionError {
    ProvisionError::cancelled(&plan.pool_id, ev::CMAKE_CONFIGURE)
}

fn configure_error(plan: &SourcePlan, f: Failure, advice: String) -> ProvisionError {
    ProvisionError::CmakeConfigure {
        cuda: plan.cuda,
        status: f.status,
        tail: cmake::error_excerpt(&f.tail),
        advice,
        log: plan.build_log.clone(),
    }
}

/// Purge `CMakeCache.txt` when CMake would misuse it; the reason, if so.
fn purge_if_stale(plan: &SourcePlan, defs: &[String]) -> Result<Option<String>> {
    let last: Option<Vec<String>> = std::fs::read(last_defs_path(&plan.cache_dir))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let stale = cmake::stale_cache_reason(&plan.build_dir, plan.generator, defs, last.as_deref());
    if stale.is_some() {
        purge(plan)?;
    }
    Ok(stale)
}

fn purge(plan: &SourcePlan) -> Result<()> {
    cmake::purge_cache(&plan.build_dir).map_err(|source| ProvisionError::Io {
        what: "cannot remove the stale CMake cache in",
        path: plan.build_dir.clone(),
        source,
    })?;
    let _ = std::fs::remove_file(last_defs_path(&plan.cache_dir));
    Ok(())
}

/// The definitions of the last successful configure, kept to notice a
/// removed flag that CMake's cache would otherwise keep.
fn last_defs_path(cache_dir: &Path) -> PathBuf {
    cache_dir.join("configure.json")
}

fn save_last_defs(plan: &SourcePlan, defs: &[String]) {
    if let Ok(json) = serde_json::to_vec(defs) {
        // Only an optimization for the next configure: losing it is fine.
        let _ = std::fs::write(last_defs_path(&plan.cache_dir), json);
    }
}
