//! The `binary` mode: a released `llama-server` archive
//! (`[provisioning.binary] url`, `.tar.gz` or `.zip`) is downloaded with
//! its sha256 checked while it arrives, unpacked safely
//! ([`crate::archive`]), its `llama-server` run with `--version` (a
//! cancellable child with a timeout, its shared libraries found beside
//! it), and the whole folder renamed into place under the archive's
//! sha256 ([`install`]), where every pool naming the same archive shares
//! it.
//! A warm ensure finds the install and its stamp: no network, no process.

mod download;
mod install;
mod plan;

pub use crate::archive::{ArchiveError, ArchiveLimits};
pub use plan::BinaryPlan;

use crate::EngineProvisioner;
use crate::actions as ev;
use crate::archive;
use crate::config::PoolConfig;
use crate::error::{ProvisionError, Result};
use crate::exec::ToolEnv;
use crate::lifecycle::{self, in_step};
use crate::options::EngineOptions;
use crate::plan::Plan;
use crate::prepared::PreparedEngine;
use crate::say::Say;
use crate::version_check::{self, Refused};
use install::{Stamp, TempInstall};
use model_provisioner::hf::HfFetcher;
use model_provisioner::{
    Digest, Fetcher, Fingerprint, ModelProvisioner, ModelRef, ProgressReporter, ProgressStep,
};
use narration_core::step_span;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Downloads, checks and installs a released `llama-server` archive, and
/// gets the pool's model from a shared [`ModelProvisioner`].
#[derive(Clone)]
pub struct LlamaCppBinary {
    models: Arc<ModelProvisioner>,
    fetchers: Vec<Arc<dyn Fetcher>>,
    limits: ArchiveLimits,
    version_timeout: Duration,
    path: OsString,
}

impl std::fmt::Debug for LlamaCppBinary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlamaCppBinary")
            .field("limits", &self.limits)
            .field("version_timeout", &self.version_timeout)
            .finish_non_exhaustive()
    }
}

/// A checked install: the binary to run and what its check found.
struct Installed {
    binary: PathBuf,
    stamp: Stamp,
}

impl LlamaCppBinary {
    /// A provider downloading `https://` (and loopback `http://`) archives
    /// and `hf:` files (the Hub and token from the environment), with the
    /// default [`ArchiveLimits`] and `--version` timeout.
    pub fn new(models: Arc<ModelProvisioner>) -> Self {
        Self {
            models,
            fetchers: vec![Arc::new(HfFetcher::from_env())],
            limits: ArchiveLimits::default(),
            version_timeout: crate::DEFAULT_VERSION_TIMEOUT,
            path: std::env::var_os("PATH").unwrap_or_default(),
        }
    }

    /// Fetch `hf:` archives (or any other scheme but `https`/`http`, which
    /// go through `verified_download`) with `fetcher`, e.g. an
    /// [`HfFetcher`] for another Hub endpoint or token.
    pub fn with_fetcher(mut self, fetcher: Arc<dyn Fetcher>) -> Self {
        let schemes = fetcher.schemes();
        self.fetchers
            .retain(|f| !f.schemes().iter().any(|s| schemes.contains(s)));
        self.fetchers.push(fetcher);
        self
    }

    /// Bound what an archive may unpack to.
    pub fn with_limits(mut self, limits: ArchiveLimits) -> Self {
        self.limits = limits;
        self
    }

    /// How long `--version` may run before the binary is refused.
    pub fn with_version_timeout(mut self, timeout: Duration) -> Self {
        self.version_timeout = timeout;
        self
    }

    /// The PATH `--version` runs with.
    pub fn with_path(mut self, path: impl Into<OsString>) -> Self {
        self.path = path.into();
        self
    }

    fn plan_for(&self, pool: &PoolConfig) -> Result<Plan> {
        plan::make(pool, self.version_timeout)
    }

    /// Carry out a plan made by this provider's [`EngineProvisioner::plan`];
    /// a plan of another mode is refused (`unsupported`).
    pub fn execute_with(&self, plan: &Plan, options: &EngineOptions) -> Result<PreparedEngine> {
        lifecycle::execute(plan, options, |say| self.run(plan, options, say))
    }

