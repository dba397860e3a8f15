//! Status inference: what an official page says about one capability.
//!
//! In: an extracted [`Page`], the [`Subject`] (the capability's name and
//! aliases) and the registry's extra [`Vocabulary`]. Out: an [`Inference`] —
//! the observed [`Status`] (stage, access, regions), every [`Evidence`]
//! sentence that decided it, and notes on what was set aside. Pure: no I/O,
//! no clock.
//!
//! # Where a phrase counts
//!
//! A lifecycle phrase ("in public preview", "closed beta", "generally
//! available", "allow-listed", "us-east-1"…) counts only in one of three places,
//! strongest first:
//!
//! 1. **title** — the page title or the first H1, whatever it names
//!    ("Forecasting API (beta)").
//! 2. **banner** — a callout that names the subject or says "this
//!    feature/product/service/page…"; a bare status label ("Preview") in a
//!    callout at the top of the page (before the first sub-heading, after at
//!    most one intro paragraph); or a sentence before the first sub-heading
//!    about "this documentation/feature…" ("This is prerelease
//!    documentation…"). A top callout that names something else ("The
//!    security manager role is in public beta") is not a banner for other
//!    subjects.
//! 3. **sentence** — a sentence that names the subject (name or alias,
//!    case-insensitive, whole words); a "This feature…/It…" sentence right after
//!    one; a "Regions:/Availability:/Status:" line in a section whose heading
//!    names the subject; a table row naming the subject (one row is one sentence).
//!
//! Within a sentence that names the subject, a phrase is about the subject
//! unless the subject is introduced by a preposition in the same clause
//! ("metrics now in beta through Amazon Marketing Stream", "… via Amazon
//! Marketing Stream GA" are not about Amazon Marketing Stream); a
//! parenthesised label ("(beta)") belongs to the (at most two) words just
//! before it; a sentence that starts with "Some"/"Certain"/"Many" speaks
//! about part of something, so only a subject listed after the phrase ("…are in
//! preview, including Foo") counts; "does not include Foo"/"except Foo" after
//! the phrase excludes Foo. A name followed by a version or by what belongs to
//! it ("Foo v2", "Foo account", "Foo reports", "Foo's") names something else.
//! Phrases inside link text, inside quotation marks (a title such as "SD
//! reports v2 deprecation"), inside identifiers (`model-preview-10`,
//! `#dataset-beta`, `beta_flag`) and in code blocks never count. A title that
//! names a list ("Planned deprecations", "API betas") is not a status.
//!
//! # Reading one sentence
//!
//! - A "now" clause wins: in "X, which was first launched as beta, is now
//!   generally available" the past-tense beta is history. Past tense alone
//!   ("was released to open beta in May") still counts, but weakly.
//! - "Until today…/previously…" statements, negations ("no longer in beta",
//!   "not yet generally available", "before general availability (GA)") and
//!   lists of stage words ("in beta, preview, or otherwise not yet released")
//!   do not count.
//! - GA is never guessed: only "generally available", "general availability"
//!   or an upper-case "GA" stating the subject's stage — not future ("will be
//!   generally available" is `announced`), not negated, not qualifying another
//!   noun ("uses the generally available version of Bar"). "Now available"
//!   counts as GA only when nothing else in the sentence names a stage, and
//!   weakly.
//! - Regions: AWS codes anywhere in an availability sentence; country or
//!   marketplace codes in a list ("US/CA/JP"), beside "marketplace"/"region",
//!   or after an availability label; "all regions"/"worldwide" → global.
//!   Negated sentences ("not available in CA") give none.
//!
//! # Deciding
//!
//! For each dimension: weak wording ("now available", "coming soon", past
//! tense) is set aside when strong wording comes from the same section; then
//! the strongest place wins (title over banner over sentence); then, on pages
//! with dated headings (release notes: "## June 3, 2025", "### 2024-11-05",
//! "### September 2025"), only the most recent dated section that says
//! anything counts — by date, not by order on the page; then strong over weak.
//! If what remains still disagrees (beta and ga in equally strong places), the
//! dimension is `unknown`, the competing quotes are all kept as evidence and a
//! note says so: never a guess. Access that comes with a stage ("open beta" →
//! open, "closed beta" → gated) is dropped once the page's stage is another
//! one. Regions are the union of the codes in the winning places (global and
//! codes together → unknown, with a note). Notes also say what was set aside
//! and why.

use crate::model::{Access, Block, BlockKind, Dimension, Page, Regions, Stage, Status};
use regex::Regex;
use serde::Serialize;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::sync::LazyLock;

/// The capability a page is read for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub name: String,
    pub aliases: Vec<String>,
}

impl Subject {
    pub fn new(name: impl Into<String>, aliases: &[&str]) -> Self {
        Subject {
            name: name.into(),
            aliases: aliases.iter().map(|a| a.to_string()).collect(),
        }
    }
}

/// Registry-level vocabulary additions (per capability/source), on top of the built-in one.
#[derive(Default, Clone, Debug)]
pub struct Vocabulary {
    pub stage: Vec<(Stage, String)>,
    pub access: Vec<(Access, String)>,
}

/// One sentence that supports an observed value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evidence {
    pub dimension: Dimension,
    /// The value it supports, e.g. "beta", "gated", "US,UK".
    pub value: String,
    /// The whole sentence, trimmed (shortened around the phrase past ~300 chars).
    pub quote: String,
    /// Which rule fired, e.g. "stage:beta phrase `open beta` in banner".
    pub rule: String,
}

/// What a page says about a subject: the status, the evidence and notes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Inference {
    #[serde(flatten)]
    pub status: Status,
    pub evidence: Vec<Evidence>,
    /// E.g. "conflicting stage evidence: beta vs ga".
    pub notes: Vec<String>,
}

/// Read `page` for `subject`, with the built-in vocabulary plus `extra`.
pub fn infer(page: &Page, subject: &Subject, extra: &Vocabulary) -> Inference {
    let matcher = SubjectMatcher::new(subject);
    let extra_rules = extra_rules(extra);
    let layout = Layout::of(page, &matcher);
    let mut cands = Vec::new();
    if let Some(title) = &page.title {
        let s = Sentence {
            text: title,
            links: Vec::new(),
            place: PlaceInfo {
                title: true,
                ..PlaceInfo::default()
            },
            mentions: matcher.find(title),
            date: None,
            units: vec![title.as_str()],
            table_row: false,
            partial: false,
        };
        scan(&s, &extra_rules, &mut cands);
    }
    for (i, block) in page.blocks.iter().enumerate() {
        if block.kind == BlockKind::Code {
            continue;
        }
        let spans = sentence_spans(block);
        let mut prev_named = false;
        for (n, &(start, end)) in spans.iter().enumerate() {
            let text = &block.text[start..end];
            let mentions = matcher.find(text);
            let info = layout.place(i, block, text, n, !mentions.is_empty(), prev_named);
            prev_named = !mentions.is_empty();
            if !info.any() && mentions.is_empty() {
                continue;
            }
            let links = block
                .links
                .iter()
                .filter(|&&(s, e)| e > start && s < end)
                .map(|&(s, e)| (s.max(start) - start, e.min(end) - start))
                .collect();
            let units = if block.kind == BlockKind::TableRow {
                text.split(" | ").collect()
            } else if spans.len() == 1 {
                vec![text]
            } else {
                Vec::new()
            };
            let s = Sentence {
                text,
                links,
                place: info,
                mentions,
                date: layout.dates[i],
                units,
                table_row: block.kind == BlockKind::TableRow,
                partial: PARTIAL.is_match(text),
            };
            scan(&s, &extra_rules, &mut cands);
        }
    }
    resolve(cands)
}

// ---------------------------------------------------------------------------
// Places

/// How strong a place on the page is. Higher wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Place {
    Sentence = 1,
    Banner = 2,
    Title = 3,
}

impl Place {
    fn name(self) -> &'static str {
        match self {
            Place::Title => "title",
            Place::Banner => "banner",
            Place::Sentence => "sentence naming the subject",
        }
    }
}

/// What a sentence's position allows before looking at the subject.
#[derive(Debug, Clone, Copy, Default)]
struct PlaceInfo {
    /// Page title or first H1.
    title: bool,
    /// A callout (names the subject → banner).
    callout: bool,
    /// A banner whatever it names (top callout, "this feature…" callout, page-level statement).
    banner: bool,
    /// About the subject without naming it ("This feature…" after a naming
    /// sentence; a "Regions:" line under a heading that names it).
    implicit: bool,
}

impl PlaceInfo {
    fn any(self) -> bool {
        self.title || self.banner || self.implicit
    }
}

/// Year, month, day (0 when only the month is known).
type Date = (i32, u32, u32);

/// Per-block facts about the page's shape.
struct Layout {
    /// Index of the first H1 block, if it comes before any other heading.
    h1: Option<usize>,
    /// Index of the first heading below H1.
    first_sub: usize,
    /// Callouts at the top of the page.
    top_callout: Vec<bool>,
    /// The date of the dated section each block is in.
    dates: Vec<Option<Date>>,
    /// Whether the nearest heading above each block names the subject.
    section_named: Vec<bool>,
}

static THIS_REF: LazyLock<Regex> = LazyLock::new(|| {
    ascii_regex(
        r"(?i)\bthis (?:is (?:an? )?)?(?:[\w-]+ ){0,2}?(?:feature|product|service|api|page|article|documentation|capability|tool|offering|release|functionality|integration|program|preview|beta)s?\b",
    )
    .expect("valid regex")
});

static PARTIAL: LazyLock<Regex> = LazyLock::new(|| {
    ascii_regex(r"(?i)^(?:some|certain|several|many|a few|one or more|parts? of)\b")
        .expect("valid regex")
});

static ANAPHORA: LazyLock<Regex> = LazyLock::new(|| {
    ascii_regex(
        r"(?i)^(?:(?:this|the) (?:feature|product|service|api|resource|capability|tool|dataset|integration|offering|program|role|model|release|version|endpoint|extension)s?\b|it(?:'s| is| was| has| will| can| remains)\b)",
    )
    .expect("valid regex")
});

static SECTION_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    ascii_regex(
        r"(?i)^(?:regions?|supported regions|availability|available in|marketplaces?|countries|locations|status|stage|launch stage|release phase|eligibility|access)\s*:",
    )
    .expect("valid regex")
});

