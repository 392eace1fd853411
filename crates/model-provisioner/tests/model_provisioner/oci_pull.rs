//! Pulling `oci://` models from a real distribution registry, pushed by
//! the oras client in each of the three model formats.

use crate::oci_support::{
    Registry, components_available, provisioner, provisioner_with, tiny_gguf,
};
use model_provisioner::actions as act;
use model_provisioner::oci::{OciConfig, RegistryAuth};
use model_provisioner::{ErrorKind, sha256_bytes};
use narration_core::CaptureAdapter;
use std::process::Command;

/// The manifest skopeo reads from our layout (`--raw`: skopeo refuses
/// image-only operations on artifacts whose config is not an image's).
fn skopeo_inspect(dir: &std::path::Path, tag: &str) -> Vec<u8> {
    let out = Command::new("skopeo")
        .args(["inspect", "--raw"])
        .arg(format!("oci:{}:{tag}", dir.display()))
        .output()
        .expect("skopeo runs");
    assert!(
        out.status.success(),
        "skopeo inspect failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn each_format_pulls_byte_equal_verified_catalogued_and_skopeo_reads_the_layout() {
    if !components_available() {
        return;
    }
    let reg = Registry::start();
    let work = tempfile::tempdir().unwrap();
    let (gguf, bytes) = tiny_gguf(work.path(), "tiny-llama.gguf", 7);
    let digest = sha256_bytes(&bytes);
    for format in ["docker", "modelpack", "ollama"] {
        reg.push(&format!("ai/tiny:{format}"), format, &[&gguf]);
    }
    let cache = tempfile::tempdir().unwrap();
    let models = provisioner(cache.path(), RegistryAuth::anonymous());
    for format in ["docker", "modelpack", "ollama"] {
        let capture = CaptureAdapter::install();
        let reference = reg.model_ref(&format!("ai/tiny:{format}"));
        let resolved = models.ensure_present_str(&reference, None).unwrap();
        assert_eq!(
            std::fs::read(&resolved.local_path).unwrap(),
            bytes,
            "{format}"
        );
        assert_eq!(resolved.digest, digest);
        assert_eq!(resolved.gguf.architecture.as_deref(), Some("llama"));
        let layout = cache
            .path()
            .join("oci")
            .join(reg.host.replace(':', "_"))
            .join("ai/tiny");
        assert!(
            resolved.local_path.starts_with(&layout),
            "{:?}",
            resolved.local_path
        );
        assert!(
            resolved.source.starts_with(&format!("{reference}@sha256:")),
            "{}",
            resolved.source
        );
        let row = models.catalog().get(&resolved.id).unwrap().unwrap();
        assert_eq!(
            (row.source.as_str(), row.digest),
            (resolved.source.as_str(), digest)
        );
        let manifest_digest = resolved.source.rsplit_once('@').unwrap().1;
        if format == "ollama" {
            // A Docker v2 manifest keeps its media type in index.json;
            // skopeo's layout reader looks only at OCI manifests.
            let index: serde_json::Value =
                serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
            let entry = index["manifests"]
                .as_array()
                .unwrap()
                .iter()
                .find(|d| d["annotations"]["org.opencontainers.image.ref.name"] == "ollama")
                .expect("the tag is in index.json");
            assert_eq!(entry["digest"], manifest_digest);
            assert_eq!(
                entry["mediaType"],
                "application/vnd.docker.distribution.manifest.v2+json"
            );
            continue;
        }
        let raw = skopeo_inspect(&layout, format);
        assert_eq!(
            format!("sha256:{}", sha256_bytes(&raw).hex()),
            manifest_digest
        );
        let manifest: serde_json::Value = serde_json::from_slice(&raw).unwrap();
        assert_eq!(
            manifest["layers"][0]["digest"],
            format!("sha256:{}", digest.hex())
        );
        if format == "docker" {
            capture.assert_sequence(&[
                (act::ACTOR, act::RESOLVE),
                (act::ACTOR, act::ENSURE),
                (act::ACTOR, act::MANIFEST),
                (act::ACTOR, act::DOWNLOAD),
                (act::ACTOR, act::DOWNLOADED),
                (act::ACTOR, act::VERIFIED),
                (act::ACTOR, act::REGISTER),
                (act::ACTOR, act::COMPLETE),
            ]);
        } else {
            // The blob is in the layout already (same sha256): no transfer.
            let actions: Vec<_> = capture.captured().iter().map(|n| n.action).collect();
            assert!(!actions.contains(&act::DOWNLOAD), "{actions:?}");
            assert!(actions.contains(&act::MANIFEST), "{actions:?}");
        }
    }
}

#[test]
fn a_warm_pull_moves_no_blob_and_offline_resolves_the_tag_from_the_layout() {
    if !components_available() {
        return;
    }
    let reg = Registry::start();
    let work = tempfile::tempdir().unwrap();
    let (gguf, bytes) = tiny_gguf(work.path(), "m.gguf", 3);
    reg.push("team/model:v1", "docker", &[&gguf]);
    let cache = tempfile::tempdir().unwrap();
    let reference = reg.model_ref("team/model:v1");
    let first = provisioner(cache.path(), RegistryAuth::anonymous())
        .ensure_present_str(&reference, None)
        .unwrap();
    let capture = CaptureAdapter::install();
    let again = provisioner(cache.path(), RegistryAuth::anonymous())
        .ensure_present_str(&reference, None)
        .unwrap();
    assert_eq!(again.local_path, first.local_path);
    let actions: Vec<_> = capture.captured().iter().map(|n| n.action).collect();
    assert!(!actions.contains(&act::DOWNLOAD), "{actions:?}");
    drop(reg);
    let offline = provisioner_with(
        cache.path(),
        OciConfig {
            offline: true,
            ..OciConfig::default()
        },
    );
    let served = offline.ensure_present_str(&reference, None).unwrap();
    assert_eq!(std::fs::read(served.local_path).unwrap(), bytes);
    let missing = offline
        .ensure_present_str(&reference.replace(":v1", ":v2"), None)
        .unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::OfflineMiss);
}

