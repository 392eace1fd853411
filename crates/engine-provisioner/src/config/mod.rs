//! Pool configuration: the TOML a pool is described by, parsed with serde
//! and typed when it is loaded (git ref, repository, model ref, digest), so
//! every error names the key at fault and nothing downstream parses again.
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

mod raw;

use crate::refs::{GitRef, RepoUrl};
use crate::validate::{self, ValidationError};
use model_provisioner::{Digest, ModelRef};
use serde::{Deserialize, Serialize, Serializer};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// One pool: which engine to prepare, from which source, with which model.
///
/// Deserializing checks every value (as [`PoolConfig::from_toml_str`]
/// does); serializing writes the repository without its credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "raw::RawPool")]
pub struct PoolConfig {
    /// Pool id: letters, digits, `-`, `_`, `.`; used in narration and in
    /// the default cache path.
    pub id: String,
    /// Which engine serves the pool.
    pub engine: Engine,
    /// How the engine is provisioned.
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
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Provisioning {
    /// Install missing build tools through the system package manager.
    /// Only honoured when running as root.
    pub allow_package_installs: bool,
    /// `binary` mode: accept an archive whose sha256 is not written in
    /// the pool when its source publishes one (an `hf:` file's LFS etag).
    pub allow_binary_downloads: bool,
    /// Ports to try for `--port`, first free one wins; empty: an ephemeral
    /// port chosen by the OS.
    pub ports: Vec<u16>,
    /// Extra `llama-server` flags, passed through after normalization.
    pub flags: Vec<String>,
    /// Extra environment for the build tools (git, cmake, compilers), for
    /// example `CC`, `CXX`, `CUDAHOSTCXX` or `CCACHE_DIR`.
    pub env: BTreeMap<String, String>,
    /// Which provider prepares the engine (`mode`, default `source`).
    pub mode: Mode,
    /// `[provisioning.source]`.
    pub source: Option<Source>,
    /// `[provisioning.external]`.
    pub external: Option<External>,
    /// `[provisioning.binary]`.
    pub binary: Option<Binary>,
    /// `[provisioning.model]`.
    pub model: Option<ModelSpec>,
}

/// `[provisioning] mode`: how the engine binary is obtained. The pool
/// schema names five modes; `source`, `external` and `binary` have providers, the
/// others parse so that a pool written for them is refused clearly
/// (`unsupported`, naming the mode).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Build `llama-server` from a git checkout (`[provisioning.source]`).
    #[default]
    Source,
    /// Use a `llama-server` already installed (`[provisioning.external]`).
    External,
    /// Download and unpack a released archive (`[provisioning.binary]`).
    Binary,
    /// A container image (not supported yet).
    Container,
    /// A system package (not supported yet).
    Package,
}

impl Mode {
    /// The name used in the TOML and in `provisioning_mode`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Source => "source",
            Mode::External => "external",
            Mode::Binary => "binary",
            Mode::Container => "container",
            Mode::Package => "package",
        }
    }
}

/// `[provisioning.external]`: an engine binary installed outside the
/// provisioner; nothing is built or downloaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct External {
    /// `llama-server`: an absolute path, or a bare name looked up on PATH.
    pub binary: PathBuf,
    /// Where port records live; default
    /// `$XDG_CACHE_HOME/provision/engines/<pool id>` (or `~/.cache/…`).
    #[serde(default)]
    pub cache_dir: Option<PathBuf>,
}

