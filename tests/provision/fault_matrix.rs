//! The fault matrix: each network or disk fault, through the whole
//! `ensure_present` lifecycle, ends with the expected outcome and final
//! narration, and the cache never holds a blob whose bytes do not match its
//! name.

use crate::support::{Dirs, big_gguf, provision_model};
use hub_standin::{Fault, FaultKind, FileSpec, Hub, Listener};
use model_provisioner::hf::{HfConfig, HfFetcher, RetryPolicy};
use model_provisioner::{ModelProvisioner, hash_file};
use narration_core::CaptureAdapter;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

const REF: &str = "hf:org/model/model.gguf";
const TOKEN: &str = "hf_faultmatrixcanary0123456789";

struct Setup {
    hub: Hub,
    dirs: Dirs,
    content: Vec<u8>,
}

fn setup() -> Setup {
    let content = big_gguf(2 << 20, 5);
    let hub = Hub::start().expect("hub starts");
    hub.commit(
        "org/model",
        "main",
        vec![("model.gguf", FileSpec::lfs(content.clone()))],
    );
    Setup {
        hub,
        dirs: Dirs::new(),
        content,
    }
}

fn provisioner(s: &Setup, endpoint: &str) -> ModelProvisioner {
    let config = HfConfig::from_lookup(|_| None)
        .with_endpoint(endpoint)
        .with_cache_dir(s.dirs.cache())
        .with_token(Some(TOKEN))
        .with_retry(RetryPolicy::quick())
        .with_read_timeout(Duration::from_millis(500));
    ModelProvisioner::builder(s.dirs.cache())
        .fetcher(Arc::new(HfFetcher::new(config)))
        .catalog_path(s.dirs.catalog())
        .build()
        .expect("provisioner builds")
}

/// Every blob named by a sha256 holds exactly those bytes.
fn assert_no_bad_blob(cache: &Path, case: &str) {
    let blobs = cache.join("models--org--model").join("blobs");
    let Ok(entries) = std::fs::read_dir(&blobs) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.contains(".incomplete") {
            continue;
        }
        let (digest, _) = hash_file(&entry.path()).expect("blob readable");
        assert_eq!(
            digest.hex(),
            name,
            "case {case}: blob {name} holds other bytes"
        );
    }
}

enum Expect {
    Complete,
    Fails(&'static str),
}

fn run_case(name: &str, inject: impl FnOnce(&Hub), endpoint: Option<String>, expect: Expect) {
    let s = setup();
    inject(&s.hub);
    let endpoint = endpoint.unwrap_or_else(|| s.hub.endpoint());
    let capture = CaptureAdapter::install();
    let result = provisioner(&s, &endpoint).ensure_present_str(REF, None);
    let last = capture
        .captured()
        .last()
        .cloned()
        .expect("something was narrated");
    match (expect, result) {
        (Expect::Complete, Ok(model)) => {
            assert_eq!(
                std::fs::read(&model.local_path).unwrap(),
                s.content,
                "case {name}"
            );
            assert_eq!(last.action, "complete", "case {name}: final narration");
        }
        (Expect::Fails(action), Err(e)) => {
            assert_eq!(last.action, action, "case {name}: final narration ({e})");
            assert!(last.error_kind.is_some(), "case {name}: error_kind is set");
            assert!(
                !e.to_string().contains(TOKEN),
                "case {name}: token in error"
            );
        }
        (Expect::Complete, Err(e)) => panic!("case {name}: expected success, got {e}"),
        (Expect::Fails(_), Ok(m)) => panic!("case {name}: expected failure, got {m:?}"),
    }
    for n in capture.captured() {
        assert!(
            !serde_json::to_string(&*n).unwrap().contains(TOKEN),
            "case {name}: token in a narration"
        );
    }
    assert_no_bad_blob(&s.dirs.cache(), name);
    println!("fault matrix: {name}: ok (final narration {})", last.action);
}

fn cdn(kind: FaultKind) -> Fault {
    Fault::new(kind).on(Listener::Cdn).method("GET")
}

#[test]
fn connection_refused_fails_after_bounded_retries() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    run_case(
        "connection refused",
        |_| {},
        Some(endpoint),
        Expect::Fails("download-failed"),
    );
}

#[test]
fn reset_mid_body_then_success() {
    run_case(
        "reset mid-body",
        |hub| hub.inject(cdn(FaultKind::DropAfter(300_000)).times(2)),
        None,
        Expect::Complete,
    );
}

#[test]
fn server_errors_with_retry_after_then_success() {
    run_case(
        "500/503 with Retry-After",
        |hub| {
            hub.inject(cdn(FaultKind::Status {
                status: 500,
                retry_after: None,
            }));
            hub.inject(cdn(FaultKind::Status {
                status: 503,
                retry_after: Some(0),
            }));
        },
        None,
        Expect::Complete,
    );
}

