//! The `observation` table: what each source said about its capability. A row
//! is written only when the inferred status of that source changes.

use super::claim::parse_status;
use super::db::{Row, args};
use super::{Result, Store, ms, ts};
use crate::model::Status;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// One quoted piece of evidence, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StoredEvidence {
    #[serde(default)]
    pub dimension: String,
    #[serde(default)]
    pub value: String,
    pub quote: String,
    #[serde(default)]
    pub rule: String,
}

/// An observation to save.
#[derive(Debug, Clone)]
pub struct NewObservation<'a> {
    pub capability_id: &'a str,
    pub source_id: &'a str,
    pub snapshot_id: Option<i64>,
    pub at: Timestamp,
    pub status: &'a Status,
    pub evidence: &'a [StoredEvidence],
    pub notes: &'a [String],
    /// The rules' version when this re-reads a stored version (not a page change).
    pub reread_rules: Option<u32>,
}

/// A saved observation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservationRow {
    pub id: i64,
    pub capability_id: String,
    pub source_id: String,
    pub snapshot_id: Option<i64>,
    pub at: Timestamp,
    pub status: Status,
    pub evidence: Vec<StoredEvidence>,
    pub notes: Vec<String>,
    /// Set when the row re-read a stored version with new rules: their version.
    pub reread_rules: Option<u32>,
}

pub(super) const SELECT: &str = "SELECT id, capability_id, source_id, snapshot_id, at, stage, access, regions, evidence, notes, reread_rules FROM observation";

pub(super) fn row(r: &Row) -> Result<ObservationRow> {
    let stage: String = r.get(5)?;
    let access: String = r.get(6)?;
    let regions: String = r.get(7)?;
    let evidence: String = r.get(8)?;
    let notes: String = r.get(9)?;
    Ok(ObservationRow {
        id: r.get(0)?,
        capability_id: r.get(1)?,
        source_id: r.get(2)?,
        snapshot_id: r.get(3)?,
        at: ts(r.get(4)?),
        status: parse_status(&stage, &access, &regions),
        evidence: serde_json::from_str(&evidence).unwrap_or_default(),
        notes: serde_json::from_str(&notes).unwrap_or_default(),
        reread_rules: r.get(10)?,
    })
}

impl Store {
    /// Save an observation unless the source's latest one has the same status.
    /// Returns the new row's id when one was written.
    pub fn observe(&mut self, o: &NewObservation<'_>) -> Result<Option<i64>> {
        let last = self.latest_observation(o.source_id, None)?;
        if last.as_ref().is_some_and(|l| &l.status == o.status) {
            return Ok(None);
        }
        let id = self.db.insert_id(
            "INSERT INTO observation (capability_id, source_id, snapshot_id, at, stage, access, regions, evidence, notes, reread_rules)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) RETURNING id",
            args![
                o.capability_id,
                o.source_id,
                o.snapshot_id,
                ms(o.at),
                o.status.stage.as_str(),
                o.status.access.as_str(),
                serde_json::to_string(&o.status.regions).expect("serialize"),
                serde_json::to_string(o.evidence).expect("serialize"),
                serde_json::to_string(o.notes).expect("serialize"),
                o.reread_rules,
            ],
        )?;
        Ok(Some(id))
    }

    /// The latest observation from a source, as of `at` (None: now).
    pub fn latest_observation(
        &self,
        source_id: &str,
        at: Option<Timestamp>,
    ) -> Result<Option<ObservationRow>> {
        self.db.query_opt(
            &format!(
                "{SELECT} WHERE source_id = ?1 AND at <= ?2 ORDER BY at DESC, id DESC LIMIT 1"
            ),
            args![source_id, at.map(ms).unwrap_or(i64::MAX)],
            row,
        )
    }

    /// Observations of a capability within [since, until], oldest first.
    pub fn observations(
        &self,
        capability_id: &str,
        since: Option<Timestamp>,
        until: Option<Timestamp>,
        limit: Option<usize>,
    ) -> Result<Vec<ObservationRow>> {
        self.db.query_map(
            &format!(
                "{SELECT} WHERE capability_id = ?1 AND at >= ?2 AND at <= ?3 ORDER BY at, id LIMIT ?4"
            ),
            args![
                capability_id,
                since.map(ms).unwrap_or(i64::MIN),
                until.map(ms).unwrap_or(i64::MAX),
                limit.map_or(i64::MAX, |l| l as i64)
            ],
            row,
        )
    }
}
