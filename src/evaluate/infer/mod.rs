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
//! Scope (`scope.rs`): the page is **about** the subject when its title, first
//! heading or opening sentence names it. Then "this feature/this preview/the
//! capability" means the subject at the top of the page and in sections whose
//! heading names it or is about availability, access or eligibility
//! ("Eligibility", "Allowlist", "Supported regions", "Where is X
//! available?"), whose statements count for it; a callout that names nothing
//! there states its limits ("only us-east-1 is supported"). Under a heading
//! that names another thing ("Dynamic Tool Discovery"), "this feature" is that
//! thing. A status label standing alone at the top ("Feature state: beta",
//! a badge) is a banner.
//!
//! Lists and tables (`mod.rs`): a lead-in ("available in the following
//! Regions:") or a region section binds the list or table after it to what
//! the lead-in is about; a tick under a status column ("✅" under "Private
//! beta") gives its row that status; a caption naming a list's stage
//! ("Deprecated runtimes", "Features in preview") gives it to each row.
//!
//! Markup (`extract`): badge and pill classes, admonitions as sites render
//! them (MkDocs, Docusaurus, DocFX/GitHub `[!NOTE]`), front-matter `badge:`
//! and Hugo `feature-state` shortcodes become callouts the same way in the
//! Markdown and the HTML form of a page.
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
//! - A question states nothing ("Is there any plan to deprecate X?").
//! - "Retired" in a sentence outranks its other deprecation words ("X was
//!   sunset in 2024; see the sunset FAQ"); "we are retiring X" is deprecated.
//! - Weak announcements ("coming soon") and "now available" must follow the
//!   subject's name: "(broader support coming soon)" is not the subject's.
//! - A name inside longer link text ("[mist run push]") names the longer
//!   thing; a name that carries its label ("Scouts (preview) in Foo") is
//!   labelled; a new clause after ";" has its own subject.
//! - Regions (`regions.rs`, `lexicon.rs`): AWS, Azure and Google Cloud codes,
//!   AWS and Azure region names ("US East (Ohio)", "West Europe"), countries
//!   and marketplaces by name ("the United Kingdom", "Germany"), anywhere in
//!   an availability sentence or a listed lead-in; two-letter codes in a list
//!   ("US/CA/JP"), beside "marketplace"/"region", or after an availability
//!   label; "all regions"/"all marketplaces"/"worldwide" → global. Negated
//!   sentences ("not available in CA") give none. "Only available for the US
//!   marketplace" and "limited availability and capacity in some regions"
//!   limit regions, not access.
//!
//! # Deciding
//!
//! Access first keeps its most decisive wording (`access_rank`): an explicit
//! gate (approval, a waitlist or sign-up form, an allow-list, invitation,
//! "contact your account team", sales, a closed or private stage) or an
//! explicit opening ("available to all advertisers", "whether you are A, B or
//! C", "anyone can") outranks a step that may gate ("request access",
//! "requires an account"), which outranks what a stage name implies ("public
//! preview" → open).
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

mod dates;
mod decide;
mod guide;
mod lexicon;
mod phrases;
mod regions;
mod scan;
mod scope;
mod sentences;
mod subject;
#[cfg(test)]
mod tests;
mod vocabulary;

use dates::*;
use decide::*;
pub use guide::{GuideClaim, infer_claim};
use lexicon::*;
use phrases::*;
use regions::*;
use scan::*;
use scope::*;
use sentences::*;
use subject::*;
use vocabulary::*;

use crate::model::{Access, Block, BlockKind, Dimension, Page, Regions, Stage, Status};
use regex::Regex;
use serde::Serialize;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::sync::LazyLock;

/// The version of the rules below. Bump it with any change that can give a
/// page another reading: stored versions are then read again with the new
/// rules (without fetching), and what moves is recorded as a re-read.
pub const RULES_VERSION: u32 = 2;

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
    infer_with(page, subject, &extra_rules(extra))
}

/// [`infer`] with `extra_rules` on top of the built-in ones.
fn infer_with(page: &Page, subject: &Subject, extra_rules: &[Rule]) -> Inference {
    let matcher = SubjectMatcher::new(subject);
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
        scan(&s, extra_rules, &mut cands);
    }
    for (i, block) in page.blocks.iter().enumerate() {
        if block.kind == BlockKind::Code {
            continue;
        }
        let spans = sentence_spans(block);
        let mut prev_named = false;
        for (n, &(start, end)) in spans.iter().enumerate() {
            let text = &block.text[start..end];
            let links = links_within(block, start, end);
            let mentions = outside_longer_links(text, matcher.find(text), &links);
            let info = layout.place(i, block, text, n, !mentions.is_empty(), prev_named);
            prev_named = !mentions.is_empty();
            if !info.any() && mentions.is_empty() {
                continue;
            }
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
            scan(&s, extra_rules, &mut cands);
        }
        if matches!(block.kind, BlockKind::TableRow | BlockKind::ListItem) {
            read_row(page, i, &layout, &matcher, extra_rules, &mut cands);
        }
        if let Some(&(start, end)) = spans.last() {
            read_lead_in(page, i, start, end, &layout, &matcher, &mut cands);
        }
    }
    resolve(cands)
}

