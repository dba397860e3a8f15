//! Store stage: the database that keeps everything capwatch has seen — an
//! SQLite file (the default: one daemon, nothing to run) or a PostgreSQL
//! server shared by several daemons and HTTP servers.
//!
//! In: the registry (synced on open), check results, observations, reviews,
//! alerts. Out: typed rows for every reader (`status`, `history`, `diff`, the
//! HTTP surface). SQL lives in `migrations/NNNN_name/up.sql` (SQLite) and
//! `migrations/postgres/NNNN_name/up.sql`; [`db`] runs one dialect-neutral
//! statement on either. One file per table or aggregate; `shared.rs` holds
//! what several instances on one PostgreSQL coordinate with (leases,
//! claimed deliveries, the registry fingerprint, the evaluation lock).

mod alert;
mod change;
mod check;
mod claim;
mod content;
mod copy;
pub mod db;
mod facts;
pub mod metrics;
mod observation;
mod pgmigrate;
mod registry;
mod review;
mod shared;
mod source;

pub use alert::{AlertRow, AttemptRow, DeliveryRow, NewAlert};
pub use change::{ChangeRow, SnapshotRow, StoredVersion};
pub use check::{CheckInput, CheckRecord, CheckRow, FailureRun};
pub use claim::{ClaimRow, FROM_GUIDE, FROM_REGISTRY};
pub use content::pack;
pub use copy::TableCount;
pub use observation::{NewObservation, ObservationRow, StoredEvidence};
pub use registry::guide_source_id;
pub use review::{ReviewRow, SnoozeRow, Subject};
pub use shared::{Fingerprints, InstanceRow, Lease};
pub use source::SourceState;

use db::{Db, Dialect, args};

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
        M::up(include_str!("../../migrations/0010_shared_work/up.sql")),
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
    #[error("cannot bring database {url} up to date: {message}")]
    PgMigrate { url: String, message: String },
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("PostgreSQL: {0}")]
    Postgres(String),
    #[error("database row: {0}")]
    Column(String),
    #[error("{0}")]
    NotFound(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// An open database. Not shared between threads; open one per task that needs it
/// (SQLite in WAL mode lets readers run beside the single writer; PostgreSQL
/// gives each its own session).
pub struct Store {
    db: Db,
    path: PathBuf,
    /// This connection's id in leases and claims (see `shared.rs`).
    owner: String,
    tally: shared::Tally,
}

impl Store {
    /// Open (creating if needed) and migrate the database at `path`: an
    /// SQLite file, or a PostgreSQL server when `path` is a `postgres://` URL.
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(url) = postgres_url(path) {
            let db = Db::postgres(url, false).map_err(|e| open_error(path, e))?;
            pgmigrate::to_latest(&db, &db::redact(url))?;
            return Ok(Store::with(db, path));
        }
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
        if let Some(url) = postgres_url(path) {
            let db = Db::postgres(url, true).map_err(|e| open_error(path, e))?;
            pgmigrate::check_not_newer(&db, &db::redact(url))?;
            return Ok(Store::with(db, path));
        }
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
        Ok(Store::with(Db::sqlite(conn), path))
    }

    fn with(db: Db, path: &Path) -> Store {
        Store {
            db,
            path: path.to_path_buf(),
            owner: shared::new_instance_id(),
            tally: Default::default(),
        }
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
        Ok(Store::with(Db::sqlite(conn), path))
    }

    /// The database as given: a file path, or a URL (shown with
    /// [`Store::label`], which hides a password).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The database as it may be shown and logged.
    pub fn label(&self) -> String {
        label(&self.path)
    }

    pub fn dialect(&self) -> Dialect {
        self.db.dialect()
    }

    /// Does this database take several daemons (PostgreSQL)?
    pub fn is_shared(&self) -> bool {
        self.db.dialect() == Dialect::Postgres
    }

    /// Run `f` inside one transaction, so its writes are committed together
    /// (one WAL commit instead of one per statement), or rolled back when `f`
    /// fails. Methods that need their own atomicity (`record_check`) use
    /// savepoints, which nest inside. Called inside a transaction, `f` just runs.
    pub fn batch<T, E: From<StoreError>>(
        &mut self,
        f: impl FnOnce(&mut Store) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        if self.db.in_transaction() {
            return f(self);
        }
        self.db.batch_execute(match self.db.dialect() {
            Dialect::Sqlite => "BEGIN IMMEDIATE",
            Dialect::Postgres => "BEGIN",
        })?;
        self.db.set_depth(1);
        let result = f(self).and_then(|v| {
            self.flush_tally()?;
            Ok(v)
        });
        self.db.set_depth(0);
        match result {
            Ok(v) => match self.db.batch_execute("COMMIT") {
                Ok(()) => Ok(v),
                Err(e) => {
                    self.discard_tally();
                    let _ = self.db.batch_execute("ROLLBACK");
                    Err(e.into())
                }
            },
            Err(e) => {
                self.discard_tally();
                let _ = self.db.batch_execute("ROLLBACK");
                Err(e)
            }
        }
    }

    /// `PRAGMA integrity_check` on SQLite, a round trip on PostgreSQL: "ok"
    /// when the database is sound.
    pub fn integrity_check(&self) -> Result<String> {
        match self.db.dialect() {
            Dialect::Sqlite => self
                .db
                .query_one("PRAGMA integrity_check", args![], |r| r.get(0)),
            Dialect::Postgres => {
                self.db
                    .query_one("SELECT 1", args![], |r| r.get::<i64>(0))?;
                Ok("ok".into())
            }
        }
    }
}

/// The PostgreSQL URL `path` holds, if it is one.
pub fn postgres_url(path: &Path) -> Option<&str> {
    path.to_str().filter(|s| db::is_postgres_url(s))
}

/// A database setting as it may be shown: a path as is, a URL without its
/// password.
pub fn label(path: &Path) -> String {
    match postgres_url(path) {
        Some(url) => db::redact(url),
        None => path.display().to_string(),
    }
}

fn open_error(path: &Path, e: StoreError) -> StoreError {
    StoreError::Postgres(format!(
        "cannot connect to {}: {}; check the URL (settings.database or CAPWATCH_DB) and that the server is running",
        label(path),
        e.to_string().trim_start_matches("PostgreSQL: ")
    ))
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
        assert!(ro.db.execute("DELETE FROM source", args![]).is_err());
    }

    #[test]
    fn opens_a_file_in_wal_mode() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("nested/c.db")).unwrap();
        let mode: String = store
            .db
            .query_one("PRAGMA journal_mode", args![], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        assert_eq!(store.integrity_check().unwrap(), "ok");
    }
}
