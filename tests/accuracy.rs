//! The accuracy harness on the project's own example pages: every general
//! inference mechanism has a page in `tests/fixtures/accuracy/` (written for
//! these tests), with the answer in `EXPECT.tsv`. Each Markdown page is also
//! read as the HTML a docs site serves; both forms must be right and agree.

use assert_cmd::Command;
use serde_json::Value;
use std::path::Path;

#[test]
fn every_mechanism_page_is_read_right_in_both_forms() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/accuracy");
    let out = Command::cargo_bin("capwatch")
        .unwrap()
        .args(["accuracy", dir.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let wrong: Vec<String> = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["right"] != true)
        .map(|r| {
            format!(
                "{} ({}) for {}: expected {}, got {} — {}",
                r["file"], r["form"], r["name"], r["expected"], r["got"], r["misses"]
            )
        })
        .collect();
    assert!(wrong.is_empty(), "wrong answers:\n{}", wrong.join("\n"));
    assert!(report["source"]["cases"].as_u64().unwrap() >= 25);
    assert_eq!(report["source"]["false_ga"], 0);
    assert_eq!(report["html"]["cases"], report["both_forms"]);
    assert_eq!(report["same_answer"], report["both_forms"]);
}

#[test]
fn the_table_names_each_miss_and_counts_per_form() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("page.md"),
        "# Pico Store\n\nPico Store is in public preview.\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("EXPECT.tsv"),
        "file\tname\taliases\tstage\taccess\tregions\npage.md\tPico Store\t\tga\t*\t*\n",
    )
    .unwrap();
    let out = Command::cargo_bin("capwatch")
        .unwrap()
        .args(["accuracy", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("✗ stage"), "{table}");
    assert!(
        table.contains("in public preview"),
        "the quote is shown: {table}"
    );
    assert!(table.contains("| source | 1 | 0 (0 %) | 1 |"), "{table}");
    assert!(table.contains("| html | 1 | 0 (0 %) | 1 |"), "{table}");
}

#[test]
fn a_broken_expectation_file_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("EXPECT.tsv"), "file\tname\n").unwrap();
    let out = Command::cargo_bin("capwatch")
        .unwrap()
        .args(["accuracy", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("EXPECT.tsv:1") && err.contains("stage"),
        "{err}"
    );
}
