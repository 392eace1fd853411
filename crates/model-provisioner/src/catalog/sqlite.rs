//! The catalog in one SQLite file.
//!
//! WAL mode lets readers proceed while one process writes, and opening
//! only reads the schema version (it migrates, under the write lock, only
//! when the file is behind), so a verb that only reads never waits for a
//! writer. A busy timeout makes concurrent writers queue instead of
//! failing; a write that waits says so once, after about a second, and
//! gives up with [`CatalogError::Locked`] after the lock timeout
//! (`PROVISION_CATALOG_LOCK_TIMEOUT`). Every write is a single statement
//! (or an `IMMEDIATE` transaction), so two processes can never deadlock on
//! a lock upgrade or lose each other's rows. A crash mid-write leaves the
//! previous state, never half a catalog.

use super::{CatalogEntry, CatalogStore, Lifecycle, OciRecord, Origin};
use crate::actions as act;
use crate::digest::Digest;
use crate::error::CatalogError;
use crate::fingerprint::{Fingerprint, now_ms};
use narration_core::{NarrationFields, narrate};
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// The schema version this build writes and understands.
pub const SCHEMA_VERSION: i64 = 4;

/// How long a write waits for another process's write lock, unless
/// [`LOCK_TIMEOUT_ENV`] says otherwise.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(30);

/// The environment variable that sets the lock timeout, in seconds
/// (`0.5`, `2`, `120`).
pub const LOCK_TIMEOUT_ENV: &str = "PROVISION_CATALOG_LOCK_TIMEOUT";

/// A write that waited this long for the lock says so (once).
const WAIT_NOTICE: Duration = Duration::from_secs(1);

/// Each migration brings the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: the models table.
    "CREATE TABLE models (
        id             TEXT PRIMARY KEY NOT NULL,
        local_path     TEXT NOT NULL,
        digest         TEXT NOT NULL,
        size_bytes     INTEGER NOT NULL,
        fp_size        INTEGER,
        fp_mtime_ns    INTEGER,
        fp_ctime_ns    INTEGER,
        fp_inode       INTEGER,
        fp_device      INTEGER,
        lifecycle      TEXT NOT NULL CHECK (lifecycle IN ('active', 'retired')),
        source_ref     TEXT NOT NULL,
        gguf_json      TEXT,
        created_at_ms  INTEGER NOT NULL,
        verified_at_ms INTEGER
    ) STRICT;",
    // 2: where each file came from, typed, so that removal never has to
    // re-parse the source text. Existing rows are classified once here.
    "ALTER TABLE models ADD COLUMN origin TEXT NOT NULL DEFAULT 'local'
        CHECK (origin IN ('local', 'hub-cache', 'download'));
     UPDATE models SET origin = CASE
        WHEN source_ref LIKE 'hf:%' THEN 'hub-cache'
        WHEN source_ref LIKE 'https://%' OR source_ref LIKE 'http://%' THEN 'download'
        ELSE 'local' END;",
    // 3: what cache pruning needs: entries it must never remove, and when
    // each model was last handed out.
    "ALTER TABLE models ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0 CHECK (pinned IN (0, 1));
     ALTER TABLE models ADD COLUMN last_used_at_ms INTEGER;",
    // 4: an OCI model's registry, repository, tag, manifest and layer
    // digests (JSON, like the GGUF summary). Rows written before stay
    // NULL until their next ensure records them.
    "ALTER TABLE models ADD COLUMN oci_json TEXT;",
];

const COLUMNS: &str = "id, local_path, digest, size_bytes, fp_size, fp_mtime_ns, fp_ctime_ns, \
     fp_inode, fp_device, lifecycle, source_ref, gguf_json, created_at_ms, verified_at_ms, origin, \
     pinned, last_used_at_ms, oci_json";

/// A [`CatalogStore`] in a SQLite database file.
///
/// ```
/// use model_provisioner::{CatalogStore, SqliteCatalog};
/// let dir = tempfile::tempdir().unwrap();
/// let catalog = SqliteCatalog::open(dir.path().join("catalog.sqlite")).unwrap();
/// assert!(catalog.get("file:/nowhere.gguf").unwrap().is_none());
/// assert!(catalog.list().unwrap().is_empty());
/// ```
#[derive(Debug)]
pub struct SqliteCatalog {
    path: PathBuf,
    conn: Mutex<Connection>,
    lock_timeout: Duration,
}

