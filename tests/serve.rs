//! The HTTP surface against a store built by real `capwatch check` runs over a
//! local page server: JSON shapes, history filters, escaping of hostile page
//! text on every surface, the Atom feed as XML, reviews and the token,
//! metrics, health, and the dashboard as headless Chromium renders it.

mod common;
use capwatch::serve::{self, ServeState};
use common::*;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

const SCRIPT: &str = "<script>alert(1)</script>";
const IMG: &str = "<img src=x onerror=alert(1)>";

/// A store with three capabilities in three freshness states, claims,
/// observations, one change whose text carries hostile markup, and alerts.
struct Fixture {
    _server: PageServer,
    project: Project,
    /// A moment between the first and the second check.
    between: jiff::Timestamp,
}

fn days_ago(n: i64) -> String {
    let today = jiff::Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .date();
    today
        .checked_sub(jiff::Span::new().days(n))
        .unwrap()
        .to_string()
}

fn registry(server: &PageServer) -> String {
    format!(
        r#"[settings]
timeout = "5s"

[[guide]]
id = "g"
title = "Test guide & <Co>"
validated_on = "{fresh}"
owners = ["owner@example.com"]

[[capability]]
id = "ads-agent"
guide = "g"
name = "Ads Agent"
claim = {{ stage = "beta", access = "gated", regions = ["US"] }}
validated_on = "{old}"

  [[capability.source]]
  id = "ads-agent-docs"
  url = "{agent}"

[[capability]]
id = "audience-lab"
guide = "g"
name = "Audience Lab"
claim = {{ stage = "ga" }}
validated_on = "{soon}"

  [[capability.source]]
  url = "{lab}"

[[capability]]
id = "data-bridge"
guide = "g"
name = "Data Bridge"
claim = {{ stage = "preview" }}

  [[capability.source]]
  url = "{bridge}"
"#,
        fresh = days_ago(1),
        old = days_ago(200),
        soon = days_ago(80),
        agent = server.url("/agent"),
        lab = server.url("/lab"),
        bridge = server.url("/bridge"),
    )
}

fn fixture() -> Fixture {
    let server = PageServer::start();
    server.html(
        "/agent",
        &doc_page(
            "Ads Agent",
            "<p>Ads Agent &lt;img src=x onerror=alert(1)&gt; is in beta.</p>\
             <p>Ads Agent is available by invitation only.</p>",
            "",
        ),
    );
    server.html(
        "/lab",
        &doc_page(
            "Audience Lab",
            "<p>Audience Lab is generally available.</p>",
            "",
        ),
    );
    server.html(
        "/bridge",
        &doc_page("Data Bridge", "<p>Data Bridge is in preview.</p>", ""),
    );
    let project = Project::new(&registry(&server));
    project.capwatch(&["check"]).success();
    std::thread::sleep(Duration::from_millis(30));
    let between = jiff::Timestamp::now();
    std::thread::sleep(Duration::from_millis(30));
    server.html(
        "/agent",
        &doc_page(
            "Ads Agent",
            "<p>Ads Agent is now generally available &lt;script&gt;alert(1)&lt;/script&gt; in the US.</p>\
             <p>Try &lt;img src=x onerror=alert(1)&gt; in the sandbox.</p>",
            "",
        ),
    );
    project.capwatch(&["check"]).success();
    Fixture {
        _server: server,
        project,
        between,
    }
}

