//! Shared helpers for the workspace-level reliability tests: a stand-in Hub
//! with a large model, and `provision` child processes pointed at it.

use hub_standin::{FileSpec, Hub, Listener, RequestRecord};
use model_provisioner::gguf;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A valid GGUF (the tiny llama) followed by a `pad` tensor of about
/// `pad_bytes` of seeded noise, so a download takes measurable time and a
/// completed file still reads as GGUF.
pub fn big_gguf(pad_bytes: usize, seed: u64) -> Vec<u8> {
    let mut writer = gguf::tiny_llama_writer(seed).expect("tiny llama writer");
    let words = pad_bytes / 4;
    let mut state = seed | 1;
    let data = (0..words)
        .flat_map(|_| {
            // xorshift64: fast, seeded, incompressible enough.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            ((state as u32) & 0x3f7f_ffff).to_le_bytes()
        })
        .collect();
    writer
        .add_tensor_raw("pad", &[words as u64], 0, data)
        .expect("pad tensor");
    let mut out = Vec::new();
    writer.write_to(&mut out).expect("write gguf");
    out
}

/// [`big_gguf`] of exactly `size` bytes (the pad tensor takes the rest),
/// for tests that need a file right at a size threshold.
pub fn gguf_of_size(size: usize, seed: u64) -> Vec<u8> {
    // The header and the tiny model around a 4-byte pad are fixed in size.
    let overhead = big_gguf(4, seed).len() - 4;
    let content = big_gguf(size - overhead, seed);
    assert_eq!(
        content.len(),
        size,
        "the GGUF pad did not land on {size} bytes"
    );
    content
}

/// A stand-in Hub serving `org/big` with `big.gguf` (LFS, so its etag is
/// the sha256 and the body comes from the CDN listener).
pub fn hub_with(repo: &str, file: &str, content: Vec<u8>) -> (Hub, String) {
    let hub = Hub::start().expect("stand-in hub starts");
    let spec = FileSpec::lfs(content);
    let sha = spec.sha256();
    hub.commit(repo, "main", vec![(file, spec)]);
    (hub, sha)
}

/// Directories one provisioning run uses: HF cache, catalog, HOME.
pub struct Dirs {
    pub root: tempfile::TempDir,
}

impl Dirs {
    pub fn new() -> Self {
        Self {
            root: tempfile::tempdir().expect("tempdir"),
        }
    }
    pub fn cache(&self) -> PathBuf {
        self.root.path().join("hf-cache")
    }
    pub fn catalog(&self) -> PathBuf {
        self.root.path().join("data").join("catalog.sqlite")
    }
    pub fn home(&self) -> PathBuf {
        self.root.path().join("home")
    }
}

/// `provision --log-format json model REF` against `endpoint`, with a clean
/// environment (no token, not offline) and JSON narration on stderr.
pub fn provision_model(dirs: &Dirs, endpoint: &str, model_ref: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_provision"));
    cmd.args(["--log-format", "json", "model", model_ref, "--cache-dir"])
        .arg(dirs.cache())
        .arg("--catalog")
        .arg(dirs.catalog())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dirs.home())
        .env("HF_ENDPOINT", endpoint)
        .env("RUST_LOG", "narration=info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Every file under `dir`, recursively (symlinks are not followed).
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() && !path.is_symlink() {
                stack.push(path);
            } else {
                found.push(path);
            }
        }
    }
    found
}

/// Every `*.incomplete` file under `dir`.
pub fn incomplete_files(dir: &Path) -> Vec<PathBuf> {
    files_under(dir)
        .into_iter()
        .filter(|p| p.to_string_lossy().contains(".incomplete"))
        .collect()
}

/// Size of the first partial download under `dir`, 0 when none.
pub fn partial_len(dir: &Path) -> u64 {
    incomplete_files(dir)
        .first()
        .and_then(|p| std::fs::metadata(p).ok())
        .map_or(0, |m| m.len())
}

/// A tiny seeded generator, so kill points are random but repeatable.
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    /// Uniform in `lo..hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo).max(1)
    }
}

/// The CDN's GET requests (the blob transfers) since the log was last
/// cleared, in order.
pub fn cdn_gets(hub: &Hub) -> Vec<RequestRecord> {
    hub.requests()
        .into_iter()
        .filter(|r| r.listener == Listener::Cdn && r.method == "GET")
        .collect()
}

/// The bytes of the file a GET actually carried, `[start, end)`: from the
/// start of its `Range` (0 without one), as many as the server wrote.
pub fn sent_span(r: &RequestRecord) -> (u64, u64) {
    let start = match r.range.as_deref() {
        None => 0,
        Some(range) => range
            .strip_prefix("bytes=")
            .and_then(|spec| spec.split('-').next())
            .and_then(|first| first.parse().ok())
            .unwrap_or_else(|| panic!("unexpected Range header {range:?}")),
    };
    (start, start + r.body_bytes)
}

/// True when the `Range` names both ends (`bytes=A-B`): a piece, not the
/// rest of the file.
pub fn is_bounded_range(r: &RequestRecord) -> bool {
    r.range
        .as_deref()
        .and_then(|range| range.strip_prefix("bytes="))
        .and_then(|spec| spec.split_once('-'))
        .is_some_and(|(from, to)| from.parse::<u64>().is_ok() && to.parse::<u64>().is_ok())
}
