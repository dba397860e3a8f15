//! The write side of the HTML surface: signed action links from the e-mail
//! (`/act/{token}`), reviewer sign-in (`/signin`, `/signout`) and the
//! dashboard's review and snooze forms.
//!
//! In: requests, the link key (`CAPWATCH_SECRET`) and the API token
//! (`CAPWATCH_API_TOKEN`). Out: confirmation and result pages, and reviews
//! and snoozes recorded with their channel (`mail-link`, `web`) and the
//! remote address.
//!
//! A GET never changes state (mail scanners prefetch links): it shows what a
//! POST would record. Every POST carries a form token tied to a random
//! `capwatch_csrf` cookie (double submit, the token being an HMAC of the
//! cookie under a server key, so it cannot be forged from outside), and the
//! signed-in forms also need the `capwatch_session` cookie; both cookies are
//! HttpOnly and SameSite=Strict, and Secure when `public_url` is https.
//! An action link works once: its id is recorded in the same transaction as
//! the review or snooze it records.

use super::dashboard::page;
use super::html::seg;
use super::{Error, PageError, ServeState};
use crate::config::Registry;
use crate::evaluate::FindingKind;
use crate::model::{Channel, Origin};
use crate::notify::link::{Action, LinkError, LinkKey, SNOOZE_DAYS, Verified, random_token};
use crate::pipeline;
use crate::report::rfc3339;
use crate::store::{Store, Subject};
use axum::extract::{ConnectInfo, FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use jiff::{SignedDuration, Timestamp};
use maud::{Markup, html};
use serde::Deserialize;
use std::net::SocketAddr;

const CSRF_COOKIE: &str = "capwatch_csrf";
const SESSION_COOKIE: &str = "capwatch_session";
/// A sign-in lasts this long.
const SESSION_HOURS: i64 = 12;
/// Longest note or reason a form takes.
const MAX_TEXT: usize = 4000;
/// Longest name a form takes.
const MAX_NAME: usize = 200;
/// Snoozes last at most this long.
const MAX_SNOOZE_DAYS: i64 = 30;

/// The keys the forms and sessions are signed with; none is ever shown.
#[derive(Clone, Debug)]
pub(super) struct Keys {
    /// Signs and opens action links (`CAPWATCH_SECRET`).
    pub(super) links: Option<LinkKey>,
    /// Form tokens.
    forms: LinkKey,
    /// Sessions, from the API token: a new token ends every session.
    session: Option<LinkKey>,
}

impl Keys {
    pub(super) fn new(links: Option<LinkKey>, api_token: Option<&str>) -> Keys {
        let session = api_token.map(|t| LinkKey::new(t.as_bytes()).derive("session"));
        let forms = match (&links, &session) {
            (Some(l), _) => l.derive("forms"),
            (None, Some(s)) => s.derive("forms"),
            // No form exists without one of the two keys; a random key keeps
            // the type simple.
            (None, None) => LinkKey::new(random_token().as_bytes()),
        };
        Keys {
            links,
            forms,
            session,
        }
    }
}

/// The peer address of the request, when the server knows it.
pub(super) struct RemoteAddr(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for RemoteAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(RemoteAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip().to_string()),
        ))
    }
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty() && v.len() <= 200)
}

fn set_cookie(state: &ServeState, name: &str, value: &str, max_age: Option<i64>) -> HeaderValue {
    let secure = state.secure_cookies();
    let v = format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Strict{}{}",
        max_age
            .map(|s| format!("; Max-Age={s}"))
            .unwrap_or_default(),
        if secure { "; Secure" } else { "" }
    );
    HeaderValue::from_str(&v).expect("cookie values are hex")
}

/// The CSRF cookie of the request, or a new one to set.
fn csrf_cookie(headers: &HeaderMap) -> (String, bool) {
    match cookie(headers, CSRF_COOKIE).filter(|c| c.bytes().all(|b| b.is_ascii_hexdigit())) {
        Some(c) => (c, false),
        None => (random_token(), true),
    }
}

