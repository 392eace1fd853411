//! No secret leaks: with `HF_TOKEN` set to a canary (and the canary also in
//! URL userinfo and query parameters), every success and failure path of
//! the CLI and the libraries is run with JSON logs and the capture adapter,
//! and the canary must appear in no narration, log line, error message,
//! stdout, catalog, provenance log, handoff file or plan.

use crate::support::{Dirs, big_gguf, files_under, provision_model};
use hub_standin::{FileSpec, Hub};
use model_provisioner::hf::{HfConfig, HfFetcher, RetryPolicy};
use model_provisioner::https::{HttpsConfig, HttpsFetcher};
use model_provisioner::{ModelProvisioner, write_handoff};
use narration_core::CaptureAdapter;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

const CANARY: &str = "hf_CanaryToken0123456789abcdef";

struct Scene {
    hub: Hub,
    dirs: Dirs,
    /// `http://u:CANARY@127.0.0.1:P/lfs/<sha>?token=CANARY&sig=CANARY`
    secret_url: String,
    digest: String,
}

fn scene() -> Scene {
    let content = big_gguf(64 << 10, 9);
    let spec = FileSpec::lfs(content);
    let sha = spec.sha256();
    let cdn_path = Hub::cdn_path(&spec);
    let hub = Hub::start().expect("hub starts");
    hub.commit("org/gated", "main", vec![("m.gguf", spec.clone())]);
    hub.gate("org/gated", CANARY);
    let host = hub.cdn_endpoint().trim_start_matches("http://").to_string();
    Scene {
        secret_url: format!("http://user:{CANARY}@{host}{cdn_path}?token={CANARY}&sig={CANARY}"),
        digest: format!("sha256:{sha}"),
        hub,
        dirs: Dirs::new(),
    }
}

fn assert_clean(what: &str, text: &str) {
    assert!(
        !text.contains(CANARY),
        "the canary leaked into {what}:\n{text}"
    );
}

/// Every file under `dir`, read as bytes (catalog, WAL, provenance, …).
fn assert_tree_clean(dir: &Path) {
    for path in files_under(dir) {
        if let Ok(bytes) = std::fs::read(&path) {
            assert!(
                !bytes.windows(CANARY.len()).any(|w| w == CANARY.as_bytes()),
                "the canary leaked into {}",
                path.display()
            );
        }
    }
}

struct Run {
    label: &'static str,
    args: Vec<String>,
    success: bool,
}

#[test]
fn cli_paths_never_print_or_store_the_token() {
    let s = scene();
    // The config holds the secret on purpose; keep it out of the scanned tree.
    let config_dir = tempfile::tempdir().unwrap();
    let pool = config_dir.path().join("pool.toml");
    std::fs::write(
        &pool,
        format!(
            "id = \"p\"\nengine = \"llamacpp\"\n[provisioning.source]\nrepo = \"https://user:{CANARY}@example.invalid/llama.cpp.git\"\nref = \"v0\"\n[provisioning.model]\nref = \"{}\"\n",
            s.secret_url
        ),
    )
    .unwrap();
    let runs = vec![
        Run {
            label: "hf download with the token",
            args: vec!["model".into(), "hf:org/gated/m.gguf".into()],
            success: true,
        },
        Run {
            label: "hf cache hit",
            args: vec!["model".into(), "hf:org/gated/m.gguf".into()],
            success: true,
        },
        Run {
            label: "hf missing file",
            args: vec!["model".into(), "hf:org/gated/missing.gguf".into()],
            success: false,
        },
        Run {
            label: "hf offline miss",
            args: vec![
                "model".into(),
                "hf:org/other/m.gguf".into(),
                "--offline".into(),
            ],
            success: false,
        },
        Run {
            label: "url with userinfo and query secrets",
            args: vec![
                "model".into(),
                s.secret_url.clone(),
                "--digest".into(),
                s.digest.clone(),
            ],
            success: true,
        },
        Run {
            label: "url without a digest",
            args: vec!["model".into(), s.secret_url.replace("/lfs/", "/lfs/x")],
            success: false,
        },
        Run {
            label: "a token pasted as a digest",
            args: vec![
                "model".into(),
                "hf:org/gated/m.gguf".into(),
                "--digest".into(),
                format!("sha256:{CANARY}"),
            ],
            success: false,
        },
        Run {
            label: "engine plan with credentials in the repo URL",
            args: vec!["engine".into(), pool.display().to_string(), "--plan".into()],
            success: true,
        },
        Run {
            label: "catalog list",
            args: vec!["catalog".into(), "list".into()],
            success: true,
        },
    ];
    for run in &runs {
        let cmd = provision_model(&s.dirs, &s.hub.endpoint(), "unused");
        // Rebuild the argument list: global flags, then the verb's own.
        let mut args: Vec<String> = vec!["--log-format".into(), "json".into(), "--json".into()];
        args.extend(run.args.iter().cloned());
        if run.args[0] == "model" {
            args.extend(["--cache-dir".into(), s.dirs.cache().display().to_string()]);
        }
        args.extend(["--catalog".into(), s.dirs.catalog().display().to_string()]);
        let out = Command::new(cmd.get_program())
            .args(&args)
            .env_clear()
            .envs(cmd.get_envs().filter_map(|(k, v)| v.map(|v| (k, v))))
            .env("HF_TOKEN", CANARY)
            .env("HF_HOME", s.dirs.root.path().join("hf-home"))
            .output()
            .expect("provision runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.success(),
            run.success,
            "{}: unexpected exit {:?}\n{stderr}",
            run.label,
            out.status
        );
        assert_clean(&format!("stdout of {}", run.label), &stdout);
        assert_clean(&format!("stderr of {}", run.label), &stderr);
    }
    assert_tree_clean(s.dirs.root.path());
    println!("secrets (CLI): {} runs, 0 leaks", runs.len());
}

