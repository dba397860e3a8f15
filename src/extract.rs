//! Extract stage: turns a fetched body into a [`Page`] of text blocks.
//!
//! In: the raw bytes of a page, what kind of document it is ([`ContentKind`],
//! from the Content-Type and the path) and the source's compiled CSS
//! [`Selection`]. Out: a [`Page`] — the title and the selected content as
//! blocks in reading order (headings, paragraphs, list items, table rows,
//! callouts, code) — or an [`ExtractError`] when the body is not a page or the
//! selection matches nothing. [`Page::text`] of the result is what gets hashed
//! ([`content_hash`]), stored and diffed, so everything here is deterministic:
//! the same body always gives the same blocks.
//!
//! - HTML is parsed with scraper; `ignore` subtrees and non-content elements
//!   (script, style, svg, …) are skipped; notes, alerts and banners become
//!   [`BlockKind::Callout`]. When a source reads only `<main>` (the default
//!   select or `main`) and ignores nothing, [`stream`] reads the page
//!   without building a tree — html5gum's tokenizer and a model of the
//!   parser's tree rules driving the same walk — and hands anything it does
//!   not model back to the full parse.
//! - Markdown (pulldown-cmark) maps to the same blocks; block quotes, GitHub and
//!   Azure `[!NOTE]` markers, `**Note:**` paragraphs, Liquid `{% note %}` blocks
//!   and MkDocs `!!!` admonitions become callouts; front matter gives the title.
//! - Plain text is read as very light Markdown, one block per line group.
//! - JSON (API models) contributes each distinct prose string; HTML inside
//!   strings is parsed, so an AWS `<note>` becomes a callout.
//!
//! Link text is kept in the block text and its byte ranges recorded in
//! [`Block::links`]; link targets never appear in the text.

mod shell;
mod stream;
pub use shell::script_shell;

use crate::model::{Block, BlockKind, Page};
use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
use regex::Regex;
use scraper::{ElementRef, Html, Node, Selector};
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::LazyLock;

/// How a body is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentKind {
    Html,
    Markdown,
    Text,
    Json,
}

/// Decide from the HTTP Content-Type (if any) and the URL path / file name.
///
/// An explicit HTML, Markdown or JSON content type wins; then the file
/// extension (`.md`/`.markdown`, `.json`, `.txt`), so a Markdown file served
/// as `text/plain` is still read as Markdown; then `text/plain` → Text; else Html.
pub fn content_kind(content_type: Option<&str>, path: &str) -> ContentKind {
    let mime = content_type
        .and_then(|ct| ct.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .unwrap_or_default();
    match mime.as_str() {
        "text/html" | "application/xhtml+xml" => return ContentKind::Html,
        "text/markdown" | "text/x-markdown" => return ContentKind::Markdown,
        "application/json" | "text/json" => return ContentKind::Json,
        m if m.ends_with("+json") => return ContentKind::Json,
        _ => {}
    }
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let file = path.rsplit(['/', '\\']).next().unwrap_or_default();
    let ext = file
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "md" | "markdown" | "mdx" => ContentKind::Markdown,
        "json" => ContentKind::Json,
        "txt" | "text" => ContentKind::Text,
        _ if mime == "text/plain" => ContentKind::Text,
        _ => ContentKind::Html,
    }
}

/// Compiled CSS selection of a source.
///
/// With the default `select` ("main, article, body") the FIRST of those that
/// matches is used: `main` if present, else `article`, else `body`. An explicit
/// `select` list takes every matching element in document order, without
/// taking an element twice when one selected element contains another.
#[derive(Debug, Clone)]
pub struct Selection {
    source: String,
    /// Alternatives tried in order (default select) or one combined list.
    alternatives: Vec<Selector>,
    first_match: bool,
    ignore: Vec<Selector>,
    /// The selection reads only `<main>` elements: with no `ignore`
    /// selectors, HTML pages can be read as a stream ([`stream`]).
    main_only: bool,
}

impl Selection {
    /// Compile `select` and the `ignore` selectors. The error names the bad selector.
    pub fn new(select: &str, ignore_list: &[String]) -> Result<Selection, String> {
        let source = select.trim().to_string();
        if source.is_empty() {
            return Err("select is empty; use a CSS selector such as `main`".into());
        }
        let first_match = normalise_selector_list(&source) == Self::default_select();
        let alternatives = if first_match {
            split_selector_list(&source)
                .into_iter()
                .map(|s| parse_selector(&s, "select"))
                .collect::<Result<Vec<_>, _>>()?
        } else {
            vec![parse_selector(&source, "select")?]
        };
        let ignore = ignore_list
            .iter()
            .map(|s| parse_selector(s, "ignore selector"))
            .collect::<Result<Vec<_>, _>>()?;
        let main_only = first_match || source.eq_ignore_ascii_case("main");
        Ok(Selection {
            source,
            alternatives,
            first_match,
            ignore,
            main_only,
        })
    }

    /// The select used when a source names none.
    pub fn default_select() -> &'static str {
        "main, article, body"
    }

    /// The `select` text as written in the registry.
    pub fn select_source(&self) -> &str {
        &self.source
    }

    /// The selectors as a browser should try them: the default's
    /// alternatives one by one (the first that matches is the selection), or
    /// the one list as written. The flag says which.
    pub fn tried_in_order(&self) -> (Vec<String>, bool) {
        if self.first_match {
            (split_selector_list(&self.source), true)
        } else {
            (vec![self.source.clone()], false)
        }
    }

    /// The selected elements of a document, outermost only, in document order.
    fn roots<'a>(&self, html: &'a Html) -> Vec<ElementRef<'a>> {
        if self.first_match {
            for sel in &self.alternatives {
                if let Some(el) = html.select(sel).next() {
                    return vec![el];
                }
            }
            return Vec::new();
        }
        let sel = &self.alternatives[0];
        html.select(sel)
            .filter(|el| {
                !el.ancestors()
                    .filter_map(ElementRef::wrap)
                    .any(|a| sel.matches(&a))
            })
            .collect()
    }
}

impl Default for Selection {
    fn default() -> Self {
        Selection::new(Selection::default_select(), &[]).expect("default select is valid CSS")
    }
}

fn parse_selector(s: &str, what: &str) -> Result<Selector, String> {
    Selector::parse(s).map_err(|e| format!("{what} `{s}` is not valid CSS: {e}"))
}

/// `a ,b` → `a, b`, so spacing does not change what the default means.
fn normalise_selector_list(s: &str) -> String {
    split_selector_list(s).join(", ")
}

/// Split a selector list on top-level commas (not inside `()` or `[]`).
fn split_selector_list(s: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut cur = String::new();
    for c in s.chars() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            _ => {}
        }
        if c == ',' && depth == 0 {
            parts.push(cur.trim().to_string());
            cur.clear();
        } else {
            cur.push(c);
        }
    }
    parts.push(cur.trim().to_string());
    parts.retain(|p| !p.is_empty());
    parts
}

/// Why a body could not be turned into a page.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum ExtractError {
    /// The selection matched nothing; holds the select text.
    #[error("selector `{0}` matched nothing; check the page or change `select`")]
    NoMatch(String),
    /// The body is not readable as a page; holds why.
    #[error("unreadable page: {0}")]
    Unreadable(String),
}

/// Turn a body into a page. `selection` applies to HTML only; Markdown, text
/// and JSON are read whole.
pub fn extract(
    body: &[u8],
    kind: ContentKind,
    selection: &Selection,
) -> Result<Page, ExtractError> {
    let text = match decode_utf16(body) {
        Some(text) => Cow::Owned(text),
        None if looks_binary(body) => {
            return Err(ExtractError::Unreadable("binary content".into()));
        }
        None => decode(body),
    };
    match kind {
        ContentKind::Html => extract_html(&text, selection)
            .map(rendered_front_matter)
            .map(directives),
        ContentKind::Markdown => Ok(directives(extract_markdown(&text))),
        ContentKind::Text => Ok(extract_text(&text)),
        ContentKind::Json => Ok(extract_json(&text)),
    }
}

/// SHA-256 (hex) of a page's normalised text ([`Page::text`]).
pub fn content_hash(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// UTF-8 (lossy), without a byte order mark.
fn decode(body: &[u8]) -> Cow<'_, str> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    // `from_utf8` checks valid text faster than the lossy decoder walks it.
    match std::str::from_utf8(body) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(body),
    }
}

/// UTF-16 text with a byte order mark, if the body is that.
fn decode_utf16(body: &[u8]) -> Option<String> {
    let (rest, little) = match body {
        [0xFF, 0xFE, rest @ ..] => (rest, true),
        [0xFE, 0xFF, rest @ ..] => (rest, false),
        _ => return None,
    };
    let units: Vec<u16> = rest
        .chunks_exact(2)
        .map(|c| {
            if little {
                u16::from_le_bytes([c[0], c[1]])
            } else {
                u16::from_be_bytes([c[0], c[1]])
            }
        })
        .collect();
    Some(String::from_utf16_lossy(&units))
}

