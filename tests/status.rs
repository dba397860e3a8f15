//! Inference end to end: a served page moves from open beta to GA; `status`,
//! `history` and `history --as-of` tell the story; `infer` explains a page.

mod common;
use common::*;
use serde_json::Value;

fn json(a: &assert_cmd::assert::Assert) -> Value {
    serde_json::from_str(&stdout(a)).unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(a)))
}

#[test]
fn open_beta_to_ga_shows_drift_history_and_as_of() {
    let server = PageServer::start();
    server.html(
        "/insights",
        &doc_page(
            "Shopper Insights",
            "<p>Shopper Insights is in open beta in the US and UK.</p><p>It summarises baskets by week.</p>\
             <p>Note: the export connector is in beta too.</p>",
            "",
        ),
    );
    let mut r = registry_head("");
    r += &capability(
        "shopper-insights",
        "Shopper Insights",
        "{ stage = \"beta\", access = \"open\", regions = [\"US\", \"UK\"] }",
        &server.url("/insights"),
        "",
    );
    let p = Project::new(&r);
    p.capwatch(&["check"]).success();

    let s = json(&p.capwatch(&["status", "--json"]).success());
    let row = &s[0];
    assert_eq!(row["id"], "shopper-insights");
    assert_eq!(row["observed"]["stage"], "beta");
    assert_eq!(row["observed"]["regions"], serde_json::json!(["UK", "US"]));
    assert_eq!(row["drift"], serde_json::json!([]));
    std::thread::sleep(std::time::Duration::from_millis(50));

    server.html(
        "/insights",
        &doc_page(
            "Shopper Insights",
            "<p>Shopper Insights is now generally available.</p><p>It summarises baskets by week.</p>\
             <p>Note: the export connector is in beta too.</p>",
            "",
        ),
    );
    p.capwatch(&["check"]).success();

    let s = json(&p.capwatch(&["status", "--json"]).success());
    let row = &s[0];
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
    assert_eq!(row["claim"]["stage"], "beta");
    assert_eq!(row["observed"]["stage"], "ga");
    assert!(
        row["drift"]
            .as_array()
            .unwrap()
            .contains(&Value::from("stage")),
        "{row}"
    );
    assert!(
        row["flags"]
            .as_array()
            .unwrap()
            .contains(&Value::from("drift")),
        "{row}"
    );
    let ev = &row["observed"]["evidence"][0];
    assert_eq!(ev["source"], "shopper-insights");
    assert!(ev["url"].as_str().unwrap().ends_with("/insights"));
    assert!(
        ev["quote"]
            .as_str()
            .unwrap()
            .contains("now generally available"),
        "{ev}"
    );

    let h = json(
        &p.capwatch(&["history", "shopper-insights", "--json"])
            .success(),
    );
    let events = h.as_array().unwrap();
    let obs: Vec<&Value> = events
        .iter()
        .filter(|e| e["kind"] == "observation")
        .collect();
    assert_eq!(obs.len(), 2, "{h:#}");
    assert_eq!(obs[0]["stage"], "beta");
    assert!(
        obs[0]["quote"]
            .as_str()
            .unwrap()
            .contains("open beta in the US and UK"),
        "{}",
        obs[0]
    );
    assert_eq!(obs[1]["stage"], "ga");
    assert!(
        obs[1]["quote"]
            .as_str()
            .unwrap()
            .contains("now generally available")
    );
    for e in events {
        assert!(
            e["at"].as_str().unwrap().parse::<jiff::Timestamp>().is_ok(),
            "at is not RFC 3339: {e}"
        );
    }
    let change = events
        .iter()
        .find(|e| e["kind"] == "change")
        .expect("a change event");
    assert_eq!(
        (change["from"].as_i64(), change["to"].as_i64()),
        (Some(1), Some(2))
    );
    assert!(events.iter().any(|e| e["kind"] == "claim"));
    let times: Vec<&str> = events.iter().map(|e| e["at"].as_str().unwrap()).collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted, "events are oldest first");

    // As it stood between the two observations: beta, no drift.
    let t1: jiff::Timestamp = obs[0]["at"].as_str().unwrap().parse().unwrap();
    let t2: jiff::Timestamp = obs[1]["at"].as_str().unwrap().parse().unwrap();
    let mid =
        jiff::Timestamp::from_millisecond((t1.as_millisecond() + t2.as_millisecond()) / 2).unwrap();
    let at = json(
        &p.capwatch(&[
            "history",
            "shopper-insights",
            "--as-of",
            &mid.to_string(),
            "--json",
        ])
        .success(),
    );
    assert_eq!(at["observed"]["stage"], "beta", "{at:#}");
    assert_eq!(at["claim"]["stage"], "beta");
    assert!(
        !at["flags"]
            .as_array()
            .unwrap()
            .contains(&Value::from("drift")),
        "{at:#}"
    );
    for key in ["claim", "observed", "validated_on", "state", "flags"] {
        assert!(at.get(key).is_some(), "as-of row lacks {key}");
    }
    let now = json(
        &p.capwatch(&["history", "shopper-insights", "--as-of", "now", "--json"])
            .success(),
    );
    assert_eq!(now["observed"]["stage"], "ga");

    // CSV and the period filter.
    let csv = stdout(
        &p.capwatch(&["history", "shopper-insights", "--csv"])
            .success(),
    );
    assert!(
        csv.starts_with("at,kind,source,stage,access,regions,summary,channel\n"),
        "{csv}"
    );
    assert_eq!(
        csv.lines().filter(|l| l.contains(",observation,")).count(),
        2
    );
    let later = json(
        &p.capwatch(&[
            "history",
            "shopper-insights",
            "--since",
            &mid.to_string(),
            "--json",
        ])
        .success(),
    );
    assert_eq!(
        later
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "observation")
            .count(),
        1
    );
}

