//! Shared read views for people and machines: the status row JSON, the
//! history timeline, and time parsing for queries. Used by the CLI and the
//! HTTP surface so both answer the same way.

use crate::config::Registry;
use crate::evaluate::Assessment;
use crate::model::Outcome;
use crate::store::{Store, StoreError};
use jiff::Timestamp;
use serde_json::{Value, json};

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

/// One status row for machines (the DESIGN contract plus extras).
pub fn status_json(a: &Assessment) -> Value {
    let evidence: Vec<Value> = a
        .observed
        .evidence
        .iter()
        .map(|e| {
            json!({"source": e.source, "url": e.url, "quote": e.quote, "dimension": e.dimension, "value": e.value, "rule": e.rule})
        })
        .collect();
    json!({
        "id": a.id,
        "name": a.name,
        "guide": a.guide,
        "claim": a.claim,
        "observed": {
            "stage": a.observed.stage,
            "access": a.observed.access,
            "regions": a.observed.regions,
            "evidence": evidence,
            "notes": a.observed.notes,
        },
        "drift": a.drift,
        "validated_on": a.freshness.validated_on.map(|d| d.to_string()),
        "expires_on": a.freshness.expires_on.map(|d| d.to_string()),
        "days_left": a.freshness.days_left,
        "state": a.freshness.state,
        "flags": a.flags,
        "findings": a.findings,
        "last_review": a.last_review,
    })
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

/// The timeline of one capability, oldest first: claims, observations,
/// changes, failed checks (runs collapsed), reviews, snoozes and alerts.
pub fn timeline(
    store: &Store,
    reg: &Registry,
    cap_id: &str,
    since: Option<Timestamp>,
    until: Option<Timestamp>,
) -> Result<Vec<Value>, StoreError> {
    let Some(cap) = reg.capability(cap_id) else {
        return Err(StoreError::NotFound(format!(
            "no capability \"{cap_id}\" in the registry"
        )));
    };
    let in_range = |t: Timestamp| since.is_none_or(|s| t >= s) && until.is_none_or(|u| t <= u);
    let source_ids: Vec<String> = cap.sources.iter().map(|s| s.id.clone()).collect();
    let mut events: Vec<(Timestamp, u8, Value)> = Vec::new();
    for c in store.claims(cap_id)? {
        if in_range(c.at) {
            events.push((
                c.at,
                0,
                json!({
                    "at": rfc3339(c.at), "kind": "claim",
                    "stage": c.status.stage, "access": c.status.access, "regions": c.status.regions,
                    "summary": format!("claimed {}", c.status),
                }),
            ));
        }
    }
    for o in store.observations(cap_id, since, until)? {
        let quote = o
            .evidence
            .iter()
            .find(|e| e.dimension == "stage")
            .or(o.evidence.first())
            .map(|e| e.quote.clone())
            .unwrap_or_default();
        let seq = match o.snapshot_id {
            Some(id) => store
                .snapshots(&o.source_id)?
                .into_iter()
                .find(|s| s.id == id)
                .map(|s| s.seq),
            None => None,
        };
        events.push((
            o.at,
            2,
            json!({
                "at": rfc3339(o.at), "kind": "observation", "source": o.source_id,
                "stage": o.status.stage, "access": o.status.access, "regions": o.status.regions,
                "quote": quote, "evidence": o.evidence, "notes": o.notes, "snapshot": seq,
                "summary": if quote.is_empty() {
                    format!("{} says {}", o.source_id, o.status)
                } else {
                    format!("{} says {} — “{}”", o.source_id, o.status, excerpt(&quote, 100))
                },
            }),
        ));
    }
    for ch in store.changes(&source_ids, since, until)? {
        events.push((ch.at, 1, json!({
            "at": rfc3339(ch.at), "kind": "change", "source": ch.source_id, "change_id": ch.id,
            "from": ch.from.seq, "to": ch.to.seq, "added": ch.added, "removed": ch.removed,
            "summary": format!("{} changed: snapshot {} → {} (+{} −{} lines; `capwatch diff {} --from {} --to {}`)",
                ch.source_id, ch.from.seq, ch.to.seq, ch.added, ch.removed, ch.source_id, ch.from.seq, ch.to.seq),
        })));
    }
    // Failed checks: one event per run of identical failures.
    let checks = store.checks(&source_ids, since, until, false)?;
    let mut runs: std::collections::HashMap<String, (Timestamp, Timestamp, u32, Outcome)> =
        Default::default();
    let flush = |sid: &str,
                 run: (Timestamp, Timestamp, u32, Outcome),
                 events: &mut Vec<(Timestamp, u8, Value)>| {
        let (first, last, n, outcome) = run;
        events.push((first, 3, json!({
            "at": rfc3339(first), "kind": "check_failed", "source": sid,
            "outcome": outcome.kind(), "detail": outcome.to_string(), "count": n, "until": rfc3339(last),
            "summary": if n == 1 { format!("{sid} failed: {outcome}") } else { format!("{sid} failed {n} times until {}: {outcome}", rfc3339(last)) },
        })));
    };
    for c in checks {
        if c.outcome.is_success() {
            if let Some(run) = runs.remove(&c.source_id) {
                flush(&c.source_id, run, &mut events);
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
                    flush(&c.source_id, run, &mut events);
                }
                runs.insert(c.source_id.clone(), (c.at, c.at, 1, c.outcome));
            }
        }
    }
    let mut left: Vec<_> = runs.into_iter().collect();
    left.sort_by_key(|(_, r)| r.0);
    for (sid, run) in left {
        flush(&sid, run, &mut events);
    }
    for r in store.reviews_for(cap_id, &cap.guide, until.unwrap_or(Timestamp::MAX))? {
        if in_range(r.at) {
            let whom = if r.of_guide {
                format!("guide {}", cap.guide)
            } else {
                cap_id.to_string()
            };
            events.push((r.at, 4, json!({
                "at": rfc3339(r.at), "kind": "review", "by": r.by, "note": r.note, "of_guide": r.of_guide,
                "summary": format!("{} validated {whom}{}", r.by, r.note.as_ref().map(|n| format!(": {n}")).unwrap_or_default()),
            })));
        }
    }
    for s in store.snoozes(cap_id, until.unwrap_or(Timestamp::MAX))? {
        let f = &s.fact;
        if in_range(f.at) {
            events.push((f.at, 5, json!({
                "at": rfc3339(f.at), "kind": "snooze", "finding": f.kind, "until": rfc3339(f.until),
                "reason": f.reason, "ended_at": f.ended_at.map(rfc3339), "ended_reason": s.ended_reason,
                "summary": format!("{} snoozed until {}: {}{}", f.kind, rfc3339(f.until), f.reason,
                    s.ended_reason.as_ref().map(|r| format!(" (ended early: {r})")).unwrap_or_default()),
            })));
        }
    }
    for a in store.alerts_for(cap_id, &cap.guide)? {
        if in_range(a.created_at) {
            events.push((a.created_at, 6, json!({
                "at": rfc3339(a.created_at), "kind": "alert", "alert_id": a.id, "finding": a.kind,
                "subject": a.subject(), "state": a.state, "attempts": a.attempts,
                "summary": format!("alert #{} {} for {}: {}", a.id, a.kind, a.subject(), a.state),
            })));
        }
    }
    events.sort_by_key(|e| (e.0, e.1));
    Ok(events.into_iter().map(|e| e.2).collect())
}
