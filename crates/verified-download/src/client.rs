//! The HTTP client: a ureq 3 agent with redirects followed by hand, so
//! that the token only ever goes to the one origin it is for, a
//! cross-origin 3xx can be returned as the answer (Hub metadata rides on
//! it), and a redirect to plain http off loopback is refused (from https,
//! and from a loopback http URL alike). Every read waits in short slices
//! and notices a cancel ([`interrupt`](super::interrupt)). Requests go
//! through the proxy [`ProxySettings`] names for their URL: `https:` by
//! `CONNECT`, `http:` in absolute form ([`absolute`](super::absolute)).

use crate::DownloadError;
use crate::absolute::AbsoluteFormConnector;
use crate::interrupt::{self, Watchful};
use crate::proxy::{ProxySettings, ProxyUrl};
use crate::retry::{Failure, RetryPolicy, is_retryable_status, parse_retry_after};
use crate::trust::CaBundle;
use narration_core::public_url;
use std::time::{Duration, SystemTime};
use ureq::http::Response;
use ureq::unversioned::resolver::DefaultResolver;
use ureq::unversioned::transport::{Connector, DefaultConnector};
use ureq::{Agent, Body};
use url::{Host, Origin, Url};

/// Which redirects to follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Follow {
    /// Same-origin only; a cross-origin 3xx is returned as the answer.
    SameOrigin,
    /// Every redirect (authorization dropped off the token's origin).
    All,
}

/// Network settings of a [`Client`].
#[derive(Debug, Clone)]
pub struct ClientSettings {
    /// Bearer token, sent to `auth_origin` only.
    pub token: Option<String>,
    /// The only origin the token is sent to.
    pub auth_origin: Option<Origin>,
    /// How transient failures are retried.
    pub retry: RetryPolicy,
    /// Longest wait for a connection.
    pub connect_timeout: Duration,
    /// Longest silence while waiting for headers or body bytes.
    pub read_timeout: Duration,
    /// Redirects followed before giving up.
    pub max_redirects: u32,
    /// When a body counts as stalled.
    pub stall: crate::StallPolicy,
    /// `User-Agent` sent instead of this crate's own.
    pub user_agent: Option<String>,
    /// The proxies requests go through.
    pub proxy: ProxySettings,
    /// The CAs a TLS server must chain to, instead of the built-in
    /// roots (see [`trust`](crate::trust)); `None`: the built-in roots.
    pub ca_bundle: Option<CaBundle>,
}

/// The bytes a GET asks for: `start` to `end` (inclusive), or to the end
/// of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    /// The first byte wanted.
    pub start: u64,
    /// The last byte wanted; `None`: through the end of the file.
    pub end: Option<u64>,
}

impl ByteRange {
    /// `Range` header value.
    fn header(self) -> String {
        match self.end {
            Some(end) => format!("bytes={}-{end}", self.start),
            None => format!("bytes={}-", self.start),
        }
    }
}

/// A ureq agent that never follows redirects or errors on a status itself.
#[derive(Debug)]
pub struct Client {
    agent: Agent,
    /// The agent for `http:` targets through the proxy (absolute form).
    http_proxied: Option<Agent>,
    /// The agent for `https:` targets through the proxy (`CONNECT`).
    https_proxied: Option<Agent>,
    settings: ClientSettings,
    /// A whole `Authorization` value (an OCI registry's `Basic …` or
    /// `Bearer …`) sent to `auth_origin` instead of `Bearer {token}`.
    authorization: Option<String>,
    /// `Accept` sent with every request (OCI manifests need it).
    accept: Option<&'static str>,
}

/// The response that ended a request, and the URL that gave it.
#[derive(Debug)]
pub struct Answer {
    /// The URL that answered (the last of the redirects followed).
    pub url: Url,
    /// Its response; the body is not read yet.
    pub response: Response<Body>,
}

impl Answer {
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.response.status().as_u16()
    }

    /// A response header as text (`None` when absent or not UTF-8).
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.response, name)
    }
}

const USER_AGENT: &str = concat!("verified-download/", env!("CARGO_PKG_VERSION"));