/// True when the first bytes hold NULs or many control bytes.
fn looks_binary(body: &[u8]) -> bool {
    let head = &body[..body.len().min(8192)];
    if head.is_empty() {
        return false;
    }
    let nuls = head.iter().filter(|&&b| b == 0).count();
    let controls = head
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c))
        .count();
    nuls * 100 > head.len() || nuls > 8 || controls * 10 > head.len()
}

// ---------------------------------------------------------------------------
// Block builder: collapses whitespace, records link ranges, emits blocks.

/// Byte ranges of link text within a block's text.
type Spans = Vec<(usize, usize)>;
/// One table cell's text and link ranges.
type Cell = (String, Spans);

#[derive(Default)]
struct Builder {
    blocks: Vec<Block>,
    buf: String,
    links: Vec<(usize, usize)>,
    /// A space is owed before the next visible character.
    pending_space: bool,
    /// An inline element boundary: a space is owed only between two word characters.
    pending_boundary: bool,
    /// Inside a link: `Some(None)` until its first character, then its start.
    link: Option<Option<usize>>,
}

impl Builder {
    fn push_text(&mut self, s: &str) {
        // What push_char does one character at a time, a run at a time where
        // it can: a run of ASCII white space owes one space; after a visible
        // character nothing is owed, so the rest of a run of visible ASCII
        // goes in as it is.
        let mut rest = s;
        while let Some(c) = rest.chars().next() {
            let ascii_space = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c);
            let run = rest.bytes().take_while(ascii_space).count();
            if run > 0 {
                self.space();
                rest = &rest[run..];
                continue;
            }
            self.push_char(c);
            rest = &rest[c.len_utf8()..];
            if c.is_ascii_graphic() {
                let run = rest.bytes().take_while(u8::is_ascii_graphic).count();
                self.buf.push_str(&rest[..run]);
                rest = &rest[run..];
            }
        }
    }

    fn push_char(&mut self, c: char) {
        if c.is_whitespace() {
            if !self.buf.is_empty() {
                self.pending_space = true;
            }
            return;
        }
        if matches!(
            c,
            '\u{200b}' | '\u{200c}' | '\u{200d}' | '\u{feff}' | '\u{ad}'
        ) {
            return;
        }
        let word_boundary = self.pending_boundary
            && self
                .buf
                .chars()
                .next_back()
                .is_some_and(char::is_alphanumeric)
            && c.is_alphanumeric();
        if self.pending_space || word_boundary {
            self.buf.push(' ');
        }
        self.pending_space = false;
        self.pending_boundary = false;
        if let Some(None) = self.link {
            self.link = Some(Some(self.buf.len()));
        }
        self.buf.push(c);
    }

    /// `<br>`: a new block, or a space where blocks are flat or in code.
    fn line_break(&mut self, ctx: Ctx) {
        if ctx.flat || ctx.pre {
            self.space();
        } else {
            self.flush(ctx.kind());
        }
    }

    fn space(&mut self) {
        if !self.buf.is_empty() {
            self.pending_space = true;
        }
    }

    fn boundary(&mut self) {
        if !self.buf.is_empty() {
            self.pending_boundary = true;
        }
    }

    fn start_link(&mut self) {
        self.link = Some(None);
    }

    fn end_link(&mut self) {
        if let Some(Some(start)) = self.link.take()
            && self.buf.len() > start
        {
            self.links.push((start, self.buf.len()));
        }
    }

    /// Take the current text and links without emitting a block.
    fn take(&mut self) -> (String, Vec<(usize, usize)>) {
        let open = self.link.is_some();
        self.end_link();
        let out = (
            std::mem::take(&mut self.buf),
            std::mem::take(&mut self.links),
        );
        self.pending_space = false;
        self.pending_boundary = false;
        if open {
            self.link = Some(None);
        }
        out
    }

    /// Drop the text from byte `at` on (and links that start there).
    fn truncate(&mut self, at: usize) {
        self.buf.truncate(at);
        let kept = self.buf.trim_end().len();
        self.buf.truncate(kept);
        self.links.retain(|&(s, _)| s < kept);
        for l in &mut self.links {
            l.1 = l.1.min(kept);
        }
        self.pending_space = !self.buf.is_empty();
        self.pending_boundary = false;
    }

    /// Emit the current text (if any) as one block.
    fn flush(&mut self, kind: BlockKind) {
        let (text, links) = self.take();
        self.emit(kind, text, links);
    }

    fn emit(&mut self, kind: BlockKind, text: String, links: Vec<(usize, usize)>) {
        if text.is_empty() {
            return;
        }
        // Template tags are rendered on the whole block, however the parser
        // split its text; links after the first tag lose their ranges.
        let (text, links) = match (kind, render_templates(&text)) {
            (BlockKind::Code, _) | (_, Cow::Borrowed(_)) => (text, links),
            (_, Cow::Owned(rendered)) => {
                let first = text.find("{%").into_iter().chain(text.find("{{")).min();
                let kept = links
                    .into_iter()
                    .filter(|&(_, e)| first.is_some_and(|f| e <= f))
                    .collect();
                (collapse_ws(&rendered), kept)
            }
        };
        if text.is_empty() {
            return;
        }
        let (kind, text, links) = if kind == BlockKind::Callout {
            let (t, l) = strip_callout_marker(text, links);
            (kind, t, l)
        } else {
            (kind, text, links)
        };
        if !text.is_empty() {
            self.blocks.push(Block { kind, text, links });
        }
    }
}

static CALLOUT_MARKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^\[!?(note|tip|important|warning|caution|info|danger|attention|notice)(?::([^\]]*))?\]\s*",
    )
    .expect("valid regex")
});

static LABEL_PREFIX: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:note|important|warning|caution|tip|notice|attention)\s*:\s*")
        .expect("valid regex")
});

/// Remove a leading `[!NOTE]`, `[NOTE]`, `[TIP:Title]` or `Note:` marker,
/// keeping a marker's title as text, and shift link ranges to match.
fn strip_callout_marker(text: String, links: Vec<(usize, usize)>) -> (String, Vec<(usize, usize)>) {
    let (cut, title) = if let Some(c) = CALLOUT_MARKER.captures(&text) {
        let title = c.get(2).map(|t| t.as_str().trim().to_string());
        (
            c.get(0).map_or(0, |m| m.end()),
            title.filter(|t| !t.is_empty()),
        )
    } else if let Some(m) = LABEL_PREFIX.find(&text) {
        (m.end(), None)
    } else {
        return (text, links);
    };
    let rest = &text[cut..];
    let prefix = match title {
        Some(t) if t.ends_with(['.', '?', '!', ':']) => format!("{t} "),
        Some(t) => format!("{t}. "),
        None => String::new(),
    };
    let new_text = if rest.is_empty() {
        prefix.trim_end().to_string()
    } else {
        format!("{prefix}{rest}")
    };
    let shift = prefix.len() as isize - cut as isize;
    let links = links
        .into_iter()
        .filter(|&(s, _)| s >= cut)
        .map(|(s, e)| ((s as isize + shift) as usize, (e as isize + shift) as usize))
        .collect();
    (new_text, links)
}

// ---------------------------------------------------------------------------
// HTML

const SKIP_TAGS: &[&str] = &[
    "script", "style", "noscript", "template", "svg", "head", "title", "meta", "link", "iframe",
    "object", "embed", "canvas", "img", "picture", "video", "audio", "source", "track", "map",
    "input", "select", "textarea", "button", "base", "math",
];

const INLINE_TAGS: &[&str] = &[
    "abbr", "acronym", "b", "bdi", "bdo", "big", "cite", "code", "data", "del", "dfn", "em",
    "font", "i", "ins", "kbd", "label", "mark", "nobr", "output", "q", "s", "samp", "small",
    "span", "strike", "strong", "sub", "sup", "time", "tt", "u", "var", "wbr", "slot",
];

const CALLOUT_CLASS_WORDS: &[&str] = &[
    "note",
    "notes",
    "notice",
    "alert",
    "alerts",
    "callout",
    "admonition",
    "banner",
    "warning",
    "important",
    "tip",
    "caution",
    "preview",
    "beta",
];

/// Where text is while walking: decides the kind of the block it lands in.
#[derive(Debug, Clone, Copy, Default)]
struct Ctx {
    heading: Option<u8>,
    list_item: bool,
    callout: bool,
    pre: bool,
    /// Inside a table cell: block boundaries become spaces.
    flat: bool,
}

impl Ctx {
    /// The context inside a block element `name` met in this one.
    fn inside(self, name: &str, callout: bool) -> Ctx {
        let mut inner = self;
        if let Some(level) = heading_level(name) {
            inner.heading = Some(level);
        }
        if matches!(name, "li" | "dt" | "dd") {
            inner.list_item = true;
            inner.heading = None;
        }
        if callout {
            inner.callout = true;
        }
        inner
    }

    fn kind(self) -> BlockKind {
        if self.pre {
            BlockKind::Code
        } else if self.callout {
            BlockKind::Callout
        } else if let Some(level) = self.heading {
            BlockKind::Heading(level)
        } else if self.list_item {
            BlockKind::ListItem
        } else {
            BlockKind::Paragraph
        }
    }
}

