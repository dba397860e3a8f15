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
}

impl PlaceInfo {
    pub(super) fn any(self) -> bool {
        self.title || self.banner || self.implicit
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
}

pub(super) static THIS_REF: LazyLock<Regex> = LazyLock::new(|| {
    ascii_regex(
        r"(?i)\bthis (?:is (?:an? )?)?(?:[\w-]+ ){0,2}?(?:feature|product|service|api|page|article|documentation|capability|tool|offering|release|functionality|integration|program|preview|beta)s?\b",
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
