//! A transfer's inputs and outputs, shared by the one-stream and the
//! parallel paths: what to download ([`Request`]), what arrived
//! ([`Received`]) and what a verified transfer gives ([`Done`]).

use crate::digest::{Digest, Sha256Stream};
use crate::policy::ParallelPolicy;
use std::path::PathBuf;
use url::Url;

/// What to download and what it must turn out to be.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// Where the GET goes (redirects are followed).
    pub url: Url,
    /// A name for errors (a URL in public form, or the caller's name for
    /// the file).
    pub label: String,
    /// The partial file, kept across attempts and processes.
    pub partial: PathBuf,
    /// Where the verified file is renamed to.
    pub dest: PathBuf,
    /// Size promised by the server's metadata, when known.
    pub expected_size: Option<u64>,
    /// The sha256 the server advertised (an etag that is one), checked
    /// as well as the caller's.
    pub advertised: Option<Digest>,
    /// The caller's digest.
    pub expected: Option<&'a Digest>,
    /// When to split the file over several connections.
    pub parallel: ParallelPolicy,
}

/// A completed, verified transfer.
#[derive(Debug, Clone)]
pub struct Done {
    /// The sha256 of the file's bytes.
    pub digest: Digest,
    /// Bytes received over the network by this call.
    pub transferred: u64,
}

/// The partial's bytes once every one arrived, before verification.
#[derive(Debug)]
pub(crate) struct Received {
    /// The digest of the partial's bytes, in file order.
    pub hasher: Sha256Stream,
    /// Bytes the partial holds.
    pub have: u64,
    /// The size the server announced.
    pub total: Option<u64>,
    /// Bytes received over the network.
    pub transferred: u64,
    /// The most connections that carried them at once.
    pub connections: usize,
}
