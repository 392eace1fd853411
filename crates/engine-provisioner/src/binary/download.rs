//! The archive of an `https://` (or loopback `http://`) URL, through
//! `verified_download`: resumed from `<digest>.archive.part` after an
//! interruption (in this process or the next), its sha256 computed while
//! the bytes arrive and compared before the file is renamed into place,
//! transient failures retried, one download per file across processes,
//! and the caller's cancel and progress passed in. The download layer does
//! not narrate: its events become `binary-download-progress` (at most
//! once a second) and `binary-download-retry` here.

use super::BinaryPlan;
use crate::error::{ProvisionError, Result};
use crate::options::EngineOptions;
use crate::plan::Plan;
use crate::say::Say;
use model_provisioner::{Digest, ProgressReporter};
use narration_core::catalog::engine as ev;
use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use verified_download::{Download, DownloadError, Event};

/// How often transfer progress is narrated (typed progress is throttled
/// by the reporter on its own).
const NARRATE_EVERY: Duration = Duration::from_secs(1);

/// Download `raw` (the URL as configured, credentials included: the
/// download layer shows only its public form) into the install dir's
/// `downloads/`: the file, its verified digest, bytes moved.
pub(super) fn url(
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
        .sha256(expected)
        .cancel(options.cancel.clone())
        .progress(progress.for_target(d.url.clone()))
        .on_event(on_event)
        .run()
        .map_err(failed)?;
    Ok((done.path, done.digest, done.transferred))
}

/// Remove a downloaded archive once it is installed (its lock file goes
/// with it; a concurrent download of the same file holds its own handle).
pub(super) fn forget(archive: &Path) {
    let _ = std::fs::remove_file(archive);
}