/// The lock timeout from [`LOCK_TIMEOUT_ENV`], else the default; a value
/// that is not a number of seconds is ignored.
fn lock_timeout_from_env() -> Duration {
    std::env::var(LOCK_TIMEOUT_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .unwrap_or(DEFAULT_LOCK_TIMEOUT)
}

impl SqliteCatalog {
    /// Open (creating if needed) the catalog at `path` and bring its schema
    /// up to [`SCHEMA_VERSION`]; writes wait for another process's lock as
    /// long as `PROVISION_CATALOG_LOCK_TIMEOUT` says (default 30 s).
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, CatalogError> {
        Self::open_with_lock_timeout(path, lock_timeout_from_env())
    }

    /// [`open`](Self::open), with writes waiting at most `lock_timeout`
    /// for another process's write lock before failing with
    /// [`CatalogError::Locked`].
    pub fn open_with_lock_timeout(
        path: impl Into<PathBuf>,
        lock_timeout: Duration,
    ) -> Result<Self, CatalogError> {
        let path = path.into();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| CatalogError::Io {
                path: path.clone(),
                source,
            })?;
        }
        let sql = |source| CatalogError::Sqlite {
            path: path.clone(),
            source,
        };
        let conn = Connection::open(&path).map_err(sql)?;
        conn.busy_timeout(lock_timeout.min(WAIT_NOTICE))
            .map_err(sql)?;
        let catalog = Self {
            path,
            conn: Mutex::new(conn),
            lock_timeout,
        };
        catalog.write(|conn| enable_wal(conn, lock_timeout).map_err(|e| catalog.sql(e)))?;
        // In WAL mode NORMAL stays consistent after a crash; only the last
        // commits before a power loss can be lost.
        catalog
            .conn()
            .pragma_update(None, "synchronous", "NORMAL")
            .map_err(|e| catalog.sql(e))?;
        // Read first: a catalog that is up to date (the usual case) is
        // opened without ever asking for the write lock.
        let found = stored_version(&catalog.conn(), &catalog.path)?;
        if found > SCHEMA_VERSION {
            return Err(too_new(&catalog.path, found));
        }
        if found < SCHEMA_VERSION {
            catalog.write(|conn| migrate(conn, &catalog.path))?;
        }
        Ok(catalog)
    }

    /// Run `op`, a write, on the connection: when another process holds
    /// the write lock, say so once after [`WAIT_NOTICE`] and keep waiting
    /// up to the lock timeout, then fail with [`CatalogError::Locked`].
    /// `op` must leave nothing behind when it fails busy (one statement, or
    /// a transaction it rolls back), so that running it again is safe.
    fn write<T>(
        &self,
        mut op: impl FnMut(&mut Connection) -> Result<T, CatalogError>,
    ) -> Result<T, CatalogError> {
        let mut conn = self.conn();
        let first = self.lock_timeout.min(WAIT_NOTICE);
        match op(&mut conn) {
            Err(e) if is_busy(&e) && self.lock_timeout > first => {}
            Err(e) if is_busy(&e) => return Err(self.locked(first)),
            done => return done,
        }
        narrate(NarrationFields {
            actor: act::ACTOR,
            action: act::CATALOG_WAIT,
            target: self.path.display().to_string(),
            human: format!(
                "Waiting for another process writing the catalog {} (up to {:.0?})",
                self.path.display(),
                self.lock_timeout
            ),
            ..Default::default()
        });
        let rest = self.lock_timeout - first;
        conn.busy_timeout(rest).map_err(|e| self.sql(e))?;
        let again = op(&mut conn);
        // Later writes wait the short first stretch again.
        let _ = conn.busy_timeout(first);
        match again {
            Err(e) if is_busy(&e) => Err(self.locked(self.lock_timeout)),
            done => done,
        }
    }

    fn locked(&self, waited: Duration) -> CatalogError {
        CatalogError::Locked {
            path: self.path.clone(),
            waited,
        }
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `PRAGMA integrity_check`: the problems SQLite finds in the file,
    /// none when it is sound.
    pub fn integrity_check(&self) -> Result<Vec<String>, CatalogError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare("PRAGMA integrity_check")
            .map_err(|e| self.sql(e))?;
        let lines = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(|e| self.sql(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.sql(e))?;
        Ok(lines.into_iter().filter(|l| l != "ok").collect())
    }

    /// The schema version recorded in the database.
    pub fn schema_version(&self) -> Result<i64, CatalogError> {
        stored_version(&self.conn(), &self.path)
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite inconsistent.
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Run an `UPDATE` of the row `id`; [`CatalogError::NotFound`] when
    /// there is none.
    fn update_one(
        &self,
        id: &str,
        sql: &str,
        params: impl rusqlite::Params + Copy,
    ) -> Result<(), CatalogError> {
        let changed = self.write(|conn| conn.execute(sql, params).map_err(|e| self.sql(e)))?;
        if changed == 0 {
            return Err(CatalogError::NotFound {
                path: self.path.clone(),
                id: id.to_string(),
            });
        }
        Ok(())
    }

    fn sql(&self, source: rusqlite::Error) -> CatalogError {
        CatalogError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }
}

/// The schema version recorded in the database, 0 for a new file; a
/// read, so it never waits for a writer.
fn stored_version(conn: &Connection, path: &Path) -> Result<i64, CatalogError> {
    let sql = |source| CatalogError::Sqlite {
        path: path.to_path_buf(),
        source,
    };
    let tracked: bool = conn
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations')",
            [],
            |r| r.get(0),
        )
        .map_err(sql)?;
    if !tracked {
        return Ok(0);
    }
    conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        [],
        |r| r.get(0),
    )
    .map_err(sql)
}