/// The form token for `purpose` under the CSRF cookie `cookie`.
fn form_token(keys: &Keys, purpose: &str, cookie: &str) -> String {
    hex::encode(
        keys.forms
            .mac(format!("{purpose}\u{1f}{cookie}").as_bytes()),
    )
}

/// Whether the form carried the token that goes with the cookie value
/// (the CSRF cookie, or for signed-in forms the session).
fn form_token_ok(keys: &Keys, purpose: &str, cookie: Option<&str>, given: Option<&str>) -> bool {
    let (Some(cookie), Some(given)) = (cookie, given) else {
        return false;
    };
    let Ok(tag) = hex::decode(given.trim()) else {
        return false;
    };
    keys.forms
        .verify(format!("{purpose}\u{1f}{cookie}").as_bytes(), &tag)
}

fn csrf_refused() -> Error {
    Error::new(
        StatusCode::FORBIDDEN,
        "this form's safety token is missing or does not match this browser; nothing was recorded. \
         Open the page again and submit the form from it (cookies must be allowed for this site).",
    )
}

/// A valid session cookie's value, or None.
fn session(state: &ServeState, headers: &HeaderMap, now: Timestamp) -> Option<String> {
    let key = state.keys().session.as_ref()?;
    let value = cookie(headers, SESSION_COOKIE)?;
    let (expires, tag) = value.split_once('.')?;
    let tag = hex::decode(tag).ok()?;
    if !key.verify(format!("session\u{1f}{expires}").as_bytes(), &tag) {
        return None;
    }
    let expires = Timestamp::from_second(expires.parse().ok()?).ok()?;
    (now < expires).then_some(value)
}

/// The form token the signed-in forms carry, when the request is signed in.
pub(super) fn signed_in_token(state: &ServeState, headers: &HeaderMap) -> Option<String> {
    let s = session(state, headers, Timestamp::now())?;
    Some(form_token(state.keys(), "web", &s))
}

/// A page with a fresh CSRF cookie when the request had none.
fn with_cookie(mut res: Response, state: &ServeState, set: Option<&str>) -> Response {
    if let Some(c) = set {
        res.headers_mut()
            .append(header::SET_COOKIE, set_cookie(state, CSRF_COOKIE, c, None));
    }
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

fn link_refused(e: &LinkError) -> Error {
    let status = match e {
        LinkError::Expired(_) => StatusCode::GONE,
        _ => StatusCode::BAD_REQUEST,
    };
    Error::new(status, format!("{e}. Nothing was recorded."))
}

fn link_used() -> Error {
    Error::new(
        StatusCode::GONE,
        "this link was used already: each link records once. Nothing more was recorded; \
         the dashboard shows what was.",
    )
}

/// What a verified link would record, in words.
fn describe(v: &Verified, reg: &Registry) -> Result<(String, String), Error> {
    let l = &v.link;
    let name = match l.subject_kind.as_str() {
        "guide" => reg
            .guide(&l.subject_id)
            .map(|g| format!("the guide {} and its capabilities", g.title)),
        _ => reg.capability(&l.subject_id).map(|c| c.name.clone()),
    }
    .ok_or_else(|| {
        Error::not_found(format!(
            "\"{}\" is no longer in the registry; nothing was recorded",
            l.subject_id
        ))
    })?;
    Ok(match l.action {
        Action::Review | Action::ReviewGuide => (
            format!("Mark {name} reviewed"),
            format!(
                "a review of {name} by {}, now: the validation date becomes today and the current \
                 version of each source becomes the reviewed baseline",
                l.owner
            ),
        ),
        Action::Snooze => (
            format!("Snooze “{}” for {name}", l.finding),
            format!(
                "a snooze of the “{}” finding of {name} for {SNOOZE_DAYS} days, set by {}: no \
                 alerts for it until then, unless the page changes again or new drift appears",
                l.finding, l.owner
            ),
        ),
    })
}

fn subject_of(v: &Verified) -> Subject<'_> {
    match (v.link.action, v.link.subject_kind.as_str()) {
        (Action::ReviewGuide, _) | (_, "guide") => Subject::Guide(&v.link.subject_id),
        _ => Subject::Capability(&v.link.subject_id),
    }
}

