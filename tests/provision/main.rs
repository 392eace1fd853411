//! The workspace's tests of the `provision` binary and of the crates
//! together, one binary: the command line, reliability (crashes,
//! concurrency, faults), hostile input, secrets, telemetry, and the
//! narration sequences `specs/narration-events.md` lists by scenario.

mod ca_bundle;
mod cache_trust;
mod catalog_lock;
mod cleanup_race;
mod cli;
mod collector;
mod concurrency;
mod crash_resume;
mod doctor;
mod download_connections;
#[path = "../../crates/engine-provisioner/tests/engine_provisioner/release.rs"]
mod engine_release;
#[path = "../../crates/engine-provisioner/tests/engine_provisioner/support.rs"]
mod engine_support;
mod fault_matrix;
mod hostile_input;
mod inert_output;
mod kill_parallel;
mod narration_catalog;
mod narration_scenarios;
mod oci;
#[path = "../../crates/model-provisioner/tests/model_provisioner/oci_support/mod.rs"]
mod oci_support;
mod progress_output;
mod proxy;
mod secrets;
mod shared_blobs;
mod support;
mod telemetry;
