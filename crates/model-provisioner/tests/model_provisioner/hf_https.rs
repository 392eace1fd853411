//! The generic https/http fetcher: digest required, loopback-only plain
//! http, the same resume and verification as the Hub client.

use crate::hf_support::{Env, SIZE};
use hub_standin::{Fault, FaultKind, Listener};
use model_provisioner::actions;
use model_provisioner::https::{HttpsConfig, HttpsFetcher};
use model_provisioner::units::human_bytes;
use model_provisioner::{Digest, DownloadError, Fetcher, ModelRef, ProvisionError, RetryPolicy};
use narration_core::{CaptureAdapter, CapturedNarration};

fn fetcher(config: HttpsConfig) -> HttpsFetcher {
    HttpsFetcher::new(HttpsConfig {
        retry: RetryPolicy::quick(),
        ..config
    })
}

fn url(env: &Env) -> String {
    format!("{}{}", env.hub.cdn_endpoint(), env.cdn_path())
}

fn fetch(
    env: &Env,
    f: &HttpsFetcher,
    url: &str,
    d: Option<&Digest>,
) -> Result<model_provisioner::Fetched, ProvisionError> {
    f.fetch(&ModelRef::parse(url).unwrap(), d, &env.ctx())
}

#[test]
fn downloads_to_a_digest_named_path_and_hits_the_cache_after() {
    let env = Env::new();
    let f = fetcher(HttpsConfig::default());
    let digest = env.digest();
    let capture = CaptureAdapter::install();
    let got = fetch(&env, &f, &url(&env), Some(&digest)).unwrap();
    assert_eq!(got.digest, Some(digest));
    assert_eq!(std::fs::read(&got.path).unwrap(), env.weights());
    assert!(
        got.path
            .starts_with(env.work.path().join("https/sha256").join(digest.hex())),
        "{:?}",
        got.path
    );
    capture.assert_sequence(&[
        (actions::ACTOR, actions::DOWNLOAD),
        (actions::ACTOR, actions::DOWNLOADED),
    ]);
    let again = fetch(&env, &f, &url(&env), Some(&digest)).unwrap();
    assert_eq!((again.path, again.bytes_transferred), (got.path, 0));
    assert_eq!(env.cdn_gets(), 1);
}

#[test]
fn a_digest_is_required_unless_the_caller_opts_out() {
    let env = Env::new();
    let err = fetch(&env, &fetcher(HttpsConfig::default()), &url(&env), None).unwrap_err();
    assert_eq!(err.error_kind(), "digest-required");
    assert_eq!(env.cdn_gets(), 0);
    let opted = fetcher(HttpsConfig {
        allow_no_digest: true,
        ..HttpsConfig::default()
    });
    let got = fetch(&env, &opted, &url(&env), None).unwrap();
    assert_eq!(std::fs::read(got.path).unwrap(), env.weights());
}

