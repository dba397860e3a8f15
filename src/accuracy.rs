//! The accuracy harness: how often extract + infer give the answer a careful
//! person reads from a page.
//!
//! In: a folder of pages and an `EXPECT.tsv` beside them (or given apart):
//! `file, name, aliases, stage, access, regions`, tab-separated, with a header.
//! `stage`/`access` list the acceptable answers (`ga,unknown`), `!x,y` means
//! "anything but x and y", `*` means not judged; `regions` lists the codes that
//! must all be found (`*`: none stated, not judged); aliases are separated by
//! `|`. Out: one [`Row`] per case and form with what was expected, what was
//! read, the deciding quote and rule, and per-form [`Totals`].
//!
//! Each page is read in two forms: as it is (Markdown, text, JSON, HTML), and,
//! for Markdown, as the HTML a standard renderer gives (CommonMark with
//! tables), placed in the `<main>` of a page whose `<nav>` and footer talk
//! about betas and previews and whose head has a script — the way a docs site
//! serves it. No expected answer lives in code: everything comes from the TSV.

use crate::evaluate::infer::{Inference, Subject, Vocabulary, infer};
use crate::extract::{ContentKind, Selection, content_kind, extract};
use crate::model::{Page, Status};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Errors reading the expectations; a page that cannot be read is a row.
#[derive(Debug, thiserror::Error)]
pub enum AccuracyError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Expect {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

/// Acceptable answers for one dimension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accept {
    /// `*`: not judged.
    Any,
    /// `a,b`: one of these.
    OneOf(Vec<String>),
    /// `!a,b`: anything but these.
    NoneOf(Vec<String>),
}

impl Accept {
    fn parse(s: &str) -> Accept {
        let s = s.trim();
        let list = |t: &str| {
            t.split(',')
                .map(|v| v.trim().to_ascii_lowercase())
                .filter(|v| !v.is_empty())
                .collect::<Vec<_>>()
        };
        if s.is_empty() || s == "*" {
            Accept::Any
        } else if let Some(rest) = s.strip_prefix('!') {
            Accept::NoneOf(list(rest))
        } else {
            Accept::OneOf(list(s))
        }
    }

    /// Whether `value` is acceptable.
    pub fn admits(&self, value: &str) -> bool {
        match self {
            Accept::Any => true,
            Accept::OneOf(v) => v.iter().any(|x| x == value),
            Accept::NoneOf(v) => !v.iter().any(|x| x == value),
        }
    }
}

impl std::fmt::Display for Accept {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Accept::Any => f.write_str("*"),
            Accept::OneOf(v) => f.write_str(&v.join(",")),
            Accept::NoneOf(v) => write!(f, "!{}", v.join(",")),
        }
    }
}

/// One line of `EXPECT.tsv`.
#[derive(Debug, Clone)]
pub struct Case {
    pub file: String,
    pub name: String,
    pub aliases: Vec<String>,
    pub stage: Accept,
    pub access: Accept,
    /// Codes that must all be found; empty: not judged.
    pub regions: Vec<String>,
}

/// Read an `EXPECT.tsv`.
pub fn read_expect(path: &Path) -> Result<Vec<Case>, AccuracyError> {
    let text = std::fs::read_to_string(path).map_err(|source| AccuracyError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let err = |line: usize, message: String| AccuracyError::Expect {
        path: path.to_path_buf(),
        line,
        message,
    };
    let mut lines = text.lines().enumerate();
    let header: Vec<&str> = match lines.next() {
        Some((_, h)) => h.split('\t').map(str::trim).collect(),
        None => {
            return Err(err(
                1,
                "empty file; the first line names the columns".into(),
            ));
        }
    };
    let col = |name: &str| header.iter().position(|h| h.eq_ignore_ascii_case(name));
    let need = ["file", "name", "stage", "access"];
    let mut at = Vec::new();
    for n in need {
        at.push(col(n).ok_or_else(|| {
            err(
                1,
                format!("no column \"{n}\"; the header must name file, name, aliases, stage, access, regions"),
            )
        })?);
    }
    let (aliases_at, regions_at) = (col("aliases"), col("regions"));
    let mut cases = Vec::new();
    for (i, line) in lines {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let cells: Vec<&str> = line.split('\t').collect();
        let cell = |k: usize| cells.get(k).map(|c| c.trim()).unwrap_or("");
        let file = cell(at[0]);
        if file.is_empty() {
            return Err(err(i + 1, "no file name in the first column".into()));
        }
        let list = |k: Option<usize>, sep: char| -> Vec<String> {
            k.map(cell)
                .filter(|c| *c != "*")
                .map(|c| {
                    c.split(sep)
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default()
        };
        cases.push(Case {
            file: file.to_string(),
            name: cell(at[1]).to_string(),
            aliases: list(aliases_at, '|'),
            stage: Accept::parse(cell(at[2])),
            access: Accept::parse(cell(at[3])),
            regions: list(regions_at, ','),
        });
    }
    Ok(cases)
}

/// The form a page was read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Form {
    /// As stored: Markdown, text, JSON or HTML.
    Source,
    /// Markdown rendered to HTML inside a docs-site page.
    Html,
}

impl Form {
    pub fn as_str(self) -> &'static str {
        match self {
            Form::Source => "source",
            Form::Html => "html",
        }
    }
}

/// One case read in one form.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub file: String,
    pub name: String,
    pub form: Form,
    pub expected: String,
    /// `stage/access [regions]`, or the error that kept the page from being read.
    pub got: String,
    pub right: bool,
    pub false_ga: bool,
    /// Unknown where the expectation names a known value.
    pub unknown_where_known: bool,
    /// What is wrong, in a few words ("stage", "access", "regions: missing DE").
    pub misses: Vec<String>,
    /// The deciding quotes with their rules, one per dimension.
    pub evidence: Vec<String>,
    #[serde(skip)]
    pub status: Option<Status>,
}

