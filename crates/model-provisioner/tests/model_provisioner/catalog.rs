//! The SQLite catalog against a real database file, including two real
//! processes writing at once.

use model_provisioner::{
    CatalogEntry, CatalogError, CatalogStore, Fingerprint, Lifecycle, SqliteCatalog, VerifyOutcome,
    sha256_bytes,
};
use std::path::Path;
use std::process::Command;

fn entry(id: &str, path: &Path) -> CatalogEntry {
    CatalogEntry {
        id: id.to_string(),
        local_path: path.to_path_buf(),
        digest: sha256_bytes(id.as_bytes()),
        size_bytes: 42,
        fingerprint: Some(Fingerprint {
            size: 42,
            mtime_ns: 1_700_000_000_123_456_789,
            ctime_ns: 1_700_000_000_123_456_790,
            inode: u64::MAX - 3,
            device: 2049,
        }),
        lifecycle: Lifecycle::Active,
        origin: model_provisioner::Origin::Download,
        source: format!("test:{id}"),
        gguf: None,
        created_at_ms: 1000,
        verified_at_ms: Some(2000),
        pinned: false,
        last_used_at_ms: None,
        oci: None,
    }
}

#[test]
fn put_get_list_round_trip_every_field() {
    let dir = tempfile::tempdir().unwrap();
    let cat = SqliteCatalog::open(dir.path().join("sub/catalog.sqlite")).unwrap();
    let mut a = entry("file:/m/a.gguf", Path::new("/m/a.gguf"));
    a.gguf = Some(model_provisioner::gguf::GgufSummary {
        architecture: Some("llama".into()),
        name: Some("tiny".into()),
        context_length: Some(2048),
        block_count: Some(2),
        embedding_length: Some(64),
        file_type: Some(0),
        quantization: Some("F32".into()),
        tensor_count: 21,
        version: 3,
        file_size: 500_000,
    });
    let b = entry("file:/m/b.gguf", Path::new("/m/b.gguf"));
    cat.put(&b).unwrap();
    cat.put(&a).unwrap();
    assert_eq!(cat.get(&a.id).unwrap().as_ref(), Some(&a));
    assert_eq!(cat.list().unwrap(), vec![a.clone(), b.clone()]);
    assert_eq!(
        cat.schema_version().unwrap(),
        model_provisioner::catalog::SCHEMA_VERSION
    );
}

#[test]
fn put_is_an_upsert_that_keeps_created_at() {
    let dir = tempfile::tempdir().unwrap();
    let cat = SqliteCatalog::open(dir.path().join("c.sqlite")).unwrap();
    let mut e = entry("id", Path::new("/x"));
    cat.put(&e).unwrap();
    e.created_at_ms = 9999;
    e.size_bytes = 7;
    e.fingerprint = None;
    cat.put(&e).unwrap();
    let got = cat.get("id").unwrap().unwrap();
    assert_eq!(got.created_at_ms, 1000);
    assert_eq!(got.size_bytes, 7);
    assert_eq!(got.fingerprint, None);
    assert_eq!(cat.list().unwrap().len(), 1);
}

#[test]
fn set_state_and_remove_report_missing_ids() {
    let dir = tempfile::tempdir().unwrap();
    let cat = SqliteCatalog::open(dir.path().join("c.sqlite")).unwrap();
    cat.put(&entry("id", Path::new("/x"))).unwrap();
    cat.set_state("id", Lifecycle::Retired).unwrap();
    assert_eq!(
        cat.get("id").unwrap().unwrap().lifecycle,
        Lifecycle::Retired
    );
    assert!(matches!(
        cat.set_state("other", Lifecycle::Active),
        Err(CatalogError::NotFound { .. })
    ));
    assert!(cat.remove("id").unwrap());
    assert!(!cat.remove("id").unwrap());
    assert!(cat.get("id").unwrap().is_none());
}

#[test]
fn verify_rehashes_and_detects_changed_or_missing_files() {
    let dir = tempfile::tempdir().unwrap();
    let cat = SqliteCatalog::open(dir.path().join("c.sqlite")).unwrap();
    let file = dir.path().join("m.bin");
    std::fs::write(&file, b"model bytes").unwrap();
    let mut e = entry("m", &file);
    e.digest = sha256_bytes(b"model bytes");
    cat.put(&e).unwrap();
    assert_eq!(
        cat.verify("m").unwrap(),
        VerifyOutcome::Verified { bytes: 11 }
    );

    std::fs::write(&file, b"other bytes").unwrap();
    assert_eq!(
        cat.verify("m").unwrap(),
        VerifyOutcome::Mismatch {
            actual: sha256_bytes(b"other bytes")
        }
    );
    assert_eq!(cat.get("m").unwrap().unwrap().fingerprint, None);

    std::fs::remove_file(&file).unwrap();
    assert_eq!(cat.verify("m").unwrap(), VerifyOutcome::Missing);
    assert!(matches!(
        cat.verify("nope"),
        Err(CatalogError::NotFound { .. })
    ));
}

