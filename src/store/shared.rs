//! What several instances on one database coordinate with, and the running
//! totals that keep `/metrics` from counting whole tables.
//!
//! - **Leases**: a daemon takes a batch of due sources with
//!   [`Store::lease_due`] (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so two
//!   daemons never take the same row) until `lease_until`; saving the check
//!   ends the lease and moves the schedule on ([`Store::set_next_check`]).
//!   A daemon that dies leaves leases that run out, and another takes them.
//! - **Claimed deliveries**: the outbox rows a daemon is sending carry its id
//!   until they are recorded as sent or failed ([`Store::claim_deliveries`]).
//! - **The evaluation lock**: findings, queueing and delivery run in one
//!   instance at a time — the one holding a PostgreSQL session advisory lock
//!   ([`Store::try_lead`]); it passes to another daemon when that session
//!   ends (the daemon stopped, died, or lost its connection).
//! - **Instances and the registry fingerprint**: every `run`/`serve` records
//!   the fingerprint of the `sources.toml` it loaded; [`Store::fingerprints`]
//!   tells whether the live ones agree.
//!
//! On SQLite the same calls work for the one daemon there is (the file lock
//! in `daemon.rs` keeps it to one): leases and claims are plain updates and
//! that daemon always leads.

use super::db::{Dialect, Tx, args};
use super::{Result, Store, ms, ts};
use jiff::Timestamp;
use serde::Serialize;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::time::Duration;

/// Running totals written by this connection's open transaction, applied
/// just before it commits, in one fixed order (so two daemons committing at
/// once cannot deadlock on the total rows) and only if it commits.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    checks: RefCell<BTreeMap<(String, i64), (i64, i64)>>,
    rows: RefCell<BTreeMap<&'static str, i64>>,
}

impl Tally {
    pub(crate) fn check(&self, outcome: &str, duration_ms: i64) {
        let mut m = self.checks.borrow_mut();
        let e = m
            .entry((outcome.to_string(), super::metrics::bucket_of(duration_ms)))
            .or_default();
        e.0 += 1;
        e.1 += duration_ms;
    }

    pub(crate) fn row(&self, table: &'static str) {
        *self.rows.borrow_mut().entry(table).or_default() += 1;
    }

    fn clear(&self) {
        self.checks.borrow_mut().clear();
        self.rows.borrow_mut().clear();
    }
}

/// A lease taken on a due source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub source_id: String,
    pub next_check_at: Timestamp,
}

/// One `run` or `serve` process that used the database.
#[derive(Debug, Clone, Serialize)]
pub struct InstanceRow {
    pub id: String,
    pub host: String,
    pub pid: i64,
    pub role: String,
    pub fingerprint: String,
    pub started_at: Timestamp,
    pub seen_at: Timestamp,
}

/// The registry this instance loaded against the others and the database.
#[derive(Debug, Clone, Serialize)]
pub struct Fingerprints {
    pub mine: String,
    /// The registry the sources table mirrors (the last instance that synced).
    pub database: Option<String>,
    /// Live instances that loaded a different registry.
    pub differing: Vec<InstanceRow>,
}

impl Fingerprints {
    pub fn agree(&self) -> bool {
        self.differing.is_empty() && self.database.as_deref().is_none_or(|d| d == self.mine)
    }
}

/// The advisory lock key of evaluation (an arbitrary 64-bit constant).
const LEAD_LOCK: i64 = 0x6361_7077_6576_616c;

/// The transaction-level lock one evaluation holds.
const EVALUATION_LOCK: i64 = 0x6361_7077_7175_6575;

/// How long an instance counts as alive after its last heartbeat.
pub const ALIVE_FOR: Duration = Duration::from_secs(90);

