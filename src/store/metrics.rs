//! Read-only aggregate queries for the HTTP surface: counters and histograms
//! for `/metrics`, a liveness probe, and the latest changes, observations and
//! alerts for the Atom feed (newest first, bounded, using the indexes).

use super::change::{CHANGE_SELECT, change_row};
use super::observation::{SELECT as OBSERVATION_SELECT, row as observation_row};
use super::{ChangeRow, ObservationRow, Result, Store, ts};
use jiff::Timestamp;
use rusqlite::params;

/// Fetch durations as a cumulative histogram.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DurationHistogram {
    /// Checks that took at most each bound, in the order of the bounds given.
    pub cumulative: Vec<i64>,
    pub count: i64,
    pub sum_ms: i64,
}

/// Checks counted by outcome, and their durations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckSummary {
    pub by_outcome: Vec<(String, i64)>,
    pub durations: DurationHistogram,
}

impl Store {
    /// Run `f` inside one read transaction: every query sees the same
    /// version of the database (a page never mixes before and after a
    /// check), and the many small queries of a page skip taking the WAL read
    /// lock one by one. Readers never block the writer in WAL mode.
    pub fn read_consistent<T, E>(
        &self,
        f: impl FnOnce(&Store) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E>
    where
        E: From<super::StoreError>,
    {
        struct End<'a>(&'a rusqlite::Connection);
        impl Drop for End<'_> {
            fn drop(&mut self) {
                let _ = self.0.execute_batch("COMMIT");
            }
        }
        self.conn
            .execute_batch("BEGIN DEFERRED")
            .map_err(|e| E::from(e.into()))?;
        let _end = End(&self.conn);
        f(self)
    }

    /// True while a transaction is open on this connection (a pooled
    /// connection must not keep one: it would pin an old version of the WAL).
    pub fn in_transaction(&self) -> bool {
        !self.conn.is_autocommit()
    }

    /// A cheap query that fails when the file is not a capwatch database.
    pub fn ping(&self) -> Result<()> {
        self.conn
            .query_row("SELECT count(*) FROM source", [], |r| r.get::<_, i64>(0))?;
        Ok(())
    }

    /// Checks per outcome kind (`ok`, `not_modified`, `http_error`,
    /// `network`…) and how long they took, bucketed at `bounds_ms`
    /// (ascending): one pass over the table.
    pub fn check_summary(&self, bounds_ms: &[i64]) -> Result<CheckSummary> {
        let mut sql = String::from("SELECT outcome, count(*), sum(duration_ms)");
        for b in bounds_ms {
            // Bounds are integers from code, never from a request.
            sql.push_str(&format!(", sum(duration_ms <= {b})"));
        }
        sql.push_str(" FROM \"check\" GROUP BY outcome ORDER BY outcome");
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let mut out = CheckSummary {
            by_outcome: Vec::new(),
            durations: DurationHistogram {
                cumulative: vec![0; bounds_ms.len()],
                ..Default::default()
            },
        };
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let n: i64 = r.get(1)?;
            out.by_outcome.push((r.get(0)?, n));
            let h = &mut out.durations;
            h.count += n;
            h.sum_ms += r.get::<_, i64>(2)?;
            for (i, slot) in h.cumulative.iter_mut().enumerate() {
                *slot += r.get::<_, i64>(i + 3)?;
            }
        }
        Ok(out)
    }

    /// Rows in a table the HTTP surface counts: `change` or `snapshot`.
    pub fn count_rows(&self, table: CountedTable) -> Result<i64> {
        let sql = match table {
            CountedTable::Change => "SELECT count(*) FROM change",
            CountedTable::Snapshot => "SELECT count(*) FROM snapshot",
            CountedTable::Review => "SELECT count(*) FROM review",
        };
        Ok(self.conn.query_row(sql, [], |r| r.get(0))?)
    }

    /// The time of the latest check of any source.
    pub fn last_check_at(&self) -> Result<Option<Timestamp>> {
        let v: Option<i64> = self
            .conn
            // Per source through `check_by_source`, not a scan of every check.
            .query_row(
                "SELECT max((SELECT max(at) FROM \"check\" c WHERE c.source_id = s.id)) FROM source s",
                [],
                |r| r.get(0),
            )?;
        Ok(v.map(ts))
    }

    /// Alerts per delivery state (`pending`, `sent`, `failed`, `withdrawn`),
    /// derived the same way as [`Store::alerts`]: a finding that cleared
    /// before anyone was told is withdrawn, no target or any target waiting
    /// is pending, every target sent is sent, a failed target is failed.
    pub fn alert_state_counts(&self) -> Result<Vec<(String, i64)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT st, count(*) FROM (
                SELECT CASE
                    WHEN a.resolved_at IS NOT NULL AND a.kind != 'resolved'
                         AND coalesce(sum(d.state = 'sent'), 0) = 0 THEN 'withdrawn'
                    WHEN count(d.target) = 0 THEN 'pending'
                    WHEN sum(d.state = 'sent') = count(d.target) THEN 'sent'
                    WHEN sum(d.state = 'failed') > 0 THEN 'failed'
                    ELSE 'pending' END AS st
                FROM alert a LEFT JOIN delivery d ON d.alert_id = a.id
                GROUP BY a.id)
             GROUP BY st ORDER BY st",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The latest `limit` changes of the given sources, newest first.
    pub fn recent_changes(&self, source_ids: &[String], limit: usize) -> Result<Vec<ChangeRow>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "{CHANGE_SELECT} WHERE c.source_id = ?1 ORDER BY c.at DESC, c.id DESC LIMIT ?2"
        ))?;
        let mut out = Vec::new();
        for sid in source_ids {
            for row in stmt.query_map(params![sid, limit as i64], change_row)? {
                out.push(row?);
            }
        }
        out.sort_by_key(|c| std::cmp::Reverse((c.at, c.id)));
        out.truncate(limit);
        Ok(out)
    }

    /// The latest `limit` observations of the given capabilities, newest first.
    pub fn recent_observations(
        &self,
        capability_ids: &[String],
        limit: usize,
    ) -> Result<Vec<ObservationRow>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "{OBSERVATION_SELECT} WHERE capability_id = ?1 ORDER BY at DESC, id DESC LIMIT ?2"
        ))?;
        let mut out = Vec::new();
        for cid in capability_ids {
            for row in stmt.query_map(params![cid, limit as i64], observation_row)? {
                out.push(row?);
            }
        }
        out.sort_by_key(|o| std::cmp::Reverse((o.at, o.id)));
        out.truncate(limit);
        Ok(out)
    }
}