/// The evidence a confirmation page shows: findings and quotes.
fn evidence(store: &Store, reg: &Registry, v: &Verified, now: Timestamp) -> Result<Markup, Error> {
    let (guides, caps) = pipeline::assess_all(store, reg, now)?;
    let shown: Vec<_> = match subject_of(v) {
        Subject::Capability(id) => caps.iter().filter(|c| c.id == id).collect(),
        Subject::Guide(id) => caps.iter().filter(|c| c.guide == id).collect(),
    };
    let guide = guides.iter().find(|g| match subject_of(v) {
        Subject::Guide(id) => g.id == id,
        Subject::Capability(_) => false,
    });
    Ok(html! {
        @if let Some(g) = guide {
            @for f in &g.findings {
                p { b { (f.kind.as_str()) } ": " (f.summary) }
            }
        }
        @for a in &shown {
            h3 { a href={ "/capabilities/" (seg(&a.id)) } { (a.name) } " " small { "(" (a.id) ")" } }
            p {
                "Claimed " (a.claim.to_string()) " · observed " (a.observed.status().to_string())
                " · " (a.freshness.state.as_str())
                @if let Some(d) = a.freshness.expires_on {
                    @if a.freshness.state == crate::evaluate::State::Expired { " since " } @else { " until " }
                    (d.to_string())
                }
            }
            @if !a.findings.is_empty() {
                ul.findings {
                    @for f in &a.findings {
                        li { b { (f.kind.as_str()) } @if f.snoozed { " (snoozed)" } ": " (f.summary) }
                    }
                }
            }
            @for (e, dims) in merged(&a.observed.evidence).iter().take(5) {
                blockquote { "“" (e.quote) "”" }
                p.muted { (dims.join(", ")) " — " (super::html::link_or_text(&e.url, &e.source)) }
            }
        }
    })
}

/// Evidence quotes with the same sentence from the same page once, with
/// every "dimension = value" it supports.
fn merged(
    evidence: &[crate::evaluate::EvidenceQuote],
) -> Vec<(&crate::evaluate::EvidenceQuote, Vec<String>)> {
    let mut out: Vec<(&crate::evaluate::EvidenceQuote, Vec<String>)> = Vec::new();
    for e in evidence {
        let dim = format!("{} = {}", e.dimension, e.value);
        match out
            .iter_mut()
            .find(|(o, _)| o.quote == e.quote && o.url == e.url && o.source == e.source)
        {
            Some((_, dims)) => dims.push(dim),
            None => out.push((e, vec![dim])),
        }
    }
    out
}

/// `GET /act/{token}`: what the link would record, with the form that
/// records it. Changes nothing.
pub(super) async fn act_page(
    State(state): State<ServeState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let keys = state.keys().clone();
    let key = keys
        .links
        .clone()
        .ok_or_else(|| Error::not_found("action links are off: CAPWATCH_SECRET is not set"))?;
    let now = Timestamp::now();
    let v = key.open(&token, now).map_err(|e| link_refused(&e))?;
    let (cookie, new) = csrf_cookie(&headers);
    let csrf = form_token(&keys, &format!("act\u{1f}{}", v.id), &cookie);
    let (title, body) = state
        .read(move |store, reg| {
            if store.action_link_used(&v.id)? {
                return Err(link_used());
            }
            let (title, what) = describe(&v, reg)?;
            let shown = evidence(store, reg, &v, now)?;
            let button = match v.link.action {
                Action::Snooze => format!("Snooze {SNOOZE_DAYS} days"),
                _ => "Record review".to_string(),
            };
            let body = html! {
                h1 { (title) }
                p.confirm {
                    "Pressing the button records " (what) "."
                }
                p.muted {
                    "For " b { (v.link.owner) } " · from the alert e-mail (alert #" (v.link.alert_id) ")"
                    " · this link works once, until " (v.link.expires.strftime("%Y-%m-%d %H:%M UTC")) "."
                    " Nothing has been recorded yet."
                }
                form method="post" action={ "/act/" (token) } {
                    input type="hidden" name="csrf" value=(csrf);
                    p {
                        label for="note" { "Note (optional): what you checked" }
                        br;
                        textarea id="note" name="note" rows="3" cols="70" maxlength="4000" {}
                    }
                    p { button type="submit" id="confirm" { (button) } }
                }
                h2 { "Evidence" }
                (shown)
            };
            Ok((title, body))
        })
        .await?;
    Ok(with_cookie(
        page(&format!("{title} — capwatch"), body),
        &state,
        new.then_some(cookie.as_str()),
    ))
}

