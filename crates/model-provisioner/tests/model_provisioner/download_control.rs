//! Control over a running download: a cancel stops it at any wait (the
//! body of one stream or of parallel pieces, a retry's back-off, a blob
//! lock), keeps what arrived and its state, and the next fetch resumes
//! without asking for those bytes again; a silent or trickling body ends
//! as `stalled`; progress is told by time and as typed values; the resume
//! state file and free space are checked; plain http never leaves
//! loopback through a redirect; a huge header is named. All against the
//! stand-in's request log.

use crate::hf_support::{Env, SIZE, data};
use hub_standin::{Fault, FaultKind, FileSpec, Hub, Listener, RequestRecord};
use model_provisioner::actions;
use model_provisioner::file_lock::{self, LockWait};
use model_provisioner::hf::{HfError, HfFetcher, ParallelPolicy, RetryPolicy, StallPolicy};
use model_provisioner::https::{HttpsConfig, HttpsFetcher};
use model_provisioner::{
    Cancel, Digest, DownloadError, ErrorKind, FetchContext, Fetched, Fetcher, ModelRef, Progress,
    ProgressObserver, ProgressReporter, ProgressStep, ProvisionError,
};
use narration_core::CaptureAdapter;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const REF: &str = "hf:org/model/model-Q4_K_M.gguf";
const KIB: u64 = 1 << 10;
const MIB: u64 = 1 << 20;

/// Typed progress reports as they came.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<Progress>>>);

impl Seen {
    fn all(&self) -> Vec<Progress> {
        self.0.lock().unwrap().clone()
    }
}

/// A context for `env` whose observer records every report in `seen` and
/// cancels `cancel` once `when` holds for one.
fn ctx(
    env: &Env,
    cancel: &Cancel,
    seen: &Seen,
    when: impl Fn(&Progress) -> bool + Send + Sync + 'static,
) -> FetchContext {
    let (c, s) = (cancel.clone(), seen.clone());
    let observer: Arc<dyn ProgressObserver> = Arc::new(move |p: &Progress| {
        s.0.lock().unwrap().push(p.clone());
        if when(p) {
            c.cancel();
        }
    });
    FetchContext {
        cancel: cancel.clone(),
        progress: ProgressReporter::new(Some(observer), None, None, "model"),
        ..env.ctx()
    }
}

fn fetch(f: &HfFetcher, reference: &str, ctx: &FetchContext) -> Result<Fetched, ProvisionError> {
    f.fetch(&ModelRef::parse(reference).unwrap(), None, ctx)
}

fn assert_cancelled(err: &ProvisionError) {
    assert_eq!(err.kind(), ErrorKind::Cancelled, "{err:?}");
    assert!(
        matches!(
            err,
            ProvisionError::Hub {
                source: HfError::Transport(DownloadError::Cancelled),
                ..
            }
        ),
        "{err:?}"
    );
}

/// The CDN GETs of `path`.
fn cdn_gets(hub: &Hub, path: &str) -> Vec<RequestRecord> {
    hub.requests()
        .into_iter()
        .filter(|r| r.listener == Listener::Cdn && r.method == "GET" && r.path == path)
        .collect()
}

/// `bytes=S-E` → `[S, E + 1)`; `bytes=S-` → `[S, len)`.
fn range_of(r: &RequestRecord, len: u64) -> (u64, u64) {
    let spec = r.range.as_deref().and_then(|v| v.strip_prefix("bytes="));
    let (s, e) = spec.and_then(|s| s.split_once('-')).expect("a bytes range");
    let end = if e.is_empty() {
        len
    } else {
        e.parse::<u64>().unwrap() + 1
    };
    (s.parse().unwrap(), end)
}

/// No request reaches the stand-in for a while after a fetch returned.
fn assert_quiet_after_return(hub: &Hub) {
    let before = hub.requests().len();
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(
        hub.requests().len(),
        before,
        "a request went out after the fetch returned"
    );
}

