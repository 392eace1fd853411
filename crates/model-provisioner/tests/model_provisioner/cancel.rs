//! A cancelled ensure, whichever layer noticed the cancel (the download,
//! a lock wait, hashing, the lifecycle between two steps), ends as one
//! `ProvisionError::Cancelled` naming its step, narrated once as
//! `cancelled`, with nothing registered.

use model_provisioner::actions as act;
use model_provisioner::{
    Cancel, Digest, DownloadError, EnsureOptions, ErrorKind, FetchContext, Fetched, Fetcher,
    ModelProvisioner, ModelRef, Progress, ProgressObserver, ProgressStep, ProvisionError, gguf,
};
use narration_core::{CaptureAdapter, NarrationLevel};
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Stands in for a download layer that honours the token: it waits on it,
/// then reports the cancel the way the download layer does.
struct WaitsForCancel;

impl Fetcher for WaitsForCancel {
    fn schemes(&self) -> &'static [&'static str] {
        &["https"]
    }

    fn fetch(
        &self,
        model: &ModelRef,
        _expected: Option<&Digest>,
        ctx: &FetchContext,
    ) -> Result<Fetched, ProvisionError> {
        // Cancelled by the test as soon as the wait starts (or a minute passes).
        let _ = ctx.cancel.sleep(Duration::from_secs(60));
        Err(ProvisionError::Download {
            model: model.id(),
            source: DownloadError::Cancelled,
        })
    }
}

fn assert_cancelled_once(capture: &CaptureAdapter, step: &str) {
    let captured = capture.captured();
    let actions: Vec<&str> = captured.iter().map(|n| n.action).collect();
    let cancelled: Vec<_> = captured
        .iter()
        .filter(|n| n.action == act::CANCELLED)
        .collect();
    assert_eq!(cancelled.len(), 1, "{actions:?}");
    assert_eq!(cancelled[0].error_kind.as_deref(), Some("cancelled"));
    assert_eq!(cancelled[0].level, NarrationLevel::Warn);
    assert!(cancelled[0].human.contains(step), "{}", cancelled[0].human);
    assert!(
        !actions.iter().any(|a| a.ends_with("-failed")),
        "never *-failed: {actions:?}"
    );
    assert!(!actions.contains(&act::REGISTER), "{actions:?}");
    assert_eq!(actions.last(), Some(&act::CANCELLED), "{actions:?}");
}

#[test]
fn a_cancel_from_the_download_layer_is_narrated_once_as_cancelled_and_registers_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let cancel = Cancel::new();
    // The token is cancelled inside the fetch, so the lifecycle's own
    // check before the fetch passes and the cancel comes from the
    // download layer, as a `DownloadError`.
    let models = ModelProvisioner::builder(dir.path())
        .fetcher(Arc::new(CancelsOnFetch(cancel.clone())))
        .build()
        .unwrap();
    let capture = CaptureAdapter::install();
    let err = models
        .ensure_present_str_with(
            "https://example.com/m.gguf",
            None,
            &EnsureOptions {
                cancel,
                ..Default::default()
            },
        )
        .unwrap_err();
    assert!(
        matches!(&err, ProvisionError::Cancelled { step: "download", model } if model == "https://example.com/m.gguf"),
        "{err:?}"
    );
    assert_eq!(err.kind(), ErrorKind::Cancelled);
    assert_cancelled_once(&capture, "download");
    assert!(models.catalog().list().unwrap().is_empty());
}

/// Cancels the ensure's token from inside the fetch, then reports what a
/// download layer reports.
struct CancelsOnFetch(Cancel);

impl Fetcher for CancelsOnFetch {
    fn schemes(&self) -> &'static [&'static str] {
        &["https"]
    }

    fn fetch(
        &self,
        model: &ModelRef,
        expected: Option<&Digest>,
        ctx: &FetchContext,
    ) -> Result<Fetched, ProvisionError> {
        self.0.cancel();
        WaitsForCancel.fetch(model, expected, ctx)
    }
}

