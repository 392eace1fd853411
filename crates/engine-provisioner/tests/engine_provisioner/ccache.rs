//! Source builds through ccache: when it is on PATH, the launcher
//! definitions and the ccache variables reach CMake, and the stamp key
//! changes with them; a pool can turn it off.

use crate::support::FakeTools;
use engine_provisioner::{EngineProvisioner, PoolConfig, SourcePlan};

fn pool_with(fake: &FakeTools, build_line: &str) -> PoolConfig {
    let toml = fake
        .pool_toml("v0", &[], "")
        .replace("jobs = 3\n", &format!("jobs = 3\n{build_line}\n"));
    PoolConfig::from_toml_str(&toml).unwrap()
}

fn ccache_env(fake: &FakeTools) -> String {
    std::fs::read_to_string(fake.ctl.join("cmake.ccache-env")).unwrap_or_default()
}

#[test]
fn ccache_on_path_is_the_compiler_launcher_with_a_shared_cache() {
    let fake = FakeTools::new();
    fake.script("ccache", "exit 0");
    let ccache = fake.bin.join("ccache");
    let engine = fake.provider().ensure(&pool_with(&fake, "")).unwrap();
    assert_eq!(engine.provisioning_mode, "source");
    let configure = fake.configures().join("\n");
    for lang in ["C", "CXX"] {
        let def = format!("-DCMAKE_{lang}_COMPILER_LAUNCHER={}", ccache.display());
        assert!(configure.contains(&def), "{def} missing: {configure}");
    }
    assert!(
        !configure.contains("CMAKE_CUDA_COMPILER_LAUNCHER"),
        "CPU build: {configure}"
    );
    let env = ccache_env(&fake);
    let expected = format!(
        "CCACHE_BASEDIR={}\nCCACHE_DIR={}\nCCACHE_NOHASHDIR=1\n",
        fake.cache.join("src").display(),
        fake.cache.join("ccache").display()
    );
    assert_eq!(env, expected);

    // The launcher is part of the build cache key: turning ccache off
    // rebuilds.
    fake.clear();
    fake.provider()
        .ensure(&pool_with(&fake, "ccache = false"))
        .unwrap();
    let configure = fake.configures().join("\n");
    assert!(
        !configure.is_empty(),
        "the stamp key changed: configure again"
    );
    assert!(!configure.contains("COMPILER_LAUNCHER"), "{configure}");
    assert!(configure.contains("-DGGML_CCACHE=OFF"), "{configure}");
    assert_eq!(ccache_env(&fake), "", "no ccache variables when off");
}

#[test]
fn cuda_builds_launch_nvcc_through_ccache_and_a_pool_value_wins() {
    let fake = FakeTools::new();
    fake.script("ccache", "exit 0");
    let toml = fake.pool_toml(
        "v0",
        &["-DGGML_CUDA=ON"],
        "env = { CCACHE_DIR = \"/srv/ccache\" }",
    );
    let pool = PoolConfig::from_toml_str(&toml).unwrap();
    let plan = fake.provider().plan(&pool).unwrap();
    let source = plan.details::<SourcePlan>().unwrap();
    let launcher = format!(
        "-DCMAKE_CUDA_COMPILER_LAUNCHER={}",
        fake.bin.join("ccache").display()
    );
    assert!(
        source.cmake_defs.contains(&launcher),
        "{:?}",
        source.cmake_defs
    );
    assert_eq!(source.ccache, Some(fake.bin.join("ccache")));
    let names: Vec<&str> = source.tool_env.names().collect();
    assert_eq!(
        names.iter().filter(|n| **n == "CCACHE_DIR").count(),
        1,
        "the pool's CCACHE_DIR is kept, not doubled: {names:?}"
    );
}

#[test]
fn without_ccache_on_path_nothing_changes() {
    let fake = FakeTools::new();
    let plan = fake.provider().plan(&pool_with(&fake, "")).unwrap();
    let source = plan.details::<SourcePlan>().unwrap();
    assert_eq!(source.ccache, None);
    assert!(
        !source
            .cmake_defs
            .iter()
            .any(|d| d.contains("CCACHE") || d.contains("LAUNCHER")),
        "{:?}",
        source.cmake_defs
    );
}
