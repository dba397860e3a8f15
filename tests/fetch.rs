//! The fetch stage against real servers on 127.0.0.1: axum for well-behaved
//! pages, a raw `TcpListener` where the server has to misbehave (trickle, reset,
//! stream forever). Every server is stopped through a channel when its handle drops.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, header};
use axum::response::Response;
use axum::routing::get;
use capwatch::fetch::{FetchSettings, Fetched, Fetcher, Validators, user_agent};
use capwatch::model::Outcome;
use std::future::Future;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use url::Url;

// ---------------------------------------------------------------- helpers

/// A server on 127.0.0.1:0, stopped when dropped.
struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
}

impl Server {
    fn url(&self, path: &str) -> Url {
        Url::parse(&format!("http://{}{path}", self.addr)).unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn serve(router: Router) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });
    Server {
        addr,
        stop: Some(stop),
    }
}

/// A raw TCP server: `handle` gets each connection after its request head was read.
async fn raw<F, Fut>(handle: F) -> Server
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, mut stopped) = oneshot::channel::<()>();
    let handle = Arc::new(handle);
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = &mut stopped => break,
                accepted = listener.accept() => {
                    let Ok((mut stream, _)) = accepted else { break };
                    let handle = handle.clone();
                    tokio::spawn(async move {
                        read_request_head(&mut stream).await;
                        handle(stream).await;
                    });
                }
            }
        }
    });
    Server {
        addr,
        stop: Some(stop),
    }
}

async fn read_request_head(stream: &mut TcpStream) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
}

fn settings() -> FetchSettings {
    FetchSettings {
        timeout: Duration::from_secs(5),
        max_bytes: 1 << 20,
        concurrency: 16,
        per_host: 4,
        max_redirects: 5,
        retries: 2,
        backoff_base: Duration::from_millis(10),
        backoff_cap: Duration::from_secs(2),
    }
}

fn fetcher(settings: FetchSettings) -> Fetcher {
    Fetcher::new(settings).unwrap()
}

async fn get_url(settings: FetchSettings, url: &Url) -> Fetched {
    fetcher(settings).fetch(url, &Validators::default()).await
}

fn response(status: u16, headers: &[(&str, &str)], body: impl Into<Body>) -> Response {
    let mut builder = Response::builder().status(status);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(body.into()).unwrap()
}

fn header(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers.get(name).map(|v| v.to_str().unwrap().to_string())
}

/// Counts requests; the handler decides from the 1-based request number.
fn counted<F>(hits: Arc<AtomicUsize>, f: F) -> axum::routing::MethodRouter
where
    F: Fn(usize, HeaderMap) -> Response + Clone + Send + Sync + 'static,
{
    get(move |headers: HeaderMap| async move {
        let n = hits.fetch_add(1, Ordering::SeqCst) + 1;
        f(n, headers)
    })
}

// ---------------------------------------------------------------- conditional GET

