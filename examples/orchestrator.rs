//! How an orchestrator links the crates: narration on stderr, a model
//! ensured and catalogued, then an engine planned (or prepared) for a pool.
//! The README's "Linking the crates" section is this file.
//!
//! ```text
//! cargo run --example orchestrator                      # the tiny model only
//! cargo run --example orchestrator -- pool.toml         # + the engine plan
//! cargo run --example orchestrator -- pool.toml ensure  # + clone, build, flags
//! ```

use std::path::Path;
use std::sync::Arc;

use engine_provisioner::{PoolConfig, provider_for};
use model_provisioner::hf::HubSettings;
use model_provisioner::{Digest, EnsureOptions, Locations, ModelProvisioner};
use narration_core::{InitOptions, NarrationFields, narrate};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // One subscriber for the process: `[actor] action: human` on stderr,
    // filtered by RUST_LOG. Keep the guard until the end of main.
    let _narration = narration_core::init(InitOptions::default())?;
    narrate(NarrationFields {
        actor: "orchestrator",
        action: "start",
        target: "pool-a".into(),
        human: "Preparing pool-a".into(),
        ..Default::default()
    });

    // Models: verified, inspected and recorded in a SQLite catalog. One
    // provisioner serves the whole process (engines get it too); `at`
    // adds the hf: and https: fetchers. Settings are values the program
    // passes in: the Hub (endpoint, token, offline) is `HubSettings`;
    // `Settings::from_env()` reads what the CLI reads (HF_*, XDG) instead.
    let state = std::env::temp_dir().join("provision-orchestrator-example");
    let hub = HubSettings {
        endpoint: Some("https://huggingface.co".into()),
        token: None,
        ..HubSettings::default()
    };
    let models = Arc::new(
        ModelProvisioner::at(Locations::under(&state))
            .hub(hub)
            .build()?,
    );
    let digest: Digest =
        "sha256:13d1380edc9c49f2eb9c06e13ac4d954ae4edc7fb30fefd08cb57f77667621bd".parse()?;
    let model = models.ensure_present_str_with(
        "examples/tiny-llama.gguf",
        Some(digest),
        &EnsureOptions {
            pool_id: Some("pool-a".into()),
            ..Default::default()
        },
    )?;
    println!("{}", serde_json::to_string_pretty(&model)?);

    // Engines: plan (no side effects) or ensure (clone, build, flags, port).
    let mut args = std::env::args().skip(1);
    if let Some(pool_file) = args.next() {
        let pool = PoolConfig::from_path(Path::new(&pool_file))?;
        let engines = provider_for(&pool, Arc::clone(&models))?;
        if args.next().as_deref() == Some("ensure") {
            let engine = engines.ensure(&pool)?;
            println!("{}", serde_json::to_string_pretty(&engine)?);
        } else {
            println!("{}", serde_json::to_string_pretty(&engines.plan(&pool)?)?);
        }
    }
    Ok(())
}
