//! Freshness, reviews, snoozes and the outbox, through the real binary with a
//! real SMTP server on 127.0.0.1.

mod common;
use common::smtp::{Mode, SmtpServer};
use common::webhook::HookServer;
use common::*;
use serde_json::Value;
use std::time::Duration;

fn days_ago(n: i64) -> String {
    let today = jiff::Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .date();
    today
        .checked_sub(jiff::ToSpan::days(n))
        .unwrap()
        .to_string()
}

/// One guide owned by owner@example.com, validated `validated` , with one
/// capability watching `url`; e-mail through `smtp`.
fn registry(smtp: &str, validated: &str, url: &str, extra_settings: &str) -> String {
    format!(
        r#"[settings]
timeout = "3s"
{extra_settings}

[email]
smtp = "{smtp}"
from = "capwatch <capwatch@example.com>"

[[guide]]
id = "acme"
title = "Acme platform guide"
validated_on = "{validated}"
max_age = "90d"
warn_before = "14d"
owners = ["owner@example.com"]

[[capability]]
id = "widget"
guide = "acme"
name = "Widget Studio"
claim = {{ stage = "beta", access = "open" }}

  [[capability.source]]
  url = "{url}"
"#
    )
}

fn page(server: &PageServer, body: &str) {
    server.html("/widget", &doc_page("Widget Studio", body, ""));
}

/// A mail server in `mode`, the Widget Studio page saying `body`, and a
/// project whose guide was validated `validated_days` ago, with `extra`
/// settings. Both servers must live as long as the project is checked.
fn widget(
    mode: Mode,
    body: &str,
    validated_days: i64,
    extra: &str,
) -> (SmtpServer, PageServer, Project) {
    let mail = SmtpServer::start(mode);
    let server = PageServer::start();
    page(&server, body);
    let p = Project::new(&registry(
        &mail.url(),
        &days_ago(validated_days),
        &server.url("/widget"),
        extra,
    ));
    (mail, server, p)
}

fn alerts(p: &Project) -> Vec<Value> {
    let out = stdout(&p.capwatch(&["alerts", "--json"]).success());
    serde_json::from_str::<Value>(&out)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn status_row(p: &Project) -> Value {
    let out = stdout(&p.capwatch(&["status", "--json"]).success());
    serde_json::from_str::<Value>(&out).unwrap()[0].clone()
}

/// Make every failed delivery due now (as if the backoff had passed).
fn backoff_passes(p: &Project) {
    let conn = rusqlite::Connection::open(p.db()).unwrap();
    conn.execute(
        "UPDATE delivery SET next_attempt_at = 0 WHERE state != 'sent'",
        [],
    )
    .unwrap();
}

#[test]
fn an_expired_guide_sends_one_digest_naming_it_and_a_second_run_sends_nothing_new() {
    let (mail, _server, p) = widget(Mode::Normal, "<p>Widget Studio is in beta.</p>", 120, "");

    let out = stdout(&p.capwatch(&["check"]).success());
    assert!(out.contains("sent 1 message(s)"), "{out}");
    let msgs = mail.wait_for_messages(1, Duration::from_secs(5));
    assert_eq!(msgs.len(), 1);
    let m = &msgs[0];
    assert_eq!(m.rcpt_to, vec!["owner@example.com".to_string()]);
    let subject = m.header("Subject").unwrap();
    assert!(subject.contains("Acme platform guide"), "{subject}");
    let text = m.text().unwrap();
    assert!(text.contains("expired"), "{text}");
    assert!(text.contains("capwatch"), "{text}");
    assert!(
        text.contains("review --guide acme"),
        "the digest gives the exact review command: {text}"
    );
    assert!(m.html().is_some());

    let a = alerts(&p);
    assert_eq!(a.len(), 1, "{a:#?}");
    assert_eq!(a[0]["state"], "sent");
    assert_eq!(a[0]["kind"], "expired");
    assert_eq!(a[0]["subject"], "guide:acme");
    assert_eq!(a[0]["attempts"], 1);

    let out = stdout(&p.capwatch(&["check"]).success());
    assert!(!out.contains("sent"), "{out}");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        mail.messages().len(),
        1,
        "a second run must not send the same alert again"
    );
    assert_eq!(alerts(&p).len(), 1);
}

