//! Cancelling an ensure through `EngineOptions::cancel`: while it waits for
//! the build lock, during a git clone, during the CMake build and during
//! the model step. Each returns `Cancelled` naming the step, leaves no
//! process of the tool's group behind, and the next ensure succeeds.

use crate::support::FakeTools;
use engine_provisioner::actions as ev;
use engine_provisioner::{
    EngineOptions, EngineProvisioner, LlamaCppSource, PoolConfig, PreparedEngine, ProvisionError,
};
use model_provisioner::file_lock::{self, LockWait};
use model_provisioner::{
    Cancel, Digest, ErrorKind, FetchContext, Fetched, Fetcher, FileFetcher, ModelRef, Progress,
    ProgressObserver, ProgressStep,
};
use narration_core::CaptureAdapter;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

/// Long enough for any of these ensures on a loaded machine; only there
/// so that a broken cancel fails the test instead of hanging it.
const HANG: Duration = Duration::from_secs(30);

/// Run `ensure_with` on another thread (as an orchestrator's task would),
/// narrating to this thread's dispatcher (a test's capture).
fn ensure_in_background(
    provider: LlamaCppSource,
    pool: PoolConfig,
    options: EngineOptions,
) -> Receiver<Result<PreparedEngine, ProvisionError>> {
    let (tx, rx) = mpsc::channel();
    let dispatch = tracing::dispatcher::get_default(|d| d.clone());
    std::thread::spawn(move || {
        tracing::dispatcher::with_default(&dispatch, || {
            let _ = tx.send(provider.ensure_with(&pool, &options));
        })
    });
    rx
}

/// Cancel, then the ensure's error (and how long it took to come back).
fn cancel_and_wait(
    cancel: &Cancel,
    rx: &Receiver<Result<PreparedEngine, ProvisionError>>,
) -> ProvisionError {
    let t = Instant::now();
    cancel.cancel();
    let result = rx
        .recv_timeout(HANG)
        .expect("the ensure did not return after its cancel");
    eprintln!("cancel to return: {} ms", t.elapsed().as_millis());
    result.expect_err("a cancelled ensure fails")
}

fn assert_cancelled_in(err: &ProvisionError, expected: &str) {
    match err {
        ProvisionError::Cancelled { pool_id, step } => {
            assert_eq!(pool_id, "fake-pool");
            assert_eq!(*step, expected, "{err}");
        }
        other => panic!("expected Cancelled in {expected}, got {other:?}"),
    }
    assert_eq!(err.kind(), ErrorKind::Cancelled);
    assert_eq!(err.error_kind(), "cancelled");
}

/// Gone, or a zombie (dead, waiting for its reaper).
fn is_dead(pid: i32) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let zombie = stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z'));
        if stat.is_empty() || zombie {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn assert_group_gone(fake: &FakeTools, name: &str) {
    let (tool, grandchild) = fake
        .pids(name, Duration::ZERO)
        .expect("the tool wrote its pids");
    assert!(is_dead(tool), "{name}: the tool (pid {tool}) still runs");
    assert!(
        is_dead(grandchild),
        "{name}: its grandchild (pid {grandchild}) still runs"
    );
}

/// Calls `on` for every report of `step` (from the ensure's thread).
fn on_step(step: ProgressStep, on: impl Fn(&Progress) + Send + Sync + 'static) -> EngineOptions {
    let observer: Arc<dyn ProgressObserver> = Arc::new(move |p: &Progress| {
        if p.step == step {
            on(p)
        }
    });
    EngineOptions {
        progress: Some(observer),
        ..EngineOptions::default()
    }
}

#[test]
fn cancel_while_waiting_for_the_build_lock_then_ensure_again() {
    let fake = FakeTools::new();
    let pool = fake.pool("v0", &[]);
    let held =
        file_lock::acquire(&fake.cache.join(".lock"), LockWait::default(), &mut |_| {}).unwrap();
    let provider = fake.provider().with_lock_wait(LockWait {
        notice_after: Duration::from_millis(20),
        timeout: Duration::from_secs(600),
    });
    let (waiting_tx, waiting) = mpsc::channel();
    let waiting_tx = std::sync::Mutex::new(waiting_tx);
    let options = on_step(ProgressStep::LockWait, move |_| {
        let _ = waiting_tx.lock().unwrap().send(());
    });
    let capture = CaptureAdapter::install();
    let rx = ensure_in_background(provider.clone(), pool.clone(), options.clone());
    waiting
        .recv_timeout(HANG)
        .expect("the ensure reports its lock wait");

    let err = cancel_and_wait(&options.cancel, &rx);
    assert_cancelled_in(&err, ev::LOCK_WAIT);
    let cancelled: Vec<_> = capture
        .captured()
        .into_iter()
        .filter(|n| n.actor == ev::ACTOR && n.action == ev::CANCELLED)
        .collect();
    assert_eq!(cancelled.len(), 1, "narrated once");
    assert_eq!(cancelled[0].error_kind.as_deref(), Some("cancelled"));
    assert!(
        cancelled[0].human.contains("lock-wait"),
        "{}",
        cancelled[0].human
    );
    assert!(fake.calls().is_empty(), "no tool ran: {:?}", fake.calls());

    held.release();
    provider.ensure(&pool).expect("the next ensure succeeds");
}

#[test]
fn cancel_during_git_clone_stops_git_and_its_children_then_ensure_again() {
    let fake = FakeTools::new();
    fake.fail("git.hang-clone");
    let pool = fake.pool("v0", &[]);
    let options = EngineOptions::default();
    let rx = ensure_in_background(fake.provider(), pool.clone(), options.clone());
    fake.pids("git-clone", HANG)
        .expect("the fake clone started");

    let err = cancel_and_wait(&options.cancel, &rx);
    assert_cancelled_in(&err, "git-clone");
    assert_group_gone(&fake, "git-clone");
    assert!(
        !fake.cache.join("src").exists(),
        "a half clone is never the checkout"
    );

    fake.heal("git.hang-clone");
    let engine = fake
        .provider()
        .ensure(&pool)
        .expect("the next ensure succeeds");
    assert_eq!(engine.commit, crate::support::C1);
}

#[test]
fn cancel_during_the_build_stops_the_build_group_and_the_next_ensure_builds() {
    let fake = FakeTools::new();
    fake.fail("cmake.slow-build");
    let pool = fake.pool("v0", &[]);
    let (building_tx, building) = mpsc::channel();
    let building_tx = std::sync::Mutex::new(building_tx);
    let options = on_step(ProgressStep::Build, move |p| {
        if p.done >= 3 {
            let _ = building_tx.lock().unwrap().send(());
        }
    });
    let rx = ensure_in_background(fake.provider(), pool.clone(), options.clone());
    building
        .recv_timeout(HANG)
        .expect("the build reports [3/600]");

    let err = cancel_and_wait(&options.cancel, &rx);
    assert_cancelled_in(&err, ev::CMAKE_BUILD);
    assert_group_gone(&fake, "cmake-build");
    assert!(
        !fake.cache.join("build.stamp").exists(),
        "a cancelled build leaves no stamp"
    );
    assert!(fake.cache.join("build").is_dir(), "the build dir is kept");

    fake.heal("cmake.slow-build");
    fake.clear();
    let engine = fake
        .provider()
        .ensure(&pool)
        .expect("the next ensure succeeds");
    assert_eq!(fake.configures().len(), 1, "configured again");
    assert!(
        fake.calls_of("cmake")
            .iter()
            .any(|c| c.starts_with("cmake --build")),
        "built again"
    );
    assert!(fake.cache.join("build.stamp").is_file());
    assert!(engine.binary_path.is_file());
}

/// A `file:` fetcher that waits for the ensure's cancel, as a download
/// would, and returns model-provisioner's `Cancelled`.
struct WaitsForCancel;

impl Fetcher for WaitsForCancel {
    fn schemes(&self) -> &'static [&'static str] {
        &["file"]
    }

    fn fetch(
        &self,
        model: &ModelRef,
        expected: Option<&Digest>,
        ctx: &FetchContext,
    ) -> Result<Fetched, model_provisioner::ProvisionError> {
        ctx.progress.begin(ProgressStep::Download, Some(1));
        if ctx.cancel.sleep(HANG * 4).is_err() {
            return Err(model_provisioner::ProvisionError::Cancelled {
                model: model.id(),
                step: "download",
            });
        }
        FileFetcher.fetch(model, expected, ctx)
    }
}

