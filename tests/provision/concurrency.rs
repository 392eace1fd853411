//! Many `provision model` processes at once: the same model is transferred
//! once and shared, also when it comes over parallel ranges; different
//! models sharing one catalog all land in it.

use crate::support::{Dirs, big_gguf, cdn_gets, gguf_of_size, hub_with, provision_model};
use hub_standin::{Fault, FaultKind, FileSpec, Hub, Listener};
use model_provisioner::{CatalogStore, ParallelPolicy, SqliteCatalog, hash_file};
use std::process::{Command, Output};
use std::time::Duration;

const PROCESSES: usize = 8;

fn json(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON object ({e}):\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// Starts every command at once, waits for all, and asserts each exited 0
/// without meeting a locked catalog.
fn run_together(commands: impl IntoIterator<Item = Command>) -> Vec<Output> {
    let children: Vec<_> = commands
        .into_iter()
        .map(|mut cmd| cmd.spawn().expect("provision starts"))
        .collect();
    let outputs: Vec<Output> = children
        .into_iter()
        .map(|c| c.wait_with_output().expect("provision runs"))
        .collect();
    for (i, out) in outputs.iter().enumerate() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "process {i} failed:\n{stderr}");
        assert!(
            !stderr.contains("database is locked"),
            "process {i} saw a locked database:\n{stderr}"
        );
    }
    outputs
}

fn slow_cdn(hub: &Hub) {
    hub.inject(
        Fault::new(FaultKind::Slow {
            before_headers: Duration::ZERO,
            per_chunk: Duration::from_millis(2),
        })
        .on(Listener::Cdn)
        .method("GET")
        .times(100),
    );
}

#[test]
fn eight_processes_on_one_model_transfer_it_once() {
    let content = big_gguf(8 << 20, 21);
    let total = content.len() as u64;
    let hub = Hub::start().expect("hub starts");
    let spec = FileSpec::lfs(content);
    let sha = spec.sha256();
    hub.commit("org/shared", "main", vec![("shared.gguf", spec)]);
    slow_cdn(&hub);
    let dirs = Dirs::new();

    let outputs = run_together((0..PROCESSES).map(|_| {
        let mut cmd = provision_model(&dirs, &hub.endpoint(), "hf:org/shared/shared.gguf");
        cmd.arg("--json");
        cmd
    }));
    let results: Vec<_> = outputs.iter().map(json).collect();
    for r in &results {
        assert_eq!(
            r["local_path"], results[0]["local_path"],
            "same path for all"
        );
        assert_eq!(r["digest"], format!("sha256:{sha}"));
    }
    let transfers: Vec<_> = hub
        .requests()
        .into_iter()
        .filter(|r| r.listener == Listener::Cdn && r.method == "GET")
        .collect();
    let served: u64 = transfers.iter().map(|r| r.body_bytes).sum();
    assert_eq!(
        served,
        total,
        "the blob must be transferred exactly once; transfers: {:?}",
        transfers
            .iter()
            .map(|r| (r.range.clone(), r.body_bytes))
            .collect::<Vec<_>>()
    );
    let rows = SqliteCatalog::open(dirs.catalog()).unwrap().list().unwrap();
    assert_eq!(rows.len(), 1, "one catalog row: {rows:?}");
    println!(
        "concurrency (same model): {PROCESSES} processes exited 0, {} blob transfer(s), {served} bytes served for a {total}-byte file, 1 catalog row",
        transfers.len()
    );
}

#[test]
fn eight_processes_on_eight_models_share_one_catalog() {
    let hub = Hub::start().expect("hub starts");
    for i in 0..PROCESSES {
        let spec = FileSpec::lfs(big_gguf(256 << 10, 100 + i as u64));
        hub.commit(&format!("org/m{i}"), "main", vec![("m.gguf", spec)]);
    }
    let dirs = Dirs::new();
    run_together((0..PROCESSES).map(|i| {
        let mut cmd = provision_model(&dirs, &hub.endpoint(), &format!("hf:org/m{i}/m.gguf"));
        cmd.arg("--json");
        cmd
    }));
    let rows = SqliteCatalog::open(dirs.catalog()).unwrap().list().unwrap();
    assert_eq!(rows.len(), PROCESSES, "one row per model: {rows:?}");
    println!(
        "concurrency (distinct models): {PROCESSES} processes exited 0, {PROCESSES} catalog rows"
    );
}

#[test]
fn two_processes_on_one_large_model_transfer_its_pieces_once() {
    let size = ParallelPolicy::default().min_size;
    let content = gguf_of_size(usize::try_from(size).expect("fits"), 22);
    let total = content.len() as u64;
    let (hub, sha) = hub_with("org/large", "large.gguf", content);
    // Capped connections: the download lasts long enough to overlap.
    hub.limit_connection_rate(Some(16 << 20));
    let dirs = Dirs::new();

    let outputs = run_together((0..2).map(|_| {
        let mut cmd = provision_model(&dirs, &hub.endpoint(), "hf:org/large/large.gguf");
        cmd.args(["--json", "--connections", "4"]);
        cmd
    }));
    for (i, out) in outputs.iter().enumerate() {
        let result = json(out);
        assert_eq!(result["digest"], format!("sha256:{sha}"), "process {i}");
    }
    let blob = dirs
        .cache()
        .join("models--org--large")
        .join("blobs")
        .join(&sha);
    let (digest, size) = hash_file(&blob).expect("blob readable");
    assert_eq!((digest.hex(), size), (sha, total), "the served file");

    let gets = cdn_gets(&hub);
    let served: u64 = gets.iter().map(|r| r.body_bytes).sum();
    // A second transfer would double it; a few MiB over would be bytes a
    // cut connection had in flight.
    assert!(
        (total..total + (4 << 20)).contains(&served),
        "the CDN sent {served} bytes for a {total}-byte file: {:?}",
        gets.iter()
            .map(|r| (r.range.clone(), r.body_bytes))
            .collect::<Vec<_>>()
    );
    println!(
        "concurrency (large model): 2 processes exited 0, {} GETs, {served} bytes served for a {total}-byte file",
        gets.len()
    );
}

#[test]
fn two_processes_on_one_model_download_and_hash_it_once() {
    let hub = Hub::start().expect("hub starts");
    hub.commit(
        "org/shared",
        "main",
        vec![("shared.gguf", FileSpec::lfs(big_gguf(4 << 20, 22)))],
    );
    slow_cdn(&hub);
    let dirs = Dirs::new();
    let outputs = run_together((0..2).map(|_| {
        let mut cmd = provision_model(&dirs, &hub.endpoint(), "hf:org/shared/shared.gguf");
        cmd.arg("--json");
        cmd
    }));
    let mut how: Vec<String> = outputs
        .iter()
        .map(|o| json(o)["verification"].as_str().unwrap_or("?").to_string())
        .collect();
    how.sort();
    assert_eq!(
        how,
        ["fingerprint", "in-flight"],
        "one verified while downloading; the other waited and found it verified"
    );
    assert_eq!(cdn_gets(&hub).len(), 1, "one transfer");
    let waiter = outputs
        .iter()
        .find(|o| json(o)["verification"] == "fingerprint")
        .expect("the waiter");
    let stderr = String::from_utf8_lossy(&waiter.stderr);
    let waited = stderr
        .lines()
        .find(|l| l.contains("\"lock-wait\""))
        .unwrap_or_else(|| panic!("the waiter said it waited:\n{stderr}"));
    assert!(
        waited.contains("pid "),
        "naming the other process: {waited}"
    );
    assert!(
        !stderr.contains("Hashing"),
        "the waiter hashed nothing:\n{stderr}"
    );
}
