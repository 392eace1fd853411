//! The Hub's digest is the expected digest, through the command line: a
//! flipped byte in a cached blob is never served nor recorded. Online
//! `provision model` downloads the file again and exits 0 with the Hub's
//! digest; `--offline` exits 1; `catalog verify` keeps reporting the
//! truth.

use crate::support::{Dirs, hub_with, provision_model};
use std::path::PathBuf;
use std::process::{Command, Output};

const REF: &str = "hf:org/tiny/tiny.gguf";

fn run(mut cmd: Command) -> Output {
    cmd.output().expect("provision runs")
}

fn catalog_verify(dirs: &Dirs) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_provision"));
    cmd.args(["catalog", "verify", "--json", "--catalog"])
        .arg(dirs.catalog())
        .env_clear()
        .env("HOME", dirs.home());
    run(cmd)
}

fn flip_a_byte(path: &PathBuf) {
    let mut bytes = std::fs::read(path).expect("blob read");
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    std::fs::write(path, bytes).expect("blob written");
}

#[test]
fn a_flipped_cached_blob_is_downloaded_again_online_and_refused_offline() {
    let content = crate::support::gguf_of_size(1 << 20, 41);
    let (hub, sha) = hub_with("org/tiny", "tiny.gguf", content.clone());
    let dirs = Dirs::new();
    let blob = dirs.cache().join("models--org--tiny/blobs").join(&sha);
    let first = run(provision_model(&dirs, &hub.endpoint(), REF));
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );

    flip_a_byte(&blob);
    assert!(!catalog_verify(&dirs).status.success(), "verify sees it");
    let mut again = provision_model(&dirs, &hub.endpoint(), REF);
    again.arg("--json");
    let again = run(again);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(again.status.success(), "{stderr}");
    let json: serde_json::Value = serde_json::from_slice(&again.stdout).expect("JSON result");
    assert_eq!(json["digest"], format!("sha256:{sha}"));
    assert_eq!(std::fs::read(&blob).expect("blob"), content);
    assert!(stderr.contains("verify-warning"), "{stderr}");
    assert!(
        !stderr.contains("\"ERROR\""),
        "no ERROR line before success: {stderr}"
    );
    let verify = catalog_verify(&dirs);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );

    flip_a_byte(&blob);
    let mut offline = provision_model(&dirs, &hub.endpoint(), REF);
    offline.arg("--offline");
    let offline = run(offline);
    assert_eq!(offline.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&offline.stderr).contains("verify-failed"),
        "{}",
        String::from_utf8_lossy(&offline.stderr)
    );
    assert!(!catalog_verify(&dirs).status.success(), "still the truth");
}
