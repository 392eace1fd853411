//! The plan: everything `ensure` would do for a pool, computed without
//! starting a process or writing a file.

use crate::cmake;
use crate::config::{Generator, ModelSpec, PoolConfig, Source};
use crate::error::ProvisionError;
use crate::exec::ToolEnv;
use crate::validate;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// What `ensure` will do, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// The pool.
    pub pool_id: String,
    /// Always `llamacpp` for this provider.
    pub engine: String,
    /// The repository (credentials masked).
    pub repo: String,
    /// The ref to build.
    pub git_ref: String,
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
    /// The model reference.
    pub model_ref: String,
    /// Its expected digest.
    pub model_digest: Option<String>,
    /// `llamacpp-source:<ref>-<cpu|cuda>`.
    pub engine_version: String,
    /// The steps, in order, for people.
    pub steps: Vec<String>,
}

impl Plan {
    /// Compute the plan for `pool` (validation included).
    pub fn for_pool(pool: &PoolConfig, env: &ToolEnv) -> Result<Self, ProvisionError> {
        let source = required_source(pool)?;
        // Typed refusals for the two values that reach git, first.
        validate::repo_url(&source.repo).map_err(|source| ProvisionError::InvalidRepo {
            pool_id: pool.id.clone(),
            source,
        })?;
        validate::git_ref(&source.git_ref).map_err(|source| ProvisionError::InvalidRef {
            pool_id: pool.id.clone(),
            source,
        })?;
        pool.validate()?;
        let model = required_model(pool)?;
        let build = &source.build;
        let cache_dir = match &build.cache_dir {
            Some(dir) => dir.clone(),
            None => default_cache_dir(&pool.id).ok_or_else(|| {
                ProvisionError::Config(crate::config::ConfigError::Invalid {
                    key: "provisioning.source.build.cache_dir".into(),
                    problem: "neither XDG_CACHE_HOME nor HOME is set: give an absolute path".into(),
                })
            })?,
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
        let defs = cmake::effective_defs(&build.cmake_flags);
        let mut tools: Vec<String> = ["git", "cmake", generator.tool(), "cc", "c++"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        if defs.cuda {
            tools.push("nvcc".into());
        }
        let variant = if defs.cuda { "cuda" } else { "cpu" };
        let repo = mask_credentials(&source.repo);
        // The plan is printed and logged: show the model ref without the
        // credentials a URL ref may carry.
        let model_ref = model_provisioner::public_url(&narration_core::redact(&model.model_ref));
        let checkout_dir = cache_dir.join("src");
        let build_dir = cache_dir.join("build");
        let steps = vec![
            format!("preflight: look for {}", tools.join(", ")),
            format!(
                "git: clone {repo} into {} when absent, check out {} detached (no network when already there)",
                checkout_dir.display(),
                source.git_ref
            ),
            format!(
                "cmake: configure {} with {} and build llama-server with {jobs} jobs, unless the build cache stamp matches",
                build_dir.display(),
                generator.cmake_name()
            ),
            format!("model: ensure {model_ref}"),
            "flags: normalize, add --model, --host 127.0.0.1 and a free --port".into(),
        ];
        Ok(Plan {
            pool_id: pool.id.clone(),
            engine: "llamacpp".into(),
            repo,
            git_ref: source.git_ref.clone(),
            submodules: source.submodules,
            binary_path: binary_path(&build_dir),
            stamp_path: cache_dir.join("build.stamp"),
            build_log: cache_dir.join("build.log"),
            git_log: cache_dir.join("git.log"),
            checkout_dir,
            build_dir,
            cache_dir,
            generator,
            jobs,
            cuda: defs.cuda,
            cmake_defs: defs.flags,
            mapped_flags: defs.mapped,
            tools,
            model_ref,
            model_digest: model.digest.clone(),
            engine_version: format!("llamacpp-source:{}-{variant}", source.git_ref),
            steps,
        })
    }
}

/// Where CMake puts `llama-server`.
pub fn binary_path(build_dir: &Path) -> PathBuf {
    build_dir.join("bin").join("llama-server")
}

/// `$XDG_CACHE_HOME/provision/engines/<id>`, else `~/.cache/…`.
fn default_cache_dir(pool_id: &str) -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            std::env::var_os("HOME")
                .map(PathBuf::from)
                .filter(|p| p.is_absolute())
                .map(|h| h.join(".cache"))
        })?;
    Some(base.join("provision").join("engines").join(pool_id))
}

/// `[provisioning.source]`, which the llama.cpp provider cannot do without.
pub(crate) fn required_source(pool: &PoolConfig) -> Result<&Source, ProvisionError> {
    pool.provisioning
        .source
        .as_ref()
        .ok_or_else(|| ProvisionError::MissingSection {
            pool_id: pool.id.clone(),
            key: "provisioning.source",
            hint: "add repo and ref under [provisioning.source]",
        })
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

/// `https://user:token@host/x` → `https://***@host/x`: credentials never
/// reach narration, logs or errors.
pub fn mask_credentials(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        let authority_end = rest.find('/').unwrap_or(rest.len());
        if let Some(at) = rest[..authority_end].rfind('@') {
            let user = &rest[..at];
            if user.contains(':') || scheme == "https" {
                return format!("{scheme}://***@{}", &rest[at + 1..]);
            }
        }
    }
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_masked() {
        assert_eq!(
            mask_credentials("https://user:tok@github.com/a/b"),
            "https://***@github.com/a/b"
        );
        assert_eq!(
            mask_credentials("ssh://git@github.com/a/b"),
            "ssh://git@github.com/a/b"
        );
        assert_eq!(mask_credentials("file:///srv/x"), "file:///srv/x");
    }
}
