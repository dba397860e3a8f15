//! Streaming extraction of `<main>`: a page's blocks without building a tree.
//!
//! In: what [`slice::scan`] found in a page (its title and `<main>`
//! elements) and a [`Selection`] that reads only `<main>` and has no
//! `ignore` selectors. Out: `Some(page)` — the same [`Page`] the parse and
//! DOM walk of the parent module give — or `None` when the page holds
//! something this pass does not model; the caller then parses in full.
//!
//! A tokenizer reads each `<main>`, and a model of html5ever's tree-builder rules (the
//! stack of open elements, implied end tags, scopes, table modes) turns its
//! tags into element starts and ends. Those drive the same [`Builder`], in
//! the same order, as [`super::HtmlWalker`] does over the tree.
//!
//! The model covers what documentation pages are made of. Where the parser
//! would do more than push and pop — reopen formatting elements that an
//! implied end tag closed (the adoption agency and reconstruction), move
//! content out of a table (foster parenting), read forms, `<select>`,
//! templates, MathML, CDATA, or act on a stray end tag — the pass gives up.
//! `diff_tests` hold it to the full parse on generated and fixture pages.

use super::{
    Builder, Cell, Ctx, INLINE_TAGS, SKIP_TAGS, Selection, callout_signals, collapse_ws,
    heading_level, hidden_signals, join_cells, slice, text_node,
};
use crate::model::{BlockKind, Page};
use markup5ever::data::{C1_REPLACEMENTS, NAMED_ENTITIES};
use std::borrow::Cow;

/// The page whose title and `<main>` elements [`slice::scan`] found, as
/// [`super::parse_and_walk`] gives it, read without building a tree; `None`
/// when the page holds something this pass does not model.
pub(super) fn main_page(parts: &slice::Parts<'_>, selection: &Selection) -> Option<Page> {
    if !selection.main_only || !selection.ignore.is_empty() {
        return None;
    }
    // The default select reads the first `<main>`; `main` reads them all.
    let roots = if selection.first_match {
        &parts.mains[..1]
    } else {
        &parts.mains[..]
    };
    let mut title = match parts.title {
        Some(raw) => Found::Title(title_text(raw)?),
        // The first title, if any, is inside a `<main>`: all must be read.
        None if roots.len() < parts.mains.len() => return None,
        None => Found::Looking,
    };
    let mut page = Builder::default();
    for root in roots {
        let root = normalise_newlines(root);
        let mut stream = Stream {
            out: vec![std::mem::take(&mut page)],
            open: Vec::new(),
            skipping: 0,
            foreign: Vec::new(),
            ignore_lf: false,
            title,
        };
        stream.run(&root)?;
        title = stream.title;
        page = stream.out.pop()?;
        page.flush(BlockKind::Paragraph);
    }
    let title = match title {
        Found::Title(t) => t,
        Found::Looking => None,
    };
    Some(Page {
        title,
        blocks: page.blocks,
    })
}

/// The document's title: the text of its first `<title>`, once found.
#[derive(Debug, Clone)]
enum Found {
    Looking,
    Title(Option<String>),
}

/// The text of a `<title …>…</title>` slice as the tree holds it (inner
/// `None` when it is empty); outer `None` when the slice is not one this
/// pass can read (unclosed, or holding NUL).
fn title_text(raw: &str) -> Option<Option<String>> {
    let b = raw.as_bytes();
    if memchr::memchr(0, b).is_some() {
        return None;
    }
    let (_, after) = slice::tag_name(b, 1);
    let start = slice::tag_end(b, after)?;
    let (end, _) = slice::raw_text_end(b, start, b"title")?;
    let text = normalise_newlines(&raw[start..end]);
    let text = collapse_ws(&decode(&text, false));
    Some((!text.is_empty()).then_some(text))
}

/// The parser's input preprocessing: CR LF and lone CR become LF.
fn normalise_newlines(s: &str) -> Cow<'_, str> {
    if memchr::memchr(b'\r', s.as_bytes()).is_none() {
        return Cow::Borrowed(s);
    }
    Cow::Owned(s.replace("\r\n", "\n").replace('\r', "\n"))
}

// ---------------------------------------------------------------------------
// Tag sets, as html5ever's tree builder names them.

const FORMATTING: &[&str] = &[
    "a", "b", "big", "code", "em", "font", "i", "nobr", "s", "small", "strike", "strong", "tt", "u",
];

const SPECIAL: &[&str] = &[
    "address",
    "applet",
    "area",
    "article",
    "aside",
    "base",
    "basefont",
    "bgsound",
    "blockquote",
    "body",
    "br",
    "button",
    "caption",
    "center",
    "col",
    "colgroup",
    "dd",
    "details",
    "dir",
    "div",
    "dl",
    "dt",
    "embed",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "frame",
    "frameset",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "head",
    "header",
    "hgroup",
    "hr",
    "html",
    "iframe",
    "img",
    "input",
    "isindex",
    "li",
    "link",
    "listing",
    "main",
    "marquee",
    "menu",
    "meta",
    "nav",
    "noembed",
    "noframes",
    "noscript",
    "object",
    "ol",
    "p",
    "param",
    "plaintext",
    "pre",
    "script",
    "section",
    "select",
    "source",
    "style",
    "summary",
    "table",
    "tbody",
    "td",
    "template",
    "textarea",
    "tfoot",
    "th",
    "thead",
    "title",
    "tr",
    "track",
    "ul",
    "wbr",
    "xmp",
];