#[test]
fn a_stream_cancelled_on_a_silent_socket_keeps_its_partial_and_the_resume_sends_only_the_rest() {
    within(Duration::from_secs(60), || {
        let env = Env::new();
        let path = env.cdn_path();
        // 64 KiB, then a socket that stays silent far past every timeout
        // of the test: only a read that looks at the token ends.
        env.hub.inject(
            Fault::new(FaultKind::Slow {
                before_headers: Duration::ZERO,
                per_chunk: Duration::from_secs(600),
            })
            .on(Listener::Cdn),
        );
        let fetcher = HfFetcher::new(
            env.config()
                .with_read_timeout(Duration::from_secs(600))
                .with_stall(StallPolicy {
                    idle: Duration::from_secs(600),
                    ..StallPolicy::default()
                }),
        );
        let (cancel, seen) = (Cancel::new(), Seen::default());
        let c = ctx(&env, &cancel, &seen, |p| {
            p.step == ProgressStep::Download && p.done >= 64 * KIB
        });
        let err = fetch(&fetcher, REF, &c).unwrap_err();
        assert_cancelled(&err);
        assert_quiet_after_return(&env.hub);
        let partial = env
            .repo_dir()
            .join("blobs")
            .join(format!("{}.incomplete", env.weights_spec().sha256()));
        let kept = std::fs::metadata(&partial)
            .expect("the partial is kept")
            .len();
        assert_eq!(kept, 64 * KIB, "what arrived is kept");
        assert_eq!(
            std::fs::read(&partial).unwrap(),
            env.weights()[..kept as usize]
        );

        env.hub.clear_requests();
        let got = env.fetch(REF).unwrap();
        assert_eq!(std::fs::read(&got.path).unwrap(), env.weights());
        let gets = cdn_gets(&env.hub, &path);
        assert_eq!(gets.len(), 1, "{gets:?}");
        assert_eq!(gets[0].range.as_deref(), Some(&*format!("bytes={kept}-")));
        assert_eq!(got.bytes_transferred, SIZE as u64 - kept, "only the rest");
    });
}

/// A Hub holding `org/big/big.gguf` of `len` bytes.
fn big(len: u64) -> (Env, Vec<u8>) {
    let hub = Hub::start().expect("stand-in hub starts");
    let bytes = data(len as usize, 9);
    let commit = hub.commit(
        "org/big",
        "main",
        vec![("big.gguf", FileSpec::lfs(bytes.clone()))],
    );
    let env = Env {
        hub,
        cache: tempfile::tempdir().unwrap(),
        work: tempfile::tempdir().unwrap(),
        commit,
    };
    (env, bytes)
}

/// Splits from the first byte into `chunk` pieces over `connections`.
fn parallel(env: &Env, connections: usize, chunk: u64) -> HfFetcher {
    HfFetcher::new(env.config().with_parallel(ParallelPolicy {
        connections,
        min_size: MIB,
        chunk_size: chunk,
        stream_first: false,
    }))
}

fn big_partial(env: &Env, bytes: &[u8]) -> PathBuf {
    let sha = FileSpec::lfs(bytes.to_vec()).sha256();
    env.cache
        .path()
        .join("models--org--big/blobs")
        .join(format!("{sha}.incomplete"))
}

fn parts_of(partial: &Path) -> PathBuf {
    let mut p = partial.as_os_str().to_owned();
    p.push(".parts");
    p.into()
}

/// The finished ranges a state file records.
fn saved_ranges(partial: &Path) -> Vec<(u64, u64)> {
    let text = std::fs::read(parts_of(partial)).expect("the state file is kept");
    let v: serde_json::Value = serde_json::from_slice(&text).unwrap();
    serde_json::from_value(v["done"].clone()).unwrap()
}

