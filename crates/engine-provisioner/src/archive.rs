//! Safe unpacking of release archives (`.tar.gz`, `.zip`), told apart by
//! their first bytes, not their name (a CDN path need not end in
//! `.tar.gz`).
//!
//! An archive comes from the network, so every entry is distrusted: a
//! name must stay inside the target (no `..`, no absolute path, no Windows
//! drive or backslash form); a symlink or hardlink must point at
//! something inside the tree; devices, fifos and sockets are refused; the
//! number of entries, the bytes unpacked and each entry's compression
//! ratio are bounded (a zip bomb stops at the cap, not at a full disk).
//! Links are made last, after every file, so no file is ever written
//! through a link, and each link's parents are checked to be real folders.
//! A refused archive says which entry and why; the caller removes the
//! half-made folder, so nothing is installed.

use model_provisioner::Cancel;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Bounds on what an archive may unpack to. The defaults fit llama.cpp
/// releases (tens of files, a few hundred MiB for CUDA builds) with a wide
/// margin; tests set small ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArchiveLimits {
    /// Most bytes all entries may unpack to (default 4 GiB).
    pub max_total_bytes: u64,
    /// Most entries (files, folders, links; default 10 000).
    pub max_entries: u64,
    /// Most unpacked bytes per compressed byte: per entry in a zip, over
    /// the stream so far in a `.tar.gz` (default 200; binaries compress
    /// about 3:1, a bomb 1000:1 and more).
    pub max_ratio: u64,
}

impl Default for ArchiveLimits {
    fn default() -> Self {
        Self {
            max_total_bytes: 4 << 30,
            max_entries: 10_000,
            max_ratio: 200,
        }
    }
}

/// Compressed bytes below which a `.tar.gz`'s ratio is not judged (the
/// decoder reads ahead, and tar headers of small files compress well).
const RATIO_FLOOR: u64 = 4 << 10;

/// Why an archive was refused (or could not be unpacked).
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// An entry would land, or point, outside the target, or is a kind of
    /// file an engine install has no use for.
    #[error("entry {entry} {why}")]
    Unsafe {
        /// The entry's name, escaped and cut to 200 characters.
        entry: String,
        /// What is wrong with it.
        why: String,
    },
    /// A bound of [`ArchiveLimits`] was passed.
    #[error("{what} passes the limit of {limit} (a zip bomb, or the wrong file)")]
    TooLarge {
        /// What was counted (`unpacked bytes`, `entries`, `compression ratio of entry …`).
        what: String,
        /// The limit.
        limit: u64,
    },
    /// Not a `.tar.gz` or `.zip`, or a corrupt one.
    #[error("not a readable .tar.gz or .zip archive: {detail}")]
    NotAnArchive {
        /// What the reader said.
        detail: String,
    },
    /// No `llama-server` where expected, or several.
    #[error("{detail}")]
    NoBinary {
        /// What was found, and what to set.
        detail: String,
    },
    /// The target could not be written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The caller cancelled.
    #[error("cancelled")]
    Cancelled,
}

impl ArchiveError {
    /// The `error_kind` narrated: `unsafe-archive`, `archive-too-large`,
    /// `not-an-archive`, `no-binary`, `cache-io` or `cancelled`.
    pub fn kind_str(&self) -> &'static str {
        match self {
            ArchiveError::Unsafe { .. } => "unsafe-archive",
            ArchiveError::TooLarge { .. } => "archive-too-large",
            ArchiveError::NotAnArchive { .. } => "not-an-archive",
            ArchiveError::NoBinary { .. } => "no-binary",
            ArchiveError::Io { .. } => "cache-io",
            ArchiveError::Cancelled => "cancelled",
        }
    }
}

/// What an archive unpacked to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unpacked {
    /// Bytes written.
    pub bytes: u64,
    /// Entries seen.
    pub entries: u64,
}