/// Counts for one form.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Totals {
    pub cases: usize,
    pub right: usize,
    pub wrong: usize,
    pub false_ga: usize,
    pub unknown_where_known: usize,
}

/// Everything a run found.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub rows: Vec<Row>,
    pub source: Totals,
    pub html: Totals,
    /// Cases read in both forms, and how many gave the same answer.
    pub both_forms: usize,
    pub same_answer: usize,
}

/// Run every case of `cases` on the pages in `dir`.
pub fn run(dir: &Path, cases: &[Case]) -> Report {
    let mut rows = Vec::new();
    let (mut both, mut same) = (0, 0);
    for case in cases {
        let subject = Subject {
            name: case.name.clone(),
            aliases: case.aliases.clone(),
        };
        let forms: Vec<Row> = read_forms(&dir.join(&case.file))
            .into_iter()
            .map(|(form, page)| {
                let read = page.map(|p| infer(&p, &subject, &Vocabulary::default()));
                judge(case, form, read)
            })
            .collect();
        if let [source, html] = &forms[..] {
            both += 1;
            if html.status.is_some() && html.status == source.status {
                same += 1;
            }
        }
        rows.extend(forms);
    }
    let totals = |form: Form| {
        let mut t = Totals::default();
        for r in rows.iter().filter(|r| r.form == form) {
            t.cases += 1;
            if r.right {
                t.right += 1;
            } else {
                t.wrong += 1;
            }
            t.false_ga += usize::from(r.false_ga);
            t.unknown_where_known += usize::from(r.unknown_where_known);
        }
        t
    };
    Report {
        source: totals(Form::Source),
        html: totals(Form::Html),
        rows,
        both_forms: both,
        same_answer: same,
    }
}

/// A page file in each form it is judged in: as written, and for Markdown
/// also as [`markdown_page`] serves it; each extracted, or why it could not be.
pub fn read_forms(path: &Path) -> Vec<(Form, Result<Page, String>)> {
    let name = path.to_string_lossy();
    let kind = content_kind(None, &name);
    let body = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()));
    let read =
        |bytes: &[u8], kind| extract(bytes, kind, &Selection::default()).map_err(|e| e.to_string());
    let mut out = vec![(
        Form::Source,
        body.as_ref()
            .map_err(Clone::clone)
            .and_then(|b| read(b, kind)),
    )];
    if kind == ContentKind::Markdown {
        let html = body.as_ref().map_err(Clone::clone).and_then(|b| {
            read(
                markdown_page(&String::from_utf8_lossy(b)).as_bytes(),
                ContentKind::Html,
            )
        });
        out.push((Form::Html, html));
    }
    out
}

