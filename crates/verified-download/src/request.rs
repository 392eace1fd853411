//! One call from a URL to a verified file: the API for a caller that
//! wants a file (an engine archive, a checksum list) and knows nothing of
//! the protocols built on this crate.
//!
//! The destination is only ever written by a rename of the verified
//! partial, so a reader never sees half a file; the partial
//! (`{dest}.part`) survives failures other than a verification failure
//! and the next run resumes it; `{dest}.lock` keeps two processes from
//! downloading the same file at once (the second waits, then finds it).

use crate::cancel::Cancel;
use crate::client::{Client, ClientSettings, is_loopback, parse_url};
use crate::digest::{Digest, hash_file_until};
use crate::event::Event;
use crate::file_lock::LockWait;
use crate::interrupt;
use crate::job::Request;
use crate::policy::ParallelPolicy;
use crate::progress::{Progress, ProgressReporter, ProgressStep};
use crate::proxy::ProxySettings;
use crate::retry::RetryPolicy;
use crate::stall::StallPolicy;
use crate::transfer::download;
use crate::trust::CaBundle;
use crate::{DownloadError, HashError};
use narration_core::public_url;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// A caller's callback for every [`Event`].
type EventSink<'a> = Box<dyn Fn(Event<'_>) + 'a>;

/// A download to run: `url` to `dest`, checked against the sha256 and
/// size when given. Build it with [`Download::new`] and the setters, then
/// [`run`](Self::run) it. See the [crate] docs for an example.
pub struct Download<'a> {
    url: String,
    dest: PathBuf,
    sha256: Option<Digest>,
    size: Option<u64>,
    token: Option<String>,
    authorization: Option<String>,
    allow_insecure_http: bool,
    settings: ClientSettings,
    parallel: ParallelPolicy,
    lock_wait: LockWait,
    cancel: Cancel,
    progress: ProgressReporter,
    on_event: Option<EventSink<'a>>,
}

impl std::fmt::Debug for Download<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token never leaves this struct; the URL only in public form.
        f.debug_struct("Download")
            .field("url", &public_url(&self.url))
            .field("dest", &self.dest)
            .field("sha256", &self.sha256)
            .field("size", &self.size)
            .field("token", &self.token.as_ref().map(|_| "…"))
            .field("authorization", &self.authorization.as_ref().map(|_| "…"))
            .finish_non_exhaustive()
    }
}

/// A verified file in place.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downloaded {
    /// Where it is (the destination asked for).
    pub path: PathBuf,
    /// The sha256 of its bytes.
    pub digest: Digest,
    /// Its size in bytes.
    pub size: u64,
    /// Bytes received over the network by this call (0 when the file was
    /// already there, less than `size` after a resume).
    pub transferred: u64,
}

impl<'a> Download<'a> {
    /// A download of `url` (`https://`, or `http://` to loopback) to
    /// `dest`, with the default policies, no credentials, no proxy and no
    /// expected digest.
    pub fn new(url: impl Into<String>, dest: impl Into<PathBuf>) -> Self {
        Self {
            url: url.into(),
            dest: dest.into(),
            sha256: None,
            size: None,
            token: None,
            authorization: None,
            allow_insecure_http: false,
            settings: ClientSettings {
                token: None,
                auth_origin: None,
                retry: RetryPolicy::default(),
                connect_timeout: Duration::from_secs(10),
                read_timeout: Duration::from_secs(30),
                max_redirects: 10,
                stall: StallPolicy::default(),
                user_agent: None,
                proxy: ProxySettings::none(),
                ca_bundle: None,
            },
            parallel: ParallelPolicy::default(),
            lock_wait: LockWait::default(),
            cancel: Cancel::new(),
            progress: ProgressReporter::default(),
            on_event: None,
        }
    }

    /// The bytes must hash to `digest`; otherwise the partial is deleted
    /// and [`DownloadError::DigestMismatch`] returned. A destination that
    /// already holds these bytes is returned without a request.
    pub fn sha256(mut self, digest: Digest) -> Self {
        self.sha256 = Some(digest);
        self
    }

    /// The file must be `bytes` long (also lets a large file be split
    /// over several connections before the first answer).
    pub fn size(mut self, bytes: u64) -> Self {
        self.size = Some(bytes);
        self
    }

    /// Send `Authorization: Bearer {token}` to the URL's origin only
    /// (never to a host a redirect leads to).
    pub fn bearer_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// Send this whole `Authorization` value (`Basic …`, `token …`) to
    /// the URL's origin only, instead of a bearer token.
    pub fn authorization(mut self, value: impl Into<String>) -> Self {
        self.authorization = Some(value.into());
        self
    }

