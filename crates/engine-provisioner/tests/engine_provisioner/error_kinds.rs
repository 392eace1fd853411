//! One enum to match: every failure an orchestrator can meet has its
//! `ErrorKind` (a model failure its model error's kind), and every public
//! type of the crate can move between threads.

use crate::support::FakeTools;
use engine_provisioner::{
    BuildCacheState, ConfigError, EngineOptions, EngineProvisioner, ErrorKind, GitStep,
    LlamaCppSource, PoolConfig, PreparedEngine, ProvisionError, ValidationError,
};
use model_provisioner::file_lock::{self, LockWait};
use std::time::Duration;

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn public_types_are_send_and_sync() {
    assert_send_sync::<LlamaCppSource>();
    assert_send_sync::<Box<dyn EngineProvisioner + Send + Sync>>();
    assert_send_sync::<PoolConfig>();
    assert_send_sync::<engine_provisioner::Plan>();
    assert_send_sync::<PreparedEngine>();
    assert_send_sync::<EngineOptions>();
    assert_send_sync::<ProvisionError>();
    assert_send_sync::<ConfigError>();
    assert_send_sync::<ValidationError>();
    assert_send_sync::<GitStep>();
    assert_send_sync::<BuildCacheState>();
    assert_send_sync::<engine_provisioner::MissingTool>();
    assert_send_sync::<engine_provisioner::Result<PreparedEngine>>();
    assert_send_sync::<engine_provisioner::RepoUrl>();
    assert_send_sync::<engine_provisioner::GitRef>();
    assert_send_sync::<engine_provisioner::ToolVars>();
    assert_send_sync::<engine_provisioner::Provisioning>();
    assert_send_sync::<engine_provisioner::Source>();
    assert_send_sync::<engine_provisioner::Build>();
    assert_send_sync::<engine_provisioner::ModelSpec>();
    assert_send_sync::<engine_provisioner::Engine>();
    assert_send_sync::<engine_provisioner::Generator>();
    assert_send_sync::<engine_provisioner::Stamp>();
    assert_send_sync::<engine_provisioner::CacheKey>();
    assert_send_sync::<engine_provisioner::FileId>();
    assert_send_sync::<engine_provisioner::Cancel>();
    assert_send_sync::<engine_provisioner::LlamaCppExternal>();
    assert_send_sync::<engine_provisioner::ExternalPlan>();
    assert_send_sync::<engine_provisioner::SourcePlan>();
    assert_send_sync::<engine_provisioner::PlanStep>();
    assert_send_sync::<engine_provisioner::Providers>();
    assert_send_sync::<engine_provisioner::Mode>();
    assert_send_sync::<engine_provisioner::External>();
    assert_send_sync::<engine_provisioner::NvccFound>();
}

#[test]
fn provider_for_hands_out_a_provisioner_another_thread_can_use() {
    let fake = FakeTools::new();
    let pool = fake.pool("v0", &[]);
    let provisioner = engine_provisioner::provider_for(&pool, fake.models.clone()).unwrap();
    let plan = std::thread::spawn(move || provisioner.plan(&pool))
        .join()
        .unwrap();
    // The process PATH may lack the tools: only the kind of answer matters.
    if let Err(e) = plan {
        assert!(e.kind() != ErrorKind::Other, "{e}");
    }
}

fn kind_of(fake: &FakeTools, pool: &PoolConfig) -> ErrorKind {
    fake.provider().ensure(pool).unwrap_err().kind()
}

#[test]
fn each_failure_has_its_kind() {
    // Invalid config (changed after loading).
    let fake = FakeTools::new();
    let mut pool = fake.pool("v0", &[]);
    pool.provisioning.flags = vec!["--port".into(), "1".into()];
    assert_eq!(kind_of(&fake, &pool), ErrorKind::InvalidInput);

    // Missing tools.
    let fake = FakeTools::new();
    fake.remove("cmake");
    assert_eq!(kind_of(&fake, &fake.pool("v0", &[])), ErrorKind::Toolchain);

    // A failing build, and a failing configure.
    let fake = FakeTools::new();
    fake.fail("cmake.fail-build");
    assert_eq!(kind_of(&fake, &fake.pool("v0", &[])), ErrorKind::Build);
    let fake = FakeTools::new();
    fake.fail("cmake.fail-configure");
    assert_eq!(kind_of(&fake, &fake.pool("v0", &[])), ErrorKind::Build);

    // A clone that fails talks to the remote; a ref that is nowhere.
    let fake = FakeTools::new();
    fake.fail("git.fail-clone");
    assert_eq!(kind_of(&fake, &fake.pool("v0", &[])), ErrorKind::Network);
    let fake = FakeTools::new();
    fake.fail("git.fail-fetch");
    assert_eq!(
        kind_of(&fake, &fake.pool("v9", &[])),
        ErrorKind::Network,
        "a ref not in the clone is fetched"
    );

    // Another ensure holds the build lock past the timeout.
    let fake = FakeTools::new();
    let held =
        file_lock::acquire(&fake.cache.join(".lock"), LockWait::default(), &mut |_| {}).unwrap();
    let err = fake
        .provider()
        .with_lock_wait(LockWait {
            notice_after: Duration::from_millis(10),
            timeout: Duration::from_millis(100),
        })
        .ensure(&fake.pool("v0", &[]))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Locked);
    assert!(err.kind().is_retryable());
    held.release();

    // The model's digest is wrong: the model error's own kind.
    let fake = FakeTools::new();
    let toml = fake.pool_toml("v0", &[], "").replace(
        "[provisioning.model]\n",
        &format!(
            "[provisioning.model]\ndigest = \"sha256:{}\"\n",
            "0".repeat(64)
        ),
    );
    let pool = PoolConfig::from_toml_str(&toml).unwrap();
    let err = fake.provider().ensure(&pool).unwrap_err();
    assert!(matches!(err, ProvisionError::Model { .. }), "{err:?}");
    assert_eq!(err.kind(), ErrorKind::DigestMismatch);

    // Cancelled before it starts.
    let fake = FakeTools::new();
    let options = EngineOptions::default();
    options.cancel.cancel();
    let err = fake
        .provider()
        .ensure_with(&fake.pool("v0", &[]), &options)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cancelled);
    assert!(!err.kind().is_retryable());

    // Other engines.
    let fake = FakeTools::new();
    let toml = fake
        .pool_toml("v0", &[], "")
        .replace("engine = \"llamacpp\"", "engine = \"vllm\"");
    let pool = PoolConfig::from_toml_str(&toml).unwrap();
    let Err(err) = engine_provisioner::provider_for(&pool, fake.models.clone()) else {
        panic!("vllm has no provider");
    };
    assert_eq!(err.kind(), ErrorKind::Unsupported);
}
