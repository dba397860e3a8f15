//! `review`, `snooze` and `alerts`: what people record, and the outbox.

use super::{load, open_store, rfc3339};
use crate::evaluate::FindingKind;
use crate::store::Subject;
use anyhow::{Result, bail};
use jiff::{SignedDuration, Timestamp};
use serde_json::json;
use std::path::Path;
use std::process::ExitCode;

pub struct ReviewArgs<'a> {
    pub capability: Option<&'a str>,
    pub guide: Option<&'a str>,
    pub by: &'a str,
    pub note: Option<&'a str>,
}

pub fn review(path: &Path, args: ReviewArgs<'_>) -> Result<ExitCode> {
    let reg = load(path)?;
    let mut store = open_store(&reg)?;
    let now = Timestamp::now();
    store.sync_registry(&reg, now)?;
    if args.by.trim().is_empty() {
        bail!("--by needs the reviewer's name");
    }
    let (subject, sources, what) = match (args.capability, args.guide) {
        (Some(c), None) => {
            let Some(cap) = reg.capability(c) else {
                let known: Vec<&str> = reg.capabilities.iter().map(|c| c.id.as_str()).collect();
                bail!(
                    "no capability \"{c}\" in {}; known: {}",
                    reg.path.display(),
                    known.join(", ")
                );
            };
            let sources: Vec<String> = cap.sources.iter().map(|s| s.id.clone()).collect();
            (Subject::Capability(c), sources, format!("capability {c}"))
        }
        (None, Some(g)) => {
            if reg.guide(g).is_none() {
                let known: Vec<&str> = reg.guides.iter().map(|g| g.id.as_str()).collect();
                bail!(
                    "no guide \"{g}\" in {}; known: {}",
                    reg.path.display(),
                    known.join(", ")
                );
            }
            let sources: Vec<String> = reg
                .capabilities
                .iter()
                .filter(|c| c.guide == g)
                .flat_map(|c| c.sources.iter().map(|s| s.id.clone()))
                .collect();
            (
                Subject::Guide(g),
                sources,
                format!("guide {g} and its capabilities"),
            )
        }
        _ => bail!("name a capability, or --guide ID, to review"),
    };
    store.record_review(
        subject,
        &sources,
        args.by.trim(),
        args.note,
        now,
        &crate::model::Origin::cli(),
    )?;
    println!(
        "recorded: {} validated {what} on {}; the current version of each of its {} source(s) is the new reviewed baseline",
        args.by.trim(),
        now.to_zoned_datetime(jiff::tz::TimeZone::UTC).date(),
        sources.len()
    );
    let evaluation = super::evaluate_and_deliver(&mut store, &reg, now)?;
    for c in evaluation
        .capabilities
        .iter()
        .filter(|c| Some(c.id.as_str()) == args.capability || Some(c.guide.as_str()) == args.guide)
    {
        println!(
            "  {}: {} until {}{}",
            c.id,
            c.freshness.state,
            c.freshness
                .expires_on
                .map(|d| d.to_string())
                .unwrap_or_default(),
            if c.flags.is_empty() {
                String::new()
            } else {
                format!(
                    " — still flagged: {}",
                    crate::evaluate::kinds_list(&c.flags)
                )
            }
        );
    }
    match crate::daemon::DbLock::holder(&super::database_path(&reg)) {
        Some(holder) => println!("notices are queued; the running daemon ({holder}) delivers them"),
        None => super::print_outbox(&evaluation),
    }
    Ok(ExitCode::SUCCESS)
}

pub struct SnoozeArgs<'a> {
    pub capability: &'a str,
    pub kind: &'a str,
    pub until: &'a str,
    pub reason: &'a str,
}

/// Snoozes last at most this long.
const MAX_SNOOZE_DAYS: i64 = 30;

pub fn snooze(path: &Path, args: SnoozeArgs<'_>) -> Result<ExitCode> {
    let reg = load(path)?;
    let mut store = open_store(&reg)?;
    let now = Timestamp::now();
    store.sync_registry(&reg, now)?;
    let Some(cap) = reg.capability(args.capability) else {
        let known: Vec<&str> = reg.capabilities.iter().map(|c| c.id.as_str()).collect();
        bail!(
            "no capability \"{}\" in {}; known: {}",
            args.capability,
            reg.path.display(),
            known.join(", ")
        );
    };
    let kind: FindingKind = args.kind.parse().map_err(anyhow::Error::msg)?;
    let until = super::parse_time(args.until, true).map_err(anyhow::Error::msg)?;
    if until <= now {
        bail!(
            "--until {} is in the past; give a date within the next {MAX_SNOOZE_DAYS} days",
            args.until
        );
    }
    if until.duration_since(now) > SignedDuration::from_hours(24 * MAX_SNOOZE_DAYS) {
        bail!(
            "a snooze lasts at most {MAX_SNOOZE_DAYS} days; give --until on or before {}",
            now.checked_add(SignedDuration::from_hours(24 * MAX_SNOOZE_DAYS))?
                .to_zoned_datetime(jiff::tz::TimeZone::UTC)
                .date()
        );
    }
    if args.reason.trim().is_empty() {
        bail!("--reason is required: say why this finding can wait");
    }
    let (_, active) = crate::pipeline::snooze(
        &mut store,
        &reg,
        cap,
        kind,
        until,
        args.reason.trim(),
        None,
        &crate::model::Origin::cli(),
        now,
    )?;
    println!(
        "snoozed {kind} for {} until {}{}; a new change or new drift ends it early",
        cap.id,
        rfc3339(until),
        if active {
            ""
        } else {
            " (there is no such finding now; the snooze covers it if it appears)"
        }
    );
    Ok(ExitCode::SUCCESS)
}

