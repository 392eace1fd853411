//! The workspace's tests of the `provision` binary and of the crates
//! together, one binary: the command line, reliability (crashes,
//! concurrency, faults), hostile input, secrets and telemetry.

mod cli;
mod concurrency;
mod crash_resume;
mod fault_matrix;
mod hostile_input;
mod secrets;
mod support;
mod telemetry;
