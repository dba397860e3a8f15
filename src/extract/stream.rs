//! Streaming extraction of `<main>`: a page's blocks without building a tree.
//!
//! In: a page's text and a [`Selection`] that reads only `<main>` and has no
//! `ignore` selectors. Out: `Some(page)` — the same [`Page`] the parse and
//! DOM walk of the parent module give — or `None` when the page holds
//! something this pass does not model; the caller then parses in full.
//!
//! html5gum's tokenizer (WHATWG-compliant; it leaves switching to raw text
//! to its [`Emitter`], as html5ever's tokenizer leaves it to the tree
//! builder) reads the page; the emitter here stands in for the tree builder.
//! Outside `<main>` it keeps only what decides where the `<main>` elements
//! are and how the tokenizer reads on: it switches the tokenizer to raw text
//! after `<script>`, `<style>`, `<title>`… as the tree builder does, follows
//! SVG and MathML nesting (no raw text there, and CDATA sections), takes the
//! first `<title>`, and counts the elements the parser would carry into a
//! `<main>`. Inside each `<main>` a model of the tree builder's rules (the
//! stack of open elements, implied end tags, scopes, table modes) turns tags
//! into element starts and ends, which drive the same [`Builder`], in the
//! same order, as [`super::HtmlWalker`] does over the tree.
//!
//! The model covers what documentation pages are made of. Where the parser
//! would do more than push and pop — reopen formatting elements that an
//! implied end tag closed (the adoption agency and reconstruction), move
//! content out of a table (foster parenting), read forms, `<select>`,
//! templates, framesets, MathML or HTML inside SVG, or act on a stray end
//! tag — the pass gives up. `diff_tests` hold it to the full parse on
//! generated and fixture pages.

use super::{
    Builder, Cell, Ctx, INLINE_TAGS, SKIP_TAGS, Selection, callout_signals, heading_level,
    hidden_signals, join_cells, text_node,
};
use crate::model::{BlockKind, Page};
use html5gum::{Emitter, Error, State, Tokenizer};
use markup5ever::{LocalName, local_name};

/// The page as [`super::parse_and_walk`] gives it, read without building a
/// tree; `None` when the page holds something this pass does not model.
pub(super) fn main_page(html: &str, selection: &Selection) -> Option<Page> {
    if !selection.main_only || !selection.ignore.is_empty() {
        return None;
    }
    // The default select reads the first `<main>`; `main` reads them all.
    let reader = Reader::new(html, Stream::new(!selection.first_match));
    // The reader yields once: the page, or `None` when it gave up.
    match Tokenizer::new_with_emitter(html, reader).next() {
        Some(Ok(page)) => page,
        None => None,
    }
}

/// The document's title: the text of its first `<title>`, once found.
#[derive(Debug, Clone)]
enum Found {
    Looking,
    Title(Option<String>),
}

// ---------------------------------------------------------------------------
// Tag sets, as html5ever's tree builder names them.

fn is_formatting(n: &LocalName) -> bool {
    matches!(
        *n,
        local_name!("a")
            | local_name!("b")
            | local_name!("big")
            | local_name!("code")
            | local_name!("em")
            | local_name!("font")
            | local_name!("i")
            | local_name!("nobr")
            | local_name!("s")
            | local_name!("small")
            | local_name!("strike")
            | local_name!("strong")
            | local_name!("tt")
            | local_name!("u")
    )
}

fn is_special(n: &LocalName) -> bool {
    matches!(
        *n,
        local_name!("address")
            | local_name!("applet")
            | local_name!("area")
            | local_name!("article")
            | local_name!("aside")
            | local_name!("base")
            | local_name!("basefont")
            | local_name!("bgsound")
            | local_name!("blockquote")
            | local_name!("body")
            | local_name!("br")
            | local_name!("button")
            | local_name!("caption")
            | local_name!("center")
            | local_name!("col")
            | local_name!("colgroup")
            | local_name!("dd")
            | local_name!("details")
            | local_name!("dir")
            | local_name!("div")
            | local_name!("dl")
            | local_name!("dt")
            | local_name!("embed")
            | local_name!("fieldset")
            | local_name!("figcaption")
            | local_name!("figure")
            | local_name!("footer")
            | local_name!("form")
            | local_name!("frame")
            | local_name!("frameset")
            | local_name!("h1")
            | local_name!("h2")
            | local_name!("h3")
            | local_name!("h4")
            | local_name!("h5")
            | local_name!("h6")
            | local_name!("head")
            | local_name!("header")
            | local_name!("hgroup")
            | local_name!("hr")
            | local_name!("html")
            | local_name!("iframe")
            | local_name!("img")
            | local_name!("input")
            | local_name!("isindex")
            | local_name!("li")
            | local_name!("link")
            | local_name!("listing")
            | local_name!("main")
            | local_name!("marquee")
            | local_name!("menu")
            | local_name!("meta")
            | local_name!("nav")
            | local_name!("noembed")
            | local_name!("noframes")
            | local_name!("noscript")
            | local_name!("object")
            | local_name!("ol")
            | local_name!("p")
            | local_name!("param")
            | local_name!("plaintext")
            | local_name!("pre")
            | local_name!("script")
            | local_name!("section")
            | local_name!("select")
            | local_name!("source")
            | local_name!("style")
            | local_name!("summary")
            | local_name!("table")
            | local_name!("tbody")
            | local_name!("td")
            | local_name!("template")
            | local_name!("textarea")
            | local_name!("tfoot")
            | local_name!("th")
            | local_name!("thead")
            | local_name!("title")
            | local_name!("tr")
            | local_name!("track")
            | local_name!("ul")
            | local_name!("wbr")
            | local_name!("xmp")
    )
}

