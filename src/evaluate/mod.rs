//! Evaluate stage: pure functions of gathered facts and `now`.
//!
//! In: [`Facts`] about one capability (its claim, what each source last said,
//! checks, reviews, snoozes, validation dates) and the time. Out: an
//! [`Assessment`] — observed status with evidence, drift, freshness, flags and
//! the findings that need a person. Nothing here reads the clock or the store;
//! `infer` turns one page into a status with quoted evidence.

pub mod freshness;
pub mod infer;

pub use freshness::{Freshness, State};

use crate::model::{Access, Dimension, Regions, Stage, Status};
use jiff::Timestamp;
use jiff::civil::Date;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// What one source last said and how it stands.
#[derive(Debug, Clone, Default)]
pub struct SourceFacts {
    pub id: String,
    pub url: String,
    /// The latest observation from this source: status, evidence, notes.
    pub observed: Option<(Status, Vec<EvidenceQuote>, Vec<String>)>,
    /// The current snapshot id, if the source was ever read.
    pub current_snapshot: Option<i64>,
    /// The snapshot that was current at the last review (or the first one
    /// seen, when there was no review yet).
    pub baseline_snapshot: Option<i64>,
    /// Consecutive failed checks, and the latest failure's description.
    pub failures: u32,
    pub last_failure: Option<String>,
    /// The selector matched nothing on the latest check.
    pub no_match: bool,
}

/// One quoted sentence behind an observation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EvidenceQuote {
    pub source: String,
    pub url: String,
    pub dimension: String,
    pub value: String,
    pub quote: String,
    pub rule: String,
}

/// A recorded review that applies to the capability (its own or its guide's).
#[derive(Debug, Clone)]
pub struct ReviewFact {
    pub id: i64,
    pub at: Timestamp,
    pub by: String,
    pub note: Option<String>,
    pub of_guide: bool,
    /// Where it was recorded (None: before channels were kept).
    pub channel: Option<crate::model::Channel>,
    pub remote_addr: Option<String>,
}

/// An active or past snooze.
#[derive(Debug, Clone)]
pub struct SnoozeFact {
    pub id: i64,
    pub kind: FindingKind,
    pub at: Timestamp,
    pub until: Timestamp,
    pub reason: String,
    /// Source → snapshot current when the snooze was set.
    pub seen_snapshots: BTreeMap<String, Option<i64>>,
    pub seen_drift: Vec<Dimension>,
    pub ended_at: Option<Timestamp>,
}

/// Everything known about one capability at one moment.
#[derive(Debug, Clone)]
pub struct Facts {
    pub id: String,
    pub name: String,
    pub guide: String,
    pub claim: Status,
    /// The guide's sentence behind the claim, when the claim is the guide's.
    pub claim_quote: Option<String>,
    /// Whether the registry pins the claim.
    pub pinned: bool,
    /// What the guide's page claims (status, sentence), if it was read.
    pub guide_claim: Option<(Status, String)>,
    /// Dates that count as validation: registry, guide page.
    pub declared_validated_on: Vec<Date>,
    pub max_age: Duration,
    pub warn_before: Duration,
    pub failures_before_alert: u32,
    pub sources: Vec<SourceFacts>,
    pub reviews: Vec<ReviewFact>,
    pub snoozes: Vec<SnoozeFact>,
}

/// The kinds of findings.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    Expired,
    DueSoon,
    SourceChanged,
    Drift,
    Unreadable,
    /// The registry pins a claim that the guide's own text contradicts.
    ClaimMismatch,
}

impl FindingKind {
    pub const ALL: [FindingKind; 6] = [
        FindingKind::Expired,
        FindingKind::DueSoon,
        FindingKind::SourceChanged,
        FindingKind::Drift,
        FindingKind::Unreadable,
        FindingKind::ClaimMismatch,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::Expired => "expired",
            FindingKind::DueSoon => "due_soon",
            FindingKind::SourceChanged => "source_changed",
            FindingKind::Drift => "drift",
            FindingKind::Unreadable => "unreadable",
            FindingKind::ClaimMismatch => "claim_mismatch",
        }
    }
}

impl std::str::FromStr for FindingKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        FindingKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown finding kind `{s}`; use one of: {}",
                    FindingKind::ALL.map(|k| k.as_str()).join(", ")
                )
            })
    }
}

