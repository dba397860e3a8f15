//! `capwatch run`: the real binary, on schedules, against a real local server.

mod common;
use common::*;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn spawn_daemon(p: &Project, extra: &[&str]) -> Child {
    Command::new(assert_cmd::cargo::cargo_bin("capwatch"))
        .current_dir(p.path())
        .env_remove("CAPWATCH_DB")
        .env("RUST_LOG", "info")
        .arg("--config")
        .arg(p.registry())
        .arg("run")
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig} failed");
}

/// Wait for the process to exit, at most `limit`.
fn wait_exit(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Some(s) = child.try_wait().unwrap() {
            return Some(s);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

fn wait_until(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

fn pages(server: &PageServer, n: usize, settings: &str, schedule: &str) -> Project {
    let mut r = registry_head(settings);
    for i in 0..n {
        let path = format!("/p{i}");
        server.html(
            &path,
            &doc_page(
                &format!("Page {i}"),
                &format!("<p>Feature {i} is generally available.</p>"),
                "",
            ),
        );
        r += &capability(
            &format!("p{i}"),
            &format!("Feature {i}"),
            "{ stage = \"ga\" }",
            &server.url(&path),
            &format!("  schedule = \"{schedule}\"\n"),
        );
    }
    Project::new(&r)
}

#[test]
fn sources_are_checked_on_schedule_and_sigterm_stops_cleanly() {
    let server = PageServer::start();
    let p = pages(&server, 5, "per_host = 5", "*/2 * * * * *");
    let mut d = spawn_daemon(&p, &[]);
    std::thread::sleep(Duration::from_millis(7_300));
    let log = server.log();
    for i in 0..5 {
        let path = format!("/p{i}");
        let times: Vec<Instant> = log
            .iter()
            .filter(|l| l.path == path)
            .map(|l| l.at)
            .collect();
        assert!(times.len() >= 3, "{path}: {} requests in 7 s", times.len());
        for w in times.windows(2).skip(1) {
            let gap = w[1] - w[0];
            assert!(
                // 2 s apart, give or take scheduling noise on a loaded 2-core machine.
                gap >= Duration::from_millis(1_200) && gap <= Duration::from_millis(3_200),
                "{path}: gap {gap:?} between checks on a 2 s schedule"
            );
        }
    }
    // After its first fetch, each unchanged page is asked for conditionally.
    for i in 0..5 {
        let path = format!("/p{i}");
        let reqs: Vec<&Logged> = log.iter().filter(|l| l.path == path).collect();
        assert!(reqs[0].if_none_match.is_none());
        assert!(
            reqs[1..].iter().all(|l| l.if_none_match.is_some()),
            "{path}: {reqs:?}"
        );
    }
    let stop = Instant::now();
    signal(&d, "-TERM");
    let status =
        wait_exit(&mut d, Duration::from_secs(10)).expect("daemon did not stop on SIGTERM");
    assert!(status.success(), "exit status {status:?}");
    assert!(
        stop.elapsed() < Duration::from_secs(5),
        "stopping took {:?}",
        stop.elapsed()
    );
    assert_eq!(p.query_i64("SELECT count(*) FROM snapshot"), 5);
    assert!(p.query_i64("SELECT count(*) FROM \"check\"") >= 15);
}

#[test]
fn a_second_daemon_on_the_same_database_is_refused() {
    let server = PageServer::start();
    let p = pages(&server, 1, "", "0 6 * * *");
    let mut first = spawn_daemon(&p, &[]);
    assert!(
        wait_until(Duration::from_secs(10), || server.hits("/p0") > 0),
        "first daemon never checked"
    );
    let out = Command::new(assert_cmd::cargo::cargo_bin("capwatch"))
        .current_dir(p.path())
        .env_remove("CAPWATCH_DB")
        .arg("--config")
        .arg(p.registry())
        .arg("run")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("another capwatch daemon is already running"),
        "{err}"
    );
    assert!(err.contains(&format!("pid {}", first.id())), "{err}");
    signal(&first, "-TERM");
    assert!(
        wait_exit(&mut first, Duration::from_secs(10))
            .unwrap()
            .success()
    );
}

#[test]
fn kill_9_leaves_the_database_intact_and_the_next_start_carries_on() {
    let server = PageServer::start();
    let p = pages(&server, 4, "per_host = 4", "* * * * * *");
    for round in 0..2 {
        // Change a page every round so snapshots and changes are being written.
        server.html(
            "/p0",
            &doc_page(
                "Page 0",
                &format!("<p>Feature 0 is generally available. Round {round}.</p>"),
                "",
            ),
        );
        let mut d = spawn_daemon(&p, &[]);
        let before = if round == 0 {
            0
        } else {
            p.query_i64("SELECT count(*) FROM \"check\"")
        };
        std::thread::sleep(Duration::from_millis(2_600));
        signal(&d, "-KILL");
        wait_exit(&mut d, Duration::from_secs(5)).expect("kill -9 did not end it");
        let conn = rusqlite::Connection::open(p.db()).unwrap();
        let ok: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ok, "ok");
        let after: i64 = conn
            .query_row("SELECT count(*) FROM \"check\"", [], |r| r.get(0))
            .unwrap();
        assert!(
            after > before,
            "round {round}: checks did not resume ({before} → {after})"
        );
    }
    assert!(p.query_i64("SELECT count(*) FROM change WHERE source_id = 'p0'") >= 1);
    // The lock died with the process: a new daemon starts and stops cleanly.
    let mut d = spawn_daemon(&p, &[]);
    std::thread::sleep(Duration::from_millis(800));
    signal(&d, "-TERM");
    assert!(
        wait_exit(&mut d, Duration::from_secs(10))
            .unwrap()
            .success()
    );
}

#[test]
fn the_per_host_limit_holds() {
    let server = PageServer::start();
    let p = pages(
        &server,
        6,
        "per_host = 2\nconcurrency = 16",
        "*/5 * * * * *",
    );
    for i in 0..6 {
        let body = doc_page(&format!("Page {i}"), "<p>slow page</p>", "");
        server.set(
            &format!("/p{i}"),
            body.as_bytes(),
            "text/html",
            Behavior::Slow(Duration::from_millis(400)),
        );
    }
    let mut d = spawn_daemon(&p, &[]);
    assert!(wait_until(Duration::from_secs(15), || (0..6)
        .all(|i| server.hits(&format!("/p{i}")) > 0)));
    signal(&d, "-TERM");
    assert!(
        wait_exit(&mut d, Duration::from_secs(10))
            .unwrap()
            .success()
    );
    assert_eq!(
        server.max_in_flight(),
        2,
        "per_host = 2 must allow two requests at once and no more"
    );
}

#[test]
fn after_downtime_each_overdue_source_is_checked_once_and_spread_out() {
    let server = PageServer::start();
    // A yearly schedule: the only due checks in this test are the catch-up
    // ones (an every-minute schedule made the test fail when it ran across
    // a minute boundary, where the regular slot came due as well).
    let p = pages(&server, 5, "per_host = 5", "0 0 1 1 *");
    p.capwatch(&["check"]).success();
    // An hour of downtime: 60 missed slots per source.
    let hour_ago = jiff::Timestamp::now().as_millisecond() - 3_600_000;
    let conn = rusqlite::Connection::open(p.db()).unwrap();
    conn.execute("UPDATE source SET next_check_at = ?1", [hour_ago])
        .unwrap();
    drop(conn);
    server.clear_log();
    let mut d = spawn_daemon(&p, &[]);
    std::thread::sleep(Duration::from_millis(3_000));
    signal(&d, "-TERM");
    assert!(
        wait_exit(&mut d, Duration::from_secs(10))
            .unwrap()
            .success()
    );
    let log = server.log();
    for i in 0..5 {
        // The next regular slot is months away: exactly one catch-up check.
        assert_eq!(
            log.iter().filter(|l| l.path == format!("/p{i}")).count(),
            1,
            "/p{i}"
        );
    }
    let mut times: Vec<Instant> = log.iter().map(|l| l.at).collect();
    times.sort();
    let span = *times.last().unwrap() - times[0];
    assert!(
        span >= Duration::from_millis(600),
        "catch-up not spread out: all within {span:?}"
    );
}

#[test]
fn while_a_daemon_runs_check_queues_and_leaves_delivery_to_it() {
    let mail = common::smtp::SmtpServer::start(common::smtp::Mode::Normal);
    let server = PageServer::start();
    server.html(
        "/p",
        &doc_page("Page", "<p>Feature is generally available.</p>", ""),
    );
    let today = jiff::Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .date();
    let old = today.checked_sub(jiff::ToSpan::days(200)).unwrap();
    let r = format!(
        "[email]\nsmtp = \"{}\"\nfrom = \"capwatch@example.com\"\n\n[[guide]]\nid = \"g\"\ntitle = \"Guide\"\nvalidated_on = \"{old}\"\nowners = [\"owner@example.com\"]\n\n{}",
        mail.url(),
        capability("f", "Feature", "{ stage = \"ga\" }", &server.url("/p"), "")
    );
    let p = Project::new(&r);
    let mut d = spawn_daemon(&p, &[]);
    assert_eq!(
        mail.wait_for_messages(1, Duration::from_secs(10)).len(),
        1,
        "the daemon delivers"
    );
    let out = stdout(&p.capwatch(&["check"]).success());
    assert!(out.contains("the running daemon (pid"), "{out}");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(mail.messages().len(), 1);
    signal(&d, "-TERM");
    assert!(
        wait_exit(&mut d, Duration::from_secs(10))
            .unwrap()
            .success()
    );
}

#[test]
fn sighup_reloads_the_registry_keeping_history_and_updating_schedules() {
    let server = PageServer::start();
    for i in 0..3 {
        server.html(
            &format!("/p{i}"),
            &doc_page(
                &format!("Page {i}"),
                "<p>Feature is generally available.</p>",
                "",
            ),
        );
    }
    let reg = |sources: &[(usize, &str)]| {
        let mut r = registry_head("per_host = 4");
        for (i, schedule) in sources {
            r += &capability(
                &format!("p{i}"),
                &format!("Feature {i}"),
                "{ stage = \"ga\" }",
                &server.url(&format!("/p{i}")),
                &format!("  schedule = \"{schedule}\"\n"),
            );
        }
        r
    };
    // p0 daily, p1 daily; p2 not yet in the registry.
    let p = Project::new(&reg(&[(0, "0 6 * * *"), (1, "0 6 * * *")]));
    let mut d = spawn_daemon(&p, &[]);
    assert!(wait_until(Duration::from_secs(10), || server.hits("/p0")
        == 1
        && server.hits("/p1") == 1));
    // p0 now every second, p1 removed, p2 added.
    p.write_registry(&reg(&[(0, "* * * * * *"), (2, "0 6 * * *")]));
    signal(&d, "-HUP");
    assert!(
        wait_until(Duration::from_secs(10), || server.hits("/p0") >= 3
            && server.hits("/p2") == 1),
        "p0 {} p2 {}",
        server.hits("/p0"),
        server.hits("/p2")
    );
    std::thread::sleep(Duration::from_millis(1_500));
    assert_eq!(
        server.hits("/p1"),
        1,
        "a removed source is no longer checked"
    );
    signal(&d, "-TERM");
    assert!(
        wait_exit(&mut d, Duration::from_secs(10))
            .unwrap()
            .success()
    );
    // The removed source keeps its history.
    assert_eq!(
        p.query_i64("SELECT count(*) FROM snapshot WHERE source_id = 'p1'"),
        1
    );
    assert_eq!(
        p.query_i64("SELECT count(*) FROM \"check\" WHERE source_id = 'p1'"),
        1
    );
    assert_eq!(
        p.query_i64("SELECT count(*) FROM source WHERE id = 'p1' AND removed_at IS NOT NULL"),
        1
    );
}
