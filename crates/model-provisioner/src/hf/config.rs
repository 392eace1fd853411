//! Where the Hub is, where its cache lives, which token to send, and
//! whether the network may be used: the `HF_*` environment, as the
//! reference client reads it, overridable field by field.

use crate::download::{ParallelPolicy, RetryPolicy};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The public Hub, used when neither the API nor `HF_ENDPOINT` names one.
pub const DEFAULT_ENDPOINT: &str = "https://huggingface.co";

/// Settings of the Hugging Face client.
///
/// ```
/// use model_provisioner::hf::HfConfig;
/// let env = |k: &str| match k {
///     "HF_HOME" => Some("/data/hf".to_string()),
///     "HF_HUB_OFFLINE" => Some("yes".to_string()),
///     _ => None,
/// };
/// let cfg = HfConfig::from_lookup(env).with_endpoint("http://127.0.0.1:8080/");
/// assert_eq!(cfg.endpoint, "http://127.0.0.1:8080");
/// assert_eq!(cfg.cache_dir, std::path::Path::new("/data/hf/hub"));
/// assert!(cfg.offline);
/// ```
#[derive(Clone)]
pub struct HfConfig {
    /// Base URL of the Hub, without a trailing `/`.
    pub endpoint: String,
    /// The hub cache (`…/huggingface/hub`), shared with other HF tools.
    pub cache_dir: PathBuf,
    /// Bearer token; never printed (see the `Debug` impl).
    pub token: Option<String>,
    /// No HTTP at all: serve from the cache or fail.
    pub offline: bool,
    /// How transient failures are retried.
    pub retry: RetryPolicy,
    /// Longest wait for a connection.
    pub connect_timeout: Duration,
    /// Longest silence while waiting for headers or body bytes.
    pub read_timeout: Duration,
    /// Most redirects followed by hand before giving up.
    pub max_redirects: u32,
    /// Allow plain `http://` to hosts other than loopback (https fetcher).
    pub allow_insecure_http: bool,
    /// How long to wait for another process downloading the same blob.
    pub lock_wait: crate::file_lock::LockWait,
    /// When large files go over several connections
    /// (`PROVISION_DOWNLOAD_CONNECTIONS` sets how many).
    pub parallel: ParallelPolicy,
    /// When a transfer counts as stalled (and is retried, then fails).
    pub stall: crate::download::StallPolicy,
    /// `User-Agent` sent instead of this crate's own.
    pub user_agent: Option<String>,
    /// The proxies requests go through (none by default).
    pub proxy: crate::download::ProxySettings,
    /// CAs trusted instead of the built-in roots (none by default).
    pub ca_bundle: Option<crate::download::CaBundle>,
}

impl fmt::Debug for HfConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HfConfig")
            .field("endpoint", &self.endpoint)
            .field("cache_dir", &self.cache_dir)
            .field("token", &self.token.as_ref().map(|_| "<set>"))
            .field("offline", &self.offline)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl Default for HfConfig {
    fn default() -> Self {
        Self::from_lookup(|_| None)
    }
}

impl HfConfig {
    /// Reads the process environment.
    pub fn from_env() -> Self {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads settings through `var` (the environment, or a map in tests).
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Self {
        let var = |k: &str| var(k).filter(|v| !v.trim().is_empty());
        let endpoint = var("HF_ENDPOINT").unwrap_or_else(|| DEFAULT_ENDPOINT.to_string());
        let hf_home = crate::locations::hf_home(&var);
        let cache_dir = crate::locations::hf_hub_cache(&var);
        let token = var("HF_TOKEN")
            .or_else(|| var("HUGGING_FACE_HUB_TOKEN"))
            .or_else(|| {
                let path = var("HF_TOKEN_PATH")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| hf_home.join("token"));
                read_token_file(&path)
            })
            .map(|t| t.trim().to_string());
        let offline = var("HF_HUB_OFFLINE").is_some_and(|v| is_truthy(&v));
        Self {
            endpoint: endpoint.trim_end_matches('/').to_string(),
            cache_dir,
            token,
            offline,
            retry: RetryPolicy::default(),
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            max_redirects: 10,
            allow_insecure_http: false,
            lock_wait: crate::file_lock::LockWait::default(),
            parallel: ParallelPolicy::from_lookup(var),
            stall: crate::download::StallPolicy::default(),
            proxy: crate::download::ProxySettings::none(),
            ca_bundle: None,
            user_agent: None,
        }
    }

    /// Counts a transfer as stalled as `stall` says.
    pub fn with_stall(mut self, stall: crate::download::StallPolicy) -> Self {
        self.stall = stall;
        self
    }

    /// Takes the Hub settings a program passed in: endpoint, token,
    /// offline mode and user agent.
    pub fn with_hub(mut self, hub: &HubSettings) -> Self {
        self.endpoint = hub
            .endpoint
            .as_deref()
            .unwrap_or(DEFAULT_ENDPOINT)
            .trim_end_matches('/')
            .to_string();
        self.token = hub.token.clone();
        self.offline = hub.offline;
        self.user_agent = hub.user_agent.clone();
        self
    }

    /// Uses this Hub endpoint (a trailing `/` is dropped).
    pub fn with_endpoint(mut self, endpoint: &str) -> Self {
        self.endpoint = endpoint.trim_end_matches('/').to_string();
        self
    }