/// Unpack `archive` into the empty folder `into`, within `limits`;
/// `on_bytes` hears the bytes unpacked so far. On error the folder may
/// hold part of the archive: the caller removes it.
pub(crate) fn unpack(
    archive: &Path,
    into: &Path,
    limits: &ArchiveLimits,
    cancel: &Cancel,
    on_bytes: &dyn Fn(u64),
) -> Result<Unpacked, ArchiveError> {
    let mut magic = [0u8; 4];
    let mut file = File::open(archive).map_err(|source| ArchiveError::Io {
        path: archive.to_path_buf(),
        source,
    })?;
    let n = read_up_to(&mut file, &mut magic).map_err(|e| not_archive(&e))?;
    let root = fs::canonicalize(into).map_err(|source| ArchiveError::Io {
        path: into.to_path_buf(),
        source,
    })?;
    let mut out = Unpacker {
        root,
        limits,
        cancel,
        on_bytes,
        entries: 0,
        bytes: 0,
        links: Vec::new(),
    };
    match &magic[..n] {
        [0x1f, 0x8b, ..] => out.tar_gz(archive)?,
        [b'P', b'K', 3, 4] | [b'P', b'K', 5, 6] => out.zip(archive)?,
        _ => {
            return Err(ArchiveError::NotAnArchive {
                detail: "it starts with neither the gzip nor the zip signature".into(),
            });
        }
    }
    out.make_links()?;
    Ok(Unpacked {
        bytes: out.bytes,
        entries: out.entries,
    })
}

fn read_up_to(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

fn not_archive(e: &dyn std::fmt::Display) -> ArchiveError {
    ArchiveError::NotAnArchive {
        detail: e.to_string(),
    }
}

/// An entry's name for messages: escaped, at most 200 characters.
fn shown(raw: &[u8]) -> String {
    let text: String = String::from_utf8_lossy(raw).escape_debug().collect();
    if text.chars().count() > 200 {
        format!("\"{}…\"", text.chars().take(200).collect::<String>())
    } else {
        format!("\"{text}\"")
    }
}

fn unsafe_entry(raw: &[u8], why: impl Into<String>) -> ArchiveError {
    ArchiveError::Unsafe {
        entry: shown(raw),
        why: why.into(),
    }
}

/// The relative path an entry's name stands for, or why it is refused.
/// `.` parts and empty parts (`a//b`, a trailing `/`) are dropped; an
/// empty result is the root itself.
pub(crate) fn safe_path(raw: &[u8]) -> Result<PathBuf, String> {
    let Ok(name) = std::str::from_utf8(raw) else {
        return Err("has a name that is not UTF-8".into());
    };
    if name.contains('\0') {
        return Err("has a NUL in its name".into());
    }
    if name.contains('\\') {
        return Err("uses a backslash (a Windows path): names use `/`".into());
    }
    if name.starts_with('/') {
        return Err("is an absolute path: it would land outside the install".into());
    }
    let b = name.as_bytes();
    if b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':' {
        return Err("names a Windows drive: it would land outside the install".into());
    }
    let mut path = PathBuf::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err("climbs out with `..`: it would land outside the install".into()),
            p => path.push(p),
        }
    }
    Ok(path)
}

/// Whether a link at `link` (relative) pointing at `target` stays inside
/// the tree, read lexically; the real path is checked again once every
/// link exists.
fn link_target_inside(link: &Path, target: &str) -> Result<PathBuf, String> {
    if target.is_empty() || target.contains('\0') {
        return Err("is a link to nothing".into());
    }
    if target.contains('\\') {
        return Err("is a link with a backslash (a Windows path)".into());
    }
    if target.starts_with('/') {
        return Err(format!(
            "is a link to the absolute path {}: it points outside the install",
            target.escape_debug()
        ));
    }
    let mut depth = link.components().count().saturating_sub(1) as i64;
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => depth -= 1,
            _ => depth += 1,
        }
        if depth < 0 {
            return Err(format!(
                "is a link to {}: it points outside the install",
                target.escape_debug()
            ));
        }
    }
    Ok(PathBuf::from(target))
}

/// Counts the compressed bytes a decoder has read.
struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

struct Unpacker<'a> {
    root: PathBuf,
    limits: &'a ArchiveLimits,
    cancel: &'a Cancel,
    on_bytes: &'a dyn Fn(u64),
    entries: u64,
    bytes: u64,
    /// Symlinks, made once every file is written: (link, target, raw name).
    links: Vec<(PathBuf, PathBuf, Vec<u8>)>,
}

