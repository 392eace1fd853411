//! Resumable, verified HTTP downloads: a file at a URL becomes a file on
//! disk whose sha256 and size are known, or a typed error that says why
//! not. Nothing here knows what the bytes are (a model, an engine
//! archive): the crates built on it add their own protocol and words.
//!
//! The one-call API is [`Download`]: url, destination, the expected
//! sha256 and size when known, credentials, policies, proxies, a
//! [`Cancel`] token and a progress callback, returning the verified
//! [`Downloaded`] file. Interrupted transfers keep `{dest}.part` (and
//! `{dest}.part.parts` for parallel pieces) and resume from it in this
//! process or the next; a cross-process lock (`{dest}.lock`) makes
//! concurrent callers download once.
//!
//! ```
//! use verified_download::{Download, sha256_bytes};
//! use std::io::{BufRead, BufReader, Write};
//! use std::net::TcpListener;
//!
//! // A one-shot loopback server (plain http is allowed to loopback only).
//! let listener = TcpListener::bind("127.0.0.1:0")?;
//! let url = format!("http://{}/llama-b1.tar.gz", listener.local_addr()?);
//! let body = b"not really an archive";
//! std::thread::spawn(move || {
//!     let (stream, _) = listener.accept().unwrap();
//!     let mut reader = BufReader::new(stream.try_clone().unwrap());
//!     let mut line = String::new();
//!     while reader.read_line(&mut line).unwrap() > 2 { line.clear(); }
//!     let mut out = stream;
//!     write!(out, "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len()).unwrap();
//!     out.write_all(body).unwrap();
//! });
//!
//! let dir = tempfile::tempdir()?;
//! let dest = dir.path().join("llama-b1.tar.gz");
//! let done = Download::new(&url, &dest)
//!     .sha256(sha256_bytes(body))
//!     .on_progress(|p| eprintln!("{} of {:?}", p.done, p.total))
//!     .run()?;
//! assert_eq!(done.size, body.len() as u64);
//! assert_eq!(std::fs::read(&dest)?, body);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The layers below it are public for protocol crates (the Hugging Face
//! and OCI fetchers) that need more than a GET:
//!
//! - [`client`](Client): the ureq agent, timeouts, redirects followed by
//!   hand (a token to its origin only, cross-origin 3xx returned for
//!   metadata, https → http refused).
//! - [`retrying`]: [`RetryPolicy`] and the one retry loop, for metadata
//!   requests and transfers alike, honouring `Retry-After`.
//! - [`download()`]: resumable, verified transfers (Range/resume, sha256
//!   in flight, checks before the rename), large files over several
//!   ranged connections as [`ParallelPolicy`] says.
//! - [`proxy`]: which proxy a request goes through (curl's rules);
//!   [`trust`]: a [`CaBundle`] trusted instead of the built-in roots.
//! - [`lock()`]: the cross-process lock per file ([`file_lock`]).
//! - [`interrupt`]: reads that notice a [`Cancel`]; [`StallPolicy`]: when
//!   a body that still trickles counts as stopped; free space is checked
//!   before bytes are fetched.
//! - [`Digest`] and the streaming sha256, [`Fingerprint`] (vouching for a
//!   verified file without re-hashing it), [`Progress`] and
//!   [`ErrorKind`], shared by every crate that reports to an
//!   orchestrator.
//!
//! Nothing here narrates. Progress is reported as [`Event`]s to a
//! callback (or as [`Progress`] to a [`ProgressReporter`]); failures are
//! returned as [`DownloadError`], whose messages carry URLs in their
//! public form ([`public_url`]) and never a header value or token.

mod absolute;
mod client;
mod error;
mod event;
pub mod interrupt;
mod job;
mod lock;
mod parallel;
mod partial;
mod parts;
mod piece;
mod pipeline;
mod policy;
mod prefix_hash;
pub mod proxy;
mod ranges;
mod request;
mod retry;
mod space;
mod split;
mod stall;
mod stream;
mod transfer;
pub mod trust;

pub use error::DownloadError;
pub use policy::{CONNECTIONS_ENV, ParallelPolicy};
pub use proxy::{NoProxy, ProxyError, ProxySettings, ProxyUrl};
pub use retry::RetryPolicy;
pub use stall::StallPolicy;
pub use trust::{CA_BUNDLE_VARS, CaBundle};

pub use client::{
    Answer, ByteRange, Client, ClientSettings, Follow, Upload, is_loopback, parse_url,
    redirect_target, status_error,
};
pub use event::{Event, Events};
pub use job::{Done, Request};
pub use lock::lock;
pub use request::{Download, Downloaded, report as report_progress};
pub use retry::{Failure, retrying, transient};
pub use transfer::download;

pub mod cancel;
pub mod digest;
pub mod error_kind;
pub mod file_lock;
pub mod fingerprint;
pub mod progress;
pub mod units;

pub use cancel::{Cancel, Cancelled};
pub use digest::{
    Digest, DigestError, HASH_BUFFER_BYTES, HashError, Sha256Stream, hash_file, hash_file_until,
    hash_reader, sha256_bytes,
};
pub use error_kind::ErrorKind;
pub use fingerprint::{Fingerprint, RACY_WINDOW_NS, settle};
pub use narration_core::public_url;
pub use progress::{
    PROGRESS_INTERVAL, Progress, ProgressObserver, ProgressReporter, ProgressStep, ProgressUnit,
};
