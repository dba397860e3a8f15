//! Shared test helpers: a real HTTP server on 127.0.0.1 serving pages the test
//! controls, a registry writer, and the capwatch binary.
#![allow(dead_code)]

pub mod browser;
pub mod pg;
pub mod smtp;
pub mod webhook;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How one path answers.
#[derive(Clone, Debug)]
pub enum Behavior {
    /// 200 with an ETag; 304 when If-None-Match matches.
    Page,
    /// The first `n` requests answer `status`, later ones behave as `Page`.
    FailFirst(u32, u16),
    /// Always this status, with an error page body.
    Status(u16),
    /// Wait this long before answering.
    Slow(Duration),
    /// 302 to this path.
    Redirect(String),
}

#[derive(Clone, Debug)]
pub struct Served {
    pub body: Vec<u8>,
    pub content_type: String,
    pub behavior: Behavior,
    pub hits: u32,
}

#[derive(Clone, Debug)]
pub struct Logged {
    pub at: std::time::Instant,
    pub path: String,
    pub if_none_match: Option<String>,
    pub if_modified_since: Option<String>,
    pub user_agent: Option<String>,
}

#[derive(Default)]
struct Inner {
    pages: HashMap<String, Served>,
    log: Vec<Logged>,
    in_flight: usize,
    max_in_flight: usize,
    /// The same, per first path segment (`/slow/3` counts under `slow`).
    in_flight_under: HashMap<String, usize>,
    max_in_flight_under: HashMap<String, usize>,
}

/// A page server running on its own thread and runtime.
pub struct PageServer {
    pub addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl PageServer {
    pub fn start() -> PageServer {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let state = inner.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                let app = Router::new().fallback(serve).with_state(state);
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = rx.await;
                    })
                    .await
                    .unwrap();
            });
        });
        let addr = addr_rx.recv().unwrap();
        PageServer {
            addr,
            inner,
            stop: Some(tx),
            thread: Some(thread),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Serve `body` as HTML at `path`.
    pub fn html(&self, path: &str, body: &str) {
        self.set(
            path,
            body.as_bytes(),
            "text/html; charset=utf-8",
            Behavior::Page,
        );
    }

    pub fn set(&self, path: &str, body: &[u8], content_type: &str, behavior: Behavior) {
        self.inner.lock().unwrap().pages.insert(
            path.to_string(),
            Served {
                body: body.to_vec(),
                content_type: content_type.to_string(),
                behavior,
                hits: 0,
            },
        );
    }

    pub fn log(&self) -> Vec<Logged> {
        self.inner.lock().unwrap().log.clone()
    }

    pub fn clear_log(&self) {
        self.inner.lock().unwrap().log.clear();
    }

    /// The most requests this server had in flight at once.
    pub fn max_in_flight(&self) -> usize {
        self.inner.lock().unwrap().max_in_flight
    }

    /// The most requests under `/SEGMENT/…` this server had in flight at once.
    pub fn max_in_flight_under(&self, segment: &str) -> usize {
        let g = self.inner.lock().unwrap();
        g.max_in_flight_under.get(segment).copied().unwrap_or(0)
    }

    pub fn hits(&self, path: &str) -> usize {
        self.log().iter().filter(|l| l.path == path).count()
    }
}

