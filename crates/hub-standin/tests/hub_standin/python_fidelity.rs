//! The real Python `huggingface_hub` client downloads from the stand-in:
//! proof that the stand-in speaks the protocol the reference client expects.

use hub_standin::{FileSpec, Hub, Listener, python_hub_available};
use std::process::Command;

const SCRIPT: &str = r#"
import sys
from huggingface_hub import hf_hub_download
repo, rev, token = sys.argv[1], sys.argv[2], (sys.argv[3] or None)
for name in sys.argv[4:]:
    print(hf_hub_download(repo, name, revision=rev, token=token))
"#;

fn python_download(
    hub: &Hub,
    cache: &std::path::Path,
    repo: &str,
    rev: &str,
    token: &str,
    files: &[&str],
) -> Vec<String> {
    let out = Command::new("python3")
        .arg("-c")
        .arg(SCRIPT)
        .args([repo, rev, token])
        .args(files)
        .env("HF_ENDPOINT", hub.endpoint())
        .env("HF_HUB_CACHE", cache)
        .env("HF_HUB_DISABLE_XET", "1")
        .env("HF_HUB_DISABLE_TELEMETRY", "1")
        .env_remove("HF_TOKEN")
        .env_remove("HF_HUB_OFFLINE")
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "python hf_hub_download failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn python_hf_hub_download_fetches_lfs_and_plain_files_from_the_standin() {
    if !python_hub_available() {
        return;
    }
    let hub = Hub::start().unwrap();
    let weights: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let commit = hub.commit(
        "org/tiny",
        "main",
        vec![
            ("tiny-Q4_K_M.gguf", FileSpec::lfs(weights.clone())),
            ("sub/config.json", FileSpec::plain(b"{\"a\": 1}".to_vec())),
        ],
    );
    hub.tag("org/tiny", "v1", &commit);
    let cache = tempfile::tempdir().unwrap();
    let paths = python_download(
        &hub,
        cache.path(),
        "org/tiny",
        "v1",
        "",
        &["tiny-Q4_K_M.gguf", "sub/config.json"],
    );
    assert_eq!(std::fs::read(&paths[0]).unwrap(), weights);
    assert_eq!(std::fs::read(&paths[1]).unwrap(), b"{\"a\": 1}");
    let repo_dir = cache.path().join("models--org--tiny");
    assert_eq!(
        std::fs::read_to_string(repo_dir.join("refs/v1")).unwrap(),
        commit
    );
    let link = std::fs::read_link(
        repo_dir
            .join("snapshots")
            .join(&commit)
            .join("sub/config.json"),
    )
    .unwrap();
    assert!(
        link.starts_with("../../../blobs"),
        "relative link, one ../ per subdir: {link:?}"
    );
    let sha = FileSpec::lfs(weights).sha256();
    assert!(
        repo_dir.join("blobs").join(&sha).is_file(),
        "LFS blob named by sha256"
    );
    // The weights came from the CDN listener after a cross-origin 302.
    assert_eq!(hub.count("GET", &format!("/lfs/{sha}")), 1);
}

#[test]
fn python_client_sends_token_to_gated_hub_and_not_to_the_cdn() {
    if !python_hub_available() {
        return;
    }
    let hub = Hub::start().unwrap();
    hub.commit(
        "org/gated",
        "main",
        vec![("w.gguf", FileSpec::lfs(vec![1u8; 10_000]))],
    );
    hub.gate("org/gated", "hf_secret");
    let cache = tempfile::tempdir().unwrap();
    let paths = python_download(
        &hub,
        cache.path(),
        "org/gated",
        "main",
        "hf_secret",
        &["w.gguf"],
    );
    assert_eq!(std::fs::read(&paths[0]).unwrap(), vec![1u8; 10_000]);
    let reqs = hub.requests();
    assert!(
        reqs.iter()
            .any(|r| r.listener == Listener::Hub && r.authorization.is_some())
    );
    assert!(
        reqs.iter()
            .filter(|r| r.listener == Listener::Cdn)
            .all(|r| r.authorization.is_none())
    );
}
