//! `ensure_present`: model ref in, verified and catalogued local GGUF out.
//!
//! The lifecycle reads top to bottom in [`ModelProvisioner::run`]:
//! resolve → ensure → fetch → inspect GGUF header → verify (cache hit |
//! in-flight digest | hash) → register → complete. Each step narrates its start and
//! its outcome; every failure narrates `<step>-failed` with `error_kind`
//! before the error is returned.

use crate::catalog::{CatalogEntry, CatalogStore, Lifecycle, SqliteCatalog};
use crate::digest::{Digest, hash_file};
use crate::error::ProvisionError;
use crate::fetch::{FetchContext, Fetched, Fetcher, FileFetcher};
use crate::fingerprint::{Fingerprint, RACY_WINDOW_NS, now_ms, now_ns};
use crate::gguf::{GgufSummary, read_summary};
use crate::handoff::{ProvenanceRecord, append_provenance, write_handoff};
use crate::model_ref::ModelRef;
use narration_core::catalog::model as act;
use narration_core::{NarrationFields, narrate};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How a model's digest was established in this ensure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verification {
    /// The file was hashed now.
    Hashed,
    /// The fetcher hashed the bytes as it wrote them.
    InFlight,
    /// The catalog's verified fingerprint matched: no hashing.
    Fingerprint,
}

/// A model ready for an engine: where it is and what it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedModel {
    /// The normalized model ref id (the catalog key).
    pub id: String,
    pub local_path: PathBuf,
    pub digest: Digest,
    pub size_bytes: u64,
    pub gguf: GgufSummary,
    /// The reference the caller asked for, normalized.
    pub source_ref: String,
    /// Where the bytes came from (path, URL, `hf:` blob).
    pub source: String,
    pub verification: Verification,
}

/// Per-call context for [`ModelProvisioner::ensure_present_with`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnsureOptions {
    /// Correlation id carried on every narration; generated when `None`.
    pub correlation_id: Option<String>,
    /// The pool the model is for, carried on every narration.
    pub pool_id: Option<String>,
}

/// Configures a [`ModelProvisioner`].
pub struct ProvisionerBuilder {
    cache_dir: PathBuf,
    catalog_path: Option<PathBuf>,
    catalog: Option<Arc<dyn CatalogStore>>,
    provenance_path: Option<PathBuf>,
    fetchers: Vec<Arc<dyn Fetcher>>,
    offline: bool,
    racy_window: Duration,
}

impl std::fmt::Debug for ProvisionerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProvisionerBuilder")
            .field("cache_dir", &self.cache_dir)
            .field("catalog_path", &self.catalog_path)
            .field("fetchers", &self.fetchers.len())
            .field("offline", &self.offline)
            .finish()
    }
}

impl ProvisionerBuilder {
    /// The catalog database file (default `<cache_dir>/catalog.sqlite`).
    pub fn catalog_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.catalog_path = Some(path.into());
        self
    }

    /// Use this catalog store instead of opening a SQLite file.
    pub fn catalog(mut self, store: Arc<dyn CatalogStore>) -> Self {
        self.catalog = Some(store);
        self
    }

    /// The provenance JSONL file (default `<cache_dir>/provenance.jsonl`).
    pub fn provenance_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.provenance_path = Some(path.into());
        self
    }

    /// Add a fetcher. Fetchers added here are asked before the built-in
    /// [`FileFetcher`], in the order added.
    pub fn fetcher(mut self, fetcher: Arc<dyn Fetcher>) -> Self {
        self.fetchers.push(fetcher);
        self
    }

    /// Add the network fetchers: Hugging Face (`hf:`, configured from the
    /// `HF_*` environment) and HTTPS (`https:`, `http:` to loopback).
    pub fn network_fetchers(self) -> Self {
        self.fetcher(Arc::new(crate::hf::HfFetcher::from_env()))
            .fetcher(Arc::new(crate::https::HttpsFetcher::default()))
    }

    /// Forbid network access: fetchers serve from cache or fail.
    pub fn offline(mut self, offline: bool) -> Self {
        self.offline = offline;
        self
    }

    /// How recently a file may have changed and still have its fingerprint
    /// trusted (default [`RACY_WINDOW_NS`], 2 s, which covers file systems
    /// with coarse timestamps). Shorter windows suit nanosecond-timestamp
    /// file systems.
    pub fn racy_window(mut self, window: Duration) -> Self {
        self.racy_window = window;
        self
    }

    /// Open the catalog and build the provisioner.
    pub fn build(self) -> Result<ModelProvisioner, ProvisionError> {
        let catalog = match self.catalog {
            Some(c) => c,
            None => {
                let path = self
                    .catalog_path
                    .unwrap_or_else(|| self.cache_dir.join("catalog.sqlite"));
                Arc::new(SqliteCatalog::open(path)?)
            }
        };
        let mut fetchers = self.fetchers;
        fetchers.push(Arc::new(FileFetcher));
        Ok(ModelProvisioner {
            provenance_path: self
                .provenance_path
                .unwrap_or_else(|| self.cache_dir.join("provenance.jsonl")),
            cache_dir: self.cache_dir,
            catalog,
            fetchers,
            offline: self.offline,
            racy_window_ns: i64::try_from(self.racy_window.as_nanos()).unwrap_or(i64::MAX),
        })
    }
}

