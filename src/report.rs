//! Shared read views for people and machines: the status row JSON, the
//! history timeline, and time parsing for queries. Used by the CLI and the
//! HTTP surface so both answer the same way.

use crate::config::Registry;
use crate::evaluate::{Assessment, Finding, FindingKind, State as FreshState};
use crate::model::{Access, Dimension, Outcome, Regions, Stage, Status};
use crate::store::{Store, StoreError, StoredEvidence};
use jiff::Timestamp;
use serde::Serialize;
use serde_json::Value;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

/// A time as RFC 3339 with milliseconds, UTC.
pub fn rfc3339(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// `--since`, `--until`, `--as-of`: RFC 3339 (`2026-11-27T10:00:00Z`), a date
/// (`2026-11-27`: its start for `since`, its end otherwise) or `now`.
pub fn parse_time(s: &str, end_of_day: bool) -> Result<Timestamp, String> {
    let t = s.trim();
    if t == "now" {
        return Ok(Timestamp::now());
    }
    if let Ok(ts) = t.parse::<Timestamp>() {
        return Ok(ts);
    }
    if let Some(d) = crate::config::parse_date(t) {
        let dt = if end_of_day {
            d.to_datetime(jiff::civil::time(23, 59, 59, 999_999_999))
        } else {
            d.to_datetime(jiff::civil::time(0, 0, 0, 0))
        };
        return dt
            .to_zoned_datetime(jiff::tz::TimeZone::UTC)
            .map(|z| z.timestamp())
            .map_err(|e| e.to_string());
    }
    Err(format!(
        "\"{s}\" is not a time; write a date (2026-11-27), an RFC 3339 time (2026-11-27T10:00:00Z) or \"now\""
    ))
}

/// A claim and where it came from.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ClaimView {
    #[serde(flatten)]
    pub status: Status,
    /// "registry" (typed into sources.toml) or "guide" (read from the guide's page).
    pub origin: String,
    /// The guide's sentence, for a claim read from the guide.
    pub quote: Option<String>,
}

/// One status row for machines (the DESIGN contract plus extras): what
/// `status --json` prints and `GET /api/v1/capabilities` answers.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StatusRow {
    pub id: String,
    pub name: String,
    pub guide: String,
    pub claim: ClaimView,
    pub observed: ObservedRow,
    /// The dimensions on which the observed status is known and differs from the claim.
    pub drift: Vec<Dimension>,
    /// The latest of the registry's date, the guide page's and the latest review.
    #[schema(format = Date, required = true)]
    pub validated_on: Option<String>,
    #[schema(format = Date, required = true)]
    pub expires_on: Option<String>,
    /// Days until `expires_on`; negative when overdue.
    pub days_left: Option<i64>,
    pub state: FreshState,
    pub flags: Vec<FindingKind>,
    pub findings: Vec<FindingRow>,
    pub last_review: Option<LastReview>,
}

/// The observed status, combined across a capability's sources.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ObservedRow {
    pub stage: Stage,
    pub access: Access,
    pub regions: Regions,
    pub evidence: Vec<EvidenceRow>,
    pub notes: Vec<String>,
}

/// One quoted sentence behind an observed status.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EvidenceRow {
    pub source: String,
    pub url: String,
    /// The sentence from the page; untrusted text.
    pub quote: String,
    /// `stage`, `access` or `regions`.
    pub dimension: String,
    pub value: String,
    pub rule: String,
}

/// Something wrong now that needs a person.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FindingRow {
    pub kind: FindingKind,
    /// What caused it (the expiry date, the snapshot ids, the drifting values…).
    pub cause: String,
    pub summary: String,
    /// Silenced by an active snooze.
    pub snoozed: bool,
}

/// The latest review that applies to a capability.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LastReview {
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    pub by: String,
    pub note: Option<String>,
    /// `cli`, `api`, `web` or `mail-link`; null when recorded before channels were kept.
    pub channel: Option<crate::model::Channel>,
}

impl FindingRow {
    pub fn new(f: &Finding) -> Self {
        FindingRow {
            kind: f.kind,
            cause: f.cause.clone(),
            summary: f.summary.clone(),
            snoozed: f.snoozed,
        }
    }
}

