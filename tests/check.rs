//! `capwatch check` and `capwatch diff` against a real HTTP server on 127.0.0.1.

mod common;
use common::*;
use std::time::{Duration, Instant};

/// The Bravo Export page (generally available) with `build` in its footer.
fn bravo_page(build: &str) -> String {
    doc_page(
        "Bravo Export",
        "<p>Bravo Export is generally available.</p>",
        build,
    )
}

fn two_page_registry(server: &PageServer) -> String {
    let mut r = registry_head("timeout = \"5s\"");
    r += &capability(
        "alpha",
        "Alpha Reports",
        "{ stage = \"beta\" }",
        &server.url("/alpha"),
        "",
    );
    r += &capability(
        "bravo",
        "Bravo Export",
        "{ stage = \"ga\" }",
        &server.url("/bravo"),
        "",
    );
    r
}

#[test]
fn baseline_then_conditional_then_one_change_with_its_diff() {
    let server = PageServer::start();
    server.html(
        "/alpha",
        &doc_page(
            "Alpha Reports",
            "<p>Alpha Reports is in beta.</p><p>Setup takes one step.</p>",
            "v1",
        ),
    );
    server.html("/bravo", &bravo_page("v1"));
    let p = Project::new(&two_page_registry(&server));

    // First check: both pages are baselines, not changes.
    let a = p.capwatch(&["check"]).success();
    let out = stdout(&a);
    assert!(
        out.contains("checked 2: 0 changed, 0 unchanged, 2 new baseline(s), 0 failed"),
        "{out}"
    );
    assert_eq!(p.query_i64("SELECT count(*) FROM snapshot"), 2);
    assert_eq!(p.query_i64("SELECT count(*) FROM change"), 0);
    let ua = server.log()[0].user_agent.clone().unwrap();
    assert!(ua.starts_with("capwatch/"), "{ua}");

    // Second check: conditional requests, nothing new stored.
    server.clear_log();
    let a = p.capwatch(&["check"]).success();
    assert!(
        stdout(&a).contains("checked 2: 0 changed, 2 unchanged"),
        "{}",
        stdout(&a)
    );
    for l in server.log() {
        assert!(
            l.if_none_match.is_some(),
            "no conditional request for {}",
            l.path
        );
    }
    assert_eq!(p.query_i64("SELECT count(*) FROM content"), 2);
    assert_eq!(p.query_i64("SELECT count(*) FROM snapshot"), 2);
    assert_eq!(p.query_i64("SELECT count(*) FROM \"check\""), 4);

    // The selected part of alpha changes; only bravo's navigation/footer changes.
    server.html(
        "/alpha",
        &doc_page(
            "Alpha Reports",
            "<p>Alpha Reports is in beta.</p><p>Setup takes two steps.</p>",
            "v1",
        ),
    );
    server.html("/bravo", &bravo_page("v2 build 9f3c"));
    let a = p.capwatch(&["check"]).success();
    let out = stdout(&a);
    assert!(out.contains("checked 2: 1 changed, 1 unchanged"), "{out}");
    assert!(
        out.contains("alpha") && out.contains("changed → snapshot 2"),
        "{out}"
    );
    assert_eq!(p.query_i64("SELECT count(*) FROM change"), 1);
    assert_eq!(
        p.query_i64("SELECT count(*) FROM change WHERE source_id = 'bravo'"),
        0
    );

    let d = p.capwatch(&["diff", "alpha"]).success();
    let diff = stdout(&d);
    assert!(diff.contains("--- alpha snapshot 1 ("), "{diff}");
    assert!(diff.contains("+++ alpha snapshot 2 ("), "{diff}");
    assert!(diff.contains("-Setup takes one step."), "{diff}");
    assert!(diff.contains("+Setup takes two steps."), "{diff}");
    assert!(
        !diff.contains("-Alpha Reports is in beta."),
        "unchanged line shown as removed: {diff}"
    );

    let d = p.capwatch(&["diff", "bravo"]).success();
    assert!(
        stdout(&d).contains("one version only: snapshot 1 (baseline"),
        "{}",
        stdout(&d)
    );
    let d = p
        .capwatch(&["diff", "alpha", "--from", "1", "--to", "2"])
        .success();
    assert_eq!(stdout(&d), diff);
}