#[test]
fn too_many_requests_then_success() {
    run_case(
        "429",
        |hub| {
            hub.inject(
                Fault::new(FaultKind::Status {
                    status: 429,
                    retry_after: Some(0),
                })
                .on(Listener::Hub)
                .method("HEAD"),
            )
        },
        None,
        Expect::Complete,
    );
}

#[test]
fn truncated_body_is_resumed_to_the_promised_size() {
    run_case(
        "truncated body",
        |hub| hub.inject(cdn(FaultKind::Truncate(500_000))),
        None,
        Expect::Complete,
    );
}

#[test]
fn wrong_bytes_of_the_right_size_fail_verification() {
    run_case(
        "wrong bytes",
        |hub| hub.inject(cdn(FaultKind::WrongBytes).times(100)),
        None,
        Expect::Fails("verify-failed"),
    );
}

#[test]
fn range_ignored_restarts_from_zero() {
    run_case(
        "Range ignored",
        |hub| {
            hub.inject(cdn(FaultKind::DropAfter(400_000)));
            hub.inject(cdn(FaultKind::IgnoreRange));
        },
        None,
        Expect::Complete,
    );
}

#[test]
fn redirect_loop_fails_clearly() {
    run_case(
        "redirect loop",
        |hub| {
            hub.inject(
                Fault::new(FaultKind::RedirectLoop)
                    .on(Listener::Hub)
                    .times(1000),
            )
        },
        None,
        Expect::Fails("download-failed"),
    );
}

#[test]
fn cross_origin_redirect_never_carries_the_token() {
    let s = setup();
    let capture = CaptureAdapter::install();
    provisioner(&s, &s.hub.endpoint())
        .ensure_present_str(REF, None)
        .expect("download succeeds");
    let requests = s.hub.requests();
    let hub_auth = requests
        .iter()
        .filter(|r| r.listener == Listener::Hub)
        .all(|r| r.authorization.as_deref() == Some(&format!("Bearer {TOKEN}")));
    assert!(hub_auth, "the Hub receives the token");
    let cdn: Vec<_> = requests
        .iter()
        .filter(|r| r.listener == Listener::Cdn)
        .collect();
    assert!(!cdn.is_empty(), "the body came from the CDN origin");
    assert!(
        cdn.iter().all(|r| r.authorization.is_none()),
        "no token sent to the other origin"
    );
    capture.assert_sequence(&[
        ("model-provisioner", "downloaded"),
        ("model-provisioner", "complete"),
    ]);
    println!(
        "fault matrix: cross-origin redirect: ok ({} CDN requests, 0 with a token)",
        cdn.len()
    );
}

#[test]
fn slow_loris_body_times_out_and_fails() {
    run_case(
        "slow-loris body",
        |hub| {
            hub.inject(
                cdn(FaultKind::Slow {
                    before_headers: Duration::ZERO,
                    per_chunk: Duration::from_secs(2),
                })
                .times(100),
            )
        },
        None,
        Expect::Fails("download-failed"),
    );
}

#[test]
fn head_without_repo_commit_is_not_a_hub() {
    run_case(
        "HEAD without X-Repo-Commit",
        |hub| {
            hub.inject(
                Fault::new(FaultKind::NoRepoCommit)
                    .on(Listener::Hub)
                    .times(100),
            )
        },
        None,
        Expect::Fails("ensure-failed"),
    );
}

/// A full disk, as the process sees it: writes past a file-size limit fail
/// with EFBIG (SIGXFSZ ignored, so the write returns the error).
#[test]
fn disk_full_write_fails_cleanly_and_keeps_no_blob() {
    let s = setup();
    let inner = provision_model(&s.dirs, &s.hub.endpoint(), REF);
    let program = inner.get_program().to_owned();
    let args: Vec<_> = inner.get_args().map(|a| a.to_owned()).collect();
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("ulimit -f 512; trap '' XFSZ; exec \"$0\" \"$@\"")
        .arg(program)
        .args(args)
        .env_clear()
        .envs(inner.get_envs().filter_map(|(k, v)| v.map(|v| (k, v))));
    let out = cmd.output().expect("provision runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "exit 1 on a full disk:\n{stderr}"
    );
    let last = stderr
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or("");
    assert!(
        last.contains("\"action\":\"download-failed\""),
        "final narration is download-failed: {last}"
    );
    assert!(
        stderr.to_lowercase().contains("too large") || stderr.contains("space"),
        "{stderr}"
    );
    assert_no_bad_blob(&s.dirs.cache(), "disk full");
    println!("fault matrix: disk full: ok (exit 1, final narration download-failed)");
}