#[test]
fn smtp_down_keeps_the_alert_with_its_failure_then_delivers_once() {
    let (mail, _server, p) = widget(Mode::Refuse, "<p>Widget Studio is in beta.</p>", 120, "");

    let out = stdout(&p.capwatch(&["check"]).success());
    assert!(
        out.contains("failed") && out.contains("retried later"),
        "{out}"
    );
    let a = alerts(&p);
    assert_eq!(a.len(), 1);
    assert_eq!(a[0]["state"], "failed");
    assert_eq!(a[0]["attempts"], 1);
    assert!(
        a[0]["targets"][0]["last_error"].as_str().unwrap().len() > 3,
        "{:#}",
        a[0]
    );
    assert_eq!(a[0]["delivery_attempts"].as_array().unwrap().len(), 1);
    let pending = stdout(&p.capwatch(&["alerts", "--pending", "--json"]).success());
    assert_eq!(
        serde_json::from_str::<Value>(&pending)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Before the backoff has passed, nothing is retried.
    mail.set_mode(Mode::Normal);
    p.capwatch(&["check"]).success();
    assert_eq!(mail.messages().len(), 0);

    backoff_passes(&p);
    p.capwatch(&["check"]).success();
    assert_eq!(mail.wait_for_messages(1, Duration::from_secs(5)).len(), 1);
    backoff_passes(&p);
    p.capwatch(&["check"]).success();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(mail.messages().len(), 1, "delivered exactly once");
    let a = alerts(&p);
    assert_eq!(a[0]["state"], "sent");
    assert_eq!(a[0]["attempts"], 2);
    let pending = stdout(&p.capwatch(&["alerts", "--pending", "--json"]).success());
    assert_eq!(pending.trim(), "[]");
}

#[test]
fn a_review_makes_it_fresh_and_sends_one_resolved_notice() {
    let (mail, _server, p) = widget(Mode::Normal, "<p>Widget Studio is in beta.</p>", 120, "");
    p.capwatch(&["check"]).success();
    assert_eq!(mail.wait_for_messages(1, Duration::from_secs(5)).len(), 1);
    assert_eq!(status_row(&p)["state"], "expired");

    let out = stdout(
        &p.capwatch(&[
            "review",
            "--guide",
            "acme",
            "--by",
            "Ana",
            "--note",
            "checked every page",
        ])
        .success(),
    );
    assert!(out.contains("recorded: Ana validated guide acme"), "{out}");
    let row = status_row(&p);
    assert_eq!(row["state"], "fresh");
    assert_eq!(row["flags"], serde_json::json!([]));
    let msgs = mail.wait_for_messages(2, Duration::from_secs(5));
    assert_eq!(msgs.len(), 2);
    let resolved = &msgs[1];
    assert!(
        resolved.text().unwrap().to_lowercase().contains("resolved"),
        "{}",
        resolved.text().unwrap()
    );
    // The notice refers to the first alert so mail clients thread it.
    let refs = resolved
        .header("References")
        .or(resolved.header("In-Reply-To"))
        .unwrap_or_default();
    assert!(refs.contains("alert-1@capwatch"), "{refs}");

    p.capwatch(&["check"]).success();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(mail.messages().len(), 2, "no more messages once resolved");
    let h = stdout(&p.capwatch(&["history", "widget", "--json"]).success());
    let h: Value = serde_json::from_str(&h).unwrap();
    assert!(
        h.as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "review" && e["by"] == "Ana")
    );
}

#[test]
fn a_snooze_silences_a_finding_and_a_new_change_ends_it() {
    // renotify = 1s: an unresolved finding is re-sent on every later run unless snoozed.
    let (mail, server, p) = widget(
        Mode::Normal,
        "<p>Widget Studio is in beta.</p><p>Version one.</p>",
        10,
        "renotify = \"1s\"",
    );
    p.capwatch(&["check"]).success();
    assert_eq!(
        mail.messages().len(),
        0,
        "a first check is a baseline, not an alert"
    );

    page(
        &server,
        "<p>Widget Studio is in beta.</p><p>Version two.</p>",
    );
    p.capwatch(&["check"]).success();
    assert_eq!(mail.wait_for_messages(1, Duration::from_secs(5)).len(), 1);
    std::thread::sleep(Duration::from_millis(1_100));
    p.capwatch(&["check"]).success();
    assert_eq!(
        mail.wait_for_messages(2, Duration::from_secs(5)).len(),
        2,
        "unsnoozed: a reminder after renotify"
    );

    let until = days_ago(-7);
    let out = stdout(
        &p.capwatch(&[
            "snooze",
            "widget",
            "--kind",
            "source_changed",
            "--until",
            &until,
            "--reason",
            "typo fixes only",
        ])
        .success(),
    );
    assert!(out.contains("snoozed source_changed for widget"), "{out}");
    std::thread::sleep(Duration::from_millis(1_100));
    let out = stdout(&p.capwatch(&["check"]).success());
    assert!(
        out.contains("source_changed") && out.contains("(snoozed)"),
        "{out}"
    );
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(mail.messages().len(), 2, "snoozed: no reminder");

    // Too long a snooze is refused.
    let e = stderr(
        &p.capwatch(&[
            "snooze",
            "widget",
            "--kind",
            "drift",
            "--until",
            &days_ago(-45),
            "--reason",
            "x",
        ])
        .failure(),
    );
    assert!(e.contains("at most 30 days"), "{e}");

    page(
        &server,
        "<p>Widget Studio is in beta.</p><p>Version three.</p>",
    );
    p.capwatch(&["check"]).success();
    let msgs = mail.wait_for_messages(3, Duration::from_secs(5));
    assert_eq!(msgs.len(), 3, "a new change ends the snooze");
    assert!(
        msgs[2].text().unwrap().contains("Version three"),
        "{}",
        msgs[2].text().unwrap()
    );
    let h: Value = serde_json::from_str(&stdout(
        &p.capwatch(&["history", "widget", "--json"]).success(),
    ))
    .unwrap();
    let snooze = h
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "snooze")
        .expect("snooze in history");
    assert_eq!(snooze["ended_reason"], "widget changed again");
}

