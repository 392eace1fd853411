//! The model catalog: what has been provisioned, where it is, and the
//! proof it was verified.
//!
//! [`CatalogStore`] is the interface; [`SqliteCatalog`] keeps it in one
//! SQLite file in WAL mode, safe for several processes at once.

mod sqlite;

pub use sqlite::{SCHEMA_VERSION, SqliteCatalog};

use crate::digest::{Digest, hash_file};
use crate::error::CatalogError;
use crate::fingerprint::{Fingerprint, now_ns};
use crate::gguf::GgufSummary;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Whether a catalog entry is in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lifecycle {
    /// Available to pools.
    Active,
    /// Kept for the record; not to be handed to new pools.
    Retired,
}

impl Lifecycle {
    /// The stored name: `active` or `retired`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Retired => "retired",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "retired" => Some(Self::Retired),
            _ => None,
        }
    }
}

/// Where a catalog entry's file came from, which decides what removing it
/// may delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// The reference named the file directly (a path or `file:`): it is the
    /// user's, never deleted.
    Local,
    /// A snapshot link in the Hugging Face cache, to a blob that other
    /// snapshots may share.
    HubCache,
    /// A file a fetcher downloaded into the provisioner's cache.
    Download,
}

impl Origin {
    /// The origin of files fetched for `model`.
    pub fn of(model: &crate::ModelRef) -> Self {
        match model {
            crate::ModelRef::File { .. } => Self::Local,
            crate::ModelRef::Hf { .. } => Self::HubCache,
            crate::ModelRef::Https { .. }
            | crate::ModelRef::Http { .. }
            | crate::ModelRef::Oci { .. } => Self::Download,
        }
    }

    /// The stored name: `local`, `hub-cache` or `download`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::HubCache => "hub-cache",
            Self::Download => "download",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "local" => Some(Self::Local),
            "hub-cache" => Some(Self::HubCache),
            "download" => Some(Self::Download),
            _ => None,
        }
    }
}

/// One provisioned model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogEntry {
    /// The normalized model ref id ([`ModelRef::id`](crate::ModelRef::id)).
    pub id: String,
    /// The verified file (for the Hub, its snapshot link).
    pub local_path: PathBuf,
    /// Its sha256.
    pub digest: Digest,
    /// Its size.
    pub size_bytes: u64,
    /// The file's fingerprint when `digest` was last computed, if it can be
    /// trusted to vouch for the bytes (see [`Fingerprint::trustworthy_at`]).
    pub fingerprint: Option<Fingerprint>,
    /// Whether pools may be handed this model.
    pub lifecycle: Lifecycle,
    /// Where the file came from (decides what removal may delete).
    pub origin: Origin,
    /// Where the bytes came from: the local path, the URL without
    /// credentials, or `hf:org/repo@commit/file`.
    pub source: String,
    /// What its GGUF header says.
    pub gguf: Option<GgufSummary>,
    /// When the entry was first written (ms since the Unix epoch).
    pub created_at_ms: u64,
    /// When its digest was last established (ms since the Unix epoch).
    pub verified_at_ms: Option<u64>,
    /// Never removed by cache pruning (`provision catalog pin`).
    #[serde(default)]
    pub pinned: bool,
    /// When an ensure last handed this model out (ms since the Unix
    /// epoch); cache pruning removes the least recently used first.
    #[serde(default)]
    pub last_used_at_ms: Option<u64>,
    /// For a model pulled from an OCI registry: where from, and the exact
    /// manifest and layers it was pinned to (`None` for other sources, and
    /// for rows written before the catalog kept it until their next
    /// ensure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oci: Option<OciRecord>,
}