/// Turns model references into verified local GGUF files.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use model_provisioner::{ModelProvisioner, gguf};
/// let dir = tempfile::tempdir()?;
/// let model = dir.path().join("tiny.gguf");
/// gguf::write_tiny_llama(&model, gguf::TINY_LLAMA_SEED)?;
///
/// let provisioner = ModelProvisioner::builder(dir.path().join("cache")).build()?;
/// let resolved = provisioner.ensure_present_str(model.to_str().unwrap(), None)?;
/// assert_eq!(resolved.gguf.architecture.as_deref(), Some("llama"));
/// assert_eq!(resolved.local_path, model);
///
/// // The same file, checked against the digest just recorded.
/// let again = provisioner.ensure_present_str(model.to_str().unwrap(), Some(resolved.digest))?;
/// assert_eq!(again.digest, resolved.digest);
/// # Ok(()) }
/// ```
pub struct ModelProvisioner {
    cache_dir: PathBuf,
    catalog: Arc<dyn CatalogStore>,
    provenance_path: PathBuf,
    fetchers: Vec<Arc<dyn Fetcher>>,
    offline: bool,
    racy_window_ns: i64,
}

impl std::fmt::Debug for ModelProvisioner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelProvisioner")
            .field("cache_dir", &self.cache_dir)
            .field("provenance_path", &self.provenance_path)
            .field("fetchers", &self.fetchers.len())
            .field("offline", &self.offline)
            .finish()
    }
}

/// What the verify step established.
struct Verified {
    digest: Digest,
    size: u64,
    fingerprint: Option<Fingerprint>,
    verification: Verification,
    bytes_hashed: u64,
    /// The catalog row, when it already says everything (warm hit).
    entry: Option<CatalogEntry>,
}

/// The narration context of one ensure.
struct Ensure<'a> {
    target: String,
    ctx: FetchContext,
    model: Option<&'a ModelRef>,
}

impl Ensure<'_> {
    fn fields(&self, action: &'static str, human: String) -> NarrationFields {
        NarrationFields {
            actor: act::ACTOR,
            action,
            target: self.target.clone(),
            human,
            correlation_id: self.ctx.correlation_id.clone(),
            pool_id: self.ctx.pool_id.clone(),
            model_ref: self.model.map(ModelRef::id),
            ..Default::default()
        }
    }

    fn say(&self, action: &'static str, human: String) {
        narrate(self.fields(action, human));
    }

    /// Narrate `action` (a `*-failed`) for `err` and hand it back.
    fn fail(&self, action: &'static str, err: ProvisionError) -> ProvisionError {
        narrate(NarrationFields {
            error_kind: Some(err.error_kind().to_string()),
            ..self.fields(action, err.to_string())
        });
        err
    }
}

