//! Read-only aggregate queries for the HTTP surface: counters and histograms
//! for `/metrics`, a liveness probe, and the latest changes, observations and
//! alerts for the Atom feed (newest first, bounded, using the indexes).

use super::change::{CHANGE_SELECT, change_row};
use super::db::args;
use super::observation::{SELECT as OBSERVATION_SELECT, row as observation_row};
use super::{ChangeRow, ObservationRow, Result, Store, ts};
use jiff::Timestamp;

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
    /// Run `f` inside one read transaction, so everything it reads comes
    /// from the same version of the database (a scrape that reads several
    /// tables while a check cycle commits would otherwise mix two states).
    pub fn read_consistent<T, E>(
        &self,
        f: impl FnOnce(&Store) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E>
    where
        E: From<super::StoreError>,
    {
        let tx = self.db.begin(false).map_err(E::from)?;
        let out = f(self);
        // Nothing was written: ending it either way is the same.
        drop(tx);
        out
    }

    pub fn in_transaction(&self) -> bool {
        self.db.in_transaction()
    }

    /// One cheap query: is the database answering?
    pub fn ping(&self) -> Result<()> {
        self.db
            .query_one("SELECT count(*) FROM guide", args![], |r| r.get::<i64>(0))?;
        Ok(())
    }

    /// Checks per outcome and the duration histogram, from the running
    /// totals kept as checks are saved (a few rows, whatever the history).
    /// `bounds_ms` must be [`DURATION_BUCKETS_MS`].
    pub fn check_summary(&self, bounds_ms: &[i64]) -> Result<CheckSummary> {
        let rows: Vec<(String, i64, i64, i64)> = self.db.query_map(
            "SELECT outcome, bucket, n, sum_ms FROM check_tally ORDER BY outcome, bucket",
            args![],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )?;
        let mut out = CheckSummary {
            by_outcome: Vec::new(),
            durations: DurationHistogram {
                cumulative: vec![0; bounds_ms.len()],
                ..Default::default()
            },
        };
        for (outcome, bucket, n, sum) in rows {
            match out.by_outcome.last_mut() {
                Some((o, c)) if *o == outcome => *c += n,
                _ => out.by_outcome.push((outcome, n)),
            }
            let h = &mut out.durations;
            h.count += n;
            h.sum_ms += sum;
            for (slot, bound) in h.cumulative.iter_mut().zip(bounds_ms) {
                if bucket <= *bound {
                    *slot += n;
                }
            }
        }
        Ok(out)
    }

    /// Rows in a table that only grows, from its running total.
    pub fn count_rows(&self, table: CountedTable) -> Result<i64> {
        let name = match table {
            CountedTable::Change => "change",
            CountedTable::Snapshot => "snapshot",
            CountedTable::Review => "review",
        };
        Ok(self
            .db
            .query_opt(
                "SELECT n FROM row_tally WHERE name = ?1",
                args![name],
                |r| r.get(0),
            )?
            .unwrap_or(0))
    }

    /// When the latest check of any source was made (one index lookup).
    pub fn last_check_at(&self) -> Result<Option<Timestamp>> {
        let v: Option<i64> = self
            .db
            .query_one("SELECT max(at) FROM \"check\"", args![], |r| r.get(0))?;
        Ok(v.map(ts))
    }

    /// Alerts per delivery state (the same states `capwatch alerts` shows).
    pub fn alert_state_counts(&self) -> Result<Vec<(String, i64)>> {
        self.db.query_map(
            "SELECT st, count(*) FROM (
                SELECT CASE
                    WHEN a.resolved_at IS NOT NULL AND a.kind != 'resolved'
                         AND coalesce(sum(CASE WHEN d.state = 'sent' THEN 1 ELSE 0 END), 0) = 0 THEN 'withdrawn'
                    WHEN count(d.target) = 0 THEN 'pending'
                    WHEN sum(CASE WHEN d.state = 'sent' THEN 1 ELSE 0 END) = count(d.target) THEN 'sent'
                    WHEN sum(CASE WHEN d.state = 'failed' THEN 1 ELSE 0 END) > 0 THEN 'failed'
                    ELSE 'pending' END AS st
                FROM alert a LEFT JOIN delivery d ON d.alert_id = a.id
                GROUP BY a.id, a.resolved_at, a.kind) AS per_alert
             GROUP BY st ORDER BY st",
            args![],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }

    /// The latest changes of the given sources, newest first.
    pub fn recent_changes(&self, source_ids: &[String], limit: usize) -> Result<Vec<ChangeRow>> {
        let sql = format!(
            "{CHANGE_SELECT} WHERE c.source_id = ?1 ORDER BY c.at DESC, c.id DESC LIMIT ?2"
        );
        let mut out = Vec::new();
        for sid in source_ids {
            out.extend(
                self.db
                    .query_map(&sql, args![sid, limit as i64], change_row)?,
            );
        }
        out.sort_by_key(|c| std::cmp::Reverse((c.at, c.id)));
        out.truncate(limit);
        Ok(out)
    }

    /// The latest observations of the given capabilities, newest first.
    pub fn recent_observations(
        &self,
        capability_ids: &[String],
        limit: usize,
    ) -> Result<Vec<ObservationRow>> {
        let sql = format!(
            "{OBSERVATION_SELECT} WHERE capability_id = ?1 ORDER BY at DESC, id DESC LIMIT ?2"
        );
        let mut out = Vec::new();
        for cid in capability_ids {
            out.extend(
                self.db
                    .query_map(&sql, args![cid, limit as i64], observation_row)?,
            );
        }
        out.sort_by_key(|o| std::cmp::Reverse((o.at, o.id)));
        out.truncate(limit);
        Ok(out)
    }
}

/// Bounds of the fetch-duration histogram, in milliseconds; the running
/// totals are kept per bound (and one for longer).
pub const DURATION_BUCKETS_MS: [i64; 10] =
    [50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000];

/// The bucket a duration is counted in: the smallest bound it fits under.
pub(crate) fn bucket_of(duration_ms: i64) -> i64 {
    DURATION_BUCKETS_MS
        .iter()
        .copied()
        .find(|b| duration_ms <= *b)
        .unwrap_or(i64::MAX)
}

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
        let mut writer = Store::open(&path).unwrap();
        let reader = Store::open_read_only(&path).unwrap();
        let count = |s: &Store| s.count_rows(CountedTable::Review).unwrap();
        let seen = reader
            .read_consistent(|r| {
                let before = count(r);
                writer
                    .record_review(
                        crate::store::Subject::Guide("g"),
                        &[],
                        "x",
                        None,
                        ts(0),
                        &crate::model::Origin::cli(),
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
