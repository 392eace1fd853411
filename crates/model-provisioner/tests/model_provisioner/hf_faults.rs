//! Server faults: transient ones are retried with backoff and narrated;
//! bytes that do not match are never kept.

use crate::hf_support::{Env, SIZE};
use hub_standin::{Fault, FaultKind, FileSpec, Listener};
use model_provisioner::actions;
use model_provisioner::hf::{HfError, HfFetcher, RetryPolicy};
use model_provisioner::{Digest, DownloadError, ProvisionError};
use narration_core::CaptureAdapter;
use std::time::Duration;

fn retries(capture: &CaptureAdapter) -> Vec<u64> {
    capture
        .captured()
        .into_iter()
        .filter(|n| n.action == actions::DOWNLOAD_RETRY)
        .map(|n| n.backoff_ms.unwrap_or(0))
        .collect()
}

#[test]
fn server_errors_then_success_are_retried_with_backoff_honouring_retry_after() {
    let env = Env::new();
    env.hub.inject(
        Fault::new(FaultKind::Status {
            status: 503,
            retry_after: Some(1),
        })
        .on(Listener::Hub)
        .method("HEAD"),
    );
    env.hub.inject(
        Fault::new(FaultKind::Status {
            status: 500,
            retry_after: None,
        })
        .on(Listener::Cdn),
    );
    env.hub.inject(
        Fault::new(FaultKind::Status {
            status: 429,
            retry_after: None,
        })
        .on(Listener::Cdn),
    );
    let fetcher = HfFetcher::new(env.config().with_retry(RetryPolicy {
        max_delay: Duration::from_secs(2),
        ..RetryPolicy::quick()
    }));
    let capture = CaptureAdapter::install();
    let got = env
        .fetch_with(&fetcher, "hf:org/model/model-Q4_K_M.gguf", None)
        .unwrap();
    assert_eq!(std::fs::read(&got.path).unwrap(), env.weights());
    let backoffs = retries(&capture);
    assert_eq!(backoffs.len(), 3, "{backoffs:?}");
    assert!(backoffs[0] >= 1000, "Retry-After: 1 honoured: {backoffs:?}");
    capture.assert_includes("HTTP 503");
    assert!(
        capture
            .captured()
            .iter()
            .filter(|n| n.action == actions::DOWNLOAD_RETRY)
            .all(|n| n.level.as_str() == "WARN")
    );
}

#[test]
fn persistent_server_errors_give_up_after_the_bounded_attempts() {
    let env = Env::new();
    env.hub.inject(
        Fault::new(FaultKind::Status {
            status: 502,
            retry_after: None,
        })
        .on(Listener::Cdn)
        .times(u32::MAX),
    );
    let capture = CaptureAdapter::install();
    let err = env.fetch("hf:org/model/model-Q4_K_M.gguf").unwrap_err();
    assert_eq!(err.error_kind(), "retries-exhausted");
    assert!(err.to_string().contains("6 attempts"), "{err}");
    assert!(
        matches!(&err, ProvisionError::Hub { source, .. }
            if source.download().is_some_and(DownloadError::is_unreachable)),
        "{err:?}"
    );
    assert_eq!(retries(&capture).len(), 5);
    assert_eq!(env.cdn_gets(), 6);
    assert!(
        capture
            .captured()
            .iter()
            .all(|n| n.action != actions::DOWNLOAD_FAILED),
        "the fetcher returns its failure; the provisioner narrates it"
    );
}

#[test]
fn a_slow_server_past_the_read_timeout_is_retried() {
    let env = Env::new();
    env.hub.inject(
        Fault::new(FaultKind::Slow {
            before_headers: Duration::from_millis(1500),
            per_chunk: Duration::ZERO,
        })
        .on(Listener::Cdn),
    );
    let fetcher = HfFetcher::new(env.config().with_read_timeout(Duration::from_millis(400)));
    let capture = CaptureAdapter::install();
    let got = env
        .fetch_with(&fetcher, "hf:org/model/model-Q4_K_M.gguf", None)
        .unwrap();
    assert_eq!(std::fs::read(&got.path).unwrap(), env.weights());
    capture.assert_includes("timed out");
}

#[test]
fn a_complete_but_truncated_response_is_resumed_to_the_promised_size() {
    let env = Env::new();
    env.hub
        .inject(Fault::new(FaultKind::Truncate(500_000)).on(Listener::Cdn));
    let got = env.fetch("hf:org/model/model-Q4_K_M.gguf").unwrap();
    assert_eq!(std::fs::read(&got.path).unwrap(), env.weights());
    assert_eq!(env.hub.body_bytes(&env.cdn_path()), SIZE as u64);
}

