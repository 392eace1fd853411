//! Plain `https://` (and `http://` to loopback) downloads with the same
//! resume, verify-while-streaming and retry machinery as the Hub fetcher.
//!
//! Files are stored under a digest-named directory of the cache,
//! `{cache}/https/sha256/{hex}/{name}`, so a URL whose content changes can
//! never be mistaken for the file already there. A digest is required
//! unless the caller opts out with [`HttpsConfig::allow_no_digest`]; those
//! files go under `{cache}/https/url/{sha256 of the URL}/{name}`.

use crate::digest::{Digest, sha256_bytes};
use crate::download::{
    self, Client, ClientSettings, DownloadError, ParallelPolicy, Request, RetryPolicy, StallPolicy,
    is_loopback, parse_url,
};
use crate::error::{IntoProvision, ProvisionError};
use crate::fetch::{FetchContext, Fetched, Fetcher};
use crate::file_lock::LockWait;
use crate::model_ref::ModelRef;
use crate::transfer_events::Narrator;
use narration_core::public_url;
use std::path::PathBuf;
use std::time::Duration;
use url::Url;

/// Settings of the HTTPS fetcher.
#[derive(Debug, Clone)]
pub struct HttpsConfig {
    /// Where files go; `None`: the provisioner's cache directory.
    pub cache_dir: Option<PathBuf>,
    /// Allow `http://` to hosts other than loopback.
    pub allow_insecure_http: bool,
    /// Download without a digest (nothing to verify the bytes against).
    pub allow_no_digest: bool,
    /// No network: serve from the cache or fail.
    pub offline: bool,
    /// How transient failures are retried.
    pub retry: RetryPolicy,
    /// Longest wait for a connection.
    pub connect_timeout: Duration,
    /// Longest silence while waiting for headers or body bytes.
    pub read_timeout: Duration,
    /// How long to wait for another process downloading the same file.
    pub lock_wait: LockWait,
    /// When large files go over several connections; `Default` reads
    /// `PROVISION_DOWNLOAD_CONNECTIONS`.
    pub parallel: ParallelPolicy,
    /// When a transfer counts as stalled (and is retried, then fails).
    pub stall: StallPolicy,
    /// `User-Agent` sent instead of this crate's own.
    pub user_agent: Option<String>,
    /// The proxies requests go through (none by default).
    pub proxy: crate::download::ProxySettings,
    /// CAs trusted instead of the built-in roots (none by default).
    pub ca_bundle: Option<crate::download::CaBundle>,
}

impl Default for HttpsConfig {
    fn default() -> Self {
        Self {
            cache_dir: None,
            allow_insecure_http: false,
            lock_wait: LockWait::default(),
            allow_no_digest: false,
            offline: false,
            retry: RetryPolicy::default(),
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            parallel: ParallelPolicy::from_env(),
            stall: StallPolicy::default(),
            user_agent: None,
            proxy: crate::download::ProxySettings::none(),
            ca_bundle: None,
        }
    }
}

/// Fetches `https://` and `http://` model refs. `Default` is
/// `HttpsFetcher::new(HttpsConfig::default())`.
///
/// ```
/// use model_provisioner::https::{HttpsConfig, HttpsFetcher};
/// use model_provisioner::{FetchContext, Fetcher, ModelRef};
/// let fetcher = HttpsFetcher::new(HttpsConfig::default());
/// let model = ModelRef::parse("https://example.com/m.gguf").unwrap();
/// // No digest and no opt-out: refused before any request.
/// let err = fetcher.fetch(&model, None, &FetchContext::new("/tmp/c")).unwrap_err();
/// assert_eq!(err.error_kind(), "digest-required");
/// ```
#[derive(Debug)]
pub struct HttpsFetcher {
    config: HttpsConfig,
    client: Client,
}

impl Default for HttpsFetcher {
    fn default() -> Self {
        Self::new(HttpsConfig::default())
    }
}

impl HttpsFetcher {
    /// A fetcher with these settings.
    pub fn new(config: HttpsConfig) -> Self {
        let client = Client::new(ClientSettings {
            token: None,
            auth_origin: None,
            retry: config.retry.clone(),
            connect_timeout: config.connect_timeout,
            read_timeout: config.read_timeout,
            max_redirects: 10,
            stall: config.stall,
            user_agent: config.user_agent.clone(),
            proxy: config.proxy.clone(),
            ca_bundle: config.ca_bundle.clone(),
        });
        Self { config, client }
    }