fn too_new(path: &Path, found: i64) -> CatalogError {
    CatalogError::SchemaTooNew {
        path: path.to_path_buf(),
        found,
        supported: SCHEMA_VERSION,
    }
}

/// True when SQLite gave up waiting for another connection's lock.
fn is_busy(e: &CatalogError) -> bool {
    matches!(e, CatalogError::Sqlite { source, .. }
    if matches!(
        source.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    ))
}

/// Switches the file to WAL, unless it is already (reading the mode takes
/// no lock; setting it does). Changing the journal mode needs the file to
/// itself, and while another connection is switching a new file SQLite
/// answers `SQLITE_BUSY` at once, without asking the busy handler; so
/// this waits and retries, up to `timeout`.
fn enable_wal(conn: &Connection, timeout: Duration) -> rusqlite::Result<()> {
    let mode: String = conn.pragma_query_value(None, "journal_mode", |r| r.get(0))?;
    if mode.eq_ignore_ascii_case("wal") {
        return Ok(());
    }
    let deadline = std::time::Instant::now() + timeout;
    loop {
        match conn.pragma_update_and_check(None, "journal_mode", "WAL", |_| Ok(())) {
            Err(e)
                if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy)
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            done => return done,
        }
    }
}

/// Apply missing migrations in one IMMEDIATE transaction, so two processes
/// opening a fresh catalog at once apply each migration exactly once (the
/// second finds the work done when it gets the lock).
fn migrate(conn: &mut Connection, path: &Path) -> Result<(), CatalogError> {
    let sql = |source| CatalogError::Sqlite {
        path: path.to_path_buf(),
        source,
    };
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sql)?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version       INTEGER PRIMARY KEY NOT NULL,
            applied_at_ms INTEGER NOT NULL
        ) STRICT;",
    )
    .map_err(sql)?;
    let found = stored_version(&tx, path)?;
    if found > SCHEMA_VERSION {
        return Err(too_new(path, found));
    }
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let version = index as i64 + 1;
        tx.execute_batch(migration).map_err(sql)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at_ms) VALUES (?1, ?2)",
            params![version, now_ms() as i64],
        )
        .map_err(sql)?;
    }
    tx.commit().map_err(sql)
}

/// SQLite integers are signed 64-bit: store u64 bit patterns unchanged.
fn to_i64(v: u64) -> i64 {
    v as i64
}

fn to_u64(v: i64) -> u64 {
    v as u64
}