#[test]
fn a_pinned_digest_pulls_that_manifest_and_a_lying_one_is_refused() {
    if !components_available() {
        return;
    }
    let reg = Registry::start();
    let work = tempfile::tempdir().unwrap();
    let (gguf, _) = tiny_gguf(work.path(), "m.gguf", 4);
    reg.push("ai/pinned:v1", "docker", &[&gguf]);
    let cache = tempfile::tempdir().unwrap();
    let models = provisioner(cache.path(), RegistryAuth::anonymous());
    let by_tag = models
        .ensure_present_str(&reg.model_ref("ai/pinned:v1"), None)
        .unwrap();
    let manifest = by_tag.source.rsplit_once('@').unwrap().1.to_string();
    let cache2 = tempfile::tempdir().unwrap();
    let by_digest = provisioner(cache2.path(), RegistryAuth::anonymous())
        .ensure_present_str(&reg.model_ref(&format!("ai/pinned@{manifest}")), None)
        .unwrap();
    assert_eq!(by_digest.digest, by_tag.digest);

    // The registry's stored manifest rewritten: same digest claimed,
    // other bytes served.
    let hex = manifest.trim_start_matches("sha256:");
    let stored = reg.stored_blob(hex);
    let mut body = std::fs::read(&stored).unwrap();
    body.extend_from_slice(b" ");
    std::fs::write(&stored, &body).unwrap();
    let cache3 = tempfile::tempdir().unwrap();
    let capture = CaptureAdapter::install();
    let err = provisioner(cache3.path(), RegistryAuth::anonymous())
        .ensure_present_str(&reg.model_ref("ai/pinned:v1"), None)
        .unwrap_err();
    assert_eq!(err.error_kind(), "manifest-digest-mismatch", "{err}");
    assert_eq!(err.kind(), ErrorKind::DigestMismatch);
    let failed = capture
        .captured()
        .into_iter()
        .find(|n| n.action == act::VERIFY_FAILED)
        .expect("verify-failed narrated");
    assert_eq!(
        failed.error_kind.as_deref(),
        Some("manifest-digest-mismatch")
    );
    assert!(
        !cache3
            .path()
            .join("oci")
            .join(reg.host.replace(':', "_"))
            .join("ai/pinned/index.json")
            .exists()
    );
}

