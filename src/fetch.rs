//! Fetch stage: turns one source URL (plus the validators remembered from the
//! last good fetch) into a [`Fetched`] record — an [`Outcome`], the body when
//! there is one, the new validators and timing. Every failure is data; the only
//! `Err` in this module is [`FetchError`], raised when the HTTP client cannot be
//! built.
//!
//! In: an `http`, `https` or `file` URL and the source's [`Validators`].
//! Out: [`Fetched`]; `body` is `Some` only for [`Outcome::Ok`], so an error page
//! is never handed on as content.
//!
//! Policy, in one place:
//! - **Timeout** ([`FetchSettings::timeout`]) bounds each attempt as a whole:
//!   connecting, every redirect hop, the headers and the entire body. Waiting for
//!   a concurrency permit and sleeping between attempts are not counted, so the
//!   worst case for one fetch is `(retries + 1) × timeout` plus the backoff sleeps.
//! - **Size** ([`FetchSettings::max_bytes`]) is checked against `Content-Length`
//!   up front and against the decoded bytes while streaming, so at most
//!   `max_bytes` are ever buffered and a gzip bomb stops at the cap.
//! - **Redirects** are followed here, not by reqwest, up to
//!   [`FetchSettings::max_redirects`]; only to `http`/`https`.
//! - **Retries** happen only for transient failures (see [`is_retryable`]):
//!   connect errors, timeouts, 408, 429, 500, 502, 503, 504. Backoff is
//!   `backoff_base × 2^(n-1)`, capped at `backoff_cap`; a `Retry-After` header
//!   (seconds or HTTP date) replaces it, capped at `backoff_cap` as well. A body
//!   broken mid-way is reported as [`Outcome::Network`] and not retried.
//! - **Concurrency**: a global semaphore (`concurrency`) and one semaphore per
//!   `host:port` (`per_host`). Permits are held for one attempt (all its redirect
//!   hops included, counted against the first URL's host) and released while
//!   sleeping before a retry, so a backing-off source does not block others.
//! - **`file:` URLs** are read from disk under the same size cap and timeout and
//!   without permits. A missing file is `Network("file not found: PATH")`, any
//!   other read error `Network("cannot read file PATH: REASON")`; the content
//!   type is left `None` for the caller to decide from the path.
//! - **Rendered pages** (`render = "browser"`) go through [`Fetcher::render`]:
//!   the [`Renderer`] attached with [`Fetcher::with_renderer`] loads them in
//!   headless Chromium under a tab, the per-host and the global limit, in
//!   that order. [`Fetcher::fetch`] never touches the browser.

use crate::model::Outcome;
use crate::render::Renderer;
use reqwest::header::{
    CONTENT_TYPE, ETAG, HeaderMap, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED, LOCATION,
    RETRY_AFTER,
};
use std::collections::HashMap;
use std::error::Error as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use tokio::io::AsyncReadExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use url::Url;

/// Limits and retry policy for the fetch stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchSettings {
    /// Whole request, body included, per attempt.
    pub timeout: Duration,
    /// Largest body accepted (decoded size), enforced while streaming and on `file:` reads.
    pub max_bytes: u64,
    /// Fetches in flight overall; at least 1.
    pub concurrency: usize,
    /// Fetches in flight per `host:port`; at least 1.
    pub per_host: usize,
    /// Redirect hops followed before giving up.
    pub max_redirects: usize,
    /// Extra attempts for transient failures.
    pub retries: u32,
    /// First backoff; doubled per attempt.
    pub backoff_base: Duration,
    /// Longest backoff, and the cap for honouring `Retry-After`.
    pub backoff_cap: Duration,
}

impl Default for FetchSettings {
    fn default() -> Self {
        FetchSettings {
            timeout: Duration::from_secs(30),
            max_bytes: 5_000_000,
            concurrency: 16,
            per_host: 2,
            max_redirects: 5,
            retries: 2,
            backoff_base: Duration::from_millis(500),
            backoff_cap: Duration::from_secs(10),
        }
    }
}

