//! Which proxy a request goes through, read the way curl reads it.
//!
//! [`ProxySettings`] is a plain value: it is read from the environment only
//! by [`ProxySettings::from_env`] (or [`ProxySettings::from_lookup`] in
//! tests), so a library user who builds settings by hand gets no proxy
//! they did not ask for. The rules follow curl:
//!
//! - `http:` targets use `http_proxy` (lowercase only: curl ignores the
//!   uppercase `HTTP_PROXY`, which a CGI request can set from a
//!   `Proxy:` header);
//! - `https:` targets use `https_proxy`, then `HTTPS_PROXY`;
//! - either falls back to `all_proxy`, then `ALL_PROXY`;
//! - `no_proxy`, then `NO_PROXY`, lists hosts reached directly: `*`
//!   (everything), domain suffixes (`example.com` and `.example.com`
//!   both match `example.com` and its subdomains), IP addresses, CIDR
//!   ranges (`127.0.0.0/8`, `::1/128`) and `host:port`.
//!
//! A value without a scheme is taken as `http://`; only `http://` proxies
//! are supported. A value that does not parse is an error naming the
//! variable, never silently ignored.
//!
//! How a request goes through the proxy (see [`client`](super::client)):
//! an `https:` target through a `CONNECT` tunnel (ureq's own proxy
//! support), an `http:` target as an absolute-form request
//! (`GET http://host:port/path HTTP/1.1`) sent to the proxy, as curl and
//! Python `requests` do, so a proxy that allows `CONNECT` only to port
//! 443 still serves an `http:` mirror.

use narration_core::public_url;
use std::fmt;
use std::net::IpAddr;
use url::{Host, Url};

/// A proxy to send requests through. Its credentials (if any) are sent
/// as `Proxy-Authorization` and never shown: [`fmt::Display`] and
/// [`fmt::Debug`] print the URL without them.
#[derive(Clone, PartialEq, Eq)]
pub struct ProxyUrl {
    url: Url,
}

impl ProxyUrl {
    /// Parses a proxy value (`host:port` is taken as `http://host:port`).
    pub fn parse(text: &str) -> Result<Self, &'static str> {
        let text = text.trim();
        let with_scheme = if text.contains("://") {
            text.to_string()
        } else {
            format!("http://{text}")
        };
        let url = Url::parse(&with_scheme).map_err(|_| "it does not parse as a URL")?;
        if url.scheme() != "http" {
            return Err("only http:// proxies are supported");
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err("it has no host");
        }
        if !matches!(url.path(), "" | "/") || url.query().is_some() {
            return Err("a proxy URL has no path; give http://host:port");
        }
        Ok(Self { url })
    }

    /// The proxy URL with its credentials, for ureq's CONNECT proxy.
    pub(crate) fn with_credentials(&self) -> &str {
        self.url.as_str()
    }

    /// `host:port` of the proxy.
    pub(crate) fn authority(&self) -> String {
        let host = self.url.host_str().unwrap_or_default();
        format!("{host}:{}", self.url.port_or_known_default().unwrap_or(80))
    }

    /// The `Proxy-Authorization` value, when the URL carries credentials.
    pub(crate) fn authorization(&self) -> Option<String> {
        use base64::Engine as _;
        if self.url.username().is_empty() && self.url.password().is_none() {
            return None;
        }
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        };
        let user = decode(self.url.username());
        let pass = decode(self.url.password().unwrap_or_default());
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
        Some(format!("Basic {token}"))
    }

    /// The proxy's host, for errors.
    pub fn host(&self) -> &str {
        self.url.host_str().unwrap_or_default()
    }
}

impl fmt::Display for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(public_url(self.url.as_str()).trim_end_matches('/'))
    }
}

impl fmt::Debug for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProxyUrl({self})")
    }
}

/// A proxy variable that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable} is not a usable proxy ({reason}); set it to http://host:port or unset it")]
pub struct ProxyError {
    /// The variable, e.g. `https_proxy`.
    pub variable: &'static str,
    /// Why it does not parse.
    pub reason: &'static str,
}

