//! Whether the Hub answers, asked the way downloads ask it: through the
//! same client, hence the same proxy rules ([`ProxySettings`]: the
//! scheme's variable, `NO_PROXY`, absolute form for `http:`, `CONNECT`
//! for `https:`). A check that went around the proxy would pass where
//! every download fails, or the other way round. `provision doctor` uses
//! it.

use crate::download::{Client, ClientSettings, Failure, Follow, ProxySettings, RetryPolicy};
use narration_core::public_url;
use std::time::Duration;

/// What one `HEAD` of an endpoint found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reach {
    /// The endpoint, without credentials.
    pub endpoint: String,
    /// The proxy the request went through (without credentials), `None`
    /// when it went direct.
    pub via: Option<String>,
    /// The HTTP status, or why none came (a sentence that names no
    /// credential: download errors never carry one).
    pub outcome: Result<u16, String>,
}

/// Sends one `HEAD` to `endpoint` through the proxy `proxy` names for it,
/// waiting at most `timeout` to connect and for the answer, without
/// retries and without following a redirect to another origin.
///
/// ```
/// use model_provisioner::ProxySettings;
/// use model_provisioner::hf::reach;
/// use std::time::Duration;
/// let lookup = |k: &str| (k == "https_proxy").then(|| "http://user:pw@127.0.0.1:9".to_string());
/// let proxy = ProxySettings::from_lookup(lookup).unwrap();
/// let found = reach("https://hub.example", &proxy, None, Duration::from_secs(2));
/// assert_eq!(found.via.as_deref(), Some("http://127.0.0.1:9"));
/// assert!(found.outcome.is_err(), "nothing listens on port 9");
/// ```
pub fn reach(
    endpoint: &str,
    proxy: &ProxySettings,
    ca_bundle: Option<&crate::download::CaBundle>,
    timeout: Duration,
) -> Reach {
    let shown = public_url(endpoint);
    let url = match crate::download::parse_url(endpoint) {
        Ok(url) => url,
        Err(e) => {
            return Reach {
                endpoint: shown,
                via: None,
                outcome: Err(e.to_string()),
            };
        }
    };
    let via = proxy.for_url(&url).map(ToString::to_string);
    let client = Client::new(ClientSettings {
        token: None,
        auth_origin: None,
        retry: RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        },
        connect_timeout: timeout,
        read_timeout: timeout,
        max_redirects: 5,
        stall: crate::download::StallPolicy::default(),
        user_agent: None,
        proxy: proxy.clone(),
        ca_bundle: ca_bundle.cloned(),
    });
    let outcome = match client.request("HEAD", &url, None, Follow::SameOrigin) {
        Ok(answer) => Ok(answer.status()),
        Err(Failure::Fatal(e)) => Err(e.to_string()),
        Err(Failure::Transient { reason, .. } | Failure::Stalled(reason)) => Err(reason),
    };
    Reach {
        endpoint: shown,
        via,
        outcome,
    }
}