impl Store {
    /// This connection's id in leases, claims and the instance table.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    pub fn set_owner(&mut self, owner: &str) {
        self.owner = owner.to_string();
    }

    /// Commit `tx`; the outermost commit writes the running totals first.
    pub(crate) fn commit(&self, tx: Tx<'_>) -> Result<()> {
        if tx.is_outermost() {
            self.flush_tally()?;
        }
        let r = tx.commit();
        if r.is_err() {
            self.tally.clear();
        }
        r
    }

    pub(crate) fn discard_tally(&self) {
        self.tally.clear();
    }

    pub(crate) fn flush_tally(&self) -> Result<()> {
        let checks = std::mem::take(&mut *self.tally.checks.borrow_mut());
        for ((outcome, bucket), (n, sum)) in checks {
            self.db.execute(
                "INSERT INTO check_tally (outcome, bucket, n, sum_ms) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (outcome, bucket) DO UPDATE SET n = check_tally.n + ?3, sum_ms = check_tally.sum_ms + ?4",
                args![outcome, bucket, n, sum],
            )?;
        }
        let rows = std::mem::take(&mut *self.tally.rows.borrow_mut());
        for (name, n) in rows {
            self.db.execute(
                "INSERT INTO row_tally (name, n) VALUES (?1, ?2)
                 ON CONFLICT (name) DO UPDATE SET n = row_tally.n + ?2",
                args![name, n],
            )?;
        }
        Ok(())
    }

    /// Lease up to `limit` due sources to this instance until `now + ttl`,
    /// most overdue first. Rows another daemon holds are skipped, not
    /// waited for; a lease that ran out is taken over.
    pub fn lease_due(&self, now: Timestamp, ttl: Duration, limit: usize) -> Result<Vec<Lease>> {
        let until = ms(now) + ttl.as_millis() as i64;
        // SQLite has one daemon (its file lock): leases there only mark
        // what is in flight, and one left behind is from a daemon that died.
        let (lock, held) = match self.db.dialect() {
            Dialect::Postgres => (
                "FOR UPDATE SKIP LOCKED",
                "AND (lease_until IS NULL OR lease_until <= ?1)",
            ),
            Dialect::Sqlite => ("", ""),
        };
        let mut leased = self.db.query_map(
            &format!(
                "UPDATE source SET lease_owner = ?2, lease_until = ?3
                 WHERE id IN (
                    SELECT id FROM source
                    WHERE removed_at IS NULL AND next_check_at IS NOT NULL AND next_check_at <= ?1
                      {held}
                    ORDER BY next_check_at, id LIMIT ?4 {lock})
                 RETURNING id, next_check_at"
            ),
            args![ms(now), self.owner.as_str(), until, limit as i64],
            |r| {
                Ok(Lease {
                    source_id: r.get(0)?,
                    next_check_at: ts(r.get(1)?),
                })
            },
        )?;
        leased
            .sort_by(|a, b| (a.next_check_at, &a.source_id).cmp(&(b.next_check_at, &b.source_id)));
        Ok(leased)
    }

    /// Give back leases this instance holds (a stop before their checks ran).
    pub fn release_leases(&self) -> Result<usize> {
        self.db.execute(
            "UPDATE source SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ?1",
            args![self.owner.as_str()],
        )
    }

    /// Clear every lease (SQLite, under the daemon's file lock: any lease
    /// left is from a daemon that was killed).
    pub fn release_all_leases(&self) -> Result<usize> {
        self.db.execute(
            "UPDATE source SET lease_owner = NULL, lease_until = NULL WHERE lease_owner IS NOT NULL",
            args![],
        )
    }

    /// Claim the deliveries due at `now` for this instance for a while
    /// (long enough to send them), skipping those another instance holds.
    pub(crate) fn claim_deliveries(&self, now: Timestamp) -> Result<Vec<(i64, String)>> {
        // On SQLite one process at a time delivers (the daemon's file lock;
        // `check` refuses while a daemon runs): a claim left in the table
        // is from a process that died, so it does not hold anything back.
        let (lock, held) = match self.db.dialect() {
            Dialect::Postgres => (
                "FOR UPDATE OF d SKIP LOCKED",
                "AND (d.claimed_until IS NULL OR d.claimed_until <= ?1 OR d.claimed_by = ?2)",
            ),
            Dialect::Sqlite => ("", ""),
        };
        let until = ms(now) + CLAIM_FOR.as_millis() as i64;
        let mut pairs: Vec<(i64, String)> = self.db.query_map(
            &format!(
                "UPDATE delivery SET claimed_by = ?2, claimed_until = ?3
                 WHERE (alert_id, target) IN (
                    SELECT d.alert_id, d.target FROM delivery d JOIN alert a ON a.id = d.alert_id
                    WHERE d.state != 'sent' AND d.next_attempt_at <= ?1
                      AND (a.resolved_at IS NULL OR a.kind = 'resolved')
                      {held}
                    ORDER BY d.alert_id, d.target {lock})
                 RETURNING alert_id, target"
            ),
            args![ms(now), self.owner.as_str(), until],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        pairs.sort();
        Ok(pairs)
    }

    /// Take the evaluation lock if no other instance holds it; true while
    /// this instance holds it. Always true on SQLite (one daemon).
    pub fn try_lead(&self) -> Result<bool> {
        match self.db.dialect() {
            Dialect::Sqlite => Ok(true),
            Dialect::Postgres => self.db.query_one(
                "SELECT CASE WHEN EXISTS (
                    SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()
                      AND granted AND ((classid::bigint << 32) | objid::bigint) = ?1)
                 THEN 1 ELSE CASE WHEN pg_try_advisory_lock(?1) THEN 1 ELSE 0 END END",
                args![LEAD_LOCK],
                |r| r.get::<bool>(0),
            ),
        }
    }

    /// Inside a transaction: wait until no other evaluation is running on
    /// this database, and hold it off until this transaction ends
    /// (PostgreSQL `pg_advisory_xact_lock`; SQLite's writer lock already does).
    pub fn lock_evaluation(&self) -> Result<()> {
        if self.db.dialect() == Dialect::Postgres {
            self.db.query_one(
                "SELECT pg_advisory_xact_lock(?1)::text",
                args![EVALUATION_LOCK],
                |_| Ok(()),
            )?;
        }
        Ok(())
    }

    /// Record this process as a live instance with the registry it loaded.
    pub fn register_instance(&self, role: &str, fingerprint: &str, now: Timestamp) -> Result<()> {
        let host = hostname();
        self.db.execute(
            "INSERT INTO instance (id, host, pid, role, fingerprint, started_at, seen_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)
             ON CONFLICT (id) DO UPDATE SET fingerprint = ?5, seen_at = ?6, stopped_at = NULL",
            args![
                self.owner.as_str(),
                host,
                std::process::id() as i64,
                role,
                fingerprint,
                ms(now)
            ],
        )?;
        Ok(())
    }

    /// "Still here": keeps this instance counted as alive.
    pub fn heartbeat(&self, now: Timestamp) -> Result<()> {
        self.db.execute(
            "UPDATE instance SET seen_at = ?2 WHERE id = ?1",
            args![self.owner.as_str(), ms(now)],
        )?;
        Ok(())
    }

    /// This instance stopped cleanly.
    pub fn stop_instance(&self, now: Timestamp) -> Result<()> {
        self.db.execute(
            "UPDATE instance SET stopped_at = ?2 WHERE id = ?1",
            args![self.owner.as_str(), ms(now)],
        )?;
        Ok(())
    }

    /// Instances seen within [`ALIVE_FOR`] of `now` and not stopped.
    pub fn live_instances(&self, now: Timestamp) -> Result<Vec<InstanceRow>> {
        self.db.query_map(
            "SELECT id, host, pid, role, fingerprint, started_at, seen_at FROM instance
             WHERE stopped_at IS NULL AND seen_at >= ?1 ORDER BY started_at, id",
            args![ms(now) - ALIVE_FOR.as_millis() as i64],
            |r| {
                Ok(InstanceRow {
                    id: r.get(0)?,
                    host: r.get(1)?,
                    pid: r.get(2)?,
                    role: r.get(3)?,
                    fingerprint: r.get(4)?,
                    started_at: ts(r.get(5)?),
                    seen_at: ts(r.get(6)?),
                })
            },
        )
    }

    /// Say that the sources table now mirrors the registry `fingerprint`.
    pub fn set_registry_fingerprint(&self, fingerprint: &str, now: Timestamp) -> Result<()> {
        self.db.execute(
            "INSERT INTO registry_state (id, fingerprint, loaded_by, loaded_at) VALUES (1, ?1, ?2, ?3)
             ON CONFLICT (id) DO UPDATE SET fingerprint = ?1, loaded_by = ?2, loaded_at = ?3",
            args![fingerprint, self.owner.as_str(), ms(now)],
        )?;
        Ok(())
    }

    /// The registry fingerprint the database mirrors, and who synced it.
    pub fn registry_fingerprint(&self) -> Result<Option<(String, String)>> {
        self.db.query_opt(
            "SELECT fingerprint, loaded_by FROM registry_state WHERE id = 1",
            args![],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }

    /// Does `mine` agree with the live instances and the database?
    pub fn fingerprints(&self, mine: &str, now: Timestamp) -> Result<Fingerprints> {
        let differing = self
            .live_instances(now)?
            .into_iter()
            .filter(|i| i.id != self.owner && i.fingerprint != mine)
            .collect();
        Ok(Fingerprints {
            mine: mine.to_string(),
            database: self.registry_fingerprint()?.map(|(f, _)| f),
            differing,
        })
    }
}

/// How long a claimed delivery stays with the instance sending it.
pub const CLAIM_FOR: Duration = Duration::from_secs(300);

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into())
}

/// A new instance id: host, process and a random suffix.
pub fn new_instance_id() -> String {
    let mut b = [0u8; 4];
    let _ = getrandom::fill(&mut b);
    format!("{}:{}:{}", hostname(), std::process::id(), hex::encode(b))
}
