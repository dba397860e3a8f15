//! Serve stage: the HTTP surface over the store (axum).
//!
//! In: the registry (shared with the daemon, which swaps it on reload) and the
//! SQLite file. Out: a JSON API under `/api/v1/`, a server-rendered dashboard
//! (`/`, `/capabilities/{id}`, `/changes/{id}`), Atom feeds, Prometheus
//! metrics and `/healthz`. Everything is read-only except `POST
//! /api/v1/reviews`, sign-in and the dashboard's forms, which exist only when
//! an API token is configured, and the e-mail's action links (`/act/…`),
//! which exist only with a link key (`actions`).
//!
//! Every request does its database work on a blocking thread with its own
//! read-only connection (taken from a small pool), so it never holds up the
//! async threads, and in WAL mode it never blocks the daemon's writes.

mod actions;
mod api;
mod dashboard;
mod feed;
pub mod html;
mod metrics;

use crate::config::Registry;
use crate::pipeline::PipelineError;
use crate::store::{Store, StoreError};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Database work in flight at once, and idle read-only connections kept:
/// twice the cores, at least 4. More requests wait for a turn instead of
/// opening connections that compete for the same cores.
fn db_slots() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get() * 2)
        .unwrap_or(4)
        .max(4)
}

/// What every request handler shares: the registry, the database path, the
/// optional API token, and a few idle read-only connections.
#[derive(Clone)]
pub struct ServeState {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Arc<RwLock<Registry>>,
    db: PathBuf,
    api_token: Option<String>,
    keys: actions::Keys,
    pool: Mutex<Vec<Store>>,
    slots: Arc<tokio::sync::Semaphore>,
}

impl std::fmt::Debug for ServeState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeState")
            .field("db", &self.inner.db)
            .field(
                "api_token",
                &self.inner.api_token.as_ref().map(|_| "<redacted>"),
            )
            .field("keys", &self.inner.keys)
            .finish_non_exhaustive()
    }
}

impl ServeState {
    /// `api_token` (from `CAPWATCH_API_TOKEN`) enables `POST /api/v1/reviews`;
    /// None or an empty token leaves the server read-only.
    pub fn new(registry: Arc<RwLock<Registry>>, db: PathBuf, api_token: Option<String>) -> Self {
        Self::with_link_key(registry, db, api_token, None)
    }

    /// As [`ServeState::new`], with the key of the e-mail's action links
    /// (`CAPWATCH_SECRET`): `/act/{token}` exists only with one. The API
    /// token also enables reviewer sign-in and the dashboard's forms.
    pub fn with_link_key(
        registry: Arc<RwLock<Registry>>,
        db: PathBuf,
        api_token: Option<String>,
        link_key: Option<crate::notify::link::LinkKey>,
    ) -> Self {
        let api_token = api_token.filter(|t| !t.is_empty());
        let keys = actions::Keys::new(link_key, api_token.as_deref());
        ServeState {
            inner: Arc::new(Inner {
                registry,
                db,
                api_token,
                keys,
                pool: Mutex::new(Vec::new()),
                slots: Arc::new(tokio::sync::Semaphore::new(db_slots())),
            }),
        }
    }

    /// Whether the e-mail's action links are served.
    pub fn actions(&self) -> bool {
        self.inner.keys.links.is_some()
    }

    fn keys(&self) -> &actions::Keys {
        &self.inner.keys
    }

    /// Cookies get `Secure` when the public URL is https.
    fn secure_cookies(&self) -> bool {
        self.inner
            .registry
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .settings
            .public_url
            .as_ref()
            .is_some_and(|u| u.scheme() == "https")
    }

    /// The database this server reads.
    pub fn db(&self) -> &Path {
        &self.inner.db
    }

    /// Whether the write endpoints exist.
    pub fn writable(&self) -> bool {
        self.inner.api_token.is_some()
    }

    fn token(&self) -> Option<&str> {
        self.inner.api_token.as_deref()
    }

