//! `ModelProvisioner::remove`: what it deletes and what it keeps, on a
//! Hugging Face cache laid out as the reference client lays it out.

use model_provisioner::{CatalogEntry, Lifecycle, ModelProvisioner, Origin, Removal, sha256_bytes};
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";
const OTHER_COMMIT: &str = "fedcba9876543210fedcba9876543210fedcba98";

/// `models--o--r` with one blob and snapshot links to it.
struct HubCache {
    dir: tempfile::TempDir,
    blob: PathBuf,
}

impl HubCache {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let blobs = dir.path().join("hub/models--o--r/blobs");
        std::fs::create_dir_all(&blobs).unwrap();
        let blob = blobs.join("e".repeat(64));
        std::fs::write(&blob, b"GGUF bytes").unwrap();
        Self { dir, blob }
    }

    /// A snapshot link `snapshots/{commit}/{file}` to the blob.
    fn link(&self, commit: &str, file: &str) -> PathBuf {
        let link = self
            .dir
            .path()
            .join("hub/models--o--r/snapshots")
            .join(commit)
            .join(file);
        std::fs::create_dir_all(link.parent().unwrap()).unwrap();
        // One more `../` per folder in the file name, as the HF layout has.
        let up = "../".repeat(2 + file.matches('/').count());
        symlink(format!("{up}blobs/{}", "e".repeat(64)), &link).unwrap();
        link
    }

    fn provisioner(&self) -> ModelProvisioner {
        ModelProvisioner::builder(self.dir.path().join("hub"))
            .build()
            .unwrap()
    }
}

fn record(p: &ModelProvisioner, id: &str, path: &Path, origin: Origin) {
    p.catalog()
        .put(&CatalogEntry {
            id: id.to_string(),
            local_path: path.to_path_buf(),
            digest: sha256_bytes(b"GGUF bytes"),
            size_bytes: 10,
            fingerprint: None,
            lifecycle: Lifecycle::Active,
            origin,
            source: id.to_string(),
            gguf: None,
            created_at_ms: 1,
            verified_at_ms: None,
            pinned: false,
            last_used_at_ms: None,
            oci: None,
        })
        .unwrap();
}

fn kept_reasons(removal: &Removal) -> Vec<String> {
    removal
        .kept_files
        .iter()
        .map(|k| k.reason.clone())
        .collect()
}

#[test]
fn a_blob_another_file_name_links_to_is_kept_until_its_last_link_goes() {
    let hub = HubCache::new();
    let a = hub.link(COMMIT, "a.gguf");
    let b = hub.link(COMMIT, "sub/b.gguf");
    let p = hub.provisioner();
    record(&p, "hf:o/r/a.gguf", &a, Origin::HubCache);

    let removal = p.remove("hf:o/r/a.gguf", true).unwrap();
    assert!(removal.removed);
    assert_eq!(removal.deleted_files, vec![a.clone()]);
    assert!(hub.blob.is_file(), "b.gguf still links to the blob");
    assert!(b.canonicalize().is_ok(), "b.gguf is not left dangling");
    assert!(kept_reasons(&removal)[0].contains("b.gguf"), "{removal:?}");

    record(&p, "hf:o/r/sub/b.gguf", &b, Origin::HubCache);
    let removal = p.remove("hf:o/r/sub/b.gguf", true).unwrap();
    assert_eq!(removal.deleted_files, vec![b, hub.blob.clone()]);
    assert!(!hub.blob.exists());
}

#[test]
fn a_blob_another_revision_links_to_is_kept() {
    let hub = HubCache::new();
    let a = hub.link(COMMIT, "a.gguf");
    hub.link(OTHER_COMMIT, "a.gguf");
    let p = hub.provisioner();
    record(&p, "hf:o/r/a.gguf", &a, Origin::HubCache);
    let removal = p.remove("hf:o/r/a.gguf", true).unwrap();
    assert_eq!(removal.deleted_files, vec![a]);
    assert!(hub.blob.is_file());
    assert!(
        kept_reasons(&removal)[0].contains(OTHER_COMMIT),
        "{removal:?}"
    );
}

#[test]
fn a_file_another_catalog_entry_uses_is_kept() {
    let hub = HubCache::new();
    let a = hub.link(COMMIT, "a.gguf");
    let p = hub.provisioner();
    record(&p, "hf:o/r/a.gguf", &a, Origin::HubCache);
    record(&p, "hf:o/r@main/a.gguf", &a, Origin::HubCache);
    let removal = p.remove("hf:o/r/a.gguf", true).unwrap();
    assert!(removal.removed);
    assert!(removal.deleted_files.is_empty());
    assert!(a.canonicalize().is_ok());
    assert!(kept_reasons(&removal)[0].contains("hf:o/r@main/a.gguf"));
}

#[test]
fn without_delete_files_only_the_row_goes() {
    let hub = HubCache::new();
    let a = hub.link(COMMIT, "a.gguf");
    let p = hub.provisioner();
    record(&p, "hf:o/r/a.gguf", &a, Origin::HubCache);
    let removal = p.remove("hf:o/r/a.gguf", false).unwrap();
    assert!(removal.removed && removal.deleted_files.is_empty());
    assert!(a.canonicalize().is_ok());
    assert!(p.catalog().get("hf:o/r/a.gguf").unwrap().is_none());
    assert!(
        p.remove("hf:o/r/a.gguf", false).is_err(),
        "no such entry any more"
    );
}
