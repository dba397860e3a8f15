//! Benchmark helper: the CPU cost of reading benchmark pages, per page.
//!
//! The practical floor for a first check cycle is parsing each page once with
//! scraper and selecting `main`; this measures that floor and, for
//! comparison, what capwatch's own extract stage (parse, select, blocks, text,
//! hash) and status inference add on the same pages. Every file is read into
//! memory before timing; times are this thread's CPU time
//! (`/proc/thread-self/schedstat`), with wall time beside it.
//!
//! ```sh
//! cargo run --release --example scraper_floor -- bench/data/pages-500 [--limit 500] [--passes 3]
//! ```
//!
//! Prints one JSON object: per-page medians over the passes, in milliseconds.

use capwatch::evaluate::infer::{self, Subject, Vocabulary};
use capwatch::extract::{self, ContentKind, Selection};
use scraper::{Html, Selector};
use std::path::PathBuf;
use std::time::Instant;

/// This thread's CPU time in nanoseconds (Linux).
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

/// Run `f` over every page; (CPU ms per page, wall ms per page).
fn measure(pages: &[Vec<u8>], mut f: impl FnMut(&[u8]) -> usize) -> (f64, f64, usize) {
    let cpu = thread_cpu_ns();
    let wall = Instant::now();
    let mut sink = 0usize;
    for p in pages {
        sink = sink.wrapping_add(f(p));
    }
    let n = pages.len().max(1) as f64;
    let cpu_ms = (thread_cpu_ns() - cpu) as f64 / 1e6 / n;
    let wall_ms = wall.elapsed().as_secs_f64() * 1e3 / n;
    (cpu_ms, wall_ms, sink)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut dir = None;
    let mut limit = usize::MAX;
    let mut passes = 3;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--limit" => limit = args.next().and_then(|v| v.parse().ok()).expect("--limit N"),
            "--passes" => {
                passes = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--passes N")
            }
            _ => dir = Some(PathBuf::from(a)),
        }
    }
    let dir = dir.expect("usage: scraper_floor DIR [--limit N] [--passes N]");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("readable page directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "html"))
        .collect();
    files.sort();
    files.truncate(limit);
    let pages: Vec<Vec<u8>> = files
        .iter()
        .map(|p| std::fs::read(p).expect("readable page"))
        .collect();
    let bytes: usize = pages.iter().map(Vec::len).sum();

    let main_sel = Selector::parse("main").expect("valid selector");
    let selection = Selection::new("main", &[]).expect("valid selection");
    let subject = Subject::new("Sponsored Products", &[]);
    let vocabulary = Vocabulary::default();

    // `select = "main"` lets extract read each page's `<main>` as a stream
    // of tokens; `:is(main)` selects the same elements but is not
    // recognised as "main only", so it parses the whole page. Both must read
    // every page alike.
    let whole = Selection::new(":is(main)", &[]).expect("valid selection");
    let same = pages
        .iter()
        .filter(|p| {
            extract::extract(p, ContentKind::Html, &selection).ok()
                == extract::extract(p, ContentKind::Html, &whole).ok()
        })
        .count();

    let (mut floor, mut floor_wall, mut ext, mut ext_whole, mut ext_infer) =
        (vec![], vec![], vec![], vec![], vec![]);
    for _ in 0..passes {
        // The floor: parse the document, find `main`, touch its text.
        let (c, w, _) = measure(&pages, |p| {
            let html = Html::parse_document(&String::from_utf8_lossy(p));
            html.select(&main_sel)
                .next()
                .map(|m| m.text().map(str::len).sum::<usize>())
                .unwrap_or(0)
        });
        floor.push(c);
        floor_wall.push(w);
        // capwatch's extract stage: parse, select, blocks, normalised text, hash.
        let (c, _, _) = measure(&pages, |p| {
            let page = extract::extract(p, ContentKind::Html, &selection).expect("main matches");
            let text = page.text();
            extract::content_hash(&text).len() + text.len()
        });
        ext.push(c);
        // The same through the full parse (no stream).
        let (c, _, _) = measure(&pages, |p| {
            let page = extract::extract(p, ContentKind::Html, &whole).expect("main matches");
            let text = page.text();
            extract::content_hash(&text).len() + text.len()
        });
        ext_whole.push(c);
        // ... plus status inference, which `capwatch check` runs on every new version.
        let (c, _, _) = measure(&pages, |p| {
            let page = extract::extract(p, ContentKind::Html, &selection).expect("main matches");
            let text = page.text();
            let inference = infer::infer(&page, &subject, &vocabulary);
            extract::content_hash(&text).len() + inference.evidence.len()
        });
        ext_infer.push(c);
    }
    println!(
        "{{\"pages\": {}, \"mean_kb\": {:.1}, \"passes\": {passes}, \"scraper_parse_select_cpu_ms\": {:.3}, \"scraper_parse_select_wall_ms\": {:.3}, \"capwatch_extract_cpu_ms\": {:.3}, \"capwatch_extract_whole_page_cpu_ms\": {:.3}, \"capwatch_extract_infer_cpu_ms\": {:.3}, \"prepass_agrees\": {same}}}",
        pages.len(),
        bytes as f64 / pages.len().max(1) as f64 / 1024.0,
        median(floor),
        median(floor_wall),
        median(ext),
        median(ext_whole),
        median(ext_infer),
    );
}