#[test]
fn source_changed_compares_with_the_reviewed_snapshot_not_the_previous_check() {
    let (mail, server, p) = widget(
        Mode::Normal,
        "<p>Widget Studio is in beta.</p><p>Limits: 10 reports.</p>",
        10,
        "",
    );
    p.capwatch(&["check"]).success();
    page(
        &server,
        "<p>Widget Studio is in beta.</p><p>Limits: 20 reports.</p>",
    );
    p.capwatch(&["check"]).success();
    assert_eq!(mail.wait_for_messages(1, Duration::from_secs(5)).len(), 1);
    assert!(
        status_row(&p)["flags"]
            .as_array()
            .unwrap()
            .contains(&Value::from("source_changed"))
    );

    p.capwatch(&["review", "widget", "--by", "Ana"]).success();
    assert!(
        !status_row(&p)["flags"]
            .as_array()
            .unwrap()
            .contains(&Value::from("source_changed"))
    );
    // The resolved notice for the change.
    assert_eq!(mail.wait_for_messages(2, Duration::from_secs(5)).len(), 2);

    // Unchanged since the review: no finding.
    p.capwatch(&["check"]).success();
    assert!(
        !status_row(&p)["flags"]
            .as_array()
            .unwrap()
            .contains(&Value::from("source_changed"))
    );

    page(
        &server,
        "<p>Widget Studio is in beta.</p><p>Limits: 30 reports.</p>",
    );
    p.capwatch(&["check"]).success();
    assert!(
        status_row(&p)["flags"]
            .as_array()
            .unwrap()
            .contains(&Value::from("source_changed"))
    );
    let msgs = mail.wait_for_messages(3, Duration::from_secs(5));
    let text = msgs[2].text().unwrap();
    assert!(
        text.contains("-Limits: 20 reports."),
        "diff is against the reviewed version: {text}"
    );
    assert!(text.contains("+Limits: 30 reports."), "{text}");
    assert!(
        !text.contains("10 reports"),
        "not against the first version: {text}"
    );
}

#[test]
fn an_alert_queued_before_a_crash_is_delivered_by_the_next_run_once() {
    let mail = SmtpServer::start(Mode::HangAfterData);
    let server = PageServer::start();
    page(&server, "<p>Widget Studio is in beta.</p>");
    let p = Project::new(
        &registry(&mail.url(), &days_ago(120), &server.url("/widget"), "")
            .replace("timeout = \"3s\"", "timeout = \"60s\""),
    );
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("capwatch"))
        .current_dir(p.path())
        .env_remove("CAPWATCH_DB")
        .arg("--config")
        .arg(p.registry())
        .arg("check")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the delivery is stuck inside the SMTP conversation, then kill -9.
    let start = std::time::Instant::now();
    while !mail.transcript().iter().any(|l| l.contains("DATA")) {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "never reached DATA: {:?}",
            mail.transcript()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(200));
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(mail.messages().len(), 0);
    let a = alerts(&p);
    assert_eq!(a.len(), 1, "the alert was queued before delivery began");
    assert_eq!(a[0]["state"], "pending");
    assert_eq!(a[0]["attempts"], 0);

    mail.set_mode(Mode::Normal);
    p.capwatch(&["check"]).success();
    assert_eq!(mail.wait_for_messages(1, Duration::from_secs(5)).len(), 1);
    p.capwatch(&["check"]).success();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(mail.messages().len(), 1, "delivered once");
    assert_eq!(alerts(&p)[0]["state"], "sent");
}