/// `[provisioning.binary]`: a released `llama-server` archive (`.tar.gz`
/// or `.zip`), downloaded, verified, unpacked safely and installed under
/// a folder named by its sha256, shared by every pool using it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Binary {
    /// Where the archive is: `https://…`, `http://` to loopback, or an
    /// `hf:org/repo[@rev]/file` file. Serialized as its public id (no
    /// credentials).
    #[serde(serialize_with = "model_ref_id")]
    pub url: ModelRef,
    /// The archive's sha256. Required, unless `allow_binary_downloads` is
    /// set and the source publishes one (an `hf:` file's LFS etag).
    pub sha256: Option<Digest>,
    /// Path of `llama-server` inside the archive (`build/bin/llama-server`);
    /// default: the one file named `llama-server`.
    pub binary: Option<PathBuf>,
    /// Root of the installs (`<install_dir>/<sha256>/`), downloads and
    /// port records; default `$XDG_CACHE_HOME/provision/engines/binary`.
    pub install_dir: Option<PathBuf>,
}

/// `[provisioning.source]`: where the engine's source comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Source {
    /// Git URL: `https://`, `ssh://`, `git://` or `file:///abs`.
    pub repo: RepoUrl,
    /// Tag, branch or full commit id to build.
    #[serde(rename = "ref")]
    pub git_ref: GitRef,
    /// Also fetch the repository's submodules.
    pub submodules: bool,
    /// `[provisioning.source.build]`.
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
    /// Use ccache as the compiler launcher when it is on PATH (default
    /// true); `false` also turns off ggml's own ccache detection.
    #[serde(default)]
    pub ccache: Option<bool>,
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

/// `[provisioning.model]`: the model the engine serves. Where it is cached
/// and catalogued is the shared `ModelProvisioner`'s business.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModelSpec {
    /// A model-provisioner reference (`/abs/m.gguf`, `hf:org/repo/f.gguf`,
    /// …); a relative path was resolved against the current directory at
    /// load. Serialized as [`ModelRef::id`], which shows no credentials.
    #[serde(rename = "ref", serialize_with = "model_ref_id")]
    pub model_ref: ModelRef,
    /// Expected sha256 of the file, checked by model-provisioner.
    pub digest: Option<Digest>,
}

/// A model ref written as its public id.
pub(crate) fn model_ref_id<S: Serializer>(model: &ModelRef, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&model.id())
}

/// Why a pool config was refused. `key` is the dotted TOML key at fault.
#[non_exhaustive]
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
    /// The file is larger than any pool config ([`MAX_POOL_FILE_BYTES`]):
    /// the wrong file (or a device such as `/dev/zero`) was named.
    #[error(
        "pool config {path} is larger than {limit} bytes; name the pool's TOML file (a pool config is a few KiB)"
    )]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The limit, in bytes.
        limit: u64,
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
    pub(crate) fn invalid(key: impl Into<String>, problem: impl Into<String>) -> Self {
        ConfigError::Invalid {
            key: key.into(),
            problem: problem.into(),
        }
    }

    pub(crate) fn from_validation(key: &str, e: ValidationError) -> Self {
        ConfigError::invalid(key, e.to_string())
    }
}

/// The largest pool config file read (1 MiB).
pub const MAX_POOL_FILE_BYTES: u64 = 1024 * 1024;

/// Flags the provisioner sets itself; a user value would fight them.
const MANAGED_FLAGS: &[(&str, &str)] = &[
    ("--model", "set [provisioning.model] ref"),
    ("-m", "set [provisioning.model] ref"),
    ("--host", "the engine always listens on 127.0.0.1"),
    ("--port", "set [provisioning] ports"),
];

impl PoolConfig {
    /// Parse, type and validate a pool config from TOML text.
    pub fn from_toml_str(text: &str) -> Result<Self, ConfigError> {
        let raw: raw::RawPool = toml::from_str(text).map_err(|e| ConfigError::Parse {
            message: e.to_string().trim_end().to_string(),
        })?;
        Self::try_from(raw)
    }