#[test]
fn each_failure_is_recorded_as_its_outcome_and_the_rest_of_the_run_goes_on() {
    let server = PageServer::start();
    let ok_page = doc_page("Good Page", "<p>Good Page is generally available.</p>", "");
    server.html("/good", &ok_page);
    server.set("/missing", b"", "text/html", Behavior::Status(404));
    server.set(
        "/flaky",
        ok_page.as_bytes(),
        "text/html",
        Behavior::FailFirst(1, 500),
    );
    server.set(
        "/slow",
        ok_page.as_bytes(),
        "text/html",
        Behavior::Slow(Duration::from_secs(6)),
    );
    let big = doc_page("Big", &"<p>lorem ipsum dolor sit amet</p>".repeat(4000), "");
    server.html("/big", &big);
    server.set(
        "/loop-a",
        b"",
        "text/html",
        Behavior::Redirect("/loop-b".into()),
    );
    server.set(
        "/loop-b",
        b"",
        "text/html",
        Behavior::Redirect("/loop-a".into()),
    );
    server.set(
        "/latin1",
        b"<html><body><main><p>Caf\xe9 Feature is generally available in the UK.</p></main></body></html>",
        "text/html; charset=iso-8859-1",
        Behavior::Page,
    );
    server.html(
        "/nomatch",
        "<html><body><div>No main here</div></body></html>",
    );

    let mut r = registry_head("timeout = \"2s\"\nmax_page_bytes = 50_000");
    for (id, path, extra) in [
        ("good", "/good", ""),
        ("missing", "/missing", ""),
        ("flaky", "/flaky", ""),
        ("slow", "/slow", ""),
        ("big", "/big", ""),
        ("loop", "/loop-a", ""),
        ("latin1", "/latin1", ""),
        ("nomatch", "/nomatch", "  select = \"#content\"\n"),
    ] {
        r += &capability(id, id, "{ stage = \"ga\" }", &server.url(path), extra);
    }
    let p = Project::new(&r);
    let started = Instant::now();
    let a = p.capwatch(&["check"]).success();
    let elapsed = started.elapsed();
    let out = stdout(&a);
    assert!(
        out.contains("checked 8: 0 changed, 0 unchanged, 3 new baseline(s), 5 failed"),
        "{out}"
    );

    let outcome = |id: &str| {
        p.query_strings(&format!(
            "SELECT outcome || coalesce(':' || detail, '') FROM \"check\" WHERE source_id = '{id}'"
        ))
        .join(",")
    };
    assert_eq!(outcome("good"), "ok");
    assert_eq!(outcome("missing"), "http_error:404");
    assert_eq!(
        outcome("flaky"),
        "ok",
        "a 500 then 200 is retried within the check"
    );
    assert_eq!(server.hits("/flaky"), 2);
    assert_eq!(server.hits("/missing"), 1, "a 404 is not retried");
    assert_eq!(outcome("slow"), "timeout");
    assert!(
        outcome("big").starts_with("too_large"),
        "{}",
        outcome("big")
    );
    assert!(
        outcome("loop").starts_with("redirect:"),
        "{}",
        outcome("loop")
    );
    assert_eq!(outcome("latin1"), "ok");
    assert!(
        outcome("nomatch").starts_with("no_match:#content"),
        "{}",
        outcome("nomatch")
    );

    // Nothing but the three good pages is stored as content.
    assert_eq!(p.query_i64("SELECT count(*) FROM snapshot"), 3);
    let hash = p.query_strings("SELECT hash FROM snapshot WHERE source_id = 'latin1'");
    let store = capwatch::store::Store::open_read_only(&p.db()).unwrap();
    let latin = store.content(&hash[0]).unwrap();
    assert!(latin.contains("Café Feature"), "{latin:?}");
    // The summary names each failure and why.
    for (id, why) in [
        ("missing", "HTTP 404"),
        ("slow", "timed out"),
        ("nomatch", "matched nothing"),
    ] {
        assert!(
            out.lines().any(|l| l.contains(id) && l.contains(why)),
            "{id}: {out}"
        );
    }
    // The slow page is bounded by its timeout (with retries), not by the server.
    assert!(elapsed < Duration::from_secs(20), "took {elapsed:?}");
    // Failures count up on the source.
    assert_eq!(
        p.query_i64("SELECT failures FROM source WHERE id = 'missing'"),
        1
    );
    assert_eq!(
        p.query_i64("SELECT failures FROM source WHERE id = 'good'"),
        0
    );
}

#[test]
fn only_checks_the_named_source_and_unknown_ids_are_explained() {
    let server = PageServer::start();
    server.html("/alpha", &doc_page("Alpha Reports", "<p>x</p>", ""));
    server.html("/bravo", &doc_page("Bravo Export", "<p>y</p>", ""));
    let p = Project::new(&two_page_registry(&server));
    let a = p.capwatch(&["check", "--only", "bravo"]).success();
    assert!(stdout(&a).contains("checked 1:"), "{}", stdout(&a));
    assert_eq!(server.hits("/alpha"), 0);
    let a = p
        .capwatch(&["check", "--only", "charlie"])
        .failure()
        .code(1);
    assert!(
        stderr(&a).contains("no source or capability \"charlie\""),
        "{}",
        stderr(&a)
    );
}

#[test]
fn unreachable_network_is_said_plainly_and_exits_zero() {
    // Ports on 127.0.0.1 where nothing listens: every fetch is refused.
    let mut r = registry_head("timeout = \"2s\"");
    r += &capability(
        "one",
        "One",
        "{ stage = \"ga\" }",
        "http://127.0.0.1:9/one",
        "",
    );
    r += &capability(
        "two",
        "Two",
        "{ stage = \"ga\" }",
        "http://127.0.0.1:9/two",
        "",
    );
    let p = Project::new(&r);
    let a = p.capwatch(&["check"]).success();
    let out = stdout(&a);
    assert!(out.contains("2 failed"), "{out}");
    assert!(out.contains("no source could be reached"), "{out}");
    assert_eq!(
        p.query_i64("SELECT count(*) FROM \"check\" WHERE outcome = 'network'"),
        2
    );
}