impl Layout {
    fn of(page: &Page, matcher: &SubjectMatcher) -> Layout {
        let n = page.blocks.len();
        let first_heading = page
            .blocks
            .iter()
            .position(|b| matches!(b.kind, BlockKind::Heading(_)));
        let h1 = first_heading.filter(|&i| page.blocks[i].kind == BlockKind::Heading(1));
        let first_sub = page
            .blocks
            .iter()
            .enumerate()
            .position(|(i, b)| matches!(b.kind, BlockKind::Heading(l) if l >= 2 || Some(i) != h1))
            .unwrap_or(n);
        let mut top_callout = vec![false; n];
        let mut paragraphs = 0;
        for (i, b) in page.blocks.iter().enumerate().take(first_sub) {
            match b.kind {
                BlockKind::Callout => top_callout[i] = paragraphs <= 1,
                BlockKind::Paragraph => paragraphs += 1,
                BlockKind::ListItem | BlockKind::TableRow | BlockKind::Code => paragraphs += 2,
                BlockKind::Heading(_) => {}
            }
        }
        let mut dates = vec![None; n];
        let mut dated: Vec<(u8, Date)> = Vec::new();
        let mut section_named = vec![false; n];
        let mut named = false;
        for (i, b) in page.blocks.iter().enumerate() {
            if let BlockKind::Heading(level) = b.kind {
                dated.retain(|&(l, _)| l < level);
                if let Some(d) = heading_date(&b.text) {
                    dated.push((level, d));
                }
                named = matcher
                    .find(&b.text)
                    .iter()
                    .any(|&(ms, _)| !after_preposition(&b.text, ms));
            }
            dates[i] = dated.last().map(|&(_, d)| d);
            section_named[i] = named;
        }
        Layout {
            h1,
            first_sub,
            top_callout,
            dates,
            section_named,
        }
    }

    /// Where sentence `n` (text `text`) of block `i` stands.
    fn place(
        &self,
        i: usize,
        block: &Block,
        text: &str,
        n: usize,
        names: bool,
        prev_named: bool,
    ) -> PlaceInfo {
        let mut info = PlaceInfo {
            title: Some(i) == self.h1,
            ..PlaceInfo::default()
        };
        let partial = PARTIAL.is_match(text);
        if block.kind == BlockKind::Callout {
            info.callout = true;
            // A top callout that names something else ("The security manager
            // role is in beta") is not about every subject: without the
            // subject's name it must say "this feature…" or be a bare label.
            let bare = BARE_LABEL.is_match(text.trim().trim_end_matches(['.', ':']));
            if !partial && (THIS_REF.is_match(text) || (self.top_callout[i] && bare)) {
                info.banner = true;
            }
        } else if i < self.first_sub
            && !partial
            && !matches!(block.kind, BlockKind::Heading(_))
            && THIS_REF.is_match(text)
        {
            info.banner = true;
        }
        if !names
            && ((n > 0 && prev_named && ANAPHORA.is_match(text))
                || (self.section_named[i]
                    && !matches!(block.kind, BlockKind::Heading(_))
                    && SECTION_LABEL.is_match(text)))
        {
            info.implicit = true;
        }
        info
    }
}

// ---------------------------------------------------------------------------
// Subject matching

/// Finds whole-word, case-insensitive mentions of a subject's name or aliases,
/// with any run of whitespace (no-break spaces included) between their words.
/// It finds what the regex `(?i)(?:longest name|…|shortest name)` would
/// (leftmost-first, longest name preferred at a position, matches not
/// overlapping) followed by the whole-word check, without compiling a regex
/// for every page read: that compilation cost more than the rest of inference.
struct SubjectMatcher {
    /// Each name or alias as its words, longest name first.
    names: Vec<Vec<String>>,
    /// The first character of each name, to skip ahead to candidate positions.
    firsts: Vec<char>,
    /// Bytes that can start a mention: the ASCII characters equal to a first
    /// character ignoring case, and every non-ASCII lead byte (checked against
    /// `firsts` when met), so the scan can skip along the bytes.
    starts: [bool; 256],
}

impl SubjectMatcher {
    fn new(subject: &Subject) -> Self {
        let mut names: Vec<&str> = std::iter::once(subject.name.as_str())
            .chain(subject.aliases.iter().map(String::as_str))
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .collect();
        // Longest first, so "Amazon Ads API v1" wins over "Ads API".
        names.sort_by_key(|n| std::cmp::Reverse(n.len()));
        names.dedup();
        let names: Vec<Vec<String>> = names
            .iter()
            .map(|n| n.split_whitespace().map(str::to_string).collect())
            .collect();
        let mut firsts: Vec<char> = Vec::new();
        for c in names.iter().filter_map(|n| n.first()?.chars().next()) {
            if !firsts.iter().any(|f| fold_eq(*f, c)) {
                firsts.push(c);
            }
        }
        let mut starts = [false; 256];
        for (b, start) in starts.iter_mut().enumerate() {
            *start = b >= 0xC0 || (b < 0x80 && firsts.iter().any(|f| fold_eq(b as u8 as char, *f)));
        }
        SubjectMatcher {
            names,
            firsts,
            starts,
        }
    }

    /// The next byte offset at or after `from` where a name could start.
    fn next_start(&self, text: &str, mut from: usize) -> Option<usize> {
        let bytes = text.as_bytes();
        loop {
            from += bytes[from..]
                .iter()
                .position(|&b| self.starts[b as usize])?;
            let c = text[from..].chars().next()?;
            if self.firsts.iter().any(|f| fold_eq(c, *f)) {
                return Some(from);
            }
            from += c.len_utf8();
        }
    }

    /// Byte spans of whole-word mentions of the subject in `text`.
    fn find(&self, text: &str) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let mut from = 0;
        while from < text.len() {
            let Some(start) = self.next_start(text, from) else {
                break;
            };
            match self.names.iter().find_map(|n| match_words(text, start, n)) {
                Some(end) => {
                    let before = text[..start].chars().next_back();
                    let after = text[end..].chars().next();
                    let ok = |c: Option<char>| !c.is_some_and(|c| c.is_alphanumeric() || c == '_');
                    if ok(before) && ok(after) && !names_something_else(&text[end..]) {
                        out.push((start, end));
                    }
                    from = end;
                }
                None => from = start + text[start..].chars().next().map_or(1, char::len_utf8),
            }
        }
        out
    }
}

/// Nouns that, right after the subject's name, make the phrase about
/// something of the subject's rather than the subject: its accounts, users,
/// reports, playbooks, a version.
const OTHER_THINGS: &[&str] = &[
    "account",
    "accounts",
    "instance",
    "instances",
    "user",
    "users",
    "customer",
    "customers",
    "advertiser",
    "advertisers",
    "seller",
    "sellers",
    "vendor",
    "vendors",
    "partner",
    "partners",
    "developer",
    "developers",
    "team",
    "teams",
    "report",
    "reports",
    "reporting",
    "campaign",
    "campaigns",
    "playbook",
    "playbooks",
    "audience",
    "audiences",
    "profile",
    "profiles",
    "table",
    "tables",
    "metric",
    "metrics",
    "signal",
    "signals",
    "data",
    "page",
    "pages",
    "documentation",
    "docs",
    "guide",
    "guides",
    "tutorial",
    "tutorials",
    "customers'",
    "users'",
];

/// True when the words after a mention continue a longer name ("AMC instance",
/// "Amazon DSP account", "Amazon Ads API v1", "AMC's sandbox"): the sentence
/// is then about that other thing.
fn names_something_else(after: &str) -> bool {
    if after.starts_with("'s") || after.starts_with("’s") {
        return true;
    }
    let Some(rest) = after.strip_prefix(' ') else {
        return false;
    };
    let word: String = rest
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '\'')
        .collect();
    let lower = word.to_lowercase();
    let version = lower.len() >= 2
        && lower.starts_with('v')
        && lower[1..].chars().all(|c| c.is_ascii_digit());
    version || OTHER_THINGS.contains(&lower.as_str())
}

/// Where `words` (separated by at least one whitespace character) end when
/// they match `text` from byte `start`, case-insensitively.
fn match_words(text: &str, start: usize, words: &[String]) -> Option<usize> {
    let mut pos = start;
    for (k, word) in words.iter().enumerate() {
        if k > 0 {
            let ws: usize = text[pos..]
                .chars()
                .take_while(|c| c.is_whitespace())
                .map(char::len_utf8)
                .sum();
            if ws == 0 {
                return None;
            }
            pos += ws;
        }
        let mut rest = text[pos..].chars();
        for w in word.chars() {
            match rest.next() {
                Some(t) if fold_eq(t, w) => pos += t.len_utf8(),
                _ => return None,
            }
        }
    }
    Some(pos)
}

/// Case-insensitive equality of two characters (simple, one-to-one case
/// mappings, as a `(?i)` regex compares them).
fn fold_eq(a: char, b: char) -> bool {
    if a == b {
        return true;
    }
    if a.is_ascii() && b.is_ascii() {
        return a.eq_ignore_ascii_case(&b);
    }
    let (la, lb) = (single(a.to_lowercase()), single(b.to_lowercase()));
    if la.is_some() && la == lb {
        return true;
    }
    let (ua, ub) = (single(a.to_uppercase()), single(b.to_uppercase()));
    ua.is_some() && ua == ub
}

/// The only character of a case mapping, when it maps to exactly one.
fn single(mut chars: impl Iterator<Item = char>) -> Option<char> {
    let c = chars.next()?;
    chars.next().is_none().then_some(c)
}

// ---------------------------------------------------------------------------
// Sentences

const ABBREVIATIONS: &[&str] = &[
    "e.g", "i.e", "etc", "vs", "inc", "ltd", "no", "approx", "u.s", "mr", "ms", "dr", "st", "fig",
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "ver",
];

/// Byte spans of the sentences of a block. Headings and table rows are one sentence.
fn sentence_spans(block: &Block) -> Vec<(usize, usize)> {
    let text = &block.text;
    if matches!(block.kind, BlockKind::Heading(_) | BlockKind::TableRow) {
        return vec![(0, text.len())];
    }
    let bytes = text.as_bytes();
    let mut spans = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if matches!(c, b'.' | b'?' | b'!') {
            let mut j = i + 1;
            while j < bytes.len() && matches!(bytes[j], b'"' | b')' | b'\'' | b'*') {
                j += 1;
            }
            let next = text[j..].chars().nth(1);
            let at_space = j < bytes.len() && bytes[j] == b' ';
            let starts_sentence = next.is_some_and(|n| {
                n.is_uppercase() || n.is_ascii_digit() || matches!(n, '"' | '(' | '[' | '“' | '*')
            });
            if at_space
                && starts_sentence
                && !(c == b'.' && ends_with_abbreviation(&text[start..i]))
            {
                spans.push((start, j));
                start = j + 1;
                i = start;
                continue;
            }
        }
        i += 1;
    }
    if start < text.len() {
        spans.push((start, text.len()));
    }
    spans
        .into_iter()
        .map(|(s, e)| {
            let t = &text[s..e];
            let lead = t.len() - t.trim_start().len();
            (s + lead, s + t.trim_end().len())
        })
        .filter(|(s, e)| e > s)
        .collect()
}

fn ends_with_abbreviation(before: &str) -> bool {
    let word = before
        .rsplit(|c: char| c.is_whitespace() || c == '(')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    ABBREVIATIONS.contains(&word.as_str())
        || (word.len() == 1 && word.chars().all(char::is_alphabetic))
}

/// One sentence to scan, with what its place allows.
struct Sentence<'a> {
    text: &'a str,
    links: Vec<(usize, usize)>,
    place: PlaceInfo,
    mentions: Vec<(usize, usize)>,
    date: Option<Date>,
    /// Parts that may be a bare status label: table cells, or a short block whole.
    units: Vec<&'a str>,
    table_row: bool,
    /// Starts with "Some"/"Certain"…: only subjects listed after the phrase count.
    partial: bool,
}

