//! A webhook receiver for tests: an axum server on 127.0.0.1 that records
//! every POST and answers with a status the test chooses.
//!
//! ```ignore
//! #[path = "common/webhook.rs"] mod webhook;
//! let hook = webhook::HookServer::start();
//! // registry: [webhook] url = hook.url("/hook")
//! let posts = hook.wait_for_posts(1, Duration::from_secs(10));
//! let body = posts[0].json();
//! ```
#![allow(dead_code)]

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One recorded request.
#[derive(Clone, Debug)]
pub struct Posted {
    pub method: String,
    pub path: String,
    pub content_type: Option<String>,
    pub user_agent: Option<String>,
    pub body: Vec<u8>,
}

impl Posted {
    /// The body parsed as JSON (panics when it is not JSON: a test failure).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("webhook body is JSON")
    }
}

struct Inner {
    posts: Vec<Posted>,
    status: u16,
    delay: Duration,
}

/// A running receiver; stops on drop.
pub struct HookServer {
    pub addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl HookServer {
    /// Start answering 200 to everything.
    pub fn start() -> HookServer {
        let inner = Arc::new(Mutex::new(Inner {
            posts: Vec::new(),
            status: 200,
            delay: Duration::ZERO,
        }));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let state = inner.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("test webhook runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind webhook");
                addr_tx
                    .send(listener.local_addr().expect("webhook addr"))
                    .expect("send webhook addr");
                let app = Router::new().fallback(receive).with_state(state);
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = rx.await;
                    })
                    .await;
            });
        });
        let addr = addr_rx.recv().expect("webhook server started");
        HookServer {
            addr,
            inner,
            stop: Some(tx),
            thread: Some(thread),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Answer this status from now on (with a short text body).
    pub fn set_status(&self, status: u16) {
        self.inner.lock().unwrap().status = status;
    }

    /// Wait this long before answering.
    pub fn set_delay(&self, delay: Duration) {
        self.inner.lock().unwrap().delay = delay;
    }

    pub fn posts(&self) -> Vec<Posted> {
        self.inner.lock().unwrap().posts.clone()
    }

    pub fn wait_for_posts(&self, n: usize, timeout: Duration) -> Vec<Posted> {
        let until = Instant::now() + timeout;
        loop {
            let p = self.posts();
            if p.len() >= n || Instant::now() >= until {
                return p;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for HookServer {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn receive(
    State(inner): State<Arc<Mutex<Inner>>>,
    method: axum::http::Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let get = |h: header::HeaderName| {
        headers
            .get(h)
            .and_then(|v| v.to_str().ok())
            .map(String::from)
    };
    let (status, delay) = {
        let mut g = inner.lock().unwrap();
        g.posts.push(Posted {
            method: method.to_string(),
            path: uri.path().to_string(),
            content_type: get(header::CONTENT_TYPE),
            user_agent: get(header::USER_AGENT),
            body: body.to_vec(),
        });
        (g.status, g.delay)
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let text = if status.is_success() {
        "ok"
    } else {
        "receiver says no"
    };
    (status, text).into_response()
}