/// Start tags that close an open `<p>` (in button scope) and open an element.
fn closes_p(n: &LocalName) -> bool {
    matches!(
        *n,
        local_name!("address")
            | local_name!("article")
            | local_name!("aside")
            | local_name!("blockquote")
            | local_name!("center")
            | local_name!("details")
            | local_name!("dialog")
            | local_name!("dir")
            | local_name!("div")
            | local_name!("dl")
            | local_name!("fieldset")
            | local_name!("figcaption")
            | local_name!("figure")
            | local_name!("footer")
            | local_name!("header")
            | local_name!("hgroup")
            | local_name!("main")
            | local_name!("menu")
            | local_name!("nav")
            | local_name!("ol")
            | local_name!("p")
            | local_name!("search")
            | local_name!("section")
            | local_name!("summary")
            | local_name!("ul")
    )
}

/// End tags that close the element of that name if it is in scope: the
/// blocks of [`closes_p`] (not `p`, which has rules of its own), `button`
/// and `pre`.
fn closes_block(n: &LocalName) -> bool {
    (*n != local_name!("p") && closes_p(n))
        || matches!(*n, local_name!("button") | local_name!("pre"))
}

/// Start tags the model leaves to the full parse.
fn not_modelled(n: &LocalName) -> bool {
    matches!(
        *n,
        local_name!("applet")
            | local_name!("body")
            | local_name!("caption")
            | local_name!("col")
            | local_name!("colgroup")
            | local_name!("form")
            | local_name!("frame")
            | local_name!("frameset")
            | local_name!("head")
            | local_name!("html")
            | local_name!("image")
            | local_name!("isindex")
            | local_name!("listing")
            | local_name!("marquee")
            | local_name!("math")
            | local_name!("noembed")
            | local_name!("noframes")
            | local_name!("object")
            | local_name!("optgroup")
            | local_name!("option")
            | local_name!("plaintext")
            | local_name!("rb")
            | local_name!("rp")
            | local_name!("rt")
            | local_name!("rtc")
            | local_name!("select")
            | local_name!("template")
            | local_name!("xmp")
    )
}

/// Elements that are opened and closed by their start tag.
fn is_void(n: &LocalName) -> bool {
    matches!(
        *n,
        local_name!("area")
            | local_name!("base")
            | local_name!("basefont")
            | local_name!("bgsound")
            | local_name!("br")
            | local_name!("embed")
            | local_name!("hr")
            | local_name!("img")
            | local_name!("input")
            | local_name!("keygen")
            | local_name!("link")
            | local_name!("meta")
            | local_name!("param")
            | local_name!("source")
            | local_name!("track")
            | local_name!("wbr")
    )
}

/// How the tokenizer reads the text of an HTML element, as the tree builder
/// tells it (with scripting on, as the parser runs): `None` for markup.
fn raw_state(n: &LocalName) -> Option<State> {
    match *n {
        local_name!("script") => Some(State::ScriptData),
        local_name!("title") | local_name!("textarea") => Some(State::RcData),
        local_name!("style")
        | local_name!("xmp")
        | local_name!("iframe")
        | local_name!("noembed")
        | local_name!("noframes")
        | local_name!("noscript") => Some(State::RawText),
        _ => None,
    }
}

/// Start tags that end SVG or MathML content in the parser (a "breakout";
/// `font` only with some attributes, always here).
fn breaks_out(n: &LocalName) -> bool {
    matches!(
        *n,
        local_name!("b")
            | local_name!("big")
            | local_name!("blockquote")
            | local_name!("body")
            | local_name!("br")
            | local_name!("center")
            | local_name!("code")
            | local_name!("dd")
            | local_name!("div")
            | local_name!("dl")
            | local_name!("dt")
            | local_name!("em")
            | local_name!("embed")
            | local_name!("font")
            | local_name!("h1")
            | local_name!("h2")
            | local_name!("h3")
            | local_name!("h4")
            | local_name!("h5")
            | local_name!("h6")
            | local_name!("head")
            | local_name!("hr")
            | local_name!("i")
            | local_name!("img")
            | local_name!("li")
            | local_name!("listing")
            | local_name!("menu")
            | local_name!("meta")
            | local_name!("nobr")
            | local_name!("ol")
            | local_name!("p")
            | local_name!("pre")
            | local_name!("ruby")
            | local_name!("s")
            | local_name!("small")
            | local_name!("span")
            | local_name!("strong")
            | local_name!("strike")
            | local_name!("sub")
            | local_name!("sup")
            | local_name!("table")
            | local_name!("tt")
            | local_name!("u")
            | local_name!("ul")
            | local_name!("var")
    )
}