/// The status row of an assessment.
pub fn status_row(a: &Assessment) -> StatusRow {
    let o = &a.observed;
    let f = &a.freshness;
    StatusRow {
        id: a.id.clone(),
        name: a.name.clone(),
        guide: a.guide.clone(),
        claim: ClaimView {
            status: a.claim.clone(),
            origin: a.claim_origin.to_string(),
            quote: a.claim_quote.clone(),
        },
        observed: ObservedRow {
            stage: o.stage,
            access: o.access,
            regions: o.regions.clone(),
            evidence: o
                .evidence
                .iter()
                .map(|e| EvidenceRow {
                    source: e.source.clone(),
                    url: e.url.clone(),
                    quote: e.quote.clone(),
                    dimension: e.dimension.clone(),
                    value: e.value.clone(),
                    rule: e.rule.clone(),
                })
                .collect(),
            notes: o.notes.clone(),
        },
        drift: a.drift.clone(),
        validated_on: f.validated_on.map(|d| d.to_string()),
        expires_on: f.expires_on.map(|d| d.to_string()),
        days_left: f.days_left,
        state: f.state,
        flags: a.flags.clone(),
        findings: a.findings.iter().map(FindingRow::new).collect(),
        last_review: a.last_review.as_ref().map(|r| LastReview {
            at: r.at,
            by: r.by.clone(),
            note: r.note.clone(),
            channel: r.channel,
        }),
    }
}

/// [`status_row`] as JSON.
pub fn status_json(a: &Assessment) -> Value {
    serde_json::to_value(status_row(a)).unwrap_or_default()
}

/// The OpenAPI schemas of evaluation's enums, from their own names (`ALL`,
/// `as_str`), so a new variant cannot be left out of the document.
fn string_enum(names: impl IntoIterator<Item = &'static str>) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(names))
        .into()
}

impl PartialSchema for FindingKind {
    fn schema() -> RefOr<Schema> {
        string_enum(FindingKind::ALL.map(FindingKind::as_str))
    }
}

impl ToSchema for FindingKind {}

impl PartialSchema for FreshState {
    fn schema() -> RefOr<Schema> {
        // Exhaustive: a new state fails to compile here until it is listed.
        let listed = |s: FreshState| match s {
            FreshState::Fresh | FreshState::DueSoon | FreshState::Expired => s.as_str(),
        };
        string_enum([FreshState::Fresh, FreshState::DueSoon, FreshState::Expired].map(listed))
    }
}

impl ToSchema for FreshState {
    fn name() -> std::borrow::Cow<'static, str> {
        "FreshState".into()
    }
}

pub fn excerpt(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max).collect();
        out.push('…');
        out
    }
}

/// One history event: what `history --json` prints and
/// `GET /api/v1/capabilities/{id}/history` answers.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Event {
    #[schema(format = DateTime)]
    pub at: String,
    /// One plain sentence for people.
    pub summary: String,
    #[serde(flatten)]
    pub detail: EventDetail,
}

/// What happened, by `kind`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventDetail {
    /// The registry's claim, as first seen or changed.
    Claim {
        stage: Stage,
        access: Access,
        regions: Regions,
        /// "registry" or "guide".
        origin: String,
        /// The guide's sentence, for a claim read from the guide.
        quote: Option<String>,
    },
    /// What one source said, when that changed.
    Observation {
        source: String,
        stage: Stage,
        access: Access,
        regions: Regions,
        /// The sentence behind the stage (or the first one); untrusted text.
        quote: String,
        evidence: Vec<StoredEvidence>,
        notes: Vec<String>,
        /// The snapshot number it was read from.
        snapshot: Option<i64>,
        /// Set when this re-read a stored version with new rules (their
        /// version), rather than reading a changed page.
        #[serde(skip_serializing_if = "Option::is_none")]
        reread_rules: Option<u32>,
    },
    /// A new version of a source.
    Change {
        source: String,
        change_id: i64,
        /// The snapshot numbers before and after.
        from: i64,
        to: i64,
        added: i64,
        removed: i64,
    },
    /// A run of identical failed checks of one source.
    CheckFailed {
        source: String,
        outcome: String,
        detail: String,
        count: u32,
        #[schema(format = DateTime)]
        until: String,
    },
    /// A person validated the capability or its guide.
    Review {
        by: String,
        note: Option<String>,
        of_guide: bool,
        /// `cli`, `api`, `web` or `mail-link`; null when recorded before channels were kept.
        channel: Option<crate::model::Channel>,
        /// The remote address, for web and mail-link ones.
        remote_addr: Option<String>,
    },
    /// A finding silenced for a while.
    Snooze {
        finding: FindingKind,
        #[schema(format = DateTime)]
        until: String,
        reason: String,
        #[schema(format = DateTime)]
        ended_at: Option<String>,
        ended_reason: Option<String>,
        /// Who set it, when known.
        by: Option<String>,
        /// `cli`, `api`, `web` or `mail-link`; null when recorded before channels were kept.
        channel: Option<crate::model::Channel>,
        /// The remote address, for web and mail-link ones.
        remote_addr: Option<String>,
    },
    /// An alert in the outbox.
    Alert {
        alert_id: i64,
        finding: String,
        subject: String,
        state: String,
        attempts: i64,
    },
}