/// The fields of the action-link form.
#[derive(Debug, Default, Deserialize)]
pub(super) struct ActForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    note: Option<String>,
}

fn parse_form<T: Default + serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<T, Error> {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form {
        return Err(Error::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the page's form (application/x-www-form-urlencoded); nothing was recorded",
        ));
    }
    serde_urlencoded::from_bytes(body)
        .map_err(|e| Error::bad_request(format!("the form is wrong: {e}; nothing was recorded")))
}

fn clean_text(v: Option<String>, what: &str, max: usize) -> Result<Option<String>, Error> {
    let v = v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    if v.as_ref().is_some_and(|s| s.chars().count() > max) {
        return Err(Error::bad_request(format!(
            "the {what} is longer than {max} characters; nothing was recorded"
        )));
    }
    Ok(v)
}

/// `POST /act/{token}`: record what the link says, once.
pub(super) async fn act_submit(
    State(state): State<ServeState>,
    Path(token): Path<String>,
    RemoteAddr(remote): RemoteAddr,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    let keys = state.keys().clone();
    let key = keys
        .links
        .clone()
        .ok_or_else(|| Error::not_found("action links are off: CAPWATCH_SECRET is not set"))?;
    let now = Timestamp::now();
    let v = key.open(&token, now).map_err(|e| link_refused(&e))?;
    let form: ActForm = parse_form(&headers, &body)?;
    if !form_token_ok(
        &keys,
        &format!("act\u{1f}{}", v.id),
        cookie(&headers, CSRF_COOKIE).as_deref(),
        form.csrf.as_deref(),
    ) {
        return Err(csrf_refused().into());
    }
    let note = clean_text(form.note, "note", MAX_TEXT)?;
    let origin = Origin {
        channel: Channel::MailLink,
        remote_addr: remote,
    };
    let (title, body) = state
        .write(move |store, reg| {
            let (title, _) = describe(&v, reg)?;
            let l = &v.link;
            let outcome = store.batch(|store| -> Result<String, Error> {
                if !store.use_action_link(
                    &v.id,
                    l.alert_id,
                    l.action.as_str(),
                    &l.owner,
                    now,
                    origin.remote_addr.as_deref(),
                )? {
                    return Err(link_used());
                }
                match l.action {
                    Action::Review | Action::ReviewGuide => {
                        let subject = subject_of(&v);
                        let sources = pipeline::review_sources(reg, subject).ok_or_else(|| {
                            Error::not_found("the subject is no longer in the registry")
                        })?;
                        store.record_review(
                            subject,
                            &sources,
                            &l.owner,
                            note.as_deref(),
                            now,
                            &origin,
                        )?;
                        Ok("Review recorded".to_string())
                    }
                    Action::Snooze => {
                        let cap = reg.capability(&l.subject_id).ok_or_else(|| {
                            Error::not_found("the capability is no longer in the registry")
                        })?;
                        let kind: FindingKind = l.finding.parse().map_err(Error::bad_request)?;
                        let until = now + SignedDuration::from_hours(24 * SNOOZE_DAYS);
                        let reason = note.clone().unwrap_or_else(|| {
                            format!("snoozed from the alert e-mail for {SNOOZE_DAYS} days")
                        });
                        pipeline::snooze(
                            store,
                            reg,
                            cap,
                            kind,
                            until,
                            &reason,
                            Some(&l.owner),
                            &origin,
                            now,
                        )?;
                        Ok(format!(
                            "Snoozed until {}",
                            until.strftime("%Y-%m-%d %H:%M UTC")
                        ))
                    }
                }
            })?;
            let (guides, caps) = pipeline::assess_all(store, reg, now)?;
            crate::outbox::queue(store, reg, &guides, &caps, now)?;
            let shown = evidence(store, reg, &v, now)?;
            let body = html! {
                h1.done { (outcome) }
                p.confirm {
                    (title) " — recorded for " b { (l.owner) } " at " (rfc3339(now))
                    " through the e-mail link. The link cannot be used again."
                }
                (shown)
                p { a href="/" { "Open the dashboard" } }
            };
            Ok((outcome, body))
        })
        .await?;
    Ok(page(&format!("{title} — capwatch"), body))
}