impl Unpacker<'_> {
    fn tar_gz(&mut self, archive: &Path) -> Result<(), ArchiveError> {
        let file = File::open(archive).map_err(|source| ArchiveError::Io {
            path: archive.to_path_buf(),
            source,
        })?;
        let compressed = Arc::new(AtomicU64::new(0));
        let counting = Counting {
            inner: io::BufReader::new(file),
            read: compressed.clone(),
        };
        let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(counting));
        let entries = tar.entries().map_err(|e| not_archive(&e))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| not_archive(&e))?;
            let raw = entry.path_bytes().into_owned();
            let kind = entry.header().entry_type();
            if kind == tar::EntryType::XGlobalHeader {
                continue;
            }
            self.count(&raw)?;
            let rel = safe_path(&raw).map_err(|why| unsafe_entry(&raw, why))?;
            match kind {
                tar::EntryType::Directory => self.dir(&raw, &rel)?,
                tar::EntryType::Regular | tar::EntryType::Continuous => {
                    let mode = entry.header().mode().unwrap_or(0o644);
                    let declared = entry.size();
                    self.file(&raw, &rel, &mut entry, mode, declared)?;
                    self.check_stream_ratio(compressed.load(Ordering::Relaxed))?;
                }
                tar::EntryType::Symlink => {
                    let target = entry
                        .link_name_bytes()
                        .map(|t| t.into_owned())
                        .unwrap_or_default();
                    self.symlink(&raw, rel, &target)?;
                }
                tar::EntryType::Link => {
                    let target = entry
                        .link_name_bytes()
                        .map(|t| t.into_owned())
                        .unwrap_or_default();
                    self.hardlink(&raw, &rel, &target)?;
                }
                tar::EntryType::Char | tar::EntryType::Block | tar::EntryType::Fifo => {
                    return Err(unsafe_entry(
                        &raw,
                        "is a device file or fifo: an engine install has none",
                    ));
                }
                other => {
                    return Err(unsafe_entry(
                        &raw,
                        format!("is a tar entry of type {other:?}, which is not unpacked"),
                    ));
                }
            }
        }
        Ok(())
    }

    fn zip(&mut self, archive: &Path) -> Result<(), ArchiveError> {
        let file = File::open(archive).map_err(|source| ArchiveError::Io {
            path: archive.to_path_buf(),
            source,
        })?;
        let mut zip =
            zip::ZipArchive::new(io::BufReader::new(file)).map_err(|e| not_archive(&e))?;
        for i in 0..zip.len() {
            let mut entry = zip.by_index(i).map_err(|e| not_archive(&e))?;
            let raw = entry.name_raw().to_vec();
            self.count(&raw)?;
            let rel = safe_path(&raw).map_err(|why| unsafe_entry(&raw, why))?;
            let mode = entry.unix_mode();
            let file_type = mode.map(|m| m & libc::S_IFMT);
            if matches!(
                file_type,
                Some(libc::S_IFCHR | libc::S_IFBLK | libc::S_IFIFO | libc::S_IFSOCK)
            ) {
                return Err(unsafe_entry(
                    &raw,
                    "is a device file, fifo or socket: an engine install has none",
                ));
            }
            if entry.is_dir() {
                self.dir(&raw, &rel)?;
            } else if entry.is_symlink() {
                let mut target = Vec::new();
                (&mut entry)
                    .take(4097)
                    .read_to_end(&mut target)
                    .map_err(|e| not_archive(&e))?;
                if target.len() > 4096 {
                    return Err(unsafe_entry(&raw, "is a link with a target over 4 KiB"));
                }
                self.symlink(&raw, rel, &target)?;
            } else {
                let declared = entry.size();
                let ratio = declared / entry.compressed_size().max(1);
                if ratio > self.limits.max_ratio {
                    return Err(ArchiveError::TooLarge {
                        what: format!("the compression ratio of entry {} ({ratio}:1)", shown(&raw)),
                        limit: self.limits.max_ratio,
                    });
                }
                self.file(&raw, &rel, &mut entry, mode.unwrap_or(0o644), declared)?;
            }
        }
        Ok(())
    }

    fn count(&mut self, raw: &[u8]) -> Result<(), ArchiveError> {
        if self.cancel.is_cancelled() {
            return Err(ArchiveError::Cancelled);
        }
        self.entries += 1;
        if self.entries > self.limits.max_entries {
            return Err(ArchiveError::TooLarge {
                what: format!("the number of entries (at {})", shown(raw)),
                limit: self.limits.max_entries,
            });
        }
        Ok(())
    }

    fn check_stream_ratio(&self, compressed: u64) -> Result<(), ArchiveError> {
        let judged = compressed.max(RATIO_FLOOR);
        if self.bytes / judged > self.limits.max_ratio {
            return Err(ArchiveError::TooLarge {
                what: format!(
                    "the compression ratio ({} bytes from {compressed})",
                    self.bytes
                ),
                limit: self.limits.max_ratio,
            });
        }
        Ok(())
    }

    fn io(&self, path: &Path, source: io::Error) -> ArchiveError {
        ArchiveError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    fn dir(&mut self, _raw: &[u8], rel: &Path) -> Result<(), ArchiveError> {
        let path = self.root.join(rel);
        fs::create_dir_all(&path).map_err(|e| self.io(&path, e))
    }

    /// A regular file, written through no link (none exist yet), never
    /// over another entry, with at most its declared size and the
    /// remaining budget.
    fn file(
        &mut self,
        raw: &[u8],
        rel: &Path,
        from: &mut dyn Read,
        mode: u32,
        declared: u64,
    ) -> Result<(), ArchiveError> {
        if rel.as_os_str().is_empty() {
            return Err(unsafe_entry(raw, "is a file without a name"));
        }
        let budget = self.limits.max_total_bytes.saturating_sub(self.bytes);
        if declared > budget {
            return Err(self.too_large());
        }
        let path = self.root.join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| self.io(parent, e))?;
        }
        // rwx for the owner, r-x for others at most: no setuid, no
        // world-writable files in a shared install.
        let mut out = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode((mode & 0o755) | 0o600)
            .open(&path)
            .map_err(|e| {
                if e.kind() == io::ErrorKind::AlreadyExists {
                    unsafe_entry(raw, "appears twice (or names a folder)")
                } else {
                    self.io(&path, e)
                }
            })?;
        let mut buf = vec![0u8; 256 << 10];
        let mut written = 0u64;
        loop {
            if self.cancel.is_cancelled() {
                return Err(ArchiveError::Cancelled);
            }
            let n = from.read(&mut buf).map_err(|e| not_archive(&e))?;
            if n == 0 {
                break;
            }
            written += n as u64;
            if written > declared || written > budget {
                return Err(if written > budget {
                    self.too_large()
                } else {
                    unsafe_entry(raw, "holds more bytes than its header says")
                });
            }
            out.write_all(&buf[..n]).map_err(|e| self.io(&path, e))?;
            (self.on_bytes)(self.bytes + written);
        }
        self.bytes += written;
        Ok(())
    }

    fn too_large(&self) -> ArchiveError {
        ArchiveError::TooLarge {
            what: "the unpacked size".into(),
            limit: self.limits.max_total_bytes,
        }
    }

    fn symlink(&mut self, raw: &[u8], rel: PathBuf, target: &[u8]) -> Result<(), ArchiveError> {
        if rel.as_os_str().is_empty() {
            return Err(unsafe_entry(raw, "is a link without a name"));
        }
        let Ok(target) = std::str::from_utf8(target) else {
            return Err(unsafe_entry(raw, "is a link whose target is not UTF-8"));
        };
        let target = link_target_inside(&rel, target).map_err(|why| unsafe_entry(raw, why))?;
        self.links.push((rel, target, raw.to_vec()));
        Ok(())
    }

    /// A hardlink to a regular file already unpacked (never to a link or
    /// anything outside).
    fn hardlink(&mut self, raw: &[u8], rel: &Path, target: &[u8]) -> Result<(), ArchiveError> {
        let target_rel = safe_path(target)
            .map_err(|why| unsafe_entry(raw, format!("is a hardlink whose target {why}")))?;
        let source = self.root.join(&target_rel);
        let is_file = fs::symlink_metadata(&source).is_ok_and(|m| m.file_type().is_file());
        if target_rel.as_os_str().is_empty() || !is_file {
            return Err(unsafe_entry(
                raw,
                "is a hardlink to something that is not a file unpacked before it",
            ));
        }
        let path = self.root.join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| self.io(parent, e))?;
        }
        fs::hard_link(&source, &path).map_err(|e| self.io(&path, e))
    }

    /// Every symlink, once the files are there; then each must resolve to
    /// something inside the tree.
    fn make_links(&mut self) -> Result<(), ArchiveError> {
        let links = std::mem::take(&mut self.links);
        for (rel, target, raw) in &links {
            self.real_parents(rel, raw)?;
            let path = self.root.join(rel);
            std::os::unix::fs::symlink(target, &path).map_err(|e| {
                if e.kind() == io::ErrorKind::AlreadyExists {
                    unsafe_entry(raw, "appears twice (or names a folder)")
                } else {
                    self.io(&path, e)
                }
            })?;
        }
        for (rel, _, raw) in &links {
            match fs::canonicalize(self.root.join(rel)) {
                Ok(real) if real.starts_with(&self.root) => {}
                Ok(_) => {
                    return Err(unsafe_entry(
                        raw,
                        "is a link that resolves outside the install",
                    ));
                }
                Err(_) => {
                    return Err(unsafe_entry(raw, "is a link to nothing in the archive"));
                }
            }
        }
        Ok(())
    }

    /// Create `rel`'s parent folders, refusing any that is a link (a link
    /// made through another link could land anywhere).
    fn real_parents(&self, rel: &Path, raw: &[u8]) -> Result<(), ArchiveError> {
        let mut path = self.root.clone();
        let parts: Vec<Component<'_>> = rel.components().collect();
        for part in parts.iter().take(parts.len().saturating_sub(1)) {
            path.push(part);
            match fs::symlink_metadata(&path) {
                Ok(m) if m.file_type().is_dir() => {}
                Ok(_) => {
                    return Err(unsafe_entry(
                        raw,
                        "is a link placed inside another link or a file",
                    ));
                }
                Err(_) => fs::create_dir(&path).map_err(|e| self.io(&path, e))?,
            }
        }
        Ok(())
    }
}