    /// The lifecycle: start, preflight (the install folder), install
    /// (cached, or download → verify → unpack → binary check → rename),
    /// model, flags, port.
    fn run(&self, plan: &Plan, options: &EngineOptions, say: &Say<'_>) -> Result<PreparedEngine> {
        let details = lifecycle::details::<BinaryPlan>(plan)?;
        let t0 = Instant::now();
        let replica_id = lifecycle::finish::replica_id(options)?;
        let progress = lifecycle::progress_for(plan, options);
        say.step(
            ev::START,
            &plan.pool_id,
            format!(
                "Starting engine provisioning for pool {}: llama.cpp release archive {}",
                plan.pool_id, details.url
            ),
        );
        say.step(
            ev::PREFLIGHT,
            &plan.pool_id,
            format!(
                "Checking the install folder {}",
                details.install_dir.display()
            ),
        );
        std::fs::create_dir_all(&details.install_dir).map_err(|source| ProvisionError::Io {
            what: "cannot create the install folder",
            path: details.install_dir.clone(),
            source,
        })?;
        let installed = in_step(step_span!(ev::ACTOR, "install"), || {
            self.install(plan, details, options, &progress, say)
        })?;
        let model_path = in_step(step_span!(ev::ACTOR, "model"), || {
            lifecycle::model::run(plan, &self.models, options)
        })?;
        let target = lifecycle::finish::Target {
            cache_dir: &details.install_dir,
            // A release may be a CUDA build: GPU-layer flags pass through.
            cuda: true,
            device_mask: details.device_mask.clone(),
            commit: installed.stamp.commit.clone(),
            binary_sha256: installed.stamp.binary_sha256.clone(),
            engine_version: format!("llamacpp-binary:b{}", installed.stamp.build),
        };
        let mut prepared = in_step(step_span!(ev::ACTOR, "finish"), || {
            lifecycle::finish::run(plan, target, replica_id, model_path)
        })?;
        prepared
            .env
            .insert("LD_LIBRARY_PATH".into(), library_path(&installed.binary));
        prepared.binary_path = installed.binary;
        Ok(lifecycle::finalize(prepared, say, t0))
    }

    /// The checked install of the pool's archive: the one already there
    /// (no network, no process), else a new one.
    fn install(
        &self,
        plan: &Plan,
        d: &BinaryPlan,
        options: &EngineOptions,
        progress: &ProgressReporter,
        say: &Say<'_>,
    ) -> Result<Installed> {
        if let Some(sha) = &d.sha256
            && let Some(hit) = self.cached(plan, d, &sha.hex(), &options.cancel, say)?
        {
            return Ok(hit);
        }
        let (archive, digest) = self.download(plan, d, options, progress, say)?;
        let hex = digest.hex();
        if d.sha256.is_none()
            && let Some(hit) = self.cached(plan, d, &hex, &options.cancel, say)?
        {
            return Ok(hit);
        }
        let installed = self.unpack_and_check(plan, d, &archive, &hex, options, progress, say)?;
        // The install is what lasts; its archive is not needed again.
        if matches!(d.source, ModelRef::Https { .. } | ModelRef::Http { .. }) {
            download::forget(&archive);
        }
        Ok(installed)
    }

    /// The install of archive `hex`, when it is there: its stamp for this
    /// binary matches (install-cached), or the binary was never checked
    /// for this choice (checked now, in place). A binary changed since
    /// its check whose sha256 differs means a damaged install: it is
    /// removed, and `None` lets a fresh one be made.
    fn cached(
        &self,
        plan: &Plan,
        d: &BinaryPlan,
        hex: &str,
        cancel: &model_provisioner::Cancel,
        say: &Say<'_>,
    ) -> Result<Option<Installed>> {
        let dir = install::final_dir(&d.install_dir, hex);
        if !dir.is_dir() {
            return Ok(None);
        }
        let configured = d.binary.as_deref();
        let t = Instant::now();
        if let Some(stamp) = install::read_stamp(&dir, configured) {
            if !install::unchanged(&dir, &stamp) {
                // Touched since its check: only the same bytes are kept.
                let same = version_check::sha256_hex(&dir.join(&stamp.binary))
                    .is_ok_and(|hex| hex == stamp.binary_sha256);
                if !same {
                    self.discard(d, &dir, hex)?;
                    return Ok(None);
                }
                let fingerprint = Fingerprint::of(&dir.join(&stamp.binary)).ok();
                if let Some(fingerprint) = fingerprint {
                    let fresh = Stamp {
                        fingerprint,
                        ..stamp.clone()
                    };
                    let _ = install::write_stamp(&dir, configured, &fresh);
                }
            }
            say.done(
                ev::INSTALL_CACHED,
                &dir.display().to_string(),
                format!(
                    "llama-server b{} is installed in {} (checked before; unchanged)",
                    stamp.build,
                    dir.display()
                ),
                t.elapsed(),
            );
            return Ok(Some(Installed {
                binary: dir.join(&stamp.binary),
                stamp,
            }));
        }
        // Installed for another pool's choice: this pool's binary is
        // checked in place (the install itself is never changed).
        let rel = archive::find_binary(&dir, configured).map_err(|e| archive_error(plan, d, e))?;
        let stamp = self.check(plan, d, &dir, &rel, hex, cancel, say)?;
        install::write_stamp(&dir, configured, &stamp).map_err(|source| ProvisionError::Io {
            what: "cannot write the install stamp in",
            path: dir.clone(),
            source,
        })?;
        say.done(
            ev::INSTALL_CACHED,
            &dir.display().to_string(),
            format!(
                "llama-server b{} is installed in {} (checked now)",
                stamp.build,
                dir.display()
            ),
            t.elapsed(),
        );
        Ok(Some(Installed {
            binary: dir.join(&stamp.binary),
            stamp,
        }))
    }