#[test]
fn wrong_bytes_of_the_right_size_fail_verification_and_leave_no_blob() {
    let env = Env::new();
    env.hub
        .inject(Fault::new(FaultKind::WrongBytes).on(Listener::Cdn));
    let capture = CaptureAdapter::install();
    let err = env.fetch("hf:org/model/model-Q4_K_M.gguf").unwrap_err();
    assert_eq!(err.error_kind(), "etag-mismatch");
    assert!(
        matches!(&err, ProvisionError::Hub { source: HfError::Transport(e), .. } if e.is_verification()),
        "{err:?}"
    );
    assert!(env.blobs().is_empty(), "{:?}", env.blobs());
    capture.assert_sequence(&[(actions::ACTOR, actions::DOWNLOAD)]);
    assert!(
        capture
            .captured()
            .iter()
            .all(|n| n.action != actions::DOWNLOADED)
    );
}

#[test]
fn a_caller_digest_that_differs_from_the_hub_etag_fails_before_any_transfer() {
    let env = Env::new();
    let wrong = Digest::from_sha256_hex(&"0".repeat(64)).unwrap();
    let capture = CaptureAdapter::install();
    let err = env
        .fetch_with(
            &env.fetcher(),
            "hf:org/model/model-Q4_K_M.gguf",
            Some(&wrong),
        )
        .unwrap_err();
    assert!(
        matches!(err, ProvisionError::DigestMismatch { .. }),
        "{err}"
    );
    assert_eq!(err.error_kind(), "digest-mismatch");
    assert_eq!(env.cdn_gets(), 0);
    assert!(env.blobs().is_empty());
    assert!(
        capture
            .captured()
            .iter()
            .all(|n| n.action != actions::DOWNLOAD),
        "refused before any transfer"
    );
}

#[test]
fn a_caller_digest_mismatch_on_a_plain_file_deletes_the_download() {
    let env = Env::new();
    env.hub.commit(
        "org/model",
        "main",
        vec![("notes.txt", FileSpec::plain(b"hello".to_vec()))],
    );
    let wrong = Digest::from_sha256_hex(&"1".repeat(64)).unwrap();
    let capture = CaptureAdapter::install();
    let err = env
        .fetch_with(&env.fetcher(), "hf:org/model/notes.txt", Some(&wrong))
        .unwrap_err();
    assert!(
        matches!(err, ProvisionError::DigestMismatch { .. }),
        "{err:?}"
    );
    assert!(env.blobs().is_empty(), "{:?}", env.blobs());
    capture.assert_sequence(&[(actions::ACTOR, actions::DOWNLOAD)]);
    let right = model_provisioner::sha256_bytes(b"hello");
    let ok = env
        .fetch_with(&env.fetcher(), "hf:org/model/notes.txt", Some(&right))
        .unwrap();
    assert_eq!(ok.digest, Some(right));
}

#[test]
fn progress_is_narrated_with_bytes_at_a_bounded_rate() {
    let env = Env::new();
    env.hub.inject(
        Fault::new(FaultKind::Slow {
            before_headers: Duration::ZERO,
            per_chunk: Duration::from_millis(40),
        })
        .on(Listener::Cdn),
    );
    let capture = CaptureAdapter::install();
    env.fetch("hf:org/model/model-Q4_K_M.gguf").unwrap();
    let progress: Vec<u64> = capture
        .captured()
        .into_iter()
        .filter(|n| n.action == actions::DOWNLOAD_PROGRESS)
        .map(|n| n.bytes.unwrap())
        .collect();
    assert!(!progress.is_empty() && progress.len() <= 21, "{progress:?}");
    assert!(progress.windows(2).all(|w| w[0] < w[1]), "{progress:?}");
}

#[test]
fn an_unreachable_hub_falls_back_to_the_cached_revision() {
    let env = Env::new();
    let first = env.fetch("hf:org/model/model-Q4_K_M.gguf").unwrap();
    env.hub.inject(
        Fault::new(FaultKind::Status {
            status: 503,
            retry_after: None,
        })
        .on(Listener::Hub)
        .times(u32::MAX),
    );
    let capture = CaptureAdapter::install();
    let got = env.fetch("hf:org/model/model-Q4_K_M.gguf").unwrap();
    assert_eq!(got.path, first.path);
    assert_eq!(env.cdn_gets(), 1);
    capture.assert_field("error_kind", "hub-unreachable-cache-used");
    let fallback = capture
        .captured()
        .into_iter()
        .find(|n| n.action == actions::DOWNLOAD_FALLBACK)
        .expect("the fallback is narrated");
    assert_eq!(fallback.level, narration_core::NarrationLevel::Warn);
    assert!(
        capture
            .captured()
            .iter()
            .all(|n| n.level != narration_core::NarrationLevel::Error),
        "a run that succeeds narrates no ERROR"
    );
    // A file never fetched still fails clearly.
    let err = env.fetch("hf:org/model/config.json").unwrap_err();
    assert_eq!(err.error_kind(), "retries-exhausted");
}