// ---------------------------------------------------------------------------
// Rules

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Value {
    Stage(Stage),
    Access(Access),
}

impl Value {
    fn dimension(self) -> Dimension {
        match self {
            Value::Stage(_) => Dimension::Stage,
            Value::Access(_) => Dimension::Access,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Value::Stage(s) => s.as_str(),
            Value::Access(a) => a.as_str(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Plain,
    /// Used only when nothing stronger exists ("now available", "coming soon").
    Weak,
    /// A parenthesised label: belongs to the words just before it.
    Label,
    /// A GA phrase: not when negated or future.
    GaClaim,
}

struct Rule {
    value: Value,
    re: Regex,
    kind: Kind,
    /// Words that, as the first capture group, make the match not count.
    reject_group: &'static [&'static str],
}

fn rule(value: Value, pattern: &str, kind: Kind) -> Rule {
    let pattern = if pattern.starts_with("(?-i)") {
        pattern.to_string()
    } else {
        format!("(?i){pattern}")
    };
    Rule {
        value,
        re: ascii_regex(&pattern).expect("valid built-in rule"),
        kind,
        reject_group: &[],
    }
}

/// A regex whose classes, case folding and word boundaries are ASCII (the
/// built-in patterns are English; the only one that fails to build this way,
/// because its `.` could match half a character, stays Unicode).
///
/// Block text has its white space collapsed to ASCII spaces already
/// (`extract`), so nothing the built-in rules look for is lost, and the
/// compiled automaton is a fraction of the Unicode one: ASCII case folding
/// adds no multi-byte alternatives (`k` also matching the Kelvin sign), and
/// an ASCII `\b` keeps the fast lazy DFA on text that holds an em dash or a
/// curly quote.
fn ascii_regex(pattern: &str) -> Result<Regex, regex::Error> {
    regex::RegexBuilder::new(pattern).unicode(false).build()
}

const NOT_RESTRICTIVE: &[&str] = &["all", "any", "every", "most", "both", "your", "the"];

static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    use Access::{Gated, Open};
    use Kind::*;
    use Stage::*;
    let s = Value::Stage;
    let a = Value::Access;
    let mut rules = vec![
        // preview
        rule(
            s(Preview),
            r"pre-?release (?:documentation|version|software|service|feature|product|offering)s?",
            Plain,
        ),
        rule(
            s(Preview),
            r"in (?:an? )?(?:public |private |limited |gated |technical |early )?preview(?: release| state| stage| phase)?",
            Plain,
        ),
        rule(
            s(Preview),
            r"(?:public|private|limited|gated|technical|early) preview",
            Plain,
        ),
        rule(
            s(Preview),
            r"preview (?:release|offering|version|feature|program|phase|stage|period|availability|service)s?",
            Plain,
        ),
        rule(s(Preview), r"during (?:the )?preview", Plain),
        rule(
            s(Preview),
            r"pre-ga (?:offerings?|products?|features?|releases?|terms)",
            Plain,
        ),
        rule(s(Preview), r"[(\[]preview[)\]]", Label),
        rule(s(Preview), r"early access", Plain),
        rule(s(Preview), r"experimental", Plain),
        rule(
            s(Preview),
            r"in (?:an? )?(?:private |closed |early )?alpha|alpha (?:release|version|program|phase)s?",
            Plain,
        ),
        // beta
        rule(
            s(Beta),
            r"in (?:an? )?(?:open |public |closed |private |limited )?beta(?: release| state| stage| phase| program| version| form)?s?",
            Plain,
        ),
        rule(
            s(Beta),
            r"(?:open|public|closed|private|limited) betas?",
            Plain,
        ),
        rule(
            s(Beta),
            r"beta (?:release|version|program|feature|phase|period|terms|launch|test|testing|access|availability|participants?|service|product)s?",
            Plain,
        ),
        rule(s(Beta), r"[(\[]beta[)\]]", Label),
        rule(
            s(Beta),
            r"as (?:an? )?(?:open |public |closed )?beta",
            Plain,
        ),
        // ga
        rule(s(Ga), r"generally available", GaClaim),
        rule(s(Ga), r"general availability", GaClaim),
        rule(s(Ga), r"(?-i)GA", GaClaim),
        rule(s(Ga), r"(?:is |are )?now available", Weak),
        // deprecated
        rule(s(Deprecated), r"deprecat(?:ed|es|ions?|ing|e)", Plain),
        rule(
            s(Deprecated),
            r"no longer (?:be )?(?:available|offered|supported|accepting|open) (?:to|for) new (?:customers|users|accounts|advertisers|sign-?ups)",
            Plain,
        ),
        rule(
            s(Deprecated),
            r"(?:will|to|is going to|are going to) be (?:retired|sunset|sunsetted|discontinued|shut ?(?:off|down)|turned off|decommissioned|removed)",
            Plain,
        ),
        rule(
            s(Deprecated),
            r"will (?:retire|sunset|shut ?(?:off|down)|stop working|be unavailable|no longer be (?:available|supported))",
            Plain,
        ),
        rule(s(Deprecated), r"end[- ]of[- ](?:life|support|sale)", Plain),
        rule(s(Deprecated), r"sunset(?:ting)?", Plain),
        rule(s(Deprecated), r"no longer (?:supported|maintained)", Plain),
        // retired
        rule(
            s(Retired),
            r"(?:has been|have been|was|were|is now|are now|is|are) (?:retired|sunset|sunsetted|discontinued|shut ?(?:off|down)|turned off|decommissioned)",
            Plain,
        ),
        rule(s(Retired), r"retired", Plain),
        rule(s(Retired), r"no longer (?:be )?available", Plain),
        // announced
        rule(s(Announced), r"coming soon", Weak),
        rule(
            s(Announced),
            r"(?:will|to) (?:be(?:come)?|become) (?:generally )?available",
            Weak,
        ),
        rule(
            s(Announced),
            r"(?:has been|was|were|is|are) announced|\(announced\)|planned for (?:release|launch)",
            Weak,
        ),
        // access: gated
        rule(a(Gated), r"(?:closed|private) (?:betas?|previews?)", Plain),
        rule(
            a(Gated),
            r"limited (?:preview|beta|availability|release|access)",
            Plain,
        ),
        rule(
            a(Gated),
            r"(?:only|exclusively) (?:be )?(?:available|accessible|offered|open) (?:to|for)|available (?:only|exclusively) (?:to|for)",
            Plain,
        ),
        rule(
            a(Gated),
            r"(?:available|access|accessible|offered) (?:by|on|upon) (?:request|invitation|invite)",
            Plain,
        ),
        rule(
            a(Gated),
            r"by invitation(?: only)?|invit(?:e|ation)[- ]only",
            Plain,
        ),
        rule(
            a(Gated),
            r"allow[- ]?list(?:ed|ing|s)?|white[- ]?list(?:ed|ing)?",
            Plain,
        ),
        rule(
            a(Gated),
            r"(?:contact|speak (?:with|to)|talk to|reach out to|work with) (?:your |an? |the )?(?:[\w-]+ )?(?:account (?:executive|team|manager|representative|rep)|sales (?:team|representative|rep))s?",
            Plain,
        ),
        rule(
            a(Gated),
            r"request (?:early |preview |beta )?access|access request|apply for (?:early )?access|request to join|join (?:the )?wait-?list|wait-?list|early access program|(?:sign up|apply|register) (?:to join |for |to )(?:the )?(?:beta|preview|early access|program|waitlist)|join the (?:beta|preview|early access program)",
            Plain,
        ),
        rule(
            a(Gated),
            r"(?:requires?|required to have|need to have) (?:an? |at least one |one or more )?(?:[\w-]+ ){0,4}(?:account|subscription)s?",
            Plain,
        ),
        rule(
            a(Gated),
            r"eligible (?:advertisers|customers|accounts|sellers|vendors|partners|users|organizations|instances|brands)|eligibility (?:requirements|criteria)|(?:must|to) (?:be eligible|meet (?:the |certain )?eligibility)",
            Plain,
        ),
        // access: open
        rule(a(Open), r"(?:open|public) (?:betas?|previews?)", Plain),
        rule(
            a(Open),
            r"available to (?:all|any|every) (?:customers|users|advertisers|developers|accounts|organizations)|open to (?:all|everyone|the public)|no (?:invitation|invite|sign-?up) (?:is )?(?:required|needed)|without (?:an? )?invit(?:e|ation)",
            Plain,
        ),
    ];
    let mut account_type = rule(
        a(Gated),
        r"([\w-]+) accounts? (?:have|has|get|gets|receive) (?:automatic |exclusive |early )?access",
        Plain,
    );
    account_type.reject_group = NOT_RESTRICTIVE;
    rules.push(account_type);
    let mut audience = rule(
        a(Gated),
        r"available (?:only )?(?:to|for) ([\w+-]+) (?:[\w+-]+ ){0,3}(?:that|who) (?:operate|have|own|sell|use|meet|are|run)",
        Plain,
    );
    audience.reject_group = NOT_RESTRICTIVE;
    rules.push(audience);
    rules
});

/// A whole cell or short block that is just a status ("Beta", "Open beta", "GA").
static BARE_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    ascii_regex(
        r"(?i)^(?:(?:status|stage|launch stage|release phase)\s*:\s*)?(?:(?P<q>open|public|closed|private|limited|technical)\s+)?(?P<s>beta|preview|experimental|deprecated|retired|discontinued|coming soon|announced|generally available|general availability)(?:\s+release)?$",
    )
    .expect("valid regex")
});

/// Registry phrases, matched like the built-in ones.
fn extra_rules(extra: &Vocabulary) -> Vec<Rule> {
    let pattern = |p: &str| {
        p.split_whitespace()
            .map(regex::escape)
            .collect::<Vec<_>>()
            .join(r"\s+")
    };
    let stage = extra
        .stage
        .iter()
        .map(|(s, p)| (Value::Stage(*s), pattern(p)));
    let access = extra
        .access
        .iter()
        .map(|(a, p)| (Value::Access(*a), pattern(p)));
    stage
        .chain(access)
        .filter(|(_, p)| !p.is_empty())
        .filter_map(|(value, p)| {
            Some(Rule {
                value,
                re: Regex::new(&format!("(?i){p}")).ok()?,
                kind: Kind::Plain,
                reject_group: &[],
            })
        })
        .collect()
}

/// True when `text[s..e]` is not glued to an identifier: no letter, digit,
/// `_`, `#`, `=` or `/` beside it, and no `-`/`.` that continues a word.
fn clean_edges(text: &str, s: usize, e: usize) -> bool {
    let mut before = text[..s].chars().rev();
    let mut after = text[e..].chars();
    let bad = |c: Option<char>, beyond: Option<char>| match c {
        None => false,
        Some(c) if c.is_alphanumeric() || matches!(c, '_' | '#' | '=' | '/') => true,
        Some('-' | '.') => beyond.is_some_and(char::is_alphanumeric),
        Some(_) => false,
    };
    let b1 = before.next();
    let b2 = before.next();
    let a1 = after.next();
    let a2 = after.next();
    !bad(b1, b2) && !bad(a1, a2)
}

