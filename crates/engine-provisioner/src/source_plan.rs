//! The `source` mode's details: everything building llama.cpp from a git
//! checkout needs, computed without starting a process or writing a file.
//! It owns every input the steps need, already typed and checked, so
//! executing it never reads the pool config again. It rides in the
//! neutral [`Plan`] as its [`ModeDetails`].

use crate::build_state::{BuildCacheState, BuildFiles};
use crate::cmake::{self, Defs};
use crate::config::{Generator, Mode, PoolConfig, Source, model_ref_id};
use crate::error::ProvisionError;
use crate::exec::ToolEnv;
use crate::plan::{ModeDetails, Plan, PlanStep};
use crate::pool_inputs::{default_cache_dir, required_model};
use crate::refs::{GitRef, RepoUrl};
use model_provisioner::{Digest, ModelRef};
use serde::Serialize;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What a `source` ensure will do, and where. Serializing or printing it
/// shows no credential: the repository is written in its public form, the
/// model ref as its id, and the build tools' environment by names only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourcePlan {
    /// The pool.
    pub pool_id: String,
    /// Always `llamacpp` for this provider.
    pub engine: String,
    /// The repository (credentials kept for git, never shown).
    pub repo: RepoUrl,
    /// The ref to build.
    pub git_ref: GitRef,
    /// Whether submodules are fetched.
    pub submodules: bool,
    /// The cache dir holding everything below.
    pub cache_dir: PathBuf,
    /// The git checkout.
    pub checkout_dir: PathBuf,
    /// The CMake build dir.
    pub build_dir: PathBuf,
    /// Where `llama-server` will be.
    pub binary_path: PathBuf,
    /// The build-cache stamp.
    pub stamp_path: PathBuf,
    /// The build log.
    pub build_log: PathBuf,
    /// The git log.
    pub git_log: PathBuf,
    /// CMake generator.
    pub generator: Generator,
    /// Parallel build jobs.
    pub jobs: u32,
    /// GPU build requested.
    pub cuda: bool,
    /// CMake definitions (before CUDA root hints, which preflight adds).
    pub cmake_defs: Vec<String>,
    /// User flags rewritten (`LLAMA_CUBLAS…` → `GGML_CUDA`).
    pub mapped_flags: Vec<String>,
    /// Tools preflight will look for.
    pub tools: Vec<String>,
    /// May preflight install missing tools (when running as root)?
    pub allow_package_installs: bool,
    /// The model reference.
    #[serde(serialize_with = "model_ref_id")]
    pub model_ref: ModelRef,
    /// Its expected digest.
    pub model_digest: Option<Digest>,
    /// The pool's own `llama-server` flags, before normalization.
    pub server_flags: Vec<String>,
    /// Ports to try, in order; empty: an ephemeral one.
    pub ports: Vec<u16>,
    /// `CUDA_VISIBLE_DEVICES` from the pool env, for CUDA builds.
    pub device_mask: Option<String>,
    /// Extra environment for the build tools.
    pub tool_env: ToolVars,
    /// `llamacpp-source:<ref>-<cpu|cuda>`.
    pub engine_version: String,
    /// ccache, when found on PATH and not turned off: the compiler
    /// launcher (its definitions are in `cmake_defs`, its variables in
    /// `tool_env`).
    pub ccache: Option<PathBuf>,
}

/// The pool's extra environment for build tools. Values may be secrets
/// (a token for a private mirror): `Debug` and `Serialize` show names only.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ToolVars(Vec<(String, String)>);

impl ToolVars {
    /// The variable names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_str())
    }

    pub(crate) fn pairs(&self) -> &[(String, String)] {
        &self.0
    }
}

impl fmt::Debug for ToolVars {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}

impl Serialize for ToolVars {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.names())
    }
}

/// Where and how the build happens: the part of the plan read from
/// `[provisioning.source.build]` and the PATH.
struct BuildSetup {
    cache_dir: PathBuf,
    generator: Generator,
    jobs: u32,
    defs: Defs,
}

