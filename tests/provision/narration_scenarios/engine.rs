//! Scenarios of the engine provisioner: the llama.cpp source provider
//! with the fake git, CMake and compilers, and the tiny model on disk.

use super::{Captured, capture};
use crate::engine_support::FakeTools;
use engine_provisioner::{EngineOptions, EngineProvisioner, PoolConfig};
use model_provisioner::{Progress, ProgressStep};
use std::sync::Arc;

/// A CPU pool on tag `v0` of the fake repository.
fn cpu_pool(fake: &FakeTools) -> PoolConfig {
    fake.pool("v0", &[])
}

fn ensure(fake: &FakeTools, pool: &PoolConfig) -> Captured {
    let provider = fake.provider();
    capture(|| provider.ensure(pool))
}

pub fn plan() -> Captured {
    let fake = FakeTools::new();
    let provider = fake.provider();
    capture(|| provider.plan(&cpu_pool(&fake)))
}

pub fn cold() -> Captured {
    let fake = FakeTools::new();
    ensure(&fake, &cpu_pool(&fake))
}

pub fn cached() -> Captured {
    let fake = FakeTools::new();
    let pool = cpu_pool(&fake);
    fake.provider()
        .ensure(&pool)
        .expect("the first ensure succeeds");
    ensure(&fake, &pool)
}

/// A CUDA configure that fails until a host compiler is named; gcc-13 is
/// there to retry with.
pub fn cmake_retry() -> Captured {
    let fake = FakeTools::new();
    for tool in ["nvcc", "gcc-13", "g++-13"] {
        fake.add(tool);
    }
    fake.fail("cmake.fail-without-host-compiler");
    ensure(&fake, &fake.pool("v0", &["-DGGML_CUDA=ON"]))
}

pub fn cmake_failed() -> Captured {
    let fake = FakeTools::new();
    fake.fail("cmake.fail-configure");
    ensure(&fake, &cpu_pool(&fake))
}

pub fn preflight_missing() -> Captured {
    let fake = FakeTools::new();
    fake.remove("cmake");
    ensure(&fake, &cpu_pool(&fake))
}

/// The pool expects another digest than the local model file has.
pub fn model_failure() -> Captured {
    let fake = FakeTools::new();
    // `[provisioning.model]` is the pool TOML's last table.
    let toml = format!(
        "{}digest = \"sha256:{}\"\n",
        fake.pool_toml("v0", &[], ""),
        "0".repeat(64)
    );
    let pool = PoolConfig::from_toml_str(&toml).expect("pool config with a digest");
    ensure(&fake, &pool)
}

/// A build that would run for a minute, cancelled by the caller once it
/// reports its first build step.
pub fn cancelled_build() -> Captured {
    let fake = FakeTools::new();
    fake.fail("cmake.slow-build");
    let mut options = EngineOptions::default();
    let cancel = options.cancel.clone();
    options.progress = Some(Arc::new(move |p: &Progress| {
        if p.step == ProgressStep::Build && p.done > 0 {
            cancel.cancel();
        }
    }));
    let provider = fake.provider();
    let pool = cpu_pool(&fake);
    capture(|| provider.ensure_with(&pool, &options))
}

/// An external-mode pool whose binary is the fake `llama-server` (by
/// absolute path) printing `version` as its `--version`.
fn external(version_script: &str) -> Captured {
    let fake = FakeTools::new();
    fake.script("llama-server", version_script);
    let toml = format!(
        "id = \"ext\"\nengine = \"llamacpp\"\n[provisioning]\nmode = \"external\"\n\
         [provisioning.external]\nbinary = \"{}\"\ncache_dir = \"{}\"\n\
         [provisioning.model]\nref = \"{}\"\n",
        fake.bin.join("llama-server").display(),
        fake.cache.display(),
        crate::engine_support::tiny_model().display()
    );
    let pool = PoolConfig::from_toml_str(&toml).expect("external pool");
    let provider = engine_provisioner::LlamaCppExternal::new(fake.models.clone());
    capture(|| provider.ensure(&pool))
}

pub fn external_ok() -> Captured {
    external("echo 'version: 6000 (abcdef0)' >&2")
}

pub fn external_failing() -> Captured {
    external("echo 'cannot load libggml.so' >&2; exit 127")
}

/// A `binary` pool whose release archive (the fake `llama-server` in the
/// release layout, plus `extra` entries) the stand-in's CDN serves.
struct BinaryPool {
    _hub: hub_standin::Hub,
    fake: FakeTools,
    pool: PoolConfig,
}

fn binary_pool(extra: Vec<crate::engine_release::Entry>) -> BinaryPool {
    use crate::engine_release as release;
    let fake = FakeTools::new();
    let hub = hub_standin::Hub::start().expect("stand-in hub");
    let mut entries = release::release_entries(release::fake_server(&fake.dir.path().join("runs")));
    entries.extend(extra);
    let spec = hub_standin::FileSpec::lfs(release::tar_gz(&entries));
    hub.commit(
        "ggml-org/llama-bin",
        "main",
        vec![("llama.tar.gz", spec.clone())],
    );
    let toml = format!(
        "id = \"bin\"\nengine = \"llamacpp\"\n[provisioning]\nmode = \"binary\"\n\
         [provisioning.binary]\nurl = \"{}{}\"\nsha256 = \"{}\"\ninstall_dir = \"{}\"\n\
         [provisioning.model]\nref = \"{}\"\n",
        hub.cdn_endpoint(),
        hub_standin::Hub::cdn_path(&spec),
        spec.sha256(),
        fake.cache.display(),
        crate::engine_support::tiny_model().display()
    );
    let pool = PoolConfig::from_toml_str(&toml).expect("binary pool");
    BinaryPool {
        _hub: hub,
        fake,
        pool,
    }
}

fn ensure_binary(b: &BinaryPool) -> Captured {
    let provider = engine_provisioner::LlamaCppBinary::new(b.fake.models.clone());
    capture(|| provider.ensure(&b.pool))
}

pub fn binary_cold() -> Captured {
    ensure_binary(&binary_pool(Vec::new()))
}

pub fn binary_warm() -> Captured {
    let b = binary_pool(Vec::new());
    engine_provisioner::LlamaCppBinary::new(b.fake.models.clone())
        .ensure(&b.pool)
        .expect("the first ensure succeeds");
    ensure_binary(&b)
}

/// An archive with a `../x` entry.
pub fn binary_unsafe() -> Captured {
    use crate::engine_release::Entry;
    ensure_binary(&binary_pool(vec![Entry::File(
        "../x".into(),
        b"x".to_vec(),
        0o644,
    )]))
}
