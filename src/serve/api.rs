//! The JSON API under `/api/v1/`. Status rows and history events are the same
//! JSON the CLI prints (`report::StatusRow`, `report::Event`); errors are
//! `{"error": "…"}` with 400, 401, 404 or 5xx. Every response body is a type
//! here or in `report`, and the OpenAPI document is generated from them and
//! from the `#[utoipa::path]` on each handler.

use super::{ApiError, Error, ServeState, html, query_time};
use crate::config::{self, Registry};
use crate::diff::DiffLine;
use crate::evaluate::{FindingKind, GuideAssessment, State as FreshState};
use crate::pipeline;
use crate::report::{Event, FindingRow, StatusRow, rfc3339, status_row};
use crate::store::{ChangeRow, Store, StoreError, Subject};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

type ApiResult<T> = Result<Json<T>, ApiError>;

/// A failed request: one plain sentence saying what is wrong and how to fix it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Error)]
pub(super) struct ErrorBody {
    pub(super) error: String,
}

/// `GET /api/v1/openapi.json`: this document, generated from the handlers
/// and the types they answer with.
#[utoipa::path(get, path = "/api/v1/openapi.json", operation_id = "getOpenApi", tag = "api",
    responses((status = 200, description = "OpenAPI 3.1 JSON.", content_type = "application/json", body = Object)))]
pub(super) async fn openapi() -> Response {
    static DOC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let doc = DOC.get_or_init(|| super::openapi().to_json().unwrap_or_default());
    ([(header::CONTENT_TYPE, "application/json")], doc.as_str()).into_response()
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct CapabilitiesQuery {
    /// Only the capabilities of this guide.
    guide: Option<String>,
}

/// `GET /api/v1/capabilities[?guide=ID]`: every status row.
#[utoipa::path(get, path = "/api/v1/capabilities", operation_id = "listCapabilities", tag = "api", params(CapabilitiesQuery),
    summary = "Every capability's status row (the same objects as `capwatch status --json`).",
    responses(
        (status = 200, description = "Status rows in registry order.", body = Vec<StatusRow>),
        (status = 404, description = "No such guide.", body = ErrorBody),
    ))]
pub(super) async fn capabilities(
    State(state): State<ServeState>,
    Query(q): Query<CapabilitiesQuery>,
) -> ApiResult<Vec<StatusRow>> {
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
                .map(status_row)
                .collect())
        })
        .await?;
    Ok(Json(rows))
}

/// One status row with its sources and its guide's freshness.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct CapabilityDetail {
    #[serde(flatten)]
    row: StatusRow,
    sources: Vec<SourceRow>,
    #[schema(required = true)]
    guide_freshness: Option<GuideRow>,
    links: CapabilityLinks,
}

#[derive(Debug, Serialize, ToSchema)]
pub(super) struct CapabilityLinks {
    /// The dashboard page.
    html: String,
    /// The history in the API.
    history: String,
}

/// `GET /api/v1/capabilities/{id}`: one status row, its sources and its
/// guide's freshness.
#[utoipa::path(get, path = "/api/v1/capabilities/{id}", operation_id = "getCapability", tag = "api",
    params(("id" = String, Path, description = "The capability id from the registry.")),
    summary = "One status row with its sources and its guide's freshness.",
    responses(
        (status = 200, description = "The capability.", body = CapabilityDetail),
        (status = 404, description = "No such capability.", body = ErrorBody),
    ))]
pub(super) async fn capability(
    State(state): State<ServeState>,
    Path(id): Path<String>,
) -> ApiResult<CapabilityDetail> {
    let v = state
        .read(move |store, reg| {
            let cap = find_capability(reg, &id)?;
            let (guides, caps) = pipeline::assess_all(store, reg, Timestamp::now())?;
            detail(store, cap, &guides, &caps)
        })
        .await?;
    Ok(Json(v))
}

/// The detail object from assessments already made.
fn detail(
    store: &Store,
    cap: &config::Capability,
    guides: &[GuideAssessment],
    caps: &[crate::evaluate::Assessment],
) -> Result<CapabilityDetail, Error> {
    let a = caps
        .iter()
        .find(|c| c.id == cap.id)
        .ok_or_else(|| Error::not_found(format!("no capability \"{}\"", cap.id)))?;
    Ok(CapabilityDetail {
        row: status_row(a),
        sources: cap
            .sources
            .iter()
            .map(|s| source_row(store, s))
            .collect::<Result<_, _>>()?,
        guide_freshness: guides.iter().find(|g| g.id == cap.guide).map(guide_row),
        links: CapabilityLinks {
            html: format!("/capabilities/{}", html::seg(&cap.id)),
            history: format!("/api/v1/capabilities/{}/history", html::seg(&cap.id)),
        },
    })
}