/// A running `serve::serve` on 127.0.0.1:0, stopped through a channel on drop.
struct Running {
    base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

async fn start(db: PathBuf, registry_file: &std::path::Path, token: Option<&str>) -> Running {
    let reg = capwatch::config::load(registry_file).unwrap();
    let state = ServeState::new(Arc::new(RwLock::new(reg)), db, token.map(String::from));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        serve::serve(listener, state, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    Running {
        base: format!("http://{addr}"),
        stop: Some(tx),
    }
}

async fn start_for(f: &Fixture, token: Option<&str>) -> Running {
    start(f.project.db(), &f.project.registry(), token).await
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

async fn get(url: &str) -> (u16, String, String) {
    let res = reqwest::get(url).await.unwrap();
    let status = res.status().as_u16();
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (status, ct, res.text().await.unwrap())
}

async fn get_json(url: &str) -> (u16, Value) {
    let (status, ct, body) = get(url).await;
    assert!(ct.starts_with("application/json"), "{url}: {ct}: {body}");
    let v = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{url}: not JSON ({e}): {body}"));
    (status, v)
}

fn assert_status_row(row: &Value) {
    for key in [
        "id",
        "name",
        "guide",
        "claim",
        "observed",
        "validated_on",
        "expires_on",
        "state",
        "flags",
    ] {
        assert!(row.get(key).is_some(), "status row lacks {key}: {row}");
    }
    for key in ["stage", "access", "regions"] {
        assert!(row["claim"].get(key).is_some(), "claim lacks {key}: {row}");
        assert!(
            row["observed"].get(key).is_some(),
            "observed lacks {key}: {row}"
        );
    }
    assert!(row["observed"]["evidence"].is_array(), "{row}");
    for e in row["observed"]["evidence"].as_array().unwrap() {
        for key in ["source", "url", "quote"] {
            assert!(e[key].is_string(), "evidence lacks {key}: {e}");
        }
    }
    assert!(row["flags"].is_array());
}

fn no_raw_payload(what: &str, body: &str) {
    assert!(
        !body.contains("<script>alert"),
        "{what} carries a raw <script>: {body}"
    );
    assert!(
        !body.contains("<img src=x onerror") && !body.contains("<img src=\"x\""),
        "{what} carries a raw <img onerror>: {body}"
    );
}

#[test]
fn api_rows_detail_history_changes_and_errors() {
    let f = fixture();
    rt().block_on(async {
        let s = start_for(&f, None).await;
        let b = &s.base;

        let (code, rows) = get_json(&format!("{b}/api/v1/capabilities")).await;
        assert_eq!(code, 200);
        let rows = rows.as_array().unwrap();
        assert_eq!(rows.len(), 3);
        rows.iter().for_each(assert_status_row);
        let agent = rows.iter().find(|r| r["id"] == "ads-agent").unwrap();
        assert_eq!(agent["name"], "Ads Agent");
        assert_eq!(agent["guide"], "g");
        assert_eq!(agent["claim"]["stage"], "beta");
        assert_eq!(agent["claim"]["access"], "gated");
        assert_eq!(agent["claim"]["regions"], serde_json::json!(["US"]));
        assert_eq!(agent["observed"]["stage"], "ga");
        assert_eq!(agent["state"], "expired");
        assert!(
            agent["observed"]["evidence"][0]["quote"]
                .as_str()
                .unwrap()
                .contains(SCRIPT),
            "the JSON keeps the page's text as data: {agent}"
        );
        let flags: Vec<&str> = agent["flags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap())
            .collect();
        assert!(
            flags.contains(&"drift") && flags.contains(&"expired"),
            "{flags:?}"
        );
        let state_of = |id: &str| {
            rows.iter().find(|r| r["id"] == id).unwrap()["state"]
                .as_str()
                .unwrap()
                .to_string()
        };
        assert_eq!(state_of("audience-lab"), "due_soon");
        assert_eq!(state_of("data-bridge"), "fresh");

        let (_, only_g) = get_json(&format!("{b}/api/v1/capabilities?guide=g")).await;
        assert_eq!(only_g.as_array().unwrap().len(), 3);
        let (code, err) = get_json(&format!("{b}/api/v1/capabilities?guide=nope")).await;
        assert_eq!((code, err["error"].is_string()), (404, true));

        // One capability: the row plus sources and the guide's freshness.
        let (code, one) = get_json(&format!("{b}/api/v1/capabilities/ads-agent")).await;
        assert_eq!(code, 200);
        assert_status_row(&one);
        let src = &one["sources"][0];
        assert_eq!(src["id"], "ads-agent-docs");
        assert_eq!(src["current_snapshot"]["seq"], 2);
        assert_eq!(src["last_check"]["outcome"], "ok");
        assert_eq!(src["latest_change"]["from"]["seq"], 1);
        assert_eq!(src["latest_change"]["to"]["seq"], 2);
        let change_id = src["latest_change"]["id"].as_i64().unwrap();
        assert_eq!(one["guide_freshness"]["id"], "g");
        assert_eq!(one["guide_freshness"]["state"], "fresh");
        assert_eq!(one["guide_freshness"]["title"], "Test guide & <Co>");

        // History: every kind the timeline carries, oldest first.
        let (code, events) = get_json(&format!("{b}/api/v1/capabilities/ads-agent/history")).await;
        assert_eq!(code, 200);
        let events = events.as_array().unwrap();
        let kinds: Vec<&str> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
        for k in ["claim", "observation", "change", "alert"] {
            assert!(kinds.contains(&k), "no {k} in {kinds:?}");
        }
        let ats: Vec<&str> = events.iter().map(|e| e["at"].as_str().unwrap()).collect();
        let mut sorted = ats.clone();
        sorted.sort();
        assert_eq!(ats, sorted, "events are oldest first");
        let obs: Vec<&Value> = events
            .iter()
            .filter(|e| e["kind"] == "observation")
            .collect();
        assert_eq!(obs.len(), 2);
        assert_eq!(obs[0]["stage"], "beta");
        assert!(
            obs[0]["quote"].as_str().unwrap().contains(IMG),
            "{}",
            obs[0]
        );
        assert_eq!(obs[1]["stage"], "ga");
        for o in &obs {
            for key in ["stage", "access", "regions", "quote", "source"] {
                assert!(o.get(key).is_some(), "observation lacks {key}: {o}");
            }
        }
        let ch = events.iter().find(|e| e["kind"] == "change").unwrap();
        assert_eq!((ch["from"].as_i64(), ch["to"].as_i64()), (Some(1), Some(2)));
        assert_eq!(ch["source"], "ads-agent-docs");

        // since/until split the story at the moment between the two checks.
        let between = capwatch::report::rfc3339(f.between);
        let (_, after) = get_json(&format!(
            "{b}/api/v1/capabilities/ads-agent/history?since={between}"
        ))
        .await;
        let after_kinds: Vec<&str> = after
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap())
            .collect();
        assert!(after_kinds.contains(&"change"), "{after_kinds:?}");
        assert!(!after_kinds.contains(&"claim"), "{after_kinds:?}");
        let (_, before) = get_json(&format!(
            "{b}/api/v1/capabilities/ads-agent/history?until={between}"
        ))
        .await;
        let before = before.as_array().unwrap();
        assert!(before.iter().all(|e| e["kind"] != "change"), "{before:?}");
        assert!(before.iter().any(|e| e["kind"] == "claim"));

        // as_of: one status row as it stood then.
        let (code, then) = get_json(&format!(
            "{b}/api/v1/capabilities/ads-agent/history?as_of={between}"
        ))
        .await;
        assert_eq!(code, 200);
        assert_status_row(&then);
        assert_eq!(then["observed"]["stage"], "beta");
        assert_eq!(then["as_of"], between.as_str());
        assert_eq!(then["drift"], serde_json::json!([]));
        let (_, now) = get_json(&format!(
            "{b}/api/v1/capabilities/ads-agent/history?as_of=now"
        ))
        .await;
        assert_eq!(now["observed"]["stage"], "ga");

        // Changes of a source, and one change with its diff.
        let (code, changes) = get_json(&format!("{b}/api/v1/sources/ads-agent-docs/changes")).await;
        assert_eq!(code, 200);
        let changes = changes.as_array().unwrap();
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0]["id"].as_i64(), Some(change_id));
        assert_eq!(changes[0]["capability"], "ads-agent");
        let (_, none) = get_json(&format!(
            "{b}/api/v1/sources/ads-agent-docs/changes?until={between}"
        ))
        .await;
        assert_eq!(none, serde_json::json!([]));
        let (code, change) = get_json(&format!("{b}/api/v1/changes/{change_id}")).await;
        assert_eq!(code, 200);
        let diff = change["diff"].as_str().unwrap();
        assert!(diff.contains("--- ads-agent-docs snapshot 1"), "{diff}");
        assert!(
            diff.contains(&format!("+Ads Agent is now generally available {SCRIPT}")),
            "{diff}"
        );
        let lines = change["lines"].as_array().unwrap();
        assert!(lines.iter().any(|l| l["tag"] == "+"));
        assert!(lines.iter().any(|l| l["tag"] == "-"));
        assert!(lines.iter().all(|l| l["text"].is_string()));

        // Guides.
        let (_, guides) = get_json(&format!("{b}/api/v1/guides")).await;
        assert_eq!(guides[0]["id"], "g");
        assert_eq!(guides[0]["state"], "fresh");
        assert!(
            guides[0]["flags"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f == "drift")
        );

        // Errors are JSON with 404 / 400.
        for (url, code) in [
            ("/api/v1/capabilities/nope", 404),
            ("/api/v1/capabilities/nope/history", 404),
            (
                "/api/v1/capabilities/ads-agent/history?since=yesterday-ish",
                400,
            ),
            (
                "/api/v1/capabilities/ads-agent/history?as_of=now&since=2026-01-01",
                400,
            ),
            (
                "/api/v1/capabilities/ads-agent/history?since=2026-02-01&until=2026-01-01",
                400,
            ),
            ("/api/v1/sources/nope/changes", 404),
            ("/api/v1/changes/999999", 404),
            ("/api/v1/changes/abc", 400),
            ("/api/v1/nothing-here", 404),
        ] {
            let (got, v) = get_json(&format!("{b}{url}")).await;
            assert_eq!(got, code, "{url}: {v}");
            assert!(
                v["error"].as_str().is_some_and(|m| !m.is_empty()),
                "{url}: {v}"
            );
        }
    });
}

#[test]
fn hostile_page_text_is_escaped_on_every_surface() {
    let f = fixture();
    rt().block_on(async {
        let s = start_for(&f, None).await;
        let b = &s.base;
        let (_, changes) = get_json(&format!("{b}/api/v1/sources/ads-agent-docs/changes")).await;
        let change_id = changes[0]["id"].as_i64().unwrap();

        let (code, ct, index) = get(&format!("{b}/")).await;
        assert_eq!(code, 200);
        assert!(ct.starts_with("text/html"), "{ct}");
        no_raw_payload("/", &index);
        assert!(
            index.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{index}"
        );
        assert!(index.contains("Test guide &amp; &lt;Co&gt;"), "{index}");

        let (code, _, page) = get(&format!("{b}/capabilities/ads-agent")).await;
        assert_eq!(code, 200);
        no_raw_payload("/capabilities/ads-agent", &page);
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(
            page.contains("&lt;img src=x onerror=alert(1)&gt;"),
            "the v1 quote"
        );
        assert!(page.contains(&format!("href=\"/changes/{change_id}\"")));
        assert!(page.contains("<svg class=\"strip\""));
        // The JSON data island cannot be closed by page text.
        let island = page
            .split("<script type=\"application/json\" id=\"capwatch-status\">")
            .nth(1)
            .and_then(|rest| rest.split("</script>").next())
            .expect("a data island");
        assert!(!island.contains('<'), "{island}");
        let data: Value = serde_json::from_str(island).unwrap();
        assert!(
            data["observed"]["evidence"][0]["quote"]
                .as_str()
                .unwrap()
                .contains(SCRIPT)
        );
        // Only http(s) URLs become links: the file: guide is not one, the pages are.
        assert!(page.contains("href=\"http://127.0.0.1:"));

        let (code, _, diff) = get(&format!("{b}/changes/{change_id}")).await;
        assert_eq!(code, 200);
        no_raw_payload("/changes/{id}", &diff);
        assert!(diff.contains("<tr class=\"add\">"));
        assert!(diff.contains("<tr class=\"del\">"));
        assert!(diff.contains("&lt;img src=x onerror=alert(1)&gt;"));

        for path in ["/feed.atom", "/guides/g/feed.atom"] {
            let (code, ct, feed) = get(&format!("{b}{path}")).await;
            assert_eq!(code, 200);
            assert!(ct.starts_with("application/atom+xml"), "{ct}");
            no_raw_payload(path, &feed);
            // HTML inside the feed is escaped twice: once as HTML, once as XML.
            assert!(
                feed.contains("&amp;lt;script&amp;gt;alert(1)&amp;lt;/script&amp;gt;"),
                "{feed}"
            );
            let doc = roxmltree::Document::parse(&feed).unwrap();
            for content in doc.descendants().filter(|n| n.has_tag_name("content")) {
                let html = content.text().unwrap_or_default();
                no_raw_payload("feed content after XML decoding", html);
            }
        }
        // Pages carry a CSP that forbids scripts outright.
        let res = reqwest::get(format!("{b}/")).await.unwrap();
        let csp = res.headers()["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'none'"), "{csp}");
        let (code, _, missing) = get(&format!(
            "{b}/capabilities/%3Cscript%3Ealert(1)%3C%2Fscript%3E"
        ))
        .await;
        assert_eq!(code, 404);
        no_raw_payload("404 page", &missing);
    });
}

