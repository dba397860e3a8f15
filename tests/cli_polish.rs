//! The command line as a new user meets it: a closed pipe, a long source
//! id in the summary, a database from a newer capwatch, the `public_url`
//! hint, and the channel of a review in `history`.

mod common;
use common::*;
use std::io::Read;
use std::process::Stdio;

/// A registry with two sources that cannot be read (missing files), one
/// with an id longer than the summary's column.
fn broken_registry(settings: &str) -> String {
    let mut r = registry_head(settings);
    r.push_str(&capability(
        "short",
        "Short",
        "{ stage = \"beta\" }",
        "file:missing-a.html",
        "",
    ));
    r.push_str(&capability(
        "a-capability-with-a-really-long-source-identifier",
        "Long",
        "{ stage = \"beta\" }",
        "file:missing-b.html",
        "",
    ));
    r
}

#[test]
fn every_command_exits_quietly_on_a_closed_pipe() {
    let p = Project::new(&broken_registry(""));
    p.capwatch(&["check"]).success();
    for args in [
        vec!["alerts", "--json"],
        vec!["alerts"],
        vec!["status", "--json"],
        vec!["status"],
        vec!["history", "short", "--json"],
        vec!["validate"],
    ] {
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("capwatch"))
            .current_dir(p.path())
            .arg("--config")
            .arg(p.registry())
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The reader goes away before the first line, as `| head -0` would.
        drop(child.stdout.take());
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        let status = child.wait().unwrap();
        assert!(
            !err.contains("panicked") && !err.contains("Broken pipe"),
            "{args:?}: {err}"
        );
        assert_ne!(status.code(), Some(101), "{args:?} panicked: {err}");
    }
}

#[test]
fn the_check_summary_stays_aligned_with_long_source_ids() {
    let p = Project::new(&broken_registry(""));
    let out = stdout(&p.capwatch(&["check"]).success());
    let failed: Vec<&str> = out
        .lines()
        .skip_while(|l| *l != "failed sources:")
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .collect();
    assert_eq!(failed.len(), 2, "{out}");
    // The outcome column starts at the same place on both lines, after the
    // longest id.
    let starts: Vec<usize> = failed
        .iter()
        .map(|l| {
            let id = l.trim_start().split(' ').next().unwrap();
            let after = l.find(id).unwrap() + id.len();
            after + l[after..].len() - l[after..].trim_start().len()
        })
        .collect();
    assert_eq!(starts[0], starts[1], "{out}");
    // The per-source lines too.
    let lines: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("short ") || l.starts_with("a-capability-with"))
        .collect();
    assert_eq!(lines.len(), 2, "{out}");
    let at = |l: &str| l.find("failed:").unwrap();
    assert_eq!(at(lines[0]), at(lines[1]), "{out}");
}

#[test]
fn a_database_from_a_newer_capwatch_says_so_in_one_line() {
    let p = Project::new(&broken_registry(""));
    p.capwatch(&["check"]).success();
    rusqlite::Connection::open(p.db())
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let a = p.capwatch(&["status"]).failure().code(1);
    let err = stderr(&a);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("schema 99, this capwatch knows"), "{err}");
    assert!(err.trim_end().ends_with(": upgrade capwatch"), "{err}");
}

#[test]
fn validate_hints_at_public_url_and_checks_it() {
    let p = Project::new(&broken_registry(""));
    let out = stdout(&p.capwatch(&["validate"]).success());
    assert_eq!(out.matches("hint:").count(), 1, "{out}");
    assert!(out.contains("public_url is not set"), "{out}");

    p.write_registry(&broken_registry(
        "public_url = \"https://capwatch.example.com\"",
    ));
    let out = stdout(&p.capwatch(&["validate"]).success());
    assert!(out.contains("CAPWATCH_SECRET is not set"), "{out}");
    let out = stdout(
        &p.capwatch_env(&[("CAPWATCH_SECRET", "x")], &["validate"])
            .success(),
    );
    assert!(!out.contains("hint:"), "{out}");

    for bad in [
        "ftp://example.com",
        "capwatch.example.com",
        "https://x.example/?a=1",
    ] {
        p.write_registry(&broken_registry(&format!("public_url = \"{bad}\"")));
        let err = stderr(&p.capwatch(&["validate"]).failure().code(3));
        assert!(err.contains("sources.toml:2:"), "{bad}: {err}");
        assert!(err.contains("`public_url`"), "{bad}: {err}");
    }
}

#[test]
fn history_shows_the_channel_of_a_review_and_a_snooze() {
    let p = Project::new(&broken_registry(""));
    p.capwatch(&["review", "short", "--by", "Ana"]).success();
    let until = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_hours(48))
        .unwrap()
        .to_string();
    p.capwatch(&[
        "snooze", "short", "--kind", "drift", "--until", &until, "--reason", "later",
    ])
    .success();
    let text = stdout(&p.capwatch(&["history", "short"]).success());
    assert!(text.contains("Ana validated short (via cli)"), "{text}");
    assert!(text.contains("later (via cli)"), "{text}");
    let csv = stdout(&p.capwatch(&["history", "short", "--csv"]).success());
    assert!(
        csv.lines()
            .any(|l| l.contains(",review,") && l.ends_with(",cli")),
        "{csv}"
    );
    let events: serde_json::Value = serde_json::from_str(&stdout(
        &p.capwatch(&["history", "short", "--json"]).success(),
    ))
    .unwrap();
    let kinds: Vec<(String, String)> = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "review" || e["kind"] == "snooze")
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_string(),
                e["channel"].as_str().unwrap_or("none").to_string(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("review".to_string(), "cli".to_string()),
            ("snooze".to_string(), "cli".to_string())
        ]
    );
}
