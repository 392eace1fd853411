//! Content digests (`sha256:<64 lowercase hex>`) and streaming sha256.
//!
//! Hashing reads through a 1 MiB buffer: small reads cost more in syscalls
//! than the hash itself once `sha2` uses the CPU's SHA extensions (it picks
//! them at run time). Fetchers hash bytes as they arrive with
//! [`Sha256Stream`], so a download is verified without a second pass.

use crate::cancel::Cancel;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};
use std::fmt;
use std::io::{self, Read};
use std::path::Path;
use std::str::FromStr;

/// Size of the read buffer used by [`hash_reader`] and [`hash_file`].
pub const HASH_BUFFER_BYTES: usize = 1 << 20;

/// A sha256 content digest, written `sha256:<64 lowercase hex>`.
///
/// ```
/// use verified_download::Digest;
/// let d: Digest = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
///     .parse()
///     .unwrap();
/// assert_eq!(d, verified_download::sha256_bytes(b""));
/// assert!("md5:d41d8cd98f00b204e9800998ecf8427e".parse::<Digest>().is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    bytes: [u8; 32],
}

/// Why a digest string was refused. Each variant keeps the input for the
/// caller, but its message does not repeat it: a refused digest may be
/// something else pasted by mistake, such as a token.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    /// No `sha256:` prefix.
    #[error("the digest has no algorithm prefix: write it as sha256:<64 lowercase hex>")]
    MissingAlgorithm {
        /// The digest as given.
        input: String,
    },
    /// An algorithm other than sha256.
    #[error("the digest uses algorithm {algorithm:?}; only sha256 is supported")]
    UnsupportedAlgorithm {
        /// The digest as given.
        input: String,
        /// The algorithm named.
        algorithm: String,
    },
    /// Not 64 hex characters.
    #[error("the digest has {len} hex characters; sha256 needs exactly 64")]
    WrongLength {
        /// The digest as given.
        input: String,
        /// How many characters it has.
        len: usize,
    },
    /// A character that is not hex.
    #[error("the digest has {found:?} at hex position {position}; only 0-9 and a-f are allowed")]
    NotHex {
        /// The digest as given.
        input: String,
        /// Where.
        position: usize,
        /// The character found.
        found: char,
    },
    /// Upper-case hex (refused so that one digest has one spelling).
    #[error("the digest has upper-case hex; write it in lower case")]
    UpperCase {
        /// The digest as given.
        input: String,
    },
}

impl Digest {
    /// The digest of raw sha256 output bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self { bytes }
    }

    /// Parse bare 64-character lowercase hex (no `sha256:` prefix), as found
    /// in an LFS etag.
    pub fn from_sha256_hex(hex_text: &str) -> Result<Self, DigestError> {
        parse_hex(hex_text, hex_text)
    }

    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.bytes
    }

    /// The 64 lowercase hex characters, without the `sha256:` prefix.
    pub fn hex(&self) -> String {
        hex::encode(self.bytes)
    }

    /// A short form for human text: `sha256:` and the first 12 hex digits.
    pub fn short(&self) -> String {
        let mut h = self.hex();
        h.truncate(12);
        format!("sha256:{h}")
    }
}

fn parse_hex(input: &str, hex_text: &str) -> Result<Digest, DigestError> {
    let len = hex_text.chars().count();
    for (position, c) in hex_text.chars().enumerate() {
        if c.is_ascii_hexdigit() {
            if c.is_ascii_uppercase() {
                return Err(DigestError::UpperCase {
                    input: input.to_string(),
                });
            }
        } else {
            return Err(DigestError::NotHex {
                input: input.to_string(),
                position,
                found: c,
            });
        }
    }
    if len != 64 {
        return Err(DigestError::WrongLength {
            input: input.to_string(),
            len,
        });
    }
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(hex_text, &mut bytes).map_err(|_| DigestError::WrongLength {
        input: input.to_string(),
        len,
    })?;
    Ok(Digest { bytes })
}