static CLAUSE_START: LazyLock<Regex> =
    LazyLock::new(|| ascii_regex(r"[,;:]|\bbut\b").expect("valid regex"));

static GA_NEGATED: LazyLock<Regex> = LazyLock::new(|| {
    ascii_regex(
        r"(?i)\b(?:not|never|no|before|prior to|until|ahead of|toward|towards|path to|road to|for|once|when|after|if|whether|pending|expected|plans?|planned|targeted|targeting|aims?)\b|n't\b",
    )
    .expect("valid regex")
});

static FUTURE: LazyLock<Regex> = LazyLock::new(|| {
    ascii_regex(r"(?i)\b(?:will|shall|going to|to become)\b").expect("valid regex")
});

static PRE_GA_NEGATED: LazyLock<Regex> = LazyLock::new(|| {
    ascii_regex(
        r"(?i)\b(?:no longer|not|out of|exit(?:ed|s)?|graduat(?:ed|es|ing) from|left|leaves|moved? out of|beyond)\s+(?:[\w-]+\s+){0,2}$",
    )
    .expect("valid regex")
});

static NOW_BEFORE: LazyLock<Regex> =
    LazyLock::new(|| ascii_regex(r"(?i)\bnow\s+(?:[\w-]+\s+)?$").expect("valid regex"));

static SUPERSEDED: LazyLock<Regex> = LazyLock::new(|| {
    ascii_regex(
        r"(?i)\b(?:until (?:today|now|recently)|previously|formerly|used to|before today)\b",
    )
    .expect("valid regex")
});

static PAST: LazyLock<Regex> = LazyLock::new(|| {
    ascii_regex(
        r"(?i)\b(?:was|were|had been|originally|initially|first|launched|released|introduced|debuted|shipped|announced the launch of)\b",
    )
    .expect("valid regex")
});

/// Stage words joined as a list ("in beta, preview, or …"): a definition, not a statement.
static ENUMERATION: LazyLock<Regex> = LazyLock::new(|| {
    ascii_regex(
        r"(?i)\b(?:alpha|beta|preview|experimental|ga|general availability|generally available)(?:\s*(?:,|/|\bor\b|\band\b)\s*(?:\w+\s+)?(?:alpha|beta|preview|experimental|ga|general availability|generally available)\b)+",
    )
    .expect("valid regex")
});

/// Words that may follow an adjectival GA phrase in a statement ("is
/// generally available in…", "GA release of…"); any other word means the
/// phrase describes a noun ("uses generally available Bar clusters").
const GA_FOLLOWERS: &[&str] = &[
    "last",
    "this",
    "earlier",
    "yesterday",
    "recently",
    "back",
    "early",
    "late",
    "in",
    "to",
    "for",
    "on",
    "and",
    "as",
    "since",
    "from",
    "today",
    "now",
    "worldwide",
    "globally",
    "across",
    "with",
    "at",
    "via",
    "through",
    "of",
    "release",
    "releases",
    "launch",
    "announcement",
    "status",
    "date",
    "starting",
    "beginning",
    "effective",
    "everywhere",
    "but",
    "or",
    "without",
];

/// "the generally available version of Bar", "generally available Bar
/// clusters": the GA phrase qualifies another noun, it does not state the
/// subject's stage. "is a generally available service" still counts.
fn ga_attributive(text: &str, start: usize, end: usize) -> bool {
    let phrase = text[start..end].to_ascii_lowercase();
    if phrase.starts_with("general availability") {
        return false;
    }
    let before = text[..start].trim_end().to_ascii_lowercase();
    let last_two: Vec<&str> = before.split_whitespace().rev().take(2).collect();
    let determiner = last_two
        .first()
        .is_some_and(|w| matches!(*w, "the" | "a" | "an" | "any" | "other" | "all" | "only"));
    let copula = last_two
        .get(1)
        .is_some_and(|w| matches!(*w, "is" | "are" | "was" | "becomes" | "became" | "be"));
    if determiner {
        // "is a generally available service" states it; "uses the GA version" does not.
        return !copula;
    }
    let next = text[end..]
        .trim_start()
        .split(|c: char| !c.is_alphanumeric())
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let next_is_word =
        text[end..].starts_with(' ') && next.chars().next().is_some_and(char::is_alphabetic);
    next_is_word && !GA_FOLLOWERS.contains(&next.as_str())
}

static NEGATION_BETWEEN: LazyLock<Regex> = LazyLock::new(|| {
    ascii_regex(r"(?i)\b(?:not|except|excluding|other than|unlike)\b|n't\b").expect("valid regex")
});

/// Byte spans of short quoted text (“…”, "…"): names and titles, not statements.
fn quoted_spans(text: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut open: Option<(usize, char)> = None;
    for (i, c) in text.char_indices() {
        match (open, c) {
            (None, '"' | '“') => open = Some((i, c)),
            (Some((o, '"')), '"') | (Some((o, '“')), '”') => {
                if i - o <= 120 {
                    spans.push((o, i + c.len_utf8()));
                }
                open = None;
            }
            _ => {}
        }
    }
    spans
}

const PREPOSITIONS: &[&str] = &[
    "in", "into", "via", "through", "with", "within", "using", "across", "from", "by", "for", "on",
    "inside", "under",
];

/// The text of the clause before byte `s`, at most ~80 bytes.
fn clause_before(text: &str, s: usize) -> &str {
    let mut from = s.saturating_sub(80);
    while !text.is_char_boundary(from) {
        from += 1;
    }
    let window = &text[from..s];
    match CLAUSE_START.find_iter(window).last() {
        Some(m) => &window[m.end()..],
        None => window,
    }
}

/// A phrase match in a sentence, before deciding its place.
#[derive(Debug, Clone)]
struct Hit {
    value: Value,
    start: usize,
    end: usize,
    kind: Kind,
    weak: bool,
    /// Registry phrase rather than built-in.
    registry: bool,
    /// Past tense ("was launched as beta").
    past: bool,
    /// Present with "now" ("is now generally available").
    now: bool,
}

/// Is the phrase at `hit` about the subject, given where the subject is named?
/// What kind of match is being attached to the subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attach {
    Phrase,
    /// "(beta)": belongs to the words just before it.
    Label,
    /// Region codes: additive, so "Many … are available in US/CA" counts.
    Regions,
}

fn owned(s: &Sentence<'_>, start: usize, end: usize, attach: Attach) -> bool {
    let label = attach == Attach::Label;
    if s.table_row && !label {
        return !s.mentions.is_empty();
    }
    s.mentions.iter().any(|&(ms, me)| {
        if label {
            // "(beta)" belongs to the (at most two) words just before it.
            if me > start {
                return false;
            }
            // Lower-case words only: "Foo dataset (beta)" is Foo's, but
            // "AMC Paid Features (beta)" is not AMC's.
            let gap = s.text[me..start].trim();
            return gap.split_whitespace().count() <= 2
                && gap.split_whitespace().all(|w| {
                    w.chars().next().is_some_and(char::is_lowercase)
                        && w.chars().all(|c| c.is_alphanumeric() || c == '-')
                });
        }
        if s.partial && attach != Attach::Regions && ms < end {
            // "Some reports of Foo are in beta" is not about Foo as a whole;
            // "Some workloads are in preview, including Foo" is.
            return false;
        }
        if ms < end && me > start {
            return true;
        }
        // "This deprecation does not include Foo", "… except Foo".
        if ms >= end && NEGATION_BETWEEN.is_match(&s.text[end..ms]) {
            return false;
        }
        if !after_preposition(s.text, ms) {
            return true;
        }
        // Behind a preposition ("… in beta through Foo", "… via Foo GA") the
        // subject is not what the phrase is about, unless a clause boundary
        // separates them ("logging into Foo, then accept the beta terms").
        me <= start && s.text[me..start].contains([',', ';'])
    })
}

/// Whether the subject named at byte `at` is behind a preposition, skipping
/// determiners and capitalised words of the same name ("through the Amazon
/// Ads Campaign Management API").
fn after_preposition(text: &str, at: usize) -> bool {
    let before = text[..at].trim_end();
    // "Amazon Marketing Cloud (AMC)": look through the parenthesis.
    let before = before.strip_suffix('(').unwrap_or(before).trim_end();
    // A clause boundary right before the subject ends the search; a comma
    // may be part of a list ("for Sponsored Products, Sponsored Brands").
    if before.ends_with([';', ':', '.']) {
        return false;
    }
    let words: Vec<&str> = before
        .split(|c: char| !c.is_alphanumeric() && c != '\'' && c != '-')
        .filter(|w| !w.is_empty())
        .collect();
    // Skip determiners, list glue and capitalised words of other names:
    // "for Sponsored Products, Sponsored Brands, and Amazon DSP".
    for (skipped, w) in words.iter().rev().enumerate() {
        let lower = w.to_ascii_lowercase();
        if PREPOSITIONS.contains(&lower.as_str()) {
            return true;
        }
        let glue = matches!(
            lower.as_str(),
            "the" | "a" | "an" | "your" | "our" | "their" | "its" | "and" | "or"
        );
        let capitalised = w.chars().next().is_some_and(char::is_uppercase);
        if skipped >= 8 || !(glue || capitalised) {
            return false;
        }
    }
    false
}

/// A candidate value for one dimension, with where it came from.
#[derive(Debug, Clone)]
struct Candidate {
    dimension: Dimension,
    /// Stage/access name, or region codes joined with ",".
    value: String,
    quote: String,
    rule: String,
    place: Place,
    date: Option<Date>,
    weak: bool,
    /// Region codes (regions only).
    codes: Vec<String>,
    /// Access that comes with a stage ("open beta", "closed preview") holds
    /// only while that stage does.
    bound_stage: Option<Stage>,
}

