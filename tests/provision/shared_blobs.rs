//! `provision` on a cache where the reference client (huggingface_hub 2.x)
//! keeps one copy of a file two repos hold, in its shared blob store:
//! `cache scan` agrees with `scan_cache_dir()`, `model` serves through the
//! link, `catalog remove --delete-files` sweeps the entry with its last link.

use crate::support::{Dirs, provision_model};
use hub_standin::{FileSpec, Hub, python_hub_available};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const REPOS: [&str; 2] = ["org/tiny", "org/twin"];

fn tiny() -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/tiny-llama.gguf"))
        .expect("read model")
}

/// Downloads `tiny-F32.gguf` of each repo, then moves it into the shared
/// store with the reference client's own code; prints the store entry.
const PUBLISH: &str = r#"
import hashlib, os, sys
from huggingface_hub import hf_hub_download
from huggingface_hub.utils import _shared_blobs as s
cache = os.environ["HF_HUB_CACHE"]
for repo in sys.argv[1:]:
    p = hf_hub_download(repo, "tiny-F32.gguf")
    blob = os.path.normpath(os.path.join(os.path.dirname(p), os.readlink(p)))
    data = open(blob, "rb").read()
    h = hashlib.sha256(b"xet" + data).hexdigest()
    assert s.publish_blob_to_shared_store(blob_path=blob, xet_hash=h, cache_dir=cache, expected_size=len(data))
print(s.shared_blob_path(cache, h))
"#;

const SCAN: &str = r#"
import os
from huggingface_hub import scan_cache_dir
i = scan_cache_dir(os.environ["HF_HUB_CACHE"])
print(len(i.repos), i.size_on_disk, len(i.warnings))
"#;

fn python(dirs: &Dirs, hub: &Hub, script: &str, args: &[&str]) -> String {
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .env("HF_HUB_CACHE", dirs.cache())
        .env("HF_ENDPOINT", hub.endpoint())
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
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn provision(dirs: &Dirs, args: &[&str]) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_provision"))
        .args(args)
        .args(if args.contains(&"cache") {
            vec!["--cache-dir".into(), dirs.cache()]
        } else {
            Vec::new()
        })
        .arg("--catalog")
        .arg(dirs.catalog())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dirs.home())
        .stdin(Stdio::null())
        .output()
        .expect("provision runs");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

#[test]
fn cache_scan_model_and_remove_follow_the_reference_shared_blob_store() {
    if !python_hub_available()
        || !Command::new("python3")
            .args(["-c", "import huggingface_hub.utils._shared_blobs"])
            .output()
            .is_ok_and(|o| o.status.success())
    {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but huggingface_hub lacks the shared blob store"
        );
        eprintln!(
            "SKIPPED: huggingface_hub lacks the shared blob store (pip install 'huggingface_hub>=2.4')"
        );
        return;
    }
    let hub = Hub::start().expect("stand-in hub");
    for repo in REPOS {
        hub.commit(repo, "main", vec![("tiny-F32.gguf", FileSpec::lfs(tiny()))]);
    }
    let dirs = Dirs::new();
    let entry = PathBuf::from(python(&dirs, &hub, PUBLISH, &REPOS));
    assert!(entry.is_file());

    let scan = provision(&dirs, &["--json", "cache", "scan"]);
    let reference = python(&dirs, &hub, SCAN, &[]);
    assert_eq!(
        reference,
        format!("{} {} 0", scan["repo_count"], scan["size_on_disk"])
    );
    assert_eq!(scan["repo_count"], 2);
    assert_eq!(scan["size_on_disk"], 491168, "the stored file counts once");
    assert_eq!(scan["problems"], serde_json::json!([]));

    for repo in REPOS {
        let out = provision_model(&dirs, &hub.endpoint(), &format!("hf:{repo}/tiny-F32.gguf"))
            .output()
            .expect("runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let first = provision(
        &dirs,
        &[
            "--json",
            "catalog",
            "remove",
            "hf:org/tiny/tiny-F32.gguf",
            "--delete-files",
        ],
    );
    assert!(entry.is_file(), "org/twin still links to it: {first}");
    let second = provision(
        &dirs,
        &[
            "--json",
            "catalog",
            "remove",
            "hf:org/twin/tiny-F32.gguf",
            "--delete-files",
        ],
    );
    assert!(!entry.exists(), "{second}");
    let reference = python(&dirs, &hub, SCAN, &[]);
    assert!(reference.ends_with(" 0 0"), "{reference}");
}
