//! `capwatch migrate-store`: copy a whole database into another — an SQLite
//! file into an empty PostgreSQL database — table by table in dependency
//! order, with the same ids, then compare the row count of every table.
//!
//! In: two open stores (the target migrated and empty). Out: per table, the
//! rows in each; an error when the target was not empty or a count differs.

use super::db::{Dialect, Row, Value};
use super::{Result, Store, StoreError};

/// Every table with data, parents before children. (`instance` is left out:
/// it lists processes, and those of the old database are gone.)
const TABLES: &[&str] = &[
    "guide",
    "capability",
    "source",
    "content",
    "snapshot",
    "\"check\"",
    "change",
    "claim",
    "observation",
    "review",
    "review_baseline",
    "snooze",
    "alert",
    "delivery",
    "delivery_attempt",
    "action_link_use",
    "registry_state",
    "check_tally",
    "row_tally",
];

/// Tables whose `id` PostgreSQL numbers itself: moved past the copied ids.
const IDENTITIES: &[&str] = &[
    "snapshot",
    "\"check\"",
    "change",
    "claim",
    "observation",
    "review",
    "snooze",
    "alert",
    "delivery_attempt",
];

/// Rows read and written per statement.
const PAGE: usize = 500;

/// One table's rows in the source and in the target after the copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCount {
    pub table: String,
    pub source: i64,
    pub target: i64,
}

impl Store {
    /// Copy everything in this database into `to`, which must hold no
    /// sources yet. `progress` hears each table as it is done.
    pub fn copy_to(
        &self,
        to: &mut Store,
        mut progress: impl FnMut(&TableCount),
    ) -> Result<Vec<TableCount>> {
        let existing: i64 = to
            .db
            .query_one("SELECT count(*) FROM source", &[], |r| r.get(0))?;
        if existing > 0 {
            return Err(StoreError::NotFound(format!(
                "{} already holds {existing} source(s); migrate-store copies into an empty database (create a new one, or drop this one's tables)",
                to.label()
            )));
        }
        let mut counts = Vec::new();
        let tx = to.db.begin(true)?;
        // Rows the target's first migration seeded.
        to.db.execute("DELETE FROM row_tally", &[])?;
        for table in TABLES {
            let columns = self.columns(table)?;
            let list = columns.join(", ");
            let keyed = self.db.dialect() == Dialect::Sqlite && self.has_rowid(table)?;
            let mut last_rowid = i64::MIN;
            let mut offset = 0usize;
            loop {
                let rows: Vec<Row> = if keyed {
                    self.db.query(
                        &format!(
                            "SELECT rowid, {list} FROM {table} WHERE rowid > ?1 ORDER BY rowid LIMIT {PAGE}"
                        ),
                        &[Value::Int(last_rowid)],
                    )?
                } else {
                    self.db.query(
                        &format!(
                            "SELECT 0, {list} FROM {table} ORDER BY 2 LIMIT {PAGE} OFFSET {offset}"
                        ),
                        &[],
                    )?
                };
                if rows.is_empty() {
                    break;
                }
                offset += rows.len();
                let mut params = Vec::with_capacity(rows.len() * columns.len());
                let mut groups = Vec::with_capacity(rows.len());
                for r in &rows {
                    last_rowid = r.get::<i64>(0)?;
                    let start = params.len();
                    for i in 0..columns.len() {
                        params.push(r.value(i + 1).clone());
                    }
                    groups.push(format!(
                        "({})",
                        (start + 1..=params.len())
                            .map(|n| format!("?{n}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
                to.db.execute(
                    &format!("INSERT INTO {table} ({list}) VALUES {}", groups.join(", ")),
                    &params,
                )?;
                if rows.len() < PAGE {
                    break;
                }
            }
            let count = |s: &Store| -> Result<i64> {
                s.db.query_one(&format!("SELECT count(*) FROM {table}"), &[], |r| r.get(0))
            };
            let c = TableCount {
                table: table.trim_matches('"').to_string(),
                source: count(self)?,
                target: count(to)?,
            };
            progress(&c);
            counts.push(c);
        }
        if to.db.dialect() == Dialect::Postgres {
            for table in IDENTITIES {
                to.db.query_one(
                    &format!(
                        "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT coalesce(max(id), 0) + 1 FROM {table}), false)::text"
                    ),
                    &[],
                    |_| Ok(()),
                )?;
            }
        }
        if let Some(bad) = counts.iter().find(|c| c.source != c.target) {
            return Err(StoreError::NotFound(format!(
                "table {} has {} rows in the source but {} in the copy; nothing was committed",
                bad.table, bad.source, bad.target
            )));
        }
        tx.commit()?;
        Ok(counts)
    }

    /// The columns of `table`, in order (SQLite's or PostgreSQL's catalogue).
    fn columns(&self, table: &str) -> Result<Vec<String>> {
        let bare = table.trim_matches('"');
        let names: Vec<String> = match self.db.dialect() {
            Dialect::Sqlite => self.db.query_map(
                &format!("SELECT name FROM pragma_table_info('{bare}') ORDER BY cid"),
                &[],
                |r| r.get(0),
            )?,
            Dialect::Postgres => self.db.query_map(
                "SELECT column_name::text FROM information_schema.columns
                 WHERE table_schema = current_schema() AND table_name = ?1 ORDER BY ordinal_position",
                &[Value::Text(bare.to_string())],
                |r| r.get(0),
            )?,
        };
        Ok(names.into_iter().map(|n| format!("\"{n}\"")).collect())
    }

    fn has_rowid(&self, table: &str) -> Result<bool> {
        let bare = table.trim_matches('"');
        let sql: String = self.db.query_one(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?1",
            &[Value::Text(bare.to_string())],
            |r| r.get(0),
        )?;
        Ok(!sql.to_ascii_uppercase().contains("WITHOUT ROWID"))
    }
}