impl Client {
    /// A client with these settings (one agent per proxy route).
    pub fn new(settings: ClientSettings) -> Self {
        let agent = Self::agent(&settings, None, DefaultConnector::new().chain(Watchful));
        let http_proxied = settings.proxy.http.as_ref().and_then(|p| {
            let connector = AbsoluteFormConnector::new(p)?;
            Some(Self::agent(&settings, Some(p), connector.chain(Watchful)))
        });
        let https_proxied = settings
            .proxy
            .https
            .as_ref()
            .map(|p| Self::agent(&settings, Some(p), DefaultConnector::new().chain(Watchful)));
        Self {
            agent,
            http_proxied,
            https_proxied,
            settings,
            authorization: None,
            accept: None,
        }
    }

    /// An agent with these settings, through `proxy` (as ureq's proxy:
    /// for `CONNECT`, and so that ureq leaves the target's name to the
    /// proxy) when given.
    fn agent(
        settings: &ClientSettings,
        proxy: Option<&ProxyUrl>,
        connector: impl Connector,
    ) -> Agent {
        let proxy = proxy.and_then(|p| ureq::Proxy::new(p.with_credentials()).ok());
        let tls = settings
            .ca_bundle
            .as_ref()
            .map(CaBundle::tls_config)
            .unwrap_or_default();
        let config = Agent::config_builder()
            .tls_config(tls)
            .proxy(proxy)
            .max_redirects(0)
            .http_status_as_error(false)
            .user_agent(settings.user_agent.as_deref().unwrap_or(USER_AGENT))
            .timeout_connect(Some(settings.connect_timeout))
            .timeout_recv_response(Some(settings.read_timeout))
            .timeout_per_read(Some(settings.read_timeout))
            // Fewer, larger reads from the socket on big bodies.
            .input_buffer_size(512 * 1024)
            .build();
        Agent::with_parts(config, connector, DefaultResolver::default())
    }

    /// The agent for `url`, and the proxy it goes through.
    fn agent_for(&self, url: &Url) -> (&Agent, Option<&ProxyUrl>) {
        let proxied = match url.scheme() {
            "http" => self.http_proxied.as_ref(),
            _ => self.https_proxied.as_ref(),
        };
        match (self.settings.proxy.for_url(url), proxied) {
            (Some(proxy), Some(agent)) => (agent, Some(proxy)),
            _ => (&self.agent, None),
        }
    }

    /// This client, sending `authorization` as the whole `Authorization`
    /// header, to `auth_origin` only (so never to a redirect's storage).
    pub fn with_authorization(mut self, authorization: Option<String>) -> Self {
        self.authorization = authorization;
        self
    }

    /// This client, sending `Accept: accept` with every request.
    pub fn with_accept(mut self, accept: &'static str) -> Self {
        self.accept = Some(accept);
        self
    }

    /// How transient failures are retried.
    pub fn retry(&self) -> &RetryPolicy {
        &self.settings.retry
    }

    /// When a body counts as stalled: the stall policy, with its silence
    /// limit no longer than the read timeout (a body read never waits
    /// past it, as a header read never does).
    pub fn stall(&self) -> crate::StallPolicy {
        let stall = self.settings.stall;
        crate::StallPolicy {
            idle: stall.idle.min(self.settings.read_timeout),
            ..stall
        }
    }

    /// True when this client has a token to send.
    pub fn has_token(&self) -> bool {
        self.settings.token.is_some()
    }

    /// A request to `url` with this client's headers. The authorization
    /// is attached only when `url` is on its origin.
    fn builder(
        &self,
        method: &str,
        url: &Url,
        range: Option<ByteRange>,
    ) -> ureq::http::request::Builder {
        let mut req = ureq::http::Request::builder()
            .method(method)
            .uri(url.as_str())
            .header("Accept-Encoding", "identity");
        if let Some(range) = range {
            req = req.header("Range", range.header());
        }
        if let Some(accept) = self.accept {
            req = req.header("Accept", accept);
        }
        let authorization = self.authorization.clone().or_else(|| {
            let token = self.settings.token.as_ref()?;
            Some(format!("Bearer {token}"))
        });
        if let (Some(value), Some(auth)) = (authorization, &self.settings.auth_origin)
            && url.origin() == *auth
        {
            req = req.header("Authorization", value);
        }
        req
    }