fn is_callout(el: &scraper::node::Element) -> bool {
    callout_signals(el.name(), el.attr("role"), el.classes())
}

/// A callout by its name (aside, blockquote, note), its `role` (note, alert,
/// status) or a class word (`note`, `alert-warning`, `callout`, …).
fn callout_signals<'c>(
    name: &str,
    role: Option<&str>,
    mut classes: impl Iterator<Item = &'c str>,
) -> bool {
    if matches!(name, "aside" | "blockquote" | "note") {
        return true;
    }
    if let Some(role) = role
        && matches!(
            role.trim().to_ascii_lowercase().as_str(),
            "note" | "alert" | "status"
        )
    {
        return true;
    }
    classes.any(|class| {
        class.split(['-', '_']).any(|part| {
            CALLOUT_CLASS_WORDS
                .iter()
                .any(|w| part.eq_ignore_ascii_case(w))
        })
    })
}

fn is_hidden(el: &scraper::node::Element) -> bool {
    hidden_signals(el.attr("hidden").is_some(), el.attr("aria-hidden"))
}

/// Hidden by the `hidden` attribute or `aria-hidden="true"`.
fn hidden_signals(hidden: bool, aria_hidden: Option<&str>) -> bool {
    hidden || aria_hidden.is_some_and(|v| v.trim() == "true")
}

struct HtmlWalker<'s> {
    ignore: &'s [Selector],
}

impl HtmlWalker<'_> {
    fn walk_children(&self, el: ElementRef<'_>, ctx: Ctx, b: &mut Builder) {
        for child in el.children() {
            match child.value() {
                Node::Text(t) => text_node(t, ctx, b),
                Node::Element(_) => {
                    if let Some(child) = ElementRef::wrap(child) {
                        self.walk(child, ctx, b);
                    }
                }
                _ => {}
            }
        }
    }

    fn skipped(&self, el: ElementRef<'_>) -> bool {
        let value = el.value();
        SKIP_TAGS.contains(&value.name())
            || is_hidden(value)
            || self.ignore.iter().any(|s| s.matches(&el))
    }

    fn walk(&self, node: ElementRef<'_>, ctx: Ctx, b: &mut Builder) {
        if self.skipped(node) {
            return;
        }
        let el = node.value();
        let name = el.name();
        let callout = is_callout(el);
        match name {
            "br" => b.line_break(ctx),
            "a" => {
                b.boundary();
                b.start_link();
                self.walk_children(node, ctx, b);
                b.end_link();
                b.boundary();
            }
            "tr" if !ctx.flat => {
                b.flush(ctx.kind());
                self.table_row(node, ctx, b);
            }
            "pre" if !ctx.flat => {
                b.flush(ctx.kind());
                let inner = Ctx { pre: true, ..ctx };
                self.walk_children(node, inner, b);
                b.flush(BlockKind::Code);
            }
            _ if INLINE_TAGS.contains(&name) && !callout => {
                b.boundary();
                self.walk_children(node, ctx, b);
                b.boundary();
            }
            _ => {
                let inner = ctx.inside(name, callout);
                if ctx.flat {
                    b.space();
                    self.walk_children(node, inner, b);
                    b.space();
                } else {
                    b.flush(ctx.kind());
                    self.walk_children(node, inner, b);
                    b.flush(inner.kind());
                }
            }
        }
    }

    /// One `tr`: each cell flattened and trimmed, joined with ` | `.
    fn table_row(&self, tr: ElementRef<'_>, ctx: Ctx, b: &mut Builder) {
        let mut cells: Vec<Cell> = Vec::new();
        for cell in tr.child_elements() {
            if self.skipped(cell) {
                continue;
            }
            let mut cb = Builder::default();
            self.walk_children(cell, Ctx { flat: true, ..ctx }, &mut cb);
            cells.push(cb.take());
        }
        let (text, links) = join_cells(cells);
        b.emit(BlockKind::TableRow, text, links);
    }
}

/// Text inside `pre` keeps its lines (one code block each); elsewhere it joins.
fn text_node(t: &str, ctx: Ctx, b: &mut Builder) {
    if ctx.pre && !ctx.flat {
        for (i, line) in t.split('\n').enumerate() {
            if i > 0 {
                b.flush(BlockKind::Code);
            }
            b.push_text(line);
        }
    } else {
        b.push_text(t);
    }
}

/// Whether a table cell is only a tick mark ("✅", "✓"): its meaning is
/// the header of its column.
pub fn is_tick(cell: &str) -> bool {
    let t = cell.trim().trim_matches('\u{fe0f}');
    matches!(t, "✅" | "✓" | "✔" | "☑" | "🗸" | "✔︎")
}

/// Join non-empty cells with ` | `, shifting their link ranges. A row with a
/// tick mark keeps its empty cells too, so each tick stays under its
/// column's header.
fn join_cells(cells: Vec<Cell>) -> (String, Vec<(usize, usize)>) {
    let mut text = String::new();
    let mut links = Vec::new();
    let ticked = cells.iter().any(|(t, _)| is_tick(t));
    let mut first = true;
    for (cell, cell_links) in cells.into_iter().filter(|(t, _)| ticked || !t.is_empty()) {
        if !first {
            text.push_str(" | ");
        }
        first = false;
        let off = text.len();
        text.push_str(&cell);
        links.extend(cell_links.into_iter().map(|(s, e)| (s + off, e + off)));
    }
    (text, links)
}

fn heading_level(name: &str) -> Option<u8> {
    match name {
        "h1" => Some(1),
        "h2" => Some(2),
        "h3" => Some(3),
        "h4" => Some(4),
        "h5" => Some(5),
        "h6" => Some(6),
        _ => None,
    }
}

fn collapse_ws(s: &str) -> String {
    let mut b = Builder::default();
    b.push_text(s);
    b.buf
}

/// The opening "key: value" lines of a rendered front matter block ("title:
/// Foo description: … ms.topic: overview").
static RENDERED_FRONT_MATTER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:[A-Za-z_][\w.-]*: \S[^:]*? ){1,}?[A-Za-z_][\w.-]*: ").expect("valid regex")
});

static FRONT_MATTER_KEY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"([A-Za-z_][\w.-]*): ").expect("valid regex"));

/// A Markdown page's YAML front matter, rendered as text by a renderer that
/// does not know it (a rule, then a heading or paragraph of "title: Foo
/// description: …"), is metadata, not content: its `title` becomes the
/// page title, as the Markdown reader takes it, and the block goes.
fn rendered_front_matter(mut page: Page) -> Page {
    let Some(first) = page.blocks.first() else {
        return page;
    };
    let text = &first.text;
    if !matches!(first.kind, BlockKind::Heading(_) | BlockKind::Paragraph)
        || !RENDERED_FRONT_MATTER.is_match(text)
    {
        return page;
    }
    let keys: Vec<(usize, usize, &str)> = FRONT_MATTER_KEY
        .captures_iter(text)
        .filter(|c| {
            let at = c.get(0).expect("group 0").start();
            at == 0 || text[..at].ends_with(' ')
        })
        .map(|c| {
            let m = c.get(0).expect("group 0");
            (m.start(), m.end(), c.get(1).expect("key").as_str())
        })
        .collect();
    if keys.len() < 2 {
        return page;
    }
    let title = keys.iter().enumerate().find_map(|(k, &(_, end, key))| {
        (key == "title").then(|| {
            let stop = keys.get(k + 1).map_or(text.len(), |n| n.0);
            text[end..stop].trim().trim_matches(['"', '\'']).to_string()
        })
    });
    let value = |key: &str| {
        keys.iter().enumerate().find_map(|(k, &(_, end, name))| {
            (name == key).then(|| {
                let stop = keys.get(k + 1).map_or(text.len(), |n| n.0);
                (
                    text[end..stop].trim().trim_matches(['"', '\'']).to_string(),
                    k,
                )
            })
        })
    };
    // `badge: Beta`, or `badge:` with `text: Beta` under it.
    let badge = value("badge").and_then(|(v, k)| {
        if v.is_empty() {
            keys.get(k + 1)
                .filter(|n| n.2 == "text")
                .and_then(|_| value("text").map(|t| t.0))
        } else {
            Some(v)
        }
    });
    if page.title.is_none() {
        page.title = title.filter(|t| !t.is_empty());
    }
    page.blocks.remove(0);
    if let Some(label) = badge.filter(|b| STATUS_BADGE.is_match(b)) {
        page.blocks.insert(0, badge_block(&label));
    }
    page
}

/// A front-matter badge that is a status ("Beta", "Private beta", "Preview").
static STATUS_BADGE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:(?:open|public|private|closed|limited)\s+)?(?:alpha|beta|preview|experimental|deprecated|retired|coming soon)$")
        .expect("valid regex")
});

fn badge_block(label: &str) -> Block {
    Block {
        kind: BlockKind::Callout,
        text: collapse_ws(label),
        links: Vec::new(),
    }
}

/// A front-matter status badge in Markdown (`badge: Beta`, or `badge:` with
/// `text: Beta` under it, as docs sites put it in the sidebar).
fn front_matter_badge(yaml: &str) -> Option<String> {
    let c = FRONT_MATTER_BADGE.captures(yaml)?;
    let v = c.get(1).or_else(|| c.get(2))?.as_str().trim();
    STATUS_BADGE.is_match(v).then(|| v.to_string())
}