    /// Run `f` on a blocking thread with a read-only connection, inside one
    /// read transaction (a consistent view), and the current registry. The
    /// registry lock is a shared read lock held while `f` runs; a reload
    /// waits for the requests in flight, never the other way round.
    async fn read<T, F>(&self, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&Store, &Registry) -> Result<T, Error> + Send + 'static,
    {
        let state = self.clone();
        let slot = self
            .inner
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| Error::internal(format!("request slots closed: {e}")))?;
        tokio::task::spawn_blocking(move || {
            // Held until the work is done, even if the client goes away.
            let _slot = slot;
            let store = state.take_store()?;
            let result = {
                let reg = state
                    .inner
                    .registry
                    .read()
                    .unwrap_or_else(|e| e.into_inner());
                store.read_consistent(|s| f(s, &reg))
            };
            state.give_back(store);
            result
        })
        .await
        .map_err(|e| Error::internal(format!("request task failed: {e}")))?
    }

    /// Run `f` on a blocking thread with a writable connection (reviews only).
    async fn write<T, F>(&self, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store, &Registry) -> Result<T, Error> + Send + 'static,
    {
        let state = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut store = Store::open(&state.inner.db)?;
            let reg = state
                .inner
                .registry
                .read()
                .unwrap_or_else(|e| e.into_inner());
            f(&mut store, &reg)
        })
        .await
        .map_err(|e| Error::internal(format!("request task failed: {e}")))?
    }

    fn take_store(&self) -> Result<Store, Error> {
        // The pool lock is held only to pop or push: never across a query.
        let pooled = self
            .inner
            .pool
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop();
        match pooled {
            Some(s) => Ok(s),
            None => Ok(Store::open_read_only(&self.inner.db)?),
        }
    }

    fn give_back(&self, store: Store) {
        if store.in_transaction() {
            return;
        }
        let mut pool = self.inner.pool.lock().unwrap_or_else(|e| e.into_inner());
        if pool.len() < db_slots() {
            pool.push(store);
        }
    }
}

/// The OpenAPI description served at `/api/v1/openapi.json`: the header
/// here; paths and schemas come from the handlers' `#[utoipa::path]` and the
/// types they answer with, as `routes` registers them.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "capwatch API",
        version = "1",
        description = "Claimed and observed lifecycle status of capabilities, with their history, \
            page changes and diffs. Read-only except POST /api/v1/reviews, which exists only when \
            the server was started with CAPWATCH_API_TOKEN set. Times are RFC 3339 in UTC; dates \
            are YYYY-MM-DD. Query times accept an RFC 3339 time, a date (its start for `since`, \
            its end for `until` and `as_of`) or `now`. Errors are JSON objects with one `error` \
            string."
    ),
    servers((url = "/")),
    modifiers(&HeaderRest)
)]
struct ApiDoc;

/// What the derive cannot say: the `bearer` security scheme that `POST
/// /api/v1/reviews` names, and no license (the derive copies Cargo.toml's,
/// which names none, as an empty one).
struct HeaderRest;

impl utoipa::Modify for HeaderRest {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        doc.info.license = None;
        doc.components.get_or_insert_default().add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("The value of CAPWATCH_API_TOKEN on the server."))
                    .build(),
            ),
        );
    }
}

/// Every route with its documentation: a route added here is in the
/// OpenAPI document by construction. `with_reviews` adds the write routes
/// of the API token (the API review, sign-in and the dashboard's forms),
/// `with_actions` the e-mail's action links.
fn routes(with_reviews: bool, with_actions: bool) -> OpenApiRouter<ServeState> {
    let mut app = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(api::capabilities))
        .routes(routes!(api::capability))
        .routes(routes!(api::history))
        .routes(routes!(api::guides))
        .routes(routes!(api::source_changes))
        .routes(routes!(api::change_detail))
        .routes(routes!(api::openapi))
        .routes(routes!(feed::all))
        .routes(routes!(feed::guide))
        .routes(routes!(metrics::metrics))
        .routes(routes!(metrics::healthz))
        .routes(routes!(pages::index))
        .routes(routes!(pages::capability))
        .routes(routes!(pages::change));
    if with_reviews {
        let (schemas, paths, method) = routes!(api::review);
        app = app.routes((
            schemas,
            paths,
            method.layer(DefaultBodyLimit::max(64 * 1024)),
        ));
        app = app
            .routes(routes!(pages::signin_page, pages::signin_submit))
            .routes(routes!(pages::signout))
            .routes(routes!(pages::capability_review))
            .routes(routes!(pages::capability_snooze))
            .routes(routes!(pages::guide_review));
    }
    if with_actions {
        app = app.routes(routes!(pages::act_page, pages::act_submit));
    }
    app.layer(DefaultBodyLimit::max(64 * 1024))
}

