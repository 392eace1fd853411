//! Injectable faults: each rule matches requests by listener, method and
//! path, fires a number of times, then is used up.

use std::time::Duration;

/// Which of the two listeners answered a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Listener {
    /// The Hub itself (`/api`, `/{repo}/resolve/...`).
    Hub,
    /// The LFS "CDN" that cross-origin redirects point to.
    Cdn,
}

/// What goes wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// Send the full headers (true `Content-Length`) and this many body bytes
    /// of the response, then close the connection abruptly.
    DropAfter(u64),
    /// Answer this status (500, 503, 429, 408 …) with an optional
    /// `Retry-After` in seconds, and no body.
    Status {
        /// The status to answer.
        status: u16,
        /// `Retry-After` seconds to send, if any.
        retry_after: Option<u64>,
    },
    /// Serve only the first `n` bytes of the file, with a `Content-Length`
    /// that matches that shorter body (a complete but truncated response).
    Truncate(u64),
    /// Serve bytes of the right size with the first byte flipped.
    WrongBytes,
    /// Answer a Range request with 200 and the whole body.
    IgnoreRange,
    /// Wait before sending headers, then between 64 KiB body chunks.
    Slow {
        /// The wait before the status line.
        before_headers: Duration,
        /// The wait before each 64 KiB body chunk.
        per_chunk: Duration,
    },
    /// Redirect the request to its own URL, forever.
    RedirectLoop,
    /// Leave `X-Repo-Commit` out of a resolve answer (not a Hub).
    NoRepoCommit,
    /// Send this `X-Repo-Commit` on a resolve answer instead of the
    /// commit (a hostile or broken Hub).
    RepoCommit(String),
    /// Send the body at most this many bytes per second (one slow
    /// connection among fast ones: a straggler).
    Throttle(u64),
    /// Answer a Range request with 206 and the bytes asked for, but a
    /// `Content-Range` that starts one byte later than the truth.
    WrongContentRange,
    /// Send the body `bytes` at a time, waiting `every` before each
    /// (one byte a second: a body that trickles for days).
    Trickle {
        /// Bytes per write.
        bytes: usize,
        /// The wait before each write.
        every: Duration,
    },
    /// Answer `302` to this URL (any host: the client must refuse the
    /// ones it should never reach before connecting).
    RedirectTo(String),
    /// Answer with a response header of about this many bytes.
    HugeHeader(usize),
}

/// A fault rule: `Fault::new(kind)` matches every request once; narrow it
/// with [`Fault::on`], [`Fault::method`], [`Fault::path_contains`] and
/// [`Fault::times`].
#[derive(Clone, Debug)]
pub struct Fault {
    pub(crate) kind: FaultKind,
    pub(crate) listener: Option<Listener>,
    pub(crate) method: Option<String>,
    pub(crate) path_contains: Option<String>,
    pub(crate) remaining: u32,
    pub(crate) skip: u32,
}

impl Fault {
    /// A rule firing once on any request.
    pub fn new(kind: FaultKind) -> Self {
        Self {
            kind,
            listener: None,
            method: None,
            path_contains: None,
            remaining: 1,
            skip: 0,
        }
    }

    /// Only requests to this listener.
    pub fn on(mut self, listener: Listener) -> Self {
        self.listener = Some(listener);
        self
    }

    /// Only requests with this method (`GET`, `HEAD`).
    pub fn method(mut self, method: &str) -> Self {
        self.method = Some(method.to_ascii_uppercase());
        self
    }

    /// Only requests whose decoded path contains this text.
    pub fn path_contains(mut self, needle: &str) -> Self {
        self.path_contains = Some(needle.to_string());
        self
    }

    /// Fire this many times (`u32::MAX`: always).
    pub fn times(mut self, n: u32) -> Self {
        self.remaining = n;
        self
    }

    /// Let the first `n` matching requests through untouched, then fire
    /// (e.g. fail every request after the first few chunks).
    pub fn after(mut self, n: u32) -> Self {
        self.skip = n;
        self
    }

    pub(crate) fn matches(&self, listener: Listener, method: &str, path: &str) -> bool {
        self.remaining > 0
            && self.listener.is_none_or(|l| l == listener)
            && self.method.as_deref().is_none_or(|m| m == method)
            && self
                .path_contains
                .as_deref()
                .is_none_or(|p| path.contains(p))
    }
}

/// Takes the first live rule matching the request, using one firing.
pub(crate) fn take(
    faults: &mut Vec<Fault>,
    listener: Listener,
    method: &str,
    path: &str,
) -> Option<FaultKind> {
    let mut i = 0;
    loop {
        let f = faults.get_mut(i)?;
        if f.matches(listener, method, path) {
            if f.skip == 0 {
                break;
            }
            f.skip -= 1;
        }
        i += 1;
    }
    let f = &mut faults[i];
    let kind = f.kind.clone();
    if f.remaining != u32::MAX {
        f.remaining -= 1;
    }
    if f.remaining == 0 {
        faults.remove(i);
    }
    Some(kind)
}
