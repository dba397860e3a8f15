//! Migrations on PostgreSQL: the files under `migrations/postgres/`, applied
//! in order, each in its own transaction, with the number applied kept in
//! `capwatch_schema`. A session-level advisory lock serialises instances
//! that start together: the second waits, then finds nothing left to do.
//! (SQLite's migrations run through `rusqlite_migration` in `mod.rs`; the
//! one writer there needs no lock.)

use super::db::{Db, args};
use super::{Result, StoreError};

/// The PostgreSQL schema, in order. Keep in step with the SQLite list: the
/// first file is the SQLite schema as of its migration 0010.
const MIGRATIONS: &[(&str, &str)] = &[(
    "0001_schema",
    include_str!("../../migrations/postgres/0001_schema/up.sql"),
)];

/// The advisory lock key migrations take ("capwatch" as bytes, truncated).
const MIGRATION_LOCK: i64 = 0x6361_7077_6174_6368;

fn applied(db: &Db) -> Result<i64> {
    db.query_one(
        "SELECT coalesce(max(version), 0) FROM capwatch_schema",
        args![],
        |r| r.get(0),
    )
}

/// Bring the database at `label` (a URL without password) up to date.
pub(super) fn to_latest(db: &Db, label: &str) -> Result<()> {
    let fail = |e: StoreError| StoreError::PgMigrate {
        url: label.to_string(),
        message: e.to_string(),
    };
    db.query_one(
        "SELECT pg_advisory_lock(?1)::text",
        args![MIGRATION_LOCK],
        |_| Ok(()),
    )
    .map_err(fail)?;
    let result = (|| {
        db.batch_execute(
            "CREATE TABLE IF NOT EXISTS capwatch_schema (version BIGINT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
        )?;
        let found = applied(db)?;
        if found > MIGRATIONS.len() as i64 {
            return Err(StoreError::PgMigrate {
                url: label.to_string(),
                message: format!(
                    "it has schema {found}, this capwatch knows {}: upgrade capwatch",
                    MIGRATIONS.len()
                ),
            });
        }
        for (i, (name, sql)) in MIGRATIONS.iter().enumerate().skip(found as usize) {
            let tx = db.begin(true)?;
            db.batch_execute(sql).map_err(|e| StoreError::PgMigrate {
                url: label.to_string(),
                message: format!("migration {name}: {e}"),
            })?;
            db.execute(
                "INSERT INTO capwatch_schema (version) VALUES (?1)",
                args![i as i64 + 1],
            )?;
            tx.commit()?;
        }
        Ok(())
    })();
    let _ = db.query_one(
        "SELECT pg_advisory_unlock(?1)::text",
        args![MIGRATION_LOCK],
        |_| Ok(()),
    );
    result.map_err(|e| match e {
        e @ StoreError::PgMigrate { .. } => e,
        e => fail(e),
    })
}

/// A read-only session: refuse a schema newer than this capwatch knows, and
/// one not made yet (nothing to read).
pub(super) fn check_not_newer(db: &Db, label: &str) -> Result<()> {
    let found = applied(db).map_err(|_| StoreError::PgMigrate {
        url: label.to_string(),
        message:
            "it has no capwatch schema yet: run `capwatch check` or `capwatch run` once against it"
                .into(),
    })?;
    if found > MIGRATIONS.len() as i64 {
        return Err(StoreError::PgMigrate {
            url: label.to_string(),
            message: format!(
                "it has schema {found}, this capwatch knows {}: upgrade capwatch",
                MIGRATIONS.len()
            ),
        });
    }
    Ok(())
}