impl ModelProvisioner {
    /// Start configuring a provisioner that keeps downloads, its catalog
    /// and provenance under `cache_dir`.
    pub fn builder(cache_dir: impl Into<PathBuf>) -> ProvisionerBuilder {
        ProvisionerBuilder {
            cache_dir: cache_dir.into(),
            catalog_path: None,
            catalog: None,
            provenance_path: None,
            fetchers: Vec::new(),
            offline: false,
            racy_window: Duration::from_nanos(RACY_WINDOW_NS as u64),
        }
    }

    /// A builder at `locations` (downloads, catalog, provenance log) with
    /// the network fetchers: Hugging Face (configured from the `HF_*`
    /// environment, storing into `locations.cache_dir`) and HTTPS. The
    /// CLI, the engine provisioner and orchestrators start here, so they
    /// share one cache and one catalog.
    ///
    /// ```no_run
    /// use model_provisioner::{Locations, ModelProvisioner};
    /// let models = ModelProvisioner::at(Locations::from_env()).build()?;
    /// # Ok::<(), model_provisioner::ProvisionError>(())
    /// ```
    pub fn at(locations: crate::Locations) -> ProvisionerBuilder {
        let hf = crate::hf::HfConfig::from_env().with_cache_dir(&locations.cache_dir);
        Self::builder(&locations.cache_dir)
            .catalog_path(&locations.catalog)
            .provenance_path(&locations.provenance)
            .fetcher(Arc::new(crate::hf::HfFetcher::new(hf)))
            .fetcher(Arc::new(crate::https::HttpsFetcher::default()))
    }

    /// The catalog this provisioner records models in.
    pub fn catalog(&self) -> &dyn CatalogStore {
        self.catalog.as_ref()
    }

    /// The directory fetchers may download into.
    pub fn cache_dir(&self) -> &Path {
        &self.cache_dir
    }

    /// Parse `input` as a [`ModelRef`] and ensure it is present.
    pub fn ensure_present_str(
        &self,
        input: &str,
        expected: Option<Digest>,
    ) -> Result<ResolvedModel, ProvisionError> {
        self.ensure_present_str_with(input, expected, &EnsureOptions::default())
    }

    /// [`ensure_present_str`](Self::ensure_present_str) with a correlation
    /// id and pool id.
    pub fn ensure_present_str_with(
        &self,
        input: &str,
        expected: Option<Digest>,
        opts: &EnsureOptions,
    ) -> Result<ResolvedModel, ProvisionError> {
        let ctx = self.context(opts);
        // The raw input may be a URL with credentials: show its public form.
        let shown = crate::model_ref::public_url(input);
        let span = span_for(&ctx, &shown);
        let _entered = span.enter();
        let started = Instant::now();
        let e = Ensure {
            target: shown.clone(),
            ctx,
            model: None,
        };
        e.say(act::RESOLVE, format!("Resolving model reference: {shown}"));
        let model =
            ModelRef::parse(input).map_err(|err| e.fail(act::RESOLVE_FAILED, err.into()))?;
        self.run(&model, expected, e.ctx, started)
    }

    /// Ensure `model` is present locally, verified, inspected and recorded.
    /// `expected`, when given, must match the file's sha256.
    pub fn ensure_present(
        &self,
        model: &ModelRef,
        expected: Option<Digest>,
    ) -> Result<ResolvedModel, ProvisionError> {
        self.ensure_present_with(model, expected, &EnsureOptions::default())
    }

    /// [`ensure_present`](Self::ensure_present) with a correlation id and
    /// pool id.
    pub fn ensure_present_with(
        &self,
        model: &ModelRef,
        expected: Option<Digest>,
        opts: &EnsureOptions,
    ) -> Result<ResolvedModel, ProvisionError> {
        let ctx = self.context(opts);
        let id = model.id();
        let span = span_for(&ctx, &id);
        let _entered = span.enter();
        let started = Instant::now();
        Ensure {
            target: id.clone(),
            ctx: ctx.clone(),
            model: Some(model),
        }
        .say(act::RESOLVE, format!("Resolving model reference: {id}"));
        self.run(model, expected, ctx, started)
    }