static FRONT_MATTER_BADGE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?m)^\s*badge:\s*['"]?([A-Za-z][A-Za-z ]*?)['"]?\s*$|^\s*badge:\s*\n\s+text:\s*['"]?([A-Za-z][A-Za-z ]*?)['"]?\s*$"#)
        .expect("valid regex")
});

/// Admonition and container markers that reached the text unrendered —
/// MkDocs `!!! note "Preview release"` and Docusaurus `:::caution Title …
/// :::` as plain paragraphs — become the callouts a docs site shows.
fn directives(mut page: Page) -> Page {
    if !page.blocks.iter().any(|b| {
        b.kind == BlockKind::Paragraph && (b.text.starts_with("!!!") || b.text.starts_with(":::"))
    }) {
        return page;
    }
    let mut out = Vec::with_capacity(page.blocks.len() + 2);
    let mut inside = false;
    for b in page.blocks.drain(..) {
        if b.kind != BlockKind::Paragraph {
            out.push(b);
            continue;
        }
        if let Some(c) = ADMONITION_TEXT.captures(&b.text) {
            let title = c.get(2).map_or("", |m| m.as_str()).trim();
            let rest = c.get(3).map_or("", |m| m.as_str()).trim();
            for t in [title, rest] {
                if !t.is_empty() {
                    out.push(badge_block(t));
                }
            }
            continue;
        }
        if let Some(c) = CONTAINER_TEXT.captures(&b.text) {
            let body = c.get(2).map_or("", |m| m.as_str()).trim();
            let closed = body.ends_with(":::");
            let body = body.trim_end_matches(":::").trim();
            if !body.is_empty() {
                out.push(badge_block(body));
            }
            inside = !closed;
            continue;
        }
        if inside {
            if b.text.trim() == ":::" {
                inside = false;
                continue;
            }
            let closed = b.text.trim_end().ends_with(":::");
            let text = b.text.trim_end().trim_end_matches(":::").trim_end();
            if !text.is_empty() {
                out.push(badge_block(text));
            }
            inside = !closed;
            continue;
        }
        out.push(b);
    }
    page.blocks = out;
    page
}

static ADMONITION_TEXT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^(?:!!!|\?\?\?\+?)\s+([A-Za-z-]+)(?:\s+"([^"]*)")?\s*(.*)$"#)
        .expect("valid regex")
});

static CONTAINER_TEXT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^:::\s*([A-Za-z-]+)(?:\[[^\]]*\])?\s*(.*)$").expect("valid regex")
});

fn extract_html(text: &str, selection: &Selection) -> Result<Page, ExtractError> {
    // Parsing builds a node for every tag; when only `<main>` is read, most
    // pages can be read as a stream of tokens instead.
    if let Some(page) = stream::main_page(text, selection) {
        return Ok(page);
    }
    parse_and_walk(text, selection)
}

fn parse_and_walk(text: &str, selection: &Selection) -> Result<Page, ExtractError> {
    let html = Html::parse_document(text);
    static TITLE: LazyLock<Selector> =
        LazyLock::new(|| Selector::parse("title").expect("valid selector"));
    let title = html
        .select(&TITLE)
        .next()
        .map(|t| collapse_ws(&t.text().collect::<String>()))
        .filter(|t| !t.is_empty());
    let roots = selection.roots(&html);
    if roots.is_empty() {
        return Err(ExtractError::NoMatch(selection.select_source().to_string()));
    }
    let walker = HtmlWalker {
        ignore: &selection.ignore,
    };
    let mut b = Builder::default();
    for root in roots {
        walker.walk(root, Ctx::default(), &mut b);
        b.flush(BlockKind::Paragraph);
    }
    Ok(Page {
        title,
        blocks: b.blocks,
    })
}

/// Walk an HTML fragment (from Markdown or JSON) into `b` with the given context.
fn walk_fragment(fragment: &str, ctx: Ctx, b: &mut Builder) {
    let html = Html::parse_fragment(fragment);
    let walker = HtmlWalker { ignore: &[] };
    b.flush(ctx.kind());
    walker.walk_children(html.root_element(), ctx, b);
    b.flush(ctx.kind());
}

// ---------------------------------------------------------------------------
// Markdown

static FRONT_MATTER_TITLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?m)^title:\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^']|'')*)'|(.*?))\s*$"#)
        .expect("valid regex")
});

static LIQUID_CALLOUT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*\{%-?\s*(end)?(note|warning|tip|important|caution|danger)\s*-?%\}\s*$")
        .expect("valid regex")
});

static LIQUID_TAG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\{%-?\s*(.*?)\s*-?%\}").expect("valid regex"));

static RELEASE_PHASE_VAR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^data\s+variables\.release-phases\.([A-Za-z_]+)$").expect("valid regex")
});

/// A contact variable ("data variables.contact.contact_enterprise_sales"):
/// who grants access, which matters to access inference.
static CONTACT_VAR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^data\s+variables\.contact\.(?:contact_)?([A-Za-z_]+)$").expect("valid regex")
});

/// A Hugo shortcode, e.g. Kubernetes' `{{< feature-state state="beta" >}}`.
static HUGO_SHORTCODE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"\{\{[<%]\s*(/?[\w-]+)([^}]*?)[>%]\}\}"#).expect("valid regex"));

static SHORTCODE_STATE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"\bstate\s*=\s*"([A-Za-z ]+)""#).expect("valid regex"));

/// Template tags left in a page's text by a Markdown source or by a renderer
/// that does not know them: Liquid `{% … %}` and Hugo `{{< … >}}` vanish,
/// except release-phase and contact variables (their words) and a
/// `feature-state` shortcode ("Feature state: beta"). The Markdown reader and
/// the HTML walk both use it, so a page reads the same in either form.
pub(crate) fn render_templates(text: &str) -> Cow<'_, str> {
    if !text.contains("{%") && !text.contains("{{") {
        return Cow::Borrowed(text);
    }
    let liquid = LIQUID_TAG.replace_all(text, |c: &regex::Captures<'_>| {
        let inner = c.get(1).map_or("", |m| m.as_str());
        RELEASE_PHASE_VAR
            .captures(inner)
            .or_else(|| CONTACT_VAR.captures(inner))
            .and_then(|v| v.get(1))
            .map_or(String::new(), |m| m.as_str().replace('_', " "))
    });
    let hugo = HUGO_SHORTCODE.replace_all(&liquid, |c: &regex::Captures<'_>| {
        let name = c.get(1).map_or("", |m| m.as_str());
        let args = c.get(2).map_or("", |m| m.as_str());
        match SHORTCODE_STATE.captures(args) {
            Some(s) if name == "feature-state" => format!("Feature state: {}", &s[1]),
            _ => String::new(),
        }
    });
    Cow::Owned(hugo.into_owned())
}

static ADMONITION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^(?:!!!|\?\?\?\+?)\s+([\w-]+)(?:\s+"([^"]*)")?\s*$"#).expect("valid regex")
});

static TABLE_DELIMITER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)+\|?\s*$").expect("valid regex")
});