    /// Allow plain `http://` to hosts other than loopback.
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// How transient failures are retried.
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.settings.retry = retry;
        self
    }

    /// When a body that still trickles counts as stalled.
    pub fn stall(mut self, stall: StallPolicy) -> Self {
        self.settings.stall = stall;
        self
    }

    /// When a large file goes over several ranged connections.
    pub fn parallel(mut self, parallel: ParallelPolicy) -> Self {
        self.parallel = parallel;
        self
    }

    /// The proxies requests go through (none by default; see
    /// [`ProxySettings::from_env`] for curl's variables).
    pub fn proxy(mut self, proxy: ProxySettings) -> Self {
        self.settings.proxy = proxy;
        self
    }

    /// Trust the CAs in `bundle` instead of the built-in roots (see
    /// [`trust`](crate::trust)).
    pub fn ca_bundle(mut self, bundle: Option<CaBundle>) -> Self {
        self.settings.ca_bundle = bundle;
        self
    }

    /// The longest wait for a connection, and for headers or body bytes.
    pub fn timeouts(mut self, connect: Duration, read: Duration) -> Self {
        self.settings.connect_timeout = connect;
        self.settings.read_timeout = read;
        self
    }

    /// `User-Agent` sent instead of this crate's own.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.settings.user_agent = Some(user_agent.into());
        self
    }

    /// How long to wait for another process downloading the same file.
    pub fn lock_wait(mut self, wait: LockWait) -> Self {
        self.lock_wait = wait;
        self
    }

    /// Stop when `cancel` is cancelled: requests, reads, back-off waits
    /// and the lock wait end at once with [`DownloadError::Cancelled`],
    /// and the partial is kept to resume.
    pub fn cancel(mut self, cancel: Cancel) -> Self {
        self.cancel = cancel;
        self
    }

    /// Report typed progress (`lock-wait`, then `download` with bytes) to
    /// `reporter`, which throttles it.
    pub fn progress(mut self, reporter: ProgressReporter) -> Self {
        self.progress = reporter;
        self
    }

    /// Report typed progress to `observer`, for the URL in public form.
    pub fn on_progress(self, observer: impl Fn(&Progress) + Send + Sync + 'static) -> Self {
        let target = public_url(&self.url);
        self.progress(ProgressReporter::new(
            Some(Arc::new(observer)),
            None,
            None,
            target,
        ))
    }

    /// Hand every [`Event`] (start, progress, retries, lock waits, the
    /// end) to `on_event` too, e.g. to narrate them.
    pub fn on_event(mut self, on_event: impl Fn(Event<'_>) + 'a) -> Self {
        self.on_event = Some(Box::new(on_event));
        self
    }

    /// Downloads (or resumes) the file, verifies it and renames it into
    /// place; returns what is there.
    pub fn run(self) -> Result<Downloaded, DownloadError> {
        // Every request, read, back-off and lock wait below runs under
        // the caller's token.
        let _cancel = interrupt::enter(&self.cancel);
        let url = parse_url(&self.url)?;
        let shown = public_url(&self.url);
        if url.scheme() == "http" && !is_loopback(&url) && !self.allow_insecure_http {
            return Err(DownloadError::InsecureUrl { url: shown });
        }
        let events = |e: Event<'_>| {
            report(&self.progress, &e);
            if let Some(on_event) = &self.on_event {
                on_event(e);
            }
        };
        if let Some(done) = self.in_place()? {
            return Ok(done);
        }
        if let Some(dir) = self.dest.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| DownloadError::io("create", dir, e))?;
        }
        let _lock = crate::lock(&sibling(&self.dest, ".lock"), self.lock_wait, &events)?;
        // Another process may have finished it while this one waited.
        if let Some(done) = self.in_place()? {
            return Ok(done);
        }
        let mut settings = self.settings.clone();
        if self.token.is_some() || self.authorization.is_some() {
            settings.token = self.token.clone();
            settings.auth_origin = Some(url.origin());
        }
        let client = Client::new(settings).with_authorization(self.authorization.clone());
        let done = download(
            &client,
            &Request {
                url,
                label: shown,
                partial: sibling(&self.dest, ".part"),
                dest: self.dest.clone(),
                expected_size: self.size,
                advertised: None,
                expected: self.sha256.as_ref(),
                parallel: self.parallel.clone(),
            },
            &events,
        )?;
        let size = std::fs::metadata(&self.dest)
            .map_err(|e| DownloadError::io("read", &self.dest, e))?
            .len();
        Ok(Downloaded {
            path: self.dest.clone(),
            digest: done.digest,
            size,
            transferred: done.transferred,
        })
    }

    /// The destination, when it already holds the expected bytes. Without
    /// an expected digest nothing vouches for a file found there, so it
    /// is downloaded again.
    fn in_place(&self) -> Result<Option<Downloaded>, DownloadError> {
        let Some(expected) = &self.sha256 else {
            return Ok(None);
        };
        let Ok(meta) = std::fs::metadata(&self.dest) else {
            return Ok(None);
        };
        if !meta.is_file() || self.size.is_some_and(|s| s != meta.len()) {
            return Ok(None);
        }
        let total = Some(meta.len());
        self.progress.begin(ProgressStep::Hash, total);
        let mut hashed = |done| {
            self.progress
                .report(ProgressStep::Hash, done, total, 0, false)
        };
        let digest = match hash_file_until(&self.dest, &self.cancel, &mut hashed) {
            Ok((digest, _)) => digest,
            Err(HashError::Cancelled) => return Err(DownloadError::Cancelled),
            Err(HashError::Io(e)) => return Err(DownloadError::io("read", &self.dest, e)),
        };
        self.progress
            .report(ProgressStep::Hash, meta.len(), Some(meta.len()), 0, true);
        Ok((digest == *expected).then(|| Downloaded {
            path: self.dest.clone(),
            digest,
            size: meta.len(),
            transferred: 0,
        }))
    }
}

/// `path` with `suffix` appended to its file name.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(suffix);
    name.into()
}

/// The typed progress a download [`Event`] stands for: `download` with
/// the bytes in the partial (`finished` once verified), `lock-wait`
/// while another process holds the file's lock. Retries change nothing.
pub fn report(progress: &ProgressReporter, event: &Event<'_>) {
    match *event {
        Event::Started {
            resumed_from,
            total,
            ..
        } => progress.report(ProgressStep::Download, resumed_from, total, 1, false),
        Event::Progress {
            have,
            total,
            connections,
            ..
        } => progress.report(ProgressStep::Download, have, total, connections, false),
        Event::LockWait { .. } => progress.report(ProgressStep::LockWait, 0, None, 0, false),
        Event::Finished {
            size, connections, ..
        } => progress.report(ProgressStep::Download, size, Some(size), connections, true),
        Event::Retrying { .. } => {}
    }
}