fn decode_row(row: &Row<'_>, path: &Path) -> rusqlite::Result<Result<CatalogEntry, CatalogError>> {
    let id: String = row.get(0)?;
    let local_path: String = row.get(1)?;
    let digest: String = row.get(2)?;
    let size: i64 = row.get(3)?;
    let fp: [Option<i64>; 5] = [
        row.get(4)?,
        row.get(5)?,
        row.get(6)?,
        row.get(7)?,
        row.get(8)?,
    ];
    let lifecycle: String = row.get(9)?;
    let source_ref: String = row.get(10)?;
    let gguf_json: Option<String> = row.get(11)?;
    let created: i64 = row.get(12)?;
    let verified: Option<i64> = row.get(13)?;
    let origin: String = row.get(14)?;
    let pinned: bool = row.get(15)?;
    let last_used: Option<i64> = row.get(16)?;
    let oci_json: Option<String> = row.get(17)?;

    let corrupt = |reason: String| CatalogError::CorruptRow {
        path: path.to_path_buf(),
        id: id.clone(),
        reason,
    };
    let digest: Digest = match digest.parse() {
        Ok(d) => d,
        Err(e) => return Ok(Err(corrupt(format!("digest: {e}")))),
    };
    let Some(lifecycle) = Lifecycle::parse(&lifecycle) else {
        return Ok(Err(corrupt(format!("lifecycle {lifecycle:?}"))));
    };
    let Some(origin) = Origin::parse(&origin) else {
        return Ok(Err(corrupt(format!("origin {origin:?}"))));
    };
    let gguf = match gguf_json.map(|j| serde_json::from_str(&j)).transpose() {
        Ok(g) => g,
        Err(e) => return Ok(Err(corrupt(format!("gguf summary: {e}")))),
    };
    let oci: Option<OciRecord> = match oci_json.map(|j| serde_json::from_str(&j)).transpose() {
        Ok(o) => o,
        Err(e) => return Ok(Err(corrupt(format!("oci record: {e}")))),
    };
    let fingerprint = match fp {
        [
            Some(size),
            Some(mtime_ns),
            Some(ctime_ns),
            Some(inode),
            Some(device),
        ] => Some(Fingerprint {
            size: to_u64(size),
            mtime_ns,
            ctime_ns,
            inode: to_u64(inode),
            device: to_u64(device),
        }),
        _ => None,
    };
    Ok(Ok(CatalogEntry {
        id: id.clone(),
        local_path: PathBuf::from(local_path),
        digest,
        size_bytes: to_u64(size),
        fingerprint,
        lifecycle,
        origin,
        source: source_ref,
        gguf,
        created_at_ms: to_u64(created),
        verified_at_ms: verified.map(to_u64),
        pinned,
        last_used_at_ms: last_used.map(to_u64),
        oci,
    }))
}

