//! Accuracy of extract + infer on a directory of real documentation pages.
//!
//! Usage:
//!   cargo run --example accuracy -- /path/to/fixtures/real
//!   cargo run --example accuracy -- --dump /path/to/page.md   (show the blocks)
//!   cargo run --example accuracy -- --explain /path/to/fixtures/real FILE
//!
//! The directory holds the pages and a `MANIFEST.tsv` (file, source, how it
//! was retrieved, the status as a person read it, the exact sentences, notes).
//! The table below gives, per page, the capability to read it for and the
//! answer expected *from that page alone*: where the status is only implied
//! (GA "by removal of the preview note", a status living in an include file)
//! or not stated, the right answer is `unknown`.

use capwatch::evaluate::infer::{Inference, Subject, Vocabulary, infer};
use capwatch::extract::{Selection, content_kind, extract};
use capwatch::model::{Access, Stage};
use std::collections::BTreeMap;
use std::path::Path;

/// file, subject name, aliases, expected stage, expected access, expected
/// regions ("" = not judged).
type Case = (
    &'static str,
    &'static str,
    &'static [&'static str],
    Stage,
    Access,
    &'static str,
);

const CASES: &[Case] = &[
    (
        "amazonads-amc-on-aws-clean-rooms-overview.md",
        "AMC on AWS Clean Rooms",
        &["AMC-AWS Clean Rooms", "AMC–AWS Clean Rooms"],
        Stage::Unknown,
        Access::Unknown,
        "",
    ),
    (
        "amazonads-amc-on-aws-clean-rooms-upload-identity-entity-resolution.md",
        "AWS Entity Resolution",
        &["Entity Resolution"],
        Stage::Unknown,
        Access::Unknown,
        "us-east-1",
    ),
    (
        "amazonads-amc-on-aws-clean-rooms-limitations.md",
        "AMC on AWS Clean Rooms",
        &["AMC-AWS Clean Rooms", "AMC–AWS Clean Rooms"],
        Stage::Unknown,
        Access::Unknown,
        "",
    ),
    (
        "amazonads-amc-paid-features-overview.md",
        "AMC Paid Features",
        &["paid features", "paid feature"],
        Stage::Unknown,
        Access::Gated,
        "AU,CA,DE,ES,FR,IT,JP,UK,US",
    ),
    (
        "amazonads-amc-prime-video-channel-insights.md",
        "Amazon Prime Video Channel Insights",
        &["Prime Video Channel Insights", "PVCI"],
        Stage::Unknown,
        Access::Gated,
        "AU,CA,DE,ES,FR,IT,JP,UK,US",
    ),
    (
        "amazonads-amc-sandbox.md",
        "AMC sandbox",
        &[],
        Stage::Unknown,
        Access::Unknown,
        "",
    ),
    (
        "amazonads-ads-data-manager-console.md",
        "Ads data manager",
        &["ADM"],
        Stage::Beta,
        Access::Gated,
        "",
    ),
    (
        "amazonads-ads-data-manager-account-setup.md",
        "Ads data manager",
        &["ADM"],
        Stage::Unknown,
        Access::Gated,
        "",
    ),
    (
        "amazonads-ads-data-manager-api-overview.md",
        "Ads data manager",
        &["ADM"],
        Stage::Unknown,
        Access::Unknown,
        "",
    ),
    (
        "amazonads-marketing-stream-data-guide.md",
        "Amazon Marketing Stream",
        &[],
        Stage::Unknown,
        Access::Unknown,
        "",
    ),
    (
        "amazonads-api-v1-betas-overview.md",
        "Amazon Ads API v1",
        &["Ads API v1"],
        Stage::Beta,
        Access::Open,
        "",
    ),
    (
        "amazonads-api-v1-overview.md",
        "Account registration",
        &[],
        Stage::Beta,
        Access::Gated,
        "",
    ),
    (
        "amazonads-api-v1-overview.md",
        "Forecasts",
        &[],
        Stage::Beta,
        Access::Open,
        "",
    ),
    (
        "amazonads-dsp-forecasting-api-beta.md",
        "Forecasting API",
        &["forecasts API"],
        Stage::Beta,
        Access::Unknown,
        "",
    ),
    (
        "amazonads-api-deprecations.md",
        "Campaign Diagnostics API",
        &[],
        Stage::Deprecated,
        Access::Unknown,
        "",
    ),
    (
        "amazonads-release-notes.md",
        "Amazon Marketing Stream",
        &[],
        Stage::Ga,
        Access::Unknown,
        "global",
    ),
    (
        "amazonads-release-notes.md",
        "Account registration API",
        &[],
        Stage::Beta,
        Access::Gated,
        "",
    ),
    (
        "amazonads-release-notes.md",
        "Sponsored Products budget recommendations and missed opportunities",
        &[],
        Stage::Ga,
        Access::Unknown,
        "AE,AU,BE,BR,CA,DE,ES,FR,IN,IT,JP,MX,NL,PL,SA,SE,SG,TR,UK,US",
    ),
    // Added after the rules were written, to check they generalise:
    (
        "amazonads-release-notes.md",
        "Campaign Management API",
        &[],
        Stage::Ga,
        Access::Unknown,
        "",
    ),
    (
        "amazonads-release-notes.md",
        "persona builder API",
        &["persona builder"],
        Stage::Ga,
        Access::Unknown,
        "",
    ),
    (
        "amazonads-release-notes.md",
        "Posts API",
        &["Posts"],
        Stage::Deprecated,
        Access::Unknown,
        "",
    ),
    (
        "amazonads-release-notes.md",
        "exports API",
        &[],
        Stage::Ga,
        Access::Unknown,
        "",
    ),
    (
        "amazonads-release-notes.md",
        "Forecasting API",
        &[],
        Stage::Beta,
        Access::Unknown,
        "",
    ),
    (
        "amazonads-api-deprecations.md",
        "Amazon Ad Server tables",
        &[],
        Stage::Deprecated,
        Access::Unknown,
        "",
    ),
    (
        "amazonads-api-v1-overview.md",
        "Linked accounts",
        &[],
        Stage::Beta,
        Access::Gated,
        "",
    ),
    (
        "amazonads-api-v1-overview.md",
        "Brand Stores",
        &[],
        Stage::Beta,
        Access::Open,
        "",
    ),
    (
        "azure-local-ai-workloads-overview-mixed-preview.md",
        "Agentic Retrieval in Foundry Local",
        &[],
        Stage::Preview,
        Access::Unknown,
        "",
    ),
    (
        "amazonads-amc-paid-features-overview.md",
        "Amazon your garage",
        &[],
        Stage::Unknown,
        Access::Unknown,
        "CA,US",
    ),
    (
        "aws-cleanrooms-api-model-2023-01-12-preview.json",
        "AWS Clean Rooms",
        &["Clean Rooms"],
        Stage::Preview,
        Access::Unknown,
        "",
    ),
    (
        "aws-cleanrooms-api-model-2023-03-21-ga.json",
        "AWS Clean Rooms",
        &["Clean Rooms"],
        Stage::Unknown,
        Access::Unknown,
        "",
    ),
    (
        "aws-cleanrooms-api-model-2024-12-02-custom-ml-beta.json",
        "Custom ML modeling",
        &["custom ML"],
        Stage::Beta,
        Access::Unknown,
        "",
    ),
    (
        "aws-cleanrooms-api-model-2025-03-18-custom-ml-ga.json",
        "Custom ML modeling",
        &["custom ML"],
        Stage::Unknown,
        Access::Unknown,
        "",
    ),
    (
        "aws-rds-on-outposts-2020-06-28-preview.md",
        "Amazon RDS on AWS Outposts",
        &["RDS on Outposts"],
        Stage::Preview,
        Access::Unknown,
        "",
    ),
    (
        "aws-rds-on-outposts-2020-07-06-ga.md",
        "Amazon RDS on AWS Outposts",
        &["RDS on Outposts"],
        Stage::Unknown,
        Access::Unknown,
        "",
    ),
    (
        "azure-foundry-local-on-azure-local-overview-preview-include.md",
        "Foundry Local on Azure Local",
        &[],
        Stage::Preview,
        Access::Gated,
        "",
    ),
    (
        "azure-foundry-local-preview-include-snippet.md",
        "Foundry Local",
        &[],
        Stage::Preview,
        Access::Unknown,
        "",
    ),
    (
        "azure-sovereign-private-clouds-preview-include-snippet.md",
        "Sovereign Private Cloud",
        &[],
        Stage::Preview,
        Access::Unknown,
        "",
    ),
    (
        "azure-local-ai-workloads-overview-mixed-preview.md",
        "Foundry Local on Azure Local",
        &[],
        Stage::Preview,
        Access::Unknown,
        "",
    ),
    (
        "azure-local-ai-workloads-overview-mixed-preview.md",
        "Azure AI Video Indexer enabled by Azure Arc",
        &["Video Indexer"],
        Stage::Unknown,
        Access::Unknown,
        "",
    ),
    (
        "gcp-adk-computer-use-preview-with-preview-model-id.md",
        "Computer Use",
        &["Computer Use Toolset"],
        Stage::Preview,
        Access::Unknown,
        "",
    ),
    (
        "gcp-spanner-omni-graph-notebook-preview-early-access.md",
        "Spanner Omni",
        &["Spanner Graph notebook"],
        Stage::Preview,
        Access::Gated,
        "",
    ),
    (
        "github-docs-security-manager-role-public-beta-inline-note.md",
        "security manager role",
        &[],
        Stage::Beta,
        Access::Open,
        "",
    ),
    (
        "github-docs-security-managers-status-via-reusable-include.md",
        "security manager role",
        &[],
        Stage::Unknown,
        Access::Unknown,
        "",
    ),
    (
        "github-docs-reusable-security-manager-beta-note-release-phase-variable.md",
        "security manager role",
        &[],
        Stage::Preview,
        Access::Open,
        "",
    ),
    (
        "github-roadmap-readme-release-phases-2024-08-28-alpha-beta-ga.md",
        "GitHub public roadmap",
        &[],
        Stage::Unknown,
        Access::Unknown,
        "",
    ),
    (
        "github-roadmap-readme-release-phases-2024-10-15-preview-ga.md",
        "GitHub public roadmap",
        &[],
        Stage::Unknown,
        Access::Unknown,
        "",
    ),
];