#[test]
fn reopening_keeps_rows_and_does_not_reapply_migrations() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.sqlite");
    SqliteCatalog::open(&path)
        .unwrap()
        .put(&entry("id", Path::new("/x")))
        .unwrap();
    let cat = SqliteCatalog::open(&path).unwrap();
    assert!(cat.get("id").unwrap().is_some());
    let conn = rusqlite::Connection::open(&path).unwrap();
    let n: i64 = conn
        .query_row("SELECT COUNT(*) FROM schema_migrations", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, model_provisioner::catalog::SCHEMA_VERSION);
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn a_newer_schema_is_refused_not_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.sqlite");
    drop(SqliteCatalog::open(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute("INSERT INTO schema_migrations VALUES (99, 0)", [])
        .unwrap();
    drop(conn);
    let err = SqliteCatalog::open(&path).unwrap_err();
    assert!(
        matches!(err, CatalogError::SchemaTooNew { found: 99, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("c.sqlite"));
}

#[test]
fn a_file_that_is_not_a_database_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.sqlite");
    std::fs::write(&path, vec![b'x'; 8192]).unwrap();
    let err = SqliteCatalog::open(&path).unwrap_err();
    assert!(matches!(err, CatalogError::Sqlite { .. }), "{err}");
    // The bytes are left alone for the user to inspect.
    assert_eq!(std::fs::read(&path).unwrap(), vec![b'x'; 8192]);
}

#[test]
fn a_corrupt_row_is_reported_with_its_id() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.sqlite");
    let cat = SqliteCatalog::open(&path).unwrap();
    cat.put(&entry("bad", Path::new("/x"))).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute("UPDATE models SET digest = 'md5:00' WHERE id = 'bad'", [])
        .unwrap();
    let err = cat.get("bad").unwrap_err();
    assert!(
        matches!(err, CatalogError::CorruptRow { ref id, .. } if id == "bad"),
        "{err}"
    );
}

const CHILD_ENV: &str = "MODEL_PROVISIONER_CATALOG_CHILD";
const ROWS_PER_PROCESS: usize = 1500;

/// The writer run by `two_processes_writing_at_once_lose_nothing` in a
/// child process; it does nothing when run directly.
#[test]
#[ignore = "runs as a child process of two_processes_writing_at_once_lose_nothing"]
fn catalog_child_writer() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let (db, prefix) = spec.split_once('|').unwrap();
    let cat = SqliteCatalog::open(db).unwrap();
    for i in 0..ROWS_PER_PROCESS {
        let id = format!("{prefix}-{i}");
        cat.put(&entry(&id, Path::new("/m"))).unwrap();
        // A shared row both processes keep rewriting.
        let mut shared = entry("shared", Path::new("/shared"));
        shared.source = id;
        cat.put(&shared).unwrap();
    }
}

#[test]
fn two_processes_writing_at_once_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("catalog.sqlite");
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = ["p1", "p2", "p3"]
        .iter()
        .map(|prefix| {
            Command::new(&exe)
                .args([
                    "--ignored",
                    "--exact",
                    &crate::test_name(module_path!(), "catalog_child_writer"),
                    "--test-threads=1",
                ])
                .env(CHILD_ENV, format!("{}|{prefix}", db.display()))
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success(), "a writer process failed");
    }
    let cat = SqliteCatalog::open(&db).unwrap();
    let rows = cat.list().unwrap();
    assert_eq!(rows.len(), 3 * ROWS_PER_PROCESS + 1);
    for prefix in ["p1", "p2", "p3"] {
        for i in 0..ROWS_PER_PROCESS {
            assert!(cat.get(&format!("{prefix}-{i}")).unwrap().is_some());
        }
    }
    let shared = cat.get("shared").unwrap().unwrap();
    assert!(
        shared
            .source
            .ends_with(&format!("-{}", ROWS_PER_PROCESS - 1))
    );
}

#[test]
fn many_connections_creating_one_catalog_at_once_all_open_it() {
    // Separate connections lock the file as separate processes do.
    for round in 0..10 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("catalog.sqlite");
        let start = std::sync::Barrier::new(8);
        let results: Vec<Result<(), String>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    s.spawn(|| {
                        start.wait();
                        SqliteCatalog::open(&path)
                            .and_then(|c| c.list().map(drop))
                            .map_err(|e| e.to_string())
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let failed: Vec<_> = results.into_iter().filter_map(Result::err).collect();
        assert!(failed.is_empty(), "round {round}: {failed:?}");
    }
}