fn judge(case: &Case, form: Form, read: Result<Inference, String>) -> Row {
    let expected = format!(
        "{}/{}{}",
        case.stage,
        case.access,
        if case.regions.is_empty() {
            String::new()
        } else {
            format!(" [{}]", case.regions.join(","))
        }
    );
    let mut row = Row {
        file: case.file.clone(),
        name: case.name.clone(),
        form,
        expected,
        got: String::new(),
        right: false,
        false_ga: false,
        unknown_where_known: false,
        misses: Vec::new(),
        evidence: Vec::new(),
        status: None,
    };
    let inf = match read {
        Ok(inf) => inf,
        Err(e) => {
            row.got = e;
            row.misses.push("unreadable".into());
            return row;
        }
    };
    let st = &inf.status;
    row.got = st.to_string();
    let (stage, access) = (st.stage.to_string(), st.access.to_string());
    if !case.stage.admits(&stage) {
        row.misses.push("stage".into());
        row.false_ga |= stage == "ga";
        row.unknown_where_known |= stage == "unknown";
    }
    if !case.access.admits(&access) {
        row.misses.push("access".into());
        row.unknown_where_known |= access == "unknown";
    }
    let missing: Vec<&str> = case
        .regions
        .iter()
        .filter(|c| !st.regions.codes().iter().any(|g| g.eq_ignore_ascii_case(c)))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        row.misses
            .push(format!("regions: missing {}", missing.join(",")));
        row.unknown_where_known |= !st.regions.is_known();
    }
    row.right = row.misses.is_empty();
    for dim in ["stage", "access", "regions"] {
        if let Some(e) = inf.evidence.iter().find(|e| e.dimension.as_str() == dim) {
            row.evidence
                .push(format!("{dim}: \"{}\" ({})", short(&e.quote, 140), e.rule));
        }
    }
    row.status = Some(inf.status);
    row
}

fn short(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max).collect();
    out.push('…');
    out
}

/// A Markdown page as a docs site serves it: rendered by a standard
/// CommonMark renderer with tables, inside `<main>`, with a navigation and a
/// footer that talk about betas and previews and a script in the head.
pub fn markdown_page(markdown: &str) -> String {
    use pulldown_cmark::{Options, Parser, html};
    let mut body = String::new();
    html::push_html(&mut body, Parser::new_ext(markdown, Options::ENABLE_TABLES));
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <script>window.dataLayer = window.dataLayer || []; var beta = \"preview\";</script>\
         </head><body>\
         <nav><a href=\"/betas\">Beta programs</a> <a href=\"/previews\">Preview features</a></nav>\
         <main>{body}</main>\
         <footer>Beta and preview features are provided under the Beta Terms and the Preview Terms.</footer>\
         </body></html>"
    )
}

/// The report as a Markdown table and totals.
pub fn render(report: &Report, only_misses: bool) -> String {
    let mut out = String::new();
    out.push_str("| page | form | subject | expected | got | ok | deciding quote (rule) |\n");
    out.push_str("|---|---|---|---|---|---|---|\n");
    for r in report.rows.iter().filter(|r| !only_misses || !r.right) {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            r.file.trim_end_matches(".md"),
            r.form.as_str(),
            cell(&r.name),
            r.expected,
            cell(&r.got),
            if r.right {
                "ok".to_string()
            } else {
                format!("✗ {}", r.misses.join("; "))
            },
            cell(&r.evidence.join(" · "))
        );
    }
    out.push('\n');
    out.push_str("| form | cases | right | wrong | false GA | unknown where known |\n");
    out.push_str("|---|---|---|---|---|---|\n");
    for (name, t) in [("source", &report.source), ("html", &report.html)] {
        if t.cases == 0 {
            continue;
        }
        let _ = writeln!(
            out,
            "| {name} | {} | {} ({:.0} %) | {} | {} | {} |",
            t.cases,
            t.right,
            100.0 * t.right as f64 / t.cases as f64,
            t.wrong,
            t.false_ga,
            t.unknown_where_known
        );
    }
    if report.both_forms > 0 {
        let _ = writeln!(
            out,
            "\nsame answer in both forms: {}/{} ({:.0} %)",
            report.same_answer,
            report.both_forms,
            100.0 * report.same_answer as f64 / report.both_forms as f64
        );
    }
    out
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_lists_negations_and_any() {
        assert!(Accept::parse("ga,unknown").admits("unknown"));
        assert!(!Accept::parse("ga,unknown").admits("beta"));
        assert!(Accept::parse("!ga").admits("beta"));
        assert!(!Accept::parse("!ga,beta").admits("beta"));
        assert!(Accept::parse("*").admits("anything"));
    }

    #[test]
    fn markdown_page_puts_the_rendered_table_in_main() {
        let page = markdown_page("# T\n\n| a | b |\n|---|---|\n| 1 | 2 |\n");
        let main = &page[page.find("<main>").unwrap()..page.find("</main>").unwrap()];
        assert!(main.contains("<table>") && main.contains("<h1>T</h1>"));
        assert!(page.contains("<nav>") && page.contains("<footer>"));
    }
}