/// `GET /signin`: the sign-in form.
pub(super) async fn signin_page(
    State(state): State<ServeState>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let (cookie, new) = csrf_cookie(&headers);
    let csrf = form_token(state.keys(), "signin", &cookie);
    let signed_in = session(&state, &headers, Timestamp::now()).is_some();
    let body = signin_form(&csrf, signed_in, None);
    Ok(with_cookie(
        page("Sign in — capwatch", body),
        &state,
        new.then_some(cookie.as_str()),
    ))
}

fn signin_form(csrf: &str, signed_in: bool, error: Option<&str>) -> Markup {
    html! {
        h1 { "Sign in" }
        @if signed_in {
            p { "You are signed in. " a href="/" { "Open the dashboard" } }
        }
        @if let Some(e) = error {
            p.error { b { (e) } }
        }
        p { "Reviewers sign in with the server's API token (CAPWATCH_API_TOKEN) to record reviews and snoozes on the dashboard." }
        form method="post" action="/signin" {
            input type="hidden" name="csrf" value=(csrf);
            p {
                label for="token" { "Token" } br;
                input type="password" id="token" name="token" autocomplete="current-password" size="40";
            }
            p { button type="submit" id="signin" { "Sign in" } }
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct SigninForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    token: Option<String>,
}

/// `POST /signin`: check the token, set the session cookie.
pub(super) async fn signin_submit(
    State(state): State<ServeState>,
    RemoteAddr(remote): RemoteAddr,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    let keys = state.keys().clone();
    let (Some(token), Some(session_key)) = (state.token(), keys.session.as_ref()) else {
        return Err(Error::not_found("sign-in is off: CAPWATCH_API_TOKEN is not set").into());
    };
    let form: SigninForm = parse_form(&headers, &body)?;
    if !form_token_ok(
        &keys,
        "signin",
        cookie(&headers, CSRF_COOKIE).as_deref(),
        form.csrf.as_deref(),
    ) {
        return Err(csrf_refused().into());
    }
    let given = form.token.unwrap_or_default();
    if !super::api::same_secret(given.trim(), token) {
        tracing::warn!(
            remote_addr = remote.as_deref().unwrap_or("unknown"),
            "sign-in refused: wrong token"
        );
        // A moment's wait makes guessing the token one try at a time slow.
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let (cookie, _) = csrf_cookie(&headers);
        let csrf = form_token(&keys, "signin", &cookie);
        let mut res = page(
            "Sign in — capwatch",
            signin_form(
                &csrf,
                false,
                Some("That token is not the server's; you are not signed in."),
            ),
        );
        *res.status_mut() = StatusCode::UNAUTHORIZED;
        return Ok(res);
    }
    let expires = Timestamp::now() + SignedDuration::from_hours(SESSION_HOURS);
    let payload = expires.as_second().to_string();
    let tag = hex::encode(session_key.mac(format!("session\u{1f}{payload}").as_bytes()));
    let mut res = Redirect::to("/").into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(
            &state,
            SESSION_COOKIE,
            &format!("{payload}.{tag}"),
            Some(SESSION_HOURS * 3600),
        ),
    );
    Ok(res)
}

/// `POST /signout`: end the session.
pub(super) async fn signout(
    State(state): State<ServeState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    let form: ActForm = parse_form(&headers, &body)?;
    let Some(s) = session(&state, &headers, Timestamp::now()) else {
        return Ok(Redirect::to("/").into_response());
    };
    if !form_token_ok(state.keys(), "web", Some(&s), form.csrf.as_deref()) {
        return Err(csrf_refused().into());
    }
    let mut res = Redirect::to("/").into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(&state, SESSION_COOKIE, "", Some(0)),
    );
    Ok(res)
}

