//! The llama.cpp source provider: preflight → git → build (or build cache)
//! → model → flags and port → [`PreparedEngine`]. [`LlamaCppSource::ensure`]
//! reads top to bottom; each step narrates its start and its outcome.

use crate::cache::{self, CacheKey, FileId, Stamp};
use crate::cmake;
use crate::config::PoolConfig;
use crate::error::{ProvisionError, Result};
use crate::exec::{self, ToolEnv};
use crate::git::{self, Git, LocalRef};
use crate::plan::{Plan, required_model, required_source};
use crate::preflight::{self, PackageManager, Toolchain};
use crate::prepared::PreparedEngine;
use crate::say::Say;
use crate::{EngineProvisioner, flags, model, port};
use narration_core::catalog::engine as ev;
use std::ffi::OsString;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Builds `llama-server` from a git checkout of llama.cpp.
///
/// Tools are looked up on the PATH given here (the process PATH by
/// default) and children run with it; tests put fake tools first.
#[derive(Debug, Clone)]
pub struct LlamaCppSource {
    path: OsString,
    cuda_search_dirs: Vec<PathBuf>,
    as_root: bool,
    model_catalog: Option<PathBuf>,
}

impl Default for LlamaCppSource {
    fn default() -> Self {
        Self::new()
    }
}

impl LlamaCppSource {
    /// A provider using the process PATH, the default CUDA search dirs
    /// (`/usr/local`, `/opt`) and the real effective uid.
    pub fn new() -> Self {
        Self {
            path: std::env::var_os("PATH").unwrap_or_default(),
            cuda_search_dirs: preflight::DEFAULT_CUDA_SEARCH_DIRS
                .iter()
                .map(PathBuf::from)
                .collect(),
            as_root: preflight::running_as_root(),
            model_catalog: None,
        }
    }

    /// Record the pool's model in this catalog (and its provenance log
    /// beside it) instead of the default one.
    pub fn with_model_catalog(mut self, catalog: impl Into<PathBuf>) -> Self {
        self.model_catalog = Some(catalog.into());
        self
    }

    /// Use this PATH to find tools and to run them.
    pub fn with_path(mut self, path: impl Into<OsString>) -> Self {
        self.path = path.into();
        self
    }

    /// Look for CUDA roots (`cuda`, `cuda*`) in these dirs when nvcc is
    /// not on PATH.
    pub fn with_cuda_search_dirs(mut self, dirs: Vec<PathBuf>) -> Self {
        self.cuda_search_dirs = dirs;
        self
    }

    /// Override the root check that gates `allow_package_installs`.
    pub fn with_root(mut self, as_root: bool) -> Self {
        self.as_root = as_root;
        self
    }