    /// The lifecycle, one step per line.
    fn run(
        &self,
        model: &ModelRef,
        expected: Option<Digest>,
        ctx: FetchContext,
        started: Instant,
    ) -> Result<ResolvedModel, ProvisionError> {
        let e = Ensure {
            target: model.id(),
            ctx,
            model: Some(model),
        };
        e.say(act::ENSURE, format!("Ensuring model present: {}", e.target));
        let fetched = self.fetch(&e, model, expected.as_ref())?;
        let (fingerprint, recorded) = self.look_up(&e, &fetched.path)?;
        let gguf = self.inspect(&e, &fetched.path, fingerprint, recorded.as_ref())?;
        let verified = self.verify(&e, &fetched, fingerprint, recorded, expected.as_ref())?;
        let resolved = ResolvedModel {
            id: model.id(),
            local_path: fetched.path.clone(),
            digest: verified.digest,
            size_bytes: verified.size,
            gguf,
            source_ref: model.id(),
            source: fetched.source.clone(),
            verification: verified.verification,
        };
        self.register(&e, &resolved, &verified, fetched.bytes_transferred)?;
        narrate(NarrationFields {
            duration_ms: Some(elapsed_ms(started)),
            bytes: Some(resolved.size_bytes),
            ..e.fields(
                act::COMPLETE,
                format!(
                    "Model ready: {} at {} ({}, {})",
                    resolved.id,
                    resolved.local_path.display(),
                    resolved.digest.short(),
                    describe_gguf(&resolved.gguf)
                ),
            )
        });
        Ok(resolved)
    }

    fn context(&self, opts: &EnsureOptions) -> FetchContext {
        FetchContext {
            correlation_id: Some(
                opts.correlation_id
                    .clone()
                    .unwrap_or_else(new_correlation_id),
            ),
            pool_id: opts.pool_id.clone(),
            offline: self.offline,
            cache_dir: self.cache_dir.clone(),
        }
    }

    /// Hand the ref to the first fetcher for its scheme; its failure is
    /// narrated here, once (fetchers do not narrate their own).
    fn fetch(
        &self,
        e: &Ensure<'_>,
        model: &ModelRef,
        expected: Option<&Digest>,
    ) -> Result<Fetched, ProvisionError> {
        let scheme = model.scheme();
        let Some(fetcher) = self.fetchers.iter().find(|f| f.schemes().contains(&scheme)) else {
            return Err(e.fail(
                act::ENSURE_FAILED,
                ProvisionError::NoFetcher {
                    model: model.id(),
                    scheme: scheme.to_string(),
                },
            ));
        };
        fetcher
            .fetch(model, expected, &e.ctx)
            .map_err(|err| e.fail(fetch_failure_action(&err), err))
    }

    /// The file's fingerprint now, and what the catalog recorded for this
    /// ref. Taken before the header is read and the bytes hashed, so a
    /// change during either is detected.
    fn look_up(
        &self,
        e: &Ensure<'_>,
        path: &Path,
    ) -> Result<(Fingerprint, Option<CatalogEntry>), ProvisionError> {
        let fingerprint = Fingerprint::of(path).map_err(|source| {
            e.fail(
                act::VERIFY_FAILED,
                ProvisionError::UnreadableFile {
                    path: path.to_path_buf(),
                    source,
                },
            )
        })?;
        let entry = self
            .catalog
            .get(&e.target)
            .map_err(|err| e.fail(act::VERIFY_FAILED, err.into()))?;
        Ok((fingerprint, entry))
    }