    fn run(
        &self,
        model: &ModelRef,
        raw: &str,
        expected: Option<&Digest>,
        ctx: &FetchContext,
    ) -> Result<Fetched, ProvisionError> {
        let failed = |e: DownloadError| e.into_provision(model.id());
        let url = parse_url(raw).map_err(failed)?;
        let shown = public_url(raw);
        if url.scheme() == "http" && !is_loopback(&url) && !self.config.allow_insecure_http {
            return Err(failed(DownloadError::InsecureUrl { url: shown }));
        }
        let root = self.config.cache_dir.as_ref().unwrap_or(&ctx.cache_dir);
        let dir = match expected {
            Some(d) => root.join("https").join("sha256").join(d.hex()),
            None if self.config.allow_no_digest => root
                .join("https")
                .join("url")
                .join(sha256_bytes(raw.as_bytes()).hex()),
            None => return Err(failed(DownloadError::DigestRequired { url: shown })),
        };
        let dest = dir.join(file_name(&url));
        let hit = |path: PathBuf| Fetched {
            path,
            digest: None,
            bytes_transferred: 0,
            source: shown.clone(),
            oci: None,
        };
        if dest.is_file() {
            return Ok(hit(dest));
        }
        if self.config.offline || ctx.offline {
            return Err(ProvisionError::Offline { model: model.id() });
        }
        std::fs::create_dir_all(&dir).map_err(|e| failed(DownloadError::io("create", &dir, e)))?;
        let t = Narrator::new(ctx, model).transfer(shown.clone());
        let _lock = download::lock(&dir.join(".lock"), self.config.lock_wait, &|e| t.on(e))
            .map_err(failed)?;
        if dest.is_file() {
            return Ok(hit(dest));
        }
        let mut partial = dest.clone().into_os_string();
        partial.push(".incomplete");
        let done = download::download(
            &self.client,
            &Request {
                url,
                label: shown.clone(),
                partial: partial.into(),
                dest: dest.clone(),
                expected_size: None,
                advertised: None,
                expected,
                parallel: self.config.parallel.clone(),
            },
            &|e| t.on(e),
        )
        .map_err(failed)?;
        Ok(Fetched {
            path: dest,
            digest: Some(done.digest),
            bytes_transferred: done.transferred,
            source: shown,
            oci: None,
        })
    }
}

/// The URL's last path segment, decoded and reduced to safe characters.
fn file_name(url: &Url) -> String {
    let last = url
        .path_segments()
        .and_then(|mut segments| segments.next_back())
        .map(|s| percent_encoding::percent_decode_str(s).decode_utf8_lossy())
        .unwrap_or_default();
    let clean: String = last
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if clean.is_empty() || clean.starts_with('.') {
        "model.gguf".to_string()
    } else {
        clean
    }
}

impl Fetcher for HttpsFetcher {
    fn schemes(&self) -> &'static [&'static str] {
        &["https", "http"]
    }

    fn fetch(
        &self,
        model: &ModelRef,
        expected: Option<&Digest>,
        ctx: &FetchContext,
    ) -> Result<Fetched, ProvisionError> {
        match model {
            ModelRef::Https { url } | ModelRef::Http { url } => {
                // Every request, read, back-off and lock wait below runs
                // under the ensure's cancel token.
                let _cancel = download::interrupt::enter(&ctx.cancel);
                self.run(model, url, expected, ctx)
            }
            _ => Err(ProvisionError::NoFetcher {
                model: model.id(),
                scheme: model.scheme().to_string(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn file_names_are_safe() {
        let name = |u: &str| super::file_name(&url::Url::parse(u).unwrap());
        assert_eq!(name("https://h/a/m.gguf?x=1"), "m.gguf");
        assert_eq!(name("https://h/a/b c.gguf"), "b_c.gguf");
        assert_eq!(name("https://h/a/.."), "model.gguf");
        assert_eq!(name("https://h/a/%2E%2E"), "model.gguf");
        assert_eq!(name("https://h"), "model.gguf");
    }
}
