//! A stand-in for the Hugging Face Hub over loopback, for tests.
//!
//! Two real HTTP/1.1 listeners on `127.0.0.1`: the Hub (resolve URLs and the
//! listing API, as `specs/hf-protocol.md` describes them) and a second
//! origin playing the LFS CDN that LFS files redirect to. Repos hold
//! commits, branches and tags; faults can be injected per request; every
//! request is recorded (method, path, `Range`, `Authorization`, status, body
//! bytes sent, when it started and finished) so tests can assert
//! "downloaded once", "only the tail was sent again" or "these were in
//! flight together".
//!
//! ```
//! use hub_standin::{FileSpec, Hub};
//! let hub = Hub::start().unwrap();
//! let commit = hub.commit("org/model", "main", vec![("m.gguf", FileSpec::lfs(b"GGUF...".to_vec()))]);
//! assert_eq!(commit.len(), 40);
//! let url = format!("{}/org/model/resolve/main/m.gguf", hub.endpoint());
//! assert!(url.starts_with("http://127.0.0.1:"));
//! ```

mod fault;
mod http;
mod repo;
mod serve;

pub use fault::{Fault, FaultKind, Listener};
pub use repo::FileSpec;

use repo::{Repo, StoredFile};
use std::collections::HashMap;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

/// One request as the stand-in saw and answered it.
#[derive(Clone, Debug)]
pub struct RequestRecord {
    /// Which listener it reached.
    pub listener: Listener,
    /// The HTTP method (`HEAD`, `GET`).
    pub method: String,
    /// Percent-decoded path, without the query.
    pub path: String,
    /// The `Range` header, as sent.
    pub range: Option<String>,
    /// The `Authorization` header, as sent (tests check where tokens go).
    pub authorization: Option<String>,
    /// The status answered.
    pub status: u16,
    /// Body bytes actually written to the socket.
    pub body_bytes: u64,
    /// When the request had been read, before any answer was written.
    pub started: Instant,
    /// When the last write of the answer's body began (no body: when the
    /// head had been written); `None` until the answer is done. The client
    /// reads that last write after this instant, so `started..finished`
    /// lies inside the client's connection: two requests whose spans
    /// overlap were in flight together.
    pub finished: Option<Instant>,
}

pub(crate) struct Shared {
    repos: Mutex<HashMap<String, Repo>>,
    aliases: Mutex<HashMap<String, String>>,
    lfs: Mutex<HashMap<String, Arc<StoredFile>>>,
    faults: Mutex<Vec<Fault>>,
    log: Mutex<Vec<RequestRecord>>,
    /// Requests before this index were cleared (kept so in-flight indices hold).
    log_start: Mutex<usize>,
    cdn_base: String,
    stop: AtomicBool,
    /// Body bytes per second per connection; 0: unlimited.
    connection_rate: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    pub(crate) fn lock_repos(&self) -> MutexGuard<'_, HashMap<String, Repo>> {
        lock(&self.repos)
    }
    pub(crate) fn lock_aliases(&self) -> MutexGuard<'_, HashMap<String, String>> {
        lock(&self.aliases)
    }
    pub(crate) fn lock_lfs(&self) -> MutexGuard<'_, HashMap<String, Arc<StoredFile>>> {
        lock(&self.lfs)
    }
    pub(crate) fn lock_faults(&self) -> MutexGuard<'_, Vec<Fault>> {
        lock(&self.faults)
    }
    /// The per-connection body rate limit, if any.
    pub(crate) fn connection_rate(&self) -> Option<u64> {
        Some(self.connection_rate.load(Ordering::SeqCst)).filter(|&r| r > 0)
    }
}

/// A running stand-in Hub; stops listening when dropped.
pub struct Hub {
    shared: Arc<Shared>,
    hub_addr: SocketAddr,
    cdn_addr: SocketAddr,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("endpoint", &self.endpoint())
            .field("cdn", &self.cdn_endpoint())
            .finish()
    }
}

impl Hub {
    /// Binds both listeners on ephemeral loopback ports and starts serving.
    pub fn start() -> io::Result<Hub> {
        let hub = TcpListener::bind("127.0.0.1:0")?;
        let cdn = TcpListener::bind("127.0.0.1:0")?;
        let (hub_addr, cdn_addr) = (hub.local_addr()?, cdn.local_addr()?);
        let shared = Arc::new(Shared {
            repos: Mutex::default(),
            aliases: Mutex::default(),
            lfs: Mutex::default(),
            faults: Mutex::default(),
            log: Mutex::default(),
            log_start: Mutex::default(),
            cdn_base: format!("http://{cdn_addr}"),
            stop: AtomicBool::new(false),
            connection_rate: AtomicU64::new(0),
        });
        spawn_listener(hub, Listener::Hub, shared.clone());
        spawn_listener(cdn, Listener::Cdn, shared.clone());
        Ok(Hub {
            shared,
            hub_addr,
            cdn_addr,
        })
    }

