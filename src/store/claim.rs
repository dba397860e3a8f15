//! The `claim` table: what the registry claimed, one row per change of claim.

use super::{Result, Store, ts};
use crate::model::{Regions, Status};
use jiff::Timestamp;
use rusqlite::params;

/// A claim as it was recorded at `at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimRow {
    pub capability_id: String,
    pub at: Timestamp,
    pub status: Status,
}

pub(crate) fn parse_status(stage: &str, access: &str, regions: &str) -> Status {
    Status {
        stage: stage.parse().unwrap_or(crate::model::Stage::Unknown),
        access: access.parse().unwrap_or(crate::model::Access::Unknown),
        regions: serde_json::from_str::<Regions>(regions).unwrap_or_default(),
    }
}

impl Store {
    /// Every claim of a capability, oldest first.
    pub fn claims(&self, capability_id: &str) -> Result<Vec<ClaimRow>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT at, stage, access, regions FROM claim WHERE capability_id = ?1 ORDER BY at, id",
        )?;
        let rows = stmt.query_map(params![capability_id], |r| {
            let stage: String = r.get(1)?;
            let access: String = r.get(2)?;
            let regions: String = r.get(3)?;
            Ok(ClaimRow {
                capability_id: capability_id.to_string(),
                at: ts(r.get(0)?),
                status: parse_status(&stage, &access, &regions),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The claim in force at `at` (the latest recorded at or before it).
    pub fn claim_at(&self, capability_id: &str, at: Timestamp) -> Result<Option<ClaimRow>> {
        Ok(self
            .claims(capability_id)?
            .into_iter()
            .rev()
            .find(|c| c.at <= at))
    }
}