    /// One request, no redirect followed.
    fn send(
        &self,
        method: &str,
        url: &Url,
        range: Option<ByteRange>,
    ) -> Result<Response<Body>, Failure> {
        if interrupt::cancelled() {
            return Err(Failure::Fatal(DownloadError::Cancelled));
        }
        let req = self
            .builder(method, url, range)
            .body(())
            .map_err(|_| unusable(url))?;
        let (agent, proxy) = self.agent_for(url);
        let response = agent.run(req).map_err(|e| classify(url, proxy, e))?;
        refused_by_proxy(url, proxy, &response)?;
        Ok(response)
    }

    /// Sends `body` (with its length) to `url`, no redirect followed: an
    /// OCI blob or manifest upload. A status worth retrying becomes
    /// [`Failure::Transient`].
    pub fn upload(
        &self,
        method: &str,
        url: &Url,
        content_type: &str,
        body: Upload,
    ) -> Result<Answer, Failure> {
        if interrupt::cancelled() {
            return Err(Failure::Fatal(DownloadError::Cancelled));
        }
        let req = self
            .builder(method, url, None)
            .header("Content-Type", content_type);
        let (agent, proxy) = self.agent_for(url);
        let response = match body {
            Upload::Bytes(bytes) => agent.run(req.body(bytes).map_err(|_| unusable(url))?),
            Upload::File(file) => agent.run(req.body(file).map_err(|_| unusable(url))?),
        }
        .map_err(|e| classify(url, proxy, e))?;
        refused_by_proxy(url, proxy, &response)?;
        let answer = Answer {
            response,
            url: url.clone(),
        };
        if is_retryable_status(answer.status()) {
            return Err(Failure::Transient {
                reason: format!("HTTP {}", answer.status()),
                retry_after: parse_retry_after(answer.header("retry-after"), SystemTime::now()),
            });
        }
        Ok(answer)
    }

    /// Sends `method` to `url`, following redirects as `follow` says.
    /// A status worth retrying becomes [`Failure::Transient`].
    pub fn request(
        &self,
        method: &str,
        url: &Url,
        range: Option<ByteRange>,
        follow: Follow,
    ) -> Result<Answer, Failure> {
        let mut current = url.clone();
        for _ in 0..=self.settings.max_redirects {
            let answer = Answer {
                response: self.send(method, &current, range)?,
                url: current,
            };
            let status = answer.status();
            if is_retryable_status(status) {
                let retry_after =
                    parse_retry_after(answer.header("retry-after"), SystemTime::now());
                return Err(Failure::Transient {
                    reason: format!("HTTP {status}"),
                    retry_after,
                });
            }
            let Some(next) = redirect_target(&answer)? else {
                return Ok(answer);
            };
            if follow == Follow::SameOrigin && next.origin() != answer.url.origin() {
                return Ok(answer);
            }
            if is_downgrade(&answer.url, &next) {
                return Err(Failure::Fatal(DownloadError::InsecureUrl {
                    url: public_url(next.as_str()),
                }));
            }
            current = next;
        }
        Err(Failure::Fatal(DownloadError::TooManyRedirects {
            url: public_url(url.as_str()),
            max: self.settings.max_redirects,
        }))
    }
}

/// The body of an [`Client::upload`].
#[derive(Debug)]
pub enum Upload {
    /// Bytes in memory (a manifest, a config, an empty body).
    Bytes(Vec<u8>),
    /// A file, sent with its length.
    File(std::fs::File),
}

fn unusable(url: &Url) -> Failure {
    Failure::Fatal(DownloadError::BadUrl {
        url: public_url(url.as_str()),
        reason: "it cannot be used in an HTTP request",
    })
}

/// Where a 3xx answer points, resolved against the URL that gave it.
pub fn redirect_target(answer: &Answer) -> Result<Option<Url>, DownloadError> {
    let Some(location) = answer
        .header("location")
        .filter(|_| (300..400).contains(&answer.status()))
    else {
        return Ok(None);
    };
    answer
        .url
        .join(location)
        .map(Some)
        .map_err(|_| DownloadError::BadUrl {
            url: public_url(answer.url.as_str()),
            reason: "it redirected to a Location that is not a URL",
        })
}

