//! [`HfFetcher`]: the `hf` scheme's [`Fetcher`], online and offline.

use crate::digest::Digest;
use crate::download::{Client, ClientSettings, DownloadError};
use crate::error::ProvisionError;
use crate::fetch::Vouched;
use crate::fetch::{FetchContext, Fetched, Fetcher};
use crate::hf::blob_check::Promise;
use crate::hf::cache::RepoCache;
use crate::hf::config::HfConfig;
use crate::hf::file::{Present, serve_cached};
use crate::hf::meta::{self, Subject};
use crate::hf::select;
use crate::hf::shards::SetRequest;
use crate::hf_error::HfError;
use crate::model_ref::ModelRef;
use crate::transfer_events::Narrator;
use std::path::PathBuf;

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
    pub(super) config: HfConfig,
    pub(super) client: Client,
}

/// What a ref asks of one repository.
struct Want<'a> {
    /// `org/repo`.
    repo: String,
    revision: &'a str,
    path: Option<&'a str>,
    quant: Option<&'a str>,
}

/// The files a ref resolved to, all present.
struct Resolved {
    /// Every file fetched (one, or a split set, first shard first).
    files: Vec<String>,
    /// The commit they were resolved at.
    commit: String,
    /// The first file: what the ref names.
    first: Present,
    /// Bytes moved over the network for all of them.
    transferred: u64,
}

/// Why a Hub fetch failed, before it is a [`ProvisionError`].
#[derive(Debug)]
pub(super) enum FetchFailure {
    Hub(HfError),
    /// The bytes' sha256 (or the Hub's etag) is not the caller's digest.
    Mismatch {
        path: PathBuf,
        expected: Digest,
        actual: Digest,
    },
    /// Offline and not in the cache.
    Offline,
    /// A cached blob served without the Hub is not what its etag (its
    /// file name) promises.
    BadBlob {
        /// The snapshot link.
        path: PathBuf,
        /// The etag: the sha256 or git blob id promised.
        etag: String,
        /// The same hash of the bytes found.
        found: String,
    },
}

impl From<HfError> for FetchFailure {
    fn from(e: HfError) -> Self {
        match e {
            HfError::Transport(DownloadError::DigestMismatch {
                path,
                expected,
                actual,
            }) => FetchFailure::Mismatch {
                path,
                expected,
                actual,
            },
            e => FetchFailure::Hub(e),
        }
    }
}

impl From<DownloadError> for FetchFailure {
    fn from(e: DownloadError) -> Self {
        HfError::from(e).into()
    }
}

impl FetchFailure {
    fn into_provision(self, model: &ModelRef) -> ProvisionError {
        match self {
            FetchFailure::Hub(source) => ProvisionError::Hub {
                model: model.id(),
                source,
            },
            FetchFailure::Mismatch {
                path,
                expected,
                actual,
            } => ProvisionError::DigestMismatch {
                model: model.id(),
                path,
                expected,
                actual,
            },
            FetchFailure::Offline => ProvisionError::Offline { model: model.id() },
            FetchFailure::BadBlob { path, etag, found } => {
                match (Promise::of(&etag), Promise::of(&found)) {
                    (Some(Promise::Sha256(expected)), Some(Promise::Sha256(actual))) => {
                        ProvisionError::DigestMismatch {
                            model: model.id(),
                            path,
                            expected,
                            actual,
                        }
                    }
                    _ => ProvisionError::Hub {
                        model: model.id(),
                        source: HfError::BlobMismatch { path, etag, found },
                    },
                }
            }
        }
    }
}

