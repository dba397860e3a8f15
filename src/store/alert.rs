//! The outbox: `alert`, `delivery` and `delivery_attempt`. An alert row and
//! its delivery rows are written in one transaction before anything is sent;
//! a delivery is marked sent only after the channel accepted it.

use super::db::{Row, Value as Param, args};
use super::{Result, Store, ms, ts};
use jiff::Timestamp;
use serde::Serialize;
use serde_json::Value;

/// An alert to queue.
#[derive(Debug, Clone)]
pub struct NewAlert<'a> {
    pub dedupe_key: &'a str,
    pub kind: &'a str,
    pub subject_kind: &'a str,
    pub subject_id: &'a str,
    pub guide_id: &'a str,
    pub payload: &'a Value,
    pub resolves: Option<i64>,
    /// Delivery targets: `email:ADDRESS` or `webhook`.
    pub targets: &'a [String],
}

/// An unresolved alert's id, kind and subject ([`Store::open_alert_subjects`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertSubject {
    pub id: i64,
    pub kind: String,
    pub subject_kind: String,
    pub subject_id: String,
}

/// A saved alert with its derived delivery state.
#[derive(Debug, Clone, Serialize)]
pub struct AlertRow {
    pub id: i64,
    pub dedupe_key: String,
    pub kind: String,
    pub subject_kind: String,
    pub subject_id: String,
    pub guide_id: String,
    pub created_at: Timestamp,
    pub payload: Value,
    pub resolves: Option<i64>,
    pub resolved_at: Option<Timestamp>,
    /// `pending` (not yet sent, or no channel), `sent` (every target took
    /// it), `failed` (the last attempt failed; it will be retried), or
    /// `withdrawn` (its finding cleared before anyone was told; never sent).
    pub state: String,
    pub attempts: i64,
    pub targets: Vec<DeliveryRow>,
}

impl AlertRow {
    /// `capability:ID` or `guide:ID`.
    pub fn subject(&self) -> String {
        format!("{}:{}", self.subject_kind, self.subject_id)
    }
}

/// One target of an alert.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryRow {
    pub target: String,
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: Timestamp,
    pub sent_at: Option<Timestamp>,
    pub last_error: Option<String>,
    pub message_id: Option<String>,
    /// The message this delivery was handed over in, if a send started.
    pub batch: Option<String>,
}

/// One delivery attempt, kept for `capwatch alerts`.
#[derive(Debug, Clone, Serialize)]
pub struct AttemptRow {
    pub alert_id: i64,
    pub target: String,
    pub at: Timestamp,
    pub ok: bool,
    pub error: Option<String>,
}

const ALERT_SELECT: &str = "SELECT id, dedupe_key, kind, subject_kind, subject_id, guide_id, created_at, payload, resolves, resolved_at FROM alert";

fn alert_row(r: &Row) -> Result<AlertRow> {
    let payload: String = r.get(7)?;
    Ok(AlertRow {
        id: r.get(0)?,
        dedupe_key: r.get(1)?,
        kind: r.get(2)?,
        subject_kind: r.get(3)?,
        subject_id: r.get(4)?,
        guide_id: r.get(5)?,
        created_at: ts(r.get(6)?),
        payload: serde_json::from_str(&payload).unwrap_or(Value::Null),
        resolves: r.get(8)?,
        resolved_at: r.get::<Option<i64>>(9)?.map(ts),
        state: String::new(),
        attempts: 0,
        targets: Vec::new(),
    })
}

impl Store {
    /// The latest `limit` alerts (of one guide, or all), newest first, as
    /// the feed shows them: without their delivery state.
    pub fn recent_alerts(&self, guide_id: Option<&str>, limit: usize) -> Result<Vec<AlertRow>> {
        self.db.query_map(
            &format!(
                "{ALERT_SELECT} WHERE CAST(?1 AS TEXT) IS NULL OR guide_id = ?1 ORDER BY created_at DESC, id DESC LIMIT ?2"
            ),
            args![guide_id, limit as i64],
            alert_row,
        )
    }

    /// Queue an alert unless one with the same dedupe key exists. Returns the
    /// new id, or None when it was already queued.
    pub fn queue_alert(&mut self, a: &NewAlert<'_>, now: Timestamp) -> Result<Option<i64>> {
        let tx = self.db.begin(true)?; // nests inside `Store::batch`
        let id: Option<i64> = self.db.query_opt(
            "INSERT INTO alert (dedupe_key, kind, subject_kind, subject_id, guide_id, created_at, payload, resolves)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
            args![
                a.dedupe_key,
                a.kind,
                a.subject_kind,
                a.subject_id,
                a.guide_id,
                ms(now),
                a.payload.to_string(),
                a.resolves
            ],
            |r| r.get(0),
        )?;
        let Some(id) = id else {
            return Ok(None);
        };
        for t in a.targets {
            self.db.execute(
                "INSERT INTO delivery (alert_id, target, state, next_attempt_at) VALUES (?1, ?2, 'pending', ?3)
                 ON CONFLICT (alert_id, target) DO NOTHING",
                args![id, t, ms(now)],
            )?;
        }
        if let Some(r) = a.resolves {
            self.db.execute(
                "UPDATE alert SET resolved_at = ?2 WHERE id = ?1 AND resolved_at IS NULL",
                args![r, ms(now)],
            )?;
        }
        self.commit(tx)?;
        Ok(Some(id))
    }

