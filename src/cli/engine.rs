//! `provision engine POOL.toml [--plan]`: prepare (or plan) a llama.cpp
//! engine for a pool, in the pool's provisioning mode. Nothing is started.

use std::fmt::Write as _;

use std::sync::Arc;

use engine_provisioner::{
    ConfigError, EngineOptions, Plan, PoolConfig, PreparedEngine, provider_for,
};
use model_provisioner::ProgressObserver;

use super::args::EngineArgs;
use super::error::CliError;
use super::model::provisioner;
use super::output::Output;

pub fn run(
    args: &EngineArgs,
    out: &Output,
    progress: Option<Arc<dyn ProgressObserver>>,
) -> Result<(), CliError> {
    let pool = PoolConfig::from_path(&args.pool).map_err(|e| match e {
        ConfigError::Read { .. } | ConfigError::TooLarge { .. } => CliError::new(e),
        other => CliError::new(format!(
            "{}: {other}; fix the file and run again",
            args.pool.display()
        )),
    })?;
    // The pool's model goes through the same provisioner, cache and
    // catalog as `provision model` uses.
    let provider = provider_for(&pool, Arc::new(provisioner(&args.store, &args.download)?))?;
    if args.plan {
        let plan = provider.plan(&pool)?;
        out.emit(&plan, |s| human_plan(s, &plan))
    } else {
        let options = EngineOptions {
            progress,
            ..EngineOptions::default()
        };
        let engine = provider.ensure_with(&pool, &options)?;
        out.emit(&engine, |s| human_engine(s, &engine))
    }
}

/// The plan from its neutral fields only: each mode's specifics are in
/// its steps' sentences and paths.
fn human_plan(s: &mut String, p: &Plan) {
    let rows = [
        ("pool", p.pool_id.clone()),
        ("engine", p.engine_version.clone()),
        ("mode", p.mode.as_str().to_string()),
        ("binary", p.binary_path.display().to_string()),
        ("model", p.model_ref.id()),
    ];
    for (k, v) in rows {
        let _ = writeln!(s, "{k:<10}{v}");
    }
    let _ = writeln!(s, "steps:");
    for (i, step) in p.steps.iter().enumerate() {
        let _ = writeln!(s, "  {}. {}: {}", i + 1, step.kind, step.detail);
        for path in &step.paths {
            let _ = writeln!(s, "       {}", path.display());
        }
    }
}

fn human_engine(s: &mut String, e: &PreparedEngine) {
    let rows = [
        ("pool", format!("{} (replica {})", e.pool_id, e.replica_id)),
        ("engine", e.engine_version.clone()),
        ("commit", e.commit.clone()),
        ("binary", e.binary_path.display().to_string()),
        ("sha256", e.binary_sha256.clone()),
        ("model", e.model_path.display().to_string()),
        ("listen", format!("{}:{}", e.host, e.port)),
        ("health", e.health_url.clone()),
        ("env", environment(e)),
        ("command", command_line(e)),
    ];
    for (k, v) in rows {
        let _ = writeln!(s, "{k:<10}{v}");
    }
}

/// The environment to start the server with, `K=V` pairs (`-` when empty).
fn environment(e: &PreparedEngine) -> String {
    if e.env.is_empty() {
        return "-".to_string();
    }
    e.env
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The start command, for people to copy (arguments with spaces quoted).
fn command_line(e: &PreparedEngine) -> String {
    let quote = |a: &str| {
        if a.is_empty() || a.contains(|c: char| c.is_whitespace() || c == '\'' || c == '"') {
            format!("'{}'", a.replace('\'', r"'\''"))
        } else {
            a.to_string()
        }
    };
    std::iter::once(e.binary_path.display().to_string())
        .chain(e.flags.iter().cloned())
        .map(|a| quote(&a))
        .collect::<Vec<_>>()
        .join(" ")
}