#[test]
fn a_tampered_blob_is_refused_and_nothing_reaches_the_layout() {
    if !components_available() {
        return;
    }
    let reg = Registry::start();
    let work = tempfile::tempdir().unwrap();
    let (gguf, bytes) = tiny_gguf(work.path(), "m.gguf", 5);
    reg.push("ai/tampered:v1", "docker", &[&gguf]);
    let digest = sha256_bytes(&bytes);
    let stored = reg.stored_blob(&digest.hex());
    let mut other = bytes.clone();
    let last = other.len() - 1;
    other[last] ^= 0xff;
    std::fs::write(&stored, &other).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let capture = CaptureAdapter::install();
    let err = provisioner(cache.path(), RegistryAuth::anonymous())
        .ensure_present_str(&reg.model_ref("ai/tampered:v1"), None)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DigestMismatch, "{err}");
    assert!(
        capture
            .captured()
            .iter()
            .any(|n| n.action == act::VERIFY_FAILED)
    );
    let layout = cache
        .path()
        .join("oci")
        .join(reg.host.replace(':', "_"))
        .join("ai/tampered");
    assert!(!layout.join("blobs/sha256").join(digest.hex()).exists());
    assert!(!layout.join("index.json").exists());
}

#[test]
fn an_artifact_that_is_no_model_is_refused_naming_its_media_types() {
    if !components_available() {
        return;
    }
    let reg = Registry::start();
    let work = tempfile::tempdir().unwrap();
    let (gguf, _) = tiny_gguf(work.path(), "m.gguf", 6);
    reg.push("ai/other:v1", "tar", &[&gguf]);
    let cache = tempfile::tempdir().unwrap();
    let capture = CaptureAdapter::install();
    let err = provisioner(cache.path(), RegistryAuth::anonymous())
        .ensure_present_str(&reg.model_ref("ai/other:v1"), None)
        .unwrap_err();
    assert_eq!(err.error_kind(), "unsupported-artifact");
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    assert!(err.to_string().contains("application/x-tar"), "{err}");
    let failed = capture
        .captured()
        .into_iter()
        .find(|n| n.action == act::ENSURE_FAILED)
        .expect("ensure-failed narrated");
    assert_eq!(failed.error_kind.as_deref(), Some("unsupported-artifact"));
}

#[test]
fn basic_auth_comes_from_the_docker_config_and_never_shows() {
    if !components_available() {
        return;
    }
    let password = "Pa55-w0rd-SECRET";
    let reg = Registry::with_basic_auth("puller", password);
    let work = tempfile::tempdir().unwrap();
    let (gguf, bytes) = tiny_gguf(work.path(), "m.gguf", 8);
    reg.push("private/model:v1", "modelpack", &[&gguf]);
    let reference = reg.model_ref("private/model:v1");

    let cache = tempfile::tempdir().unwrap();
    let capture = CaptureAdapter::install();
    let err = provisioner(cache.path(), RegistryAuth::anonymous())
        .ensure_present_str(&reference, None)
        .unwrap_err();
    assert_eq!(err.error_kind(), "unauthorized", "{err}");
    assert_eq!(err.kind(), ErrorKind::Denied);

    use base64::Engine;
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("puller:{password}"));
    let file = work.path().join("auth.json");
    std::fs::write(
        &file,
        format!(r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#, reg.host),
    )
    .unwrap();
    let resolved = provisioner(cache.path(), RegistryAuth::from_file(&file))
        .ensure_present_str(&reference, None)
        .unwrap();
    assert_eq!(std::fs::read(resolved.local_path).unwrap(), bytes);
    for n in capture.captured() {
        let text = format!("{n:?}");
        assert!(!text.contains(password) && !text.contains(&auth), "{text}");
    }
}