/// [`detail`] as JSON, for the dashboard's page and data island.
pub(super) fn detail_from(
    store: &Store,
    cap: &config::Capability,
    guides: &[GuideAssessment],
    caps: &[crate::evaluate::Assessment],
) -> Result<Value, Error> {
    let d = detail(store, cap, guides, caps)?;
    serde_json::to_value(d).map_err(|e| Error::internal(e.to_string()))
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
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct SourceRow {
    id: String,
    url: String,
    /// The CSS selection.
    select: String,
    /// Consecutive failed checks; null before the first check.
    failures: Option<u32>,
    #[schema(format = DateTime)]
    next_check_at: Option<String>,
    current_snapshot: Option<SnapshotRef>,
    last_check: Option<LastCheck>,
    latest_change: Option<Change>,
    /// Path of this source's change list.
    changes: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub(super) struct SnapshotRef {
    seq: i64,
    hash: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub(super) struct LastCheck {
    #[schema(format = DateTime)]
    at: String,
    /// `ok`, `not_modified`, `http_error`, `timeout`, `network`…
    outcome: String,
    detail: String,
    http_status: Option<u16>,
    duration_ms: i64,
}

fn source_row(store: &Store, s: &config::Source) -> Result<SourceRow, Error> {
    let state = match store.source_state(&s.id) {
        Ok(st) => Some(st),
        Err(StoreError::NotFound(_)) => None,
        Err(e) => return Err(e.into()),
    };
    let last = store.last_check(&s.id)?;
    let latest = store.latest_change(&s.id)?;
    Ok(SourceRow {
        id: s.id.clone(),
        url: s.url.to_string(),
        select: s.selection.select_source().to_string(),
        failures: state.as_ref().map(|st| st.failures),
        next_check_at: state.as_ref().and_then(|st| st.next_check_at).map(rfc3339),
        current_snapshot: state
            .and_then(|st| st.current)
            .map(|(_, seq, hash)| SnapshotRef { seq, hash }),
        last_check: last.map(|c| LastCheck {
            at: rfc3339(c.at),
            outcome: c.outcome.kind().to_string(),
            detail: c.outcome.to_string(),
            http_status: c.http_status,
            duration_ms: c.duration_ms,
        }),
        latest_change: latest.map(|c| change(&c, Some(&s.capability))),
        changes: format!("/api/v1/sources/{}/changes", html::seg(&s.id)),
    })
}

/// A transition between two versions of a source, without its diff.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct Change {
    id: i64,
    source: String,
    capability: Option<String>,
    #[schema(format = DateTime)]
    at: String,
    from: Snapshot,
    to: Snapshot,
    added: i64,
    removed: i64,
    links: ChangeLinks,
}

/// One stored version of a source.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct Snapshot {
    seq: i64,
    #[schema(format = DateTime)]
    at: String,
    hash: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub(super) struct ChangeLinks {
    #[serde(rename = "self")]
    this: String,
    html: String,
}

fn change(c: &ChangeRow, capability: Option<&str>) -> Change {
    let snap = |s: &crate::store::SnapshotRow| Snapshot {
        seq: s.seq,
        at: rfc3339(s.at),
        hash: s.hash.clone(),
    };
    Change {
        id: c.id,
        source: c.source_id.clone(),
        capability: capability.map(str::to_string),
        at: rfc3339(c.at),
        from: snap(&c.from),
        to: snap(&c.to),
        added: c.added,
        removed: c.removed,
        links: ChangeLinks {
            this: format!("/api/v1/changes/{}", c.id),
            html: format!("/changes/{}", c.id),
        },
    }
}

/// A guide's freshness, flags and findings.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct GuideRow {
    id: String,
    title: String,
    owners: Vec<String>,
    #[schema(format = Date, required = true)]
    validated_on: Option<String>,
    #[schema(format = Date, required = true)]
    expires_on: Option<String>,
    days_left: Option<i64>,
    state: FreshState,
    /// The guide's own state plus any capability that is expired, drifting or changed.
    flags: Vec<FindingKind>,
    capabilities: Vec<String>,
    findings: Vec<FindingRow>,
}

fn guide_row(g: &GuideAssessment) -> GuideRow {
    let f = &g.freshness;
    GuideRow {
        id: g.id.clone(),
        title: g.title.clone(),
        owners: g.owners.clone(),
        validated_on: f.validated_on.map(|d| d.to_string()),
        expires_on: f.expires_on.map(|d| d.to_string()),
        days_left: f.days_left,
        state: f.state,
        flags: g.flags.clone(),
        capabilities: g.capabilities.clone(),
        findings: g.findings.iter().map(FindingRow::new).collect(),
    }
}

/// `GET /api/v1/guides`: every guide's freshness.
#[utoipa::path(get, path = "/api/v1/guides", operation_id = "listGuides", tag = "api",
    summary = "Every guide's freshness, flags and findings.",
    responses((status = 200, description = "Guides in registry order.", body = Vec<GuideRow>)))]
