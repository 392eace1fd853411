//! What a program holding the provisioner relies on: its types move
//! between threads and tasks, and every kind of failure the model side
//! can produce is reachable, typed and says whether to retry.

use crate::hf_support::Env;
use hub_standin::{Fault, FaultKind, Listener};
use model_provisioner::file_lock::{self, LockError, LockWait};
use model_provisioner::hf::{HfError, HfFetcher};
use model_provisioner::{
    Cancel, CatalogError, Digest, DigestError, DownloadError, EnsureOptions, ErrorKind, HashError,
    Lifecycle, ModelProvisioner, Progress, ProgressReporter, ProvisionError, RefError,
    ResolvedModel, Settings, gguf,
};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Compiles only when `T` may be sent to and shared between threads.
fn send_sync<T: Send + Sync>() {}

#[test]
fn every_public_provisioner_and_error_type_is_send_and_sync() {
    send_sync::<ModelProvisioner>();
    send_sync::<Arc<ModelProvisioner>>();
    send_sync::<ProvisionError>();
    send_sync::<DownloadError>();
    send_sync::<HfError>();
    send_sync::<CatalogError>();
    send_sync::<RefError>();
    send_sync::<DigestError>();
    send_sync::<HashError>();
    send_sync::<LockError>();
    send_sync::<EnsureOptions>();
    send_sync::<Cancel>();
    send_sync::<Progress>();
    send_sync::<ProgressReporter>();
    send_sync::<ResolvedModel>();
    send_sync::<Settings>();
    send_sync::<ErrorKind>();
}

/// The kind of one failure, and whether it may be retried.
fn record(kinds: &mut BTreeMap<String, bool>, err: &ProvisionError) {
    kinds.insert(format!("{:?}", err.kind()), err.kind().is_retryable());
}

#[test]
fn every_error_kind_of_the_model_side_is_reached_and_says_whether_to_retry() {
    let mut kinds = BTreeMap::new();
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("tiny.gguf");
    gguf::write_tiny_llama(&model, gguf::TINY_LLAMA_SEED).unwrap();
    let local = model.to_str().unwrap();
    let models = ModelProvisioner::builder(dir.path().join("cache"))
        .build()
        .unwrap();

    // NotFound: a local file that is not there.
    record(
        &mut kinds,
        &models
            .ensure_present_str("/no/such/m.gguf", None)
            .unwrap_err(),
    );
    // InvalidInput: a reference that does not parse.
    record(
        &mut kinds,
        &models
            .ensure_present_str("hf:org/../x.gguf", None)
            .unwrap_err(),
    );
    // DigestMismatch: the caller expects other bytes.
    let other = Digest::from_bytes([7; 32]);
    record(
        &mut kinds,
        &models.ensure_present_str(local, Some(other)).unwrap_err(),
    );
    // Cancelled: the caller's token.
    let cancel = Cancel::new();
    cancel.cancel();
    let opts = EnsureOptions {
        cancel,
        ..Default::default()
    };
    record(
        &mut kinds,
        &models
            .ensure_present_str_with(local, None, &opts)
            .unwrap_err(),
    );
    // Retired: a catalog entry taken out of service.
    let resolved = models.ensure_present_str(local, None).unwrap();
    models
        .catalog()
        .set_state(&resolved.id, Lifecycle::Retired)
        .unwrap();
    record(
        &mut kinds,
        &models.ensure_present_str(local, None).unwrap_err(),
    );
    // Io: a catalog path that is a directory.
    let err = ModelProvisioner::builder(dir.path().join("io"))
        .catalog_path(dir.path())
        .build()
        .unwrap_err();
    record(&mut kinds, &err);

    // The Hub side, against the stand-in.
    let env = Env::new();
    let hub = |config| {
        ModelProvisioner::builder(env.cache.path())
            .fetcher(Arc::new(HfFetcher::new(config)))
            .build()
            .unwrap()
    };
    let reference = "hf:org/model/model-Q4_K_M.gguf";
    // OfflineMiss: offline and not cached.
    record(
        &mut kinds,
        &hub(env.config().with_offline(true))
            .ensure_present_str(reference, None)
            .unwrap_err(),
    );
    // Network: the CDN answers 502 to every try.
    env.hub.inject(
        Fault::new(FaultKind::Status {
            status: 502,
            retry_after: None,
        })
        .on(Listener::Cdn)
        .times(u32::MAX),
    );
    record(
        &mut kinds,
        &hub(env.config())
            .ensure_present_str(reference, None)
            .unwrap_err(),
    );
    env.hub.clear_faults();
    // CorruptTransfer: bytes of the right size that are not the Hub's.
    env.hub.inject(
        Fault::new(FaultKind::WrongBytes)
            .on(Listener::Cdn)
            .times(u32::MAX),
    );
    record(
        &mut kinds,
        &hub(env.config())
            .ensure_present_str(reference, None)
            .unwrap_err(),
    );
    env.hub.clear_faults();
    // Locked: another process holds the blob's lock past the timeout.
    let lock = env
        .cache
        .path()
        .join(".locks/models--org--model")
        .join(format!("{}.lock", env.digest().hex()));
    let held = file_lock::acquire(&lock, LockWait::default(), &mut |_| {}).unwrap();
    let mut config = env.config();
    config.lock_wait = LockWait {
        notice_after: Duration::from_millis(10),
        timeout: Duration::from_millis(100),
    };
    record(
        &mut kinds,
        &hub(config).ensure_present_str(reference, None).unwrap_err(),
    );
    held.release();
    // Denied: a gated repo and no token.
    env.hub.gate("org/model", "hf_right");
    record(
        &mut kinds,
        &hub(env.config())
            .ensure_present_str(reference, None)
            .unwrap_err(),
    );

    let expected: BTreeMap<String, bool> = [
        ("NotFound", false),
        ("InvalidInput", false),
        ("DigestMismatch", false),
        ("Cancelled", false),
        ("Retired", false),
        ("Io", false),
        ("OfflineMiss", false),
        ("Network", true),
        ("CorruptTransfer", true),
        ("Locked", true),
        ("Denied", false),
    ]
    .into_iter()
    .map(|(k, r)| (k.to_string(), r))
    .collect();
    assert_eq!(kinds, expected);
}