#[test]
fn a_cancelled_parallel_transfer_stops_every_piece_and_the_resume_asks_for_no_saved_byte() {
    let len = 8 * MIB;
    let (env, bytes) = big(len);
    let cdn = Hub::cdn_path(&FileSpec::lfs(bytes.clone()));
    env.hub.limit_connection_rate(Some(MIB));
    let (cancel, seen) = (Cancel::new(), Seen::default());
    let c = ctx(&env, &cancel, &seen, |p| {
        p.step == ProgressStep::Download && p.done >= 2 * MIB
    });
    let err = fetch(&parallel(&env, 4, 512 * KIB), "hf:org/big/big.gguf", &c).unwrap_err();
    assert_cancelled(&err);
    assert_quiet_after_return(&env.hub);
    let partial = big_partial(&env, &bytes);
    let done = saved_ranges(&partial);
    let covered: u64 = done.iter().map(|(s, e)| e - s).sum();
    assert!(covered >= MIB, "the pieces' bytes were saved: {done:?}");
    let file = std::fs::read(&partial).unwrap();
    for &(s, e) in &done {
        assert!(file[s as usize..e as usize] == bytes[s as usize..e as usize]);
    }

    env.hub.limit_connection_rate(None);
    env.hub.clear_requests();
    let got = fetch(
        &parallel(&env, 4, 512 * KIB),
        "hf:org/big/big.gguf",
        &env.ctx(),
    )
    .unwrap();
    assert!(std::fs::read(&got.path).unwrap() == bytes);
    for r in cdn_gets(&env.hub, &cdn) {
        let (a, b) = range_of(&r, len);
        assert!(
            done.iter().all(|&(s, e)| b <= s || a >= e),
            "{a}-{b} asks again for bytes the state file had: {done:?}"
        );
    }
}

#[test]
fn a_cancel_ends_a_retry_back_off_and_the_next_fetch_succeeds() {
    within(Duration::from_secs(60), || {
        let env = Env::new();
        let path = env.cdn_path();
        // A back-off of ten minutes: only a wait that hears the token ends.
        env.hub.inject(
            Fault::new(FaultKind::Status {
                status: 503,
                retry_after: Some(600),
            })
            .on(Listener::Cdn),
        );
        let fetcher = HfFetcher::new(env.config().with_retry(RetryPolicy {
            max_delay: Duration::from_secs(3600),
            max_total_wait: Duration::from_secs(3600),
            ..RetryPolicy::quick()
        }));
        let cancel = Cancel::new();
        let c = FetchContext {
            cancel: cancel.clone(),
            ..env.ctx()
        };
        let err = std::thread::scope(|s| {
            s.spawn(|| {
                while cdn_gets(&env.hub, &path).is_empty() {
                    std::thread::sleep(Duration::from_millis(10));
                }
                // The 503 is answered: the fetch now backs off.
                std::thread::sleep(Duration::from_millis(100));
                cancel.cancel();
            });
            fetch(&fetcher, REF, &c).unwrap_err()
        });
        assert_cancelled(&err);
        assert_quiet_after_return(&env.hub);
        assert_eq!(
            cdn_gets(&env.hub, &path).len(),
            1,
            "no retry after the cancel"
        );
        let got = env.fetch(REF).unwrap();
        assert_eq!(std::fs::read(&got.path).unwrap(), env.weights());
    });
}

#[test]
fn a_cancel_ends_a_lock_wait_and_the_fetch_after_the_holder_left_succeeds() {
    let env = Env::new();
    let lock_path = env
        .cache
        .path()
        .join(".locks/models--org--model")
        .join(format!("{}.lock", env.weights_spec().sha256()));
    let held = file_lock::acquire(&lock_path, LockWait::default(), &mut |_| {}).unwrap();
    let mut config = env.config();
    config.lock_wait = LockWait {
        notice_after: Duration::ZERO,
        timeout: Duration::from_secs(20),
    };
    let (cancel, seen) = (Cancel::new(), Seen::default());
    let c = ctx(&env, &cancel, &seen, |p| p.step == ProgressStep::LockWait);
    let err = fetch(&HfFetcher::new(config), REF, &c).unwrap_err();
    assert_cancelled(&err);
    assert!(
        seen.all().iter().any(|p| p.step == ProgressStep::LockWait),
        "the wait was reported as typed progress"
    );
    assert!(cdn_gets(&env.hub, &env.cdn_path()).is_empty());
    held.release();
    let got = env.fetch(REF).unwrap();
    assert_eq!(std::fs::read(&got.path).unwrap(), env.weights());
}