    /// Add delivery targets to every alert not yet delivered to them (a
    /// channel configured after alerts were queued).
    pub fn ensure_targets(
        &mut self,
        alert_id: i64,
        targets: &[String],
        now: Timestamp,
    ) -> Result<()> {
        for t in targets {
            self.db.execute(
                "INSERT INTO delivery (alert_id, target, state, next_attempt_at) VALUES (?1, ?2, 'pending', ?3)
                 ON CONFLICT (alert_id, target) DO NOTHING",
                args![alert_id, t, ms(now)],
            )?;
        }
        Ok(())
    }

    /// Unresolved alerts (not "resolved" notices) for a subject.
    pub fn open_alerts(&self, subject_kind: &str, subject_id: &str) -> Result<Vec<AlertRow>> {
        let mut out = self.db.query_map(
            &format!(
                "{ALERT_SELECT} WHERE subject_kind = ?1 AND subject_id = ?2 AND resolved_at IS NULL AND kind != 'resolved' ORDER BY id"
            ),
            args![subject_kind, subject_id],
            alert_row,
        )?;
        for a in &mut out {
            self.fill_delivery(a)?;
        }
        Ok(out)
    }

    /// What every unresolved alert is about, oldest first: enough to tell
    /// which ones a cycle's findings still hold without reading (and
    /// parsing) every payload; read the rest with [`Store::alert`].
    pub fn open_alert_subjects(&self) -> Result<Vec<AlertSubject>> {
        self.db.query_map(
            "SELECT id, kind, subject_kind, subject_id FROM alert
             WHERE resolved_at IS NULL AND kind != 'resolved' ORDER BY created_at, id",
            args![],
            |r| {
                Ok(AlertSubject {
                    id: r.get(0)?,
                    kind: r.get(1)?,
                    subject_kind: r.get(2)?,
                    subject_id: r.get(3)?,
                })
            },
        )
    }

    /// Every alert, oldest first; with `pending_only`, those not yet sent everywhere.
    pub fn alerts(&self, pending_only: bool) -> Result<Vec<AlertRow>> {
        let all = self.alerts_where("1 = 1", args![])?;
        Ok(all
            .into_iter()
            .filter(|a| !pending_only || matches!(a.state.as_str(), "pending" | "failed"))
            .collect())
    }

    /// Alerts about a capability or its guide.
    pub fn alerts_for(&self, capability_id: &str, guide_id: &str) -> Result<Vec<AlertRow>> {
        self.alerts_where(
            "(subject_kind = 'capability' AND subject_id = ?1) OR (subject_kind = 'guide' AND subject_id = ?2)",
            args![capability_id, guide_id],
        )
    }

    pub fn alert(&self, id: i64) -> Result<Option<AlertRow>> {
        let mut a = self.db.query_opt(
            &format!("{ALERT_SELECT} WHERE id = ?1"),
            args![id],
            alert_row,
        )?;
        if let Some(a) = &mut a {
            self.fill_delivery(a)?;
        }
        Ok(a)
    }

    fn alerts_where(&self, cond: &str, p: &[Param]) -> Result<Vec<AlertRow>> {
        let mut out = self.db.query_map(
            &format!("{ALERT_SELECT} WHERE {cond} ORDER BY created_at, id"),
            p,
            alert_row,
        )?;
        for a in &mut out {
            self.fill_delivery(a)?;
        }
        Ok(out)
    }

    fn fill_delivery(&self, a: &mut AlertRow) -> Result<()> {
        a.targets = self.db.query_map(
            "SELECT target, state, attempts, next_attempt_at, sent_at, last_error, message_id, batch
             FROM delivery WHERE alert_id = ?1 ORDER BY target",
            args![a.id],
            |r| {
            Ok(DeliveryRow {
                target: r.get(0)?,
                state: r.get(1)?,
                attempts: r.get(2)?,
                next_attempt_at: ts(r.get(3)?),
                sent_at: r.get::<Option<i64>>(4)?.map(ts),
                last_error: r.get(5)?,
                message_id: r.get(6)?,
                batch: r.get(7)?,
            })
            },
        )?;
        a.attempts = a.targets.iter().map(|t| t.attempts).sum();
        let withdrawn = a.resolved_at.is_some()
            && a.kind != "resolved"
            && !a.targets.iter().any(|t| t.state == "sent");
        a.state = if withdrawn {
            "withdrawn"
        } else if a.targets.is_empty() {
            "pending"
        } else if a.targets.iter().all(|t| t.state == "sent") {
            "sent"
        } else if a.targets.iter().any(|t| t.state == "failed") {
            "failed"
        } else {
            "pending"
        }
        .to_string();
        Ok(())
    }

