//! Where a sentence stands on the page: the title, a banner or callout, a
//! section whose heading names the subject, a dated section (release notes).
//! In: the page's blocks and the subject matcher. Out: per-block [`Layout`]
//! facts and, per sentence, a [`PlaceInfo`].

use super::*;

/// How strong a place on the page is. Higher wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Place {
    Sentence = 1,
    Banner = 2,
    Title = 3,
}

impl Place {
    pub(super) fn name(self) -> &'static str {
        match self {
            Place::Title => "title",
            Place::Banner => "banner",
            Place::Sentence => "sentence naming the subject",
        }
    }
}

/// What a sentence's position allows before looking at the subject.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct PlaceInfo {
    /// Page title or first H1.
    pub(super) title: bool,
    /// A callout (names the subject → banner).
    pub(super) callout: bool,
    /// A banner whatever it names (top callout, "this feature…" callout, page-level statement).
    pub(super) banner: bool,
    /// About the subject without naming it ("This feature…" after a naming
    /// sentence; a "Regions:" line under a heading that names it).
    pub(super) implicit: bool,
    /// Regions stated here are the subject's (a callout that names nothing,
    /// on a page about the subject).
    pub(super) regions_scope: bool,
}

impl PlaceInfo {
    pub(super) fn any(self) -> bool {
        self.title || self.banner || self.implicit || self.regions_scope
    }
}

/// Year, month, day (0 when only the month is known).
pub(super) type Date = (i32, u32, u32);

/// Per-block facts about the page's shape.
pub(super) struct Layout {
    /// Index of the first H1 block, if it comes before any other heading.
    h1: Option<usize>,
    /// Index of the first heading below H1.
    pub(super) first_sub: usize,
    /// Callouts at the top of the page.
    pub(super) top_callout: Vec<bool>,
    /// The date of the dated section each block is in.
    pub(super) dates: Vec<Option<Date>>,
    /// Whether the nearest heading above each block names the subject.
    pub(super) section_named: Vec<bool>,
    /// The page is about the subject: its title, first heading or opening
    /// sentence names it. "This feature…" anywhere then means the subject.
    pub(super) page_about: bool,
    /// The block's section is about the subject: a heading above it names
    /// the subject, or the page is and no heading in between names another
    /// thing.
    pub(super) section_about: Vec<bool>,
    /// The block's section is about availability, access or eligibility
    /// ("Eligibility", "Supported regions", "Where is X available?") and
    /// about the subject: what it says, it says of the subject.
    pub(super) scope_section: Vec<bool>,
    /// The block's section lists regions ("Supported regions", "Region
    /// availability"): its list items and table rows are a region list.
    pub(super) region_section: Vec<bool>,
    /// The header row of the table a row belongs to.
    pub(super) table_header: Vec<Option<usize>>,
    /// The stage a caption or heading right before a table or list gives
    /// its rows ("Deprecated runtimes", "Features in preview").
    pub(super) list_stage: Vec<Option<Stage>>,
}

/// Headings of sections whose statements are about the page's subject's
/// availability, access or eligibility.
static SCOPE_HEADING: LazyLock<Regex> = LazyLock::new(|| {
    ascii_regex(
        r"(?i)\b(?:eligibility|eligible|availability|available|who can|allow-?\s?list(?:ing)?|regions?|marketplaces?|countries|locations|geograph(?:y|ies)|limitations?|status|release phase|launch stage|access (?:requirements|and eligibility)|(?:getting|request(?:ing)?|get) access)\b|^access$",
    )
    .expect("valid regex")
});

/// Headings of sections that list where something is available.
static REGION_HEADING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?:regions?|marketplaces?|countries|locations|geograph(?:y|ies)|where\b.*\bavailable|availability)\b",
    )
    .expect("valid regex")
});

/// A caption that names a list of things in one stage: "Deprecated
/// runtimes", "Features in preview", "Beta APIs", "Retired versions".
static LIST_CAPTION: LazyLock<Regex> = LazyLock::new(|| {
    ascii_regex(
        r"(?i)^(?:(?P<adj>deprecated|retired|beta|preview|experimental|upcoming|planned|sunset|discontinued|generally available|ga)\s+(?:[\w-]+\s+){0,2}?(?:runtimes|versions|features|apis|endpoints|products|services|capabilities|tools|languages|sdks|releases|integrations|models|programs)|(?:[\w-]+\s+){0,2}?(?:runtimes|versions|features|apis|endpoints|products|services|capabilities|tools)\s+(?:in|under)\s+(?P<in>beta|preview|deprecation))\s*:?$",
    )
    .expect("valid regex")
});

/// Words that may be capitalised in a heading without naming another thing.
const GENERIC_CAPS: &[&str] = &[
    "api",
    "apis",
    "faq",
    "faqs",
    "sdk",
    "cli",
    "ui",
    "aws",
    "azure",
    "google",
    "github",
    "amazon",
    "microsoft",
    "cloudflare",
    "kubernetes",
    "note",
    "notes",
    "overview",
    "i",
    "eu",
    "europe",
    "asia",
    "pacific",
    "americas",
    "america",
    "north",
    "south",
    "east",
    "west",
    "middle",
    "apac",
    "emea",
    "latam",
    "na",
    "fe",
];