#[test]
fn a_cancelled_model_step_is_the_engines_cancelled() {
    let fake = FakeTools::new();
    let pool = fake.pool("v0", &[]);
    let (fetching_tx, fetching) = mpsc::channel();
    let fetching_tx = std::sync::Mutex::new(fetching_tx);
    let options = on_step(ProgressStep::Download, move |_| {
        let _ = fetching_tx.lock().unwrap().send(());
    });
    let provider = fake.provider_with(fake.models_with(Arc::new(WaitsForCancel)));
    let rx = ensure_in_background(provider, pool.clone(), options.clone());
    fetching
        .recv_timeout(HANG)
        .expect("the model step reports through the same observer");

    let err = cancel_and_wait(&options.cancel, &rx);
    assert_cancelled_in(&err, "model");
    fake.provider()
        .ensure(&pool)
        .expect("the next ensure succeeds");
}

/// `ensure_async` from a tokio task: a capture installed for the task
/// hears the build's narrations, and the deadline of
/// `tokio::time::timeout` (dropping the future) stops the build and its
/// process group, leaving no stamp, like a cancel.
#[cfg(feature = "tokio")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_async_ensure_at_a_deadline_stops_the_build_group() {
    let fake = FakeTools::new();
    fake.fail("cmake.slow-build");
    let pool = fake.pool("v0", &[]);
    let (building_tx, building) = tokio::sync::oneshot::channel();
    let building_tx = std::sync::Mutex::new(Some(building_tx));
    let options = on_step(ProgressStep::Build, move |p| {
        if p.done >= 3
            && let Some(tx) = building_tx.lock().unwrap().take()
        {
            let _ = tx.send(());
        }
    });
    let cancel = options.cancel.clone();
    let capture = CaptureAdapter::install();
    let provider: Arc<dyn EngineProvisioner + Send + Sync> = Arc::new(fake.provider());
    let ensure = engine_provisioner::ensure_async(provider, pool, options);
    let outcome = tokio::time::timeout(HANG, async {
        tokio::select! {
            _ = ensure => panic!("the slow build finished"),
            _ = building => {}
        }
    })
    .await;
    assert!(outcome.is_ok(), "the build never reported [3/600]");
    // `select!` dropped the ensure's future once the build was under way.
    assert!(cancel.is_cancelled(), "dropping the future cancels");
    let deadline = Instant::now() + HANG;
    while !capture
        .captured()
        .iter()
        .any(|n| n.actor == ev::ACTOR && n.action == ev::CANCELLED)
    {
        assert!(Instant::now() < deadline, "no cancelled narration");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        capture
            .captured()
            .iter()
            .any(|n| n.action == ev::CMAKE_BUILD),
        "the task's capture hears the blocking thread's narrations"
    );
    assert_group_gone(&fake, "cmake-build");
    assert!(!fake.cache.join("build.stamp").exists());
}
