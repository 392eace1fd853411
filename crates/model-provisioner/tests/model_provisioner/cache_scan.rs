//! `cache_scan::scan`: what the cache holds, joined with the catalog, with
//! totals equal to the reference client's `scan_cache_dir()`.

use crate::hf_support::Env;
use hub_standin::python_hub_available;
use model_provisioner::cache_scan::{self, ProblemKind};
use model_provisioner::{CatalogEntry, Lifecycle, Origin, sha256_bytes};
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;

const C1: &str = "0123456789abcdef0123456789abcdef01234567";
const C2: &str = "fedcba9876543210fedcba9876543210fedcba98";

/// Write `bytes` as blob `name` of `repo` under `cache`.
fn blob(cache: &Path, repo: &str, name: &str, bytes: &[u8]) -> PathBuf {
    let dir = cache.join(repo).join("blobs");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), bytes).unwrap();
    dir.join(name)
}

/// `snapshots/{commit}/{file}` of `repo` → `blobs/{name}`, as the HF
/// layout links it.
fn link(cache: &Path, repo: &str, commit: &str, file: &str, name: &str) -> PathBuf {
    let at = cache.join(repo).join("snapshots").join(commit).join(file);
    std::fs::create_dir_all(at.parent().unwrap()).unwrap();
    let up = "../".repeat(2 + file.matches('/').count());
    symlink(format!("{up}blobs/{name}"), &at).unwrap();
    at
}

fn set_ref(cache: &Path, repo: &str, name: &str, commit: &str) {
    let dir = cache.join(repo).join("refs");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), commit).unwrap();
}

fn entry(id: &str, path: &Path, last_used: Option<u64>) -> CatalogEntry {
    CatalogEntry {
        id: id.to_string(),
        local_path: path.to_path_buf(),
        digest: sha256_bytes(id.as_bytes()),
        size_bytes: 1,
        fingerprint: None,
        lifecycle: Lifecycle::Active,
        origin: Origin::HubCache,
        source: id.to_string(),
        gguf: None,
        created_at_ms: 1,
        verified_at_ms: None,
        pinned: false,
        last_used_at_ms: last_used,
        oci: None,
    }
}

/// (repo count, size on disk, warnings) from `scan_cache_dir(cache)`.
fn python_scan(cache: &Path) -> (usize, u64, usize) {
    let out = Command::new("python3")
        .args([
            "-c",
            "import sys\nfrom huggingface_hub import scan_cache_dir\ni = scan_cache_dir(sys.argv[1])\nprint(len(i.repos), i.size_on_disk, len(i.warnings))",
        ])
        .arg(cache)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let v: Vec<u64> = text
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    (v[0] as usize, v[1], v[2] as usize)
}

/// A cache with two healthy repos, three the reference refuses, loose
/// blobs and an HTTPS download.
fn messy_cache(cache: &Path) -> PathBuf {
    // Healthy: one blob shared by two revisions and two names.
    blob(cache, "models--o--a", "aaaa", &[1; 1000]);
    let used = link(cache, "models--o--a", C1, "m.gguf", "aaaa");
    link(cache, "models--o--a", C2, "sub/m.gguf", "aaaa");
    set_ref(cache, "models--o--a", "main", C2);
    // Healthy, with an orphan blob and a partial download beside it.
    blob(cache, "models--o--b", "bbbb", &[2; 300]);
    link(cache, "models--o--b", C1, "b.gguf", "bbbb");
    blob(cache, "models--o--b", "orphan", &[3; 50]);
    blob(cache, "models--o--b", "cccc.incomplete", &[4; 20]);
    // Refused: a dangling link; a ref to a missing snapshot; not a repo.
    blob(cache, "models--o--c", "keep", &[5; 10]);
    link(cache, "models--o--c", C1, "keep.gguf", "keep");
    link(cache, "models--o--c", C1, "gone.gguf", "gone");
    blob(cache, "models--o--d", "dddd", &[6; 10]);
    link(cache, "models--o--d", C1, "d.gguf", "dddd");
    set_ref(cache, "models--o--d", "main", C2);
    std::fs::create_dir_all(cache.join("junk")).unwrap();
    std::fs::create_dir_all(cache.join(".locks/models--o--a")).unwrap();
    let https = cache.join("https/sha256/ab");
    std::fs::create_dir_all(&https).unwrap();
    std::fs::write(https.join("x.gguf"), [7; 70]).unwrap();
    used
}

