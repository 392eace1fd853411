//! Several real processes ensuring models against one cache at once: all
//! succeed, the catalog keeps every row, the provenance log stays valid.

use model_provisioner::{ModelProvisioner, gguf, hash_file, read_provenance};
use std::process::{Command, Stdio};

const CHILD_ENV: &str = "MODEL_PROVISIONER_ENSURE_CHILD";
const ROUNDS: usize = 20;

/// Run by `processes_ensuring_at_once_all_succeed_and_lose_no_rows` in a
/// child process; it does nothing when run directly.
#[test]
#[ignore = "runs as a child process of processes_ensuring_at_once_all_succeed_and_lose_no_rows"]
fn ensure_child() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let mut parts = spec.split('|');
    let (cache, shared, own) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    let p = ModelProvisioner::builder(cache).build().unwrap();
    for _ in 0..ROUNDS {
        p.ensure_present_str(shared, None).unwrap();
        p.ensure_present_str(own, None).unwrap();
    }
}

#[test]
fn processes_ensuring_at_once_all_succeed_and_lose_no_rows() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let shared = dir.path().join("shared.gguf");
    gguf::write_tiny_llama(&shared, 1).unwrap();
    let names = ["a", "b", "c"];
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = names
        .iter()
        .map(|name| {
            let own = dir.path().join(format!("{name}.gguf"));
            gguf::write_tiny_llama(&own, name.as_bytes()[0] as u64).unwrap();
            Command::new(&exe)
                .args([
                    "--ignored",
                    "--exact",
                    &crate::test_name(module_path!(), "ensure_child"),
                    "--test-threads=1",
                ])
                .env(
                    CHILD_ENV,
                    format!("{}|{}|{}", cache.display(), shared.display(), own.display()),
                )
                .stdout(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(
            child.wait().unwrap().success(),
            "an ensuring process failed"
        );
    }

    let p = ModelProvisioner::builder(&cache).build().unwrap();
    let rows = p.catalog().list().unwrap();
    assert_eq!(rows.len(), 1 + names.len(), "{rows:#?}");
    for row in &rows {
        assert_eq!(row.digest, hash_file(&row.local_path).unwrap().0);
    }
    let log = read_provenance(&cache.join("provenance.jsonl")).unwrap();
    // Every line parses; each process registered each of its models at
    // least once (a file verified right after it was written is hashed
    // and registered again until its fingerprint can be trusted).
    assert!(log.len() >= 2 * names.len(), "{} lines", log.len());
}