fn scan(s: &Sentence<'_>, extra: &[Rule], out: &mut Vec<Candidate>) {
    let mut hits = phrase_hits(s, &RULES, Some(&RULE_SET), false);
    hits.extend(phrase_hits(s, extra, None, true));
    hits.extend(label_hits(s));
    drop_overlaps(&mut hits);
    // "now available" is a GA claim only when nothing else in the sentence names a stage.
    let other_stage = hits.iter().any(|h| {
        matches!(h.value, Value::Stage(st) if st != Stage::Ga)
            || (h.value == Value::Stage(Stage::Ga) && h.kind != Kind::Weak)
    });
    hits.retain(|h| !(h.kind == Kind::Weak && h.value == Value::Stage(Stage::Ga) && other_stage));
    // "X, first released as a beta, is now generally available": the "now"
    // clause wins; the past-tense parts describe history.
    let now_stage = hits
        .iter()
        .find(|h| h.now && !h.past && h.value.dimension() == Dimension::Stage)
        .map(|h| h.value);
    if let Some(now_value) = now_stage {
        hits.retain(|h| !h.past);
        for h in &mut hits {
            if h.value.dimension() == Dimension::Stage && h.value != now_value && !h.now {
                h.weak = true;
            }
        }
    }
    // Stage words listed together define terms rather than state a status.
    let lists: Vec<(usize, usize)> = ENUMERATION
        .find_iter(s.text)
        .map(|m| (m.start(), m.end()))
        .collect();
    hits.retain(|h| {
        h.value.dimension() != Dimension::Stage
            || !lists.iter().any(|&(ls, le)| h.start < le && ls < h.end)
    });
    for h in hits {
        let attach = if h.kind == Kind::Label {
            Attach::Label
        } else {
            Attach::Phrase
        };
        let Some(place) = place_of(s, h.start, h.end, attach) else {
            continue;
        };
        // "Now available" is the weakest GA wording: in a sentence it must
        // follow the subject's name directly ("Foo is now available"), not
        // a longer name that starts with it ("Foo bespoke solutions is now…").
        if h.kind == Kind::Weak
            && h.value == Value::Stage(Stage::Ga)
            && place == Place::Sentence
            && !s.mentions.iter().any(|&(_, me)| {
                me <= h.start
                    && s.text[me..h.start]
                        .split(|c: char| !c.is_alphanumeric())
                        .filter(|w| !w.is_empty())
                        .all(|w| {
                            matches!(
                                w.to_ascii_lowercase().as_str(),
                                "is" | "are"
                                    | "has"
                                    | "have"
                                    | "been"
                                    | "now"
                                    | "also"
                                    | "officially"
                            )
                        })
            })
        {
            continue;
        }
        let phrase = &s.text[h.start..h.end];
        let mut rule = format!(
            "{}:{} {} `{}` in {}",
            h.value.dimension().as_str(),
            h.value.as_str(),
            if h.registry {
                "registry phrase"
            } else {
                "phrase"
            },
            phrase,
            place.name()
        );
        if h.weak {
            rule.push_str(" (weak)");
        }
        if let Some(d) = s.date {
            let _ = write!(rule, " (section dated {})", format_date(d));
        }
        out.push(Candidate {
            dimension: h.value.dimension(),
            value: h.value.as_str().to_string(),
            quote: quote(s.text, h.start, h.end),
            rule,
            place,
            date: s.date,
            weak: h.weak,
            codes: Vec::new(),
            bound_stage: match h.value {
                Value::Access(_) => stage_word(phrase),
                Value::Stage(_) => None,
            },
        });
    }
    regions(s, out);
}

/// The place a phrase at `start..end` counts in, if any.
fn place_of(s: &Sentence<'_>, start: usize, end: usize, attach: Attach) -> Option<Place> {
    if s.place.title {
        // A title speaks for the page; but "Foo Classic (deprecated) vs Foo"
        // labels a different name than the subject's, and "Planned
        // deprecations" or "API betas" titles a list of many things.
        if attach == Attach::Label && !s.mentions.is_empty() && !owned(s, start, end, attach) {
            return None;
        }
        let phrase = s.text[start..end].to_ascii_lowercase();
        if ["deprecations", "betas", "previews", "retirements"]
            .iter()
            .any(|p| phrase.ends_with(p))
        {
            return None;
        }
        return Some(Place::Title);
    }
    let about = !s.mentions.is_empty() && owned(s, start, end, attach);
    if s.place.banner || (s.place.callout && about) {
        return Some(Place::Banner);
    }
    if about || s.place.implicit {
        return Some(Place::Sentence);
    }
    None
}

/// [`RULES`] as one set: one pass over a sentence says which rules match at
/// all, so only those are run for their matches (most sentences match none).
static RULE_SET: LazyLock<regex::RegexSet> = LazyLock::new(|| {
    regex::RegexSetBuilder::new(RULES.iter().map(|r| r.re.as_str()))
        .unicode(false)
        .build()
        .expect("valid built-in rules")
});

/// Hits of `rules` in a sentence; `set`, when given, is `rules` as a
/// [`RegexSet`](regex::RegexSet) (as [`RULE_SET`] is [`RULES`]).
fn phrase_hits(
    s: &Sentence<'_>,
    rules: &[Rule],
    set: Option<&regex::RegexSet>,
    registry: bool,
) -> Vec<Hit> {
    let mut hits = Vec::new();
    let matching = set.map(|set| set.matches(s.text));
    if matching.as_ref().is_some_and(|m| !m.matched_any()) {
        return hits;
    }
    let quoted = quoted_spans(s.text);
    for (i, r) in rules.iter().enumerate() {
        if matching.as_ref().is_some_and(|m| !m.matched(i)) {
            continue;
        }
        for caps in r.re.captures_iter(s.text) {
            let m = caps.get(0).expect("group 0");
            let (start, end) = (m.start(), m.end());
            if start == end || !clean_edges(s.text, start, end) {
                continue;
            }
            if let Some(g) = caps.get(1)
                && r.reject_group
                    .contains(&g.as_str().to_ascii_lowercase().as_str())
            {
                continue;
            }
            // Link text is a pointer, and quoted text a name, not a statement.
            if s.links.iter().any(|&(ls, le)| ls <= start && end <= le)
                || quoted.iter().any(|&(qs, qe)| qs < start && end < qe)
            {
                continue;
            }
            let before = clause_before(s.text, start);
            let mut value = r.value;
            let mut kind = r.kind;
            let mut weak = r.kind == Kind::Weak;
            let mut past = false;
            let now =
                NOW_BEFORE.is_match(before) || m.as_str().to_ascii_lowercase().contains("now ");
            match (r.value, r.kind) {
                (Value::Stage(Stage::Ga), Kind::GaClaim | Kind::Weak) => {
                    if FUTURE.is_match(before) {
                        value = Value::Stage(Stage::Announced);
                        kind = Kind::Weak;
                        weak = true;
                    } else if GA_NEGATED.is_match(before) || ga_attributive(s.text, start, end) {
                        continue;
                    }
                }
                (Value::Stage(Stage::Preview | Stage::Beta), _) | (Value::Access(_), _) => {
                    // "Until today, X was only available to …": no longer true.
                    if PRE_GA_NEGATED.is_match(before) || SUPERSEDED.is_match(&s.text[..start]) {
                        continue;
                    }
                    if PAST.is_match(before) {
                        weak = true;
                        past = true;
                    }
                }
                _ => {}
            }
            hits.push(Hit {
                value,
                start,
                end,
                kind,
                weak,
                registry,
                past,
                now,
            });
        }
    }
    hits
}

/// Bare status labels: a table cell "Closed beta", a callout "Preview".
fn label_hits(s: &Sentence<'_>) -> Vec<Hit> {
    let mut hits = Vec::new();
    for unit in &s.units {
        let trimmed = unit.trim().trim_end_matches(['.', '*', ':']).trim();
        let Some(c) = BARE_LABEL.captures(trimmed) else {
            if trimmed == "GA" {
                let start = offset_in(s.text, unit) + (unit.len() - unit.trim_start().len());
                hits.push(label_hit(Value::Stage(Stage::Ga), start, start + 2));
            }
            continue;
        };
        let start = offset_in(s.text, unit) + (unit.len() - unit.trim_start().len());
        let end = start + trimmed.len();
        if s.links.iter().any(|&(ls, le)| ls <= start && end <= le) {
            continue;
        }
        let word = c.name("s").map_or("", |m| m.as_str()).to_ascii_lowercase();
        let stage = match word.as_str() {
            "beta" => Stage::Beta,
            "preview" | "experimental" => Stage::Preview,
            "deprecated" => Stage::Deprecated,
            "retired" | "discontinued" => Stage::Retired,
            "coming soon" | "announced" => Stage::Announced,
            _ => Stage::Ga,
        };
        let mut hit = label_hit(Value::Stage(stage), start, end);
        hit.weak = stage == Stage::Announced;
        hits.push(hit);
        let access = match c
            .name("q")
            .map(|m| m.as_str().to_ascii_lowercase())
            .as_deref()
        {
            Some("closed" | "private" | "limited") => Some(Access::Gated),
            Some("open" | "public") => Some(Access::Open),
            _ => None,
        };
        if let Some(a) = access {
            hits.push(label_hit(Value::Access(a), start, end));
        }
    }
    hits
}

fn label_hit(value: Value, start: usize, end: usize) -> Hit {
    Hit {
        value,
        start,
        end,
        kind: Kind::Plain,
        weak: false,
        registry: false,
        past: false,
        now: false,
    }
}

/// Byte offset of `part` (a subslice) within `whole`.
fn offset_in(whole: &str, part: &str) -> usize {
    (part.as_ptr() as usize).saturating_sub(whole.as_ptr() as usize)
}

/// Within one dimension, of two overlapping matches keep the longer
/// ("no longer available to new customers" over "no longer available").
fn drop_overlaps(hits: &mut Vec<Hit>) {
    hits.sort_by_key(|h| (h.start, std::cmp::Reverse(h.end)));
    let mut kept: Vec<Hit> = Vec::new();
    for h in hits.drain(..) {
        let clash = kept.iter().position(|k| {
            k.value.dimension() == h.value.dimension() && h.start < k.end && k.start < h.end
        });
        match clash {
            Some(i) if h.end - h.start > kept[i].end - kept[i].start => kept[i] = h,
            Some(_) => {}
            None => kept.push(h),
        }
    }
    *hits = kept;
}

// ---------------------------------------------------------------------------
// Regions

static AWS_REGION: LazyLock<Regex> = LazyLock::new(|| {
    ascii_regex(
        r"\b(?:us-gov|us|eu|ap|sa|ca|me|af|il|mx|cn)-(?:north|south|east|west|central|northeast|southeast|northwest|southwest)-\d\b",
    )
    .expect("valid regex")
});

static COUNTRY: LazyLock<Regex> = LazyLock::new(|| {
    ascii_regex(
        r"\b(?:US|UK|GB|CA|MX|BR|DE|FR|IT|ES|NL|SE|PL|BE|TR|AE|SA|EG|IN|JP|AU|SG|IE|ZA|NZ|KR|CN|AT|CH|DK|NO|FI|PT|CO|CL|AR)\b",
    )
    .expect("valid regex")
});

static REGION_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*([A-Za-z][A-Za-z /]{0,30}?)\s*:\s*(.*)$").expect("valid regex")
});

static AVAILABILITY_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    ascii_regex(r"(?i)^(?:regions?|supported regions|availability|available in|marketplaces?|supported marketplaces|countries|locations)$")
        .expect("valid regex")
});

static REGION_TRIGGER: LazyLock<Regex> = LazyLock::new(|| {
    ascii_regex(
        r"(?i)\b(?:available|availability|supported|support|supports|launch(?:es|ed)?|expand(?:s|ed)?|offered|enabled|only|limited to|live|rolled out|rolling out|(?:in|into) (?:open |closed |public |private |limited )?(?:beta|preview))\b",
    )
    .expect("valid regex")
});

static REGION_WORD: LazyLock<Regex> = LazyLock::new(|| {
    ascii_regex(r"(?i)\b(?:regions?|marketplaces?|countr(?:y|ies))\b").expect("valid regex")
});

static REGION_NEGATION: LazyLock<Regex> = LazyLock::new(|| {
    ascii_regex(r"(?i)\b(?:not|isn't|aren't|unavailable|except|excluding|outside)\b")
        .expect("valid regex")
});