    /// Uses this hub cache directory.
    pub fn with_cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache_dir = dir.into();
        self
    }

    /// Sends this token (or none).
    pub fn with_token(mut self, token: Option<&str>) -> Self {
        self.token = token.map(str::to_string);
        self
    }

    /// Turns offline mode on or off.
    pub fn with_offline(mut self, offline: bool) -> Self {
        self.offline = offline;
        self
    }

    /// Uses this retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Splits large files over connections as `parallel` says.
    pub fn with_parallel(mut self, parallel: ParallelPolicy) -> Self {
        self.parallel = parallel;
        self
    }

    /// Uses this read timeout (silence on a connection).
    pub fn with_read_timeout(mut self, timeout: Duration) -> Self {
        self.read_timeout = timeout;
        self
    }
}

/// What a program tells the provisioner about the Hub, as values: no
/// environment is read unless it asks for that with
/// [`from_env`](Self::from_env). `Default` is the public Hub, no token,
/// online, this crate's user agent.
///
/// ```
/// use model_provisioner::hf::HubSettings;
/// let hub = HubSettings {
///     endpoint: Some("http://127.0.0.1:8080".into()),
///     token: Some("hf_xxx".into()),
///     ..HubSettings::default()
/// };
/// assert!(!hub.offline);
/// // Debug never shows the token.
/// assert!(!format!("{hub:?}").contains("hf_xxx"));
/// let env = HubSettings::from_lookup(|k| (k == "HF_HUB_OFFLINE").then(|| "1".to_string()));
/// assert!(env.offline);
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct HubSettings {
    /// Base URL of the Hub; `None`: [`DEFAULT_ENDPOINT`].
    pub endpoint: Option<String>,
    /// Bearer token sent to the endpoint (and never elsewhere).
    pub token: Option<String>,
    /// No network: serve from the cache or fail.
    pub offline: bool,
    /// `User-Agent` sent instead of this crate's own.
    pub user_agent: Option<String>,
}

impl fmt::Debug for HubSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HubSettings")
            .field("endpoint", &self.endpoint)
            .field("token", &self.token.as_ref().map(|_| "<set>"))
            .field("offline", &self.offline)
            .field("user_agent", &self.user_agent)
            .finish()
    }
}

impl HubSettings {
    /// The settings the reference client reads from this process's
    /// environment (`HF_ENDPOINT`, `HF_TOKEN`, `HUGGING_FACE_HUB_TOKEN`,
    /// the token file, `HF_HUB_OFFLINE`): the one place a program opts in
    /// to reading them, as the CLI does.
    pub fn from_env() -> Self {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// [`from_env`](Self::from_env) through `var` (a map in tests).
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Self {
        let config = HfConfig::from_lookup(var);
        Self {
            endpoint: Some(config.endpoint),
            token: config.token,
            offline: config.offline,
            user_agent: None,
        }
    }
}

/// `1`, `ON`, `YES`, `TRUE`, any case, as the reference client accepts.
fn is_truthy(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_uppercase().as_str(),
        "1" | "ON" | "YES" | "TRUE"
    )
}

fn read_token_file(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let t = text.trim();
    (!t.is_empty()).then(|| t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(pairs: &[(&str, &str)]) -> HfConfig {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        HfConfig::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn cache_dir_prefers_hub_cache_then_hf_home_then_xdg_then_home() {
        assert_eq!(
            cfg(&[("HF_HUB_CACHE", "/c"), ("HF_HOME", "/h")]).cache_dir,
            Path::new("/c")
        );
        assert_eq!(cfg(&[("HF_HOME", "/h")]).cache_dir, Path::new("/h/hub"));
        assert_eq!(
            cfg(&[("XDG_CACHE_HOME", "/x")]).cache_dir,
            Path::new("/x/huggingface/hub")
        );
        assert_eq!(
            cfg(&[("HOME", "/u")]).cache_dir,
            Path::new("/u/.cache/huggingface/hub")
        );
    }

    #[test]
    fn token_prefers_hf_token_then_legacy_then_token_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("tok");
        std::fs::write(&file, "from-file\n").unwrap();
        let p = file.to_str().unwrap();
        assert_eq!(
            cfg(&[("HF_TOKEN", "a"), ("HUGGING_FACE_HUB_TOKEN", "b")])
                .token
                .as_deref(),
            Some("a")
        );
        assert_eq!(
            cfg(&[("HUGGING_FACE_HUB_TOKEN", "b"), ("HF_TOKEN_PATH", p)])
                .token
                .as_deref(),
            Some("b")
        );
        assert_eq!(
            cfg(&[("HF_TOKEN_PATH", p)]).token.as_deref(),
            Some("from-file")
        );
        std::fs::write(dir.path().join("token"), "home-token").unwrap();
        let home = dir.path().to_str().unwrap();
        assert_eq!(
            cfg(&[("HF_HOME", home)]).token.as_deref(),
            Some("home-token")
        );
        assert_eq!(cfg(&[]).token, None);
    }

    #[test]
    fn offline_accepts_the_reference_spellings_only() {
        for v in ["1", "ON", "yes", "True"] {
            assert!(cfg(&[("HF_HUB_OFFLINE", v)]).offline, "{v}");
        }
        for v in ["0", "no", "off", ""] {
            assert!(!cfg(&[("HF_HUB_OFFLINE", v)]).offline, "{v}");
        }
    }

    #[test]
    fn endpoint_defaults_to_the_hub_and_drops_trailing_slash() {
        assert_eq!(cfg(&[]).endpoint, DEFAULT_ENDPOINT);
        assert_eq!(
            cfg(&[("HF_ENDPOINT", "http://h:1/")]).endpoint,
            "http://h:1"
        );
    }

    #[test]
    fn debug_never_shows_the_token() {
        let text = format!("{:?}", cfg(&[("HF_TOKEN", "hf_supersecret")]));
        assert!(!text.contains("supersecret"), "{text}");
    }
}
