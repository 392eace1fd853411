//! When a download is split over several connections, and how.

/// How large files are fetched over parallel ranged connections.
///
/// When the server honours `Range` (a `206` whose `Content-Range` matches)
/// and the file is at least [`min_size`](Self::min_size), it may be
/// fetched in [`chunk_size`](Self::chunk_size) pieces over up to
/// [`connections`](Self::connections) connections at once; otherwise it
/// comes in one stream. `connections: 1` turns splitting off. With
/// [`stream_first`](Self::stream_first) (the default) the file starts as
/// one stream and is split only once that stream proves slower than the
/// sha256 can follow: on a link where one stream outruns the hash, more
/// connections would only take CPU from it.
///
/// ```
/// use verified_download::ParallelPolicy;
/// let env = |k: &str| (k == "PROVISION_DOWNLOAD_CONNECTIONS").then(|| "4".to_string());
/// assert_eq!(ParallelPolicy::from_lookup(env).connections, 4);
/// assert_eq!(ParallelPolicy::default().connections, 8);
/// assert_eq!(ParallelPolicy::single().connections, 1);
/// assert!(ParallelPolicy::default().stream_first);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParallelPolicy {
    /// Connections at once for one file (1: a single stream).
    pub connections: usize,
    /// Files smaller than this come in one stream.
    pub min_size: u64,
    /// Bytes per ranged request (the unit of resume and retry).
    pub chunk_size: u64,
    /// Start with one stream and split when the network, not the hash,
    /// sets its pace; `false` splits from the first byte (a link known to
    /// cap each connection).
    pub stream_first: bool,
}

/// The environment variable that sets [`ParallelPolicy::connections`].
pub const CONNECTIONS_ENV: &str = "PROVISION_DOWNLOAD_CONNECTIONS";

impl Default for ParallelPolicy {
    fn default() -> Self {
        Self {
            connections: 8,
            min_size: 64 << 20,
            chunk_size: 16 << 20,
            stream_first: true,
        }
    }
}

impl ParallelPolicy {
    /// One stream for every file.
    pub fn single() -> Self {
        Self {
            connections: 1,
            ..Self::default()
        }
    }

    /// The defaults, with `connections` from `PROVISION_DOWNLOAD_CONNECTIONS`
    /// when set to a positive number.
    pub fn from_env() -> Self {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// The defaults, with `connections` read through `var`.
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Self {
        let connections = var(CONNECTIONS_ENV)
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|&n| n > 0);
        Self {
            connections: connections.unwrap_or(Self::default().connections),
            ..Self::default()
        }
    }

    /// True when a file of `size` (unknown: `None`) may be split.
    pub(crate) fn applies(&self, size: Option<u64>) -> bool {
        self.connections > 1
            && match size {
                Some(size) => size >= self.min_size,
                // A stream learns the size from its first answer, and is
                // split only if that size is large enough.
                None => self.stream_first,
            }
    }

    /// The chunk size, never zero.
    pub(crate) fn chunk(&self) -> u64 {
        self.chunk_size.max(1)
    }
}
