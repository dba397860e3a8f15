//! The `claim` table: what was claimed for each capability, one row per
//! change. A claim comes from the registry (`claim = {…}`) or from the
//! guide's own page (with the guide's sentence as its quote).

use super::db::{Row, args};
use super::{Result, Store, ms, ts};
use crate::model::{Regions, Status};
use jiff::Timestamp;

/// Where a claim came from.
pub const FROM_REGISTRY: &str = "registry";
pub const FROM_GUIDE: &str = "guide";

/// A claim as it was recorded at `at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimRow {
    pub capability_id: String,
    pub at: Timestamp,
    pub status: Status,
    /// "registry" or "guide".
    pub origin: String,
    /// The guide's sentence, for a guide claim.
    pub quote: Option<String>,
}

pub(crate) fn parse_status(stage: &str, access: &str, regions: &str) -> Status {
    Status {
        stage: stage.parse().unwrap_or(crate::model::Stage::Unknown),
        access: access.parse().unwrap_or(crate::model::Access::Unknown),
        regions: serde_json::from_str::<Regions>(regions).unwrap_or_default(),
    }
}

/// A row of `SELECT at, stage, access, regions, origin, quote FROM claim`.
fn claim_row(capability_id: &str, r: &Row) -> Result<ClaimRow> {
    let stage: String = r.get(1)?;
    let access: String = r.get(2)?;
    let regions: String = r.get(3)?;
    Ok(ClaimRow {
        capability_id: capability_id.to_string(),
        at: ts(r.get(0)?),
        status: parse_status(&stage, &access, &regions),
        origin: r.get(4)?,
        quote: r.get(5)?,
    })
}

impl Store {
    /// Every claim of a capability, oldest first, from both origins.
    pub fn claims(&self, capability_id: &str) -> Result<Vec<ClaimRow>> {
        self.db.query_map(
            "SELECT at, stage, access, regions, origin, quote FROM claim WHERE capability_id = ?1 ORDER BY at, id",
            args![capability_id],
            |r| claim_row(capability_id, r),
        )
    }

    /// The latest claim of one origin recorded at or before `at`.
    pub fn claim_from(
        &self,
        capability_id: &str,
        origin: &str,
        at: Timestamp,
    ) -> Result<Option<ClaimRow>> {
        self.db.query_opt(
            "SELECT at, stage, access, regions, origin, quote FROM claim
             WHERE capability_id = ?1 AND origin = ?2 AND at <= ?3
             ORDER BY at DESC, id DESC LIMIT 1",
            args![capability_id, origin, ms(at)],
            |r| claim_row(capability_id, r),
        )
    }

    /// The claim in force at `at`: the registry's when it pins one, else
    /// what the guide's page said.
    pub fn claim_at(
        &self,
        capability_id: &str,
        pinned: bool,
        at: Timestamp,
    ) -> Result<Option<ClaimRow>> {
        self.claim_from(
            capability_id,
            if pinned { FROM_REGISTRY } else { FROM_GUIDE },
            at,
        )
    }

    /// Record what the guide's page claims for a capability, when it
    /// differs from what it last claimed. Returns whether a row was written.
    pub fn record_guide_claim(
        &self,
        capability_id: &str,
        status: &Status,
        quote: Option<&str>,
        at: Timestamp,
    ) -> Result<bool> {
        let last = self.claim_from(capability_id, FROM_GUIDE, Timestamp::MAX)?;
        if last.is_some_and(|l| &l.status == status) {
            return Ok(false);
        }
        self.db.execute(
            "INSERT INTO claim (capability_id, at, stage, access, regions, origin, quote)
             VALUES (?1, ?2, ?3, ?4, ?5, 'guide', ?6)",
            args![
                capability_id,
                ms(at),
                status.stage.as_str(),
                status.access.as_str(),
                serde_json::to_string(&status.regions).expect("regions serialize"),
                quote,
            ],
        )?;
        Ok(true)
    }
}
