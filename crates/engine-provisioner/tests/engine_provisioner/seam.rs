//! The provider seam: a mode is one provider (a type implementing
//! `EngineProvisioner` that makes a neutral `Plan` and a `PreparedEngine`)
//! plus one row in the mode table. This test adds a fake `package` mode
//! from outside the crate, touching nothing else, and reads its plan and
//! engine through the neutral types only.

use crate::support::{FakeTools, tiny_model};
use engine_provisioner::{
    EngineOptions, EngineProvisioner, ErrorKind, Mode, ModeDetails, Plan, PlanStep, PoolConfig,
    PreparedEngine, Providers, Result, provider_for,
};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// What the fake mode keeps in its plan.
#[derive(Debug)]
struct PackageDetails {
    package: String,
}

impl ModeDetails for PackageDetails {
    fn to_json(&self) -> serde_json::Value {
        serde_json::json!({ "package": self.package })
    }
}

/// A provider that "installs" a package: nothing happens, the plan and
/// the engine are made from the pool.
struct FakePackage;

impl EngineProvisioner for FakePackage {
    fn plan(&self, pool: &PoolConfig) -> Result<Plan> {
        let model = pool.provisioning.model.as_ref().expect("a model");
        let binary = PathBuf::from("/usr/bin/llama-server");
        Ok(Plan {
            pool_id: pool.id.clone(),
            engine: "llamacpp".into(),
            mode: Mode::Package,
            engine_version: "llamacpp-package:b1".into(),
            binary_path: binary.clone(),
            tools: vec!["apt-get".into()],
            model_ref: model.model_ref.clone(),
            model_digest: model.digest,
            server_flags: pool.provisioning.flags.clone(),
            ports: pool.provisioning.ports.clone(),
            steps: vec![PlanStep::new(
                "package",
                "install llama.cpp-server",
                vec![binary],
            )],
            details: Some(Arc::new(PackageDetails {
                package: "llama.cpp-server".into(),
            })),
        })
    }

    fn ensure_with(&self, pool: &PoolConfig, options: &EngineOptions) -> Result<PreparedEngine> {
        let plan = self.plan(pool)?;
        let details = plan.details::<PackageDetails>().expect("its own details");
        Ok(PreparedEngine {
            binary_path: plan.binary_path.clone(),
            flags: vec!["--port".into(), "9".into()],
            host: "127.0.0.1".into(),
            port: 9,
            health_url: "http://127.0.0.1:9/health".into(),
            env: BTreeMap::new(),
            model_path: PathBuf::from(details.package.clone()),
            engine_version: plan.engine_version,
            commit: String::new(),
            binary_sha256: String::new(),
            provisioning_mode: plan.mode.as_str().into(),
            pool_id: plan.pool_id,
            replica_id: options.replica().to_string(),
            device_mask: None,
            trace_id: None,
            traceparent: None,
        })
    }
}

fn package_pool() -> PoolConfig {
    PoolConfig::from_toml_str(&format!(
        r#"
id = "pkg"
engine = "llamacpp"
[provisioning]
mode = "package"
[provisioning.model]
ref = "{}"
"#,
        tiny_model().display()
    ))
    .unwrap()
}

#[test]
fn a_mode_added_outside_the_crate_is_planned_and_ensured_through_the_table() {
    let fake = FakeTools::new();
    let pool = package_pool();
    let refused = provider_for(&pool, fake.models.clone())
        .err()
        .expect("refused");
    assert_eq!(refused.kind(), ErrorKind::Unsupported);

    let providers = Providers::builtin().with(Mode::Package, |_| Box::new(FakePackage));
    let provider = providers.provider_for(&pool, fake.models.clone()).unwrap();
    let plan = provider.plan(&pool).unwrap();
    assert_eq!(plan.mode, Mode::Package);
    assert_eq!(plan.steps[0].kind, "package");
    let json = serde_json::to_value(&plan).unwrap();
    assert_eq!(json["package"], "llama.cpp-server", "details join the JSON");
    assert_eq!(json["mode"], "package");
    assert_eq!(
        json["model_ref"],
        format!("file:{}", tiny_model().display())
    );
    assert_eq!(plan.build_cache_state(), None, "nothing to build");

    let engine = provider.ensure(&pool).unwrap();
    assert_eq!(engine.provisioning_mode, "package");
    assert_eq!(engine.replica_id, "r0");

    // The built-in modes are still there.
    assert!(providers.provider_for_mode(Mode::Source).is_some());
    assert!(providers.provider_for_mode(Mode::External).is_some());
}
