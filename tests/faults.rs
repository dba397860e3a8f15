//! The fault suite: hostile pages, SMTP faults and kill -9 of a busy daemon.
//! Everything is bounded in time and talks only to servers on 127.0.0.1.

mod common;
use common::smtp::{Mode, SmtpServer};
use common::*;
use serde_json::Value;
use std::collections::HashMap;
use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A raw TCP server that misbehaves per path, written byte by byte.
struct Hostile {
    addr: std::net::SocketAddr,
    _thread: std::thread::JoinHandle<()>,
}

const GOOD: &str =
    "<html><body><main><p>Good Page is generally available.</p></main></body></html>";

fn gzip_bomb() -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![b' '; 1 << 20];
    for _ in 0..200 {
        enc.write_all(&zeros).unwrap();
    }
    enc.finish().unwrap()
}

impl Hostile {
    fn start() -> Hostile {
        let (tx, rx) = std::sync::mpsc::channel();
        let bomb = gzip_bomb();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx.send(listener.local_addr().unwrap()).unwrap();
                let hits: std::sync::Arc<std::sync::Mutex<HashMap<String, u32>>> =
                    Default::default();
                loop {
                    let Ok((mut sock, _)) = listener.accept().await else {
                        break;
                    };
                    let bomb = bomb.clone();
                    let hits = hits.clone();
                    tokio::spawn(async move {
                        let mut buf = vec![0u8; 8192];
                        let mut req = Vec::new();
                        while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                            match sock.read(&mut buf).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => req.extend_from_slice(&buf[..n]),
                            }
                        }
                        let line = String::from_utf8_lossy(&req);
                        let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
                        let n = {
                            let mut h = hits.lock().unwrap();
                            let e = h.entry(path.clone()).or_insert(0);
                            *e += 1;
                            *e
                        };
                        respond(&mut sock, &path, n, &bomb).await;
                    });
                }
            });
        });
        Hostile {
            addr: rx.recv().unwrap(),
            _thread: thread,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
}

async fn head(sock: &mut tokio::net::TcpStream, status: &str, headers: &str) {
    let h = format!("HTTP/1.1 {status}\r\nConnection: close\r\n{headers}\r\n");
    let _ = sock.write_all(h.as_bytes()).await;
}

async fn respond(sock: &mut tokio::net::TcpStream, path: &str, hit: u32, bomb: &[u8]) {
    match path {
        "/good" => {
            head(
                sock,
                "200 OK",
                &format!(
                    "Content-Type: text/html\r\nContent-Length: {}\r\n",
                    GOOD.len()
                ),
            )
            .await;
            let _ = sock.write_all(GOOD.as_bytes()).await;
        }
        "/huge" => {
            // 50 MB announced and streamed.
            head(
                sock,
                "200 OK",
                "Content-Type: text/html\r\nContent-Length: 52428800\r\n",
            )
            .await;
            let chunk = vec![b'a'; 64 * 1024];
            for _ in 0..800 {
                if sock.write_all(&chunk).await.is_err() {
                    return;
                }
            }
        }
        "/bomb" => {
            head(
                sock,
                "200 OK",
                &format!(
                    "Content-Type: text/html\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n",
                    bomb.len()
                ),
            )
            .await;
            let _ = sock.write_all(bomb).await;
        }
        "/trickle" => {
            head(
                sock,
                "200 OK",
                "Content-Type: text/html\r\nContent-Length: 100000\r\n",
            )
            .await;
            for _ in 0..100 {
                if sock.write_all(b"<").await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        "/loop" => {
            head(
                sock,
                "302 Found",
                "Location: /loop2\r\nContent-Length: 0\r\n",
            )
            .await
        }
        "/loop2" => {
            head(
                sock,
                "302 Found",
                "Location: /loop\r\nContent-Length: 0\r\n",
            )
            .await
        }
        "/to-ftp" => {
            head(
                sock,
                "301 Moved Permanently",
                "Location: ftp://127.0.0.1/doc\r\nContent-Length: 0\r\n",
            )
            .await
        }
        "/binary" => {
            let body: Vec<u8> = (0..20_000u32)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
                .collect();
            head(
                sock,
                "200 OK",
                &format!(
                    "Content-Type: text/html\r\nContent-Length: {}\r\n",
                    body.len()
                ),
            )
            .await;
            let _ = sock.write_all(&body).await;
        }
        "/latin1" => {
            let body = b"<html><body><main><p>Caf\xe9 Reports is generally available.</p></main></body></html>";
            head(
                sock,
                "200 OK",
                &format!(
                    "Content-Type: text/html\r\nContent-Length: {}\r\n",
                    body.len()
                ),
            )
            .await;
            let _ = sock.write_all(body).await;
        }
        "/busy" if hit == 1 => {
            head(
                sock,
                "429 Too Many Requests",
                "Retry-After: 1\r\nContent-Length: 0\r\n",
            )
            .await
        }
        "/busy" => {
            head(
                sock,
                "200 OK",
                &format!(
                    "Content-Type: text/html\r\nContent-Length: {}\r\n",
                    GOOD.len()
                ),
            )
            .await;
            let _ = sock.write_all(GOOD.as_bytes()).await;
        }
        "/reset" => {
            head(
                sock,
                "200 OK",
                "Content-Type: text/html\r\nContent-Length: 100000\r\n",
            )
            .await;
            let _ = sock.write_all(&[b'x'; 1000]).await;
            let _ = sock.flush().await;
            // Abort the connection with an RST when the socket is dropped.
            let _ = sock.set_zero_linger();
        }
        _ => head(sock, "404 Not Found", "Content-Length: 0\r\n").await,
    }
}

/// Run a command, returning its output and peak RSS in KiB (from wait4).
fn run_measured(mut cmd: Command) -> (std::process::Output, i64, Duration) {
    let start = Instant::now();
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    // Read the pipes on threads so the child never blocks on a full pipe.
    let mut child = child;
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let t1 = std::thread::spawn(move || {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut out, &mut v).unwrap();
        v
    });
    let t2 = std::thread::spawn(move || {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut err, &mut v).unwrap();
        v
    });
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our child; wait4 fills `status` and `usage`.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(r, pid);
    let elapsed = start.elapsed();
    let stdout = t1.join().unwrap();
    let stderr = t2.join().unwrap();
    use std::os::unix::process::ExitStatusExt;
    let output = std::process::Output {
        status: std::process::ExitStatus::from_raw(status),
        stdout,
        stderr,
    };
    (output, usage.ru_maxrss, elapsed)
}