/// Start tags that close an open `<p>` (in button scope) and open an element.
const CLOSES_P: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "center",
    "details",
    "dialog",
    "dir",
    "div",
    "dl",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "header",
    "hgroup",
    "main",
    "menu",
    "nav",
    "ol",
    "p",
    "search",
    "section",
    "summary",
    "ul",
];

/// End tags that close the element of that name if it is in scope: the
/// blocks of [`CLOSES_P`] (not `p`, which has rules of its own), `button`
/// and `pre`.
fn closes_block(name: &str) -> bool {
    (name != "p" && CLOSES_P.contains(&name)) || matches!(name, "button" | "pre")
}

/// Start tags the model leaves to the full parse.
const NOT_MODELLED: &[&str] = &[
    "applet",
    "body",
    "caption",
    "col",
    "colgroup",
    "form",
    "frame",
    "frameset",
    "head",
    "html",
    "image",
    "isindex",
    "listing",
    "marquee",
    "math",
    "noembed",
    "noframes",
    "object",
    "optgroup",
    "option",
    "plaintext",
    "rb",
    "rp",
    "rt",
    "rtc",
    "select",
    "template",
    "xmp",
];

/// Elements that are opened and closed by their start tag.
const VOID: &[&str] = &[
    "area", "base", "basefont", "bgsound", "br", "embed", "hr", "img", "input", "keygen", "link",
    "meta", "param", "source", "track", "wbr",
];

/// Elements read as raw text up to their end tag (with scripting on, as
/// the parser runs); all of them are skipped content.
const RAW_TEXT: &[&str] = &["script", "style", "noscript", "iframe", "textarea", "title"];

/// Start tags that end SVG content in the parser (a "breakout").
const BREAKOUT: &[&str] = &[
    "b",
    "big",
    "blockquote",
    "body",
    "br",
    "center",
    "code",
    "dd",
    "div",
    "dl",
    "dt",
    "em",
    "embed",
    "font",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "head",
    "hr",
    "i",
    "img",
    "li",
    "listing",
    "menu",
    "meta",
    "nobr",
    "ol",
    "p",
    "pre",
    "ruby",
    "s",
    "small",
    "span",
    "strong",
    "strike",
    "sub",
    "sup",
    "table",
    "tt",
    "u",
    "ul",
    "var",
];

const TABLE_SECTIONS: &[&str] = &["tbody", "thead", "tfoot"];

fn is_heading(name: &str) -> bool {
    heading_level(name).is_some()
}

/// The element kinds that end a scope search before its target.
#[derive(Clone, Copy)]
enum Scope {
    Default,
    Button,
    ListItem,
    Table,
}

impl Scope {
    fn bounds(self, name: &str) -> bool {
        let default = || {
            matches!(
                name,
                "applet"
                    | "caption"
                    | "html"
                    | "table"
                    | "td"
                    | "th"
                    | "marquee"
                    | "object"
                    | "select"
                    | "template"
            )
        };
        match self {
            Scope::Default => default(),
            Scope::Button => default() || name == "button",
            Scope::ListItem => default() || matches!(name, "ol" | "ul"),
            Scope::Table => matches!(name, "html" | "table" | "template"),
        }
    }
}

/// Which rules a token is read by, from the open elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Body,
    /// Inside a table, row group or row, outside any cell.
    Table,
    /// Inside a table cell.
    Cell,
}

// ---------------------------------------------------------------------------
// The stream: open elements and what the walk does when each one closes.

/// What the walk does for an open element, decided when it opens.
enum Role {
    /// Its subtree is not read (skipped tags, hidden elements).
    Skip,
    /// Inside a skipped subtree, or `<br>` (done when it opened).
    Nothing,
    Link,
    Inline,
    /// A block; `flat` inside a table cell, where it is a space.
    Block {
        flat: bool,
    },
    Pre,
    /// A table row outside a cell, with the cells read so far.
    Row(Vec<Cell>),
    /// An element child of a row: read into a builder of its own.
    Cell,
}

struct Open<'a> {
    name: Cow<'a, str>,
    role: Role,
    /// The context its children are read in.
    ctx: Ctx,
}

/// Attributes the walk looks at, first occurrence winning as in the parser.
#[derive(Default)]
struct Attrs<'a> {
    class: Option<Cow<'a, str>>,
    role: Option<Cow<'a, str>>,
    hidden: bool,
    aria_hidden: Option<Cow<'a, str>>,
}

