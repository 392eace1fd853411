//! How fast an ensure stops when its [`Cancel`] token is cancelled, and
//! whether anything moves after it returned. Prints figures against the
//! goals; asserts nothing.
//!
//! ```text
//! cargo run --release -p model-provisioner --features tokio --example bench_cancel -- [--runs 20] [--hash-mib 1024]
//! ```
//!
//! 1. A transfer from the stand-in Hub (256 MiB, each connection capped at
//!    8 MiB/s, so it is split over parallel ranges), cancelled 300–800 ms
//!    in: latency from `cancel()` to the ensure's return (goal ≤ 250 ms),
//!    and the bytes the partial file gained after the return (goal 0).
//! 2. Hashing a 1 GiB local file, cancelled 200–500 ms in (goal ≤ 250 ms).
//! 3. A second ensure of the same ref waiting for the first one's
//!    download (the lock wait), cancelled (goal ≤ 250 ms).
//! 4. With `--features tokio`: four `ensure_async` hashing 256 MiB each on
//!    a runtime of 2 worker threads, beside a 10 ms ticker: the ticker's
//!    worst gap (goal ≤ 50 ms).
//!
//! `scripts/bench-cancel.sh` runs it.

use hub_standin::{FileSpec, Hub};
use model_provisioner::hf::{HfConfig, HfFetcher, RetryPolicy};
use model_provisioner::{
    Cancel, EnsureOptions, ErrorKind, ModelProvisioner, Progress, ProgressObserver, ProgressStep,
    gguf,
};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

type BoxResult<T> = Result<T, Box<dyn std::error::Error>>;

const TRANSFER_BYTES: usize = 256 << 20;
const RATE_PER_CONNECTION: u64 = 8 << 20;

fn main() -> BoxResult<()> {
    let mut runs = 20usize;
    let mut hash_mib = 1024u64;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--runs" => runs = args.next().ok_or("--runs needs a value")?.parse()?,
            "--hash-mib" => hash_mib = args.next().ok_or("--hash-mib needs a value")?.parse()?,
            "--bench" => {}
            other => return Err(format!("unknown argument {other:?}").into()),
        }
    }
    let work = tempfile::tempdir()?;
    println!(
        "bench-cancel: {runs} runs per case in {}",
        work.path().display()
    );

    let hub = Hub::start()?;
    let bytes = big_gguf_bytes(work.path(), TRANSFER_BYTES)?;
    hub.commit("org/big", "main", vec![("big.gguf", FileSpec::lfs(bytes))]);
    hub.limit_connection_rate(Some(RATE_PER_CONNECTION));
    let transfer = transfer_case(&hub, work.path(), runs)?;
    report(
        "transfer (256 MiB, parallel ranges)",
        &transfer.latencies,
        250,
    );
    println!(
        "  bytes the partial gained after the return: max {} (goal 0)",
        transfer.gained_after.iter().max().copied().unwrap_or(0)
    );
    println!(
        "  progress reports after the return: max {} (goal 0)",
        transfer.reports_after.iter().max().copied().unwrap_or(0)
    );

    let lock = lock_wait_case(&hub, work.path(), runs)?;
    report("lock wait (second ensure of the same ref)", &lock, 250);

    let model = work.path().join("big-hash.gguf");
    write_big_gguf(&model, hash_mib << 20)?;
    let hash = hash_case(&model, work.path(), runs)?;
    report(&format!("hash ({hash_mib} MiB)"), &hash, 250);

    #[cfg(feature = "tokio")]
    {
        let gap = tick_gap_case(work.path())?;
        println!(
            "runtime: worst 10 ms ticker gap with 4 ensure_async on 2 workers: {:.1} ms (goal <= 50 ms: {})",
            gap.as_secs_f64() * 1e3,
            if gap <= Duration::from_millis(50) {
                "met"
            } else {
                "NOT met"
            }
        );
    }
    Ok(())
}