/// Check a signed-in form: the session and its form token.
fn signed_in_form(
    state: &ServeState,
    headers: &HeaderMap,
    csrf: Option<&str>,
) -> Result<(), Error> {
    let Some(s) = session(state, headers, Timestamp::now()) else {
        return Err(Error::new(
            StatusCode::UNAUTHORIZED,
            "sign in first (/signin); nothing was recorded",
        ));
    };
    if !form_token_ok(state.keys(), "web", Some(&s), csrf) {
        return Err(csrf_refused());
    }
    Ok(())
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct ReviewForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    by: Option<String>,
    #[serde(default)]
    note: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct SnoozeForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    by: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    days: Option<String>,
    #[serde(default)]
    reason: Option<String>,
}

fn name_of(by: Option<String>) -> Result<String, Error> {
    clean_text(by, "name", MAX_NAME)?
        .ok_or_else(|| Error::bad_request("say who you are in “Your name”; nothing was recorded"))
}

/// Record a review from a dashboard form and go back to the page.
async fn web_review(
    state: ServeState,
    subject_kind: &'static str,
    id: String,
    remote: Option<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    let form: ReviewForm = parse_form(&headers, &body)?;
    signed_in_form(&state, &headers, form.csrf.as_deref())?;
    let by = name_of(form.by)?;
    let note = clean_text(form.note, "note", MAX_TEXT)?;
    let origin = Origin {
        channel: Channel::Web,
        remote_addr: remote,
    };
    let back = state
        .write(move |store, reg| {
            let now = Timestamp::now();
            let subject = match subject_kind {
                "guide" => Subject::Guide(&id),
                _ => Subject::Capability(&id),
            };
            let sources = pipeline::review_sources(reg, subject).ok_or_else(|| {
                Error::not_found(format!("no {subject_kind} \"{id}\" in the registry"))
            })?;
            store.record_review(subject, &sources, &by, note.as_deref(), now, &origin)?;
            let (guides, caps) = pipeline::assess_all(store, reg, now)?;
            crate::outbox::queue(store, reg, &guides, &caps, now)?;
            Ok(match subject_kind {
                "guide" => format!("/#guide-{}", seg(&id)),
                _ => format!("/capabilities/{}", seg(&id)),
            })
        })
        .await?;
    Ok(Redirect::to(&back).into_response())
}

/// `POST /capabilities/{id}/review`: a signed-in reviewer records a review.
pub(super) async fn capability_review(
    State(state): State<ServeState>,
    Path(id): Path<String>,
    RemoteAddr(remote): RemoteAddr,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    web_review(state, "capability", id, remote, headers, body).await
}

/// `POST /guides/{id}/review`: a signed-in reviewer reviews a whole guide.
pub(super) async fn guide_review(
    State(state): State<ServeState>,
    Path(id): Path<String>,
    RemoteAddr(remote): RemoteAddr,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    web_review(state, "guide", id, remote, headers, body).await
}