struct Stream<'a> {
    /// The page's builder, then one per table cell being read.
    out: Vec<Builder>,
    open: Vec<Open<'a>>,
    /// How many open elements are [`Role::Skip`].
    skipping: usize,
    /// Open SVG elements (lower case), innermost last.
    foreign: Vec<Cow<'a, str>>,
    /// A newline that starts the next text is dropped (after `<pre>`).
    ignore_lf: bool,
    title: Found,
}

impl<'a> Stream<'a> {
    fn run(&mut self, s: &'a str) -> Option<()> {
        let b = s.as_bytes();
        if memchr::memchr(0, b).is_some() {
            return None;
        }
        let mut started = false;
        let mut i = 0;
        while i < b.len() {
            if started && self.open.is_empty() {
                return None;
            }
            let Some(off) = memchr::memchr(b'<', &b[i..]) else {
                self.text(&s[i..])?;
                break;
            };
            let lt = i + off;
            if lt > i {
                self.text(&s[i..lt])?;
            }
            let rest = &b[lt + 1..];
            match rest.first() {
                Some(b'!') if rest.starts_with(b"!--") => {
                    i = slice::comment_end(b, lt + 4)?;
                    self.ignore_lf = false;
                }
                Some(b'!') if slice::starts_with_ignore_case(&rest[1..], b"doctype") => {
                    // A doctype in the body is ignored.
                    i = lt + 2 + slice::find(&b[lt + 2..], b">")? + 1;
                    self.ignore_lf = false;
                }
                Some(b'?') => {
                    i = lt + 1 + slice::find(&b[lt + 1..], b">")? + 1;
                    self.ignore_lf = false;
                }
                Some(b'/') if rest.get(1).is_some_and(u8::is_ascii_alphabetic) => {
                    let (name, after) = slice::tag_name(b, lt + 2);
                    i = slice::tag_end(b, after)?;
                    self.ignore_lf = false;
                    self.end_tag(&lower(&s[lt + 2..lt + 2 + name.len()]))?;
                }
                Some(c) if c.is_ascii_alphabetic() => {
                    let (name, after) = slice::tag_name(b, lt + 1);
                    let name = lower(&s[lt + 1..lt + 1 + name.len()]);
                    let (attrs, end, self_closing) = attributes(s, after)?;
                    i = end;
                    self.ignore_lf = false;
                    started = true;
                    if self.foreign.is_empty() && RAW_TEXT.contains(&name.as_ref()) {
                        let (close, close_end) = slice::raw_text_end(b, end, name.as_bytes())?;
                        self.raw_text(name, &attrs, &s[end..close])?;
                        i = close_end;
                    } else {
                        self.start_tag(name, &attrs, self_closing)?;
                    }
                }
                // CDATA, bogus comments, `</>` and friends.
                Some(b'!' | b'/') | None => return None,
                Some(_) => {
                    self.text(&s[lt..lt + 1])?;
                    i = lt + 1;
                }
            }
        }
        (started && self.open.is_empty() && self.foreign.is_empty()).then_some(())
    }

    // -- tree rules ---------------------------------------------------------

    fn mode(&self) -> Mode {
        if let Some(top) = self.open.last()
            && matches!(
                top.name.as_ref(),
                "table" | "tbody" | "thead" | "tfoot" | "tr"
            )
        {
            return Mode::Table;
        }
        for open in self.open.iter().rev() {
            match open.name.as_ref() {
                "td" | "th" => return Mode::Cell,
                "table" => return Mode::Body,
                _ => {}
            }
        }
        Mode::Body
    }

    fn top_is(&self, names: &[&str]) -> bool {
        self.open
            .last()
            .is_some_and(|o| names.contains(&o.name.as_ref()))
    }

    fn in_scope(&self, target: impl Fn(&str) -> bool, scope: Scope) -> bool {
        for open in self.open.iter().rev() {
            if target(&open.name) {
                return true;
            }
            if scope.bounds(&open.name) {
                return false;
            }
        }
        false
    }

