//! `ensure_present` end to end on real files, a real SQLite catalog and the
//! narrations it emits.

use model_provisioner::{
    Digest, FetchContext, Fetched, Fetcher, ModelProvisioner, ModelRef, ProvisionError,
    Sha256Stream, Verification, gguf, read_handoff, read_provenance, sha256_bytes,
};
use narration_core::{CaptureAdapter, NarrationLevel};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

const A: &str = "model-provisioner";

struct Setup {
    dir: tempfile::TempDir,
    model: PathBuf,
}

impl Setup {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("models/tiny.gguf");
        std::fs::create_dir_all(model.parent().unwrap()).unwrap();
        gguf::write_tiny_llama(&model, gguf::TINY_LLAMA_SEED).unwrap();
        Self { dir, model }
    }

    /// A provisioner with a short racy window, for file systems with
    /// nanosecond timestamps (tmpfs, ext4, overlayfs).
    fn provisioner(&self) -> ModelProvisioner {
        ModelProvisioner::builder(self.dir.path().join("cache"))
            .racy_window(Duration::from_millis(50))
            .build()
            .unwrap()
    }

    fn model_str(&self) -> &str {
        self.model.to_str().unwrap()
    }

    fn digest(&self) -> Digest {
        model_provisioner::hash_file(&self.model).unwrap().0
    }
}

fn settle() {
    std::thread::sleep(Duration::from_millis(120));
}

fn actions(capture: &CaptureAdapter) -> Vec<&'static str> {
    capture.captured().iter().map(|n| n.action).collect()
}

fn assert_failure_narrated(capture: &CaptureAdapter, action: &str, kind: &str) {
    let captured = capture.captured();
    let failure = captured
        .iter()
        .find(|n| n.action == action)
        .unwrap_or_else(|| panic!("no {action} narration in {:?}", actions(capture)));
    assert_eq!(failure.error_kind.as_deref(), Some(kind));
    assert_eq!(failure.level, NarrationLevel::Error);
    assert!(!actions(capture).contains(&"complete"));
}

#[test]
fn cold_ensure_hashes_inspects_registers_and_narrates_in_order() {
    let s = Setup::new();
    let p = s.provisioner();
    let capture = CaptureAdapter::install();
    let r = p
        .ensure_present_str(s.model_str(), Some(s.digest()))
        .unwrap();

    assert_eq!(r.local_path, s.model);
    assert_eq!(r.digest, s.digest());
    assert_eq!(r.size_bytes, std::fs::metadata(&s.model).unwrap().len());
    assert_eq!(r.verification, Verification::Hashed);
    assert_eq!(r.gguf.architecture.as_deref(), Some("llama"));
    assert_eq!(r.id, format!("file:{}", s.model.display()));
    assert_eq!(
        actions(&capture),
        [
            "resolve", "ensure", "verify", "verified", "register", "complete"
        ]
    );
    let captured = capture.captured();
    let complete = captured.last().unwrap();
    assert!(complete.duration_ms.is_some());
    assert_eq!(complete.bytes, Some(r.size_bytes));
    let verified = captured.iter().find(|n| n.action == "verified").unwrap();
    assert_eq!(verified.bytes, Some(r.size_bytes));
    // One correlation id for the whole ensure.
    let ids: std::collections::HashSet<_> =
        captured.iter().map(|n| n.correlation_id.clone()).collect();
    assert_eq!(ids.len(), 1);
    assert!(ids.iter().next().unwrap().is_some());

    let row = p.catalog().get(&r.id).unwrap().unwrap();
    assert_eq!(row.digest, r.digest);
    assert_eq!(row.gguf.as_ref(), Some(&r.gguf));
    let log = read_provenance(&s.dir.path().join("cache/provenance.jsonl")).unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].digest, r.digest);
}

#[test]
fn warm_ensure_of_an_unchanged_file_skips_hashing() {
    let s = Setup::new();
    let p = s.provisioner();
    settle();
    let first = p.ensure_present_str(s.model_str(), None).unwrap();
    let capture = CaptureAdapter::install();
    let again = p
        .ensure_present_str(s.model_str(), Some(first.digest))
        .unwrap();
    assert_eq!(again.verification, Verification::Fingerprint);
    assert_eq!(again.digest, first.digest);
    assert_eq!(again.gguf, first.gguf);
    assert_eq!(
        actions(&capture),
        [
            "resolve",
            "ensure",
            "verify",
            "cache-hit",
            "verified",
            "complete"
        ]
    );
    // Nothing rewritten: one provenance line only.
    let log = read_provenance(&s.dir.path().join("cache/provenance.jsonl")).unwrap();
    assert_eq!(log.len(), 1);
}

