//! `ModelProvisioner::prune`: least recently used first, never a pinned
//! entry, never a blob another snapshot links to; a dry run removes
//! nothing; afterwards the reference client finds nothing corrupted and
//! every remaining catalog entry verifies.

use hub_standin::python_hub_available;
use model_provisioner::{
    CatalogEntry, Lifecycle, ModelProvisioner, Origin, PrunePolicy, VerifyOutcome, sha256_bytes,
};
use narration_core::CaptureAdapter;
use std::fs::FileTimes;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, UNIX_EPOCH};

const C1: &str = "0123456789abcdef0123456789abcdef01234567";
const C2: &str = "fedcba9876543210fedcba9876543210fedcba98";

struct Cache {
    dir: tempfile::TempDir,
    models: ModelProvisioner,
}

impl Cache {
    /// o/a (1000 B, used at 2e6 ms), o/b (2000 B, pinned, used at 5e5),
    /// o/c (3000 B, its catalog link used at 3e6, plus a second revision
    /// the catalog does not know, accessed now), o/d (500 B, unknown to
    /// the catalog, accessed at 1e6).
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let models = ModelProvisioner::builder(dir.path().join("hub"))
            .catalog_path(dir.path().join("data/catalog.sqlite"))
            .build()
            .unwrap();
        let c = Self { dir, models };
        let a = c.file("o--a", C1, "a.gguf", &[1; 1000]);
        c.record("hf:o/a/a.gguf", &a, &[1; 1000], 2_000_000, false);
        let b = c.file("o--b", C1, "b.gguf", &[2; 2000]);
        c.record("hf:o/b/b.gguf", &b, &[2; 2000], 500_000, true);
        let cc = c.file("o--c", C1, "c.gguf", &[3; 3000]);
        c.record("hf:o/c/c.gguf", &cc, &[3; 3000], 3_000_000, false);
        c.link("o--c", C2, "c.gguf", &[3; 3000]);
        c.refs("o--c", "main", C2);
        let d = c.file("o--d", C1, "d.gguf", &[4; 500]);
        let old = UNIX_EPOCH + Duration::from_millis(1_000_000);
        std::fs::File::options()
            .write(true)
            .open(d.canonicalize().unwrap())
            .unwrap()
            .set_times(FileTimes::new().set_accessed(old).set_modified(old))
            .unwrap();
        c
    }

    fn hub(&self) -> PathBuf {
        self.dir.path().join("hub")
    }

    fn blob_name(bytes: &[u8]) -> String {
        sha256_bytes(bytes).hex()
    }

    /// A blob and one snapshot link to it.
    fn file(&self, repo: &str, commit: &str, name: &str, bytes: &[u8]) -> PathBuf {
        let blobs = self.hub().join(format!("models--{repo}/blobs"));
        std::fs::create_dir_all(&blobs).unwrap();
        std::fs::write(blobs.join(Self::blob_name(bytes)), bytes).unwrap();
        self.link(repo, commit, name, bytes)
    }

    fn link(&self, repo: &str, commit: &str, name: &str, bytes: &[u8]) -> PathBuf {
        let at = self
            .hub()
            .join(format!("models--{repo}/snapshots/{commit}/{name}"));
        std::fs::create_dir_all(at.parent().unwrap()).unwrap();
        symlink(format!("../../blobs/{}", Self::blob_name(bytes)), &at).unwrap();
        at
    }

    fn refs(&self, repo: &str, name: &str, commit: &str) {
        let dir = self.hub().join(format!("models--{repo}/refs"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), commit).unwrap();
    }

    fn record(&self, id: &str, link: &Path, bytes: &[u8], used: u64, pinned: bool) {
        self.models
            .catalog()
            .put(&CatalogEntry {
                id: id.to_string(),
                local_path: link.to_path_buf(),
                digest: sha256_bytes(bytes),
                size_bytes: bytes.len() as u64,
                fingerprint: None,
                lifecycle: Lifecycle::Active,
                origin: Origin::HubCache,
                source: id.to_string(),
                gguf: None,
                created_at_ms: 1,
                verified_at_ms: None,
                pinned,
                last_used_at_ms: Some(used),
                oci: None,
            })
            .unwrap();
    }

    fn ids(&self) -> Vec<String> {
        let list = self.models.catalog().list().unwrap();
        list.into_iter().map(|e| e.id).collect()
    }
}

