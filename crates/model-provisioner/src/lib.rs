//! Model provisioning: model refs to verified local GGUF files.
//!
//! Parse a reference with [`ModelRef::parse`], fetch it through a
//! [`Fetcher`] (local files here; Hugging Face and HTTPS plug in through
//! the same trait), verify its sha256 ([`Digest`]), and record it.
//! [`cache_scan`] tells what the model cache holds.

#[cfg(feature = "tokio")]
pub mod blocking;
pub mod cache_scan;
mod cancel;
pub mod catalog;
mod digest;
mod download;
mod error;
mod error_kind;
mod fetch;
pub mod file_lock;
mod fingerprint;
pub use gguf_file as gguf;
mod handoff;
pub mod hf;
pub mod https;
pub mod locations;
mod model_ref;
pub mod oci;
mod progress;
mod provisioner;
mod resolved;
mod settings;
mod transfer_events;
pub mod units;

pub use cancel::{Cancel, Cancelled};
pub use catalog::{
    CatalogEntry, CatalogStore, Lifecycle, OciRecord, Origin, SqliteCatalog, VerifyOutcome,
};
pub use digest::{
    Digest, DigestError, HASH_BUFFER_BYTES, HashError, Sha256Stream, hash_file, hash_file_until,
    hash_reader, sha256_bytes,
};
pub use download::{CONNECTIONS_ENV, DownloadError, ParallelPolicy, RetryPolicy, StallPolicy};
pub use download::{NoProxy, ProxyError, ProxySettings, ProxyUrl};
pub use error::{BoxError, CatalogError, ProvisionError};
pub use error_kind::ErrorKind;
pub use fetch::{FetchContext, Fetched, Fetcher, FileFetcher, Vouched};
pub use fingerprint::{Fingerprint, RACY_WINDOW_NS, settle};
pub use handoff::{
    HANDOFF_VERSION, Handoff, ProvenanceRecord, append_provenance, read_handoff, read_provenance,
    write_handoff,
};
pub use locations::Locations;
pub use model_ref::{ModelRef, RefError};
pub use narration_core::public_url;
pub use progress::{
    PROGRESS_INTERVAL, Progress, ProgressObserver, ProgressReporter, ProgressStep, ProgressUnit,
};
pub use provisioner::{
    KeptFile, ModelProvisioner, ProvisionerBuilder, PrunePolicy, PruneReport, Pruned, Removal,
};
pub use resolved::{EnsureOptions, ResolvedModel, Verification};
pub use settings::Settings;
