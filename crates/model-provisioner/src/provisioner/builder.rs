//! Configuring a [`ModelProvisioner`]: where its catalog and provenance
//! log are, which fetchers it asks, whether it may use the network.

use super::ModelProvisioner;
use crate::catalog::{CatalogStore, SqliteCatalog};
use crate::download::ParallelPolicy;
use crate::download::ProxySettings;
use crate::error::ProvisionError;
use crate::fetch::{Fetcher, FileFetcher};
use crate::file_lock::LockWait;
use crate::fingerprint::RACY_WINDOW_NS;
use crate::hf::{HfConfig, HfFetcher, HubSettings};
use crate::https::{HttpsConfig, HttpsFetcher};
use crate::locations::PROVENANCE_FILE;
use crate::oci::{OciConfig, OciFetcher, RegistryAuth};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Configures a [`ModelProvisioner`].
pub struct ProvisionerBuilder {
    cache_dir: PathBuf,
    catalog_path: Option<PathBuf>,
    catalog: Option<Arc<dyn CatalogStore>>,
    provenance_path: Option<PathBuf>,
    fetchers: Vec<Arc<dyn Fetcher>>,
    offline: bool,
    racy_window: Duration,
    network: Option<Network>,
    lock_wait: LockWait,
}

/// The network fetchers (Hub and HTTPS) and their settings. They are made
/// at [`ProvisionerBuilder::build`], so settings given at any point reach
/// both of them.
#[derive(Debug, Clone)]
struct Network {
    hub: HubSettings,
    parallel: ParallelPolicy,
    /// Credentials for `oci://` registries.
    registry: RegistryAuth,
    /// The hub cache downloads go to.
    hf_cache: PathBuf,
    /// The proxies all three fetchers go through.
    proxy: ProxySettings,
    /// The CA bundle all three fetchers trust, read at build.
    ca_bundle: Option<PathBuf>,
}

impl std::fmt::Debug for ProvisionerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProvisionerBuilder")
            .field("cache_dir", &self.cache_dir)
            .field("catalog_path", &self.catalog_path)
            .field("fetchers", &self.fetchers.len())
            .field("offline", &self.offline)
            .field("network", &self.network)
            .finish()
    }
}

impl ProvisionerBuilder {
    pub(super) fn new(cache_dir: PathBuf) -> Self {
        Self {
            cache_dir,
            catalog_path: None,
            catalog: None,
            provenance_path: None,
            fetchers: Vec::new(),
            offline: false,
            racy_window: Duration::from_nanos(RACY_WINDOW_NS as u64),
            network: None,
            lock_wait: super::gate::ENSURE_LOCK_WAIT,
        }
    }

    /// Adds the Hub and HTTPS fetchers, storing into `hf_cache`, with the
    /// default settings until [`hub`](Self::hub) and
    /// [`parallel`](Self::parallel) say otherwise.
    pub(super) fn with_network(mut self, hf_cache: PathBuf) -> Self {
        self.network = Some(Network {
            hub: HubSettings::default(),
            parallel: ParallelPolicy::default(),
            registry: RegistryAuth::anonymous(),
            hf_cache,
            proxy: ProxySettings::none(),
            ca_bundle: None,
        });
        self
    }

    fn network_mut(&mut self) -> &mut Network {
        let cache = self.cache_dir.clone();
        self.network.get_or_insert_with(|| Network {
            hub: HubSettings::default(),
            parallel: ParallelPolicy::default(),
            registry: RegistryAuth::anonymous(),
            hf_cache: cache,
            proxy: ProxySettings::none(),
            ca_bundle: None,
        })
    }