#[test]
fn a_sharded_model_keeps_its_layers_in_order_under_their_names() {
    if !components_available() {
        return;
    }
    let reg = Registry::start();
    let work = tempfile::tempdir().unwrap();
    let (first, first_bytes) = tiny_gguf(work.path(), "tiny-00001-of-00002.gguf", 21);
    let (second, second_bytes) = tiny_gguf(work.path(), "tiny-00002-of-00002.gguf", 22);
    reg.push("ai/sharded:v1", "docker", &[&first, &second]);
    let cache = tempfile::tempdir().unwrap();
    let resolved = provisioner(cache.path(), RegistryAuth::anonymous())
        .ensure_present_str(&reg.model_ref("ai/sharded:v1"), None)
        .unwrap();
    assert_eq!(
        resolved.local_path.file_name().unwrap(),
        "tiny-00001-of-00002.gguf"
    );
    assert_eq!(std::fs::read(&resolved.local_path).unwrap(), first_bytes);
    let sibling = resolved
        .local_path
        .with_file_name("tiny-00002-of-00002.gguf");
    assert_eq!(std::fs::read(sibling).unwrap(), second_bytes);
    assert_eq!(resolved.digest, sha256_bytes(&first_bytes));
}

#[test]
fn a_gguf_already_in_the_hugging_face_cache_is_linked_not_downloaded() {
    if !components_available() {
        return;
    }
    let reg = Registry::start();
    let work = tempfile::tempdir().unwrap();
    let (gguf, bytes) = tiny_gguf(work.path(), "m.gguf", 31);
    reg.push("ai/shared:v1", "docker", &[&gguf]);
    let digest = sha256_bytes(&bytes);
    let cache = tempfile::tempdir().unwrap();
    let blobs = cache.path().join("models--org--m/blobs");
    std::fs::create_dir_all(&blobs).unwrap();
    std::fs::write(blobs.join(digest.hex()), &bytes).unwrap();
    let config = |cache: &std::path::Path| OciConfig {
        hf_cache: Some(cache.to_path_buf()),
        retry: model_provisioner::RetryPolicy::quick(),
        ..OciConfig::default()
    };
    let capture = CaptureAdapter::install();
    let resolved = provisioner_with(cache.path(), config(cache.path()))
        .ensure_present_str(&reg.model_ref("ai/shared:v1"), None)
        .unwrap();
    assert_eq!(std::fs::read(&resolved.local_path).unwrap(), bytes);
    let actions: Vec<_> = capture.captured().iter().map(|n| n.action).collect();
    assert!(!actions.contains(&act::DOWNLOAD), "{actions:?}");

    // A file under that name with other bytes is not trusted: downloaded.
    let other_cache = tempfile::tempdir().unwrap();
    let blobs = other_cache.path().join("models--org--m/blobs");
    std::fs::create_dir_all(&blobs).unwrap();
    std::fs::write(blobs.join(digest.hex()), b"not the model").unwrap();
    capture.clear();
    let resolved = provisioner_with(other_cache.path(), config(other_cache.path()))
        .ensure_present_str(&reg.model_ref("ai/shared:v1"), None)
        .unwrap();
    assert_eq!(std::fs::read(&resolved.local_path).unwrap(), bytes);
    let actions: Vec<_> = capture.captured().iter().map(|n| n.action).collect();
    assert!(actions.contains(&act::DOWNLOAD), "{actions:?}");
}

#[test]
fn a_cancelled_ensure_stops_before_any_request() {
    if !components_available() {
        return;
    }
    let reg = Registry::start();
    let cache = tempfile::tempdir().unwrap();
    let cancel = model_provisioner::Cancel::new();
    cancel.cancel();
    let opts = model_provisioner::EnsureOptions {
        cancel,
        ..Default::default()
    };
    let err = provisioner(cache.path(), RegistryAuth::anonymous())
        .ensure_present_str_with(&reg.model_ref("ai/none:v1"), None, &opts)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cancelled, "{err}");
}