impl Drop for PageServer {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn etag_of(body: &[u8]) -> String {
    use sha2::Digest;
    format!("\"{}\"", hex::encode(&sha2::Sha256::digest(body)[..8]))
}

async fn serve(State(inner): State<Arc<Mutex<Inner>>>, req: Request) -> Response {
    let segment = req
        .uri()
        .path()
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default()
        .to_string();
    {
        let mut g = inner.lock().unwrap();
        g.in_flight += 1;
        g.max_in_flight = g.max_in_flight.max(g.in_flight);
        let n = {
            let live = g.in_flight_under.entry(segment.clone()).or_insert(0);
            *live += 1;
            *live
        };
        let max = g.max_in_flight_under.entry(segment.clone()).or_insert(0);
        *max = (*max).max(n);
    }
    let response = answer(inner.clone(), req).await;
    let mut g = inner.lock().unwrap();
    g.in_flight -= 1;
    if let Some(live) = g.in_flight_under.get_mut(&segment) {
        *live -= 1;
    }
    drop(g);
    response
}

async fn answer(inner: Arc<Mutex<Inner>>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    let headers: &HeaderMap = req.headers();
    let get = |h: header::HeaderName| {
        headers
            .get(h)
            .and_then(|v| v.to_str().ok())
            .map(String::from)
    };
    let logged = Logged {
        at: std::time::Instant::now(),
        path: path.clone(),
        if_none_match: get(header::IF_NONE_MATCH),
        if_modified_since: get(header::IF_MODIFIED_SINCE),
        user_agent: get(header::USER_AGENT),
    };
    let served = {
        let mut g = inner.lock().unwrap();
        g.log.push(logged.clone());
        match g.pages.get_mut(&path) {
            Some(p) => {
                p.hits += 1;
                Some(p.clone())
            }
            None => None,
        }
    };
    let Some(p) = served else {
        return plain(
            StatusCode::NOT_FOUND,
            "<html><body><main>Not found</main></body></html>",
        );
    };
    match &p.behavior {
        Behavior::Status(code) => {
            return plain(
                StatusCode::from_u16(*code).unwrap(),
                "<html><body><main>Error page</main></body></html>",
            );
        }
        Behavior::FailFirst(n, code) if p.hits <= *n => {
            return plain(
                StatusCode::from_u16(*code).unwrap(),
                "<html><body><main>Try later</main></body></html>",
            );
        }
        Behavior::Slow(d) => tokio::time::sleep(*d).await,
        Behavior::Redirect(to) => {
            return Response::builder()
                .status(StatusCode::FOUND)
                .header(header::LOCATION, to.as_str())
                .body(Body::empty())
                .unwrap();
        }
        _ => {}
    }
    let etag = etag_of(&p.body);
    if logged.if_none_match.as_deref() == Some(etag.as_str()) {
        return Response::builder()
            .status(StatusCode::NOT_MODIFIED)
            .header(header::ETAG, etag)
            .body(Body::empty())
            .unwrap();
    }
    Response::builder()
        .status(StatusCode::OK)
        .header(
            header::CONTENT_TYPE,
            HeaderValue::from_str(&p.content_type).unwrap(),
        )
        .header(header::ETAG, etag)
        .body(Body::from(p.body))
        .unwrap()
}

fn plain(status: StatusCode, body: &'static str) -> Response {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/html")
        .body(Body::from(body))
        .unwrap()
}

/// A documentation-like page: navigation and footer around a `<main>`.
pub fn doc_page(title: &str, main: &str, chrome: &str) -> String {
    format!(
        "<!doctype html><html><head><title>{title}</title></head><body>\
         <nav><a href=\"/\">Home</a> <a href=\"/docs\">Docs</a> {chrome}</nav>\
         <main><h1>{title}</h1>{main}</main>\
         <footer>Build {chrome}</footer></body></html>"
    )
}

/// A temporary folder with a registry in it.
pub struct Project {
    pub dir: tempfile::TempDir,
}

impl Project {
    pub fn new(registry: &str) -> Project {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("sources.toml"), registry).unwrap();
        Project { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn registry(&self) -> PathBuf {
        self.dir.path().join("sources.toml")
    }

    pub fn db(&self) -> PathBuf {
        self.dir.path().join("capwatch.db")
    }

    pub fn write_registry(&self, registry: &str) {
        std::fs::write(self.registry(), registry).unwrap();
    }

    /// `capwatch --config <registry> ARGS…`, run in the project folder.
    pub fn capwatch(&self, args: &[&str]) -> assert_cmd::assert::Assert {
        self.capwatch_env(&[], args)
    }

    /// [`Project::capwatch`] with these environment variables set.
    pub fn capwatch_env(&self, env: &[(&str, &str)], args: &[&str]) -> assert_cmd::assert::Assert {
        let mut cmd = assert_cmd::Command::cargo_bin("capwatch").unwrap();
        cmd.env_remove("CAPWATCH_SECRET")
            .env_remove("CAPWATCH_DB")
            .env_remove("CAPWATCH_CONFIG")
            .env_remove("CAPWATCH_SMTP_USER")
            .env_remove("CAPWATCH_SMTP_PASSWORD")
            .env_remove("CAPWATCH_API_TOKEN");
        // What the test sets wins over what the environment had.
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.current_dir(self.path())
            .arg("--config")
            .arg(self.registry())
            .args(args);
        cmd.assert()
    }

    /// Run a query on the project's database.
    pub fn query_i64(&self, sql: &str) -> i64 {
        let conn = rusqlite::Connection::open(self.db()).unwrap();
        conn.query_row(sql, [], |r| r.get(0)).unwrap()
    }

    pub fn query_strings(&self, sql: &str) -> Vec<String> {
        let conn = rusqlite::Connection::open(self.db()).unwrap();
        let mut stmt = conn.prepare(sql).unwrap();
        stmt.query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    }
}

pub fn stdout(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stdout).into_owned()
}

pub fn stderr(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stderr).into_owned()
}

/// A one-guide registry header; append capabilities after it.
pub fn registry_head(settings: &str) -> String {
    format!(
        "[settings]\n{settings}\n\n[[guide]]\nid = \"g\"\ntitle = \"Test guide\"\nvalidated_on = \"2026-11-01\"\nowners = [\"owner@example.com\"]\n\n"
    )
}

/// One capability with one source.
pub fn capability(id: &str, name: &str, claim: &str, url: &str, extra: &str) -> String {
    format!(
        "[[capability]]\nid = \"{id}\"\nguide = \"g\"\nname = \"{name}\"\nclaim = {claim}\n\n  [[capability.source]]\n  id = \"{id}\"\n  url = \"{url}\"\n{extra}\n"
    )
}