/// Runs `test` on its own thread; a test that never ends fails after
/// `limit` (a guard against hangs, not a speed check).
fn within(limit: Duration, test: impl FnOnce() + Send + 'static) {
    let (tx, rx) = std::sync::mpsc::channel();
    let t = std::thread::spawn(move || {
        test();
        let _ = tx.send(());
    });
    match rx.recv_timeout(limit) {
        Ok(()) => {}
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            if let Err(p) = t.join() {
                std::panic::resume_unwind(p);
            }
        }
        Err(_) => panic!("still running after {limit:?}: the transfer never ended"),
    }
}

fn stalling(env: &Env, stall: StallPolicy, attempts: u32) -> HfFetcher {
    HfFetcher::new(env.config().with_stall(stall).with_retry(RetryPolicy {
        max_attempts: attempts,
        ..RetryPolicy::quick()
    }))
}

#[test]
fn a_silent_body_is_retried_resuming_then_fails_as_stalled() {
    within(Duration::from_secs(120), || {
        let env = Env::new();
        let path = env.cdn_path();
        // 64 KiB, then silence far past every timeout of the test.
        env.hub.inject(
            Fault::new(FaultKind::Slow {
                before_headers: Duration::ZERO,
                per_chunk: Duration::from_secs(600),
            })
            .on(Listener::Cdn)
            .times(u32::MAX),
        );
        let stall = StallPolicy {
            idle: Duration::from_millis(400),
            ..StallPolicy::default()
        };
        let capture = CaptureAdapter::install();
        let err = fetch(&stalling(&env, stall, 3), REF, &env.ctx()).unwrap_err();
        assert_eq!(err.error_kind(), "stalled", "{err}");
        assert_eq!(err.kind(), ErrorKind::Network);
        assert!(err.to_string().contains("stalled"), "{err}");
        let gets = cdn_gets(&env.hub, &path);
        assert_eq!(gets.len(), 3, "{gets:?}");
        assert_eq!(
            gets[1].range.as_deref(),
            Some("bytes=65536-"),
            "the retry resumes"
        );
        assert_eq!(
            capture
                .captured()
                .iter()
                .filter(|n| n.action == actions::DOWNLOAD_RETRY)
                .count(),
            2
        );
    });
}

#[test]
fn a_trickle_under_the_minimum_rate_fails_as_stalled() {
    within(Duration::from_secs(120), || {
        let env = Env::new();
        // 1000 bytes/s, for ever: days for this file.
        env.hub.inject(
            Fault::new(FaultKind::Trickle {
                bytes: 100,
                every: Duration::from_millis(100),
            })
            .on(Listener::Cdn)
            .times(u32::MAX),
        );
        let stall = StallPolicy {
            idle: Duration::from_secs(30),
            min_rate: 4 * KIB,
            window: Duration::from_secs(1),
        };
        let err = fetch(&stalling(&env, stall, 2), REF, &env.ctx()).unwrap_err();
        assert_eq!(err.error_kind(), "stalled", "{err}");
    });
}

#[test]
fn progress_is_narrated_by_time_and_reported_as_monotonic_values_ending_at_the_total() {
    let env = Env::new();
    // Nothing for 3 s, then 2 MiB, then nothing for 3 s, then the rest.
    env.hub.inject(
        Fault::new(FaultKind::Trickle {
            bytes: 2 << 20,
            every: Duration::from_secs(3),
        })
        .on(Listener::Cdn),
    );
    let (cancel, seen) = (Cancel::new(), Seen::default());
    let c = ctx(&env, &cancel, &seen, |_| false);
    let capture = CaptureAdapter::install();
    let got = fetch(&env.fetcher(), REF, &c).unwrap();
    assert_eq!(std::fs::read(&got.path).unwrap(), env.weights());
    let told: Vec<Option<u64>> = capture
        .captured()
        .iter()
        .filter(|n| n.action == actions::DOWNLOAD_PROGRESS)
        .map(|n| n.bytes)
        .collect();
    assert!(
        told.contains(&Some(0)),
        "progress was narrated while no byte had arrived yet: {told:?}"
    );
    let reports: Vec<Progress> = seen
        .all()
        .into_iter()
        .filter(|p| p.step == ProgressStep::Download)
        .collect();
    assert!(reports.len() >= 3, "{reports:?}");
    assert_eq!(reports[0].done, 0);
    assert!(
        reports.windows(2).all(|w| w[0].done <= w[1].done),
        "monotonic"
    );
    let last = reports.last().unwrap();
    assert!(last.finished);
    assert_eq!((last.done, last.total), (SIZE as u64, Some(SIZE as u64)));
    assert_eq!(reports.iter().filter(|p| p.finished).count(), 1);
}