/// One `NO_PROXY` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    /// `*`: every host.
    All,
    /// A domain: itself and its subdomains (lowercase, no leading dot).
    Domain(String),
    /// An IP address.
    Ip(IpAddr),
    /// A CIDR range.
    Cidr(IpAddr, u8),
    /// A host (domain or IP) on one port.
    HostPort(String, u16),
}

/// The hosts reached directly (`NO_PROXY`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NoProxy {
    entries: Vec<Entry>,
    text: String,
}

impl NoProxy {
    /// Parses a `NO_PROXY` value (comma- or space-separated). Entries
    /// that are none of the known forms are taken as domains.
    pub fn parse(text: &str) -> Self {
        let entries = text
            .split([',', ' ', '\t'])
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(entry)
            .collect();
        Self {
            entries,
            text: text.trim().to_string(),
        }
    }

    /// The value as given, for `provision doctor`.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// True when `url` is to be reached directly.
    pub fn matches(&self, url: &Url) -> bool {
        let Some(host) = url.host() else {
            return false;
        };
        let port = url.port_or_known_default();
        let ip = match &host {
            Host::Ipv4(ip) => Some(IpAddr::V4(*ip)),
            Host::Ipv6(ip) => Some(IpAddr::V6(*ip)),
            Host::Domain(_) => None,
        };
        let name = match &host {
            Host::Domain(d) => d.trim_end_matches('.').to_ascii_lowercase(),
            Host::Ipv4(ip) => ip.to_string(),
            Host::Ipv6(ip) => ip.to_string(),
        };
        self.entries.iter().any(|e| match e {
            Entry::All => true,
            Entry::Domain(d) => ip.is_none() && (name == *d || name.ends_with(&format!(".{d}"))),
            Entry::Ip(want) => ip == Some(*want),
            Entry::Cidr(net, bits) => ip.is_some_and(|ip| in_cidr(ip, *net, *bits)),
            Entry::HostPort(h, p) => {
                port == Some(*p)
                    && match (ip, h.parse::<IpAddr>()) {
                        (Some(ip), Ok(want)) => ip == want,
                        (None, Err(_)) => name == *h || name.ends_with(&format!(".{h}")),
                        _ => false,
                    }
            }
        })
    }
}

fn entry(text: &str) -> Entry {
    if text == "*" {
        return Entry::All;
    }
    let lower = text.to_ascii_lowercase();
    if let Some((net, bits)) = lower.split_once('/')
        && let (Ok(net), Ok(bits)) = (unbracket(net).parse::<IpAddr>(), bits.parse::<u8>())
        && bits <= if net.is_ipv4() { 32 } else { 128 }
    {
        return Entry::Cidr(net, bits);
    }
    if let Ok(ip) = unbracket(&lower).parse::<IpAddr>() {
        return Entry::Ip(ip);
    }
    if let Some((host, port)) = lower.rsplit_once(':')
        && let Ok(port) = port.parse::<u16>()
    {
        let host = unbracket(host);
        let host = host.trim_start_matches("*.").trim_start_matches('.');
        return Entry::HostPort(host.to_string(), port);
    }
    let domain = lower.trim_start_matches("*.").trim_start_matches('.');
    Entry::Domain(domain.trim_end_matches('.').to_string())
}

fn unbracket(s: &str) -> &str {
    s.strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(s)
}

fn in_cidr(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

/// The proxies in use: one for `http:` targets, one for `https:`, and the
/// hosts reached directly. The default is no proxy at all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxySettings {
    /// The proxy for `http:` targets.
    pub http: Option<ProxyUrl>,
    /// The proxy for `https:` targets.
    pub https: Option<ProxyUrl>,
    /// Hosts reached directly.
    pub no_proxy: NoProxy,
}

impl ProxySettings {
    /// No proxy.
    pub fn none() -> Self {
        Self::default()
    }