/// SVG and MathML elements whose content the parser reads as HTML.
fn is_integration_point(n: &LocalName) -> bool {
    matches!(
        *n,
        local_name!("title")
            | local_name!("desc")
            | local_name!("mi")
            | local_name!("mo")
            | local_name!("mn")
            | local_name!("ms")
            | local_name!("mtext")
            | local_name!("annotation-xml")
    ) || &**n == "foreignobject"
}

/// Elements whose being open changes how the parser reads a `<main>`:
/// formatting elements (reopened inside it, or an `<a>` that ends one
/// inside it), `<button>` (a second one closes it, and the `<main>`),
/// `<select>` and `<table>` (their own rules), and the elements that set a
/// formatting marker.
fn is_carried(n: &LocalName) -> bool {
    is_formatting(n)
        || matches!(
            *n,
            local_name!("button")
                | local_name!("select")
                | local_name!("table")
                | local_name!("object")
                | local_name!("applet")
                | local_name!("marquee")
        )
}

fn is_table_section(n: &LocalName) -> bool {
    matches!(
        *n,
        local_name!("tbody") | local_name!("thead") | local_name!("tfoot")
    )
}

fn is_cell(n: &LocalName) -> bool {
    matches!(*n, local_name!("td") | local_name!("th"))
}

fn is_heading(n: &LocalName) -> bool {
    heading_level(n).is_some()
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
    fn bounds(self, n: &LocalName) -> bool {
        let default = || {
            matches!(
                *n,
                local_name!("applet")
                    | local_name!("caption")
                    | local_name!("html")
                    | local_name!("table")
                    | local_name!("td")
                    | local_name!("th")
                    | local_name!("marquee")
                    | local_name!("object")
                    | local_name!("select")
                    | local_name!("template")
            )
        };
        match self {
            Scope::Default => default(),
            Scope::Button => default() || *n == local_name!("button"),
            Scope::ListItem => default() || matches!(*n, local_name!("ol") | local_name!("ul")),
            Scope::Table => matches!(
                *n,
                local_name!("html") | local_name!("table") | local_name!("template")
            ),
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
// The emitter: gathers each token from html5gum's calls and hands it to the
// stream, as the tokenizer hands tokens to the tree builder.

/// The tag being read. Its buffers are kept from tag to tag.
#[derive(Default)]
struct TagBuf {
    end: bool,
    name: Vec<u8>,
    self_closing: bool,
    /// The current attribute's name.
    attr_name: Vec<u8>,
    /// Where the current attribute's value goes: an attribute the walk
    /// reads, met for the first time (the first of a name wins, as in the
    /// parser).
    value_to: Option<Slot>,
    /// class, role, aria-hidden: whether met, and the value.
    values: [(bool, Vec<u8>); 3],
    hidden: bool,
}

#[derive(Clone, Copy)]
enum Slot {
    Class,
    Role,
    AriaHidden,
}

impl TagBuf {
    fn start(&mut self, end: bool) {
        self.end = end;
        self.name.clear();
        self.self_closing = false;
        self.attr_name.clear();
        self.value_to = None;
        for (met, value) in &mut self.values {
            *met = false;
            value.clear();
        }
        self.hidden = false;
    }

    /// The current attribute's name is complete.
    fn name_attribute(&mut self) {
        let slot = match self.attr_name.as_slice() {
            b"class" => Slot::Class,
            b"role" => Slot::Role,
            b"aria-hidden" => Slot::AriaHidden,
            b"hidden" => {
                self.hidden = true;
                return;
            }
            _ => return,
        };
        let (met, _) = &mut self.values[slot as usize];
        if !std::mem::replace(met, true) {
            self.value_to = Some(slot);
        }
    }

    fn attrs(&self) -> Option<Attrs<'_>> {
        let text = |slot: Slot| match &self.values[slot as usize] {
            (true, v) => std::str::from_utf8(v).ok().map(Some),
            (false, _) => Some(None),
        };
        Some(Attrs {
            class: text(Slot::Class)?,
            role: text(Slot::Role)?,
            hidden: self.hidden,
            aria_hidden: text(Slot::AriaHidden)?,
        })
    }
}

/// html5gum's [`Emitter`] over one page: one token out, the page (or `None`
/// when the stream gave up), as soon as the rest of the page cannot change it.
struct Reader<'a> {
    source: &'a str,
    /// Bytes of `source` the tokenizer has read.
    pos: usize,
    stream: Stream,
    tag: TagBuf,
    last_start_tag: Vec<u8>,
    done: Option<Option<Page>>,
    finished: bool,
}

impl<'a> Reader<'a> {
    fn new(source: &'a str, stream: Stream) -> Reader<'a> {
        Reader {
            source,
            pos: 0,
            stream,
            tag: TagBuf::default(),
            last_start_tag: Vec::new(),
            done: None,
            finished: false,
        }
    }

    fn finish(&mut self, page: Option<Page>) {
        self.finished = true;
        self.done = Some(page);
    }

    /// A token other than text begins: it ends what `<pre>` asked of the
    /// next token.
    fn next_token(&mut self) {
        self.stream.ignore_lf = false;
    }

    fn tag(&mut self) -> Option<Next> {
        if !self.tag.attr_name.is_empty() && self.tag.value_to.is_none() {
            self.tag.name_attribute();
        }
        let name = LocalName::from(std::str::from_utf8(&self.tag.name).ok()?);
        if self.tag.end {
            return self.stream.end_tag(&name);
        }
        self.last_start_tag.clone_from(&self.tag.name);
        let attrs = self.tag.attrs()?;
        let next = self
            .stream
            .start_tag(&name, self.tag.self_closing, &attrs)?;
        // The parser drops a newline that starts `<pre>`'s text; after an
        // error it keeps it. Here a character reference (which may be
        // `&#10` with an error) or a dropped `</>` (an error alone) is left
        // to the full parse.
        let rest = &self.source[self.pos..];
        if self.stream.ignore_lf && (rest.starts_with('&') || rest.starts_with("</>")) {
            return None;
        }
        Some(next)
    }
}

impl Emitter for Reader<'_> {
    type Token = Option<Page>;

    fn set_last_start_tag(&mut self, last_start_tag: Option<&[u8]>) {
        self.last_start_tag = last_start_tag.unwrap_or_default().to_vec();
    }

    fn emit_eof(&mut self) {
        self.next_token();
        if !self.finished {
            let page = self.stream.eof().and_then(|()| self.stream.page());
            self.finish(page);
        }
    }

    fn emit_error(&mut self, _: Error) {}

    #[inline]
    fn should_emit_errors(&mut self) -> bool {
        false
    }

    #[inline]
    fn pop_token(&mut self) -> Option<Option<Page>> {
        if self.finished {
            self.done.take()
        } else {
            None
        }
    }

    /// Text, in runs that end where a character reference or markup
    /// begins (each a whole number of characters: a run that is not is left
    /// to the full parse).
    fn emit_string(&mut self, s: &[u8]) {
        if self.finished || !self.stream.reads_text() {
            return;
        }
        let read = std::str::from_utf8(s)
            .ok()
            .and_then(|text| self.stream.characters(text));
        if read.is_none() {
            self.finish(None);
        }
    }

    fn init_start_tag(&mut self) {
        self.next_token();
        self.tag.start(false);
    }

    fn init_end_tag(&mut self) {
        self.next_token();
        self.tag.start(true);
    }

    fn init_comment(&mut self) {
        self.next_token();
    }

    fn emit_current_tag(&mut self) -> Option<State> {
        if self.finished {
            return None;
        }
        match self.tag() {
            None => self.finish(None),
            Some(Next::Go) => {}
            Some(Next::Raw(state)) => return Some(state),
            Some(Next::MainEnded) => {
                if self.stream.rest_is_unread(&self.source[self.pos..]) {
                    let page = self.stream.page();
                    self.finish(page);
                }
            }
        }
        None
    }

    fn emit_current_comment(&mut self) {}

    fn emit_current_doctype(&mut self) {}

    fn set_self_closing(&mut self) {
        self.tag.self_closing = true;
    }

    fn set_force_quirks(&mut self) {}

    fn push_tag_name(&mut self, s: &[u8]) {
        self.tag.name.extend_from_slice(s);
    }

    fn push_comment(&mut self, _: &[u8]) {}

    fn push_doctype_name(&mut self, _: &[u8]) {}

    fn init_doctype(&mut self) {
        self.next_token();
    }

    fn init_attribute(&mut self) {
        // An attribute without a value ends here.
        if !self.tag.attr_name.is_empty() && self.tag.value_to.is_none() {
            self.tag.name_attribute();
        }
        self.tag.attr_name.clear();
        self.tag.value_to = None;
    }

    fn push_attribute_name(&mut self, s: &[u8]) {
        self.tag.attr_name.extend_from_slice(s);
    }

    fn init_attribute_value(&mut self) {
        self.tag.name_attribute();
    }

    fn push_attribute_value(&mut self, s: &[u8]) {
        if let Some(slot) = self.tag.value_to {
            self.tag.values[slot as usize].1.extend_from_slice(s);
        }
    }

    fn set_doctype_public_identifier(&mut self, _: &[u8]) {}

    fn set_doctype_system_identifier(&mut self, _: &[u8]) {}

    fn push_doctype_public_identifier(&mut self, _: &[u8]) {}

    fn push_doctype_system_identifier(&mut self, _: &[u8]) {}

    fn current_is_appropriate_end_tag_token(&mut self) -> bool {
        self.tag.end && self.tag.name == self.last_start_tag
    }

    /// CDATA sections are read as text inside SVG and MathML (and as bogus
    /// comments elsewhere).
    fn adjusted_current_node_present_but_not_in_html_namespace(&mut self) -> bool {
        !self.stream.foreign.is_empty()
    }

    #[inline]
    fn move_position(&mut self, offset: isize) {
        self.pos = self.pos.wrapping_add_signed(offset);
    }
}

/// What a tag asks of the tokenizer.
enum Next {
    Go,
    /// Read the element's text raw, in this state.
    Raw(State),
    /// A `<main>` ended: the rest of the page may not matter.
    MainEnded,
}

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

struct Open {
    name: LocalName,
    role: Role,
    /// The context its children are read in.
    ctx: Ctx,
}

/// The attributes the walk looks at.
#[derive(Default)]
struct Attrs<'t> {
    class: Option<&'t str>,
    role: Option<&'t str>,
    hidden: bool,
    aria_hidden: Option<&'t str>,
}

