//! The HTML dashboard: the capability matrix (`/`), one capability's timeline
//! (`/capabilities/{id}`) and a rendered diff (`/changes/{id}`). Server-side
//! HTML with inline CSS, no script, printable. The pages are maud templates:
//! every piece of text from a page, the registry or a person is a `(splice)`,
//! which maud escapes; links to pages are emitted only for http(s) URLs.

use super::html::{JsonIsland, link_or_text, seg};
use super::{Error, PageError, ServeState, api};
use crate::config::Registry;
use crate::evaluate::{Assessment, Freshness, GuideAssessment, State as FreshState};
use crate::model::{Dimension, Stage, Status};
use crate::pipeline;
use crate::report::{excerpt, timeline};
use crate::store::{ChangeRow, Store};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use jiff::Timestamp;
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde_json::Value;

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
pub(super) fn page(title: &str, body: Markup) -> Response {
    let doc = html! {
        (DOCTYPE) "\n"
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                link rel="alternate" type="application/atom+xml" title="capwatch changes" href="/feed.atom";
                // Safe: CSS is a constant of this file, with no outside text in it.
                style { (PreEscaped(CSS)) }
            }
            body {
                header.top {
                    strong { a href="/" { "capwatch" } }
                    nav {
                        a href="/" { "Capabilities" }
                        a href="/feed.atom" { "Atom feed" }
                        a href="/api/v1/capabilities" { "JSON API" }
                        a href="/api/v1/openapi.json" { "OpenAPI" }
                        a href="/metrics" { "Metrics" }
                    }
                }
                "\n"
                main { (body) }
            }
        }
        "\n"
    };
    let mut res = Html(doc.into_string()).into_response();
    res.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    res
}

