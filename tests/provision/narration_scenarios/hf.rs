//! Scenarios of `hf:` refs: the Hub fetcher against the stand-in Hub,
//! cold, cached, offline, resumed, and under each fault it can inject.

use super::{Captured, capture};
use hub_standin::{Fault, FaultKind, FileSpec, Hub, Listener};
use model_provisioner::hf::{HfConfig, HfFetcher, RetryPolicy, StallPolicy};
use model_provisioner::{ModelProvisioner, gguf};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

const REF: &str = "hf:org/model/model.gguf";

/// A stand-in Hub serving the tiny GGUF as `org/model/model.gguf` (LFS:
/// the HEAD goes to the Hub, the body comes from its CDN listener).
struct HubSetup {
    hub: Hub,
    dir: tempfile::TempDir,
    content: Vec<u8>,
}

impl HubSetup {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let model = dir.path().join("tiny.gguf");
        gguf::write_tiny_llama(&model, gguf::TINY_LLAMA_SEED).expect("tiny model written");
        let content = std::fs::read(&model).expect("tiny model read");
        let hub = Hub::start().expect("stand-in hub starts");
        hub.commit(
            "org/model",
            "main",
            vec![("model.gguf", FileSpec::lfs(content.clone()))],
        );
        Self { hub, dir, content }
    }

    fn cache(&self) -> PathBuf {
        self.dir.path().join("cache")
    }

    /// The fetcher's settings: this Hub, this cache, quick retries.
    fn config(&self) -> HfConfig {
        HfConfig::from_lookup(|_| None)
            .with_endpoint(&self.hub.endpoint())
            .with_cache_dir(self.cache())
            .with_retry(RetryPolicy::quick())
            .with_read_timeout(Duration::from_secs(5))
    }

    /// A provisioner with the Hub fetcher; every one built here shares
    /// the cache and the catalog.
    fn provisioner(&self, config: HfConfig, offline: bool) -> ModelProvisioner {
        ModelProvisioner::builder(self.cache())
            .fetcher(Arc::new(HfFetcher::new(config)))
            .offline(offline)
            .build()
            .expect("provisioner builds")
    }

    fn ensure_with(&self, config: HfConfig, offline: bool, model_ref: &str) -> Captured {
        let provisioner = self.provisioner(config, offline);
        capture(|| provisioner.ensure_present_str(model_ref, None))
    }

    fn ensure(&self) -> Captured {
        self.ensure_with(self.config(), false, REF)
    }

    /// A first, uncaptured ensure that downloads the model.
    fn ensure_once(&self) {
        self.provisioner(self.config(), false)
            .ensure_present_str(REF, None)
            .expect("the first ensure succeeds");
    }

    /// The cached blob's partial file.
    fn incomplete(&self) -> PathBuf {
        let sha = FileSpec::lfs(self.content.clone()).sha256();
        self.cache()
            .join("models--org--model/blobs")
            .join(format!("{sha}.incomplete"))
    }

    /// Apply `fault` to the body's GET, once, then ensure.
    fn ensure_with_cdn_fault(&self, kind: FaultKind) -> Captured {
        self.hub.inject(cdn(kind));
        self.ensure()
    }
}

fn cdn(kind: FaultKind) -> Fault {
    Fault::new(kind).on(Listener::Cdn).method("GET")
}

fn status(status: u16) -> FaultKind {
    FaultKind::Status {
        status,
        retry_after: None,
    }
}

pub fn cold() -> Captured {
    HubSetup::new().ensure()
}

pub fn cache_hit() -> Captured {
    let s = HubSetup::new();
    s.ensure_once();
    s.ensure()
}

pub fn resume_after_kill() -> Captured {
    let s = HubSetup::new();
    // What a process killed mid-download leaves: the first bytes.
    let partial = s.incomplete();
    std::fs::create_dir_all(partial.parent().expect("blobs dir")).expect("blobs dir created");
    std::fs::write(&partial, &s.content[..s.content.len() / 2]).expect("partial written");
    let captured = s.ensure();
    assert!(
        captured
            .iter()
            .any(|n| n.action == "download" && n.human.starts_with("Resuming")),
        "hf resume after a kill: the download did not resume from the partial file"
    );
    captured
}