struct Stream {
    /// Read every outermost `<main>` (select `main`), not only the first.
    all_mains: bool,
    /// `<main>` elements begun.
    mains: usize,
    /// The page's builder, then one per table cell being read.
    out: Vec<Builder>,
    /// The `<main>` being read and its open descendants; empty outside.
    open: Vec<Open>,
    /// How many open elements are [`Role::Skip`].
    skipping: usize,
    /// Open SVG and MathML elements (lower case), innermost last.
    foreign: Vec<LocalName>,
    /// Elements outside the mains, opened and not yet closed, that the
    /// parser would carry into a `<main>` (see [`is_carried`]).
    carried: usize,
    /// Inside an element whose text the tokenizer reads raw (script, style,
    /// title, …): the next end tag is its own.
    raw: bool,
    /// A newline that starts the next text is dropped (after `<pre>`).
    ignore_lf: bool,
    title: Found,
    /// The first `<title>`'s text while it is read.
    title_text: Option<Builder>,
}

impl Stream {
    fn new(all_mains: bool) -> Stream {
        Stream {
            all_mains,
            mains: 0,
            out: vec![Builder::default()],
            open: Vec::new(),
            skipping: 0,
            foreign: Vec::new(),
            carried: 0,
            raw: false,
            ignore_lf: false,
            title: Found::Looking,
            title_text: None,
        }
    }