    fn tool_env(&self, pool: &PoolConfig) -> ToolEnv {
        ToolEnv {
            path: self.path.clone(),
            vars: pool
                .provisioning
                .env
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }

    fn run_ensure(&self, pool: &PoolConfig, say: &Say<'_>, t0: Instant) -> Result<PreparedEngine> {
        let mut env = self.tool_env(pool);
        let plan = Plan::for_pool(pool, &env)?;
        let variant = if plan.cuda { "cuda" } else { "cpu" };
        say.step(
            ev::START,
            &pool.id,
            format!(
                "Starting engine provisioning for pool {}: llama.cpp {} ({variant}) from {}",
                pool.id, plan.git_ref, plan.repo
            ),
        );
        create_dir(&plan.cache_dir)?;
        let _lock = lock(&plan.cache_dir)?;

        let tools = self.preflight(pool, &plan, &mut env, say)?;
        let commit = checkout(pool, &plan, &tools, &env, say)?;
        let built = build(&plan, &tools, &env, &commit, say)?;

        let model_path = model::ensure(
            &pool.id,
            required_model(pool)?,
            self.model_catalog.as_deref(),
        )?;
        let port = port::choose(&pool.provisioning.ports).map_err(|e| ProvisionError::Port {
            pool_id: pool.id.clone(),
            message: e.to_string(),
        })?;
        let model_arg = model_path.to_string_lossy().into_owned();
        let flags = flags::server_flags(
            &pool.provisioning.flags,
            &model_arg,
            port::HOST,
            port,
            plan.cuda,
        );
        let device_mask = plan
            .cuda
            .then(|| pool.provisioning.env.get("CUDA_VISIBLE_DEVICES").cloned())
            .flatten();
        let prepared = PreparedEngine {
            binary_path: plan.binary_path.clone(),
            flags,
            host: port::HOST.into(),
            port,
            model_path,
            engine_version: plan.engine_version.clone(),
            commit,
            binary_sha256: built.binary_sha256,
            provisioning_mode: "source".into(),
            pool_id: pool.id.clone(),
            replica_id: "r0".into(),
            device_mask,
        };
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
        Ok(prepared)
    }

    /// Find the tools; install missing ones when allowed and root.
    fn preflight(
        &self,
        pool: &PoolConfig,
        plan: &Plan,
        env: &mut ToolEnv,
        say: &Say<'_>,
    ) -> Result<Toolchain> {
        say.step(
            ev::PREFLIGHT,
            &pool.id,
            format!("Checking required tools ({})", plan.tools.join(", ")),
        );
        let generator = plan.generator;
        let find = |env: &ToolEnv| {
            preflight::find_tools(env, generator, plan.cuda, &self.cuda_search_dirs)
        };
        let tools = match find(env) {
            Ok(tools) => tools,
            Err(missing) if !pool.provisioning.allow_package_installs => {
                return Err(ProvisionError::MissingTools {
                    missing,
                    note: None,
                });
            }
            Err(missing) => {
                if let Some(note) = self.install_packages(&missing, plan, env, say) {
                    return Err(ProvisionError::MissingTools {
                        missing,
                        note: Some(note),
                    });
                }
                find(env).map_err(|still| ProvisionError::MissingTools {
                    missing: still,
                    note: Some("the package manager ran but these tools are still missing".into()),
                })?
            }
        };
        if let Some(root) = &tools.cuda_root {
            // nvcc outside PATH: children need it on PATH too.
            env.prepend_path(&root.join("bin"));
        }
        Ok(tools)
    }

    /// Try the system package manager; `Some(reason)` when it could not.
    fn install_packages(
        &self,
        missing: &[preflight::MissingTool],
        plan: &Plan,
        env: &ToolEnv,
        say: &Say<'_>,
    ) -> Option<String> {
        if !self.as_root {
            return Some(
                "allow_package_installs is set, but packages are only installed when running as root"
                    .into(),
            );
        }
        let Some((manager, program)) = PackageManager::detect(env) else {
            return Some(
                "allow_package_installs is set, but no apt-get, dnf or pacman was found".into(),
            );
        };
        let packages = manager.packages(missing);
        say.step(
            ev::PACKAGE_INSTALL,
            &plan.pool_id,
            format!(
                "Installing missing build tools with {}: {}",
                program.display(),
                packages.join(" ")
            ),
        );
        let log = plan.cache_dir.join("install.log");
        for args in manager.commands(&packages) {
            let mut cmd = env.command(&program);
            cmd.env("DEBIAN_FRONTEND", "noninteractive").args(&args);
            if let Err(f) = exec::run_logged(cmd, &log) {
                return Some(format!(
                    "installing with {} failed: {}\n{}",
                    program.display(),
                    f.status,
                    f.tail
                ));
            }
        }
        None
    }
}

impl EngineProvisioner for LlamaCppSource {
    fn plan(&self, pool: &PoolConfig) -> Result<Plan> {
        Plan::for_pool(pool, &self.tool_env(pool))
            .inspect_err(|e| Say { pool_id: &pool.id }.failed(e))
    }