/// Writes a state file for `partial` (made `len` bytes long) as only a
/// forger would: `done` verbatim, the rest matching the partial.
fn forge_state(partial: &Path, len: u64, done: &str) {
    std::fs::create_dir_all(partial.parent().unwrap()).unwrap();
    let file = std::fs::File::create(partial).unwrap();
    file.set_len(len).unwrap();
    let meta = file.metadata().unwrap();
    let text = format!(
        r#"{{"version":1,"total":{len},"done":{done},"hashed":0,"partial_len":{len},"partial_inode":{},"partial_mtime":[{},{}]}}"#,
        meta.ino(),
        meta.mtime(),
        meta.mtime_nsec()
    );
    std::fs::write(parts_of(partial), text).unwrap();
}

#[test]
fn a_state_file_with_hundreds_of_ranges_starts_over_instead_of_asking_for_each() {
    let len = 4 * MIB;
    let (env, bytes) = big(len);
    let cdn = Hub::cdn_path(&FileSpec::lfs(bytes.clone()));
    let partial = big_partial(&env, &bytes);
    let done: Vec<String> = (0..300u64)
        .map(|i| format!("[{},{}]", i * 2, i * 2 + 1))
        .collect();
    forge_state(&partial, len, &format!("[{}]", done.join(",")));
    let got = fetch(&parallel(&env, 2, MIB), "hf:org/big/big.gguf", &env.ctx()).unwrap();
    assert!(std::fs::read(&got.path).unwrap() == bytes);
    let gets = cdn_gets(&env.hub, &cdn);
    assert!(gets.len() <= 5, "one GET per piece: {}", gets.len());
}

#[test]
fn inverted_or_out_of_file_ranges_start_over_and_fetch_the_file_once() {
    for done in ["[[3000000,1000]]", "[[0,1000],[500,9000000]]"] {
        let len = 4 * MIB;
        let (env, bytes) = big(len);
        let cdn = Hub::cdn_path(&FileSpec::lfs(bytes.clone()));
        forge_state(&big_partial(&env, &bytes), len, done);
        let got = fetch(&parallel(&env, 2, MIB), "hf:org/big/big.gguf", &env.ctx()).unwrap();
        assert!(std::fs::read(&got.path).unwrap() == bytes, "{done}");
        let asked: u64 = cdn_gets(&env.hub, &cdn)
            .iter()
            .map(|r| {
                let (a, b) = range_of(r, len);
                b - a
            })
            .sum();
        assert_eq!(asked, len, "{done}: the file once, nothing more");
    }
}

#[test]
fn a_directory_in_place_of_the_state_file_is_replaced() {
    let len = 4 * MIB;
    let (env, bytes) = big(len);
    let partial = big_partial(&env, &bytes);
    std::fs::create_dir_all(parts_of(&partial).join("junk")).unwrap();
    std::fs::write(&partial, b"stale").unwrap();
    let got = fetch(&parallel(&env, 2, MIB), "hf:org/big/big.gguf", &env.ctx()).unwrap();
    assert!(std::fs::read(&got.path).unwrap() == bytes);
    assert!(!parts_of(&partial).exists());
}

/// A tmpfs of `size` mounted at `dir`, unmounted on drop.
struct SmallDisk(PathBuf);