/// Kinds as "a, b, c" for messages.
pub fn kinds_list(kinds: &[FindingKind]) -> String {
    kinds
        .iter()
        .map(|k| k.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

impl std::fmt::Display for FindingKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something wrong now that needs a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub kind: FindingKind,
    /// What caused it, so a repeat of the same cause is recognised: the
    /// expiry date, the snapshot ids, the drifting values, the failure count start.
    pub cause: String,
    /// One plain sentence for people.
    pub summary: String,
    /// Silenced by an active snooze (still listed, not alerted).
    pub snoozed: bool,
}

/// The observed status of a capability, combined across its sources.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Observed {
    pub stage: Stage,
    pub access: Access,
    pub regions: Regions,
    pub evidence: Vec<EvidenceQuote>,
    pub notes: Vec<String>,
}

impl Observed {
    pub fn status(&self) -> Status {
        Status {
            stage: self.stage,
            access: self.access,
            regions: self.regions.clone(),
        }
    }
}

/// Everything a reader needs about one capability.
#[derive(Debug, Clone, Serialize)]
pub struct Assessment {
    pub id: String,
    pub name: String,
    pub guide: String,
    pub claim: Status,
    /// "registry" when the registry pins the claim, else "guide".
    pub claim_origin: &'static str,
    /// The guide's sentence behind a guide claim.
    pub claim_quote: Option<String>,
    pub observed: Observed,
    pub drift: Vec<Dimension>,
    #[serde(flatten)]
    pub freshness: Freshness,
    pub flags: Vec<FindingKind>,
    pub findings: Vec<Finding>,
    pub last_review: Option<ReviewSummary>,
    /// Snoozes that a new change or new drift ended early, with why (to record).
    #[serde(skip)]
    pub snoozes_ended: Vec<(i64, String)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReviewSummary {
    pub at: Timestamp,
    pub by: String,
    pub note: Option<String>,
    /// Where it was recorded (None: before channels were kept).
    pub channel: Option<crate::model::Channel>,
}

/// Combine what each source said. Per dimension: sources that know agree →
/// that value; known values disagree → `unknown` with every competing quote.
pub fn combine(sources: &[SourceFacts]) -> Observed {
    let mut stages: BTreeMap<Stage, Vec<&str>> = BTreeMap::new();
    let mut access: BTreeMap<Access, Vec<&str>> = BTreeMap::new();
    let mut regions: Vec<&Regions> = Vec::new();
    let mut evidence = Vec::new();
    let mut notes = Vec::new();
    for s in sources {
        let Some((status, quotes, n)) = &s.observed else {
            continue;
        };
        if status.stage != Stage::Unknown {
            stages.entry(status.stage).or_default().push(&s.id);
        }
        if status.access != Access::Unknown {
            access.entry(status.access).or_default().push(&s.id);
        }
        if status.regions.is_known() && !regions.contains(&&status.regions) {
            regions.push(&status.regions);
        }
        evidence.extend(quotes.iter().cloned());
        notes.extend(n.iter().map(|n| format!("{}: {n}", s.id)));
    }
    let stage = pick(&stages, Stage::Unknown, "stage", &mut notes);
    let access = pick(&access, Access::Unknown, "access", &mut notes);
    let regions = match regions.as_slice() {
        [] => Regions::default(),
        [one] => (*one).clone(),
        _ => {
            notes.push("sources disagree on regions; observed regions left unknown".to_string());
            Regions::default()
        }
    };
    Observed {
        stage,
        access,
        regions,
        evidence,
        notes,
    }
}

fn pick<T: Copy + Ord + std::fmt::Display>(
    seen: &BTreeMap<T, Vec<&str>>,
    unknown: T,
    what: &str,
    notes: &mut Vec<String>,
) -> T {
    match seen.len() {
        0 => unknown,
        1 => *seen.keys().next().expect("one"),
        _ => {
            let parts: Vec<String> = seen
                .iter()
                .map(|(v, ids)| format!("{v} ({})", ids.join(", ")))
                .collect();
            notes.push(format!(
                "sources disagree on {what}: {}; observed {what} left unknown",
                parts.join(" vs ")
            ));
            unknown
        }
    }
}

/// Assess one capability at `now`.
pub fn assess(f: &Facts, now: Timestamp) -> Assessment {
    let observed = combine(&f.sources);
    let drift = f.claim.drift_from(&observed.status());
    let last_review = f.reviews.iter().max_by_key(|r| r.at);
    let mut dates = f.declared_validated_on.clone();
    if let Some(r) = last_review {
        dates.push(r.at.to_zoned_datetime(jiff::tz::TimeZone::UTC).date());
    }
    let fresh = freshness::freshness(dates.iter().max().copied(), f.max_age, f.warn_before, now);

    let mut findings = Vec::new();
    match fresh.state {
        State::Expired => findings.push(Finding {
            kind: FindingKind::Expired,
            cause: fresh
                .expires_on
                .map(|d| d.to_string())
                .unwrap_or_else(|| "never validated".into()),
            summary: match (fresh.validated_on, fresh.expires_on) {
                (Some(v), Some(e)) => format!(
                    "\"{}\" was last validated on {v}; that expired on {e} ({} days ago)",
                    f.name,
                    -fresh.days_left.unwrap_or(0)
                ),
                _ => format!("\"{}\" has never been validated", f.name),
            },
            snoozed: false,
        }),
        State::DueSoon => findings.push(Finding {
            kind: FindingKind::DueSoon,
            cause: fresh.expires_on.map(|d| d.to_string()).unwrap_or_default(),
            summary: format!(
                "\"{}\" must be validated again by {} ({} days left)",
                f.name,
                fresh.expires_on.map(|d| d.to_string()).unwrap_or_default(),
                fresh.days_left.unwrap_or(0)
            ),
            snoozed: false,
        }),
        State::Fresh => {}
    }
    let changed: Vec<&SourceFacts> = f
        .sources
        .iter()
        .filter(|s| {
            s.current_snapshot.is_some()
                && s.current_snapshot != s.baseline_snapshot
                && s.baseline_snapshot.is_some()
        })
        .collect();
    if !changed.is_empty() {
        let cause: Vec<String> = changed
            .iter()
            .map(|s| {
                format!(
                    "{}@{}:{}",
                    s.id,
                    s.baseline_snapshot.unwrap_or(0),
                    s.current_snapshot.unwrap_or(0)
                )
            })
            .collect();
        let since = if last_review.is_some() {
            "the last review"
        } else {
            "it was first checked"
        };
        findings.push(Finding {
            kind: FindingKind::SourceChanged,
            cause: cause.join(","),
            summary: format!(
                "{} changed since {since}: {}",
                if changed.len() == 1 {
                    "a source"
                } else {
                    "sources"
                },
                changed
                    .iter()
                    .map(|s| s.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            snoozed: false,
        });
    }
    if !drift.is_empty() {
        let claim = &f.claim;
        let obs = observed.status();
        let parts: Vec<String> = drift
            .iter()
            .map(|d| match d {
                Dimension::Stage => {
                    format!("stage: claimed {}, docs say {}", claim.stage, obs.stage)
                }
                Dimension::Access => {
                    format!("access: claimed {}, docs say {}", claim.access, obs.access)
                }
                Dimension::Regions => format!(
                    "regions: claimed {}, docs say {}",
                    claim.regions, obs.regions
                ),
            })
            .collect();
        // A status that moved because the rules changed, not the page, says so.
        let reread = observed
            .notes
            .iter()
            .find_map(|n| n.split_once(": re-read with rules ").map(|(_, r)| r))
            .and_then(|r| r.split(':').next())
            .map(|v| format!(" (re-read with rules {v}: the stored page was read again; the page itself did not change)"))
            .unwrap_or_default();
        // The guide's sentence to fix; the docs' sentences travel beside it
        // as the finding's evidence ("Docs say: …" in the digest).
        let sides = f
            .claim_quote
            .as_ref()
            .map(|q| format!(". Guide says: “{q}”"))
            .unwrap_or_default();
        findings.push(Finding {
            kind: FindingKind::Drift,
            cause: format!("{}|{}|{}", obs.stage, obs.access, obs.regions),
            summary: format!(
                "the docs contradict the claim for \"{}\" — {}{reread}{sides}",
                f.name,
                parts.join("; ")
            ),
            snoozed: false,
        });
    }
    if let Some((guide, quote)) = f.guide_claim.as_ref().filter(|_| f.pinned) {
        // Both sides must state a dimension for it to disagree.
        let differ: Vec<String> = f
            .claim
            .drift_from(guide)
            .into_iter()
            .filter(|d| match d {
                Dimension::Stage => f.claim.stage != crate::model::Stage::Unknown,
                Dimension::Access => f.claim.access != crate::model::Access::Unknown,
                Dimension::Regions => true,
            })
            .map(|d| match d {
                Dimension::Stage => format!(
                    "the registry pins {}; the guide now says {}",
                    f.claim.stage, guide.stage
                ),
                Dimension::Access => format!(
                    "the registry pins {}; the guide now says {}",
                    f.claim.access, guide.access
                ),
                Dimension::Regions => format!(
                    "the registry pins regions {}; the guide now says {}",
                    f.claim.regions, guide.regions
                ),
            })
            .collect();
        if !differ.is_empty() {
            findings.push(Finding {
                kind: FindingKind::ClaimMismatch,
                cause: format!("{}|{}|{}", guide.stage, guide.access, guide.regions),
                summary: format!(
                    "the registry and the guide disagree on \"{}\" — {} — update one of them. Guide says: “{}”",
                    f.name,
                    differ.join("; "),
                    quote
                ),
                snoozed: false,
            });
        }
    }
    let unreadable: Vec<&SourceFacts> = f
        .sources
        .iter()
        .filter(|s| s.no_match || s.failures >= f.failures_before_alert.max(1))
        .collect();
    if !unreadable.is_empty() {
        findings.push(Finding {
            kind: FindingKind::Unreadable,
            cause: unreadable
                .iter()
                .map(|s| s.id.as_str())
                .collect::<Vec<_>>()
                .join(","),
            summary: unreadable
                .iter()
                .map(|s| {
                    format!(
                        "{} cannot be read ({} failed check(s) in a row{})",
                        s.id,
                        s.failures,
                        s.last_failure
                            .as_ref()
                            .map(|e| format!(", last: {e}"))
                            .unwrap_or_default()
                    )
                })
                .collect::<Vec<_>>()
                .join("; "),
            snoozed: false,
        });
    }
    for finding in &mut findings {
        finding.snoozed = active_snooze(f, finding.kind, &drift, now).is_some();
    }
    let flags = findings.iter().map(|x| x.kind).collect();
    let snoozes_ended = f
        .snoozes
        .iter()
        .filter(|s| s.ended_at.is_none() && s.at <= now && now < s.until)
        .filter_map(|s| early_end_reason(s, f, &drift).map(|r| (s.id, r)))
        .collect();
    Assessment {
        id: f.id.clone(),
        name: f.name.clone(),
        guide: f.guide.clone(),
        claim: f.claim.clone(),
        claim_origin: if f.pinned { "registry" } else { "guide" },
        claim_quote: f.claim_quote.clone(),
        observed,
        drift,
        freshness: fresh,
        flags,
        findings,
        last_review: last_review.map(|r| ReviewSummary {
            at: r.at,
            by: r.by.clone(),
            note: r.note.clone(),
            channel: r.channel,
        }),
        snoozes_ended,
    }
}

/// The snooze silencing `kind` at `now`, if any. A snooze ends at its date,
/// when ended by hand, or early when a source has a new version since it was
/// set or the drift it saw changed.
pub fn active_snooze<'a>(
    f: &'a Facts,
    kind: FindingKind,
    drift: &[Dimension],
    now: Timestamp,
) -> Option<&'a SnoozeFact> {
    f.snoozes.iter().find(|s| {
        s.kind == kind
            && s.at <= now
            && now < s.until
            && s.ended_at.is_none_or(|e| e > now)
            && !ended_early(s, f, drift)
    })
}

/// A new change or new drift since the snooze was set.
pub fn ended_early(s: &SnoozeFact, f: &Facts, drift: &[Dimension]) -> bool {
    early_end_reason(s, f, drift).is_some()
}

fn early_end_reason(s: &SnoozeFact, f: &Facts, drift: &[Dimension]) -> Option<String> {
    if let Some(src) = f
        .sources
        .iter()
        .find(|src| s.seen_snapshots.get(&src.id).copied().flatten() != src.current_snapshot)
    {
        return Some(format!("{} changed again", src.id));
    }
    let new: Vec<&str> = drift
        .iter()
        .filter(|d| !s.seen_drift.contains(d))
        .map(|d| d.as_str())
        .collect();
    (!new.is_empty()).then(|| format!("new drift on {}", new.join(", ")))
}

/// Everything known about one guide itself.
#[derive(Debug, Clone)]
pub struct GuideFacts {
    pub id: String,
    pub title: String,
    pub owners: Vec<String>,
    /// Registry date and the date read from the guide's page.
    pub declared_validated_on: Vec<Date>,
    /// When the guide itself was last reviewed.
    pub last_review: Option<Timestamp>,
    pub max_age: Duration,
    pub warn_before: Duration,
}

/// A guide's freshness and what its capabilities need.
#[derive(Debug, Clone, Serialize)]
pub struct GuideAssessment {
    pub id: String,
    pub title: String,
    pub owners: Vec<String>,
    #[serde(flatten)]
    pub freshness: Freshness,
    /// The guide's own state plus any capability that is expired, drifting or changed.
    pub flags: Vec<FindingKind>,
    pub capabilities: Vec<String>,
    pub findings: Vec<Finding>,
}

/// Assess a guide from its own facts and its capabilities' assessments. A
/// capability whose expiry is the guide's own is folded into the guide's
/// finding (one message, not one per capability).
pub fn assess_guide(g: &GuideFacts, caps: &mut [Assessment], now: Timestamp) -> GuideAssessment {
    let mut dates = g.declared_validated_on.clone();
    if let Some(r) = g.last_review {
        dates.push(r.to_zoned_datetime(jiff::tz::TimeZone::UTC).date());
    }
    let fresh = freshness::freshness(dates.iter().max().copied(), g.max_age, g.warn_before, now);
    let mut findings = Vec::new();
    let mine: Vec<&mut Assessment> = caps.iter_mut().filter(|c| c.guide == g.id).collect();
    let ids: Vec<String> = mine.iter().map(|c| c.id.clone()).collect();
    let kind = match fresh.state {
        State::Expired => Some(FindingKind::Expired),
        State::DueSoon => Some(FindingKind::DueSoon),
        State::Fresh => None,
    };
    let mut flags: Vec<FindingKind> = kind.into_iter().collect();
    let mut folded = Vec::new();
    for c in mine {
        for f in &c.flags {
            if matches!(
                f,
                FindingKind::Expired | FindingKind::Drift | FindingKind::SourceChanged
            ) && !flags.contains(f)
            {
                flags.push(*f);
            }
        }
        if kind.is_some() && c.freshness.expires_on == fresh.expires_on {
            let before = c.findings.len();
            c.findings.retain(|f| Some(f.kind) != kind);
            if c.findings.len() != before {
                folded.push(c.name.clone());
            }
        }
    }
    flags.sort();
    if let Some(kind) = kind {
        let e = fresh
            .expires_on
            .map(|d| d.to_string())
            .unwrap_or_else(|| "never validated".into());
        let v = fresh
            .validated_on
            .map(|d| d.to_string())
            .unwrap_or_else(|| "never".into());
        let when = match kind {
            FindingKind::Expired => format!(
                "expired on {e} ({} days ago)",
                -fresh.days_left.unwrap_or(0)
            ),
            _ => format!(
                "expires on {e} ({} days left)",
                fresh.days_left.unwrap_or(0)
            ),
        };
        let covers = if folded.is_empty() {
            String::new()
        } else {
            format!("; this covers {}", folded.join(", "))
        };
        findings.push(Finding {
            kind,
            cause: e,
            summary: format!(
                "guide \"{}\" was last validated on {v}; that {when}{covers}",
                g.title
            ),
            snoozed: false,
        });
    }
    GuideAssessment {
        id: g.id.clone(),
        title: g.title.clone(),
        owners: g.owners.clone(),
        freshness: fresh,
        flags,
        capabilities: ids,
        findings,
    }
}

#[cfg(test)]
mod tests;
