//! The `review`, `review_baseline` and `snooze` tables: what people recorded.

use super::db::{Value, args};
use super::{Result, Store, StoreError, ms, ts};
use crate::evaluate::{FindingKind, ReviewFact, SnoozeFact};
use crate::model::{Channel, Dimension, Origin};
use jiff::Timestamp;
use std::collections::BTreeMap;

/// What a review is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject<'a> {
    Capability(&'a str),
    Guide(&'a str),
}

/// A saved review.
#[derive(Debug, Clone)]
pub struct ReviewRow {
    pub id: i64,
    pub subject_kind: String,
    pub subject_id: String,
    pub at: Timestamp,
    pub by: String,
    pub note: Option<String>,
    /// None for reviews recorded before channels were kept.
    pub channel: Option<Channel>,
    pub remote_addr: Option<String>,
}

/// A saved snooze.
#[derive(Debug, Clone)]
pub struct SnoozeRow {
    pub capability_id: String,
    pub fact: SnoozeFact,
    pub ended_reason: Option<String>,
    /// Who set it (None when recorded before this was kept, or from the CLI).
    pub by: Option<String>,
    /// None for snoozes recorded before channels were kept.
    pub channel: Option<Channel>,
    pub remote_addr: Option<String>,
}

fn channel_of(v: Option<String>) -> Option<Channel> {
    v.and_then(|s| s.parse().ok())
}

impl Store {
    /// Record a review of a capability or guide at `at`, and re-baseline the
    /// given sources on the snapshot current now. Returns the review id.
    pub fn record_review(
        &mut self,
        subject: Subject<'_>,
        source_ids: &[String],
        by: &str,
        note: Option<&str>,
        at: Timestamp,
        origin: &Origin,
    ) -> Result<i64> {
        let (kind, id) = match subject {
            Subject::Capability(id) => ("capability", id),
            Subject::Guide(id) => ("guide", id),
        };
        let tx = self.db.begin(true)?; // nests inside `Store::batch`
        let review = self.db.insert_id(
            "INSERT INTO review (subject_kind, subject_id, at, by, note, channel, remote_addr)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id",
            args![
                kind,
                id,
                ms(at),
                by,
                note,
                origin.channel.as_str(),
                origin.remote_addr
            ],
        )?;
        self.tally.row("review");
        for sid in source_ids {
            let snap: Option<i64> = self.db.query_opt(
                "SELECT id FROM snapshot WHERE source_id = ?1 ORDER BY seq DESC LIMIT 1",
                args![sid],
                |r| r.get(0),
            )?;
            self.db.execute(
                "INSERT INTO review_baseline (review_id, source_id, snapshot_id) VALUES (?1, ?2, ?3)",
                args![review, sid, snap],
            )?;
        }
        self.commit(tx)?;
        Ok(review)
    }

    /// Reviews that apply to a capability (its own and its guide's) up to `until`.
    pub fn reviews_for(
        &self,
        capability_id: &str,
        guide_id: &str,
        until: Timestamp,
    ) -> Result<Vec<ReviewFact>> {
        self.db.query_map(
            "SELECT id, at, by, note, subject_kind, channel, remote_addr FROM review
             WHERE ((subject_kind = 'capability' AND subject_id = ?1) OR (subject_kind = 'guide' AND subject_id = ?2))
               AND at <= ?3
             ORDER BY at, id",
            args![capability_id, guide_id, ms(until)],
            |r| {
            Ok(ReviewFact {
                id: r.get(0)?,
                at: ts(r.get(1)?),
                by: r.get(2)?,
                note: r.get(3)?,
                of_guide: r.get::<String>(4)? == "guide",
                channel: channel_of(r.get(5)?),
                remote_addr: r.get(6)?,
            })
            },
        )
    }

    /// Reviews of a guide itself, up to `until`.
    pub fn guide_reviews(&self, guide_id: &str, until: Timestamp) -> Result<Vec<ReviewRow>> {
        self.reviews_where(
            "subject_kind = 'guide' AND subject_id = ?1 AND at <= ?2",
            args![guide_id, ms(until)],
        )
    }

    /// Every review, newest first (for the HTTP surface and history).
    pub fn all_reviews(&self) -> Result<Vec<ReviewRow>> {
        self.reviews_where("1 = 1", args![])
    }

    fn reviews_where(&self, cond: &str, p: &[Value]) -> Result<Vec<ReviewRow>> {
        self.db.query_map(
            &format!(
                "SELECT id, subject_kind, subject_id, at, by, note, channel, remote_addr FROM review WHERE {cond} ORDER BY at DESC, id DESC"
            ),
            p,
            |r| {
            Ok(ReviewRow {
                id: r.get(0)?,
                subject_kind: r.get(1)?,
                subject_id: r.get(2)?,
                at: ts(r.get(3)?),
                by: r.get(4)?,
                note: r.get(5)?,
                channel: channel_of(r.get(6)?),
                remote_addr: r.get(7)?,
            })
            },
        )
    }

    /// The snapshot of `source_id` recorded as reviewed by `review_id`.
    pub fn review_baseline(&self, review_id: i64, source_id: &str) -> Result<Option<Option<i64>>> {
        self.db.query_opt(
            "SELECT snapshot_id FROM review_baseline WHERE review_id = ?1 AND source_id = ?2",
            args![review_id, source_id],
            |r| r.get(0),
        )
    }

    /// Silence one finding kind of a capability until `until`.
    #[allow(clippy::too_many_arguments)] // one column each; a struct would only rename them
    pub fn record_snooze(
        &mut self,
        capability_id: &str,
        kind: FindingKind,
        at: Timestamp,
        until: Timestamp,
        reason: &str,
        seen_snapshots: &BTreeMap<String, Option<i64>>,
        seen_drift: &[Dimension],
        by: Option<&str>,
        origin: &Origin,
    ) -> Result<i64> {
        self.db.insert_id(
            "INSERT INTO snooze (capability_id, kind, at, until, reason, seen_snapshot, seen_drift, by, channel, remote_addr)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) RETURNING id",
            args![
                capability_id,
                kind.as_str(),
                ms(at),
                ms(until),
                reason,
                serde_json::to_string(seen_snapshots).expect("serialize"),
                serde_json::to_string(seen_drift).expect("serialize"),
                by,
                origin.channel.as_str(),
                origin.remote_addr,
            ],
        )
    }

    /// Mark a snooze as ended early (a new change or drift), once.
    pub fn end_snooze(&self, id: i64, at: Timestamp, reason: &str) -> Result<bool> {
        let n = self.db.execute(
            "UPDATE snooze SET ended_at = ?2, ended_reason = ?3 WHERE id = ?1 AND ended_at IS NULL",
            args![id, ms(at), reason],
        )?;
        Ok(n == 1)
    }

    /// Snoozes of a capability set at or before `until`, oldest first.
    pub fn snoozes(&self, capability_id: &str, until: Timestamp) -> Result<Vec<SnoozeRow>> {
        self.db.query_map(
            "SELECT id, kind, at, until, reason, seen_snapshot, seen_drift, ended_at, ended_reason,
                    by, channel, remote_addr
             FROM snooze WHERE capability_id = ?1 AND at <= ?2 ORDER BY at, id",
            args![capability_id, ms(until)],
            |r| {
                let kind: String = r.get(1)?;
                let seen: String = r.get(5)?;
                let drift: String = r.get(6)?;
                Ok(SnoozeRow {
                    capability_id: capability_id.to_string(),
                    fact: SnoozeFact {
                        id: r.get(0)?,
                        kind: kind.parse().unwrap_or(FindingKind::SourceChanged),
                        at: ts(r.get(2)?),
                        until: ts(r.get(3)?),
                        reason: r.get(4)?,
                        seen_snapshots: serde_json::from_str(&seen).unwrap_or_default(),
                        seen_drift: serde_json::from_str(&drift).unwrap_or_default(),
                        ended_at: r.get::<Option<i64>>(7)?.map(ts),
                    },
                    ended_reason: r.get(8)?,
                    by: r.get(9)?,
                    channel: channel_of(r.get(10)?),
                    remote_addr: r.get(11)?,
                })
            },
        )
    }

    /// Whether the action link `link_id` was used already.
    pub fn action_link_used(&self, link_id: &str) -> Result<bool> {
        Ok(self
            .db
            .query_opt(
                "SELECT 1 FROM action_link_use WHERE link_id = ?1",
                args![link_id],
                |_| Ok(()),
            )?
            .is_some())
    }

    /// Mark an action link used; false when it was used already (nothing
    /// written). Call it in the same transaction as what the link records.
    pub fn use_action_link(
        &self,
        link_id: &str,
        alert_id: i64,
        action: &str,
        owner: &str,
        at: Timestamp,
        remote_addr: Option<&str>,
    ) -> Result<bool> {
        let n = self.db.execute(
            "INSERT INTO action_link_use (link_id, alert_id, action, owner, used_at, remote_addr)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (link_id) DO NOTHING",
            args![link_id, alert_id, action, owner, ms(at), remote_addr],
        )?;
        Ok(n == 1)
    }

    /// The guide's date as read from its page, and when the page was read.
    pub fn guide_page_date(&self, guide_id: &str) -> Result<Option<jiff::civil::Date>> {
        let v: Option<String> = self
            .db
            .query_opt(
                "SELECT page_validated_on FROM guide WHERE id = ?1",
                args![guide_id],
                |r| r.get(0),
            )?
            .flatten();
        Ok(v.and_then(|s| s.parse().ok()))
    }

    /// Remember what the guide's page said (date found, or why not).
    pub fn set_guide_page(
        &self,
        guide_id: &str,
        date: Option<jiff::civil::Date>,
        outcome: &str,
        at: Timestamp,
    ) -> Result<()> {
        let n = self.db.execute(
            "UPDATE guide SET page_validated_on = coalesce(?2, page_validated_on), page_outcome = ?3, page_checked_at = ?4 WHERE id = ?1",
            args![guide_id, date.map(|d| d.to_string()), outcome, ms(at)],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("no guide \"{guide_id}\"")));
        }
        Ok(())
    }
}
