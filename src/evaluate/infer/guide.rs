//! Claims read from a guide's own text. Guides state status tersely — "Ads
//! Agent (beta)", "currently beta and account- / region-gated", "generally
//! available, but region-limited", "in open beta" — often on a short title
//! line with the description on the next. The same engine reads them, with
//! three additions: a title line and the line after it are one sentence; a
//! bare stage word in a sentence that names the capability states its stage;
//! "gated" (alone or as "account- and region-gated") gates it.
//!
//! In: the guide page and the capability. Out: an [`Inference`] whose
//! evidence quotes are the guide's sentences, and whether the guide says the
//! capability is limited to some regions without listing them.

use super::*;

/// What a guide claims for one capability.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GuideClaim {
    #[serde(flatten)]
    pub inference: Inference,
    /// "Region-limited", "regional availability applies": limited to some
    /// regions, which the guide does not list.
    pub regions_limited: bool,
    /// Every guide sentence that names the capability.
    pub sentences: Vec<String>,
}

static GUIDE_RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    use Access::Gated;
    use Kind::Plain;
    use Stage::{Beta, Ga, Preview};
    vec![
        rule(Value::Stage(Beta), r"\bbeta\b", Plain),
        rule(Value::Stage(Preview), r"\b(?:preview|alpha)\b", Plain),
        rule(Value::Stage(Ga), r"\bGA\b", Kind::GaClaim),
        rule(
            Value::Access(Gated),
            r"(?:\b[\w]+-\s*(?:(?:and|or|/)\s*[\w]+-)?\s*)?gated\b",
            Plain,
        ),
    ]
});

static REGIONS_LIMITED: LazyLock<Regex> = LazyLock::new(|| {
    ascii_regex(r"(?i)\bregion(?:ally|al)?[- ]limited\b|\bregional availability applies\b|\bregion-gated\b|\blimited (?:to some|by) regions?\b")
        .expect("valid regex")
});

/// A line short enough to be a card's title ("Pulse Assistant (beta)").
fn is_title_line(b: &Block) -> bool {
    // Not the page's own title (H1): that heads the whole guide.
    (matches!(b.kind, BlockKind::Paragraph | BlockKind::ListItem)
        || matches!(b.kind, BlockKind::Heading(l) if l > 1))
        && b.text.split_whitespace().count() <= 8
        && !b.text.trim_end().ends_with(['.', ':', ';', '?', '!'])
}

/// The guide page with each title line joined to the line after it, so the
/// description's words are said of the title's name.
fn cards(page: &Page) -> Page {
    let mut blocks: Vec<Block> = Vec::with_capacity(page.blocks.len());
    // Lines of punctuation only ("-") separate cards; they say nothing.
    let lines: Vec<&Block> = page
        .blocks
        .iter()
        .filter(|b| b.text.chars().any(char::is_alphanumeric))
        .collect();
    let mut i = 0;
    while i < lines.len() {
        let b = lines[i];
        match lines.get(i + 1).copied() {
            Some(next)
                if is_title_line(b)
                    && !is_title_line(next)
                    && !matches!(next.kind, BlockKind::Heading(_) | BlockKind::Code) =>
            {
                blocks.push(Block {
                    kind: BlockKind::Paragraph,
                    text: format!("{} — {}", b.text.trim(), next.text.trim()),
                    links: Vec::new(),
                });
                i += 2;
            }
            _ => {
                blocks.push((*b).clone());
                i += 1;
            }
        }
    }
    Page {
        title: None,
        blocks,
    }
}

/// What the guide's text claims for `subject`.
pub fn infer_claim(page: &Page, subject: &Subject) -> GuideClaim {
    let page = cards(page);
    let matcher = SubjectMatcher::new(subject);
    let mut sentences = Vec::new();
    let mut limited = false;
    for b in &page.blocks {
        for (s, e) in sentence_spans(b) {
            let text = &b.text[s..e];
            if !matcher.find(text).is_empty() {
                limited |= REGIONS_LIMITED.is_match(text);
                sentences.push(text.to_string());
            }
        }
    }
    let inference = infer_with(&page, subject, &GUIDE_RULES);
    GuideClaim {
        inference,
        regions_limited: limited,
        sentences,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn para(text: &str) -> Block {
        Block {
            kind: BlockKind::Paragraph,
            text: text.into(),
            links: vec![],
        }
    }

    fn claim(blocks: Vec<Block>, name: &str) -> GuideClaim {
        let page = Page {
            title: None,
            blocks,
        };
        infer_claim(&page, &Subject::new(name, &[]))
    }

    #[test]
    fn each_clause_of_a_terse_sentence_claims_for_its_own_name() {
        let blocks = || {
            vec![
                Block {
                    kind: BlockKind::Heading(1),
                    text: "Kite — platform fit".into(),
                    links: vec![],
                },
                para(
                    "Kite Reports is in open beta; Kite Lab is invitation-only; Kite Bridge is generally available in us-east-1.",
                ),
            ]
        };
        let reports = claim(blocks(), "Kite Reports");
        assert_eq!(reports.inference.status.stage, Stage::Beta);
        assert_eq!(reports.inference.status.access, Access::Open);
        let lab = claim(blocks(), "Kite Lab");
        assert_eq!(lab.inference.status.stage, Stage::Unknown);
        assert_eq!(lab.inference.status.access, Access::Gated);
        let bridge = claim(blocks(), "Kite Bridge");
        assert_eq!(bridge.inference.status.stage, Stage::Ga);
        assert_eq!(bridge.inference.status.regions, Regions::new(["us-east-1"]));
        // The page's H1 is not a card title: the quote is the sentence itself.
        assert!(
            bridge.inference.evidence[0]
                .quote
                .starts_with("Kite Reports is")
        );
    }

    #[test]
    fn a_card_title_lends_its_name_to_the_line_after_it() {
        let c = claim(
            vec![
                para("Pulse Assistant (beta)"),
                para(
                    "Help with queries inside Kite — account- / region-gated; not a substitute for method.",
                ),
            ],
            "Pulse Assistant",
        );
        assert_eq!(c.inference.status.stage, Stage::Beta);
        assert_eq!(c.inference.status.access, Access::Gated);
        assert!(c.regions_limited);
        let c = claim(
            vec![para(
                "Harbor Rooms — generally available, but region-limited.",
            )],
            "Harbor Rooms",
        );
        assert_eq!(c.inference.status.stage, Stage::Ga);
        assert!(c.regions_limited && !c.inference.status.regions.is_known());
    }
}
