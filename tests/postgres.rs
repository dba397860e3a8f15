//! The PostgreSQL store, against a real server each test starts itself
//! (`common::pg`): the same behaviour as SQLite from one test body, several
//! daemons sharing one database, a daemon killed with SIGKILL, the server
//! restarted under running daemons, and `migrate-store`.

mod common;
use common::pg::{PgServer, query_i64};
use common::smtp::{Mode, SmtpServer};
use common::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn json(a: &assert_cmd::assert::Assert) -> Value {
    serde_json::from_str(&stdout(a)).unwrap_or_else(|e| panic!("{e}: {}", stdout(a)))
}

fn with_db(p: &Project, db: &str, args: &[&str]) -> assert_cmd::assert::Assert {
    p.capwatch_env(&[("CAPWATCH_DB", db)], args)
}

/// A GET over a plain TCP connection: (status, body).
fn http_get(addr: &str, path: &str) -> (u16, String) {
    let (status, _, body) = http_get_link(addr, path);
    (status, body)
}

fn spawn(p: &Project, db: &str, args: &[&str]) -> Child {
    Command::new(assert_cmd::cargo::cargo_bin("capwatch"))
        .current_dir(p.path())
        .env("CAPWATCH_DB", db)
        .env("RUST_LOG", "info")
        .env_remove("CAPWATCH_API_TOKEN")
        .arg("--config")
        .arg(p.registry())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// A daemon whose log goes to `log` (read it with [`tail`]).
fn spawn_logged(p: &Project, db: &str, log: &str) -> Child {
    Command::new(assert_cmd::cargo::cargo_bin("capwatch"))
        .current_dir(p.path())
        .env("CAPWATCH_DB", db)
        .env("RUST_LOG", "info")
        .arg("--config")
        .arg(p.registry())
        .arg("run")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(p.path().join(log)).unwrap())
        .spawn()
        .unwrap()
}

/// The last lines of a daemon's log, for a failure message.
fn tail(p: &Project, log: &str) -> String {
    let text = std::fs::read_to_string(p.path().join(log)).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(25)..].join("\n")
}

fn wait_until(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

fn stop(child: &mut Child) {
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let _ = child.wait();
}

/// What a reviewer relies on, through the real binary: check, status,
/// history, diff, review, snooze, alerts over SMTP, and the HTTP surface.
/// Run once on an SQLite file and once on PostgreSQL, with the same
/// assertions.
fn whole_loop(db: &str) {
    let mail = SmtpServer::start(Mode::Normal);
    let server = PageServer::start();
    server.html(
        "/widget",
        &doc_page("Widget Studio", "<p>Widget Studio is in beta.</p>", ""),
    );
    let p = Project::new(&format!(
        "{}{}",
        registry_head(&format!(
            "timeout = \"3s\"\n[email]\nsmtp = \"{}\"\nfrom = \"capwatch <capwatch@example.com>\"",
            mail.url()
        )),
        capability(
            "widget",
            "Widget Studio",
            "{ stage = \"ga\" }",
            &server.url("/widget"),
            ""
        )
    ));
    let out = stdout(&with_db(&p, db, &["check"]));
    assert!(out.contains("sent 1 message(s)"), "{db}: {out}");
    let status = json(&with_db(&p, db, &["status", "--json"]).success());
    assert_eq!(status[0]["observed"]["stage"], "beta", "{db}: {status:#}");
    assert_eq!(status[0]["claim"]["stage"], "ga", "{db}");

    // A new version of the page: a change with its diff.
    server.html(
        "/widget",
        &doc_page(
            "Widget Studio",
            "<p>Widget Studio is generally available.</p>",
            "",
        ),
    );
    with_db(&p, db, &["check"]).success();
    let diff = stdout(&with_db(&p, db, &["diff", "widget"]).success());
    assert!(
        diff.contains("+Widget Studio is generally available."),
        "{db}: {diff}"
    );
    let status = json(&with_db(&p, db, &["status", "--json"]).success());
    assert_eq!(status[0]["observed"]["stage"], "ga", "{db}");

    with_db(
        &p,
        db,
        &["review", "widget", "--by", "Ana", "--note", "read it"],
    )
    .success();
    with_db(
        &p,
        db,
        &[
            "snooze",
            "widget",
            "--kind",
            "source_changed",
            "--until",
            "2099-01-01",
            "--reason",
            "later",
        ],
    );
    let history = json(&with_db(&p, db, &["history", "widget", "--json"]).success());
    let kinds: BTreeSet<String> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap_or_default().to_string())
        .collect();
    for k in ["change", "review", "claim"] {
        assert!(kinds.contains(k), "{db}: no {k} event in {kinds:?}");
    }
    let alerts = json(&with_db(&p, db, &["alerts", "--json"]).success());
    let drift = alerts
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "drift")
        .unwrap_or_else(|| panic!("{db}: {alerts:#}"));
    assert_eq!(drift["state"], "sent", "{db}");
    assert!(
        !mail.wait_for_messages(1, Duration::from_secs(5)).is_empty(),
        "{db}: the drift alert reached the mail server"
    );

    // The HTTP surface reads the same database.
    let mut serve = spawn(&p, db, &["serve", "--listen", "127.0.0.1:0"]);
    let mut lines = BufReader::new(serve.stdout.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().expect("serve prints its address").unwrap();
        if let Some(rest) = line.split("serving http://").nth(1) {
            break rest.split('/').next().unwrap().to_string();
        }
    };
    let (code, body) = http_get(&addr, "/healthz");
    assert_eq!((code, body.trim()), (200, "ok"), "{db}");
    let (code, body) = http_get(&addr, "/api/v1/capabilities/widget/history");
    assert_eq!(code, 200, "{db}: {body}");
    assert!(body.contains("\"review\""), "{db}: {body}");
    let (code, body) = http_get(&addr, "/metrics");
    assert_eq!(code, 200);
    assert!(
        body.contains("capwatch_checks_total{outcome=\"ok\"} 2"),
        "{db}: {body}"
    );
    stop(&mut serve);
}

