//! The guide is a source too: claims read from the guide's own page, over a
//! real HTTP server on 127.0.0.1 and from a `file:` page.

mod common;
use common::*;
use serde_json::Value;

/// A guide in the patterns guides use: a "fast read" list, "(beta)" after a
/// name, "account- and region-gated", "generally available, but
/// region-limited", and a "Last validated" line.
fn guide(pulse: &str, date: &str) -> String {
    format!(
        "<!DOCTYPE html><html><head><title>Kite Cloud — platform fit</title></head><body><main>
<h1>Kite Cloud — platform fit</h1>
<p>Kite Cloud suits teams that measure media inside one retailer.</p>
<h2>Fast read</h2>
<ul><li>Best when: the question is about one retailer's shoppers.</li></ul>
<h2>Capabilities</h2>
<p>Pulse Assistant {pulse}</p>
<p>Natural-language help for queries inside Kite Cloud — account- and region-gated.</p>
<p>Harbor Rooms</p>
<p>Shared analysis with your own data — generally available, but region-limited.</p>
<p>Platform capabilities change quickly. Last validated: {date}. Check current documentation.</p>
</main></body></html>"
    )
}

fn registry(server: &PageServer) -> String {
    format!(
        "[settings]\ntimeout = \"5s\"\n\n[[guide]]\nid = \"kite\"\ntitle = \"Kite Cloud\"\nurl = \"{}\"\nvalidated_pattern = 'Last validated: (?<date>.+?)\\.'\nowners = [\"owner@example.com\"]\n\n\
[[capability]]\nid = \"pulse\"\nguide = \"kite\"\nname = \"Pulse Assistant\"\n\n  [[capability.source]]\n  url = \"{}\"\n\n\
[[capability]]\nid = \"harbor\"\nguide = \"kite\"\nname = \"Harbor Rooms\"\nclaim = {{ stage = \"beta\" }}\n\n  [[capability.source]]\n  url = \"{}\"\n",
        server.url("/guide"),
        server.url("/pulse"),
        server.url("/harbor"),
    )
}

fn status(p: &Project) -> Vec<Value> {
    serde_json::from_str(&stdout(&p.capwatch(&["status", "--json"]).success())).unwrap()
}

fn row<'a>(rows: &'a [Value], id: &str) -> &'a Value {
    rows.iter().find(|r| r["id"] == id).unwrap()
}