pub(super) async fn guides(State(state): State<ServeState>) -> ApiResult<Vec<GuideRow>> {
    let rows = state
        .read(|store, reg| {
            let (guides, _) = pipeline::assess_all(store, reg, Timestamp::now())?;
            Ok(guides.iter().map(guide_row).collect())
        })
        .await?;
    Ok(Json(rows))
}

/// Times accept RFC 3339, a date (its start for `since`, its end for
/// `until` and `as_of`) or `now`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct HistoryQuery {
    /// Events at or after this time.
    since: Option<String>,
    /// Events at or before this time.
    until: Option<String>,
    /// The status row as it stood at this time instead of events; not
    /// combined with since and until.
    as_of: Option<String>,
    /// Events per page (history only): 1 to 5000, default 500. When more
    /// follow, the response has a `Link: <…>; rel="next"` header.
    limit: Option<usize>,
    /// Where the page starts: the `cursor` of the previous page's `next`
    /// link (opaque).
    cursor: Option<String>,
}

/// Events per history page unless `limit` says otherwise, and at most.
const PAGE: usize = 500;
const MAX_PAGE: usize = 5000;

/// Where a history page starts: events at or after `at` (ms), skipping the
/// first `skip` events at exactly `at` (the previous page showed them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cursor {
    at: i64,
    skip: usize,
}

impl Cursor {
    fn parse(s: &str) -> Option<Cursor> {
        let (at, skip) = s.split_once('.')?;
        Some(Cursor {
            at: at.parse().ok()?,
            skip: skip.parse().ok()?,
        })
    }

    fn text(self) -> String {
        format!("{}.{}", self.at, self.skip)
    }
}

/// One page of events from `from`, and the cursor of the next page.
fn history_page(
    store: &Store,
    reg: &Registry,
    cap_id: &str,
    from: Option<Cursor>,
    since: Option<Timestamp>,
    until: Option<Timestamp>,
    limit: usize,
) -> Result<(Vec<Event>, Option<Cursor>), StoreError> {
    let start = match from {
        Some(c) => Some(Timestamp::from_millisecond(c.at).unwrap_or(Timestamp::UNIX_EPOCH)),
        None => since,
    };
    let skip = from.map_or(0, |c| c.skip);
    let mut all =
        crate::report::events_from(store, reg, cap_id, start, until, Some(skip + limit + 1))?;
    let more = all.len() > skip + limit;
    all.truncate(skip + limit);
    let page: Vec<(Timestamp, Event)> = all.into_iter().skip(skip).collect();
    let next = match (more, page.last()) {
        (true, Some((last, _))) => {
            let at = last.as_millisecond();
            let same = page
                .iter()
                .filter(|(t, _)| t.as_millisecond() == at)
                .count();
            let carried = from.filter(|c| c.at == at).map_or(0, |c| c.skip);
            Some(Cursor {
                at,
                skip: same + carried,
            })
        }
        _ => None,
    };
    Ok((page.into_iter().map(|(_, e)| e).collect(), next))
}

/// The events, or with `as_of` one status row as it stood then.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub(super) enum History {
    Events(Vec<Event>),
    AsOf(Box<StatusAsOf>),
}

#[derive(Debug, Serialize, ToSchema)]
pub(super) struct StatusAsOf {
    #[serde(flatten)]
    row: StatusRow,
    #[schema(format = DateTime)]
    as_of: String,
}

