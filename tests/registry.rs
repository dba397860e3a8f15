//! `capwatch validate`: every broken-registry kind answers `FILE:LINE:COL:
//! message` and exit 3; the shipped registry validates.

mod common;
use common::*;

const BASE: &str = r#"[settings]
schedule = "0 6 * * *"
timeout = "30s"

[[guide]]
id = "amc"
title = "AMC"
validated_on = "2026-06-06"
max_age = "90d"
owners = ["owner@example.com"]

[[capability]]
id = "ads-agent"
guide = "amc"
name = "Ads Agent"
claim = { stage = "beta", access = "gated" }

  [[capability.source]]
  url = "https://example.com/ads-agent"
  select = "main"
  schedule = "0 */6 * * *"
"#;

/// Replace `from` with `to` in the base registry, validate, and return stderr.
fn broken(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "fixture lacks {from}");
    let p = Project::new(&BASE.replacen(from, to, 1));
    let a = p.capwatch(&["validate"]).failure().code(3);
    let err = stderr(&a);
    let file = p.registry().display().to_string();
    for line in err.lines() {
        assert!(
            line.starts_with(&format!("{file}:")),
            "not FILE:LINE:COL: {line}"
        );
    }
    err.replace(&file, "sources.toml")
}

#[test]
fn the_base_fixture_is_valid() {
    let p = Project::new(BASE);
    let a = p.capwatch(&["validate"]).success();
    assert!(
        stdout(&a).contains("ok — 1 guide(s), 1 capabilities, 1 sources"),
        "{}",
        stdout(&a)
    );
}

#[test]
fn unknown_key_names_the_table_and_a_suggestion() {
    let e = broken("  select = \"main\"", "  selector = \"main\"");
    assert_eq!(
        e.lines().next().unwrap(),
        "sources.toml:20:3: unknown key `selector` in [[capability.source]] (did you mean `select`?); known keys: id, url, select, ignore, schedule, phrases, render"
    );
}

#[test]
fn duplicate_capability_id() {
    let dup = format!(
        "{BASE}\n[[capability]]\nid = \"ads-agent\"\nguide = \"amc\"\nname = \"Again\"\nclaim = {{ stage = \"ga\" }}\n"
    );
    let p = Project::new(&dup);
    let e = stderr(&p.capwatch(&["validate"]).failure().code(3));
    assert!(
        e.contains(":24:6: duplicate capability id \"ads-agent\""),
        "{e}"
    );
}

#[test]
fn duplicate_source_id() {
    let dup = format!(
        "{BASE}\n  [[capability.source]]\n  url = \"https://example.com/b\"\n  id = \"ads-agent\"\n"
    );
    let p = Project::new(&dup);
    let e = stderr(&p.capwatch(&["validate"]).failure().code(3));
    assert!(
        e.contains(":25:8: duplicate source id \"ads-agent\""),
        "{e}"
    );
}

#[test]
fn missing_guide() {
    let e = broken("guide = \"amc\"", "guide = \"amcc\"");
    assert!(e.contains("sources.toml:14:9: capability \"ads-agent\" names guide \"amcc\", which is not defined (did you mean `amc`?)"), "{e}");
}

#[test]
fn bad_stage_and_access_are_both_reported() {
    let e = broken(
        "stage = \"beta\", access = \"gated\"",
        "stage = \"betta\", access = \"closed\"",
    );
    assert!(e.contains("sources.toml:16:19: claim stage \"betta\" is not known; use one of: announced, preview, beta, ga, deprecated, retired"), "{e}");
    assert!(
        e.contains(
            "sources.toml:16:37: claim access \"closed\" is not known; use \"open\" or \"gated\""
        ),
        "{e}"
    );
}

#[test]
fn bad_cron() {
    let e = broken("schedule = \"0 */6 * * *\"", "schedule = \"0 */6 * *\"");
    assert!(
        e.contains("sources.toml:21:14: `schedule`: cron expression `0 */6 * *` has 4 fields"),
        "{e}"
    );
    let e = broken("schedule = \"0 6 * * *\"", "schedule = \"0 25 * * *\"");
    assert!(
        e.contains("sources.toml:2:12: `schedule`: cron expression `0 25 * * *` is not valid"),
        "{e}"
    );
}

#[test]
fn bad_selector() {
    let e = broken("select = \"main\"", "select = \"main >> p[\"");
    assert!(
        e.contains("sources.toml:20:12: `select`: CSS selector `main >> p[` is not valid"),
        "{e}"
    );
}

#[test]
fn bad_url_scheme() {
    let e = broken(
        "url = \"https://example.com/ads-agent\"",
        "url = \"ftp://example.com/ads-agent\"",
    );
    assert!(e.contains("sources.toml:19:9: `url`: scheme `ftp` is not supported in \"ftp://example.com/ads-agent\"; use http://, https:// or file:"), "{e}");
}

#[test]
fn bad_date() {
    let e = broken(
        "validated_on = \"2026-06-06\"",
        "validated_on = \"June 6, 2026\"",
    );
    assert!(e.contains("sources.toml:8:16: `validated_on` = \"June 6, 2026\" is not a date; write it as YYYY-MM-DD"), "{e}");
}

#[test]
fn bad_duration() {
    let e = broken("max_age = \"90d\"", "max_age = \"90 days\"");
    assert!(e.contains("sources.toml:9:11: `max_age`: duration \"90 days\" is not valid; write a number and a unit"), "{e}");
}

#[test]
fn bad_time_zone() {
    let e = broken(
        "timeout = \"30s\"",
        "timeout = \"30s\"\ntimezone = \"Mars/Olympus\"",
    );
    assert!(e.contains("sources.toml:4:12: `timezone` = \"Mars/Olympus\" is not a time zone; write an IANA name"), "{e}");
}

#[test]
fn toml_syntax_error_is_located() {
    let e = broken("name = \"Ads Agent\"", "name = \"Ads Agent");
    assert!(e.starts_with("sources.toml:15:"), "{e}");
    assert!(e.contains("TOML syntax"), "{e}");
}

#[test]
fn many_errors_are_reported_in_one_run() {
    let text = BASE
        .replace("timeout = \"30s\"", "timeout = \"soon\"")
        .replace("stage = \"beta\"", "stage = \"gamma\"")
        .replace("url = \"https://", "url = \"gopher://");
    let p = Project::new(&text);
    let e = stderr(&p.capwatch(&["validate"]).failure().code(3));
    assert_eq!(e.lines().count(), 3, "{e}");
}

#[test]
fn missing_registry_file_is_explained() {
    let p = Project::new(BASE);
    std::fs::remove_file(p.registry()).unwrap();
    let e = stderr(&p.capwatch(&["validate"]).failure().code(3));
    assert!(
        e.contains("cannot read registry") && e.contains("--config"),
        "{e}"
    );
}

#[test]
fn the_shipped_registry_validates() {
    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sources.toml");
    let mut cmd = assert_cmd::Command::cargo_bin("capwatch").unwrap();
    let a = cmd
        .arg("--config")
        .arg(&shipped)
        .arg("validate")
        .assert()
        .success();
    assert!(stdout(&a).contains("6 capabilities"), "{}", stdout(&a));
}
