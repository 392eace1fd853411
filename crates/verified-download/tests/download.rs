//! The one-call [`Download`] API against the loopback stand-in: a file
//! served by its CDN listener (as a release archive would be), reached
//! directly or through the Hub's cross-origin redirect.

use hub_standin::{Fault, FaultKind, FileSpec, Hub, Listener};
use std::sync::{Arc, Mutex};
use verified_download::{
    Cancel, Download, DownloadError, ErrorKind, Progress, ProgressStep, RetryPolicy, sha256_bytes,
};

/// An archive-sized body whose bytes differ along its length.
fn body() -> Vec<u8> {
    (0..600_000u32).map(|i| (i % 251) as u8).collect()
}

/// A stand-in serving `content` as an LFS file of `org/engine`: returns
/// the hub, the CDN URL and the Hub `resolve` URL (a 302 to the CDN).
fn serve(content: &[u8]) -> (Hub, String, String) {
    let hub = Hub::start().expect("start the stand-in");
    let spec = FileSpec::lfs(content.to_vec());
    let cdn = format!("{}{}", hub.cdn_endpoint(), Hub::cdn_path(&spec));
    hub.commit("org/engine", "main", vec![("llama-b1-bin.tar.gz", spec)]);
    let resolve = format!(
        "{}/org/engine/resolve/main/llama-b1-bin.tar.gz",
        hub.endpoint()
    );
    (hub, cdn, resolve)
}

fn quick() -> RetryPolicy {
    RetryPolicy::quick()
}

#[test]
fn download_verifies_the_sha256_and_renames_into_place() {
    let content = body();
    let (_hub, _cdn, resolve) = serve(&content);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("bin").join("llama.tar.gz");
    let seen: Arc<Mutex<Vec<Progress>>> = Arc::default();
    let sink = seen.clone();
    let done = Download::new(&resolve, &dest)
        .sha256(sha256_bytes(&content))
        .retry(quick())
        .on_progress(move |p| sink.lock().unwrap().push(p.clone()))
        .run()
        .expect("download");
    assert_eq!(std::fs::read(&dest).unwrap(), content);
    assert_eq!(done.digest, sha256_bytes(&content));
    assert_eq!(
        (done.size, done.transferred),
        (content.len() as u64, content.len() as u64)
    );
    assert!(
        !dir.path().join("bin/llama.tar.gz.part").exists(),
        "no partial left"
    );
    let last = seen
        .lock()
        .unwrap()
        .last()
        .cloned()
        .expect("progress reported");
    assert_eq!(last.step, ProgressStep::Download);
    assert!(last.finished);
    assert_eq!(
        (last.done, last.total),
        (content.len() as u64, Some(content.len() as u64))
    );
}

#[test]
fn a_wrong_sha256_leaves_nothing_at_the_destination() {
    let content = body();
    let (_hub, cdn, _) = serve(&content);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("llama.tar.gz");
    let wrong = sha256_bytes(b"another archive");
    let err = Download::new(&cdn, &dest)
        .sha256(wrong)
        .retry(quick())
        .run()
        .unwrap_err();
    match &err {
        DownloadError::DigestMismatch {
            expected, actual, ..
        } => {
            assert_eq!(expected, &wrong);
            assert_eq!(actual, &sha256_bytes(&content));
        }
        other => panic!("expected a digest mismatch, got {other:?}"),
    }
    assert_eq!(err.class(), ErrorKind::DigestMismatch);
    assert!(
        !dest.exists(),
        "unverified bytes never reach the destination"
    );
    assert!(
        !dir.path().join("llama.tar.gz.part").exists(),
        "bad partial deleted"
    );
}

#[test]
fn an_interrupted_download_resumes_from_its_partial_in_the_next_run() {
    let content = body();
    let (hub, cdn, _) = serve(&content);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("llama.tar.gz");
    let cut = 200_000u64;
    hub.inject(Fault::new(FaultKind::DropAfter(cut)).on(Listener::Cdn));
    let once = RetryPolicy {
        max_attempts: 1,
        ..quick()
    };
    let err = Download::new(&cdn, &dest)
        .sha256(sha256_bytes(&content))
        .retry(once)
        .run()
        .unwrap_err();
    assert!(err.class().is_retryable(), "a dropped connection: {err}");
    let part = dir.path().join("llama.tar.gz.part");
    assert_eq!(std::fs::metadata(&part).unwrap().len(), cut, "partial kept");

    let done = Download::new(&cdn, &dest)
        .sha256(sha256_bytes(&content))
        .retry(quick())
        .run()
        .expect("resume");
    assert_eq!(
        done.transferred,
        content.len() as u64 - cut,
        "only the tail"
    );
    assert_eq!(std::fs::read(&dest).unwrap(), content);
    let ranges: Vec<_> = hub.requests().into_iter().filter_map(|r| r.range).collect();
    // The first GET asks for `bytes=0-` (a 206 says pieces may go in
    // parallel); the resume asks for the missing tail only.
    assert_eq!(ranges.last(), Some(&format!("bytes={cut}-")), "{ranges:?}");
}

