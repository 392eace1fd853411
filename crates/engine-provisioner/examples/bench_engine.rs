//! Engine provisioning times: a cold `binary` ensure of a release-layout
//! archive from a loopback server against a cold `source` build of the same
//! llama.cpp commit (goal ≥ 100× faster), the warm `binary` ensure (median
//! of 20; goal ≤ 20 ms), and a source rebuild after a one-commit ref bump
//! with ccache against the cold build (goal ≤ 0.3×). Prints figures;
//! asserts nothing.
//!
//! ```text
//! cargo run --release -p engine-provisioner --example bench_engine -- --repo DIR
//! ```
//!
//! `DIR` is a llama.cpp git repository with a tag `v0`
//! (`scripts/llama-fixture.sh` makes one); `scripts/bench-engine.sh` runs
//! this. The repository is cloned into a temporary folder and a commit
//! changing one `.cpp` file is tagged `v1` there. Steps:
//!
//! 1. cold source build of `v0` in a new cache dir (ccache on, its cache
//!    empty);
//! 2. ref bump to `v1` in the same cache dir (the build dir and ccache
//!    are reused: one file recompiles, then the link);
//! 3. `v1` in a fresh cache dir whose ccache is the first one's
//!    (`CCACHE_DIR` in the pool env): configure and every compile again,
//!    served from ccache;
//! 4. the binary of step 1 (packed before step 2 rebuilds it) as a release `.tar.gz`
//!    (`build/bin/llama-server`), served by the stand-in's CDN on
//!    loopback: one cold `binary` ensure into a new install dir, then 20
//!    warm ones.

use engine_provisioner::{EngineProvisioner, LlamaCppBinary, LlamaCppSource, PoolConfig};
use model_provisioner::ModelProvisioner;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

