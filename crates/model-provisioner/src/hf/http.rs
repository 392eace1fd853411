//! The HTTP client shared by the Hub and HTTPS fetchers: ureq 3 with
//! redirects followed by hand, so that the token only ever goes to the
//! endpoint's origin and a cross-origin 302 can carry Hub metadata.

use crate::hf::error::HfError;
use crate::hf::retry::{RetryPolicy, is_retryable_status, parse_retry_after};
use std::time::Duration;
use ureq::http::{Response, Uri};
use ureq::{Agent, Body};

/// The scheme, host and port a URL belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    /// The origin of an absolute `http(s)://` URL.
    pub fn of(url: &str) -> Option<Origin> {
        let uri: Uri = url.parse().ok()?;
        let scheme = uri.scheme_str()?.to_ascii_lowercase();
        let host = uri.host()?.to_ascii_lowercase();
        let port = uri
            .port_u16()
            .unwrap_or(if scheme == "https" { 443 } else { 80 });
        Some(Origin { scheme, host, port })
    }

    /// True for `localhost`, `127.0.0.0/8` and `::1`.
    pub fn is_loopback(&self) -> bool {
        let host = self.host.trim_start_matches('[').trim_end_matches(']');
        host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }

    pub fn scheme(&self) -> &str {
        &self.scheme
    }
}

/// Resolves a `Location` against the URL it answered.
pub(crate) fn join(base: &str, location: &str) -> String {
    if location.contains("://") {
        return location.to_string();
    }
    let Some(scheme_end) = base.find("://") else {
        return location.to_string();
    };
    let after = &base[scheme_end + 3..];
    let host_end = after.find('/').map_or(base.len(), |i| scheme_end + 3 + i);
    if let Some(rest) = location.strip_prefix("//") {
        return format!("{}://{rest}", &base[..scheme_end]);
    }
    if location.starts_with('/') {
        return format!("{}{location}", &base[..host_end]);
    }
    let path = base[..base.find('?').unwrap_or(base.len())].to_string();
    let dir = path
        .rfind('/')
        .filter(|&i| i >= host_end)
        .map_or(path.as_str(), |i| &path[..=i]);
    let dir = if dir.len() == host_end {
        format!("{dir}/")
    } else {
        dir.to_string()
    };
    format!("{dir}{location}")
}

/// A URL fit for messages and narrations: no credentials, no query.
pub(crate) fn display_url(url: &str) -> String {
    let no_query = url.split(['?', '#']).next().unwrap_or(url);
    match no_query.find("://") {
        Some(i) => {
            let (scheme, rest) = no_query.split_at(i + 3);
            let host_end = rest.find('/').unwrap_or(rest.len());
            let host = &rest[..host_end];
            let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
            format!("{scheme}{host}{}", &rest[host_end..])
        }
        None => no_query.to_string(),
    }
}

/// How one HTTP attempt failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Worth retrying: connect error, timeout, reset, 408/429/5xx.
    Transient {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// Not worth retrying.
    Fatal(HfError),
}

impl From<HfError> for Failure {
    fn from(e: HfError) -> Self {
        Failure::Fatal(e)
    }
}

/// Which redirects to follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Follow {
    /// Same-origin only; a cross-origin 3xx is returned as the answer.
    SameOrigin,
    /// Every redirect (authorization dropped off the endpoint's origin).
    All,
}

/// Network settings of a [`Client`].
#[derive(Debug, Clone)]
pub(crate) struct ClientSettings {
    pub token: Option<String>,
    /// The only origin the token is sent to.
    pub auth_origin: Option<Origin>,
    pub retry: RetryPolicy,
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
    pub max_redirects: u32,
}

/// A ureq agent that never follows redirects or errors on a status itself.
#[derive(Debug)]
pub(crate) struct Client {
    agent: Agent,
    pub settings: ClientSettings,
}

const USER_AGENT: &str = concat!(
    "model-provisioner/",
    env!("CARGO_PKG_VERSION"),
    "; hf_hub-compatible"
);

impl Client {
    pub fn new(settings: ClientSettings) -> Self {
        let agent: Agent = Agent::config_builder()
            .max_redirects(0)
            .http_status_as_error(false)
            .user_agent(USER_AGENT)
            .timeout_connect(Some(settings.connect_timeout))
            .timeout_recv_response(Some(settings.read_timeout))
            .timeout_per_read(Some(settings.read_timeout))
            // Fewer, larger reads from the socket on big bodies.
            .input_buffer_size(512 * 1024)
            .build()
            .into();
        Self { agent, settings }
    }

    /// One request, no redirect followed. The token is attached only when
    /// `url` is on the endpoint's origin.
    fn send(
        &self,
        method: &str,
        url: &str,
        range_from: Option<u64>,
    ) -> Result<Response<Body>, Failure> {
        let mut req = ureq::http::Request::builder()
            .method(method)
            .uri(url)
            .header("Accept-Encoding", "identity");
        if let Some(n) = range_from {
            req = req.header("Range", format!("bytes={n}-"));
        }
        if let (Some(token), Some(auth)) = (&self.settings.token, &self.settings.auth_origin)
            && Origin::of(url).as_ref() == Some(auth)
        {
            req = req.header("Authorization", format!("Bearer {token}"));
        }
        let req = req.body(()).map_err(|_| HfError::BadUrl {
            url: display_url(url),
            reason: "it cannot be used in an HTTP request",
        })?;
        self.agent.run(req).map_err(|e| classify(url, e))
    }

