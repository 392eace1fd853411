//! Publishing a verified model to a real registry: oras (a third party)
//! pulls it back byte-equal, a second push skips the blobs the registry
//! has, and our own pull reads it.

use crate::oci_support::{Registry, components_available, provisioner, tiny_gguf};
use model_provisioner::actions as act;
use model_provisioner::oci::{OciConfig, PushFormat, RegistryAuth, push};
use model_provisioner::{EnsureOptions, RetryPolicy, sha256_bytes};
use narration_core::CaptureAdapter;
use std::process::Command;

#[test]
fn a_pushed_model_is_read_back_by_oras_and_a_second_push_skips_every_blob() {
    if !components_available() {
        return;
    }
    let reg = Registry::start();
    let work = tempfile::tempdir().unwrap();
    let (gguf, bytes) = tiny_gguf(work.path(), "tiny.gguf", 41);
    let cache = tempfile::tempdir().unwrap();
    let models = provisioner(cache.path(), RegistryAuth::anonymous());
    let config = OciConfig {
        retry: RetryPolicy::quick(),
        ..OciConfig::default()
    };
    let target = reg.model_ref("pub/tiny:v1");
    let source = gguf.to_str().unwrap();
    for format in [PushFormat::ModelPack, PushFormat::Docker] {
        let capture = CaptureAdapter::install();
        let target = format!("{target}-{format:?}").to_lowercase();
        let report = push(
            &models,
            source,
            &target,
            format,
            &config,
            &EnsureOptions::default(),
        )
        .unwrap();
        assert!(
            report.reference.starts_with(&format!("{target}@sha256:")),
            "{report:?}"
        );
        capture.assert_sequence(&[
            (act::ACTOR, act::COMPLETE),
            (act::ACTOR, act::PUSH),
            (act::ACTOR, act::PUSH_BLOB),
            (act::ACTOR, act::PUSH_BLOB),
            (act::ACTOR, act::PUSHED),
        ]);

        let out = work.path().join(format!("{format:?}"));
        let pulled = Command::new("python3")
            .args([
                "-c",
                "import oras.client,sys; oras.client.OrasClient(insecure=True).pull(target=sys.argv[1], outdir=sys.argv[2])",
            ])
            .arg(target.trim_start_matches("oci://"))
            .arg(&out)
            .output()
            .unwrap();
        assert!(
            pulled.status.success(),
            "{}",
            String::from_utf8_lossy(&pulled.stderr)
        );
        assert_eq!(std::fs::read(out.join("tiny.gguf")).unwrap(), bytes);

        let again = push(
            &models,
            source,
            &target,
            format,
            &config,
            &EnsureOptions::default(),
        )
        .unwrap();
        assert_eq!((again.uploaded, again.skipped), (0, 2), "{again:?}");
        assert_eq!(again.manifest_digest, report.manifest_digest);

        let other = tempfile::tempdir().unwrap();
        let resolved = provisioner(other.path(), RegistryAuth::anonymous())
            .ensure_present_str(&target, None)
            .unwrap();
        assert_eq!(resolved.digest, sha256_bytes(&bytes));
    }
}
