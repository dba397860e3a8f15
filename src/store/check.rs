//! The `check` table and the write that follows every fetch: the check row,
//! and — when the text is new — its content, a snapshot and a change, all in
//! one transaction so a crash never leaves half a version.

use super::db::{Row, args};
use super::{Result, Store, ms, ts};
use crate::diff;
use crate::model::Outcome;
use jiff::Timestamp;

/// One finished fetch, ready to save.
#[derive(Debug, Clone)]
pub struct CheckInput<'a> {
    pub source_id: &'a str,
    pub at: Timestamp,
    pub outcome: Outcome,
    pub http_status: Option<u16>,
    pub duration_ms: u64,
    /// The normalised text and its hash, when the outcome is `Ok`.
    pub content: Option<(&'a str, &'a str)>,
    /// The page title, kept with a new snapshot so it can be re-read.
    pub title: Option<&'a str>,
    /// The text already compressed with [`pack`](super::pack), if the caller
    /// did that off the writing thread; else the store compresses it.
    pub packed: Option<&'a [u8]>,
    /// New ETag / Last-Modified to remember (only from a 200).
    pub validators: Option<(Option<&'a str>, Option<&'a str>)>,
}

/// What saving a check did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckRecord {
    pub check_id: i64,
    /// The snapshot current after this check (None if the source was never read).
    pub snapshot_id: Option<i64>,
    pub snapshot_seq: Option<i64>,
    /// The first version of this source: a baseline, not a change.
    pub baseline: bool,
    /// The change this check found, if the text differs from the last version.
    pub change_id: Option<i64>,
    /// Consecutive failures after this check.
    pub failures: u32,
}

/// A saved check, for history and the HTTP surface.
#[derive(Debug, Clone)]
pub struct CheckRow {
    pub id: i64,
    pub source_id: String,
    pub at: Timestamp,
    pub outcome: Outcome,
    pub http_status: Option<u16>,
    pub duration_ms: i64,
}

/// Identical failed checks in a row, as one history event.
#[derive(Debug, Clone, PartialEq)]
pub struct FailureRun {
    pub source_id: String,
    pub first: Timestamp,
    pub last: Timestamp,
    pub count: u32,
    pub outcome: Outcome,
}

/// Columns: id, source_id, at, outcome, detail, http_status, duration_ms.
fn check_row(r: &Row) -> Result<CheckRow> {
    let kind: String = r.get(3)?;
    let detail: Option<String> = r.get(4)?;
    Ok(CheckRow {
        id: r.get(0)?,
        source_id: r.get(1)?,
        at: ts(r.get(2)?),
        outcome: Outcome::from_parts(&kind, detail.as_deref()),
        http_status: r.get(5)?,
        duration_ms: r.get(6)?,
    })
}

impl Store {
    pub fn record_check(&mut self, input: &CheckInput<'_>) -> Result<CheckRecord> {
        // A savepoint: atomic on its own, and nests inside `Store::batch`.
        let tx = self.db.begin(true)?;
        let db = &self.db;
        let current = self.current_snapshot(input.source_id)?;
        let at = ms(input.at);
        let mut record = CheckRecord {
            check_id: 0,
            snapshot_id: current.as_ref().map(|c| c.0),
            snapshot_seq: current.as_ref().map(|c| c.1),
            baseline: false,
            change_id: None,
            failures: 0,
        };

        match (&input.outcome, input.content) {
            (Outcome::Ok, Some((text, hash))) => {
                if current.as_ref().map(|c| c.2.as_str()) != Some(hash) {
                    super::content::insert(db, hash, text, input.packed)?;
                    let seq = current.as_ref().map(|c| c.1 + 1).unwrap_or(1);
                    let snap = db.insert_id(
                        "INSERT INTO snapshot (source_id, seq, hash, at, title) VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
                        args![input.source_id, seq, hash, at, input.title],
                    )?;
                    self.tally.row("snapshot");
                    match &current {
                        None => record.baseline = true,
                        Some((prev_id, _, prev_hash)) => {
                            let old = super::content::read(db, prev_hash)?.unwrap_or_default();
                            let (added, removed) = diff::line_counts(&old, text);
                            record.change_id = Some(db.insert_id(
                                "INSERT INTO change (source_id, from_snapshot, to_snapshot, at, added, removed)
                                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
                                args![input.source_id, *prev_id, snap, at, added, removed],
                            )?);
                            self.tally.row("change");
                        }
                    }
                    record.snapshot_id = Some(snap);
                    record.snapshot_seq = Some(seq);
                }
                let (etag, last_modified) = input.validators.unwrap_or((None, None));
                db.execute(
                    "UPDATE source SET failures = 0, etag = ?2, last_modified = ?3 WHERE id = ?1",
                    args![input.source_id, etag, last_modified],
                )?;
            }
            (Outcome::NotModified, _) => {
                db.execute(
                    "UPDATE source SET failures = 0 WHERE id = ?1",
                    args![input.source_id],
                )?;
            }
            _ => {
                db.execute(
                    "UPDATE source SET failures = failures + 1 WHERE id = ?1",
                    args![input.source_id],
                )?;
            }
        }
        record.failures = db.query_one(
            "SELECT failures FROM source WHERE id = ?1",
            args![input.source_id],
            |r| r.get(0),
        )?;
        let snapshot_for_check = if input.outcome.is_success() {
            record.snapshot_id
        } else {
            None
        };
        record.check_id = db.insert_id(
            "INSERT INTO \"check\" (source_id, at, outcome, detail, http_status, duration_ms, snapshot_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id",
            args![
                input.source_id,
                at,
                input.outcome.kind(),
                input.outcome.detail(),
                input.http_status,
                input.duration_ms as i64,
                snapshot_for_check
            ],
        )?;
        self.tally
            .check(input.outcome.kind(), input.duration_ms as i64);
        self.commit(tx)?;
        Ok(record)
    }

