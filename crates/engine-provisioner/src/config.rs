//! Pool configuration: the TOML a pool is described by, parsed with serde
//! and validated so that every error names the key at fault.
//!
//! ```
//! use engine_provisioner::PoolConfig;
//! let pool = PoolConfig::from_toml_str(r#"
//!     id = "tiny"
//!     engine = "llamacpp"
//!     [provisioning.source]
//!     repo = "https://github.com/ggml-org/llama.cpp"
//!     ref = "b6000"
//!     [provisioning.model]
//!     ref = "/models/tiny.gguf"
//! "#).unwrap();
//! assert_eq!(pool.id, "tiny");
//! assert!(PoolConfig::from_toml_str("id = \"\"\nengine = \"llamacpp\"").is_err());
//! ```

use crate::validate::{self, ValidationError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One pool: which engine to prepare, from which source, with which model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolConfig {
    /// Pool id: letters, digits, `-`, `_`, `.`; used in narration and in
    /// the default cache path.
    pub id: String,
    /// Which engine serves the pool.
    pub engine: Engine,
    /// How the engine is provisioned.
    #[serde(default)]
    pub provisioning: Provisioning,
}

/// Engines a pool may name. Only [`Engine::Llamacpp`] has a provider; the
/// others parse so that a config written for them is refused clearly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// llama.cpp's `llama-server`, built from source.
    Llamacpp,
    /// vLLM (not supported yet).
    Vllm,
    /// Hugging Face text-generation-inference (not supported yet).
    Tgi,
    /// NVIDIA Triton (not supported yet).
    Triton,
}

impl Engine {
    /// The name used in the TOML.
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Llamacpp => "llamacpp",
            Engine::Vllm => "vllm",
            Engine::Tgi => "tgi",
            Engine::Triton => "triton",
        }
    }
}

/// `[provisioning]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provisioning {
    /// Install missing build tools through the system package manager.
    /// Only honoured when running as root.
    #[serde(default)]
    pub allow_package_installs: bool,
    /// Ports to try for `--port`, first free one wins; empty: an ephemeral
    /// port chosen by the OS.
    #[serde(default)]
    pub ports: Vec<u16>,
    /// Extra `llama-server` flags, passed through after normalization.
    #[serde(default)]
    pub flags: Vec<String>,
    /// Extra environment for the build tools (git, cmake, compilers), for
    /// example `CC`, `CXX`, `CUDAHOSTCXX` or `CCACHE_DIR`.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// `[provisioning.source]`.
    #[serde(default)]
    pub source: Option<Source>,
    /// `[provisioning.model]`.
    #[serde(default)]
    pub model: Option<ModelSpec>,
}

/// `[provisioning.source]`: where the engine's source comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// Git URL: `https://`, `ssh://`, `git://` or `file://`.
    pub repo: String,
    /// Tag, branch or full commit id to build.
    #[serde(rename = "ref")]
    pub git_ref: String,
    /// Also fetch the repository's submodules.
    #[serde(default)]
    pub submodules: bool,
    /// `[provisioning.source.build]`.
    #[serde(default)]
    pub build: Build,
}

/// `[provisioning.source.build]`: how to build it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Build {
    /// Extra CMake `-D` definitions, e.g. `-DGGML_CUDA=ON`.
    #[serde(default)]
    pub cmake_flags: Vec<String>,
    /// CMake generator; default: ninja when on PATH, else make.
    #[serde(default)]
    pub generator: Option<Generator>,
    /// Where the checkout, build dir, stamp and logs live; default
    /// `$XDG_CACHE_HOME/provision/engines/<pool id>` (or `~/.cache/…`).
    #[serde(default)]
    pub cache_dir: Option<PathBuf>,
    /// Parallel build jobs; default: the available parallelism.
    #[serde(default)]
    pub jobs: Option<u32>,
}

/// The CMake generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Generator {
    /// `Ninja` (needs `ninja`).
    Ninja,
    /// `Unix Makefiles` (needs `make`).
    Make,
}

impl Generator {
    /// The name CMake knows it by (`-G`).
    pub fn cmake_name(self) -> &'static str {
        match self {
            Generator::Ninja => "Ninja",
            Generator::Make => "Unix Makefiles",
        }
    }

    /// The build tool it drives.
    pub fn tool(self) -> &'static str {
        match self {
            Generator::Ninja => "ninja",
            Generator::Make => "make",
        }
    }
}

