//! The benchmark page server: a port of `bench/serve.py` (same flags, same answers, same
//! `/__stats` counters) that needs about a quarter of the Python server's CPU per request,
//! so that on a 2-core machine the tool under test competes with it as little as possible.
//!
//! ```text
//! cargo run --release --example bench_serve -- --dir bench/data/pages-500
//! ```
//!
//! * `GET /docs/page-NNNNN.html`: the page from `--dir`, re-read when its mtime or size
//!   changes (so `pages.py mutate` is visible without a restart). Per page version the body,
//!   a strong ETag (sha256, 20 hex digits), the gzip body (level 6) and Last-Modified are
//!   computed once; a request then costs a `stat` and a reference count.
//! * Conditional GET: If-None-Match is evaluated when present (`*`, `W/` and the `-gz` tag
//!   match), else If-Modified-Since against the file's mtime in whole seconds.
//! * gzip when `Accept-Encoding` contains `gzip` (ETag gets a `-gz` suffix); `--no-gzip`
//!   turns it off.
//! * `GET /__stats`: JSON counters (`?reset=1` returns then zeroes them); `GET /__health`: `ok`.
//!
//! Binds 127.0.0.1 only, prints `PORT <n>` on stdout and writes it to `--port-file`; dumps
//! the counters to `--stats-file` on SIGTERM/SIGINT and exits; exits by itself after
//! `--max-seconds`. One thread (a `current_thread` runtime); `TCP_NODELAY` on every
//! connection (see bench/README.md for why).

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::serve::ListenerExt;
use chrono::{DateTime, Utc};
use clap::Parser;
use flate2::{Compression, GzBuilder};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::signal::unix::{SignalKind, signal};

#[derive(Parser)]
struct Args {
    #[arg(long)]
    dir: PathBuf,
    /// 0 = pick a free port
    #[arg(long, default_value_t = 0)]
    port: u16,
    #[arg(long)]
    port_file: Option<PathBuf>,
    #[arg(long)]
    stats_file: Option<PathBuf>,
    #[arg(long)]
    no_gzip: bool,
    /// exit by itself after this long
    #[arg(long, default_value_t = 7200.0)]
    max_seconds: f64,
}

/// One version of a page, computed once.
struct Page {
    key: (i64, i64, u64), // mtime, mtime_nsec, size
    body: Bytes,
    etag: String,
    gz: Option<Bytes>,
    last_modified: String,
    mtime_s: i64,
}

/// The counters of serve.py's `Stats`. `counters` behaves like its `Counter`: a key
/// appears once it has been added to (even by 0) and is absent after a reset.
struct Stats {
    counters: BTreeMap<&'static str, u64>,
    t0: Instant,
    first: Option<Instant>,
    last: Option<Instant>,
    conns: u64,
    ua: BTreeMap<String, u64>,
}

impl Stats {
    fn new() -> Self {
        Stats {
            counters: BTreeMap::new(),
            t0: Instant::now(),
            first: None,
            last: None,
            conns: 0,
            ua: BTreeMap::new(),
        }
    }

    fn add(&mut self, key: &'static str, n: u64) {
        *self.counters.entry(key).or_default() += n;
    }

    fn snapshot(&self) -> Value {
        let round3 = |d: Duration| (d.as_secs_f64() * 1000.0).round() / 1000.0;
        let mut m: Map<String, Value> = self
            .counters
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        m.insert("connections".into(), json!(self.conns));
        m.insert("window_s".into(), json!(round3(self.t0.elapsed())));
        let span = self.first.zip(self.last).map(|(f, l)| round3(l - f));
        m.insert("first_to_last_request_s".into(), json!(span));
        m.insert("user_agents".into(), json!(self.ua));
        Value::Object(m)
    }
}

struct App {
    dir: PathBuf,
    gzip: bool,
    pages: Mutex<HashMap<String, Arc<Page>>>,
    stats: Mutex<Stats>,
}

impl App {
    /// The current version of page `name`, re-read when its mtime or size changed.
    fn page(&self, name: &str) -> Option<Arc<Page>> {
        let path = self.dir.join(name);
        let st = std::fs::metadata(&path).ok().filter(|m| m.is_file())?;
        let key = (st.mtime(), st.mtime_nsec(), st.size());
        if let Some(p) = self.pages.lock().unwrap().get(name)
            && p.key == key
        {
            return Some(p.clone());
        }
        let body = std::fs::read(&path).ok()?;
        let etag = format!("\"{}\"", &hex::encode(Sha256::digest(&body))[..20]);
        let gz = self.gzip.then(|| {
            let mut enc = GzBuilder::new()
                .mtime(0)
                .write(Vec::new(), Compression::new(6));
            enc.write_all(&body).expect("gzip to memory");
            Bytes::from(enc.finish().expect("gzip to memory"))
        });
        let last_modified = DateTime::<Utc>::from_timestamp(st.mtime(), 0)?
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string();
        let page = Arc::new(Page {
            key,
            body: Bytes::from(body),
            etag,
            gz,
            last_modified,
            mtime_s: st.mtime(),
        });
        let mut pages = self.pages.lock().unwrap();
        pages.insert(name.to_string(), page.clone());
        Some(page)
    }
}

fn pretty(v: &Value) -> Vec<u8> {
    // json.dumps(indent=1)
    let mut out = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b" ");
    serde::Serialize::serialize(
        v,
        &mut serde_json::Serializer::with_formatter(&mut out, fmt),
    )
    .expect("JSON to memory");
    out
}

fn text(code: StatusCode, body: &'static str) -> Response {
    (code, [(header::CONTENT_TYPE, "text/plain")], body).into_response()
}

fn header_str(h: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .filter(|s| !s.is_empty())
}