#[test]
fn scan_reports_repos_sizes_uses_and_problems() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("hub");
    let used = messy_cache(&cache);
    let https_file = cache.join("https/sha256/ab/x.gguf");
    let entries = [
        entry("hf:o/a/m.gguf", &used, Some(1234)),
        CatalogEntry {
            origin: Origin::Download,
            ..entry("https://h/x.gguf", &https_file, Some(99))
        },
    ];
    let scan = cache_scan::scan(&cache, &entries).unwrap();

    assert_eq!(scan.repo_count, 2, "{scan:#?}");
    assert_eq!(scan.size_on_disk, 1000 + 300, "each blob counted once");
    let ids: Vec<&str> = scan.repos.iter().map(|r| r.repo_id.as_str()).collect();
    assert_eq!(ids, ["junk", "o/a", "o/b", "o/c", "o/d"]);
    let a = &scan.repos[1];
    assert_eq!(a.corrupted, None);
    assert_eq!(a.revisions.len(), 2);
    assert_eq!(a.revisions[1].refs, ["main"]);
    assert_eq!(a.revisions[1].files[0].name, "sub/m.gguf");
    assert_eq!(a.catalog_ids, ["hf:o/a/m.gguf"]);
    assert_eq!(a.last_used_at_ms, Some(1234));
    assert_eq!(a.revisions[0].files[0].catalog_ids, ["hf:o/a/m.gguf"]);
    assert!(a.revisions[1].files[0].catalog_ids.is_empty());
    for (i, why) in [(0, "not a cached repo"), (3, "broken link"), (4, "missing")] {
        let reason = scan.repos[i].corrupted.as_deref().unwrap_or("");
        assert!(reason.contains(why), "{}: {reason}", scan.repos[i].repo_id);
    }

    let kinds = |k: ProblemKind| -> Vec<String> {
        scan.problems
            .iter()
            .filter(|p| p.kind == k)
            .map(|p| p.path.file_name().unwrap().to_string_lossy().into_owned())
            .collect()
    };
    assert_eq!(kinds(ProblemKind::DanglingLink), ["gone.gguf"]);
    assert_eq!(kinds(ProblemKind::OrphanBlob), ["orphan"]);
    assert_eq!(kinds(ProblemKind::Incomplete), ["cccc.incomplete"]);
    assert_eq!(kinds(ProblemKind::CorruptedRepo).len(), 3);

    assert_eq!(scan.downloads.len(), 1);
    assert_eq!(scan.downloads[0].size_bytes, 70);
    assert_eq!(scan.downloads[0].catalog_ids, ["https://h/x.gguf"]);
    assert_eq!(scan.downloads[0].last_used_at_ms, Some(99));
}

#[test]
fn scan_totals_equal_the_reference_client_on_a_messy_cache() {
    if !python_hub_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("hub");
    messy_cache(&cache);
    let scan = cache_scan::scan(&cache, &[]).unwrap();
    let (repos, size, warnings) = python_scan(&cache);
    assert_eq!((scan.repo_count, scan.size_on_disk), (repos, size));
    // The reference also refuses the `https` folder, which is ours.
    let corrupted = scan.repos.iter().filter(|r| r.corrupted.is_some()).count();
    assert_eq!(corrupted + 1, warnings);
}

#[test]
fn scan_totals_equal_the_reference_client_on_files_both_downloaded() {
    if !python_hub_available() {
        return;
    }
    let env = Env::new();
    env.fetch("hf:org/model/model-Q4_K_M.gguf").unwrap();
    let out = Command::new("python3")
        .args([
            "-c",
            "import sys\nfrom huggingface_hub import hf_hub_download\nprint(hf_hub_download('org/model', 'config.json'))",
        ])
        .env("HF_HUB_CACHE", env.cache.path())
        .env("HF_ENDPOINT", env.hub.endpoint())
        .env("HF_HUB_DISABLE_XET", "1")
        .env("HF_HUB_DISABLE_TELEMETRY", "1")
        .env_remove("HF_HUB_OFFLINE")
        .env_remove("HF_TOKEN")
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let scan = cache_scan::scan(env.cache.path(), &[]).unwrap();
    let (repos, size, warnings) = python_scan(env.cache.path());
    assert_eq!((scan.repo_count, scan.size_on_disk), (repos, size));
    assert_eq!(warnings, 0);
    assert!(scan.problems.is_empty(), "{:#?}", scan.problems);
    let files: Vec<&str> = scan.repos[0].revisions[0]
        .files
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(files, ["config.json", "model-Q4_K_M.gguf"]);
}

#[test]
fn a_repo_holding_only_a_partial_download_is_a_download_in_progress_not_a_corrupted_repo() {
    let env = Env::new();
    let cache = env.cache.path();
    // What a first download stopped halfway leaves: no snapshot yet.
    let half = env.weights().len() / 2;
    let partial = blob(
        cache,
        "models--org--model",
        &format!("{}.incomplete", env.digest().hex()),
        &env.weights()[..half],
    );
    let scan = cache_scan::scan(cache, &[]).unwrap();
    assert!(scan.repos.is_empty(), "{:#?}", scan.repos);
    assert!(scan.problems.is_empty(), "{:#?}", scan.problems);
    assert_eq!(scan.in_progress.len(), 1, "{scan:#?}");
    let p = &scan.in_progress[0];
    assert_eq!(p.repo_id, "org/model");
    assert_eq!(p.path, partial);
    assert_eq!(p.size_bytes, half as u64);
    assert!(p.resumable);
    // And it is what the next download resumes.
    let got = env.fetch("hf:org/model/model-Q4_K_M.gguf").unwrap();
    assert_eq!(got.bytes_transferred, (env.weights().len() - half) as u64);
    assert!(cache_scan::scan(cache, &[]).unwrap().in_progress.is_empty());
}
