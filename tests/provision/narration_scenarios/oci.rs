//! Scenarios of `oci://` refs against a real distribution registry, with
//! artifacts pushed by oras (see `oci_support`).

use super::{Captured, capture};
use crate::oci_support::{Registry, provisioner, tiny_gguf};
use model_provisioner::oci::RegistryAuth;

/// A registry holding `ai/tiny:v1` in `format`, and a cache.
struct Oci {
    registry: Registry,
    cache: tempfile::TempDir,
}

impl Oci {
    fn new(format: &str) -> Self {
        let registry = Registry::start();
        let cache = tempfile::tempdir().expect("temp dir");
        let (gguf, _) = tiny_gguf(cache.path(), "tiny.gguf", 12);
        registry.push("ai/tiny:v1", format, &[&gguf]);
        Self { registry, cache }
    }

    fn ensure(&self) -> Captured {
        let models = provisioner(&self.cache.path().join("c"), RegistryAuth::anonymous());
        let reference = self.registry.model_ref("ai/tiny:v1");
        capture(|| models.ensure_present_str(&reference, None))
    }
}

pub fn cold() -> Captured {
    Oci::new("docker").ensure()
}

pub fn warm() -> Captured {
    let oci = Oci::new("modelpack");
    let _ = oci.ensure();
    oci.ensure()
}

pub fn unsupported_artifact() -> Captured {
    Oci::new("tar").ensure()
}

pub fn tampered_blob() -> Captured {
    let oci = Oci::new("docker");
    let (_, bytes) = tiny_gguf(oci.cache.path(), "again.gguf", 12);
    let digest = model_provisioner::sha256_bytes(&bytes);
    let mut other = bytes;
    other[0] ^= 0xff;
    std::fs::write(oci.registry.stored_blob(&digest.hex()), other).expect("blob rewritten");
    oci.ensure()
}

/// The registry wants credentials and the Docker config names a helper
/// that is not installed.
pub fn credential_helper_missing() -> Captured {
    let registry = Registry::with_basic_auth("fleet", "helper-pw");
    let cache = tempfile::tempdir().expect("temp dir");
    let (gguf, _) = tiny_gguf(cache.path(), "tiny.gguf", 12);
    registry.push("ai/tiny:v1", "docker", &[&gguf]);
    let config = cache.path().join("config.json");
    std::fs::write(
        &config,
        r#"{"credsStore":"provision-scenario-not-installed"}"#,
    )
    .expect("config written");
    let models = provisioner(&cache.path().join("c"), RegistryAuth::from_file(&config));
    let reference = registry.model_ref("ai/tiny:v1");
    capture(|| models.ensure_present_str(&reference, None))
}