#[test]
fn a_verified_destination_is_returned_without_a_request() {
    let content = body();
    let (hub, cdn, _) = serve(&content);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("llama.tar.gz");
    let digest = sha256_bytes(&content);
    Download::new(&cdn, &dest)
        .sha256(digest)
        .run()
        .expect("first download");
    hub.clear_requests();
    let again = Download::new(&cdn, &dest)
        .sha256(digest)
        .run()
        .expect("second call");
    assert_eq!((again.transferred, again.digest), (0, digest));
    assert!(hub.requests().is_empty(), "no request for a verified file");
}

#[test]
fn a_destination_with_other_bytes_is_replaced_by_the_verified_download() {
    let content = body();
    let (_hub, cdn, _) = serve(&content);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("llama.tar.gz");
    std::fs::write(&dest, b"a stale archive").unwrap();
    let done = Download::new(&cdn, &dest)
        .sha256(sha256_bytes(&content))
        .run()
        .expect("download");
    assert_eq!(done.transferred, content.len() as u64);
    assert_eq!(std::fs::read(&dest).unwrap(), content);
}

#[test]
fn the_token_goes_to_the_urls_origin_and_not_to_the_redirect() {
    let content = body();
    let (hub, _cdn, resolve) = serve(&content);
    let dir = tempfile::tempdir().unwrap();
    Download::new(&resolve, dir.path().join("llama.tar.gz"))
        .sha256(sha256_bytes(&content))
        .bearer_token("hf_secret_token")
        .run()
        .expect("download");
    let requests = hub.requests();
    let hub_auth: Vec<_> = requests
        .iter()
        .filter(|r| r.listener == Listener::Hub)
        .map(|r| r.authorization.clone())
        .collect();
    assert!(!hub_auth.is_empty());
    assert!(
        hub_auth
            .iter()
            .all(|a| a.as_deref() == Some("Bearer hf_secret_token"))
    );
    let cdn_requests: Vec<_> = requests
        .iter()
        .filter(|r| r.listener == Listener::Cdn)
        .collect();
    assert!(!cdn_requests.is_empty(), "the redirect was followed");
    assert!(cdn_requests.iter().all(|r| r.authorization.is_none()));
}

#[test]
fn a_cancel_stops_the_transfer_and_keeps_the_partial() {
    let content = body();
    let (hub, cdn, _) = serve(&content);
    hub.limit_connection_rate(Some(64 * 1024));
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("llama.tar.gz");
    let cancel = Cancel::new();
    let trigger = cancel.clone();
    let err = Download::new(&cdn, &dest)
        .sha256(sha256_bytes(&content))
        .cancel(cancel)
        .on_progress(move |p| {
            if p.done > 0 {
                trigger.cancel();
            }
        })
        .run()
        .unwrap_err();
    assert!(matches!(err, DownloadError::Cancelled), "{err:?}");
    assert!(!dest.exists());
    let kept = std::fs::metadata(dir.path().join("llama.tar.gz.part"))
        .unwrap()
        .len();
    assert!(kept > 0 && kept < content.len() as u64, "kept {kept} bytes");
}

#[test]
fn plain_http_off_loopback_is_refused_before_any_request() {
    let dir = tempfile::tempdir().unwrap();
    let err = Download::new(
        "http://user:pw@example.com/llama.tar.gz",
        dir.path().join("f"),
    )
    .run()
    .unwrap_err();
    assert!(matches!(err, DownloadError::InsecureUrl { .. }), "{err:?}");
    let text = err.to_string();
    assert!(!text.contains("pw"), "no credentials in the error: {text}");
    assert!(
        !dir.path().join("f.lock").exists(),
        "refused before any work"
    );
}

#[test]
fn a_url_that_is_not_http_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = Download::new("ftp://example.com/f", dir.path().join("f"))
        .run()
        .unwrap_err();
    assert!(matches!(err, DownloadError::BadUrl { .. }), "{err:?}");
    assert_eq!(err.class(), ErrorKind::InvalidInput);
}
