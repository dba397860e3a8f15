//! The `source` table: what is remembered between checks of one page
//! (validators, schedule, failure count, current snapshot).

use super::{Result, Store, StoreError, ms, ts};
use jiff::Timestamp;
use rusqlite::{OptionalExtension, params};

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
        let row = self
            .conn
            .prepare_cached(
                "SELECT etag, last_modified, infer_key, next_check_at, failures FROM source WHERE id = ?1",
            )?
            .query_row(
                [source_id],
                |r| {
                    Ok(SourceState {
                        etag: r.get(0)?,
                        last_modified: r.get(1)?,
                        infer_key: r.get(2)?,
                        next_check_at: r.get::<_, Option<i64>>(3)?.map(ts),
                        failures: r.get(4)?,
                        current: None,
                    })
                },
            )
            .optional()?;
        let mut state = row.ok_or_else(|| {
            StoreError::NotFound(format!("no source \"{source_id}\" in the database"))
        })?;
        state.current = self.current_snapshot(source_id)?;
        Ok(state)
    }

    pub(crate) fn current_snapshot(&self, source_id: &str) -> Result<Option<(i64, i64, String)>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT id, seq, hash FROM snapshot WHERE source_id = ?1 ORDER BY seq DESC LIMIT 1",
            )?
            .query_row([source_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?)
    }

    /// Set when a source is next due. Called before its fetch starts so that a
    /// failing source cannot be picked again at once.
    pub fn set_next_check(&self, source_id: &str, at: Timestamp) -> Result<()> {
        self.conn
            .prepare_cached("UPDATE source SET next_check_at = ?2 WHERE id = ?1")?
            .execute(params![source_id, ms(at)])?;
        Ok(())
    }

    /// Sources (not removed) due at or before `now`, most overdue first.
    pub fn due_sources(&self, now: Timestamp) -> Result<Vec<(String, Timestamp)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, next_check_at FROM source
             WHERE removed_at IS NULL AND next_check_at IS NOT NULL AND next_check_at <= ?1
             ORDER BY next_check_at, id",
        )?;
        let rows = stmt.query_map([ms(now)], |r| Ok((r.get::<_, String>(0)?, ts(r.get(1)?))))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The earliest `next_check_at` of any live source.
    pub fn next_due(&self) -> Result<Option<Timestamp>> {
        let v: Option<i64> = self.conn.query_row(
            "SELECT min(next_check_at) FROM source WHERE removed_at IS NULL",
            [],
            |r| r.get(0),
        )?;
        Ok(v.map(ts))
    }

    /// Remember the inference inputs the current observation was made with.
    pub fn set_infer_key(&self, source_id: &str, key: &str) -> Result<()> {
        self.conn
            .prepare_cached("UPDATE source SET infer_key = ?2 WHERE id = ?1")?
            .execute(params![source_id, key])?;
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
