//! What a supervisor gets: the health URL, the server's environment, the
//! replica id, and a port that stays the same from one ensure of a pool's
//! replica to the next.

use crate::support::FakeTools;
use engine_provisioner::{EngineOptions, EngineProvisioner, ErrorKind, ProvisionError};
use std::net::{Ipv4Addr, TcpListener};

#[test]
fn health_url_env_and_replica_id_describe_the_engine_to_start() {
    let fake = FakeTools::new();
    let engine = fake.provider().ensure(&fake.pool("v0", &[])).unwrap();
    assert_eq!(engine.replica_id, "r0");
    assert_eq!(
        engine.health_url,
        format!("http://127.0.0.1:{}/health", engine.port)
    );
    assert!(
        !engine.env.contains_key("CUDA_VISIBLE_DEVICES"),
        "CPU build: {:?}",
        engine.env
    );

    let cuda_dir = fake.dir.path().join("opt");
    fake.script_in(&cuda_dir.join("cuda-12.4/bin"), "nvcc", "exit 0");
    let toml = fake.pool_toml(
        "v0",
        &["-DGGML_CUDA=ON"],
        "env = { CUDA_VISIBLE_DEVICES = \"1,3\" }",
    );
    let pool = engine_provisioner::PoolConfig::from_toml_str(&toml).unwrap();
    let options = EngineOptions {
        replica_id: Some("r2".into()),
        ..EngineOptions::default()
    };
    let engine = fake
        .provider()
        .with_cuda_search_dirs(vec![cuda_dir])
        .ensure_with(&pool, &options)
        .unwrap();
    assert_eq!(engine.replica_id, "r2");
    assert_eq!(engine.device_mask.as_deref(), Some("1,3"));
    assert_eq!(
        engine.env.get("CUDA_VISIBLE_DEVICES").map(String::as_str),
        Some("1,3")
    );
}

#[test]
fn the_port_is_the_same_on_the_next_ensure_of_a_replica() {
    let fake = FakeTools::new();
    let pool = fake.pool("v0", &[]);
    let provider = fake.provider();
    let first = provider.ensure(&pool).unwrap();
    let second = provider.ensure(&pool).unwrap();
    assert_eq!(second.port, first.port);
    assert!(
        second
            .flags
            .windows(2)
            .any(|w| w[0] == "--port" && w[1] == first.port.to_string())
    );

    // While the engine of that replica runs (its port is bound), the next
    // ensure hands out another free port.
    let running = TcpListener::bind((Ipv4Addr::LOCALHOST, first.port)).unwrap();
    let third = provider.ensure(&pool).unwrap();
    assert_ne!(third.port, first.port);
    drop(running);
}

#[test]
fn a_replica_id_that_cannot_name_a_file_is_refused() {
    let fake = FakeTools::new();
    let options = EngineOptions {
        replica_id: Some("../r0".into()),
        ..EngineOptions::default()
    };
    let err = fake
        .provider()
        .ensure_with(&fake.pool("v0", &[]), &options)
        .unwrap_err();
    assert!(matches!(err, ProvisionError::Config(_)), "{err:?}");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(fake.calls().is_empty(), "{:?}", fake.calls());
}