/// [`events`] as JSON values, for readers that pick fields by name.
pub fn timeline(
    store: &Store,
    reg: &Registry,
    cap_id: &str,
    since: Option<Timestamp>,
    until: Option<Timestamp>,
) -> Result<Vec<Value>, StoreError> {
    Ok(events(store, reg, cap_id, since, until)?
        .into_iter()
        .map(|e| serde_json::to_value(e).unwrap_or_default())
        .collect())
}

/// " (via web from 127.0.0.1)": the channel a review or snooze came through.
fn via(channel: Option<crate::model::Channel>, remote: Option<&str>) -> String {
    match (channel, remote) {
        (None, _) => String::new(),
        (Some(c), Some(r)) => format!(" (via {c} from {r})"),
        (Some(c), None) => format!(" (via {c})"),
    }
}

/// The timeline of one capability, oldest first: claims, observations,
/// changes, failed checks (runs collapsed), reviews, snoozes and alerts.
pub fn events(
    store: &Store,
    reg: &Registry,
    cap_id: &str,
    since: Option<Timestamp>,
    until: Option<Timestamp>,
) -> Result<Vec<Event>, StoreError> {
    Ok(events_from(store, reg, cap_id, since, until, None)?
        .into_iter()
        .map(|(_, e)| e)
        .collect())
}