pub fn alerts(path: &Path, pending: bool, json_out: bool) -> Result<ExitCode> {
    let reg = load(path)?;
    let store = open_store(&reg)?;
    let alerts = store.alerts(pending)?;
    if json_out {
        let mut rows = Vec::new();
        for a in &alerts {
            let attempts = store.attempts(a.id)?;
            rows.push(json!({
                "id": a.id,
                "kind": a.kind,
                "subject": a.subject(),
                "subject_kind": a.subject_kind,
                "subject_id": a.subject_id,
                "guide": a.guide_id,
                "state": a.state,
                "attempts": a.attempts,
                "created_at": rfc3339(a.created_at),
                "resolved_at": a.resolved_at.map(rfc3339),
                "dedupe_key": a.dedupe_key,
                "summary": a.payload.get("summary"),
                "targets": a.targets.iter().map(|t| json!({
                    "target": t.target, "state": t.state, "attempts": t.attempts,
                    "next_attempt_at": rfc3339(t.next_attempt_at),
                    "sent_at": t.sent_at.map(rfc3339), "last_error": t.last_error, "message_id": t.message_id,
                })).collect::<Vec<_>>(),
                "delivery_attempts": attempts.iter().map(|t| json!({
                    "target": t.target, "at": rfc3339(t.at), "ok": t.ok, "error": t.error,
                })).collect::<Vec<_>>(),
            }));
        }
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(ExitCode::SUCCESS);
    }
    if alerts.is_empty() {
        println!(
            "{}",
            if pending {
                "no alerts waiting"
            } else {
                "no alerts yet"
            }
        );
        return Ok(ExitCode::SUCCESS);
    }
    for a in &alerts {
        let summary = a
            .payload
            .get("summary")
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        println!(
            "#{:<4} {:<8} {:<15} {:<34} {}",
            a.id,
            a.state,
            a.kind,
            a.subject(),
            summary
        );
        if a.state == "withdrawn" {
            println!(
                "       withdrawn: the finding cleared before anyone was told, so it was not sent"
            );
        } else if a.targets.is_empty() {
            println!(
                "       no channel configured: add [email] or [webhook] to the registry to send it"
            );
        }
        for t in &a.targets {
            let detail = match (&t.sent_at, &t.last_error) {
                (Some(s), _) => format!("sent {}", rfc3339(*s)),
                (None, Some(e)) => format!(
                    "{} attempt(s), last error: {e}; next try {}",
                    t.attempts,
                    rfc3339(t.next_attempt_at)
                ),
                (None, None) => "waiting".to_string(),
            };
            println!("       → {:<40} {detail}", t.target);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `alerts --retry`: make every due or failed delivery due now and deliver.
pub fn retry(path: &Path, pending: bool) -> Result<ExitCode> {
    let reg = load(path)?;
    let mut store = open_store(&reg)?;
    let now = Timestamp::now();
    if let Some(holder) = crate::daemon::DbLock::holder(&super::database_path(&reg)) {
        bail!(
            "the daemon ({holder}) delivers alerts for this database; it retries failed ones on its own schedule"
        );
    }
    store.sync_registry(&reg, now)?;
    let made_due = store.retry_now(now)?;
    let channels = crate::outbox::Channels::from_registry(&reg, &super::env_var)?;
    if channels.is_empty() {
        println!(
            "no channel configured: add [email] or [webhook] to {} to send alerts",
            reg.path.display()
        );
        return alerts(path, pending, false);
    }
    let report =
        super::runtime()?.block_on(crate::outbox::deliver(&mut store, &reg, &channels, now))?;
    println!(
        "retried now: {made_due} delivery(ies) were waiting for their retry time; {} message(s) sent, {} failed, {} alert(s) still pending",
        report.messages,
        report.failed.len(),
        report.pending
    );
    for (target, error) in &report.failed {
        println!("  {target}: {error}");
    }
    Ok(ExitCode::SUCCESS)
}
