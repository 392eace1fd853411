//! narration-core's integration tests, one binary.

mod capture;
mod catalog;
mod init;
mod log;
mod otel;
mod redaction;
mod support;