/// A real GGUF model with `extra` zero bytes after it: hashing it takes
/// several chunks.
fn padded_model(dir: &std::path::Path, extra: usize) -> PathBuf {
    let path = dir.join("padded.gguf");
    gguf::write_tiny_llama(&path, gguf::TINY_LLAMA_SEED).unwrap();
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    f.write_all(&vec![0u8; extra]).unwrap();
    path
}

/// Records every report; cancels `cancel` when the hash begins (the
/// reporter throttles reports between chunks, so the first one is the
/// one sure to come before the end).
struct CancelMidHash {
    cancel: Option<Cancel>,
    seen: Mutex<Vec<Progress>>,
}

impl ProgressObserver for CancelMidHash {
    fn progress(&self, p: &Progress) {
        self.seen.lock().unwrap().push(p.clone());
        if let Some(cancel) = &self.cancel
            && p.step == ProgressStep::Hash
        {
            cancel.cancel();
        }
    }
}

#[test]
fn a_cancelled_hash_stops_within_a_chunk_is_narrated_once_and_the_next_ensure_hashes_it_all() {
    let dir = tempfile::tempdir().unwrap();
    let model = padded_model(dir.path(), 8 << 20);
    let size = std::fs::metadata(&model).unwrap().len();
    let models = ModelProvisioner::builder(dir.path().join("cache"))
        .build()
        .unwrap();
    let cancel = Cancel::new();
    let observer = Arc::new(CancelMidHash {
        cancel: Some(cancel.clone()),
        seen: Mutex::default(),
    });
    let capture = CaptureAdapter::install();
    let err = models
        .ensure_present_str_with(
            model.to_str().unwrap(),
            None,
            &EnsureOptions {
                cancel,
                progress: Some(observer.clone()),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert!(
        matches!(&err, ProvisionError::Cancelled { step: "verify", .. }),
        "{err:?}"
    );
    assert_cancelled_once(&capture, "verify");
    assert!(models.catalog().list().unwrap().is_empty());
    let hashed: Vec<(u64, bool)> = observer
        .seen
        .lock()
        .unwrap()
        .iter()
        .filter(|p| p.step == ProgressStep::Hash)
        .map(|p| (p.done, p.finished))
        .collect();
    assert_eq!(hashed.first(), Some(&(0, false)), "{hashed:?}");
    let last = hashed.last().unwrap();
    assert!(
        last.0 < size && !last.1,
        "stopped before the end: {hashed:?} of {size}"
    );

    // Not cancelled: the hash runs to its end and says so.
    let observer = Arc::new(CancelMidHash {
        cancel: None,
        seen: Mutex::default(),
    });
    let resolved = models
        .ensure_present_str_with(
            model.to_str().unwrap(),
            None,
            &EnsureOptions {
                progress: Some(observer.clone()),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(resolved.size_bytes, size);
    let seen = observer.seen.lock().unwrap();
    let last = seen.last().unwrap();
    assert_eq!(
        (last.step, last.done, last.total, last.finished),
        (ProgressStep::Hash, size, Some(size), true)
    );
}

#[test]
fn a_token_cancelled_before_the_ensure_stops_it_before_any_fetch() {
    let dir = tempfile::tempdir().unwrap();
    let model = padded_model(dir.path(), 0);
    let models = ModelProvisioner::builder(dir.path().join("cache"))
        .build()
        .unwrap();
    let cancel = Cancel::new();
    cancel.cancel();
    let capture = CaptureAdapter::install();
    let err = models
        .ensure_present_str_with(
            model.to_str().unwrap(),
            None,
            &EnsureOptions {
                cancel,
                ..Default::default()
            },
        )
        .unwrap_err();
    assert!(
        matches!(
            &err,
            ProvisionError::Cancelled {
                step: "download",
                ..
            }
        ),
        "{err:?}"
    );
    let actions: Vec<&str> = capture.captured().iter().map(|n| n.action).collect();
    assert_eq!(actions, [act::RESOLVE, act::ENSURE, act::CANCELLED]);
}