    /// The Hub to ask (endpoint, token, offline mode, user agent), as
    /// values: nothing is read from the environment. Keeps the HTTPS
    /// fetcher beside the Hub's (adds both when this builder has none);
    /// offline mode holds for both.
    ///
    /// ```
    /// use model_provisioner::hf::HubSettings;
    /// use model_provisioner::{Locations, ModelProvisioner};
    /// let dir = tempfile::tempdir()?;
    /// let at = Locations::under(dir.path());
    /// let models = ModelProvisioner::at(at)
    ///     .hub(HubSettings { endpoint: Some("http://127.0.0.1:9".into()), ..Default::default() })
    ///     .build()?;
    /// assert_eq!(models.schemes(), ["hf", "https", "http", "oci", "file"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn hub(mut self, hub: HubSettings) -> Self {
        self.network_mut().hub = hub;
        self
    }

    /// How both network fetchers split large files over connections
    /// (default [`ParallelPolicy::default`]; the CLI passes its
    /// `--connections`, or [`ParallelPolicy::from_env`]).
    pub fn parallel(mut self, parallel: ParallelPolicy) -> Self {
        self.network_mut().parallel = parallel;
        self
    }

    /// Credentials for `oci://` registries (default: anonymous), as a
    /// value; [`RegistryAuth::from_env`] reads the Docker config.
    pub fn registry(mut self, auth: RegistryAuth) -> Self {
        self.network_mut().registry = auth;
        self
    }

    /// The proxies the Hub, HTTPS and OCI fetchers go through (default:
    /// none), as a value; [`ProxySettings::from_env`] reads them as curl
    /// does.
    pub fn proxy(mut self, proxy: ProxySettings) -> Self {
        self.network_mut().proxy = proxy;
        self
    }

    /// A PEM bundle of the CAs the Hub, HTTPS and OCI fetchers trust
    /// instead of the built-in roots (default: none, the built-in
    /// roots), as [`CaBundle`](crate::CaBundle) explains. It is
    /// read at [`build`](Self::build): a file that cannot be read or
    /// holds no certificate fails the build, naming it.
    pub fn ca_bundle(mut self, path: Option<PathBuf>) -> Self {
        self.network_mut().ca_bundle = path;
        self
    }

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

    /// How long an ensure waits for another task or process ensuring the
    /// same model (default: an hour, told at once); past it the ensure
    /// fails with `lock-timeout` ([`ErrorKind::Locked`](crate::ErrorKind::Locked)).
    pub fn ensure_lock_wait(mut self, wait: LockWait) -> Self {
        self.lock_wait = wait;
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
        let mut fetchers: Vec<Arc<dyn Fetcher>> = Vec::new();
        let mut offline = self.offline;
        let mut proxy = ProxySettings::none();
        let mut trusted = None;
        if let Some(net) = self.network {
            offline |= net.hub.offline;
            let ca_bundle = crate::download::CaBundle::read_optional(net.ca_bundle.as_deref())
                .map_err(|e| refused_bundle(net.ca_bundle.as_deref(), e))?;
            proxy = net.proxy.clone();
            trusted = ca_bundle.clone();
            let hf = HfConfig {
                proxy: net.proxy.clone(),
                ca_bundle: ca_bundle.clone(),
                ..HfConfig::default()
                    .with_hub(&net.hub)
                    .with_cache_dir(&net.hf_cache)
                    .with_parallel(net.parallel.clone())
            };
            let oci = OciConfig {
                hf_cache: Some(net.hf_cache.clone()),
                auth: net.registry,
                offline: net.hub.offline,
                parallel: net.parallel.clone(),
                proxy: net.proxy.clone(),
                ca_bundle: ca_bundle.clone(),
                ..OciConfig::default()
            };
            let https = HttpsConfig {
                parallel: net.parallel,
                offline: net.hub.offline,
                user_agent: net.hub.user_agent,
                proxy: net.proxy,
                ca_bundle,
                ..HttpsConfig::default()
            };
            fetchers.push(Arc::new(HfFetcher::new(hf)));
            fetchers.push(Arc::new(HttpsFetcher::new(https)));
            fetchers.push(Arc::new(OciFetcher::new(oci)));
        }
        fetchers.extend(self.fetchers);
        fetchers.push(Arc::new(FileFetcher));
        Ok(ModelProvisioner {
            provenance_path: self
                .provenance_path
                .unwrap_or_else(|| self.cache_dir.join(PROVENANCE_FILE)),
            cache_dir: self.cache_dir,
            catalog,
            fetchers,
            offline,
            lock_wait: self.lock_wait,
            proxy,
            ca_bundle: trusted,
            racy_window_ns: i64::try_from(self.racy_window.as_nanos()).unwrap_or(i64::MAX),
        })
    }
}

/// A CA bundle that cannot be used stops the build: narrated once as
/// `ensure-failed` (`error_kind` `ca-bundle`, the file as target), since no
/// ensure can run without it.
fn refused_bundle(
    path: Option<&std::path::Path>,
    source: crate::download::DownloadError,
) -> ProvisionError {
    let err = ProvisionError::CaBundle(source);
    narration_core::narrate(narration_core::NarrationFields {
        actor: crate::actions::ACTOR,
        action: crate::actions::ENSURE_FAILED,
        target: path.map(|p| p.display().to_string()).unwrap_or_default(),
        human: err.to_string(),
        error_kind: Some(err.error_kind().to_string()),
        ..Default::default()
    });
    err
}
