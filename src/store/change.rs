//! The `snapshot` and `change` tables: the versions of each page and the
//! transitions between them.

use super::db::{Row, args};
use super::{Result, Store, StoreError, ts};
use jiff::Timestamp;

/// A source's stored version, with what is needed to read it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredVersion {
    pub snapshot_id: i64,
    pub seq: i64,
    pub text: String,
    pub title: Option<String>,
}

/// One distinct version of a source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotRow {
    pub id: i64,
    pub source_id: String,
    /// 1, 2, 3… per source.
    pub seq: i64,
    pub hash: String,
    pub at: Timestamp,
}

/// A transition between two versions of a source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeRow {
    pub id: i64,
    pub source_id: String,
    pub from: SnapshotRow,
    pub to: SnapshotRow,
    pub at: Timestamp,
    pub added: i64,
    pub removed: i64,
}

pub(super) const CHANGE_SELECT: &str = "SELECT c.id, c.source_id, c.at, c.added, c.removed,
        f.id, f.seq, f.hash, f.at, t.id, t.seq, t.hash, t.at
     FROM change c JOIN snapshot f ON f.id = c.from_snapshot JOIN snapshot t ON t.id = c.to_snapshot";

pub(super) fn change_row(r: &Row) -> Result<ChangeRow> {
    let source_id: String = r.get(1)?;
    Ok(ChangeRow {
        id: r.get(0)?,
        at: ts(r.get(2)?),
        added: r.get(3)?,
        removed: r.get(4)?,
        from: SnapshotRow {
            id: r.get(5)?,
            source_id: source_id.clone(),
            seq: r.get(6)?,
            hash: r.get(7)?,
            at: ts(r.get(8)?),
        },
        to: SnapshotRow {
            id: r.get(9)?,
            source_id: source_id.clone(),
            seq: r.get(10)?,
            hash: r.get(11)?,
            at: ts(r.get(12)?),
        },
        source_id,
    })
}

/// Columns: id, seq, hash, at.
fn snapshot_row(source_id: &str, r: &Row) -> Result<SnapshotRow> {
    Ok(SnapshotRow {
        id: r.get(0)?,
        source_id: source_id.to_string(),
        seq: r.get(1)?,
        hash: r.get(2)?,
        at: ts(r.get(3)?),
    })
}

impl Store {
    /// The version numbered `seq` of a source.
    pub fn snapshot(&self, source_id: &str, seq: i64) -> Result<SnapshotRow> {
        self.db
            .query_opt(
                "SELECT id, seq, hash, at FROM snapshot WHERE source_id = ?1 AND seq = ?2",
                args![source_id, seq],
                |r| snapshot_row(source_id, r),
            )?
            .ok_or_else(|| {
                StoreError::NotFound(format!("source \"{source_id}\" has no snapshot {seq}"))
            })
    }

    /// Every version of a source, oldest first.
    /// A source's latest version as stored: its id, number, text and the
    /// page title it was read with (None for versions stored before titles
    /// were kept).
    pub fn latest_version(&self, source_id: &str) -> Result<Option<StoredVersion>> {
        let row: Option<(i64, i64, String, Option<String>)> = self.db.query_opt(
            "SELECT id, seq, hash, title FROM snapshot WHERE source_id = ?1 ORDER BY seq DESC LIMIT 1",
            args![source_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )?;
        let Some((id, seq, hash, title)) = row else {
            return Ok(None);
        };
        Ok(Some(StoredVersion {
            snapshot_id: id,
            seq,
            text: self.content(&hash)?,
            title,
        }))
    }

    pub fn snapshots(&self, source_id: &str) -> Result<Vec<SnapshotRow>> {
        self.db.query_map(
            "SELECT id, seq, hash, at FROM snapshot WHERE source_id = ?1 ORDER BY seq",
            args![source_id],
            |r| snapshot_row(source_id, r),
        )
    }

    /// Changes of the given sources within [since, until], oldest first.
    pub fn changes(
        &self,
        source_ids: &[String],
        since: Option<Timestamp>,
        until: Option<Timestamp>,
        limit: Option<usize>,
    ) -> Result<Vec<ChangeRow>> {
        let sql = format!(
            "{CHANGE_SELECT} WHERE c.source_id = ?1 AND c.at >= ?2 AND c.at <= ?3 ORDER BY c.at, c.id LIMIT ?4"
        );
        let mut out = Vec::new();
        for sid in source_ids {
            let rows = self.db.query_map(
                &sql,
                args![
                    sid,
                    since.map(super::ms).unwrap_or(i64::MIN),
                    until.map(super::ms).unwrap_or(i64::MAX),
                    limit.map_or(i64::MAX, |l| l as i64)
                ],
                change_row,
            )?;
            out.extend(rows);
        }
        out.sort_by_key(|c| (c.at, c.id));
        if let Some(l) = limit {
            out.truncate(l);
        }
        Ok(out)
    }

    /// The number (1, 2, 3…) of the snapshot with this id.
    pub fn snapshot_seq(&self, id: i64) -> Result<Option<i64>> {
        self.db
            .query_opt("SELECT seq FROM snapshot WHERE id = ?1", args![id], |r| {
                r.get(0)
            })
    }

    /// One change by id.
    pub fn change(&self, id: i64) -> Result<ChangeRow> {
        self.db
            .query_opt(
                &format!("{CHANGE_SELECT} WHERE c.id = ?1"),
                args![id],
                change_row,
            )?
            .ok_or_else(|| StoreError::NotFound(format!("no change {id}")))
    }

    /// The latest change of a source.
    pub fn latest_change(&self, source_id: &str) -> Result<Option<ChangeRow>> {
        self.db.query_opt(
            &format!(
                "{CHANGE_SELECT} WHERE c.source_id = ?1 ORDER BY c.at DESC, c.id DESC LIMIT 1"
            ),
            args![source_id],
            change_row,
        )
    }

    /// The snapshot of a source that was current at `at`.
    pub fn snapshot_at(&self, source_id: &str, at: Timestamp) -> Result<Option<SnapshotRow>> {
        self.db.query_opt(
            "SELECT id, seq, hash, at FROM snapshot WHERE source_id = ?1 AND at <= ?2
             ORDER BY seq DESC LIMIT 1",
            args![source_id, super::ms(at)],
            |r| snapshot_row(source_id, r),
        )
    }
}