const ATOM: &str = "http://www.w3.org/2005/Atom";

fn child<'a, 'i>(n: roxmltree::Node<'a, 'i>, name: &str) -> roxmltree::Node<'a, 'i> {
    n.children()
        .find(|c| c.has_tag_name((ATOM, name)))
        .unwrap_or_else(|| panic!("no <{name}> in {n:?}"))
}

#[test]
fn atom_feed_is_well_formed_atom() {
    let f = fixture();
    rt().block_on(async {
        let s = start_for(&f, None).await;
        let (_, _, xml) = get(&format!("{}/feed.atom", s.base)).await;
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let atom = ATOM;
        let feed = doc.root_element();
        assert_eq!(feed.tag_name().name(), "feed");
        assert_eq!(feed.tag_name().namespace(), Some(atom));
        assert!(!child(feed, "id").text().unwrap().is_empty());
        assert!(!child(feed, "title").text().unwrap().is_empty());
        let updated = child(feed, "updated").text().unwrap();
        updated.parse::<jiff::Timestamp>().unwrap();
        assert!(
            child(feed, "author")
                .children()
                .any(|c| c.has_tag_name((atom, "name")))
        );
        let entries: Vec<_> = feed
            .children()
            .filter(|c| c.has_tag_name((atom, "entry")))
            .collect();
        let mut categories = std::collections::BTreeSet::new();
        let mut ids = std::collections::BTreeSet::new();
        for e in &entries {
            let id = child(*e, "id").text().unwrap();
            assert!(id.starts_with("urn:capwatch:"), "{id}");
            assert!(ids.insert(id.to_string()), "duplicate entry id {id}");
            assert!(!child(*e, "title").text().unwrap().is_empty());
            child(*e, "updated")
                .text()
                .unwrap()
                .parse::<jiff::Timestamp>()
                .unwrap();
            let href = child(*e, "link").attribute("href").unwrap();
            assert!(href.starts_with(&s.base), "{href}");
            let content = child(*e, "content");
            assert_eq!(content.attribute("type"), Some("html"));
            categories.insert(child(*e, "category").attribute("term").unwrap().to_string());
        }
        for c in ["change", "observation", "alert"] {
            assert!(categories.contains(c), "no {c} entry: {categories:?}");
        }
        // The change entry's HTML, once XML-decoded, shows the payload as text.
        let change = entries
            .iter()
            .find(|e| child(**e, "category").attribute("term") == Some("change"))
            .unwrap();
        let html = child(*change, "content").text().unwrap();
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{html}"
        );

        let (code, _, _) = get(&format!("{}/guides/nope/feed.atom", s.base)).await;
        assert_eq!(code, 404);
    });
}