#[test]
fn the_whole_loop_reads_the_same_on_sqlite_and_postgresql() {
    let dir = tempfile::tempdir().unwrap();
    whole_loop(dir.path().join("c.db").to_str().unwrap());
    let mut pg = PgServer::start();
    whole_loop(&pg.database());
}

/// `n` capabilities claimed GA whose pages say beta: each one drift alert.
/// Each page answers after `delay`.
fn many(
    server: &PageServer,
    mail: &SmtpServer,
    n: usize,
    settings: &str,
    delay: Duration,
) -> Project {
    let mut r = registry_head(&format!(
        "{settings}\n[email]\nsmtp = \"{}\"\nfrom = \"capwatch <capwatch@example.com>\"",
        mail.url()
    ));
    for i in 0..n {
        let path = format!("/p{i}");
        let name = format!("Gadget {i:03}");
        server.set(
            &path,
            doc_page(&name, &format!("<p>{name} is in beta.</p>"), "").as_bytes(),
            "text/html",
            Behavior::Slow(delay),
        );
        r.push_str(&capability(
            &format!("c{i:03}"),
            &name,
            "{ stage = \"ga\" }",
            &server.url(&path),
            "",
        ));
    }
    Project::new(&r)
}

/// Every sent delivery's Message-ID, and how many messages carried each.
fn message_ids(url: &str, mail: &SmtpServer) -> (BTreeSet<String>, BTreeMap<String, usize>) {
    let mut c = postgres::Client::connect(url, postgres::NoTls).unwrap();
    let recorded: BTreeSet<String> = c
        .query(
            "SELECT DISTINCT message_id FROM delivery WHERE message_id IS NOT NULL",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get::<_, String>(0).trim_matches(['<', '>']).to_string())
        .collect();
    let mut received = BTreeMap::new();
    for m in mail.messages() {
        let id = m.header("Message-ID").unwrap_or_default();
        *received
            .entry(id.trim().trim_matches(['<', '>']).to_string())
            .or_insert(0) += 1;
    }
    (recorded, received)
}

fn all_checked_and_sent(url: &str, n: i64) -> bool {
    query_i64(
        url,
        "SELECT count(DISTINCT source_id) FROM \"check\" WHERE source_id NOT LIKE 'guide:%'",
    ) == n
        && query_i64(url, "SELECT count(*) FROM alert WHERE kind = 'drift'") == n
        && query_i64(url, "SELECT count(*) FROM delivery WHERE state != 'sent'") == 0
}

fn assert_nothing_lost_or_doubled(url: &str, mail: &SmtpServer, n: i64) {
    // Every source checked once in this cycle (the schedule is hourly).
    let doubled = query_i64(
        url,
        "SELECT count(*) FROM (SELECT source_id FROM \"check\" GROUP BY source_id HAVING count(*) > 1) d",
    );
    assert_eq!(doubled, 0, "a source was checked twice in one slot");
    let drift = query_i64(url, "SELECT count(*) FROM alert WHERE kind = 'drift'");
    assert_eq!(drift, n, "one drift alert per capability");
    let (recorded, received) = message_ids(url, mail);
    let twice: Vec<_> = received.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "messages sent twice: {twice:?}");
    let received: BTreeSet<String> = received.into_keys().collect();
    assert_eq!(
        recorded, received,
        "every recorded delivery arrived, and nothing else"
    );
}