async fn handle(state: State<Arc<App>>, method: Method, uri: Uri, h: HeaderMap) -> Response {
    let mut r = respond(state, method, uri, h);
    let server = HeaderValue::from_static("bench-serve/1.0 Rust");
    r.headers_mut().insert(header::SERVER, server);
    r
}

fn respond(State(app): State<Arc<App>>, method: Method, uri: Uri, h: HeaderMap) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return text(StatusCode::NOT_IMPLEMENTED, "Unsupported method\n");
    }
    let path = uri.path();
    if path == "/__health" {
        return text(StatusCode::OK, "ok\n");
    }
    if path == "/__stats" {
        let reset: Vec<_> = url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .filter(|(k, v)| k == "reset" && !v.is_empty())
            .map(|(_, v)| v)
            .collect();
        let snap = {
            let mut stats = app.stats.lock().unwrap();
            let snap = stats.snapshot();
            if reset == ["1"] {
                *stats = Stats::new();
            }
            snap
        };
        let hdrs = [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ];
        return (hdrs, pretty(&snap)).into_response();
    }

    let inm = header_str(&h, header::IF_NONE_MATCH);
    let ims = header_str(&h, header::IF_MODIFIED_SINCE);
    {
        let now = Instant::now();
        let mut stats = app.stats.lock().unwrap();
        stats.add("requests", 1);
        stats.first.get_or_insert(now);
        stats.last = Some(now);
        let ua = h
            .get(header::USER_AGENT)
            .map(|v| {
                String::from_utf8_lossy(v.as_bytes())
                    .chars()
                    .take(60)
                    .collect()
            })
            .filter(|s: &String| !s.is_empty())
            .unwrap_or_else(|| "-".into());
        *stats.ua.entry(ua).or_default() += 1;
        if inm.is_some() {
            stats.add("with_if_none_match", 1);
        }
        if ims.is_some() {
            stats.add("with_if_modified_since", 1);
        }
    }
    let name = path.rsplit('/').next().unwrap_or("");
    let page = path
        .starts_with("/docs/page-")
        .then(|| app.page(name))
        .flatten();
    let Some(page) = page else {
        app.stats.lock().unwrap().add("status_404", 1);
        return text(StatusCode::NOT_FOUND, "not found\n");
    };

    let accept = header_str(&h, header::ACCEPT_ENCODING).unwrap_or("");
    let use_gz = page.gz.is_some() && accept.contains("gzip");
    let etag_gz = format!("{}-gz\"", &page.etag[..page.etag.len() - 1]);
    let tag = if use_gz { &etag_gz } else { &page.etag };
    let not_modified = match (inm, ims) {
        (Some(inm), _) => inm.split(',').any(|t| {
            let t = t.trim();
            let t = t.strip_prefix("W/").unwrap_or(t);
            t == "*" || t == page.etag || t == etag_gz
        }),
        (None, Some(ims)) => DateTime::parse_from_rfc2822(ims)
            .map(|t| page.mtime_s <= t.timestamp())
            .unwrap_or(false),
        (None, None) => false,
    };

    let mut hdrs = HeaderMap::new();
    let mut set = |k, v: &str| hdrs.insert(k, HeaderValue::from_str(v).expect("ASCII header"));
    set(header::ETAG, tag);
    set(header::LAST_MODIFIED, &page.last_modified);
    set(header::CACHE_CONTROL, "max-age=0, must-revalidate");
    set(header::VARY, "Accept-Encoding");
    if not_modified {
        app.stats.lock().unwrap().add("status_304", 1);
        return (StatusCode::NOT_MODIFIED, hdrs).into_response();
    }
    set(header::CONTENT_TYPE, "text/html; charset=utf-8");
    let body = if use_gz {
        set(header::CONTENT_ENCODING, "gzip");
        page.gz.clone().expect("use_gz implies gz")
    } else {
        page.body.clone()
    };
    // Explicit, so that a HEAD answer carries the length of the body it leaves out.
    set(header::CONTENT_LENGTH, &body.len().to_string());
    let mut stats = app.stats.lock().unwrap();
    stats.add("status_200", 1);
    stats.add(
        "bytes_sent",
        if method == Method::HEAD {
            0
        } else {
            body.len() as u64
        },
    );
    if use_gz {
        stats.add("gzip_responses", 1);
    }
    (hdrs, body).into_response()
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let app = Arc::new(App {
        dir: args.dir,
        gzip: !args.no_gzip,
        pages: Mutex::new(HashMap::new()),
        stats: Mutex::new(Stats::new()),
    });
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port)).await?;
    let port = listener.local_addr()?.port();
    if let Some(pf) = &args.port_file {
        let tmp = PathBuf::from(format!("{}.tmp", pf.display()));
        std::fs::write(&tmp, port.to_string())?;
        std::fs::rename(&tmp, pf)?;
    }
    println!("PORT {port}");
    std::io::stdout().flush()?;

    let counted = app.clone();
    let listener = listener.tap_io(move |tcp| {
        // Headers and body must not wait for the client's delayed ACK (Nagle).
        let _ = tcp.set_nodelay(true);
        counted.stats.lock().unwrap().conns += 1;
    });
    let router = Router::new().fallback(handle).with_state(app.clone());
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::select! {
        r = axum::serve(listener, router) => r?,
        _ = term.recv() => {}
        _ = int.recv() => {}
        _ = tokio::time::sleep(Duration::from_secs_f64(args.max_seconds)) => {}
    }
    if let Some(sf) = &args.stats_file {
        let snap = app.stats.lock().unwrap().snapshot();
        std::fs::write(sf, pretty(&snap))?;
    }
    std::process::exit(0)
}
