//! `ensure_present`: model ref in, verified and catalogued local GGUF out.
//!
//! The lifecycle reads top to bottom in [`lifecycle`]: resolve → ensure →
//! fetch → inspect the GGUF header → verify (in-flight digest | catalog
//! fingerprint | hash) → register → complete. Steps return errors tagged
//! with their [`Step`]; the lifecycle narrates a failure once, at its
//! boundary.

#[cfg(feature = "tokio")]
mod async_ensure;
mod builder;
mod gate;
mod lifecycle;
mod prune;
mod register;
mod remove;
mod step;
mod verify;

pub use builder::ProvisionerBuilder;
pub use prune::{PrunePolicy, PruneReport, Pruned};
pub use remove::{KeptFile, Removal};
pub(crate) use step::Step;

use crate::actions as act;
use crate::catalog::CatalogStore;
use crate::digest::Digest;
use crate::error::ProvisionError;
use crate::fetch::Fetcher;
use crate::handoff::write_handoff;
use crate::locations::Locations;
use crate::model_ref::ModelRef;
use crate::resolved::{EnsureOptions, ResolvedModel};
use crate::settings::Settings;
use lifecycle::Ensure;
use std::path::{Path, PathBuf};
use std::sync::Arc;

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
    lock_wait: crate::file_lock::LockWait,
    proxy: crate::download::ProxySettings,
    ca_bundle: Option<crate::download::CaBundle>,
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

impl ModelProvisioner {
    /// Start configuring a provisioner that keeps downloads, its catalog
    /// and provenance under `cache_dir`.
    pub fn builder(cache_dir: impl Into<PathBuf>) -> ProvisionerBuilder {
        ProvisionerBuilder::new(cache_dir.into())
    }

    /// The proxies this provisioner's network fetchers go through (none
    /// when it was built without a network), for other downloads that
    /// must take the same road, such as an engine's release archive.
    pub fn proxy(&self) -> &crate::download::ProxySettings {
        &self.proxy
    }

    /// The CA bundle its network fetchers trust instead of the built-in
    /// roots, if one was set (see [`ProvisionerBuilder::ca_bundle`]).
    pub fn ca_bundle(&self) -> Option<&crate::download::CaBundle> {
        self.ca_bundle.as_ref()
    }

    /// A builder at `locations` (downloads, catalog, provenance log) with
    /// the network fetchers: Hugging Face (storing into
    /// `locations.cache_dir`) and HTTPS. The CLI, the engine provisioner's
    /// callers and orchestrators start here, so they share one cache and
    /// one catalog. Nothing is read from the environment: the Hub is the
    /// public one, online, without a token, until
    /// [`hub`](ProvisionerBuilder::hub) says otherwise;
    /// [`with_settings`](Self::with_settings) takes all of it at once.
    ///
    /// ```
    /// use model_provisioner::hf::HubSettings;
    /// use model_provisioner::{Locations, ModelProvisioner};
    /// let dir = tempfile::tempdir()?;
    /// let models = ModelProvisioner::at(Locations::under(dir.path()))
    ///     .hub(HubSettings { offline: true, ..Default::default() })
    ///     .build()?;
    /// let err = models.ensure_present_str("hf:org/repo/m.gguf", None).unwrap_err();
    /// assert_eq!(err.kind(), model_provisioner::ErrorKind::OfflineMiss);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn at(locations: Locations) -> ProvisionerBuilder {
        Self::builder(&locations.cache_dir)
            .catalog_path(&locations.catalog)
            .provenance_path(&locations.provenance)
            .with_network(locations.cache_dir)
    }

    /// A builder from `settings`: [`at`](Self::at) its locations, with its
    /// Hub and connection settings. [`Settings::from_env`] is how a
    /// program opts in to the environment (the CLI does).
    ///
    /// ```no_run
    /// use model_provisioner::{ModelProvisioner, Settings};
    /// let models = ModelProvisioner::with_settings(Settings::from_env()).build()?;
    /// # Ok::<(), model_provisioner::ProvisionError>(())
    /// ```
    pub fn with_settings(settings: Settings) -> ProvisionerBuilder {
        Self::at(settings.locations)
            .hub(settings.hub)
            .parallel(settings.parallel)
            .registry(settings.registry)
            .proxy(settings.proxy)
            .ca_bundle(settings.ca_bundle)
    }

    /// The schemes this provisioner fetches, in the order its fetchers
    /// are asked.
    pub fn schemes(&self) -> Vec<&'static str> {
        self.fetchers
            .iter()
            .flat_map(|f| f.schemes().iter().copied())
            .collect()
    }

    /// The catalog this provisioner records models in.
    pub fn catalog(&self) -> &dyn CatalogStore {
        self.catalog.as_ref()
    }

    /// What the model cache holds, joined with this provisioner's
    /// catalog (see [`cache_scan::scan`](crate::cache_scan::scan)).
    pub fn scan_cache(&self) -> Result<crate::cache_scan::CacheScan, ProvisionError> {
        let entries = self.catalog.list()?;
        crate::cache_scan::scan(&self.cache_dir, &entries)
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
        lifecycle::ensure_str(self, input, expected, opts)
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
        lifecycle::ensure(self, model, expected, opts)
    }

    /// Write the engine handoff file for `resolved` atomically, narrating
    /// `handoff` or `handoff-failed`.
    pub fn write_handoff(
        &self,
        resolved: &ResolvedModel,
        path: &Path,
    ) -> Result<(), ProvisionError> {
        let e = Ensure::new(
            resolved.id.clone(),
            lifecycle::context(self, &EnsureOptions::default()),
            None,
        );
        if let Err(err) = write_handoff(path, resolved) {
            e.fail(act::HANDOFF_FAILED, &err);
            return Err(err);
        }
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

impl crate::oci::EnsureSource for ModelProvisioner {
    fn ensure_source(
        &self,
        source: &str,
        opts: &EnsureOptions,
    ) -> Result<ResolvedModel, ProvisionError> {
        self.ensure_present_str_with(source, None, opts)
    }
}
