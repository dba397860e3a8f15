//! Phrase hits in one sentence: each rule's matches, minus those in link
//! text, quotes and identifiers, with negation, future and past tense read
//! from the clause before the phrase.

use super::*;

/// True when `text[s..e]` is not glued to an identifier: no letter, digit,
/// `_`, `#`, `=` or `/` beside it, and no `-`/`.` that continues a word.
pub(super) fn clean_edges(text: &str, s: usize, e: usize) -> bool {
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

pub(super) static CLAUSE_START: LazyLock<Regex> =
    LazyLock::new(|| ascii_regex(r"[,;:]|\bbut\b").expect("valid regex"));

pub(super) static GA_NEGATED: LazyLock<Regex> = LazyLock::new(|| {
    ascii_regex(
        r"(?i)\b(?:not|never|no|before|prior to|until|ahead of|toward|towards|path to|road to|for|once|when|after|if|whether|pending|expected|plans?|planned|targeted|targeting|aims?)\b|n't\b",
    )
    .expect("valid regex")
});

pub(super) static FUTURE: LazyLock<Regex> = LazyLock::new(|| {
    ascii_regex(r"(?i)\b(?:will|shall|going to|to become)\b").expect("valid regex")
});

pub(super) static PRE_GA_NEGATED: LazyLock<Regex> = LazyLock::new(|| {
    ascii_regex(
        r"(?i)\b(?:no longer|not|out of|exit(?:ed|s)?|graduat(?:ed|es|ing) from|left|leaves|moved? out of|beyond)\s+(?:[\w-]+\s+){0,2}$",
    )
    .expect("valid regex")
});

pub(super) static NOW_BEFORE: LazyLock<Regex> =
    LazyLock::new(|| ascii_regex(r"(?i)\bnow\s+(?:[\w-]+\s+)?$").expect("valid regex"));

pub(super) static SUPERSEDED: LazyLock<Regex> = LazyLock::new(|| {
    ascii_regex(
        r"(?i)\b(?:until (?:today|now|recently)|previously|formerly|used to|before today)\b",
    )
    .expect("valid regex")
});

pub(super) static PAST: LazyLock<Regex> = LazyLock::new(|| {
    ascii_regex(
        r"(?i)\b(?:was|were|had been|originally|initially|first|launched|released|introduced|debuted|shipped|announced the launch of)\b",
    )
    .expect("valid regex")
});

/// Stage words joined as a list ("in beta, preview, or …"): a definition, not a statement.
pub(super) static ENUMERATION: LazyLock<Regex> = LazyLock::new(|| {
    ascii_regex(
        r"(?i)\b(?:alpha|beta|preview|experimental|ga|general availability|generally available)(?:\s*(?:,|/|\bor\b|\band\b)\s*(?:\w+\s+)?(?:alpha|beta|preview|experimental|ga|general availability|generally available)\b)+",
    )
    .expect("valid regex")
});

/// Words that may follow an adjectival GA phrase in a statement ("is
/// generally available in…", "GA release of…"); any other word means the
/// phrase describes a noun ("uses generally available Bar clusters").
pub(super) const GA_FOLLOWERS: &[&str] = &[
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
pub(super) fn ga_attributive(text: &str, start: usize, end: usize) -> bool {
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

pub(super) static NEGATION_BETWEEN: LazyLock<Regex> = LazyLock::new(|| {
    ascii_regex(r"(?i)\b(?:not|except|excluding|other than|unlike)\b|n't\b").expect("valid regex")
});

/// Byte spans of short quoted text (“…”, "…"): names and titles, not statements.
pub(super) fn quoted_spans(text: &str) -> Vec<(usize, usize)> {
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

pub(super) const PREPOSITIONS: &[&str] = &[
    "in", "into", "via", "through", "with", "within", "using", "across", "from", "by", "for", "on",
    "inside", "under",
];

/// The text of the clause before byte `s`, at most ~80 bytes.
pub(super) fn clause_before(text: &str, s: usize) -> &str {
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

/// [`RULES`] as one set: one pass over a sentence says which rules match at
/// all, so only those are run for their matches (most sentences match none).
pub(super) static RULE_SET: LazyLock<regex::RegexSet> = LazyLock::new(|| {
    regex::RegexSetBuilder::new(RULES.iter().map(|r| r.re.as_str()))
        .unicode(false)
        .build()
        .expect("valid built-in rules")
});

/// Hits of `rules` in a sentence; `set`, when given, is `rules` as a
/// [`RegexSet`](regex::RegexSet) (as [`RULE_SET`] is [`RULES`]).
pub(super) fn phrase_hits(
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
                // "Closed beta in the US" gates whoever it names; "only
                // available for the US marketplace" limits only where.
                (Value::Access(Access::Gated), _)
                    if stage_word(m.as_str()).is_none() && limits_place(s.text, end) =>
                {
                    continue;
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
pub(super) fn label_hits(s: &Sentence<'_>) -> Vec<Hit> {
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
            "preview" | "alpha" | "experimental" => Stage::Preview,
            "deprecated" => Stage::Deprecated,
            "retired" | "discontinued" => Stage::Retired,
            "coming soon" | "upcoming" | "announced" => Stage::Announced,
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

pub(super) fn label_hit(value: Value, start: usize, end: usize) -> Hit {
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
pub(super) fn offset_in(whole: &str, part: &str) -> usize {
    (part.as_ptr() as usize).saturating_sub(whole.as_ptr() as usize)
}

/// Within one dimension, of two overlapping matches keep the longer
/// ("no longer available to new customers" over "no longer available").
pub(super) fn drop_overlaps(hits: &mut Vec<Hit>) {
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

/// "Only available for the US marketplace", "limited availability and
/// capacity in certain regions": the limit is where, or how much, not who.
/// True when what follows a gating phrase (in the same clause) is a place or
/// capacity rather than an audience.
pub(super) fn limits_place(text: &str, end: usize) -> bool {
    let rest = &text[end..];
    let clause = match rest.find([',', ';', '.']) {
        Some(i) => &rest[..i],
        None => rest,
    };
    let head: String = clause
        .split_whitespace()
        .take(5)
        .collect::<Vec<_>>()
        .join(" ");
    PLACE_LIMIT.is_match(&head)
        || AWS_REGION.is_match(&head)
        || !named_places(&head).is_empty()
        || COUNTRY.find(&head).is_some_and(|m| {
            // "for US marketplace", "in the UK", "to EU customers": a place first.
            head[..m.start()].split_whitespace().all(|w| {
                matches!(
                    w.to_ascii_lowercase().as_str(),
                    "for" | "in" | "to" | "the" | "within"
                )
            })
        })
}

static PLACE_LIMIT: LazyLock<Regex> = LazyLock::new(|| {
    ascii_regex(
        r"(?i)^(?:(?:and|or) (?:capacity|quota)|(?:for|in|to|within) (?:the |a |certain |some |select |specific |these |all )?(?:[\w-]+ )?(?:regions?|marketplaces?|markets?|countr(?:y|ies)|locales?|geograph(?:y|ies)|locations?)\b)",
    )
    .expect("valid regex")
});