#[test]
fn plain_http_is_refused_off_loopback_before_any_connection() {
    let env = Env::new();
    let err = fetch(
        &env,
        &fetcher(HttpsConfig::default()),
        "http://example.invalid/m.gguf",
        Some(&env.digest()),
    )
    .unwrap_err();
    assert_eq!(err.error_kind(), "insecure-url");
    assert!(
        matches!(
            err,
            ProvisionError::Download {
                source: DownloadError::InsecureUrl { .. },
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn interrupted_https_downloads_resume_and_wrong_bytes_are_rejected() {
    let env = Env::new();
    env.hub
        .inject(Fault::new(FaultKind::DropAfter(700_000)).on(Listener::Cdn));
    let got = fetch(
        &env,
        &fetcher(HttpsConfig::default()),
        &url(&env),
        Some(&env.digest()),
    )
    .unwrap();
    assert_eq!(std::fs::read(&got.path).unwrap(), env.weights());
    assert_eq!(env.hub.body_bytes(&env.cdn_path()), SIZE as u64);

    let other = Env::new();
    other
        .hub
        .inject(Fault::new(FaultKind::WrongBytes).on(Listener::Cdn));
    let err = fetch(
        &other,
        &fetcher(HttpsConfig::default()),
        &url(&other),
        Some(&other.digest()),
    )
    .unwrap_err();
    assert!(
        matches!(err, ProvisionError::DigestMismatch { .. }),
        "{err}"
    );
    let dir = other
        .work
        .path()
        .join("https/sha256")
        .join(other.digest().hex());
    let left: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(
        left,
        vec![std::ffi::OsString::from(".lock")],
        "nothing unverified kept"
    );
}

#[test]
fn offline_https_serves_the_cache_or_fails() {
    let env = Env::new();
    let off = fetcher(HttpsConfig {
        offline: true,
        ..HttpsConfig::default()
    });
    let err = fetch(&env, &off, &url(&env), Some(&env.digest())).unwrap_err();
    assert_eq!(err.error_kind(), "offline-miss");
    fetch(
        &env,
        &fetcher(HttpsConfig::default()),
        &url(&env),
        Some(&env.digest()),
    )
    .unwrap();
    env.hub.clear_requests();
    fetch(&env, &off, &url(&env), Some(&env.digest())).unwrap();
    assert!(env.hub.requests().is_empty());
}

/// The one `download` narration of a fetch.
fn download_narration(capture: &CaptureAdapter) -> CapturedNarration {
    let starts: Vec<_> = capture
        .captured()
        .into_iter()
        .filter(|n| n.action == actions::DOWNLOAD)
        .collect();
    assert_eq!(starts.len(), 1, "one download narration: {starts:#?}");
    starts.into_iter().next().unwrap_or_else(|| unreachable!())
}

#[test]
fn the_download_narration_has_the_size_from_content_length() {
    // A URL has no metadata to promise a size: it comes from the GET.
    let env = Env::new();
    let capture = CaptureAdapter::install();
    fetch(
        &env,
        &fetcher(HttpsConfig::default()),
        &url(&env),
        Some(&env.digest()),
    )
    .unwrap();
    let started = download_narration(&capture);
    assert_eq!(started.total_bytes, Some(SIZE as u64));
    assert!(
        started.human.contains(&human_bytes(SIZE as u64)) && !started.human.contains("unknown"),
        "{}",
        started.human
    );
}

#[test]
fn a_resumed_download_has_the_size_from_content_range() {
    let env = Env::new();
    env.hub
        .inject(Fault::new(FaultKind::DropAfter(700_000)).on(Listener::Cdn));
    let one_shot = HttpsFetcher::new(HttpsConfig {
        retry: RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::quick()
        },
        ..HttpsConfig::default()
    });
    fetch(&env, &one_shot, &url(&env), Some(&env.digest())).unwrap_err();
    env.hub.clear_requests();
    let capture = CaptureAdapter::install();
    fetch(
        &env,
        &fetcher(HttpsConfig::default()),
        &url(&env),
        Some(&env.digest()),
    )
    .unwrap();
    let ranged = env
        .hub
        .requests()
        .into_iter()
        .any(|r| r.path == env.cdn_path() && r.range.is_some());
    assert!(ranged, "the second fetch resumed with a Range request");
    let started = download_narration(&capture);
    assert!(started.human.starts_with("Resuming"), "{}", started.human);
    assert_eq!(started.total_bytes, Some(SIZE as u64));
}

#[test]
fn a_large_file_of_unknown_size_is_split_once_its_first_answer_tells_the_size() {
    use model_provisioner::ParallelPolicy;
    const MIB: u64 = 1 << 20;
    let env = Env::new();
    // Each connection crawls (2 MiB/s): the stream is far slower than the
    // hash, and the size (no metadata over https) comes from its 206.
    env.hub.limit_connection_rate(Some(2 * MIB));
    let f = fetcher(HttpsConfig {
        parallel: ParallelPolicy {
            connections: 4,
            min_size: SIZE as u64 / 2,
            chunk_size: SIZE as u64 / 16,
            stream_first: true,
        },
        ..HttpsConfig::default()
    });
    let digest = env.digest();
    let got = fetch(&env, &f, &url(&env), Some(&digest)).unwrap();
    assert_eq!(std::fs::read(&got.path).unwrap(), env.weights());
    let gets: Vec<_> = env
        .hub
        .requests()
        .into_iter()
        .filter(|r| r.listener == Listener::Cdn && r.method == "GET")
        .collect();
    assert_eq!(gets[0].range.as_deref(), Some("bytes=0-"), "{gets:?}");
    assert!(
        gets.len() > 2 && gets[1..].iter().all(|r| r.status == 206),
        "the rest came over ranged pieces: {gets:?}"
    );
}