    fn start_tag(&mut self, name: Cow<'a, str>, attrs: &Attrs, self_closing: bool) -> Option<()> {
        if !self.foreign.is_empty() {
            return self.foreign_start(name, self_closing);
        }
        match self.mode() {
            Mode::Table => return self.table_start(name, attrs),
            Mode::Cell
                if matches!(
                    name.as_ref(),
                    "caption"
                        | "col"
                        | "colgroup"
                        | "tbody"
                        | "td"
                        | "tfoot"
                        | "th"
                        | "thead"
                        | "tr"
                ) =>
            {
                self.close_cell();
                return self.table_start(name, attrs);
            }
            _ => {}
        }
        let n = name.as_ref();
        if NOT_MODELLED.contains(&n)
            || TABLE_SECTIONS.contains(&n)
            || matches!(n, "tr" | "td" | "th")
        {
            return None;
        }
        if n == "svg" {
            self.open_element(name, attrs);
            if self_closing {
                self.pop();
            } else {
                self.foreign.push(Cow::Borrowed("svg"));
            }
            return Some(());
        }
        if VOID.contains(&n) {
            if n == "hr" {
                self.close_p()?;
            }
            self.open_element(name, attrs);
            self.pop();
            return Some(());
        }
        if CLOSES_P.contains(&n) {
            self.close_p()?;
        } else if is_heading(n) {
            self.close_p()?;
            if self.open.last().is_some_and(|o| is_heading(&o.name)) {
                self.pop();
            }
        } else if n == "pre" {
            self.close_p()?;
            self.ignore_lf = true;
        } else if matches!(n, "li" | "dd" | "dt") {
            self.close_list_item(n)?;
            self.close_p()?;
        } else if n == "button" {
            if self.in_scope(|e| e == "button", Scope::Default) {
                return None;
            }
        } else if matches!(n, "a" | "nobr") {
            // A second one would run the adoption agency.
            if self.open.iter().any(|o| o.name == n) {
                return None;
            }
        } else if n == "table" {
            // Whether a table closes an open paragraph depends on the
            // doctype (quirks mode).
            if self.in_scope(|e| e == "p", Scope::Button) {
                return None;
            }
        }
        self.open_element(name, attrs);
        Some(())
    }

    /// `<li>`, `<dd>`, `<dt>`: close the open item of that kind, if the
    /// nearest one is not behind another special element.
    fn close_list_item(&mut self, n: &str) -> Option<()> {
        let closes = |e: &str| {
            if n == "li" {
                e == "li"
            } else {
                matches!(e, "dd" | "dt")
            }
        };
        for open in self.open.iter().rev() {
            if closes(&open.name) {
                let target = open.name.to_string();
                return self.pop_until(|e| e == target, false);
            }
            if SPECIAL.contains(&open.name.as_ref())
                && !matches!(open.name.as_ref(), "address" | "div" | "p")
            {
                break;
            }
        }
        Some(())
    }

    /// Close an open `<p>` in button scope (none open: nothing to do).
    fn close_p(&mut self) -> Option<()> {
        if self.in_scope(|e| e == "p", Scope::Button) {
            self.pop_until(|e| e == "p", false)?;
        }
        Some(())
    }

    /// Start tags read by the table rules (outside any cell).
    fn table_start(&mut self, name: Cow<'a, str>, attrs: &Attrs) -> Option<()> {
        match name.as_ref() {
            "tbody" | "thead" | "tfoot" => {
                self.close_row_group();
                if !self.top_is(&["table"]) {
                    return None;
                }
            }
            "tr" => {
                if self.top_is(&["tr"]) {
                    self.pop();
                }
                if self.top_is(&["table"]) {
                    self.open_element(Cow::Borrowed("tbody"), &Attrs::default());
                }
            }
            "td" | "th" => {
                if self.top_is(&["table"]) {
                    self.open_element(Cow::Borrowed("tbody"), &Attrs::default());
                }
                if self.top_is(TABLE_SECTIONS) {
                    self.open_element(Cow::Borrowed("tr"), &Attrs::default());
                }
            }
            _ => return None,
        }
        self.open_element(name, attrs);
        Some(())
    }

    /// Close the open row and row group, if any.
    fn close_row_group(&mut self) {
        if self.top_is(&["tr"]) {
            self.pop();
        }
        if self.top_is(TABLE_SECTIONS) {
            self.pop();
        }
    }

    /// Close the open cell and what is open inside it.
    fn close_cell(&mut self) {
        while let Some(open) = self.open.last() {
            let cell = matches!(open.name.as_ref(), "td" | "th");
            self.pop();
            if cell {
                break;
            }
        }
    }

    fn end_tag(&mut self, n: &str) -> Option<()> {
        if !self.foreign.is_empty() {
            return self.foreign_end(n);
        }
        match self.mode() {
            Mode::Table => return self.table_end(n),
            Mode::Cell => match n {
                "td" | "th" => {
                    if !self.in_scope(|e| e == n, Scope::Table) {
                        return None;
                    }
                    self.close_cell();
                    return Some(());
                }
                "table" | "tbody" | "tfoot" | "thead" | "tr" => {
                    if !self.in_scope(|e| e == n, Scope::Table) {
                        return None;
                    }
                    self.close_cell();
                    return self.table_end(n);
                }
                "body" | "caption" | "col" | "colgroup" | "html" => return None,
                _ => {}
            },
            Mode::Body => {}
        }
        if closes_block(n) || matches!(n, "dd" | "dt") {
            if !self.in_scope(|e| e == n, Scope::Default) {
                return None;
            }
            return self.pop_until(|e| e == n, false);
        }
        match n {
            "p" => {
                if !self.in_scope(|e| e == "p", Scope::Button) {
                    return None;
                }
                self.pop_until(|e| e == "p", false)
            }
            "li" => {
                if !self.in_scope(|e| e == "li", Scope::ListItem) {
                    return None;
                }
                self.pop_until(|e| e == "li", false)
            }
            _ if is_heading(n) => {
                if !self.in_scope(is_heading, Scope::Default) {
                    return None;
                }
                self.pop_until(is_heading, false)
            }
            _ if FORMATTING.contains(&n) => {
                // Only the plain case of the adoption agency: it is the
                // current element.
                if !self.top_is(&[n]) {
                    return None;
                }
                self.pop();
                Some(())
            }
            "br" | "body" | "html" | "form" | "template" | "applet" | "marquee" | "object" => None,
            _ => {
                for open in self.open.iter().rev() {
                    if open.name == n {
                        return self.pop_until(|e| e == n, false);
                    }
                    if SPECIAL.contains(&open.name.as_ref()) {
                        // The parser ignores it.
                        return None;
                    }
                }
                None
            }
        }
    }