/// `[provisioning.model]`: the model the engine serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// A model-provisioner reference (`/abs/m.gguf`, `hf:org/repo/f.gguf`, …).
    #[serde(rename = "ref")]
    pub model_ref: String,
    /// Expected `sha256:<hex>` of the file, checked by model-provisioner.
    #[serde(default)]
    pub digest: Option<String>,
    /// Model cache directory; default: model-provisioner's.
    #[serde(default)]
    pub cache_dir: Option<PathBuf>,
}

/// Why a pool config was refused. `key` is the dotted TOML key at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read pool config {path}: {reason}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        reason: String,
    },
    /// TOML syntax or a type/unknown-key error from serde.
    #[error("pool config is not valid: {message}")]
    Parse {
        /// serde's message, which names the key and line.
        message: String,
    },
    /// A value failed validation.
    #[error("pool config key `{key}`: {problem}")]
    Invalid {
        /// Dotted key, e.g. `provisioning.source.ref`.
        key: String,
        /// What is wrong and what to write instead.
        problem: String,
    },
}

impl ConfigError {
    fn invalid(key: impl Into<String>, problem: impl Into<String>) -> Self {
        ConfigError::Invalid {
            key: key.into(),
            problem: problem.into(),
        }
    }

    fn from_validation(key: &str, e: ValidationError) -> Self {
        ConfigError::invalid(key, e.to_string())
    }
}

/// Flags the provisioner sets itself; a user value would fight them.
const MANAGED_FLAGS: &[(&str, &str)] = &[
    ("--model", "set [provisioning.model] ref"),
    ("-m", "set [provisioning.model] ref"),
    ("--host", "the engine always listens on 127.0.0.1"),
    ("--port", "set [provisioning] ports"),
];