#[test]
fn hostile_pages_are_outcomes_bounded_in_time_and_memory() {
    let h = Hostile::start();
    let cases = [
        ("good", "/good"),
        ("huge", "/huge"),
        ("bomb", "/bomb"),
        ("trickle", "/trickle"),
        ("loop", "/loop"),
        ("to-ftp", "/to-ftp"),
        ("binary", "/binary"),
        ("latin1", "/latin1"),
        ("busy", "/busy"),
        ("reset", "/reset"),
    ];
    let mut r = registry_head("timeout = \"3s\"\nper_host = 10");
    for (id, path) in cases {
        r += &capability(id, id, "{ stage = \"ga\" }", &h.url(path), "");
    }
    let p = Project::new(&r);
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("capwatch"));
    cmd.current_dir(p.path())
        .arg("--config")
        .arg(p.registry())
        .arg("check");
    let (out, max_rss_kib, elapsed) = run_measured(cmd);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        elapsed < Duration::from_secs(30),
        "the run took {elapsed:?}"
    );
    // A 50 MB body and a 200 MB gzip bomb never sit in memory.
    assert!(
        max_rss_kib < 120 * 1024,
        "peak RSS {} MiB",
        max_rss_kib / 1024
    );

    let outcome = |id: &str| {
        p.query_strings(&format!(
            "SELECT outcome || coalesce(':' || detail, '') FROM \"check\" WHERE source_id = '{id}'"
        ))
        .join(",")
    };
    assert_eq!(outcome("good"), "ok");
    assert!(
        outcome("huge").starts_with("too_large"),
        "{}",
        outcome("huge")
    );
    assert!(
        outcome("bomb").starts_with("too_large"),
        "{}",
        outcome("bomb")
    );
    assert_eq!(outcome("trickle"), "timeout");
    assert!(
        outcome("loop").starts_with("redirect:too many redirects"),
        "{}",
        outcome("loop")
    );
    assert!(
        outcome("to-ftp").starts_with("redirect:refused redirect to ftp"),
        "{}",
        outcome("to-ftp")
    );
    assert!(
        outcome("binary").starts_with("unreadable"),
        "{}",
        outcome("binary")
    );
    assert_eq!(outcome("latin1"), "ok");
    assert_eq!(outcome("busy"), "ok", "429 + Retry-After is retried");
    assert!(
        outcome("reset").starts_with("network"),
        "{}",
        outcome("reset")
    );
    // Only readable pages became snapshots.
    let stored = p.query_strings("SELECT source_id FROM snapshot ORDER BY source_id");
    assert_eq!(stored, vec!["busy", "good", "latin1"]);
    println!(
        "hostile pages: {elapsed:?}, peak RSS {} MiB",
        max_rss_kib / 1024
    );
}