/// The link ranges of a block that fall within `start..end`, relative to `start`.
fn links_within(block: &Block, start: usize, end: usize) -> Vec<(usize, usize)> {
    block
        .links
        .iter()
        .filter(|&&(s, e)| e > start && s < end)
        .map(|&(s, e)| (s.max(start) - start, e.min(end) - start))
        .collect()
}

/// A table row or list item read with what its table or list says of it: a
/// tick under a status column ("Nimbus Mail | ✅" under "Private beta"), or
/// a caption naming the stage of the whole list ("Deprecated runtimes").
fn read_row(
    page: &Page,
    i: usize,
    layout: &Layout,
    matcher: &SubjectMatcher,
    extra: &[Rule],
    out: &mut Vec<Candidate>,
) {
    let block = &page.blocks[i];
    if matcher.find(&block.text).is_empty() {
        return;
    }
    let mut texts = Vec::new();
    if let Some(h) = layout.table_header[i] {
        let header: Vec<&str> = page.blocks[h].text.split(" | ").collect();
        let cells: Vec<&str> = block.text.split(" | ").collect();
        if header.len() == cells.len() {
            let first = cells
                .iter()
                .find(|c| !c.trim().is_empty())
                .copied()
                .unwrap_or("");
            for (cell, head) in cells.iter().zip(&header) {
                if crate::extract::is_tick(cell) {
                    texts.push(format!("{first} | {}", head.trim()));
                }
            }
        }
    }
    if layout.list_stage[i].is_some()
        && let Some(caption) = page.blocks[..i]
            .iter()
            .rev()
            .find(|b| !matches!(b.kind, BlockKind::TableRow | BlockKind::ListItem))
    {
        let caption = caption
            .text
            .trim()
            .trim_matches('*')
            .trim()
            .trim_end_matches(':');
        texts.push(format!("{caption}: {}", block.text));
    }
    for text in &texts {
        let mentions = matcher.find(text);
        let s = Sentence {
            text,
            links: Vec::new(),
            place: PlaceInfo::default(),
            mentions,
            date: layout.dates[i],
            units: text.split(" | ").collect(),
            table_row: true,
            partial: false,
        };
        scan(&s, extra, out);
    }
}

/// "Available in the following regions:" followed by a list or a table, or a
/// "Supported regions" section: the places listed, for whatever the lead-in
/// (or the section) is about.
fn read_lead_in(
    page: &Page,
    i: usize,
    start: usize,
    end: usize,
    layout: &Layout,
    matcher: &SubjectMatcher,
    out: &mut Vec<Candidate>,
) {
    let block = &page.blocks[i];
    let lead = &block.text[start..end];
    let is_heading = matches!(block.kind, BlockKind::Heading(_));
    let lead_in = !is_heading && lead.ends_with(':') && LEAD_IN.is_match(lead);
    let section = is_heading && layout.region_section.get(i + 1).copied().unwrap_or(false);
    if !lead_in && !section {
        return;
    }
    let items: Vec<&str> = page.blocks[i + 1..]
        .iter()
        .take_while(|b| matches!(b.kind, BlockKind::ListItem | BlockKind::TableRow))
        .map(|b| b.text.as_str())
        .collect();
    if items.is_empty() {
        return;
    }
    let mentions = matcher.find(lead);
    // The lead-in's place; without the subject's name, a lead-in ("This
    // preview is available in the following Regions:") on a page or in a
    // section about the subject is about it.
    let mut place = layout.place(i, block, lead, 0, !mentions.is_empty(), false);
    if mentions.is_empty() && layout.section_about.get(i + 1).copied().unwrap_or(false) {
        place.implicit = true;
    }
    let text = format!("{lead} {}", items.join("; "));
    let s = Sentence {
        text: &text,
        links: Vec::new(),
        place,
        mentions: matcher.find(&text),
        date: layout.dates[i],
        units: Vec::new(),
        table_row: false,
        partial: PARTIAL.is_match(lead),
    };
    regions(&s, Some(lead.len() + 1), out);
}

/// A sentence that introduces a list of places.
static LEAD_IN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?:available|availability|supported|support|offered|launched|enabled|rolled out|live|accessible|open)\b.*\b(?:following|these|below|listed)\b|\b(?:following|supported) (?:(?:aws|azure|google cloud|gcp|amazon) )?(?:regions|marketplaces|markets|countries|locations|geographies)\b|\b(?:regions|marketplaces|markets|countries|locations)\b\s*:$",
    )
    .expect("valid regex")
});
