//! narration-core's integration tests, one binary.

mod capture;
mod init;
mod log;
mod metrics;
mod otel;
mod redaction;
mod support;
