//! An orchestrator in a tokio runtime preparing three models at once:
//! each ensure runs off the runtime's workers (`ensure_async`), typed
//! progress arrives through an observer, one model gets a deadline it
//! cannot meet and is cancelled by dropping its future, and a second try
//! finishes it, reusing what the first one left. The README's "Linking
//! the crates from tokio" is this file.
//!
//! It needs no network and no setup: a stand-in Hub runs in this
//! process (loopback, its bodies throttled so that the downloads take a
//! few seconds).
//!
//! ```text
//! cargo run --example tokio_orchestrator
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hub_standin::{FileSpec, Hub};
use model_provisioner::hf::HubSettings;
use model_provisioner::{
    EnsureOptions, Locations, ModelProvisioner, Progress, ProgressObserver, gguf,
};
use narration_core::{InitOptions, Verbosity};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Narrations on stderr, warnings and failures only (progress is ours).
    let _narration = narration_core::init(InitOptions {
        verbosity: Verbosity::Quiet,
        ..InitOptions::default()
    })?;
    let state = tempfile::tempdir()?;
    let (hub, gamma_body) = stand_in_hub(state.path())?;

    // One provisioner for the process, its settings passed in as values:
    // this Hub, no token, online. `Settings::from_env()` would read the
    // HF_* environment instead, as the CLI does.
    let models = Arc::new(
        ModelProvisioner::at(Locations::under(state.path().join("provision")))
            .hub(HubSettings {
                endpoint: Some(hub.endpoint()),
                ..HubSettings::default()
            })
            .build()?,
    );
    let progress: Arc<dyn ProgressObserver> = Arc::new(ProgressLines::default());
    let opts = |pool: &str| EnsureOptions {
        pool_id: Some(pool.to_string()),
        progress: Some(Arc::clone(&progress)),
        ..EnsureOptions::default()
    };

    // Three at once. The third has a deadline: `timeout` drops its future
    // when it passes, and dropping it cancels the ensure.
    let alpha = tokio::spawn(models.ensure_async("hf:org/alpha/alpha.gguf", None, opts("pool-a")));
    let beta = tokio::spawn(models.ensure_async("hf:org/beta/beta.gguf", None, opts("pool-b")));
    let gamma = "hf:org/gamma/gamma.gguf";
    let deadline = Duration::from_millis(800);
    let first_try =
        tokio::time::timeout(deadline, models.ensure_async(gamma, None, opts("pool-c"))).await;
    let served_before = hub.body_bytes(&gamma_body);
    match first_try {
        Err(_) => println!("{gamma}: not ready within {deadline:?}; cancelled"),
        Ok(done) => println!("{gamma}: ready before the deadline: {}", done?.id),
    }
    for task in [alpha, beta] {
        let model = task.await??;
        println!("{}: ready at {}", model.id, model.local_path.display());
    }

    // The second try continues from what the first one left (its partial
    // download, or the file the cancelled work finished meanwhile).
    let model = models.ensure_async(gamma, None, opts("pool-c")).await?;
    println!(
        "{}: ready on the second try ({}; {} of its {} bytes served after the deadline)",
        model.id,
        model.verification.describe(),
        hub.body_bytes(&gamma_body) - served_before,
        model.size_bytes
    );
    Ok(())
}

/// A stand-in Hub holding three GGUF models of a few MiB, each body sent
/// at 4 MiB/s per connection, and the CDN path of the last one's body.
fn stand_in_hub(dir: &std::path::Path) -> Result<(Hub, String), Box<dyn std::error::Error>> {
    let hub = Hub::start()?;
    let mut body = String::new();
    for (name, mib) in [("alpha", 4), ("beta", 6), ("gamma", 12)] {
        let path = dir.join(format!("{name}.gguf"));
        gguf::write_tiny_llama(&path, gguf::TINY_LLAMA_SEED)?;
        let mut bytes = std::fs::read(&path)?;
        bytes.resize(bytes.len() + (mib << 20), 0);
        let file = format!("{name}.gguf");
        let spec = FileSpec::lfs(bytes);
        body = Hub::cdn_path(&spec);
        hub.commit(&format!("org/{name}"), "main", vec![(file.as_str(), spec)]);
    }
    hub.limit_connection_rate(Some(4 << 20));
    Ok((hub, body))
}

/// Prints a line per model and step at each further tenth done.
#[derive(Default)]
struct ProgressLines {
    shown: Mutex<HashMap<(String, String), u64>>,
}

impl ProgressObserver for ProgressLines {
    fn progress(&self, p: &Progress) {
        let tenth = p.fraction().map_or(0, |f| (f * 10.0) as u64);
        let key = (p.target.clone(), p.step.to_string());
        let mut shown = self.shown.lock().unwrap_or_else(|e| e.into_inner());
        if shown.get(&key) == Some(&tenth) && !p.finished {
            return;
        }
        shown.insert(key, tenth);
        let total = p.total.map_or_else(|| "?".to_string(), |t| t.to_string());
        println!(
            "  {} {} {}/{} {:?}{}",
            p.target,
            p.step,
            p.done,
            total,
            p.unit,
            if p.finished { " (done)" } else { "" }
        );
    }
}