impl CatalogStore for SqliteCatalog {
    fn get(&self, id: &str) -> Result<Option<CatalogEntry>, CatalogError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM models WHERE id = ?1"))
            .map_err(|e| self.sql(e))?;
        let row = stmt
            .query_row([id], |r| decode_row(r, &self.path))
            .optional()
            .map_err(|e| self.sql(e))?;
        row.transpose()
    }

    fn put(&self, e: &CatalogEntry) -> Result<(), CatalogError> {
        let local_path = e
            .local_path
            .to_str()
            .ok_or_else(|| CatalogError::CorruptRow {
                path: self.path.clone(),
                id: e.id.clone(),
                reason: format!("local path {} is not UTF-8", e.local_path.display()),
            })?;
        let gguf_json = e
            .gguf
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(|err| CatalogError::CorruptRow {
                path: self.path.clone(),
                id: e.id.clone(),
                reason: format!("gguf summary: {err}"),
            })?;
        let oci_json = e
            .oci
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(|err| CatalogError::CorruptRow {
                path: self.path.clone(),
                id: e.id.clone(),
                reason: format!("oci record: {err}"),
            })?;
        let fp = e.fingerprint;
        self.write(|conn| {
        let mut stmt = conn
            .prepare_cached(&format!(
                "INSERT INTO models ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)
                 ON CONFLICT(id) DO UPDATE SET
                   local_path = excluded.local_path, digest = excluded.digest,
                   size_bytes = excluded.size_bytes, fp_size = excluded.fp_size,
                   fp_mtime_ns = excluded.fp_mtime_ns, fp_ctime_ns = excluded.fp_ctime_ns,
                   fp_inode = excluded.fp_inode, fp_device = excluded.fp_device,
                   source_ref = excluded.source_ref, origin = excluded.origin,
                   gguf_json = excluded.gguf_json, verified_at_ms = excluded.verified_at_ms,
                   oci_json = excluded.oci_json,
                   last_used_at_ms = COALESCE(excluded.last_used_at_ms, models.last_used_at_ms)"
            ))
            .map_err(|err| self.sql(err))?;
        stmt.execute(params![
            e.id,
            local_path,
            e.digest.to_string(),
            to_i64(e.size_bytes),
            fp.map(|f| to_i64(f.size)),
            fp.map(|f| f.mtime_ns),
            fp.map(|f| f.ctime_ns),
            fp.map(|f| to_i64(f.inode)),
            fp.map(|f| to_i64(f.device)),
            e.lifecycle.as_str(),
            e.source,
            gguf_json,
            to_i64(e.created_at_ms),
            e.verified_at_ms.map(to_i64),
            e.origin.as_str(),
            e.pinned,
            e.last_used_at_ms.map(to_i64),
            oci_json,
        ])
        .map_err(|err| self.sql(err))
        })?;
        Ok(())
    }

    fn list(&self) -> Result<Vec<CatalogEntry>, CatalogError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM models ORDER BY id"))
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map([], |r| decode_row(r, &self.path))
            .map_err(|e| self.sql(e))?;
        let mut out = Vec::new();
        for row in rows {
            out.push(row.map_err(|e| self.sql(e))??);
        }
        Ok(out)
    }

    fn set_state(&self, id: &str, state: Lifecycle) -> Result<(), CatalogError> {
        self.update_one(
            id,
            "UPDATE models SET lifecycle = ?2 WHERE id = ?1",
            params![id, state.as_str()],
        )
    }

    fn set_verified(
        &self,
        id: &str,
        fp: Option<Fingerprint>,
        verified_at_ms: Option<u64>,
    ) -> Result<(), CatalogError> {
        self.update_one(
            id,
            "UPDATE models SET fp_size = ?2, fp_mtime_ns = ?3, fp_ctime_ns = ?4,
               fp_inode = ?5, fp_device = ?6,
               verified_at_ms = COALESCE(?7, verified_at_ms)
             WHERE id = ?1",
            params![
                id,
                fp.map(|f| to_i64(f.size)),
                fp.map(|f| f.mtime_ns),
                fp.map(|f| f.ctime_ns),
                fp.map(|f| to_i64(f.inode)),
                fp.map(|f| to_i64(f.device)),
                verified_at_ms.map(to_i64),
            ],
        )
    }

    fn set_pinned(&self, id: &str, pinned: bool) -> Result<(), CatalogError> {
        self.update_one(
            id,
            "UPDATE models SET pinned = ?2 WHERE id = ?1",
            params![id, pinned],
        )
    }

    /// The last use is a hint for pruning: while another process holds the
    /// write lock it is not recorded (no wait), so a warm ensure never
    /// waits for a writer.
    fn touch(&self, id: &str, used_at_ms: u64) -> Result<(), CatalogError> {
        let conn = self.conn();
        conn.busy_timeout(Duration::ZERO).map_err(|e| self.sql(e))?;
        let changed = conn.execute(
            "UPDATE models SET last_used_at_ms = MAX(COALESCE(last_used_at_ms, 0), ?2) WHERE id = ?1",
            params![id, to_i64(used_at_ms)],
        );
        let _ = conn.busy_timeout(self.lock_timeout.min(WAIT_NOTICE));
        match changed.map_err(|e| self.sql(e)) {
            Ok(0) => Err(CatalogError::NotFound {
                path: self.path.clone(),
                id: id.to_string(),
            }),
            Ok(_) => Ok(()),
            Err(e) if is_busy(&e) => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn remove(&self, id: &str) -> Result<bool, CatalogError> {
        let changed = self.write(|conn| {
            conn.execute("DELETE FROM models WHERE id = ?1", [id])
                .map_err(|e| self.sql(e))
        })?;
        Ok(changed > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::CatalogStore;

    /// Another connection (as another process would) holding the write lock.
    fn hold_write_lock(path: &Path) -> Connection {
        let other = Connection::open(path).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        other
    }

    #[test]
    fn an_up_to_date_catalog_opens_and_reads_while_another_connection_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.sqlite");
        drop(SqliteCatalog::open(&path).unwrap());
        let _writer = hold_write_lock(&path);
        let cat = SqliteCatalog::open_with_lock_timeout(&path, Duration::from_millis(200)).unwrap();
        assert!(cat.list().unwrap().is_empty());
        assert_eq!(cat.schema_version().unwrap(), SCHEMA_VERSION);
    }

    #[test]
    fn a_write_past_the_lock_timeout_fails_locked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.sqlite");
        let cat = SqliteCatalog::open_with_lock_timeout(&path, Duration::from_millis(200)).unwrap();
        let _writer = hold_write_lock(&path);
        let err = cat.remove("file:/m.gguf").unwrap_err();
        assert!(
            matches!(err, CatalogError::Locked { .. }),
            "a typed lock error: {err}"
        );
        assert_eq!(err.class(), crate::ErrorKind::Locked);
        assert!(
            err.to_string()
                .contains("catalog locked by another process")
        );
    }
}