/// `GET /api/v1/capabilities/{id}/history?since=&until=&as_of=`: events
/// oldest first; with `as_of`, one status row as it stood then.
#[utoipa::path(get, path = "/api/v1/capabilities/{id}/history", operation_id = "getCapabilityHistory", tag = "api",
    params(("id" = String, Path, description = "The capability id from the registry."), HistoryQuery),
    summary = "The timeline, oldest first (as `capwatch history --json`), a page at a time; with `as_of`, one status row as it stood then.",
    responses(
        (status = 200, description = "Events (at most `limit`; a `Link: <…>; rel=\"next\"` header when more follow), or one status row when `as_of` is given.", body = History,
            headers(("Link" = String, description = "The next page, when there is one."))),
        (status = 400, description = "A time is wrong.", body = ErrorBody),
        (status = 404, description = "No such capability.", body = ErrorBody),
    ))]
pub(super) async fn history(
    State(state): State<ServeState>,
    Path(id): Path<String>,
    Query(q): Query<HistoryQuery>,
) -> Result<Response, ApiError> {
    let limit = q.limit.unwrap_or(PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(Error::bad_request(format!(
            "limit={limit} is out of range; ask for 1 to {MAX_PAGE} events per page"
        ))
        .into());
    }
    let cursor = match q.cursor.as_deref() {
        None => None,
        Some(c) => Some(Cursor::parse(c).ok_or_else(|| {
            Error::bad_request(format!(
                "cursor={c} is not one this server gave; start again without it"
            ))
        })?),
    };
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
    let link_id = id.clone();
    let (v, next) = state
        .read(move |store, reg| {
            let cap = find_capability(reg, &id)?;
            match as_of {
                Some(at) => {
                    let facts = store.facts(reg, cap, at)?;
                    let a = crate::evaluate::assess(&facts, at);
                    Ok((
                        History::AsOf(Box::new(StatusAsOf {
                            row: status_row(&a),
                            as_of: rfc3339(at),
                        })),
                        None,
                    ))
                }
                None => {
                    let (page, next) =
                        history_page(store, reg, &cap.id, cursor, since, until, limit)?;
                    Ok((History::Events(page), next))
                }
            }
        })
        .await?;
    let mut response = Json(v).into_response();
    if let Some(next) = next {
        let mut query = vec![("limit", limit.to_string()), ("cursor", next.text())];
        if let Some(u) = q.until {
            query.push(("until", u));
        }
        let link = format!(
            "</api/v1/capabilities/{}/history?{}>; rel=\"next\"",
            html::seg(&link_id),
            serde_urlencoded::to_string(&query).unwrap_or_default()
        );
        if let Ok(v) = HeaderValue::from_str(&link) {
            response.headers_mut().insert(header::LINK, v);
        }
    }
    Ok(response)
}

/// `GET /api/v1/sources/{id}/changes?since=&until=`: changes oldest first.
#[utoipa::path(get, path = "/api/v1/sources/{id}/changes", operation_id = "listSourceChanges", tag = "api",
    params(("id" = String, Path, description = "The source id."),
        ("since" = Option<String>, Query, description = "Changes at or after this time."),
        ("until" = Option<String>, Query, description = "Changes at or before this time.")),
    summary = "The changes of one source, oldest first.",
    responses(
        (status = 200, description = "Changes.", body = Vec<Change>),
        (status = 400, description = "A time is wrong.", body = ErrorBody),
        (status = 404, description = "No such source.", body = ErrorBody),
    ))]
pub(super) async fn source_changes(
    State(state): State<ServeState>,
    Path(id): Path<String>,
    Query(q): Query<HistoryQuery>,
) -> ApiResult<Vec<Change>> {
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
            let changes = store.changes(std::slice::from_ref(&id), since, until, None)?;
            Ok(changes
                .iter()
                .map(|c| change(c, capability.as_deref()))
                .collect())
        })
        .await?;
    Ok(Json(rows))
}

/// A change id from the path, or a 400/404 in plain words.
pub(super) fn change_id(raw: &str) -> Result<i64, Error> {
    raw.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| Error::bad_request(format!("\"{raw}\" is not a change number")))
}

/// One change with its unified diff and the diff as tagged lines.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct ChangeDetail {
    #[serde(flatten)]
    change: Change,
    /// The source's URL, when the source is still in the registry.
    url: Option<String>,
    /// Unified diff with three lines of context.
    diff: String,
    lines: Vec<DiffLine>,
}

/// `GET /api/v1/changes/{id}`: one change with its unified diff and the
/// tagged diff lines.
#[utoipa::path(get, path = "/api/v1/changes/{id}", operation_id = "getChange", tag = "api",
    params(("id" = i64, Path, minimum = 1, description = "The change number.")),
    summary = "One change with its unified diff and the diff as tagged lines.",
    responses(
        (status = 200, description = "The change.", body = ChangeDetail),
        (status = 400, description = "Not a change number.", body = ErrorBody),
        (status = 404, description = "No such change.", body = ErrorBody),
    ))]