impl FromStr for Digest {
    type Err = DigestError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let Some((algorithm, hex_text)) = input.split_once(':') else {
            return Err(DigestError::MissingAlgorithm {
                input: input.to_string(),
            });
        };
        if algorithm != "sha256" {
            return Err(DigestError::UnsupportedAlgorithm {
                input: input.to_string(),
                algorithm: algorithm.to_string(),
            });
        }
        parse_hex(input, hex_text)
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({self})")
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Incremental sha256 over a stream of chunks, counting bytes: feed it as
/// data arrives, then [`finish`](Sha256Stream::finish).
///
/// ```
/// use verified_download::{sha256_bytes, Sha256Stream};
/// let mut s = Sha256Stream::new();
/// s.update(b"hello ");
/// s.update(b"world");
/// assert_eq!(s.bytes(), 11);
/// assert_eq!(s.finish(), sha256_bytes(b"hello world"));
/// ```
#[derive(Clone, Default)]
pub struct Sha256Stream {
    hasher: Sha256,
    bytes: u64,
}

impl fmt::Debug for Sha256Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sha256Stream")
            .field("bytes", &self.bytes)
            .finish()
    }
}

impl Sha256Stream {
    /// An empty stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Hash the next chunk.
    pub fn update(&mut self, chunk: &[u8]) {
        self.hasher.update(chunk);
        self.bytes += chunk.len() as u64;
    }

    /// Bytes hashed so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The digest of everything fed in.
    pub fn finish(self) -> Digest {
        Digest::from_bytes(self.hasher.finalize().into())
    }

    /// Feed the whole of `reader` through a [`HASH_BUFFER_BYTES`] buffer.
    /// Used to continue a digest over a partial file before resuming.
    pub fn update_from_reader<R: Read>(&mut self, mut reader: R) -> io::Result<u64> {
        let mut buf = vec![0u8; HASH_BUFFER_BYTES];
        let mut total = 0u64;
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => return Ok(total),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            self.update(&buf[..n]);
            total += n as u64;
        }
    }
}

/// The sha256 of a byte slice.
pub fn sha256_bytes(data: &[u8]) -> Digest {
    let mut s = Sha256Stream::new();
    s.update(data);
    s.finish()
}

/// The sha256 of everything `reader` yields, and how many bytes that was.
pub fn hash_reader<R: Read>(reader: R) -> io::Result<(Digest, u64)> {
    let mut s = Sha256Stream::new();
    let n = s.update_from_reader(reader)?;
    Ok((s.finish(), n))
}

/// The sha256 of a file's contents, and its length in bytes.
pub fn hash_file(path: &Path) -> io::Result<(Digest, u64)> {
    hash_reader(std::fs::File::open(path)?)
}

/// Why [`hash_file_until`] stopped before the end of the file.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// The file could not be opened or read.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// The caller cancelled through its [`Cancel`] token.
    #[error("hashing was cancelled")]
    Cancelled,
}

