//! Command-line arguments (clap derive).

use std::num::NonZeroUsize;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use model_provisioner::Locations;

const AFTER_HELP: &str = "\
Narrations go to stderr ([actor] action: human, or JSON lines with \
--log-format json); stdout carries only the result. Exit codes: 0 success, \
1 provisioning failure (one line on stderr), 2 usage error.

Environment: RUST_LOG filters narrations (default narration=info); \
PROVISION_CATALOG sets the catalog; HF_HUB_CACHE / HF_HOME / XDG_CACHE_HOME \
set the model cache; HF_TOKEN authenticates to the Hub; HF_HUB_OFFLINE=1 \
forbids network access; HF_ENDPOINT points at another Hub; OTEL_EXPORTER_OTLP_ENDPOINT exports \
spans and metrics (builds with the otel feature; \
OTEL_EXPORTER_OTLP_METRICS_ENDPOINT overrides the metrics URL), continuing \
the caller's trace from TRACEPARENT and TRACESTATE.";

/// Provision GGUF models and llama.cpp engines, narrating every step.
#[derive(Debug, Parser)]
#[command(name = "provision", version, after_help = AFTER_HELP, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    #[command(flatten)]
    pub global: Global,
}

/// Options every verb accepts.
#[derive(Debug, Args)]
pub struct Global {
    /// Print the result on stdout as one JSON object (or array)
    #[arg(long, global = true)]
    pub json: bool,

    /// Narration format on stderr
    #[arg(long, global = true, value_enum, default_value_t = LogFormatArg::Human)]
    pub log_format: LogFormatArg,

    /// Only warnings and failures on stderr; no progress bars
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// More detail on stderr: -v timestamps narration lines, -vv adds the tracing debug events of every crate
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Add this run's metrics (step durations, bytes, cache hits and misses, failures) to this Prometheus textfile at exit, for node_exporter's textfile collector
    #[arg(
        long,
        global = true,
        env = "PROVISION_METRICS_FILE",
        value_name = "FILE"
    )]
    pub metrics_file: Option<PathBuf>,
}

/// Narration line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormatArg {
    /// `[actor] action: human`
    Human,
    /// one JSON object per line
    Json,
}

/// The verbs.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Make a model present and verified locally, and record it in the catalog
    Model(ModelArgs),
    /// Prepare a llama.cpp engine for a pool (source, build, model, flags, port)
    Engine(EngineArgs),
    /// Inspect and manage the model catalog
    Catalog(CatalogArgs),
    /// Inspect the model cache and free space in it
    Cache(CacheArgs),
    /// Print the GGUF metadata of a model file
    Gguf(GgufArgs),
    /// Check that this machine is ready: tools, GPU, disk, catalog, Hub, and the pools given
    Doctor(DoctorArgs),
    /// Publish a verified model to an OCI registry as a model artifact
    Push(PushArgs),
}

impl Command {
    /// The verb, as typed.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Model(_) => "model",
            Self::Engine(_) => "engine",
            Self::Catalog(_) => "catalog",
            Self::Gguf(_) => "gguf",
            Self::Cache(_) => "cache",
            Self::Doctor(_) => "doctor",
            Self::Push(_) => "push",
        }
    }
}

/// Where the catalog lives.
#[derive(Debug, Args)]
pub struct CatalogPath {
    /// The SQLite catalog file (default: $XDG_DATA_HOME/provision/catalog.sqlite, else ~/.local/share/provision/catalog.sqlite)
    #[arg(long, global = true, env = "PROVISION_CATALOG", value_name = "FILE", default_value_os_t = Locations::from_env().catalog)]
    pub catalog: PathBuf,
}

/// Where models are cached and recorded, and whether the network may be
/// used: the settings of the model provisioner.
#[derive(Debug, Args)]
pub struct ModelStore {
    /// Model cache (default from HF_HUB_CACHE, else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub)
    #[arg(long, value_name = "DIR", default_value_os_t = Locations::from_env().cache_dir)]
    pub cache_dir: PathBuf,

    #[command(flatten)]
    pub catalog: CatalogPath,

    /// Use only what is already cached: no network access
    #[arg(long)]
    pub offline: bool,
}

/// How models are downloaded: for the verbs that may download one.
#[derive(Debug, Args)]
pub struct Download {
    /// Connections per file for large downloads (files of 64 MiB and more are fetched in ranged pieces); 1 fetches every file in one stream [default: PROVISION_DOWNLOAD_CONNECTIONS, else 8]
    #[arg(long, value_name = "N", value_parser = parse_connections)]
    pub connections: Option<NonZeroUsize>,
}

/// `--connections`: a whole number of at least 1.
fn parse_connections(value: &str) -> Result<NonZeroUsize, String> {
    value
        .trim()
        .parse()
        .map_err(|_| "expected a whole number of at least 1 (1: one stream per file)".to_string())
}

/// `provision push`.
#[derive(Debug, Args)]
pub struct PushArgs {
    /// The model to publish (ensured and verified first): any model REF
    #[arg(value_name = "MODEL-REF")]
    pub model_ref: String,

    /// Where: oci://REGISTRY/REPOSITORY:TAG (credentials from REGISTRY_AUTH_FILE or ~/.docker/config.json)
    #[arg(value_name = "OCI-REF")]
    pub target: String,

