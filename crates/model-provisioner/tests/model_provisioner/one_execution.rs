//! Two ensures of one model, in one process or in two, share one
//! execution: the second waits for the first (naming it), then finds the
//! model recorded and verified, so nothing is downloaded or hashed twice.

use crate::hf_support::{Env, GGUF_REF as REF};
use hub_standin::{Fault, FaultKind, Listener};
use model_provisioner::actions as act;
use model_provisioner::{EnsureOptions, ModelProvisioner, ResolvedModel, Verification};
use narration_core::CaptureAdapter;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What the waiting ensure narrates: a wait, then the first one's
/// verification standing.
const WAITER: [&str; 7] = [
    act::RESOLVE,
    act::ENSURE,
    act::LOCK_WAIT,
    act::VERIFY,
    act::CACHE_HIT,
    act::VERIFIED,
    act::COMPLETE,
];

/// Slow the CDN so that the second ensure arrives during the first.
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

fn provisioner(endpoint: &str, cache: &std::path::Path) -> ModelProvisioner {
    let config = model_provisioner::hf::HfConfig::from_lookup(|_| None)
        .with_endpoint(endpoint)
        .with_cache_dir(cache)
        .with_retry(model_provisioner::hf::RetryPolicy::quick());
    ModelProvisioner::builder(cache)
        .fetcher(Arc::new(model_provisioner::hf::HfFetcher::new(config)))
        .build()
        .unwrap()
}

/// Wait (bounded) until the first ensure's body GET reached the CDN.
fn wait_for_first_transfer(env: &Env) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while env.gguf_gets() == 0 {
        assert!(Instant::now() < deadline, "the first ensure never started");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Ensure `REF` under a capture on this thread, with `correlation_id`.
fn ensure(models: &ModelProvisioner, correlation_id: &str) -> (ResolvedModel, Vec<String>, String) {
    let capture = CaptureAdapter::install();
    let resolved = models
        .ensure_present_str_with(
            REF,
            None,
            &EnsureOptions {
                correlation_id: Some(correlation_id.to_string()),
                ..Default::default()
            },
        )
        .unwrap();
    let captured = capture.captured();
    let waited = captured
        .iter()
        .find(|n| n.action == act::LOCK_WAIT)
        .map(|n| n.human.clone())
        .unwrap_or_default();
    let actions = captured.iter().map(|n| n.action.to_string()).collect();
    (resolved, actions, waited)
}

#[test]
fn two_threads_ensuring_one_model_download_and_hash_it_once() {
    let env = Env::with_gguf();
    slow_cdn(&env);
    let models = provisioner(&env.hub.endpoint(), env.cache.path());
    let (first, second) = std::thread::scope(|s| {
        let first = s.spawn(|| ensure(&models, "task-a"));
        wait_for_first_transfer(&env);
        let second = s.spawn(|| ensure(&models, "task-b"));
        (first.join().unwrap(), second.join().unwrap())
    });
    assert_eq!(env.gguf_gets(), 1, "one transfer: {:?}", env.hub.requests());
    assert_eq!(first.0.verification, Verification::InFlight);
    assert_eq!(
        second.0.verification,
        Verification::Fingerprint,
        "the first one's verification stands: no second hash"
    );
    assert_eq!(second.1, WAITER.map(str::to_string), "{}", second.2);
    assert!(
        second.2.contains("task-a"),
        "the waiter names the task it waits for: {}",
        second.2
    );
    assert_eq!(first.0.local_path, second.0.local_path);
}

/// Run by `two_processes_…` as a child process; a no-op otherwise.
#[test]
fn child_process_ensure() {
    let (Ok(endpoint), Ok(cache)) = (
        std::env::var("ONE_EXECUTION_ENDPOINT"),
        std::env::var("ONE_EXECUTION_CACHE"),
    ) else {
        return;
    };
    let models = provisioner(&endpoint, std::path::Path::new(&cache));
    let (resolved, actions, waited) = ensure(&models, "child");
    println!("CHILD-VERIFICATION {:?}", resolved.verification);
    println!("CHILD-ACTIONS {}", actions.join(","));
    println!("CHILD-WAITED {waited}");
}

fn spawn_child(env: &Env) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "one_execution::child_process_ensure",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("ONE_EXECUTION_ENDPOINT", env.hub.endpoint())
        .env("ONE_EXECUTION_CACHE", env.cache.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The child's `CHILD-<key>` line.
fn line(stdout: &str, key: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.split_once(&format!("CHILD-{key} ")))
        .map(|(_, v)| v.to_string())
        .unwrap_or_else(|| panic!("no CHILD-{key} in {stdout}"))
}

#[test]
fn two_processes_ensuring_one_model_download_and_hash_it_once() {
    let env = Env::with_gguf();
    slow_cdn(&env);
    let first = spawn_child(&env);
    let first_pid = first.id();
    wait_for_first_transfer(&env);
    let second = spawn_child(&env);
    let outputs: Vec<String> = [first, second]
        .into_iter()
        .map(|child| {
            let out = child.wait_with_output().unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
            assert!(
                out.status.success(),
                "child failed: {stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            stdout
        })
        .collect();
    assert_eq!(env.gguf_gets(), 1, "one transfer: {:?}", env.hub.requests());
    assert_eq!(line(&outputs[0], "VERIFICATION"), "InFlight");
    assert_eq!(
        line(&outputs[1], "VERIFICATION"),
        "Fingerprint",
        "the first one's verification stands: no second hash"
    );
    assert_eq!(line(&outputs[1], "ACTIONS"), WAITER.join(","));
    let waited = line(&outputs[1], "WAITED");
    assert!(
        waited.contains(&format!("pid {first_pid}")),
        "the waiter names the process it waits for: {waited}"
    );
}