/// [`hash_file`] for work an orchestrator may stop: `cancel` is checked
/// before each [`HASH_BUFFER_BYTES`] chunk, so a many-GB file stops being
/// read within one chunk of the cancel, and `on_progress` hears the bytes
/// hashed so far after each chunk (a progress bar for a long hash).
///
/// ```
/// use verified_download::{Cancel, HashError, hash_file_until, sha256_bytes};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("f");
/// std::fs::write(&path, b"abc")?;
/// let mut seen = Vec::new();
/// let (digest, n) = hash_file_until(&path, &Cancel::new(), &mut |done| seen.push(done))?;
/// assert_eq!((digest, n), (sha256_bytes(b"abc"), 3));
/// assert_eq!(seen, [3]);
///
/// let cancel = Cancel::new();
/// cancel.cancel();
/// let stopped = hash_file_until(&path, &cancel, &mut |_| {});
/// assert!(matches!(stopped, Err(HashError::Cancelled)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn hash_file_until(
    path: &Path,
    cancel: &Cancel,
    on_progress: &mut dyn FnMut(u64),
) -> Result<(Digest, u64), HashError> {
    let mut file = std::fs::File::open(path)?;
    let mut s = Sha256Stream::new();
    let mut buf = vec![0u8; HASH_BUFFER_BYTES];
    loop {
        cancel.check().map_err(|_| HashError::Cancelled)?;
        let n = match file.read(&mut buf) {
            Ok(0) => {
                let bytes = s.bytes();
                return Ok((s.finish(), bytes));
            }
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        s.update(&buf[..n]);
        on_progress(s.bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn parses_and_displays_round_trip() {
        let text = format!("sha256:{EMPTY}");
        let d: Digest = text.parse().unwrap();
        assert_eq!(d.to_string(), text);
        assert_eq!(d.hex(), EMPTY);
        assert_eq!(d.short(), "sha256:e3b0c44298fc");
    }

    #[test]
    fn rejects_other_algorithms_by_name() {
        let err = "md5:abc".parse::<Digest>().unwrap_err();
        assert!(
            matches!(err, DigestError::UnsupportedAlgorithm { ref algorithm, .. } if algorithm == "md5")
        );
        assert!(err.to_string().contains("\"md5\""), "{err}");
    }

    #[test]
    fn messages_never_repeat_the_refused_value() {
        // Someone pasting a token where a digest goes must not see it
        // echoed into logs.
        for input in [
            "pasted-secret-value",
            "sha256:pasted-secret-value",
            "sha256:PASTEDSECRETVALUE",
        ] {
            let err = input.parse::<Digest>().unwrap_err();
            let message = err.to_string();
            assert!(!message.to_lowercase().contains("pasted"), "{message}");
        }
    }

    #[test]
    fn rejects_missing_prefix_wrong_length_non_hex_and_upper_case() {
        assert!(matches!(
            EMPTY.parse::<Digest>(),
            Err(DigestError::MissingAlgorithm { .. })
        ));
        assert!(matches!(
            "sha256:abcd".parse::<Digest>(),
            Err(DigestError::WrongLength { len: 4, .. })
        ));
        let bad = format!("sha256:{}z", &EMPTY[..63]);
        assert!(matches!(
            bad.parse::<Digest>(),
            Err(DigestError::NotHex {
                position: 63,
                found: 'z',
                ..
            })
        ));
        let upper = format!("sha256:{}", EMPTY.to_uppercase());
        assert!(matches!(
            upper.parse::<Digest>(),
            Err(DigestError::UpperCase { .. })
        ));
        assert!(matches!(
            "sha256:".parse::<Digest>(),
            Err(DigestError::WrongLength { len: 0, .. })
        ));
        // A multi-byte character must be reported, never sliced through.
        assert!(matches!(
            "sha256:é".parse::<Digest>(),
            Err(DigestError::NotHex { found: 'é', .. })
        ));
    }

    #[test]
    fn hashes_known_vectors_across_buffer_boundaries() {
        assert_eq!(sha256_bytes(b"").hex(), EMPTY);
        assert_eq!(
            sha256_bytes(b"abc").hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let data: Vec<u8> = (0..(HASH_BUFFER_BYTES * 2 + 17))
            .map(|i| (i % 251) as u8)
            .collect();
        let (d, n) = hash_reader(&data[..]).unwrap();
        assert_eq!(n, data.len() as u64);
        assert_eq!(d, sha256_bytes(&data));
    }

    #[test]
    fn serde_uses_the_text_form_and_validates() {
        let d = sha256_bytes(b"x");
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(json, format!("\"{d}\""));
        assert_eq!(serde_json::from_str::<Digest>(&json).unwrap(), d);
        assert!(serde_json::from_str::<Digest>("\"sha1:00\"").is_err());
    }
}