/// Validators remembered per source from the last 200.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// The result of one fetch, after redirects and retries.
#[derive(Debug)]
pub struct Fetched {
    /// Ok, NotModified, Http, Timeout, TooLarge, Redirect, Network or Unreadable.
    pub outcome: Outcome,
    /// The last HTTP status received, if any response arrived.
    pub http_status: Option<u16>,
    /// The body; `Some` only when `outcome == Outcome::Ok`.
    pub body: Option<Vec<u8>>,
    /// The `Content-Type` of the body (`Ok` over HTTP only).
    pub content_type: Option<String>,
    /// `ETag` / `Last-Modified` of this response when `Ok`; empty otherwise.
    pub validators: Validators,
    /// The URL the last attempt ended at (after redirects).
    pub final_url: String,
    /// Attempts made, retries included (1 for `file:`).
    pub attempts: u32,
    /// Wall time for the whole fetch, waits included.
    pub elapsed: Duration,
}

/// Raised only when the fetcher cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("cannot build the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
    #[error("fetch setting `{name}` is 0; it must be at least 1")]
    ZeroLimit { name: &'static str },
}

/// The user agent sent with every request.
pub fn user_agent() -> String {
    format!(
        "capwatch/{} (+https://github.com/capwatch/capwatch)",
        env!("CARGO_PKG_VERSION")
    )
}

/// Fetches sources under the configured limits. Cheap to clone; clones share
/// the connection pool and the concurrency limits.
#[derive(Debug, Clone)]
pub struct Fetcher {
    /// reqwest's client is an `Arc` inside; clones share one pool safely.
    client: reqwest::Client,
    settings: FetchSettings,
    /// Shared by clones so the global limit holds across every task fetching.
    global: Arc<Semaphore>,
    /// One semaphore per `host:port`, created on first use and never removed, so
    /// every fetch of a host waits on the same one (the host set is the registry's).
    hosts: Arc<Mutex<HashMap<String, Arc<Semaphore>>>>,
    /// Renders `render = "browser"` sources; None when the registry has none.
    renderer: Option<Renderer>,
}

impl Fetcher {
    /// Builds the HTTP client (rustls, gzip + brotli, no automatic redirects).
    pub fn new(settings: FetchSettings) -> Result<Fetcher, FetchError> {
        if settings.concurrency == 0 {
            return Err(FetchError::ZeroLimit {
                name: "concurrency",
            });
        }
        if settings.per_host == 0 {
            return Err(FetchError::ZeroLimit { name: "per_host" });
        }
        let client = reqwest::Client::builder()
            .user_agent(user_agent())
            .gzip(true)
            .brotli(true)
            .redirect(reqwest::redirect::Policy::none())
            .retry(reqwest::retry::never())
            .connect_timeout(settings.timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(FetchError::Client)?;
        Ok(Fetcher {
            client,
            global: Arc::new(Semaphore::new(settings.concurrency)),
            hosts: Arc::new(Mutex::new(HashMap::new())),
            settings,
            renderer: None,
        })
    }

    /// This fetcher, rendering `render = "browser"` sources with `renderer`.
    pub fn with_renderer(mut self, renderer: Renderer) -> Fetcher {
        self.renderer = Some(renderer);
        self
    }

    /// The attached renderer, if any.
    pub fn renderer(&self) -> Option<&Renderer> {
        self.renderer.as_ref()
    }

    /// Load `url` in the browser and read it once settled (see
    /// [`crate::render`]), under a tab, the per-host and the global limit.
    /// The selectors are the source's, as [`crate::extract::Selection::tried_in_order`]
    /// gives them. Never fails: every problem is an [`Outcome`].
    pub async fn render(&self, url: &Url, selectors: &[String], first_match: bool) -> Fetched {
        let Some(renderer) = &self.renderer else {
            return Fetched::failed(
                Outcome::Browser("this run has no browser attached".into()),
                url.as_str(),
            );
        };
        let started = Instant::now();
        // Tab first, then host, then global: an HTTP fetch never waits for a
        // tab, so the order is the same for everyone and nothing waits in a
        // circle; a page waiting for a tab holds no host or global permit.
        let _tab = renderer.tab().await;
        let _host = self.host_permit(&host_key(url)).await;
        let _global = self.global_permit().await;
        let mut fetched = renderer.render(url, selectors, first_match).await;
        fetched.elapsed = started.elapsed();
        fetched
    }

    /// End the attached browser, if one runs (at the end of a run).
    pub async fn close_browser(&self) {
        if let Some(r) = &self.renderer {
            r.close().await;
        }
    }

    /// The settings this fetcher was built with.
    pub fn settings(&self) -> &FetchSettings {
        &self.settings
    }

    /// Fetches one URL, following redirects and retrying transient failures.
    /// Never fails: every problem is an [`Outcome`] in the result.
    pub async fn fetch(&self, url: &Url, validators: &Validators) -> Fetched {
        let started = Instant::now();
        let mut fetched = match url.scheme() {
            "file" => self.fetch_file(url).await,
            "http" | "https" => self.fetch_http(url, validators, started).await,
            other => Fetched::failed(
                Outcome::Network(format!(
                    "unsupported URL scheme `{other}` in {url}; use http, https or file"
                )),
                url.as_str(),
            ),
        };
        fetched.elapsed = started.elapsed();
        tracing::debug!(
            url = %url,
            final_url = %fetched.final_url,
            outcome = fetched.outcome.kind(),
            detail = fetched.outcome.detail(),
            http_status = fetched.http_status,
            attempt = fetched.attempts,
            duration_ms = fetched.elapsed.as_millis() as u64,
            "fetched"
        );
        fetched
    }

    async fn fetch_http(&self, url: &Url, validators: &Validators, started: Instant) -> Fetched {
        let host_key = host_key(url);
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let attempt_started = Instant::now();
            let result = {
                // Per-host first, then global: a fetch queued behind its host
                // holds no global permit, so a busy host cannot starve the others,
                // and the fixed order means two fetches never wait on each other.
                let _host = self.host_permit(&host_key).await;
                let _global = self.global_permit().await;
                // The timeout wraps the attempt only; permits are dropped at the
                // end of this block, before any backoff sleep.
                match tokio::time::timeout(self.settings.timeout, self.attempt(url, validators))
                    .await
                {
                    Ok(result) => result,
                    Err(_) => Attempt::failed(Outcome::Timeout, Cause::Timeout, url.as_str()),
                }
            };
            tracing::debug!(
                url = %url,
                attempt,
                http_status = result.fetched.http_status,
                outcome = result.fetched.outcome.kind(),
                duration_ms = attempt_started.elapsed().as_millis() as u64,
                "fetch attempt"
            );
            if attempt > self.settings.retries || !is_retryable(result.cause) {
                let mut fetched = result.fetched;
                fetched.attempts = attempt;
                return fetched;
            }
            let delay = retry_delay(
                attempt,
                result.retry_after,
                self.settings.backoff_base,
                self.settings.backoff_cap,
            );
            tracing::info!(
                url = %url,
                attempt,
                http_status = result.fetched.http_status,
                outcome = result.fetched.outcome.kind(),
                delay_ms = delay.as_millis() as u64,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "transient failure; retrying"
            );
            tokio::time::sleep(delay).await;
        }
    }