static FENCE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*(```+|~~~+)").expect("valid regex"));

/// Split off YAML front matter; return (title, body).
fn front_matter(src: &str) -> (Option<String>, &str) {
    let Some(rest) = src
        .strip_prefix("---\n")
        .or_else(|| src.strip_prefix("---\r\n"))
    else {
        return (None, src);
    };
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        let l = line.trim_end();
        if l == "---" || l == "..." {
            let yaml = &rest[..offset];
            let body = &rest[offset + line.len()..];
            let title = FRONT_MATTER_TITLE.captures(yaml).and_then(|c| {
                let t = c
                    .get(1)
                    .map(|m| m.as_str().replace("\\\"", "\""))
                    .or_else(|| c.get(2).map(|m| m.as_str().replace("''", "'")))
                    .or_else(|| c.get(3).map(|m| m.as_str().to_string()))?;
                let t = collapse_ws(&t);
                (!t.is_empty()).then_some(t)
            });
            return (title, body);
        }
        offset += line.len();
    }
    (None, src)
}

/// Source-level rewrites before parsing, outside fenced code:
/// MkDocs admonitions become block quotes; Liquid callout tags get their own
/// paragraphs; GitHub Docs release-phase variables become their words
/// (`public_preview` → "public preview"); other Liquid tags vanish.
fn preprocess_markdown(src: &str) -> String {
    let mut out = String::with_capacity(src.len() + 64);
    let mut fence: Option<String> = None;
    let mut in_admonition = false;
    for line in src.lines() {
        // MkDocs admonition body: indented lines (or blank) after `!!! kind "title"`.
        let mut line = line.to_string();
        if in_admonition {
            if line.trim().is_empty() {
                out.push_str(">\n");
                continue;
            }
            if let Some(rest) = line
                .strip_prefix("    ")
                .or_else(|| line.strip_prefix('\t'))
            {
                line = format!("> {rest}");
            } else {
                in_admonition = false;
                out.push('\n');
            }
        }
        if fence.is_none()
            && !in_admonition
            && let Some(c) = ADMONITION.captures(&line)
        {
            in_admonition = true;
            let title = c
                .get(2)
                .map(|m| m.as_str().trim())
                .filter(|t| !t.is_empty());
            let title = title.map(str::to_string).unwrap_or_else(|| {
                let kind = c.get(1).map_or("", |m| m.as_str());
                let mut t = kind.to_string();
                if let Some(first) = t.get_mut(..1) {
                    first.make_ascii_uppercase();
                }
                t
            });
            out.push('\n');
            out.push_str("> ");
            out.push_str(&title);
            out.push_str("\n>\n");
            continue;
        }
        let body = line.trim_start_matches('>').trim_start();
        if let Some(m) = FENCE.captures(body) {
            let marker = m.get(1).map_or("", |m| m.as_str());
            match &fence {
                None => fence = Some(marker.to_string()),
                Some(open) if marker.starts_with(open.as_str()) => fence = None,
                Some(_) => {}
            }
            out.push_str(&line);
            out.push('\n');
            continue;
        }
        if fence.is_some() {
            out.push_str(&line);
            out.push('\n');
            continue;
        }
        if LIQUID_CALLOUT.is_match(&line) {
            out.push('\n');
            out.push_str(line.trim());
            out.push_str("\n\n");
            continue;
        }
        // A table whose delimiter row has more or fewer cells than its header
        // is still meant as a table: make the counts agree.
        if TABLE_DELIMITER.is_match(&line)
            && let Some(header) = out.lines().last()
            && header.trim_start().starts_with('|')
        {
            let cells = header
                .trim()
                .trim_start_matches('|')
                .trim_end_matches('|')
                .split('|')
                .count();
            out.push('|');
            out.push_str(&" --- |".repeat(cells));
            out.push('\n');
            continue;
        }
        out.push_str(&render_templates(&line));
        out.push('\n');
    }
    out
}

static CALLOUT_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:note|important|warning|caution|tip|notice|attention)\s*:?$")
        .expect("valid regex")
});

static INLINE_LINK_OPEN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^<a\s[^>]*\bhref\s*=").expect("valid regex"));

struct MdConverter {
    b: Builder,
    quote_depth: usize,
    liquid_callout: bool,
    item_depth: usize,
    heading: Option<u8>,
    /// The current paragraph was marked a callout by a leading `**Note**` label.
    para_callout: bool,
    /// Where in the buffer the outermost strong/emphasis began.
    emph_start: Option<usize>,
    /// Where a `**Note**` label that ends the buffer begins (a hard break may follow).
    trailing_label: Option<usize>,
    code: bool,
    image_depth: usize,
    html_block: Option<String>,
    row: Option<Vec<Cell>>,
}

impl MdConverter {
    fn kind(&self) -> BlockKind {
        if self.code {
            BlockKind::Code
        } else if self.quote_depth > 0 || self.liquid_callout || self.para_callout {
            BlockKind::Callout
        } else if let Some(level) = self.heading {
            BlockKind::Heading(level)
        } else if self.item_depth > 0 {
            BlockKind::ListItem
        } else {
            BlockKind::Paragraph
        }
    }

    fn flush(&mut self) {
        let kind = self.kind();
        self.b.flush(kind);
    }

    fn ctx(&self) -> Ctx {
        Ctx {
            heading: self.heading,
            list_item: self.item_depth > 0,
            callout: self.quote_depth > 0 || self.liquid_callout,
            pre: false,
            flat: self.row.is_some(),
        }
    }

    fn event(&mut self, ev: Event<'_>) {
        if let Some(raw) = &mut self.html_block {
            match ev {
                Event::Html(h) | Event::InlineHtml(h) | Event::Text(h) => {
                    raw.push_str(&h);
                    return;
                }
                Event::End(TagEnd::HtmlBlock) => {
                    let raw = self.html_block.take().unwrap_or_default();
                    let ctx = self.ctx();
                    walk_fragment(&raw, ctx, &mut self.b);
                    return;
                }
                _ => {}
            }
        }
        if self.image_depth > 0 {
            match ev {
                Event::Start(Tag::Image { .. }) => self.image_depth += 1,
                Event::End(TagEnd::Image) => self.image_depth -= 1,
                _ => {}
            }
            return;
        }
        match ev {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(t) => {
                if self.code {
                    for (i, line) in t.split('\n').enumerate() {
                        if i > 0 {
                            self.b.flush(BlockKind::Code);
                        }
                        self.b.push_text(line);
                    }
                } else {
                    self.b.push_text(&t);
                }
            }
            Event::Code(t) | Event::InlineMath(t) | Event::DisplayMath(t) => {
                self.b.push_text(&t);
            }
            Event::Html(h) | Event::InlineHtml(h) => self.inline_html(&h),
            Event::SoftBreak => self.b.space(),
            Event::HardBreak => self.hard_break(),
            Event::Rule => self.flush(),
            Event::FootnoteReference(_) | Event::TaskListMarker(_) => {}
        }
    }

    fn inline_html(&mut self, tag: &str) {
        let t = tag.trim();
        if INLINE_LINK_OPEN.is_match(t) {
            self.b.start_link();
        } else if t.eq_ignore_ascii_case("</a>") {
            self.b.end_link();
        } else if t.len() >= 3 && t[..3].eq_ignore_ascii_case("<br") {
            self.b.space();
        } else {
            self.b.boundary();
        }
    }

    /// A hard break after a lone `**Note**` label makes the paragraph a
    /// callout; otherwise it starts a new block of the same kind.
    fn hard_break(&mut self) {
        if self.row.is_some() {
            self.b.space();
            return;
        }
        if CALLOUT_LABEL.is_match(self.b.buf.trim()) {
            self.b.take();
            self.para_callout = true;
            return;
        }
        // `text **Note**` + hard break: the label opens a callout after the text.
        if let Some(start) = self.trailing_label.take()
            && CALLOUT_LABEL.is_match(self.b.buf[start..].trim())
        {
            self.b.truncate(start);
            self.flush();
            self.para_callout = true;
            return;
        }
        self.flush();
    }

    fn start(&mut self, tag: Tag<'_>) {
        match tag {
            Tag::Paragraph => {
                self.flush();
                self.para_callout = false;
            }
            Tag::Heading { level, .. } => {
                self.flush();
                self.heading = Some(level as u8);
            }
            Tag::BlockQuote(_) => {
                self.flush();
                self.quote_depth += 1;
            }
            Tag::CodeBlock(_) => {
                self.flush();
                self.code = true;
            }
            Tag::HtmlBlock => {
                self.flush();
                self.html_block = Some(String::new());
            }
            Tag::List(_) => self.flush(),
            Tag::Item => {
                self.flush();
                self.item_depth += 1;
            }
            Tag::FootnoteDefinition(_)
            | Tag::DefinitionList
            | Tag::DefinitionListTitle
            | Tag::DefinitionListDefinition => self.flush(),
            Tag::Table(_) => self.flush(),
            Tag::TableHead | Tag::TableRow => {
                self.flush();
                self.row = Some(Vec::new());
            }
            Tag::TableCell => {
                self.b.take();
            }
            Tag::Emphasis | Tag::Strong => {
                self.b.boundary();
                if self.emph_start.is_none() {
                    self.emph_start = Some(self.b.buf.len());
                }
            }
            Tag::Strikethrough | Tag::Superscript | Tag::Subscript => self.b.boundary(),
            Tag::Link { .. } => {
                self.b.boundary();
                self.b.start_link();
            }
            Tag::Image { .. } => self.image_depth = 1,
            Tag::MetadataBlock(_) => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Paragraph => {
                self.flush();
                self.para_callout = false;
                self.emph_start = None;
                self.trailing_label = None;
            }
            TagEnd::Heading(_) => {
                self.flush();
                self.heading = None;
            }
            TagEnd::BlockQuote(_) => {
                self.flush();
                self.quote_depth = self.quote_depth.saturating_sub(1);
            }
            TagEnd::CodeBlock => {
                self.b.flush(BlockKind::Code);
                self.code = false;
            }
            TagEnd::HtmlBlock => {}
            TagEnd::List(_) => self.flush(),
            TagEnd::Item => {
                self.flush();
                self.item_depth = self.item_depth.saturating_sub(1);
            }
            TagEnd::FootnoteDefinition
            | TagEnd::DefinitionList
            | TagEnd::DefinitionListTitle
            | TagEnd::DefinitionListDefinition => self.flush(),
            TagEnd::Table => self.flush(),
            TagEnd::TableCell => {
                let cell = self.b.take();
                if let Some(row) = &mut self.row {
                    row.push(cell);
                }
            }
            TagEnd::TableHead | TagEnd::TableRow => {
                if let Some(row) = self.row.take() {
                    let (text, links) = join_cells(row);
                    self.b.emit(BlockKind::TableRow, text, links);
                }
            }
            TagEnd::Emphasis | TagEnd::Strong => {
                if let Some(start) = self.emph_start.take()
                    && self.row.is_none()
                    && CALLOUT_LABEL.is_match(self.b.buf[start..].trim())
                {
                    if self.b.buf[..start].trim().is_empty() {
                        self.b.take();
                        self.para_callout = true;
                    } else {
                        self.trailing_label = Some(start);
                    }
                }
                self.b.boundary();
            }
            TagEnd::Strikethrough | TagEnd::Superscript | TagEnd::Subscript => self.b.boundary(),
            TagEnd::Link => {
                self.b.end_link();
                self.b.boundary();
            }
            TagEnd::Image | TagEnd::MetadataBlock(_) => {}
        }
    }
}

fn extract_markdown(src: &str) -> Page {
    let src = src.replace("\r\n", "\n");
    let (title, body) = front_matter(&src);
    let badge = front_matter_badge(&src[..src.len() - body.len()]);
    let body = preprocess_markdown(body);
    let opts = Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_GFM;
    let mut conv = MdConverter {
        b: Builder::default(),
        quote_depth: 0,
        liquid_callout: false,
        item_depth: 0,
        heading: None,
        para_callout: false,
        emph_start: None,
        trailing_label: None,
        code: false,
        image_depth: 0,
        html_block: None,
        row: None,
    };
    for ev in Parser::new_ext(&body, opts) {
        // A paragraph that is only a Liquid callout tag switches callout mode.
        if let Event::End(TagEnd::Paragraph) = ev
            && let Some(c) = LIQUID_CALLOUT.captures(&conv.b.buf)
        {
            conv.liquid_callout = c.get(1).is_none();
            conv.b.take();
            continue;
        }
        conv.event(ev);
    }
    conv.flush();
    let mut blocks = conv.b.blocks;
    if let Some(label) = badge {
        blocks.insert(0, badge_block(&label));
    }
    Page { title, blocks }
}

// ---------------------------------------------------------------------------
// Plain text

static TABLE_SEPARATOR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\|?[\s:|-]+\|?$").expect("valid regex"));

fn extract_text(src: &str) -> Page {
    let mut b = Builder::default();
    let mut para = BlockKind::Paragraph;
    for line in src.lines() {
        let t = line.trim();
        if t.is_empty() {
            b.flush(para);
            continue;
        }
        let hashes = t.chars().take_while(|&c| c == '#').count();
        let special = if (1..=6).contains(&hashes) && t[hashes..].starts_with(' ') {
            Some((BlockKind::Heading(hashes as u8), &t[hashes..]))
        } else if let Some(rest) = t.strip_prefix("- ").or_else(|| t.strip_prefix("* ")) {
            Some((BlockKind::ListItem, rest))
        } else if let Some(rest) = t.strip_prefix('>') {
            Some((BlockKind::Callout, rest))
        } else if t.starts_with('|') {
            Some((BlockKind::TableRow, t))
        } else {
            None
        };
        match special {
            Some((BlockKind::TableRow, row)) => {
                b.flush(para);
                if !TABLE_SEPARATOR.is_match(row) {
                    let cells: Vec<_> = row
                        .trim_matches('|')
                        .split('|')
                        .map(|c| (collapse_ws(c), Vec::new()))
                        .collect();
                    let (text, links) = join_cells(cells);
                    b.emit(BlockKind::TableRow, text, links);
                }
                para = BlockKind::Paragraph;
            }
            Some((BlockKind::Callout, rest)) if para == BlockKind::Callout => {
                // Consecutive `>` lines form one callout paragraph.
                b.push_text(" ");
                b.push_text(rest);
            }
            Some((kind, rest)) => {
                b.flush(para);
                b.push_text(rest);
                para = kind;
                if matches!(kind, BlockKind::Heading(_)) {
                    b.flush(kind);
                    para = BlockKind::Paragraph;
                }
            }
            None => {
                if matches!(para, BlockKind::TableRow | BlockKind::Heading(_)) {
                    para = BlockKind::Paragraph;
                }
                b.push_text(" ");
                b.push_text(t);
            }
        }
    }
    b.flush(para);
    Page {
        title: None,
        blocks: b.blocks,
    }
}

// ---------------------------------------------------------------------------
// JSON

static HTML_TAG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"</?[A-Za-z][A-Za-z0-9-]*(\s[^>]*)?/?>").expect("valid regex"));

fn extract_json(src: &str) -> Page {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(src) else {
        return extract_text(src);
    };
    let title = value
        .get("title")
        .and_then(|t| t.as_str())
        .or_else(|| {
            value
                .pointer("/metadata/serviceFullName")
                .and_then(|t| t.as_str())
        })
        .map(collapse_ws)
        .filter(|t| !t.is_empty());
    let mut strings = Vec::new();
    collect_strings(&value, &mut strings);
    let mut seen: HashSet<&str> = HashSet::new();
    let mut b = Builder::default();
    for s in strings {
        let s = s.trim();
        if s.split_whitespace().count() < 4 || !seen.insert(s) {
            continue;
        }
        if HTML_TAG.is_match(s) {
            walk_fragment(s, Ctx::default(), &mut b);
        } else {
            b.push_text(s);
            b.flush(BlockKind::Paragraph);
        }
    }
    // The same sentence often documents many fields: keep its first occurrence.
    let mut seen_blocks: HashSet<(String, String)> = HashSet::new();
    let blocks = b
        .blocks
        .into_iter()
        .filter(|bl| seen_blocks.insert((format!("{:?}", bl.kind), bl.text.clone())))
        .collect();
    Page { title, blocks }
}

fn collect_strings<'a>(v: &'a serde_json::Value, out: &mut Vec<&'a str>) {
    match v {
        serde_json::Value::String(s) => out.push(s),
        serde_json::Value::Array(items) => items.iter().for_each(|i| collect_strings(i, out)),
        serde_json::Value::Object(map) => map.values().for_each(|i| collect_strings(i, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn html(body: &str) -> Page {
        extract(body.as_bytes(), ContentKind::Html, &Selection::default()).unwrap()
    }

    fn md(src: &str) -> Page {
        extract(src.as_bytes(), ContentKind::Markdown, &Selection::default()).unwrap()
    }

    fn kinds_texts(p: &Page) -> Vec<(BlockKind, &str)> {
        p.blocks.iter().map(|b| (b.kind, b.text.as_str())).collect()
    }

    #[test]
    fn content_kind_table() {
        use ContentKind::*;
        let cases = [
            (Some("text/html; charset=utf-8"), "/docs/page", Html),
            (Some("text/plain"), "/notes", Text),
            (
                Some("text/plain; charset=utf-8"),
                "/raw/README.md",
                Markdown,
            ),
            (Some("text/markdown"), "/x", Markdown),
            (None, "docs/guide.md", Markdown),
            (None, "docs/guide.markdown", Markdown),
            (None, "notes.txt", Text),
            (Some("application/json"), "/api", Json),
            (Some("application/vnd.api+json"), "/api", Json),
            (None, "service-2.json", Json),
            (None, "/docs/page.html", Html),
            (None, "https://example.com/a.md?raw=1#top", Markdown),
            (Some("text/html"), "/blob/README.md", Html),
            (None, "/docs/", Html),
        ];
        for (ct, path, want) in cases {
            assert_eq!(content_kind(ct, path), want, "{ct:?} {path}");
        }
    }

    #[test]
    fn selection_errors_name_the_selector() {
        let err = Selection::new("main[", &[]).unwrap_err();
        assert!(err.contains("`main[`"), "{err}");
        let err = Selection::new("main", &["nav".into(), "div >".into()]).unwrap_err();
        assert!(err.contains("ignore selector `div >`"), "{err}");
        assert_eq!(Selection::default_select(), "main, article, body");
        assert_eq!(
            Selection::new(" main ", &[]).unwrap().select_source(),
            "main"
        );
    }

    #[test]
    fn selection_implements_send_sync() {
        fn check<T: Send + Sync>() {}
        check::<Selection>();
    }

    #[test]
    fn default_select_prefers_main_then_article_then_body() {
        let page = html(
            "<html><body><article><p>In article</p></article><main><p>In main</p></main></body></html>",
        );
        assert_eq!(kinds_texts(&page), vec![(BlockKind::Paragraph, "In main")]);
        let page = html("<body><nav>Menu</nav><article><p>Story</p></article></body>");
        assert_eq!(kinds_texts(&page), vec![(BlockKind::Paragraph, "Story")]);
        let page = html("<body><p>Only body</p></body>");
        assert_eq!(
            kinds_texts(&page),
            vec![(BlockKind::Paragraph, "Only body")]
        );
    }

    #[test]
    fn explicit_select_takes_all_matches_without_nesting_duplicates() {
        let sel = Selection::new(".a, .b", &[]).unwrap();
        let body = r#"<body><div class="a"><p>one</p><div class="b"><p>two</p></div></div><div class="b"><p>three</p></div></body>"#;
        let page = extract(body.as_bytes(), ContentKind::Html, &sel).unwrap();
        let texts: Vec<_> = page.blocks.iter().map(|b| b.text.as_str()).collect();
        assert_eq!(texts, vec!["one", "two", "three"]);
    }

    #[test]
    fn no_match_names_the_select() {
        let sel = Selection::new("#content", &[]).unwrap();
        let err = extract(b"<body><p>x</p></body>", ContentKind::Html, &sel).unwrap_err();
        assert_eq!(err, ExtractError::NoMatch("#content".into()));
    }

    #[test]
    fn binary_bodies_are_unreadable() {
        let mut body = b"\x89PNG\r\n\x1a\n".to_vec();
        body.extend(std::iter::repeat_n(0u8, 200));
        let err = extract(&body, ContentKind::Html, &Selection::default()).unwrap_err();
        assert_eq!(err, ExtractError::Unreadable("binary content".into()));
        // Invalid UTF-8 that is not binary is decoded lossily.
        let page = html("<p>caf\u{e9}</p>");
        assert_eq!(page.blocks[0].text, "café");
        let page = extract(
            b"<p>caf\xe9 ok</p>",
            ContentKind::Html,
            &Selection::default(),
        )
        .unwrap();
        assert_eq!(page.blocks[0].text, "caf\u{fffd} ok");
    }

    #[test]
    fn utf16_with_bom_is_decoded() {
        let mut body = vec![0xFF, 0xFE];
        for u in "<p>Hi</p>".encode_utf16() {
            body.extend(u.to_le_bytes());
        }
        let page = extract(&body, ContentKind::Html, &Selection::default()).unwrap();
        assert_eq!(page.blocks[0].text, "Hi");
    }

    #[test]
    fn callout_markers_shift_link_ranges() {
        let page = md("> [NOTE] See [the guide](https://x/#beta) first.\n");
        let b = &page.blocks[0];
        assert_eq!(b.text, "See the guide first.");
        assert_eq!(&b.text[b.links[0].0..b.links[0].1], "the guide");
    }

    #[test]
    fn html_blocks_kinds_and_whitespace() {
        let page = html(
            r#"<html><head><title> Ads  Agent | Docs </title><style>p{}</style></head>
            <body><main>
              <h1>Ads <em>Agent</em></h1>
              <div class="Callout-Beta"><p>Ads Agent is in <b>open beta</b>.</p></div>
              <p>First line<br>second   line</p>
              <ul><li>one <ul><li>nested</li></ul></li><li>two</li></ul>
              <table><tr><th> Feature </th><th>Status</th></tr>
                     <tr><td><a href="/x">Agent</a></td><td> Beta </td></tr></table>
              <pre><code>let x = 1;
let y = 2;</code></pre>
              <aside>Heads up</aside>
              <div role="alert">Alert text</div>
              <script>var beta = 1;</script><noscript>x</noscript><template>t</template>
              <svg><text>svg</text></svg>
            </main></body></html>"#,
        );
        assert_eq!(page.title.as_deref(), Some("Ads Agent | Docs"));
        assert_eq!(
            kinds_texts(&page),
            vec![
                (BlockKind::Heading(1), "Ads Agent"),
                (BlockKind::Callout, "Ads Agent is in open beta."),
                (BlockKind::Paragraph, "First line"),
                (BlockKind::Paragraph, "second line"),
                (BlockKind::ListItem, "one"),
                (BlockKind::ListItem, "nested"),
                (BlockKind::ListItem, "two"),
                (BlockKind::TableRow, "Feature | Status"),
                (BlockKind::TableRow, "Agent | Beta"),
                (BlockKind::Code, "let x = 1;"),
                (BlockKind::Code, "let y = 2;"),
                (BlockKind::Callout, "Heads up"),
                (BlockKind::Callout, "Alert text"),
            ]
        );
        let row = &page.blocks[8];
        assert_eq!(row.links, vec![(0, 5)]);
    }

    #[test]
    fn html_links_record_ranges_not_hrefs() {
        let page =
            html(r#"<main><p>See <a href="https://x/#beta">the beta guide</a> now.</p></main>"#);
        let b = &page.blocks[0];
        assert_eq!(b.text, "See the beta guide now.");
        assert_eq!(&b.text[b.links[0].0..b.links[0].1], "the beta guide");
        assert!(!page.text().contains("https"));
    }

    #[test]
    fn inline_elements_join_words_with_spaces_but_not_punctuation() {
        let page = html(
            r#"<main><div><span>Supported</span><span>Python</span><span class="tag-preview">Preview</span></div><p><a href="/a">API</a>.</p></main>"#,
        );
        assert_eq!(
            kinds_texts(&page),
            vec![
                (BlockKind::Paragraph, "Supported Python"),
                (BlockKind::Callout, "Preview"),
                (BlockKind::Paragraph, "API."),
            ]
        );
    }

    #[test]
    fn ignore_removes_subtrees_and_hidden_elements() {
        let sel = Selection::new("body", &[".cookie".into(), "nav".into()]).unwrap();
        let body = r#"<body><nav>Menu beta</nav><div class="cookie">Cookies</div><p hidden>secret</p><p>Kept</p></body>"#;
        let page = extract(body.as_bytes(), ContentKind::Html, &sel).unwrap();
        assert_eq!(kinds_texts(&page), vec![(BlockKind::Paragraph, "Kept")]);
    }

    #[test]
    fn nav_and_footer_outside_main_do_not_change_the_hash() {
        let a = html(
            "<body><nav>Home | Beta programs</nav><main><p>Stable</p></main><footer>2025</footer></body>",
        );
        let b =
            html("<body><nav>Home</nav><main><p>Stable</p></main><footer>2026 new</footer></body>");
        assert_eq!(content_hash(&a.text()), content_hash(&b.text()));
        assert_eq!(
            content_hash(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn markdown_front_matter_headings_lists_tables_code() {
        let page = md(
            "---\ntitle: \"Forecasts\"\ndescription: x\n---\n\n# Forecasting API \\(beta\\)<a name=\"f\"></a>\n\nText with [a link](https://x/y#beta) and `code`\\.\n\n- one\n- two\n  - nested\n\n| API | Status |\n| --- | --- |\n| [Forecasts](guides/f) | Open beta |\n\n```python\nmodel = 'x-preview'\n\nprint(model)\n```\n",
        );
        assert_eq!(page.title.as_deref(), Some("Forecasts"));
        assert_eq!(
            kinds_texts(&page),
            vec![
                (BlockKind::Heading(1), "Forecasting API (beta)"),
                (BlockKind::Paragraph, "Text with a link and code."),
                (BlockKind::ListItem, "one"),
                (BlockKind::ListItem, "two"),
                (BlockKind::ListItem, "nested"),
                (BlockKind::TableRow, "API | Status"),
                (BlockKind::TableRow, "Forecasts | Open beta"),
                (BlockKind::Code, "model = 'x-preview'"),
                (BlockKind::Code, "print(model)"),
            ]
        );
        assert_eq!(page.blocks[1].links, vec![(10, 16)]);
        assert_eq!(page.blocks[6].links, vec![(0, 9)]);
    }

    #[test]
    fn markdown_callouts_in_all_their_forms() {
        let page = md(concat!(
            "> [!NOTE]\n> Foo is in preview.\n\n",
            "> [NOTE] Bar is gated.\n\n",
            ">[TIP:What is Baz?]Baz is a tool.\n\n",
            "**Note:** Qux is in public beta.\n\n",
            "**Important**  \nCurrently, Quux is in preview\\.\n\n",
            "{% note %}\n\nInside liquid.\n\n{% endnote %}\n\n",
            "After liquid.\n\n",
            "Note that this is not a callout.\n\n",
            "!!! example \"Preview release\"\n    The tool is a Preview release.\n\n",
            "Plain again.\n\n",
            "1. Step one.\n**Note**  \nA note inside a step.\n",
        ));
        assert_eq!(
            kinds_texts(&page),
            vec![
                (BlockKind::Callout, "Foo is in preview."),
                (BlockKind::Callout, "Bar is gated."),
                (BlockKind::Callout, "What is Baz? Baz is a tool."),
                (BlockKind::Callout, "Qux is in public beta."),
                (BlockKind::Callout, "Currently, Quux is in preview."),
                (BlockKind::Callout, "Inside liquid."),
                (BlockKind::Paragraph, "After liquid."),
                (BlockKind::Paragraph, "Note that this is not a callout."),
                (BlockKind::Callout, "Preview release"),
                (BlockKind::Callout, "The tool is a Preview release."),
                (BlockKind::Paragraph, "Plain again."),
                (BlockKind::ListItem, "Step one."),
                (BlockKind::Callout, "A note inside a step."),
            ]
        );
    }

    #[test]
    fn markdown_liquid_tags_vanish_and_release_phases_render() {
        let page = md(
            "The role is in {% data variables.release-phases.public_preview %} now.\n\n{% data reusables.org.beta-note %}\n\nClick {% octicon \"x\" aria-label=\"Remove\" %}.\n",
        );
        assert_eq!(
            kinds_texts(&page),
            vec![
                (BlockKind::Paragraph, "The role is in public preview now."),
                (BlockKind::Paragraph, "Click ."),
            ]
        );
    }

    #[test]
    fn markdown_tables_with_a_mismatched_delimiter_row_are_tables() {
        let page = md("| A | B |\n|---|---|---|\n| one | two |\n");
        assert_eq!(
            kinds_texts(&page),
            vec![
                (BlockKind::TableRow, "A | B"),
                (BlockKind::TableRow, "one | two")
            ]
        );
    }

    #[test]
    fn markdown_html_blocks_are_parsed() {
        let page = md(
            "<div class=\"badges\">\n  <span>Supported</span><span class=\"lst-preview\">Preview</span>\n</div>\n\n<!-- a comment -->\n\nText.\n",
        );
        assert_eq!(
            kinds_texts(&page),
            vec![
                (BlockKind::Paragraph, "Supported"),
                (BlockKind::Callout, "Preview"),
                (BlockKind::Paragraph, "Text."),
            ]
        );
    }

    #[test]
    fn markdown_images_are_dropped() {
        let page = md("![Beta diagram](/img/beta.png)\n\nText.\n");
        assert_eq!(kinds_texts(&page), vec![(BlockKind::Paragraph, "Text.")]);
    }

    #[test]
    fn text_is_light_markdown() {
        let page = extract(
            b"# Title\n\nA paragraph\nthat wraps.\n- item one\n* item two\n> a note\n> continues\n| a | b |\n|---|---|\n| c | d |\n",
            ContentKind::Text,
            &Selection::default(),
        )
        .unwrap();
        assert_eq!(
            kinds_texts(&page),
            vec![
                (BlockKind::Heading(1), "Title"),
                (BlockKind::Paragraph, "A paragraph that wraps."),
                (BlockKind::ListItem, "item one"),
                (BlockKind::ListItem, "item two"),
                (BlockKind::Callout, "a note continues"),
                (BlockKind::TableRow, "a | b"),
                (BlockKind::TableRow, "c | d"),
            ]
        );
    }

    #[test]
    fn json_strings_become_blocks_with_notes() {
        let body = br#"{"documentation": "<note><p>Widget Service is in preview release and is subject to change.</p></note> <p>Welcome to the Widget API.</p>",
            "metadata": {"serviceFullName": "Widget Service"},
            "shapes": {"A": {"documentation": "<p>Welcome to the Widget API.</p>"},
                       "B": {"name": "PreviewThing"},
                       "C": {"documentation": "Plain words that are long enough."},
                       "D": {"documentation": "Plain words that are long enough."}}}"#;
        let page = extract(body, ContentKind::Json, &Selection::default()).unwrap();
        assert_eq!(page.title.as_deref(), Some("Widget Service"));
        assert_eq!(
            kinds_texts(&page),
            vec![
                (
                    BlockKind::Callout,
                    "Widget Service is in preview release and is subject to change."
                ),
                (BlockKind::Paragraph, "Welcome to the Widget API."),
                (BlockKind::Paragraph, "Plain words that are long enough."),
            ]
        );
        let page = extract(
            b"not json, just words",
            ContentKind::Json,
            &Selection::default(),
        )
        .unwrap();
        assert_eq!(
            kinds_texts(&page),
            vec![(BlockKind::Paragraph, "not json, just words")]
        );
    }

    #[test]
    fn extraction_is_deterministic() {
        let src = "<main><h2>A</h2><p>b <a href=x>c</a></p><ul><li>d</li></ul></main>";
        let a = html(src);
        let b = html(src);
        assert_eq!(a, b);
        assert_eq!(content_hash(&a.text()), content_hash(&b.text()));
    }

    /// The page as the full parse reads it and as `extract_html` does (as a
    /// stream where it can): the two must always agree.
    fn both_ways(
        src: &str,
        selection: &Selection,
    ) -> (Result<Page, ExtractError>, Result<Page, ExtractError>) {
        (parse_and_walk(src, selection), extract_html(src, selection))
    }

    const TRICKY: &str = r##"<!DOCTYPE html>
<html><head><title>Widget &amp; Co   docs</title>
<script>var s = "<main>not this</main>"; if (a < b) {}</script>
<style>main > p { color: red }</style></head>
<body><!-- <main>commented out</main> -->
<nav data-x='a > b'><a href="/">Home</a></nav>
<div class="wrap"><MAIN id="content" data-note="x > y">
  <h1>Widget <em>API</em></h1>
  <p>Intro<br>text with <a href="#x">a link</a>.
  <aside class="note">Note: This feature is in beta.</aside>
  <textarea></main></textarea>
  <ul><li>one<li>two</ul>
  <table><tr><td>Region<td>us-east-1</table>
  <main><p>nested main</p></main>
  <svg><title>icon</title><path d="M0 0"/></svg>
  <p hidden>hidden text</p>
  <div class="feedback">Was this page helpful?</div>
</MAIN></div>
<main><p>Second main</p></main>
<footer>© 2026</footer></body></html>"##;

    #[test]
    fn main_stream_reads_the_same_page_as_the_full_parse() {
        let default = Selection::default();
        let main = Selection::new("main", &[]).unwrap();
        let ignoring = Selection::new(
            "main",
            &[".feedback".into(), "aside.note, div[hidden]".into()],
        )
        .unwrap();
        for sel in [&default, &main, &ignoring] {
            assert!(sel.main_only);
            let (full, fast) = both_ways(TRICKY, sel);
            let full = full.unwrap();
            assert_eq!(Ok(&full), fast.as_ref(), "select {}", sel.select_source());
            assert_eq!(
                stream::main_page(TRICKY, sel).is_some(),
                sel.ignore.is_empty(),
                "the stream was used"
            );
        }
        let page = extract_html(TRICKY, &main).unwrap();
        assert_eq!(page.title.as_deref(), Some("Widget & Co docs"));
        let text = page.text();
        assert!(
            text.contains("Second main") && text.contains("nested main"),
            "{text}"
        );
        assert!(
            !text.contains("not this") && !text.contains("commented out") && !text.contains("Home")
        );
        let ignored = extract_html(TRICKY, &ignoring).unwrap().text();
        assert!(
            text.contains("helpful") && !ignored.contains("helpful"),
            "{ignored}"
        );
        assert!(
            text.contains("in beta") && !ignored.contains("in beta"),
            "{ignored}"
        );
        // The default select takes the first main only, as the full parse does.
        assert!(
            !extract_html(TRICKY, &default)
                .unwrap()
                .text()
                .contains("Second main")
        );
    }

    #[test]
    fn pages_the_stream_leaves_read_as_the_full_parse_does() {
        for (why, src) in [
            ("no main", "<html><body><article>a</article></body></html>"),
            ("unclosed main", "<html><body><main><p>a</p></body></html>"),
            (
                "stray end tag",
                "<html><body></main><main>a</main></body></html>",
            ),
            (
                "cdata",
                "<html><body><main><svg><![CDATA[ </main> ]]></svg></main></body></html>",
            ),
            (
                "template",
                "<html><body><template><main>a</main></template><main>b</main></body></html>",
            ),
            (
                "escaped script",
                "<body><script><!-- <script> </main> </script></script><main>a</main></body>",
            ),
            (
                "title after main",
                "<body><main>a</main><title>T</title></body>",
            ),
            ("unterminated comment", "<body><main>a</main><!-- x"),
            ("unterminated tag", "<body><main>a</main><p class=\"x>"),
            (
                "frameset",
                "<body><main></main><frameset></frameset></body>",
            ),
        ] {
            for sel in [Selection::default(), Selection::new("main", &[]).unwrap()] {
                let (full, fast) = both_ways(src, &sel);
                assert_eq!(full, fast, "{why}");
            }
        }
        let sel = Selection::default();
        let src = "<html><body><main><p>a</p></body></html>";
        assert_eq!(extract_html(src, &sel).unwrap().text(), "a\n");
    }

    #[test]
    fn main_stream_keeps_the_doctype_that_sets_the_parse_mode() {
        // Without a doctype a table does not close an open paragraph (quirks
        // mode); with one it does. The stream must keep that difference.
        for doctype in ["", "<!DOCTYPE html>"] {
            let src = format!(
                "{doctype}<html><body><main><p>a<table><tr><td>b</td></tr></table>c</p></main></body></html>"
            );
            let (full, fast) = both_ways(&src, &Selection::default());
            assert_eq!(full, fast, "doctype {doctype:?}");
        }
    }

    #[test]
    fn main_stream_is_used_only_for_selections_that_read_main() {
        for select in [Selection::default_select(), "main", "MAIN"] {
            assert!(Selection::new(select, &[]).unwrap().main_only, "{select}");
        }
        for select in ["article", "main, aside", "#content", ":is(main)"] {
            assert!(!Selection::new(select, &[]).unwrap().main_only, "{select}");
        }
    }

    #[test]
    fn main_stream_agrees_on_every_html_fixture() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pages");
        let mut used = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "html") {
                continue;
            }
            let src = std::fs::read_to_string(&path).unwrap();
            used += usize::from(stream::main_page(&src, &Selection::default()).is_some());
            for sel in [
                Selection::default(),
                Selection::new("main", &["nav".into()]).unwrap(),
            ] {
                let (full, fast) = both_ways(&src, &sel);
                assert_eq!(full, fast, "{}", path.display());
            }
        }
        assert!(used >= 5, "the stream read {used} fixture pages");
    }
}
