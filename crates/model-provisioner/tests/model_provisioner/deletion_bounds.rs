//! Deletion stays inside the cache: `remove --delete-files` and `prune`
//! delete links themselves, and follow a link only into the repo's own
//! `blobs/` folder. A link planted to a file elsewhere never gets that
//! file deleted; it is kept, reported and said at WARN.

use model_provisioner::actions as act;
use model_provisioner::{
    CatalogEntry, Lifecycle, ModelProvisioner, Origin, PrunePolicy, sha256_bytes,
};
use narration_core::CaptureAdapter;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";
const BYTES: &[u8] = b"GGUF bytes that are not the cache's";

struct Planted {
    dir: tempfile::TempDir,
    /// A file outside the cache, which must survive.
    victim: PathBuf,
    snapshot: PathBuf,
    blob: PathBuf,
    models: ModelProvisioner,
}

/// A cache with `models--o--r`, its snapshot link and blob, and a file
/// outside the cache.
fn planted() -> Planted {
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("precious/notes.gguf");
    std::fs::create_dir_all(victim.parent().unwrap()).unwrap();
    std::fs::write(&victim, BYTES).unwrap();
    let repo = dir.path().join("hub/models--o--r");
    std::fs::create_dir_all(repo.join("blobs")).unwrap();
    std::fs::create_dir_all(repo.join("snapshots").join(COMMIT)).unwrap();
    let blob = repo.join("blobs").join(sha256_bytes(BYTES).hex());
    let snapshot = repo.join("snapshots").join(COMMIT).join("a.gguf");
    let models = ModelProvisioner::builder(dir.path().join("hub"))
        .catalog_path(dir.path().join("data/catalog.sqlite"))
        .build()
        .unwrap();
    Planted {
        dir,
        victim,
        snapshot,
        blob,
        models,
    }
}

impl Planted {
    fn record(&self) {
        self.models
            .catalog()
            .put(&CatalogEntry {
                id: "hf:o/r/a.gguf".to_string(),
                local_path: self.snapshot.clone(),
                digest: sha256_bytes(BYTES),
                size_bytes: BYTES.len() as u64,
                fingerprint: None,
                lifecycle: Lifecycle::Active,
                origin: Origin::HubCache,
                source: format!("hf:o/r@{COMMIT}/a.gguf"),
                gguf: None,
                created_at_ms: 1,
                verified_at_ms: None,
                pinned: false,
                last_used_at_ms: Some(1),
                oci: None,
            })
            .unwrap();
    }

    fn victim_survives(&self) {
        assert_eq!(
            std::fs::read(&self.victim).unwrap(),
            BYTES,
            "the file outside the cache is untouched"
        );
        assert!(self.dir.path().join("precious").is_dir());
    }
}

fn warned(capture: &CaptureAdapter, file: &Path) -> bool {
    capture
        .captured()
        .iter()
        .any(|n| n.action == act::DELETE_WARNING && n.human.contains(&file.display().to_string()))
}

#[test]
fn remove_keeps_the_file_a_snapshot_link_points_to_outside_the_cache() {
    let p = planted();
    symlink(&p.victim, &p.snapshot).unwrap();
    p.record();
    let capture = CaptureAdapter::install();
    let removal = p.models.remove("hf:o/r/a.gguf", true).unwrap();
    assert!(removal.removed);
    assert_eq!(removal.deleted_files, vec![p.snapshot.clone()]);
    assert_eq!(removal.kept_files[0].path, p.victim);
    assert!(removal.kept_files[0].reason.contains("outside"));
    assert!(warned(&capture, &p.victim));
    p.victim_survives();
}

#[test]
fn remove_deletes_a_blob_that_is_a_link_as_the_link() {
    let p = planted();
    symlink(&p.victim, &p.blob).unwrap();
    let name = p.blob.file_name().unwrap().to_str().unwrap();
    symlink(format!("../../blobs/{name}"), &p.snapshot).unwrap();
    p.record();
    let removal = p.models.remove("hf:o/r/a.gguf", true).unwrap();
    assert_eq!(
        removal.deleted_files,
        vec![p.snapshot.clone(), p.blob.clone()]
    );
    assert!(p.blob.symlink_metadata().is_err(), "the link is gone");
    p.victim_survives();
}

#[test]
fn prune_keeps_files_outside_the_cache_that_unknown_links_point_to() {
    let p = planted();
    symlink(&p.victim, &p.blob).unwrap();
    let name = p.blob.file_name().unwrap().to_str().unwrap();
    symlink(format!("../../blobs/{name}"), &p.snapshot).unwrap();
    let other = p.snapshot.with_file_name("b.gguf");
    symlink(&p.victim, &other).unwrap();
    let capture = CaptureAdapter::install();
    let report = p
        .models
        .prune(&PrunePolicy {
            max_size: Some(0),
            ..Default::default()
        })
        .unwrap();
    assert!(!report.removed.is_empty(), "{report:?}");
    assert!(p.snapshot.symlink_metadata().is_err());
    assert!(other.symlink_metadata().is_err());
    assert!(warned(&capture, &p.victim), "{:?}", capture.captured());
    p.victim_survives();
}
