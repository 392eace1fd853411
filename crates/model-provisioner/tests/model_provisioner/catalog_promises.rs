//! What the catalog promises holds: a retired entry is not handed out and
//! stays retired, verification touches only its own columns, and rows
//! written by an older schema are classified by origin once.

use model_provisioner::{
    CatalogEntry, CatalogStore, Lifecycle, ModelProvisioner, Origin, ProvisionError, SqliteCatalog,
    gguf,
};
use narration_core::{CaptureAdapter, NarrationLevel};

fn tiny_model(dir: &std::path::Path) -> std::path::PathBuf {
    let model = dir.join("tiny.gguf");
    gguf::write_tiny_llama(&model, gguf::TINY_LLAMA_SEED).unwrap();
    model
}

#[test]
fn a_retired_model_is_refused_with_model_retired_and_stays_retired() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny_model(dir.path());
    let p = ModelProvisioner::builder(dir.path().join("cache"))
        .build()
        .unwrap();
    let first = p.ensure_present_str(model.to_str().unwrap(), None).unwrap();
    p.catalog()
        .set_state(&first.id, Lifecycle::Retired)
        .unwrap();

    let capture = CaptureAdapter::install();
    let err = p
        .ensure_present_str(model.to_str().unwrap(), None)
        .unwrap_err();
    assert!(matches!(err, ProvisionError::Retired { .. }), "{err}");
    assert!(
        err.to_string().contains("provision catalog activate"),
        "{err}"
    );
    let failure = capture
        .captured()
        .into_iter()
        .find(|n| n.action == "ensure-failed")
        .expect("the refusal is narrated");
    assert_eq!(failure.error_kind.as_deref(), Some("model-retired"));
    assert_eq!(failure.level, NarrationLevel::Error);
    let row = p.catalog().get(&first.id).unwrap().unwrap();
    assert_eq!(
        row.lifecycle,
        Lifecycle::Retired,
        "the refusal changes nothing"
    );

    p.catalog().set_state(&first.id, Lifecycle::Active).unwrap();
    p.ensure_present_str(model.to_str().unwrap(), None).unwrap();
}

#[test]
fn registering_again_keeps_a_retire_that_happened_meanwhile() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny_model(dir.path());
    let p = ModelProvisioner::builder(dir.path().join("cache"))
        .build()
        .unwrap();
    let first = p.ensure_present_str(model.to_str().unwrap(), None).unwrap();
    let mut row = p.catalog().get(&first.id).unwrap().unwrap();
    p.catalog()
        .set_state(&first.id, Lifecycle::Retired)
        .unwrap();
    // A register that started before the retire writes its row after it.
    row.lifecycle = Lifecycle::Active;
    row.verified_at_ms = Some(row.verified_at_ms.unwrap() + 1);
    p.catalog().put(&row).unwrap();
    assert_eq!(
        p.catalog().get(&first.id).unwrap().unwrap().lifecycle,
        Lifecycle::Retired
    );
}

#[test]
fn catalog_verify_does_not_undo_a_retire() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny_model(dir.path());
    let p = ModelProvisioner::builder(dir.path().join("cache"))
        .build()
        .unwrap();
    let first = p.ensure_present_str(model.to_str().unwrap(), None).unwrap();
    p.catalog()
        .set_state(&first.id, Lifecycle::Retired)
        .unwrap();
    p.catalog().verify(&first.id).unwrap();
    let row = p.catalog().get(&first.id).unwrap().unwrap();
    assert_eq!(row.lifecycle, Lifecycle::Retired);
    assert_eq!(row.origin, Origin::Local);
}

#[test]
fn rows_of_schema_1_get_their_origin_from_their_source() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("catalog.sqlite");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY NOT NULL, applied_at_ms INTEGER NOT NULL) STRICT;
         INSERT INTO schema_migrations VALUES (1, 0);
         CREATE TABLE models (
            id TEXT PRIMARY KEY NOT NULL, local_path TEXT NOT NULL, digest TEXT NOT NULL,
            size_bytes INTEGER NOT NULL, fp_size INTEGER, fp_mtime_ns INTEGER, fp_ctime_ns INTEGER,
            fp_inode INTEGER, fp_device INTEGER,
            lifecycle TEXT NOT NULL CHECK (lifecycle IN ('active', 'retired')),
            source_ref TEXT NOT NULL, gguf_json TEXT, created_at_ms INTEGER NOT NULL, verified_at_ms INTEGER
         ) STRICT;",
    )
    .unwrap();
    let digest = format!("sha256:{}", "ab".repeat(32));
    for (id, source) in [
        (
            "hf:o/r/m.gguf",
            "hf:o/r@0123456789012345678901234567890123456789/m.gguf",
        ),
        ("https://h/m.gguf", "https://h/m.gguf"),
        ("file:/m.gguf", "/m.gguf"),
    ] {
        conn.execute(
            "INSERT INTO models (id, local_path, digest, size_bytes, lifecycle, source_ref, created_at_ms)
             VALUES (?1, '/x', ?2, 1, 'retired', ?3, 5)",
            rusqlite::params![id, digest, source],
        )
        .unwrap();
    }
    drop(conn);
    let cat = SqliteCatalog::open(&db).unwrap();
    assert_eq!(
        cat.schema_version().unwrap(),
        model_provisioner::catalog::SCHEMA_VERSION
    );
    let row = cat.get("file:/m.gguf").unwrap().unwrap();
    assert!(!row.pinned, "old rows are not pinned");
    assert_eq!(row.last_used_at_ms, None, "old rows were never used");
    let origin = |id: &str| cat.get(id).unwrap().unwrap().origin;
    assert_eq!(origin("hf:o/r/m.gguf"), Origin::HubCache);
    assert_eq!(origin("https://h/m.gguf"), Origin::Download);
    assert_eq!(origin("file:/m.gguf"), Origin::Local);
    assert_eq!(
        cat.get("file:/m.gguf").unwrap().unwrap().lifecycle,
        Lifecycle::Retired
    );
}