    /// The page read, once the rest of the input cannot change it.
    fn page(&mut self) -> Option<Page> {
        if self.mains == 0 || !self.open.is_empty() || self.raw {
            return None;
        }
        let title = match std::mem::replace(&mut self.title, Found::Looking) {
            Found::Title(t) => t,
            Found::Looking => None,
        };
        Some(Page {
            title,
            blocks: std::mem::take(&mut self.out.pop()?.blocks),
        })
    }

    /// After a `<main>` ends: whether the rest of the input cannot change
    /// the page, so it need not be tokenized. It cannot once the title is
    /// known, when the rest holds no `<frameset` (which would remove the
    /// body) and, where every `<main>` is read, no `<main`: the elements
    /// read are closed, and no later token adds to them.
    fn rest_is_unread(&self, rest: &str) -> bool {
        if matches!(self.title, Found::Looking) {
            return false;
        }
        let b = rest.as_bytes();
        memchr::memchr_iter(b'<', b).all(|lt| {
            let name = &b[lt + 1..];
            let starts =
                |tag: &[u8]| name.len() >= tag.len() && name[..tag.len()].eq_ignore_ascii_case(tag);
            !(starts(b"frameset") || (self.all_mains && starts(b"main")))
        })
    }

    /// Whether text is read where the tokenizer is: in a `<main>` or the title.
    fn reads_text(&self) -> bool {
        !self.open.is_empty() || self.title_text.is_some()
    }

    /// The end of the input. Inside a `<main>` (or the title), the parser
    /// closes what is open: not modelled.
    fn eof(&self) -> Option<()> {
        (self.open.is_empty() && !self.raw).then_some(())
    }

    /// A run of text.
    fn characters(&mut self, text: &str) -> Option<()> {
        let text = match std::mem::take(&mut self.ignore_lf) {
            true => text.strip_prefix('\n').unwrap_or(text),
            false => text,
        };
        if let Some(title) = &mut self.title_text {
            title.push_text(text);
            return Some(());
        }
        if self.raw || self.open.is_empty() || text.is_empty() {
            return Some(());
        }
        // The parser drops NUL in body text, and keeps it (as U+FFFD) in
        // SVG: not modelled.
        if memchr::memchr(0, text.as_bytes()).is_some() {
            return None;
        }
        if !self.foreign.is_empty() {
            return Some(());
        }
        self.text(text)
    }

    fn start_tag(&mut self, name: &LocalName, self_closing: bool, attrs: &Attrs) -> Option<Next> {
        if !self.foreign.is_empty() {
            self.foreign_start(name, self_closing)?;
            return Some(Next::Go);
        }
        if matches!(
            *name,
            local_name!("template") | local_name!("plaintext") | local_name!("frameset")
        ) {
            return None;
        }
        let raw = raw_state(name);
        if !self.open.is_empty() {
            // Inside a `<main>`.
            if raw.is_some() {
                self.raw_start(name, attrs)?;
            } else {
                self.model_start(name, self_closing, attrs)?;
            }
        } else if *name == local_name!("main") && (self.mains == 0 || self.all_mains) {
            if self.carried > 0 {
                return None;
            }
            self.mains += 1;
            self.model_start(name, self_closing, attrs)?;
        } else if matches!(*name, local_name!("svg") | local_name!("math")) {
            // Before the first title, an SVG `<title>` could be it.
            if matches!(self.title, Found::Looking) {
                return None;
            }
            if !self_closing {
                self.foreign.push(name.clone());
            }
        } else if is_carried(name) {
            self.carried += 1;
        } else if *name == local_name!("title") && matches!(self.title, Found::Looking) {
            self.title_text = Some(Builder::default());
        }
        match raw {
            Some(state) => {
                self.raw = true;
                Some(Next::Raw(state))
            }
            None => Some(Next::Go),
        }
    }

