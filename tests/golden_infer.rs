//! Golden tests for extract + infer: every `tests/fixtures/pages/<case>.<ext>`
//! with a `<case>.expected.json` beside it is extracted (kind from the file
//! name, default selection) and inferred for the subject named in the JSON;
//! the status must match exactly and one evidence quote must contain `quote`.

use capwatch::evaluate::infer::{Subject, Vocabulary, infer};
use capwatch::extract::{Selection, content_hash, content_kind, extract};
use capwatch::model::{Access, Page, Regions, Stage};
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Deserialize)]
struct ExpectedSubject {
    name: String,
    #[serde(default)]
    aliases: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expected {
    subject: ExpectedSubject,
    stage: Stage,
    access: Access,
    regions: Vec<String>,
    /// A substring of one evidence quote; empty when no evidence is expected.
    quote: String,
    /// A substring of one note, if any is expected.
    #[serde(default)]
    note: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(Expected),
    Many(Vec<Expected>),
}

fn pages_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pages")
}

/// The page file beside `<case>.expected.json`.
fn page_for(expected: &Path) -> PathBuf {
    let name = expected.file_name().unwrap().to_string_lossy();
    let case = name.trim_end_matches(".expected.json");
    for ext in ["html", "md", "txt", "json"] {
        let p = expected.with_file_name(format!("{case}.{ext}"));
        if p.exists() {
            return p;
        }
    }
    panic!("no page file for {}", expected.display());
}

fn load(path: &Path) -> Page {
    let body = std::fs::read(path).unwrap();
    let kind = content_kind(None, &path.to_string_lossy());
    extract(&body, kind, &Selection::default())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn golden_pages_infer_the_expected_status() {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(pages_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".expected.json"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 20, "only {} golden cases", cases.len());
    let mut failures = Vec::new();
    for expected_path in &cases {
        let page_path = page_for(expected_path);
        let page = load(&page_path);
        let text = std::fs::read_to_string(expected_path).unwrap();
        let expected = match serde_json::from_str::<OneOrMany>(&text) {
            Ok(OneOrMany::One(e)) => vec![e],
            Ok(OneOrMany::Many(v)) => v,
            Err(e) => panic!("{}: {e}", expected_path.display()),
        };
        for want in expected {
            let aliases: Vec<&str> = want.subject.aliases.iter().map(String::as_str).collect();
            let subject = Subject::new(want.subject.name.clone(), &aliases);
            let got = infer(&page, &subject, &Vocabulary::default());
            let case = format!(
                "{} [{}]",
                page_path.file_name().unwrap().to_string_lossy(),
                want.subject.name
            );
            let want_regions = Regions::new(want.regions.iter().cloned());
            if got.status.stage != want.stage
                || got.status.access != want.access
                || got.status.regions != want_regions
            {
                failures.push(format!(
                    "{case}: want {}/{}/{}, got {}/{}/{}\n  evidence: {:#?}\n  notes: {:?}",
                    want.stage,
                    want.access,
                    want_regions,
                    got.status.stage,
                    got.status.access,
                    got.status.regions,
                    got.evidence,
                    got.notes
                ));
                continue;
            }
            if want.quote.is_empty() {
                if !got.evidence.is_empty() {
                    failures.push(format!("{case}: want no evidence, got {:#?}", got.evidence));
                }
            } else if !got.evidence.iter().any(|e| e.quote.contains(&want.quote)) {
                failures.push(format!(
                    "{case}: no quote contains {:?}: {:#?}",
                    want.quote, got.evidence
                ));
            }
            if let Some(note) = &want.note
                && !got.notes.iter().any(|n| n.contains(note.as_str()))
            {
                failures.push(format!(
                    "{case}: no note contains {note:?}: {:?}",
                    got.notes
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn nav_and_footer_changes_keep_the_same_hash() {
    let a = load(&pages_dir().join("nav-footer-a.html"));
    let b = load(&pages_dir().join("nav-footer-b.html"));
    assert_eq!(a.text(), b.text());
    assert_eq!(content_hash(&a.text()), content_hash(&b.text()));
    assert!(!a.text().contains("Beta programs"));
}

#[test]
fn a_change_inside_main_changes_the_hash() {
    let a = load(&pages_dir().join("nav-footer-a.html"));
    let changed = std::fs::read_to_string(pages_dir().join("nav-footer-a.html"))
        .unwrap()
        .replace("is in public beta", "is generally available");
    let b = extract(
        changed.as_bytes(),
        content_kind(None, "x.html"),
        &Selection::default(),
    )
    .unwrap();
    assert_ne!(content_hash(&a.text()), content_hash(&b.text()));
}

#[test]
fn same_page_same_text_every_time() {
    for name in [
        "release-notes.md",
        "table-status.html",
        "api-model.json",
        "stage-deprecated.txt",
    ] {
        let p = pages_dir().join(name);
        assert_eq!(load(&p), load(&p), "{name}");
    }
}
