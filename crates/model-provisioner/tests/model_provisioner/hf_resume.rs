//! Interrupted transfers resume from the partial file; a server that
//! ignores Range makes the download restart, never append.

use crate::hf_support::{Env, SIZE};
use hub_standin::{Fault, FaultKind, Listener};
use model_provisioner::ProvisionError;
use model_provisioner::actions;
use model_provisioner::hf::{HfFetcher, RetryPolicy};
use narration_core::CaptureAdapter;

const CUT: u64 = 1_000_000;

/// A fetcher that gives up after one attempt: stands in for a process
/// killed mid-download, leaving its `.incomplete` behind.
fn one_shot(env: &Env) -> HfFetcher {
    HfFetcher::new(env.config().with_retry(RetryPolicy {
        max_attempts: 1,
        ..RetryPolicy::quick()
    }))
}

fn interrupt(env: &Env) {
    env.hub
        .inject(Fault::new(FaultKind::DropAfter(CUT)).on(Listener::Cdn));
    let err = env
        .fetch_with(&one_shot(env), "hf:org/model/model-Q4_K_M.gguf", None)
        .unwrap_err();
    assert_eq!(err.error_kind(), "retries-exhausted", "{err}");
    let sha = env.weights_spec().sha256();
    assert_eq!(
        env.blobs(),
        vec![format!("{sha}.incomplete")],
        "only the partial is there"
    );
}

#[test]
fn resume_after_interruption_downloads_only_the_missing_tail() {
    let env = Env::new();
    interrupt(&env);
    let partial = env
        .repo_dir()
        .join("blobs")
        .join(format!("{}.incomplete", env.weights_spec().sha256()));
    let kept = std::fs::metadata(&partial).unwrap().len();
    assert!(kept > 0 && kept <= CUT, "kept {kept}");
    env.hub.clear_requests();
    let capture = CaptureAdapter::install();
    let got = env.fetch("hf:org/model/model-Q4_K_M.gguf").unwrap();
    assert_eq!(std::fs::read(&got.path).unwrap(), env.weights());
    assert_eq!(
        got.digest,
        Some(env.digest()),
        "digest continued over the resumed prefix"
    );
    let gets: Vec<_> = env
        .hub
        .requests()
        .into_iter()
        .filter(|r| r.path == env.cdn_path())
        .collect();
    assert_eq!(gets.len(), 1);
    assert_eq!(
        gets[0].range.as_deref(),
        Some(format!("bytes={kept}-").as_str())
    );
    assert_eq!(gets[0].status, 206);
    assert_eq!(
        env.hub.body_bytes(&env.cdn_path()),
        SIZE as u64 - kept,
        "only the tail was sent again"
    );
    assert_eq!(got.bytes_transferred, SIZE as u64 - kept);
    capture.assert_includes("Resuming org/model/model-Q4_K_M.gguf");
}

#[test]
fn a_connection_reset_mid_body_is_retried_within_the_same_call_from_where_it_stopped() {
    let env = Env::new();
    env.hub
        .inject(Fault::new(FaultKind::DropAfter(CUT)).on(Listener::Cdn));
    let capture = CaptureAdapter::install();
    let got = env.fetch("hf:org/model/model-Q4_K_M.gguf").unwrap();
    assert_eq!(std::fs::read(&got.path).unwrap(), env.weights());
    assert_eq!(
        env.hub.body_bytes(&env.cdn_path()),
        SIZE as u64,
        "nothing sent twice"
    );
    capture.assert_sequence(&[
        (actions::ACTOR, actions::DOWNLOAD),
        (actions::ACTOR, actions::DOWNLOAD_RETRY),
        (actions::ACTOR, actions::DOWNLOADED),
    ]);
    let retry = capture
        .captured()
        .into_iter()
        .find(|n| n.action == actions::DOWNLOAD_RETRY)
        .unwrap();
    assert!(retry.backoff_ms.is_some());
}

#[test]
fn a_200_answer_to_a_range_request_restarts_from_zero_and_is_not_appended() {
    let env = Env::new();
    interrupt(&env);
    env.hub
        .inject(Fault::new(FaultKind::IgnoreRange).on(Listener::Cdn));
    env.hub.clear_requests();
    let got = env.fetch("hf:org/model/model-Q4_K_M.gguf").unwrap();
    assert_eq!(
        std::fs::read(&got.path).unwrap(),
        env.weights(),
        "not partial + whole body"
    );
    assert_eq!(got.digest, Some(env.digest()));
    let gets: Vec<_> = env
        .hub
        .requests()
        .into_iter()
        .filter(|r| r.path == env.cdn_path())
        .collect();
    assert_eq!((gets.len(), gets[0].status), (1, 200));
    assert_eq!(env.hub.body_bytes(&env.cdn_path()), SIZE as u64);
}

#[test]
fn a_partial_longer_than_the_file_is_discarded() {
    let env = Env::new();
    let sha = env.weights_spec().sha256();
    std::fs::create_dir_all(env.repo_dir().join("blobs")).unwrap();
    std::fs::write(
        env.repo_dir()
            .join("blobs")
            .join(format!("{sha}.incomplete")),
        vec![0u8; SIZE + 10],
    )
    .unwrap();
    let got = env.fetch("hf:org/model/model-Q4_K_M.gguf").unwrap();
    assert_eq!(std::fs::read(&got.path).unwrap(), env.weights());
}

#[test]
fn a_corrupt_partial_is_caught_by_the_digest_and_deleted() {
    let env = Env::new();
    let sha = env.weights_spec().sha256();
    std::fs::create_dir_all(env.repo_dir().join("blobs")).unwrap();
    let mut junk = env.weights()[..CUT as usize].to_vec();
    junk[10] ^= 1;
    let partial = env
        .repo_dir()
        .join("blobs")
        .join(format!("{sha}.incomplete"));
    std::fs::write(&partial, junk).unwrap();
    let err = env.fetch("hf:org/model/model-Q4_K_M.gguf").unwrap_err();
    assert_eq!(err.error_kind(), "etag-mismatch");
    assert!(
        matches!(&err, ProvisionError::Hub { source, .. }
            if source.download().is_some_and(|d| d.is_verification())),
        "{err:?}"
    );
    assert!(
        env.blobs().is_empty(),
        "partial deleted, nothing at blobs/{{etag}}: {:?}",
        env.blobs()
    );
    let got = env.fetch("hf:org/model/model-Q4_K_M.gguf").unwrap();
    assert_eq!(
        std::fs::read(&got.path).unwrap(),
        env.weights(),
        "the next try starts clean"
    );
}