/// What an OCI pull was pinned to, so a fleet can tell which artifact
/// (and which blobs) each node holds without asking the registry again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OciRecord {
    /// The registry host (and port), lower-cased: `ghcr.io`, `127.0.0.1:5000`.
    pub registry: String,
    /// The repository path: `ai/smollm2`.
    pub repository: String,
    /// The tag the ref named, if it named one.
    pub tag: Option<String>,
    /// The manifest the pull was pinned to: `sha256:<64 hex>`.
    pub manifest_digest: String,
    /// Every layer digest of that manifest, in manifest order.
    pub layers: Vec<String>,
}

/// What [`CatalogStore::verify`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyOutcome {
    /// The file hashes to the recorded digest; the fingerprint was refreshed.
    Verified {
        /// Bytes hashed.
        bytes: u64,
    },
    /// The file's bytes changed: its fingerprint was cleared.
    Mismatch {
        /// What the file hashes to now.
        actual: Digest,
    },
    /// The file is gone or unreadable.
    Missing,
}

/// Storage for catalog entries. Implementations must be safe for
/// concurrent use from several threads and processes; `put` is an upsert
/// keyed by `id` that keeps the first `created_at_ms`, the lifecycle and
/// the pin, and the latest `last_used_at_ms`.
pub trait CatalogStore: Send + Sync {
    /// The entry for `id`, if any.
    fn get(&self, id: &str) -> Result<Option<CatalogEntry>, CatalogError>;
    /// Insert the entry, or update the one with `entry.id`, keeping its
    /// `created_at_ms`, its lifecycle (a retired entry stays retired) and
    /// its pin; `last_used_at_ms` is only replaced by a value.
    fn put(&self, entry: &CatalogEntry) -> Result<(), CatalogError>;
    /// Every entry, ordered by id.
    fn list(&self) -> Result<Vec<CatalogEntry>, CatalogError>;
    /// Change an entry's lifecycle; [`CatalogError::NotFound`] when absent.
    fn set_state(&self, id: &str, state: Lifecycle) -> Result<(), CatalogError>;
    /// Delete an entry; `false` when there was none.
    fn remove(&self, id: &str) -> Result<bool, CatalogError>;

    /// Record the result of re-verifying `id`: its fingerprint (`None`
    /// when the bytes no longer vouch for the digest) and, on success, the
    /// time. Only these columns change, so a concurrent retire or register
    /// is never undone.
    fn set_verified(
        &self,
        id: &str,
        fingerprint: Option<Fingerprint>,
        verified_at_ms: Option<u64>,
    ) -> Result<(), CatalogError>;

    /// Pin (or unpin) `id`: a pinned entry is never pruned. Only this
    /// column changes; [`CatalogError::NotFound`] when absent.
    fn set_pinned(&self, id: &str, pinned: bool) -> Result<(), CatalogError>;

    /// Record that `id` was handed out at `used_at_ms` (a later time
    /// already recorded is kept). Only this column changes;
    /// [`CatalogError::NotFound`] when absent.
    fn touch(&self, id: &str, used_at_ms: u64) -> Result<(), CatalogError>;

    /// Re-hash the entry's file and compare it with the recorded digest,
    /// refreshing the fingerprint on success and clearing it otherwise.
    fn verify(&self, id: &str) -> Result<VerifyOutcome, CatalogError> {
        let Some(entry) = self.get(id)? else {
            return Err(CatalogError::NotFound {
                path: PathBuf::new(),
                id: id.to_string(),
            });
        };
        let started = now_ns();
        let before = Fingerprint::of(&entry.local_path);
        let hashed = hash_file(&entry.local_path);
        let (outcome, fingerprint, at) = match (before, hashed) {
            (Ok(fp), Ok((digest, bytes))) if digest == entry.digest => (
                VerifyOutcome::Verified { bytes },
                fp.trustworthy_at(started).then_some(fp),
                Some(crate::fingerprint::now_ms()),
            ),
            (Ok(_), Ok((actual, _))) => (VerifyOutcome::Mismatch { actual }, None, None),
            _ => (VerifyOutcome::Missing, None, None),
        };
        self.set_verified(id, fingerprint, at)?;
        Ok(outcome)
    }
}
