//! Shared set-up for the hf_* tests: a stand-in Hub, a temporary HF cache
//! and a fetcher pointed at both.
#![allow(dead_code)]

use hub_standin::{FileSpec, Hub};
use model_provisioner::hf::{HfConfig, HfFetcher, RetryPolicy};
use model_provisioner::{Digest, FetchContext, Fetched, Fetcher, ModelRef, ProvisionError};
use std::path::PathBuf;
use std::time::Duration;

pub struct Env {
    pub hub: Hub,
    pub cache: tempfile::TempDir,
    pub work: tempfile::TempDir,
    /// The commit `main` points at.
    pub commit: String,
}

/// Deterministic bytes that differ per seed.
pub fn data(len: usize, seed: u8) -> Vec<u8> {
    let mut x = 0x9e37_79b9u32 ^ seed as u32;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

pub const SIZE: usize = 3 * 1024 * 1024 + 17;

impl Env {
    /// A hub with `org/model` holding `model-Q4_K_M.gguf` (LFS, SIZE bytes)
    /// and `config.json` (plain) on `main`.
    pub fn new() -> Self {
        let hub = Hub::start().expect("stand-in hub starts");
        let commit = hub.commit(
            "org/model",
            "main",
            vec![
                ("model-Q4_K_M.gguf", FileSpec::lfs(data(SIZE, 1))),
                (
                    "config.json",
                    FileSpec::plain(b"{\"arch\":\"llama\"}".to_vec()),
                ),
            ],
        );
        Self {
            hub,
            cache: tempfile::tempdir().unwrap(),
            work: tempfile::tempdir().unwrap(),
            commit,
        }
    }

    pub fn weights(&self) -> Vec<u8> {
        data(SIZE, 1)
    }

    pub fn weights_spec(&self) -> FileSpec {
        FileSpec::lfs(self.weights())
    }

    pub fn cdn_path(&self) -> String {
        Hub::cdn_path(&self.weights_spec())
    }

    pub fn digest(&self) -> Digest {
        Digest::from_sha256_hex(&self.weights_spec().sha256()).unwrap()
    }

    pub fn config(&self) -> HfConfig {
        HfConfig::from_lookup(|_| None)
            .with_endpoint(&self.hub.endpoint())
            .with_cache_dir(self.cache.path())
            .with_retry(RetryPolicy::quick())
            .with_read_timeout(Duration::from_secs(5))
    }

    pub fn fetcher(&self) -> HfFetcher {
        HfFetcher::new(self.config())
    }

    pub fn ctx(&self) -> FetchContext {
        FetchContext::new(self.work.path())
    }

    pub fn fetch_with(
        &self,
        f: &HfFetcher,
        reference: &str,
        expected: Option<&Digest>,
    ) -> Result<Fetched, ProvisionError> {
        let model = ModelRef::parse(reference).expect("valid ref");
        f.fetch(&model, expected, &self.ctx())
    }

    pub fn fetch(&self, reference: &str) -> Result<Fetched, ProvisionError> {
        self.fetch_with(&self.fetcher(), reference, None)
    }

    pub fn repo_dir(&self) -> PathBuf {
        self.cache.path().join("models--org--model")
    }

    /// Files in blobs/ (complete or partial).
    pub fn blobs(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.repo_dir().join("blobs"))
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }

    pub fn cdn_gets(&self) -> usize {
        self.hub.count("GET", &self.cdn_path())
    }
}

/// A GGUF model a few MiB long (the tiny llama, then zero padding), for
/// tests that ensure through the whole lifecycle.
pub fn gguf_model(padding: usize) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tiny.gguf");
    model_provisioner::gguf::write_tiny_llama(&path, model_provisioner::gguf::TINY_LLAMA_SEED)
        .unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.resize(bytes.len() + padding, 0);
    bytes
}

/// The ref of the GGUF model [`Env::with_gguf`] commits.
pub const GGUF_REF: &str = "hf:org/tiny/tiny.gguf";

impl Env {
    /// [`Env::new`], plus `org/tiny` holding `tiny.gguf`, a GGUF model
    /// of about SIZE bytes (LFS).
    pub fn with_gguf() -> Self {
        let env = Self::new();
        env.hub.commit(
            "org/tiny",
            "main",
            vec![("tiny.gguf", FileSpec::lfs(gguf_model(SIZE)))],
        );
        env
    }

    /// The GGUF model's bytes.
    pub fn gguf(&self) -> Vec<u8> {
        gguf_model(SIZE)
    }

    /// GETs of the GGUF model's body at the CDN.
    pub fn gguf_gets(&self) -> usize {
        self.hub
            .count("GET", &Hub::cdn_path(&FileSpec::lfs(self.gguf())))
    }

    /// The GGUF model's sha256.
    pub fn gguf_digest(&self) -> Digest {
        Digest::from_sha256_hex(&FileSpec::lfs(self.gguf()).sha256()).unwrap()
    }
}