#[test]
fn two_daemons_split_the_work_and_survive_the_kill_of_either() {
    const N: usize = 500;
    let mut pg = PgServer::start();
    let url = pg.database();
    let mail = SmtpServer::start(Mode::Normal);
    let server = PageServer::start();
    let p = many(
        &server,
        &mail,
        N,
        "timeout = \"2s\"\nconcurrency = 8\nper_host = 8\nschedule = \"0 0 * * *\"",
        Duration::from_millis(30),
    );
    let mut a = spawn_logged(&p, &url, "a.log");
    let mut b = spawn_logged(&p, &url, "b.log");
    // Both work: each has leased sources before one dies.
    assert!(
        wait_until(Duration::from_secs(60), || {
            query_i64(
                &url,
                "SELECT count(DISTINCT lease_owner) FROM source WHERE lease_owner IS NOT NULL",
            ) >= 2
                || query_i64(&url, "SELECT count(*) FROM \"check\"") > 100
        }),
        "the daemons did not start checking"
    );
    assert!(wait_until(Duration::from_secs(60), || query_i64(
        &url,
        "SELECT count(*) FROM \"check\""
    ) >= 100));
    // SIGKILL mid-cycle: no chance to hand anything back.
    a.kill().unwrap();
    a.wait().unwrap();
    assert!(
        wait_until(Duration::from_secs(120), || all_checked_and_sent(
            &url, N as i64
        )),
        "after the kill: {} sources checked, {} drift alerts, {} deliveries not sent; the survivor's log:\n{}",
        query_i64(&url, "SELECT count(DISTINCT source_id) FROM \"check\""),
        query_i64(&url, "SELECT count(*) FROM alert WHERE kind = 'drift'"),
        query_i64(&url, "SELECT count(*) FROM delivery WHERE state != 'sent'"),
        tail(&p, "b.log")
    );
    assert_nothing_lost_or_doubled(&url, &mail, N as i64);
    let owners = query_i64(
        &url,
        "SELECT count(DISTINCT split_part(id, ':', 2)) FROM instance WHERE role = 'run'",
    );
    assert_eq!(owners, 2);
    stop(&mut b);
    let log = tail(&p, "b.log");
    assert!(log.contains("capwatch daemon stopped"), "{log}");
}

#[test]
fn daemons_ride_out_a_postgresql_restart() {
    const N: usize = 150;
    let mut pg = PgServer::start();
    let url = pg.database();
    let mail = SmtpServer::start(Mode::Normal);
    let server = PageServer::start();
    let p = many(
        &server,
        &mail,
        N,
        "timeout = \"2s\"\nconcurrency = 4\nper_host = 4\nschedule = \"0 0 * * *\"",
        Duration::from_millis(40),
    );
    let mut a = spawn_logged(&p, &url, "a.log");
    let mut b = spawn_logged(&p, &url, "b.log");
    assert!(wait_until(Duration::from_secs(60), || query_i64(
        &url,
        "SELECT count(*) FROM \"check\""
    ) >= 30));
    pg.restart();
    assert!(
        wait_until(Duration::from_secs(120), || all_checked_and_sent(
            &url, N as i64
        )),
        "after the restart: {} sources checked, {} deliveries not sent; logs:\n{}\n{}",
        query_i64(&url, "SELECT count(DISTINCT source_id) FROM \"check\""),
        query_i64(&url, "SELECT count(*) FROM delivery WHERE state != 'sent'"),
        tail(&p, "a.log"),
        tail(&p, "b.log")
    );
    assert_nothing_lost_or_doubled(&url, &mail, N as i64);
    for d in [&mut a, &mut b] {
        assert!(d.try_wait().unwrap().is_none(), "a daemon exited");
        stop(d);
    }
}

