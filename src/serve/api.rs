//! The JSON API under `/api/v1/`. Status rows and history events are the same
//! JSON the CLI prints (`report::status_json`, `report::timeline`); errors are
//! `{"error": "…"}` with 400, 401, 404 or 5xx.

use super::{ApiError, Error, ServeState, html, query_time};
use crate::config::{self, Registry};
use crate::evaluate::GuideAssessment;
use crate::pipeline;
use crate::report::{rfc3339, status_json, timeline};
use crate::store::{ChangeRow, Store, StoreError, Subject};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{Value, json};

type ApiResult = Result<Response, ApiError>;

fn ok(v: Value) -> ApiResult {
    Ok(Json(v).into_response())
}

/// `GET /api/v1/openapi.json`: the hand-written OpenAPI 3.1 description.
pub(super) async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        include_str!("openapi.json"),
    )
        .into_response()
}

#[derive(Debug, Deserialize)]
pub(super) struct CapabilitiesQuery {
    guide: Option<String>,
}

/// `GET /api/v1/capabilities[?guide=ID]`: every status row.
pub(super) async fn capabilities(
    State(state): State<ServeState>,
    Query(q): Query<CapabilitiesQuery>,
) -> ApiResult {
    let rows = state
        .read(move |store, reg| {
            if let Some(g) = &q.guide
                && reg.guide(g).is_none()
            {
                return Err(Error::not_found(format!("no guide \"{g}\"")));
            }
            let (_, caps) = pipeline::assess_all(store, reg, Timestamp::now())?;
            Ok(caps
                .iter()
                .filter(|c| q.guide.as_ref().is_none_or(|g| &c.guide == g))
                .map(status_json)
                .collect::<Vec<_>>())
        })
        .await?;
    ok(Value::Array(rows))
}

/// `GET /api/v1/capabilities/{id}`: one status row, its sources and its
/// guide's freshness.
pub(super) async fn capability(
    State(state): State<ServeState>,
    Path(id): Path<String>,
) -> ApiResult {
    let v = state
        .read(move |store, reg| capability_detail(store, reg, &id, Timestamp::now()))
        .await?;
    ok(v)
}

/// The detail object shared by the API and the dashboard's data island.
pub(super) fn capability_detail(
    store: &Store,
    reg: &Registry,
    id: &str,
    now: Timestamp,
) -> Result<Value, Error> {
    let cap = find_capability(reg, id)?;
    let (guides, caps) = pipeline::assess_all(store, reg, now)?;
    detail_from(store, cap, &guides, &caps)
}

/// The detail object from assessments already made.
pub(super) fn detail_from(
    store: &Store,
    cap: &config::Capability,
    guides: &[GuideAssessment],
    caps: &[crate::evaluate::Assessment],
) -> Result<Value, Error> {
    let a = caps
        .iter()
        .find(|c| c.id == cap.id)
        .ok_or_else(|| Error::not_found(format!("no capability \"{}\"", cap.id)))?;
    let mut v = status_json(a);
    let sources = cap
        .sources
        .iter()
        .map(|s| source_json(store, s))
        .collect::<Result<Vec<_>, _>>()?;
    v["sources"] = Value::Array(sources);
    v["guide_freshness"] = guides
        .iter()
        .find(|g| g.id == cap.guide)
        .map(guide_json)
        .unwrap_or(Value::Null);
    v["links"] = json!({
        "html": format!("/capabilities/{}", html::seg(&cap.id)),
        "history": format!("/api/v1/capabilities/{}/history", html::seg(&cap.id)),
    });
    Ok(v)
}

pub(super) fn find_capability<'r>(
    reg: &'r Registry,
    id: &str,
) -> Result<&'r config::Capability, Error> {
    reg.capability(id).ok_or_else(|| {
        Error::not_found(format!(
            "no capability \"{id}\" in the registry; GET /api/v1/capabilities lists them"
        ))
    })
}

/// One watched page: its last check, current version and latest change.
pub(super) fn source_json(store: &Store, s: &config::Source) -> Result<Value, Error> {
    let state = match store.source_state(&s.id) {
        Ok(st) => Some(st),
        Err(StoreError::NotFound(_)) => None,
        Err(e) => return Err(e.into()),
    };
    let last = store.last_check(&s.id)?;
    let latest = store.latest_change(&s.id)?;
    Ok(json!({
        "id": s.id,
        "url": s.url.as_str(),
        "select": s.selection.select_source(),
        "failures": state.as_ref().map(|st| st.failures),
        "next_check_at": state.as_ref().and_then(|st| st.next_check_at).map(rfc3339),
        "current_snapshot": state.as_ref().and_then(|st| st.current.as_ref()).map(|c| json!({"seq": c.1, "hash": c.2})),
        "last_check": last.map(|c| json!({
            "at": rfc3339(c.at), "outcome": c.outcome.kind(), "detail": c.outcome.to_string(),
            "http_status": c.http_status, "duration_ms": c.duration_ms,
        })),
        "latest_change": latest.map(|c| change_json(&c, Some(&s.capability))),
        "changes": format!("/api/v1/sources/{}/changes", html::seg(&s.id)),
    }))
}