impl SmallDisk {
    fn mount(dir: &Path, size: &str) -> Option<Self> {
        std::fs::create_dir_all(dir).ok()?;
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Self(dir.to_path_buf()))
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_file_larger_than_the_free_space_fails_before_any_byte_naming_both() {
    let (env, bytes) = big(6 * MIB);
    let cdn = Hub::cdn_path(&FileSpec::lfs(bytes.clone()));
    let dir = env.cache.path().join("small");
    let Some(_disk) = SmallDisk::mount(&dir, "4m") else {
        eprintln!("skipped: cannot mount a tmpfs here (needs root)");
        return;
    };
    let f = HfFetcher::new(env.config().with_cache_dir(&dir));
    let err = fetch(&f, "hf:org/big/big.gguf", &env.ctx()).unwrap_err();
    assert_eq!(err.error_kind(), "no-space", "{err}");
    assert_eq!(err.kind(), ErrorKind::Io);
    let text = err.to_string();
    assert!(
        text.contains(".incomplete")
            && text.contains("6.0 MiB")
            && text.contains("provision cache prune"),
        "{text}"
    );
    assert!(cdn_gets(&env.hub, &cdn).is_empty(), "no byte was asked for");
}

fn https() -> HttpsFetcher {
    HttpsFetcher::new(HttpsConfig {
        retry: RetryPolicy::quick(),
        ..HttpsConfig::default()
    })
}

fn fetch_url(env: &Env, url: &str) -> Result<Fetched, ProvisionError> {
    let digest = Digest::from_sha256_hex(&env.weights_spec().sha256()).unwrap();
    https().fetch(&ModelRef::parse(url).unwrap(), Some(&digest), &env.ctx())
}

#[test]
fn a_loopback_http_url_never_redirects_off_the_machine() {
    let env = Env::new();
    env.hub.inject(
        Fault::new(FaultKind::RedirectTo(
            "http://models.example.invalid/m.gguf".into(),
        ))
        .on(Listener::Cdn),
    );
    let url = format!("{}{}", env.hub.cdn_endpoint(), env.cdn_path());
    let err = fetch_url(&env, &url).unwrap_err();
    assert_eq!(err.error_kind(), "insecure-url", "{err}");
    assert!(err.to_string().contains("models.example.invalid"), "{err}");
}

#[test]
fn a_huge_response_header_is_named_as_such() {
    let env = Env::new();
    env.hub
        .inject(Fault::new(FaultKind::HugeHeader(4 << 20)).on(Listener::Cdn));
    let url = format!("{}{}", env.hub.cdn_endpoint(), env.cdn_path());
    let err = fetch_url(&env, &url).unwrap_err();
    assert!(err.to_string().contains("header is too large"), "{err}");
}

#[test]
fn a_cancel_ends_a_wait_for_the_servers_answer() {
    within(Duration::from_secs(60), || {
        let env = Env::new();
        let path = env.cdn_path();
        // The CDN reads the GET, then answers in ten minutes.
        env.hub.inject(
            Fault::new(FaultKind::Slow {
                before_headers: Duration::from_secs(600),
                per_chunk: Duration::ZERO,
            })
            .on(Listener::Cdn),
        );
        let fetcher = HfFetcher::new(env.config().with_read_timeout(Duration::from_secs(600)));
        let cancel = Cancel::new();
        let c = FetchContext {
            cancel: cancel.clone(),
            ..env.ctx()
        };
        let err = std::thread::scope(|s| {
            s.spawn(|| {
                while cdn_gets(&env.hub, &path).is_empty() {
                    std::thread::sleep(Duration::from_millis(10));
                }
                cancel.cancel();
            });
            fetch(&fetcher, REF, &c).unwrap_err()
        });
        assert_cancelled(&err);
        assert_quiet_after_return(&env.hub);
        assert_eq!(cdn_gets(&env.hub, &path).len(), 1);
        let got = env.fetch(REF).unwrap();
        assert_eq!(std::fs::read(&got.path).unwrap(), env.weights());
    });
}