/// The first events at or after `since` (all of them without `limit`),
/// oldest first, each with its time. With a limit the long tables
/// (observations, changes, checks) are read only that far, so a page of a
/// long history reads about a page of rows; a run of failures that began
/// before `since` is then not repeated (it was on the page before).
pub fn events_from(
    store: &Store,
    reg: &Registry,
    cap_id: &str,
    since: Option<Timestamp>,
    until: Option<Timestamp>,
    limit: Option<usize>,
) -> Result<Vec<(Timestamp, Event)>, StoreError> {
    let Some(cap) = reg.capability(cap_id) else {
        return Err(StoreError::NotFound(format!(
            "no capability \"{cap_id}\" in the registry"
        )));
    };
    let in_range = |t: Timestamp| since.is_none_or(|s| t >= s) && until.is_none_or(|u| t <= u);
    let source_ids: Vec<String> = cap.sources.iter().map(|s| s.id.clone()).collect();
    let mut events: Vec<(Timestamp, u8, Event)> = Vec::new();
    let mut push = |at: Timestamp, order: u8, summary: String, detail: EventDetail| {
        let at_text = rfc3339(at);
        events.push((
            at,
            order,
            Event {
                at: at_text,
                summary,
                detail,
            },
        ));
    };
    for c in store.claims(cap_id)? {
        if in_range(c.at) {
            let summary = match (&c.quote, c.origin.as_str()) {
                (Some(q), _) => format!("the guide claims {} — “{}”", c.status, excerpt(q, 100)),
                (None, "guide") => format!("the guide claims {}", c.status),
                _ => format!("claimed {}", c.status),
            };
            let Status {
                stage,
                access,
                regions,
            } = c.status;
            push(
                c.at,
                0,
                summary,
                EventDetail::Claim {
                    stage,
                    access,
                    regions,
                    origin: c.origin,
                    quote: c.quote,
                },
            );
        }
    }
    for o in store.observations(cap_id, since, until, limit)? {
        let quote = o
            .evidence
            .iter()
            .find(|e| e.dimension == "stage")
            .or(o.evidence.first())
            .map(|e| e.quote.clone())
            .unwrap_or_default();
        let snapshot = match o.snapshot_id {
            Some(id) => store.snapshot_seq(id)?,
            None => None,
        };
        let reread = o
            .reread_rules
            .map(|v| format!("re-read with rules v{v}: "))
            .unwrap_or_default();
        let summary = if quote.is_empty() {
            format!("{reread}{} says {}", o.source_id, o.status)
        } else {
            format!(
                "{reread}{} says {} — “{}”",
                o.source_id,
                o.status,
                excerpt(&quote, 100)
            )
        };
        push(
            o.at,
            2,
            summary,
            EventDetail::Observation {
                source: o.source_id,
                stage: o.status.stage,
                access: o.status.access,
                regions: o.status.regions,
                quote,
                evidence: o.evidence,
                notes: o.notes,
                snapshot,
                reread_rules: o.reread_rules,
            },
        );
    }
    // The guide's own page: its edits can move the claim.
    let mut change_sources = source_ids.clone();
    change_sources.push(crate::store::guide_source_id(&cap.guide));
    for ch in store.changes(&change_sources, since, until, limit)? {
        let summary = format!(
            "{}{} changed: snapshot {} → {} (+{} −{} lines; `capwatch diff {} --from {} --to {}`)",
            if ch.source_id.starts_with("guide:") {
                "the guide page "
            } else {
                ""
            },
            ch.source_id,
            ch.from.seq,
            ch.to.seq,
            ch.added,
            ch.removed,
            ch.source_id,
            ch.from.seq,
            ch.to.seq
        );
        push(
            ch.at,
            1,
            summary,
            EventDetail::Change {
                source: ch.source_id,
                change_id: ch.id,
                from: ch.from.seq,
                to: ch.to.seq,
                added: ch.added,
                removed: ch.removed,
            },
        );
    }
    // Failed checks: one event per run of identical failures.
    let failed = match limit {
        Some(l) => store
            .failure_runs(&source_ids, since, until, l)?
            .into_iter()
            .map(|r| (r.source_id, (r.first, r.last, r.count, r.outcome)))
            .collect(),
        None => failure_runs(store.checks(&source_ids, since, until, false)?),
    };
    for (sid, (first, last, n, outcome)) in failed {
        let summary = if n == 1 {
            format!("{sid} failed: {outcome}")
        } else {
            format!("{sid} failed {n} times until {}: {outcome}", rfc3339(last))
        };
        push(
            first,
            3,
            summary,
            EventDetail::CheckFailed {
                source: sid,
                outcome: outcome.kind().to_string(),
                detail: outcome.to_string(),
                count: n,
                until: rfc3339(last),
            },
        );
    }
    for r in store.reviews_for(cap_id, &cap.guide, until.unwrap_or(Timestamp::MAX))? {
        if in_range(r.at) {
            let whom = if r.of_guide {
                format!("guide {}", cap.guide)
            } else {
                cap_id.to_string()
            };
            let summary = format!(
                "{} validated {whom}{}{}",
                r.by,
                r.note
                    .as_ref()
                    .map(|n| format!(": {n}"))
                    .unwrap_or_default(),
                via(r.channel, r.remote_addr.as_deref())
            );
            push(
                r.at,
                4,
                summary,
                EventDetail::Review {
                    by: r.by,
                    note: r.note,
                    of_guide: r.of_guide,
                    channel: r.channel,
                    remote_addr: r.remote_addr,
                },
            );
        }
    }
    for s in store.snoozes(cap_id, until.unwrap_or(Timestamp::MAX))? {
        let f = s.fact;
        if in_range(f.at) {
            let summary = format!(
                "{} snoozed until {}{}: {}{}{}",
                f.kind,
                rfc3339(f.until),
                s.by.as_ref()
                    .map(|b| format!(" by {b}"))
                    .unwrap_or_default(),
                f.reason,
                s.ended_reason
                    .as_ref()
                    .map(|r| format!(" (ended early: {r})"))
                    .unwrap_or_default(),
                via(s.channel, s.remote_addr.as_deref())
            );
            push(
                f.at,
                5,
                summary,
                EventDetail::Snooze {
                    finding: f.kind,
                    until: rfc3339(f.until),
                    reason: f.reason,
                    ended_at: f.ended_at.map(rfc3339),
                    ended_reason: s.ended_reason,
                    by: s.by,
                    channel: s.channel,
                    remote_addr: s.remote_addr,
                },
            );
        }
    }
    for a in store.alerts_for(cap_id, &cap.guide)? {
        if in_range(a.created_at) {
            let subject = a.subject();
            let summary = format!("alert #{} {} for {subject}: {}", a.id, a.kind, a.state);
            push(
                a.created_at,
                6,
                summary,
                EventDetail::Alert {
                    alert_id: a.id,
                    finding: a.kind,
                    subject,
                    state: a.state,
                    attempts: a.attempts,
                },
            );
        }
    }
    events.sort_by_key(|e| (e.0, e.1));
    Ok(events.into_iter().map(|e| (e.0, e.2)).collect())
}

/// Runs of identical failed checks, from every check in order.
type Run = (String, (Timestamp, Timestamp, u32, Outcome));

fn failure_runs(checks: Vec<crate::store::CheckRow>) -> Vec<Run> {
    let mut runs: std::collections::HashMap<String, (Timestamp, Timestamp, u32, Outcome)> =
        Default::default();
    let mut failed: Vec<Run> = Vec::new();
    for c in checks {
        if c.outcome.is_success() {
            if let Some(run) = runs.remove(&c.source_id) {
                failed.push((c.source_id, run));
            }
            continue;
        }
        match runs.get_mut(&c.source_id) {
            Some(run) if run.3 == c.outcome => {
                run.1 = c.at;
                run.2 += 1;
            }
            _ => {
                if let Some(run) = runs.remove(&c.source_id) {
                    failed.push((c.source_id.clone(), run));
                }
                runs.insert(c.source_id.clone(), (c.at, c.at, 1, c.outcome));
            }
        }
    }
    let mut left: Vec<_> = runs.into_iter().collect();
    left.sort_by_key(|(_, r)| r.0);
    failed.extend(left);
    failed
}
