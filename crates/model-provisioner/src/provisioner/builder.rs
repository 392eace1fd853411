//! Configuring a [`ModelProvisioner`]: where its catalog and provenance
//! log are, which fetchers it asks, whether it may use the network.

use super::ModelProvisioner;
use crate::catalog::{CatalogStore, SqliteCatalog};
use crate::error::ProvisionError;
use crate::fetch::{Fetcher, FileFetcher};
use crate::fingerprint::RACY_WINDOW_NS;
use crate::locations::PROVENANCE_FILE;
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
    pub(super) fn new(cache_dir: PathBuf) -> Self {
        Self {
            cache_dir,
            catalog_path: None,
            catalog: None,
            provenance_path: None,
            fetchers: Vec::new(),
            offline: false,
            racy_window: Duration::from_nanos(RACY_WINDOW_NS as u64),
        }
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
                .unwrap_or_else(|| self.cache_dir.join(PROVENANCE_FILE)),
            cache_dir: self.cache_dir,
            catalog,
            fetchers,
            offline: self.offline,
            racy_window_ns: i64::try_from(self.racy_window.as_nanos()).unwrap_or(i64::MAX),
        })
    }
}
