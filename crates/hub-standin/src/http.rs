//! Just enough HTTP/1.1 for the stand-in: read one request head, write one
//! response (`Connection: close`), count the body bytes that left.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A parsed request head.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub method: String,
    /// The raw path (still percent-encoded), without the query.
    pub raw_path: String,
    /// The query string, without `?` (empty when none).
    pub query: String,
    pub headers: Vec<(String, String)>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

const MAX_HEAD: u64 = 64 * 1024;

/// Reads a request head; `None` when the peer closed or sent garbage.
pub(crate) fn read_request(stream: &TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream.take(MAX_HEAD));
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next()?;
    let (raw_path, query) = target.split_once('?').unwrap_or((target, ""));
    let (raw_path, query) = (raw_path.to_string(), query.to_string());
    let mut headers = Vec::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let (k, v) = l.split_once(':')?;
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    Some(Request {
        method,
        raw_path,
        query,
        headers,
    })
}

/// A response to write: status, headers and a body plan.
#[derive(Debug, Default)]
pub(crate) struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// When set, the body is this shared slice instead of `body`.
    pub shared: Option<(std::sync::Arc<[u8]>, usize, usize)>,
    /// `Content-Length` to announce when it must differ from the body.
    pub content_length: Option<u64>,
    /// Stop after this many body bytes and close abruptly.
    pub drop_after: Option<u64>,
    pub before_headers: Duration,
    pub per_chunk: Duration,
    /// At most this many body bytes per second.
    pub rate: Option<u64>,
    /// Body bytes per write, when not the default.
    pub chunk: Option<usize>,
    /// HEAD: headers only.
    pub head_only: bool,
}

impl Response {
    pub fn new(status: u16) -> Self {
        Self {
            status,
            ..Default::default()
        }
    }

    pub fn header(mut self, k: &str, v: impl Into<String>) -> Self {
        self.headers.push((k.to_string(), v.into()));
        self
    }

    pub fn text(mut self, body: impl Into<String>) -> Self {
        self.body = body.into().into_bytes();
        self
    }

    fn body_slice(&self) -> &[u8] {
        match &self.shared {
            Some((data, start, end)) => &data[*start..*end],
            None => &self.body,
        }
    }

    pub fn body_len(&self) -> u64 {
        self.body_slice().len() as u64
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        206 => "Partial Content",
        302 => "Found",
        307 => "Temporary Redirect",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        416 => "Range Not Satisfiable",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

const CHUNK: usize = 256 * 1024;

/// Writes the response. `count` hears of each body chunk just before it is
/// written (and of its negation if the write fails), so that a record is
/// complete by the time the peer has read the bytes.
pub(crate) fn write_response(stream: &mut TcpStream, resp: &Response, count: &mut dyn FnMut(i64)) {
    if !resp.before_headers.is_zero() {
        std::thread::sleep(resp.before_headers);
    }
    let chunked_wait = resp.chunk.is_some() && !resp.per_chunk.is_zero();
    let body = resp.body_slice();
    let length = resp.content_length.unwrap_or(body.len() as u64);
    let mut head = format!("HTTP/1.1 {} {}\r\n", resp.status, reason(resp.status));
    for (k, v) in &resp.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {length}\r\nConnection: close\r\n\r\n"
    ));
    if stream.write_all(head.as_bytes()).is_err() || resp.head_only {
        return;
    }
    let limit = resp
        .drop_after
        .map_or(body.len(), |n| (n as usize).min(body.len()));
    let chunk = match resp.chunk {
        Some(n) => n.max(1),
        None if resp.per_chunk.is_zero() && resp.rate.is_none() => CHUNK,
        None => 64 * 1024,
    };
    let started = std::time::Instant::now();
    let mut sent = 0usize;
    while sent < limit {
        if chunked_wait {
            std::thread::sleep(resp.per_chunk);
        }
        let end = (sent + chunk).min(limit);
        count((end - sent) as i64);
        if stream.write_all(&body[sent..end]).is_err() {
            count(-((end - sent) as i64));
            break;
        }
        sent = end;
        if !chunked_wait && !resp.per_chunk.is_zero() && sent < limit {
            std::thread::sleep(resp.per_chunk);
        }
        if let Some(rate) = resp.rate {
            pace(started, sent as u64, rate);
        }
    }
    let _ = stream.flush();
}

/// Sleeps until `sent` bytes are due at `rate` bytes/s since `started`.
fn pace(started: std::time::Instant, sent: u64, rate: u64) {
    let due = Duration::from_secs_f64(sent as f64 / rate as f64);
    if let Some(left) = due.checked_sub(started.elapsed()) {
        std::thread::sleep(left);
    }
}

/// Reads and discards what the peer still sends, so that closing does not
/// reset a connection whose response the peer has not read yet.
pub(crate) fn drain(stream: &mut TcpStream) {
    let _ = stream.set_read_timeout(Some(Duration::from_millis(50)));
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let mut sink = [0u8; 1024];
    while let Ok(n) = stream.read(&mut sink) {
        if n == 0 {
            break;
        }
    }
}
