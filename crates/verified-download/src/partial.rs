//! The partial file of a transfer and the sha256 of what it holds. Opening
//! one hashes its bytes once, so the digest continues over a resume.

use crate::DownloadError;
use crate::digest::Sha256Stream;
use crate::transfer::Received;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// The partial file and the digest of what it holds.
pub(super) struct Partial {
    pub file: File,
    pub path: PathBuf,
    pub hasher: Sha256Stream,
    /// Bytes the file holds (and the hasher has seen).
    pub have: u64,
    /// Size learned from metadata or the first response.
    pub total: Option<u64>,
}

impl Partial {
    /// Opens (or creates) the partial and hashes what it already holds;
    /// one longer than `expected_size` cannot be a prefix and is emptied.
    pub fn open(path: &Path, expected_size: Option<u64>) -> Result<Self, DownloadError> {
        let io = |action| move |e| DownloadError::io(action, path, e);
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(path)
            .map_err(io("open"))?;
        let mut have = file.metadata().map_err(io("read"))?.len();
        let mut hasher = Sha256Stream::new();
        if expected_size.is_some_and(|s| have > s) {
            file.set_len(0).map_err(io("truncate"))?;
            have = 0;
        }
        if have > 0 {
            file.seek(SeekFrom::Start(0)).map_err(io("read"))?;
            hash_cancellable(&mut hasher, (&mut file).take(have)).map_err(|e| match e {
                Some(e) => io("read")(e),
                None => DownloadError::Cancelled,
            })?;
            if hasher.bytes() != have {
                return Err(io("read")(std::io::ErrorKind::UnexpectedEof.into()));
            }
        }
        file.seek(SeekFrom::Start(have)).map_err(io("seek"))?;
        Ok(Self {
            file,
            path: path.to_path_buf(),
            hasher,
            have,
            total: expected_size,
        })
    }

    /// What the partial holds, for verification.
    pub fn into_received(self, transferred: u64) -> Received {
        Received {
            hasher: self.hasher,
            have: self.have,
            total: self.total,
            transferred,
            connections: 1,
        }
    }

    /// Drops what the partial holds and starts from byte zero.
    pub fn restart(&mut self) -> Result<(), DownloadError> {
        let io = |e| DownloadError::io("truncate", &self.path, e);
        self.file.set_len(0).map_err(io)?;
        self.file.seek(SeekFrom::Start(0)).map_err(io)?;
        self.hasher = Sha256Stream::new();
        self.have = 0;
        Ok(())
    }
}

/// Hashes what `reader` holds, a buffer at a time, stopping as soon as the
/// thread's cancel token is cancelled (`Err(None)`): a partial of many
/// gigabytes takes seconds to re-hash.
fn hash_cancellable(
    hasher: &mut Sha256Stream,
    mut reader: impl Read,
) -> Result<(), Option<std::io::Error>> {
    let mut buf = vec![0u8; crate::digest::HASH_BUFFER_BYTES];
    loop {
        if crate::interrupt::cancelled() {
            return Err(None);
        }
        match reader.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Some(e)),
        }
    }
}