/// Whether a heading names a thing other than the subject: a capitalised
/// word past the first that is not the subject's, a place, or a brand.
pub(super) fn heading_names_other(text: &str, matcher: &SubjectMatcher) -> bool {
    let mut rest = text.to_string();
    for (s, e) in matcher.find(text).into_iter().rev() {
        rest.replace_range(s..e, " ");
    }
    for (s, e, _) in named_places(&rest).into_iter().rev() {
        rest.replace_range(s..e, " ");
    }
    let subject_words: Vec<String> = matcher
        .names
        .iter()
        .flatten()
        .map(|w| w.to_lowercase())
        .collect();
    rest.split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '\''))
        .filter(|w| !w.is_empty())
        .skip(1)
        .any(|w| {
            let lower = w.to_lowercase();
            w.chars().next().is_some_and(char::is_uppercase)
                && !COUNTRY.is_match(w)
                && !GENERIC_CAPS.contains(&lower.as_str())
                && !subject_words.contains(&lower)
        })
}

fn caption_stage(text: &str) -> Option<Stage> {
    let t = text.trim().trim_matches('*').trim();
    let c = LIST_CAPTION.captures(t)?;
    let word = c
        .name("adj")
        .or_else(|| c.name("in"))?
        .as_str()
        .to_ascii_lowercase();
    Some(match word.as_str() {
        "deprecated" | "deprecation" | "sunset" => Stage::Deprecated,
        "retired" | "discontinued" => Stage::Retired,
        "beta" => Stage::Beta,
        "preview" | "experimental" => Stage::Preview,
        "upcoming" | "planned" => Stage::Announced,
        _ => Stage::Ga,
    })
}

pub(super) static THIS_REF: LazyLock<Regex> = LazyLock::new(|| {
    ascii_regex(
        r"(?i)\bthis (?:is (?:an? )?)?(?:[\w-]+ ){0,2}?(?:feature|product|service|api|page|article|documentation|capability|tool|offering|release|functionality|integration|program|preview|beta)s?\b",
    )
    .expect("valid regex")
});

/// "This feature", "this preview", "the capability": the page's subject,
/// when the page is about it.
pub(super) static THIS_SUBJECT: LazyLock<Regex> = LazyLock::new(|| {
    ascii_regex(
        r"(?i)\bthis (?:[\w-]+ ){0,2}?(?:feature|product|service|capability|tool|offering|functionality|integration|preview|beta)\b|^the (?:feature|product|service|capability|tool|offering|functionality|integration|preview|beta)\b",
    )
    .expect("valid regex")
});

pub(super) static PARTIAL: LazyLock<Regex> = LazyLock::new(|| {
    ascii_regex(r"(?i)^(?:some|certain|several|many|a few|one or more|parts? of)\b")
        .expect("valid regex")
});

pub(super) static ANAPHORA: LazyLock<Regex> = LazyLock::new(|| {
    ascii_regex(
        r"(?i)^(?:(?:this|the) (?:feature|product|service|api|resource|capability|tool|dataset|integration|offering|program|role|model|release|version|endpoint|extension)s?\b|it(?:'s| is| was| has| will| can| remains)\b)",
    )
    .expect("valid regex")
});

pub(super) static SECTION_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    ascii_regex(
        r"(?i)^(?:regions?|supported regions|availability|available in|marketplaces?|countries|locations|status|stage|launch stage|release phase|eligibility|access)\s*:",
    )
    .expect("valid regex")
});

