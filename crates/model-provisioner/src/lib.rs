//! Model provisioning: model refs to verified local GGUF files.
//!
//! Parse a reference with [`ModelRef::parse`], fetch it through a
//! [`Fetcher`] (local files here; Hugging Face and HTTPS plug in through
//! the same trait), verify its sha256 ([`Digest`]), and record it.
//! [`cache_scan`] tells what the model cache holds.

// The download layer and the pieces it shares with this crate (cancel,
// digests, locks, progress, error kinds) live in `verified-download`;
// these names keep this crate's paths to them.
use verified_download as download;
use verified_download::{cancel, digest, error_kind, fingerprint, progress};

pub mod actions;
#[cfg(feature = "tokio")]
pub mod blocking;
pub mod cache_scan;
pub mod catalog;
mod error;
mod fetch;
pub use gguf_file as gguf;
mod handoff;
pub mod hf;
mod hf_error;
pub mod https;
pub mod locations;
mod model_ref;
pub mod oci;
mod oci_error;
mod provisioner;
mod resolved;
mod settings;
mod step;
mod transfer_events;

pub use catalog::{
    CatalogEntry, CatalogStore, Lifecycle, OciRecord, Origin, SqliteCatalog, VerifyOutcome,
};
pub use error::{BoxError, CatalogError, ProvisionError};
pub use fetch::{FetchContext, Fetched, Fetcher, FileFetcher, Vouched};
pub use handoff::{
    HANDOFF_VERSION, Handoff, ProvenanceRecord, append_provenance, read_handoff, read_provenance,
    write_handoff,
};
pub use locations::Locations;
pub use model_ref::{ModelRef, RefError};
pub use narration_core::public_url;
pub use provisioner::{
    KeptFile, ModelProvisioner, ProvisionerBuilder, PrunePolicy, PruneReport, Pruned, Removal,
};
pub use resolved::{EnsureOptions, ResolvedModel, Verification};
pub use settings::Settings;
pub use verified_download::ErrorKind;
pub use verified_download::{
    CA_BUNDLE_VARS, CONNECTIONS_ENV, CaBundle, DownloadError, NoProxy, ParallelPolicy, ProxyError,
    ProxySettings, ProxyUrl, RetryPolicy, StallPolicy,
};
pub use verified_download::{Cancel, Cancelled};
pub use verified_download::{
    Digest, DigestError, HASH_BUFFER_BYTES, HashError, Sha256Stream, hash_file, hash_file_until,
    hash_reader, sha256_bytes,
};
pub use verified_download::{Fingerprint, RACY_WINDOW_NS, settle};
pub use verified_download::{
    PROGRESS_INTERVAL, Progress, ProgressObserver, ProgressReporter, ProgressStep, ProgressUnit,
};
pub use verified_download::{file_lock, units};