    fn discard(&self, d: &BinaryPlan, dir: &Path, hex: &str) -> Result<()> {
        install::discard(dir, &d.install_dir, hex).map_err(|source| ProvisionError::Io {
            what: "cannot remove the damaged install",
            path: dir.to_path_buf(),
            source,
        })
    }

    /// Download the archive (an `https`/`http` URL through
    /// `verified_download`, an `hf:` file through the Hub fetcher): resume,
    /// sha256 while streaming, retries, cancel, progress. Returns the
    /// archive file and its checked digest.
    fn download(
        &self,
        plan: &Plan,
        d: &BinaryPlan,
        options: &EngineOptions,
        progress: &ProgressReporter,
        say: &Say<'_>,
    ) -> Result<(PathBuf, Digest)> {
        say.step(
            ev::BINARY_DOWNLOAD,
            &d.url,
            format!("Downloading the llama.cpp archive {}", d.url),
        );
        let t = Instant::now();
        let (path, digest, transferred) = match &d.source {
            ModelRef::Https { url } | ModelRef::Http { url } => {
                download::url(&self.models, plan, d, url, options, progress, say)?
            }
            _ => download::hf(&self.fetchers, plan, d, options, progress)?,
        };
        say.done_bytes(
            ev::BINARY_DOWNLOADED,
            &d.url,
            format!("The archive is here: {transferred} bytes transferred"),
            t.elapsed(),
            transferred,
        );
        if let Some(expected) = d.sha256
            && digest != expected
        {
            return Err(ProvisionError::BinaryDownload {
                pool_id: plan.pool_id.clone(),
                url: d.url.clone(),
                source: Box::new(model_provisioner::ProvisionError::DigestMismatch {
                    model: d.url.clone(),
                    path,
                    expected,
                    actual: digest,
                }),
            });
        }
        say.step(
            ev::VERIFY,
            &digest.to_string(),
            format!("The archive's sha256 is {digest}, as expected"),
        );
        Ok((path, digest))
    }

    /// Unpack into a temporary folder, find and check the binary, stamp
    /// it, and rename the folder into place (or use the install another
    /// ensure renamed there first).
    #[allow(clippy::too_many_arguments)]
    fn unpack_and_check(
        &self,
        plan: &Plan,
        d: &BinaryPlan,
        archive: &Path,
        hex: &str,
        options: &EngineOptions,
        progress: &ProgressReporter,
        say: &Say<'_>,
    ) -> Result<Installed> {
        let io = |what, path: &Path| {
            let path = path.to_path_buf();
            move |source| ProvisionError::Io { what, path, source }
        };
        let temp = install::temp_dir(&d.install_dir, hex);
        let temp = TempInstall::create(temp.clone())
            .map_err(io("cannot create the temporary install folder", &temp))?;
        let target = format!("sha256:{hex}");
        say.step(
            ev::UNPACK,
            &target,
            format!("Unpacking the archive into {}", temp.path().display()),
        );
        let t = Instant::now();
        progress.begin(ProgressStep::Install, None);
        let on_bytes = |n| progress.report(ProgressStep::Install, n, None, 0, false);
        let unpacked = archive::unpack(
            archive,
            temp.path(),
            &self.limits,
            &options.cancel,
            &on_bytes,
        )
        .map_err(|e| archive_error(plan, d, e))?;
        progress.report(
            ProgressStep::Install,
            unpacked.bytes,
            Some(unpacked.bytes),
            0,
            true,
        );
        let rel = archive::find_binary(temp.path(), d.binary.as_deref())
            .map_err(|e| archive_error(plan, d, e))?;
        say.done_bytes(
            ev::UNPACK,
            &target,
            format!(
                "Unpacked {} entries ({} bytes); llama-server is {}",
                unpacked.entries,
                unpacked.bytes,
                rel.display()
            ),
            t.elapsed(),
            unpacked.bytes,
        );
        let stamp = self.check(plan, d, temp.path(), &rel, hex, &options.cancel, say)?;
        install::write_stamp(temp.path(), d.binary.as_deref(), &stamp)
            .map_err(io("cannot write the install stamp in", temp.path()))?;
        let dir = install::final_dir(&d.install_dir, hex);
        let t = Instant::now();
        let won = temp
            .commit(&dir)
            .map_err(io("cannot rename the install into place at", &dir))?;
        if !won {
            // Another ensure installed the same archive first: use its
            // install (checked by it, or now for this binary choice).
            return match self.cached(plan, d, hex, &options.cancel, say)? {
                Some(hit) => Ok(hit),
                None => Err(ProvisionError::Io {
                    what: "the install another ensure made is unusable",
                    path: dir,
                    source: std::io::Error::other("no llama-server in it"),
                }),
            };
        }
        say.done(
            ev::INSTALLED,
            &dir.display().to_string(),
            format!(
                "Installed llama-server b{} ({}) in {}",
                stamp.build,
                stamp.binary.display(),
                dir.display()
            ),
            t.elapsed(),
        );
        Ok(Installed {
            binary: dir.join(&stamp.binary),
            stamp,
        })
    }