static GLOBAL: LazyLock<Regex> = LazyLock::new(|| {
    ascii_regex(
        r"(?i)\b(?:all (?:aws |supported )?regions|all marketplaces|all countries|globally|worldwide|available everywhere)\b",
    )
    .expect("valid regex")
});

/// Region and marketplace codes in a sentence that says where something is available.
fn regions(s: &Sentence<'_>, out: &mut Vec<Candidate>) {
    let text = s.text;
    // "Label: value" lines count only when the label is about availability.
    let (body, body_off) = match REGION_LABEL.captures(text) {
        Some(c) if !c[1].contains("  ") => {
            if !AVAILABILITY_LABEL.is_match(c[1].trim()) {
                return;
            }
            let v = c.get(2).expect("group 2");
            (v.as_str(), v.start())
        }
        _ => {
            if !REGION_TRIGGER.is_match(text) && !REGION_WORD.is_match(text) {
                return;
            }
            (text, 0)
        }
    };
    let labelled = body_off > 0;
    // "not available in CA", "all marketplaces except JP": not a list of where it is.
    if REGION_NEGATION.is_match(body) {
        return;
    }
    let mut codes: Vec<(usize, usize, String)> = AWS_REGION
        .find_iter(body)
        .map(|m| (m.start(), m.end(), m.as_str().to_string()))
        .collect();
    let countries: Vec<_> = COUNTRY
        .find_iter(body)
        .filter(|m| {
            let before = body[..m.start()].chars().next_back();
            let mut rest = body[m.end()..].chars();
            let after = rest.next();
            // A full stop ends the sentence ("… in the US and UK."), but
            // "US.gov" or "uk.example" is an identifier.
            let sentence_end = after == Some('.') && rest.next().is_none_or(char::is_whitespace);
            !before.is_some_and(|c| c == '-' || c == '_' || c == '.')
                && (sentence_end || !after.is_some_and(|c| c == '-' || c == '_' || c == '.'))
        })
        .map(|m| (m.start(), m.end(), m.as_str().replace("GB", "UK")))
        .collect();
    if countries.len() >= 2 || labelled || (!countries.is_empty() && REGION_WORD.is_match(body)) {
        codes.extend(countries);
    }
    let global = GLOBAL.find(body).map(|m| (m.start(), m.end())).or_else(|| {
        (labelled
            && body
                .trim()
                .trim_end_matches('.')
                .eq_ignore_ascii_case("all"))
        .then_some((0, body.len()))
    });
    let mut found: Vec<(usize, usize, Vec<String>)> = Vec::new();
    if !codes.is_empty() {
        codes.sort();
        let start = codes.first().map_or(0, |c| c.0);
        let end = codes.iter().map(|c| c.1).max().unwrap_or(start);
        let set: BTreeSet<String> = codes.into_iter().map(|c| c.2).collect();
        found.push((start, end, set.into_iter().collect()));
    }
    if let Some((gs, ge)) = global {
        found.push((gs, ge, vec![Regions::GLOBAL.to_string()]));
    }
    for (start, end, list) in found {
        let (start, end) = (start + body_off, end + body_off);
        if s.links.iter().any(|&(ls, le)| ls <= start && end <= le) {
            continue;
        }
        let Some(place) = place_of(s, start, end, Attach::Regions) else {
            continue;
        };
        let value = list.join(",");
        let mut rule = format!("regions:{value} stated in {}", place.name());
        if let Some(d) = s.date {
            let _ = write!(rule, " (section dated {})", format_date(d));
        }
        out.push(Candidate {
            dimension: Dimension::Regions,
            value,
            quote: quote(text, start, end),
            rule,
            place,
            date: s.date,
            weak: false,
            codes: list,
            bound_stage: None,
        });
    }
}

// ---------------------------------------------------------------------------
// Dates

static DATE: LazyLock<Regex> = LazyLock::new(|| {
    let month = r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?";
    Regex::new(&format!(
        r"(?i)\b(?:(?P<y1>\d{{4}})[-/](?P<m1>\d{{1,2}})[-/](?P<d1>\d{{1,2}})|(?P<mon2>{month})\.?\s+(?:(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?,?\s+)?(?P<y2>\d{{4}})|(?P<d3>\d{{1,2}})\s+(?P<mon3>{month})\.?,?\s+(?P<y3>\d{{4}}))\b"
    ))
    .expect("valid regex")
});

fn month_number(name: &str) -> u32 {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let lower = name.to_ascii_lowercase();
    MONTHS
        .iter()
        .position(|m| lower.starts_with(m))
        .map_or(0, |i| i as u32 + 1)
}

/// The date a heading stands for, when the heading is (nearly) only a date:
/// "June 3, 2025", "September 2025", "2024-11-05", "Release 3 June 2025".
fn heading_date(text: &str) -> Option<Date> {
    let c = DATE.captures(text)?;
    let m = c.get(0)?;
    let rest = format!("{} {}", &text[..m.start()], &text[m.end()..]);
    if rest
        .split_whitespace()
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .count()
        > 3
    {
        return None;
    }
    let num = |n: &str| c.name(n).and_then(|v| v.as_str().parse::<u32>().ok());
    let (y, mo, d) = if let Some(y) = num("y1") {
        (y, num("m1")?, num("d1")?)
    } else if let Some(y) = num("y2") {
        (
            y,
            month_number(c.name("mon2")?.as_str()),
            num("d2").unwrap_or(0),
        )
    } else {
        (
            num("y3")?,
            month_number(c.name("mon3")?.as_str()),
            num("d3")?,
        )
    };
    ((1900..=2200).contains(&y) && (1..=12).contains(&mo) && d <= 31).then_some((y as i32, mo, d))
}

fn format_date((y, m, d): Date) -> String {
    if d == 0 {
        format!("{y:04}-{m:02}")
    } else {
        format!("{y:04}-{m:02}-{d:02}")
    }
}

// ---------------------------------------------------------------------------
// Quotes

const QUOTE_MAX: usize = 300;

/// The sentence, or a window of it around the phrase when it is long.
fn quote(text: &str, start: usize, end: usize) -> String {
    let text_trim = text.trim();
    if text_trim.len() <= QUOTE_MAX {
        return text_trim.to_string();
    }
    let room = QUOTE_MAX.saturating_sub(end - start) / 2;
    let mut from = start.saturating_sub(room);
    let mut to = (end + room).min(text.len());
    while !text.is_char_boundary(from) {
        from -= 1;
    }
    while !text.is_char_boundary(to) {
        to += 1;
    }
    // Prefer whole words at the cut.
    if from > 0
        && let Some(sp) = text[from..start].find(' ')
    {
        from += sp + 1;
    }
    if to < text.len()
        && let Some(sp) = text[end..to].rfind(' ')
    {
        to = end + sp;
    }
    let mut q = String::new();
    if from > 0 {
        q.push('…');
    }
    q.push_str(text[from..to].trim());
    if to < text.len() {
        q.push('…');
    }
    q
}

// ---------------------------------------------------------------------------
// Resolution

const EVIDENCE_PER_DIMENSION: usize = 6;

/// The stage a qualifier phrase names: "open beta" → beta.
fn stage_word(phrase: &str) -> Option<Stage> {
    let lower = phrase.to_ascii_lowercase();
    if lower.contains("beta") {
        Some(Stage::Beta)
    } else if lower.contains("preview") {
        Some(Stage::Preview)
    } else {
        None
    }
}

fn resolve(cands: Vec<Candidate>) -> Inference {
    let mut evidence = Vec::new();
    let mut notes = Vec::new();
    let mut status = Status::unknown();
    for dim in [Dimension::Stage, Dimension::Access, Dimension::Regions] {
        let all: Vec<&Candidate> = cands
            .iter()
            .filter(|c| c.dimension == dim)
            .filter(|c| match (c.bound_stage, status.stage) {
                // "Public preview" access is stale once the page says the stage moved on.
                (Some(bound), decided) if decided != Stage::Unknown && decided != bound => {
                    notes.push(format!(
                        "access evidence tied to {bound} set aside: stage is now {decided}"
                    ));
                    false
                }
                _ => true,
            })
            .collect();
        if all.is_empty() {
            continue;
        }
        let kept = winners(&all, dim, &mut notes);
        let values: BTreeSet<&str> = kept.iter().map(|c| c.value.as_str()).collect();
        match dim {
            Dimension::Stage | Dimension::Access if values.len() > 1 => {
                notes.push(format!(
                    "conflicting {} evidence: {}",
                    dim.as_str(),
                    values.iter().copied().collect::<Vec<_>>().join(" vs ")
                ));
            }
            Dimension::Stage => {
                status.stage = kept[0].value.parse().unwrap_or(Stage::Unknown);
            }
            Dimension::Access => {
                status.access = kept[0].value.parse().unwrap_or(Access::Unknown);
            }
            Dimension::Regions => {
                let codes: BTreeSet<&str> = kept
                    .iter()
                    .flat_map(|c| c.codes.iter().map(String::as_str))
                    .collect();
                if codes.contains(Regions::GLOBAL) && codes.len() > 1 {
                    notes.push(format!(
                        "conflicting regions evidence: global vs {}",
                        codes
                            .iter()
                            .filter(|c| **c != Regions::GLOBAL)
                            .copied()
                            .collect::<Vec<_>>()
                            .join(",")
                    ));
                } else {
                    status.regions = Regions::new(codes);
                }
            }
        }
        let mut seen = BTreeSet::new();
        let mut shown = 0;
        for c in &kept {
            if !seen.insert((c.value.clone(), c.quote.clone())) {
                continue;
            }
            if shown == EVIDENCE_PER_DIMENSION {
                notes.push(format!(
                    "{} more {} evidence sentences not shown",
                    kept.len() - shown,
                    dim.as_str()
                ));
                break;
            }
            shown += 1;
            evidence.push(Evidence {
                dimension: dim,
                value: c.value.clone(),
                quote: c.quote.clone(),
                rule: c.rule.clone(),
            });
        }
    }
    let mut seen = BTreeSet::new();
    notes.retain(|n| seen.insert(n.clone()));
    Inference {
        status,
        evidence,
        notes,
    }
}

/// The candidates that decide a dimension: weak wording loses to strong
/// wording from the same section, then the strongest place wins, then the
/// latest dated section, then strong over weak. Notes what was set aside when
/// it disagreed.
fn winners<'a>(
    all: &[&'a Candidate],
    dim: Dimension,
    notes: &mut Vec<String>,
) -> Vec<&'a Candidate> {
    let (mut kept, weak): (Vec<&Candidate>, Vec<&Candidate>) =
        all.iter().copied().partition(|c| !c.weak);
    let mut dropped = Vec::new();
    for w in weak {
        if kept.iter().any(|k| !k.weak && k.date == w.date) {
            dropped.push(w);
        } else {
            kept.push(w);
        }
    }
    note_dropped(&kept, &dropped, dim, "weak or past-tense wording", notes);
    let best = kept
        .iter()
        .map(|c| c.place)
        .max()
        .unwrap_or(Place::Sentence);
    let (top, lower): (Vec<_>, Vec<_>) = kept.into_iter().partition(|c| c.place == best);
    note_dropped(
        &top,
        &lower,
        dim,
        &format!("a weaker place than the {}", best.name()),
        notes,
    );
    kept = top;
    if let Some(latest) = kept.iter().filter_map(|c| c.date).max() {
        let (newest, older): (Vec<_>, Vec<_>) =
            kept.into_iter().partition(|c| c.date == Some(latest));
        note_dropped(
            &newest,
            &older,
            dim,
            &format!("sections older than {}", format_date(latest)),
            notes,
        );
        kept = newest;
    }
    if kept.iter().any(|c| !c.weak) {
        let (strong, weak): (Vec<_>, Vec<_>) = kept.into_iter().partition(|c| !c.weak);
        note_dropped(&strong, &weak, dim, "weak or past-tense wording", notes);
        kept = strong;
    }
    kept
}

