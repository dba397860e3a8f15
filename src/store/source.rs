//! The `source` table: what is remembered between checks of one page
//! (validators, schedule, failure count, current snapshot).

use super::db::args;
use super::{Result, Store, StoreError, ms, ts};
use jiff::Timestamp;

/// What the pipeline needs to know about a source before fetching it.
#[derive(Debug, Clone, Default)]
pub struct SourceState {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub infer_key: Option<String>,
    pub next_check_at: Option<Timestamp>,
    /// Consecutive failed checks.
    pub failures: u32,
    /// The latest snapshot: (snapshot id, number, content hash).
    pub current: Option<(i64, i64, String)>,
}

impl Store {
    pub fn source_state(&self, source_id: &str) -> Result<SourceState> {
        let row = self.db.query_opt(
            "SELECT etag, last_modified, infer_key, next_check_at, failures FROM source WHERE id = ?1",
            args![source_id],
            |r| {
                Ok(SourceState {
                    etag: r.get(0)?,
                    last_modified: r.get(1)?,
                    infer_key: r.get(2)?,
                    next_check_at: r.get::<Option<i64>>(3)?.map(ts),
                    failures: r.get(4)?,
                    current: None,
                })
            },
        )?;
        let mut state = row.ok_or_else(|| {
            StoreError::NotFound(format!("no source \"{source_id}\" in the database"))
        })?;
        state.current = self.current_snapshot(source_id)?;
        Ok(state)
    }

    pub(crate) fn current_snapshot(&self, source_id: &str) -> Result<Option<(i64, i64, String)>> {
        self.db.query_opt(
            "SELECT id, seq, hash FROM snapshot WHERE source_id = ?1 ORDER BY seq DESC LIMIT 1",
            args![source_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
    }

    /// Set when a source is next due, and end this instance's lease on it:
    /// called when its check is saved (and on reschedule).
    pub fn set_next_check(&self, source_id: &str, at: Timestamp) -> Result<()> {
        self.db.execute(
            "UPDATE source SET next_check_at = ?2, lease_owner = NULL, lease_until = NULL WHERE id = ?1",
            args![source_id, ms(at)],
        )?;
        Ok(())
    }

    /// The earliest `next_check_at` of any live source (a leased one counts
    /// from when its lease runs out).
    pub fn next_due(&self) -> Result<Option<Timestamp>> {
        let v: Option<i64> = self.db.query_one(
            "SELECT min(CASE WHEN lease_until IS NOT NULL AND lease_until > next_check_at
                             THEN lease_until ELSE next_check_at END)
             FROM source WHERE removed_at IS NULL",
            args![],
            |r| r.get(0),
        )?;
        Ok(v.map(ts))
    }

    /// Remember the inference inputs the current observation was made with.
    pub fn set_infer_key(&self, source_id: &str, key: &str) -> Result<()> {
        self.db.execute(
            "UPDATE source SET infer_key = ?2 WHERE id = ?1",
            args![source_id, key],
        )?;
        Ok(())
    }
}

impl Store {
    /// On start and after a registry reload: a source whose next slot moved
    /// earlier (a more frequent schedule) takes the new slot; sources that are
    /// overdue (downtime, or new) are checked once, spread over a few seconds.
    /// Returns how many were overdue.
    pub fn reschedule(&self, registry: &crate::config::Registry, now: Timestamp) -> Result<usize> {
        let mut overdue = Vec::new();
        for s in registry.sources() {
            let stored = self.source_state(&s.id)?.next_check_at;
            let slot = s.schedule.next_for(now, &s.id);
            match (stored, slot) {
                (None, _) => overdue.push(s.id.clone()),
                (Some(t), _) if t <= now => overdue.push(s.id.clone()),
                (Some(t), Some(slot)) if slot < t => self.set_next_check(&s.id, slot)?,
                _ => {}
            }
        }
        let n = overdue.len();
        for (i, id) in overdue.iter().enumerate() {
            let at = crate::schedule::spread(now, i, n, std::time::Duration::from_secs(30));
            self.set_next_check(id, at)?;
        }
        Ok(n)
    }
}
