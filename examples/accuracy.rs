//! Accuracy of extract + infer on a folder of real documentation pages.
//!
//! Usage:
//!   cargo run --example accuracy -- DIR [--expect FILE] [--misses] [--json]
//!   cargo run --example accuracy -- --dump FILE…          (the blocks a page gives)
//!   cargo run --example accuracy -- --explain DIR [--expect FILE] NAME…
//!                                   (every quote and note for the matching cases)
//!
//! `DIR/EXPECT.tsv` (or `--expect FILE`) holds the cases; see
//! `capwatch::accuracy` for its columns. `examples/accuracy/real.EXPECT.tsv`
//! is the table for the first set of real pages. The same table is printed by
//! `capwatch accuracy DIR`.

use capwatch::accuracy::{self, markdown_page};
use capwatch::evaluate::infer::{Subject, Vocabulary, infer};
use capwatch::extract::{ContentKind, Selection, content_kind, extract};
use std::path::{Path, PathBuf};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |f: &str| args.iter().any(|a| a == f);
    let value = |f: &str| {
        args.iter()
            .position(|a| a == f)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let free: Vec<&String> = args
        .iter()
        .enumerate()
        .filter(|(i, a)| !a.starts_with("--") && (*i == 0 || args[i - 1] != "--expect"))
        .map(|(_, a)| a)
        .collect();
    if flag("--dump") {
        for p in &free {
            let path = Path::new(p.as_str());
            for (form, page) in read_forms(path) {
                println!("=== {p} ({form})\ntitle: {:?}", page.title);
                for b in &page.blocks {
                    println!("{:?}\t{}", b.kind, b.text);
                }
            }
        }
        return;
    }
    let Some(dir) = free.first().map(PathBuf::from) else {
        eprintln!(
            "usage: accuracy DIR [--expect FILE] [--misses] [--json] | --dump FILE… | --explain DIR NAME…"
        );
        std::process::exit(2);
    };
    let expect = value("--expect")
        .map(PathBuf::from)
        .unwrap_or_else(|| dir.join("EXPECT.tsv"));
    let cases = accuracy::read_expect(&expect).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(2)
    });
    if flag("--explain") {
        for case in cases
            .iter()
            .filter(|c| free[1..].iter().any(|f| c.file.contains(f.as_str())))
        {
            let subject = Subject {
                name: case.name.clone(),
                aliases: case.aliases.clone(),
            };
            for (form, page) in read_forms(&dir.join(&case.file)) {
                let inf = infer(&page, &subject, &Vocabulary::default());
                println!("=== {} [{}] ({form})", case.file, case.name);
                println!(
                    "{}",
                    serde_json::to_string_pretty(&inf).expect("serializable")
                );
            }
        }
        return;
    }
    let report = accuracy::run(&dir, &cases);
    if flag("--json") {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).expect("serializable")
        );
    } else {
        print!("{}", accuracy::render(&report, flag("--misses")));
    }
}

/// The page in its own form and, for Markdown, as rendered HTML.
fn read_forms(path: &Path) -> Vec<(&'static str, capwatch::model::Page)> {
    let body = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let kind = content_kind(None, &path.to_string_lossy());
    let mut out = vec![(
        "source",
        extract(&body, kind, &Selection::default())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )];
    if kind == ContentKind::Markdown {
        let html = markdown_page(&String::from_utf8_lossy(&body));
        out.push((
            "html",
            extract(html.as_bytes(), ContentKind::Html, &Selection::default())
                .unwrap_or_else(|e| panic!("{}: {e}", path.display())),
        ));
    }
    out
}