#[tokio::test]
async fn etag_then_304_when_if_none_match_matches() {
    let seen: Arc<Mutex<Vec<Option<String>>>> = Arc::default();
    let seen2 = seen.clone();
    let server = serve(Router::new().route(
        "/page",
        get(move |headers: HeaderMap| async move {
            let inm = header(&headers, header::IF_NONE_MATCH);
            seen2.lock().unwrap().push(inm.clone());
            if inm.as_deref() == Some("\"v1\"") {
                response(304, &[("etag", "\"v1\"")], Body::empty())
            } else {
                response(
                    200,
                    &[
                        ("etag", "\"v1\""),
                        ("content-type", "text/html; charset=utf-8"),
                    ],
                    "<main>Ads Agent is in beta.</main>",
                )
            }
        }),
    ))
    .await;
    let f = fetcher(settings());
    let url = server.url("/page");

    let first = f.fetch(&url, &Validators::default()).await;
    assert_eq!(first.outcome, Outcome::Ok);
    assert_eq!(first.http_status, Some(200));
    assert_eq!(
        first.body.as_deref(),
        Some(&b"<main>Ads Agent is in beta.</main>"[..])
    );
    assert_eq!(
        first.content_type.as_deref(),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(first.validators.etag.as_deref(), Some("\"v1\""));
    assert_eq!(first.attempts, 1);
    assert_eq!(first.final_url, url.as_str());

    let second = f.fetch(&url, &first.validators).await;
    assert_eq!(second.outcome, Outcome::NotModified);
    assert_eq!(second.http_status, Some(304));
    assert!(second.body.is_none());
    assert_eq!(second.validators, Validators::default());
    assert_eq!(
        *seen.lock().unwrap(),
        vec![None, Some("\"v1\"".to_string())],
        "the server must receive If-None-Match on the second request"
    );
}

#[tokio::test]
async fn last_modified_then_304_when_if_modified_since_matches() {
    const LM: &str = "Sat, 06 Jun 2026 10:00:00 GMT";
    let seen: Arc<Mutex<Vec<Option<String>>>> = Arc::default();
    let seen2 = seen.clone();
    let server = serve(Router::new().route(
        "/page",
        get(move |headers: HeaderMap| async move {
            let ims = header(&headers, header::IF_MODIFIED_SINCE);
            seen2.lock().unwrap().push(ims.clone());
            if ims.as_deref() == Some(LM) {
                response(304, &[], Body::empty())
            } else {
                response(200, &[("last-modified", LM)], "hello")
            }
        }),
    ))
    .await;
    let f = fetcher(settings());
    let url = server.url("/page");

    let first = f.fetch(&url, &Validators::default()).await;
    assert_eq!(first.outcome, Outcome::Ok);
    assert_eq!(first.validators.last_modified.as_deref(), Some(LM));
    assert_eq!(first.validators.etag, None);

    let second = f.fetch(&url, &first.validators).await;
    assert_eq!(second.outcome, Outcome::NotModified);
    assert!(second.body.is_none());
    assert_eq!(*seen.lock().unwrap(), vec![None, Some(LM.to_string())]);
}

// ---------------------------------------------------------------- encodings

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

fn brotli(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
        enc.write_all(data).unwrap();
    }
    out
}

/// Serves `body` with `Content-Encoding: encoding` when the client accepts it.
async fn encoded_server(encoding: &'static str, body: Vec<u8>) -> Server {
    serve(Router::new().route(
        "/page",
        get(move |headers: HeaderMap| async move {
            let accept = header(&headers, header::ACCEPT_ENCODING).unwrap_or_default();
            if !accept.contains(encoding) {
                return response(406, &[], format!("accept-encoding was `{accept}`"));
            }
            response(
                200,
                &[
                    ("content-encoding", encoding),
                    ("content-type", "text/html"),
                ],
                body,
            )
        }),
    ))
    .await
}

#[tokio::test]
async fn gzip_body_is_decoded() {
    let page = "<main>Clean Rooms is generally available.</main>".repeat(50);
    let server = encoded_server("gzip", gzip(page.as_bytes())).await;
    let got = get_url(settings(), &server.url("/page")).await;
    assert_eq!(got.outcome, Outcome::Ok);
    assert_eq!(got.body.as_deref(), Some(page.as_bytes()));
}

#[tokio::test]
async fn brotli_body_is_decoded() {
    let page = "<main>Ads Agent is in closed beta.</main>".repeat(50);
    let server = encoded_server("br", brotli(page.as_bytes())).await;
    let got = get_url(settings(), &server.url("/page")).await;
    assert_eq!(got.outcome, Outcome::Ok);
    assert_eq!(got.body.as_deref(), Some(page.as_bytes()));
}

#[tokio::test]
async fn gzip_bomb_stops_at_the_cap() {
    // 8 MiB of zeros compress to a few KiB; the cap is 1 MiB of decoded bytes.
    let bomb = gzip(&vec![0u8; 8 << 20]);
    assert!(bomb.len() < 64 << 10, "bomb is {} bytes", bomb.len());
    let server = encoded_server("gzip", bomb).await;
    let got = get_url(settings(), &server.url("/page")).await;
    assert_eq!(got.outcome, Outcome::TooLarge(1 << 20));
    assert!(got.body.is_none());
    assert_eq!(got.attempts, 1, "too large is not retried");
}

#[tokio::test]
async fn corrupt_gzip_is_unreadable() {
    let server = encoded_server("gzip", b"this is not gzip at all".to_vec()).await;
    let got = get_url(settings(), &server.url("/page")).await;
    assert!(
        matches!(got.outcome, Outcome::Unreadable(_)),
        "{:?}",
        got.outcome
    );
    assert!(got.body.is_none());
}

// ---------------------------------------------------------------- statuses and retries

