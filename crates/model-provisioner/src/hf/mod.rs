//! Hugging Face Hub downloads, native: `hf:org/repo[@rev]/file.gguf` and
//! `hf:org/repo[@rev]:QUANT` become files in the shared HF cache, resumable
//! across crashes, verified while streaming, with no Python.
//!
//! This module is the Hub protocol: metadata (HEAD, listing), selection
//! (quantization, shards), the cache layout and the `HF_*` configuration.
//! Moving the bytes is the download layer's job. The protocol and cache
//! layout follow the reference client exactly, so a file downloaded here
//! is found by `huggingface_hub` offline and the other way round.
//! [`HfFetcher`] plugs into the provisioner as a [`Fetcher`](crate::Fetcher)
//! for the `hf` scheme.

mod blob_check;
mod cache;
mod config;
mod fetcher;
mod file;
mod meta;
mod reach;
mod select;
mod shards;
pub(crate) mod shared_store;

pub use crate::download::{ParallelPolicy, RetryPolicy, StallPolicy};
pub use crate::hf_error::HfError;
pub(crate) use cache::is_commit_hash;
pub use config::{DEFAULT_ENDPOINT, HfConfig, HubSettings};
pub use fetcher::HfFetcher;
pub use reach::{Reach, reach};