/// The OpenAPI 3.1 description of the whole surface, the write routes included.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes(true, true).into_openapi()
}

/// The whole HTTP surface. `POST /api/v1/reviews` is registered only when
/// the state holds an API token.
pub fn router(state: ServeState) -> Router {
    let (app, _) = routes(state.writable(), state.actions()).split_for_parts();
    app.fallback(not_found)
        .layer(axum::middleware::map_response(security_headers))
        .with_state(state)
}

/// The HTML pages `dashboard` and `actions` render, with their documentation.
mod pages {
    use super::actions::{self, RemoteAddr};
    use super::{PageError, ServeState, dashboard};
    use axum::body::Bytes;
    use axum::extract::{Path, State};
    use axum::http::HeaderMap;
    use axum::response::Response;

    #[utoipa::path(get, path = "/act/{token}", operation_id = "actionLinkPage", tag = "actions",
        params(("token" = String, Path, description = "The signed token of an action link from an alert e-mail.")),
        summary = "HTML: what an e-mail's action link would record, with the form that records it. Changes nothing.",
        description = "Exists only when the server has CAPWATCH_SECRET. Sets the `capwatch_csrf` cookie the form's token goes with.",
        responses(
            (status = 200, description = "The confirmation page.", content_type = "text/html", body = String),
            (status = 400, description = "The link is damaged or was changed.", content_type = "text/html", body = String),
            (status = 404, description = "Its subject is no longer in the registry.", content_type = "text/html", body = String),
            (status = 410, description = "The link expired, or was used already.", content_type = "text/html", body = String),
        ))]
    pub(super) async fn act_page(
        state: State<ServeState>,
        token: Path<String>,
        headers: HeaderMap,
    ) -> Result<Response, PageError> {
        actions::act_page(state, token, headers).await
    }

    #[utoipa::path(post, path = "/act/{token}", operation_id = "actionLinkRecord", tag = "actions",
        params(("token" = String, Path, description = "The signed token of an action link from an alert e-mail.")),
        summary = "HTML form post: record the review or snooze an action link names, once, with channel mail-link.",
        request_body(content_type = "application/x-www-form-urlencoded", content = String,
            description = "`csrf` (from the confirmation page, with its cookie) and an optional `note`."),
        responses(
            (status = 200, description = "Recorded.", content_type = "text/html", body = String),
            (status = 400, description = "The link or the form is wrong.", content_type = "text/html", body = String),
            (status = 403, description = "The form token is missing or does not match the cookie.", content_type = "text/html", body = String),
            (status = 410, description = "The link expired, or was used already.", content_type = "text/html", body = String),
        ))]
    pub(super) async fn act_submit(
        state: State<ServeState>,
        token: Path<String>,
        remote: RemoteAddr,
        headers: HeaderMap,
        body: Bytes,
    ) -> Result<Response, PageError> {
        actions::act_submit(state, token, remote, headers, body).await
    }

    #[utoipa::path(get, path = "/signin", operation_id = "signinPage", tag = "actions",
        summary = "HTML: the reviewers' sign-in form (exists only with CAPWATCH_API_TOKEN).",
        responses((status = 200, description = "HTML.", content_type = "text/html", body = String)))]
    pub(super) async fn signin_page(
        state: State<ServeState>,
        headers: HeaderMap,
    ) -> Result<Response, PageError> {
        actions::signin_page(state, headers).await
    }

    #[utoipa::path(post, path = "/signin", operation_id = "signin", tag = "actions",
        summary = "HTML form post: sign in with the API token; sets the `capwatch_session` cookie.",
        request_body(content_type = "application/x-www-form-urlencoded", content = String,
            description = "`csrf` (from the sign-in page, with its cookie) and `token`."),
        responses(
            (status = 303, description = "Signed in; to the dashboard."),
            (status = 401, description = "Wrong token.", content_type = "text/html", body = String),
            (status = 403, description = "The form token is missing or does not match the cookie.", content_type = "text/html", body = String),
        ))]
    pub(super) async fn signin_submit(
        state: State<ServeState>,
        remote: RemoteAddr,
        headers: HeaderMap,
        body: Bytes,
    ) -> Result<Response, PageError> {
        actions::signin_submit(state, remote, headers, body).await
    }

    #[utoipa::path(post, path = "/signout", operation_id = "signout", tag = "actions",
        summary = "HTML form post: end the session.",
        request_body(content_type = "application/x-www-form-urlencoded", content = String, description = "`csrf`."),
        responses(
            (status = 303, description = "Signed out; to the dashboard."),
            (status = 403, description = "The form token is missing or wrong.", content_type = "text/html", body = String),
        ))]
    pub(super) async fn signout(
        state: State<ServeState>,
        headers: HeaderMap,
        body: Bytes,
    ) -> Result<Response, PageError> {
        actions::signout(state, headers, body).await
    }

    #[utoipa::path(post, path = "/capabilities/{id}/review", operation_id = "capabilityReviewForm", tag = "actions",
        params(("id" = String, Path, description = "The capability id from the registry.")),
        summary = "HTML form post (signed in): record a review of the capability, with channel web.",
        request_body(content_type = "application/x-www-form-urlencoded", content = String,
            description = "`csrf`, `by` (your name) and an optional `note`."),
        responses(
            (status = 303, description = "Recorded; back to the capability page."),
            (status = 400, description = "The form is wrong.", content_type = "text/html", body = String),
            (status = 401, description = "Not signed in.", content_type = "text/html", body = String),
            (status = 403, description = "The form token is missing or wrong.", content_type = "text/html", body = String),
            (status = 404, description = "No such capability.", content_type = "text/html", body = String),
        ))]
    pub(super) async fn capability_review(
        state: State<ServeState>,
        id: Path<String>,
        remote: RemoteAddr,
        headers: HeaderMap,
        body: Bytes,
    ) -> Result<Response, PageError> {
        actions::capability_review(state, id, remote, headers, body).await
    }

    #[utoipa::path(post, path = "/capabilities/{id}/snooze", operation_id = "capabilitySnoozeForm", tag = "actions",
        params(("id" = String, Path, description = "The capability id from the registry.")),
        summary = "HTML form post (signed in): snooze one finding of the capability, with channel web.",
        request_body(content_type = "application/x-www-form-urlencoded", content = String,
            description = "`csrf`, `by`, `kind` (the finding), `days` (1–30) and `reason`."),
        responses(
            (status = 303, description = "Recorded; back to the capability page."),
            (status = 400, description = "The form is wrong.", content_type = "text/html", body = String),
            (status = 401, description = "Not signed in.", content_type = "text/html", body = String),
            (status = 403, description = "The form token is missing or wrong.", content_type = "text/html", body = String),
            (status = 404, description = "No such capability.", content_type = "text/html", body = String),
        ))]
    pub(super) async fn capability_snooze(
        state: State<ServeState>,
        id: Path<String>,
        remote: RemoteAddr,
        headers: HeaderMap,
        body: Bytes,
    ) -> Result<Response, PageError> {
        actions::capability_snooze(state, id, remote, headers, body).await
    }

    #[utoipa::path(post, path = "/guides/{id}/review", operation_id = "guideReviewForm", tag = "actions",
        params(("id" = String, Path, description = "The guide id from the registry.")),
        summary = "HTML form post (signed in): record a review of the whole guide, with channel web.",
        request_body(content_type = "application/x-www-form-urlencoded", content = String,
            description = "`csrf`, `by` (your name) and an optional `note`."),
        responses(
            (status = 303, description = "Recorded; back to the dashboard."),
            (status = 400, description = "The form is wrong.", content_type = "text/html", body = String),
            (status = 401, description = "Not signed in.", content_type = "text/html", body = String),
            (status = 403, description = "The form token is missing or wrong.", content_type = "text/html", body = String),
            (status = 404, description = "No such guide.", content_type = "text/html", body = String),
        ))]
    pub(super) async fn guide_review(
        state: State<ServeState>,
        id: Path<String>,
        remote: RemoteAddr,
        headers: HeaderMap,
        body: Bytes,
    ) -> Result<Response, PageError> {
        actions::guide_review(state, id, remote, headers, body).await
    }

    #[utoipa::path(get, path = "/", operation_id = "dashboard", tag = "pages",
        summary = "HTML dashboard: the capability matrix grouped by guide.",
        responses((status = 200, description = "HTML.", content_type = "text/html", body = String)))]
    pub(super) async fn index(
        state: State<ServeState>,
        headers: HeaderMap,
    ) -> Result<Response, PageError> {
        dashboard::index(state, headers).await
    }

    #[utoipa::path(get, path = "/capabilities/{id}", operation_id = "capabilityPage", tag = "pages",
        params(("id" = String, Path, description = "The capability id from the registry.")),
        summary = "HTML: one capability's status, evidence, sources, stage strip and timeline.",
        responses(
            (status = 200, description = "HTML.", content_type = "text/html", body = String),
            (status = 404, description = "No such capability.", content_type = "text/html", body = String),
        ))]
    pub(super) async fn capability(
        state: State<ServeState>,
        id: Path<String>,
        headers: HeaderMap,
    ) -> Result<Response, PageError> {
        dashboard::capability(state, id, headers).await
    }

    #[utoipa::path(get, path = "/changes/{id}", operation_id = "changePage", tag = "pages",
        params(("id" = i64, Path, minimum = 1, description = "The change number.")),
        summary = "HTML: one change as a coloured diff.",
        responses(
            (status = 200, description = "HTML.", content_type = "text/html", body = String),
            (status = 400, description = "Not a change number.", content_type = "text/html", body = String),
            (status = 404, description = "No such change.", content_type = "text/html", body = String),
        ))]
    pub(super) async fn change(
        state: State<ServeState>,
        id: Path<String>,
    ) -> Result<Response, PageError> {
        dashboard::change(state, id).await
    }
}