pub(super) async fn change_detail(
    State(state): State<ServeState>,
    Path(raw): Path<String>,
) -> ApiResult<ChangeDetail> {
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
            Ok(ChangeDetail {
                change: change(&c, src.map(|s| s.capability.as_str())),
                url: src.map(|s| s.url.to_string()),
                diff: crate::diff::unified(&old, &new, &header(&c.from), &header(&c.to)),
                lines: crate::diff::lines(&old, &new),
            })
        })
        .await?;
    Ok(Json(v))
}

/// A review to record: exactly one of `capability` or `guide`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ReviewBody {
    capability: Option<String>,
    guide: Option<String>,
    /// The reviewer's name.
    #[schema(min_length = 1, max_length = 200)]
    by: String,
    #[schema(max_length = 4000)]
    note: Option<String>,
}

/// What a review recorded, the status rows after it, and what the outbox queued.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct ReviewResponse {
    review: RecordedReview,
    /// The reviewed capabilities' status rows after the review.
    capabilities: Vec<StatusRow>,
    alerts: Queued,
}

#[derive(Debug, Serialize, ToSchema)]
pub(super) struct RecordedReview {
    id: i64,
    /// `capability` or `guide`.
    subject_kind: String,
    subject_id: String,
    #[schema(format = DateTime)]
    at: String,
    by: String,
    note: Option<String>,
    /// Sources re-baselined on their current version.
    sources: Vec<String>,
}

/// What the outbox queued after the review.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct Queued {
    queued: usize,
    reminders: usize,
    resolved: usize,
}

/// True when `Authorization: Bearer <token>` carries the token.
fn authorized(headers: &HeaderMap, token: &str) -> bool {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, rest) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
        });
    given.is_some_and(|g| same_secret(g, token))
}

/// Whether `given` is `token`. Both sides are hashed first, so the
/// comparison takes the same time whatever the length or the first
/// differing byte.
pub(super) fn same_secret(given: &str, token: &str) -> bool {
    use sha2::{Digest, Sha256};
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
#[utoipa::path(post, path = "/api/v1/reviews", operation_id = "recordReview", tag = "api",
    summary = "Record that a person validated a capability or a whole guide now (as `capwatch review`).",
    description = "Exists only when the server has CAPWATCH_API_TOKEN; otherwise the route is absent (404/405). \
        The review resets validated_on and makes the current version of each source the reviewed baseline; \
        alerts it clears are resolved in the outbox at once. Delivery is left to the daemon or the next `capwatch check`.",
    request_body = ReviewBody,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Recorded.", body = ReviewResponse),
        (status = 400, description = "The body is wrong.", body = ErrorBody),
        (status = 401, description = "Missing or wrong bearer token.", body = ErrorBody),
        (status = 404, description = "No such capability or guide.", body = ErrorBody),
    ))]
pub(super) async fn review(
    State(state): State<ServeState>,
    super::actions::RemoteAddr(remote): super::actions::RemoteAddr,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
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
            let origin = crate::model::Origin {
                channel: crate::model::Channel::Api,
                remote_addr: remote,
            };
            let review_id =
                store.record_review(subject, &sources, &by, note.as_deref(), now, &origin)?;
            let (guides, caps) = pipeline::assess_all(store, reg, now)?;
            // As `capwatch review`: what the review cleared is resolved in the
            // outbox now; delivery is left to the daemon or the next check.
            let queued = crate::outbox::queue(store, reg, &guides, &caps, now)?;
            let rows = caps
                .iter()
                .filter(|c| match subject {
                    Subject::Capability(id) => c.id == id,
                    Subject::Guide(id) => c.guide == id,
                })
                .map(status_row)
                .collect();
            let (kind, sid) = match subject {
                Subject::Capability(id) => ("capability", id),
                Subject::Guide(id) => ("guide", id),
            };
            Ok(ReviewResponse {
                review: RecordedReview {
                    id: review_id,
                    subject_kind: kind.to_string(),
                    subject_id: sid.to_string(),
                    at: rfc3339(now),
                    by,
                    note,
                    sources,
                },
                capabilities: rows,
                alerts: Queued {
                    queued: queued.queued,
                    reminders: queued.reminders,
                    resolved: queued.resolved,
                },
            })
        })
        .await?;
    Ok((StatusCode::CREATED, Json(v)).into_response())
}
