//! The build step: reuse the cached build when its stamp matches, else
//! configure (see `configure`), build `llama-server`, hash it and stamp it.

use super::configure;
use crate::build_progress::BuildProgress;
use crate::cache::{self, CacheKey, FileId, Stamp};
use crate::cmake;
use crate::error::{ProvisionError, Result};
use crate::exec::{self, Stop, ToolEnv};
use crate::say::Say;
use crate::source_plan::SourcePlan;
use crate::toolchain::Toolchain;
use narration_core::catalog::engine as ev;
use std::time::Instant;
use verified_download::{ProgressReporter, ProgressStep};

/// The result of the build step.
#[derive(Debug)]
pub(crate) struct Built {
    /// sha256 of the binary (hex).
    pub binary_sha256: String,
}

/// The binary for `commit`, from the cache or built now.
pub(crate) fn run(
    plan: &SourcePlan,
    tools: &Toolchain,
    env: &ToolEnv,
    commit: &str,
    progress: &ProgressReporter,
    say: &Say<'_>,
) -> Result<Built> {
    let t = Instant::now();
    let key = cache_key(plan, tools, commit);
    if let Some(stamp) = cache::hit(&plan.stamp_path, &key, &plan.binary_path) {
        say.done(
            ev::BUILD_CACHED,
            &plan.pool_id,
            format!(
                "Build cache hit for {} ({}): reusing {} built in {} s",
                plan.git_ref,
                &commit[..commit.len().min(12)],
                plan.binary_path.display(),
                stamp.build_ms / 1000
            ),
            t.elapsed(),
        );
        return Ok(Built {
            binary_sha256: stamp.binary_sha256,
        });
    }
    invalidate(plan)?;
    progress.begin(ProgressStep::Configure, None);
    let host_compilers = configure::run(plan, tools, env, &key.defs, say)?;
    let tb = Instant::now();
    compile(plan, tools, env, progress, say)?;
    let built = stamp(plan, key, host_compilers, t)?;
    say.done(
        ev::BUILT,
        &plan.pool_id,
        format!(
            "Built {} in {} s (build step {} s)",
            plan.binary_path.display(),
            t.elapsed().as_secs(),
            tb.elapsed().as_secs()
        ),
        t.elapsed(),
    );
    Ok(built)
}

/// (commit, generator, every definition with CUDA hints, compilers).
fn cache_key(plan: &SourcePlan, tools: &Toolchain, commit: &str) -> CacheKey {
    let mut defs = plan.cmake_defs.clone();
    if let (Some(root), Some(nvcc)) = (&tools.cuda_root, &tools.nvcc) {
        defs.extend(cmake::cuda_hints(root, nvcc));
    }
    let compilers = [Some(&tools.cc), Some(&tools.cxx), tools.nvcc.as_ref()]
        .into_iter()
        .flatten()
        .filter_map(|p| FileId::of(p))
        .collect();
    CacheKey {
        commit: commit.to_string(),
        generator: plan.generator.cmake_name().to_string(),
        defs,
        compilers,
    }
}

/// From here on the old binary no longer matches: no stamp until the new
/// one exists, so an interrupted build never looks finished.
fn invalidate(plan: &SourcePlan) -> Result<()> {
    cache::invalidate(&plan.stamp_path).map_err(|source| ProvisionError::Io {
        what: "cannot remove the build stamp",
        path: plan.stamp_path.clone(),
        source,
    })?;
    let _ = std::fs::write(&plan.build_log, b"");
    Ok(())
}

/// `cmake --build … --target llama-server -j N`, its `[n/N]` reported as
/// it streams. A cancel leaves the build dir as it is (and no stamp): the
/// next ensure configures and builds again, and CMake/Ninja carry on from
/// the objects already compiled.
fn compile(
    plan: &SourcePlan,
    tools: &Toolchain,
    env: &ToolEnv,
    progress: &ProgressReporter,
    say: &Say<'_>,
) -> Result<()> {
    say.step(
        ev::CMAKE_BUILD,
        &plan.pool_id,
        format!(
            "Building llama-server with {} parallel jobs (log: {})",
            plan.jobs,
            plan.build_log.display()
        ),
    );
    let mut cmd = env.command(&tools.cmake);
    cmd.args(cmake::build_args(&plan.build_dir, plan.jobs));
    let steps = BuildProgress::begin(progress);
    match exec::run_logged_lines(cmd, &plan.build_log, &env.cancel, &|l| steps.line(l)) {
        Ok(()) => {
            steps.finish();
            Ok(())
        }
        Err(Stop::Cancelled) => Err(ProvisionError::cancelled(&plan.pool_id, ev::CMAKE_BUILD)),
        Err(Stop::Failed(f)) => Err(ProvisionError::Build {
            status: f.status,
            tail: f.tail,
            log: plan.build_log.clone(),
        }),
    }
}

/// Hash the new binary and write the stamp (atomically).
fn stamp(
    plan: &SourcePlan,
    key: CacheKey,
    host_compilers: Vec<FileId>,
    t: Instant,
) -> Result<Built> {
    let binary = FileId::of(&plan.binary_path).ok_or_else(|| ProvisionError::BinaryMissing {
        path: plan.binary_path.clone(),
        log: plan.build_log.clone(),
    })?;
    let (digest, _) =
        verified_download::hash_file(&plan.binary_path).map_err(|source| ProvisionError::Io {
            what: "cannot hash",
            path: plan.binary_path.clone(),
            source,
        })?;
    let stamp = Stamp {
        key,
        host_compilers,
        binary,
        binary_sha256: digest.hex(),
        build_ms: t.elapsed().as_millis() as u64,
    };
    cache::write(&plan.stamp_path, &stamp).map_err(|source| ProvisionError::Io {
        what: "cannot write the build stamp",
        path: plan.stamp_path.clone(),
        source,
    })?;
    Ok(Built {
        binary_sha256: stamp.binary_sha256,
    })
}