impl SourcePlan {
    /// Compute the plan for `pool`; `env` is the PATH the tools will be
    /// found on (it decides the default generator).
    pub(crate) fn for_pool(pool: &PoolConfig, env: &ToolEnv) -> Result<Self, ProvisionError> {
        pool.validate()?;
        let source = required_source(pool)?;
        let model = required_model(pool)?;
        let mut setup = build_setup(pool, source, env)?;
        let tools = tools_needed(setup.generator, setup.defs.cuda);
        let checkout_dir = setup.cache_dir.join("src");
        let build_dir = setup.cache_dir.join("build");
        let variant = if setup.defs.cuda { "cuda" } else { "cpu" };
        let p = &pool.provisioning;
        let mut tool_env: Vec<(String, String)> =
            p.env.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let ccache = ccache_setup(
            source.build.ccache,
            env,
            &setup.cache_dir,
            &checkout_dir,
            &mut setup.defs,
            &mut tool_env,
        );
        Ok(SourcePlan {
            pool_id: pool.id.clone(),
            engine: "llamacpp".into(),
            repo: source.repo.clone(),
            git_ref: source.git_ref.clone(),
            submodules: source.submodules,
            binary_path: binary_path(&build_dir),
            stamp_path: setup.cache_dir.join("build.stamp"),
            build_log: setup.cache_dir.join("build.log"),
            git_log: setup.cache_dir.join("git.log"),
            checkout_dir,
            build_dir,
            cache_dir: setup.cache_dir,
            generator: setup.generator,
            jobs: setup.jobs,
            cuda: setup.defs.cuda,
            cmake_defs: setup.defs.flags,
            mapped_flags: setup.defs.mapped,
            tools,
            allow_package_installs: p.allow_package_installs,
            model_ref: model.model_ref.clone(),
            model_digest: model.digest,
            server_flags: p.flags.clone(),
            ports: p.ports.clone(),
            device_mask: setup
                .defs
                .cuda
                .then(|| p.env.get("CUDA_VISIBLE_DEVICES").cloned())
                .flatten(),
            tool_env: ToolVars(tool_env),
            engine_version: format!("llamacpp-source:{}-{variant}", source.git_ref),
            ccache,
        })
    }

    /// The neutral plan carrying these details.
    pub(crate) fn into_plan(self) -> Plan {
        Plan {
            pool_id: self.pool_id.clone(),
            engine: self.engine.clone(),
            mode: Mode::Source,
            engine_version: self.engine_version.clone(),
            binary_path: self.binary_path.clone(),
            tools: self.tools.clone(),
            model_ref: self.model_ref.clone(),
            model_digest: self.model_digest,
            server_flags: self.server_flags.clone(),
            ports: self.ports.clone(),
            steps: self.describe_steps(),
            details: Some(Arc::new(self)),
        }
    }

    /// The steps, one sentence each (source-specific values in the
    /// sentence and the paths).
    fn describe_steps(&self) -> Vec<PlanStep> {
        let ccache = match &self.ccache {
            Some(path) => format!(" (compiler launcher {})", path.display()),
            None => String::new(),
        };
        vec![
            PlanStep::new(
                "preflight",
                format!("look for {}", self.tools.join(", ")),
                vec![],
            ),
            PlanStep::new(
                "git",
                format!(
                    "clone {} into {} when absent, check out {} detached (no network when already there)",
                    self.repo,
                    self.checkout_dir.display(),
                    self.git_ref
                ),
                vec![self.checkout_dir.clone(), self.git_log.clone()],
            ),
            PlanStep::new(
                "cmake",
                format!(
                    "configure {} with {} ({}) and build llama-server with {} jobs{ccache}, unless the build cache stamp matches",
                    self.build_dir.display(),
                    self.generator.cmake_name(),
                    self.cmake_defs.join(" "),
                    self.jobs
                ),
                vec![
                    self.build_dir.clone(),
                    self.binary_path.clone(),
                    self.build_log.clone(),
                    self.stamp_path.clone(),
                ],
            ),
            PlanStep::new("model", format!("ensure {}", self.model_ref.id()), vec![]),
            PlanStep::new(
                "flags",
                "normalize, add --model, --host 127.0.0.1 and a free --port",
                vec![],
            ),
        ]
    }
}

impl SourcePlan {
    /// The state of this plan's build cache (see [`BuildCacheState`]).
    pub fn cache_state(&self) -> BuildCacheState {
        BuildFiles {
            stamp_path: &self.stamp_path,
            binary_path: &self.binary_path,
            checkout_dir: &self.checkout_dir,
            generator: self.generator.cmake_name(),
            cmake_defs: &self.cmake_defs,
            git_ref: self.git_ref.as_str(),
        }
        .state()
    }
}

impl ModeDetails for SourcePlan {
    fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    fn build_cache_state(&self) -> Option<BuildCacheState> {
        Some(self.cache_state())
    }
}

/// ccache as the compiler launcher when it is on PATH and the pool does
/// not turn it off: launcher definitions (CUDA's too) go before the
/// user's (a user value wins), and its cache lives in the build cache dir,
/// with the checkout as base dir and no directory hashing, so two cache
/// dirs share hits. The pool's own `env` values win. `ccache = false`
/// also turns off ggml's automatic ccache use (`GGML_CCACHE=OFF`).
fn ccache_setup(
    enabled: Option<bool>,
    env: &ToolEnv,
    cache_dir: &Path,
    checkout_dir: &Path,
    defs: &mut Defs,
    vars: &mut Vec<(String, String)>,
) -> Option<PathBuf> {
    if enabled == Some(false) {
        cmake::set_default_def(defs, "GGML_CCACHE", "OFF");
        return None;
    }
    let ccache = env.which("ccache")?;
    let launcher = ccache.display().to_string();
    let mut langs = vec!["C", "CXX"];
    if defs.cuda {
        langs.push("CUDA");
    }
    for lang in langs {
        cmake::set_default_def(defs, &format!("CMAKE_{lang}_COMPILER_LAUNCHER"), &launcher);
    }
    let ccache_vars = [
        ("CCACHE_DIR", cache_dir.join("ccache").display().to_string()),
        ("CCACHE_BASEDIR", checkout_dir.display().to_string()),
        ("CCACHE_NOHASHDIR", "1".to_string()),
    ];
    for (name, value) in ccache_vars {
        if !vars.iter().any(|(k, _)| k == name) {
            vars.push((name.to_string(), value));
        }
    }
    Some(ccache)
}