/// Serve until `shutdown` resolves; requests in flight are finished first.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: ServeState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // The peer address is kept for the audit of web reviews and snoozes.
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

async fn security_headers(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    res
}

async fn not_found(uri: Uri) -> Response {
    let e = Error::not_found(format!("nothing at {}", uri.path()));
    if uri.path().starts_with("/api/") {
        ApiError(e).into_response()
    } else {
        PageError(e).into_response()
    }
}

/// A failed request: the status and one plain sentence.
#[derive(Debug)]
pub(crate) struct Error {
    status: StatusCode,
    message: String,
}

impl Error {
    fn new(status: StatusCode, message: impl Into<String>) -> Error {
        Error {
            status,
            message: message.into(),
        }
    }
    fn not_found(m: impl Into<String>) -> Error {
        Error::new(StatusCode::NOT_FOUND, m)
    }
    fn bad_request(m: impl Into<String>) -> Error {
        Error::new(StatusCode::BAD_REQUEST, m)
    }
    fn internal(m: impl Into<String>) -> Error {
        Error::new(StatusCode::INTERNAL_SERVER_ERROR, m)
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Error {
        match e {
            StoreError::NotFound(m) => Error::not_found(m),
            e @ StoreError::Open { .. } => {
                Error::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
            }
            e => Error::internal(e.to_string()),
        }
    }
}

impl From<PipelineError> for Error {
    fn from(e: PipelineError) -> Error {
        match e {
            PipelineError::Store(s) => s.into(),
        }
    }
}

fn log_failure(e: &Error) {
    if e.status.is_server_error() {
        tracing::warn!(http_status = e.status.as_u16(), error = %e.message, "request failed");
    }
}

/// An error answered as JSON `{"error": "…"}`.
pub(crate) struct ApiError(Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        log_failure(&self.0);
        let body = api::ErrorBody {
            error: self.0.message,
        };
        (self.0.status, axum::Json(body)).into_response()
    }
}