fn names(report: &model_provisioner::PruneReport) -> Vec<String> {
    report
        .removed
        .iter()
        .map(|p| {
            let parts: Vec<_> = p.path.iter().rev().take(4).collect();
            format!(
                "{}:{}",
                parts[3].to_string_lossy().trim_start_matches("models--"),
                parts[0].to_string_lossy()
            )
        })
        .collect()
}

#[test]
fn a_dry_run_plans_least_recently_used_first_and_removes_nothing() {
    let c = Cache::new();
    let policy = PrunePolicy {
        max_size: Some(5000),
        dry_run: true,
        ..Default::default()
    };
    let plan = c.models.prune(&policy).unwrap();
    assert!(plan.dry_run);
    assert_eq!(plan.size_before, 6500);
    assert_eq!(plan.size_after, 5000);
    // o/d (unknown, atime 1e6) before o/a (used at 2e6); o/b is pinned.
    assert_eq!(names(&plan), ["o--d:d.gguf", "o--a:a.gguf"]);
    assert_eq!(plan.removed[1].catalog_ids, ["hf:o/a/a.gguf"]);
    assert_eq!(plan.pinned, ["hf:o/b/b.gguf"]);
    assert_eq!(c.ids().len(), 3, "nothing removed");
    assert!(
        c.hub()
            .join(format!("models--o--d/snapshots/{C1}/d.gguf"))
            .exists()
    );
}

#[test]
fn prune_keeps_pinned_entries_and_blobs_another_snapshot_links_to() {
    let c = Cache::new();
    let capture = CaptureAdapter::install();
    let policy = PrunePolicy {
        max_size: Some(2500),
        ..Default::default()
    };
    let report = c.models.prune(&policy).unwrap();
    assert_eq!(
        names(&report),
        ["o--d:d.gguf", "o--a:a.gguf", "o--c:c.gguf", "o--c:c.gguf"]
    );
    // The catalog's link goes first; its blob stays for the other revision.
    let first_c = &report.removed[2];
    assert_eq!(first_c.freed_bytes, 0);
    assert!(
        first_c.kept_files[0].reason.contains("still points to it"),
        "{:?}",
        first_c.kept_files
    );
    assert_eq!(report.removed[3].freed_bytes, 3000);
    assert_eq!(report.size_after, 2000);
    assert_eq!(c.ids(), ["hf:o/b/b.gguf"], "only the pinned entry is left");
    // Emptied repos are gone entirely; nothing dangles.
    assert!(!c.hub().join("models--o--c").exists());
    assert!(!c.hub().join("models--o--d").exists());
    assert_eq!(
        c.models.catalog().verify("hf:o/b/b.gguf").unwrap(),
        VerifyOutcome::Verified { bytes: 2000 }
    );
    let pruned: Vec<_> = capture
        .captured()
        .into_iter()
        .filter(|n| n.action == "prune")
        .collect();
    assert_eq!(pruned.len(), 4);
    assert_eq!(pruned[1].target, "hf:o/a/a.gguf");
    assert_eq!(pruned[1].bytes, Some(1000));

    if python_hub_available() {
        let out = Command::new("python3")
            .args([
                "-c",
                "import sys\nfrom huggingface_hub import scan_cache_dir\ni = scan_cache_dir(sys.argv[1])\nprint(len(i.repos), i.size_on_disk, len(i.warnings))",
            ])
            .arg(c.hub())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // The catalog lives outside the cache: one repo left, no warning.
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "1 2000 0");
    }
}

#[test]
fn older_than_removes_every_model_unused_since_then() {
    let c = Cache::new();
    let policy = PrunePolicy {
        older_than: Some(Duration::from_secs(86_400)),
        ..Default::default()
    };
    let report = c.models.prune(&policy).unwrap();
    // The second revision of o/c was accessed just now: it stays, and
    // keeps its blob.
    assert_eq!(
        names(&report),
        ["o--d:d.gguf", "o--a:a.gguf", "o--c:c.gguf"]
    );
    assert!(report.removed.iter().all(|p| p.reason == "unused"));
    assert_eq!(report.size_after, 2000 + 3000);
    let kept = c.hub().join(format!("models--o--c/snapshots/{C2}/c.gguf"));
    assert_eq!(std::fs::read(&kept).unwrap(), vec![3; 3000]);
    assert_eq!(c.ids(), ["hf:o/b/b.gguf"]);
}
