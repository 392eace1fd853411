//! Crash safety of `provision model hf:…`: SIGKILL the process at ten
//! seeded points (before the body: start-up and HEAD; early, mid and late
//! in the body; after the body while it verifies and registers), then run
//! it to completion.
//!
//! Promises checked: the final blob is complete and verified; every resumed
//! transfer asks only for the missing tail (`Range: bytes=<partial>-`, seen
//! by the server); no `.incomplete` file remains; the catalog opens and
//! holds exactly one row.

use crate::support::{
    Dirs, Lcg, big_gguf, hub_with, incomplete_files, partial_len, provision_model,
};
use hub_standin::{Fault, FaultKind, Listener};
use model_provisioner::{CatalogStore, SqliteCatalog, hash_file};
use std::process::Child;
use std::time::{Duration, Instant};

const PAD_BYTES: usize = 24 << 20;

#[derive(Debug, Clone, Copy)]
enum KillPoint {
    /// This many milliseconds after start, before the first body byte:
    /// process start-up and the HEAD request.
    BeforeBody(u64),
    /// Once this many per mille of the whole file are on disk.
    Body(u64),
    /// This many milliseconds after the body is complete on disk.
    AfterBody(u64),
}

/// Ten kill points, random within disjoint windows so that each one finds
/// more of the file on disk than the one before.
fn schedule(rng: &mut Lcg) -> Vec<KillPoint> {
    let mut points = vec![KillPoint::BeforeBody(rng.range(3, 30))];
    // early, early, mid, mid, mid, late, late
    for (lo, hi) in [
        (50, 150),
        (200, 300),
        (350, 450),
        (500, 600),
        (650, 750),
        (800, 880),
        (900, 980),
    ] {
        points.push(KillPoint::Body(rng.range(lo, hi)));
    }
    // Verification, rename, GGUF read and the catalog write follow the
    // last body byte within milliseconds.
    points.push(KillPoint::AfterBody(rng.range(0, 3)));
    points.push(KillPoint::AfterBody(rng.range(3, 30)));
    points
}

fn wait_until(child: &mut Child, deadline: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < deadline {
        if ready() {
            return true;
        }
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        std::thread::sleep(Duration::from_micros(500));
    }
    false
}

/// Kill `child` with SIGKILL; true when it was still running.
fn kill(child: &mut Child) -> bool {
    let running = matches!(child.try_wait(), Ok(None));
    let _ = child.kill(); // SIGKILL on Unix
    let _ = child.wait();
    running
}

#[test]
fn sigkill_at_ten_points_then_resume_completes_with_only_the_tail_resent() {
    let content = big_gguf(PAD_BYTES, 11);
    let total = content.len() as u64;
    let (hub, sha) = hub_with("org/big", "big.gguf", content);
    let dirs = Dirs::new();
    let model_ref = "hf:org/big/big.gguf";
    // About 64 KiB every 4 ms: a full transfer takes a couple of seconds.
    hub.inject(
        Fault::new(FaultKind::Slow {
            before_headers: Duration::ZERO,
            per_chunk: Duration::from_millis(4),
        })
        .on(Listener::Cdn)
        .method("GET")
        .times(1000),
    );

    let mut rng = Lcg(0x5eed);
    let mut seen = 0;
    let mut kills_landed = 0;
    let mut resumed_transfers = 0;
    for (i, point) in schedule(&mut rng).into_iter().enumerate() {
        let before = partial_len(&dirs.cache());
        let mut child = provision_model(&dirs, &hub.endpoint(), model_ref)
            .spawn()
            .expect("provision starts");
        let cache = dirs.cache();
        match point {
            KillPoint::BeforeBody(ms) => std::thread::sleep(Duration::from_millis(ms)),
            KillPoint::Body(per_mille) => {
                let target = total * per_mille / 1000;
                let reached = wait_until(&mut child, Duration::from_secs(60), || {
                    partial_len(&cache) >= target.max(1)
                });
                if !reached {
                    let out = child.wait_with_output().expect("child output");
                    panic!(
                        "kill {i}: the partial never reached {target} bytes (had {before}); exit {:?}\n{}",
                        out.status,
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
            }
            KillPoint::AfterBody(ms) => {
                wait_until(&mut child, Duration::from_secs(60), || {
                    incomplete_files(&cache).is_empty() && partial_len(&cache) == 0 && {
                        // The blob is renamed into place once verified.
                        std::fs::read_dir(cache.join("models--org--big").join("blobs"))
                            .map(|d| d.count() > 0)
                            .unwrap_or(false)
                    }
                });
                std::thread::sleep(Duration::from_millis(ms));
            }
        }
        let landed = kill(&mut child);
        if landed {
            kills_landed += 1;
        }
        // Let the server notice the closed socket and record the request.
        std::thread::sleep(Duration::from_millis(100));
        let requests = hub.requests();
        for r in requests[seen..]
            .iter()
            .filter(|r| r.listener == Listener::Cdn && r.method == "GET")
        {
            if before > 0 {
                resumed_transfers += 1;
                assert_eq!(
                    r.range.as_deref(),
                    Some(format!("bytes={before}-").as_str()),
                    "kill {i} ({point:?}): a resumed transfer must ask for the tail after {before} bytes"
                );
            }
        }
        eprintln!(
            "kill {i} {point:?}: landed {landed}, partial before {before}, after {}, requests {:?}",
            partial_len(&dirs.cache()),
            requests[seen..]
                .iter()
                .map(|r| (
                    r.listener,
                    r.method.clone(),
                    r.range.clone(),
                    r.status,
                    r.body_bytes
                ))
                .collect::<Vec<_>>()
        );
        seen = requests.len();
    }

    let output = provision_model(&dirs, &hub.endpoint(), model_ref)
        .output()
        .expect("provision runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "final run failed:\n{stderr}");

    let blob = dirs
        .cache()
        .join("models--org--big")
        .join("blobs")
        .join(&sha);
    let (digest, size) = hash_file(&blob).expect("blob readable");
    assert_eq!(digest.hex(), sha, "the final blob is the served file");
    assert_eq!(size, total);
    assert!(
        incomplete_files(&dirs.cache()).is_empty(),
        "stray partial files: {:?}",
        incomplete_files(&dirs.cache())
    );
    let catalog = SqliteCatalog::open(dirs.catalog()).expect("catalog opens");
    let rows = catalog.list().expect("catalog lists");
    assert_eq!(rows.len(), 1, "catalog rows: {rows:?}");

    let served: u64 = hub
        .requests()
        .iter()
        .filter(|r| r.listener == Listener::Cdn && r.method == "GET")
        .map(|r| r.body_bytes)
        .sum();
    assert!(
        kills_landed >= 8,
        "only {kills_landed} of 10 kills hit a running process"
    );
    assert!(
        resumed_transfers >= 6,
        "only {resumed_transfers} transfers resumed"
    );
    println!(
        "crash test: {kills_landed}/10 kills landed, {resumed_transfers} resumed transfers, \
         file {total} bytes, served {served} bytes ({} sent but lost in flight at kills), catalog rows 1",
        served.saturating_sub(total)
    );
}