/// One expired capability whose page says it is GA, and e-mail through
/// `mail`; the page server must live as long as the project is checked.
fn mail_project(mail: &SmtpServer, timeout: &str) -> (PageServer, Project) {
    let pages = PageServer::start();
    pages.html(
        "/c",
        &doc_page("Cap", "<p>Cap is generally available.</p>", ""),
    );
    let (smtp, url) = (mail.url(), pages.url("/c"));
    let today = jiff::Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .date();
    let validated = today.checked_sub(jiff::ToSpan::days(120)).unwrap();
    let registry = format!(
        "[settings]\ntimeout = \"{timeout}\"\n\n[email]\nsmtp = \"{smtp}\"\nfrom = \"capwatch@example.com\"\n\n\
         [[guide]]\nid = \"g\"\ntitle = \"Guide\"\nvalidated_on = \"{validated}\"\nowners = [\"owner@example.com\"]\n\n\
         [[capability]]\nid = \"c\"\nguide = \"g\"\nname = \"Cap\"\nclaim = {{ stage = \"ga\" }}\n  [[capability.source]]\n  url = \"{url}\"\n"
    );
    (pages, Project::new(&registry))
}

fn alert_states(p: &Project) -> Vec<(String, i64)> {
    let v: Value =
        serde_json::from_str(&stdout(&p.capwatch(&["alerts", "--json"]).success())).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["state"].as_str().unwrap().to_string(),
                a["attempts"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn backoff_passes(p: &Project) {
    let conn = rusqlite::Connection::open(p.db()).unwrap();
    conn.execute(
        "UPDATE delivery SET next_attempt_at = 0 WHERE state != 'sent'",
        [],
    )
    .unwrap();
}

#[test]
fn smtp_that_answers_4xx_then_2xx_delivers_once() {
    let mail = SmtpServer::start(Mode::tempfail_first(1));
    let (_pages, p) = mail_project(&mail, "5s");
    p.capwatch(&["check"]).success();
    assert_eq!(alert_states(&p), vec![("failed".to_string(), 1)]);
    backoff_passes(&p);
    p.capwatch(&["check"]).success();
    backoff_passes(&p);
    p.capwatch(&["check"]).success();
    assert_eq!(mail.messages().len(), 1);
    assert_eq!(alert_states(&p), vec![("sent".to_string(), 2)]);
}

#[test]
fn smtp_that_hangs_after_data_times_out_then_delivers_once() {
    let mail = SmtpServer::start(Mode::HangAfterData);
    let (_pages, p) = mail_project(&mail, "2s");
    let start = Instant::now();
    p.capwatch(&["check"]).success();
    assert!(
        start.elapsed() < Duration::from_secs(15),
        "a hung SMTP server must not hang the run"
    );
    assert_eq!(alert_states(&p), vec![("failed".to_string(), 1)]);
    mail.set_mode(Mode::Normal);
    backoff_passes(&p);
    p.capwatch(&["check"]).success();
    backoff_passes(&p);
    p.capwatch(&["check"]).success();
    assert_eq!(mail.messages().len(), 1);
    assert_eq!(alert_states(&p), vec![("sent".to_string(), 2)]);
}

#[test]
fn smtp_refusing_connections_keeps_alerts_until_it_is_back() {
    let mail = SmtpServer::start(Mode::Refuse);
    let (_pages, p) = mail_project(&mail, "5s");
    for _ in 0..3 {
        p.capwatch(&["check"]).success();
        backoff_passes(&p);
    }
    assert_eq!(alert_states(&p), vec![("failed".to_string(), 3)]);
    mail.set_mode(Mode::Normal);
    p.capwatch(&["check"]).success();
    assert_eq!(mail.wait_for_messages(1, Duration::from_secs(5)).len(), 1);
    assert_eq!(alert_states(&p), vec![("sent".to_string(), 4)]);
}

/// A pseudo-random sequence without a dependency (xorshift), seeded per run.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn kill_9_at_random_points_of_a_busy_daemon_loses_nothing() {
    let mail = SmtpServer::start(Mode::Normal);
    let pages = PageServer::start();
    let today = jiff::Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .date();
    let mut r = format!(
        "[settings]\ntimeout = \"3s\"\nper_host = 8\nrenotify = \"1d\"\n\n[email]\nsmtp = \"{}\"\nfrom = \"capwatch@example.com\"\n\n\
         [[guide]]\nid = \"g\"\ntitle = \"Guide\"\nvalidated_on = \"{}\"\nowners = [\"owner@example.com\"]\n\n",
        mail.url(),
        today.checked_sub(jiff::ToSpan::days(3)).unwrap()
    );
    for i in 0..8 {
        pages.html(
            &format!("/p{i}"),
            &doc_page(
                &format!("Feature {i}"),
                &format!("<p>Feature {i} is in beta.</p><p>v0</p>"),
                "",
            ),
        );
        r += &capability(
            &format!("c{i}"),
            &format!("Feature {i}"),
            "{ stage = \"beta\" }",
            &pages.url(&format!("/p{i}")),
            "  schedule = \"* * * * * *\"\n",
        );
    }
    let p = Project::new(&r);
    let seed = std::env::var("CAPWATCH_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    let mut rng = Rng(seed);
    let runs = 50;
    for run in 0..runs {
        // Keep the daemon busy: pages change, so snapshots, changes, observations and alerts are written.
        let i = rng.next() % 8;
        pages.html(
            &format!("/p{i}"),
            &doc_page(
                &format!("Feature {i}"),
                &format!("<p>Feature {i} is in beta.</p><p>v{run}</p>"),
                "",
            ),
        );
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("capwatch"))
            .current_dir(p.path())
            .arg("--config")
            .arg(p.registry())
            .arg("run")
            .arg("--evaluate-every")
            .arg("1s")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(150 + rng.next() % 1_200));
        child.kill().unwrap();
        child.wait().unwrap();
        let conn = rusqlite::Connection::open(p.db()).unwrap();
        let ok: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ok, "ok", "seed {seed}, run {run}");
    }
    // A clean run delivers whatever was left: nothing queued is lost.
    backoff_passes(&p);
    p.capwatch(&["check"]).success();
    let alerts: Value =
        serde_json::from_str(&stdout(&p.capwatch(&["alerts", "--json"]).success())).unwrap();
    let alerts = alerts.as_array().unwrap();
    assert!(
        alerts.len() >= 8,
        "seed {seed}: only {} alerts",
        alerts.len()
    );
    let undelivered: Vec<&Value> = alerts
        .iter()
        .filter(|a| matches!(a["state"].as_str(), Some("pending") | Some("failed")))
        .collect();
    assert!(undelivered.is_empty(), "seed {seed}: lost {undelivered:#?}");
    // Each delivered alert reached the owner. Delivery is at-least-once: a kill in
    // the instant between the SMTP server's "250 OK" and the database commit
    // resends that digest on the next start. Such a resend is the same message —
    // same Message-ID — so mail systems and readers recognise it; anything else
    // sent twice is a bug.
    let mut by_alert: HashMap<String, Vec<String>> = HashMap::new();
    for m in mail.messages() {
        let mid = m.header("Message-ID").unwrap_or_default();
        for id in m.header("X-Capwatch-Alerts").unwrap_or_default().split(',') {
            by_alert
                .entry(id.trim().to_string())
                .or_default()
                .push(mid.clone());
        }
    }
    let sent: Vec<String> = alerts
        .iter()
        .filter(|a| a["state"] == "sent")
        .map(|a| a["id"].to_string())
        .collect();
    for id in &sent {
        assert!(
            by_alert.contains_key(id),
            "seed {seed}: alert {id} marked sent but never received"
        );
    }
    let resent: Vec<(&String, &Vec<String>)> =
        by_alert.iter().filter(|(_, m)| m.len() > 1).collect();
    for (id, mids) in &resent {
        assert!(
            mids.iter().all(|m| m == &mids[0]),
            "seed {seed}: alert {id} sent in different messages: {mids:?}"
        );
    }
    // With TCP_NODELAY on the SMTP connection the window between the server
    // taking the message and the commit is about a millisecond: 0 resends in
    // 150 kills measured. Allow one, so a kill landing in it does not fail CI.
    assert!(
        resent.len() <= 1,
        "seed {seed}: {} alerts resent after kills: {resent:?}",
        resent.len()
    );
    println!(
        "{runs} kill -9 runs (seed {seed}): {} alerts delivered, none lost, {} identical resend(s)",
        sent.len(),
        resent.len()
    );
}