impl HfFetcher {
    /// A fetcher with these settings.
    pub fn new(config: HfConfig) -> Self {
        let client = Client::new(ClientSettings {
            token: config.token.clone(),
            auth_origin: url::Url::parse(&config.endpoint).ok().map(|u| u.origin()),
            retry: config.retry.clone(),
            connect_timeout: config.connect_timeout,
            read_timeout: config.read_timeout,
            max_redirects: config.max_redirects,
            stall: config.stall,
            user_agent: config.user_agent.clone(),
            proxy: config.proxy.clone(),
            ca_bundle: config.ca_bundle.clone(),
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

    /// Resolves and fetches what `want` names: a listing first when no
    /// path is given (it pins the commit), then the file or every shard of
    /// a split GGUF at one commit. When the commit is not pinned yet, the
    /// first shard goes alone and its answer pins it. The shards are
    /// fetched at once, up to `parallel.connections` files together, each
    /// with its share of those connections, so a set never has more open
    /// than that budget. `expected` is the first file's digest; the first
    /// failure is returned (files already running finish and stay cached).
    fn online(
        &self,
        want: &Want<'_>,
        expected: Option<&Digest>,
        vouched: Option<&Vouched>,
        n: Narrator<'_>,
    ) -> Result<Resolved, FetchFailure> {
        let cache = RepoCache::new(&self.config.cache_dir, &want.repo);
        cache
            .prepare()
            .map_err(|e| HfError::io("create", cache.blob_dir(), e))?;
        let (files, pinned) = match want.path {
            Some(p) => (select::shards_of(p), None),
            None => {
                let subject = Subject {
                    endpoint: &self.config.endpoint,
                    repo: &want.repo,
                    revision: want.revision,
                };
                let t = n.transfer(format!("listing {}", want.repo));
                let l = meta::listing(&self.client, subject, &|e| t.on(e))?;
                (
                    select::select(&want.repo, &l.files, want.quant)?,
                    Some(l.commit),
                )
            }
        };
        if let Some(commit) = &pinned {
            cache
                .write_ref(want.revision, commit)
                .map_err(|e| HfError::io("write ref", cache.ref_path(want.revision), e))?;
        }
        // Shards are fetched at the commit the first answer pinned, so a
        // push in between cannot mix two versions of a set.
        let at = pinned.unwrap_or_else(|| want.revision.to_string());
        let set = SetRequest {
            cache: &cache,
            repo: &want.repo,
            revision: want.revision,
            vouched,
            n,
        };
        let present = self.ensure_shards(&set, at, &files, expected)?;
        let transferred = present.iter().map(|p| p.transferred).sum();
        let first = present
            .into_iter()
            .next()
            .ok_or_else(|| HfError::NoFileChosen {
                repo: want.repo.clone(),
                files: Vec::new(),
            })?;
        Ok(Resolved {
            files,
            commit: first.commit.clone(),
            first,
            transferred,
        })
    }

    /// Serves the cached snapshot, every file's blob known good first
    /// (vouched for by the catalog, or hashed against its etag): offline,
    /// a bad blob fails the fetch, since no good copy can be fetched.
    fn offline(
        &self,
        want: &Want<'_>,
        vouched: Option<&Vouched>,
    ) -> Result<Resolved, FetchFailure> {
        let cache = RepoCache::new(&self.config.cache_dir, &want.repo);
        let commit = cache
            .resolve_offline(want.revision)
            .ok_or(FetchFailure::Offline)?;
        let files = match want.path {
            Some(p) => select::shards_of(p),
            None => select::select(&want.repo, &cache.snapshot_files(&commit), want.quant)?,
        };
        if files.iter().any(|f| !cache.snapshot(&commit, f).is_file()) {
            return Err(FetchFailure::Offline);
        }
        let mut digests = files
            .iter()
            .map(|f| serve_cached(&cache, vouched, &cache.snapshot(&commit, f)))
            .collect::<Result<Vec<_>, _>>()?;
        let first = Present {
            digest: digests.swap_remove(0),
            ..Present::hit(cache.snapshot(&commit, &files[0]), &commit)
        };
        Ok(Resolved {
            files,
            commit,
            first,
            transferred: 0,
        })
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
        let ModelRef::Hf {
            org,
            repo,
            revision,
            path,
            quant,
        } = model
        else {
            return Err(ProvisionError::NoFetcher {
                model: model.id(),
                scheme: model.scheme().to_string(),
            });
        };
        let want = Want {
            repo: format!("{org}/{repo}"),
            revision: revision.as_deref().unwrap_or("main"),
            path: path.as_deref(),
            quant: quant.as_deref(),
        };
        // Every request, read, back-off and lock wait below runs under the
        // ensure's cancel token.
        let _cancel = crate::download::interrupt::enter(&ctx.cancel);
        let vouched = ctx.vouched.as_ref();
        let result = if self.config.offline || ctx.offline {
            self.offline(&want, vouched)
        } else {
            let cache = RepoCache::new(&self.config.cache_dir, &want.repo);
            let held = cache
                .use_shared()
                .map_err(|e| HfError::io("lock", cache.use_lock_path(), e))
                .map_err(|e| FetchFailure::from(e).into_provision(model))?;
            let result = self.online(&want, expected, vouched, Narrator::new(ctx, model));
            if result.is_err() {
                // A repo that does not exist, or a first download that
                // failed, must not leave an empty repo folder: other HF
                // tools read one without snapshots as a corrupted cache.
                // Not while another fetch works there (see RepoUse).
                held.tidy();
            }
            result
        };
        let got = result.map_err(|f| f.into_provision(model))?;
        Ok(Fetched {
            source: format!("hf:{}@{}/{}", want.repo, got.commit, got.files[0]),
            oci: None,
            path: got.first.path,
            digest: got.first.digest,
            bytes_transferred: got.transferred,
        })
    }
}
