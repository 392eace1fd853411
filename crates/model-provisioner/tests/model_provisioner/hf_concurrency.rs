//! Many threads or processes ensuring the same file download it once: the
//! per-blob lock makes the others wait, then reuse the blob.

use crate::hf_support::Env;
use hub_standin::{Fault, FaultKind, Listener};
use model_provisioner::hf::{HfConfig, HfFetcher, RetryPolicy};
use model_provisioner::{FetchContext, Fetcher, ModelRef};
use std::process::Command;
use std::time::Duration;

const REF: &str = "hf:org/model/model-Q4_K_M.gguf";

/// Slow the CDN so that every caller arrives while the first is still
/// downloading.
fn slow_cdn(env: &Env) {
    env.hub.inject(
        Fault::new(FaultKind::Slow {
            before_headers: Duration::ZERO,
            per_chunk: Duration::from_millis(8),
        })
        .on(Listener::Cdn)
        .times(u32::MAX),
    );
}

#[test]
fn n_threads_ensuring_the_same_file_transfer_it_once() {
    let env = Env::new();
    slow_cdn(&env);
    let paths: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| s.spawn(|| env.fetch(REF).unwrap()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(env.cdn_gets(), 1, "{:?}", env.hub.requests());
    assert_eq!(paths.iter().filter(|p| p.bytes_transferred > 0).count(), 1);
    for p in &paths {
        assert_eq!(std::fs::read(&p.path).unwrap(), env.weights());
    }
}

/// Run by `n_processes_…` as a child process; a no-op otherwise.
#[test]
fn child_process_fetch() {
    let (Ok(endpoint), Ok(cache)) = (
        std::env::var("HF_TEST_CHILD_ENDPOINT"),
        std::env::var("HF_TEST_CHILD_CACHE"),
    ) else {
        return;
    };
    let fetcher = HfFetcher::new(
        HfConfig::from_lookup(|_| None)
            .with_endpoint(&endpoint)
            .with_cache_dir(&cache)
            .with_retry(RetryPolicy::quick()),
    );
    let model = ModelRef::parse(REF).unwrap();
    let got = fetcher
        .fetch(&model, None, &FetchContext::new(&cache))
        .unwrap();
    println!(
        "CHILD-PATH {} {}",
        got.path.display(),
        got.bytes_transferred
    );
}

#[test]
fn n_processes_ensuring_the_same_file_transfer_it_once() {
    let env = Env::new();
    slow_cdn(&env);
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..4)
        .map(|_| {
            Command::new(&exe)
                .args([
                    "hf_concurrency::child_process_fetch",
                    "--exact",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env("HF_TEST_CHILD_ENDPOINT", env.hub.endpoint())
                .env("HF_TEST_CHILD_CACHE", env.cache.path())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut transferred = Vec::new();
    for child in children {
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "child failed: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // libtest may print "test … " on the same line first.
        let line = stdout
            .lines()
            .find_map(|l| l.split_once("CHILD-PATH "))
            .expect("child printed its path")
            .1;
        let mut parts = line.split_whitespace();
        let path = parts.next().unwrap().to_string();
        transferred.push(parts.next().unwrap().parse::<u64>().unwrap());
        assert_eq!(std::fs::read(path).unwrap(), env.weights());
    }
    assert_eq!(env.cdn_gets(), 1, "{:?}", env.hub.requests());
    assert_eq!(
        transferred.iter().filter(|&&t| t > 0).count(),
        1,
        "{transferred:?}"
    );
}

#[test]
fn killing_the_downloading_process_and_running_again_completes_the_file() {
    let env = Env::new();
    // Slow enough (about 1.5 s for the file) that the kill lands mid-transfer.
    env.hub.inject(
        Fault::new(FaultKind::Slow {
            before_headers: Duration::ZERO,
            per_chunk: Duration::from_millis(30),
        })
        .on(Listener::Cdn),
    );
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(&exe)
        .args([
            "hf_concurrency::child_process_fetch",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("HF_TEST_CHILD_ENDPOINT", env.hub.endpoint())
        .env("HF_TEST_CHILD_CACHE", env.cache.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let partial = env
        .repo_dir()
        .join("blobs")
        .join(format!("{}.incomplete", env.weights_spec().sha256()));
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while std::fs::metadata(&partial).map_or(0, |m| m.len()) < 512 * 1024 {
        assert!(
            std::time::Instant::now() < deadline,
            "the child never started writing"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    env.hub.clear_faults();
    let kept = std::fs::metadata(&partial).unwrap().len();
    assert!(kept < crate::hf_support::SIZE as u64, "killed mid-download");
    let got = env.fetch(REF).unwrap();
    assert_eq!(std::fs::read(&got.path).unwrap(), env.weights());
    assert_eq!(got.digest, Some(env.digest()));
    assert_eq!(
        got.bytes_transferred,
        crate::hf_support::SIZE as u64 - kept,
        "resumed from the killed process's partial"
    );
}

#[test]
fn a_wait_on_a_held_blob_lock_is_told_and_bounded() {
    use model_provisioner::file_lock::{self, LockWait};
    let env = Env::new();
    // Another process (here: this test) holds the blob's lock.
    let lock = env
        .cache
        .path()
        .join(".locks/models--org--model")
        .join(format!("{}.lock", env.digest().hex()));
    let held = file_lock::acquire(&lock, LockWait::default(), &mut |_| {}).unwrap();
    let mut config = env.config();
    config.lock_wait = LockWait {
        notice_after: std::time::Duration::from_millis(50),
        timeout: std::time::Duration::from_millis(400),
    };
    let capture = narration_core::CaptureAdapter::install();
    let err = env
        .fetch_with(
            &HfFetcher::new(config),
            "hf:org/model/model-Q4_K_M.gguf",
            None,
        )
        .unwrap_err();
    assert_eq!(err.error_kind(), "lock-timeout");
    assert!(
        err.to_string()
            .contains(&format!("pid {}", std::process::id())),
        "{err}"
    );
    let waits: Vec<_> = capture
        .captured()
        .into_iter()
        .filter(|n| n.action == "lock-wait")
        .collect();
    assert_eq!(waits.len(), 1, "told once");
    assert!(
        waits[0]
            .human
            .contains(&format!("pid {}", std::process::id()))
    );
    assert_eq!(
        env.cdn_gets(),
        0,
        "nothing downloaded while another holds the lock"
    );
    held.release();
    env.fetch("hf:org/model/model-Q4_K_M.gguf").unwrap();
}