    fn ensure(&self, pool: &PoolConfig) -> Result<PreparedEngine> {
        let span = tracing::info_span!("engine_ensure", pool_id = %pool.id, engine = "llamacpp");
        let _entered = span.enter();
        let say = Say { pool_id: &pool.id };
        self.run_ensure(pool, &say, Instant::now())
            .inspect_err(|e| say.failed(e))
    }
}

fn create_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|source| ProvisionError::Io {
        what: "cannot create cache dir",
        path: dir.to_path_buf(),
        source,
    })
}

/// One ensure at a time per cache dir (other processes included).
fn lock(cache_dir: &Path) -> Result<File> {
    let path = cache_dir.join(".lock");
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
    Ok(file)
}

/// Clone when absent, resolve the ref, check out detached. A checkout
/// already at the ref's commit runs no git process.
fn checkout(
    pool: &PoolConfig,
    plan: &Plan,
    tools: &Toolchain,
    env: &ToolEnv,
    say: &Say<'_>,
) -> Result<String> {
    let source = required_source(pool)?;
    let src = &plan.checkout_dir;
    let g = Git {
        git: &tools.git,
        env,
        log: &plan.git_log,
    };
    let git_err = |step: &'static str, f: exec::Failure| ProvisionError::Git {
        step,
        repo: plan.repo.clone(),
        git_ref: plan.git_ref.clone(),
        detail: format!("{}\n{}", f.status, narration_core::redact(&f.tail)),
        log: plan.git_log.clone(),
    };
    if !git::is_checkout(src) {
        say.step(
            ev::GIT_CLONE,
            &plan.repo,
            format!("Cloning {} into {}", plan.repo, src.display()),
        );
        let t = Instant::now();
        // Clone beside the target and rename: a half clone never looks
        // like a checkout.
        let tmp = plan.cache_dir.join("src.partial");
        let _ = std::fs::remove_dir_all(&tmp);
        g.clone(&source.repo, &tmp, plan.submodules)
            .map_err(|f| git_err("clone", f))?;
        std::fs::rename(&tmp, src).map_err(|source| ProvisionError::Io {
            what: "cannot move the clone into place at",
            path: src.clone(),
            source,
        })?;
        say.done(
            ev::GIT_CLONE,
            &plan.repo,
            format!("Cloned {} in {} ms", plan.repo, t.elapsed().as_millis()),
            t.elapsed(),
        );
    }
    let head = git::detached_head(src);
    let mut commit = match git::resolve_local(src, &plan.git_ref) {
        LocalRef::Commit(c) => Some(c),
        LocalRef::NeedsGit => resolve_with_git(&g, src, &plan.git_ref),
        LocalRef::Absent => None,
    };
    if commit.is_some() && commit == head {
        let c = commit.unwrap_or_default();
        if plan.submodules && !g.submodules_current(src) {
            g.submodules(src).map_err(|f| git_err("submodule", f))?;
        }
        say.step(
            ev::GIT_CHECKOUT,
            &plan.git_ref,
            format!(
                "Checkout already at {} ({c}); no git command needed",
                plan.git_ref
            ),
        );
        return Ok(c);
    }
    if commit.is_none() || !object_present(&g, src, commit.as_deref()) {
        say.step(
            ev::GIT_FETCH,
            &plan.git_ref,
            format!("Fetching ref {} from {}", plan.git_ref, plan.repo),
        );
        g.fetch(src, &plan.git_ref)
            .map_err(|f| git_err("fetch", f))?;
        commit = match git::resolve_local(src, &plan.git_ref) {
            LocalRef::Commit(c) => Some(c),
            _ => resolve_with_git(&g, src, &plan.git_ref),
        };
    }
    let Some(commit) = commit.filter(|c| object_present(&g, src, Some(c))) else {
        return Err(ProvisionError::RefNotFound {
            repo: plan.repo.clone(),
            git_ref: plan.git_ref.clone(),
        });
    };
    say.step(
        ev::GIT_CHECKOUT,
        &plan.git_ref,
        format!("Checking out ref {} ({commit}) detached", plan.git_ref),
    );
    g.checkout(src, &commit)
        .map_err(|f| git_err("checkout", f))?;
    if plan.submodules {
        g.submodules(src).map_err(|f| git_err("submodule", f))?;
    }
    Ok(commit)
}