#[test]
fn with_no_channel_alerts_wait_and_a_webhook_gets_them_later() {
    let server = PageServer::start();
    page(&server, "<p>Widget Studio is in beta.</p>");
    let base = registry(
        "smtp://127.0.0.1:9",
        &days_ago(120),
        &server.url("/widget"),
        "",
    );
    let no_channel = base.replace(
        "[email]\nsmtp = \"smtp://127.0.0.1:9\"\nfrom = \"capwatch <capwatch@example.com>\"\n",
        "",
    );
    let p = Project::new(&no_channel);
    let out = stdout(&p.capwatch(&["check"]).success());
    assert!(
        out.contains("1 alert(s) wait in the outbox: no e-mail or webhook is configured"),
        "{out}"
    );
    let a = alerts(&p);
    assert_eq!(a[0]["state"], "pending");

    let hook = HookServer::start();
    p.write_registry(&format!(
        "{no_channel}\n[webhook]\nurl = \"{}\"\n",
        hook.url("/hook")
    ));
    p.capwatch(&["check"]).success();
    let posts = hook.wait_for_posts(1, Duration::from_secs(5));
    assert_eq!(posts.len(), 1);
    let body = posts[0].json();
    assert_eq!(body["source"], "capwatch");
    assert_eq!(body["findings"][0]["kind"], "expired");
    assert_eq!(alerts(&p)[0]["state"], "sent");
}

#[test]
fn unreadable_after_repeated_failures() {
    let mail = SmtpServer::start(Mode::Normal);
    let server = PageServer::start();
    server.set("/widget", b"", "text/html", Behavior::Status(500));
    let p = Project::new(&registry(
        &mail.url(),
        &days_ago(10),
        &server.url("/widget"),
        "failures_before_alert = 2",
    ));
    p.capwatch(&["check"]).success();
    assert!(
        !status_row(&p)["flags"]
            .as_array()
            .unwrap()
            .contains(&Value::from("unreadable"))
    );
    p.capwatch(&["check"]).success();
    assert!(
        status_row(&p)["flags"]
            .as_array()
            .unwrap()
            .contains(&Value::from("unreadable"))
    );
    let msgs = mail.wait_for_messages(1, Duration::from_secs(5));
    assert!(
        msgs[0].text().unwrap().contains("HTTP 500"),
        "{}",
        msgs[0].text().unwrap()
    );
}

#[test]
fn webhook_findings_link_to_the_dashboard_pages_but_carry_no_action_links() {
    let server = PageServer::start();
    page(&server, "<p>Widget Studio is in beta.</p>");
    let hook = HookServer::start();
    let reg = registry(
        "smtp://127.0.0.1:9",
        &days_ago(10),
        &server.url("/widget"),
        "public_url = \"https://capwatch.example.com/\"",
    )
    .replace(
        "[email]\nsmtp = \"smtp://127.0.0.1:9\"\nfrom = \"capwatch <capwatch@example.com>\"\n",
        &format!("[webhook]\nurl = \"{}\"\n", hook.url("/hook")),
    );
    let p = Project::new(&reg);
    let secret = [("CAPWATCH_SECRET", "s3cret")];
    p.capwatch_env(&secret, &["check"]).success();
    page(
        &server,
        "<p>Widget Studio is in beta.</p><p>New: exports.</p>",
    );
    p.capwatch_env(&secret, &["check"]).success();
    let posts = hook.wait_for_posts(1, Duration::from_secs(5));
    let body = posts[0].json();
    let f = &body["findings"][0];
    assert_eq!(f["kind"], "source_changed", "{body}");
    assert_eq!(
        f["links"]["capability"],
        "https://capwatch.example.com/capabilities/widget"
    );
    assert_eq!(
        f["links"]["guide"],
        "https://capwatch.example.com/#guide-acme"
    );
    let change = f["links"]["changes"][0].as_str().unwrap();
    assert!(
        change.starts_with("https://capwatch.example.com/changes/"),
        "{change}"
    );
    // Action links act in an owner's name: they go only to that owner.
    assert!(!body.to_string().contains("/act/"), "{body}");
}

#[test]
fn alerts_retry_sends_a_failed_alert_now() {
    let (mail, _server, p) = widget(
        Mode::tempfail_first(1),
        "<p>Widget Studio is in beta.</p>",
        120,
        "",
    );
    p.capwatch(&["check"]).success();
    let a = alerts(&p);
    assert_eq!(a[0]["state"], "failed", "{a:?}");
    assert!(mail.messages().is_empty());
    // The next try is a minute away; --retry sends it now.
    let out = stdout(&p.capwatch(&["alerts", "--retry"]).success());
    assert!(out.contains("1 message(s) sent"), "{out}");
    assert_eq!(mail.wait_for_messages(1, Duration::from_secs(5)).len(), 1);
    assert_eq!(alerts(&p)[0]["state"], "sent");
    // Nothing is due any more: a second --retry sends nothing.
    let out = stdout(&p.capwatch(&["alerts", "--retry"]).success());
    assert!(out.contains("0 message(s) sent"), "{out}");
    assert_eq!(mail.messages().len(), 1);
}
