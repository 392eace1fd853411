//! The Hugging Face endpoint: reachable, and whether a token is set
//! (never its value).

use std::time::Duration;

use model_provisioner::hf::HfConfig;
use model_provisioner::{ProxySettings, public_url};

use super::Check;

/// How long the endpoint has to answer a HEAD.
const HEAD_TIMEOUT: Duration = Duration::from_secs(3);

pub fn checks(offline: bool) -> Vec<Check> {
    let config = HfConfig::from_env();
    let token = if config.token.is_some() {
        Check::ok("hf login", "set (from HF_TOKEN or the token file)")
    } else {
        Check::ok("hf login", "not set: public repos only")
            .hint("set HF_TOKEN for gated or private repos")
    };
    if offline || config.offline {
        return vec![
            Check::ok("hf endpoint", "not checked (offline)"),
            token,
            proxy(),
        ];
    }
    vec![endpoint(&config.endpoint), token, proxy()]
}

/// The proxies downloads go through, credentials masked; a variable that
/// does not parse fails here as it would fail a download.
fn proxy() -> Check {
    match ProxySettings::from_env() {
        Ok(proxy) if proxy.is_none() => Check::ok("proxy", "none"),
        Ok(proxy) => Check::ok("proxy", proxy.to_string()),
        Err(e) => Check::fail("proxy", e.to_string())
            .hint("fix or unset the variable; see README \"Proxies\""),
    }
}

fn endpoint(url: &str) -> Check {
    let shown = public_url(url);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(HEAD_TIMEOUT))
        .build()
        .into();
    match agent.head(url).call() {
        Ok(answer) => Check::ok(
            "hf endpoint",
            format!("{shown} answered HTTP {}", answer.status().as_u16()),
        ),
        // The error may quote the URL; only its public form is shown.
        Err(e) => Check::warn(
            "hf endpoint",
            format!("{shown} is unreachable: {}", error_kind(&e)),
        )
        .hint("check the network, a proxy (HTTPS_PROXY) or HF_ENDPOINT; --offline uses cached models only"),
    }
}

/// A short cause that cannot carry a credential.
fn error_kind(e: &ureq::Error) -> &'static str {
    match e {
        ureq::Error::Timeout(_) => "no answer in time",
        ureq::Error::HostNotFound => "host not found",
        ureq::Error::ConnectionFailed => "connection refused or failed",
        ureq::Error::Io(_) => "connection failed",
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) => "TLS failed",
        _ => "request failed",
    }
}
