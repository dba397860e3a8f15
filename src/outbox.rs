//! The outbox between evaluate and notify: findings become alert rows before
//! anything is sent, and due rows are delivered through the channels.
//!
//! In: assessments (from `evaluate`), the store, the registry, `now`. Out:
//! alert rows (new findings, reminders after `renotify`, "resolved" notices)
//! and, on delivery, one digest per owner per run and one webhook POST.
//! A dedupe key (kind + subject + the cause) makes queueing idempotent, so a
//! crash or a second run never queues the same alert twice.

use crate::config::Registry;
use crate::diff;
use crate::evaluate::{Assessment, Finding, FindingKind, GuideAssessment};
use crate::notify::link::{Action, ActionLink, LINK_LIFETIME, LinkKey, SNOOZE_DAYS};
use crate::store::{AlertRow, NewAlert, Store, StoreError};
use jiff::Timestamp;
use serde_json::{Value, json};
use std::time::Duration;

/// What queueing did in one run.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct QueueReport {
    pub queued: usize,
    pub reminders: usize,
    pub resolved: usize,
}

/// A finding about a subject, ready to become an alert.
struct Subjected<'a> {
    subject_kind: &'static str,
    subject_id: &'a str,
    subject_name: &'a str,
    guide_id: &'a str,
    finding: &'a Finding,
    assessment: Option<&'a Assessment>,
}

/// The exact command that records a review of a subject.
pub fn review_command(registry: &Registry, subject_kind: &str, subject_id: &str) -> String {
    let config = if registry
        .path
        .file_name()
        .is_some_and(|f| f == "sources.toml")
        && registry
            .path
            .parent()
            .is_none_or(|p| p.as_os_str().is_empty())
    {
        String::new()
    } else {
        format!(
            " --config {}",
            shell_quote(&registry.path.display().to_string())
        )
    };
    match subject_kind {
        "guide" => format!(
            "capwatch{config} review --guide {subject_id} --by \"YOUR NAME\" --note \"what you checked\""
        ),
        _ => format!(
            "capwatch{config} review {subject_id} --by \"YOUR NAME\" --note \"what you checked\""
        ),
    }
}