#[test]
fn an_instance_with_another_registry_says_so_and_checks_nothing() {
    let mut pg = PgServer::start();
    let url = pg.database();
    let mail = SmtpServer::start(Mode::Normal);
    let server = PageServer::start();
    let p = many(&server, &mail, 3, "timeout = \"2s\"", Duration::ZERO);
    let mut a = spawn(&p, &url, &["run", "--listen", "127.0.0.1:0"]);
    assert!(wait_until(Duration::from_secs(30), || query_i64(
        &url,
        "SELECT count(*) FROM \"check\""
    ) >= 3));
    // A second project: the same database, one more capability.
    let q = many(&server, &mail, 4, "timeout = \"2s\"", Duration::ZERO);
    let mut b = spawn(&q, &url, &["run", "--listen", "127.0.0.1:0"]);
    let mut err = BufReader::new(b.stderr.take().unwrap());
    let mut seen = String::new();
    let mut addr = None;
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        let mut line = String::new();
        if err.read_line(&mut line).unwrap() == 0 {
            break;
        }
        if let Some(rest) = line.split("addr=").nth(1) {
            addr = Some(
                rest.split_whitespace()
                    .next()
                    .unwrap()
                    .trim_matches('"')
                    .to_string(),
            );
        }
        seen.push_str(&line);
        if seen.contains("different sources.toml") && addr.is_some() {
            break;
        }
    }
    assert!(seen.contains("different sources.toml"), "{seen}");
    let (code, body) = http_get(addr.as_deref().unwrap(), "/healthz");
    assert_eq!(code, 503, "{body}");
    assert!(body.contains("registry mismatch"), "{body}");
    assert!(body.contains("registry"), "{body}");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        query_i64(&url, "SELECT count(*) FROM source WHERE id = 'c003'"),
        0,
        "the odd one out did not sync its registry"
    );
    // Given the same file and SIGHUP, it agrees and /healthz says so.
    std::fs::copy(p.registry(), q.registry()).unwrap();
    // SAFETY: signalling our own child.
    unsafe { libc::kill(b.id() as i32, libc::SIGHUP) };
    let addr = addr.unwrap();
    assert!(
        wait_until(Duration::from_secs(20), || http_get(&addr, "/healthz").0
            == 200),
        "{:?}",
        http_get(&addr, "/healthz")
    );
    assert_eq!(http_get(&addr, "/healthz").1.trim(), "ok");
    stop(&mut a);
    stop(&mut b);
}

#[test]
fn migrate_store_copies_everything_and_the_history_reads_the_same() {
    let mail = SmtpServer::start(Mode::Normal);
    let server = PageServer::start();
    let p = many(&server, &mail, 3, "timeout = \"3s\"", Duration::ZERO);
    p.capwatch(&["check"]).success();
    server.html(
        "/p1",
        &doc_page(
            "Gadget 001",
            "<p>Gadget 001 is generally available.</p>",
            "",
        ),
    );
    p.capwatch(&["check"]).success();
    p.capwatch(&["review", "c001", "--by", "Ana", "--note", "ok"])
        .success();
    p.capwatch(&[
        "snooze",
        "c002",
        "--kind",
        "drift",
        "--until",
        "2099-01-01",
        "--reason",
        "later",
    ]);

    let mut pg = PgServer::start();
    let url = pg.database();
    let out = stdout(&p.capwatch(&["migrate-store", "--to", &url]).success());
    assert!(out.contains("every count matches"), "{out}");
    assert!(out.contains("snapshot"), "{out}");
    for table in [
        "snapshot",
        "change",
        "\"check\"",
        "observation",
        "claim",
        "review",
        "alert",
        "delivery",
    ] {
        let sqlite = p.query_i64(&format!("SELECT count(*) FROM {table}"));
        assert!(sqlite > 0, "{table} is empty: the test must fill it");
        assert_eq!(
            query_i64(&url, &format!("SELECT count(*) FROM {table}")),
            sqlite,
            "{table}"
        );
    }
    let file = p.db();
    let file = file.to_str().unwrap();
    for args in [
        &["history", "c001", "--json"][..],
        &["history", "c002", "--json"][..],
        &["alerts", "--json"][..],
        &["diff", "c001"][..],
    ] {
        let a = stdout(&with_db(&p, file, args).success());
        let b = stdout(&with_db(&p, &url, args).success());
        assert_eq!(a, b, "{args:?} reads differently after the move");
    }
    // New rows get new ids after the copied ones.
    with_db(&p, &url, &["review", "c000", "--by", "Bo"]).success();
    assert_eq!(query_i64(&url, "SELECT count(DISTINCT id) FROM review"), 2);
    // A second copy into the same database is refused, and loses nothing.
    let again = p.capwatch(&["migrate-store", "--to", &url]).failure();
    assert!(
        stderr(&again).contains("already holds"),
        "{}",
        stderr(&again)
    );
    assert_eq!(query_i64(&url, "SELECT count(*) FROM review"), 2);
}