    fn end_tag(&mut self, name: &LocalName) -> Option<Next> {
        if std::mem::take(&mut self.raw) {
            // The tokenizer ends raw text only at the element's own end tag.
            if let Some(title) = self.title_text.take() {
                self.title = Found::Title((!title.buf.is_empty()).then_some(title.buf));
            }
            if !self.open.is_empty() {
                self.pop();
            }
            return Some(Next::Go);
        }
        if !self.foreign.is_empty() {
            self.foreign_end(name)?;
            return Some(Next::Go);
        }
        if self.open.is_empty() {
            if *name == local_name!("main") && (self.mains == 0 || self.all_mains) {
                // No `<main>` is open: the parser ignores it (or closes one
                // this pass did not see).
                return None;
            }
            if is_carried(name) {
                self.carried = self.carried.saturating_sub(1);
            }
            return Some(Next::Go);
        }
        self.model_end(name)?;
        if !self.open.is_empty() {
            return Some(Next::Go);
        }
        self.out.last_mut()?.flush(BlockKind::Paragraph);
        Some(Next::MainEnded)
    }

    // -- tree rules inside a `<main>` -----------------------------------------

    fn mode(&self) -> Mode {
        if let Some(top) = self.open.last()
            && (is_table_section(&top.name)
                || matches!(top.name, local_name!("table") | local_name!("tr")))
        {
            return Mode::Table;
        }
        for open in self.open.iter().rev() {
            if is_cell(&open.name) {
                return Mode::Cell;
            }
            if open.name == local_name!("table") {
                return Mode::Body;
            }
        }
        Mode::Body
    }

    fn top_is(&self, f: impl Fn(&LocalName) -> bool) -> bool {
        self.open.last().is_some_and(|o| f(&o.name))
    }

