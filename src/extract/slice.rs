//! A pre-pass over HTML that finds the `<main>` elements without building a
//! tree, so the full parse can be given only what the selection reads.
//!
//! In: the page's text. Out: its doctype, first `<title>` and outermost
//! `<main>` elements, byte for byte ([`scan`]; [`main_document`] joins them
//! into a smaller document), or `None` whenever the pass cannot be sure it
//! found them the way the HTML parser would (then the caller parses the
//! whole page, as without this pass).
//!
//! The pass reads tags only: comments, `<!…>` and `<?…>` are skipped, and the
//! text of raw-text elements (script, style, textarea, title, …) is skipped up
//! to their end tag, so a `<main>` inside a comment or a script does not
//! count. It gives up on what it does not model: CDATA sections, `<template>`,
//! `<plaintext>`, `<frameset>`, a script holding `<!--` (its escaped states), SVG or MathML
//! before the first title (whose own `<title>` this pass cannot tell apart),
//! a `<main>` inside SVG or MathML (whose content has no raw text), a
//! `<main>` while an element that changes how it is read (`<a>`, `<b>`,
//! `<select>`, `<table>`, …) is open, a `</main>`
//! without a `<main>`, anything left open at the end, and a title after the
//! first `<main>`. On well-formed pages the parse of the smaller document
//! gives the same title and the same content under `<main>` as the parse of
//! the whole page; `tests` in the parent module check that on every fixture.

/// Elements whose content is text up to their end tag (with scripting on,
/// as the parser runs, `noscript` is one of them).
const RAW_TEXT: &[&str] = &[
    "script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes", "noscript",
];

/// The doctype, the first title and the outermost `<main>` elements that
/// [`scan`] found, as one document.
pub(super) fn main_document(parts: &Parts<'_>) -> String {
    let mut doc = String::with_capacity(parts.mains.iter().map(|m| m.len()).sum::<usize>() + 256);
    doc.push_str(parts.doctype.unwrap_or(""));
    doc.push_str("<html><head>");
    doc.push_str(parts.title.unwrap_or(""));
    doc.push_str("</head><body>");
    for m in &parts.mains {
        doc.push_str(m);
    }
    doc.push_str("</body></html>");
    doc
}

/// What [`scan`] found, as slices of the page.
#[derive(Debug, Default)]
pub(super) struct Parts<'a> {
    pub(super) doctype: Option<&'a str>,
    pub(super) title: Option<&'a str>,
    pub(super) mains: Vec<&'a str>,
}

pub(super) fn scan(html: &str) -> Option<Parts<'_>> {
    let b = html.as_bytes();
    let mut parts = Parts::default();
    let mut depth = 0usize;
    let mut main_start = 0usize;
    let mut seen_tag = false;
    let mut seen_title = false;
    // Open `<svg>` / `<math>` elements: their content is not HTML.
    let mut foreign = 0usize;
    // Elements outside the mains, opened and not yet closed, that the
    // parser would carry into a `<main>` (see [`is_carried`]).
    let mut carried = 0usize;
    let mut i = 0usize;
    while let Some(off) = memchr::memchr(b'<', &b[i..]) {
        let lt = i + off;
        let rest = &b[lt + 1..];
        let next = rest.first().copied();
        if rest.starts_with(b"!--") {
            i = comment_end(b, lt + 4)?;
        } else if rest.starts_with(b"![CDATA[") {
            return None;
        } else if next == Some(b'!') || next == Some(b'?') {
            i = lt + 2 + find(&b[lt + 2..], b">")? + 1;
            if !seen_tag && starts_with_ignore_case(&rest[1..], b"doctype") {
                parts.doctype = Some(&html[lt..i]);
            }
        } else if next == Some(b'/') && rest.get(1).is_some_and(u8::is_ascii_alphabetic) {
            let (name, after) = tag_name(b, lt + 2);
            i = tag_end(b, after)?;
            if is_foreign_root(name) {
                foreign = foreign.saturating_sub(1);
            } else if depth == 0 && foreign == 0 && is_carried(name) {
                carried = carried.saturating_sub(1);
            } else if name.eq_ignore_ascii_case(b"main") {
                if foreign > 0 {
                    return None;
                }
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    parts.mains.push(&html[main_start..i]);
                }
            }
        } else if next.is_some_and(|c| c.is_ascii_alphabetic()) {
            seen_tag = true;
            let (name, after) = tag_name(b, lt + 1);
            i = tag_end(b, after)?;
            if foreign > 0 {
                // An SVG or MathML `main` is still a `main` to the selector,
                // and an integration point can hold an HTML one; neither
                // has raw text.
                if name.eq_ignore_ascii_case(b"main") {
                    return None;
                }
                foreign += usize::from(is_foreign_root(name) && b[i - 2] != b'/');
            } else if name.eq_ignore_ascii_case(b"main") {
                if depth == 0 {
                    if carried > 0 {
                        return None;
                    }
                    main_start = lt;
                }
                depth += 1;
            } else if name.eq_ignore_ascii_case(b"template")
                || name.eq_ignore_ascii_case(b"plaintext")
                || name.eq_ignore_ascii_case(b"frameset")
                || (!seen_title
                    && (name.eq_ignore_ascii_case(b"svg") || name.eq_ignore_ascii_case(b"math")))
            {
                // Before the first title, an SVG or MathML `<title>` could be
                // it, and this pass cannot tell one from the page's title.
                return None;
            } else if is_foreign_root(name) {
                foreign += usize::from(b[i - 2] != b'/');
            } else if depth == 0 && is_carried(name) {
                carried += 1;
            } else if let Some(raw) = RAW_TEXT
                .iter()
                .find(|r| name.eq_ignore_ascii_case(r.as_bytes()))
            {
                let (close_start, close_end) = raw_text_end(b, i, raw.as_bytes())?;
                if *raw == "script" && find(&b[i..close_start], b"<!--").is_some() {
                    return None;
                }
                if *raw == "title" && !seen_title {
                    seen_title = true;
                    if depth == 0 {
                        if !parts.mains.is_empty() {
                            // The first title comes after a main; the smaller
                            // document would put it first.
                            return None;
                        }
                        parts.title = Some(&html[lt..close_end]);
                    }
                    // Inside a main it is in the slice already.
                }
                i = close_end;
            }
        } else if next == Some(b'/') {
            // `</>` is dropped; `</` and anything else opens a bogus comment.
            i = lt + 2 + find(&b[lt + 2..], b">")? + 1;
        } else {
            i = lt + 1;
        }
    }
    (depth == 0 && !parts.mains.is_empty()).then_some(parts)
}