/// The unpacked `llama-server`: `configured` (relative, checked when the
/// pool was loaded), else the one entry named `llama-server`. Returned
/// relative to `root`.
pub(crate) fn find_binary(root: &Path, configured: Option<&Path>) -> Result<PathBuf, ArchiveError> {
    if let Some(rel) = configured {
        let path = root.join(rel);
        let inside = fs::canonicalize(&path)
            .ok()
            .zip(fs::canonicalize(root).ok())
            .is_some_and(|(real, root)| real.starts_with(root) && real.is_file());
        if !inside {
            return Err(ArchiveError::NoBinary {
                detail: format!(
                    "`provisioning.binary.binary` {} is not a file in the archive",
                    rel.display()
                ),
            });
        }
        return Ok(rel.to_path_buf());
    }
    let mut found = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(dir) = stack.pop() {
        let read = fs::read_dir(root.join(&dir)).map_err(|source| ArchiveError::Io {
            path: root.join(&dir),
            source,
        })?;
        for entry in read.flatten() {
            let rel = dir.join(entry.file_name());
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                stack.push(rel);
            } else if entry.file_name() == "llama-server" {
                found.push(rel);
            }
        }
    }
    found.sort();
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(ArchiveError::NoBinary {
            detail: "the archive holds no file named llama-server; set `provisioning.binary.binary` to its path inside the archive, or use a llama.cpp release archive".into(),
        }),
        _ => Err(ArchiveError::NoBinary {
            detail: format!(
                "the archive holds several files named llama-server ({}); set `provisioning.binary.binary` to the one to use",
                found
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_outside_the_target_are_refused() {
        for bad in [
            "../x",
            "a/../../x",
            "/etc/passwd",
            "C:/x",
            "c:x",
            "a\\..\\x",
            "..",
        ] {
            assert!(safe_path(bad.as_bytes()).is_err(), "{bad}");
        }
        assert_eq!(safe_path(b"./a//b/").unwrap(), PathBuf::from("a/b"));
        assert_eq!(safe_path(b"./").unwrap(), PathBuf::new());
    }

    #[test]
    fn link_targets_are_read_from_the_link_folder() {
        let ok = |l: &str, t: &str| link_target_inside(Path::new(l), t).is_ok();
        assert!(ok("lib/libfoo.so", "libfoo.so.0"));
        assert!(ok("bin/llama-server", "../lib/llama-server.real"));
        assert!(!ok("libfoo.so", "../x"));
        assert!(!ok("a/b", "../../x"));
        assert!(!ok("a", "/etc/passwd"));
    }
}