    /// Checks of a source (or of all sources of a capability when `source_id`
    /// is None and `capability_id` is given), oldest first, within [since, until].
    pub fn checks(
        &self,
        source_ids: &[String],
        since: Option<Timestamp>,
        until: Option<Timestamp>,
        failed_only: bool,
    ) -> Result<Vec<CheckRow>> {
        let mut out = Vec::new();
        for sid in source_ids {
            let rows = self.db.query_map(
                "SELECT id, source_id, at, outcome, detail, http_status, duration_ms FROM \"check\"
                 WHERE source_id = ?1 AND at >= ?2 AND at <= ?3
                   AND (?4 = 0 OR outcome NOT IN ('ok', 'not_modified'))
                 ORDER BY at, id",
                args![
                    sid,
                    since.map(ms).unwrap_or(i64::MIN),
                    until.map(ms).unwrap_or(i64::MAX),
                    failed_only as i64
                ],
                check_row,
            )?;
            out.extend(rows);
        }
        out.sort_by_key(|c| (c.at, c.id));
        Ok(out)
    }

    /// Runs of identical failed checks of `source_ids` that start at or
    /// after `from` and by `until`, oldest first, at most `limit` — without
    /// reading the successful checks between them: each run costs a few
    /// index lookups (its previous check, its end, its length), so a page of
    /// a long history reads a page's worth of rows. A run is counted from
    /// its first failure; one that began before `from` is not repeated.
    pub fn failure_runs(
        &self,
        source_ids: &[String],
        from: Option<Timestamp>,
        until: Option<Timestamp>,
        limit: usize,
    ) -> Result<Vec<FailureRun>> {
        let same_detail = match self.db.dialect() {
            super::db::Dialect::Sqlite => "detail IS ?4",
            super::db::Dialect::Postgres => "detail IS NOT DISTINCT FROM ?4",
        };
        let until = until.map(ms).unwrap_or(i64::MAX);
        let mut runs = Vec::new();
        for sid in source_ids {
            let mut cursor = (from.map(ms).unwrap_or(i64::MIN), i64::MIN);
            let mut mine = 0;
            while mine < limit {
                // The next failed check after the cursor.
                let Some(first) = self.db.query_opt(
                    "SELECT id, source_id, at, outcome, detail, http_status, duration_ms FROM \"check\"
                     WHERE source_id = ?1 AND (at > ?2 OR (at = ?2 AND id > ?3)) AND at <= ?4
                       AND outcome NOT IN ('ok', 'not_modified')
                     ORDER BY at, id LIMIT 1",
                    args![sid, cursor.0, cursor.1, until],
                    check_row,
                )?
                else {
                    break;
                };
                let raw: (String, Option<String>) = self.db.query_one(
                    "SELECT outcome, detail FROM \"check\" WHERE id = ?1",
                    args![first.id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?;
                // Where the run ends: the first later check that differs.
                let end: Option<(i64, i64)> = self.db.query_opt(
                    &format!(
                        "SELECT at, id FROM \"check\" WHERE source_id = ?1 AND (at > ?2 OR (at = ?2 AND id > ?5))
                           AND NOT (outcome = ?3 AND {same_detail})
                         ORDER BY at, id LIMIT 1"
                    ),
                    args![sid, ms(first.at), raw.0.as_str(), raw.1.as_deref(), first.id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?;
                // Did it start before this failure (a run already counted)?
                let prev: Option<(String, Option<String>)> = self.db.query_opt(
                    "SELECT outcome, detail FROM \"check\" WHERE source_id = ?1 AND (at < ?2 OR (at = ?2 AND id < ?3))
                     ORDER BY at DESC, id DESC LIMIT 1",
                    args![sid, ms(first.at), first.id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?;
                let continues = from.is_some() && prev.as_ref() == Some(&raw);
                let (end_at, end_id) = end.unwrap_or((i64::MAX, i64::MAX));
                let (count, last): (i64, Option<i64>) = self.db.query_one(
                    "SELECT count(*), max(at) FROM \"check\" WHERE source_id = ?1
                       AND (at > ?2 OR (at = ?2 AND id >= ?3)) AND (at < ?4 OR (at = ?4 AND id < ?5))",
                    args![sid, ms(first.at), first.id, end_at, end_id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?;
                if !continues {
                    mine += 1;
                    runs.push(FailureRun {
                        source_id: sid.clone(),
                        first: first.at,
                        last: last.map(ts).unwrap_or(first.at),
                        count: count as u32,
                        outcome: first.outcome.clone(),
                    });
                }
                if end.is_none() {
                    break;
                }
                cursor = (end_at, end_id - 1);
            }
        }
        runs.sort_by_key(|r| r.first);
        runs.truncate(limit);
        Ok(runs)
    }

    /// The most recent check of a source, if any.
    pub fn last_check(&self, source_id: &str) -> Result<Option<CheckRow>> {
        self.db.query_opt(
            "SELECT id, source_id, at, outcome, detail, http_status, duration_ms FROM \"check\"
             WHERE source_id = ?1 ORDER BY at DESC, id DESC LIMIT 1",
            args![source_id],
            check_row,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> Store {
        crate::store::test_store()
    }

    fn ok<'a>(text: &'a str, hash: &'a str, t: i64) -> CheckInput<'a> {
        CheckInput {
            source_id: "c",
            at: ts(t),
            outcome: Outcome::Ok,
            http_status: Some(200),
            duration_ms: 5,
            content: Some((text, hash)),
            packed: None,
            title: None,
            validators: Some((Some("\"e1\""), None)),
        }
    }

    fn count(s: &Store, table: &str) -> i64 {
        s.db.query_one(&format!("SELECT count(*) FROM \"{table}\""), args![], |r| {
            r.get(0)
        })
        .unwrap()
    }

    #[test]
    fn first_is_baseline_then_only_changes_store_content() {
        let mut s = store();
        let r1 = s.record_check(&ok("a\nb\n", "h1", 1)).unwrap();
        assert!(r1.baseline && r1.change_id.is_none());
        let r2 = s.record_check(&ok("a\nb\n", "h1", 2)).unwrap();
        assert_eq!(r2.snapshot_id, r1.snapshot_id);
        assert!(!r2.baseline && r2.change_id.is_none());
        assert_eq!((count(&s, "content"), count(&s, "snapshot")), (1, 1));
        let r3 = s.record_check(&ok("a\nc\n", "h2", 3)).unwrap();
        assert_eq!(r3.snapshot_seq, Some(2));
        assert!(r3.change_id.is_some());
        // Reverting to the first text makes a new version but reuses its content.
        let r4 = s.record_check(&ok("a\nb\n", "h1", 4)).unwrap();
        assert_eq!(r4.snapshot_seq, Some(3));
        assert_eq!((count(&s, "content"), count(&s, "snapshot")), (2, 3));
        assert_eq!(s.source_state("c").unwrap().etag.as_deref(), Some("\"e1\""));
    }

    #[test]
    fn failures_count_up_and_store_nothing() {
        let mut s = store();
        for t in 0..3 {
            let r = s
                .record_check(&CheckInput {
                    source_id: "c",
                    at: ts(t),
                    outcome: Outcome::Http(500),
                    http_status: Some(500),
                    duration_ms: 1,
                    content: None,
                    packed: None,
                    title: None,
                    validators: None,
                })
                .unwrap();
            assert_eq!(r.failures, t as u32 + 1);
            assert!(r.snapshot_id.is_none());
        }
        assert_eq!(count(&s, "content"), 0);
        let r = s.record_check(&ok("x", "h", 9)).unwrap();
        assert_eq!(r.failures, 0);
        assert!(r.baseline);
    }
}
