//! The model-provisioner integration tests, one binary: Hugging Face and
//! HTTPS fetching against the stand-in Hub over loopback.

mod hf_auth_offline;
mod hf_concurrency;
mod hf_download;
mod hf_faults;
mod hf_https;
mod hf_provisioner;
mod hf_python;
mod hf_resume;
mod hf_select;
mod hf_support;