    /// End tags read by the table rules (outside any cell).
    fn table_end(&mut self, n: &str) -> Option<()> {
        match n {
            "tr" if self.top_is(&["tr"]) => self.pop(),
            "tbody" | "thead" | "tfoot" => {
                let at = self.open.len() - 1 - usize::from(self.top_is(&["tr"]));
                if self.open.get(at)?.name != n {
                    return None;
                }
                self.close_row_group();
            }
            "table" => {
                self.close_row_group();
                if !self.top_is(&["table"]) {
                    return None;
                }
                self.pop();
            }
            _ => return None,
        }
        Some(())
    }

    /// Pop up to and including the nearest element `target` accepts; an
    /// implied end of a formatting element (which the parser would reopen)
    /// gives up unless `formatting_ok`.
    fn pop_until(&mut self, target: impl Fn(&str) -> bool, formatting_ok: bool) -> Option<()> {
        loop {
            let open = self.open.last()?;
            let hit = target(&open.name);
            if !hit && !formatting_ok && FORMATTING.contains(&open.name.as_ref()) {
                return None;
            }
            self.pop();
            if hit {
                return Some(());
            }
        }
    }

    /// SVG content: skipped, so only its nesting matters.
    fn foreign_start(&mut self, name: Cow<'a, str>, self_closing: bool) -> Option<()> {
        let n = name.as_ref();
        let in_text_only = self
            .foreign
            .last()
            .is_some_and(|f| matches!(f.as_ref(), "title" | "desc"));
        if BREAKOUT.contains(&n)
            || in_text_only
            || matches!(n, "foreignobject" | "script" | "math")
            || (n == "title" && matches!(self.title, Found::Looking))
        {
            return None;
        }
        if !self_closing {
            self.foreign.push(name);
        }
        Some(())
    }

    /// An end tag closes the nearest SVG element of its name and those
    /// inside it; one that names none would reach the HTML around.
    fn foreign_end(&mut self, n: &str) -> Option<()> {
        let at = self.foreign.iter().rposition(|f| f == n)?;
        self.foreign.truncate(at);
        if self.foreign.is_empty() {
            self.pop(); // the <svg>
        }
        Some(())
    }

    /// A raw-text element (script, style, title, …) and its text.
    fn raw_text(&mut self, name: Cow<'a, str>, attrs: &Attrs, text: &str) -> Option<()> {
        if self.mode() == Mode::Table && !matches!(name.as_ref(), "script" | "style") {
            return None;
        }
        if name == "script" && slice::find(text.as_bytes(), b"<!--").is_some() {
            return None;
        }
        if name == "title" && matches!(self.title, Found::Looking) {
            let text = collapse_ws(&decode(text, false));
            self.title = Found::Title((!text.is_empty()).then_some(text));
        }
        self.open_element(name, attrs);
        self.pop();
        Some(())
    }

