//! The download layer: everything about moving bytes over HTTP that is not
//! the Hugging Face protocol. The Hub and HTTPS fetchers both build on it.
//!
//! - [`client`]: the ureq agent, timeouts, redirects followed by hand
//!   (token to its origin only, cross-origin 3xx returned for metadata,
//!   https → http refused).
//! - [`retry`]: [`RetryPolicy`] and the one retry loop, for metadata
//!   requests and transfers alike, honouring `Retry-After`.
//! - [`transfer`]: resumable, verified transfers (Range/resume, sha256 in
//!   flight through [`pipeline`], checks before the rename).
//! - [`parallel`]: large files over several ranged connections
//!   ([`piece`] per connection, [`prefix_hash`] hashing in file order,
//!   [`parts`] recording finished ranges for resume), as
//!   [`ParallelPolicy`] says.
//! - [`proxy`]: which proxy a request goes through (curl's rules).
//! - [`lock`]: the cross-process lock per file.
//! - [`interrupt`]: reads that notice a cancel, and body reads that hand
//!   the thread back while the socket is silent; [`stall`]: when a body
//!   that still trickles counts as stopped; [`space`]: free space checked
//!   before bytes are fetched.
//!
//! Nothing here narrates. Progress is reported as [`Event`]s to a
//! callback; failures are returned as [`DownloadError`].

mod absolute;
mod client;
mod error;
mod event;
pub(crate) mod interrupt;
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
mod retry;
mod space;
mod split;
mod stall;
mod transfer;

pub use error::DownloadError;
pub use policy::{CONNECTIONS_ENV, ParallelPolicy};
pub use proxy::{NoProxy, ProxyError, ProxySettings, ProxyUrl};
pub use retry::RetryPolicy;
pub use stall::StallPolicy;

pub(crate) use client::{
    Answer, Client, ClientSettings, Follow, Upload, is_loopback, parse_url, redirect_target,
    status_error,
};
pub(crate) use event::{Event, Events};
pub(crate) use lock::lock;
pub(crate) use retry::{Failure, retrying, transient};
pub(crate) use transfer::{Request, download};