    /// Deliveries due at `now`: (alert, target).
    /// Make every delivery not yet sent due at `now` (`alerts --retry`),
    /// without touching its attempt count. Returns how many.
    pub fn retry_now(&self, now: Timestamp) -> Result<usize> {
        self.db.execute(
            "UPDATE delivery SET next_attempt_at = ?1 WHERE state != 'sent' AND next_attempt_at > ?1",
            args![ms(now)],
        )
    }

    pub fn due_deliveries(&self, now: Timestamp) -> Result<Vec<(AlertRow, String)>> {
        let pairs = self.claim_deliveries(now)?;
        let mut out = Vec::with_capacity(pairs.len());
        for (id, target) in pairs {
            if let Some(a) = self.alert(id)? {
                out.push((a, target));
            }
        }
        Ok(out)
    }

    /// Mark the deliveries of `alerts` to `target` as handed over in `batch`,
    /// before the message goes to the channel.
    pub fn start_batch(&mut self, alerts: &[i64], target: &str, batch: &str) -> Result<()> {
        let tx = self.db.begin(true)?; // nests inside `Store::batch`
        for id in alerts {
            self.db.execute(
                "UPDATE delivery SET batch = ?3 WHERE alert_id = ?1 AND target = ?2",
                args![*id, target, batch],
            )?;
        }
        self.commit(tx)?;
        Ok(())
    }

    /// Record one attempt for each alert of a message (a digest covers
    /// several): sent (with its Message-ID) or failed, retried at the time
    /// given per alert. One transaction, written as soon as the channel
    /// answered, so the window in which a crash could cause a resend is as
    /// short as it can be.
    pub fn record_attempts(
        &mut self,
        alerts: &[(i64, Timestamp)],
        target: &str,
        at: Timestamp,
        result: std::result::Result<Option<&str>, &str>,
    ) -> Result<()> {
        let tx = self.db.begin(true)?; // nests inside `Store::batch`
        for (alert_id, retry_at) in alerts {
            let alert_id = *alert_id;
            match result {
                Ok(message_id) => {
                    self.db.execute(
                        "UPDATE delivery SET state = 'sent', attempts = attempts + 1, sent_at = ?3, last_error = NULL,
                            message_id = coalesce(?4, message_id), claimed_by = NULL, claimed_until = NULL
                         WHERE alert_id = ?1 AND target = ?2",
                        args![alert_id, target, ms(at), message_id],
                    )?;
                }
                Err(e) => {
                    // Not delivered: the next attempt may group it with others.
                    self.db.execute(
                        "UPDATE delivery SET state = 'failed', attempts = attempts + 1, last_error = ?3, next_attempt_at = ?4,
                            batch = NULL, claimed_by = NULL, claimed_until = NULL
                         WHERE alert_id = ?1 AND target = ?2",
                        args![alert_id, target, e, ms(*retry_at)],
                    )?;
                }
            }
            self.db.execute(
                "INSERT INTO delivery_attempt (alert_id, target, at, ok, error) VALUES (?1, ?2, ?3, ?4, ?5)",
                args![alert_id, target, ms(at), result.is_ok(), result.err()],
            )?;
        }
        self.commit(tx)?;
        Ok(())
    }

    /// Every attempt for an alert, oldest first.
    pub fn attempts(&self, alert_id: i64) -> Result<Vec<AttemptRow>> {
        self.db.query_map(
            "SELECT alert_id, target, at, ok, error FROM delivery_attempt WHERE alert_id = ?1 ORDER BY at, id",
            args![alert_id],
            |r| {
            Ok(AttemptRow {
                alert_id: r.get(0)?,
                target: r.get(1)?,
                at: ts(r.get(2)?),
                ok: r.get(3)?,
                error: r.get(4)?,
            })
            },
        )
    }

    /// Mark an alert's finding as cleared without a notice (e.g. it was never sent).
    pub fn mark_resolved(&self, alert_id: i64, at: Timestamp) -> Result<()> {
        self.db.execute(
            "UPDATE alert SET resolved_at = ?2 WHERE id = ?1 AND resolved_at IS NULL",
            args![alert_id, ms(at)],
        )?;
        Ok(())
    }
}