fn shell_quote(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// The stable Message-ID of an alert, so a resend is recognisable.
pub fn message_id(alert_id: i64) -> String {
    format!("<alert-{alert_id}@capwatch>")
}

/// The delivery targets of a guide's alerts with the configured channels.
pub fn targets(registry: &Registry, guide_id: &str, capability_id: Option<&str>) -> Vec<String> {
    let mut out = Vec::new();
    if registry.email.is_some() {
        let mut owners: Vec<&String> = registry
            .guide(guide_id)
            .map(|g| g.owners.iter().collect())
            .unwrap_or_default();
        if let Some(c) = capability_id.and_then(|id| registry.capability(id)) {
            owners.extend(c.owners.iter());
        }
        owners.sort();
        owners.dedup();
        out.extend(owners.into_iter().map(|o| format!("email:{o}")));
    }
    if registry.webhook.is_some() {
        out.push("webhook".to_string());
    }
    out
}

fn dedupe_key(kind: FindingKind, subject_kind: &str, subject_id: &str, cause: &str) -> String {
    format!("{}:{subject_kind}:{subject_id}:{cause}", kind.as_str())
}

/// Queue alerts for every finding that needs a person, reminders for the
/// unresolved ones older than `renotify`, and "resolved" notices for cleared ones.
pub fn queue(
    store: &mut Store,
    registry: &Registry,
    guides: &[GuideAssessment],
    caps: &[Assessment],
    now: Timestamp,
) -> Result<QueueReport, StoreError> {
    let mut report = QueueReport::default();
    let mut live: Vec<Subjected<'_>> = Vec::new();
    for g in guides {
        for f in &g.findings {
            live.push(Subjected {
                subject_kind: "guide",
                subject_id: &g.id,
                subject_name: &g.title,
                guide_id: &g.id,
                finding: f,
                assessment: None,
            });
        }
    }
    for c in caps {
        for f in &c.findings {
            live.push(Subjected {
                subject_kind: "capability",
                subject_id: &c.id,
                subject_name: &c.name,
                guide_id: &c.guide,
                finding: f,
                assessment: Some(c),
            });
        }
    }

    // Findings and what they replace or remind about.
    for s in &live {
        let key = dedupe_key(
            s.finding.kind,
            s.subject_kind,
            s.subject_id,
            &s.finding.cause,
        );
        let open = store.open_alerts(s.subject_kind, s.subject_id)?;
        let same_kind: Vec<&AlertRow> = open
            .iter()
            .filter(|a| a.kind == s.finding.kind.as_str())
            .collect();
        // The same finding with a new cause (a newer change, other drift):
        // the old alert is superseded by the new one.
        for old in same_kind.iter().filter(|a| !a.dedupe_key.starts_with(&key)) {
            store.mark_resolved(old.id, now)?;
        }
        if s.finding.snoozed {
            continue;
        }
        let targets = targets(
            registry,
            s.guide_id,
            (s.subject_kind == "capability").then_some(s.subject_id),
        );
        let body = payload(store, registry, s, None)?;
        if queue_finding(store, s, &key, &body, &targets, now)? {
            report.queued += 1;
            continue;
        }
        // Already queued: remind once per `renotify` period while unresolved.
        let Some(original) = same_kind.iter().find(|a| a.dedupe_key == key) else {
            continue;
        };
        let Some(n) = reminder_number(original.created_at, now, registry.settings.renotify) else {
            continue;
        };
        let reminder_key = format!("{key}:reminder-{n}");
        let body = payload(store, registry, s, Some(original))?;
        if queue_finding(store, s, &reminder_key, &body, &targets, now)? {
            report.reminders += 1;
        }
    }

    // Cleared findings: one short "resolved" notice per alert that was sent.
    for open in store.open_alert_subjects()? {
        let still = live.iter().any(|s| {
            s.subject_kind == open.subject_kind
                && s.subject_id == open.subject_id
                && s.finding.kind.as_str() == open.kind
        });
        if still {
            continue;
        }
        let Some(a) = store.alert(open.id)? else {
            continue;
        };
        // A reminder is resolved together with its original.
        if a.payload.get("reminder_of").is_some_and(|v| !v.is_null()) {
            store.mark_resolved(a.id, now)?;
            continue;
        }
        let was_sent = a.targets.iter().any(|t| t.state == "sent");
        if !was_sent {
            // Nobody heard of it: withdraw quietly instead of sending two messages.
            store.mark_resolved(a.id, now)?;
            continue;
        }
        let name = a
            .payload
            .get("subject_name")
            .and_then(Value::as_str)
            .unwrap_or(&a.subject_id);
        let payload = json!({
            "subject_name": name,
            "guide_title": a.payload.get("guide_title"),
            "summary": format!("resolved: {} no longer applies to \"{name}\"", a.kind.replace('_', " ")),
            "resolved_kind": a.kind,
            "resolves_alert": a.id,
            "urls": a.payload.get("urls").cloned().unwrap_or(json!([])),
            "review_command": a.payload.get("review_command"),
        });
        let key = format!("resolved:{}", a.id);
        let targets = targets(
            registry,
            &a.guide_id,
            (a.subject_kind == "capability").then_some(a.subject_id.as_str()),
        );
        if store
            .queue_alert(
                &NewAlert {
                    dedupe_key: &key,
                    kind: "resolved",
                    subject_kind: &a.subject_kind,
                    subject_id: &a.subject_id,
                    guide_id: &a.guide_id,
                    payload: &payload,
                    resolves: Some(a.id),
                    targets: &targets,
                },
                now,
            )?
            .is_some()
        {
            report.resolved += 1;
        }
    }
    Ok(report)
}

/// Queue one alert for a finding; false when that dedupe key was queued before.
fn queue_finding(
    store: &mut Store,
    s: &Subjected<'_>,
    key: &str,
    body: &Value,
    targets: &[String],
    now: Timestamp,
) -> Result<bool, StoreError> {
    let new = NewAlert {
        dedupe_key: key,
        kind: s.finding.kind.as_str(),
        subject_kind: s.subject_kind,
        subject_id: s.subject_id,
        guide_id: s.guide_id,
        payload: body,
        resolves: None,
        targets,
    };
    Ok(store.queue_alert(&new, now)?.is_some())
}

/// Which reminder is due for an alert created at `created`: 1 after one
/// `renotify` period, 2 after two… None before the first.
fn reminder_number(created: Timestamp, now: Timestamp, renotify: Duration) -> Option<i64> {
    let period = renotify.as_millis() as i64;
    if period <= 0 {
        return None;
    }
    let n = (now.as_millisecond() - created.as_millisecond()) / period;
    (n >= 1).then_some(n)
}

/// What the message needs, frozen at queue time.
fn payload(
    store: &Store,
    registry: &Registry,
    s: &Subjected<'_>,
    reminder_of: Option<&AlertRow>,
) -> Result<Value, StoreError> {
    let guide_title = registry
        .guide(s.guide_id)
        .map(|g| g.title.clone())
        .unwrap_or_else(|| s.guide_id.to_string());
    let mut evidence = Vec::new();
    let mut urls: Vec<String> = Vec::new();
    let mut diff_excerpt = None;
    let mut change_ids: Vec<i64> = Vec::new();
    if let Some(a) = s.assessment {
        match s.finding.kind {
            FindingKind::Drift => {
                for e in &a.observed.evidence {
                    evidence.push(json!({"source": e.source, "url": e.url, "quote": e.quote, "dimension": e.dimension}));
                    if !urls.contains(&e.url) {
                        urls.push(e.url.clone());
                    }
                }
            }
            FindingKind::SourceChanged => {
                let (excerpt, changed_urls) =
                    change_excerpt(store, registry, &a.id, &s.finding.cause)?;
                diff_excerpt = excerpt;
                urls.extend(changed_urls);
                change_ids = changes_in(store, &s.finding.cause)?;
            }
            _ => {}
        }
        if urls.is_empty()
            && let Some(c) = registry.capability(&a.id)
        {
            urls.extend(c.sources.iter().map(|s| s.url.to_string()));
        }
    } else if let Some(u) = registry.guide(s.guide_id).and_then(|g| g.url.as_ref()) {
        urls.push(u.to_string());
    }
    Ok(json!({
        "subject_name": s.subject_name,
        "guide_title": guide_title,
        "summary": s.finding.summary,
        "cause": s.finding.cause,
        "evidence": evidence,
        "diff_excerpt": diff_excerpt,
        "urls": urls,
        "change_ids": change_ids,
        "review_command": review_command(registry, s.subject_kind, s.subject_id),
        "reminder_of": reminder_of.map(|o| o.id),
        "first_alerted_at": reminder_of.map(|o| o.created_at.to_string()),
    }))
}

/// The latest change of each source a `source_changed` cause names
/// (`source@from:to,…`), for links to the change pages.
fn changes_in(store: &Store, cause: &str) -> Result<Vec<i64>, StoreError> {
    let mut out = Vec::new();
    for part in cause.split(',') {
        if let Some((source_id, _)) = part.split_once('@')
            && let Some(c) = store.latest_change(source_id)?
        {
            out.push(c.id);
        }
    }
    Ok(out)
}

/// A short diff of each changed source against its reviewed baseline.
fn change_excerpt(
    store: &Store,
    registry: &Registry,
    capability_id: &str,
    cause: &str,
) -> Result<(Option<String>, Vec<String>), StoreError> {
    let mut out = String::new();
    let mut urls = Vec::new();
    let cap = registry.capability(capability_id);
    for part in cause.split(',') {
        // `source@baseline_snapshot:current_snapshot` (snapshot ids).
        let Some((source_id, ids)) = part.split_once('@') else {
            continue;
        };
        let Some((from_id, to_id)) = ids.split_once(':') else {
            continue;
        };
        let (Ok(from_id), Ok(to_id)) = (from_id.parse::<i64>(), to_id.parse::<i64>()) else {
            continue;
        };
        if let Some(src) = cap.and_then(|c| c.sources.iter().find(|s| s.id == source_id)) {
            urls.push(src.url.to_string());
        }
        let snaps = store.snapshots(source_id)?;
        let (Some(from), Some(to)) = (
            snaps.iter().find(|s| s.id == from_id),
            snaps.iter().find(|s| s.id == to_id),
        ) else {
            continue;
        };
        let old = store.content(&from.hash)?;
        let new = store.content(&to.hash)?;
        let lines: Vec<String> = diff::lines(&old, &new)
            .into_iter()
            .filter(|l| l.tag == "+" || l.tag == "-")
            .take(12)
            .map(|l| format!("{}{}", l.tag, l.text))
            .collect();
        out.push_str(&format!(
            "{source_id}: snapshot {} → {} (capwatch diff {source_id} --from {} --to {})\n",
            from.seq, to.seq, from.seq, to.seq
        ));
        for l in lines {
            out.push_str(&l);
            out.push('\n');
        }
    }
    Ok(((!out.is_empty()).then_some(out), urls))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reminders_come_once_per_period() {
        let day = Duration::from_secs(86_400);
        let t0: Timestamp = "2026-11-01T00:00:00Z".parse().unwrap();
        let at = |d: i64| {
            t0.checked_add(jiff::SignedDuration::from_hours(24 * d))
                .unwrap()
        };
        assert_eq!(reminder_number(t0, at(6), 7 * day), None);
        assert_eq!(reminder_number(t0, at(7), 7 * day), Some(1));
        assert_eq!(reminder_number(t0, at(13), 7 * day), Some(1));
        assert_eq!(reminder_number(t0, at(14), 7 * day), Some(2));
    }
}

/// The configured delivery channels.
#[derive(Default)]
pub struct Channels {
    pub mailer: Option<crate::notify::Mailer>,
    pub webhook: Option<crate::notify::WebhookClient>,
    /// Signs the action links in digests (`CAPWATCH_SECRET`); None: no action links.
    pub link_key: Option<LinkKey>,
}

impl Channels {
    /// Build the channels the registry configures. SMTP credentials come from
    /// `env` (CAPWATCH_SMTP_USER / CAPWATCH_SMTP_PASSWORD).
    pub fn from_registry(
        registry: &Registry,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Channels, crate::notify::NotifyError> {
        let timeout = registry.settings.timeout;
        Ok(Channels {
            mailer: registry
                .email
                .as_ref()
                .map(|e| crate::notify::Mailer::new(e, env, timeout))
                .transpose()?,
            webhook: registry
                .webhook
                .as_ref()
                .map(|w| crate::notify::WebhookClient::new(w, timeout))
                .transpose()?,
            link_key: LinkKey::from_env(env),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.mailer.is_none() && self.webhook.is_none()
    }
}

/// What one delivery run did.
#[derive(Debug, Default, Clone)]
pub struct DeliveryReport {
    /// Messages accepted: e-mail digests and webhook posts.
    pub messages: usize,
    /// Alerts delivered to at least one more target.
    pub delivered: Vec<i64>,
    /// Targets that failed, and why; they are retried later.
    pub failed: Vec<(String, String)>,
    /// Alerts waiting because no channel is configured.
    pub waiting_without_channel: usize,
    /// Alerts not yet delivered anywhere after this run.
    pub pending: usize,
}

/// The wait before retrying a failed delivery: 1 min, 2, 4… capped at 6 h.
pub fn retry_delay(attempts_before: i64) -> Duration {
    let exp = attempts_before.clamp(0, 20) as u32;
    Duration::from_secs(60u64.saturating_mul(1 << exp).min(6 * 3600))
}

fn item(a: &AlertRow) -> crate::notify::Item {
    let p = &a.payload;
    let s = |k: &str| {
        p.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let evidence = p
        .get("evidence")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .map(|e| crate::notify::Quote {
                    source: e
                        .get("source")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    url: e
                        .get("url")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    quote: e
                        .get("quote")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    dimensions: e
                        .get("dimension")
                        .and_then(Value::as_str)
                        .map(|d| vec![d.to_string()])
                        .unwrap_or_default(),
                })
                .collect()
        })
        .map(crate::notify::merge_quotes)
        .unwrap_or_default();
    let thread = p
        .get("reminder_of")
        .and_then(Value::as_i64)
        .or_else(|| p.get("resolves_alert").and_then(Value::as_i64));
    crate::notify::Item {
        alert_id: a.id,
        kind: a.kind.clone(),
        subject_kind: a.subject_kind.clone(),
        subject_id: a.subject_id.clone(),
        subject_name: s("subject_name"),
        summary: s("summary"),
        evidence,
        diff_excerpt: p
            .get("diff_excerpt")
            .and_then(Value::as_str)
            .map(String::from),
        urls: p
            .get("urls")
            .and_then(Value::as_array)
            .map(|u| {
                u.iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default(),
        review_command: s("review_command"),
        message_id: message_id(a.id),
        reminder_of: thread.map(message_id),
        links: crate::notify::Links::default(),
        actions: Vec::new(),
    }
}

/// Fill in the dashboard links of every item (with `public_url`) and, for a
/// digest to `owner` when a link key is set, the signed action links: "Mark
/// reviewed" and "Snooze 7 days" per open finding, "Review the whole guide"
/// per guide. They expire [`LINK_LIFETIME`] after `now`.
pub fn add_links(
    sections: &mut [crate::notify::GuideSection],
    alerts: &[&AlertRow],
    registry: &Registry,
    key: Option<&LinkKey>,
    owner: Option<&str>,
    now: Timestamp,
) {
    use crate::notify::{ActionUrl, Links};
    use crate::serve::html::seg;
    let settings = &registry.settings;
    if settings.public_url.is_none() {
        return;
    }
    let expires = now.checked_add(LINK_LIFETIME).unwrap_or(now);
    let act =
        |k: &LinkKey, link: ActionLink| settings.public_link(&format!("/act/{}", k.sign(&link)));
    for section in sections.iter_mut() {
        let guide_page = settings.public_link(&format!("/#guide-{}", seg(&section.guide_id)));
        for item in section.items.iter_mut() {
            let payload = alerts
                .iter()
                .find(|a| a.id == item.alert_id)
                .map(|a| &a.payload);
            let change_ids: Vec<i64> = payload
                .and_then(|p| p.get("change_ids"))
                .and_then(Value::as_array)
                .map(|v| v.iter().filter_map(Value::as_i64).collect())
                .unwrap_or_default();
            item.links = Links {
                capability: (item.subject_kind == "capability")
                    .then(|| {
                        settings.public_link(&format!("/capabilities/{}", seg(&item.subject_id)))
                    })
                    .flatten(),
                changes: change_ids
                    .iter()
                    .filter_map(|id| settings.public_link(&format!("/changes/{id}")))
                    .collect(),
                guide: guide_page.clone(),
            };
            let (Some(k), Some(owner)) = (key, owner) else {
                continue;
            };
            if item.kind == "resolved" {
                continue;
            }
            let link = |action: Action, finding: &str| ActionLink {
                action,
                subject_kind: item.subject_kind.clone(),
                subject_id: item.subject_id.clone(),
                finding: finding.to_string(),
                owner: owner.to_string(),
                alert_id: item.alert_id,
                expires,
            };
            let mut actions = vec![];
            if let Some(url) = act(k, link(Action::Review, "")) {
                actions.push(ActionUrl {
                    label: "Mark reviewed".into(),
                    url,
                });
            }
            // Snoozes silence a capability's finding; a guide's finding is
            // closed by reviewing the guide.
            if item.subject_kind == "capability"
                && let Some(url) = act(k, link(Action::Snooze, &item.kind))
            {
                actions.push(ActionUrl {
                    label: format!("Snooze {SNOOZE_DAYS} days"),
                    url,
                });
            }
            item.actions = actions;
        }
        if let (Some(k), Some(owner)) = (key, owner)
            && let Some(first) = section.items.iter().find(|i| i.kind != "resolved")
        {
            let link = ActionLink {
                action: Action::ReviewGuide,
                subject_kind: "guide".into(),
                subject_id: section.guide_id.clone(),
                finding: String::new(),
                owner: owner.to_string(),
                alert_id: first.alert_id,
                expires,
            };
            section.guide_action = act(k, link).map(|url| ActionUrl {
                label: "Review the whole guide".into(),
                url,
            });
        }
    }
}

/// Group alerts by guide, in guide order.
fn sections(registry: &Registry, alerts: &[&AlertRow]) -> Vec<crate::notify::GuideSection> {
    let mut out: Vec<crate::notify::GuideSection> = Vec::new();
    for a in alerts {
        let idx = match out.iter().position(|s| s.guide_id == a.guide_id) {
            Some(i) => i,
            None => {
                out.push(crate::notify::GuideSection {
                    guide_id: a.guide_id.clone(),
                    guide_title: registry
                        .guide(&a.guide_id)
                        .map(|g| g.title.clone())
                        .unwrap_or_else(|| a.guide_id.clone()),
                    items: Vec::new(),
                    guide_action: None,
                });
                out.len() - 1
            }
        };
        out[idx].items.push(item(a));
    }
    let order = |id: &str| {
        registry
            .guides
            .iter()
            .position(|g| g.id == id)
            .unwrap_or(usize::MAX)
    };
    out.sort_by_key(|s| order(&s.guide_id));
    out
}

/// Deliver every due alert: one digest per owner, one webhook POST. Each
/// target is marked sent only after the channel accepted it; failures are
/// kept with their error and retried after a growing delay.
pub async fn deliver(
    store: &mut Store,
    registry: &Registry,
    channels: &Channels,
    now: Timestamp,
) -> Result<DeliveryReport, StoreError> {
    let mut report = DeliveryReport::default();
    if !channels.is_empty() {
        // Alerts queued while no channel was configured get their targets now.
        for a in store
            .alerts(true)?
            .into_iter()
            .filter(|a| a.targets.is_empty())
        {
            let cap = (a.subject_kind == "capability").then_some(a.subject_id.as_str());
            store.ensure_targets(a.id, &targets(registry, &a.guide_id, cap), now)?;
        }
    }
    let due = store.due_deliveries(now)?;
    for (target, alerts) in messages(&due) {
        let ids: Vec<i64> = alerts.iter().map(|a| a.id).collect();
        let batch = format!(
            "{target}#{}",
            ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
        );
        store.start_batch(&ids, &target, &batch)?;
        let result = if let Some(owner) = target.strip_prefix("email:") {
            match &channels.mailer {
                Some(m) => {
                    let mut sections = sections(registry, &alerts);
                    add_links(
                        &mut sections,
                        &alerts,
                        registry,
                        channels.link_key.as_ref(),
                        Some(owner),
                        now,
                    );
                    let digest = crate::notify::Digest {
                        to: owner.to_string(),
                        sections,
                    };
                    m.send(&digest).await.map_err(|e| e.to_string())
                }
                None => Err(
                    "e-mail is no longer configured in the registry; add [email] to send"
                        .to_string(),
                ),
            }
        } else {
            let mut sections = sections(registry, &alerts);
            add_links(&mut sections, &alerts, registry, None, None, now);
            match &channels.webhook {
                Some(w) => w
                    .post(&sections, now)
                    .await
                    .map(|()| String::new())
                    .map_err(|e| e.to_string()),
                None => Err("the webhook is no longer configured in the registry".to_string()),
            }
        };
        record(store, &alerts, &target, &result, now, &mut report)?;
    }
    let pending = store.alerts(true)?;
    report.waiting_without_channel = pending.iter().filter(|a| a.targets.is_empty()).count();
    report.pending = pending.len();
    Ok(report)
}

/// Group due deliveries into messages: per target (an owner's address or the
/// webhook), first any message a crashed run had started — resent exactly as
/// it was — then one message with everything else due.
fn messages(due: &[(AlertRow, String)]) -> Vec<(String, Vec<&AlertRow>)> {
    let mut started: std::collections::BTreeMap<(String, String), Vec<&AlertRow>> =
        Default::default();
    let mut fresh: std::collections::BTreeMap<String, Vec<&AlertRow>> = Default::default();
    for (a, target) in due {
        match a
            .targets
            .iter()
            .find(|t| &t.target == target)
            .and_then(|t| t.batch.clone())
        {
            Some(batch) => started.entry((target.clone(), batch)).or_default().push(a),
            None => fresh.entry(target.clone()).or_default().push(a),
        }
    }
    started
        .into_iter()
        .map(|((target, _), alerts)| (target, alerts))
        .chain(fresh)
        .collect()
}

fn attempts_of(a: &AlertRow, target: &str) -> i64 {
    a.targets
        .iter()
        .find(|t| t.target == target)
        .map(|t| t.attempts)
        .unwrap_or(0)
}

fn record(
    store: &mut Store,
    alerts: &[&AlertRow],
    target: &str,
    result: &Result<String, String>,
    now: Timestamp,
    report: &mut DeliveryReport,
) -> Result<(), StoreError> {
    match result {
        Ok(_) => report.messages += 1,
        Err(e) => {
            tracing::warn!(delivery_target = target, error = %e, "delivery failed; it will be retried");
            report.failed.push((target.to_string(), e.clone()));
        }
    }
    let batch: Vec<(i64, Timestamp)> = alerts
        .iter()
        .map(|a| {
            let retry = now
                .checked_add(retry_delay(attempts_of(a, target)))
                .unwrap_or(now);
            (a.id, retry)
        })
        .collect();
    match result {
        Ok(mid) => {
            store.record_attempts(
                &batch,
                target,
                now,
                Ok((!mid.is_empty()).then_some(mid.as_str())),
            )?;
            for a in alerts {
                if !report.delivered.contains(&a.id) {
                    report.delivered.push(a.id);
                }
            }
        }
        Err(e) => store.record_attempts(&batch, target, now, Err(e.as_str()))?,
    }
    Ok(())
}
