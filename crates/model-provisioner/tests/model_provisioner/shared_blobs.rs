//! The reference client's cache-wide shared blob store (huggingface_hub
//! 2.x): a cache built by its own code (`publish_blob_to_shared_store`),
//! then scanned, served, removed from and pruned by us, and judged again
//! by its `scan_cache_dir()`.

use crate::hf_support::{Env, SIZE, gguf_model};
use hub_standin::{FileSpec, python_hub_available};
use model_provisioner::{ModelProvisioner, PrunePolicy, cache_scan};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

const REPOS: [&str; 2] = ["org/tiny", "org/twin"];

/// True when the installed reference client has the shared blob store;
/// under `CI=true` its absence fails the test.
fn shared_blobs_available() -> bool {
    if !python_hub_available() {
        return false;
    }
    let ok = Command::new("python3")
        .args(["-c", "import huggingface_hub.utils._shared_blobs"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but huggingface_hub lacks the shared blob store: pip install 'huggingface_hub>=2.4'"
        );
        eprintln!(
            "SKIPPED: huggingface_hub lacks the shared blob store (pip install 'huggingface_hub>=2.4')"
        );
    }
    ok
}

fn python(env: &Env, script: &str, args: &[&str]) -> String {
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
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
        "python failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Download `tiny.gguf` of each repo with the reference client, then move
/// each repo blob into the shared store with its own code. Returns the
/// store entry.
const PUBLISH: &str = r#"
import hashlib, os, sys
from huggingface_hub import hf_hub_download
from huggingface_hub.utils import _shared_blobs as s
cache = os.environ["HF_HUB_CACHE"]
entry = None
for repo in sys.argv[1:]:
    p = hf_hub_download(repo, "tiny.gguf")
    blob = os.path.normpath(os.path.join(os.path.dirname(p), os.readlink(p)))
    data = open(blob, "rb").read()
    h = hashlib.sha256(b"xet" + data).hexdigest()
    assert s.publish_blob_to_shared_store(blob_path=blob, xet_hash=h, cache_dir=cache, expected_size=len(data))
    entry = str(s.shared_blob_path(cache, h))
print(entry)
"#;

/// (repo count, size on disk, warnings) from the reference `scan_cache_dir()`.
const SCAN: &str = r#"
import os
from huggingface_hub import scan_cache_dir
i = scan_cache_dir(os.environ["HF_HUB_CACHE"])
for w in i.warnings: print(w, file=__import__("sys").stderr)
print(len(i.repos), i.size_on_disk, len(i.warnings))
"#;

fn reference_scan(env: &Env) -> (usize, u64, usize) {
    let text = python(env, SCAN, &[]);
    let v: Vec<u64> = text
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    (v[0] as usize, v[1], v[2] as usize)
}

/// A hub whose two repos hold the same GGUF, and a cache where the
/// reference client stored it once in the shared store.
fn shared_cache() -> (Env, PathBuf) {
    let env = Env::new();
    for repo in REPOS {
        env.hub.commit(
            repo,
            "main",
            vec![("tiny.gguf", FileSpec::lfs(gguf_model(SIZE)))],
        );
    }
    let entry = PathBuf::from(python(&env, PUBLISH, &REPOS));
    assert!(entry.is_file(), "the reference client made no store entry");
    for repo in REPOS {
        let blob = repo_blob(&env, repo);
        assert!(blob.symlink_metadata().unwrap().file_type().is_symlink());
    }
    (env, entry)
}

fn repo_blob(env: &Env, repo: &str) -> PathBuf {
    let etag = FileSpec::lfs(gguf_model(SIZE)).sha256();
    env.cache
        .path()
        .join(format!("models--{}", repo.replace('/', "--")))
        .join("blobs")
        .join(etag)
}

fn manifest(entry: &Path) -> PathBuf {
    entry.with_file_name(format!(
        "{}.refs",
        entry.file_name().unwrap().to_string_lossy()
    ))
}

fn provisioner(env: &Env) -> ModelProvisioner {
    ModelProvisioner::builder(env.cache.path())
        .catalog_path(env.work.path().join("catalog.sqlite"))
        .provenance_path(env.work.path().join("provenance.jsonl"))
        .fetcher(Arc::new(env.fetcher()))
        .racy_window(std::time::Duration::ZERO)
        .build()
        .unwrap()
}

#[test]
fn scan_counts_a_shared_store_entry_once_and_the_store_is_no_repo() {
    if !shared_blobs_available() {
        return;
    }
    let (env, entry) = shared_cache();
    let scan = cache_scan::scan(env.cache.path(), &[]).unwrap();
    let (repos, size, warnings) = reference_scan(&env);
    assert_eq!(warnings, 0);
    assert!(
        scan.repos.iter().all(|r| r.corrupted.is_none()),
        "{:#?}",
        scan.repos
    );
    assert_eq!((scan.repo_count, scan.size_on_disk), (repos, size));
    assert_eq!(scan.size_on_disk, entry.metadata().unwrap().len());
    assert!(scan.problems.is_empty(), "{:#?}", scan.problems);
}

#[test]
fn models_linked_into_the_store_are_served_and_removed_by_the_reference_rules() {
    if !shared_blobs_available() {
        return;
    }
    let (env, entry) = shared_cache();
    let models = provisioner(&env);
    let gets = env.gguf_gets();
    let mut ids = Vec::new();
    for repo in REPOS {
        let resolved = models
            .ensure_present_str(&format!("hf:{repo}/tiny.gguf"), Some(env.gguf_digest()))
            .unwrap();
        assert_eq!(std::fs::read(&resolved.local_path).unwrap(), env.gguf());
        ids.push(resolved.id);
    }
    assert_eq!(env.gguf_gets(), gets, "a linked blob was downloaded again");

    let first = models.remove(&ids[0], true).unwrap();
    assert!(first.removed);
    assert!(first.deleted_files.contains(&repo_blob(&env, REPOS[0])));
    assert!(entry.is_file(), "the other repo still links to the entry");
    assert_eq!(
        std::fs::read_to_string(manifest(&entry)).unwrap(),
        format!(
            "models--org--twin/blobs/{}\n",
            FileSpec::lfs(env.gguf()).sha256()
        )
    );
    assert_eq!(reference_scan(&env).2, 0);

    let second = models.remove(&ids[1], true).unwrap();
    assert!(second.deleted_files.contains(&entry), "{second:#?}");
    assert!(!entry.exists() && !manifest(&entry).exists());
    let (repos, size, warnings) = reference_scan(&env);
    assert_eq!((size, warnings), (0, 0));
    let scan = cache_scan::scan(env.cache.path(), &[]).unwrap();
    assert_eq!((scan.repo_count, scan.size_on_disk), (repos, size));
}

#[test]
fn an_unreadable_manifest_keeps_the_store_entry() {
    if !shared_blobs_available() {
        return;
    }
    let (env, entry) = shared_cache();
    std::fs::write(manifest(&entry), [0xff, 0xfe, b'\n']).unwrap();
    let models = provisioner(&env);
    for repo in REPOS {
        let resolved = models
            .ensure_present_str(&format!("hf:{repo}/tiny.gguf"), Some(env.gguf_digest()))
            .unwrap();
        let removal = models.remove(&resolved.id, true).unwrap();
        assert!(!removal.deleted_files.contains(&entry));
    }
    assert!(entry.is_file(), "deleted with no readable manifest");
    assert_eq!(reference_scan(&env).2, 0);
}

#[test]
fn prune_sweeps_the_store_entry_with_its_last_link() {
    if !shared_blobs_available() {
        return;
    }
    let (env, entry) = shared_cache();
    let models = provisioner(&env);
    let policy = PrunePolicy {
        max_size: Some(0),
        ..Default::default()
    };
    let plan = models
        .prune(&PrunePolicy {
            dry_run: true,
            ..policy.clone()
        })
        .unwrap();
    let len = entry.metadata().unwrap().len();
    assert_eq!(plan.size_before, len, "the entry counts once");
    let freed: u64 = plan.removed.iter().map(|r| r.freed_bytes).sum();
    assert_eq!(freed, len);
    let report = models.prune(&policy).unwrap();
    assert!(!entry.exists(), "{report:#?}");
    assert!(!manifest(&entry).exists());
    assert_eq!(reference_scan(&env), (0, 0, 0));
}

#[test]
fn a_new_download_into_a_shared_store_cache_keeps_it_valid_for_the_reference() {
    if !shared_blobs_available() {
        return;
    }
    let (env, _entry) = shared_cache();
    env.fetch("hf:org/model/model-Q4_K_M.gguf").unwrap();
    let scan = cache_scan::scan(env.cache.path(), &[]).unwrap();
    let (repos, size, warnings) = reference_scan(&env);
    assert_eq!(warnings, 0);
    assert_eq!((scan.repo_count, scan.size_on_disk), (repos, size));
    assert_eq!(repos, 3);
}

/// The reference client holds the entry's lock (its `filelock`, a flock)
/// until the last repo link is gone and a while after: the entry must still
/// be there, so the sweep waited for the lock before deciding.
const HOLD_LOCK: &str = r#"
import os, sys, time
from filelock import FileLock
entry, link = sys.argv[1], sys.argv[2]
lock = FileLock(entry + ".lock")
lock.acquire()
print("held", flush=True)
deadline = time.time() + 120
while os.path.lexists(link) and time.time() < deadline:
    time.sleep(0.02)
time.sleep(0.5)
print("present" if os.path.exists(entry) else "gone", flush=True)
lock.release()
"#;

#[test]
fn the_sweep_waits_for_the_entry_lock_the_reference_client_holds() {
    if !shared_blobs_available() {
        return;
    }
    let (env, entry) = shared_cache();
    let models = provisioner(&env);
    let mut ids = Vec::new();
    for repo in REPOS {
        let resolved = models
            .ensure_present_str(&format!("hf:{repo}/tiny.gguf"), Some(env.gguf_digest()))
            .unwrap();
        ids.push(resolved.id);
    }
    models.remove(&ids[0], true).unwrap();
    let link = repo_blob(&env, REPOS[1]);
    let mut holder = Command::new("python3")
        .arg("-c")
        .arg(HOLD_LOCK)
        .arg(&entry)
        .arg(&link)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(holder.stdout.take().unwrap()));
    assert_eq!(lines.next().unwrap().unwrap(), "held");
    let removal = std::thread::scope(|s| {
        let remover = s.spawn(|| models.remove(&ids[1], true).unwrap());
        let seen = lines.next().unwrap().unwrap();
        assert_eq!(seen, "present", "the entry went while its lock was held");
        remover.join().unwrap()
    });
    assert!(holder.wait().unwrap().success());
    assert!(removal.deleted_files.contains(&entry), "{removal:#?}");
    assert!(!entry.exists());
}
