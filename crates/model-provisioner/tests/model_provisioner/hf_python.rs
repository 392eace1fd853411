//! Interoperability with the reference Python client through the shared
//! cache, both ways.

use crate::hf_support::Env;
use hub_standin::python_hub_available;
use model_provisioner::hf::HfFetcher;
use std::process::Command;

fn python(env: &Env, offline: bool, file: &str) -> std::process::Output {
    let mut cmd = Command::new("python3");
    cmd.args([
        "-c",
        "import sys\nfrom huggingface_hub import hf_hub_download\nprint(hf_hub_download(sys.argv[1], sys.argv[2]))",
        "org/model",
        file,
    ])
    .env("HF_HUB_CACHE", env.cache.path())
    .env("HF_ENDPOINT", env.hub.endpoint())
    .env("HF_HUB_DISABLE_XET", "1")
    .env("HF_HUB_DISABLE_TELEMETRY", "1")
    .env_remove("HF_TOKEN");
    if offline {
        cmd.env("HF_HUB_OFFLINE", "1");
    } else {
        cmd.env_remove("HF_HUB_OFFLINE");
    }
    cmd.output().expect("python3 runs")
}

#[test]
fn a_file_we_downloaded_is_found_by_python_offline() {
    if !python_hub_available() {
        return;
    }
    let env = Env::new();
    let ours = env.fetch("hf:org/model/model-Q4_K_M.gguf").unwrap();
    env.hub.clear_requests();
    let out = python(&env, true, "model-Q4_K_M.gguf");
    assert!(
        out.status.success(),
        "python offline lookup failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert_eq!(std::path::Path::new(&path), ours.path);
    assert_eq!(std::fs::read(&path).unwrap(), env.weights());
    assert!(env.hub.requests().is_empty(), "python went to the network");
}

#[test]
fn a_file_python_downloaded_is_used_by_us_offline() {
    if !python_hub_available() {
        return;
    }
    let env = Env::new();
    let out = python(&env, false, "model-Q4_K_M.gguf");
    assert!(
        out.status.success(),
        "python download failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let python_path = String::from_utf8_lossy(&out.stdout).trim().to_string();
    env.hub.clear_requests();
    let offline = HfFetcher::new(env.config().with_offline(true));
    let got = env
        .fetch_with(
            &offline,
            "hf:org/model/model-Q4_K_M.gguf",
            Some(&env.digest()),
        )
        .unwrap();
    assert_eq!(got.path, std::path::Path::new(&python_path));
    assert_eq!(std::fs::read(&got.path).unwrap(), env.weights());
    assert!(env.hub.requests().is_empty());
    // And online, the blob Python wrote is reused: no GET of the weights.
    let online = env.fetch("hf:org/model/model-Q4_K_M.gguf").unwrap();
    assert_eq!(online.bytes_transferred, 0);
    assert_eq!(env.cdn_gets(), 0);
}

/// What the reference client's `scan_cache_dir()` says of the cache:
/// (repos, warnings), the warnings being its corrupted-repo reports.
fn python_scan(env: &Env) -> (usize, Vec<String>) {
    let out = Command::new("python3")
        .args([
            "-c",
            "import sys\nfrom huggingface_hub import scan_cache_dir\ni = scan_cache_dir(sys.argv[1])\nprint(len(i.repos))\nfor w in i.warnings: print(w)",
            &env.cache.path().display().to_string(),
        ])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut lines = text.lines();
    let repos = lines.next().unwrap_or("0").trim().parse().unwrap();
    (repos, lines.map(str::to_string).collect())
}

#[test]
fn a_failed_download_leaves_nothing_the_reference_scan_calls_corrupted() {
    if !python_hub_available() {
        return;
    }
    let env = Env::new();
    env.fetch("hf:org/model/model-Q4_K_M.gguf").unwrap();
    let err = env.fetch("hf:org/does-not-exist/m.gguf").unwrap_err();
    assert_eq!(err.error_kind(), "repo-not-found");
    assert!(
        !env.cache
            .path()
            .join("models--org--does-not-exist")
            .exists(),
        "a repo that does not exist left a folder behind"
    );
    let (repos, warnings) = python_scan(&env);
    assert_eq!(repos, 1);
    assert!(warnings.is_empty(), "scan_cache_dir reports: {warnings:?}");
}