    /// Reads the proxy variables from the environment (see the module
    /// docs for the rules). An unparsable value is an error naming it.
    pub fn from_env() -> Result<Self, ProxyError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// As [`from_env`](Self::from_env), reading variables from `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ProxyError> {
        let first = |names: &[&'static str]| {
            names.iter().find_map(|&name| {
                let value = lookup(name)?;
                (!value.trim().is_empty()).then_some((name, value))
            })
        };
        let parse = |found: Option<(&'static str, String)>| {
            found
                .map(|(variable, value)| {
                    ProxyUrl::parse(&value).map_err(|reason| ProxyError { variable, reason })
                })
                .transpose()
        };
        let all = parse(first(&["all_proxy", "ALL_PROXY"]))?;
        let http = parse(first(&["http_proxy"]))?.or_else(|| all.clone());
        let https = parse(first(&["https_proxy", "HTTPS_PROXY"]))?.or(all);
        let no_proxy = first(&["no_proxy", "NO_PROXY"])
            .map(|(_, v)| NoProxy::parse(&v))
            .unwrap_or_default();
        Ok(Self {
            http,
            https,
            no_proxy,
        })
    }

    /// True when no proxy is set.
    pub fn is_none(&self) -> bool {
        self.http.is_none() && self.https.is_none()
    }

    /// The proxy `url` goes through, if any.
    pub fn for_url(&self, url: &Url) -> Option<&ProxyUrl> {
        let proxy = match url.scheme() {
            "http" => self.http.as_ref(),
            "https" => self.https.as_ref(),
            _ => None,
        }?;
        (!self.no_proxy.matches(url)).then_some(proxy)
    }
}

