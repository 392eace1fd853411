//! Hugging Face Hub downloads, native: `hf:org/repo[@rev]/file.gguf` and
//! `hf:org/repo[@rev]:QUANT` become files in the shared HF cache, resumable
//! across crashes, verified while streaming, with no Python.
//!
//! The protocol and cache layout follow the reference client exactly, so a
//! file downloaded here is found by `huggingface_hub` offline and the other
//! way round. [`HfFetcher`] plugs into the provisioner as a
//! [`Fetcher`](crate::Fetcher) for the `hf` scheme.

mod cache;
mod config;
mod error;
pub(crate) mod http;
mod lock;
mod meta;
pub(crate) mod narrate;
mod retry;
mod select;
pub(crate) mod transfer;

pub use config::{DEFAULT_ENDPOINT, HfConfig};
pub use error::HfError;
pub use retry::RetryPolicy;

use crate::digest::Digest;
use crate::error::ProvisionError;
use crate::fetch::{FetchContext, Fetched, Fetcher};
use crate::model_ref::ModelRef;
use cache::{RepoCache, is_commit_hash};
use http::{Client, ClientSettings, Origin};
use narrate::Narrator;
use narration_core::catalog::model as actions;
use transfer::{Download, FetchFailure};

pub(crate) use lock::lock as lock_file;

/// Fetches `hf:` model refs from a Hub (or a stand-in at `HF_ENDPOINT`)
/// into the HF cache.
///
/// ```no_run
/// use model_provisioner::hf::{HfConfig, HfFetcher};
/// use model_provisioner::{FetchContext, Fetcher, ModelRef};
/// let fetcher = HfFetcher::new(HfConfig::from_env());
/// let model = ModelRef::parse("hf:org/repo:Q4_K_M").unwrap();
/// let fetched = fetcher.fetch(&model, None, &FetchContext::new("/tmp/cache")).unwrap();
/// println!("{}", fetched.path.display());
/// ```
#[derive(Debug)]
pub struct HfFetcher {
    config: HfConfig,
    client: Client,
}

/// One file made present.
struct Present {
    path: std::path::PathBuf,
    digest: Option<Digest>,
    transferred: u64,
}

impl HfFetcher {
    /// A fetcher with these settings.
    pub fn new(config: HfConfig) -> Self {
        let client = Client::new(ClientSettings {
            token: config.token.clone(),
            auth_origin: Origin::of(&config.endpoint),
            retry: config.retry.clone(),
            connect_timeout: config.connect_timeout,
            read_timeout: config.read_timeout,
            max_redirects: config.max_redirects,
        });
        Self { config, client }
    }

    /// A fetcher configured from the `HF_*` environment.
    pub fn from_env() -> Self {
        Self::new(HfConfig::from_env())
    }

    /// The settings in use.
    pub fn config(&self) -> &HfConfig {
        &self.config
    }

    fn online(
        &self,
        repo: &str,
        revision: &str,
        path: Option<&str>,
        quant: Option<&str>,
        expected: Option<&Digest>,
        n: Narrator<'_>,
    ) -> Result<(Vec<String>, String, Present, u64), FetchFailure> {
        let cache = RepoCache::new(&self.config.cache_dir, repo);
        cache
            .prepare()
            .map_err(|e| HfError::io("create", &self.config.cache_dir, e))?;
        let (files, pinned) = match path {
            Some(p) => (select::shards_of(p), None),
            None => {
                let l = meta::listing(&self.client, &self.config.endpoint, repo, revision, n)?;
                (select::select(repo, &l.files, quant)?, Some(l.commit))
            }
        };
        if let Some(commit) = &pinned {
            cache
                .write_ref(revision, commit)
                .map_err(|e| HfError::io("write ref", &self.config.cache_dir, e))?;
        }
        // Shards are fetched at the commit the first answer pinned, so a
        // push in between cannot mix two versions of a set.
        let mut at = pinned.unwrap_or_else(|| revision.to_string());
        let mut first = None;
        let mut transferred = 0;
        for (i, file) in files.iter().enumerate() {
            let want = if i == 0 { expected } else { None };
            let (p, commit) = self.ensure_file(&cache, repo, revision, &at, file, want, n)?;
            at = commit;
            transferred += p.transferred;
            first.get_or_insert(p);
        }
        let first = first.ok_or_else(|| HfError::NoFileChosen {
            repo: repo.to_string(),
            files: Vec::new(),
        })?;
        Ok((files, at, first, transferred))
    }