    /// One attempt: the request, its redirect hops and the body.
    async fn attempt(&self, url: &Url, validators: &Validators) -> Attempt {
        let mut current = url.clone();
        let mut visited = vec![current.clone()];
        loop {
            let mut request = self.client.get(current.clone());
            if let Some(etag) = &validators.etag {
                request = request.header(IF_NONE_MATCH, etag);
            }
            if let Some(lm) = &validators.last_modified {
                request = request.header(IF_MODIFIED_SINCE, lm);
            }
            let response = match request.send().await {
                Ok(response) => response,
                Err(e) => return Attempt::from_send_error(&e, current.as_str()),
            };
            let status = response.status().as_u16();
            let mut base = Fetched::failed(Outcome::Http(status), current.as_str());
            base.http_status = Some(status);

            if response.status().is_redirection() && status != 304 {
                let Some(next) = redirect_target(&current, response.headers()) else {
                    // A 3xx without a usable Location is an error status like any other.
                    return Attempt::done(base, Cause::Status(status), None);
                };
                if next.scheme() != "http" && next.scheme() != "https" {
                    base.outcome = Outcome::Redirect(format!(
                        "refused redirect to {}: {next} (from {current})",
                        next.scheme()
                    ));
                    return Attempt::done(base, Cause::Other, None);
                }
                let hops = visited.len();
                if visited.contains(&next) {
                    base.outcome = Outcome::Redirect(format!(
                        "too many redirects ({hops}): loop back to {next}"
                    ));
                    return Attempt::done(base, Cause::Other, None);
                }
                if hops > self.settings.max_redirects {
                    base.outcome = Outcome::Redirect(format!(
                        "too many redirects ({hops}): the limit is {}, last was {current}",
                        self.settings.max_redirects
                    ));
                    return Attempt::done(base, Cause::Other, None);
                }
                visited.push(next.clone());
                current = next;
                continue;
            }

            if status == 304 {
                base.outcome = Outcome::NotModified;
                return Attempt::done(base, Cause::None, None);
            }
            if !response.status().is_success() {
                let retry_after = parse_retry_after(response.headers(), SystemTime::now());
                return Attempt::done(base, Cause::Status(status), retry_after);
            }

            if let Some(len) = response.content_length()
                && len > self.settings.max_bytes
            {
                base.outcome = Outcome::TooLarge(self.settings.max_bytes);
                return Attempt::done(base, Cause::Other, None);
            }
            let content_type = header_string(response.headers(), CONTENT_TYPE);
            let validators = Validators {
                etag: header_string(response.headers(), ETAG),
                last_modified: header_string(response.headers(), LAST_MODIFIED),
            };
            return match self.read_body(response).await {
                Ok(body) => {
                    base.outcome = Outcome::Ok;
                    base.body = Some(body);
                    base.content_type = content_type;
                    base.validators = validators;
                    Attempt::done(base, Cause::None, None)
                }
                Err(outcome) => {
                    base.outcome = outcome;
                    Attempt::done(base, Cause::Body, None)
                }
            };
        }
    }