async fn post_review(base: &str, auth: Option<&str>, body: &str) -> (u16, Value) {
    let client = reqwest::Client::new();
    let mut req = client
        .post(format!("{base}/api/v1/reviews"))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    let res = req.send().await.unwrap();
    let code = res.status().as_u16();
    let text = res.text().await.unwrap();
    (
        code,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[test]
fn reviews_need_the_token_and_make_the_capability_fresh() {
    let f = fixture();
    rt().block_on(async {
        // Without a token the write route does not exist.
        let ro = start_for(&f, None).await;
        let (code, _) = post_review(
            &ro.base,
            Some("Bearer anything"),
            r#"{"capability": "ads-agent", "by": "Ana"}"#,
        )
        .await;
        assert!(code == 404 || code == 405, "{code}");
        drop(ro);

        let s = start_for(&f, Some("s3cret-token")).await;
        let b = &s.base;
        let body =
            r#"{"capability": "ads-agent", "by": "Ana Reviewer", "note": "checked <b>docs</b>"}"#;
        for auth in [
            None,
            Some("Bearer wrong"),
            Some("Bearer s3cret-tokeN"),
            Some("Basic s3cret-token"),
            Some("s3cret-token"),
        ] {
            let (code, v) = post_review(b, auth, body).await;
            assert_eq!(code, 401, "{auth:?}: {v}");
            assert!(v["error"].is_string());
        }
        let (_, before) = get_json(&format!("{b}/api/v1/capabilities/ads-agent")).await;
        assert_eq!(before["state"], "expired");

        let (code, v) = post_review(b, Some("Bearer s3cret-token"), body).await;
        assert_eq!(code, 201, "{v}");
        assert_eq!(v["review"]["by"], "Ana Reviewer");
        assert_eq!(v["review"]["subject_id"], "ads-agent");
        assert_eq!(
            v["review"]["sources"],
            serde_json::json!(["ads-agent-docs"])
        );
        assert_eq!(v["capabilities"][0]["state"], "fresh");

        assert!(v["alerts"]["queued"].is_u64(), "{v}");
        // The alerts the review cleared were never delivered: withdrawn.
        let (_, _, m) = get(&format!("{b}/metrics")).await;
        assert!(!m.contains("capwatch_alerts{state=\"withdrawn\"} 0"), "{m}");
        let (_, after) = get_json(&format!("{b}/api/v1/capabilities/ads-agent")).await;
        assert_eq!(after["state"], "fresh");
        assert_eq!(after["last_review"]["by"], "Ana Reviewer");
        let flags = after["flags"].as_array().unwrap();
        assert!(
            !flags
                .iter()
                .any(|f| f == "expired" || f == "source_changed"),
            "{flags:?}"
        );
        assert!(
            flags.iter().any(|f| f == "drift"),
            "a review does not hide drift"
        );
        let (_, events) = get_json(&format!("{b}/api/v1/capabilities/ads-agent/history")).await;
        assert!(
            events
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["kind"] == "review"
                    && e["by"] == "Ana Reviewer"
                    && e["channel"] == "api"
                    && e["remote_addr"] == "127.0.0.1")
        );
        let (_, _, page) = get(&format!("{b}/capabilities/ads-agent")).await;
        assert!(
            page.contains("checked &lt;b&gt;docs&lt;/b&gt;"),
            "the note is escaped"
        );

        // A guide review covers its capabilities.
        let (code, v) = post_review(
            b,
            Some("bearer s3cret-token"),
            r#"{"guide": "g", "by": "Bo"}"#,
        )
        .await;
        assert_eq!(code, 201, "{v}");
        assert_eq!(v["capabilities"].as_array().unwrap().len(), 3);
        let (_, rows) = get_json(&format!("{b}/api/v1/capabilities")).await;
        assert!(
            rows.as_array()
                .unwrap()
                .iter()
                .all(|r| r["state"] == "fresh"),
            "{rows}"
        );

        // Bad requests say what is wrong.
        for (body, code) in [
            (r#"{"by": "Ana"}"#, 400),
            (
                r#"{"capability": "ads-agent", "guide": "g", "by": "Ana"}"#,
                400,
            ),
            (r#"{"capability": "ads-agent", "by": "  "}"#, 400),
            (
                r#"{"capability": "ads-agent", "by": "Ana", "extra": 1}"#,
                400,
            ),
            ("not json", 400),
            (r#"{"capability": "nope", "by": "Ana"}"#, 404),
            (r#"{"guide": "nope", "by": "Ana"}"#, 404),
        ] {
            let (got, v) = post_review(b, Some("Bearer s3cret-token"), body).await;
            assert_eq!(got, code, "{body}: {v}");
            assert!(v["error"].is_string(), "{body}: {v}");
        }
    });
}

#[test]
fn metrics_health_and_openapi() {
    let f = fixture();
    rt().block_on(async {
        let s = start_for(&f, None).await;
        let b = &s.base;
        let (code, ct, m) = get(&format!("{b}/metrics")).await;
        assert_eq!(code, 200);
        assert!(ct.starts_with("text/plain"), "{ct}");
        for needle in [
            "# TYPE capwatch_checks_total counter",
            "capwatch_checks_total{outcome=\"ok\"} ",
            "# TYPE capwatch_fetch_duration_seconds histogram",
            "capwatch_fetch_duration_seconds_bucket{le=\"+Inf\"} 6",
            "capwatch_fetch_duration_seconds_count 6",
            "capwatch_fetch_duration_seconds_sum ",
            "capwatch_pages_changed_total 1",
            "capwatch_alerts{state=\"pending\"} ",
            "capwatch_alerts{state=\"sent\"} 0",
            "capwatch_alerts{state=\"failed\"} 0",
            "capwatch_capabilities{state=\"fresh\"} 1",
            "capwatch_capabilities{state=\"due_soon\"} 1",
            "capwatch_capabilities{state=\"expired\"} 1",
            "capwatch_capabilities_flagged{flag=\"drift\"} 1",
        ] {
            assert!(m.contains(needle), "no `{needle}` in\n{m}");
        }
        // Every sample line is `name{labels} number`.
        for line in m.lines().filter(|l| !l.starts_with('#')) {
            let value = line.rsplit(' ').next().unwrap();
            value
                .parse::<f64>()
                .unwrap_or_else(|_| panic!("bad sample: {line}"));
        }

        let (code, _, body) = get(&format!("{b}/healthz")).await;
        assert_eq!((code, body.as_str()), (200, "ok\n"));

        // The OpenAPI document names every route the router serves.
        let (code, doc) = get_json(&format!("{b}/api/v1/openapi.json")).await;
        assert_eq!(code, 200);
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        for path in [
            "/api/v1/capabilities",
            "/api/v1/capabilities/{id}",
            "/api/v1/capabilities/{id}/history",
            "/api/v1/guides",
            "/api/v1/sources/{id}/changes",
            "/api/v1/changes/{id}",
            "/api/v1/reviews",
            "/api/v1/openapi.json",
            "/feed.atom",
            "/guides/{id}/feed.atom",
            "/metrics",
            "/healthz",
            "/",
            "/capabilities/{id}",
            "/changes/{id}",
        ] {
            assert!(doc["paths"].get(path).is_some(), "OpenAPI lacks {path}");
        }
        // Every $ref points at something in the document.
        let text = doc.to_string();
        for r in text.split("\"$ref\":\"#/").skip(1) {
            let pointer = format!("/{}", r.split('"').next().unwrap());
            assert!(doc.pointer(&pointer).is_some(), "dangling $ref {pointer}");
        }
        drop(s);

        // No database: health says so.
        let dir = tempfile::tempdir().unwrap();
        let gone = start(dir.path().join("missing.db"), &f.project.registry(), None).await;
        let (code, _, body) = get(&format!("{}/healthz", gone.base)).await;
        assert_eq!(code, 503, "{body}");
        assert!(body.contains("database"), "{body}");
    });
}

/// The paths an axum router serves, read from its `Debug` output (axum has no
/// public route list; its debug form names every path it matches).
fn router_paths(router: &axum::Router) -> std::collections::BTreeSet<String> {
    let debug = format!("{router:?}");
    debug
        .split('"')
        .skip(1)
        .step_by(2)
        .filter(|s| s.starts_with('/') && !s.contains("__private__axum"))
        .map(str::to_string)
        .collect()
}

/// The schema of one response in the OpenAPI document, as a JSON Schema
/// whose `#/components/...` references resolve against the document.
fn response_schema(doc: &Value, path: &str, method: &str, status: &str, ct: &str) -> Value {
    let media = &doc["paths"][path][method]["responses"][status]["content"][ct];
    let mut schema = media["schema"].clone();
    assert!(
        schema.is_object(),
        "no {ct} schema for {method} {path} {status}"
    );
    schema["components"] = doc["components"].clone();
    schema
}

fn assert_valid(schema: &Value, body: &Value, what: &str) {
    let validator = jsonschema::draft202012::new(schema)
        .unwrap_or_else(|e| panic!("{what}: the schema does not compile: {e}\n{schema:#}"));
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what}: the response does not match its schema:\n{}\n{body:#}",
        errors.join("\n")
    );
}

/// The OpenAPI document is generated from the handlers and their types: every
/// route the router serves is in it, every documented path answers, and each
/// JSON endpoint's real answers (over a store with changes, observations,
/// failed checks, reviews, snoozes and alerts) match the schema documented
/// for them, errors included.
#[test]
fn every_route_is_documented_and_every_json_answer_matches_its_schema() {
    let f = fixture();
    // A failed check and a snooze, so the history has every kind of event.
    f._server.set(
        "/bridge",
        b"<h1>down</h1>",
        "text/html",
        common::Behavior::Status(500),
    );
    f.project.capwatch(&["check"]).success();
    f.project
        .capwatch(&[
            "snooze",
            "ads-agent",
            "--kind",
            "drift",
            "--until",
            &days_ago(-7),
            "--reason",
            "waiting for the <docs> team",
        ])
        .success();
    let token = "t0ken";
    rt().block_on(async {
        let s = start_for(&f, Some(token)).await;
        let b = &s.base;
        let (code, doc) = get_json(&format!("{b}/api/v1/openapi.json")).await;
        assert_eq!(code, 200);
        assert_eq!(doc["openapi"], "3.1.0");

        // Router ⊆ document, with the write routes registered (the API
        // token's and the e-mail action links').
        let reg = capwatch::config::load(&f.project.registry()).unwrap();
        let state = ServeState::with_link_key(
            Arc::new(RwLock::new(reg)),
            f.project.db(),
            Some(token.into()),
            Some(capwatch::notify::link::LinkKey::new(b"k")),
        );
        let served = router_paths(&serve::router(state));
        assert!(served.len() >= 15, "too few routes read: {served:?}");
        for path in &served {
            assert!(
                doc["paths"].get(path).is_some(),
                "{path} is served but not in the OpenAPI document"
            );
        }
        let documented: Vec<&String> = doc["paths"].as_object().unwrap().keys().collect();
        assert_eq!(
            documented.len(),
            served.len(),
            "{documented:?} vs {served:?}"
        );

        let (_, changes) = get_json(&format!("{b}/api/v1/sources/ads-agent-docs/changes")).await;
        let change = changes[0]["id"].as_i64().unwrap().to_string();
        // Concrete requests for each documented path: (query, expected status).
        let examples = |path: &str| -> Vec<(String, &'static str)> {
            let ok = |p: String| (p, "200");
            match path {
                "/api/v1/capabilities" => vec![
                    ok(path.into()),
                    ok(format!("{path}?guide=g")),
                    (format!("{path}?guide=nope"), "404"),
                ],
                "/api/v1/capabilities/{id}" | "/capabilities/{id}" => {
                    let mut v: Vec<_> = ["ads-agent", "audience-lab", "data-bridge"]
                        .map(|id| ok(path.replace("{id}", id)))
                        .into();
                    v.push((path.replace("{id}", "nope"), "404"));
                    v
                }
                "/api/v1/capabilities/{id}/history" => {
                    let mut v: Vec<_> = ["ads-agent", "audience-lab", "data-bridge"]
                        .map(|id| ok(path.replace("{id}", id)))
                        .into();
                    let p = path.replace("{id}", "ads-agent");
                    v.push(ok(format!("{p}?as_of=now")));
                    v.push(ok(format!("{p}?as_of={}", f.between)));
                    v.push(ok(format!("{p}?since=2000-01-01&until=now")));
                    v.push((format!("{p}?since=tomorrow"), "400"));
                    v.push((path.replace("{id}", "nope"), "404"));
                    v
                }
                "/api/v1/sources/{id}/changes" => vec![
                    ok(path.replace("{id}", "ads-agent-docs")),
                    ok(path.replace("{id}", "data-bridge")),
                    (path.replace("{id}", "nope"), "404"),
                ],
                "/api/v1/changes/{id}" | "/changes/{id}" => vec![
                    ok(path.replace("{id}", &change)),
                    (path.replace("{id}", "x"), "400"),
                    (path.replace("{id}", "999999"), "404"),
                ],
                "/guides/{id}/feed.atom" => vec![
                    ok(path.replace("{id}", "g")),
                    (path.replace("{id}", "nope"), "404"),
                ],
                "/api/v1/reviews" => vec![],
                // Action links need CAPWATCH_SECRET, which this server lacks;
                // tests/actions.rs drives them.
                "/act/{token}" => vec![],
                _ => vec![ok(path.into())],
            }
        };
        let mut json_answers = 0;
        for (path, ops) in doc["paths"].as_object().unwrap() {
            for (method, op) in ops.as_object().unwrap() {
                if method != "get" {
                    continue;
                }
                let documented = op["responses"].as_object().unwrap();
                for (url, status) in examples(path) {
                    let res = reqwest::get(format!("{b}{url}")).await.unwrap();
                    let code = res.status().as_u16().to_string();
                    let ct = res.headers()["content-type"].to_str().unwrap().to_string();
                    let body = res.text().await.unwrap();
                    assert_eq!(code, status, "GET {url}: {body}");
                    let content = documented
                        .get(status)
                        .unwrap_or_else(|| panic!("GET {url}: {status} is not documented"))
                        ["content"]
                        .as_object()
                        .unwrap_or_else(|| panic!("GET {url}: {status} has no content"));
                    let media = content
                        .keys()
                        .find(|m| ct.starts_with(m.split(';').next().unwrap()))
                        .unwrap_or_else(|| {
                            panic!("GET {url}: {ct} is not among {:?}", content.keys())
                        });
                    if media == "application/json" {
                        let v: Value = serde_json::from_str(&body).unwrap();
                        let schema = response_schema(&doc, path, "get", status, media);
                        assert_valid(&schema, &v, &format!("GET {url}"));
                        json_answers += 1;
                    }
                }
            }
        }
        assert!(json_answers >= 20, "{json_answers}");

        // The history above carried every kind of event.
        let (_, events) = get_json(&format!("{b}/api/v1/capabilities/ads-agent/history")).await;
        let (_, bridge) = get_json(&format!("{b}/api/v1/capabilities/data-bridge/history")).await;
        let kinds: std::collections::BTreeSet<&str> = events
            .as_array()
            .unwrap()
            .iter()
            .chain(bridge.as_array().unwrap())
            .map(|e| e["kind"].as_str().unwrap())
            .collect();
        for k in [
            "claim",
            "observation",
            "change",
            "check_failed",
            "snooze",
            "alert",
        ] {
            assert!(kinds.contains(k), "no {k} event: {kinds:?}");
        }

        // The write route: its 201 and its errors.
        let post = "/api/v1/reviews";
        for (auth, body, status) in [
            (
                Some(token),
                r#"{"capability": "ads-agent", "by": "Ana", "note": "ok"}"#,
                "201",
            ),
            (Some(token), r#"{"guide": "g", "by": "Bo"}"#, "201"),
            (None, r#"{"guide": "g", "by": "Bo"}"#, "401"),
            (Some(token), r#"{"by": "Bo"}"#, "400"),
            (Some(token), r#"{"capability": "nope", "by": "Bo"}"#, "404"),
        ] {
            let auth = auth.map(|t| format!("Bearer {t}"));
            let (code, v) = post_review(b, auth.as_deref(), body).await;
            assert_eq!(code.to_string(), status, "{body}: {v}");
            let schema = response_schema(&doc, post, "post", status, "application/json");
            assert_valid(&schema, &v, &format!("POST {post} {body}"));
        }
        // After the review the history has a review event, and still matches.
        let url = "/api/v1/capabilities/ads-agent/history";
        let (_, events) = get_json(&format!("{b}{url}")).await;
        assert!(
            events
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["kind"] == "review")
        );
        let schema = response_schema(
            &doc,
            "/api/v1/capabilities/{id}/history",
            "get",
            "200",
            "application/json",
        );
        assert_valid(&schema, &events, url);
    });
}

#[test]
fn readers_do_not_wait_for_a_writer() {
    let f = fixture();
    // Another connection holds the write lock, as the daemon does mid-check.
    let writer = rusqlite::Connection::open(f.project.db()).unwrap();
    writer
        .execute_batch("BEGIN IMMEDIATE; UPDATE source SET failures = failures WHERE 0;")
        .unwrap();
    rt().block_on(async {
        let s = start_for(&f, None).await;
        let started = std::time::Instant::now();
        for path in ["/api/v1/capabilities", "/", "/metrics"] {
            let (code, _, _) = get(&format!("{}{path}", s.base)).await;
            assert_eq!(code, 200, "{path}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "readers waited {:?} for the writer",
            started.elapsed()
        );
    });
    writer.execute_batch("COMMIT").unwrap();
}

/// Headless Chromium, or a failure that says how to get it.
fn chromium() -> PathBuf {
    if let Some(p) = std::env::var_os("CAPWATCH_CHROMIUM") {
        return PathBuf::from(p);
    }
    for name in [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ] {
        for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
            let p = dir.join(name);
            if p.is_file() {
                return p;
            }
        }
    }
    panic!(
        "this test drives a real browser: install headless Chromium with `apt-get install -y chromium` \
         (CI installs it), or point CAPWATCH_CHROMIUM at a Chrome/Chromium binary"
    );
}

async fn run_chromium(bin: &std::path::Path, args: &[String]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let mut cmd = tokio::process::Command::new(bin);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
    ])
    .arg(format!("--user-data-dir={}", profile.path().display()))
    .args(args)
    .kill_on_drop(true)
    .stdin(std::process::Stdio::null());
    let out = tokio::time::timeout(Duration::from_secs(120), cmd.output())
        .await
        .expect("chromium did not finish within 120 s")
        .expect("chromium could not be started");
    assert!(
        out.status.success(),
        "chromium failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn artifacts() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join("test-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Pixels within a small distance of `rgb`.
fn pixels_like(png_path: &std::path::Path, rgb: [u8; 3]) -> usize {
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(png_path).unwrap(),
    ));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let step = match info.color_type {
        png::ColorType::Rgba => 4,
        png::ColorType::Rgb => 3,
        other => panic!("unexpected PNG colour type {other:?}"),
    };
    buf[..info.buffer_size()]
        .chunks_exact(step)
        .filter(|p| (0..3).all(|i| (p[i] as i32 - rgb[i] as i32).abs() <= 8))
        .count()
}

#[test]
fn headless_chromium_renders_the_dashboard() {
    let bin = chromium();
    let f = fixture();
    rt().block_on(async {
        let s = start_for(&f, None).await;
        let dom = run_chromium(&bin, &["--dump-dom".into(), format!("{}/", s.base)]).await;
        for name in [
            "Ads Agent",
            "Audience Lab",
            "Data Bridge",
            "Test guide &amp; &lt;Co&gt;",
        ] {
            assert!(dom.contains(name), "the rendered page lacks {name}:\n{dom}");
        }
        for class in [
            "state state-expired",
            "state state-due_soon",
            "state state-fresh",
        ] {
            assert!(
                dom.contains(&format!("class=\"{class}\"")),
                "no {class} in the DOM"
            );
        }
        assert!(
            dom.contains("days overdue") && dom.contains("days left"),
            "{dom}"
        );
        assert!(dom.contains("drift: stage"), "{dom}");
        // What the browser built from the hostile text is text, not elements.
        no_raw_payload("rendered DOM of /", &dom);
        assert!(
            dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{dom}"
        );

        let shot = artifacts().join("dashboard.png");
        let _ = std::fs::remove_file(&shot);
        run_chromium(
            &bin,
            &[
                format!("--screenshot={}", shot.display()),
                "--window-size=1280,900".into(),
                format!("{}/", s.base),
            ],
        )
        .await;
        assert!(shot.is_file(), "no screenshot at {}", shot.display());
        // The freshness colours were painted: red, amber and green badges.
        for (what, rgb) in [
            ("expired red", [0xc5, 0x22, 0x1f]),
            ("due-soon amber", [0xf2, 0xb6, 0x00]),
            ("fresh green", [0x1e, 0x7b, 0x34]),
        ] {
            let n = pixels_like(&shot, rgb);
            assert!(n > 150, "only {n} {what} pixels in {}", shot.display());
        }

        let dom = run_chromium(
            &bin,
            &[
                "--dump-dom".into(),
                format!("{}/capabilities/ads-agent", s.base),
            ],
        )
        .await;
        no_raw_payload("rendered DOM of /capabilities/ads-agent", &dom);
        assert!(
            dom.contains("data-stage=\"ga\"") && dom.contains("data-stage=\"beta\""),
            "{dom}"
        );
        let shot = artifacts().join("capability.png");
        run_chromium(
            &bin,
            &[
                format!("--screenshot={}", shot.display()),
                "--window-size=1280,1400".into(),
                format!("{}/capabilities/ads-agent", s.base),
            ],
        )
        .await;
        assert!(shot.is_file());
    });
}

/// A child process stopped with SIGTERM on drop if still running.
struct Proc(std::process::Child);

impl Drop for Proc {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

fn term(child: &mut std::process::Child) -> std::process::ExitStatus {
    let ok = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -TERM failed");
    let start = std::time::Instant::now();
    while start.elapsed() < Duration::from_secs(10) {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the server did not stop within 10 s of SIGTERM");
}

/// Read lines from `r` until one contains `needle`; return the text after it.
fn line_after(r: &mut impl std::io::BufRead, needle: &str) -> String {
    let mut seen = String::new();
    for _ in 0..200 {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap() == 0 {
            break;
        }
        if let Some(i) = line.find(needle) {
            return line[i + needle.len()..].trim().to_string();
        }
        seen.push_str(&line);
    }
    panic!("no line with {needle:?} in:\n{seen}");
}

#[test]
fn capwatch_serve_binary_reads_the_token_and_stops_on_sigterm() {
    use std::io::BufReader;
    let f = fixture();
    let mut child = Proc(
        std::process::Command::new(assert_cmd::cargo::cargo_bin("capwatch"))
            .current_dir(f.project.path())
            .env_remove("CAPWATCH_DB")
            .env("CAPWATCH_API_TOKEN", "from-the-env")
            .arg("--config")
            .arg(f.project.registry())
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut out = BufReader::new(child.0.stdout.take().unwrap());
    let rest = line_after(&mut out, "serving http://");
    let addr = rest.split('/').next().unwrap().to_string();
    assert!(rest.contains("reviews enabled"), "{rest}");
    let base = format!("http://{addr}");
    rt().block_on(async {
        let (code, _, body) = get(&format!("{base}/healthz")).await;
        assert_eq!((code, body.as_str()), (200, "ok\n"));
        let (code, rows) = get_json(&format!("{base}/api/v1/capabilities")).await;
        assert_eq!((code, rows.as_array().unwrap().len()), (200, 3));
        let body = r#"{"capability": "data-bridge", "by": "Cy"}"#;
        let (code, v) = post_review(&base, Some("Bearer wrong"), body).await;
        assert_eq!(code, 401, "{v}");
        let (code, v) = post_review(&base, Some("Bearer from-the-env"), body).await;
        assert_eq!(code, 201, "{v}");
    });
    let status = term(&mut child.0);
    assert!(status.success(), "{status:?}");
}

#[test]
fn daemon_serves_what_it_checks_and_a_reload_reaches_the_server() {
    use std::io::BufReader;
    let server = PageServer::start();
    server.html(
        "/one",
        &doc_page("Alpha Reports", "<p>Alpha Reports is in beta.</p>", ""),
    );
    server.html(
        "/two",
        &doc_page(
            "Bravo Export",
            "<p>Bravo Export is generally available.</p>",
            "",
        ),
    );
    let mut r = registry_head("");
    r += &capability(
        "alpha",
        "Alpha Reports",
        "{ stage = \"beta\" }",
        &server.url("/one"),
        "schedule = \"*/1 * * * * *\"",
    );
    let p = Project::new(&r);
    let mut child = Proc(
        std::process::Command::new(assert_cmd::cargo::cargo_bin("capwatch"))
            .current_dir(p.path())
            .env_remove("CAPWATCH_DB")
            .env_remove("CAPWATCH_API_TOKEN")
            .env("RUST_LOG", "info")
            .arg("--config")
            .arg(p.registry())
            .args(["run", "--listen", "127.0.0.1:0"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut err = BufReader::new(child.0.stderr.take().unwrap());
    let addr = line_after(&mut err, "addr=");
    let addr = addr
        .split_whitespace()
        .next()
        .unwrap()
        .trim_matches('"')
        .to_string();
    // Keep draining the daemon's log so it never blocks on a full pipe.
    std::thread::spawn(move || {
        let mut sink = String::new();
        while std::io::BufRead::read_line(&mut err, &mut sink).unwrap_or(0) > 0 {
            sink.clear();
        }
    });
    let base = format!("http://{addr}");
    rt().block_on(async {
        // The daemon checks on its schedule; the server sees its writes.
        let mut observed = Value::Null;
        for _ in 0..100 {
            let (code, rows) = get_json(&format!("{base}/api/v1/capabilities")).await;
            assert_eq!(code, 200);
            observed = rows[0]["observed"]["stage"].clone();
            if observed == "beta" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(observed, "beta", "the daemon's observation never showed");
        // No token: the write route does not exist.
        let (code, _) = post_review(
            &base,
            Some("Bearer x"),
            r#"{"capability": "alpha", "by": "A"}"#,
        )
        .await;
        assert!(code == 404 || code == 405, "{code}");
    });
    // A reload (SIGHUP) with a second capability reaches the server's registry.
    r += &capability(
        "bravo",
        "Bravo Export",
        "{ stage = \"ga\" }",
        &server.url("/two"),
        "",
    );
    p.write_registry(&r);
    let ok = std::process::Command::new("kill")
        .args(["-HUP", &child.0.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    rt().block_on(async {
        let mut n = 0;
        for _ in 0..100 {
            let (_, rows) = get_json(&format!("{base}/api/v1/capabilities")).await;
            n = rows.as_array().unwrap().len();
            if n == 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(n, 2, "the reloaded registry never reached the server");
        let (code, _, page) = get(&format!("{base}/")).await;
        assert_eq!(code, 200);
        assert!(page.contains("Bravo Export"));
    });
    let status = term(&mut child.0);
    assert!(status.success(), "{status:?}");
}
