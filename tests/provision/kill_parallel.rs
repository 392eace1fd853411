//! SIGKILL during a parallel download, then resume: a file of exactly
//! `ParallelPolicy::min_size` comes in 16 MiB pieces over two rate-capped
//! connections; the process is killed once the state file
//! (`{blob}.incomplete.parts`) records a finished piece, and the next run
//! asks the CDN only for what that file says is missing.
//!
//! Only the state file and the CDN's request log are relied on, not the
//! number or order of the first run's requests.

use crate::support::{
    Dirs, cdn_gets, files_under, gguf_of_size, hub_with, incomplete_files, provision_model,
    sent_span,
};
use model_provisioner::{ParallelPolicy, hash_file};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// Per connection: a 16 MiB piece takes about 2 s, so the kill lands
/// between the first finished piece and the last.
const RATE: u64 = 8 << 20;
/// How long the first run may take to finish its first piece.
const FIRST_PIECE_WAIT: Duration = Duration::from_secs(60);
/// Bytes a cut stream may have had in socket buffers beyond what the
/// client kept: sent, but not a second download of what was finished.
const IN_FLIGHT_SLACK: u64 = 4 << 20;

/// The finished ranges `[start, end)` and the size a state file records.
struct Finished {
    total: u64,
    done: Vec<(u64, u64)>,
}

impl Finished {
    fn bytes(&self) -> u64 {
        self.done.iter().map(|(s, e)| e - s).sum()
    }
    fn overlaps(&self, (start, end): (u64, u64)) -> bool {
        self.done.iter().any(|&(s, e)| start < e && s < end)
    }
}

fn state_file(cache: &Path) -> Option<PathBuf> {
    files_under(cache)
        .into_iter()
        .find(|p| p.to_string_lossy().ends_with(".incomplete.parts"))
}

/// The state file under `cache`, when there is one and it reads whole
/// (it is replaced by a rename, so a read sees one version).
fn read_state(cache: &Path) -> Option<Finished> {
    let text = std::fs::read(state_file(cache)?).ok()?;
    let json: serde_json::Value = serde_json::from_slice(&text).ok()?;
    let done = json["done"]
        .as_array()?
        .iter()
        .map(|r| Some((r[0].as_u64()?, r[1].as_u64()?)))
        .collect::<Option<Vec<_>>>()?;
    Some(Finished {
        total: json["total"].as_u64()?,
        done,
    })
}

