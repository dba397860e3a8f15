//! The HTML dashboard: the capability matrix (`/`), one capability's timeline
//! (`/capabilities/{id}`) and a rendered diff (`/changes/{id}`). Server-side
//! HTML with inline CSS, no script, printable. Every piece of text from a page,
//! the registry or a person goes through `html::esc`; links to pages are
//! emitted only for http(s) URLs.

use super::html::{esc, json_for_script, link_or_text, seg};
use super::{Error, PageError, ServeState, api};
use crate::config::Registry;
use crate::evaluate::{Assessment, Freshness, GuideAssessment, State as FreshState};
use crate::model::{Dimension, Stage, Status};
use crate::pipeline;
use crate::report::{excerpt, timeline};
use crate::store::{ChangeRow, Store};
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use jiff::Timestamp;
use serde_json::Value;
use std::fmt::Write;

/// Lines of a diff shown on one page; the API has the whole diff.
const MAX_DIFF_LINES: usize = 5000;
/// Timeline events shown on one page (the newest); the API has them all.
const MAX_EVENTS: usize = 500;

const CSS: &str = r#"
:root{color-scheme:light}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:0;color:#1b1b1b;background:#fff}
header.top{display:flex;flex-wrap:wrap;gap:.4rem 1.2rem;align-items:baseline;padding:.6rem 1.2rem;border-bottom:1px solid #d8d8d8;background:#fafafa}
header.top strong a{color:#1b1b1b;text-decoration:none;font-size:1.1rem}
header.top nav a{margin-right:.9rem}
main{padding:.8rem 1.2rem 2rem;max-width:1500px}
h1{font-size:1.35rem;margin:.4rem 0 .6rem}
h2{font-size:1.1rem;margin:1.4rem 0 .4rem}
a{color:#0b57d0}
table{border-collapse:collapse;width:100%;margin:.3rem 0 1rem}
th,td{border-bottom:1px solid #e3e3e3;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#f3f3f3;font-weight:600;white-space:nowrap}
small,.muted{color:#5f5f5f}
.state{display:inline-block;padding:.05rem .45rem;border-radius:3px;font-weight:600;white-space:nowrap;border:1px solid transparent}
.state-fresh{background:#1e7b34;color:#fff}
.state-due_soon{background:#f2b600;color:#1b1b1b}
.state-expired{background:#c5221f;color:#fff}
.days{white-space:nowrap}
tr.drift td.observed{background:#fff4f2}
.differs{color:#b3261e;font-weight:700}
.driftmark{color:#b3261e;font-weight:700;white-space:nowrap}
.quote{color:#474747;font-size:.92em;margin-top:.2rem}
.flags{margin:0;padding:0;list-style:none}
.flags li{display:inline-block;margin:0 .25rem .2rem 0;padding:0 .35rem;border:1px solid #c7c7c7;border-radius:3px;font-size:.88em}
.flags li.snoozed{opacity:.6}
.summary span{margin-right:1rem}
.findings li{margin-bottom:.2rem}
blockquote{margin:.25rem 0 .25rem 1rem;padding-left:.6rem;border-left:3px solid #d0d0d0;color:#3c3c3c}
.kind{display:inline-block;min-width:6.5rem;font-weight:600}
.timeline td:first-child{white-space:nowrap}
table.diff{font:12.5px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
table.diff td{border:0;padding:0 .5rem;white-space:pre-wrap;word-break:break-word}
table.diff td.sign{width:1.5rem;text-align:center;user-select:none}
tr.add{background:#e6ffec} tr.add td.sign{color:#1a7f37}
tr.del{background:#ffebe9} tr.del td.sign{color:#cf222e}
tr.hunk{background:#ddf4ff;color:#57606a}
svg.strip{width:100%;max-width:1000px;height:auto;border:1px solid #e3e3e3;background:#fcfcfc}
.legend span{display:inline-block;margin-right:.8rem}
.legend i{display:inline-block;width:.8rem;height:.8rem;margin-right:.25rem;vertical-align:-1px;border:1px solid #999}
@media print{
 header.top nav{display:none}
 body{font-size:11px}
 a{color:inherit;text-decoration:none}
 .state,tr.add,tr.del,tr.hunk,svg.strip rect{-webkit-print-color-adjust:exact;print-color-adjust:exact}
 .state{border-color:#000}
 tr{break-inside:avoid}
}
"#;

/// A whole HTML page with the shared header and style.
pub(super) fn page(title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><link rel=\"alternate\" type=\"application/atom+xml\" title=\"capwatch changes\" href=\"/feed.atom\">\
         <style>{CSS}</style></head><body>\
         <header class=\"top\"><strong><a href=\"/\">capwatch</a></strong>\
         <nav><a href=\"/\">Capabilities</a><a href=\"/feed.atom\">Atom feed</a>\
         <a href=\"/api/v1/capabilities\">JSON API</a><a href=\"/api/v1/openapi.json\">OpenAPI</a>\
         <a href=\"/metrics\">Metrics</a></nav></header>\n<main>{body}</main></body></html>\n",
        esc(title)
    );
    let mut res = Html(html).into_response();
    res.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        ),
    );
    res
}

fn plural(n: i64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// "fresh / due soon / expired" as a coloured badge (class `state-…`) and
/// the days left or overdue as visible text.
fn freshness_badge(f: &Freshness) -> String {
    let label = match f.state {
        FreshState::Fresh => "fresh",
        FreshState::DueSoon => "due soon",
        FreshState::Expired => "expired",
    };
    let figure = match f.days_left {
        None => "never validated".to_string(),
        Some(0) => "expires today".to_string(),
        Some(d) if d > 0 => format!("{} left", plural(d, "day", "days")),
        Some(d) => format!("{} overdue", plural(-d, "day", "days")),
    };
    format!(
        "<span class=\"state state-{}\">{label}</span> <span class=\"days\">{figure}</span>",
        f.state.as_str()
    )
}

fn date_or(d: Option<jiff::civil::Date>, none: &str) -> String {
    d.map(|d| d.to_string()).unwrap_or_else(|| none.to_string())
}

fn day(t: Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M UTC").to_string()
}

/// stage · access · regions, with drifting dimensions marked on the observed side.
fn status_text(s: &Status, drift: &[Dimension], mark: bool) -> String {
    let part = |d: Dimension, v: String| {
        if mark && drift.contains(&d) {
            format!(
                "<span class=\"differs\" title=\"differs from the claim\">{}</span>",
                esc(&v)
            )
        } else {
            esc(&v)
        }
    };
    format!(
        "{} · {} · {}",
        part(Dimension::Stage, s.stage.to_string()),
        part(Dimension::Access, s.access.to_string()),
        part(Dimension::Regions, s.regions.to_string())
    )
}

fn flags_list(a: &Assessment) -> String {
    if a.findings.is_empty() && a.flags.is_empty() {
        return "<span class=\"muted\">none</span>".to_string();
    }
    let mut out = String::from("<ul class=\"flags\">");
    for f in &a.findings {
        let _ = write!(
            out,
            "<li class=\"flag-{}{}\" title=\"{}\">{}{}</li>",
            f.kind.as_str(),
            if f.snoozed { " snoozed" } else { "" },
            esc(&f.summary),
            f.kind.as_str(),
            if f.snoozed { " (snoozed)" } else { "" }
        );
    }
    for k in a
        .flags
        .iter()
        .filter(|k| !a.findings.iter().any(|f| f.kind == **k))
    {
        let _ = write!(out, "<li class=\"flag-{0}\">{0}</li>", k.as_str());
    }
    out.push_str("</ul>");
    out
}

/// The newest change among a capability's sources.
fn last_change(store: &Store, reg: &Registry, cap_id: &str) -> Result<Option<ChangeRow>, Error> {
    let mut best: Option<ChangeRow> = None;
    if let Some(cap) = reg.capability(cap_id) {
        for s in &cap.sources {
            if let Some(c) = store.latest_change(&s.id)?
                && best.as_ref().is_none_or(|b| (c.at, c.id) > (b.at, b.id))
            {
                best = Some(c);
            }
        }
    }
    Ok(best)
}

/// `GET /`: the capability matrix, grouped by guide.
pub(super) async fn index(State(state): State<ServeState>) -> Result<Response, PageError> {
    let body = state
        .read(|store, reg| index_body(store, reg, Timestamp::now()))
        .await?;
    Ok(page("capwatch — claims against the docs", &body))
}

fn index_body(store: &Store, reg: &Registry, now: Timestamp) -> Result<String, Error> {
    let (guides, caps) = pipeline::assess_all(store, reg, now)?;
    let count = |s: FreshState| caps.iter().filter(|c| c.freshness.state == s).count();
    let drifting = caps.iter().filter(|c| !c.drift.is_empty()).count();
    let mut out = String::with_capacity(4096 + caps.len() * 1200);
    let _ = write!(
        out,
        "<h1>Capabilities</h1><p class=\"summary\"><span>{} capabilities in {} guide(s)</span>\
         <span><span class=\"state state-fresh\">fresh</span> {}</span>\
         <span><span class=\"state state-due_soon\">due soon</span> {}</span>\
         <span><span class=\"state state-expired\">expired</span> {}</span>\
         <span class=\"driftmark\">drift {}</span><span class=\"muted\">as of {}</span></p>",
        caps.len(),
        guides.len(),
        count(FreshState::Fresh),
        count(FreshState::DueSoon),
        count(FreshState::Expired),
        drifting,
        day(now)
    );
    if caps.is_empty() {
        out.push_str("<p>The registry names no capabilities yet.</p>");
    }
    for g in &guides {
        guide_section(&mut out, store, reg, g, &caps)?;
    }
    Ok(out)
}

fn guide_section(
    out: &mut String,
    store: &Store,
    reg: &Registry,
    g: &GuideAssessment,
    caps: &[Assessment],
) -> Result<(), Error> {
    let _ = write!(
        out,
        "<section id=\"guide-{}\"><h2>{} <small>({})</small></h2>\
         <p>Guide validated {} · expires {} · {} · <a href=\"/guides/{}/feed.atom\">feed</a></p>",
        seg(&g.id),
        esc(&g.title),
        esc(&g.id),
        date_or(g.freshness.validated_on, "never"),
        date_or(g.freshness.expires_on, "—"),
        freshness_badge(&g.freshness),
        seg(&g.id)
    );
    if !g.findings.is_empty() {
        out.push_str("<ul class=\"findings\">");
        for f in &g.findings {
            let _ = write!(
                out,
                "<li><b>{}</b>: {}</li>",
                f.kind.as_str(),
                esc(&f.summary)
            );
        }
        out.push_str("</ul>");
    }
    out.push_str(
        "<table class=\"matrix\"><thead><tr><th>Capability</th><th>Claimed</th><th>Observed</th>\
         <th>Drift</th><th>Validated</th><th>Freshness</th><th>Flags</th><th>Last change</th></tr></thead><tbody>",
    );
    for a in caps.iter().filter(|c| c.guide == g.id) {
        let drift = if a.drift.is_empty() {
            "<span class=\"muted\">—</span>".to_string()
        } else {
            format!(
                "<span class=\"driftmark\">drift: {}</span>",
                a.drift
                    .iter()
                    .map(|d| d.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let quote = a
            .observed
            .evidence
            .iter()
            .find(|e| e.dimension == "stage")
            .or(a.observed.evidence.first())
            .map(|e| {
                format!(
                    "<div class=\"quote\">“{}” — {}</div>",
                    esc(&excerpt(&e.quote, 160)),
                    link_or_text(&e.url, &e.source)
                )
            })
            .unwrap_or_default();
        let change = match last_change(store, reg, &a.id)? {
            Some(c) => format!(
                "<a href=\"/changes/{}\">{}</a><br><small>{} +{} −{}</small>",
                c.id,
                c.at.strftime("%Y-%m-%d"),
                esc(&c.source_id),
                c.added,
                c.removed
            ),
            None => "<span class=\"muted\">none</span>".to_string(),
        };
        let _ = write!(
            out,
            "<tr class=\"cap{}\" id=\"cap-{}\"><td><a href=\"/capabilities/{}\">{}</a><br><small>{}</small></td>\
             <td class=\"claimed\">{}</td><td class=\"observed\">{}{}</td><td>{}</td>\
             <td>{}<br><small>expires {}</small></td><td class=\"freshness\">{}</td><td>{}</td><td>{}</td></tr>",
            if a.drift.is_empty() { "" } else { " drift" },
            seg(&a.id),
            seg(&a.id),
            esc(&a.name),
            esc(&a.id),
            status_text(&a.claim, &a.drift, false),
            status_text(&a.observed.status(), &a.drift, true),
            quote,
            drift,
            date_or(a.freshness.validated_on, "never"),
            date_or(a.freshness.expires_on, "—"),
            freshness_badge(&a.freshness),
            flags_list(a),
            change
        );
    }
    out.push_str("</tbody></table></section>");
    Ok(())
}

/// `GET /capabilities/{id}`: status, evidence, sources, a stage strip and the timeline.
pub(super) async fn capability(
    State(state): State<ServeState>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let (title, body) = state
        .read(move |store, reg| capability_body(store, reg, &id, Timestamp::now()))
        .await?;
    Ok(page(&title, &body))
}

fn capability_body(
    store: &Store,
    reg: &Registry,
    id: &str,
    now: Timestamp,
) -> Result<(String, String), Error> {
    let cap = api::find_capability(reg, id)?;
    let (guides, caps) = pipeline::assess_all(store, reg, now)?;
    let detail = api::detail_from(store, cap, &guides, &caps)?;
    let a = caps
        .iter()
        .find(|c| c.id == cap.id)
        .ok_or_else(|| Error::not_found(format!("no capability \"{id}\"")))?;
    let events = timeline(store, reg, &cap.id, None, None)?;
    let mut out = String::with_capacity(16 * 1024);
    let _ = write!(
        out,
        "<p><a href=\"/#guide-{}\">← guide {}</a></p><h1>{} <small>({})</small></h1>",
        seg(&cap.guide),
        esc(&cap.guide),
        esc(&a.name),
        esc(&a.id)
    );
    let _ = write!(
        out,
        "<table class=\"status\"><thead><tr><th></th><th>Claimed</th><th>Observed</th></tr></thead><tbody>"
    );
    let obs = a.observed.status();
    for (d, c, o) in [
        (
            Dimension::Stage,
            a.claim.stage.to_string(),
            obs.stage.to_string(),
        ),
        (
            Dimension::Access,
            a.claim.access.to_string(),
            obs.access.to_string(),
        ),
        (
            Dimension::Regions,
            a.claim.regions.to_string(),
            obs.regions.to_string(),
        ),
    ] {
        let differs = a.drift.contains(&d);
        let _ = write!(
            out,
            "<tr{}><th>{}</th><td>{}</td><td{}>{}{}</td></tr>",
            if differs { " class=\"drift\"" } else { "" },
            d.as_str(),
            esc(&c),
            if differs {
                " class=\"observed differs\""
            } else {
                " class=\"observed\""
            },
            esc(&o),
            if differs { " ⚠ drift" } else { "" }
        );
    }
    let _ = write!(
        out,
        "</tbody></table><p>Validated {} · expires {} · {}{}</p>",
        date_or(a.freshness.validated_on, "never"),
        date_or(a.freshness.expires_on, "—"),
        freshness_badge(&a.freshness),
        a.last_review
            .as_ref()
            .map(|r| format!(
                " · last review by {} on {}{}",
                esc(&r.by),
                day(r.at),
                r.note
                    .as_ref()
                    .map(|n| format!(": “{}”", esc(n)))
                    .unwrap_or_default()
            ))
            .unwrap_or_default()
    );
    let _ = write!(
        out,
        "<p class=\"muted\">Record a review: <code>capwatch review {} --by NAME --note TEXT</code></p>",
        esc(&a.id)
    );
    if !a.findings.is_empty() {
        out.push_str("<h2>Findings</h2><ul class=\"findings\">");
        for f in &a.findings {
            let _ = write!(
                out,
                "<li><b>{}</b>{}: {}</li>",
                f.kind.as_str(),
                if f.snoozed { " (snoozed)" } else { "" },
                esc(&f.summary)
            );
        }
        out.push_str("</ul>");
    }
    out.push_str("<h2>Evidence</h2>");
    if a.observed.evidence.is_empty() {
        out.push_str("<p class=\"muted\">No page states a status for this capability yet.</p>");
    }
    for e in &a.observed.evidence {
        let _ = write!(
            out,
            "<blockquote>“{}”</blockquote><p class=\"muted\">{} = {} — {} · rule: {}</p>",
            esc(&e.quote),
            esc(&e.dimension),
            esc(&e.value),
            link_or_text(&e.url, &e.source),
            esc(&e.rule)
        );
    }
    for n in &a.observed.notes {
        let _ = write!(out, "<p><b>note:</b> {}</p>", esc(n));
    }

    out.push_str(
        "<h2>Sources</h2><table><thead><tr><th>Source</th><th>Last check</th><th>Version</th><th>Latest change</th></tr></thead><tbody>",
    );
    for s in detail["sources"].as_array().into_iter().flatten() {
        let str_of = |v: &Value| v.as_str().unwrap_or_default().to_string();
        let check = &s["last_check"];
        let check = if check.is_null() {
            "never checked".to_string()
        } else {
            format!(
                "{} <small>{} · {} ms</small>",
                esc(&str_of(&check["detail"])),
                esc(&str_of(&check["at"])),
                check["duration_ms"]
            )
        };
        let version = match s["current_snapshot"]["seq"].as_i64() {
            Some(n) => format!("snapshot {n}"),
            None => "none".to_string(),
        };
        let change = &s["latest_change"];
        let change = match change["id"].as_i64() {
            Some(cid) => format!(
                "<a href=\"/changes/{cid}\">{} → {}</a> <small>{}</small>",
                change["from"]["seq"],
                change["to"]["seq"],
                esc(&str_of(&change["at"]))
            ),
            None => "none".to_string(),
        };
        let failures = s["failures"].as_u64().unwrap_or(0);
        let _ = write!(
            out,
            "<tr><td>{}<br><small>{}</small></td><td>{}{}</td><td>{}</td><td>{}</td></tr>",
            esc(&str_of(&s["id"])),
            link_or_text(&str_of(&s["url"]), &str_of(&s["url"])),
            check,
            if failures > 0 {
                format!("<br><b>{failures} failed in a row</b>")
            } else {
                String::new()
            },
            version,
            change
        );
    }
    out.push_str("</tbody></table>");

    out.push_str("<h2>Observed stage over time</h2>");
    let source_ids: Vec<String> = cap.sources.iter().map(|s| s.id.clone()).collect();
    out.push_str(&stage_strip(&events, &source_ids, now));

    let _ = write!(
        out,
        "<h2>Timeline</h2><p class=\"muted\">Newest first{}. <a href=\"/api/v1/capabilities/{}/history\">As JSON</a>.</p>\
         <table class=\"timeline\"><thead><tr><th>When</th><th>What</th></tr></thead><tbody>",
        if events.len() > MAX_EVENTS {
            format!("; the latest {MAX_EVENTS} of {} events", events.len())
        } else {
            String::new()
        },
        seg(&cap.id)
    );
    for e in events.iter().rev().take(MAX_EVENTS) {
        timeline_row(&mut out, e);
    }
    out.push_str("</tbody></table>");
    let _ = write!(
        out,
        "<script type=\"application/json\" id=\"capwatch-status\">{}</script>",
        json_for_script(&detail)
    );
    Ok((format!("{} — capwatch", a.name), out))
}

fn timeline_row(out: &mut String, e: &Value) {
    let s = |k: &str| e[k].as_str().unwrap_or_default();
    let kind = s("kind");
    let mut what = format!(
        "<span class=\"kind kind-{}\">{}</span> {}",
        esc(kind),
        esc(kind),
        esc(s("summary"))
    );
    match kind {
        "observation" if !s("quote").is_empty() => {
            let _ = write!(what, "<blockquote>“{}”</blockquote>", esc(s("quote")));
        }
        "change" => {
            if let Some(id) = e["change_id"].as_i64() {
                let _ = write!(what, " <a href=\"/changes/{id}\">view diff</a>");
            }
        }
        _ => {}
    }
    let _ = write!(
        out,
        "<tr class=\"event event-{}\"><td>{}</td><td>{}</td></tr>",
        esc(kind),
        esc(s("at")),
        what
    );
}

fn stage_colour(stage: &str) -> &'static str {
    match stage {
        "announced" => "#9aa0a6",
        "preview" => "#8e63ce",
        "beta" => "#1a73e8",
        "ga" => "#1e8e3e",
        "deprecated" => "#e37400",
        "retired" => "#795548",
        _ => "#d0d0d0",
    }
}

/// A small inline SVG: one lane for the claim and one per source, each
/// coloured by stage from the time it was recorded until the next record (or now).
fn stage_strip(events: &[Value], sources: &[String], now: Timestamp) -> String {
    // (lane, at, stage)
    let mut marks: Vec<(String, Timestamp, String)> = Vec::new();
    for e in events {
        let lane = match e["kind"].as_str() {
            Some("claim") => "claimed".to_string(),
            Some("observation") => e["source"].as_str().unwrap_or_default().to_string(),
            _ => continue,
        };
        let (Some(at), Some(stage)) = (
            e["at"].as_str().and_then(|t| t.parse::<Timestamp>().ok()),
            e["stage"].as_str(),
        ) else {
            continue;
        };
        marks.push((lane, at, stage.to_string()));
    }
    if marks.is_empty() {
        return "<p class=\"muted\">Nothing recorded yet.</p>".to_string();
    }
    let t0 = marks.iter().map(|m| m.1).min().unwrap_or(now);
    let t1 = now.max(t0 + jiff::SignedDuration::from_hours(1));
    let span = (t1.as_millisecond() - t0.as_millisecond()).max(1) as f64;
    let mut lanes = vec!["claimed".to_string()];
    for s in sources {
        if !lanes.contains(s) {
            lanes.push(s.clone());
        }
    }
    for m in &marks {
        if !lanes.contains(&m.0) {
            lanes.push(m.0.clone());
        }
    }
    let (label_w, plot_w, lane_h) = (170.0, 800.0, 22.0);
    let height = lanes.len() as f64 * lane_h + 24.0;
    let x =
        |t: Timestamp| label_w + (t.as_millisecond() - t0.as_millisecond()) as f64 / span * plot_w;
    let mut svg = format!(
        "<svg class=\"strip\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {height}\" role=\"img\" \
         aria-label=\"stage over time, claim and each source\">",
        w = label_w + plot_w + 10.0
    );
    let mut stages_seen: Vec<String> = Vec::new();
    for (i, lane) in lanes.iter().enumerate() {
        let y = i as f64 * lane_h + 2.0;
        let _ = write!(
            svg,
            "<text x=\"4\" y=\"{:.1}\" font-size=\"12\" fill=\"#333\">{}</text>",
            y + 15.0,
            esc(&excerpt(lane, 22))
        );
        let mine: Vec<&(String, Timestamp, String)> =
            marks.iter().filter(|m| &m.0 == lane).collect();
        for (j, m) in mine.iter().enumerate() {
            let end = mine.get(j + 1).map(|n| n.1).unwrap_or(t1);
            let (x0, x1) = (x(m.1), x(end));
            let w = (x1 - x0).max(1.5);
            if !stages_seen.contains(&m.2) {
                stages_seen.push(m.2.clone());
            }
            let _ = write!(
                svg,
                "<rect x=\"{x0:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{:.1}\" fill=\"{}\" data-stage=\"{}\">\
                 <title>{}: {} from {} to {}</title></rect>",
                lane_h - 4.0,
                stage_colour(&m.2),
                esc(&m.2),
                esc(lane),
                esc(&m.2),
                day(m.1),
                if end == t1 {
                    "now".to_string()
                } else {
                    day(end)
                }
            );
            if w > 46.0 {
                let _ = write!(
                    svg,
                    "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" fill=\"#fff\">{}</text>",
                    x0 + 4.0,
                    y + 14.0,
                    esc(&m.2)
                );
            }
        }
    }
    let axis_y = lanes.len() as f64 * lane_h + 16.0;
    let _ = write!(
        svg,
        "<text x=\"{label_w}\" y=\"{axis_y:.1}\" font-size=\"11\" fill=\"#555\">{}</text>\
         <text x=\"{:.1}\" y=\"{axis_y:.1}\" font-size=\"11\" fill=\"#555\" text-anchor=\"end\">{}</text></svg>",
        t0.strftime("%Y-%m-%d"),
        label_w + plot_w,
        t1.strftime("%Y-%m-%d")
    );
    let mut legend = String::from("<p class=\"legend\">");
    for st in Stage::ALL
        .iter()
        .map(|s| s.as_str())
        .filter(|s| stages_seen.iter().any(|x| x == s))
    {
        let _ = write!(
            legend,
            "<span><i style=\"background:{}\"></i>{st}</span>",
            stage_colour(st)
        );
    }
    legend.push_str("</p>");
    svg + &legend
}

/// `GET /changes/{id}`: one change as a coloured diff.
pub(super) async fn change(
    State(state): State<ServeState>,
    Path(raw): Path<String>,
) -> Result<Response, PageError> {
    let id = api::change_id(&raw)?;
    let (title, body) = state
        .read(move |store, reg| change_body(store, reg, id))
        .await?;
    Ok(page(&title, &body))
}

fn change_body(store: &Store, reg: &Registry, id: i64) -> Result<(String, String), Error> {
    let c = store.change(id)?;
    let src = reg.source(&c.source_id);
    let old = store.content(&c.from.hash)?;
    let new = store.content(&c.to.hash)?;
    let lines = crate::diff::lines(&old, &new);
    let mut out = String::with_capacity(lines.len() * 80 + 2048);
    let cap_link = match src {
        Some(s) => {
            let name = reg
                .capability(&s.capability)
                .map(|c| c.name.as_str())
                .unwrap_or(&s.capability);
            format!(
                "<a href=\"/capabilities/{}\">← {}</a>",
                seg(&s.capability),
                esc(name)
            )
        }
        None => "<a href=\"/\">← capabilities</a>".to_string(),
    };
    let _ = write!(
        out,
        "<p>{cap_link}</p><h1>Change #{}: {} snapshot {} → {}</h1>\
         <p>{} · <span class=\"muted\">from {} to {}</span> · \
         <b style=\"color:#1a7f37\">+{}</b> <b style=\"color:#cf222e\">−{}</b> lines · \
         <a href=\"/api/v1/changes/{}\">as JSON</a></p>",
        c.id,
        esc(&c.source_id),
        c.from.seq,
        c.to.seq,
        src.map(|s| link_or_text(s.url.as_str(), s.url.as_str()))
            .unwrap_or_else(|| "(source no longer in the registry)".to_string()),
        day(c.from.at),
        day(c.to.at),
        c.added,
        c.removed,
        c.id
    );
    let siblings = store.changes(std::slice::from_ref(&c.source_id), None, None)?;
    let pos = siblings.iter().position(|s| s.id == c.id);
    let older = pos
        .and_then(|p| p.checked_sub(1))
        .and_then(|p| siblings.get(p));
    let newer = pos.and_then(|p| siblings.get(p + 1));
    if older.is_some() || newer.is_some() {
        out.push_str("<p>");
        if let Some(o) = older {
            let _ = write!(out, "<a href=\"/changes/{}\">← older change</a> ", o.id);
        }
        if let Some(n) = newer {
            let _ = write!(out, "<a href=\"/changes/{}\">newer change →</a>", n.id);
        }
        out.push_str("</p>");
    }
    if lines.is_empty() {
        out.push_str("<p>The two snapshots have the same text.</p>");
    } else {
        out.push_str("<table class=\"diff\"><tbody>");
        for l in lines.iter().take(MAX_DIFF_LINES) {
            let class = match l.tag {
                "+" => "add",
                "-" => "del",
                "@" => "hunk",
                _ => "ctx",
            };
            let sign = match l.tag {
                "+" => "+",
                "-" => "−",
                _ => "",
            };
            let _ = write!(
                out,
                "<tr class=\"{class}\"><td class=\"sign\">{sign}</td><td>{}</td></tr>",
                esc(&l.text)
            );
        }
        out.push_str("</tbody></table>");
        if lines.len() > MAX_DIFF_LINES {
            let _ = write!(
                out,
                "<p>Showing {MAX_DIFF_LINES} of {} diff lines; <a href=\"/api/v1/changes/{}\">the JSON</a> has them all.</p>",
                lines.len(),
                c.id
            );
        }
    }
    Ok((
        format!("Change #{} of {} — capwatch", c.id, c.source_id),
        out,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn badges_say_the_days() {
        let f = |state, days_left| Freshness {
            validated_on: None,
            expires_on: None,
            state,
            days_left,
        };
        let b = freshness_badge(&f(FreshState::Expired, Some(-3)));
        assert!(
            b.contains("state-expired") && b.contains("3 days overdue"),
            "{b}"
        );
        let b = freshness_badge(&f(FreshState::DueSoon, Some(1)));
        assert!(
            b.contains("state-due_soon") && b.contains("1 day left"),
            "{b}"
        );
        let b = freshness_badge(&f(FreshState::Expired, None));
        assert!(b.contains("never validated"), "{b}");
    }

    #[test]
    fn strip_escapes_lane_names_and_draws_segments() {
        let events = vec![
            serde_json::json!({"at": "2026-01-01T00:00:00.000Z", "kind": "claim", "stage": "beta"}),
            serde_json::json!({"at": "2026-02-01T00:00:00.000Z", "kind": "observation", "source": "<script>x", "stage": "ga"}),
        ];
        let svg = stage_strip(
            &events,
            &["<script>x".into()],
            "2026-03-01T00:00:00Z".parse().unwrap(),
        );
        assert!(!svg.contains("<script>"), "{svg}");
        assert!(svg.contains("&lt;script&gt;x"));
        assert_eq!(svg.matches("<rect").count(), 2);
        assert!(svg.contains("data-stage=\"ga\""));
    }
}
