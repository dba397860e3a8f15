//! Sentences and quotes: a block cut into sentences, and the quote kept as
//! evidence (the sentence, or a window of it around the phrase).

use super::*;

pub(super) const ABBREVIATIONS: &[&str] = &[
    "e.g", "i.e", "etc", "vs", "inc", "ltd", "no", "approx", "u.s", "mr", "ms", "dr", "st", "fig",
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "ver",
];

/// Byte spans of the sentences of a block. Headings and table rows are one sentence.
pub(super) fn sentence_spans(block: &Block) -> Vec<(usize, usize)> {
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

pub(super) fn ends_with_abbreviation(before: &str) -> bool {
    let word = before
        .rsplit(|c: char| c.is_whitespace() || c == '(')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    ABBREVIATIONS.contains(&word.as_str())
        || (word.len() == 1 && word.chars().all(char::is_alphabetic))
}

/// One sentence to scan, with what its place allows.
pub(super) struct Sentence<'a> {
    pub(super) text: &'a str,
    pub(super) links: Vec<(usize, usize)>,
    pub(super) place: PlaceInfo,
    pub(super) mentions: Vec<(usize, usize)>,
    pub(super) date: Option<Date>,
    /// Parts that may be a bare status label: table cells, or a short block whole.
    pub(super) units: Vec<&'a str>,
    pub(super) table_row: bool,
    /// Starts with "Some"/"Certain"…: only subjects listed after the phrase count.
    pub(super) partial: bool,
}

pub(super) const QUOTE_MAX: usize = 300;

/// The sentence, or a window of it around the phrase when it is long.
pub(super) fn quote(text: &str, start: usize, end: usize) -> String {
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