/// Tables [`Store::count_rows`] counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountedTable {
    Change,
    Snapshot,
    Review,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Outcome;
    use crate::store::CheckInput;

    #[test]
    fn counts_histogram_and_recent_rows() {
        let mut s = crate::store::test_store();
        s.ping().unwrap();
        let check = |s: &mut Store, t: i64, outcome: Outcome, body: Option<(&str, &str)>, d| {
            s.record_check(&CheckInput {
                source_id: "c",
                at: ts(t),
                outcome,
                http_status: Some(200),
                duration_ms: d,
                content: body,
                packed: None,
                title: None,
                validators: None,
            })
            .unwrap();
        };
        check(&mut s, 1000, Outcome::Ok, Some(("a\n", "h1")), 40);
        check(&mut s, 2000, Outcome::Ok, Some(("b\n", "h2")), 120);
        check(&mut s, 3000, Outcome::Http(500), None, 2000);
        let summary = s.check_summary(&[50, 100, 1000, 5000]).unwrap();
        assert_eq!(
            summary.by_outcome,
            vec![("http_error".into(), 1), ("ok".into(), 2)]
        );
        let h = summary.durations;
        assert_eq!(h.cumulative, vec![1, 1, 2, 3]);
        assert_eq!((h.count, h.sum_ms), (3, 2160));
        assert_eq!(s.count_rows(CountedTable::Change).unwrap(), 1);
        assert_eq!(s.count_rows(CountedTable::Snapshot).unwrap(), 2);
        assert_eq!(s.last_check_at().unwrap(), Some(ts(3000)));
        let changes = s.recent_changes(&["c".into()], 10).unwrap();
        assert_eq!((changes[0].from.seq, changes[0].to.seq), (1, 2));
        assert!(s.recent_observations(&["c".into()], 5).unwrap().is_empty());
        assert_eq!(s.alert_state_counts().unwrap(), vec![]);
        let payload = serde_json::json!({"summary": "x"});
        s.queue_alert(
            &crate::store::NewAlert {
                dedupe_key: "k",
                kind: "drift",
                subject_kind: "capability",
                subject_id: "c",
                guide_id: "g",
                payload: &payload,
                resolves: None,
                targets: &["webhook".to_string()],
            },
            ts(4000),
        )
        .unwrap();
        assert_eq!(s.alert_state_counts().unwrap(), vec![("pending".into(), 1)]);
        assert_eq!(s.recent_alerts(Some("g"), 5).unwrap().len(), 1);
        assert_eq!(s.recent_alerts(Some("other"), 5).unwrap().len(), 0);
        assert_eq!(s.recent_alerts(None, 5).unwrap()[0].kind, "drift");
        s.mark_resolved(1, ts(5000)).unwrap();
        assert_eq!(
            s.alert_state_counts().unwrap(),
            vec![("withdrawn".into(), 1)]
        );
        assert_eq!(s.alerts(false).unwrap()[0].state, "withdrawn");
    }

    #[test]
    fn one_read_transaction_sees_one_version_and_ends() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let writer = Store::open(&path).unwrap();
        let reader = Store::open_read_only(&path).unwrap();
        let count = |s: &Store| s.count_rows(CountedTable::Review).unwrap();
        let seen = reader
            .read_consistent(|r| {
                let before = count(r);
                writer
                    .conn
                    .execute(
                        "INSERT INTO review (subject_kind, subject_id, at, by) VALUES ('guide', 'g', 0, 'x')",
                        [],
                    )
                    .unwrap();
                Ok::<_, crate::store::StoreError>((before, count(r)))
            })
            .unwrap();
        assert_eq!(
            seen,
            (0, 0),
            "the write is invisible inside the transaction"
        );
        assert!(!reader.in_transaction());
        assert_eq!(count(&reader), 1, "and visible after it");
    }
}