fn note_dropped(
    kept: &[&Candidate],
    dropped: &[&Candidate],
    dim: Dimension,
    why: &str,
    notes: &mut Vec<String>,
) {
    let kept_values: BTreeSet<&str> = kept.iter().map(|c| c.value.as_str()).collect();
    let other: BTreeSet<&str> = dropped
        .iter()
        .map(|c| c.value.as_str())
        .filter(|v| !kept_values.contains(v))
        .collect();
    if !other.is_empty() {
        notes.push(format!(
            "{} evidence from {} set aside: {}",
            dim.as_str(),
            why,
            other.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The matcher used to be this regex; it must find the same mentions.
    fn regex_mentions(subject: &Subject, text: &str) -> Vec<(usize, usize)> {
        let mut names: Vec<&str> = std::iter::once(subject.name.as_str())
            .chain(subject.aliases.iter().map(String::as_str))
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .collect();
        names.sort_by_key(|n| std::cmp::Reverse(n.len()));
        names.dedup();
        if names.is_empty() {
            return Vec::new();
        }
        let alts: Vec<String> = names
            .iter()
            .map(|n| {
                n.split_whitespace()
                    .map(regex::escape)
                    .collect::<Vec<_>>()
                    .join(r"[\s\u{a0}]+")
            })
            .collect();
        let re = Regex::new(&format!("(?i)(?:{})", alts.join("|"))).unwrap();
        re.find_iter(text)
            .filter(|m| {
                let before = text[..m.start()].chars().next_back();
                let after = text[m.end()..].chars().next();
                let ok = |c: Option<char>| !c.is_some_and(|c| c.is_alphanumeric() || c == '_');
                ok(before) && ok(after)
            })
            .map(|m| (m.start(), m.end()))
            .collect()
    }

    #[test]
    fn subject_matcher_finds_what_its_regex_found() {
        let subjects = [
            Subject::new("Ads API", &["Amazon Ads API v1", "ads api"]),
            Subject::new("Sponsored Products", &[]),
            Subject::new("C++ SDK", &["SDK (C++)"]),
            Subject::new("Éclair Σύνολο", &["straße"]),
            Subject::new("  ", &[]),
        ];
        let texts = [
            "The Ads API is in beta. The AMAZON ADS API V1 is GA; ads\u{a0}api too.",
            "Ads  API, ads\tapi and Ads\nAPI; not AdsAPI, not Ads APIs, not MyAds API.",
            "Amazon Ads API v1x and Amazon Ads API v1 and Ads API_v2 and _Ads API.",
            "sponsored products, SPONSORED PRODUCTS and Sponsored Productsy.",
            "The C++ SDK and the c++ sdk and SDK (C++) are here; C++ SDKs are not.",
            "ÉCLAIR ΣΎΝΟΛΟ and éclair σύνολο; STRASSE is not straße but STRAẞE is.",
            "",
            "Ads",
        ];
        for s in &subjects {
            let m = SubjectMatcher::new(s);
            for t in texts {
                assert_eq!(m.find(t), regex_mentions(s, t), "{s:?} in {t:?}");
            }
        }
    }

    fn block(kind: BlockKind, text: &str) -> Block {
        Block {
            kind,
            text: text.into(),
            links: Vec::new(),
        }
    }

    fn para(text: &str) -> Block {
        block(BlockKind::Paragraph, text)
    }

    fn page(blocks: Vec<Block>) -> Page {
        Page {
            title: None,
            blocks,
        }
    }

    fn run(p: &Page, name: &str) -> Inference {
        infer(p, &Subject::new(name, &[]), &Vocabulary::default())
    }

    /// Stage and access from one body paragraph about "Widget".
    #[test]
    fn sentence_phrases_table() {
        use Access::{Gated, Open};
        use Stage::*;
        const SU: Stage = Stage::Unknown;
        const AU: Access = Access::Unknown;
        let cases: &[(&str, Stage, Access)] = &[
            ("Widget is in preview.", Preview, AU),
            ("Widget is currently in public preview.", Preview, Open),
            ("Widget is available in limited preview.", Preview, Gated),
            (
                "Widget is in private preview; contact your account team.",
                Preview,
                Gated,
            ),
            (
                "Widget is a preview offering subject to the Pre-GA Offerings Terms.",
                Preview,
                AU,
            ),
            ("Widget is in open beta.", Beta, Open),
            ("Widget is in closed beta.", Beta, Gated),
            (
                "Widget is in public beta and subject to change.",
                Beta,
                Open,
            ),
            ("Widget (beta) is now available.", Beta, AU),
            ("Widget now available in closed beta.", Beta, Gated),
            ("Before using Widget, accept the beta terms.", Beta, AU),
            ("Widget is experimental.", Preview, AU),
            ("Widget is now generally available.", Ga, AU),
            ("Widget GA release.", Ga, AU),
            ("Widget is now available.", Ga, AU),
            ("Widget is deprecated.", Deprecated, AU),
            (
                "Widget will be deprecated on December 1, 2030.",
                Deprecated,
                AU,
            ),
            ("Widget will be retired on June 30.", Deprecated, AU),
            (
                "Widget is no longer available to new customers.",
                Deprecated,
                AU,
            ),
            ("Widget was retired in 2024.", Retired, AU),
            ("Widget has been shut off.", Retired, AU),
            ("Widget is coming soon.", Announced, AU),
            (
                "Widget will be generally available next year.",
                Announced,
                AU,
            ),
            (
                "Widget is only available to allow-listed advertisers.",
                SU,
                Gated,
            ),
            ("Widget is available by request.", SU, Gated),
            ("Widget is invite-only.", SU, Gated),
            (
                "To use Widget, speak with your account executive.",
                SU,
                Gated,
            ),
            (
                "You are required to have at least one DSP Advertiser Account to use Widget.",
                SU,
                Gated,
            ),
            ("Widget is available to eligible advertisers.", SU, Gated),
            (
                "Manager accounts have automatic access to Widget.",
                SU,
                Gated,
            ),
            ("All accounts have access to Widget.", SU, AU),
            ("Widget is available to all customers.", SU, Open),
            ("Widget is in private alpha.", Preview, AU),
            (
                "Widget, previously in preview, is now generally available.",
                Ga,
                AU,
            ),
            ("Widget has reached general availability (GA).", Ga, AU),
            ("Widget is a generally available service.", Ga, AU),
            ("Widget went GA last week.", Ga, AU),
            (
                "Widget is now generally available worldwide for all advertisers.",
                Ga,
                AU,
            ),
            ("To use Widget, join the beta program.", Beta, Gated),
            (
                "Widget is available to customers who have an Enterprise plan.",
                SU,
                Gated,
            ),
            (
                "This feature is covered by the Pre-GA Offerings Terms for Widget.",
                Preview,
                AU,
            ),
        ];
        for (text, stage, access) in cases {
            let got = run(&page(vec![para(text)]), "Widget");
            assert_eq!(
                (got.status.stage, got.status.access),
                (*stage, *access),
                "{text}: {:?} {:?}",
                got.evidence,
                got.notes
            );
        }
    }

    /// Phrases that must not count for "Widget".
    #[test]
    fn traps_table() {
        let cases: &[&str] = &[
            "Gadget is in beta. Widget helps you build dashboards.",
            "Widget works with the Gadget dataset (beta).",
            "Gadget metrics are now available in beta through Widget.",
            "Use the model gemini-2.5-widget-preview-10-2025 with Widget.",
            "See #dataset-beta for Widget data.",
            "Set beta_feature=true in Widget.",
            "Widget is not yet generally available.",
            "Widget features can change before general availability (GA).",
            "Widget works with features that are in beta, preview, or otherwise not yet released into general availability.",
            "Widget is no longer in beta.",
            "Widget uses a Pre-GA component.",
            "Widget uses the generally available version of Gadget.",
            "Widget works with generally available Gadget clusters.",
            "Widget reports on GA4 properties.",
            "Widget has graduated from beta.",
            "The epsilon value that Widget lets you preview.",
        ];
        for text in cases {
            let got = run(&page(vec![para(text)]), "Widget");
            assert_eq!(
                got.status.stage,
                Stage::Unknown,
                "{text}: {:?}",
                got.evidence
            );
        }
    }

    #[test]
    fn nothing_said_means_unknown() {
        let p = page(vec![
            block(BlockKind::Heading(1), "Widget"),
            para("Widget lets you build dashboards."),
        ]);
        let got = run(&p, "Widget");
        assert_eq!(got.status, Status::unknown());
        assert!(got.evidence.is_empty());
    }

    #[test]
    fn link_text_alone_does_not_count() {
        let mut b = para("Read about Widget in the beta program guide.");
        let s = b.text.find("the beta").unwrap();
        b.links.push((s, s + "the beta program guide".len()));
        let got = run(&page(vec![b]), "Widget");
        assert_eq!(got.status.stage, Stage::Unknown, "{:?}", got.evidence);
    }

    #[test]
    fn quoted_names_negations_and_lists_after_prepositions() {
        for text in [
            "Submit a ticket about Widget with the title \u{201c}Widget deprecation\u{201d}.",
            "For resources of Widget noted as \"closed beta,\" see the guide.",
            "This deprecation does not include Widget snapshots or Widget.",
            "Reports API now available for Gadget, Sprocket, and Widget.",
            "Widget bespoke solutions is now available for all users.",
            "Signals are now available for Widget Platform (Widget).",
        ] {
            let got = run(&page(vec![para(text)]), "Widget");
            assert_eq!(
                got.status.stage,
                Stage::Unknown,
                "{text}: {:?}",
                got.evidence
            );
            assert_eq!(
                got.status.access,
                Access::Unknown,
                "{text}: {:?}",
                got.evidence
            );
        }
    }

    #[test]
    fn a_top_callout_naming_something_else_is_not_a_banner() {
        let p = page(vec![
            block(BlockKind::Callout, "The Gadget role is in public beta."),
            para("Widget lets you manage roles."),
        ]);
        assert_eq!(run(&p, "Widget").status.stage, Stage::Unknown);
        let p = page(vec![
            block(BlockKind::Callout, "Preview"),
            para("Widget lets you manage roles."),
        ]);
        assert_eq!(run(&p, "Widget").status.stage, Stage::Preview);
    }

    #[test]
    fn a_list_title_is_not_a_status() {
        let p = page(vec![
            block(BlockKind::Heading(1), "Planned deprecations"),
            para("Gadget will be deprecated on May 1, 2030."),
        ]);
        assert_eq!(run(&p, "Widget").status.stage, Stage::Unknown);
        assert_eq!(run(&p, "Gadget").status.stage, Stage::Deprecated);
    }

    #[test]
    fn title_counts_without_naming_the_subject() {
        let p = page(vec![
            block(BlockKind::Heading(1), "Forecasting API (beta)"),
            para("The API provides forecasts."),
        ]);
        let got = run(&p, "Forecasts");
        assert_eq!(got.status.stage, Stage::Beta);
        assert!(
            got.evidence[0].rule.contains("in title"),
            "{:?}",
            got.evidence
        );
    }

    #[test]
    fn top_banner_counts_without_naming_the_subject() {
        let p = page(vec![
            block(
                BlockKind::Callout,
                "This product or feature is in limited preview.",
            ),
            para("Widget does things."),
            block(BlockKind::Heading(2), "Details"),
            block(BlockKind::Callout, "Something unrelated is in beta."),
        ]);
        let got = run(&p, "Widget");
        assert_eq!(got.status.stage, Stage::Preview, "{:?}", got.evidence);
        assert_eq!(got.status.access, Access::Gated);
    }

    #[test]
    fn a_partial_banner_needs_the_subject() {
        let p = page(vec![
            block(
                BlockKind::Callout,
                "Some workloads in this article are in preview, including Gadget.",
            ),
            para("Widget analyses video."),
        ]);
        assert_eq!(run(&p, "Widget").status.stage, Stage::Unknown);
        assert_eq!(run(&p, "Gadget").status.stage, Stage::Preview);
    }

    #[test]
    fn labels_belong_to_the_name_right_before_them() {
        let p = page(vec![para(
            "Explore AMC Paid Features (beta) in the sandbox.",
        )]);
        assert_eq!(run(&p, "AMC").status.stage, Stage::Unknown);
        assert_eq!(run(&p, "AMC Paid Features").status.stage, Stage::Beta);
        let p = page(vec![para("The Widget dataset (beta) is ready.")]);
        assert_eq!(run(&p, "Widget").status.stage, Stage::Beta);
    }

    #[test]
    fn a_name_that_continues_is_another_thing() {
        for text in [
            "All audience data will be available in your Widget instance.",
            "Widget playbooks are now available to all users.",
            "Widget v2 is in closed beta.",
            "Widget's reporting add-on is in beta.",
            "Make the endpoints available to all customers with an Widget account.",
        ] {
            let got = run(&page(vec![para(text)]), "Widget");
            assert_eq!(got.status, Status::unknown(), "{text}: {:?}", got.evidence);
        }
    }

    #[test]
    fn partial_sentences_need_the_subject_listed() {
        let p = page(vec![para("Some reports in Widget are in beta.")]);
        assert_eq!(run(&p, "Widget").status.stage, Stage::Unknown);
        let p = page(vec![para(
            "Some workloads are in preview, including Widget and Gadget.",
        )]);
        assert_eq!(run(&p, "Widget").status.stage, Stage::Preview);
    }

    #[test]
    fn stronger_place_wins() {
        let p = page(vec![
            block(BlockKind::Heading(1), "Widget (Preview)"),
            block(BlockKind::Heading(2), "Details"),
            para("Widget is generally available in the console."),
        ]);
        let got = run(&p, "Widget");
        assert_eq!(got.status.stage, Stage::Preview);
        assert!(
            got.notes.iter().any(|n| n.contains("set aside: ga")),
            "{:?}",
            got.notes
        );
    }

    #[test]
    fn equal_places_that_disagree_give_unknown() {
        let p = page(vec![
            para("Widget is in beta."),
            para("Widget is generally available."),
        ]);
        let got = run(&p, "Widget");
        assert_eq!(got.status.stage, Stage::Unknown);
        assert_eq!(got.evidence.len(), 2);
        assert!(
            got.notes
                .contains(&"conflicting stage evidence: beta vs ga".to_string())
        );
    }

    #[test]
    fn now_clause_wins_over_past_beta() {
        let p = page(vec![para(
            "We are excited to announce that Widget, which was first launched as beta on June 21, 2022, is now generally available.",
        )]);
        let got = run(&p, "Widget");
        assert_eq!(got.status.stage, Stage::Ga, "{:?}", got.evidence);
    }

    #[test]
    fn past_beta_alone_still_counts() {
        let p = page(vec![para(
            "This lists the programs for Widget, which was released to open beta in May 2025.",
        )]);
        assert_eq!(run(&p, "Widget").status.stage, Stage::Beta);
    }

    #[test]
    fn newest_dated_section_wins_by_date_not_order() {
        let p = page(vec![
            block(BlockKind::Heading(1), "Release notes"),
            block(BlockKind::Heading(2), "March 2024"),
            para("Widget is in beta."),
            block(BlockKind::Heading(2), "2024-11-05"),
            para("Widget is now generally available."),
            block(BlockKind::Heading(2), "June 3, 2024"),
            para("Widget (beta) adds charts."),
        ]);
        let got = run(&p, "Widget");
        assert_eq!(
            got.status.stage,
            Stage::Ga,
            "{:?} {:?}",
            got.evidence,
            got.notes
        );
        assert!(got.evidence[0].rule.contains("2024-11-05"));
    }

    #[test]
    fn table_rows_are_one_sentence_with_label_cells() {
        let p = page(vec![
            block(BlockKind::TableRow, "API | Status"),
            block(BlockKind::TableRow, "Account registration | Closed beta"),
            block(BlockKind::TableRow, "Forecasts | Open beta"),
        ]);
        let got = run(&p, "Account registration");
        assert_eq!(
            (got.status.stage, got.status.access),
            (Stage::Beta, Access::Gated)
        );
        let got = run(&p, "Forecasts");
        assert_eq!(
            (got.status.stage, got.status.access),
            (Stage::Beta, Access::Open)
        );
    }

    #[test]
    fn regions_from_codes_lists_and_labels() {
        let cases: &[(&str, &[&str])] = &[
            (
                "Widget is available in US/CA/JP marketplaces.",
                &["CA", "JP", "US"],
            ),
            (
                "For now, Widget is only supported in the us-east-1 region.",
                &["us-east-1"],
            ),
            (
                "Widget is available in us-east-1 and eu-west-1.",
                &["eu-west-1", "us-east-1"],
            ),
            ("Widget is available in all regions.", &["global"]),
            ("Widget is in open beta in the US and UK.", &["UK", "US"]),
            ("Widget is in preview in eu-west-1.", &["eu-west-1"]),
            ("Widget launched in the US marketplace.", &["US"]),
            ("Widget costs less in US dollars.", &[]),
            ("Widget signals: US/CA/MX marketplaces.", &[]),
            ("Widget is not available in CA or MX marketplaces.", &[]),
            ("Widget is available in all marketplaces except JP.", &[]),
        ];
        for (text, want) in cases {
            let got = run(&page(vec![para(text)]), "Widget");
            assert_eq!(
                got.status.regions,
                Regions::new(want.iter().copied()),
                "{text}"
            );
        }
        let p = page(vec![
            block(BlockKind::Heading(4), "Widget now supports exports"),
            para("Regions: US, CA, UK"),
            block(BlockKind::Heading(4), "Gadget update"),
            para("Regions: All"),
        ]);
        assert_eq!(
            run(&p, "Widget").status.regions,
            Regions::new(["CA", "UK", "US"])
        );
    }

    #[test]
    fn anaphora_after_a_naming_sentence() {
        let p = page(vec![para(
            "Widget is a channel dataset. This resource is available to advertisers that operate channels.",
        )]);
        assert_eq!(run(&p, "Widget").status.access, Access::Gated);
    }

    #[test]
    fn registry_vocabulary_adds_phrases() {
        let p = page(vec![para("Widget is in the pilot program.")]);
        assert_eq!(run(&p, "Widget").status.stage, Stage::Unknown);
        let extra = Vocabulary {
            stage: vec![(Stage::Beta, "pilot program".into())],
            access: vec![(Access::Gated, "pilot   program".into())],
        };
        let got = infer(&p, &Subject::new("Widget", &[]), &extra);
        assert_eq!(
            (got.status.stage, got.status.access),
            (Stage::Beta, Access::Gated)
        );
        assert!(got.evidence[0].rule.contains("registry phrase"));
    }

    #[test]
    fn aliases_and_word_bounds() {
        let p = page(vec![
            para("The ADM console is in beta."),
            para("ADMIN tools are in preview."),
        ]);
        let got = infer(
            &p,
            &Subject::new("Ads data manager", &["ADM"]),
            &Vocabulary::default(),
        );
        assert_eq!(got.status.stage, Stage::Beta, "{:?}", got.evidence);
    }

    #[test]
    fn long_quotes_are_shortened_around_the_phrase() {
        let long = format!(
            "{} Widget is in beta {}",
            "word ".repeat(100),
            "more ".repeat(100)
        );
        let got = run(&page(vec![para(&long)]), "Widget");
        let q = &got.evidence[0].quote;
        assert!(q.chars().count() <= QUOTE_MAX + 2, "{}", q.len());
        assert!(q.contains("Widget is in beta") && q.starts_with('…') && q.ends_with('…'));
    }

    #[test]
    fn sentence_split_keeps_abbreviations() {
        let b =
            para("Use e.g. Widget here. It is in beta! Next? Yes. Version 1.2 ships. lower. case");
        let spans: Vec<_> = sentence_spans(&b)
            .into_iter()
            .map(|(s, e)| &b.text[s..e])
            .collect();
        assert_eq!(
            spans,
            vec![
                "Use e.g. Widget here.",
                "It is in beta!",
                "Next?",
                "Yes.",
                "Version 1.2 ships. lower. case"
            ]
        );
    }

    #[test]
    fn heading_dates() {
        assert_eq!(heading_date("June 3, 2025"), Some((2025, 6, 3)));
        assert_eq!(heading_date("September 2025"), Some((2025, 9, 0)));
        assert_eq!(heading_date("2024-11-05"), Some((2024, 11, 5)));
        assert_eq!(heading_date("Release 3 June 2025"), Some((2025, 6, 3)));
        assert_eq!(
            heading_date("Posts are deprecated as of June 3, 2025"),
            None
        );
        assert_eq!(heading_date("Widget overview"), None);
    }

    #[test]
    fn serializes_status_at_top_level() {
        let got = run(
            &page(vec![para(
                "Widget is in closed beta in US/UK marketplaces.",
            )]),
            "Widget",
        );
        let v = serde_json::to_value(&got).unwrap();
        assert_eq!(v["stage"], "beta");
        assert_eq!(v["access"], "gated");
        assert_eq!(v["regions"], serde_json::json!(["UK", "US"]));
        assert!(
            v["evidence"][0]["quote"]
                .as_str()
                .unwrap()
                .contains("closed beta")
        );
        assert!(
            v["evidence"][0]["rule"]
                .as_str()
                .unwrap()
                .starts_with("stage:beta")
        );
    }
}