fn plural(n: i64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// "fresh / due soon / expired" as a coloured badge (class `state-…`) and
/// the days left or overdue as visible text.
fn freshness_badge(f: &Freshness) -> Markup {
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
    html! {
        span class={ "state state-" (f.state.as_str()) } { (label) }
        " "
        span.days { (figure) }
    }
}

fn date_or(d: Option<jiff::civil::Date>, none: &str) -> String {
    d.map(|d| d.to_string()).unwrap_or_else(|| none.to_string())
}

fn day(t: Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M UTC").to_string()
}

/// stage · access · regions, with drifting dimensions marked on the observed side.
fn status_text(s: &Status, drift: &[Dimension], mark: bool) -> Markup {
    let part = |d: Dimension, v: String| {
        html! {
            @if mark && drift.contains(&d) {
                span.differs title="differs from the claim" { (v) }
            } @else {
                (v)
            }
        }
    };
    html! {
        (part(Dimension::Stage, s.stage.to_string()))
        " · "
        (part(Dimension::Access, s.access.to_string()))
        " · "
        (part(Dimension::Regions, s.regions.to_string()))
    }
}

fn flags_list(a: &Assessment) -> Markup {
    let plain = a
        .flags
        .iter()
        .filter(|k| !a.findings.iter().any(|f| f.kind == **k));
    html! {
        @if a.findings.is_empty() && a.flags.is_empty() {
            span.muted { "none" }
        } @else {
            ul.flags {
                @for f in &a.findings {
                    li class={ "flag-" (f.kind.as_str()) @if f.snoozed { " snoozed" } }
                        title=(f.summary) {
                        (f.kind.as_str())
                        @if f.snoozed { " (snoozed)" }
                    }
                }
                @for k in plain {
                    li class={ "flag-" (k.as_str()) } { (k.as_str()) }
                }
            }
        }
    }
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

/// Who may write, for a page: the signed-in form token, or whether a sign-in exists.
#[derive(Clone)]
pub(super) enum Writer {
    /// Read-only server: no sign-in.
    None,
    /// Sign-in exists; this request is not signed in.
    SignIn,
    /// Signed in: the form token of the dashboard's forms.
    SignedIn(String),
}

impl Writer {
    fn of(state: &ServeState, headers: &HeaderMap) -> Writer {
        if !state.writable() {
            return Writer::None;
        }
        match super::actions::signed_in_token(state, headers) {
            Some(t) => Writer::SignedIn(t),
            None => Writer::SignIn,
        }
    }

    fn bar(&self) -> Markup {
        html! {
            @match self {
                Writer::None => {},
                Writer::SignIn => {
                    p.signin.muted { a href="/signin" { "Sign in" } " to record reviews and snoozes here." }
                },
                Writer::SignedIn(csrf) => {
                    div.signedin.muted { "Signed in as a reviewer. " (super::actions::signout_form(csrf)) }
                },
            }
        }
    }
}

/// `GET /`: the capability matrix, grouped by guide.
pub(super) async fn index(
    State(state): State<ServeState>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let writer = Writer::of(&state, &headers);
    let body = state
        .read(move |store, reg| index_body(store, reg, Timestamp::now(), &writer))
        .await?;
    Ok(page("capwatch — claims against the docs", body))
}

fn index_body(
    store: &Store,
    reg: &Registry,
    now: Timestamp,
    writer: &Writer,
) -> Result<Markup, Error> {
    let (guides, caps) = pipeline::assess_all(store, reg, now)?;
    let count = |s: FreshState| caps.iter().filter(|c| c.freshness.state == s).count();
    let drifting = caps.iter().filter(|c| !c.drift.is_empty()).count();
    let sections = guides
        .iter()
        .map(|g| guide_section(store, reg, g, &caps, writer))
        .collect::<Result<Vec<Markup>, Error>>()?;
    Ok(html! {
        (writer.bar())
        h1 { "Capabilities" }
        p.summary {
            span { (caps.len()) " capabilities in " (guides.len()) " guide(s)" }
            span { span.state.state-fresh { "fresh" } " " (count(FreshState::Fresh)) }
            span { span.state."state-due_soon" { "due soon" } " " (count(FreshState::DueSoon)) }
            span { span.state.state-expired { "expired" } " " (count(FreshState::Expired)) }
            span.driftmark { "drift " (drifting) }
            span.muted { "as of " (day(now)) }
        }
        @if caps.is_empty() {
            p { "The registry names no capabilities yet." }
        }
        @for s in sections { (s) }
    })
}

fn guide_section(
    store: &Store,
    reg: &Registry,
    g: &GuideAssessment,
    caps: &[Assessment],
    writer: &Writer,
) -> Result<Markup, Error> {
    let rows = caps
        .iter()
        .filter(|c| c.guide == g.id)
        .map(|a| Ok((a, last_change(store, reg, &a.id)?)))
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(html! {
        section id={ "guide-" (seg(&g.id)) } {
            h2 { (g.title) " " small { "(" (g.id) ")" } }
            p {
                "Guide validated " (date_or(g.freshness.validated_on, "never"))
                " · expires " (date_or(g.freshness.expires_on, "—"))
                " · " (freshness_badge(&g.freshness))
                " · " a href={ "/guides/" (seg(&g.id)) "/feed.atom" } { "feed" }
            }
            @if let Writer::SignedIn(csrf) = writer {
                (super::actions::guide_form(&g.id, csrf))
            }
            @if !g.findings.is_empty() {
                ul.findings {
                    @for f in &g.findings {
                        li { b { (f.kind.as_str()) } ": " (f.summary) }
                    }
                }
            }
            table.matrix {
                thead {
                    tr {
                        th { "Capability" } th { "Claimed" } th { "Observed" } th { "Drift" }
                        th { "Validated" } th { "Freshness" } th { "Flags" } th { "Last change" }
                    }
                }
                tbody {
                    @for (a, change) in &rows { (matrix_row(a, change.as_ref())) }
                }
            }
        }
    })
}

/// One capability's row in the matrix.
fn matrix_row(a: &Assessment, change: Option<&ChangeRow>) -> Markup {
    let quote = a
        .observed
        .evidence
        .iter()
        .find(|e| e.dimension == "stage")
        .or(a.observed.evidence.first());
    let drift: Vec<&str> = a.drift.iter().map(|d| d.as_str()).collect();
    html! {
        tr.cap.drift[!drift.is_empty()] id={ "cap-" (seg(&a.id)) } {
            td {
                a href={ "/capabilities/" (seg(&a.id)) } { (a.name) }
                br;
                small { (a.id) }
            }
            td.claimed { (status_text(&a.claim, &a.drift, false)) }
            td.observed {
                (status_text(&a.observed.status(), &a.drift, true))
                @if let Some(e) = quote {
                    div.quote {
                        "“" (excerpt(&e.quote, 160)) "” — " (link_or_text(&e.url, &e.source))
                    }
                }
            }
            td {
                @if drift.is_empty() {
                    span.muted { "—" }
                } @else {
                    span.driftmark { "drift: " (drift.join(", ")) }
                }
            }
            td {
                (date_or(a.freshness.validated_on, "never"))
                br;
                small { "expires " (date_or(a.freshness.expires_on, "—")) }
            }
            td.freshness { (freshness_badge(&a.freshness)) }
            td { (flags_list(a)) }
            td {
                @if let Some(c) = change {
                    a href={ "/changes/" (c.id) } { (c.at.strftime("%Y-%m-%d")) }
                    br;
                    small { (c.source_id) " +" (c.added) " −" (c.removed) }
                } @else {
                    span.muted { "none" }
                }
            }
        }
    }
}

/// `GET /capabilities/{id}`: status, evidence, sources, a stage strip and the timeline.
pub(super) async fn capability(
    State(state): State<ServeState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let writer = Writer::of(&state, &headers);
    let (title, body) = state
        .read(move |store, reg| capability_body(store, reg, &id, Timestamp::now(), &writer))
        .await?;
    Ok(page(&title, body))
}

fn capability_body(
    store: &Store,
    reg: &Registry,
    id: &str,
    now: Timestamp,
    writer: &Writer,
) -> Result<(String, Markup), Error> {
    let cap = api::find_capability(reg, id)?;
    let (guides, caps) = pipeline::assess_all(store, reg, now)?;
    let detail = api::detail_from(store, cap, &guides, &caps)?;
    let a = caps
        .iter()
        .find(|c| c.id == cap.id)
        .ok_or_else(|| Error::not_found(format!("no capability \"{id}\"")))?;
    let events = timeline(store, reg, &cap.id, None, None)?;
    let obs = a.observed.status();
    let dimensions = [
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
    ];
    let source_ids: Vec<String> = cap.sources.iter().map(|s| s.id.clone()).collect();
    let body = html! {
        p { a href={ "/#guide-" (seg(&cap.guide)) } { "← guide " (cap.guide) } }
        h1 { (a.name) " " small { "(" (a.id) ")" } }
        table.status {
            thead { tr { th {} th { "Claimed" } th { "Observed" } } }
            tbody {
                @for (d, c, o) in &dimensions {
                    @let differs = a.drift.contains(d);
                    tr class=[differs.then_some("drift")] {
                        th { (d.as_str()) }
                        td { (c) }
                        td.observed.differs[differs] { (o) @if differs { " ⚠ drift" } }
                    }
                }
            }
        }
        p {
            "Validated " (date_or(a.freshness.validated_on, "never"))
            " · expires " (date_or(a.freshness.expires_on, "—"))
            " · " (freshness_badge(&a.freshness))
            @if let Some(r) = &a.last_review {
                " · last review by " (r.by) " on " (day(r.at))
                @if let Some(c) = r.channel { " (via " (c.as_str()) ")" }
                @if let Some(n) = &r.note { ": “" (n) "”" }
            }
        }
        (writer.bar())
        @if let Writer::SignedIn(csrf) = writer {
            @let open: Vec<_> = a.findings.iter().map(|f| f.kind).collect();
            (super::actions::capability_forms(&a.id, csrf, &open))
        }
        p.muted {
            "Record a review: " code { "capwatch review " (a.id) " --by NAME --note TEXT" }
        }
        @if !a.findings.is_empty() {
            h2 { "Findings" }
            ul.findings {
                @for f in &a.findings {
                    li { b { (f.kind.as_str()) } @if f.snoozed { " (snoozed)" } ": " (f.summary) }
                }
            }
        }
        h2 { "Evidence" }
        @if a.observed.evidence.is_empty() {
            p.muted { "No page states a status for this capability yet." }
        }
        @for e in &a.observed.evidence {
            blockquote { "“" (e.quote) "”" }
            p.muted {
                (e.dimension) " = " (e.value) " — " (link_or_text(&e.url, &e.source))
                " · rule: " (e.rule)
            }
        }
        @for n in &a.observed.notes {
            p { b { "note:" } " " (n) }
        }
        h2 { "Sources" }
        table {
            thead {
                tr { th { "Source" } th { "Last check" } th { "Version" } th { "Latest change" } }
            }
            tbody {
                @for s in detail["sources"].as_array().into_iter().flatten() { (source_row(s)) }
            }
        }
        h2 { "Observed stage over time" }
        (stage_strip(&events, &source_ids, now))
        h2 { "Timeline" }
        p.muted {
            "Newest first"
            @if events.len() > MAX_EVENTS {
                "; the latest " (MAX_EVENTS) " of " (events.len()) " events"
            }
            ". " a href={ "/api/v1/capabilities/" (seg(&cap.id)) "/history" } { "As JSON" } "."
        }
        table.timeline {
            thead { tr { th { "When" } th { "What" } } }
            tbody {
                @for e in events.iter().rev().take(MAX_EVENTS) { (timeline_row(e)) }
            }
        }
        script type="application/json" id="capwatch-status" { (JsonIsland(&detail)) }
    };
    Ok((format!("{} — capwatch", a.name), body))
}

/// One row of the sources table, from the API's detail JSON.
fn source_row(s: &Value) -> Markup {
    let str_of = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let check = &s["last_check"];
    let change = &s["latest_change"];
    let failures = s["failures"].as_u64().unwrap_or(0);
    let url = str_of(&s["url"]);
    html! {
        tr {
            td { (str_of(&s["id"])) br; small { (link_or_text(&url, &url)) } }
            td {
                @if check.is_null() {
                    "never checked"
                } @else {
                    (str_of(&check["detail"])) " "
                    small { (str_of(&check["at"])) " · " (check["duration_ms"].to_string()) " ms" }
                }
                @if failures > 0 {
                    br; b { (failures) " failed in a row" }
                }
            }
            td {
                @match s["current_snapshot"]["seq"].as_i64() {
                    Some(n) => { "snapshot " (n) },
                    None => "none",
                }
            }
            td {
                @if let Some(cid) = change["id"].as_i64() {
                    a href={ "/changes/" (cid) } {
                        (change["from"]["seq"].to_string()) " → " (change["to"]["seq"].to_string())
                    }
                    " " small { (str_of(&change["at"])) }
                } @else {
                    "none"
                }
            }
        }
    }
}

fn timeline_row(e: &Value) -> Markup {
    let s = |k: &str| e[k].as_str().unwrap_or_default();
    let kind = s("kind");
    html! {
        tr class={ "event event-" (kind) } {
            td { (s("at")) }
            td {
                span class={ "kind kind-" (kind) } { (kind) } " " (s("summary"))
                @match kind {
                    "observation" if !s("quote").is_empty() => {
                        blockquote { "“" (s("quote")) "”" }
                    },
                    "change" => {
                        @if let Some(id) = e["change_id"].as_i64() {
                            " " a href={ "/changes/" (id) } { "view diff" }
                        }
                    },
                    _ => {},
                }
            }
        }
    }
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

/// A number for an SVG attribute, with one decimal.
fn n1(v: f64) -> String {
    format!("{v:.1}")
}

/// A small inline SVG: one lane for the claim and one per source, each
/// coloured by stage from the time it was recorded until the next record (or now).
fn stage_strip(events: &[Value], sources: &[String], now: Timestamp) -> Markup {
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
        return html! { p.muted { "Nothing recorded yet." } };
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
    // Per lane: its y, and each of its marks with x, width and end.
    let lanes: Vec<(f64, &String, Vec<_>)> = lanes
        .iter()
        .enumerate()
        .map(|(i, lane)| {
            let mine: Vec<&(String, Timestamp, String)> =
                marks.iter().filter(|m| &m.0 == lane).collect();
            let segments = mine
                .iter()
                .enumerate()
                .map(|(j, m)| {
                    let end = mine.get(j + 1).map(|n| n.1).unwrap_or(t1);
                    let (x0, x1) = (x(m.1), x(end));
                    (*m, x0, (x1 - x0).max(1.5), end)
                })
                .collect();
            (i as f64 * lane_h + 2.0, lane, segments)
        })
        .collect();
    let axis_y = n1(lanes.len() as f64 * lane_h + 16.0);
    let legend = Stage::ALL
        .iter()
        .map(|s| s.as_str())
        .filter(|s| marks.iter().any(|m| m.2 == *s));
    html! {
        svg.strip xmlns="http://www.w3.org/2000/svg"
            viewBox={ "0 0 " (label_w + plot_w + 10.0) " " (height) } role="img"
            aria-label="stage over time, claim and each source" {
            @for (y, lane, segments) in &lanes {
                text x="4" y=(n1(y + 15.0)) font-size="12" fill="#333" { (excerpt(lane, 22)) }
                @for (m, x0, w, end) in segments {
                    rect x=(n1(*x0)) y=(n1(*y)) width=(n1(*w)) height=(n1(lane_h - 4.0))
                        fill=(stage_colour(&m.2)) data-stage=(m.2) {
                        title {
                            (lane) ": " (m.2) " from " (day(m.1)) " to "
                            @if *end == t1 { "now" } @else { (day(*end)) }
                        }
                    }
                    @if *w > 46.0 {
                        text x=(n1(x0 + 4.0)) y=(n1(y + 14.0)) font-size="11" fill="#fff" { (m.2) }
                    }
                }
            }
            text x=(label_w) y=(axis_y) font-size="11" fill="#555" { (t0.strftime("%Y-%m-%d")) }
            text x=(n1(label_w + plot_w)) y=(axis_y) font-size="11" fill="#555" text-anchor="end" {
                (t1.strftime("%Y-%m-%d"))
            }
        }
        p.legend {
            @for st in legend {
                span { i style={ "background:" (stage_colour(st)) } {} (st) }
            }
        }
    }
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
    Ok(page(&title, body))
}

fn change_body(store: &Store, reg: &Registry, id: i64) -> Result<(String, Markup), Error> {
    let c = store.change(id)?;
    let src = reg.source(&c.source_id);
    let old = store.content(&c.from.hash)?;
    let new = store.content(&c.to.hash)?;
    let lines = crate::diff::lines(&old, &new);
    let siblings = store.changes(std::slice::from_ref(&c.source_id), None, None, None)?;
    let pos = siblings.iter().position(|s| s.id == c.id);
    let older = pos
        .and_then(|p| p.checked_sub(1))
        .and_then(|p| siblings.get(p));
    let newer = pos.and_then(|p| siblings.get(p + 1));
    let body = html! {
        p {
            @if let Some(s) = src {
                @let name = reg.capability(&s.capability).map(|c| c.name.as_str()).unwrap_or(&s.capability);
                a href={ "/capabilities/" (seg(&s.capability)) } { "← " (name) }
            } @else {
                a href="/" { "← capabilities" }
            }
        }
        h1 { "Change #" (c.id) ": " (c.source_id) " snapshot " (c.from.seq) " → " (c.to.seq) }
        p {
            @if let Some(s) = src {
                (link_or_text(s.url.as_str(), s.url.as_str()))
            } @else {
                "(source no longer in the registry)"
            }
            " · " span.muted { "from " (day(c.from.at)) " to " (day(c.to.at)) }
            " · " b style="color:#1a7f37" { "+" (c.added) }
            " " b style="color:#cf222e" { "−" (c.removed) }
            " lines · " a href={ "/api/v1/changes/" (c.id) } { "as JSON" }
        }
        @if older.is_some() || newer.is_some() {
            p {
                @if let Some(o) = older {
                    a href={ "/changes/" (o.id) } { "← older change" } " "
                }
                @if let Some(n) = newer {
                    a href={ "/changes/" (n.id) } { "newer change →" }
                }
            }
        }
        @if lines.is_empty() {
            p { "The two snapshots have the same text." }
        } @else {
            table.diff {
                tbody {
                    @for l in lines.iter().take(MAX_DIFF_LINES) {
                        @let (class, sign) = match l.tag {
                            "+" => ("add", "+"),
                            "-" => ("del", "−"),
                            "@" => ("hunk", ""),
                            _ => ("ctx", ""),
                        };
                        tr class=(class) { td.sign { (sign) } td { (l.text) } }
                    }
                }
            }
            @if lines.len() > MAX_DIFF_LINES {
                p {
                    "Showing " (MAX_DIFF_LINES) " of " (lines.len()) " diff lines; "
                    a href={ "/api/v1/changes/" (c.id) } { "the JSON" } " has them all."
                }
            }
        }
    };
    Ok((
        format!("Change #{} of {} — capwatch", c.id, c.source_id),
        body,
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
        let b = freshness_badge(&f(FreshState::Expired, Some(-3))).into_string();
        assert!(
            b.contains("state-expired") && b.contains("3 days overdue"),
            "{b}"
        );
        let b = freshness_badge(&f(FreshState::DueSoon, Some(1))).into_string();
        assert!(
            b.contains("state-due_soon") && b.contains("1 day left"),
            "{b}"
        );
        let b = freshness_badge(&f(FreshState::Expired, None)).into_string();
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
        )
        .into_string();
        assert!(!svg.contains("<script>"), "{svg}");
        assert!(svg.contains("&lt;script&gt;x"));
        assert_eq!(svg.matches("<rect").count(), 2);
        assert!(svg.contains("data-stage=\"ga\""));
    }
}