/// A GET that returns the status, the `Link` header and the body.
fn http_get_link(addr: &str, path: &str) -> (u16, Option<String>, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let out = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = out.split_once("\r\n\r\n").unwrap();
    let status = head[9..12].parse().unwrap();
    let link = head
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("link:"))
        .map(|l| l[5..].trim().to_string());
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let mut rest = body;
        let mut joined = String::new();
        loop {
            let (size, tail) = rest.split_once("\r\n").unwrap();
            let n = usize::from_str_radix(size.trim(), 16).unwrap();
            if n == 0 {
                break;
            }
            joined.push_str(&tail[..n]);
            rest = &tail[n + 2..];
        }
        joined
    } else {
        body.to_string()
    };
    (status, link, body)
}

/// Pages of a long timeline, followed by their `next` links, add up to the
/// whole timeline — failure runs that span a page boundary included — on
/// both backends.
fn paged_history(db: &str) {
    let server = PageServer::start();
    let mail = SmtpServer::start(Mode::Normal);
    let p = many(&server, &mail, 1, "timeout = \"3s\"", Duration::ZERO);
    with_db(&p, db, &["status"]).success();
    {
        use capwatch::model::Outcome;
        use capwatch::store::{CheckInput, Store};
        let mut store = Store::open(std::path::Path::new(db)).unwrap();
        let texts = [
            "Gadget 000 is in beta.",
            "Gadget 000 is generally available.",
        ];
        for i in 0..60i64 {
            let at = jiff::Timestamp::from_second(1_790_000_000 + i * 60).unwrap();
            // Runs of 1 to 4 identical failures between readings of two texts.
            let failing = i % 7 < (i % 5).min(4);
            let text = texts[(i / 7) as usize % 2];
            let hash = format!("h{}", (i / 7) % 2);
            store
                .record_check(&CheckInput {
                    source_id: "c000",
                    at,
                    outcome: if failing {
                        Outcome::Http(503)
                    } else {
                        Outcome::Ok
                    },
                    http_status: Some(if failing { 503 } else { 200 }),
                    duration_ms: 10,
                    content: (!failing).then_some((text, hash.as_str())),
                    title: None,
                    packed: None,
                    validators: None,
                })
                .unwrap();
        }
    }
    let whole = json(&with_db(&p, db, &["history", "c000", "--json"]).success());
    let whole = whole.as_array().unwrap().clone();
    assert!(whole.len() > 12, "{db}: {}", whole.len());
    assert!(
        whole
            .iter()
            .any(|e| e["kind"] == "check_failed" && e["count"].as_i64() > Some(1)),
        "{db}: the timeline must have runs of failures: {whole:#?}"
    );

    let mut serve = spawn(&p, db, &["serve", "--listen", "127.0.0.1:0"]);
    let mut lines = BufReader::new(serve.stdout.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().expect("serve prints its address").unwrap();
        if let Some(rest) = line.split("serving http://").nth(1) {
            break rest.split('/').next().unwrap().to_string();
        }
    };
    let mut paged = Vec::new();
    let mut path = "/api/v1/capabilities/c000/history?limit=3".to_string();
    let mut pages = 0;
    loop {
        let (code, link, body) = http_get_link(&addr, &path);
        assert_eq!(code, 200, "{db}: {body}");
        let page: Value = serde_json::from_str(&body).unwrap();
        let page = page.as_array().unwrap();
        assert!(page.len() <= 3);
        paged.extend(page.iter().cloned());
        pages += 1;
        match link {
            Some(l) => {
                path = l
                    .trim_start_matches('<')
                    .split('>')
                    .next()
                    .unwrap()
                    .to_string();
                assert!(l.ends_with("rel=\"next\""), "{l}");
            }
            None => break,
        }
        assert!(pages < 100, "{db}: the pages never end");
    }
    assert!(pages > 4, "{db}: {pages} pages");
    assert_eq!(paged, whole, "{db}: the pages add up to the whole timeline");
    let (code, _, body) = http_get_link(&addr, "/api/v1/capabilities/c000/history?cursor=nonsense");
    assert_eq!(code, 400, "{body}");
    stop(&mut serve);
}

#[test]
fn history_pages_follow_a_cursor_on_both_backends() {
    let dir = tempfile::tempdir().unwrap();
    paged_history(dir.path().join("c.db").to_str().unwrap());
    let mut pg = PgServer::start();
    paged_history(&pg.database());
}