/// Elements whose being open changes how the parser reads a `<main>`:
/// formatting elements (reopened inside it, or an `<a>` that ends one
/// inside it), `<button>` (a second one closes it, and the `<main>`),
/// `<select>` and `<table>` (their own insertion modes), and the elements
/// that set a formatting marker.
fn is_carried(name: &[u8]) -> bool {
    const CARRIED: &[&[u8]] = &[
        b"a", b"b", b"big", b"code", b"em", b"font", b"i", b"nobr", b"s", b"small", b"strike",
        b"strong", b"tt", b"u", b"button", b"select", b"table", b"object", b"applet", b"marquee",
    ];
    CARRIED.iter().any(|f| name.eq_ignore_ascii_case(f))
}

fn is_foreign_root(name: &[u8]) -> bool {
    name.eq_ignore_ascii_case(b"svg") || name.eq_ignore_ascii_case(b"math")
}

pub(super) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay, needle)
}

pub(super) fn starts_with_ignore_case(hay: &[u8], prefix: &[u8]) -> bool {
    hay.len() >= prefix.len() && hay[..prefix.len()].eq_ignore_ascii_case(prefix)
}

/// After `<!--` at `from`: the index after the comment's end (`-->`, `--!>`,
/// or the abrupt `<!-->` / `<!--->`).
pub(super) fn comment_end(b: &[u8], from: usize) -> Option<usize> {
    let rest = &b[from..];
    if rest.starts_with(b">") {
        return Some(from + 1);
    }
    if rest.starts_with(b"->") {
        return Some(from + 2);
    }
    let mut at = from;
    loop {
        at += find(&b[at..], b"--")?;
        let after = &b[at + 2..];
        if after.starts_with(b">") {
            return Some(at + 3);
        }
        if after.starts_with(b"!>") {
            return Some(at + 4);
        }
        at += 1;
    }
}

/// The tag name starting at `from` and the index after it.
pub(super) fn tag_name(b: &[u8], from: usize) -> (&[u8], usize) {
    let len = b[from..]
        .iter()
        .position(|&c| c.is_ascii_whitespace() || c == b'/' || c == b'>')
        .unwrap_or(b.len() - from);
    (&b[from..from + len], from + len)
}

/// The index after the `>` that ends a tag whose name ends at `from`:
/// attribute values in quotes may hold `>`.
pub(super) fn tag_end(b: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    // Whether the next value may start here (just after `=`).
    let mut value_next = false;
    while i < b.len() {
        let c = b[i];
        match c {
            b'>' => return Some(i + 1),
            b'"' | b'\'' if value_next => {
                i += 1 + b[i + 1..].iter().position(|&q| q == c)? + 1;
                value_next = false;
                continue;
            }
            b'=' => value_next = true,
            c if c.is_ascii_whitespace() => {}
            _ => value_next = false,
        }
        i += 1;
    }
    None
}

/// For a raw-text element whose start tag ends at `from`: (start, end) of
/// its end tag `</name` followed by white space, `/` or `>`.
pub(super) fn raw_text_end(b: &[u8], from: usize, name: &[u8]) -> Option<(usize, usize)> {
    let mut at = from;
    loop {
        at += find(&b[at..], b"</")?;
        let after = at + 2 + name.len();
        if b.len() >= after
            && b[at + 2..after].eq_ignore_ascii_case(name)
            && b.get(after)
                .is_some_and(|&c| c.is_ascii_whitespace() || c == b'/' || c == b'>')
        {
            return Some((at, tag_end(b, after)?));
        }
        at += 2;
    }
}
