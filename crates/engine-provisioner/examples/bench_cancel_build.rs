//! How fast a real llama.cpp build stops when its ensure is cancelled:
//! from `cancel()` to the ensure's return, with CMake, Ninja and every
//! compiler they started killed as one process group (goal ≤ 1 s). Prints
//! figures; asserts nothing.
//!
//! ```text
//! CCACHE_DISABLE=1 cargo run --release -p engine-provisioner --example bench_cancel_build -- --repo DIR [--runs 5]
//! ```
//!
//! `DIR` is a llama.cpp git repository with a tag `v0`
//! (`scripts/llama-fixture.sh` makes one). Each run clones it into a new
//! cache directory, configures, and cancels once the build reports its
//! third compile step. `scripts/bench-cancel.sh` runs it when the fixture
//! is there.

use engine_provisioner::{EngineOptions, EngineProvisioner, ErrorKind, LlamaCppSource, PoolConfig};
use model_provisioner::{Cancel, ModelProvisioner, Progress, ProgressObserver, ProgressStep};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

type BoxResult<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> BoxResult<()> {
    let mut runs = 5usize;
    let mut repo: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--runs" => runs = args.next().ok_or("--runs needs a value")?.parse()?,
            "--repo" => repo = Some(args.next().ok_or("--repo needs a value")?.into()),
            "--bench" => {}
            other => return Err(format!("unknown argument {other:?}").into()),
        }
    }
    let repo = repo.ok_or("--repo DIR is required (scripts/llama-fixture.sh prints one)")?;
    let model = std::fs::canonicalize(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/tiny-llama.gguf"),
    )?;
    let work = tempfile::tempdir()?;
    let mut latencies = Vec::new();
    for run in 0..runs {
        let cache = work.path().join(format!("engine-{run}"));
        let pool = PoolConfig::from_toml_str(&format!(
            r#"
id = "bench-cancel"
engine = "llamacpp"
[provisioning.source]
repo = "file://{}"
ref = "v0"
[provisioning.source.build]
generator = "ninja"
cache_dir = "{}"
[provisioning.model]
ref = "{}"
"#,
            repo.display(),
            cache.display(),
            model.display()
        ))?;
        let models = ModelProvisioner::builder(work.path().join("models")).build()?;
        let provider = LlamaCppSource::new(Arc::new(models));
        let (building_tx, building) = mpsc::channel();
        let building_tx = Mutex::new(Some(building_tx));
        let observer: Arc<dyn ProgressObserver> = Arc::new(move |p: &Progress| {
            if p.step == ProgressStep::Build
                && p.done >= 3
                && let Some(tx) = building_tx.lock().ok().and_then(|mut t| t.take())
            {
                let _ = tx.send(());
            }
        });
        let cancel = Cancel::new();
        let options = EngineOptions {
            cancel: cancel.clone(),
            progress: Some(observer),
            ..EngineOptions::default()
        };
        let (done_tx, done) = mpsc::channel();
        let worker = std::thread::spawn(move || {
            let outcome = provider.ensure_with(&pool, &options);
            let _ = done_tx.send(Instant::now());
            outcome
        });
        building.recv_timeout(Duration::from_secs(600))?;
        let cancelled_at = Instant::now();
        cancel.cancel();
        let returned_at = done.recv_timeout(Duration::from_secs(60))?;
        match worker.join().map_err(|_| "the ensure panicked")? {
            Err(e) if e.kind() == ErrorKind::Cancelled => {}
            Err(e) => return Err(format!("expected a cancelled build, got: {e}").into()),
            Ok(_) => return Err("the build finished before it was cancelled".into()),
        }
        let latency = returned_at.saturating_duration_since(cancelled_at);
        println!("  run {run}: {:.1} ms", latency.as_secs_f64() * 1e3);
        latencies.push(latency);
    }
    let mut ms: Vec<f64> = latencies.iter().map(|d| d.as_secs_f64() * 1e3).collect();
    ms.sort_by(f64::total_cmp);
    let median = ms.get(ms.len() / 2).copied().unwrap_or(f64::NAN);
    let max = ms.last().copied().unwrap_or(f64::NAN);
    println!(
        "build (llama.cpp, ninja): cancel latency median {median:.1} ms, max {max:.1} ms over {} runs (goal <= 1000 ms: {})",
        ms.len(),
        if max <= 1000.0 { "met" } else { "NOT met" }
    );
    Ok(())
}
