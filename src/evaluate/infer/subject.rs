//! Subject matching: where a sentence names the capability (name or alias,
//! whole words, case-insensitive), and whether a phrase in that sentence is
//! about it (labels, prepositions, "some", exclusions).

use super::*;

/// Finds whole-word, case-insensitive mentions of a subject's name or aliases,
/// with any run of whitespace (no-break spaces included) between their words.
/// It finds what the regex `(?i)(?:longest name|…|shortest name)` would
/// (leftmost-first, longest name preferred at a position, matches not
/// overlapping) followed by the whole-word check, without compiling a regex
/// for every page read: that compilation cost more than the rest of inference.
pub(super) struct SubjectMatcher {
    /// Each name or alias as its words, longest name first.
    pub(super) names: Vec<Vec<String>>,
    /// The first character of each name, to skip ahead to candidate positions.
    pub(super) firsts: Vec<char>,
    /// Bytes that can start a mention: the ASCII characters equal to a first
    /// character ignoring case, and every non-ASCII lead byte (checked against
    /// `firsts` when met), so the scan can skip along the bytes.
    pub(super) starts: [bool; 256],
}

impl SubjectMatcher {
    pub(super) fn new(subject: &Subject) -> Self {
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
    pub(super) fn next_start(&self, text: &str, mut from: usize) -> Option<usize> {
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
    pub(super) fn find(&self, text: &str) -> Vec<(usize, usize)> {
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
pub(super) const OTHER_THINGS: &[&str] = &[
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
pub(super) fn names_something_else(after: &str) -> bool {
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
pub(super) fn match_words(text: &str, start: usize, words: &[String]) -> Option<usize> {
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
pub(super) fn fold_eq(a: char, b: char) -> bool {
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
pub(super) fn single(mut chars: impl Iterator<Item = char>) -> Option<char> {
    let c = chars.next()?;
    chars.next().is_none().then_some(c)
}

/// A phrase match in a sentence, before deciding its place.
#[derive(Debug, Clone)]
pub(super) struct Hit {
    pub(super) value: Value,
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) kind: Kind,
    pub(super) weak: bool,
    /// Registry phrase rather than built-in.
    pub(super) registry: bool,
    /// Past tense ("was launched as beta").
    pub(super) past: bool,
    /// Present with "now" ("is now generally available").
    pub(super) now: bool,
}

/// Is the phrase at `hit` about the subject, given where the subject is named?
/// What kind of match is being attached to the subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Attach {
    Phrase,
    /// "(beta)": belongs to the words just before it.
    Label,
    /// Region codes: additive, so "Many … are available in US/CA" counts.
    Regions,
}

pub(super) fn owned(s: &Sentence<'_>, start: usize, end: usize, attach: Attach) -> bool {
    let label = attach == Attach::Label;
    if s.table_row && !label {
        return !s.mentions.is_empty();
    }
    s.mentions.iter().any(|&(ms, me)| {
        if label {
            // A name that carries its label ("Scouts (preview) in Foo").
            if ms <= start && end <= me {
                return true;
            }
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
        // "Foo signals in AMC; Bar signals in open beta": a clause after a
        // semicolon has its own subject, in either direction.
        if (me <= start && s.text[me..start].contains(';'))
            || (end <= ms && s.text[end..ms].contains(';'))
        {
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
pub(super) fn after_preposition(text: &str, at: usize) -> bool {
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

/// Mentions, less those inside link text that names something longer: in
/// "[mist run push](…) has been retired" the link is the `push` command,
/// not `mist run`.
pub(super) fn outside_longer_links(
    text: &str,
    mentions: Vec<(usize, usize)>,
    links: &[(usize, usize)],
) -> Vec<(usize, usize)> {
    mentions
        .into_iter()
        .filter(|&(ms, me)| {
            !links.iter().any(|&(ls, le)| {
                ls <= ms
                    && me <= le
                    && (text[ls..ms].chars().any(char::is_alphanumeric)
                        || text[me..le].chars().any(char::is_alphanumeric))
            })
        })
        .collect()
}