    /// Establish the file's digest: from the fetcher, from a verified
    /// fingerprint in the catalog, or by hashing; then compare it with
    /// `expected`.
    fn verify(
        &self,
        e: &Ensure<'_>,
        fetched: &Fetched,
        fingerprint: Fingerprint,
        entry: Option<CatalogEntry>,
        expected: Option<&Digest>,
    ) -> Result<Verified, ProvisionError> {
        let path = &fetched.path;
        let unreadable = |source| ProvisionError::UnreadableFile {
            path: path.clone(),
            source,
        };

        if let Some(digest) = fetched.digest {
            e.say(
                act::VERIFIED,
                format!("Digest verified while downloading: {digest}"),
            );
            return Ok(Verified {
                digest,
                size: fingerprint.size,
                fingerprint: None,
                verification: Verification::InFlight,
                bytes_hashed: 0,
                entry: None,
            });
        }

        let recorded = entry.as_ref().filter(|row| {
            row.local_path == *path
                && row.fingerprint == Some(fingerprint)
                && expected.is_none_or(|x| *x == row.digest)
        });
        if let Some(row) = recorded {
            e.say(
                act::VERIFY,
                format!("Verifying {} against the catalog", path.display()),
            );
            e.say(
                act::CACHE_HIT,
                format!(
                    "File unchanged since it was verified ({} bytes, inode {}): not re-hashing",
                    fingerprint.size, fingerprint.inode
                ),
            );
            e.say(act::VERIFIED, format!("Digest verified: {}", row.digest));
            return Ok(Verified {
                digest: row.digest,
                size: row.size_bytes,
                fingerprint: Some(fingerprint),
                verification: Verification::Fingerprint,
                bytes_hashed: 0,
                entry: Some(row.clone()),
            });
        }

        let why = match &entry {
            Some(row) if row.local_path == *path && row.fingerprint.is_some() => {
                " (file changed since it was last verified)"
            }
            _ => "",
        };
        narrate(NarrationFields {
            bytes: Some(fingerprint.size),
            ..e.fields(act::VERIFY, format!("Hashing {}{why}", path.display()))
        });
        let hash_started = Instant::now();
        let hash_started_ns = now_ns();
        let (digest, bytes) =
            hash_file(path).map_err(|err| e.fail(act::VERIFY_FAILED, unreadable(err)))?;
        let after =
            Fingerprint::of(path).map_err(|err| e.fail(act::VERIFY_FAILED, unreadable(err)))?;
        if after != fingerprint || after.size != bytes {
            return Err(e.fail(
                act::VERIFY_FAILED,
                ProvisionError::ChangedWhileHashing { path: path.clone() },
            ));
        }
        if let Some(want) = expected
            && *want != digest
        {
            let err = ProvisionError::DigestMismatch {
                model: e.target.clone(),
                path: path.clone(),
                expected: *want,
                actual: digest,
            };
            narrate(NarrationFields {
                error_kind: Some(err.error_kind().to_string()),
                bytes: Some(bytes),
                duration_ms: Some(elapsed_ms(hash_started)),
                ..e.fields(
                    act::VERIFY_FAILED,
                    format!("Digest mismatch: expected {want}, got {digest}"),
                )
            });
            return Err(err);
        }
        narrate(NarrationFields {
            bytes: Some(bytes),
            duration_ms: Some(elapsed_ms(hash_started)),
            ..e.fields(act::VERIFIED, format!("Digest verified: {digest}"))
        });
        Ok(Verified {
            digest,
            size: bytes,
            fingerprint: after
                .trustworthy_within(hash_started_ns, self.racy_window_ns)
                .then_some(after),
            verification: Verification::Hashed,
            bytes_hashed: bytes,
            entry: None,
        })
    }

    /// Read the GGUF summary before hashing, so a file that is not a model
    /// is refused without reading all of it. The catalog's summary is
    /// reused when the file is unchanged since it was recorded.
    fn inspect(
        &self,
        e: &Ensure<'_>,
        path: &Path,
        fingerprint: Fingerprint,
        recorded: Option<&CatalogEntry>,
    ) -> Result<GgufSummary, ProvisionError> {
        let unchanged =
            recorded.filter(|row| row.local_path == path && row.fingerprint == Some(fingerprint));
        if let Some(gguf) = unchanged.and_then(|row| row.gguf.clone()) {
            return Ok(gguf);
        }
        read_summary(path).map_err(|source| {
            e.fail(
                act::INSPECT_FAILED,
                ProvisionError::NotGguf {
                    path: path.to_path_buf(),
                    source,
                },
            )
        })
    }