    fn in_scope(&self, target: impl Fn(&LocalName) -> bool, scope: Scope) -> bool {
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

    /// A raw-text element inside a `<main>` (script, style, title, …): all
    /// of them are skipped content; the first title is the page's.
    fn raw_start(&mut self, name: &LocalName, attrs: &Attrs) -> Option<()> {
        if not_modelled(name)
            || (self.mode() == Mode::Table
                && !matches!(*name, local_name!("script") | local_name!("style")))
        {
            return None;
        }
        if *name == local_name!("title") && matches!(self.title, Found::Looking) {
            self.title_text = Some(Builder::default());
        }
        self.open_element(name.clone(), attrs);
        Some(())
    }

    fn model_start(&mut self, name: &LocalName, self_closing: bool, attrs: &Attrs) -> Option<()> {
        match self.mode() {
            Mode::Table => return self.table_start(name, attrs),
            Mode::Cell
                if is_cell(name)
                    || is_table_section(name)
                    || matches!(
                        *name,
                        local_name!("caption")
                            | local_name!("col")
                            | local_name!("colgroup")
                            | local_name!("tr")
                    ) =>
            {
                self.close_cell();
                return self.table_start(name, attrs);
            }
            _ => {}
        }
        if not_modelled(name)
            || is_table_section(name)
            || is_cell(name)
            || *name == local_name!("tr")
        {
            return None;
        }
        if *name == local_name!("svg") {
            self.open_element(name.clone(), attrs);
            if self_closing {
                self.pop();
            } else {
                self.foreign.push(name.clone());
            }
            return Some(());
        }
        if is_void(name) {
            if *name == local_name!("hr") {
                self.close_p()?;
            }
            self.open_element(name.clone(), attrs);
            self.pop();
            return Some(());
        }
        if closes_p(name) {
            self.close_p()?;
        } else if is_heading(name) {
            self.close_p()?;
            if self.top_is(is_heading) {
                self.pop();
            }
        } else if *name == local_name!("pre") {
            self.close_p()?;
            self.ignore_lf = true;
        } else if matches!(
            *name,
            local_name!("li") | local_name!("dd") | local_name!("dt")
        ) {
            self.close_list_item(name)?;
            self.close_p()?;
        } else if *name == local_name!("button") {
            if self.in_scope(|e| *e == local_name!("button"), Scope::Default) {
                return None;
            }
        } else if matches!(*name, local_name!("a") | local_name!("nobr")) {
            // A second one would run the adoption agency.
            if self.open.iter().any(|o| o.name == *name) {
                return None;
            }
        } else if *name == local_name!("table") {
            // Whether a table closes an open paragraph depends on the
            // doctype (quirks mode).
            if self.in_scope(|e| *e == local_name!("p"), Scope::Button) {
                return None;
            }
        }
        self.open_element(name.clone(), attrs);
        Some(())
    }

    /// `<li>`, `<dd>`, `<dt>`: close the open item of that kind, if the
    /// nearest one is not behind another special element.
    fn close_list_item(&mut self, n: &LocalName) -> Option<()> {
        let closes = |e: &LocalName| {
            if *n == local_name!("li") {
                *e == local_name!("li")
            } else {
                matches!(*e, local_name!("dd") | local_name!("dt"))
            }
        };
        for open in self.open.iter().rev() {
            if closes(&open.name) {
                let target = open.name.clone();
                return self.pop_until(|e| *e == target);
            }
            if is_special(&open.name)
                && !matches!(
                    open.name,
                    local_name!("address") | local_name!("div") | local_name!("p")
                )
            {
                break;
            }
        }
        Some(())
    }

    /// Close an open `<p>` in button scope (none open: nothing to do).
    fn close_p(&mut self) -> Option<()> {
        if self.in_scope(|e| *e == local_name!("p"), Scope::Button) {
            self.pop_until(|e| *e == local_name!("p"))?;
        }
        Some(())
    }

    /// Start tags read by the table rules (outside any cell).
    fn table_start(&mut self, name: &LocalName, attrs: &Attrs) -> Option<()> {
        if is_table_section(name) {
            self.close_row_group();
            if !self.top_is(|e| *e == local_name!("table")) {
                return None;
            }
        } else if *name == local_name!("tr") {
            if self.top_is(|e| *e == local_name!("tr")) {
                self.pop();
            }
            if self.top_is(|e| *e == local_name!("table")) {
                self.open_element(local_name!("tbody"), &Attrs::default());
            }
        } else if is_cell(name) {
            if self.top_is(|e| *e == local_name!("table")) {
                self.open_element(local_name!("tbody"), &Attrs::default());
            }
            if self.top_is(is_table_section) {
                self.open_element(local_name!("tr"), &Attrs::default());
            }
        } else {
            return None;
        }
        self.open_element(name.clone(), attrs);
        Some(())
    }

    /// Close the open row and row group, if any.
    fn close_row_group(&mut self) {
        if self.top_is(|e| *e == local_name!("tr")) {
            self.pop();
        }
        if self.top_is(is_table_section) {
            self.pop();
        }
    }

    /// Close the open cell and what is open inside it.
    fn close_cell(&mut self) {
        while let Some(open) = self.open.last() {
            let cell = is_cell(&open.name);
            self.pop();
            if cell {
                break;
            }
        }
    }

    fn model_end(&mut self, n: &LocalName) -> Option<()> {
        match self.mode() {
            Mode::Table => return self.table_end(n),
            Mode::Cell => {
                if is_cell(n) {
                    if !self.in_scope(|e| e == n, Scope::Table) {
                        return None;
                    }
                    self.close_cell();
                    return Some(());
                }
                if is_table_section(n) || matches!(*n, local_name!("table") | local_name!("tr")) {
                    if !self.in_scope(|e| e == n, Scope::Table) {
                        return None;
                    }
                    self.close_cell();
                    return self.table_end(n);
                }
                if matches!(
                    *n,
                    local_name!("body")
                        | local_name!("caption")
                        | local_name!("col")
                        | local_name!("colgroup")
                        | local_name!("html")
                ) {
                    return None;
                }
            }
            Mode::Body => {}
        }
        if closes_block(n) || matches!(*n, local_name!("dd") | local_name!("dt")) {
            if !self.in_scope(|e| e == n, Scope::Default) {
                return None;
            }
            return self.pop_until(|e| e == n);
        }
        match *n {
            local_name!("p") => {
                if !self.in_scope(|e| e == n, Scope::Button) {
                    return None;
                }
                self.pop_until(|e| e == n)
            }
            local_name!("li") => {
                if !self.in_scope(|e| e == n, Scope::ListItem) {
                    return None;
                }
                self.pop_until(|e| e == n)
            }
            _ if is_heading(n) => {
                if !self.in_scope(is_heading, Scope::Default) {
                    return None;
                }
                self.pop_until(is_heading)
            }
            _ if is_formatting(n) => {
                // Only the plain case of the adoption agency: it is the
                // current element.
                if !self.top_is(|e| e == n) {
                    return None;
                }
                self.pop();
                Some(())
            }
            local_name!("br")
            | local_name!("body")
            | local_name!("html")
            | local_name!("form")
            | local_name!("template")
            | local_name!("applet")
            | local_name!("marquee")
            | local_name!("object") => None,
            _ => {
                for open in self.open.iter().rev() {
                    if open.name == *n {
                        return self.pop_until(|e| e == n);
                    }
                    if is_special(&open.name) {
                        // The parser ignores it.
                        return None;
                    }
                }
                None
            }
        }
    }

    /// End tags read by the table rules (outside any cell).
    fn table_end(&mut self, n: &LocalName) -> Option<()> {
        if *n == local_name!("tr") && self.top_is(|e| *e == local_name!("tr")) {
            self.pop();
        } else if is_table_section(n) {
            let row = usize::from(self.top_is(|e| *e == local_name!("tr")));
            let at = self.open.len() - 1 - row;
            if self.open.get(at)?.name != *n {
                return None;
            }
            self.close_row_group();
        } else if *n == local_name!("table") {
            self.close_row_group();
            if !self.top_is(|e| *e == local_name!("table")) {
                return None;
            }
            self.pop();
        } else {
            return None;
        }
        Some(())
    }

    /// Pop up to and including the nearest element `target` accepts; an
    /// implied end of a formatting element (which the parser would reopen)
    /// gives up.
    fn pop_until(&mut self, target: impl Fn(&LocalName) -> bool) -> Option<()> {
        loop {
            let open = self.open.last()?;
            let hit = target(&open.name);
            if !hit && is_formatting(&open.name) {
                return None;
            }
            self.pop();
            if hit {
                return Some(());
            }
        }
    }

    /// SVG or MathML content: skipped, so only its nesting matters.
    fn foreign_start(&mut self, name: &LocalName, self_closing: bool) -> Option<()> {
        if breaks_out(name)
            || self.foreign.last().is_some_and(is_integration_point)
            || matches!(
                *name,
                local_name!("script") | local_name!("math") | local_name!("main")
            )
            || &**name == "foreignobject"
            || (*name == local_name!("title") && matches!(self.title, Found::Looking))
        {
            return None;
        }
        if !self_closing {
            self.foreign.push(name.clone());
        }
        Some(())
    }

    /// An end tag closes the nearest SVG or MathML element of its name and
    /// those inside it; one that names none would reach the HTML around.
    fn foreign_end(&mut self, n: &LocalName) -> Option<()> {
        let at = self.foreign.iter().rposition(|f| f == n)?;
        self.foreign.truncate(at);
        if self.foreign.is_empty() && !self.open.is_empty() {
            self.pop(); // the <svg>
        }
        Some(())
    }

    fn text(&mut self, text: &str) -> Option<()> {
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
            text_node(text, ctx, self.out.last_mut()?);
        }
        Some(())
    }

