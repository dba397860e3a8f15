//! Closing the loop from the e-mail and the browser: the digest's signed
//! action links (read out of the HTML part a real SMTP server received),
//! opened and submitted in headless Chromium; every misuse refused with
//! nothing recorded; reviewer sign-in and the dashboard's forms.

mod common;
use capwatch::notify::link::{Action, ActionLink, LinkKey};
use capwatch::serve::ServeState;
use common::browser::Browser;
use common::smtp::{Mode, SmtpServer};
use common::*;
use serde_json::Value;
use std::sync::{Arc, RwLock};
use std::time::Duration;

const SECRET: &str = "correct horse battery staple";
const TOKEN: &str = "reviewer-t0ken";

fn days_ago(n: i64) -> String {
    let today = jiff::Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .date();
    today
        .checked_sub(jiff::ToSpan::days(n))
        .unwrap()
        .to_string()
}

/// The HTTP surface in-process on its own runtime and thread, so the test
/// thread can block on the browser.
struct Server {
    base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn start_server(p: &Project, listener: std::net::TcpListener) -> Server {
    start_with(p, listener, Some(TOKEN), Some(SECRET))
}

fn start_with(
    p: &Project,
    listener: std::net::TcpListener,
    token: Option<&str>,
    secret: Option<&str>,
) -> Server {
    let reg = capwatch::config::load(&p.registry()).unwrap();
    let state = ServeState::with_link_key(
        Arc::new(RwLock::new(reg)),
        p.db(),
        token.map(String::from),
        secret.map(|s| LinkKey::new(s.as_bytes())),
    );
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    listener.set_nonblocking(true).unwrap();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            capwatch::serve::serve(listener, state, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
    });
    Server {
        base,
        stop: Some(tx),
        thread: Some(thread),
    }
}

struct Fixture {
    mail: SmtpServer,
    _pages: PageServer,
    project: Project,
    server: Server,
}

/// A guide validated long ago whose capability's page contradicts the
/// claim (expired + drift), checked once with CAPWATCH_SECRET set: the
/// owner's digest is in `mail`, and the HTTP surface runs at `public_url`.
fn fixture() -> Fixture {
    let mail = SmtpServer::start(Mode::Normal);
    let pages = PageServer::start();
    pages.html(
        "/widget",
        &doc_page(
            "Widget Studio",
            "<p>Widget Studio is generally available to all accounts.</p>",
            "",
        ),
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let public = format!("http://{}", listener.local_addr().unwrap());
    let project = Project::new(&format!(
        r#"[settings]
timeout = "3s"
public_url = "{public}"

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
"#,
        smtp = mail.url(),
        validated = days_ago(100),
        url = pages.url("/widget"),
    ));
    project
        .capwatch_env(&[("CAPWATCH_SECRET", SECRET)], &["check"])
        .success();
    mail.wait_for_messages(1, Duration::from_secs(10));
    let server = start_server(&project, listener);
    Fixture {
        mail,
        _pages: pages,
        project,
        server,
    }
}

/// The action links of the digest's HTML part: (label, href).
fn action_links(html: &str) -> Vec<(String, String)> {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse("a.action").unwrap();
    doc.select(&sel)
        .map(|a| {
            (
                a.text().collect::<String>(),
                a.value().attr("href").unwrap().to_string(),
            )
        })
        .collect()
}

/// What a link's token says, read without the key (the payload is plain).
fn payload(href: &str) -> String {
    let token = href.rsplit('/').next().unwrap();
    let hexed = token.split('.').next().unwrap();
    String::from_utf8(hex::decode(hexed).unwrap()).unwrap()
}

/// The capability's "Mark reviewed" link from the digest.
fn review_link(f: &Fixture) -> String {
    let html = f.mail.messages()[0].html().unwrap();
    let links = action_links(&html);
    links
        .iter()
        .find(|(label, href)| {
            label == "Mark reviewed" && payload(href).contains("\u{1f}capability\u{1f}widget\u{1f}")
        })
        .unwrap_or_else(|| panic!("no Mark reviewed link for widget in {links:?}\n{html}"))
        .1
        .clone()
}

fn reviews(p: &Project) -> i64 {
    p.query_i64("SELECT count(*) FROM review")
}

fn snoozes(p: &Project) -> i64 {
    p.query_i64("SELECT count(*) FROM snooze")
}

fn status_of(p: &Project) -> Value {
    let out = stdout(&p.capwatch(&["status", "--json"]).success());
    let rows: Value = serde_json::from_str(&out).unwrap();
    rows.as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "widget")
        .unwrap()
        .clone()
}

