//! What a download reports while it runs. The download layer does not
//! narrate: it hands these events to a callback, and the fetcher's
//! translator turns them into narrations.

use std::time::Duration;

/// One step of a request or transfer, as it happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event<'a> {
    /// A transfer begins (or resumes from `resumed_from` bytes): before
    /// the first GET when metadata gave the size, else once the first
    /// answer is accepted, before its body streams.
    Started {
        /// Where the GET goes, public form.
        url: &'a str,
        /// Bytes already in the partial file.
        resumed_from: u64,
        /// The size promised by metadata or by the first answer's
        /// `Content-Length` (`Content-Range` total on a 206), when known.
        total: Option<u64>,
    },
    /// Bytes reached the partial file, or time passed while a transfer
    /// runs (at least every quarter second, even when no byte arrived).
    Progress {
        /// Bytes the partial now holds.
        have: u64,
        /// The expected size, when known.
        total: Option<u64>,
        /// Bytes received over the network by this transfer so far.
        transferred: u64,
        /// Connections carrying the transfer now.
        connections: usize,
    },
    /// An attempt failed transiently; the next starts after `delay`.
    Retrying {
        /// The attempt that failed (1-based).
        attempt: u32,
        /// Attempts allowed in all.
        max: u32,
        /// The wait before the next attempt.
        delay: Duration,
        /// Why the attempt failed (never a header value).
        reason: &'a str,
    },
    /// Another process holds the file's lock (it is downloading the same
    /// file); this one waits for it.
    LockWait {
        /// The lock file.
        path: &'a std::path::Path,
        /// The holder's pid, when known.
        holder_pid: Option<u32>,
    },
    /// The transfer completed and was verified.
    Finished {
        /// Bytes received over the network by this transfer.
        transferred: u64,
        /// Time from the start, the partial's re-hash included.
        elapsed: Duration,
        /// Bytes the partial held when the transfer began.
        resumed_from: u64,
        /// The most connections that carried it at once.
        connections: usize,
        /// The file's size (every byte of it is in place).
        size: u64,
    },
}

/// The callback events go to.
pub type Events<'e> = &'e dyn Fn(Event<'_>);