type BoxResult<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> BoxResult<()> {
    let mut repo: Option<PathBuf> = None;
    let mut warm_runs = 20usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--repo" => repo = Some(args.next().ok_or("--repo needs a value")?.into()),
            "--warm-runs" => warm_runs = args.next().ok_or("--warm-runs needs a value")?.parse()?,
            "--bench" => {}
            other => return Err(format!("unknown argument {other:?}").into()),
        }
    }
    let repo = repo.ok_or("--repo DIR is required (scripts/llama-fixture.sh prints one)")?;
    let model = std::fs::canonicalize(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/tiny-llama.gguf"),
    )?;
    let work = tempfile::tempdir()?;
    let clone = work.path().join("llama.cpp");
    bump_clone(&repo, &clone)?;
    let models = Arc::new(
        ModelProvisioner::builder(work.path().join("models"))
            .catalog_path(work.path().join("models/catalog.sqlite"))
            .build()?,
    );
    let source = LlamaCppSource::new(models.clone());
    let source_pool = |git_ref: &str, cache: &Path, env: &str| -> BoxResult<PoolConfig> {
        Ok(PoolConfig::from_toml_str(&format!(
            "id = \"bench-source\"\nengine = \"llamacpp\"\n[provisioning]\n{env}\n\
             [provisioning.source]\nrepo = \"file://{}\"\nref = \"{git_ref}\"\n\
             [provisioning.source.build]\ngenerator = \"ninja\"\ncache_dir = \"{}\"\n\
             [provisioning.model]\nref = \"{}\"\n",
            clone.display(),
            cache.display(),
            model.display()
        ))?)
    };

    let first = work.path().join("engine-a");
    let pool = source_pool("v0", &first, "")?;
    let (cold, t_cold) = timed(|| Ok(source.ensure(&pool)?))?;
    println!(
        "BENCH source cold build (v0): {:.1} s",
        t_cold.as_secs_f64()
    );
    // Packed now: the ref bump below rebuilds the binary in place.
    let archive = release_tar_gz(&cold.binary_path)?;
    let server_mib = std::fs::metadata(&cold.binary_path)?.len() as f64 / (1 << 20) as f64;
    let pool = source_pool("v1", &first, "")?;
    let (_, t_bump) = timed(|| Ok(source.ensure(&pool)?))?;
    println!(
        "BENCH source rebuild after a one-commit ref bump (same cache dir, ccache): {:.1} s, {:.3}x the cold build (goal <= 0.3x)",
        t_bump.as_secs_f64(),
        t_bump.as_secs_f64() / t_cold.as_secs_f64()
    );
    let shared = format!(
        "env = {{ CCACHE_DIR = \"{}\" }}",
        first.join("ccache").display()
    );
    let second = work.path().join("engine-b");
    let pool = source_pool("v1", &second, &shared)?;
    let (_, t_fresh) = timed(|| Ok(source.ensure(&pool)?))?;
    println!(
        "BENCH source build of v1 in a fresh build dir from the warm ccache: {:.1} s, {:.3}x the cold build",
        t_fresh.as_secs_f64(),
        t_fresh.as_secs_f64() / t_cold.as_secs_f64()
    );

    println!(
        "release archive: {:.1} MiB (llama-server {server_mib:.1} MiB)",
        archive.len() as f64 / (1 << 20) as f64,
    );
    let hub = hub_standin::Hub::start()?;
    let spec = hub_standin::FileSpec::lfs(archive);
    hub.commit(
        "bench/llama-bin",
        "main",
        vec![("llama-bin.tar.gz", spec.clone())],
    );
    let pool = PoolConfig::from_toml_str(&format!(
        "id = \"bench-binary\"\nengine = \"llamacpp\"\n[provisioning]\nmode = \"binary\"\n\
         [provisioning.binary]\nurl = \"{}{}\"\nsha256 = \"{}\"\ninstall_dir = \"{}\"\n\
         [provisioning.model]\nref = \"{}\"\n",
        hub.cdn_endpoint(),
        hub_standin::Hub::cdn_path(&spec),
        spec.sha256(),
        work.path().join("binary").display(),
        model.display()
    ))?;
    let binary = LlamaCppBinary::new(models);
    let (engine, t_bin) = timed(|| Ok(binary.ensure(&pool)?))?;
    println!(
        "BENCH binary cold ensure (download, verify, unpack, --version, install): {:.3} s ({})",
        t_bin.as_secs_f64(),
        engine.engine_version
    );
    println!(
        "BENCH cold source build / cold binary ensure: {:.0}x (goal >= 100x)",
        t_cold.as_secs_f64() / t_bin.as_secs_f64()
    );
    let mut warm = Vec::with_capacity(warm_runs);
    for _ in 0..warm_runs {
        let (_, t) = timed(|| Ok(binary.ensure(&pool)?))?;
        warm.push(t);
    }
    warm.sort();
    let median = warm[warm.len() / 2];
    println!(
        "BENCH binary warm ensure: median {:.2} ms of {warm_runs} (min {:.2}, max {:.2}; goal <= 20 ms)",
        ms(median),
        ms(warm[0]),
        ms(warm[warm.len() - 1])
    );
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn timed<T>(f: impl FnOnce() -> BoxResult<T>) -> BoxResult<(T, Duration)> {
    let t = Instant::now();
    let out = f()?;
    Ok((out, t.elapsed()))
}

/// Clone `repo` into `clone` and commit a one-line change to one `.cpp`
/// file of `llama-server`'s build there, tagged `v1`.
fn bump_clone(repo: &Path, clone: &Path) -> BoxResult<()> {
    let git = |dir: &Path, args: &[&str]| -> BoxResult<()> {
        let status = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(["-c", "user.name=bench", "-c", "user.email=bench@localhost"])
            .args(args)
            .status()?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("git {args:?} failed: {status}").into())
        }
    };
    let parent = clone.parent().ok_or("clone path has no parent")?;
    git(
        parent,
        &[
            "clone",
            "--quiet",
            &repo.display().to_string(),
            &clone.display().to_string(),
        ],
    )?;
    git(clone, &["checkout", "--quiet", "v0"])?;
    let file = clone.join("common/log.cpp");
    let mut f = std::fs::OpenOptions::new().append(true).open(&file)?;
    writeln!(f, "\n// bench: a one-commit ref bump")?;
    git(
        clone,
        &["commit", "--quiet", "-am", "bench: touch common/log.cpp"],
    )?;
    git(clone, &["tag", "v1"])?;
    Ok(())
}

/// `build/bin/llama-server` (and any shared library beside the binary) as
/// a `.tar.gz`, the layout of llama.cpp's Linux releases.
fn release_tar_gz(server: &Path) -> BoxResult<Vec<u8>> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    tar.append_path_with_name(server, "build/bin/llama-server")?;
    if let Some(dir) = server.parent() {
        for entry in std::fs::read_dir(dir)?.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.contains(".so") {
                tar.append_path_with_name(entry.path(), format!("build/bin/{name}"))?;
            }
        }
    }
    Ok(tar.into_inner()?.finish()?)
}