/// Resolve with `git rev-parse`, trying the same namespaces in order.
fn resolve_with_git(g: &Git<'_>, src: &Path, git_ref: &str) -> Option<String> {
    git::candidates(git_ref)
        .iter()
        .find_map(|name| g.rev_parse(src, name))
        .or_else(|| {
            // Abbreviated commit ids.
            git_ref
                .bytes()
                .all(|b| b.is_ascii_hexdigit())
                .then(|| g.rev_parse(src, git_ref))
                .flatten()
        })
}

/// A full commit id named in the config may not be in the clone yet.
fn object_present(g: &Git<'_>, src: &Path, commit: Option<&str>) -> bool {
    commit.is_some_and(|c| g.rev_parse(src, c).is_some())
}

/// The result of the build step.
struct Built {
    binary_sha256: String,
}

/// Reuse the cached build when the stamp matches; else configure (with
/// one CUDA retry) and build.
fn build(
    plan: &Plan,
    tools: &Toolchain,
    env: &ToolEnv,
    commit: &str,
    say: &Say<'_>,
) -> Result<Built> {
    let t = Instant::now();
    let mut defs = plan.cmake_defs.clone();
    if let (Some(root), Some(nvcc)) = (&tools.cuda_root, &tools.nvcc) {
        defs.extend(cmake::cuda_hints(root, nvcc));
    }
    let compilers = [Some(&tools.cc), Some(&tools.cxx), tools.nvcc.as_ref()]
        .into_iter()
        .flatten()
        .filter_map(|p| FileId::of(p))
        .collect();
    let key = CacheKey {
        commit: commit.to_string(),
        generator: plan.generator.cmake_name().to_string(),
        defs: defs.clone(),
        compilers,
    };
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
    // From here on the old binary no longer matches: no stamp until the
    // new one exists, so an interrupted build never looks finished.
    cache::invalidate(&plan.stamp_path).map_err(|source| ProvisionError::Io {
        what: "cannot remove the build stamp",
        path: plan.stamp_path.clone(),
        source,
    })?;
    let _ = std::fs::write(&plan.build_log, b"");
    let host_compilers = configure(plan, tools, env, &defs, say)?;

    say.step(
        ev::CMAKE_BUILD,
        &plan.pool_id,
        format!(
            "Building llama-server with {} parallel jobs (log: {})",
            plan.jobs,
            plan.build_log.display()
        ),
    );
    let tb = Instant::now();
    let mut cmd = env.command(&tools.cmake);
    cmd.args(cmake::build_args(&plan.build_dir, plan.jobs));
    exec::run_logged(cmd, &plan.build_log).map_err(|f| ProvisionError::Build {
        status: f.status,
        tail: f.tail,
        log: plan.build_log.clone(),
    })?;
    let binary = FileId::of(&plan.binary_path).ok_or_else(|| ProvisionError::BinaryMissing {
        path: plan.binary_path.clone(),
        log: plan.build_log.clone(),
    })?;
    let binary_sha256 =
        cache::sha256_file(&plan.binary_path).map_err(|source| ProvisionError::Io {
            what: "cannot hash",
            path: plan.binary_path.clone(),
            source,
        })?;
    let stamp = Stamp {
        key,
        host_compilers,
        binary,
        binary_sha256: binary_sha256.clone(),
        build_ms: t.elapsed().as_millis() as u64,
    };
    cache::write(&plan.stamp_path, &stamp).map_err(|source| ProvisionError::Io {
        what: "cannot write the build stamp",
        path: plan.stamp_path.clone(),
        source,
    })?;
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
    Ok(Built { binary_sha256 })
}

