//! The model step: the shared model provisioner's typed error reaches the
//! engine's `model-failed` narration, and the build lock is not held while
//! the model is fetched.

use crate::support::FakeTools;
use engine_provisioner::{EngineProvisioner, ProvisionError};
use model_provisioner::{
    Digest, FetchContext, Fetched, Fetcher, FileFetcher, ModelProvisioner, ModelRef,
};
use narration_core::CaptureAdapter;
use narration_core::catalog::engine as ev;
use std::fs::{File, TryLockError};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

fn failed(capture: &CaptureAdapter, action: &str) -> narration_core::CapturedNarration {
    capture
        .captured()
        .into_iter()
        .find(|n| n.actor == ev::ACTOR && n.action == action)
        .unwrap_or_else(|| panic!("no {action} narration"))
}

#[test]
fn a_wrong_digest_is_model_failed_with_digest_mismatch() {
    let fake = FakeTools::new();
    let toml = fake.pool_toml("v0", &[], "").replace(
        "[provisioning.model]\n",
        &format!(
            "[provisioning.model]\ndigest = \"sha256:{}\"\n",
            "0".repeat(64)
        ),
    );
    let pool = engine_provisioner::PoolConfig::from_toml_str(&toml).unwrap();
    let capture = CaptureAdapter::install();
    let err = fake.provider().ensure(&pool).unwrap_err();
    assert!(
        matches!(
            &err,
            ProvisionError::Model { source, .. }
                if matches!(**source, model_provisioner::ProvisionError::DigestMismatch { .. })
        ),
        "{err}"
    );
    assert_eq!(err.kind(), "digest-mismatch");
    let narrated = failed(&capture, ev::MODEL_FAILED);
    assert_eq!(narrated.error_kind.as_deref(), Some("digest-mismatch"));
    assert_eq!(narrated.pool_id.as_deref(), Some("fake-pool"));
    assert!(
        narrated.human.contains("expected sha256:0000"),
        "{}",
        narrated.human
    );
    // The build ran before the model step: the failure is the model's.
    assert!(fake.cache.join("build.stamp").is_file());
}

#[test]
fn a_missing_model_file_is_model_failed_with_missing_file() {
    let fake = FakeTools::new();
    let mut pool = fake.pool("v0", &[]);
    pool.provisioning.model.as_mut().unwrap().model_ref =
        ModelRef::parse("/nonexistent/model.gguf").unwrap();
    let capture = CaptureAdapter::install();
    let err = fake.provider().ensure(&pool).unwrap_err();
    assert!(
        matches!(
            &err,
            ProvisionError::Model { source, .. }
                if matches!(**source, model_provisioner::ProvisionError::MissingFile { .. })
        ),
        "{err}"
    );
    let narrated = failed(&capture, ev::MODEL_FAILED);
    assert_eq!(narrated.error_kind.as_deref(), Some("missing-file"));
}

/// A `file:` fetcher that, while the model step runs, tries the engine's
/// build lock, then serves the file as the built-in one does.
struct LockProbe {
    lock: PathBuf,
    /// One entry per fetch: could the lock be taken?
    taken: Mutex<Vec<bool>>,
}

impl Fetcher for LockProbe {
    fn schemes(&self) -> &'static [&'static str] {
        &["file"]
    }

    fn fetch(
        &self,
        model: &ModelRef,
        expected: Option<&Digest>,
        ctx: &FetchContext,
    ) -> Result<Fetched, model_provisioner::ProvisionError> {
        let file = File::open(&self.lock).expect("the build lock file exists");
        let taken = match file.try_lock() {
            Ok(()) => true,
            Err(TryLockError::WouldBlock) => false,
            Err(TryLockError::Error(e)) => panic!("try_lock: {e}"),
        };
        self.taken.lock().unwrap().push(taken);
        FileFetcher.fetch(model, expected, ctx)
    }
}

#[test]
fn the_build_lock_is_released_before_the_model_step() {
    let fake = FakeTools::new();
    let probe = Arc::new(LockProbe {
        lock: fake.cache.join(".lock"),
        taken: Mutex::new(Vec::new()),
    });
    let models: Arc<ModelProvisioner> = fake.models_with(probe.clone());
    let engine = fake
        .provider_with(models)
        .ensure(&fake.pool("v0", &[]))
        .unwrap();
    assert_eq!(engine.model_path, crate::support::tiny_model());
    assert_eq!(
        *probe.taken.lock().unwrap(),
        [true],
        "the model step ran once, with the build lock free"
    );
}