#[test]
fn a_large_page_is_read_like_a_small_one() {
    // Pages over 512 KB are parsed on a blocking thread rather than on a
    // runtime worker; what is stored and observed must not depend on that.
    let server = PageServer::start();
    let filler: String = (0..14000)
        .map(|i| format!("<p>Paragraph {i} of the long reference page.</p>"))
        .collect();
    let large = doc_page(
        "Alpha Reports",
        &format!("<p>Alpha Reports is in beta.</p>{filler}"),
        "v1",
    );
    assert!(large.len() > 600 * 1024, "{} bytes", large.len());
    server.html("/alpha", &large);
    server.html("/bravo", &bravo_page("v1"));
    let p = Project::new(&two_page_registry(&server));
    let out = stdout(&p.capwatch(&["check"]).success());
    assert!(
        out.contains("checked 2: 0 changed, 0 unchanged, 2 new baseline(s), 0 failed"),
        "{out}"
    );
    let status = stdout(&p.capwatch(&["status", "--json"]).success());
    let json: serde_json::Value = serde_json::from_str(&status).unwrap();
    let alpha = json
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "alpha")
        .unwrap();
    assert_eq!(alpha["observed"]["stage"], "beta", "{alpha}");
    // A change at the very end of the large page is found and shown.
    server.html(
        "/alpha",
        &large.replace(
            "Paragraph 13999 of the long",
            "Paragraph 13999 of the longer",
        ),
    );
    let out = stdout(&p.capwatch(&["check"]).success());
    assert!(out.contains("checked 2: 1 changed"), "{out}");
    let diff = stdout(&p.capwatch(&["diff", "alpha"]).success());
    assert!(
        diff.contains("-Paragraph 13999 of the long reference page.")
            && diff.contains("+Paragraph 13999 of the longer reference page."),
        "{diff}"
    );
}

/// When what inference depends on changes (new rules, new names for the
/// capability), the stored version is read again without fetching it anew:
/// the moved status is a re-read, not a page change, and its alert says so.
#[test]
fn new_rules_or_names_reread_the_stored_page_not_as_a_change() {
    let server = PageServer::start();
    server.html(
        "/alpha",
        &doc_page("Alpha Reports", "<p>Alpha Reports is in beta.</p>", "v1"),
    );
    let registry = |extra: &str| {
        registry_head("timeout = \"5s\"")
            + &format!(
                "[[capability]]\nid = \"alpha\"\nguide = \"g\"\nname = \"Zulu Reports\"\n{extra}claim = {{ stage = \"ga\" }}\n\n  [[capability.source]]\n  id = \"alpha\"\n  url = \"{}\"\n",
                server.url("/alpha")
            )
    };
    let p = Project::new(&registry(""));
    p.capwatch(&["check"]).success();
    assert_eq!(
        p.query_strings("SELECT stage FROM observation"),
        ["unknown"],
        "the page does not name Zulu Reports"
    );

    // The owner adds the name the page uses: the stored page is re-read.
    p.write_registry(&registry("aliases = [\"Alpha Reports\"]\n"));
    server.clear_log();
    p.capwatch(&["check"]).success();
    assert_eq!(
        p.query_strings("SELECT stage FROM observation ORDER BY id"),
        ["unknown", "beta"]
    );
    assert_eq!(
        p.query_i64("SELECT reread_rules FROM observation ORDER BY id DESC LIMIT 1"),
        i64::from(capwatch::evaluate::infer::RULES_VERSION)
    );
    // Not a page change: one version, no change, and the fetch stayed conditional.
    assert_eq!(p.query_i64("SELECT count(*) FROM snapshot"), 1);
    assert_eq!(p.query_i64("SELECT count(*) FROM change"), 0);
    assert!(server.log().iter().all(|l| l.if_none_match.is_some()));

    let history: serde_json::Value = serde_json::from_str(&stdout(
        &p.capwatch(&["history", "alpha", "--json"]).success(),
    ))
    .unwrap();
    let reread = history
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "observation" && e["stage"] == "beta")
        .expect("the re-read observation is in the history");
    assert_eq!(
        reread["reread_rules"],
        capwatch::evaluate::infer::RULES_VERSION
    );
    assert!(
        reread["summary"]
            .as_str()
            .unwrap()
            .starts_with("re-read with rules v"),
        "{reread}"
    );

    let alerts: Vec<serde_json::Value> =
        serde_json::from_str(&stdout(&p.capwatch(&["alerts", "--json"]).success())).unwrap();
    let drift = alerts
        .iter()
        .find(|a| a["kind"] == "drift")
        .expect("the re-read raised a drift alert");
    assert!(
        drift["summary"]
            .as_str()
            .unwrap()
            .contains("did not change"),
        "the drift alert says the page did not change: {drift}"
    );

    // A third check with nothing new reads nothing again.
    p.capwatch(&["check"]).success();
    assert_eq!(p.query_i64("SELECT count(*) FROM observation"), 2);
}
