//! Store stage: the SQLite file that keeps everything capwatch has seen.
//!
//! In: the registry (synced on open), check results, observations, reviews,
//! alerts. Out: typed rows for every reader (`status`, `history`, `diff`, the
//! HTTP surface). SQL lives in `migrations/NNNN_name/up.sql`; PRAGMAs are set
//! per connection here. One file per table or aggregate.

mod alert;
mod change;
mod check;
mod claim;
mod content;
mod facts;
pub mod metrics;
mod observation;
mod registry;
mod review;
mod source;

pub use alert::{AlertRow, AttemptRow, DeliveryRow, NewAlert};
pub use change::{ChangeRow, SnapshotRow, StoredVersion};
pub use check::{CheckInput, CheckRecord, CheckRow};
pub use claim::{ClaimRow, FROM_GUIDE, FROM_REGISTRY};
pub use content::pack;
pub use observation::{NewObservation, ObservationRow, StoredEvidence};
pub use registry::guide_source_id;
pub use review::{ReviewRow, SnoozeRow, Subject};
pub use source::SourceState;

use jiff::Timestamp;
use rusqlite::Connection;
use rusqlite_migration::{M, Migrations};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::time::Duration;

/// The migrations, in order; the database's `user_version` counts those applied.
static MIGRATION_LIST: LazyLock<Vec<M<'static>>> = LazyLock::new(|| {
    vec![
        M::up(include_str!("../../migrations/0001_watch/up.sql")),
        M::up(include_str!("../../migrations/0002_status/up.sql")),
        M::up(include_str!("../../migrations/0003_reviews_alerts/up.sql")),
        M::up(include_str!(
            "../../migrations/0004_observation_by_source/up.sql"
        )),
        M::up(include_str!("../../migrations/0005_delivery_batch/up.sql")),
        M::up(include_str!("../../migrations/0006_packed_content/up.sql")),
        M::up(include_str!("../../migrations/0007_reread/up.sql")),
        M::up(include_str!("../../migrations/0008_guide_claims/up.sql")),
        M::up(include_str!("../../migrations/0009_channels/up.sql")),
    ]
});

static MIGRATIONS: LazyLock<Migrations<'static>> =
    LazyLock::new(|| Migrations::new(MIGRATION_LIST.clone()));

/// The schema version this capwatch writes (the number of migrations).
pub fn schema_version() -> usize {
    MIGRATION_LIST.len()
}

/// Errors from the database itself (not outcomes of checks).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "cannot open database {path}: {source}; check the path (settings.database or CAPWATCH_DB) and its folder's permissions"
    )]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("cannot bring database {path} up to date: {source}")]
    Migrate {
        path: PathBuf,
        source: rusqlite_migration::Error,
    },
    #[error("database {path} has schema {found}, this capwatch knows {known}: upgrade capwatch")]
    TooNew {
        path: PathBuf,
        found: i64,
        known: usize,
    },
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("{0}")]
    NotFound(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// An open database. Not shared between threads; open one per task that needs it
/// (SQLite in WAL mode lets readers run beside the single writer).
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Open (creating if needed) and migrate the database at `path`.
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            let _ = std::fs::create_dir_all(dir);
        }
        let conn = Connection::open(path).map_err(|source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        Self::setup(conn, path)
    }

    /// Open an existing database for reading only (the HTTP surface): no
    /// migrations, no writes, and in WAL mode it never blocks the writer.
    pub fn open_read_only(path: &Path) -> Result<Store> {
        use rusqlite::OpenFlags;
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        )
        .map_err(|source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.pragma_update(None, "query_only", "ON")?;
        check_not_newer(&conn, path)?;
        Ok(Store {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// A private in-memory database, for tests.
    pub fn open_in_memory() -> Result<Store> {
        Self::setup(Connection::open_in_memory()?, Path::new(":memory:"))
    }

    fn setup(mut conn: Connection, path: &Path) -> Result<Store> {
        conn.busy_timeout(Duration::from_secs(10))?;
        // Room for every statement a check cycle repeats per source.
        conn.set_prepared_statement_cache_capacity(64);
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // 1 MiB of page cache instead of SQLite's 2 MB: a check cycle writes
        // more than it reads back, and the OS caches the file anyway.
        conn.pragma_update(None, "cache_size", -1024)?;
        check_not_newer(&conn, path)?;
        MIGRATIONS
            .to_latest(&mut conn)
            .map_err(|source| StoreError::Migrate {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(Store {
            conn,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Run `f` inside one transaction, so its writes are committed together
    /// (one WAL commit instead of one per statement), or rolled back when `f`
    /// fails. Methods that need their own atomicity (`record_check`) use
    /// savepoints, which nest inside. Called inside a transaction, `f` just runs.
    pub fn batch<T, E: From<StoreError>>(
        &mut self,
        f: impl FnOnce(&mut Store) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        if !self.conn.is_autocommit() {
            return f(self);
        }
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(StoreError::from)?;
        match f(self) {
            Ok(v) => {
                self.conn
                    .execute_batch("COMMIT")
                    .map_err(StoreError::from)?;
                Ok(v)
            }
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }

    /// `PRAGMA integrity_check`: "ok" when the file is sound.
    pub fn integrity_check(&self) -> Result<String> {
        Ok(self
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))?)
    }
}

/// A database written by a newer capwatch: say so in one line instead of
/// letting the migration library fail on it.
fn check_not_newer(conn: &Connection, path: &Path) -> Result<()> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let known = schema_version();
    if found > known as i64 {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found,
            known,
        });
    }
    Ok(())
}

/// Milliseconds since the Unix epoch, as stored.
pub(crate) fn ms(t: Timestamp) -> i64 {
    t.as_millisecond()
}

/// A stored time back to a timestamp.
pub(crate) fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// An in-memory store with one guide, one capability "c" and one source "c",
/// for unit tests of the store's files.
#[cfg(test)]
pub(crate) fn test_store() -> Store {
    let reg = crate::config::parse(
        Path::new("/r/s.toml"),
        r#"
[[guide]]
id = "g"
title = "G"
owners = ["o@example.com"]
[[capability]]
id = "c"
guide = "g"
name = "C"
claim = { stage = "beta" }
  [[capability.source]]
  url = "https://example.com/"
"#,
    )
    .expect("test registry is valid");
    let mut s = Store::open_in_memory().expect("in-memory database");
    s.sync_registry(&reg, Timestamp::UNIX_EPOCH).expect("sync");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid() {
        MIGRATIONS.validate().unwrap();
    }

    #[test]
    fn a_database_from_a_newer_capwatch_says_so_in_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        drop(Store::open(&path).unwrap());
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", 99)
            .unwrap();
        for err in [
            Store::open(&path).err().unwrap(),
            Store::open_read_only(&path).err().unwrap(),
        ] {
            let msg = err.to_string();
            assert_eq!(
                msg,
                format!(
                    "database {} has schema 99, this capwatch knows {}: upgrade capwatch",
                    path.display(),
                    schema_version()
                )
            );
            assert_eq!(msg.lines().count(), 1);
        }
    }

    #[test]
    fn read_only_handle_reads_and_refuses_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        drop(Store::open(&path).unwrap());
        let ro = Store::open_read_only(&path).unwrap();
        assert_eq!(ro.integrity_check().unwrap(), "ok");
        assert!(ro.conn.execute("DELETE FROM source", []).is_err());
    }

    #[test]
    fn opens_a_file_in_wal_mode() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("nested/c.db")).unwrap();
        let mode: String = store
            .conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        assert_eq!(store.integrity_check().unwrap(), "ok");
    }
}