fn history(p: &Project) -> Vec<Value> {
    let out = stdout(&p.capwatch(&["history", "widget", "--json"]).success());
    serde_json::from_str::<Value>(&out)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn block<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// A plain HTTP answer: status, Set-Cookie values, body.
struct Answer {
    status: u16,
    cookies: Vec<String>,
    body: String,
}

fn http(method: &str, url: &str, cookie: Option<&str>, form: Option<&[(&str, &str)]>) -> Answer {
    block(async {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let mut req = client.request(method.parse().unwrap(), url);
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        if let Some(form) = form {
            req = req
                .header("content-type", "application/x-www-form-urlencoded")
                .body(serde_urlencoded::to_string(form).unwrap());
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let cookies = res
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(String::from)
            .collect();
        Answer {
            status,
            cookies,
            body: res.text().await.unwrap(),
        }
    })
}

/// A GET of the link and the CSRF cookie and form token its page carries.
fn confirmation(href: &str) -> (u16, String, Option<(String, String)>) {
    let res = http("GET", href, None, None);
    let status = res.status;
    let cookie = res
        .cookies
        .iter()
        .find(|v| v.starts_with("capwatch_csrf="))
        .map(|v| v.split(';').next().unwrap().to_string());
    let body = res.body;
    let doc = scraper::Html::parse_document(&body);
    let sel = scraper::Selector::parse("input[name=csrf]").unwrap();
    let csrf = doc
        .select(&sel)
        .next()
        .and_then(|e| e.value().attr("value"))
        .map(String::from);
    (status, body, cookie.zip(csrf))
}

fn post(href: &str, cookie: Option<&str>, form: &[(&str, &str)]) -> (u16, String) {
    let res = http("POST", href, cookie, Some(form));
    (res.status, res.body)
}

#[test]
fn the_digest_links_to_the_pages_and_carries_signed_actions() {
    let f = fixture();
    let m = &f.mail.messages()[0];
    let text = m.text().unwrap();
    let html = m.html().unwrap();
    let base = &f.server.base;
    for part in [&text, &html] {
        assert!(
            part.contains(&format!("{base}/capabilities/widget")),
            "{part}"
        );
        assert!(part.contains(&format!("{base}/#guide-acme")), "{part}");
        assert!(part.contains(&format!("{base}/act/")), "{part}");
    }
    let labels: Vec<String> = action_links(&html).into_iter().map(|l| l.0).collect();
    for l in ["Mark reviewed", "Snooze 7 days", "Review the whole guide"] {
        assert!(labels.iter().any(|x| x == l), "no {l} in {labels:?}");
    }
    // Every link is for the owner the digest went to, and the secret is
    // nowhere in the message.
    for (_, href) in action_links(&html) {
        assert!(payload(&href).contains("owner@example.com"), "{href}");
    }
    assert!(!text.contains(SECRET) && !html.contains(SECRET));
    // One sentence behind two dimensions is quoted once, with both.
    let quote = "Widget Studio is generally available to all accounts.";
    assert_eq!(text.matches(quote).count(), 1, "{text}");
    assert!(
        text.contains(&format!("\"{quote}\" (stage, access)")),
        "{text}"
    );
    assert_eq!(html.matches(quote).count(), 1, "{html}");
}

#[test]
fn the_feed_links_to_public_url_whatever_the_host() {
    let f = fixture();
    let base = &f.server.base;
    let res = block(async {
        reqwest::Client::new()
            .get(format!("{base}/feed.atom"))
            .header("host", "elsewhere.example")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    });
    assert!(
        res.contains(&format!("{base}/capabilities/widget")),
        "{res}"
    );
    assert!(res.contains(&format!("{base}/#guide-acme")), "{res}");
    assert!(!res.contains("elsewhere.example"), "{res}");
}

#[test]
fn an_owner_reviews_from_the_email_in_a_browser_and_every_misuse_is_refused() {
    let f = fixture();
    let p = &f.project;
    let href = review_link(&f);
    assert_ne!(status_of(p)["state"], "fresh");

    // A GET (a mail scanner's prefetch, or a person opening it) records nothing.
    let (code, body, form) = confirmation(&href);
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("Mark Widget Studio reviewed"), "{body}");
    assert!(body.contains("owner@example.com"), "{body}");
    assert!(
        body.contains("Widget Studio is generally available"),
        "the evidence is shown: {body}"
    );
    let (cookie, csrf) = form.expect("the page sets a CSRF cookie and carries its token");
    assert_eq!(reviews(p), 0);

    // A POST without the form token, or with the token but without its
    // cookie, or with a token from another cookie: refused.
    let (code, body) = post(&href, Some(&cookie), &[("note", "x")]);
    assert_eq!(code, 403, "{body}");
    assert!(body.contains("nothing was recorded"), "{body}");
    let (code, _) = post(&href, None, &[("csrf", &csrf), ("note", "x")]);
    assert_eq!(code, 403);
    let (code, _) = post(
        &href,
        Some("capwatch_csrf=00ff00ff"),
        &[("csrf", &csrf), ("note", "x")],
    );
    assert_eq!(code, 403);
    assert_eq!(reviews(p), 0);

    // One byte changed anywhere in the token: refused, GET and POST.
    let token_at = href.rfind('/').unwrap() + 1;
    for i in [token_at + 3, href.len() - 5] {
        let mut b = href.clone().into_bytes();
        b[i] = if b[i] == b'a' { b'b' } else { b'a' };
        let tampered = String::from_utf8(b).unwrap();
        let (code, body, _) = confirmation(&tampered);
        assert_eq!(code, 400, "{body}");
        assert!(body.contains("Nothing was recorded"), "{body}");
        let (code, _) = post(&tampered, Some(&cookie), &[("csrf", &csrf)]);
        assert_eq!(code, 400);
    }
    assert_eq!(reviews(p), 0);

    // An expired link, correctly signed: refused.
    let key = LinkKey::new(SECRET.as_bytes());
    let expired = key.sign(&ActionLink {
        action: Action::Review,
        subject_kind: "capability".into(),
        subject_id: "widget".into(),
        finding: String::new(),
        owner: "owner@example.com".into(),
        alert_id: 1,
        expires: jiff::Timestamp::now() - jiff::SignedDuration::from_secs(60),
    });
    let (code, body, _) = confirmation(&format!("{}/act/{expired}", f.server.base));
    assert_eq!(code, 410, "{body}");
    assert!(body.contains("expired"), "{body}");
    assert_eq!(reviews(p), 0);

    // The real thing, in a browser: open the link from the e-mail, write a
    // note, press the button.
    let mut browser = Browser::start();
    browser.open(&href);
    assert!(browser.text().contains("Nothing has been recorded yet"));
    browser.fill("#note", "checked against the GA announcement");
    browser.click_and_wait("#confirm");
    let done = browser.text();
    assert!(done.contains("Review recorded"), "{done}");
    assert_eq!(reviews(p), 1);

    let row = status_of(p);
    assert_eq!(row["state"], "fresh", "{row}");
    assert_eq!(row["last_review"]["channel"], "mail-link", "{row}");
    let review = history(p)
        .into_iter()
        .find(|e| e["kind"] == "review")
        .expect("a review in the history");
    assert_eq!(review["channel"], "mail-link", "{review}");
    assert_eq!(review["by"], "owner@example.com");
    assert_eq!(review["note"], "checked against the GA announcement");
    assert_eq!(review["remote_addr"], "127.0.0.1");
    let text = stdout(&p.capwatch(&["history", "widget"]).success());
    assert!(text.contains("(via mail-link from 127.0.0.1)"), "{text}");

    // A replay: the page says so, and a POST with a good form token records nothing.
    browser.open(&href);
    assert!(
        browser.text().contains("used already"),
        "{}",
        browser.text()
    );
    let (code, body) = post(&href, Some(&cookie), &[("csrf", &csrf)]);
    assert_eq!(code, 410, "{body}");
    assert_eq!(reviews(p), 1);
}

#[test]
fn a_snooze_link_snoozes_the_finding_once() {
    let f = fixture();
    let p = &f.project;
    let html = f.mail.messages()[0].html().unwrap();
    let href = action_links(&html)
        .into_iter()
        .find(|(label, _)| label == "Snooze 7 days")
        .unwrap()
        .1;
    let (code, body, form) = confirmation(&href);
    assert_eq!(code, 200, "{body}");
    let (cookie, csrf) = form.unwrap();
    assert_eq!(snoozes(p), 0);
    let (code, body) = post(&href, Some(&cookie), &[("csrf", &csrf), ("note", "")]);
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("Snoozed until"), "{body}");
    assert_eq!(snoozes(p), 1);
    let (code, _) = post(&href, Some(&cookie), &[("csrf", &csrf)]);
    assert_eq!(code, 410);
    assert_eq!(snoozes(p), 1);
    let snooze = history(p)
        .into_iter()
        .find(|e| e["kind"] == "snooze")
        .unwrap();
    assert_eq!(snooze["channel"], "mail-link", "{snooze}");
    assert_eq!(snooze["by"], "owner@example.com");
}

