//! The model step: the shared model provisioner's typed error reaches the
//! engine's `model-failed` narration, and the build lock is not held while
//! the model is fetched.

use crate::support::FakeTools;
use engine_provisioner::actions as ev;
use engine_provisioner::{EngineProvisioner, ProvisionError};
use model_provisioner::{
    Digest, FetchContext, Fetched, Fetcher, FileFetcher, ModelProvisioner, ModelRef,
};
use narration_core::CaptureAdapter;
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
    assert_eq!(err.error_kind(), "digest-mismatch");
    assert_eq!(err.kind(), model_provisioner::ErrorKind::DigestMismatch);
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

#[test]
fn a_wait_on_the_build_lock_is_told_and_bounded() {
    use model_provisioner::file_lock::{self, LockWait};
    let fake = FakeTools::new();
    let pool = fake.pool("v0", &[]);
    // Another ensure (here: this test) holds the cache dir's build lock.
    let held =
        file_lock::acquire(&fake.cache.join(".lock"), LockWait::default(), &mut |_| {}).unwrap();
    let provider = fake.provider().with_lock_wait(LockWait {
        notice_after: std::time::Duration::from_millis(50),
        timeout: std::time::Duration::from_millis(400),
    });
    let capture = CaptureAdapter::install();
    let err = provider.ensure(&pool).unwrap_err();
    assert!(matches!(err, ProvisionError::LockTimeout(_)), "{err:?}");
    assert_eq!(err.error_kind(), "lock-timeout");
    assert_eq!(err.kind(), model_provisioner::ErrorKind::Locked);
    let pid = format!("pid {}", std::process::id());
    let waits: Vec<_> = capture
        .captured()
        .into_iter()
        .filter(|n| n.action == ev::LOCK_WAIT)
        .collect();
    assert_eq!(waits.len(), 1, "told once");
    assert!(waits[0].human.contains(&pid), "{}", waits[0].human);
    assert_eq!(
        failed(&capture, ev::CACHE_FAILED).error_kind.as_deref(),
        Some("lock-timeout")
    );
    assert!(fake.lines().is_empty(), "no tool ran while waiting");
    held.release();
    fake.provider().ensure(&pool).unwrap();
}
