//! Plain `https://` (and `http://` to loopback) downloads with the same
//! resume, verify-while-streaming and retry machinery as the Hub fetcher.
//!
//! Files are stored under a digest-named directory of the cache,
//! `{cache}/https/sha256/{hex}/{name}`, so a URL whose content changes can
//! never be mistaken for the file already there. A digest is required
//! unless the caller opts out with [`HttpsConfig::allow_no_digest`]; those
//! files go under `{cache}/https/url/{sha256 of the URL}/{name}`.

use crate::digest::{Digest, sha256_bytes};
use crate::error::ProvisionError;
use crate::fetch::{FetchContext, Fetched, Fetcher};
use crate::hf::HfError;
use crate::hf::RetryPolicy;
use crate::hf::http::{Client, ClientSettings, Origin, display_url};
use crate::hf::narrate::Narrator;
use crate::hf::transfer::{self, Download, FetchFailure};
use crate::model_ref::ModelRef;
use std::path::PathBuf;
use std::time::Duration;

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
    pub retry: RetryPolicy,
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
}

impl Default for HttpsConfig {
    fn default() -> Self {
        Self {
            cache_dir: None,
            allow_insecure_http: false,
            allow_no_digest: false,
            offline: false,
            retry: RetryPolicy::default(),
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
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
        });
        Self { config, client }
    }

    fn run(
        &self,
        url: &str,
        expected: Option<&Digest>,
        ctx: &FetchContext,
        n: Narrator<'_>,
    ) -> Result<Fetched, FetchFailure> {
        let shown = display_url(url);
        let origin = Origin::of(url).ok_or_else(|| HfError::BadUrl {
            url: shown.clone(),
            reason: "it has no host",
        })?;
        if origin.scheme() == "http" && !origin.is_loopback() && !self.config.allow_insecure_http {
            return Err(HfError::InsecureUrl { url: shown }.into());
        }
        let root = self
            .config
            .cache_dir
            .clone()
            .unwrap_or_else(|| ctx.cache_dir.clone());
        let dir = match expected {
            Some(d) => root.join("https").join("sha256").join(d.hex()),
            None if self.config.allow_no_digest => root
                .join("https")
                .join("url")
                .join(sha256_bytes(url.as_bytes()).hex()),
            None => return Err(HfError::DigestRequired { url: shown }.into()),
        };
        let dest = dir.join(file_name(url));
        let hit = |path: PathBuf| Fetched {
            path,
            digest: None,
            bytes_transferred: 0,
            source: shown.clone(),
        };
        if dest.is_file() {
            return Ok(hit(dest));
        }
        if self.config.offline || ctx.offline {
            return Err(FetchFailure::Offline);
        }
        std::fs::create_dir_all(&dir).map_err(|e| HfError::io("create", &dir, e))?;
        let _lock = crate::hf::lock_file(&dir.join(".lock"))?;
        if dest.is_file() {
            return Ok(hit(dest));
        }
        let mut partial = dest.clone().into_os_string();
        partial.push(".incomplete");
        let done = transfer::download(
            &self.client,
            &Download {
                url: url.to_string(),
                label: shown.clone(),
                partial: partial.into(),
                dest: dest.clone(),
                expected_size: None,
                etag_sha256: None,
                expected,
            },
            n,
        )?;
        Ok(Fetched {
            path: dest,
            digest: Some(done.digest),
            bytes_transferred: done.transferred,
            source: shown,
        })
    }
}

/// The URL's last path segment, reduced to safe characters.
fn file_name(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let last = path.rsplit('/').next().unwrap_or("");
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
    let has_path = path
        .split_once("://")
        .is_some_and(|(_, rest)| rest.contains('/'));
    if clean.is_empty() || clean.starts_with('.') || !has_path {
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
        let n = Narrator::new(ctx, model);
        let url = match model {
            ModelRef::Https { url } | ModelRef::Http { url } => url,
            _ => {
                let e = HfError::BadUrl {
                    url: model.id(),
                    reason: "not an http(s) reference",
                };
                return Err(crate::hf::report(n, model, e.into()));
            }
        };
        self.run(url, expected, ctx, n)
            .map_err(|f| crate::hf::report(n, model, f))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn file_names_are_safe() {
        assert_eq!(super::file_name("https://h/a/m.gguf?x=1"), "m.gguf");
        assert_eq!(super::file_name("https://h/a/b c.gguf"), "b_c.gguf");
        assert_eq!(super::file_name("https://h/a/.."), "model.gguf");
        assert_eq!(super::file_name("https://h"), "model.gguf");
    }
}