pub fn offline_hit() -> Captured {
    let s = HubSetup::new();
    s.ensure_once();
    s.ensure_with(s.config(), true, REF)
}

/// Flips one byte of the cached blob behind the provisioner's back.
fn tamper(s: &HubSetup) {
    let sha = FileSpec::lfs(s.content.clone()).sha256();
    let blob = s.cache().join("models--org--model/blobs").join(sha);
    let mut bytes = std::fs::read(&blob).expect("cached blob read");
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    std::fs::write(&blob, bytes).expect("cached blob written");
}

pub fn tampered_blob() -> Captured {
    let s = HubSetup::new();
    s.ensure_once();
    tamper(&s);
    s.ensure()
}

pub fn tampered_blob_offline() -> Captured {
    let s = HubSetup::new();
    s.ensure_once();
    tamper(&s);
    s.ensure_with(s.config(), true, REF)
}

pub fn offline_miss() -> Captured {
    let s = HubSetup::new();
    s.ensure_with(s.config(), true, REF)
}

pub fn status_503_then_success() -> Captured {
    HubSetup::new().ensure_with_cdn_fault(status(503))
}

pub fn head_503_then_success() -> Captured {
    let s = HubSetup::new();
    s.hub
        .inject(Fault::new(status(503)).on(Listener::Hub).method("HEAD"));
    s.ensure()
}

pub fn retries_exhausted() -> Captured {
    let s = HubSetup::new();
    s.hub.inject(cdn(status(502)).times(u32::MAX));
    s.ensure()
}

pub fn wrong_bytes() -> Captured {
    HubSetup::new().ensure_with_cdn_fault(FaultKind::WrongBytes)
}

pub fn repo_not_found() -> Captured {
    let s = HubSetup::new();
    s.ensure_with(s.config(), false, "hf:org/absent/model.gguf")
}

pub fn reset_mid_body() -> Captured {
    HubSetup::new().ensure_with_cdn_fault(FaultKind::DropAfter(200_000))
}

pub fn truncated_body() -> Captured {
    HubSetup::new().ensure_with_cdn_fault(FaultKind::Truncate(200_000))
}

pub fn range_ignored() -> Captured {
    let s = HubSetup::new();
    // Cut off mid-body, then the resume's Range is answered with all of it.
    s.hub.inject(cdn(FaultKind::DropAfter(200_000)));
    s.hub.inject(cdn(FaultKind::IgnoreRange));
    s.ensure()
}

pub fn slow_headers() -> Captured {
    let s = HubSetup::new();
    s.hub.inject(cdn(FaultKind::Slow {
        before_headers: Duration::from_millis(1500),
        per_chunk: Duration::ZERO,
    }));
    let config = s.config().with_read_timeout(Duration::from_millis(500));
    s.ensure_with(config, false, REF)
}

pub fn stalled() -> Captured {
    let s = HubSetup::new();
    // Headers, then silence far past the stall limit, on every GET.
    s.hub.inject(
        cdn(FaultKind::Trickle {
            bytes: 1,
            every: Duration::from_secs(600),
        })
        .times(u32::MAX),
    );
    let config = s.config().with_stall(StallPolicy {
        idle: Duration::from_millis(300),
        ..StallPolicy::default()
    });
    s.ensure_with(config, false, REF)
}

pub fn redirect_loop() -> Captured {
    let s = HubSetup::new();
    s.hub.inject(
        Fault::new(FaultKind::RedirectLoop)
            .on(Listener::Hub)
            .times(u32::MAX),
    );
    s.ensure()
}

pub fn no_repo_commit() -> Captured {
    let s = HubSetup::new();
    s.hub.inject(
        Fault::new(FaultKind::NoRepoCommit)
            .on(Listener::Hub)
            .times(u32::MAX),
    );
    s.ensure()
}

pub fn hub_unreachable_fallback() -> Captured {
    let s = HubSetup::new();
    s.ensure_once();
    s.hub
        .inject(Fault::new(status(503)).on(Listener::Hub).times(u32::MAX));
    s.ensure()
}