#[tokio::test]
async fn not_found_is_http_404_without_body_or_retry() {
    let hits = Arc::new(AtomicUsize::new(0));
    let server = serve(Router::new().route(
        "/gone",
        counted(hits.clone(), |_, _| {
            response(404, &[], "<h1>Not Found</h1> error page")
        }),
    ))
    .await;
    let got = get_url(settings(), &server.url("/gone")).await;
    assert_eq!(got.outcome, Outcome::Http(404));
    assert_eq!(got.http_status, Some(404));
    assert!(got.body.is_none(), "an error page is never content");
    assert_eq!(got.attempts, 1);
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn server_error_then_ok_after_one_retry() {
    let hits = Arc::new(AtomicUsize::new(0));
    let server = serve(Router::new().route(
        "/flaky",
        counted(hits.clone(), |n, _| {
            if n == 1 {
                response(500, &[], "oops")
            } else {
                response(200, &[], "fine")
            }
        }),
    ))
    .await;
    let got = get_url(settings(), &server.url("/flaky")).await;
    assert_eq!(got.outcome, Outcome::Ok);
    assert_eq!(got.body.as_deref(), Some(&b"fine"[..]));
    assert_eq!(got.attempts, 2);
    assert_eq!(hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn persistent_server_error_gives_up_after_retries() {
    let hits = Arc::new(AtomicUsize::new(0));
    let server = serve(Router::new().route(
        "/down",
        counted(hits.clone(), |_, _| response(503, &[], "down")),
    ))
    .await;
    let got = get_url(settings(), &server.url("/down")).await;
    assert_eq!(got.outcome, Outcome::Http(503));
    assert!(got.body.is_none());
    assert_eq!(got.attempts, 3, "1 attempt + 2 retries");
    assert_eq!(hits.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn too_many_requests_honours_retry_after() {
    let times: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let times2 = times.clone();
    let hits = Arc::new(AtomicUsize::new(0));
    let server = serve(Router::new().route(
        "/limited",
        counted(hits.clone(), move |n, _| {
            times2.lock().unwrap().push(Instant::now());
            if n == 1 {
                response(429, &[("retry-after", "1")], "slow down")
            } else {
                response(200, &[], "ok")
            }
        }),
    ))
    .await;
    let got = get_url(settings(), &server.url("/limited")).await;
    assert_eq!(got.outcome, Outcome::Ok);
    assert_eq!(got.attempts, 2);
    let times = times.lock().unwrap();
    let waited = times[1] - times[0];
    assert!(
        waited >= Duration::from_millis(950) && waited < Duration::from_millis(2500),
        "waited {waited:?}; Retry-After said 1 s (backoff_base is 10 ms)"
    );
}

#[tokio::test]
async fn retry_after_is_capped_at_backoff_cap() {
    let hits = Arc::new(AtomicUsize::new(0));
    let server = serve(Router::new().route(
        "/limited",
        counted(hits.clone(), |n, _| {
            if n == 1 {
                response(503, &[("retry-after", "3600")], "later")
            } else {
                response(200, &[], "ok")
            }
        }),
    ))
    .await;
    let got = get_url(
        FetchSettings {
            backoff_cap: Duration::from_millis(200),
            ..settings()
        },
        &server.url("/limited"),
    )
    .await;
    assert_eq!(got.outcome, Outcome::Ok);
    assert_eq!(got.attempts, 2);
    assert!(got.elapsed < Duration::from_secs(2), "{:?}", got.elapsed);
}

#[tokio::test]
async fn connection_refused_is_network_after_quick_retries() {
    let addr = {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap()
    }; // dropped: nothing listens there now
    let url = Url::parse(&format!("http://{addr}/page")).unwrap();
    let got = get_url(settings(), &url).await;
    match &got.outcome {
        Outcome::Network(msg) => assert!(msg.contains("connect"), "{msg}"),
        other => panic!("expected Network, got {other:?}"),
    }
    assert_eq!(got.http_status, None);
    assert_eq!(got.attempts, 3);
    assert!(got.elapsed < Duration::from_secs(2), "{:?}", got.elapsed);
}

#[tokio::test]
async fn user_agent_is_sent() {
    let seen: Arc<Mutex<Option<String>>> = Arc::default();
    let seen2 = seen.clone();
    let server = serve(Router::new().route(
        "/",
        get(move |headers: HeaderMap| async move {
            *seen2.lock().unwrap() = header(&headers, header::USER_AGENT);
            "ok"
        }),
    ))
    .await;
    let got = get_url(settings(), &server.url("/")).await;
    assert_eq!(got.outcome, Outcome::Ok);
    assert_eq!(seen.lock().unwrap().as_deref(), Some(user_agent().as_str()));
    assert!(user_agent().starts_with(concat!("capwatch/", env!("CARGO_PKG_VERSION"))));
}

// ---------------------------------------------------------------- timeouts and sizes

#[tokio::test]
async fn trickling_body_ends_at_the_timeout() {
    let server = raw(|mut stream| async move {
        let head = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100\r\n\r\n";
        if stream.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        for _ in 0..100 {
            if stream.write_all(b"x").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    })
    .await;
    let started = Instant::now();
    let got = get_url(
        FetchSettings {
            timeout: Duration::from_millis(1500),
            retries: 0,
            ..settings()
        },
        &server.url("/slow"),
    )
    .await;
    assert_eq!(got.outcome, Outcome::Timeout);
    assert!(got.body.is_none());
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(1400) && took < Duration::from_millis(3000),
        "took {took:?}"
    );
}

#[tokio::test]
async fn content_length_over_the_cap_is_too_large() {
    let server = serve(Router::new().route(
        "/big",
        get(|| async { response(200, &[], vec![b'a'; 2 << 20]) }),
    ))
    .await;
    let got = get_url(settings(), &server.url("/big")).await;
    assert_eq!(got.outcome, Outcome::TooLarge(1 << 20));
    assert_eq!(got.http_status, Some(200));
    assert!(got.body.is_none());
    assert_eq!(got.attempts, 1);
}

#[tokio::test]
async fn body_exactly_at_the_cap_is_accepted() {
    let server = serve(Router::new().route(
        "/edge",
        get(|| async { response(200, &[], vec![b'a'; 1 << 20]) }),
    ))
    .await;
    let got = get_url(settings(), &server.url("/edge")).await;
    assert_eq!(got.outcome, Outcome::Ok);
    assert_eq!(got.body.map(|b| b.len()), Some(1 << 20));
}

#[tokio::test]
async fn endless_chunked_body_is_cut_off_at_the_cap() {
    let (sent_tx, mut sent_rx) = mpsc::unbounded_channel::<usize>();
    let server = raw(move |mut stream| {
        let sent_tx = sent_tx.clone();
        async move {
            let head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
            let mut sent = 0usize;
            if stream.write_all(head.as_bytes()).await.is_ok() {
                let chunk = vec![b'z'; 64 << 10];
                // Bounded: stop at 256 MiB even if nobody hangs up.
                while sent < 256 << 20 {
                    let framed =
                        [format!("{:x}\r\n", chunk.len()).as_bytes(), &chunk, b"\r\n"].concat();
                    if stream.write_all(&framed).await.is_err() {
                        break;
                    }
                    sent += chunk.len();
                }
            }
            let _ = sent_tx.send(sent);
        }
    })
    .await;
    let got = get_url(settings(), &server.url("/endless")).await;
    assert_eq!(got.outcome, Outcome::TooLarge(1 << 20));
    assert!(got.body.is_none());
    let sent = tokio::time::timeout(Duration::from_secs(5), sent_rx.recv())
        .await
        .expect("the server should see the client hang up")
        .unwrap();
    assert!(
        sent < 32 << 20,
        "the client kept reading: the server sent {sent} bytes for a 1 MiB cap"
    );
}

// ---------------------------------------------------------------- broken connections

#[tokio::test]
async fn connection_reset_mid_body_is_network() {
    let server = raw(|mut stream| async move {
        let head = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n";
        let _ = stream.write_all(head.as_bytes()).await;
        let _ = stream.write_all(&[b'a'; 100]).await;
        let _ = stream.flush().await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        // SO_LINGER 0: closing sends RST instead of FIN.
        let _ = stream.set_zero_linger();
        drop(stream);
    })
    .await;
    let got = get_url(settings(), &server.url("/reset")).await;
    assert!(
        matches!(got.outcome, Outcome::Network(_)),
        "{:?}",
        got.outcome
    );
    assert!(got.body.is_none());
    assert_eq!(got.http_status, Some(200));
}

#[tokio::test]
async fn body_closed_early_is_network() {
    let server = raw(|mut stream| async move {
        let head = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n";
        let _ = stream.write_all(head.as_bytes()).await;
        let _ = stream.write_all(&[b'a'; 100]).await;
        let _ = stream.shutdown().await;
    })
    .await;
    let got = get_url(settings(), &server.url("/short")).await;
    assert!(
        matches!(got.outcome, Outcome::Network(_)),
        "{:?}",
        got.outcome
    );
    assert!(got.body.is_none());
}

// ---------------------------------------------------------------- redirects

fn redirect(to: &str) -> Response {
    response(302, &[("location", to)], Body::empty())
}

#[tokio::test]
async fn redirect_is_followed_to_the_final_url() {
    let server = serve(
        Router::new()
            .route("/old", get(|| async { redirect("/new") }))
            .route("/new", get(|| async { "moved here" })),
    )
    .await;
    let got = get_url(settings(), &server.url("/old")).await;
    assert_eq!(got.outcome, Outcome::Ok);
    assert_eq!(got.body.as_deref(), Some(&b"moved here"[..]));
    assert_eq!(got.final_url, server.url("/new").as_str());
}

#[tokio::test]
async fn redirect_loop_is_refused() {
    let server = serve(
        Router::new()
            .route("/a", get(|| async { redirect("/b") }))
            .route("/b", get(|| async { redirect("/a") })),
    )
    .await;
    let got = get_url(settings(), &server.url("/a")).await;
    match &got.outcome {
        Outcome::Redirect(msg) => assert!(msg.starts_with("too many redirects ("), "{msg}"),
        other => panic!("expected Redirect, got {other:?}"),
    }
    assert!(got.body.is_none());
    assert_eq!(got.attempts, 1, "redirect trouble is not retried");
}

#[tokio::test]
async fn redirect_chain_longer_than_the_limit_is_refused() {
    let server = serve(Router::new().route(
        "/r/{n}",
        get(
            |axum::extract::Path(n): axum::extract::Path<u32>| async move {
                redirect(&format!("/r/{}", n + 1))
            },
        ),
    ))
    .await;
    let got = get_url(
        FetchSettings {
            max_redirects: 3,
            ..settings()
        },
        &server.url("/r/0"),
    )
    .await;
    match &got.outcome {
        Outcome::Redirect(msg) => assert!(msg.starts_with("too many redirects (4)"), "{msg}"),
        other => panic!("expected Redirect, got {other:?}"),
    }
}

#[tokio::test]
async fn redirect_to_other_schemes_is_refused() {
    let server = serve(
        Router::new()
            .route("/ftp", get(|| async { redirect("ftp://example.com/file") }))
            .route("/file", get(|| async { redirect("file:///etc/passwd") })),
    )
    .await;
    for (path, scheme) in [("/ftp", "ftp"), ("/file", "file")] {
        let got = get_url(settings(), &server.url(path)).await;
        match &got.outcome {
            Outcome::Redirect(msg) => assert!(
                msg.starts_with(&format!("refused redirect to {scheme}:")),
                "{msg}"
            ),
            other => panic!("expected Redirect, got {other:?}"),
        }
        assert!(got.body.is_none());
    }
}

// ---------------------------------------------------------------- concurrency

/// Records the highest number of requests in flight at once.
#[derive(Default)]
struct InFlight {
    now: AtomicUsize,
    max: AtomicUsize,
}

fn slow_page(gauge: Arc<InFlight>) -> axum::routing::MethodRouter {
    get(move || async move {
        let now = gauge.now.fetch_add(1, Ordering::SeqCst) + 1;
        gauge.max.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(150)).await;
        gauge.now.fetch_sub(1, Ordering::SeqCst);
        "ok"
    })
}

#[tokio::test]
async fn per_host_limit_caps_requests_in_flight() {
    let gauge = Arc::new(InFlight::default());
    let server = serve(Router::new().route("/p", slow_page(gauge.clone()))).await;
    let f = fetcher(FetchSettings {
        concurrency: 10,
        per_host: 2,
        ..settings()
    });
    let url = server.url("/p");
    let none = Validators::default();
    let results = futures_util::future::join_all((0..10).map(|_| f.fetch(&url, &none))).await;
    assert!(results.iter().all(|r| r.outcome == Outcome::Ok));
    let max = gauge.max.load(Ordering::SeqCst);
    assert!(max <= 2, "per_host is 2 but {max} were in flight");
    assert!(
        max > 1,
        "fetches should run concurrently (max in flight {max})"
    );
}

#[tokio::test]
async fn global_limit_caps_requests_across_hosts() {
    let gauge = Arc::new(InFlight::default());
    let a = serve(Router::new().route("/p", slow_page(gauge.clone()))).await;
    let b = serve(Router::new().route("/p", slow_page(gauge.clone()))).await;
    let f = fetcher(FetchSettings {
        concurrency: 3,
        per_host: 10,
        ..settings()
    });
    let urls: Vec<Url> = (0..10)
        .map(|i| if i % 2 == 0 { a.url("/p") } else { b.url("/p") })
        .collect();
    let none = Validators::default();
    let results = futures_util::future::join_all(urls.iter().map(|u| f.fetch(u, &none))).await;
    assert!(results.iter().all(|r| r.outcome == Outcome::Ok));
    let max = gauge.max.load(Ordering::SeqCst);
    assert!(max <= 3, "concurrency is 3 but {max} were in flight");
    assert!(
        max > 1,
        "fetches should run concurrently (max in flight {max})"
    );
}

#[tokio::test]
async fn host_permit_is_released_during_backoff() {
    let hits = Arc::new(AtomicUsize::new(0));
    let server = serve(
        Router::new()
            .route(
                "/busy",
                counted(hits.clone(), |n, _| {
                    if n == 1 {
                        response(503, &[("retry-after", "1")], "busy")
                    } else {
                        response(200, &[], "ok")
                    }
                }),
            )
            .route("/quick", get(|| async { "quick" })),
    )
    .await;
    let f = fetcher(FetchSettings {
        per_host: 1,
        ..settings()
    });
    let busy_url = server.url("/busy");
    let none = Validators::default();
    let busy = f.fetch(&busy_url, &none);
    let quick = async {
        // Start once the first fetch is sleeping before its retry.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let started = Instant::now();
        let got = f.fetch(&server.url("/quick"), &none).await;
        (got, started.elapsed())
    };
    let (busy, (quick, quick_took)) = tokio::join!(busy, quick);
    assert_eq!(busy.outcome, Outcome::Ok);
    assert_eq!(busy.attempts, 2);
    assert_eq!(quick.outcome, Outcome::Ok);
    assert!(
        quick_took < Duration::from_millis(800),
        "the only per-host permit was held during backoff: quick fetch took {quick_took:?}"
    );
}

// ---------------------------------------------------------------- file: URLs

#[tokio::test]
async fn file_url_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("guide.md");
    std::fs::write(&path, "# Guide\n\nLast validated: June 6, 2026.\n").unwrap();
    let url = Url::from_file_path(&path).unwrap();
    let got = get_url(settings(), &url).await;
    assert_eq!(got.outcome, Outcome::Ok);
    assert_eq!(
        got.body.as_deref(),
        Some(&b"# Guide\n\nLast validated: June 6, 2026.\n"[..])
    );
    assert_eq!(got.content_type, None);
    assert_eq!(got.http_status, None);
    assert_eq!(got.attempts, 1);

    // The same file through a hand-written file:/// URL.
    let written = Url::parse(&format!("file://{}", path.display())).unwrap();
    assert_eq!(get_url(settings(), &written).await.outcome, Outcome::Ok);
}

#[tokio::test]
async fn file_url_over_the_cap_is_too_large() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.html");
    std::fs::write(&path, vec![b'a'; (1 << 20) + 1]).unwrap();
    let got = get_url(settings(), &Url::from_file_path(&path).unwrap()).await;
    assert_eq!(got.outcome, Outcome::TooLarge(1 << 20));
    assert!(got.body.is_none());
}

#[tokio::test]
async fn missing_file_is_network_file_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.html");
    let got = get_url(settings(), &Url::from_file_path(&path).unwrap()).await;
    assert_eq!(
        got.outcome,
        Outcome::Network(format!("file not found: {}", path.display()))
    );
    assert!(got.body.is_none());
}

#[tokio::test]
async fn directory_is_not_a_page() {
    let dir = tempfile::tempdir().unwrap();
    let got = get_url(settings(), &Url::from_file_path(dir.path()).unwrap()).await;
    assert!(
        matches!(got.outcome, Outcome::Network(ref m) if m.contains("not a regular file")),
        "{:?}",
        got.outcome
    );
}