    fn text(&mut self, raw: &str) -> Option<()> {
        let mut raw = raw;
        if std::mem::take(&mut self.ignore_lf) {
            if raw.starts_with('&') {
                return None;
            }
            raw = raw.strip_prefix('\n').unwrap_or(raw);
        }
        if raw.is_empty() || !self.foreign.is_empty() {
            return Some(());
        }
        let text = decode(raw, false);
        let mode = self.mode();
        let top = self.open.last()?;
        if mode == Mode::Table {
            // Anything but white space would be moved out of the table.
            if !text
                .bytes()
                .all(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\x0c'))
            {
                return None;
            }
            if matches!(top.role, Role::Row(_)) {
                return Some(());
            }
        }
        if self.skipping == 0 {
            let ctx = top.ctx;
            text_node(&text, ctx, self.out.last_mut()?);
        }
        Some(())
    }

    // -- the walk -------------------------------------------------------------

    /// Open an element: what [`super::HtmlWalker::walk`] does before its children.
    fn open_element(&mut self, name: Cow<'a, str>, attrs: &Attrs) {
        let parent = self.open.last();
        let ctx = parent.map(|p| p.ctx).unwrap_or_default();
        let row = match parent {
            Some(Open {
                role: Role::Row(_),
                ctx,
                ..
            }) => Some(*ctx),
            _ => None,
        };
        let (role, ctx) = if self.skipping > 0 {
            (Role::Nothing, ctx)
        } else if SKIP_TAGS.contains(&name.as_ref())
            || hidden_signals(attrs.hidden, attrs.aria_hidden.as_deref())
        {
            self.skipping += 1;
            (Role::Skip, ctx)
        } else if let Some(row) = row {
            self.out.push(Builder::default());
            (Role::Cell, Ctx { flat: true, ..row })
        } else {
            self.walk(&name, attrs, ctx)
        };
        self.open.push(Open { name, role, ctx });
    }

    fn walk(&mut self, name: &str, attrs: &Attrs, ctx: Ctx) -> (Role, Ctx) {
        let classes = attrs
            .class
            .as_deref()
            .unwrap_or("")
            .split_ascii_whitespace();
        let callout = callout_signals(name, attrs.role.as_deref(), classes);
        let b = self.out.last_mut().expect("the page builder");
        match name {
            "br" => {
                b.line_break(ctx);
                (Role::Nothing, ctx)
            }
            "a" => {
                b.boundary();
                b.start_link();
                (Role::Link, ctx)
            }
            "tr" if !ctx.flat => {
                b.flush(ctx.kind());
                (Role::Row(Vec::new()), ctx)
            }
            "pre" if !ctx.flat => {
                b.flush(ctx.kind());
                (Role::Pre, Ctx { pre: true, ..ctx })
            }
            _ if INLINE_TAGS.contains(&name) && !callout => {
                b.boundary();
                (Role::Inline, ctx)
            }
            _ => {
                let inner = ctx.inside(name, callout);
                if ctx.flat {
                    b.space();
                } else {
                    b.flush(ctx.kind());
                }
                (Role::Block { flat: ctx.flat }, inner)
            }
        }
    }

    /// Close the current element: what the walk does after its children.
    fn pop(&mut self) {
        let Some(open) = self.open.pop() else { return };
        match open.role {
            Role::Skip => self.skipping -= 1,
            Role::Cell => {
                let cell = self.out.pop().map(|mut cb| cb.take());
                if let (
                    Some(cell),
                    Some(Open {
                        role: Role::Row(cells),
                        ..
                    }),
                ) = (cell, self.open.last_mut())
                {
                    cells.push(cell);
                }
            }
            role => {
                let b = self.out.last_mut().expect("the page builder");
                match role {
                    Role::Link => {
                        b.end_link();
                        b.boundary();
                    }
                    Role::Inline => b.boundary(),
                    Role::Pre => b.flush(BlockKind::Code),
                    Role::Block { flat: true } => b.space(),
                    Role::Block { flat: false } => b.flush(open.ctx.kind()),
                    Role::Row(cells) => {
                        let (text, links) = join_cells(cells);
                        b.emit(BlockKind::TableRow, text, links);
                    }
                    Role::Skip | Role::Cell | Role::Nothing => {}
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Tokenizer pieces

fn lower(name: &str) -> Cow<'_, str> {
    if name.bytes().any(|c| c.is_ascii_uppercase()) {
        Cow::Owned(name.to_ascii_lowercase())
    } else {
        Cow::Borrowed(name)
    }
}

fn is_tag_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\x0c')
}

/// The attributes of a start tag whose name ends at `from`: the ones the
/// walk reads, the index after the tag's `>`, and whether it ends in `/>`.
fn attributes<'a>(s: &'a str, from: usize) -> Option<(Attrs<'a>, usize, bool)> {
    let b = s.as_bytes();
    let mut attrs = Attrs::default();
    let mut i = from;
    loop {
        while b.get(i).copied().is_some_and(is_tag_space) {
            i += 1;
        }
        match b.get(i)? {
            b'>' => return Some((attrs, i + 1, false)),
            b'/' if b.get(i + 1) == Some(&b'>') => return Some((attrs, i + 2, true)),
            b'/' => {
                i += 1;
                continue;
            }
            // A name that starts with `=` (the parser keeps it).
            b'=' => return None,
            _ => {}
        }
        let start = i;
        while b
            .get(i)
            .is_some_and(|&c| !is_tag_space(c) && !matches!(c, b'/' | b'>' | b'='))
        {
            i += 1;
        }
        let name = &s[start..i];
        while b.get(i).copied().is_some_and(is_tag_space) {
            i += 1;
        }
        let mut value = None;
        if b.get(i) == Some(&b'=') {
            i += 1;
            while b.get(i).copied().is_some_and(is_tag_space) {
                i += 1;
            }
            match *b.get(i)? {
                q @ (b'"' | b'\'') => {
                    let end = i + 1 + memchr::memchr(q, &b[i + 1..])?;
                    value = Some(&s[i + 1..end]);
                    i = end + 1;
                }
                b'>' => value = Some(""),
                _ => {
                    let start = i;
                    while b.get(i).is_some_and(|&c| !is_tag_space(c) && c != b'>') {
                        i += 1;
                    }
                    value = Some(&s[start..i]);
                }
            }
        }
        let keep = |slot: &mut Option<Cow<'a, str>>| {
            if slot.is_none() {
                *slot = Some(decode(value.unwrap_or(""), true));
            }
        };
        if name.eq_ignore_ascii_case("class") {
            keep(&mut attrs.class);
        } else if name.eq_ignore_ascii_case("role") {
            keep(&mut attrs.role);
        } else if name.eq_ignore_ascii_case("hidden") {
            attrs.hidden = true;
        } else if name.eq_ignore_ascii_case("aria-hidden") {
            keep(&mut attrs.aria_hidden);
        }
    }
}

/// Text with its character references decoded, as the tokenizer does in
/// text (`in_attribute` false) or in an attribute value.
fn decode(raw: &str, in_attribute: bool) -> Cow<'_, str> {
    let b = raw.as_bytes();
    let Some(mut amp) = memchr::memchr(b'&', b) else {
        return Cow::Borrowed(raw);
    };
    let mut out = String::with_capacity(raw.len());
    let mut i = 0;
    loop {
        out.push_str(&raw[i..amp]);
        match char_ref(&b[amp + 1..], in_attribute) {
            Some((chars, len)) => {
                out.extend(chars.into_iter().flatten());
                i = amp + 1 + len;
            }
            None => {
                out.push('&');
                i = amp + 1;
            }
        }
        match memchr::memchr(b'&', &b[i..]) {
            Some(off) => amp = i + off,
            None => {
                out.push_str(&raw[i..]);
                return Cow::Owned(out);
            }
        }
    }
}

/// The character reference after a `&`: its characters and its length, or
/// `None` when the `&` is only a `&`.
fn char_ref(rest: &[u8], in_attribute: bool) -> Option<([Option<char>; 2], usize)> {
    match rest.first()? {
        b'#' => numeric_ref(rest),
        c if c.is_ascii_alphanumeric() => named_ref(rest, in_attribute),
        _ => None,
    }
}

fn numeric_ref(rest: &[u8]) -> Option<([Option<char>; 2], usize)> {
    let (base, start) = match rest.get(1) {
        Some(b'x' | b'X') => (16, 2),
        _ => (10, 1),
    };
    let digits = rest[start..]
        .iter()
        .take_while(|c| (**c as char).is_digit(base))
        .count();
    if digits == 0 {
        return None;
    }
    let mut num: u32 = 0;
    let mut too_big = false;
    for &c in &rest[start..start + digits] {
        num = num.wrapping_mul(base);
        too_big |= num > 0x10FFFF;
        num = num.wrapping_add((c as char).to_digit(base).unwrap_or(0));
    }
    let mut len = start + digits;
    if rest.get(len) == Some(&b';') {
        len += 1;
    }
    let c = match num {
        _ if too_big || num > 0x10FFFF => '\u{fffd}',
        0 | 0xD800..=0xDFFF => '\u{fffd}',
        0x80..=0x9F => C1_REPLACEMENTS[(num - 0x80) as usize]
            .unwrap_or_else(|| char::from_u32(num).unwrap_or('\u{fffd}')),
        n => char::from_u32(n).unwrap_or('\u{fffd}'),
    };
    Some(([Some(c), None], len))
}

/// The longest named reference that starts `rest`, as the tokenizer matches it.
fn named_ref(rest: &[u8], in_attribute: bool) -> Option<([Option<char>; 2], usize)> {
    // The common ones, whole with their `;`: no name continues past a `;`,
    // so these are already the longest match.
    for (name, c) in [
        (&b"amp;"[..], '&'),
        (b"lt;", '<'),
        (b"gt;", '>'),
        (b"quot;", '"'),
        (b"nbsp;", '\u{a0}'),
    ] {
        if rest.starts_with(name) {
            return Some(([Some(c), None], name.len()));
        }
    }
    let mut best = None;
    for k in 1..=rest.len() {
        if !rest[k - 1].is_ascii() {
            break;
        }
        let name = std::str::from_utf8(&rest[..k]).ok()?;
        match NAMED_ENTITIES.get(name) {
            Some(&(c1, c2)) if c1 != 0 => best = Some((c1, c2, k)),
            Some(_) => {}
            None => break,
        }
    }
    let (c1, c2, len) = best?;
    let next = rest.get(len).copied();
    if in_attribute
        && rest[len - 1] != b';'
        && next.is_some_and(|c| c == b'=' || c.is_ascii_alphanumeric())
    {
        return None;
    }
    let c = |n: u32| (n != 0).then(|| char::from_u32(n)).flatten();
    Some(([c(c1), c(c2)], len))
}

/// [`main_page`] of a whole page, as `extract` calls it (for tests).
#[cfg(test)]
fn read_page(html: &str, selection: &Selection) -> Option<Page> {
    main_page(&slice::scan(html)?, selection)
}

#[cfg(test)]
#[path = "stream_diff_tests.rs"]
mod diff_tests;

#[cfg(test)]
mod tests {
    use super::super::parse_and_walk;
    use super::*;

