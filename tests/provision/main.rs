//! The workspace's tests of the `provision` binary and of the crates
//! together, one binary: the command line, reliability (crashes,
//! concurrency, faults), hostile input and secrets.

mod cli;
mod collector;
mod concurrency;
mod crash_resume;
#[path = "../../crates/engine-provisioner/tests/engine_provisioner/support.rs"]
mod engine_support;
mod fault_matrix;
mod hostile_input;
mod secrets;
mod support;