/// Four `ensure_async` hashing 256 MiB each on two worker threads, and a
/// ticker that records its worst gap while they run.
#[cfg(feature = "tokio")]
fn tick_gap_case(work: &Path) -> BoxResult<Duration> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let mut models = Vec::new();
    for i in 0..4 {
        let path = work.join(format!("tick-{i}.gguf"));
        write_big_gguf(&path, 256 << 20)?;
        models.push(path);
    }
    runtime.block_on(async {
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let ticker = {
            let done = Arc::clone(&done);
            tokio::spawn(async move {
                let mut worst = Duration::ZERO;
                let mut last = Instant::now();
                while !done.load(Ordering::SeqCst) {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    let now = Instant::now();
                    worst = worst.max(now - last);
                    last = now;
                }
                worst
            })
        };
        let mut tasks = Vec::new();
        for (i, path) in models.iter().enumerate() {
            let provisioner =
                Arc::new(ModelProvisioner::builder(work.join(format!("tick-cache-{i}"))).build()?);
            let input = path.to_str().ok_or("path is not UTF-8")?.to_string();
            tasks.push(tokio::spawn(async move {
                provisioner
                    .ensure_async(&input, None, EnsureOptions::default())
                    .await
            }));
        }
        for task in tasks {
            task.await??;
        }
        done.store(true, Ordering::SeqCst);
        Ok::<Duration, Box<dyn std::error::Error>>(ticker.await?)
    })
}

struct TransferFigures {
    latencies: Vec<Duration>,
    gained_after: Vec<u64>,
    reports_after: Vec<u64>,
}

/// Cancel a running transfer; each run starts from an empty cache.
fn transfer_case(hub: &Hub, work: &Path, runs: usize) -> BoxResult<TransferFigures> {
    let mut figures = TransferFigures {
        latencies: Vec::new(),
        gained_after: Vec::new(),
        reports_after: Vec::new(),
    };
    for run in 0..runs {
        let cache = work.join(format!("transfer-{run}"));
        let models = Arc::new(provisioner(hub, &cache)?);
        let reports = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&reports);
        let observer: Arc<dyn ProgressObserver> = Arc::new(move |p: &Progress| {
            if p.step == ProgressStep::Download {
                counter.fetch_add(1, Ordering::SeqCst);
            }
        });
        let cancel = Cancel::new();
        let returned = run_until_cancelled(
            &models,
            "hf:org/big/big.gguf",
            EnsureOptions {
                cancel: cancel.clone(),
                progress: Some(observer),
                ..Default::default()
            },
            &cancel,
            Duration::from_millis(300 + (run as u64 * 500 / runs.max(1) as u64)),
        )?;
        figures.latencies.push(returned);
        let partial = find_partial(&cache);
        let size_at_return = partial.as_deref().map_or(0, file_len);
        let reports_at_return = reports.load(Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(300));
        let size_later = partial.as_deref().map_or(0, file_len);
        figures
            .gained_after
            .push(size_later.saturating_sub(size_at_return));
        figures
            .reports_after
            .push(reports.load(Ordering::SeqCst) - reports_at_return);
        let _ = std::fs::remove_dir_all(&cache);
    }
    Ok(figures)
}

/// A first ensure downloads; a second one of the same ref waits for it and
/// is cancelled while it waits.
fn lock_wait_case(hub: &Hub, work: &Path, runs: usize) -> BoxResult<Vec<Duration>> {
    let mut latencies = Vec::new();
    for run in 0..runs {
        let cache = work.join(format!("lock-{run}"));
        let models = Arc::new(provisioner(hub, &cache)?);
        let first_cancel = Cancel::new();
        let (downloading_tx, downloading_rx) = mpsc::channel();
        let downloading = Mutex::new(Some(downloading_tx));
        let observer: Arc<dyn ProgressObserver> = Arc::new(move |p: &Progress| {
            if p.step == ProgressStep::Download
                && let Some(tx) = downloading.lock().ok().and_then(|mut t| t.take())
            {
                let _ = tx.send(());
            }
        });
        let first = {
            let models = Arc::clone(&models);
            let opts = EnsureOptions {
                cancel: first_cancel.clone(),
                progress: Some(observer),
                ..Default::default()
            };
            std::thread::spawn(move || {
                models.ensure_present_str_with("hf:org/big/big.gguf", None, &opts)
            })
        };
        downloading_rx.recv_timeout(Duration::from_secs(30))?;
        let cancel = Cancel::new();
        let returned = run_until_cancelled(
            &models,
            "hf:org/big/big.gguf",
            EnsureOptions {
                cancel: cancel.clone(),
                ..Default::default()
            },
            &cancel,
            Duration::from_millis(500),
        )?;
        latencies.push(returned);
        first_cancel.cancel();
        let _ = first.join();
        let _ = std::fs::remove_dir_all(&cache);
    }
    Ok(latencies)
}

