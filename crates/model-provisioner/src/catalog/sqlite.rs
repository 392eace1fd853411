//! The catalog in one SQLite file.
//!
//! WAL mode lets readers proceed while one process writes; a busy timeout
//! makes concurrent writers queue instead of failing; every write is a
//! single statement (or an `IMMEDIATE` transaction), so two processes can
//! never deadlock on a lock upgrade or lose each other's rows. A crash
//! mid-write leaves the previous state, never half a catalog.

use super::{CatalogEntry, CatalogStore, Lifecycle, Origin};
use crate::digest::Digest;
use crate::error::CatalogError;
use crate::fingerprint::{Fingerprint, now_ms};
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// The schema version this build writes and understands.
pub const SCHEMA_VERSION: i64 = 3;

/// How long a writer waits for another process's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

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
];

const COLUMNS: &str = "id, local_path, digest, size_bytes, fp_size, fp_mtime_ns, fp_ctime_ns, \
     fp_inode, fp_device, lifecycle, source_ref, gguf_json, created_at_ms, verified_at_ms, origin, \
     pinned, last_used_at_ms";

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
}

impl SqliteCatalog {
    /// Open (creating if needed) the catalog at `path` and bring its schema
    /// up to [`SCHEMA_VERSION`].
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, CatalogError> {
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
        let mut conn = Connection::open(&path).map_err(sql)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(sql)?;
        enable_wal(&conn).map_err(sql)?;
        // In WAL mode NORMAL stays consistent after a crash; only the last
        // commits before a power loss can be lost.
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(sql)?;
        migrate(&mut conn, &path)?;
        Ok(Self {
            path,
            conn: Mutex::new(conn),
        })
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
        current_version(&self.conn(), &self.path)
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
        params: impl rusqlite::Params,
    ) -> Result<(), CatalogError> {
        let changed = self.conn().execute(sql, params).map_err(|e| self.sql(e))?;
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

fn current_version(conn: &Connection, path: &Path) -> Result<i64, CatalogError> {
    conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        [],
        |r| r.get(0),
    )
    .map_err(|source| CatalogError::Sqlite {
        path: path.to_path_buf(),
        source,
    })
}

/// Apply missing migrations in one IMMEDIATE transaction, so two processes
/// opening a fresh catalog at once apply each migration exactly once.
/// Switches the file to WAL. Changing the journal mode needs the file to
/// itself, and while another connection is switching a new file SQLite
/// answers `SQLITE_BUSY` at once, without asking the busy handler; so
/// this waits and retries, up to [`BUSY_TIMEOUT`].
fn enable_wal(conn: &Connection) -> rusqlite::Result<()> {
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
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
    let found = current_version(&tx, path)?;
    if found > SCHEMA_VERSION {
        return Err(CatalogError::SchemaTooNew {
            path: path.to_path_buf(),
            found,
            supported: SCHEMA_VERSION,
        });
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
        let fp = e.fingerprint;
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(&format!(
                "INSERT INTO models ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)
                 ON CONFLICT(id) DO UPDATE SET
                   local_path = excluded.local_path, digest = excluded.digest,
                   size_bytes = excluded.size_bytes, fp_size = excluded.fp_size,
                   fp_mtime_ns = excluded.fp_mtime_ns, fp_ctime_ns = excluded.fp_ctime_ns,
                   fp_inode = excluded.fp_inode, fp_device = excluded.fp_device,
                   source_ref = excluded.source_ref, origin = excluded.origin,
                   gguf_json = excluded.gguf_json, verified_at_ms = excluded.verified_at_ms,
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
        ])
        .map_err(|err| self.sql(err))?;
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
        let changed = self
            .conn()
            .execute(
                "UPDATE models SET lifecycle = ?2 WHERE id = ?1",
                params![id, state.as_str()],
            )
            .map_err(|e| self.sql(e))?;
        if changed == 0 {
            return Err(CatalogError::NotFound {
                path: self.path.clone(),
                id: id.to_string(),
            });
        }
        Ok(())
    }

    fn set_verified(
        &self,
        id: &str,
        fp: Option<Fingerprint>,
        verified_at_ms: Option<u64>,
    ) -> Result<(), CatalogError> {
        let changed = self
            .conn()
            .execute(
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
            .map_err(|e| self.sql(e))?;
        if changed == 0 {
            return Err(CatalogError::NotFound {
                path: self.path.clone(),
                id: id.to_string(),
            });
        }
        Ok(())
    }

    fn set_pinned(&self, id: &str, pinned: bool) -> Result<(), CatalogError> {
        self.update_one(
            id,
            "UPDATE models SET pinned = ?2 WHERE id = ?1",
            params![id, pinned],
        )
    }

    fn touch(&self, id: &str, used_at_ms: u64) -> Result<(), CatalogError> {
        self.update_one(
            id,
            "UPDATE models SET last_used_at_ms = MAX(COALESCE(last_used_at_ms, 0), ?2) WHERE id = ?1",
            params![id, to_i64(used_at_ms)],
        )
    }

    fn remove(&self, id: &str) -> Result<bool, CatalogError> {
        let changed = self
            .conn()
            .execute("DELETE FROM models WHERE id = ?1", [id])
            .map_err(|e| self.sql(e))?;
        Ok(changed > 0)
    }
}