/// A change without its diff.
pub(super) fn change_json(c: &ChangeRow, capability: Option<&str>) -> Value {
    let snap =
        |s: &crate::store::SnapshotRow| json!({"seq": s.seq, "at": rfc3339(s.at), "hash": s.hash});
    json!({
        "id": c.id,
        "source": c.source_id,
        "capability": capability,
        "at": rfc3339(c.at),
        "from": snap(&c.from),
        "to": snap(&c.to),
        "added": c.added,
        "removed": c.removed,
        "links": {
            "self": format!("/api/v1/changes/{}", c.id),
            "html": format!("/changes/{}", c.id),
        },
    })
}

/// A guide's freshness and flags.
pub(super) fn guide_json(g: &GuideAssessment) -> Value {
    let f = &g.freshness;
    json!({
        "id": g.id,
        "title": g.title,
        "owners": g.owners,
        "validated_on": f.validated_on.map(|d| d.to_string()),
        "expires_on": f.expires_on.map(|d| d.to_string()),
        "days_left": f.days_left,
        "state": f.state,
        "flags": g.flags,
        "capabilities": g.capabilities,
        "findings": g.findings,
    })
}

/// `GET /api/v1/guides`: every guide's freshness.
pub(super) async fn guides(State(state): State<ServeState>) -> ApiResult {
    let rows = state
        .read(|store, reg| {
            let (guides, _) = pipeline::assess_all(store, reg, Timestamp::now())?;
            Ok(guides.iter().map(guide_json).collect::<Vec<_>>())
        })
        .await?;
    ok(Value::Array(rows))
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct HistoryQuery {
    since: Option<String>,
    until: Option<String>,
    as_of: Option<String>,
}

/// `GET /api/v1/capabilities/{id}/history?since=&until=&as_of=`: events
/// oldest first; with `as_of`, one status row as it stood then.
pub(super) async fn history(
    State(state): State<ServeState>,
    Path(id): Path<String>,
    Query(q): Query<HistoryQuery>,
) -> ApiResult {
    let since = query_time("since", q.since.as_deref(), false)?;
    let until = query_time("until", q.until.as_deref(), true)?;
    let as_of = query_time("as_of", q.as_of.as_deref(), true)?;
    if as_of.is_some() && (since.is_some() || until.is_some()) {
        return Err(Error::bad_request(
            "as_of gives one status row; use it without since and until",
        )
        .into());
    }
    if let (Some(s), Some(u)) = (since, until)
        && s > u
    {
        return Err(Error::bad_request(format!(
            "since ({}) is after until ({})",
            rfc3339(s),
            rfc3339(u)
        ))
        .into());
    }
    let v = state
        .read(move |store, reg| {
            let cap = find_capability(reg, &id)?;
            match as_of {
                Some(at) => {
                    let facts = store.facts(reg, cap, at)?;
                    let a = crate::evaluate::assess(&facts, at);
                    let mut v = status_json(&a);
                    v["as_of"] = json!(rfc3339(at));
                    Ok(v)
                }
                None => Ok(Value::Array(timeline(store, reg, &cap.id, since, until)?)),
            }
        })
        .await?;
    ok(v)
}

/// `GET /api/v1/sources/{id}/changes?since=&until=`: changes oldest first.
pub(super) async fn source_changes(
    State(state): State<ServeState>,
    Path(id): Path<String>,
    Query(q): Query<HistoryQuery>,
) -> ApiResult {
    let since = query_time("since", q.since.as_deref(), false)?;
    let until = query_time("until", q.until.as_deref(), true)?;
    let rows = state
        .read(move |store, reg| {
            let capability = reg.source(&id).map(|s| s.capability.clone());
            if capability.is_none() && store.snapshots(&id)?.is_empty() {
                return Err(Error::not_found(format!(
                    "no source \"{id}\" in the registry or the database"
                )));
            }
            let changes = store.changes(std::slice::from_ref(&id), since, until)?;
            Ok(changes
                .iter()
                .map(|c| change_json(c, capability.as_deref()))
                .collect::<Vec<_>>())
        })
        .await?;
    ok(Value::Array(rows))
}

/// A change id from the path, or a 400/404 in plain words.
pub(super) fn change_id(raw: &str) -> Result<i64, Error> {
    raw.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| Error::bad_request(format!("\"{raw}\" is not a change number")))
}