    /// Read, parse and validate a pool config file. At most
    /// [`MAX_POOL_FILE_BYTES`] are read: a larger file (or an endless one
    /// such as `/dev/zero`) is refused without reading further.
    pub fn from_path(path: &Path) -> Result<Self, ConfigError> {
        let read_error = |e: std::io::Error| ConfigError::Read {
            path: path.to_path_buf(),
            reason: e.to_string(),
        };
        let file = std::fs::File::open(path).map_err(read_error)?;
        let mut bytes = Vec::new();
        file.take(MAX_POOL_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(read_error)?;
        if bytes.len() as u64 > MAX_POOL_FILE_BYTES {
            return Err(ConfigError::TooLarge {
                path: path.to_path_buf(),
                limit: MAX_POOL_FILE_BYTES,
            });
        }
        let text = String::from_utf8(bytes).map_err(|e| ConfigError::Read {
            path: path.to_path_buf(),
            reason: format!("not UTF-8 text: {e}"),
        })?;
        Self::from_toml_str(&text)
    }

    /// Check the values that are plain text or numbers (the typed ones
    /// were checked when they were made); the first problem is returned,
    /// naming its key. Loading runs this; `plan` runs it again because the
    /// fields are public and may have been changed since.
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
            validate_build(&source.build)?;
        }
        if let Some(external) = &p.external {
            validate_external(external)?;
        }
        if let Some(binary) = &p.binary {
            validate_binary(binary, p.allow_binary_downloads)?;
        }
        Ok(())
    }
}

fn validate_binary(binary: &Binary, allow_downloads: bool) -> Result<(), ConfigError> {
    let url_key = "provisioning.binary.url";
    match &binary.url {
        ModelRef::Https { .. } => {}
        ModelRef::Http { url } if is_loopback_http(url) => {}
        ModelRef::Http { .. } => {
            return Err(ConfigError::invalid(
                url_key,
                "plain http is only accepted to loopback (127.0.0.1, ::1, localhost): use https",
            ));
        }
        ModelRef::Hf {
            path: Some(_),
            quant: None,
            ..
        } => {}
        ModelRef::Hf { .. } => {
            return Err(ConfigError::invalid(
                url_key,
                "an hf: archive must name one file (hf:org/repo/llama-b6000-bin.tar.gz)",
            ));
        }
        other => {
            return Err(ConfigError::invalid(
                url_key,
                format!(
                    "{} is not a download: use https://…, http:// to loopback, or hf:org/repo/file",
                    other.id()
                ),
            ));
        }
    }
    let publishes_digest = matches!(binary.url, ModelRef::Hf { .. });
    if binary.sha256.is_none() && !(allow_downloads && publishes_digest) {
        let why = if publishes_digest {
            "is required: write the archive's sha256, or set `provisioning.allow_binary_downloads = true` to trust the Hub's LFS sha256"
        } else {
            "is required for an https archive (the server publishes no digest we trust): write the archive's sha256 (`sha256sum llama-….tar.gz`)"
        };
        return Err(ConfigError::invalid("provisioning.binary.sha256", why));
    }
    if let Some(path) = &binary.binary {
        let key = "provisioning.binary.binary";
        validate::plain_text(&path.to_string_lossy())
            .map_err(|e| ConfigError::from_validation(key, e))?;
        let inside = !path.as_os_str().is_empty()
            && path
                .components()
                .all(|c| matches!(c, std::path::Component::Normal(_)));
        if !inside {
            return Err(ConfigError::invalid(
                key,
                format!(
                    "{} must be a relative path inside the archive without `..` (build/bin/llama-server)",
                    path.display()
                ),
            ));
        }
    }
    if let Some(dir) = &binary.install_dir
        && !dir.is_absolute()
    {
        return Err(ConfigError::invalid(
            "provisioning.binary.install_dir",
            format!("{} must be an absolute path", dir.display()),
        ));
    }
    Ok(())
}