/// An error answered as a small HTML page.
pub(crate) struct PageError(Error);

impl From<Error> for PageError {
    fn from(e: Error) -> Self {
        PageError(e)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        log_failure(&self.0);
        let title = format!(
            "{} {}",
            self.0.status.as_u16(),
            self.0.status.canonical_reason().unwrap_or("")
        );
        let body = maud::html! {
            p { (self.0.message) }
            p { a href="/" { "Back to the dashboard" } }
        };
        (self.0.status, dashboard::page(&title, body)).into_response()
    }
}

/// The scheme and host this request was addressed to, for absolute links in
/// feeds; empty (relative links) when the Host header looks wrong.
fn base_url(headers: &axum::http::HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 255
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-.:[]_".contains(&b))
        });
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"));
    match host {
        Some(h) => format!("{}://{h}", if https { "https" } else { "http" }),
        None => String::new(),
    }
}

/// Parse `since`/`until`/`as_of` query values (RFC 3339, a date, or "now").
fn query_time(
    name: &str,
    v: Option<&str>,
    end_of_day: bool,
) -> Result<Option<jiff::Timestamp>, Error> {
    match v.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => crate::report::parse_time(s, end_of_day)
            .map(Some)
            .map_err(|e| Error::bad_request(format!("{name}: {e}"))),
    }
}