/// Cancel the hashing of a local file against a digest.
fn hash_case(model: &Path, work: &Path, runs: usize) -> BoxResult<Vec<Duration>> {
    let mut latencies = Vec::new();
    for run in 0..runs {
        let cache = work.join(format!("hash-{run}"));
        let models = Arc::new(ModelProvisioner::builder(&cache).build()?);
        let cancel = Cancel::new();
        let returned = run_until_cancelled(
            &models,
            model.to_str().ok_or("model path is not UTF-8")?,
            EnsureOptions {
                cancel: cancel.clone(),
                ..Default::default()
            },
            &cancel,
            Duration::from_millis(200 + (run as u64 * 300 / runs.max(1) as u64)),
        )?;
        latencies.push(returned);
        let _ = std::fs::remove_dir_all(&cache);
    }
    Ok(latencies)
}

/// Start `reference` on a thread, cancel it after `after`, and return how
/// long it took from `cancel()` to the ensure's return. The ensure must
/// end cancelled.
fn run_until_cancelled(
    models: &Arc<ModelProvisioner>,
    reference: &str,
    opts: EnsureOptions,
    cancel: &Cancel,
    after: Duration,
) -> BoxResult<Duration> {
    let (tx, rx) = mpsc::channel();
    let worker = {
        let models = Arc::clone(models);
        let reference = reference.to_string();
        std::thread::spawn(move || {
            let outcome = models.ensure_present_str_with(&reference, None, &opts);
            let _ = tx.send(Instant::now());
            outcome
        })
    };
    std::thread::sleep(after);
    let cancelled_at = Instant::now();
    cancel.cancel();
    let returned_at = rx.recv_timeout(Duration::from_secs(60))?;
    let outcome = worker.join().map_err(|_| "the ensure panicked")?;
    match outcome {
        Err(e) if e.kind() == ErrorKind::Cancelled => {}
        Err(e) => return Err(format!("expected a cancelled ensure, got: {e}").into()),
        Ok(_) => return Err("the ensure finished before it was cancelled: lower --after".into()),
    }
    Ok(returned_at.saturating_duration_since(cancelled_at))
}

fn provisioner(hub: &Hub, cache: &Path) -> BoxResult<ModelProvisioner> {
    let config = HfConfig::from_lookup(|_| None)
        .with_endpoint(&hub.endpoint())
        .with_cache_dir(cache)
        .with_retry(RetryPolicy::quick());
    Ok(ModelProvisioner::builder(cache)
        .fetcher(Arc::new(HfFetcher::new(config)))
        .build()?)
}

/// The `.incomplete` file of the one blob being downloaded under `cache`.
fn find_partial(cache: &Path) -> Option<PathBuf> {
    let blobs = cache.join("models--org--big/blobs");
    std::fs::read_dir(blobs)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "incomplete"))
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

fn report(case: &str, latencies: &[Duration], goal_ms: u128) {
    let mut ms: Vec<f64> = latencies.iter().map(|d| d.as_secs_f64() * 1e3).collect();
    ms.sort_by(f64::total_cmp);
    let median = ms.get(ms.len() / 2).copied().unwrap_or(f64::NAN);
    let max = ms.last().copied().unwrap_or(f64::NAN);
    println!(
        "{case}: cancel latency median {median:.1} ms, max {max:.1} ms over {} runs (goal <= {goal_ms} ms: {})",
        ms.len(),
        if max <= goal_ms as f64 {
            "met"
        } else {
            "NOT met"
        }
    );
}

/// Pseudo-random bytes (xorshift), cheap to make in bulk.
fn noise(len: usize) -> Vec<u8> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// The bytes of a GGUF of `size` bytes (see [`write_big_gguf`]).
fn big_gguf_bytes(dir: &Path, size: usize) -> BoxResult<Vec<u8>> {
    let path = dir.join("served.gguf");
    write_big_gguf(&path, size as u64)?;
    let bytes = std::fs::read(&path)?;
    std::fs::remove_file(&path)?;
    Ok(bytes)
}

/// A valid tiny GGUF header followed by `size` bytes in all.
fn write_big_gguf(path: &Path, size: u64) -> BoxResult<()> {
    use std::io::Write;
    gguf::write_tiny_llama(path, gguf::TINY_LLAMA_SEED)?;
    let mut f = std::fs::OpenOptions::new().append(true).open(path)?;
    let have = f.metadata()?.len();
    let chunk = noise(8 << 20);
    let mut left = size.saturating_sub(have);
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        f.write_all(&chunk[..n])?;
        left -= n as u64;
    }
    f.sync_all()?;
    Ok(())
}