#[test]
fn a_file_verified_right_after_it_was_written_is_hashed_again_next_time() {
    let s = Setup::new();
    let p = ModelProvisioner::builder(s.dir.path().join("cache"))
        .build()
        .unwrap();
    p.ensure_present_str(s.model_str(), None).unwrap();
    let again = p.ensure_present_str(s.model_str(), None).unwrap();
    assert_eq!(again.verification, Verification::Hashed);
}

#[test]
fn a_file_modified_in_place_is_never_reported_verified() {
    let s = Setup::new();
    let p = s.provisioner();
    settle();
    let first = p.ensure_present_str(s.model_str(), None).unwrap();
    let before = std::fs::metadata(&s.model).unwrap();

    // Flip one byte in the tensor data, keep the size, restore the mtime.
    let mut bytes = std::fs::read(&s.model).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&s.model, &bytes).unwrap();
    let f = std::fs::File::options().write(true).open(&s.model).unwrap();
    f.set_modified(before.modified().unwrap()).unwrap();
    drop(f);

    let capture = CaptureAdapter::install();
    let err = p
        .ensure_present_str(s.model_str(), Some(first.digest))
        .unwrap_err();
    assert!(
        matches!(err, ProvisionError::DigestMismatch { .. }),
        "{err}"
    );
    assert!(!actions(&capture).contains(&"cache-hit"));
    assert!(!actions(&capture).contains(&"verified"));
    assert_failure_narrated(&capture, "verify-failed", "digest-mismatch");
}

#[test]
fn a_changed_file_without_an_expected_digest_is_rehashed_and_recorded() {
    let s = Setup::new();
    let p = s.provisioner();
    settle();
    let first = p.ensure_present_str(s.model_str(), None).unwrap();
    let mut bytes = std::fs::read(&s.model).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&s.model, &bytes).unwrap();
    let again = p.ensure_present_str(s.model_str(), None).unwrap();
    assert_eq!(again.verification, Verification::Hashed);
    assert_ne!(again.digest, first.digest);
    assert_eq!(again.digest, sha256_bytes(&bytes));
    assert_eq!(
        p.catalog().get(&again.id).unwrap().unwrap().digest,
        again.digest
    );
}

#[test]
fn digest_mismatch_fails_and_leaves_no_catalog_row() {
    let s = Setup::new();
    let p = s.provisioner();
    let capture = CaptureAdapter::install();
    let wrong = sha256_bytes(b"something else");
    let err = p
        .ensure_present_str(s.model_str(), Some(wrong))
        .unwrap_err();
    match &err {
        ProvisionError::DigestMismatch {
            expected, actual, ..
        } => {
            assert_eq!(*expected, wrong);
            assert_eq!(*actual, s.digest());
        }
        other => panic!("unexpected {other}"),
    }
    capture.assert_sequence(&[
        (A, "resolve"),
        (A, "ensure"),
        (A, "verify"),
        (A, "verify-failed"),
    ]);
    assert_failure_narrated(&capture, "verify-failed", "digest-mismatch");
    assert!(p.catalog().list().unwrap().is_empty());
}

#[test]
fn a_missing_file_fails_with_ensure_failed() {
    let s = Setup::new();
    let p = s.provisioner();
    let capture = CaptureAdapter::install();
    let missing = s.dir.path().join("nope.gguf");
    let err = p
        .ensure_present_str(missing.to_str().unwrap(), None)
        .unwrap_err();
    assert!(matches!(err, ProvisionError::MissingFile { ref path } if *path == missing));
    assert!(err.to_string().contains("nope.gguf"));
    capture.assert_sequence(&[(A, "resolve"), (A, "ensure"), (A, "ensure-failed")]);
    assert_failure_narrated(&capture, "ensure-failed", "missing-file");
}

#[test]
fn a_directory_is_not_a_model() {
    let s = Setup::new();
    let p = s.provisioner();
    let capture = CaptureAdapter::install();
    let err = p
        .ensure_present_str(s.dir.path().to_str().unwrap(), None)
        .unwrap_err();
    assert!(matches!(err, ProvisionError::NotAFile { .. }), "{err}");
    assert_failure_narrated(&capture, "ensure-failed", "not-a-file");
}