/// An `http://` URL whose host is loopback (where plain http is safe).
fn is_loopback_http(url: &str) -> bool {
    let rest = url.get("http://".len()..).unwrap_or("");
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or("");
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        host_port.split(':').next().unwrap_or("")
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn validate_external(external: &External) -> Result<(), ConfigError> {
    let key = "provisioning.external.binary";
    let binary = external.binary.to_string_lossy();
    validate::plain_text(&binary).map_err(|e| ConfigError::from_validation(key, e))?;
    let bare_name = external.binary.components().count() == 1 && !binary.starts_with('.');
    if binary.is_empty() || !(external.binary.is_absolute() || bare_name) {
        return Err(ConfigError::invalid(
            key,
            format!(
                "{binary:?} must be an absolute path (/usr/bin/llama-server) or a name on PATH (llama-server)"
            ),
        ));
    }
    if let Some(dir) = &external.cache_dir
        && !dir.is_absolute()
    {
        return Err(ConfigError::invalid(
            "provisioning.external.cache_dir",
            format!("{} must be an absolute path", dir.display()),
        ));
    }
    Ok(())
}

fn validate_build(build: &Build) -> Result<(), ConfigError> {
    for (i, flag) in build.cmake_flags.iter().enumerate() {
        validate::cmake_flag(flag).map_err(|e| {
            ConfigError::from_validation(&format!("provisioning.source.build.cmake_flags[{i}]"), e)
        })?;
    }
    if build.jobs == Some(0) {
        return Err(ConfigError::invalid(
            "provisioning.source.build.jobs",
            "must be at least 1 (leave it out for the available parallelism)",
        ));
    }
    if let Some(dir) = &build.cache_dir
        && !dir.is_absolute()
    {
        return Err(ConfigError::invalid(
            "provisioning.source.build.cache_dir",
            format!("{} must be an absolute path", dir.display()),
        ));
    }
    Ok(())
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

    #[test]
    fn model_ref_and_digest_are_typed_at_load() {
        let pool = PoolConfig::from_toml_str(FULL).unwrap();
        let model = pool.provisioning.model.unwrap();
        assert_eq!(model.model_ref.scheme(), "hf");
        assert_eq!(
            model.digest.unwrap().to_string(),
            format!("sha256:{}", "0".repeat(64))
        );
        let base = "id = \"p\"\nengine = \"llamacpp\"\n[provisioning.model]\n";
        for (body, key) in [
            (
                "ref = \"/m.gguf\"\ndigest = \"md5:x\"",
                "provisioning.model.digest",
            ),
            (
                "ref = \"hf:org/repo/../../etc/passwd\"",
                "provisioning.model.ref",
            ),
            ("ref = \"ftp://host/m.gguf\"", "provisioning.model.ref"),
            (
                "ref = \"/m.gguf\"\ncache_dir = \"/models\"",
                "provisioning.model.cache_dir",
            ),
        ] {
            assert_eq!(key_of(&format!("{base}{body}")), key, "{body}");
        }
    }

    #[test]
    fn model_cache_dir_is_refused_with_what_to_do_instead() {
        let err = PoolConfig::from_toml_str(
            "id = \"p\"\nengine = \"llamacpp\"\n[provisioning.model]\nref = \"/m.gguf\"\ncache_dir = \"/models\"",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("HF_HUB_CACHE"), "{err}");
        assert!(err.contains("ModelProvisioner"), "{err}");
    }

    #[test]
    fn serde_loading_checks_like_from_toml_str() {
        let pool: PoolConfig = toml::from_str(FULL).unwrap();
        assert_eq!(pool, PoolConfig::from_toml_str(FULL).unwrap());
        let bad = FULL.replace("b6000", "--upload-pack=x");
        let err = toml::from_str::<PoolConfig>(&bad).unwrap_err().to_string();
        assert!(err.contains("provisioning.source.ref"), "{err}");
    }

    #[test]
    fn serialized_pool_shows_no_repo_credentials() {
        let text = FULL.replace("https://github.com", "https://user:t0ken@github.com");
        let pool = PoolConfig::from_toml_str(&text).unwrap();
        let json = serde_json::to_string(&pool).unwrap();
        assert!(!json.contains("t0ken"), "{json}");
        assert!(
            json.contains("\"ref\":\"hf:org/repo/model.Q4_K_M.gguf\""),
            "{json}"
        );
    }
}