    /// `--version` of `root/rel` with its folder on `LD_LIBRARY_PATH`, then
    /// its sha256 and fingerprint: the stamp to write.
    #[allow(clippy::too_many_arguments)]
    fn check(
        &self,
        plan: &Plan,
        d: &BinaryPlan,
        root: &Path,
        rel: &Path,
        hex: &str,
        cancel: &model_provisioner::Cancel,
        say: &Say<'_>,
    ) -> Result<Stamp> {
        let binary = root.join(rel);
        let refused = |problem: String| ProvisionError::ArchiveBinary {
            pool_id: plan.pool_id.clone(),
            url: d.url.clone(),
            binary: rel.display().to_string(),
            problem,
        };
        let target = binary.display().to_string();
        say.step(
            ev::BINARY_CHECK,
            &target,
            format!("Running {target} --version"),
        );
        let t = Instant::now();
        let env = ToolEnv {
            path: self.path.clone(),
            vars: vec![("LD_LIBRARY_PATH".into(), library_path(&binary))],
            cancel: cancel.clone(),
        };
        let answer = match version_check::run(&binary, &env, self.version_timeout) {
            Ok(answer) => answer,
            Err(Refused::Cancelled) => {
                return Err(ProvisionError::cancelled(&plan.pool_id, ev::BINARY_CHECK));
            }
            Err(Refused::Problem(why)) => return Err(refused(why)),
        };
        let binary_sha256 = version_check::sha256_hex(&binary).map_err(&refused)?;
        let fingerprint = Fingerprint::of(&binary).map_err(|e| refused(e.to_string()))?;
        say.done(
            ev::BINARY_CHECK,
            &target,
            format!(
                "{target} answers: version {} ({}), engine llamacpp-binary:b{}",
                answer.build, answer.commit, answer.build
            ),
            t.elapsed(),
        );
        Ok(Stamp {
            archive_sha256: hex.to_string(),
            binary: rel.to_path_buf(),
            binary_sha256,
            build: answer.build,
            commit: answer.commit,
            fingerprint,
        })
    }
}

fn archive_error(plan: &Plan, d: &BinaryPlan, source: ArchiveError) -> ProvisionError {
    if matches!(source, ArchiveError::Cancelled) {
        return ProvisionError::cancelled(&plan.pool_id, ev::UNPACK);
    }
    ProvisionError::Archive {
        pool_id: plan.pool_id.clone(),
        url: d.url.clone(),
        source,
    }
}

/// `LD_LIBRARY_PATH` for a release binary: its own folder (where
/// `libllama.so` and `libggml*.so` are), and `../lib` when there is one.
fn library_path(binary: &Path) -> String {
    let Some(dir) = binary.parent() else {
        return String::new();
    };
    let mut dirs = vec![dir.to_path_buf()];
    if let Some(lib) = dir.parent().map(|p| p.join("lib"))
        && lib.is_dir()
    {
        dirs.push(lib);
    }
    std::env::join_paths(dirs)
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default()
}

impl EngineProvisioner for LlamaCppBinary {
    fn plan(&self, pool: &PoolConfig) -> Result<Plan> {
        self.plan_for(pool)
            .inspect_err(|e| Say::new(&pool.id).failed(e))
    }

    fn ensure_with(&self, pool: &PoolConfig, options: &EngineOptions) -> Result<PreparedEngine> {
        lifecycle::ensure(
            &pool.id,
            options,
            || self.plan_for(pool),
            |plan, say| self.run(plan, options, say),
        )
    }
}
