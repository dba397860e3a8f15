//! Gather the [`Facts`] about a capability as they stood at a moment, for the
//! pure evaluation in `evaluate`. Reads only.

use super::db::args;
use super::{Result, Store, ms};
use crate::config::{Capability, Registry};
use crate::evaluate::{EvidenceQuote, Facts, SourceFacts};
use crate::model::Outcome;
use jiff::Timestamp;

impl Store {
    /// Facts about `cap` as of `at` (use the current time for "now").
    pub fn facts(&self, reg: &Registry, cap: &Capability, at: Timestamp) -> Result<Facts> {
        let guide = reg
            .guide(&cap.guide)
            .expect("registry checked the guide exists");
        let claimed = self.claim_at(&cap.id, cap.pinned, at)?;
        // Without a pinned claim the claim in force is the guide's already.
        let guide_claim = if cap.pinned {
            self.claim_from(&cap.id, super::claim::FROM_GUIDE, at)?
        } else {
            claimed.clone()
        };
        let claim_quote = claimed.as_ref().and_then(|c| c.quote.clone());
        let claim = claimed
            .map(|c| c.status)
            .unwrap_or_else(|| cap.claim.clone());
        let mut declared = Vec::new();
        if let Some(d) = cap.validated_on.or(guide.validated_on) {
            declared.push(d);
        }
        if let Some(d) = self.guide_page_date(&guide.id)? {
            declared.push(d);
        }
        let reviews = self.reviews_for(&cap.id, &guide.id, at)?;
        let last_review = reviews.iter().max_by_key(|r| (r.at, r.id));
        let mut sources = Vec::new();
        for s in &cap.sources {
            let current = self.snapshot_at(&s.id, at)?;
            let baseline = match last_review {
                Some(r) => match self.review_baseline(r.id, &s.id)? {
                    Some(snap) => snap,
                    // Added to the registry after the review: its first version is the baseline.
                    None => self.first_snapshot_id(&s.id, at)?,
                },
                None => self.first_snapshot_id(&s.id, at)?,
            };
            let observed = self.latest_observation(&s.id, Some(at))?.map(|o| {
                let quotes = o
                    .evidence
                    .iter()
                    .map(|e| EvidenceQuote {
                        source: s.id.clone(),
                        url: s.url.to_string(),
                        dimension: e.dimension.clone(),
                        value: e.value.clone(),
                        quote: e.quote.clone(),
                        rule: e.rule.clone(),
                    })
                    .collect();
                (o.status, quotes, o.notes)
            });
            let (failures, last_failure, no_match) = self.failure_run(&s.id, at)?;
            sources.push(SourceFacts {
                id: s.id.clone(),
                url: s.url.to_string(),
                observed,
                current_snapshot: current.map(|c| c.id),
                baseline_snapshot: baseline,
                failures,
                last_failure,
                no_match,
            });
        }
        let snoozes = self
            .snoozes(&cap.id, at)?
            .into_iter()
            .map(|s| s.fact)
            .collect();
        Ok(Facts {
            id: cap.id.clone(),
            name: cap.name.clone(),
            guide: guide.id.clone(),
            claim,
            claim_quote,
            pinned: cap.pinned,
            guide_claim: guide_claim.map(|g| (g.status, g.quote.unwrap_or_default())),
            declared_validated_on: declared,
            max_age: cap.max_age.unwrap_or(guide.max_age),
            warn_before: cap.warn_before.unwrap_or(guide.warn_before),
            failures_before_alert: reg.settings.failures_before_alert,
            sources,
            reviews,
            snoozes,
        })
    }

    fn first_snapshot_id(&self, source_id: &str, at: Timestamp) -> Result<Option<i64>> {
        self.db.query_one(
            "SELECT min(id) FROM snapshot WHERE source_id = ?1 AND at <= ?2",
            args![source_id, ms(at)],
            |r| r.get(0),
        )
    }

    /// Consecutive failed checks ending at `at`, the latest failure, and
    /// whether the latest check found the selector matching nothing.
    fn failure_run(&self, source_id: &str, at: Timestamp) -> Result<(u32, Option<String>, bool)> {
        // Usually the latest check succeeded: read one row, and the last
        // hundred only when it failed.
        let read = |n: i64| {
            self.db.query(
                "SELECT outcome, detail FROM \"check\" WHERE source_id = ?1 AND at <= ?2
                 ORDER BY at DESC, id DESC LIMIT ?3",
                args![source_id, ms(at), n],
            )
        };
        let mut rows = read(1)?;
        let failed = match rows.first() {
            Some(r) => !Outcome::from_parts(&r.get::<String>(0)?, None).is_success(),
            None => false,
        };
        if failed {
            rows = read(100)?;
        }
        let mut run = 0;
        let mut last = None;
        let mut no_match = false;
        let mut first = true;
        for r in &rows {
            let kind: String = r.get(0)?;
            let detail: Option<String> = r.get(1)?;
            let outcome = Outcome::from_parts(&kind, detail.as_deref());
            if first {
                no_match = matches!(outcome, Outcome::NoMatch(_));
                first = false;
            }
            if outcome.is_success() {
                break;
            }
            if last.is_none() {
                last = Some(outcome.to_string());
            }
            run += 1;
        }
        Ok((run, last, no_match))
    }
}
