//! model-provisioner's integration tests, one binary: real files, a real
//! SQLite catalog, real child processes, and Hugging Face and HTTPS
//! fetching against the stand-in Hub over loopback.

mod api_types;
mod cache_scan;
mod cancel;
mod catalog;
mod catalog_promises;
mod deletion_bounds;
mod download_control;
mod ensure;
#[cfg(feature = "tokio")]
mod ensure_async;
mod ensure_processes;
mod hf_auth_offline;
mod hf_concurrency;
mod hf_download;
mod hf_faults;
mod hf_https;
mod hf_provisioner;
mod hf_python;
mod hf_refusals;
mod hf_resume;
mod hf_select;
mod hf_shards;
mod hf_support;
mod hf_trust;
mod oci_cache;
mod oci_catalog;
mod oci_pull;
mod oci_push;
mod oci_support;
mod oci_token;
mod one_execution;
mod parallel;
mod prune;
mod removal;
mod settings;
mod shared_blobs;

/// The libtest name of `name` in the module `module` (from
/// `module_path!()`), for re-running one test in a child process.
pub fn test_name(module: &str, name: &str) -> String {
    let module = module.split_once("::").map_or("", |(_, m)| m);
    format!("{module}::{name}")
}
