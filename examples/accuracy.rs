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

use capwatch::accuracy;
use capwatch::evaluate::infer::{Subject, Vocabulary, infer};
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
    accuracy::read_forms(path)
        .into_iter()
        .map(|(form, page)| {
            (
                form.as_str(),
                page.unwrap_or_else(|e| panic!("{}: {e}", path.display())),
            )
        })
        .collect()
}