    /// Write the catalog row and the provenance line, unless a warm hit
    /// found the row already saying all of it.
    fn register(
        &self,
        e: &Ensure<'_>,
        resolved: &ResolvedModel,
        verified: &Verified,
        bytes_transferred: u64,
    ) -> Result<(), ProvisionError> {
        if verified
            .entry
            .as_ref()
            .is_some_and(|row| row.lifecycle == Lifecycle::Active && row.gguf.is_some())
        {
            return Ok(());
        }
        let now = now_ms();
        let entry = CatalogEntry {
            id: resolved.id.clone(),
            local_path: resolved.local_path.clone(),
            digest: resolved.digest,
            size_bytes: resolved.size_bytes,
            fingerprint: verified.fingerprint,
            lifecycle: Lifecycle::Active,
            source_ref: resolved.source.clone(),
            gguf: Some(resolved.gguf.clone()),
            created_at_ms: now,
            verified_at_ms: Some(now),
        };
        self.catalog
            .put(&entry)
            .map_err(|err| e.fail(act::REGISTER_FAILED, err.into()))?;
        let record = ProvenanceRecord {
            at_ms: now,
            correlation_id: e.ctx.correlation_id.clone(),
            model_id: resolved.id.clone(),
            local_path: resolved.local_path.clone(),
            digest: resolved.digest,
            size_bytes: resolved.size_bytes,
            source: resolved.source.clone(),
            verification: resolved.verification,
            bytes_hashed: verified.bytes_hashed,
            bytes_transferred,
        };
        append_provenance(&self.provenance_path, &record)
            .map_err(|err| e.fail(act::REGISTER_FAILED, err))?;
        e.say(
            act::REGISTER,
            format!(
                "Registered {} in the catalog ({})",
                resolved.id,
                resolved.digest.short()
            ),
        );
        Ok(())
    }

    /// Write the engine handoff file for `resolved` atomically, narrating
    /// `handoff` or `handoff-failed`.
    pub fn write_handoff(
        &self,
        resolved: &ResolvedModel,
        path: &Path,
    ) -> Result<(), ProvisionError> {
        let e = Ensure {
            target: resolved.id.clone(),
            ctx: self.context(&EnsureOptions::default()),
            model: None,
        };
        write_handoff(path, resolved).map_err(|err| e.fail(act::HANDOFF_FAILED, err))?;
        e.say(
            act::HANDOFF,
            format!(
                "Wrote engine handoff for {} to {}",
                resolved.id,
                path.display()
            ),
        );
        Ok(())
    }
}

/// The `*-failed` action a fetch error is narrated with: bytes that did
/// not verify, a reference that cannot be served, or a download failure.
fn fetch_failure_action(err: &ProvisionError) -> &'static str {
    use crate::DownloadError;
    match err {
        ProvisionError::DigestMismatch { .. } => act::VERIFY_FAILED,
        ProvisionError::Download { source, .. } if source.is_verification() => act::VERIFY_FAILED,
        ProvisionError::Hub { source, .. }
            if source
                .download()
                .is_some_and(DownloadError::is_verification) =>
        {
            act::VERIFY_FAILED
        }
        ProvisionError::Hub { source, .. } if source.is_selection() => act::ENSURE_FAILED,
        ProvisionError::Offline { .. }
        | ProvisionError::NoFetcher { .. }
        | ProvisionError::MissingFile { .. }
        | ProvisionError::NotAFile { .. }
        | ProvisionError::UnreadableFile { .. } => act::ENSURE_FAILED,
        _ => act::DOWNLOAD_FAILED,
    }
}

fn span_for(ctx: &FetchContext, target: &str) -> tracing::Span {
    tracing::info_span!(
        "ensure_present",
        correlation_id = ctx.correlation_id.as_deref(),
        pool_id = ctx.pool_id.as_deref(),
        model_ref = target,
    )
}

fn elapsed_ms(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

fn describe_gguf(g: &GgufSummary) -> String {
    format!(
        "{} {}",
        g.architecture.as_deref().unwrap_or("unknown-arch"),
        g.quantization.as_deref().unwrap_or("unknown-type")
    )
}

/// A process-unique id: pid, start time and a counter.
fn new_correlation_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!(
        "mp-{:x}-{:x}-{}",
        std::process::id(),
        now_ns(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}
