//! The model step: the pool's model reference, handed to model-provisioner
//! (resolve, fetch when needed, verify, inspect GGUF, catalogue).

use crate::config::ModelSpec;
use crate::error::ProvisionError;
use model_provisioner::hf::{HfConfig, HfFetcher};
use model_provisioner::https::{HttpsConfig, HttpsFetcher};
use model_provisioner::{Digest, EnsureOptions, ModelProvisioner};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A verified local model file for `spec`.
///
/// Downloads go to `spec.cache_dir` (default: the Hugging Face hub cache,
/// as `huggingface_hub` resolves it); the catalog is
/// `<cache_dir>/catalog.sqlite` when `cache_dir` is given, else
/// `$XDG_DATA_HOME/provision/catalog.sqlite` (the `provision` CLI's).
/// An explicit `catalog` wins over both.
pub fn ensure(
    pool_id: &str,
    spec: &ModelSpec,
    catalog: Option<&Path>,
) -> Result<PathBuf, ProvisionError> {
    let fail = |message: String| ProvisionError::Model {
        pool_id: pool_id.to_string(),
        model_ref: model_provisioner::public_url(&narration_core::redact(&spec.model_ref)),
        message,
    };
    let digest: Option<Digest> = match &spec.digest {
        Some(d) => Some(d.parse().map_err(|e| fail(format!("{e}")))?),
        None => None,
    };
    let hf = HfConfig::from_env();
    let cache_dir = spec
        .cache_dir
        .clone()
        .unwrap_or_else(|| hf.cache_dir.clone());
    let mut builder = ModelProvisioner::builder(&cache_dir)
        .fetcher(Arc::new(HfFetcher::new(hf.with_cache_dir(&cache_dir))))
        .fetcher(Arc::new(HttpsFetcher::new(HttpsConfig::default())));
    let catalog = catalog
        .map(Path::to_path_buf)
        .or_else(|| spec.cache_dir.is_none().then(default_catalog).flatten());
    if let Some(catalog) = catalog {
        builder = builder
            .catalog_path(&catalog)
            .provenance_path(catalog.parent().map_or_else(
                || PathBuf::from("provenance.jsonl"),
                |p| p.join("provenance.jsonl"),
            ));
    }
    let provisioner = builder.build().map_err(|e| fail(e.to_string()))?;
    let options = EnsureOptions {
        correlation_id: None,
        pool_id: Some(pool_id.to_string()),
    };
    provisioner
        .ensure_present_str_with(&spec.model_ref, digest, &options)
        .map(|resolved| resolved.local_path)
        .map_err(|e| fail(e.to_string()))
}

/// `$XDG_DATA_HOME/provision/catalog.sqlite`, else `~/.local/share/…`.
fn default_catalog() -> Option<PathBuf> {
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let data = var("XDG_DATA_HOME").or_else(|| var("HOME").map(|h| h.join(".local/share")))?;
    Some(data.join("provision").join("catalog.sqlite"))
}