    // -- the walk -------------------------------------------------------------

    /// Open an element: what [`super::HtmlWalker::walk`] does before its children.
    fn open_element(&mut self, name: LocalName, attrs: &Attrs) {
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
        } else if SKIP_TAGS.contains(&&*name) || hidden_signals(attrs.hidden, attrs.aria_hidden) {
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
        let classes = attrs.class.unwrap_or("").split_ascii_whitespace();
        let callout = callout_signals(name, attrs.role, classes);
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
    fn streams_page(src: &str, sel: &Selection) -> Page {
        let fast = main_page(src, sel).unwrap_or_else(|| panic!("gave up on {src}"));
        assert_eq!(Ok(&fast), parse_and_walk(src, sel).as_ref(), "{src}");
        fast
    }

    fn streams(main: &str) -> Page {
        streams_page(&page(main), &Selection::default())
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
            // ... and in attributes.
            "<main><div class=\"x&#x20;note\">n</div><p aria-hidden=\"tr&#117;e\">gone</main>",
            // Definition lists and headings closing each other.
            "<main><dl><dt>Term<dd>Def<dt>Term 2<dd>Def 2</dl><h3>a<h4>b</h4></main>",
            "<MAIN CLASS=x><P>Upper case</P></MAIN>",
            "<main>a\r\nb<pre>\r\nc\rd</pre></main>",
            // Scripts with `<!--` (the tokenizer's escaped states); CDATA in SVG.
            "<main><script><!-- <script> </main> </script> --></script><p>a</main>",
            "<main><svg><![CDATA[ </main> ]]></svg><p>b</main>",
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
    fn reads_a_title_inside_or_after_main() {
        let sel = Selection::default();
        let page = streams_page(
            "<body><main><title>In&#32;main</title>x</main></body>",
            &sel,
        );
        assert_eq!(page.title.as_deref(), Some("In main"));
        let page = streams_page("<body><main>x</main><title>After</title></body>", &sel);
        assert_eq!(page.title.as_deref(), Some("After"));
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
            ("NUL in text", "<main><p>a\0b</main>"),
            (
                "a character reference opening pre (an error keeps its newline)",
                "<main><pre>&#10x</pre></main>",
            ),
        ] {
            let src = page(main);
            assert_eq!(main_page(&src, &Selection::default()), None, "{why}");
            // ... which the caller then parses in full.
            assert!(super::super::extract_html(&src, &Selection::default()).is_ok());
        }
    }

    #[test]
    fn leaves_to_the_parser_pages_it_cannot_be_sure_of() {
        for (why, src) in [
            ("no main", "<html><body><article>a</article></body></html>"),
            ("unclosed main", "<html><body><main><p>a</p></body></html>"),
            (
                "stray end tag",
                "<html><body></main><main>a</main></body></html>",
            ),
            (
                "template",
                "<html><body><template><main>a</main></template><main>b</main></body></html>",
            ),
            ("frameset", "<html><body><main>a</main><frameset></body>"),
            ("carried into main", "<body><b><main>a</main></b></body>"),
            (
                "svg before the title",
                "<svg><title>i</title></svg><main>a</main><title>T</title>",
            ),
            ("main in svg", "<title>T</title><svg><main>a</main></svg>"),
        ] {
            for sel in [Selection::default(), Selection::new("main", &[]).unwrap()] {
                assert_eq!(main_page(src, &sel), None, "{why}");
            }
        }
    }

    #[test]
    fn reads_every_main_for_select_main_and_the_first_for_the_default() {
        let src = "<title>T</title><main><p>one</main><footer><main>two</main></footer>";
        let first = streams_page(src, &Selection::default()).text();
        assert!(first.contains("one") && !first.contains("two"), "{first}");
        let all = streams_page(src, &Selection::new("main", &[]).unwrap()).text();
        assert!(all.contains("one") && all.contains("two"), "{all}");
    }

    #[test]
    fn needs_a_main_only_selection_without_ignore() {
        let src = page("<main><p>x</main>");
        assert!(main_page(&src, &Selection::new("main", &[]).unwrap()).is_some());
        assert!(main_page(&src, &Selection::new("article", &[]).unwrap()).is_none());
        assert!(main_page(&src, &Selection::new("main", &["nav".into()]).unwrap()).is_none());
    }
}
