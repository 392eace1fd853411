//! `ensure_present` with the HF fetcher plugged in: a real GGUF from the
//! stand-in Hub, verified in flight, inspected and catalogued.

use crate::hf_support::Env;
use hub_standin::FileSpec;
use model_provisioner::actions as act;
use model_provisioner::{Digest, ModelProvisioner, gguf};
use narration_core::CaptureAdapter;
use std::sync::Arc;

#[test]
fn ensure_present_downloads_verifies_and_registers_an_hf_model() {
    let env = Env::new();
    let file = env.work.path().join("tiny.gguf");
    gguf::write_tiny_llama(&file, gguf::TINY_LLAMA_SEED).unwrap();
    let bytes = std::fs::read(&file).unwrap();
    let spec = FileSpec::lfs(bytes.clone());
    let digest = Digest::from_sha256_hex(&spec.sha256()).unwrap();
    env.hub
        .commit("org/tiny", "main", vec![("tiny-F32.gguf", spec)]);
    let provisioner = ModelProvisioner::builder(env.work.path().join("prov"))
        .fetcher(Arc::new(env.fetcher()))
        .racy_window(std::time::Duration::ZERO)
        .build()
        .unwrap();
    let capture = CaptureAdapter::install();
    let resolved = provisioner
        .ensure_present_str("hf:org/tiny:f32", Some(digest))
        .unwrap();
    assert_eq!(resolved.digest, digest);
    assert_eq!(resolved.gguf.architecture.as_deref(), Some("llama"));
    assert_eq!(std::fs::read(&resolved.local_path).unwrap(), bytes);
    let a = act::ACTOR;
    capture.assert_sequence(&[
        (a, act::RESOLVE),
        (a, act::ENSURE),
        (a, act::DOWNLOAD),
        (a, act::DOWNLOADED),
        (a, act::VERIFIED),
        (a, act::REGISTER),
        (a, act::COMPLETE),
    ]);
    capture.clear();
    let warm = provisioner
        .ensure_present_str("hf:org/tiny:f32", Some(digest))
        .unwrap();
    assert_eq!(warm.local_path, resolved.local_path);
    assert_eq!(warm.digest, digest);
    assert!(
        capture.captured().iter().all(|n| n.action != act::DOWNLOAD),
        "nothing downloaded again"
    );
    capture.clear();
    provisioner
        .ensure_present_str("hf:org/tiny:f32", Some(digest))
        .unwrap();
    capture.assert_sequence(&[(a, act::RESOLVE), (a, act::CACHE_HIT), (a, act::COMPLETE)]);
}

/// A fetch failure is narrated once, by the provisioner, with the action
/// its error calls for: bytes that did not verify, a reference that
/// selects nothing, or a download that failed.
#[test]
fn a_failed_hf_fetch_is_narrated_once_with_the_action_its_error_calls_for() {
    use hub_standin::{Fault, FaultKind, Listener};
    let env = Env::new();
    let provisioner = ModelProvisioner::builder(env.work.path().join("prov"))
        .fetcher(Arc::new(env.fetcher()))
        .build()
        .unwrap();
    let capture = CaptureAdapter::install();
    let failed = |input: &str| {
        capture.clear();
        let err = provisioner.ensure_present_str(input, None).unwrap_err();
        let failures: Vec<_> = capture
            .captured()
            .into_iter()
            .filter(|n| n.action.ends_with("-failed"))
            .map(|n| (n.action, n.error_kind.clone().unwrap_or_default()))
            .collect();
        (err.error_kind(), failures)
    };
    let kind = |k: &str| k.to_string();

    let (k, said) = failed("hf:org/model:Q5_K_M");
    assert_eq!(k, "quant-not-found");
    assert_eq!(said, vec![(act::ENSURE_FAILED, kind(k))]);

    env.hub
        .inject(Fault::new(FaultKind::WrongBytes).on(Listener::Cdn));
    let (k, said) = failed("hf:org/model/model-Q4_K_M.gguf");
    assert_eq!(k, "etag-mismatch");
    assert_eq!(said, vec![(act::VERIFY_FAILED, kind(k))]);

    let (k, said) = failed("hf:org/model/absent.gguf");
    assert_eq!(k, "entry-not-found");
    // The Hub answered: the file is not there, no download started.
    assert_eq!(said, vec![(act::ENSURE_FAILED, kind(k))]);
}