    /// Streams the (decoded) body, stopping as soon as it passes `max_bytes`.
    async fn read_body(&self, mut response: reqwest::Response) -> Result<Vec<u8>, Outcome> {
        let max = self.settings.max_bytes;
        let hint = response.content_length().unwrap_or(0).min(max).min(1 << 20);
        let mut body = Vec::with_capacity(hint as usize);
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() as u64 + chunk.len() as u64 > max {
                        return Err(Outcome::TooLarge(max));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => return Ok(body),
                Err(e) => return Err(body_error_outcome(&e)),
            }
        }
    }

    async fn fetch_file(&self, url: &Url) -> Fetched {
        let mut fetched = Fetched::failed(Outcome::Network(String::new()), url.as_str());
        fetched.attempts = 1;
        let Ok(path) = url.to_file_path() else {
            fetched.outcome = Outcome::Network(format!(
                "not a local file path: {url}; use file:///absolute/path"
            ));
            return fetched;
        };
        let max = self.settings.max_bytes;
        let read = async {
            let file = tokio::fs::File::open(&path).await?;
            let meta = file.metadata().await?;
            if !meta.is_file() {
                return Err(std::io::Error::other("not a regular file"));
            }
            if meta.len() > max {
                return Ok(None);
            }
            // Read one byte past the cap so a file that grew since `metadata` is caught.
            let mut body = Vec::with_capacity(meta.len() as usize);
            file.take(max + 1).read_to_end(&mut body).await?;
            Ok((body.len() as u64 <= max).then_some(body))
        };
        fetched.outcome = match tokio::time::timeout(self.settings.timeout, read).await {
            Err(_) => Outcome::Timeout,
            Ok(Ok(None)) => Outcome::TooLarge(max),
            Ok(Ok(Some(body))) => {
                fetched.body = Some(body);
                Outcome::Ok
            }
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                Outcome::Network(format!("file not found: {}", path.display()))
            }
            Ok(Err(e)) => Outcome::Network(format!("cannot read file {}: {e}", path.display())),
        };
        fetched
    }

    async fn host_permit(&self, key: &str) -> OwnedSemaphorePermit {
        let semaphore = {
            // The std mutex is held only for this lookup, never across an await.
            let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
            hosts
                .entry(key.to_string())
                .or_insert_with(|| Arc::new(Semaphore::new(self.settings.per_host)))
                .clone()
        };
        // The semaphore is never closed, so acquiring cannot fail.
        semaphore
            .acquire_owned()
            .await
            .expect("per-host semaphore is never closed")
    }

    async fn global_permit(&self) -> OwnedSemaphorePermit {
        // The semaphore is never closed, so acquiring cannot fail.
        self.global
            .clone()
            .acquire_owned()
            .await
            .expect("global semaphore is never closed")
    }
}

impl Fetched {
    /// A fetch that ended with `outcome` before any response arrived.
    pub fn failed(outcome: Outcome, url: &str) -> Fetched {
        Fetched {
            outcome,
            http_status: None,
            body: None,
            content_type: None,
            validators: Validators::default(),
            final_url: url.to_string(),
            attempts: 0,
            elapsed: Duration::ZERO,
        }
    }
}

