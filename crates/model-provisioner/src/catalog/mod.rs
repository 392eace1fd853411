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

/// One provisioned model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogEntry {
    /// The normalized model ref id ([`ModelRef::id`](crate::ModelRef::id)).
    pub id: String,
    pub local_path: PathBuf,
    pub digest: Digest,
    pub size_bytes: u64,
    /// The file's fingerprint when `digest` was last computed, if it can be
    /// trusted to vouch for the bytes (see [`Fingerprint::trustworthy_at`]).
    pub fingerprint: Option<Fingerprint>,
    pub lifecycle: Lifecycle,
    /// Where the bytes came from.
    pub source_ref: String,
    pub gguf: Option<GgufSummary>,
    pub created_at_ms: u64,
    pub verified_at_ms: Option<u64>,
}

/// What [`CatalogStore::verify`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyOutcome {
    /// The file hashes to the recorded digest; the fingerprint was refreshed.
    Verified { bytes: u64 },
    /// The file's bytes changed: its fingerprint was cleared.
    Mismatch { actual: Digest },
    /// The file is gone or unreadable.
    Missing,
}

/// Storage for catalog entries. Implementations must be safe for
/// concurrent use from several threads and processes; `put` is an upsert
/// keyed by `id` that keeps the first `created_at_ms`.
pub trait CatalogStore: Send + Sync {
    /// The entry for `id`, if any.
    fn get(&self, id: &str) -> Result<Option<CatalogEntry>, CatalogError>;
    /// Insert or replace the entry with `entry.id`.
    fn put(&self, entry: &CatalogEntry) -> Result<(), CatalogError>;
    /// Every entry, ordered by id.
    fn list(&self) -> Result<Vec<CatalogEntry>, CatalogError>;
    /// Change an entry's lifecycle; [`CatalogError::NotFound`] when absent.
    fn set_state(&self, id: &str, state: Lifecycle) -> Result<(), CatalogError>;
    /// Delete an entry; `false` when there was none.
    fn remove(&self, id: &str) -> Result<bool, CatalogError>;

    /// Re-hash the entry's file and compare it with the recorded digest,
    /// refreshing the fingerprint on success and clearing it otherwise.
    fn verify(&self, id: &str) -> Result<VerifyOutcome, CatalogError> {
        let Some(mut entry) = self.get(id)? else {
            return Err(CatalogError::NotFound {
                path: PathBuf::new(),
                id: id.to_string(),
            });
        };
        let started = now_ns();
        let before = Fingerprint::of(&entry.local_path);
        let hashed = hash_file(&entry.local_path);
        let outcome = match (before, hashed) {
            (Ok(fp), Ok((digest, bytes))) if digest == entry.digest => {
                entry.fingerprint = fp.trustworthy_at(started).then_some(fp);
                entry.verified_at_ms = Some(crate::fingerprint::now_ms());
                VerifyOutcome::Verified { bytes }
            }
            (Ok(_), Ok((actual, _))) => {
                entry.fingerprint = None;
                VerifyOutcome::Mismatch { actual }
            }
            _ => {
                entry.fingerprint = None;
                VerifyOutcome::Missing
            }
        };
        self.put(&entry)?;
        Ok(outcome)
    }
}