    fn page(main: &str) -> String {
        format!(
            "<!DOCTYPE html><html><head><title>T &amp; co</title></head><body><nav>n</nav>{main}</body></html>"
        )
    }

    /// The stream reads it, and reads it as the full parse does.
    fn streams(main: &str) -> Page {
        let src = page(main);
        let sel = Selection::default();
        let fast = read_page(&src, &sel).unwrap_or_else(|| panic!("gave up on {main}"));
        assert_eq!(Ok(&fast), parse_and_walk(&src, &sel).as_ref(), "{main}");
        fast
    }

    #[test]
    fn reads_what_documentation_pages_are_made_of() {
        for main in [
            // Paragraphs and list items without end tags; a heading closing a p.
            "<main><p>One<p>Two<ul><li>a<li>b</ul><h2>H</h2></main>",
            // Tables: implied tbody and tr, cells without end tags, whitespace.
            "<main><table>\n <tr><th>Feature<th>Status\n <tr><td>Ads <b>Agent</b><td>Beta</table></main>",
            "<main><table><thead><tr><td>a</td></tr></thead><tbody><tr><td>b<td>c</tbody></table></main>",
            // A nested table inside a cell is flattened into it.
            "<main><table><tr><td>x<table><tr><td>y</td></tr></table></td></tr></table></main>",
            // Callouts, links, inline code, pre with its leading newline.
            "<main><div class=\"alert alert-warning\" role=note>Only in <a href=/r>some regions</a>.</div><pre>\nline 1\nline 2</pre></main>",
            // Skipped content: scripts holding markup, svg icons, hidden parts.
            "<main><script>if (a < b) { x = '</div>'; }</script><svg><path d=M0/><title>icon</title></svg><p hidden>gone<p>kept</main>",
            // Character references, legacy ones without a semicolon.
            "<main><p>AT&amp;T &copy 2026 &#8212; &#x41; &nbsp;x &notit; &amp</main>",
            // Definition lists and headings closing each other.
            "<main><dl><dt>Term<dd>Def<dt>Term 2<dd>Def 2</dl><h3>a<h4>b</h4></main>",
            "<MAIN CLASS=x><P>Upper case</P></MAIN>",
            "<main>a\r\nb<pre>\r\nc\rd</pre></main>",
        ] {
            streams(main);
        }
    }