/// The definitions of the last successful configure, kept to notice a
/// removed flag that CMake's cache would otherwise keep.
fn last_defs_path(plan: &Plan) -> PathBuf {
    plan.cache_dir.join("configure.json")
}

/// Configure; for CUDA builds retry once with a compatible host compiler.
/// Returns the identities of the retry compilers (empty without retry).
fn configure(
    plan: &Plan,
    tools: &Toolchain,
    env: &ToolEnv,
    defs: &[String],
    say: &Say<'_>,
) -> Result<Vec<FileId>> {
    let last: Option<Vec<String>> = std::fs::read(last_defs_path(plan))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let stale = cmake::stale_cache_reason(&plan.build_dir, plan.generator, defs, last.as_deref());
    if stale.is_some() {
        purge(plan)?;
    }
    let mut human = format!("Configuring CMake build with flags: {defs:?}");
    if !plan.mapped_flags.is_empty() {
        human.push_str(&format!(" ({:?} mapped to GGML_CUDA)", plan.mapped_flags));
    }
    if let Some(reason) = &stale {
        human.push_str(&format!("; purged stale CMakeCache.txt: {reason}"));
    }
    say.step(ev::CMAKE_CONFIGURE, &plan.pool_id, human);
    let run = |defs: &[String]| {
        let mut cmd = env.command(&tools.cmake);
        cmd.args(cmake::configure_args(
            &plan.checkout_dir,
            &plan.build_dir,
            plan.generator,
            defs,
        ));
        exec::run_logged(cmd, &plan.build_log)
    };
    let first = match run(defs) {
        Ok(()) => {
            save_last_defs(plan, defs);
            return Ok(Vec::new());
        }
        Err(f) => f,
    };
    if !plan.cuda {
        return Err(ProvisionError::CmakeConfigure {
            cuda: false,
            status: first.status,
            tail: cmake::error_excerpt(&first.tail),
            advice: "Check the CMake error above; the flags come from provisioning.source.build.cmake_flags.".into(),
            log: plan.build_log.clone(),
        });
    }
    let Some((cc, cxx)) = cmake::find_host_compiler(env) else {
        return Err(ProvisionError::CmakeConfigure {
            cuda: true,
            status: first.status,
            tail: cmake::error_excerpt(&first.tail),
            advice: format!(
                "No compatible host compiler to retry with (looked for {}). Install gcc-13 and g++-13, or set -DCMAKE_CUDA_HOST_COMPILER in cmake_flags. A GPU build is never replaced by a CPU build.",
                cmake::HOST_COMPILERS
                    .iter()
                    .map(|(c, _)| *c)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            log: plan.build_log.clone(),
        });
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
    match run(&retry_defs) {
        Ok(()) => {
            save_last_defs(plan, &retry_defs);
            Ok([cc, cxx].iter().filter_map(|p| FileId::of(p)).collect())
        }
        Err(f) => Err(ProvisionError::CmakeConfigure {
            cuda: true,
            status: f.status,
            tail: cmake::error_excerpt(&f.tail),
            advice: format!(
                "The retry with host compiler {} failed too. Check that the CUDA toolkit supports this compiler and GPU (set -DCMAKE_CUDA_ARCHITECTURES), or set -DCMAKE_CUDA_HOST_COMPILER yourself. A GPU build is never replaced by a CPU build.",
                cxx.display()
            ),
            log: plan.build_log.clone(),
        }),
    }
}

fn purge(plan: &Plan) -> Result<()> {
    cmake::purge_cache(&plan.build_dir).map_err(|source| ProvisionError::Io {
        what: "cannot remove the stale CMake cache in",
        path: plan.build_dir.clone(),
        source,
    })?;
    let _ = std::fs::remove_file(last_defs_path(plan));
    Ok(())
}

fn save_last_defs(plan: &Plan, defs: &[String]) {
    if let Ok(json) = serde_json::to_vec(defs) {
        // Only an optimization for the next configure: losing it is fine.
        let _ = std::fs::write(last_defs_path(plan), json);
    }
}