/// Why an attempt ended, as far as the retry loop is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cause {
    /// It did not fail (Ok or NotModified).
    None,
    /// DNS, TCP connect or TLS handshake failed.
    Connect,
    /// The attempt ran past the timeout.
    Timeout,
    /// The server answered with this error status.
    Status(u16),
    /// The body broke off or could not be decoded.
    Body,
    /// Anything else: redirect trouble, too large, a request error.
    Other,
}

/// Whether an attempt that ended this way is worth trying again: only failures
/// that are likely to go away on their own.
pub(crate) fn is_retryable(cause: Cause) -> bool {
    match cause {
        Cause::Connect | Cause::Timeout => true,
        Cause::Status(code) => matches!(code, 408 | 429 | 500 | 502 | 503 | 504),
        Cause::None | Cause::Body | Cause::Other => false,
    }
}

/// How long to sleep after failed attempt number `attempt` (1-based):
/// `Retry-After` when the server sent one, else `base × 2^(attempt-1)`; both capped.
pub(crate) fn retry_delay(
    attempt: u32,
    retry_after: Option<Duration>,
    base: Duration,
    cap: Duration,
) -> Duration {
    let delay = retry_after.unwrap_or_else(|| {
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        base.saturating_mul(factor)
    });
    delay.min(cap)
}

/// Reads `Retry-After` as delay-seconds or an HTTP date (relative to `now`).
/// A date in the past means "now"; anything unparsable is ignored.
pub(crate) fn parse_retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = parse_http_date(value)?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) and the two obsolete HTTP date forms.
fn parse_http_date(value: &str) -> Option<SystemTime> {
    let utc = if let Ok(dt) = chrono::DateTime::parse_from_rfc2822(value) {
        dt.to_utc()
    } else {
        ["%A, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y"]
            .iter()
            .find_map(|fmt| chrono::NaiveDateTime::parse_from_str(value, fmt).ok())?
            .and_utc()
    };
    Some(SystemTime::from(utc))
}

/// The attempt's record plus what the retry loop needs to know.
struct Attempt {
    fetched: Fetched,
    cause: Cause,
    retry_after: Option<Duration>,
}

impl Attempt {
    fn done(fetched: Fetched, cause: Cause, retry_after: Option<Duration>) -> Attempt {
        Attempt {
            fetched,
            cause,
            retry_after,
        }
    }

    fn failed(outcome: Outcome, cause: Cause, url: &str) -> Attempt {
        Attempt::done(Fetched::failed(outcome, url), cause, None)
    }

    /// A request that produced no response at all.
    fn from_send_error(e: &reqwest::Error, url: &str) -> Attempt {
        if e.is_timeout() {
            // Connect timeout (the overall timeout is ours, outside the attempt).
            Attempt::failed(Outcome::Timeout, Cause::Timeout, url)
        } else if e.is_connect() {
            let chain = error_chain(e);
            let host = url::Url::parse(url)
                .ok()
                .and_then(|u| u.host_str().map(String::from))
                .unwrap_or_else(|| "the host".into());
            // The resolver's chain repeats itself ("dns error: error resolving DNS: failed
            // to lookup address information: …"); say it once, with the host.
            let message = if chain.contains("dns error") || chain.contains("lookup address") {
                format!(
                    "cannot resolve {host} (DNS lookup failed; no network or a wrong host name)"
                )
            } else {
                format!("cannot connect to {host}: {chain}")
            };
            Attempt::failed(Outcome::Network(message), Cause::Connect, url)
        } else {
            Attempt::failed(
                Outcome::Network(format!("request failed: {}", error_chain(e))),
                Cause::Other,
                url,
            )
        }
    }
}

/// A body error is a broken connection (`Network`) unless it came from the
/// content decoder rejecting the bytes (`Unreadable`).
fn body_error_outcome(e: &reqwest::Error) -> Outcome {
    if e.is_timeout() {
        return Outcome::Timeout;
    }
    let mut source = e.source();
    let mut undecodable = false;
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            match io.kind() {
                InvalidData | InvalidInput => undecodable = true,
                ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof => {
                    undecodable = false;
                    break;
                }
                _ => {}
            }
        }
        source = s.source();
    }
    if undecodable {
        Outcome::Unreadable(format!("cannot decode the body: {}", error_chain(e)))
    } else {
        Outcome::Network(format!("body broken off: {}", error_chain(e)))
    }
}

