//! What the Hub's etag promises about a blob, checked against its bytes.
//!
//! An LFS file's etag is its sha256 and a plain git file's etag is its git
//! blob id, `sha1("blob <len>\0" + bytes)`; in the HF cache layout it is
//! also the blob's file name. No reference client checks a cached blob
//! against it, so a blob another tool (or a person) changed would be
//! served, and its new digest recorded as the right one. This fetcher
//! checks every blob before serving it, unless the catalog vouches for the
//! very file by its fingerprint.

use crate::digest::{Digest, Sha256Stream};
use sha1::{Digest as _, Sha1};
use std::io::{self, Read};
use std::path::Path;

/// What an etag promises about the bytes of the blob it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Promise {
    /// An LFS file: the etag is its sha256.
    Sha256(Digest),
    /// A plain git file: the etag is its git blob id.
    GitBlob([u8; 20]),
}

impl Promise {
    /// The promise `etag` makes: 64 hex digits are a sha256, 40 a git
    /// blob id; anything else promises nothing this client can check.
    pub fn of(etag: &str) -> Option<Self> {
        let lower = etag.to_ascii_lowercase();
        match lower.len() {
            64 => Digest::from_sha256_hex(&lower).ok().map(Self::Sha256),
            40 => {
                let mut id = [0u8; 20];
                hex::decode_to_slice(&lower, &mut id).ok()?;
                Some(Self::GitBlob(id))
            }
            _ => None,
        }
    }

    /// The sha256 promised, for an LFS file.
    pub fn sha256(self) -> Option<Digest> {
        match self {
            Self::Sha256(d) => Some(d),
            Self::GitBlob(_) => None,
        }
    }
}

/// A blob hashed once, against its promise.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Checked {
    /// The sha256 of the bytes read.
    pub sha256: Digest,
    /// Whether the bytes are what the etag promises.
    pub kept: bool,
    /// The git blob id of the bytes, when that was the promise.
    pub git_blob: Option<[u8; 20]>,
}

impl Checked {
    /// The bytes' own name in the promise's terms (sha256 or git blob
    /// id, hex), for an error that says what was found.
    pub fn found(&self) -> String {
        match self.git_blob {
            Some(id) => hex::encode(id),
            None => self.sha256.hex(),
        }
    }
}

/// Reads `path` once and hashes it in the promise's terms (sha256 always,
/// since the catalog records it; the git blob id too for a plain file).
pub(crate) fn check(path: &Path, promise: Promise) -> io::Result<Checked> {
    let mut file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    let mut sha256 = Sha256Stream::new();
    let mut git = matches!(promise, Promise::GitBlob(_)).then(|| {
        let mut h = Sha1::new();
        h.update(format!("blob {len}\0").as_bytes());
        h
    });
    let mut buf = vec![0u8; 1 << 20];
    let mut read = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        read += n as u64;
        sha256.update(&buf[..n]);
        if let Some(h) = git.as_mut() {
            h.update(&buf[..n]);
        }
    }
    let sha256 = sha256.finish();
    let git_blob = git.map(|h| <[u8; 20]>::from(h.finalize()));
    let kept = match promise {
        Promise::Sha256(want) => sha256 == want,
        // A length that moved while reading makes the header a lie.
        Promise::GitBlob(want) => read == len && git_blob == Some(want),
    };
    Ok(Checked {
        sha256,
        kept,
        git_blob,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_file_is_checked_by_its_git_blob_id() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"hello\n").unwrap();
        // `git hash-object` of "hello\n".
        let promise = Promise::of("ce013625030ba8dba906f756967f9e9ca394464a").unwrap();
        assert!(check(&path, promise).unwrap().kept);
        std::fs::write(&path, b"hellO\n").unwrap();
        let bad = check(&path, promise).unwrap();
        assert!(!bad.kept);
        assert_eq!(bad.found().len(), 40);
    }

    #[test]
    fn an_lfs_file_is_checked_by_its_sha256() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"abc").unwrap();
        let sha = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        let promise = Promise::of(&sha.to_ascii_uppercase()).unwrap();
        assert!(check(&path, promise).unwrap().kept);
        std::fs::write(&path, b"abd").unwrap();
        assert!(!check(&path, promise).unwrap().kept);
        assert!(Promise::of("not-an-etag").is_none());
    }
}