    /// One file: cache hit, link to an existing blob, or download under the
    /// blob's lock. Returns it and the commit it was resolved at.
    #[allow(clippy::too_many_arguments)]
    fn ensure_file(
        &self,
        cache: &RepoCache,
        repo: &str,
        revision: &str,
        at: &str,
        file: &str,
        expected: Option<&Digest>,
        n: Narrator<'_>,
    ) -> Result<(Present, String), FetchFailure> {
        let io = |action| move |e| HfError::io(action, &self.config.cache_dir, e);
        let hit = |path| Present {
            path,
            digest: None,
            transferred: 0,
        };
        // A commit pins content: a snapshot that exists needs no request.
        if is_commit_hash(at) && cache.snapshot(at, file).is_file() {
            return Ok((hit(cache.snapshot(at, file)), at.to_string()));
        }
        let meta = match meta::file_meta(&self.client, &self.config.endpoint, repo, at, file, n) {
            Ok(m) => m,
            Err(e) => {
                if let Some(commit) = &e.missing_at_commit {
                    let _ = cache.mark_missing(commit, file);
                }
                // The Hub is unreachable after every retry, but this revision
                // was fetched before: use the cached snapshot, as the
                // reference client does, rather than fail a node with the
                // model on disk.
                if matches!(e.error.kind(), "retries-exhausted" | "network")
                    && let Some(commit) = cache.resolve_offline(at)
                    && cache.snapshot(&commit, file).is_file()
                {
                    n.emit(
                        actions::DOWNLOAD_FAILED,
                        format!("{e}; using the cached copy at {commit}", e = e.error),
                        |f| f.error_kind = Some("hub-unreachable-cache-used".to_string()),
                    );
                    return Ok((hit(cache.snapshot(&commit, file)), commit));
                }
                return Err(e.error.into());
            }
        };
        if !is_commit_hash(revision) {
            cache
                .write_ref(revision, &meta.commit)
                .map_err(io("write ref"))?;
        }
        let etag_sha256 = (meta.etag.len() == 64
            && meta.etag.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| meta.etag.to_ascii_lowercase());
        // The Hub already says what the bytes hash to: refuse before moving any.
        if let (Some(etag), Some(want)) = (&etag_sha256, expected)
            && *etag != want.hex()
            && let Ok(actual) = Digest::from_sha256_hex(etag)
        {
            return Err(FetchFailure::Mismatch {
                path: cache.snapshot(&meta.commit, file),
                expected: *want,
                actual,
            });
        }
        let blob = cache.blob(&meta.etag);
        let link = |c: &RepoCache| {
            c.link(&meta.commit, file, &meta.etag)
                .map_err(io("link snapshot"))
        };
        if blob.is_file() {
            return Ok((hit(link(cache)?), meta.commit.clone()));
        }
        let _lock = lock::lock(&cache.lock_path(&meta.etag))?;
        if blob.is_file() {
            // Another process finished it while this one waited.
            return Ok((hit(link(cache)?), meta.commit.clone()));
        }
        let done = transfer::download(
            &self.client,
            &Download {
                url: meta.location.clone(),
                label: format!("{repo}/{file}"),
                partial: cache.incomplete(&meta.etag),
                dest: blob,
                expected_size: meta.size,
                etag_sha256,
                expected,
            },
            n,
        )?;
        let path = link(cache)?;
        Ok((
            Present {
                path,
                digest: Some(done.digest),
                transferred: done.transferred,
            },
            meta.commit.clone(),
        ))
    }