fn build_setup(
    pool: &PoolConfig,
    source: &Source,
    env: &ToolEnv,
) -> Result<BuildSetup, ProvisionError> {
    let build = &source.build;
    let cache_dir = match &build.cache_dir {
        Some(dir) => dir.clone(),
        None => default_cache_dir(&pool.id, "provisioning.source.build.cache_dir")?,
    };
    let generator = build.generator.unwrap_or_else(|| {
        if env.which("ninja").is_some() {
            Generator::Ninja
        } else {
            Generator::Make
        }
    });
    let jobs = build
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get() as u32));
    Ok(BuildSetup {
        cache_dir,
        generator,
        jobs,
        defs: cmake::effective_defs(&build.cmake_flags),
    })
}

fn tools_needed(generator: Generator, cuda: bool) -> Vec<String> {
    let mut tools: Vec<String> = ["git", "cmake", generator.tool(), "cc", "c++"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    if cuda {
        tools.push("nvcc".into());
    }
    tools
}

/// Where CMake puts `llama-server`.
pub(crate) fn binary_path(build_dir: &Path) -> PathBuf {
    build_dir.join("bin").join("llama-server")
}

/// `[provisioning.source]`, which the llama.cpp provider cannot do without.
fn required_source(pool: &PoolConfig) -> Result<&Source, ProvisionError> {
    pool.provisioning
        .source
        .as_ref()
        .ok_or_else(|| ProvisionError::MissingSection {
            pool_id: pool.id.clone(),
            key: "provisioning.source",
            hint: "add repo and ref under [provisioning.source]",
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigError;

    fn pool(extra: &str) -> PoolConfig {
        PoolConfig::from_toml_str(&format!(
            r#"
            id = "p"
            engine = "llamacpp"
            [provisioning]
            env = {{ MIRROR_TOKEN = "s3cr3t-value", CUDA_VISIBLE_DEVICES = "1" }}
            [provisioning.source]
            repo = "https://user:t0ken@example.org/llama.cpp"
            ref = "v1"
            [provisioning.source.build]
            cache_dir = "/var/cache/p"
            generator = "make"
            {extra}
            [provisioning.model]
            ref = "/models/m.gguf"
            "#
        ))
        .unwrap()
    }

    #[test]
    fn plan_owns_its_inputs_and_shows_no_secret() {
        let plan = SourcePlan::for_pool(&pool(""), &ToolEnv::default()).unwrap();
        assert_eq!(
            plan.repo.for_git(),
            "https://user:t0ken@example.org/llama.cpp"
        );
        assert_eq!(plan.git_ref.as_str(), "v1");
        assert_eq!(plan.model_ref.id(), "file:/models/m.gguf");
        assert_eq!(plan.device_mask, None, "CPU build: no device mask");
        for shown in [
            serde_json::to_string(&plan).unwrap(),
            format!("{plan:?}"),
            serde_json::to_string(&plan.clone().into_plan()).unwrap(),
        ] {
            assert!(!shown.contains("t0ken"), "{shown}");
            assert!(!shown.contains("s3cr3t-value"), "{shown}");
        }
        assert!(format!("{plan:?}").contains("MIRROR_TOKEN"));
    }

    #[test]
    fn cuda_plans_carry_the_device_mask() {
        let plan = SourcePlan::for_pool(
            &pool("cmake_flags = [\"-DGGML_CUDA=ON\"]"),
            &ToolEnv::default(),
        )
        .unwrap();
        assert_eq!(plan.device_mask.as_deref(), Some("1"));
        assert!(plan.tools.contains(&"nvcc".to_string()));
        assert_eq!(plan.engine_version, "llamacpp-source:v1-cuda");
    }

    #[test]
    fn a_pool_changed_after_loading_is_checked_again() {
        let mut p = pool("");
        p.provisioning.flags = vec!["--port".into(), "1".into()];
        let err = SourcePlan::for_pool(&p, &ToolEnv::default()).unwrap_err();
        assert!(
            matches!(err, ProvisionError::Config(ConfigError::Invalid { ref key, .. }) if key == "provisioning.flags[0]"),
            "{err}"
        );
    }
}