#[test]
fn a_reviewer_signs_in_and_reviews_on_the_dashboard_in_a_browser() {
    let f = fixture();
    let p = &f.project;
    let base = &f.server.base;

    // Without a session the forms are not there, and a POST is refused.
    let (code, _) = post(
        &format!("{base}/capabilities/widget/review"),
        None,
        &[("by", "Mallory"), ("csrf", "00")],
    );
    assert_eq!(code, 401);
    // A wrong token, with a good form token: refused, no session.
    let (code, body, form) = confirmation(&format!("{base}/signin"));
    assert_eq!(code, 200, "{body}");
    let (cookie, csrf) = form.unwrap();
    let res = http(
        "POST",
        &format!("{base}/signin"),
        Some(&cookie),
        Some(&[("csrf", csrf.as_str()), ("token", "wrong")]),
    );
    assert_eq!(res.status, 401);
    assert!(
        !res.cookies
            .iter()
            .any(|v| v.starts_with("capwatch_session="))
    );
    // The right token without the form token: refused too.
    let (code, _) = post(
        &format!("{base}/signin"),
        Some(&cookie),
        &[("token", TOKEN)],
    );
    assert_eq!(code, 403);

    let mut browser = Browser::start();
    browser.open(&format!("{base}/capabilities/widget"));
    assert!(browser.text().contains("Sign in"), "{}", browser.text());
    assert_eq!(
        browser.eval("document.querySelectorAll('form.review').length"),
        0
    );

    browser.open(&format!("{base}/signin"));
    browser.fill("#token", "not the token");
    browser.click_and_wait("#signin");
    assert!(
        browser.text().contains("not signed in"),
        "{}",
        browser.text()
    );

    browser.fill("#token", TOKEN);
    browser.click_and_wait("#signin");
    assert!(browser.text().contains("Signed in"), "{}", browser.text());
    // The session cookie is HttpOnly: the page's script cannot read it.
    assert_eq!(browser.eval("document.cookie"), "");

    browser.open(&format!("{base}/capabilities/widget"));
    browser.fill("form.review input[name=by]", "Rita Reviewer");
    browser.fill("form.review input[name=note]", "read the docs page");
    browser.click_and_wait("#record-review");
    assert!(
        browser.url().ends_with("/capabilities/widget"),
        "{}",
        browser.url()
    );
    assert_eq!(reviews(p), 1);
    assert!(
        browser.text().contains("Rita Reviewer"),
        "{}",
        browser.text()
    );

    browser.fill("form.snooze input[name=by]", "Rita Reviewer");
    browser.fill(
        "form.snooze input[name=reason]",
        "docs team confirms next week",
    );
    browser.click_and_wait("#snooze");
    assert_eq!(snoozes(p), 1);

    let events = history(p);
    let review = events.iter().find(|e| e["kind"] == "review").unwrap();
    assert_eq!(review["channel"], "web", "{review}");
    assert_eq!(review["by"], "Rita Reviewer");
    assert_eq!(review["remote_addr"], "127.0.0.1");
    let snooze = events.iter().find(|e| e["kind"] == "snooze").unwrap();
    assert_eq!(snooze["channel"], "web", "{snooze}");
    // The dashboard's timeline shows the channel too.
    browser.open(&format!("{base}/capabilities/widget"));
    assert!(
        browser.text().contains("via web from 127.0.0.1"),
        "{}",
        browser.text()
    );

    // A screenshot of the confirmation page, for the README.
    let href = review_link(&f);
    browser.open(&href);
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"))
        .join("test-artifacts");
    std::fs::create_dir_all(&target).unwrap();
    browser.screenshot(&target.join("confirmation.png"));
}