/// Parses an absolute `http(s)://` URL.
pub fn parse_url(text: &str) -> Result<Url, DownloadError> {
    let bad = |reason| DownloadError::BadUrl {
        url: public_url(text),
        reason,
    };
    let url = Url::parse(text).map_err(|_| bad("it does not parse as a URL"))?;
    match (url.scheme(), url.host()) {
        ("http" | "https", Some(_)) => Ok(url),
        ("http" | "https", None) => Err(bad("it has no host")),
        _ => Err(bad("only http:// and https:// are supported")),
    }
}

/// True for `localhost`, `127.0.0.0/8` and `::1`.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// True when a redirect goes to plain http off loopback from a URL that
/// was not itself plain http off loopback (https, or loopback http, which
/// is allowed only because it never leaves the machine).
fn is_downgrade(from: &Url, to: &Url) -> bool {
    let off_loopback_http = |u: &Url| u.scheme() == "http" && !is_loopback(u);
    off_loopback_http(to) && !off_loopback_http(from)
}

/// A response header as text (`None` when absent or not UTF-8).
pub(crate) fn header<'r>(resp: &'r Response<Body>, name: &str) -> Option<&'r str> {
    resp.headers().get(name)?.to_str().ok()
}

/// An unexpected status, as a typed error.
pub fn status_error(url: &Url, status: u16) -> DownloadError {
    let url = public_url(url.as_str());
    match status {
        401 => DownloadError::Unauthorized { url },
        403 => DownloadError::Forbidden { url },
        404 => DownloadError::Status {
            url,
            status,
            hint: "the file is not there; check the URL",
        },
        _ => DownloadError::Status {
            url,
            status,
            hint: "unexpected answer; check the URL and the server",
        },
    }
}

/// A 407 can only come from the proxy (an `http:` target's request is
/// answered by the proxy itself): the proxy's error, not the server's.
fn refused_by_proxy(
    url: &Url,
    proxy: Option<&ProxyUrl>,
    response: &Response<Body>,
) -> Result<(), Failure> {
    match proxy {
        Some(proxy) if response.status().as_u16() == 407 => {
            Err(Failure::Fatal(proxy_error(url, proxy, 407)))
        }
        _ => Ok(()),
    }
}

/// The proxy's refusal, naming its host and what to do.
fn proxy_error(url: &Url, proxy: &ProxyUrl, status: u16) -> DownloadError {
    DownloadError::Proxy {
        proxy: proxy.to_string(),
        url: public_url(url.as_str()),
        status,
        hint: match status {
            407 => {
                "the proxy wants credentials; put them in the proxy URL (http://user:password@host:port)"
            }
            403 => {
                "the proxy does not allow this destination; ask its administrator, or list the host in NO_PROXY"
            }
            _ => "check the proxy settings (https_proxy, http_proxy, ALL_PROXY, NO_PROXY)",
        },
    }
}