impl Layout {
    pub(super) fn of(page: &Page, matcher: &SubjectMatcher) -> Layout {
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
                BlockKind::Paragraph => {
                    top_callout[i] = paragraphs == 0;
                    paragraphs += 1
                }
                BlockKind::ListItem | BlockKind::TableRow | BlockKind::Code => paragraphs += 2,
                BlockKind::Heading(_) => {}
            }
        }
        let names = |t: &str| {
            matcher
                .find(t)
                .iter()
                .any(|&(ms, _)| !after_preposition(t, ms))
        };
        // The page is about the subject when its title or first heading
        // names it, or its opening sentence starts with the name.
        let opening = page
            .blocks
            .iter()
            .find(|b| b.kind == BlockKind::Paragraph)
            .map(|b| b.text.as_str())
            .unwrap_or("");
        let page_about = page.title.as_deref().is_some_and(names)
            || first_heading.is_some_and(|i| names(&page.blocks[i].text))
            || matcher.find(opening).first().is_some_and(|&(s, _)| {
                let lead = opening[..s].trim().to_ascii_lowercase();
                matches!(lead.as_str(), "" | "the" | "with" | "use" | "using")
            });
        let mut dates = vec![None; n];
        let mut dated: Vec<(u8, Date)> = Vec::new();
        let mut section_named = vec![false; n];
        let mut section_about = vec![page_about; n];
        let mut scope_section = vec![false; n];
        let mut region_section = vec![false; n];
        // Open headings: (level, names the subject, names another thing, text).
        let mut open: Vec<(u8, bool, bool, usize)> = Vec::new();
        let mut named = false;
        for (i, b) in page.blocks.iter().enumerate() {
            if let BlockKind::Heading(level) = b.kind {
                dated.retain(|&(l, _)| l < level);
                if let Some(d) = heading_date(&b.text) {
                    dated.push((level, d));
                }
                named = names(&b.text);
                open.retain(|&(l, ..)| l < level);
                // "Supported regions for Foo" is Foo's section even though
                // Foo comes after a preposition.
                let mentions = named
                    || matcher.find(&b.text).iter().any(|&(ms, _)| {
                        let before = b.text[..ms].trim_end().to_ascii_lowercase();
                        before.ends_with(" for") || before.ends_with(" of")
                    });
                let other = !mentions && Some(i) != h1 && heading_names_other(&b.text, matcher);
                open.push((level, mentions, other, i));
            }
            dates[i] = dated.last().map(|&(_, d)| d);
            section_named[i] = named;
            // About the subject: the nearest heading that names the subject
            // or another thing decides; none: the page's subject.
            let about = open
                .iter()
                .rev()
                .find(|&&(_, nm, ot, _)| nm || ot)
                .map_or(page_about, |&(_, nm, _, _)| nm);
            section_about[i] = about;
            if let Some(&(.., hi)) = open.last()
                && Some(hi) != h1
                && hi != i
                && about
            {
                let heading = &page.blocks[hi].text;
                scope_section[i] = SCOPE_HEADING.is_match(heading);
                region_section[i] = REGION_HEADING.is_match(heading);
            }
        }
        // Tables: consecutive rows, the first is the header. A caption (a
        // short paragraph or heading) right before a table or list may name
        // the stage of everything in it.
        let mut table_header = vec![None; n];
        let mut list_stage = vec![None; n];
        let mut header = None;
        let mut caption: Option<Stage> = None;
        for (i, b) in page.blocks.iter().enumerate() {
            match b.kind {
                BlockKind::TableRow => {
                    let h = *header.get_or_insert(i);
                    if h != i {
                        table_header[i] = Some(h);
                    }
                    list_stage[i] = caption;
                }
                BlockKind::ListItem => list_stage[i] = caption,
                _ => {
                    header = None;
                    caption = caption_stage(&b.text);
                }
            }
            if b.kind != BlockKind::TableRow {
                header = None;
            }
        }
        Layout {
            h1,
            first_sub,
            top_callout,
            dates,
            section_named,
            page_about,
            section_about,
            scope_section,
            region_section,
            table_header,
            list_stage,
        }
    }

    /// Where sentence `n` (text `text`) of block `i` stands.
    pub(super) fn place(
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
        let heading = matches!(block.kind, BlockKind::Heading(_));
        // "This feature…" means the section's topic: the page's subject at
        // the top, or in a section about it; another thing's in a section
        // whose heading names that thing.
        // Deeper in the page it means the section's topic unless the
        // section's heading names the subject or is about availability.
        let own_section = i < self.first_sub || self.section_named[i] || self.scope_section[i];
        let this_ref = THIS_REF.is_match(text) && own_section;
        if block.kind == BlockKind::Callout {
            info.callout = true;
            // A top callout that names something else ("The security manager
            // role is in beta") is not about every subject: without the
            // subject's name it must say "this feature…" or be a bare label.
            let bare = BARE_LABEL.is_match(text.trim().trim_end_matches(['.', ':']));
            if !partial && (this_ref || (self.top_callout[i] && bare)) {
                info.banner = true;
            }
            // A callout with no name in it, on a page about the subject,
            // states a limit for the subject ("only us-east-1 is supported").
            if !names && self.page_about && own_section && !partial {
                info.regions_scope = true;
            }
        } else if i < self.first_sub && !partial && !heading && THIS_REF.is_match(text) {
            info.banner = true;
        } else if self.top_callout[i]
            && block.kind == BlockKind::Paragraph
            && BARE_LABEL.is_match(text.trim().trim_end_matches(['.', ':']))
        {
            // A status label standing alone at the top ("Feature state: beta").
            info.banner = true;
        }
        if !names && !info.banner && !heading {
            let anaphora = (n > 0 && prev_named && ANAPHORA.is_match(text))
                || (self.section_named[i] && SECTION_LABEL.is_match(text));
            // On a page about the subject, "this feature/this preview" is it.
            let page_anaphora =
                self.page_about && own_section && !partial && THIS_SUBJECT.is_match(text);
            if anaphora || page_anaphora || self.scope_section[i] {
                info.implicit = true;
            }
        }
        info
    }
}