fn read(path: &Path) -> capwatch::model::Page {
    let body = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let kind = content_kind(None, &path.to_string_lossy());
    extract(&body, kind, &Selection::default())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn run(dir: &Path, case: &Case) -> Inference {
    let subject = Subject::new(case.1, case.2);
    infer(&read(&dir.join(case.0)), &subject, &Vocabulary::default())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--dump") => {
            for p in &args[1..] {
                let page = read(Path::new(p));
                println!("=== {p}\ntitle: {:?}", page.title);
                for b in &page.blocks {
                    println!("{:?}\t{}\t{:?}", b.kind, b.text, b.links);
                }
            }
        }
        Some("--explain") => {
            let dir = Path::new(&args[1]);
            for case in CASES
                .iter()
                .filter(|c| args[2..].iter().any(|f| c.0.contains(f.as_str())))
            {
                let inf = run(dir, case);
                println!("=== {} [{}]", case.0, case.1);
                println!(
                    "{}",
                    serde_json::to_string_pretty(&inf).expect("serializable")
                );
            }
        }
        Some(dir) => table(Path::new(dir)),
        None => {
            eprintln!("usage: accuracy DIR | --dump FILE… | --explain DIR FILE…");
            std::process::exit(2);
        }
    }
}

fn table(dir: &Path) {
    let manifest =
        std::fs::read_to_string(dir.join("MANIFEST.tsv")).expect("MANIFEST.tsv in the directory");
    let read_as: BTreeMap<&str, &str> = manifest
        .lines()
        .skip(1)
        .filter_map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            Some((*cols.first()?, *cols.get(3)?))
        })
        .collect();
    for file in read_as.keys() {
        if !CASES.iter().any(|c| c.0 == *file) {
            println!("warning: {file} has no case in the table");
        }
    }
    println!(
        "| page | subject | manifest reading | expected stage/access | got stage/access | regions (got) | ok? |"
    );
    println!("|---|---|---|---|---|---|---|");
    let (mut stage_ok, mut access_ok, mut regions_ok, mut regions_total, mut false_ga) =
        (0, 0, 0, 0, 0);
    for case in CASES {
        let inf = run(dir, case);
        let s = &inf.status;
        let st = s.stage == case.3;
        let ac = s.access == case.4;
        stage_ok += usize::from(st);
        access_ok += usize::from(ac);
        if s.stage == Stage::Ga && case.3 != Stage::Ga {
            false_ga += 1;
        }
        let regions = s.regions.to_string();
        let mut rg = "";
        // Regions are judged only where the table states them.
        if !case.5.is_empty() {
            regions_total += 1;
            if regions == case.5 {
                regions_ok += 1;
            } else {
                rg = " regions✗";
            }
        }
        let verdict = match (st, ac) {
            (true, true) => "ok",
            (false, true) => "stage✗",
            (true, false) => "access✗",
            (false, false) => "stage✗ access✗",
        };
        println!(
            "| {} | {} | {} | {}/{} | {}/{} | {} | {}{} |",
            case.0.trim_end_matches(".md"),
            case.1,
            read_as.get(case.0).copied().unwrap_or("?"),
            case.3,
            case.4,
            s.stage,
            s.access,
            regions,
            verdict,
            rg
        );
    }
    let n = CASES.len();
    let pct = |k: usize| 100.0 * k as f64 / n as f64;
    println!();
    println!("cases: {n} (pages: {})", read_as.len());
    println!("stage right:  {stage_ok}/{n} = {:.1}%", pct(stage_ok));
    println!("access right: {access_ok}/{n} = {:.1}%", pct(access_ok));
    println!("regions right where the table states them: {regions_ok}/{regions_total}");
    println!("false ga: {false_ga}");
}
