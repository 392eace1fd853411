//! The Hugging Face endpoint: reachable the way downloads reach it
//! (through the proxy the proxy rules pick, named without credentials),
//! and whether a token is set (never its value).

use std::time::Duration;

use model_provisioner::hf::{HfConfig, reach};
use model_provisioner::{CaBundle, DownloadError, ProxyError, ProxySettings};

use super::Check;

/// How long the endpoint has to answer a HEAD.
const HEAD_TIMEOUT: Duration = Duration::from_secs(3);

pub fn checks(offline: bool) -> Vec<Check> {
    let config = HfConfig::from_env();
    let proxy = ProxySettings::from_env();
    let path = CaBundle::path_from_lookup(|k| std::env::var(k).ok());
    let ca_bundle = CaBundle::read_optional(path.as_deref());
    let token = if config.token.is_some() {
        Check::ok("hf login", "set (from HF_TOKEN or the token file)")
    } else {
        Check::ok("hf login", "not set: public repos only")
            .hint("set HF_TOKEN for gated or private repos")
    };
    let endpoint = if offline || config.offline {
        Check::ok("hf endpoint", "not checked (offline)")
    } else {
        endpoint(&config.endpoint, &proxy, &ca_bundle)
    };
    vec![
        endpoint,
        token,
        proxy_row(&proxy),
        ca_bundle_row(&ca_bundle),
    ]
}

/// The CAs TLS servers must chain to: the built-in roots, or the bundle
/// `SSL_CERT_FILE` (or `REQUESTS_CA_BUNDLE`, `CURL_CA_BUNDLE`) names; a
/// bundle that cannot be used fails here as it would fail a download.
fn ca_bundle_row(bundle: &Result<Option<CaBundle>, DownloadError>) -> Check {
    match bundle {
        Ok(None) => Check::ok("ca bundle", "built-in roots"),
        Ok(Some(bundle)) => Check::ok("ca bundle", bundle.to_string()),
        Err(e) => Check::fail("ca bundle", e.to_string())
            .hint("fix or unset SSL_CERT_FILE; see README \"Proxies\""),
    }
}

/// The proxies downloads go through, credentials masked; a variable that
/// does not parse fails here as it would fail a download.
fn proxy_row(proxy: &Result<ProxySettings, ProxyError>) -> Check {
    match proxy {
        Ok(proxy) if proxy.is_none() => Check::ok("proxy", "none"),
        Ok(proxy) => Check::ok("proxy", proxy.to_string()),
        Err(e) => Check::fail("proxy", e.to_string())
            .hint("fix or unset the variable; see README \"Proxies\""),
    }
}

/// One HEAD through the download layer's client, so the doctor takes the
/// route a download takes (proxy, `NO_PROXY`, absolute form or CONNECT).
fn endpoint(
    url: &str,
    proxy: &Result<ProxySettings, ProxyError>,
    ca_bundle: &Result<Option<CaBundle>, DownloadError>,
) -> Check {
    let Ok(proxy) = proxy else {
        return Check::warn(
            "hf endpoint",
            "not checked: a proxy variable does not parse (see the proxy row)",
        );
    };
    let Ok(ca_bundle) = ca_bundle else {
        return Check::warn(
            "hf endpoint",
            "not checked: the CA bundle cannot be used (see the ca bundle row)",
        );
    };
    let found = reach(url, proxy, ca_bundle.as_ref(), HEAD_TIMEOUT);
    let route = found
        .via
        .as_deref()
        .map_or_else(|| "directly".to_string(), |p| format!("through proxy {p}"));
    match found.outcome {
        Ok(status) => Check::ok(
            "hf endpoint",
            format!("{} answered HTTP {status} ({route})", found.endpoint),
        ),
        Err(why) => Check::warn(
            "hf endpoint",
            format!("{} is unreachable ({route}): {why}", found.endpoint),
        )
        .hint("check the network, the proxy (HTTPS_PROXY, NO_PROXY) or HF_ENDPOINT; --offline uses cached models only"),
    }
}
