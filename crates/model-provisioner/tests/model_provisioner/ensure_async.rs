//! `ensure_async` (feature `tokio`) from a multi-threaded runtime: the
//! work runs off the workers, its narrations reach the task's capture,
//! and dropping the future cancels it.

use crate::hf_support::{Env, GGUF_REF};
use hub_standin::{Fault, FaultKind, Listener};
use model_provisioner::actions as act;
use model_provisioner::{
    EnsureOptions, ModelProvisioner, Progress, ProgressObserver, ProgressStep, ProvisionError, gguf,
};
use narration_core::CaptureAdapter;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

fn local_model(dir: &std::path::Path, name: &str, padding: usize) -> String {
    let path = dir.join(name);
    gguf::write_tiny_llama(&path, gguf::TINY_LLAMA_SEED).unwrap();
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    f.write_all(&vec![0u8; padding]).unwrap();
    path.to_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capture_installed_in_the_task_hears_the_narrations_of_ensure_async() {
    let capture = CaptureAdapter::install();
    let dir = tempfile::tempdir().unwrap();
    let model = local_model(dir.path(), "m.gguf", 0);
    let models = Arc::new(
        ModelProvisioner::builder(dir.path().join("cache"))
            .build()
            .unwrap(),
    );
    let resolved = models
        .ensure_async(&model, None, EnsureOptions::default())
        .await
        .unwrap();
    assert_eq!(resolved.local_path.to_str(), Some(model.as_str()));
    let actions: Vec<&str> = capture.captured().iter().map(|n| n.action).collect();
    assert_eq!(
        actions,
        [
            act::RESOLVE,
            act::ENSURE,
            act::VERIFY,
            act::VERIFIED,
            act::REGISTER,
            act::COMPLETE
        ]
    );
}

/// Wait (bounded) until `capture` heard `action` from `correlation_id`.
async fn heard(capture: &CaptureAdapter, action: &str, correlation_id: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let found = capture
            .captured()
            .into_iter()
            .find(|n| n.action == action && n.correlation_id.as_deref() == Some(correlation_id));
        if let Some(n) = found {
            return n.human.clone();
        }
        assert!(
            Instant::now() < deadline,
            "{correlation_id} never narrated {action}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_future_of_a_waiting_ensure_cancels_its_wait() {
    let capture = CaptureAdapter::install();
    let env = Env::with_gguf();
    // The first ensure downloads slowly and holds the model meanwhile.
    env.hub.inject(
        Fault::new(FaultKind::Slow {
            before_headers: Duration::ZERO,
            per_chunk: Duration::from_millis(10),
        })
        .on(Listener::Cdn)
        .times(u32::MAX),
    );
    let models = Arc::new(
        ModelProvisioner::builder(env.cache.path())
            .fetcher(Arc::new(env.fetcher()))
            .build()
            .unwrap(),
    );
    let opts = |id: &str| EnsureOptions {
        correlation_id: Some(id.to_string()),
        ..Default::default()
    };
    let reference = GGUF_REF;
    let first = tokio::spawn(models.ensure_async(reference, None, opts("first")));
    heard(&capture, act::DOWNLOAD, "first").await;
    let second = tokio::spawn(models.ensure_async(reference, None, opts("second")));
    let waiting = heard(&capture, act::LOCK_WAIT, "second").await;
    assert!(waiting.contains("first"), "{waiting}");

    second.abort();
    let cancelled = heard(&capture, act::CANCELLED, "second").await;
    assert!(cancelled.contains("lock-wait"), "{cancelled}");
    assert!(second.await.unwrap_err().is_cancelled());

    // The first one was not disturbed.
    let resolved = first.await.unwrap().unwrap();
    assert_eq!(std::fs::read(&resolved.local_path).unwrap(), env.gguf());
    assert_eq!(env.gguf_gets(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_ensures_on_two_workers_keep_a_ticker_running() {
    let dir = tempfile::tempdir().unwrap();
    let models = Arc::new(
        ModelProvisioner::builder(dir.path().join("cache"))
            .build()
            .unwrap(),
    );
    let refs: Vec<String> = (0..4)
        .map(|i| local_model(dir.path(), &format!("m{i}.gguf"), 48 << 20))
        .collect();
    let worst_us = Arc::new(AtomicU64::new(0));
    let ticks = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let ticker = tokio::spawn({
        let (worst_us, ticks, stop) =
            (Arc::clone(&worst_us), Arc::clone(&ticks), Arc::clone(&stop));
        async move {
            let mut interval = tokio::time::interval(Duration::from_millis(10));
            let mut last = Instant::now();
            while !stop.load(Ordering::Relaxed) {
                interval.tick().await;
                let now = Instant::now();
                let gap = u64::try_from((now - last).as_micros()).unwrap_or(u64::MAX);
                worst_us.fetch_max(gap, Ordering::Relaxed);
                ticks.fetch_add(1, Ordering::Relaxed);
                last = now;
            }
        }
    });
    // Each ensure, as its hash begins, waits for the ticker to tick a few
    // times: work that held the runtime's workers would starve the ticker
    // and wait here until the (hang-avoiding) deadline.
    let starved = Arc::new(AtomicBool::new(false));
    let observer: Arc<dyn ProgressObserver> = {
        let (ticks, starved) = (Arc::clone(&ticks), Arc::clone(&starved));
        Arc::new(move |p: &Progress| {
            if p.step != ProgressStep::Hash || p.done != 0 {
                return;
            }
            let until = ticks.load(Ordering::Relaxed) + 3;
            let deadline = Instant::now() + Duration::from_secs(20);
            while ticks.load(Ordering::Relaxed) < until {
                if Instant::now() > deadline {
                    starved.store(true, Ordering::Relaxed);
                    return;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        })
    };
    let started = Instant::now();
    let ensures: Vec<_> = refs
        .iter()
        .map(|r| {
            let opts = EnsureOptions {
                progress: Some(Arc::clone(&observer)),
                ..Default::default()
            };
            tokio::spawn(models.ensure_async(r, None, opts))
        })
        .collect();
    for e in ensures {
        let resolved: Result<_, ProvisionError> = e.await.unwrap();
        resolved.unwrap();
    }
    let took = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    ticker.await.unwrap();
    let worst = Duration::from_micros(worst_us.load(Ordering::Relaxed));
    println!("4 ensures (192 MiB hashed) took {took:?}; a 10 ms ticker's worst gap was {worst:?}");
    assert!(
        !starved.load(Ordering::Relaxed),
        "the ticker stopped while ensures ran"
    );
    assert!(worst < Duration::from_secs(2), "runtime frozen: {worst:?}");
}
