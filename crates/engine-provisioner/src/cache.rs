//! The build cache: a stamp file beside the build dir saying which
//! (commit, CMake definitions, compilers) produced the binary there.
//!
//! The stamp is removed before a build starts and written (to a temporary
//! name, then renamed) only after the binary exists, so an interrupted
//! build never leaves a stamp behind. Checking it costs a few `stat`s and
//! no process.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

/// A file's identity without reading it: canonical path, size, mtime.
/// A compiler upgrade changes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileId {
    /// Canonical path (symlinks such as `cc` → `gcc-12` resolved).
    pub path: PathBuf,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, nanoseconds since the epoch.
    pub mtime_ns: u128,
}

impl FileId {
    /// Identify `path` (`None` when it cannot be read).
    pub fn of(path: &Path) -> Option<Self> {
        let path = std::fs::canonicalize(path).ok()?;
        let meta = std::fs::metadata(&path).ok()?;
        let mtime_ns = meta
            .modified()
            .ok()?
            .duration_since(UNIX_EPOCH)
            .ok()?
            .as_nanos();
        Some(Self {
            path,
            size: meta.len(),
            mtime_ns,
        })
    }
}

/// What the cache is keyed by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheKey {
    /// The source commit.
    pub commit: String,
    /// CMake generator name.
    pub generator: String,
    /// Every `-D` definition given to CMake (retry host compilers aside).
    pub defs: Vec<String>,
    /// The C, C++ (and nvcc) compilers CMake picks by default.
    pub compilers: Vec<FileId>,
}

/// The stamp's contents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    /// What produced the binary.
    pub key: CacheKey,
    /// Host compilers used by a CUDA retry (their identity is checked too).
    #[serde(default)]
    pub host_compilers: Vec<FileId>,
    /// The binary's identity when it was stamped.
    pub binary: FileId,
    /// Its sha256 (hex), so a cache hit does not re-hash 15 MB.
    pub binary_sha256: String,
    /// How long configure + build took, in milliseconds.
    pub build_ms: u64,
}

/// Read the stamp; `None` when absent or unreadable (a rebuild follows).
pub fn read(stamp_path: &Path) -> Option<Stamp> {
    let bytes = std::fs::read(stamp_path).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The stamp if it matches `key` and the binary is the one stamped.
pub fn hit(stamp_path: &Path, key: &CacheKey, binary: &Path) -> Option<Stamp> {
    let stamp = read(stamp_path)?;
    if &stamp.key != key || FileId::of(binary)? != stamp.binary {
        return None;
    }
    let hosts_unchanged = stamp
        .host_compilers
        .iter()
        .all(|id| FileId::of(&id.path).as_ref() == Some(id));
    hosts_unchanged.then_some(stamp)
}

/// Remove the stamp before a build (absent is fine).
pub fn invalidate(stamp_path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(stamp_path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Write the stamp atomically (temporary file, then rename).
pub fn write(stamp_path: &Path, stamp: &Stamp) -> std::io::Result<()> {
    let tmp = stamp_path.with_extension("stamp.tmp");
    let json = serde_json::to_vec_pretty(stamp).map_err(std::io::Error::other)?;
    std::fs::write(&tmp, json)?;
    std::fs::rename(&tmp, stamp_path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(commit: &str, defs: &[&str]) -> CacheKey {
        CacheKey {
            commit: commit.into(),
            generator: "Ninja".into(),
            defs: defs.iter().map(|s| s.to_string()).collect(),
            compilers: vec![],
        }
    }

    #[test]
    fn hit_needs_same_key_and_same_binary() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("llama-server");
        let stamp_path = dir.path().join("build.stamp");
        std::fs::write(&bin, b"binary").unwrap();
        let k = key("a", &["-DX=1"]);
        write(
            &stamp_path,
            &Stamp {
                key: k.clone(),
                host_compilers: vec![],
                binary: FileId::of(&bin).unwrap(),
                binary_sha256: "0".repeat(64),
                build_ms: 1,
            },
        )
        .unwrap();
        assert!(hit(&stamp_path, &k, &bin).is_some());
        assert!(hit(&stamp_path, &key("b", &["-DX=1"]), &bin).is_none());
        assert!(hit(&stamp_path, &key("a", &["-DX=2"]), &bin).is_none());
        std::fs::write(&bin, b"another binary").unwrap();
        assert!(hit(&stamp_path, &k, &bin).is_none());
        invalidate(&stamp_path).unwrap();
        assert!(read(&stamp_path).is_none());
        invalidate(&stamp_path).unwrap();
    }
}