#[test]
fn a_non_gguf_file_is_refused_before_hashing() {
    let s = Setup::new();
    let p = s.provisioner();
    let other = s.dir.path().join("notes.txt");
    std::fs::write(&other, b"these are not weights").unwrap();
    let capture = CaptureAdapter::install();
    let err = p
        .ensure_present_str(other.to_str().unwrap(), None)
        .unwrap_err();
    assert!(matches!(err, ProvisionError::NotGguf { .. }), "{err}");
    assert_failure_narrated(&capture, "inspect-failed", "not-gguf");
    assert_eq!(actions(&capture), ["resolve", "ensure", "inspect-failed"]);
    assert!(p.catalog().list().unwrap().is_empty());
}

#[test]
fn a_truncated_gguf_is_refused() {
    let s = Setup::new();
    let p = s.provisioner();
    let bytes = std::fs::read(&s.model).unwrap();
    let cut = s.dir.path().join("cut.gguf");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let capture = CaptureAdapter::install();
    let err = p
        .ensure_present_str(cut.to_str().unwrap(), None)
        .unwrap_err();
    assert!(matches!(err, ProvisionError::NotGguf { .. }), "{err}");
    let kind = err.error_kind();
    assert_failure_narrated(&capture, "inspect-failed", kind);
}

#[test]
fn a_bad_ref_fails_with_resolve_failed() {
    let s = Setup::new();
    let p = s.provisioner();
    let capture = CaptureAdapter::install();
    let err = p
        .ensure_present_str("hf:org/repo/../../etc/passwd", None)
        .unwrap_err();
    assert!(matches!(err, ProvisionError::InvalidRef(_)), "{err}");
    assert_eq!(actions(&capture), ["resolve", "resolve-failed"]);
    assert_failure_narrated(&capture, "resolve-failed", "invalid-ref");
}

#[test]
fn a_scheme_without_a_fetcher_fails_with_no_fetcher() {
    let s = Setup::new();
    let p = s.provisioner();
    let capture = CaptureAdapter::install();
    let err = p
        .ensure_present_str("hf:org/repo/m.gguf", None)
        .unwrap_err();
    assert!(matches!(err, ProvisionError::NoFetcher { .. }), "{err}");
    assert_failure_narrated(&capture, "ensure-failed", "no-fetcher");
}

#[test]
fn an_unreadable_catalog_is_narrated_with_error_kind_catalog() {
    let s = Setup::new();
    let db = s.dir.path().join("cache/catalog.sqlite");
    let p = s.provisioner();
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch("DROP TABLE models")
        .unwrap();
    let capture = CaptureAdapter::install();
    let err = p.ensure_present_str(s.model_str(), None).unwrap_err();
    assert!(matches!(err, ProvisionError::Catalog(_)), "{err}");
    // The catalog is read first, before anything is fetched (a retired
    // entry must stop the ensure there).
    assert_failure_narrated(&capture, "ensure-failed", "catalog");
}

#[test]
fn a_catalog_write_error_is_narrated_as_register_failed() {
    let s = Setup::new();
    let db = s.dir.path().join("cache/catalog.sqlite");
    let p = s.provisioner();
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch(
            "CREATE TRIGGER refuse BEFORE INSERT ON models
             BEGIN SELECT RAISE(ABORT, 'writes refused'); END;",
        )
        .unwrap();
    let capture = CaptureAdapter::install();
    let err = p.ensure_present_str(s.model_str(), None).unwrap_err();
    assert!(matches!(err, ProvisionError::Catalog(_)), "{err}");
    assert!(err.to_string().contains("catalog.sqlite"), "{err}");
    assert_failure_narrated(&capture, "register-failed", "catalog");
    assert!(!s.dir.path().join("cache/provenance.jsonl").exists());
}

/// A fetcher that copies a local file as if it were downloading it,
/// hashing while it writes.
struct CopyFetcher {
    from: PathBuf,
}

