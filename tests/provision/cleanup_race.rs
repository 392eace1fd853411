//! Cleanup under the lock: a failed `provision model` never removes a
//! folder another process is about to write in. B (a wrong `--digest`)
//! downloads a plain git file (no sha256 to refuse it by before the
//! transfer) while A (no digest) waits for the blob's lock; B's failure
//! must not pull `blobs/` from under A, and A takes the download over.

use crate::support::{Dirs, gguf_of_size, incomplete_files, provision_model};
use hub_standin::{Fault, FaultKind, FileSpec, Hub, Listener};
use std::time::{Duration, Instant};

const RUNS: usize = 20;
const WRONG: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

#[test]
fn a_failed_download_does_not_remove_the_folder_a_waiter_needs() {
    let content = gguf_of_size(1 << 20, 31);
    let hub = Hub::start().expect("hub starts");
    hub.commit(
        "org/plain",
        "main",
        vec![("plain.gguf", FileSpec::plain(content.clone()))],
    );
    let mut failures = Vec::new();
    for run in 0..RUNS {
        // Sixteen 64 KiB chunks, 40 ms apart: B holds the lock long
        // enough for A to start and queue behind it.
        hub.clear_faults();
        hub.inject(
            Fault::new(FaultKind::Slow {
                before_headers: Duration::ZERO,
                per_chunk: Duration::from_millis(40),
            })
            .on(Listener::Hub)
            .method("GET")
            .times(1),
        );
        let dirs = Dirs::new();
        let mut b = provision_model(&dirs, &hub.endpoint(), "hf:org/plain/plain.gguf");
        b.args(["--digest", WRONG]);
        let b = b.spawn().expect("B starts");
        // B holds the blob's lock once its partial exists.
        let deadline = Instant::now() + Duration::from_secs(60);
        while incomplete_files(&dirs.cache()).is_empty() {
            assert!(Instant::now() < deadline, "B never started its download");
            std::thread::sleep(Duration::from_millis(5));
        }
        let a = provision_model(&dirs, &hub.endpoint(), "hf:org/plain/plain.gguf")
            .spawn()
            .expect("A starts");
        let b = b.wait_with_output().expect("B runs");
        let a = a.wait_with_output().expect("A runs");
        assert!(!b.status.success(), "run {run}: B's digest is wrong");
        if !a.status.success() {
            failures.push(format!(
                "run {run}: {}",
                String::from_utf8_lossy(&a.stderr)
                    .lines()
                    .last()
                    .unwrap_or_default()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {RUNS} runs failed A:\n{}",
        failures.len(),
        failures.join("\n")
    );
    println!("cleanup race: {RUNS} runs, 0 failures");
}