/// Another process holds the blob's lock for a while, then lets go: the
/// wait is told once, then the file is downloaded.
pub fn lock_wait() -> Captured {
    use model_provisioner::file_lock::{self, LockWait};
    let s = HubSetup::new();
    let sha = FileSpec::lfs(s.content.clone()).sha256();
    let lock = s
        .cache()
        .join(".locks/models--org--model")
        .join(format!("{sha}.lock"));
    let held = file_lock::acquire(&lock, LockWait::default(), &mut |_| {}).expect("lock taken");
    let mut config = s.config();
    config.lock_wait = LockWait {
        notice_after: Duration::from_millis(20),
        timeout: Duration::from_secs(60),
    };
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        held.release();
    });
    let captured = s.ensure_with(config, false, REF);
    release.join().expect("the holder lets go");
    captured
}

/// Waits (bounded) until the body's GET reached the CDN.
fn wait_for_body_get(s: &HubSetup) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while s
        .hub
        .count("GET", &Hub::cdn_path(&FileSpec::lfs(s.content.clone())))
        == 0
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the download never started"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// The body comes in over about two seconds.
fn slow_body(s: &HubSetup) {
    s.hub
        .limit_connection_rate(Some((s.content.len() / 2) as u64));
}

/// Cancelled once the body's GET reached the CDN: the download stops
/// (or, where the transfer does not watch the token, the lifecycle stops
/// right after it).
pub fn cancelled_download() -> Captured {
    use model_provisioner::{Cancel, EnsureOptions};
    let s = HubSetup::new();
    slow_body(&s);
    let cancel = Cancel::new();
    let opts = EnsureOptions {
        cancel: cancel.clone(),
        ..Default::default()
    };
    let provisioner = s.provisioner(s.config(), false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            wait_for_body_get(&s);
            cancel.cancel();
        });
        capture(|| provisioner.ensure_present_str_with(REF, None, &opts))
    })
}

/// A first ensure (another thread, not captured) downloads the model
/// slowly; the captured one waits for it and is cancelled as its wait
/// begins (the observer cancels on the lock-wait report).
pub fn cancelled_lock_wait() -> Captured {
    use model_provisioner::{Cancel, EnsureOptions, Progress, ProgressObserver, ProgressStep};
    let s = HubSetup::new();
    slow_body(&s);
    let cancel = Cancel::new();
    let canceller = cancel.clone();
    let observer: Arc<dyn ProgressObserver> = Arc::new(move |p: &Progress| {
        if p.step == ProgressStep::LockWait {
            canceller.cancel();
        }
    });
    let opts = EnsureOptions {
        cancel,
        progress: Some(observer),
        ..Default::default()
    };
    let provisioner = s.provisioner(s.config(), false);
    std::thread::scope(|scope| {
        scope.spawn(|| s.ensure_once());
        wait_for_body_get(&s);
        capture(|| provisioner.ensure_present_str_with(REF, None, &opts))
    })
}

/// A first ensure (another thread, not captured) downloads the model
/// slowly; the captured one waits for it, then finds it verified.
pub fn second_ensure_in_one_process() -> Captured {
    let s = HubSetup::new();
    slow_body(&s);
    std::thread::scope(|scope| {
        scope.spawn(|| s.ensure_once());
        wait_for_body_get(&s);
        s.ensure()
    })
}

/// The first ensure is a `provision model` process sharing the cache and
/// catalog; the captured one waits for it, then finds it verified.
pub fn second_ensure_in_another_process() -> Captured {
    let s = HubSetup::new();
    slow_body(&s);
    let mut first = std::process::Command::new(env!("CARGO_BIN_EXE_provision"))
        .args(["model", REF, "--cache-dir"])
        .arg(s.cache())
        .arg("--catalog")
        .arg(s.cache().join("catalog.sqlite"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", s.dir.path())
        .env("HF_ENDPOINT", s.hub.endpoint())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("provision starts");
    wait_for_body_get(&s);
    let captured = s.ensure();
    let status = first.wait().expect("provision runs");
    assert!(status.success(), "the first process failed");
    captured
}