/// `GET /api/v1/changes/{id}`: one change with its unified diff and the
/// tagged diff lines.
pub(super) async fn change(State(state): State<ServeState>, Path(raw): Path<String>) -> ApiResult {
    let id = change_id(&raw)?;
    let v = state
        .read(move |store, reg| {
            let c = store.change(id)?;
            let src = reg.source(&c.source_id);
            let old = store.content(&c.from.hash)?;
            let new = store.content(&c.to.hash)?;
            let header = |s: &crate::store::SnapshotRow| {
                format!("{} snapshot {} ({})", c.source_id, s.seq, rfc3339(s.at))
            };
            let mut v = change_json(&c, src.map(|s| s.capability.as_str()));
            v["url"] = json!(src.map(|s| s.url.as_str()));
            v["diff"] = json!(crate::diff::unified(
                &old,
                &new,
                &header(&c.from),
                &header(&c.to)
            ));
            v["lines"] = json!(crate::diff::lines(&old, &new));
            Ok(v)
        })
        .await?;
    ok(v)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReviewBody {
    capability: Option<String>,
    guide: Option<String>,
    by: String,
    note: Option<String>,
}

/// True when `Authorization: Bearer <token>` carries the token. Both sides
/// are hashed first, so the comparison takes the same time whatever the
/// length or the first differing byte.
fn authorized(headers: &HeaderMap, token: &str) -> bool {
    use sha2::{Digest, Sha256};
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, rest) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
        });
    let Some(given) = given else {
        return false;
    };
    let a = Sha256::digest(given.as_bytes());
    let b = Sha256::digest(token.as_bytes());
    let diff = a
        .iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

fn unauthorized() -> Response {
    let mut res = ApiError(Error::new(
        StatusCode::UNAUTHORIZED,
        "a review needs the header `Authorization: Bearer <token>` with the server's CAPWATCH_API_TOKEN",
    ))
    .into_response();
    res.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"capwatch\""),
    );
    res
}

/// `POST /api/v1/reviews`: record that a person validated a capability or a
/// whole guide now, re-baselining its sources, and bring the outbox up to
/// date (as `capwatch review` does). Delivery is left to the daemon or the
/// next `capwatch check`.
pub(super) async fn review(
    State(state): State<ServeState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let Some(token) = state.token() else {
        return Err(Error::not_found("writing is disabled: CAPWATCH_API_TOKEN is not set").into());
    };
    if !authorized(&headers, token) {
        return Ok(unauthorized());
    }
    let body: ReviewBody = serde_json::from_slice(&body).map_err(|e| {
        Error::bad_request(format!(
            "the body must be JSON like {{\"capability\": \"ID\", \"by\": \"NAME\", \"note\": \"TEXT\"}}: {e}"
        ))
    })?;
    let by = body.by.trim().to_string();
    if by.is_empty() || by.chars().count() > 200 {
        return Err(Error::bad_request(
            "\"by\" needs the reviewer's name (at most 200 characters)",
        )
        .into());
    }
    let note = body
        .note
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty());
    if note.as_ref().is_some_and(|n| n.chars().count() > 4000) {
        return Err(Error::bad_request("\"note\" is longer than 4000 characters").into());
    }
    let (capability, guide) = (body.capability, body.guide);
    let v = state
        .write(move |store, reg| {
            let now = Timestamp::now();
            let (subject, sources) = match (&capability, &guide) {
                (Some(c), None) => {
                    let cap = find_capability(reg, c)?;
                    (
                        Subject::Capability(&cap.id),
                        cap.sources.iter().map(|s| s.id.clone()).collect::<Vec<_>>(),
                    )
                }
                (None, Some(g)) => {
                    let Some(guide) = reg.guide(g) else {
                        return Err(Error::not_found(format!(
                            "no guide \"{g}\" in the registry"
                        )));
                    };
                    let sources = reg
                        .capabilities
                        .iter()
                        .filter(|c| c.guide == guide.id)
                        .flat_map(|c| c.sources.iter().map(|s| s.id.clone()))
                        .collect();
                    (Subject::Guide(&guide.id), sources)
                }
                _ => {
                    return Err(Error::bad_request(
                        "name exactly one of \"capability\" or \"guide\"",
                    ));
                }
            };
            let review_id = store.record_review(subject, &sources, &by, note.as_deref(), now)?;
            let (guides, caps) = pipeline::assess_all(store, reg, now)?;
            // As `capwatch review`: what the review cleared is resolved in the
            // outbox now; delivery is left to the daemon or the next check.
            let queued = crate::outbox::queue(store, reg, &guides, &caps, now)?;
            let rows: Vec<Value> = caps
                .iter()
                .filter(|c| match subject {
                    Subject::Capability(id) => c.id == id,
                    Subject::Guide(id) => c.guide == id,
                })
                .map(status_json)
                .collect();
            let (kind, sid) = match subject {
                Subject::Capability(id) => ("capability", id),
                Subject::Guide(id) => ("guide", id),
            };
            Ok(json!({
                "review": {
                    "id": review_id, "subject_kind": kind, "subject_id": sid,
                    "at": rfc3339(now), "by": by, "note": note, "sources": sources,
                },
                "capabilities": rows,
                "alerts": {
                    "queued": queued.queued, "reminders": queued.reminders, "resolved": queued.resolved,
                },
            }))
        })
        .await?;
    Ok((StatusCode::CREATED, Json(v)).into_response())
}