impl PoolConfig {
    /// Parse and validate a pool config from TOML text.
    pub fn from_toml_str(text: &str) -> Result<Self, ConfigError> {
        let pool: PoolConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            message: e.to_string().trim_end().to_string(),
        })?;
        pool.validate()?;
        Ok(pool)
    }

    /// Read, parse and validate a pool config file.
    pub fn from_path(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        Self::from_toml_str(&text)
    }

    /// Check every value; the first problem is returned, naming its key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        validate::pool_id(&self.id).map_err(|e| ConfigError::from_validation("id", e))?;
        let p = &self.provisioning;
        for (i, flag) in p.flags.iter().enumerate() {
            let key = format!("provisioning.flags[{i}]");
            validate::plain_text(flag).map_err(|e| ConfigError::from_validation(&key, e))?;
            let name = flag.split('=').next().unwrap_or(flag);
            if let Some((_, why)) = MANAGED_FLAGS.iter().find(|(f, _)| *f == name) {
                return Err(ConfigError::invalid(
                    key,
                    format!("{name} is set by the provisioner: {why}"),
                ));
            }
        }
        for (name, value) in &p.env {
            let key = format!("provisioning.env.{name}");
            if name.is_empty() || name.contains('=') || name.contains('\0') {
                return Err(ConfigError::invalid(
                    key,
                    "not a valid environment variable name",
                ));
            }
            validate::plain_text(value).map_err(|e| ConfigError::from_validation(&key, e))?;
        }
        if let Some(source) = &p.source {
            validate::repo_url(&source.repo)
                .map_err(|e| ConfigError::from_validation("provisioning.source.repo", e))?;
            validate::git_ref(&source.git_ref)
                .map_err(|e| ConfigError::from_validation("provisioning.source.ref", e))?;
            for (i, flag) in source.build.cmake_flags.iter().enumerate() {
                validate::cmake_flag(flag).map_err(|e| {
                    ConfigError::from_validation(
                        &format!("provisioning.source.build.cmake_flags[{i}]"),
                        e,
                    )
                })?;
            }
            if source.build.jobs == Some(0) {
                return Err(ConfigError::invalid(
                    "provisioning.source.build.jobs",
                    "must be at least 1 (leave it out for the available parallelism)",
                ));
            }
            if let Some(dir) = &source.build.cache_dir
                && !dir.is_absolute()
            {
                return Err(ConfigError::invalid(
                    "provisioning.source.build.cache_dir",
                    format!("{} must be an absolute path", dir.display()),
                ));
            }
        }
        if let Some(model) = &p.model {
            if model.model_ref.trim().is_empty() {
                return Err(ConfigError::invalid(
                    "provisioning.model.ref",
                    "is empty: give a path, file:/abs/path or hf:org/repo/file.gguf",
                ));
            }
            validate::plain_text(&model.model_ref)
                .map_err(|e| ConfigError::from_validation("provisioning.model.ref", e))?;
            if let Some(dir) = &model.cache_dir
                && !dir.is_absolute()
            {
                return Err(ConfigError::invalid(
                    "provisioning.model.cache_dir",
                    format!("{} must be an absolute path", dir.display()),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = r#"
        id = "gpu-0"
        engine = "llamacpp"
        [provisioning]
        allow_package_installs = false
        ports = [8080, 8081]
        flags = ["--ctx-size", "4096", "--ngl", "99"]
        env = { CCACHE_DIR = "/var/cache/ccache" }
        [provisioning.source]
        repo = "https://github.com/ggml-org/llama.cpp"
        ref = "b6000"
        submodules = false
        [provisioning.source.build]
        cmake_flags = ["-DGGML_CUDA=ON"]
        generator = "ninja"
        cache_dir = "/var/cache/provision/engines/gpu-0"
        jobs = 8
        [provisioning.model]
        ref = "hf:org/repo/model.Q4_K_M.gguf"
        digest = "sha256:0000000000000000000000000000000000000000000000000000000000000000"
        cache_dir = "/var/cache/provision/models"
    "#;

    fn key_of(text: &str) -> String {
        match PoolConfig::from_toml_str(text) {
            Err(ConfigError::Invalid { key, .. }) => key,
            other => panic!("expected an Invalid error, got {other:?}"),
        }
    }

    #[test]
    fn full_example_parses_every_key() {
        let pool = PoolConfig::from_toml_str(FULL).unwrap();
        let source = pool.provisioning.source.as_ref().unwrap();
        assert_eq!(source.build.generator, Some(Generator::Ninja));
        assert_eq!(source.build.jobs, Some(8));
        assert_eq!(pool.provisioning.ports, vec![8080, 8081]);
        assert_eq!(pool.provisioning.env["CCACHE_DIR"], "/var/cache/ccache");
        assert!(pool.provisioning.model.unwrap().digest.is_some());
    }

    #[test]
    fn other_engines_parse() {
        for e in ["vllm", "tgi", "triton"] {
            let pool = PoolConfig::from_toml_str(&format!("id = \"p\"\nengine = \"{e}\"")).unwrap();
            assert_eq!(pool.engine.as_str(), e);
        }
    }

    #[test]
    fn unknown_key_and_engine_are_named() {
        let err = PoolConfig::from_toml_str("id = \"p\"\nengine = \"llamacpp\"\nport = 1")
            .unwrap_err()
            .to_string();
        assert!(err.contains("port"), "{err}");
        let err = PoolConfig::from_toml_str("id = \"p\"\nengine = \"exllama\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("exllama"), "{err}");
    }

    #[test]
    fn invalid_values_name_their_key() {
        assert_eq!(key_of("id = \"a b\"\nengine = \"llamacpp\""), "id");
        let base = "id = \"p\"\nengine = \"llamacpp\"\n";
        assert_eq!(
            key_of(&format!(
                "{base}[provisioning.source]\nrepo = \"http://x/y\"\nref = \"v1\""
            )),
            "provisioning.source.repo"
        );
        assert_eq!(
            key_of(&format!(
                "{base}[provisioning.source]\nrepo = \"https://x/y\"\nref = \"--upload-pack=x\""
            )),
            "provisioning.source.ref"
        );
        assert_eq!(
            key_of(&format!(
                "{base}[provisioning.source]\nrepo = \"https://x/y\"\nref = \"v1\"\n[provisioning.source.build]\ncmake_flags = [\"-DA=1\", \"--trace\"]"
            )),
            "provisioning.source.build.cmake_flags[1]"
        );
        assert_eq!(
            key_of(&format!(
                "{base}[provisioning.source]\nrepo = \"https://x/y\"\nref = \"v1\"\n[provisioning.source.build]\njobs = 0"
            )),
            "provisioning.source.build.jobs"
        );
        assert_eq!(
            key_of(&format!(
                "{base}[provisioning]\nflags = [\"--port\", \"1\"]"
            )),
            "provisioning.flags[0]"
        );
        assert_eq!(
            key_of(&format!("{base}[provisioning.model]\nref = \" \"")),
            "provisioning.model.ref"
        );
    }
}
