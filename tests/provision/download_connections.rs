//! `--connections N`: how many connections one large download uses, over
//! `PROVISION_DOWNLOAD_CONNECTIONS`, seen from the stand-in CDN's log.

use crate::support::{Dirs, cdn_gets, gguf_of_size, hub_with, is_bounded_range, provision_model};
use model_provisioner::{CONNECTIONS_ENV, ParallelPolicy};
use std::process::Output;

/// Bytes a cut stream may have had in socket buffers beyond what the
/// client kept: sent, but not a second download of the file.
const IN_FLIGHT_SLACK: u64 = 4 << 20;

/// A file right at the size from which downloads are split.
fn large_file() -> Vec<u8> {
    let min_size = ParallelPolicy::default().min_size;
    gguf_of_size(usize::try_from(min_size).expect("min_size fits"), 31)
}

fn assert_ok(out: &Output) {
    assert!(
        out.status.success(),
        "provision failed ({:?}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn connections_1_fetches_a_large_file_in_one_stream_over_the_environment() {
    let content = large_file();
    let total = content.len() as u64;
    let (hub, _) = hub_with("org/repo", "file.gguf", content);
    let dirs = Dirs::new();

    let out = provision_model(&dirs, &hub.endpoint(), "hf:org/repo/file.gguf")
        .args(["--connections", "1"])
        .env(CONNECTIONS_ENV, "8")
        .output()
        .expect("provision runs");
    assert_ok(&out);

    let gets = cdn_gets(&hub);
    assert_eq!(gets.len(), 1, "one GET for the whole file: {gets:?}");
    assert_eq!(gets[0].range, None, "a single stream asks for no range");
    assert_eq!(gets[0].body_bytes, total);
}

#[test]
fn connections_3_fetches_a_large_file_in_ranged_pieces_over_the_environment() {
    let content = large_file();
    let total = content.len() as u64;
    let (hub, _) = hub_with("org/repo", "file.gguf", content);
    // A CDN that caps each connection, where more connections pay off.
    hub.limit_connection_rate(Some(32 << 20));
    let dirs = Dirs::new();

    let out = provision_model(&dirs, &hub.endpoint(), "hf:org/repo/file.gguf")
        .args(["--connections", "3"])
        .env(CONNECTIONS_ENV, "1")
        .output()
        .expect("provision runs");
    assert_ok(&out);

    let gets = cdn_gets(&hub);
    let pieces = gets.iter().filter(|r| is_bounded_range(r)).count();
    assert!(
        pieces >= 2,
        "the file must come in ranged pieces: {:?}",
        gets.iter()
            .map(|r| (r.range.clone(), r.status, r.body_bytes))
            .collect::<Vec<_>>()
    );
    let served: u64 = gets.iter().map(|r| r.body_bytes).sum();
    assert!(
        (total..=total + IN_FLIGHT_SLACK).contains(&served),
        "the CDN sent {served} bytes for a {total}-byte file"
    );
}

#[test]
fn connections_0_is_a_usage_error_naming_the_flag() {
    let dirs = Dirs::new();
    for verb in [
        &["model", "hf:org/repo/file.gguf"][..],
        &["engine", "pool.toml"],
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_provision"))
            .args(verb)
            .args(["--connections", "0"])
            .env("HOME", dirs.home())
            .output()
            .expect("provision runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{verb:?}: {stderr}");
        assert!(stderr.contains("--connections"), "{verb:?}: {stderr}");
        assert!(out.stdout.is_empty());
    }
}