    fn offline(
        &self,
        repo: &str,
        revision: &str,
        path: Option<&str>,
        quant: Option<&str>,
    ) -> Result<(Vec<String>, String, Present), FetchFailure> {
        let cache = RepoCache::new(&self.config.cache_dir, repo);
        let commit = cache
            .resolve_offline(revision)
            .ok_or(FetchFailure::Offline)?;
        let files = match path {
            Some(p) => select::shards_of(p),
            None => select::select(repo, &cache.snapshot_files(&commit), quant)?,
        };
        if files.iter().any(|f| !cache.snapshot(&commit, f).is_file()) {
            return Err(FetchFailure::Offline);
        }
        let first = Present {
            path: cache.snapshot(&commit, &files[0]),
            digest: None,
            transferred: 0,
        };
        Ok((files, commit, first))
    }
}

impl Fetcher for HfFetcher {
    fn schemes(&self) -> &'static [&'static str] {
        &["hf"]
    }

    fn fetch(
        &self,
        model: &ModelRef,
        expected: Option<&Digest>,
        ctx: &FetchContext,
    ) -> Result<Fetched, ProvisionError> {
        let n = Narrator::new(ctx, model);
        let ModelRef::Hf {
            org,
            repo,
            revision,
            path,
            quant,
        } = model
        else {
            return Err(fail(
                n,
                ProvisionError::NoFetcher {
                    model: model.id(),
                    scheme: model.scheme().to_string(),
                },
                actions::ENSURE_FAILED,
            ));
        };
        let repo_id = format!("{org}/{repo}");
        let revision = revision.as_deref().unwrap_or("main");
        let result = if self.config.offline || ctx.offline {
            self.offline(&repo_id, revision, path.as_deref(), quant.as_deref())
                .map(|(f, c, p)| (f, c, p, 0))
        } else {
            self.online(
                &repo_id,
                revision,
                path.as_deref(),
                quant.as_deref(),
                expected,
                n,
            )
        };
        match result {
            Ok((files, commit, first, transferred)) => Ok(Fetched {
                path: first.path,
                digest: first.digest,
                bytes_transferred: transferred,
                source: format!("hf:{repo_id}@{commit}/{}", files[0]),
            }),
            Err(f) => Err(report(n, model, f)),
        }
    }
}

/// Turns a failure into the provisioner's error, narrating it once:
/// `verify-failed` for bytes that did not match, `ensure-failed` for an
/// offline miss or a selection that found nothing, `download-failed` else.
pub(crate) fn report(n: Narrator<'_>, model: &ModelRef, f: FetchFailure) -> ProvisionError {
    match f {
        FetchFailure::Offline => fail(
            n,
            ProvisionError::Offline { model: model.id() },
            actions::ENSURE_FAILED,
        ),
        FetchFailure::Mismatch {
            path,
            expected,
            actual,
        } => fail(
            n,
            ProvisionError::DigestMismatch {
                model: model.id(),
                path,
                expected,
                actual,
            },
            actions::VERIFY_FAILED,
        ),
        FetchFailure::Hf(e) => {
            let action = if e.is_verification() {
                actions::VERIFY_FAILED
            } else if matches!(
                e.kind(),
                "quant-not-found" | "quant-ambiguous" | "no-file-chosen" | "missing-shard"
            ) {
                actions::ENSURE_FAILED
            } else {
                actions::DOWNLOAD_FAILED
            };
            let kind = e.kind();
            fail(n, ProvisionError::fetch(model.id(), kind, e), action)
        }
    }
}

fn fail(n: Narrator<'_>, err: ProvisionError, action: &'static str) -> ProvisionError {
    n.emit(action, err.to_string(), |f| {
        f.error_kind = Some(err.error_kind().to_string());
    });
    err
}