#[test]
fn the_guide_text_is_the_claim_and_an_edit_moves_it() {
    let server = PageServer::start();
    server.html("/guide", &guide("(beta)", "June 6, 2026"));
    server.html(
        "/pulse",
        &doc_page(
            "Pulse Assistant",
            "<p>Pulse Assistant is generally available.</p>",
            "v1",
        ),
    );
    server.html(
        "/harbor",
        &doc_page(
            "Harbor Rooms",
            "<p>Harbor Rooms is generally available.</p>",
            "v1",
        ),
    );
    let p = Project::new(&registry(&server));
    p.capwatch(&["check"]).success();

    // No claim in the registry: the guide's sentence is the claim.
    let rows = status(&p);
    let pulse = row(&rows, "pulse");
    assert_eq!(pulse["claim"]["stage"], "beta");
    assert_eq!(pulse["claim"]["access"], "gated");
    assert_eq!(pulse["claim"]["origin"], "guide");
    let quote = pulse["claim"]["quote"].as_str().unwrap();
    assert!(
        quote.contains("Pulse Assistant (beta)") && quote.contains("region-gated"),
        "{quote}"
    );
    // The docs say GA: drift, with both sentences side by side.
    assert!(
        pulse["flags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "drift")
    );
    let drift = pulse["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "drift")
        .unwrap()["summary"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        drift.contains("Guide says: “Pulse Assistant (beta)"),
        "{drift}"
    );
    assert_eq!(
        pulse["observed"]["evidence"][0]["quote"], "Pulse Assistant is generally available.",
        "the docs' sentence is beside it"
    );

    let text = stdout(&p.capwatch(&["status"]).success());
    assert!(
        text.contains("guide says “Pulse Assistant (beta)")
            && text.contains("docs say “Pulse Assistant is generally available.”"),
        "{text}"
    );

    // The registry pins beta for Harbor Rooms; the guide says GA.
    let harbor = row(&rows, "harbor");
    assert_eq!(harbor["claim"]["origin"], "registry");
    assert!(
        harbor["flags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "claim_mismatch"),
        "{harbor}"
    );

    // `claims` lists the sentences, the inferred claim and the registry's.
    let claims: Vec<Value> =
        serde_json::from_str(&stdout(&p.capwatch(&["claims", "--json"]).success())).unwrap();
    let h = claims.iter().find(|c| c["id"] == "harbor").unwrap();
    assert_eq!(h["inferred"]["stage"], "ga");
    assert_eq!(h["inferred"]["regions_limited"], true);
    assert_eq!(h["registry"]["stage"], "beta");
    assert_eq!(h["agree"], false);
    let pc = claims.iter().find(|c| c["id"] == "pulse").unwrap();
    assert!(pc["registry"].is_null() && pc["agree"].is_null());
    let text = stdout(&p.capwatch(&["claims"]).success());
    assert!(
        text.contains("DISAGREES") && text.contains("the guide's text is the claim"),
        "{text}"
    );

    // The owner fixes the guide: the next check moves the claim and clears the drift.
    let before_edit = jiff::Timestamp::now().to_string();
    std::thread::sleep(std::time::Duration::from_millis(20));
    server.html("/guide", &guide("is generally available", "June 6, 2026"));
    p.capwatch(&["check"]).success();
    let rows = status(&p);
    let pulse = row(&rows, "pulse");
    assert_eq!(pulse["claim"]["stage"], "ga");
    assert!(
        !pulse["flags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "drift"),
        "{pulse}"
    );
    let alerts: Vec<Value> =
        serde_json::from_str(&stdout(&p.capwatch(&["alerts", "--json"]).success())).unwrap();
    // No channel is configured, so the drift alert was never told to anyone:
    // it is withdrawn as cleared (a delivered one gets a resolved notice,
    // which examples/offline shows over SMTP).
    let drift = alerts
        .iter()
        .find(|a| a["kind"] == "drift" && a["subject"] == "capability:pulse")
        .expect("the drift alert");
    assert!(
        !drift["resolved_at"].is_null() && drift["state"] == "withdrawn",
        "the drift is cleared: {drift}"
    );

    // History has both claims, with the guide's sentence; --as-of shows each.
    let history: Vec<Value> = serde_json::from_str(&stdout(
        &p.capwatch(&["history", "pulse", "--json"]).success(),
    ))
    .unwrap();
    let claims: Vec<&Value> = history.iter().filter(|e| e["kind"] == "claim").collect();
    assert_eq!(claims.len(), 2, "{history:?}");
    assert_eq!(claims[0]["origin"], "guide");
    assert_eq!(claims[1]["stage"], "ga");
    let then: Value = serde_json::from_str(&stdout(
        &p.capwatch(&["history", "pulse", "--as-of", &before_edit, "--json"])
            .success(),
    ))
    .unwrap();
    assert_eq!(then["claim"]["stage"], "beta", "{then}");

    // The guide's page is kept as versions: its edit is a change with a diff.
    assert_eq!(
        p.query_i64("SELECT count(*) FROM change WHERE source_id = 'guide:kite'"),
        1
    );
    let diff = stdout(&p.capwatch(&["diff", "guide:kite"]).success());
    assert!(
        diff.contains("+Pulse Assistant is generally available"),
        "{diff}"
    );
    assert!(
        history
            .iter()
            .any(|e| e["kind"] == "change" && e["source"] == "guide:kite"),
        "the guide's edit is in the capability's history"
    );

    // And in the guide's feed, as the guide's change.
    let feed = guide_feed(&p);
    assert!(
        feed.contains("guide:kite changed") && feed.contains("Kite Cloud"),
        "{feed}"
    );
}

/// `/guides/kite/feed.atom` from a real HTTP server over the project's store.
fn guide_feed(p: &Project) -> String {
    use capwatch::serve::{self, ServeState};
    use std::sync::{Arc, RwLock};
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let reg = capwatch::config::load(&p.registry()).unwrap();
        let state = ServeState::new(Arc::new(RwLock::new(reg)), p.db(), None);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            serve::serve(listener, state, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        let body = reqwest::get(format!("http://{addr}/guides/kite/feed.atom"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let _ = tx.send(());
        let _ = server.await;
        body
    })
}

#[test]
fn a_file_guide_and_a_capability_the_guide_never_names() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("guide.txt"),
        "Kite Cloud.\nFast read.\n- Pulse Assistant (beta)\nHelps write queries — account-gated.\nLast validated: June 6, 2026.\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("sources.toml"),
        "[[guide]]\nid = \"kite\"\ntitle = \"Kite\"\nurl = \"file:guide.txt\"\nowners = [\"o@example.com\"]\n\n\
[[capability]]\nid = \"pulse\"\nguide = \"kite\"\nname = \"Pulse Assistant\"\n\n  [[capability.source]]\n  url = \"file:guide.txt\"\n\n\
[[capability]]\nid = \"ghost\"\nguide = \"kite\"\nname = \"Ghost Export\"\n\n  [[capability.source]]\n  url = \"file:guide.txt\"\n",
    )
    .unwrap();
    let config = dir.path().join("sources.toml");
    let out = assert_cmd::Command::cargo_bin("capwatch")
        .unwrap()
        .args(["--config", config.to_str().unwrap(), "claims", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let claims: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let pulse = claims.iter().find(|c| c["id"] == "pulse").unwrap();
    assert_eq!(pulse["inferred"]["stage"], "beta");
    assert_eq!(pulse["inferred"]["access"], "gated");
    let ghost = claims.iter().find(|c| c["id"] == "ghost").unwrap();
    assert_eq!(ghost["inferred"]["stage"], "unknown");
    assert!(ghost["sentences"].as_array().unwrap().is_empty());
    // validate warns (exit 0) that the guide never names it.
    let out = assert_cmd::Command::cargo_bin("capwatch")
        .unwrap()
        .args(["--config", config.to_str().unwrap(), "validate"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Ghost Export") && err.contains("appears nowhere in the guide"),
        "{err}"
    );
}