/// `POST /capabilities/{id}/snooze`: a signed-in reviewer snoozes a finding.
pub(super) async fn capability_snooze(
    State(state): State<ServeState>,
    Path(id): Path<String>,
    RemoteAddr(remote): RemoteAddr,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    let form: SnoozeForm = parse_form(&headers, &body)?;
    signed_in_form(&state, &headers, form.csrf.as_deref())?;
    let by = name_of(form.by)?;
    let kind: FindingKind = form
        .kind
        .as_deref()
        .unwrap_or_default()
        .parse()
        .map_err(|e: String| Error::bad_request(format!("{e}; nothing was recorded")))?;
    let days: i64 = form
        .days
        .as_deref()
        .unwrap_or("7")
        .trim()
        .parse()
        .ok()
        .filter(|d| (1..=MAX_SNOOZE_DAYS).contains(d))
        .ok_or_else(|| {
            Error::bad_request(format!(
                "a snooze lasts 1 to {MAX_SNOOZE_DAYS} days; nothing was recorded"
            ))
        })?;
    let reason = clean_text(form.reason, "reason", MAX_TEXT)?
        .ok_or_else(|| Error::bad_request("say why this finding can wait; nothing was recorded"))?;
    let origin = Origin {
        channel: Channel::Web,
        remote_addr: remote,
    };
    let back = state
        .write(move |store, reg| {
            let now = Timestamp::now();
            let cap = reg.capability(&id).ok_or_else(|| {
                Error::not_found(format!("no capability \"{id}\" in the registry"))
            })?;
            let until = now + SignedDuration::from_hours(24 * days);
            pipeline::snooze(
                store,
                reg,
                cap,
                kind,
                until,
                &reason,
                Some(&by),
                &origin,
                now,
            )?;
            let (guides, caps) = pipeline::assess_all(store, reg, now)?;
            crate::outbox::queue(store, reg, &guides, &caps, now)?;
            Ok(format!("/capabilities/{}", seg(&cap.id)))
        })
        .await?;
    Ok(Redirect::to(&back).into_response())
}

/// The signed-in forms of a capability page.
pub(super) fn capability_forms(cap_id: &str, csrf: &str, open_kinds: &[FindingKind]) -> Markup {
    let kinds: Vec<&str> = if open_kinds.is_empty() {
        FindingKind::ALL.iter().map(|k| k.as_str()).collect()
    } else {
        open_kinds.iter().map(|k| k.as_str()).collect()
    };
    html! {
        section.forms id="record" {
            h2 { "Record" }
            form.review method="post" action={ "/capabilities/" (seg(cap_id)) "/review" } {
                input type="hidden" name="csrf" value=(csrf);
                p {
                    label { "Your name " input type="text" name="by" required maxlength="200"; }
                    " "
                    label { "Note " input type="text" name="note" size="50" maxlength="4000"; }
                    " "
                    button type="submit" id="record-review" { "Record review" }
                }
            }
            form.snooze method="post" action={ "/capabilities/" (seg(cap_id)) "/snooze" } {
                input type="hidden" name="csrf" value=(csrf);
                p {
                    label { "Your name " input type="text" name="by" required maxlength="200"; }
                    " "
                    label { "Finding " select name="kind" { @for k in &kinds { option value=(k) { (k) } } } }
                    " "
                    label { "Days " input type="number" name="days" value="7" min="1" max="30"; }
                    " "
                    label { "Reason " input type="text" name="reason" required size="40" maxlength="4000"; }
                    " "
                    button type="submit" id="snooze" { "Snooze" }
                }
            }
            (signout_form(csrf))
        }
    }
}

/// The signed-in form of a guide section.
pub(super) fn guide_form(guide_id: &str, csrf: &str) -> Markup {
    html! {
        form.review method="post" action={ "/guides/" (seg(guide_id)) "/review" } {
            input type="hidden" name="csrf" value=(csrf);
            p {
                label { "Your name " input type="text" name="by" required maxlength="200"; }
                " "
                label { "Note " input type="text" name="note" size="40" maxlength="4000"; }
                " "
                button type="submit" { "Record review of the whole guide" }
            }
        }
    }
}

/// "Sign out" as a form (a GET must not change state).
pub(super) fn signout_form(csrf: &str) -> Markup {
    html! {
        form.signout method="post" action="/signout" {
            input type="hidden" name="csrf" value=(csrf);
            button type="submit" { "Sign out" }
        }
    }
}
