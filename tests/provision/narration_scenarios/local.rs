//! Scenarios of a local model file: `file:` refs through the whole
//! `ensure_present` lifecycle with a real SQLite catalog.

use super::{Captured, capture};
use model_provisioner::{Digest, Lifecycle, ModelProvisioner, gguf};
use std::path::PathBuf;
use std::time::Duration;

/// A temp dir holding the tiny GGUF model and the provisioner's cache.
struct Local {
    dir: tempfile::TempDir,
    model: PathBuf,
    provisioner: ModelProvisioner,
}

impl Local {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let model = dir.path().join("tiny.gguf");
        gguf::write_tiny_llama(&model, gguf::TINY_LLAMA_SEED).expect("tiny model written");
        // A short racy window, so a file a little older than that is
        // trusted by its fingerprint on the next ensure.
        let provisioner = ModelProvisioner::builder(dir.path().join("cache"))
            .racy_window(Duration::from_millis(50))
            .build()
            .expect("provisioner builds");
        Self {
            dir,
            model,
            provisioner,
        }
    }

    fn ensure(&self, expected: Option<Digest>) -> Captured {
        let model = self.model.to_string_lossy().into_owned();
        capture(|| self.provisioner.ensure_present_str(&model, expected))
    }

    /// The first ensure, not captured; the file is first left to age past
    /// the racy window so that its fingerprint is recorded.
    fn ensure_once(&self) -> String {
        std::thread::sleep(Duration::from_millis(120));
        let model = self.model.to_string_lossy().into_owned();
        self.provisioner
            .ensure_present_str(&model, None)
            .expect("the first ensure succeeds")
            .id
    }
}

pub fn cold() -> Captured {
    Local::new().ensure(None)
}

pub fn warm() -> Captured {
    let local = Local::new();
    local.ensure_once();
    local.ensure(None)
}

pub fn digest_mismatch() -> Captured {
    let wrong = Digest::from_sha256_hex(&"0".repeat(64)).expect("a digest");
    Local::new().ensure(Some(wrong))
}

pub fn missing_file() -> Captured {
    let mut local = Local::new();
    local.model = local.dir.path().join("absent.gguf");
    local.ensure(None)
}

pub fn not_gguf() -> Captured {
    let mut local = Local::new();
    local.model = local.dir.path().join("notes.txt");
    std::fs::write(&local.model, "not a model\n").expect("text file written");
    local.ensure(None)
}

pub fn retired() -> Captured {
    let local = Local::new();
    let id = local.ensure_once();
    local
        .provisioner
        .catalog()
        .set_state(&id, Lifecycle::Retired)
        .expect("entry retired");
    local.ensure(None)
}

/// The hash is cancelled as it begins (the observer cancels on the first
/// hash report).
pub fn cancelled_hash() -> Captured {
    use model_provisioner::{Cancel, EnsureOptions, Progress, ProgressObserver, ProgressStep};
    use std::sync::Arc;
    let local = Local::new();
    let cancel = Cancel::new();
    let canceller = cancel.clone();
    let observer: Arc<dyn ProgressObserver> = Arc::new(move |p: &Progress| {
        if p.step == ProgressStep::Hash {
            canceller.cancel();
        }
    });
    let opts = EnsureOptions {
        cancel,
        progress: Some(observer),
        ..Default::default()
    };
    let model = local.model.to_string_lossy().into_owned();
    capture(|| {
        local
            .provisioner
            .ensure_present_str_with(&model, None, &opts)
    })
}
