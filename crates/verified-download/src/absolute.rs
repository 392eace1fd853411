//! `http:` targets through a proxy, as absolute-form requests.
//!
//! ureq 3 knows one kind of HTTP proxy: it opens a `CONNECT` tunnel for
//! every target, `http:` ones included, and writes the request line in
//! origin form (`GET /path HTTP/1.1`, see `ureq-proto`'s
//! `AmendedRequest::prelude`). Many proxies (squid's default among them)
//! allow `CONNECT` only to port 443, so an `http:` mirror would break.
//! curl and Python `requests` send such a request to the proxy itself in
//! absolute form (`GET http://host:port/path HTTP/1.1`), and so does this:
//!
//! - [`AbsoluteFormConnector`] opens the TCP connection to the proxy
//!   instead of the target (the agent it serves is given the proxy as its
//!   ureq proxy only so that ureq does not resolve the target's name:
//!   the proxy does, as with curl);
//! - [`AbsoluteForm`] rewrites the request line of each request written
//!   on that connection to absolute form and adds `Proxy-Authorization`
//!   when the proxy URL has credentials. The rewrite happens in the
//!   output buffer just before it is sent, at the one point where the
//!   request line is whole (ureq writes the prelude in one piece).
//!
//! Rewriting bytes below ureq is the narrowest change that keeps ureq's
//! pooling, timeouts and body handling; two agents (direct and proxied)
//! let the client choose per request, so `NO_PROXY` is decided here, by
//! our own matcher, never by ureq's.

use crate::proxy::ProxyUrl;
use ureq::http::Uri;
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, Either, NextTimeout, TcpConnector, Transport,
};

/// Connects to the proxy for an `http:` target; see the module docs.
#[derive(Debug)]
pub(crate) struct AbsoluteFormConnector {
    proxy: Uri,
    authorization: Option<String>,
}

impl AbsoluteFormConnector {
    /// A connector sending every request through `proxy`.
    pub fn new(proxy: &ProxyUrl) -> Option<Self> {
        let proxy_uri = format!("http://{}/", proxy.authority()).parse().ok()?;
        Some(Self {
            proxy: proxy_uri,
            authorization: proxy.authorization(),
        })
    }
}

impl Connector<()> for AbsoluteFormConnector {
    type Out = Box<dyn Transport>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<()>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        let _ = chained;
        let authority = details
            .uri
            .authority()
            .map(|a| {
                a.as_str()
                    .rsplit('@')
                    .next()
                    .unwrap_or_default()
                    .to_string()
            })
            .ok_or(ureq::Error::HostNotFound)?;
        let origin = format!("http://{authority}");
        let addrs = details
            .resolver
            .resolve(&self.proxy, details.config, details.timeout)?;
        let proxy_details = ConnectionDetails {
            uri: &self.proxy,
            addrs,
            config: details.config,
            request_level: details.request_level,
            resolver: details.resolver,
            now: details.now,
            timeout: details.timeout,
            current_time: details.current_time.clone(),
            run_connector: details.run_connector.clone(),
            register_shutdown: details.register_shutdown.clone(),
        };
        let tcp = TcpConnector::default()
            .connect(&proxy_details, None::<Box<dyn Transport>>)?
            .ok_or(ureq::Error::ConnectionFailed)?;
        let inner: Box<dyn Transport> = match tcp {
            Either::A(t) => t,
            Either::B(t) => Box::new(t),
        };
        Ok(Some(Box::new(AbsoluteForm {
            inner,
            origin,
            authorization: self.authorization.clone(),
            at_request_start: true,
        })))
    }
}

/// A connection to the proxy whose request lines are rewritten to
/// absolute form.
#[derive(Debug)]
pub(crate) struct AbsoluteForm {
    inner: Box<dyn Transport>,
    /// `http://host:port` of the target.
    origin: String,
    authorization: Option<String>,
    /// True until the next request's first bytes are sent.
    at_request_start: bool,
}

impl Transport for AbsoluteForm {
    fn buffers(&mut self) -> &mut dyn Buffers {
        self.inner.buffers()
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        let mut amount = amount;
        if self.at_request_start {
            self.at_request_start = false;
            let output = self.inner.buffers().output();
            if let Some(rewritten) = rewrite(
                &output[..amount],
                &self.origin,
                self.authorization.as_deref(),
            ) && rewritten.len() <= output.len()
            {
                output[..rewritten.len()].copy_from_slice(&rewritten);
                amount = rewritten.len();
            }
        }
        self.inner.transmit_output(amount, timeout)
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        // Reading an answer: whatever is written next starts a new request.
        self.at_request_start = true;
        self.inner.await_input(timeout)
    }

    fn is_open(&mut self) -> bool {
        self.inner.is_open()
    }
}

/// `bytes` with its origin-form request line made absolute-form and a
/// `Proxy-Authorization` header added; `None` when `bytes` does not start
/// with a request line.
fn rewrite(bytes: &[u8], origin: &str, authorization: Option<&str>) -> Option<Vec<u8>> {
    let end = bytes.windows(2).position(|w| w == b"\r\n")?;
    let line = std::str::from_utf8(&bytes[..end]).ok()?;
    let mut parts = line.splitn(3, ' ');
    let (method, target, version) = (parts.next()?, parts.next()?, parts.next()?);
    if !target.starts_with('/') || !version.starts_with("HTTP/") || method.is_empty() {
        return None;
    }
    let mut out = format!("{method} {origin}{target} {version}\r\n").into_bytes();
    if let Some(value) = authorization {
        out.extend_from_slice(format!("Proxy-Authorization: {value}\r\n").as_bytes());
    }
    out.extend_from_slice(&bytes[end + 2..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_line_becomes_absolute_form_with_proxy_authorization() {
        let got = rewrite(
            b"GET /a/b?c=1 HTTP/1.1\r\nHost: 127.0.0.1:9\r\n\r\n",
            "http://127.0.0.1:9",
            Some("Basic eDp5"),
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(got).unwrap(),
            "GET http://127.0.0.1:9/a/b?c=1 HTTP/1.1\r\nProxy-Authorization: Basic eDp5\r\nHost: 127.0.0.1:9\r\n\r\n"
        );
    }

    #[test]
    fn body_bytes_are_left_alone() {
        assert!(rewrite(b"GGUF\x03\x00\x00\x00", "http://h", None).is_none());
        assert!(rewrite(b"PUT http://h/x HTTP/1.1\r\n", "http://h", None).is_none());
    }
}