impl Fetcher for CopyFetcher {
    fn schemes(&self) -> &'static [&'static str] {
        &["https"]
    }

    fn fetch(
        &self,
        model: &ModelRef,
        expected: Option<&Digest>,
        ctx: &FetchContext,
    ) -> Result<Fetched, ProvisionError> {
        narration_core::narrate(ctx.fields("download", model, "Downloading".into()));
        let bytes = std::fs::read(&self.from).unwrap();
        let mut hash = Sha256Stream::new();
        hash.update(&bytes);
        let digest = hash.finish();
        if let Some(want) = expected {
            assert_eq!(*want, digest);
        }
        let path = ctx.cache_dir.join(digest.hex());
        std::fs::create_dir_all(&ctx.cache_dir).unwrap();
        std::fs::write(&path, &bytes).unwrap();
        narration_core::narrate(narration_core::NarrationFields {
            bytes: Some(bytes.len() as u64),
            ..ctx.fields("downloaded", model, "Downloaded".into())
        });
        Ok(Fetched {
            path,
            digest: Some(digest),
            bytes_transferred: bytes.len() as u64,
            source: "https://example.invalid/m.gguf".into(),
            oci: None,
        })
    }
}

#[test]
fn a_plugged_in_fetcher_with_an_in_flight_digest_is_not_hashed_again() {
    let s = Setup::new();
    let p = ModelProvisioner::builder(s.dir.path().join("cache"))
        .fetcher(Arc::new(CopyFetcher {
            from: s.model.clone(),
        }))
        .build()
        .unwrap();
    let capture = CaptureAdapter::install();
    let r = p
        .ensure_present_str("https://example.invalid/m.gguf", Some(s.digest()))
        .unwrap();
    assert_eq!(r.verification, Verification::InFlight);
    assert_eq!(r.source, "https://example.invalid/m.gguf");
    assert_eq!(
        actions(&capture),
        [
            "resolve",
            "ensure",
            "download",
            "downloaded",
            "verify",
            "verified",
            "register",
            "complete"
        ]
    );
    let captured = capture.captured();
    assert!(captured.iter().all(|n| n.model_ref.as_deref()
        == Some("https://example.invalid/m.gguf")
        || n.action == "resolve"));
}

#[test]
fn ensure_present_with_a_parsed_ref_and_pool_id_carries_them() {
    let s = Setup::new();
    let p = s.provisioner();
    let model = ModelRef::parse(s.model_str()).unwrap();
    let capture = CaptureAdapter::install();
    let opts = model_provisioner::EnsureOptions {
        correlation_id: Some("corr-1".into()),
        pool_id: Some("pool-a".into()),
        ..Default::default()
    };
    p.ensure_present_with(&model, None, &opts).unwrap();
    let captured = capture.captured();
    assert!(
        captured
            .iter()
            .all(|n| n.correlation_id.as_deref() == Some("corr-1"))
    );
    assert!(
        captured
            .iter()
            .all(|n| n.pool_id.as_deref() == Some("pool-a"))
    );
}

#[test]
fn handoff_is_written_atomically_and_narrated() {
    let s = Setup::new();
    let p = s.provisioner();
    let r = p.ensure_present_str(s.model_str(), None).unwrap();
    let capture = CaptureAdapter::install();
    let path = s.dir.path().join("run/handoff.json");
    p.write_handoff(&r, &path).unwrap();
    let h = read_handoff(&path).unwrap();
    assert_eq!(
        (h.model_id.as_str(), h.path.as_path()),
        (r.id.as_str(), r.local_path.as_path())
    );
    assert_eq!(h.digest, r.digest);
    assert_eq!(h.gguf, r.gguf);
    // Only the handoff itself is in the directory: the temp file was renamed.
    assert_eq!(
        std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
        1
    );
    assert_eq!(actions(&capture), ["handoff"]);

    let blocked = s.dir.path().join("models/tiny.gguf/handoff.json");
    let err = p.write_handoff(&r, &blocked).unwrap_err();
    assert!(matches!(err, ProvisionError::Write { .. }), "{err}");
    assert_eq!(
        capture.captured().last().unwrap().error_kind.as_deref(),
        Some("write")
    );
}

#[test]
fn relative_refs_resolve_against_the_current_dir() {
    let s = Setup::new();
    let p = s.provisioner();
    let cwd = std::env::current_dir().unwrap();
    let r = p
        .ensure_present(
            &ModelRef::parse_in("models/tiny.gguf", Some(s.dir.path())).unwrap(),
            None,
        )
        .unwrap();
    assert_eq!(r.local_path, s.model);
    assert_eq!(std::env::current_dir().unwrap(), cwd);
}