/// The status in ureq's "proxy server responded 403/Forbidden".
fn connect_status(reason: &str) -> u16 {
    reason
        .rsplit("responded ")
        .next()
        .and_then(|s| s.split('/').next())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// What a certificate rustls rejects means, and what to do.
const UNTRUSTED: &str = "the server's TLS certificate is not trusted; if a proxy or mirror uses a private CA, point SSL_CERT_FILE at a PEM bundle holding it";

/// Sorts a ureq error into transient (retry) or fatal. Only the error's
/// category is kept: never a header value.
fn classify(url: &Url, proxy: Option<&ProxyUrl>, e: ureq::Error) -> Failure {
    use ureq::Error as E;
    let transient = |reason: &str| crate::retry::transient(reason);
    if interrupt::cancelled() {
        return Failure::Fatal(DownloadError::Cancelled);
    }
    let network = |reason| {
        Failure::Fatal(DownloadError::Network {
            url: public_url(url.as_str()),
            reason,
        })
    };
    if let (E::ConnectProxyFailed(reason), Some(proxy)) = (&e, proxy) {
        let status = connect_status(reason);
        if status == 0 {
            return transient(&format!("the proxy {} did not answer CONNECT", proxy));
        }
        return Failure::Fatal(proxy_error(url, proxy, status));
    }
    match e {
        E::Timeout(_) => transient("timed out"),
        E::ConnectionFailed => transient("connection failed"),
        E::HostNotFound => transient("host not found"),
        // rustls reports a rejected certificate as InvalidData; only
        // whether it blamed the certificate is kept. Retrying cannot mend it.
        E::Io(io)
            if io.kind() == std::io::ErrorKind::InvalidData
                && io.to_string().contains("certificate") =>
        {
            network(UNTRUSTED)
        }
        E::Io(io) => transient(&format!("connection error ({})", io.kind())),
        E::Protocol(_) => transient("connection closed mid-response"),
        E::BodyStalled => transient("body stalled"),
        E::LargeResponseHeader(..) => network(
            "the response header is too large (over 64 KiB): the server is misconfigured or not an HTTP file server",
        ),
        E::BodyExceedsLimit(_) => network("the response body is larger than allowed"),
        E::Decompress(..) => network(
            "the response body could not be decompressed: the server sent a broken encoding",
        ),
        E::BadUri(_) | E::Http(_) => Failure::Fatal(DownloadError::BadUrl {
            url: public_url(url.as_str()),
            reason: "it is not a valid http(s) URL",
        }),
        E::TooManyRedirects | E::RedirectFailed => {
            Failure::Fatal(DownloadError::TooManyRedirects {
                url: public_url(url.as_str()),
                max: 0,
            })
        }
        E::Rustls(tls) if tls.to_string().contains("certificate") => network(UNTRUSTED),
        _ => Failure::Fatal(DownloadError::Network {
            url: public_url(url.as_str()),
            reason: "TLS or protocol failure; check the URL and the server's certificate",
        }),
    }
}

/// `bytes S-E/L` → (S, L).
pub(crate) fn parse_content_range(v: &str) -> Option<(u64, u64)> {
    let rest = v.trim().strip_prefix("bytes ")?;
    let (range, len) = rest.split_once('/')?;
    let (start, end) = range.split_once('-')?;
    let (start, end, len): (u64, u64, u64) =
        (start.parse().ok()?, end.parse().ok()?, len.parse().ok()?);
    (start <= end && end < len).then_some((start, len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range_is_parsed_strictly() {
        use super::parse_content_range as p;
        assert_eq!(p("bytes 10-99/100"), Some((10, 100)));
        assert_eq!(p("bytes 10-100/100"), None);
        assert_eq!(p("bytes */100"), None);
        assert_eq!(p("items 1-2/3"), None);
    }

    fn u(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn origins_compare_scheme_host_and_default_port() {
        let a = u("http://127.0.0.1:80/x").origin();
        assert_eq!(a, u("http://127.0.0.1/y").origin());
        assert_ne!(a, u("https://127.0.0.1/y").origin());
        assert_ne!(a, u("http://127.0.0.1:81/y").origin());
        assert!(is_loopback(&u("http://127.0.0.1:80/x")));
        assert!(is_loopback(&u("http://[::1]:9/")));
        assert!(is_loopback(&u("http://LocalHost/")));
        assert!(!is_loopback(&u("http://example.com/")));
    }

    #[test]
    fn https_to_plain_http_off_loopback_is_a_downgrade() {
        assert!(is_downgrade(&u("https://h/a"), &u("http://cdn/b")));
        assert!(!is_downgrade(&u("https://h/a"), &u("https://cdn/b")));
        assert!(!is_downgrade(&u("https://h/a"), &u("http://127.0.0.1/b")));
        assert!(!is_downgrade(
            &u("http://127.0.0.1/a"),
            &u("http://127.0.0.2/b")
        ));
        assert!(
            is_downgrade(&u("http://127.0.0.1/a"), &u("http://example.com/b")),
            "loopback http must not lead off the machine"
        );
        assert!(!is_downgrade(&u("http://127.0.0.1/a"), &u("https://h/b")));
    }

    #[test]
    fn only_absolute_http_urls_with_a_host_parse() {
        assert!(parse_url("https://h/x.gguf").is_ok());
        for bad in ["ftp://h/x", "h/x", "http://", "mailto:a@b"] {
            let err = parse_url(bad).unwrap_err();
            assert_eq!(err.kind(), "bad-url", "{bad}");
        }
        let err = parse_url("ftp://u:secret@h/x").unwrap_err().to_string();
        assert!(!err.contains("secret"), "{err}");
    }
}