#[test]
fn library_paths_never_narrate_or_store_the_token() {
    let s = scene();
    let capture = CaptureAdapter::install();
    let hf = HfConfig::from_lookup(|_| None)
        .with_endpoint(&s.hub.endpoint())
        .with_cache_dir(s.dirs.cache())
        .with_token(Some(CANARY))
        .with_retry(RetryPolicy::quick());
    let provisioner = ModelProvisioner::builder(s.dirs.cache())
        .fetcher(Arc::new(HfFetcher::new(hf.clone())))
        .fetcher(Arc::new(HttpsFetcher::new(HttpsConfig::default())))
        .catalog_path(s.dirs.catalog())
        .provenance_path(s.dirs.root.path().join("provenance.jsonl"))
        .build()
        .expect("provisioner builds");

    let mut errors = Vec::new();
    let ok = provisioner
        .ensure_present_str("hf:org/gated/m.gguf", None)
        .expect("gated download with the token");
    write_handoff(&s.dirs.root.path().join("handoff.json"), &ok).expect("handoff written");
    assert_clean("a resolved model", &serde_json::to_string(&ok).unwrap());
    let by_url = provisioner
        .ensure_present_str(&s.secret_url, Some(s.digest.parse().unwrap()))
        .expect("download through a URL with credentials");
    write_handoff(&s.dirs.root.path().join("handoff-url.json"), &by_url).expect("handoff");
    assert_clean("a resolved model", &serde_json::to_string(&by_url).unwrap());
    for bad in [
        "hf:org/gated/missing.gguf".to_string(),
        s.secret_url.replace("/lfs/", "/lfs/x"),
        format!("https://user:{CANARY}@127.0.0.1:1/m.gguf?access_token={CANARY}"),
    ] {
        errors.push(
            provisioner
                .ensure_present_str(&bad, None)
                .expect_err("must fail")
                .to_string(),
        );
    }
    // A wrong token and a missing repo, each in a fresh cache so that
    // nothing is served from disk.
    for (token, model) in [
        ("hf_SomeOtherToken0123456789", "hf:org/gated/m.gguf"),
        (CANARY, "hf:org/nope/m.gguf"),
    ] {
        let fresh = Dirs::new();
        let provisioner = ModelProvisioner::builder(fresh.cache())
            .fetcher(Arc::new(HfFetcher::new(
                hf.clone()
                    .with_cache_dir(fresh.cache())
                    .with_token(Some(token)),
            )))
            .catalog_path(fresh.catalog())
            .build()
            .unwrap();
        errors.push(
            provisioner
                .ensure_present_str(model, None)
                .expect_err("must fail")
                .to_string(),
        );
    }

    for e in &errors {
        assert_clean("an error message", e);
    }
    for n in capture.captured() {
        assert_clean("a narration", &serde_json::to_string(&*n).unwrap());
    }
    assert_tree_clean(s.dirs.root.path());
    println!(
        "secrets (libraries): {} narrations, {} errors, 2 handoff files, 0 leaks",
        capture.captured().len(),
        errors.len()
    );
}