#[test]
fn url_credentials_never_reach_a_narration() {
    let s = Setup::new();
    let p = s.provisioner();
    let capture = CaptureAdapter::install();
    let err = p
        .ensure_present_str("https://user:s3cr3t-pw@127.0.0.1/m.gguf", None)
        .unwrap_err();
    assert!(!err.to_string().contains("s3cr3t-pw"), "{err}");
    let captured = capture.captured();
    assert!(!captured.is_empty());
    for n in &captured {
        let json = serde_json::to_string(n).unwrap();
        assert!(!json.contains("s3cr3t-pw"), "{json}");
    }
}

/// A fetcher that "downloads" a local file once into its cache (hashing
/// while it writes, settling it before the rename, as the built-in
/// fetchers do) and serves it from there afterwards.
struct OnceFetcher {
    from: PathBuf,
}

impl Fetcher for OnceFetcher {
    fn schemes(&self) -> &'static [&'static str] {
        &["https"]
    }

    fn fetch(
        &self,
        _model: &ModelRef,
        _expected: Option<&Digest>,
        ctx: &FetchContext,
    ) -> Result<Fetched, ProvisionError> {
        let path = ctx.cache_dir.join("downloaded.gguf");
        let source = "https://example.invalid/m.gguf".to_string();
        if path.is_file() {
            return Ok(Fetched {
                path,
                digest: None,
                bytes_transferred: 0,
                source,
                oci: None,
            });
        }
        let bytes = std::fs::read(&self.from).unwrap();
        std::fs::create_dir_all(&ctx.cache_dir).unwrap();
        let partial = ctx.cache_dir.join("downloaded.gguf.incomplete");
        std::fs::write(&partial, &bytes).unwrap();
        model_provisioner::settle(&partial).unwrap();
        std::fs::rename(&partial, &path).unwrap();
        Ok(Fetched {
            path,
            digest: Some(sha256_bytes(&bytes)),
            bytes_transferred: bytes.len() as u64,
            source,
            oci: None,
        })
    }
}

#[test]
fn a_just_downloaded_model_is_a_cache_hit_at_once_and_a_later_write_is_caught() {
    use std::os::unix::fs::PermissionsExt;
    let s = Setup::new();
    // The default racy window (2 s): the first re-ensure comes well inside it.
    let p = ModelProvisioner::builder(s.dir.path().join("cache"))
        .fetcher(Arc::new(OnceFetcher {
            from: s.model.clone(),
        }))
        .build()
        .unwrap();
    let url = "https://example.invalid/m.gguf";
    let first = p.ensure_present_str(url, Some(s.digest())).unwrap();
    assert_eq!(first.verification, Verification::InFlight);
    let mode = std::fs::metadata(&first.local_path)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o222, 0, "a verified download is read-only");

    let capture = CaptureAdapter::install();
    let again = p.ensure_present_str(url, Some(s.digest())).unwrap();
    assert_eq!(
        again.verification,
        Verification::Fingerprint,
        "not hashed again"
    );
    assert!(actions(&capture).contains(&"cache-hit"));

    let mut perms = std::fs::metadata(&first.local_path).unwrap().permissions();
    perms.set_mode(0o644);
    std::fs::set_permissions(&first.local_path, perms).unwrap();
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&first.local_path)
        .unwrap();
    std::io::Write::write_all(&mut file, b"x").unwrap();
    drop(file);
    let err = p.ensure_present_str(url, Some(s.digest())).unwrap_err();
    assert!(
        matches!(err, ProvisionError::DigestMismatch { .. }),
        "{err}"
    );
}

#[test]
fn an_expected_digest_that_differs_from_the_verified_one_is_told_as_such() {
    let s = Setup::new();
    let p = s.provisioner();
    p.ensure_present_str(s.model_str(), None).unwrap();
    settle();
    p.ensure_present_str(s.model_str(), None).unwrap(); // fingerprint recorded now
    let capture = CaptureAdapter::install();
    let wrong = sha256_bytes(b"another model");
    let err = p
        .ensure_present_str(s.model_str(), Some(wrong))
        .unwrap_err();
    assert!(matches!(err, ProvisionError::DigestMismatch { .. }));
    let verify = capture
        .captured()
        .into_iter()
        .find(|n| n.action == "verify")
        .unwrap();
    assert!(
        verify.human.contains("expected digest differs"),
        "{}",
        verify.human
    );
    assert!(!verify.human.contains("file changed"), "{}", verify.human);
}
