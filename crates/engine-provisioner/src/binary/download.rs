//! The archive of an `https://` (or loopback `http://`) URL, through
//! `verified_download`: resumed from `<digest>.archive.part` after an
//! interruption (in this process or the next), its sha256 computed while
//! the bytes arrive and compared before the file is renamed into place,
//! transient failures retried, one download per file across processes,
//! and the caller's cancel and progress passed in. The download layer does
//! not narrate: its events become `binary-download-progress` (at most
//! once a second) and `binary-download-retry` here. An `hf:` file goes
//! through the Hub fetcher instead ([`hf`]).

use super::BinaryPlan;
use crate::actions as ev;
use crate::error::{ProvisionError, Result};
use crate::options::EngineOptions;
use crate::plan::Plan;
use crate::say::Say;
use model_provisioner::{
    Digest, ErrorKind, FetchContext, Fetcher, ModelProvisioner, ProgressReporter,
};
use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use verified_download::{Download, DownloadError, Event};

/// How often transfer progress is narrated (typed progress is throttled
/// by the reporter on its own).
const NARRATE_EVERY: Duration = Duration::from_secs(1);

/// Download `raw` (the URL as configured, credentials included: the
/// download layer shows only its public form) into the install dir's
/// `downloads/`, through `models`' proxies and CA bundle: the file, its
/// verified digest, bytes moved.
pub(super) fn url(
    models: &ModelProvisioner,
    plan: &Plan,
    d: &BinaryPlan,
    raw: &str,
    options: &EngineOptions,
    progress: &ProgressReporter,
    say: &Say<'_>,
) -> Result<(PathBuf, Digest, u64)> {
    let failed = |source: DownloadError| {
        if matches!(source, DownloadError::Cancelled) {
            return ProvisionError::cancelled(&plan.pool_id, ev::BINARY_DOWNLOAD);
        }
        ProvisionError::ArchiveDownload {
            pool_id: plan.pool_id.clone(),
            url: d.url.clone(),
            source: Box::new(source),
        }
    };
    // Loading the pool refuses an https/http archive without a sha256.
    let expected = d
        .sha256
        .ok_or_else(|| failed(DownloadError::DigestRequired { url: d.url.clone() }))?;
    let dir = d.install_dir.join("downloads");
    std::fs::create_dir_all(&dir).map_err(|source| ProvisionError::Io {
        what: "cannot create the download folder",
        path: dir.clone(),
        source,
    })?;
    let dest = dir.join(format!("{}.archive", expected.hex()));
    let last = Cell::new(None::<Instant>);
    let on_event = |event: Event<'_>| match event {
        Event::Progress {
            have,
            total,
            transferred,
            ..
        } => {
            if last.get().is_some_and(|t| t.elapsed() < NARRATE_EVERY) {
                return;
            }
            last.set(Some(Instant::now()));
            let of = total.map_or_else(String::new, |t| format!(" of {t}"));
            say.done_bytes(
                ev::BINARY_DOWNLOAD_PROGRESS,
                &d.url,
                format!("{have}{of} bytes of the archive ({transferred} this transfer)"),
                Duration::ZERO,
                have,
            );
        }
        Event::Retrying {
            attempt,
            max,
            delay,
            reason,
        } => say.step(
            ev::BINARY_DOWNLOAD_RETRY,
            &d.url,
            format!(
                "Download attempt {attempt} of {max} failed ({reason}); retrying in {} ms",
                delay.as_millis()
            ),
        ),
        _ => {}
    };
    let done = Download::new(raw, &dest)
        .proxy(models.proxy().clone())
        .ca_bundle(models.ca_bundle().cloned())
        .sha256(expected)
        .cancel(options.cancel.clone())
        .progress(progress.for_target(d.url.clone()))
        .on_event(on_event)
        .run()
        .map_err(failed)?;
    Ok((done.path, done.digest, done.transferred))
}

/// An `hf:` archive through the fetcher of its scheme (the Hub's LFS
/// sha256 checked while it streams); a file found in the HF cache is
/// hashed before it is trusted. The file, its digest, bytes moved.
pub(super) fn hf(
    fetchers: &[Arc<dyn Fetcher>],
    plan: &Plan,
    d: &BinaryPlan,
    options: &EngineOptions,
    progress: &ProgressReporter,
) -> Result<(PathBuf, Digest, u64)> {
    let failed = |source: model_provisioner::ProvisionError| {
        if source.kind() == ErrorKind::Cancelled {
            return ProvisionError::cancelled(&plan.pool_id, ev::BINARY_DOWNLOAD);
        }
        ProvisionError::BinaryDownload {
            pool_id: plan.pool_id.clone(),
            url: d.url.clone(),
            source: Box::new(source),
        }
    };
    let scheme = d.source.scheme();
    let fetcher = fetchers
        .iter()
        .find(|f| f.schemes().contains(&scheme))
        .ok_or_else(|| {
            failed(model_provisioner::ProvisionError::NoFetcher {
                model: d.url.clone(),
                scheme: scheme.to_string(),
            })
        })?;
    let ctx = FetchContext {
        correlation_id: options.correlation_id.clone(),
        pool_id: Some(plan.pool_id.clone()),
        offline: false,
        cache_dir: d.install_dir.join("downloads"),
        cancel: options.cancel.clone(),
        progress: progress.for_target(d.url.clone()),
        vouched: None,
    };
    let fetched = fetcher
        .fetch(&d.source, d.sha256.as_ref(), &ctx)
        .map_err(failed)?;
    let digest = match fetched.digest {
        Some(digest) => digest,
        // Found on disk, not written now: hash it before trusting it.
        None => {
            let mut quiet = |_| {};
            model_provisioner::hash_file_until(&fetched.path, &options.cancel, &mut quiet)
                .map(|(digest, _)| digest)
                .map_err(|e| match e {
                    model_provisioner::HashError::Cancelled => {
                        ProvisionError::cancelled(&plan.pool_id, ev::VERIFY)
                    }
                    other => ProvisionError::Io {
                        what: "cannot hash the downloaded archive",
                        path: fetched.path.clone(),
                        source: std::io::Error::other(other.to_string()),
                    },
                })?
        }
    };
    Ok((fetched.path, digest, fetched.bytes_transferred))
}

/// Remove a downloaded archive once it is installed (its lock file goes
/// with it; a concurrent download of the same file holds its own handle).
pub(super) fn forget(archive: &Path) {
    let _ = std::fs::remove_file(archive);
}
