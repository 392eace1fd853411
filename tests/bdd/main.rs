//! BDD suite: every `tests/features/*.feature` file, run by cucumber.
//!
//! Each area keeps its state and steps in its own module; the world holds
//! one state per area. A failing, skipped or undefined step fails
//! `cargo test`.

mod engine;
mod hf;
mod model;
mod narration;

use cucumber::World as _;

/// One scenario's state, one part per area.
#[derive(Debug, Default, cucumber::World)]
pub struct World {
    /// narration-core features.
    pub narration: narration::State,
    /// Local model features.
    pub model: model::State,
    /// Engine features (fake build tools).
    pub engine: engine::State,
    /// Hugging Face features (the stand-in Hub).
    pub hf: hf::State,
}

fn main() {
    // cucumber's parser rejects libtest's arguments (`--list`, filters,
    // `--nocapture`), which cargo and nextest pass through: answer `--list`
    // and run the whole suite for anything else.
    if std::env::args().any(|a| a == "--list") {
        println!("bdd: test");
        return;
    }
    let features = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/features");
    futures::executor::block_on(
        World::cucumber()
            .with_cli(cucumber::cli::Opts::<_, _, _, cucumber::cli::Empty>::default())
            .fail_on_skipped()
            .run_and_exit(features),
    );
}