    /// Sends `method` to `url`, following redirects as `follow` says.
    /// Returns the URL that answered and its response; a status worth
    /// retrying becomes [`Failure::Transient`].
    pub fn request(
        &self,
        method: &str,
        url: &str,
        range_from: Option<u64>,
        follow: Follow,
    ) -> Result<(String, Response<Body>), Failure> {
        let mut current = url.to_string();
        for _ in 0..=self.settings.max_redirects {
            let resp = self.send(method, &current, range_from)?;
            let status = resp.status().as_u16();
            if is_retryable_status(status) {
                let retry_after = parse_retry_after(header(&resp, "retry-after"));
                return Err(Failure::Transient {
                    reason: format!("HTTP {status}"),
                    retry_after,
                });
            }
            let location = header(&resp, "location").filter(|_| (300..400).contains(&status));
            let Some(location) = location else {
                return Ok((current, resp));
            };
            let next = join(&current, location);
            if follow == Follow::SameOrigin && Origin::of(&next) != Origin::of(&current) {
                return Ok((current, resp));
            }
            if is_downgrade(&current, &next) {
                return Err(Failure::Fatal(HfError::InsecureUrl {
                    url: display_url(&next),
                }));
            }
            current = next;
        }
        Err(Failure::Fatal(HfError::TooManyRedirects {
            url: display_url(url),
            max: self.settings.max_redirects,
        }))
    }
}

/// True when a redirect leaves https for plain http off loopback.
fn is_downgrade(from: &str, to: &str) -> bool {
    let (Some(a), Some(b)) = (Origin::of(from), Origin::of(to)) else {
        return false;
    };
    a.scheme() == "https" && b.scheme() == "http" && !b.is_loopback()
}

/// A response header as text (`None` when absent or not UTF-8).
pub(crate) fn header<'r>(resp: &'r Response<Body>, name: &str) -> Option<&'r str> {
    resp.headers().get(name)?.to_str().ok()
}

/// Sorts a ureq error into transient (retry) or fatal. Only the error's
/// category is kept: never a header value.
fn classify(url: &str, e: ureq::Error) -> Failure {
    use ureq::Error as E;
    let transient = |reason: &str| Failure::Transient {
        reason: reason.to_string(),
        retry_after: None,
    };
    match e {
        E::Timeout(_) => transient("timed out"),
        E::ConnectionFailed => transient("connection failed"),
        E::HostNotFound => transient("host not found"),
        E::Io(io) => transient(&format!("connection error ({})", io.kind())),
        E::Protocol(_) => transient("connection closed mid-response"),
        E::BodyStalled => transient("body stalled"),
        E::BadUri(_) | E::Http(_) => Failure::Fatal(HfError::BadUrl {
            url: display_url(url),
            reason: "it is not a valid http(s) URL",
        }),
        E::TooManyRedirects | E::RedirectFailed => Failure::Fatal(HfError::TooManyRedirects {
            url: display_url(url),
            max: 0,
        }),
        _ => Failure::Fatal(HfError::Network {
            url: display_url(url),
            reason: "TLS or protocol failure; check the URL and the server's certificate"
                .to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_resolves_absolute_root_relative_and_relative_locations() {
        let base = "http://h:1/org/m/resolve/main/a/b.gguf?x=1";
        assert_eq!(join(base, "https://cdn/x"), "https://cdn/x");
        assert_eq!(
            join(base, "/new/resolve/main/b.gguf"),
            "http://h:1/new/resolve/main/b.gguf"
        );
        assert_eq!(
            join(base, "c.gguf"),
            "http://h:1/org/m/resolve/main/a/c.gguf"
        );
        assert_eq!(join("http://h:1", "x"), "http://h:1/x");
        assert_eq!(join(base, "//other/p"), "http://other/p");
    }

    #[test]
    fn origins_compare_scheme_host_and_port() {
        let a = Origin::of("http://127.0.0.1:80/x").unwrap();
        assert_eq!(Some(a.clone()), Origin::of("http://127.0.0.1/y"));
        assert_ne!(Some(a.clone()), Origin::of("https://127.0.0.1/y"));
        assert_ne!(Some(a.clone()), Origin::of("http://127.0.0.1:81/y"));
        assert!(a.is_loopback());
        assert!(Origin::of("http://[::1]:9/").unwrap().is_loopback());
        assert!(!Origin::of("http://example.com/").unwrap().is_loopback());
    }

    #[test]
    fn https_to_plain_http_off_loopback_is_a_downgrade() {
        assert!(is_downgrade("https://h/a", "http://cdn/b"));
        assert!(!is_downgrade("https://h/a", "https://cdn/b"));
        assert!(!is_downgrade("https://h/a", "http://127.0.0.1/b"));
        assert!(!is_downgrade("http://127.0.0.1/a", "http://127.0.0.2/b"));
    }

    #[test]
    fn display_url_drops_credentials_and_query() {
        assert_eq!(
            display_url("https://u:p@h/x.gguf?sig=abc"),
            "https://h/x.gguf"
        );
    }
}
