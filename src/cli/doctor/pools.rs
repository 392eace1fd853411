//! One pool: its plan validates, its tools are there, its build cache and
//! its model are ready (or what the next `provision engine` will do).

use std::path::Path;
use std::sync::Arc;

use engine_provisioner::{BuildCacheState, Plan, PoolConfig, provider_for};
use model_provisioner::{CatalogStore, Fingerprint, Locations, ModelProvisioner, SqliteCatalog};

use super::Check;
use super::probe::which;
use crate::cli::args::ModelStore;

pub fn checks(pool_path: &Path, store: &ModelStore) -> Vec<Check> {
    let fallback = format!("pool {}", pool_path.display());
    let pool = match PoolConfig::from_path(pool_path) {
        Ok(pool) => pool,
        Err(e) => return vec![Check::fail(fallback, e.to_string()).hint("fix the pool file")],
    };
    let name = format!("pool {}", pool.id);
    let locations = Locations::from_env()
        .with_cache_dir(&store.cache_dir)
        .with_catalog(&store.catalog.catalog);
    // The plan reads no catalog: an in-memory one keeps the doctor from
    // creating a file in the cache or beside the real catalog.
    let models = match ModelProvisioner::builder(&locations.cache_dir)
        .catalog_path(":memory:")
        .build()
    {
        Ok(m) => Arc::new(m),
        Err(e) => return vec![Check::fail(name, e.to_string())],
    };
    let plan = match provider_for(&pool, models).and_then(|p| p.plan(&pool)) {
        Ok(plan) => plan,
        Err(e) => {
            return vec![
                Check::fail(format!("{name}: plan"), e.to_string()).hint("fix the pool file"),
            ];
        }
    };
    vec![
        Check::ok(
            format!("{name}: plan"),
            format!(
                "valid: {} ({} steps)",
                plan.engine_version,
                plan.steps.len()
            ),
        ),
        tools(&name, &plan),
        build_cache(&name, &plan),
        model(&name, &plan, &locations.catalog),
    ]
}

fn tools(name: &str, plan: &Plan) -> Check {
    if plan.tools.is_empty() {
        return Check::ok(
            format!("{name}: tools"),
            format!("none needed in mode {}", plan.mode.as_str()),
        );
    }
    let missing: Vec<&str> = plan
        .tools
        .iter()
        .map(String::as_str)
        .filter(|t| match *t {
            "cc" => ["cc", "gcc", "clang"].iter().all(|c| which(c).is_none()),
            "c++" => ["c++", "g++", "clang++"].iter().all(|c| which(c).is_none()),
            // nvcc may live under a CUDA root; the nvcc check says where.
            "nvcc" => which("nvcc").is_none() && !Path::new("/usr/local/cuda/bin/nvcc").is_file(),
            other => which(other).is_none(),
        })
        .collect();
    if missing.is_empty() {
        Check::ok(format!("{name}: tools"), plan.tools.join(", "))
    } else {
        Check::fail(
            format!("{name}: tools"),
            format!("missing: {}", missing.join(", ")),
        )
        .hint("install them (see the tool checks above), or set allow_package_installs")
    }
}

fn build_cache(name: &str, plan: &Plan) -> Check {
    let check = format!("{name}: build cache");
    match plan.build_cache_state() {
        None => Check::ok(
            check,
            format!(
                "nothing to build in mode {}: {}",
                plan.mode.as_str(),
                plan.binary_path.display()
            ),
        ),
        Some(BuildCacheState::Fresh { commit }) => Check::ok(
            check,
            format!("{} built from {commit}", plan.binary_path.display()),
        ),
        Some(BuildCacheState::NotBuilt) => Check::warn(check, "not built yet")
            .hint("`provision engine POOL.toml` builds it (minutes)"),
        Some(BuildCacheState::Stale { reason }) => Check::warn(check, format!("stale: {reason}"))
            .hint("the next `provision engine` rebuilds it"),
    }
}

fn model(name: &str, plan: &Plan, catalog: &Path) -> Check {
    let check = format!("{name}: model");
    let id = plan.model_ref.id();
    let entry = if catalog.exists() {
        SqliteCatalog::open(catalog).and_then(|c| c.get(&id))
    } else {
        Ok(None)
    };
    let entry = match entry {
        Ok(Some(entry)) => entry,
        Ok(None) => {
            return Check::warn(check, format!("{id} is not provisioned yet"))
                .hint(format!("`provision model {id}` fetches and verifies it"));
        }
        Err(e) => return Check::fail(check, e.to_string()),
    };
    let now = Fingerprint::of(&entry.local_path).ok();
    match (now, entry.fingerprint) {
        (None, _) => Check::warn(
            check,
            format!("{id}: {} is gone", entry.local_path.display()),
        )
        .hint(format!("`provision model {id}` fetches it again")),
        (Some(now), Some(recorded)) if now == recorded => Check::ok(
            check,
            format!("{id} present and verified ({})", entry.digest.short()),
        ),
        // Recorded without a fingerprint (the file was too new to vouch
        // for its bytes): the next ensure hashes it again.
        (Some(_), None) => Check::ok(
            check,
            format!("{id} present; the next ensure re-hashes it (no trusted fingerprint yet)"),
        ),
        (Some(_), Some(_)) => Check::warn(
            check,
            format!("{id} present, changed since it was verified"),
        )
        .hint(format!("`provision catalog verify {id}`")),
    }
}