#[test]
fn cookies_are_strict_and_secure_on_https_and_nothing_writes_without_the_secrets() {
    let f = fixture();
    let base = &f.server.base;
    let res = http("GET", &format!("{base}/signin"), None, None);
    let c = res.cookies.join("\n");
    assert!(
        c.contains("HttpOnly") && c.contains("SameSite=Strict"),
        "{c}"
    );
    assert!(!c.contains("Secure"), "plain http: {c}");

    // Behind https (public_url says so), the cookies are Secure.
    let reg = std::fs::read_to_string(f.project.registry()).unwrap();
    let https = Project::new(&reg.replace(
        &format!("public_url = \"{base}\""),
        "public_url = \"https://capwatch.example.com\"",
    ));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let s = start_with(&https, listener, Some(TOKEN), Some(SECRET));
    let res = http("GET", &format!("{}/signin", s.base), None, None);
    assert!(
        res.cookies.join("\n").contains("; Secure"),
        "{:?}",
        res.cookies
    );
    drop(s);

    // Without CAPWATCH_API_TOKEN and CAPWATCH_SECRET: no sign-in, no forms,
    // no action links.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let s = start_with(&f.project, listener, None, None);
    let b = &s.base;
    assert_eq!(http("GET", &format!("{b}/signin"), None, None).status, 404);
    let href = review_link(&f).replace(base.as_str(), b);
    assert_eq!(http("GET", &href, None, None).status, 404);
    let (code, _) = post(&href, None, &[("csrf", "00")]);
    assert!(code == 404 || code == 405, "{code}");
    let (code, _) = post(
        &format!("{b}/capabilities/widget/review"),
        None,
        &[("by", "x")],
    );
    assert!(code == 404 || code == 405, "{code}");
    let page = http("GET", &format!("{b}/capabilities/widget"), None, None).body;
    assert!(!page.contains("Sign in"), "{page}");
    assert_eq!(reviews(&f.project), 0);
}