    /// The packaging: CNCF ModelPack or Docker Model Runner
    #[arg(long, value_enum, default_value = "modelpack")]
    pub format: PushFormatArg,

    #[command(flatten)]
    pub store: ModelStore,

    #[command(flatten)]
    pub download: Download,
}

/// `--format` of `provision push`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum PushFormatArg {
    /// application/vnd.cncf.model.weight.v1.raw
    Modelpack,
    /// application/vnd.docker.ai.gguf.v3
    Docker,
}

/// `provision model`.
#[derive(Debug, Args)]
pub struct ModelArgs {
    /// The model: a path, file:/abs, hf:org/repo/file.gguf, hf:org/repo:Q4_K_M, https://…, oci://registry/repo:tag
    #[arg(value_name = "REF")]
    pub model_ref: String,

    /// Expected sha256 of the file: sha256:<64 hex>
    #[arg(long, value_name = "sha256:HEX")]
    pub digest: Option<String>,

    #[command(flatten)]
    pub store: ModelStore,

    #[command(flatten)]
    pub download: Download,

    /// Hub revision (branch, tag or commit) for hf: refs
    #[arg(long, value_name = "REV")]
    pub revision: Option<String>,
}

/// `provision engine`.
#[derive(Debug, Args)]
pub struct EngineArgs {
    /// The pool configuration (TOML)
    #[arg(value_name = "POOL.toml")]
    pub pool: PathBuf,

    /// Show what would be done, without doing it
    #[arg(long)]
    pub plan: bool,

    /// Where the pool's model is cached and recorded.
    #[command(flatten)]
    pub store: ModelStore,

    /// How the pool's model is downloaded.
    #[command(flatten)]
    pub download: Download,
}

/// `provision catalog`.
#[derive(Debug, Args)]
pub struct CatalogArgs {
    #[command(subcommand)]
    pub action: CatalogAction,

    #[command(flatten)]
    pub catalog: CatalogPath,
}

/// `provision catalog <action>`.
#[derive(Debug, Subcommand)]
pub enum CatalogAction {
    /// List every entry
    List,
    /// Show one entry
    Show {
        /// The entry id (see `provision catalog list`)
        id: String,
    },
    /// Mark an entry retired: kept for the record, not handed to new pools
    Retire {
        /// The entry id
        id: String,
    },
    /// Make a retired entry active again, so pools may use it
    Activate {
        /// The entry id
        id: String,
    },
    /// Pin an entry: `provision cache prune` never removes it
    Pin {
        /// The entry id
        id: String,
    },
    /// Unpin an entry, so pruning may remove it again
    Unpin {
        /// The entry id
        id: String,
    },
    /// Remove an entry
    Remove {
        /// The entry id
        id: String,
        /// Also delete the model file: the snapshot link, and its blob when nothing else uses it (never a file the ref named directly)
        #[arg(long)]
        delete_files: bool,
    },
    /// Re-hash model files and compare with their recorded digests
    Verify {
        /// Only this entry (default: all)
        id: Option<String>,
    },
}

/// `provision gguf`.
#[derive(Debug, Args)]
pub struct GgufArgs {
    /// The GGUF file
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Also print every metadata key (arrays abbreviated)
    #[arg(long, conflicts_with = "tensors")]
    pub metadata: bool,

    /// List every tensor instead: name, type, shape, data offset, size (a JSON array with --json)
    #[arg(long)]
    pub tensors: bool,
}

/// Where the model cache and the catalog are, for `provision cache`.
#[derive(Debug, Args)]
pub struct CacheStore {
    /// Model cache (default from HF_HUB_CACHE, else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub)
    #[arg(long, value_name = "DIR", default_value_os_t = Locations::from_env().cache_dir)]
    pub cache_dir: PathBuf,

    #[command(flatten)]
    pub catalog: CatalogPath,
}

/// `provision cache`.
#[derive(Debug, Args)]
pub struct CacheArgs {
    #[command(subcommand)]
    pub action: CacheAction,
}

/// `provision cache <action>`.
#[derive(Debug, Subcommand)]
pub enum CacheAction {
    /// Repos, revisions and files in the cache, their size on disk (each blob once), last use and catalog entries; dangling links, orphan blobs and partial downloads
    Scan {
        #[command(flatten)]
        store: CacheStore,
    },
    /// Free space: remove least recently used models (never pinned ones, never a blob another snapshot uses)
    Prune(PruneArgs),
}

/// `provision cache prune`.
#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Remove models until the cache takes at most SIZE: bytes, or 500M, 50G (binary), 500MiB, 2GB (decimal)
    #[arg(long, value_name = "SIZE", value_parser = model_provisioner::units::parse_size)]
    pub max_size: Option<u64>,

    /// Remove every model not used for longer than AGE: 30d, 12h, 2w
    #[arg(long, value_name = "AGE", value_parser = model_provisioner::units::parse_age)]
    pub older_than: Option<std::time::Duration>,

    /// Print what would be removed, and remove nothing
    #[arg(long)]
    pub dry_run: bool,

    #[command(flatten)]
    pub store: CacheStore,
}

/// `provision doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Pool configurations to check too (plan, tools, build cache, model)
    #[arg(value_name = "POOL.toml")]
    pub pools: Vec<PathBuf>,

    /// Where models are cached and recorded; --offline skips the Hub check.
    #[command(flatten)]
    pub store: ModelStore,
}