impl fmt::Display for ProxySettings {
    /// `http: http://proxy:3128, https: … (NO_PROXY: …)`, credentials
    /// masked; `none` when no proxy is set.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(p) = &self.http {
            parts.push(format!("http: {p}"));
        }
        if let Some(p) = &self.https {
            parts.push(format!("https: {p}"));
        }
        if parts.is_empty() {
            return f.write_str("none");
        }
        f.write_str(&parts.join(", "))?;
        if !self.no_proxy.as_str().is_empty() {
            write!(f, " (NO_PROXY: {})", self.no_proxy.as_str())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn u(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    fn env(vars: &[(&str, &str)]) -> Result<ProxySettings, ProxyError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect();
        ProxySettings::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn no_proxy_domains_match_themselves_and_subdomains_in_any_case() {
        let n = NoProxy::parse("example.com, .corp.internal");
        assert!(n.matches(&u("https://example.com/x")));
        assert!(n.matches(&u("https://CDN.Example.COM/x")));
        assert!(n.matches(&u("http://a.corp.internal/x")));
        assert!(n.matches(&u("http://corp.internal/x")));
        assert!(!n.matches(&u("https://badexample.com/x")));
        assert!(!n.matches(&u("https://example.org/x")));
    }

    #[test]
    fn no_proxy_ips_and_cidr_ranges_v4_and_v6() {
        let n = NoProxy::parse("127.0.0.0/8,10.1.2.3,::1/128,fd00::/8");
        assert!(n.matches(&u("http://127.0.0.1:9/x")));
        assert!(n.matches(&u("http://127.255.0.9/x")));
        assert!(!n.matches(&u("http://128.0.0.1/x")));
        assert!(n.matches(&u("http://10.1.2.3/x")));
        assert!(!n.matches(&u("http://10.1.2.4/x")));
        assert!(n.matches(&u("http://[::1]:8080/x")));
        assert!(!n.matches(&u("http://[::2]/x")));
        assert!(n.matches(&u("http://[fd12::1]/x")));
        assert!(!n.matches(&u("http://[fe80::1]/x")));
        let n = NoProxy::parse("0.0.0.0/0");
        assert!(n.matches(&u("http://8.8.8.8/")));
        assert!(
            !n.matches(&u("http://dns.google/")),
            "CIDR never matches a name"
        );
    }

    #[test]
    fn no_proxy_host_port_matches_that_port_only() {
        let n = NoProxy::parse("mirror.lan:8080,127.0.0.1:9000,[::1]:7000");
        assert!(n.matches(&u("http://mirror.lan:8080/x")));
        assert!(!n.matches(&u("http://mirror.lan/x")));
        assert!(!n.matches(&u("https://mirror.lan/x")));
        assert!(n.matches(&u("http://127.0.0.1:9000/x")));
        assert!(!n.matches(&u("http://127.0.0.1:9001/x")));
        assert!(n.matches(&u("http://[::1]:7000/x")));
    }

    #[test]
    fn no_proxy_star_matches_everything_and_empty_nothing() {
        assert!(NoProxy::parse("*").matches(&u("https://huggingface.co/")));
        assert!(!NoProxy::parse("").matches(&u("https://huggingface.co/")));
    }

    #[test]
    fn each_scheme_uses_its_own_variable_and_all_proxy_falls_back() {
        let s = env(&[("HTTPS_PROXY", "http://p:3128")]).unwrap();
        assert!(
            s.for_url(&u("http://h/x")).is_none(),
            "HTTPS_PROXY must not proxy http:"
        );
        assert!(s.for_url(&u("https://h/x")).is_some());
        let s = env(&[("http_proxy", "http://p:3128")]).unwrap();
        assert!(
            s.for_url(&u("https://h/x")).is_none(),
            "http_proxy must not proxy https:"
        );
        assert!(s.for_url(&u("http://h/x")).is_some());
        let s = env(&[("ALL_PROXY", "p:1"), ("https_proxy", "q:2")]).unwrap();
        assert_eq!(s.for_url(&u("http://h/")).unwrap().authority(), "p:1");
        assert_eq!(s.for_url(&u("https://h/")).unwrap().authority(), "q:2");
    }

    #[test]
    fn lowercase_wins_and_uppercase_http_proxy_is_ignored_as_curl_does() {
        let s = env(&[("HTTP_PROXY", "http://p:3128")]).unwrap();
        assert!(s.is_none());
        let s = env(&[("https_proxy", "low:1"), ("HTTPS_PROXY", "up:2")]).unwrap();
        assert_eq!(s.https.unwrap().authority(), "low:1");
        let s = env(&[("all_proxy", "low:1"), ("ALL_PROXY", "up:2")]).unwrap();
        assert_eq!(s.http.unwrap().authority(), "low:1");
        let s = env(&[
            ("https_proxy", "p:1"),
            ("no_proxy", "a.com"),
            ("NO_PROXY", "b.com"),
        ])
        .unwrap();
        assert!(s.for_url(&u("https://a.com/")).is_none());
        assert!(s.for_url(&u("https://b.com/")).is_some());
        let s = env(&[("https_proxy", "")]).unwrap();
        assert!(s.is_none(), "an empty value is unset");
    }

    #[test]
    fn a_garbage_value_is_an_error_naming_the_variable_not_the_secret() {
        let e = env(&[("https_proxy", "http://u:s3cret@:99999")]).unwrap_err();
        assert_eq!(e.variable, "https_proxy");
        assert!(!e.to_string().contains("s3cret"), "{e}");
        assert!(env(&[("ALL_PROXY", "socks5://p:1080")]).is_err());
        assert!(env(&[("http_proxy", "http://p:1/some/path")]).is_err());
    }

    #[test]
    fn credentials_are_sent_but_never_shown() {
        let s = env(&[("https_proxy", "http://us%40r:p%3Ass@proxy:3128")]).unwrap();
        let p = s.https.clone().unwrap();
        assert_eq!(p.authority(), "proxy:3128");
        assert_eq!(p.authorization().unwrap(), "Basic dXNAcjpwOnNz");
        for shown in [
            p.to_string(),
            format!("{p:?}"),
            s.to_string(),
            format!("{s:?}"),
        ] {
            assert!(
                !shown.contains("p%3Ass") && !shown.contains("us%40r"),
                "{shown}"
            );
        }
    }
}