/// The messages of an error's sources, outermost first, without reqwest's and
/// hyper-util's wrappers (which repeat the URL or the kind) and without repeats.
fn error_chain(e: &reqwest::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut source = e.source();
    while let Some(s) = source {
        let msg = s.to_string();
        // hyper-util's "client error (Connect)" only repeats what the next source says.
        let wrapper = msg.starts_with("client error (");
        if !msg.is_empty() && !wrapper && !parts.iter().any(|p| p.contains(&msg)) {
            parts.push(msg);
        }
        source = s.source();
    }
    if parts.is_empty() {
        e.to_string()
    } else {
        parts.join(": ")
    }
}

fn redirect_target(current: &Url, headers: &HeaderMap) -> Option<Url> {
    let location = headers.get(LOCATION)?.to_str().ok()?;
    current.join(location.trim()).ok()
}

fn header_string(headers: &HeaderMap, name: reqwest::header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// `host:port`, the key for the per-host limit.
fn host_key(url: &Url) -> String {
    format!(
        "{}:{}",
        url.host_str().unwrap_or(""),
        url.port_or_known_default().unwrap_or(0)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retries_only_transient_failures() {
        let cases = [
            (Cause::None, false),
            (Cause::Connect, true),
            (Cause::Timeout, true),
            (Cause::Body, false),
            (Cause::Other, false),
            (Cause::Status(408), true),
            (Cause::Status(429), true),
            (Cause::Status(500), true),
            (Cause::Status(502), true),
            (Cause::Status(503), true),
            (Cause::Status(504), true),
            (Cause::Status(400), false),
            (Cause::Status(401), false),
            (Cause::Status(403), false),
            (Cause::Status(404), false),
            (Cause::Status(410), false),
            (Cause::Status(501), false),
            (Cause::Status(505), false),
        ];
        for (cause, want) in cases {
            assert_eq!(is_retryable(cause), want, "{cause:?}");
        }
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let base = Duration::from_millis(500);
        let cap = Duration::from_secs(10);
        let got: Vec<_> = (1..=7)
            .map(|n| retry_delay(n, None, base, cap).as_millis())
            .collect();
        assert_eq!(got, [500, 1000, 2000, 4000, 8000, 10000, 10000]);
        assert_eq!(retry_delay(200, None, base, cap), cap);
    }

    #[test]
    fn retry_after_replaces_backoff_but_is_capped() {
        let base = Duration::from_millis(500);
        let cap = Duration::from_secs(10);
        let one = Some(Duration::from_secs(1));
        assert_eq!(retry_delay(3, one, base, cap), Duration::from_secs(1));
        let long = Some(Duration::from_secs(3600));
        assert_eq!(retry_delay(1, long, base, cap), cap);
    }

    fn retry_after(value: &str, now: SystemTime) -> Option<Duration> {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_str(value).unwrap());
        parse_retry_after(&headers, now)
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        // 1994-11-06T08:49:37Z
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777);
        assert_eq!(retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(retry_after(" 0 ", now), Some(Duration::ZERO));
        for date in [
            "Sun, 06 Nov 1994 08:49:47 GMT",
            "Sunday, 06-Nov-94 08:49:47 GMT",
            "Sun Nov  6 08:49:47 1994",
        ] {
            assert_eq!(
                retry_after(date, now),
                Some(Duration::from_secs(10)),
                "{date}"
            );
        }
        assert_eq!(
            retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now),
            Some(Duration::ZERO),
            "a date in the past means now"
        );
        assert_eq!(retry_after("soon", now), None);
        assert_eq!(retry_after("-5", now), None);
        assert_eq!(parse_retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn host_key_includes_default_port() {
        let key = |s: &str| host_key(&Url::parse(s).unwrap());
        assert_eq!(key("https://docs.example.com/a"), "docs.example.com:443");
        assert_eq!(key("http://docs.example.com/a"), "docs.example.com:80");
        assert_eq!(key("http://127.0.0.1:8080/a"), "127.0.0.1:8080");
    }

    #[test]
    fn user_agent_names_the_version() {
        assert!(user_agent().starts_with(concat!("capwatch/", env!("CARGO_PKG_VERSION"))));
    }

    #[test]
    fn zero_limits_are_refused() {
        let err = Fetcher::new(FetchSettings {
            per_host: 0,
            ..FetchSettings::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("per_host"), "{err}");
    }
}