#[test]
fn pin_and_touch_change_only_their_own_columns() {
    let dir = tempfile::tempdir().unwrap();
    let cat = SqliteCatalog::open(dir.path().join("catalog.sqlite")).unwrap();
    let mut entry = CatalogEntry {
        id: "file:/m/a.gguf".into(),
        local_path: "/m/a.gguf".into(),
        digest: model_provisioner::sha256_bytes(b"a"),
        size_bytes: 1,
        fingerprint: None,
        lifecycle: Lifecycle::Active,
        origin: Origin::Local,
        source: "/m/a.gguf".into(),
        gguf: None,
        created_at_ms: 1,
        verified_at_ms: None,
        pinned: false,
        last_used_at_ms: Some(100),
        oci: None,
    };
    cat.put(&entry).unwrap();
    cat.set_pinned(&entry.id, true).unwrap();
    cat.touch(&entry.id, 500).unwrap();
    cat.touch(&entry.id, 300).unwrap();
    let row = cat.get(&entry.id).unwrap().unwrap();
    assert!(row.pinned);
    assert_eq!(row.last_used_at_ms, Some(500), "an older use never wins");

    // A re-register (put) keeps the pin and a recorded use.
    entry.last_used_at_ms = None;
    entry.size_bytes = 2;
    cat.put(&entry).unwrap();
    let row = cat.get(&entry.id).unwrap().unwrap();
    assert_eq!(row.size_bytes, 2);
    assert!(row.pinned, "put keeps the pin");
    assert_eq!(row.last_used_at_ms, Some(500));

    cat.set_pinned(&entry.id, false).unwrap();
    assert!(!cat.get(&entry.id).unwrap().unwrap().pinned);
    assert!(matches!(
        cat.set_pinned("file:/nope.gguf", true),
        Err(model_provisioner::CatalogError::NotFound { .. })
    ));
    assert!(matches!(
        cat.touch("file:/nope.gguf", 1),
        Err(model_provisioner::CatalogError::NotFound { .. })
    ));
}

#[test]
fn an_oci_row_of_schema_3_migrates_intact_and_then_keeps_its_oci_record() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("catalog.sqlite");
    let conn = rusqlite::Connection::open(&db).unwrap();
    // The file as schema 3 left it (migrations 1 to 3), with an oci row.
    conn.execute_batch(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY NOT NULL, applied_at_ms INTEGER NOT NULL) STRICT;
         INSERT INTO schema_migrations VALUES (1, 0), (2, 0), (3, 0);
         CREATE TABLE models (
            id TEXT PRIMARY KEY NOT NULL, local_path TEXT NOT NULL, digest TEXT NOT NULL,
            size_bytes INTEGER NOT NULL, fp_size INTEGER, fp_mtime_ns INTEGER, fp_ctime_ns INTEGER,
            fp_inode INTEGER, fp_device INTEGER,
            lifecycle TEXT NOT NULL CHECK (lifecycle IN ('active', 'retired')),
            source_ref TEXT NOT NULL, gguf_json TEXT, created_at_ms INTEGER NOT NULL, verified_at_ms INTEGER,
            origin TEXT NOT NULL DEFAULT 'local' CHECK (origin IN ('local', 'hub-cache', 'download')),
            pinned INTEGER NOT NULL DEFAULT 0 CHECK (pinned IN (0, 1)),
            last_used_at_ms INTEGER
         ) STRICT;",
    )
    .unwrap();
    let digest = format!("sha256:{}", "cd".repeat(32));
    let manifest = format!("sha256:{}", "ef".repeat(32));
    let id = "oci://127.0.0.1:5000/ai/tiny:q4";
    conn.execute(
        "INSERT INTO models (id, local_path, digest, size_bytes, lifecycle, source_ref, created_at_ms,
                             origin, pinned, last_used_at_ms)
         VALUES (?1, '/c/m.gguf', ?2, 7, 'active', ?3, 5, 'download', 1, 9)",
        rusqlite::params![id, digest, format!("{id}@{manifest}")],
    )
    .unwrap();
    drop(conn);

    let cat = SqliteCatalog::open(&db).unwrap();
    assert_eq!(
        cat.schema_version().unwrap(),
        model_provisioner::catalog::SCHEMA_VERSION
    );
    let mut row = cat.get(id).unwrap().unwrap();
    assert_eq!(
        (row.size_bytes, row.pinned, row.last_used_at_ms, row.origin),
        (7, true, Some(9), Origin::Download),
        "the old row is intact"
    );
    assert_eq!(row.source, format!("{id}@{manifest}"));
    assert_eq!(row.oci, None, "schema 3 kept no record");

    row.oci = Some(model_provisioner::OciRecord {
        registry: "127.0.0.1:5000".into(),
        repository: "ai/tiny".into(),
        tag: Some("q4".into()),
        manifest_digest: manifest.clone(),
        layers: vec![digest.clone(), format!("sha256:{}", "01".repeat(32))],
    });
    cat.put(&row).unwrap();
    drop(cat);
    let reopened = SqliteCatalog::open(&db).unwrap();
    assert_eq!(reopened.get(id).unwrap().unwrap(), row);
}