    /// `http://127.0.0.1:PORT` of the Hub (what `HF_ENDPOINT` should be).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.hub_addr)
    }

    /// `http://127.0.0.1:PORT` of the CDN listener (another origin).
    pub fn cdn_endpoint(&self) -> String {
        self.shared.cdn_base.clone()
    }

    /// Adds a commit on `branch` (created when new) holding the branch's
    /// current files plus `files`; returns the 40-hex commit sha.
    pub fn commit(&self, repo_id: &str, branch: &str, files: Vec<(&str, FileSpec)>) -> String {
        let files: Vec<(String, FileSpec)> =
            files.into_iter().map(|(p, f)| (p.to_string(), f)).collect();
        let mut repos = self.shared.lock_repos();
        let repo = repos.entry(repo_id.to_string()).or_default();
        let sha = repo.commit(repo_id, branch, files);
        let mut lfs = self.shared.lock_lfs();
        for f in repo.commits[&sha].files.values().filter(|f| f.lfs) {
            lfs.insert(f.sha256.clone(), f.clone());
        }
        sha
    }

    /// Points `tag` (or a branch) at an existing commit.
    pub fn tag(&self, repo_id: &str, tag: &str, commit: &str) {
        if let Some(repo) = self.shared.lock_repos().get_mut(repo_id) {
            repo.refs.insert(tag.to_string(), commit.to_string());
        }
    }

    /// Gates the repo: requests without `Authorization: Bearer {token}` get
    /// 401 `GatedRepo`, with another token 403 `GatedRepo`.
    pub fn gate(&self, repo_id: &str, token: &str) {
        if let Some(repo) = self.shared.lock_repos().get_mut(repo_id) {
            repo.token = Some(token.to_string());
        }
    }

    /// Makes `old_id` answer resolve requests with a same-origin 307 to
    /// `new_id` (a renamed repo).
    pub fn rename(&self, old_id: &str, new_id: &str) {
        self.shared
            .lock_aliases()
            .insert(old_id.to_string(), new_id.to_string());
    }

    /// Limits every response body to `bytes_per_sec` per connection (a
    /// CDN that caps each connection, where parallel ranges pay off);
    /// `None` lifts the limit.
    pub fn limit_connection_rate(&self, bytes_per_sec: Option<u64>) {
        let rate = bytes_per_sec.unwrap_or(0);
        self.shared.connection_rate.store(rate, Ordering::SeqCst);
    }

    /// Adds a fault rule; rules are tried in the order added.
    pub fn inject(&self, fault: Fault) {
        self.shared.lock_faults().push(fault);
    }

    /// Removes every fault rule not yet used up.
    pub fn clear_faults(&self) {
        self.shared.lock_faults().clear();
    }

    /// Every request answered so far, in order.
    pub fn requests(&self) -> Vec<RequestRecord> {
        let start = *lock(&self.shared.log_start);
        lock(&self.shared.log)[start..].to_vec()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        *lock(&self.shared.log_start) = lock(&self.shared.log).len();
    }

    /// Requests with this method whose path contains `needle`.
    pub fn count(&self, method: &str, needle: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.method == method && r.path.contains(needle))
            .count()
    }

    /// Body bytes sent for paths containing `needle`, all listeners.
    pub fn body_bytes(&self, needle: &str) -> u64 {
        self.requests()
            .iter()
            .filter(|r| r.path.contains(needle))
            .map(|r| r.body_bytes)
            .sum()
    }

    /// The CDN path an LFS file with this content is served at.
    pub fn cdn_path(spec: &FileSpec) -> String {
        format!("/lfs/{}", spec.sha256())
    }
}

/// True when python3 with the reference `huggingface_hub` client can run
/// here, for tests that check fidelity against it. Outside CI a missing
/// client skips such a test with a printed reason; under `CI=true` it
/// panics, so CI never passes without the check.
pub fn python_hub_available() -> bool {
    let ok = std::process::Command::new("python3")
        .args(["-c", "import huggingface_hub"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but python3 with huggingface_hub is missing: install it (pip install huggingface_hub)"
        );
        eprintln!(
            "SKIPPED: python3 with huggingface_hub is not installed (pip install huggingface_hub)"
        );
    }
    ok
}

impl Drop for Hub {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake both accept loops so they see the flag and exit.
        let _ = TcpStream::connect(self.hub_addr);
        let _ = TcpStream::connect(self.cdn_addr);
    }
}

fn spawn_listener(listener: TcpListener, which: Listener, shared: Arc<Shared>) {
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            if shared.stop.load(Ordering::SeqCst) {
                break;
            }
            let Ok(stream) = stream else { continue };
            let shared = shared.clone();
            std::thread::spawn(move || serve_connection(stream, which, &shared));
        }
    });
}

fn serve_connection(mut stream: TcpStream, which: Listener, shared: &Shared) {
    let _ = stream.set_nodelay(true);
    let Some(req) = http::read_request(&stream) else {
        return;
    };
    let resp = serve::handle(shared, which, &req);
    let record = RequestRecord {
        listener: which,
        method: req.method.clone(),
        path: percent_encoding::percent_decode_str(&req.raw_path)
            .decode_utf8_lossy()
            .into_owned(),
        range: req.header("range").map(str::to_string),
        authorization: req.header("authorization").map(str::to_string),
        status: resp.status,
        body_bytes: 0,
        started: Instant::now(),
        finished: None,
    };
    // Recorded before anything is written, so a client that has its answer
    // always finds the request in the log.
    let index = {
        let mut log = lock(&shared.log);
        log.push(record);
        log.len() - 1
    };
    let mut last_write = None;
    http::write_response(&mut stream, &resp, &mut |n| {
        if n > 0 {
            last_write = Some(Instant::now());
        }
        if let Some(r) = lock(&shared.log).get_mut(index) {
            r.body_bytes = r.body_bytes.saturating_add_signed(n);
        }
    });
    if let Some(r) = lock(&shared.log).get_mut(index) {
        r.finished = Some(last_write.unwrap_or_else(Instant::now));
    }
    let dropped = resp.drop_after.is_some_and(|n| n < resp.body_len());
    if !dropped {
        http::drain(&mut stream);
    }
}