/// Waits until the state file records `at_least` finished bytes; the
/// child's exit or the deadline ends the wait early with a reason.
fn wait_for_finished(child: &mut Child, cache: &Path, at_least: u64) -> Result<(), String> {
    let start = Instant::now();
    while start.elapsed() < FIRST_PIECE_WAIT {
        if read_state(cache).is_some_and(|f| f.bytes() >= at_least) {
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!(
                "provision exited ({status}) before a piece was recorded"
            ));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Err(format!(
        "no finished piece recorded in {FIRST_PIECE_WAIT:?} (state file: {:?})",
        state_file(cache)
    ))
}

#[test]
fn sigkill_mid_parallel_download_then_resume_fetches_only_unfinished_ranges() {
    let policy = ParallelPolicy::default();
    let content = gguf_of_size(usize::try_from(policy.min_size).expect("fits"), 41);
    let total = content.len() as u64;
    let (hub, sha) = hub_with("org/repo", "file.gguf", content);
    hub.limit_connection_rate(Some(RATE));
    let dirs = Dirs::new();
    let cache = dirs.cache();
    let model_ref = "hf:org/repo/file.gguf";
    let first_log = dirs.root.path().join("first-run.stderr");

    let mut first = provision_model(&dirs, &hub.endpoint(), model_ref);
    first
        .args(["--connections", "2"])
        .stdout(Stdio::null())
        .stderr(File::create(&first_log).expect("stderr file"));
    let mut child = first.spawn().expect("provision starts");
    if let Err(why) = wait_for_finished(&mut child, &cache, policy.chunk_size) {
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "{why}\nfirst run's stderr:\n{}",
            std::fs::read_to_string(&first_log).unwrap_or_default()
        );
    }
    let running = matches!(child.try_wait(), Ok(None));
    child.kill().expect("SIGKILL sent"); // Child::kill is SIGKILL on Unix
    child.wait().expect("killed child reaped");
    assert!(running, "the first run finished before the kill");
    let finished = read_state(&cache).expect("the state file survives the kill");
    assert_eq!(finished.total, total);
    let first_sent: u64 = cdn_gets(&hub).iter().map(|r| r.body_bytes).sum();
    hub.clear_requests();

    let out = provision_model(&dirs, &hub.endpoint(), model_ref)
        .args(["--connections", "2"])
        .output()
        .expect("provision runs");
    assert!(
        out.status.success(),
        "the resumed run failed ({:?}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );

    let blob = cache.join("models--org--repo").join("blobs").join(&sha);
    let (digest, size) = hash_file(&blob).expect("blob readable");
    assert_eq!((digest.hex(), size), (sha, total), "the served file");
    let leftovers = incomplete_files(&cache);
    assert!(leftovers.is_empty(), "partial files left: {leftovers:?}");

    let gets = cdn_gets(&hub);
    let spans: Vec<_> = gets
        .iter()
        .map(|r| (r.range.clone(), sent_span(r)))
        .collect();
    for (range, span) in &spans {
        assert!(
            !finished.overlaps(*span),
            "the resumed run fetched {span:?} (Range {range:?}) again, \
             finished before the kill: {:?}",
            finished.done
        );
    }
    let missing = total - finished.bytes();
    let resent: u64 = gets.iter().map(|r| r.body_bytes).sum();
    assert!(
        (missing..=missing + IN_FLIGHT_SLACK).contains(&resent) && resent < total,
        "the resumed run was sent {resent} bytes; {missing} of {total} were missing"
    );
    println!(
        "kill mid-parallel: {total}-byte file, first run sent {first_sent} bytes, \
         {} finished at the kill ({:?}), resumed run sent {resent} bytes in {:?}",
        finished.bytes(),
        finished.done,
        spans
    );
}

/// Per connection in the 8-connection run: up to 64 MiB/s in all, so the
/// state saved every 250 ms leaves at most about 16 MiB of a 64 MiB file
/// to fetch again, and a save a second apart up to all it received.
const EIGHT_WAY_RATE: u64 = 8 << 20;
/// How long after the split the kill lands: just before a save a second
/// apart would come, past three saves 250 ms apart.
const KILL_AFTER_SPLIT: Duration = Duration::from_millis(950);

#[test]
fn sigkill_soon_after_the_split_costs_at_most_a_quarter_of_the_file_again() {
    let policy = ParallelPolicy::default();
    let content = gguf_of_size(usize::try_from(policy.min_size).expect("fits"), 43);
    let total = content.len() as u64;
    let (hub, _sha) = hub_with("org/repo", "file.gguf", content);
    hub.limit_connection_rate(Some(EIGHT_WAY_RATE));
    let dirs = Dirs::new();
    let cache = dirs.cache();
    let model_ref = "hf:org/repo/file.gguf";

    let mut first = provision_model(&dirs, &hub.endpoint(), model_ref);
    first
        .args(["--connections", "8"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = first.spawn().expect("provision starts");
    // The state file appears when the stream is split over the pieces.
    let start = Instant::now();
    while read_state(&cache).is_none() && start.elapsed() < FIRST_PIECE_WAIT {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("provision exited ({status}) before the split");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(KILL_AFTER_SPLIT);
    let running = matches!(child.try_wait(), Ok(None));
    child.kill().expect("SIGKILL sent");
    child.wait().expect("killed child reaped");
    assert!(running, "the first run finished before the kill");
    let first_sent: u64 = cdn_gets(&hub).iter().map(|r| r.body_bytes).sum();
    hub.clear_requests();
    hub.limit_connection_rate(None);

    let out = provision_model(&dirs, &hub.endpoint(), model_ref)
        .args(["--connections", "8"])
        .output()
        .expect("provision runs");
    assert!(
        out.status.success(),
        "the resumed run failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let resent: u64 = cdn_gets(&hub).iter().map(|r| r.body_bytes).sum();
    let ratio = (first_sent + resent) as f64 / total as f64;
    println!(
        "kill {KILL_AFTER_SPLIT:?} after the split: first run sent {first_sent}, \
         the resume {resent}, {ratio:.2}x the {total}-byte file"
    );
    assert!(
        ratio <= 1.25,
        "both runs were sent {ratio:.2}x the file: the state lost too much"
    );
}
