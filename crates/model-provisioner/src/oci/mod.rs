//! Models from OCI registries: `oci://REGISTRY/REPOSITORY[:TAG][@sha256:DIGEST]`.
//!
//! A fleet keeps models where it keeps images. This module speaks the
//! distribution API (`registry`: manifests with the right `Accept`,
//! Basic and bearer-token auth from the Docker config), reads the three
//! model packagings ([`manifest`]: Docker Model Runner, CNCF ModelPack,
//! Ollama), and stores what it pulls as a standard OCI image layout
//! (`layout`) under `<cache>/oci/<registry>/<repository>/`. Blobs go
//! through the shared download layer (resume, parallel ranges, sha256 in
//! flight) and are verified against their layer digest; the manifest is
//! pinned by `Docker-Content-Digest` (or the reference's `@sha256:`) and
//! checked against the bytes received. See `specs/oci.md`.

mod auth;
mod cred_helper;
mod fetcher;
pub(crate) mod inventory;
mod layout;
pub mod manifest;
mod push;
mod registry;
pub(crate) mod release;

pub use crate::model_ref::oci_ref::DEFAULT_TAG;
pub use crate::oci_error::OciError;
pub use auth::RegistryAuth;
pub use fetcher::{OciConfig, OciFetcher};
pub use manifest::Format;
pub use push::{EnsureSource, PushFormat, PushReport, push};