#[test]
fn infer_explains_a_page_with_quote_and_rule() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("lab.md");
    std::fs::write(
        &page,
        "# Audience Lab\n\n> [!NOTE]\n> Audience Lab is in closed beta. To join, speak with your account executive.\n\nThe reporting API is generally available.\n",
    )
    .unwrap();
    let mut cmd = assert_cmd::Command::cargo_bin("capwatch").unwrap();
    let a = cmd
        .args([
            "infer",
            page.to_str().unwrap(),
            "--name",
            "Audience Lab",
            "--json",
        ])
        .assert()
        .success();
    let v = json(&a);
    assert_eq!(v["stage"], "beta");
    assert_eq!(v["access"], "gated");
    let ev = v["evidence"].as_array().unwrap();
    assert!(
        ev.iter()
            .all(|e| e["quote"].is_string() && e["rule"].is_string()),
        "{v:#}"
    );
    assert!(
        ev.iter()
            .any(|e| e["quote"].as_str().unwrap().contains("closed beta"))
    );
    // "generally available" belongs to the reporting API, not Audience Lab.
    assert!(
        !ev.iter()
            .any(|e| e["quote"].as_str().unwrap().contains("reporting API")),
        "{v:#}"
    );

    let mut cmd = assert_cmd::Command::cargo_bin("capwatch").unwrap();
    let a = cmd
        .args(["infer", page.to_str().unwrap(), "--name", "Audience Lab"])
        .assert()
        .success();
    let out = stdout(&a);
    assert!(
        out.contains("stage    beta") && out.contains("rule:"),
        "{out}"
    );

    let mut cmd = assert_cmd::Command::cargo_bin("capwatch").unwrap();
    let a = cmd
        .args(["infer", "/no/such/page.html", "--name", "X"])
        .assert()
        .failure()
        .code(1);
    assert!(
        stderr(&a).contains("no file /no/such/page.html"),
        "{}",
        stderr(&a)
    );
}

#[test]
fn the_shipped_registry_works_without_network() {
    let dir = tempfile::tempdir().unwrap();
    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sources.toml");
    let db = dir.path().join("shipped.db");
    let run = |args: &[&str]| {
        let mut cmd = assert_cmd::Command::cargo_bin("capwatch").unwrap();
        cmd.env("CAPWATCH_DB", &db)
            .arg("--config")
            .arg(&shipped)
            .args(args)
            .assert()
    };
    // No network here (sandbox or CI): every source fails plainly, exit 0.
    let a = run(&["check"]).success();
    let out = stdout(&a);
    assert!(out.contains("checked 12:"), "{out}");
    let s = stdout(&run(&["status"]).success());
    assert!(s.contains("observed unknown"), "{s}");
    assert!(
        s.contains("expired"),
        "the AMC guide (validated 2026-06-06, 90 days) is expired today: {s}"
    );
    let v: Value = serde_json::from_str(&stdout(&run(&["status", "--json"]).success())).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 6);
    assert!(
        v.as_array()
            .unwrap()
            .iter()
            .all(|r| r["state"] == "expired")
    );
    let g = run(&["status", "--fail-on-findings"]).failure();
    assert_eq!(g.get_output().status.code(), Some(2));
}
