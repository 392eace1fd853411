//! The sha256 of a parallel transfer, computed in file order while the
//! chunks arrive: a thread reads back the finished prefix of the partial
//! (from the page cache) as it grows, so little is left to hash after the
//! last byte. Bytes below the frontier it is given are final: no piece
//! writes there again.

use crate::digest::{HASH_BUFFER_BYTES, Sha256Stream};
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::Receiver;

/// Hashes `file` on from where `hasher` stands up to each frontier
/// received, until the sender is dropped; `hashed` tells how far it got.
/// Once `stop` is set it returns after the buffer in hand (the transfer
/// was cancelled or failed: its digest is not needed).
pub(super) fn hash_prefix(
    file: &File,
    mut hasher: Sha256Stream,
    frontiers: Receiver<u64>,
    hashed: &AtomicU64,
    stop: &AtomicBool,
) -> io::Result<Sha256Stream> {
    let mut buf = vec![0u8; HASH_BUFFER_BYTES];
    while let Ok(mut frontier) = frontiers.recv() {
        frontier = frontiers.try_iter().fold(frontier, u64::max);
        while hasher.bytes() < frontier && !stop.load(Ordering::Acquire) {
            let at = hasher.bytes();
            let want = (frontier - at).min(buf.len() as u64) as usize;
            file.read_exact_at(&mut buf[..want], at)?;
            hasher.update(&buf[..want]);
            hashed.store(hasher.bytes(), Ordering::Relaxed);
        }
    }
    Ok(hasher)
}