    #[test]
    fn reads_the_title_from_the_head() {
        let page = streams("<main><p>x</main>");
        assert_eq!(page.title.as_deref(), Some("T & co"));
    }

    #[test]
    fn leaves_to_the_parser_what_it_does_not_model() {
        for (why, main) in [
            (
                "formatting reopened",
                "<main><p><b>bold<p>still bold</b></main>",
            ),
            ("a inside a", "<main><a href=1>x<a href=2>y</a></a></main>"),
            (
                "text in a table",
                "<main><table>oops<tr><td>x</table></main>",
            ),
            ("stray end tag", "<main><p>x</span></main>"),
            ("select", "<main><select><option>a</select></main>"),
            ("form", "<main><form><input></form></main>"),
            ("math", "<main><math><mi>x</mi></math></main>"),
            ("svg breakout", "<main><svg><p>x</svg></main>"),
            ("formatting left open", "<main><p><b>x</main>"),
            (
                "table after an open p",
                "<main><p>x<table><tr><td>y</table></main>",
            ),
        ] {
            let src = page(main);
            assert_eq!(read_page(&src, &Selection::default()), None, "{why}");
            // ... which the caller then parses in full.
            assert!(super::super::extract_html(&src, &Selection::default()).is_ok());
        }
    }

    #[test]
    fn needs_a_main_only_selection_without_ignore() {
        let src = page("<main><p>x</main>");
        assert!(read_page(&src, &Selection::new("main", &[]).unwrap()).is_some());
        assert!(read_page(&src, &Selection::new("article", &[]).unwrap()).is_none());
        assert!(read_page(&src, &Selection::new("main", &["nav".into()]).unwrap()).is_none());
    }

    #[test]
    fn decodes_character_references_as_the_tokenizer_does() {
        for (raw, attr, want) in [
            ("a &amp; b", false, "a & b"),
            ("&copy2026", false, "\u{a9}2026"),
            ("&copy2026", true, "&copy2026"),
            ("&notit;", false, "\u{ac}it;"),
            ("&#128;&#0;&#x110000;", false, "\u{20ac}\u{fffd}\u{fffd}"),
            ("& &# &#x; &zz;", false, "& &# &#x; &zz;"),
            ("&NotEqualTilde;", false, "\u{2242}\u{338}"),
        ] {
            assert_eq!(decode(raw, attr), want, "{raw}");
        }
    }
}
