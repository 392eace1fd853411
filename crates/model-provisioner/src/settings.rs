//! Everything a program tells the model provisioner, as one value: where
//! things live, which Hub to ask and how many connections a download may
//! use. Built by the program; [`Settings::from_env`] is the one place the
//! environment is read, for programs (like the CLI) that want that.

use crate::download::{ParallelPolicy, ProxySettings};
use crate::hf::HubSettings;
use crate::locations::Locations;
use crate::oci::RegistryAuth;
use std::path::PathBuf;

/// The settings of a [`ModelProvisioner`](crate::ModelProvisioner), passed
/// in with [`ModelProvisioner::with_settings`](crate::ModelProvisioner::with_settings).
///
/// ```
/// use model_provisioner::hf::HubSettings;
/// use model_provisioner::{Locations, ModelProvisioner, ParallelPolicy, Settings};
/// let dir = tempfile::tempdir()?;
/// let settings = Settings {
///     locations: Locations::under(dir.path()),
///     hub: HubSettings { endpoint: Some("http://127.0.0.1:9".into()), ..Default::default() },
///     parallel: ParallelPolicy { connections: 2, ..Default::default() },
///     registry: Default::default(),
///     proxy: Default::default(),
///     ca_bundle: None,
/// };
/// let models = ModelProvisioner::with_settings(settings).build()?;
/// assert!(models.schemes().contains(&"https"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Settings {
    /// Downloads, catalog and provenance log.
    pub locations: Locations,
    /// The Hub: endpoint, token, offline mode, user agent.
    pub hub: HubSettings,
    /// How large downloads are split over connections.
    pub parallel: ParallelPolicy,
    /// Credentials for `oci://` registries.
    pub registry: RegistryAuth,
    /// The proxies every network fetcher goes through. None unless set:
    /// [`from_env`](Self::from_env) leaves it so, because a bad proxy
    /// variable is an error the program must see; read it with
    /// [`ProxySettings::from_env`], as the CLI does.
    pub proxy: ProxySettings,
    /// A PEM bundle of the CAs trusted instead of the built-in roots (a
    /// TLS-intercepting proxy's, an internal mirror's), read when the
    /// provisioner is built. [`from_env`](Self::from_env) takes it from
    /// `SSL_CERT_FILE`, then `REQUESTS_CA_BUNDLE`, then `CURL_CA_BUNDLE`.
    pub ca_bundle: Option<PathBuf>,
}

impl Settings {
    /// All of it from this process's environment, as the reference HF
    /// client and the CLI read it (`HF_HOME`, `HF_HUB_CACHE`,
    /// `HF_ENDPOINT`, `HF_TOKEN`, `HF_HUB_OFFLINE`, `XDG_DATA_HOME`,
    /// `PROVISION_DOWNLOAD_CONNECTIONS`, `SSL_CERT_FILE`; registry
    /// credentials from the Docker
    /// config: `REGISTRY_AUTH_FILE`, `DOCKER_CONFIG`, `~/.docker`).
    pub fn from_env() -> Self {
        Self::from_lookup(crate::locations::env_var)
    }

    /// [`from_env`](Self::from_env) through `var` (a map in tests).
    ///
    /// ```
    /// use model_provisioner::Settings;
    /// let s = Settings::from_lookup(|k| match k {
    ///     "HF_ENDPOINT" => Some("http://127.0.0.1:8080/".to_string()),
    ///     "HOME" => Some("/home/u".to_string()),
    ///     _ => None,
    /// });
    /// assert_eq!(s.hub.endpoint.as_deref(), Some("http://127.0.0.1:8080"));
    /// assert_eq!(s.locations.cache_dir, std::path::Path::new("/home/u/.cache/huggingface/hub"));
    /// ```
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Self {
        Self {
            locations: Locations::from_lookup(&var),
            hub: HubSettings::from_lookup(&var),
            parallel: ParallelPolicy::from_lookup(&var),
            registry: RegistryAuth::from_lookup(&var),
            proxy: ProxySettings::none(),
            ca_bundle: crate::download::CaBundle::path_from_lookup(&var),
        }
    }
}
