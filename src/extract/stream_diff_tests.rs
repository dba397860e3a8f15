//! Differential tests: the streaming pass against the full parse.
//!
//! In: HTML documents — random ones shaped like documentation pages (built by
//! [`any_doc`]) and the HTML fixtures under `tests/fixtures/pages/`.
//!
//! Out: a failure, naming the document and both pages, whenever
//! [`main_page`] answers `Some(page)` and `page` is not exactly what
//! [`parse_and_walk`] gives for the same document and selection. `None` (the
//! streaming pass gave up) is always allowed, so
//! [`streaming_pass_accepts_most_clean_documents`] checks that the pass does
//! not give up on everything: otherwise the differential tests would pass
//! without testing anything.
//!
//! The generator: half the documents are clean — well-formed, every end
//! tag written, lowercase names, valid entities, tables with white space
//! between cells, svg icons, scripts in the usual places — a quarter are
//! clean ones with one or two irregular snippets spliced in at tag
//! boundaries, and a quarter are irregular throughout: omitted and stray end
//! tags, misnested formatting, text and blocks inside tables, `<a>` in `<a>`,
//! nested and unclosed `<main>`, `<main>` inside `<p>`, `<table>`, `<svg>`,
//! `<template>`…, raw-text elements holding markup, foreign content that
//! breaks out, legacy and invalid character references, odd attributes,
//! capital tag names, CR line endings. Failures are shrunk by proptest and
//! are not written to a regressions file.

use super::super::{Selection, parse_and_walk};
use super::main_page;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::strategy::{Union, ValueTree};
use proptest::test_runner::{Config, TestRunner};
use std::fmt;
use std::ops::Range;
use std::path::Path;
use std::sync::LazyLock;

// ---------------------------------------------------------------------------
// Checking one document

/// The selections the streaming pass is meant for: the default
/// (`main, article, body`, first match) and an explicit `main` (every
/// outermost `<main>`).
static SELECTIONS: LazyLock<[Selection; 2]> =
    LazyLock::new(|| [Selection::default(), Selection::new("main", &[]).unwrap()]);

/// Run `html` through both paths under every selection. Returns how many
/// selections the streaming pass accepted (answered `Some`), or a message
/// with the document and both pages when an accepted page differs from the
/// full parse.
fn agree(html: &str) -> Result<usize, String> {
    let mut accepted = 0;
    for sel in SELECTIONS.iter() {
        let Some(fast) = main_page(html, sel) else {
            continue;
        };
        accepted += 1;
        let full = parse_and_walk(html, sel);
        if full.as_ref() != Ok(&fast) {
            return Err(format!(
                "streaming pass and full parse disagree under select `{}`\n\
                 document: {html:?}\n\
                 streaming pass: {fast:#?}\n\
                 full parse: {full:#?}",
                sel.select_source()
            ));
        }
    }
    Ok(accepted)
}

// ---------------------------------------------------------------------------
// Generated documents

/// How a document was generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Well-formed: every end tag written, lowercase names, valid entities.
    Clean,
    /// A clean document with one or two irregular snippets spliced in.
    Touched,
    /// Irregular throughout, and with irregular snippets spliced in.
    Irregular,
}

/// A generated document.
#[derive(Clone)]
struct Doc {
    html: String,
    kind: Kind,
}

impl fmt::Debug for Doc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} document {:?}", self.kind, self.html)
    }
}

/// A piece of a document as it is generated.
#[derive(Debug, Clone)]
enum Node {
    /// Text or markup written as is.
    Raw(String),
    /// A start tag, the children, and the end tag (empty when omitted).
    El {
        start: String,
        kids: Vec<Node>,
        end: String,
    },
    /// Nodes one after another (markup that does not nest, such as
    /// misnested formatting).
    Seq(Vec<Node>),
}

impl Node {
    /// Append the node's pieces — tags and runs of text, never a part of a
    /// tag — to `out`. Irregular snippets are spliced in between pieces.
    fn pieces(self, out: &mut Vec<String>) {
        match self {
            Node::Raw(s) => {
                if !s.is_empty() {
                    out.push(s);
                }
            }
            Node::El { start, kids, end } => {
                out.push(start);
                for k in kids {
                    k.pieces(out);
                }
                if !end.is_empty() {
                    out.push(end);
                }
            }
            Node::Seq(nodes) => {
                for n in nodes {
                    n.pieces(out);
                }
            }
        }
    }
}

type S<T> = BoxedStrategy<T>;

/// One of weighted strategies.
fn weighted<T: fmt::Debug + 'static>(options: Vec<(u32, S<T>)>) -> S<T> {
    Union::new_weighted(options).boxed()
}

/// One of the strings.
fn pick(options: &'static [&'static str]) -> S<String> {
    select(options).prop_map(String::from).boxed()
}

/// One of the strings, as markup.
fn raw(options: &'static [&'static str]) -> S<Node> {
    pick(options).prop_map(Node::Raw).boxed()
}

/// One of `clean`; in an irregular document sometimes one of `messy`.
fn pool(
    clean: &'static [&'static str],
    messy: &'static [&'static str],
    irregular: bool,
    messy_weight: u32,
) -> S<String> {
    if irregular {
        weighted(vec![(10, pick(clean)), (messy_weight, pick(messy))])
    } else {
        pick(clean)
    }
}

/// Words and entities of running text; `<`, `&` and friends are irregular.
const WORDS: &[&str] = &[
    "Beta",
    "preview",
    "available",
    "in",
    "us-east-1",
    "Note:",
    "[!NOTE]",
    "Warning:",
    "GA",
    "the",
    "API",
    "2026",
    "déjà",
    "日本語",
    "—",
    "(",
    ")",
    ".",
    ",",
    ":",
    "x",
    "soft\u{ad}hyphen",
    "zero\u{200b}width",
    "Generally available",
    "&amp;",
    "&lt;",
    "&gt;",
    "&nbsp;",
    "&#8212;",
    "&#x2014;",
    "&copy;",
    "&quot;",
    "&hellip;",
    "&rarr;",
];
const MESSY_WORDS: &[&str] = &[
    "<",
    "a < b",
    "<3",
    "< p",
    "<=>",
    "<>",
    "</ p>",
    "</3",
    "&",
    "& ",
    "&copy",
    "&copyright",
    "&amp",
    "&ampfoo",
    "&notit;",
    "&notin;",
    "&#128;",
    "&#x80;",
    "&#0;",
    "&#x110000;",
    "&#xD800;",
    "&#99999999999;",
    "&lt",
    "&ltx",
    "&AMP;",
    "&#X41;",
    "&#65",
    "&#;",
    "\0",
    "\r",
    "\u{c}",
    "\u{b}",
    "\u{feff}",
    "\u{a0}",
];
const SEPARATORS: &[&str] = &[" ", " ", " ", "", "\n", "\n    ", "\t"];
/// White space between blocks, rows and cells.
const SPACES: &[&str] = &["", "\n", "\n  ", " ", "\n\n    "];

fn words(irregular: bool) -> S<String> {
    let word = pool(WORDS, MESSY_WORDS, irregular, 4);
    vec((word, pick(SEPARATORS)), 1..5)
        .prop_map(|ws| ws.into_iter().map(|(w, s)| w + &s).collect())
        .boxed()
}

fn text(irregular: bool) -> S<Node> {
    words(irregular).prop_map(Node::Raw).boxed()
}

/// Class and role attributes of ordinary elements: callout ones and others,
/// quoted and unquoted.
const CLASSES: &[&str] = &[
    r#" class="note""#,
    r#" class="alert alert-warning""#,
    r#" class="callout""#,
    r#" class="content""#,
    r#" class="admonition tip""#,
    r#" role="note""#,
    " class=note",
];
/// Other attributes: hidden ones, values holding `>`.
const OTHER_ATTRS: &[&str] = &[
    r#" id="overview""#,
    r#" data-x="a > b""#,
    " title='x > y'",
    " hidden",
    r#" aria-hidden="true""#,
    r#" aria-hidden="false""#,
    r#" lang="en""#,
];
const MESSY_ATTRS: &[&str] = &[
    r#" class="x" class="note""#,
    " CLASS=NOTE",
    r#" class="&#110;ote""#,
    " title=a>b",
    r#" class="a&nbsp;note""#,
    r#" hidden="""#,
    r#" aria-hidden=" true ""#,
    " ARIA-HIDDEN=true",
    r#" role=" Alert ""#,
    r#" role="Note""#,
    " class=alert-warning",
    " class='note'id=x",
    " / class=note",
    r#" title="&copy 2026&notit;""#,
    " x=&copyx",
    " class=\"alert\tnote\"",
    r#" data-q="a""b""#,
    r#" class="callout"#,
    " class=note/",
];

/// Attributes of an ordinary element: at most one class or role and one
/// other attribute in a clean document, anything in an irregular one
/// (duplicates, odd quoting, entities).
fn attrs(irregular: bool) -> S<String> {
    if !irregular {
        return (
            proptest::option::weighted(0.25, pick(CLASSES)),
            proptest::option::weighted(0.2, pick(OTHER_ATTRS)),
        )
            .prop_map(|(c, o)| c.unwrap_or_default() + &o.unwrap_or_default())
            .boxed();
    }
    let one = weighted(vec![
        (5, pick(CLASSES)),
        (5, pick(OTHER_ATTRS)),
        (6, pick(MESSY_ATTRS)),
    ]);
    weighted(vec![
        (5, Just(String::new()).boxed()),
        (2, vec(one, 1..3).prop_map(|a| a.concat()).boxed()),
    ])
}

/// A tag name; irregular documents sometimes write it in capitals.
fn tag_name(name: &'static str, irregular: bool) -> S<String> {
    if !irregular {
        return Just(name.to_string()).boxed();
    }
    let mut capital = name.to_string();
    capital[..1].make_ascii_uppercase();
    weighted(vec![
        (8, Just(name.to_string()).boxed()),
        (1, Just(name.to_ascii_uppercase()).boxed()),
        (1, Just(capital).boxed()),
    ])
}

/// A start tag with random attributes after `extra` (fixed attributes).
fn start_tag(name: &'static str, extra: &'static str, irregular: bool) -> S<String> {
    let close = if irregular {
        pool(&[">"], &[" >", "/>", "\n>"], irregular, 2)
    } else {
        Just(">".to_string()).boxed()
    };
    (tag_name(name, irregular), attrs(irregular), close)
        .prop_map(move |(n, a, c)| format!("<{n}{extra}{a}{c}"))
        .boxed()
}

/// An end tag; irregular documents sometimes leave it out or write it oddly.
fn end_tag(name: &'static str, irregular: bool) -> S<String> {
    let plain = format!("</{name}>");
    if !irregular {
        return Just(plain).boxed();
    }
    weighted(vec![
        (10, Just(plain).boxed()),
        (1, Just(format!("</{}>", name.to_ascii_uppercase())).boxed()),
        (1, Just(format!("</{name} >")).boxed()),
        (1, Just(format!("</{name} class=\"x\">")).boxed()),
        (3, Just(String::new()).boxed()),
    ])
}

fn el(name: &'static str, extra: &'static str, irregular: bool, kids: S<Vec<Node>>) -> S<Node> {
    (
        start_tag(name, extra, irregular),
        kids,
        end_tag(name, irregular),
    )
        .prop_map(|(start, kids, end)| Node::El { start, kids, end })
        .boxed()
}

/// `n` nodes from `kid`, each after some white space.
fn spaced(kid: S<Node>, n: Range<usize>) -> S<Vec<Node>> {
    vec((pick(SPACES), kid), n)
        .prop_map(|v| {
            v.into_iter()
                .flat_map(|(space, k)| [Node::Raw(space), k])
                .collect()
        })
        .boxed()
}

const COMMENTS: &[&str] = &["<!-- c -->", "<!---->", "<!-- <main>commented</main> -->"];
const MESSY_COMMENTS: &[&str] = &[
    "<!-->",
    "<!--->",
    "<!-- a -- b -->",
    "<!--x--!>",
    "<!-- <!-- -->",
    "<!--->-->",
    "<!--<!-->",
    "<!x>",
    "<?pi x?>",
    "<![CDATA[x]]>",
];

fn comment(irregular: bool) -> S<Node> {
    pool(COMMENTS, MESSY_COMMENTS, irregular, 10)
        .prop_map(Node::Raw)
        .boxed()
}

/// Phrasing leaves other than text and comments.
const INLINE_LEAVES: &[&str] = &[
    "<br>",
    "<br/>",
    r#"<img src="a.png" alt="diagram">"#,
    r#"<input type="checkbox" checked>"#,
    "<wbr>",
    r#"<button type="button">Copy</button>"#,
];
const MESSY_INLINE_LEAVES: &[&str] = &[
    "<span/>",
    "</span>",
    "</b>",
    "</a>",
    r#"<a href="/x">open link"#,
    "<b>open bold",
    "<image src=x>",
    "<select><option>a<option>b</select>",
    "<nobr>a<nobr>b",
    r#"<a href="/1">x<a href="/2">y</a>z</a>"#,
    "<button>a<button>b</button>",
    "<font color=red>f</font>",
    "<ruby>漢<rt>kan</rt></ruby>",
    "<note>n</note>",
    "<x-note>custom</x-note>",
    "<q>quote</q>",
    "<label>l<input></label>",
    "</br>",
    "<br></br>",
    "<isindex>",
];

/// Inline content: text and phrasing elements nested up to `depth` deep.
///
/// Strategies are built once per level (not with `prop_recursive`, which
/// rebuilds its levels for every value and made generation the slowest part
/// of the tests).
fn phrasing(irregular: bool, depth: u32) -> S<Node> {
    let mut leaves = vec![
        (12, text(irregular)),
        (2, raw(INLINE_LEAVES)),
        (1, comment(irregular)),
    ];
    if irregular {
        leaves.push((3, raw(MESSY_INLINE_LEAVES)));
    }
    let leaf = weighted(leaves);
    if depth == 0 {
        return leaf;
    }
    let kids = vec(phrasing(irregular, depth - 1), 0..4).boxed();
    // A link in a link is irregular: clean links hold leaves only.
    let link_kids = if irregular {
        kids.clone()
    } else {
        vec(leaf.clone(), 0..4).boxed()
    };
    let mut elements = vec![(4, el("a", r#" href="/docs/x""#, irregular, link_kids))];
    for name in ["b", "i", "em", "strong", "span", "small", "sup", "code"] {
        elements.push((1, el(name, "", irregular, kids.clone())));
    }
    if irregular {
        for name in ["note", "x-note", "font", "nobr", "q", "u"] {
            elements.push((1, el(name, "", irregular, kids.clone())));
        }
    }
    weighted(vec![(3, leaf), (1, weighted(elements))])
}

/// Code lines of a `<pre>`.
const CODE: &[&str] = &[
    "fn main() {",
    "    let x = 1;",
    "&lt;main&gt;",
    "$ curl -X GET https://example.com",
    "",
    "  indented",
    r#"<span class="k">let</span> x"#,
    "a  b\tc",
    "<b>bold</b> code",
];
const MESSY_CODE: &[&str] = &[
    "if (a < b) {",
    "</main>",
    "<p>para in pre",
    "&copy",
    "\r",
    "</pre>after",
];

/// A `<pre>`, with or without the leading newline the parser drops.
fn pre(irregular: bool) -> S<Node> {
    let lead = pool(&["", "\n"], &["\n\n", "\r\n", "\r"], irregular, 4);
    let lines = vec(pool(CODE, MESSY_CODE, irregular, 3), 1..4).prop_map(|l| l.join("\n"));
    let tag = pool(&["pre"], &["listing"], irregular, 1);
    (tag, attrs(irregular), lead, lines, any::<bool>())
        .prop_map(|(tag, attrs, lead, lines, code)| {
            let body = if code {
                format!("<code>{lead}{lines}</code>")
            } else {
                format!("{lead}{lines}")
            };
            Node::Raw(format!("<{tag}{attrs}>{body}</{tag}>"))
        })
        .boxed()
}

/// Elements the walker skips, and raw-text elements holding markup.
const SKIPPED: &[&str] = &[
    r#"<script>var a = "<main>x</main>"; if (a < b) {}</script>"#,
    r#"<script type="application/ld+json">{"a": "</p>"}</script>"#,
    "<style>main > p { color: red }</style>",
    "<noscript><p>Enable JavaScript</p></noscript>",
    "<textarea>a &lt; b</textarea>",
    r#"<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M0 0h24v24H0z"/></svg>"#,
    r#"<svg width="16"><title>Info</title><g fill="none"><path d="M1 1"/><circle r="1"/></g></svg>"#,
    "<math><mi>x</mi></math>",
    r#"<iframe src="https://example.com/embed"></iframe>"#,
    r#"<video controls><source src="v.mp4"></video>"#,
    r#"<picture><source srcset="a.webp"><img src="a.png" alt="a"></picture>"#,
    r#"<select><option value="1">One</option></select>"#,
    r#"<canvas id="c"></canvas>"#,
];
const MESSY_SKIPPED: &[&str] = &[
    "<script><!-- <script> </main> </script> --></script>",
    r#"<script>x = "</main>"</SCRIPT>"#,
    "<script>a</script x=\"y\">",
    "<script><!--</script>",
    "<script>a</script/>",
    "<style></main></style>",
    "<textarea>\n</main> <b>x</b> &copy</textarea>",
    "<textarea></textarea >",
    "<noscript></main></noscript>",
    "<iframe><main>x</main></iframe>",
    "<xmp><b>x</b></xmp>",
    "<noembed>x</noembed>",
    "<noframes>x</noframes>",
    "<title>In-body &amp; title</title>",
    "<template><main>t</main></template>",
    "<template><p>tpl</p></template>",
    "<svg><p>breakout</p></svg>",
    "<svg><foreignObject><p>in foreign object</p></foreignObject></svg>",
    "<svg><desc><b>d</b></desc></svg>",
    "<svg><![CDATA[</main> x]]></svg>",
    "<svg><path></svg>",
    "<svg><title>T<p>x</title></svg>",
    "<svg><style></main></style></svg>",
    "<SVG><Path/></SVG>",
    "<svg><font color=red>x</font></svg>",
    "<svg><main>svg main</main></svg>",
    "<svg><script></main></script></svg>",
    "<svg><a href=x>y</a></svg>",
    "<svg><title><main>m</main></title></svg>",
    "<math><mtext><p>x</p></mtext></math>",
    "<math><mi>x<b>y</b></mi></math>",
    "<object><p>fallback</p></object>",
    "<plaintext>rest",
];

/// Irregular block-level snippets.
const MESSY_BLOCKS: &[&str] = &[
    "<li>loose item",
    "<dd>loose definition",
    "<dt>loose term",
    "<div/>",
    "<p/>",
    "</p>",
    "</div>",
    "</li>",
    "<p>open paragraph",
    "<div>open div",
    "<h2>a<h3>b</h2>",
    "<p>a<h1>b</h1>c</p>",
    "<p>a<table><tr><td>b</td></tr></table>c</p>",
    "<p>a<note>b</note>c</p>",
    "<p>a<ul><li>b</ul>c",
    "<ul><li>a<li>b<ul><li>c</ul></ul>",
    "<dl><dt>a<dd>b<dt>c</dl>",
    "<b>1<p>2</b>3</p>",
    r#"<a href="x">1<p>2</a>3</p>"#,
    "<b><i>x</b>y</i>",
    "<p><b>x</p><p>y</b></p>",
    "<b><b><b><b>deep</b></b></b></b>",
    "<form><form><input></form>",
    "<hr/><hr>",
    "<main>nested main</main>",
    "<main><p>nested unclosed main",
    "</main>",
    "<center>c</center>",
    "<table>direct text<tr><td>c</td></tr></table>",
    "<td>cell outside</td>",
    "<caption>caption outside</caption>",
];

/// Two elements that do not nest: `<o> a <i> b </o> c </i>`.
fn misnested(irregular: bool) -> S<Node> {
    const PAIRS: &[(&str, &str)] = &[
        ("b", "p"),
        ("a", "p"),
        ("i", "div"),
        ("b", "i"),
        ("a", "a"),
        ("em", "li"),
        ("strong", "h2"),
        ("span", "div"),
        ("p", "b"),
        ("code", "pre"),
        ("a", "table"),
        ("b", "td"),
        ("li", "ul"),
        ("h2", "h3"),
    ];
    let t = || text(irregular);
    (select(PAIRS), t(), t(), t())
        .prop_map(|((o, i), a, b, c)| {
            Node::Seq(vec![
                Node::Raw(format!("<{o}>")),
                a,
                Node::Raw(format!("<{i}>")),
                b,
                Node::Raw(format!("</{o}>")),
                c,
                Node::Raw(format!("</{i}>")),
            ])
        })
        .boxed()
}

/// Irregular things directly inside a `<table>`.
const TABLE_JUNK: &[&str] = &[
    "foster text",
    "<p>fostered</p>",
    "<td>lone cell",
    "<tr><td>row",
    "<th>lone header",
    "<b>bold",
    "<colgroup><col></colgroup>",
    "<tfoot><tr><td>foot</td></tr></tfoot>",
    "<caption>late</caption>",
    "<form><input></form>",
    "<table><tr><td>nested</td></tr></table>",
    "<div>in table</div>",
    "<!-- c -->",
    "<script>x</script>",
    "<style>t{}</style>",
    "<input type=hidden>",
    "<input type=text>",
    "</tr>",
    "</td>",
    "</tbody>",
    "<tbody>",
    "<main>in table</main>",
    "\n\t",
    "&nbsp;",
    "<svg><path/></svg>",
    "<select><option>o</select>",
    "<li>item",
    "</table>",
    "<template>t</template>",
    "<hr>",
];

/// A table: caption, head, body (with or without `<tbody>`), white space
/// between rows and cells; irregular ones get junk directly inside.
fn table(irregular: bool, cell: S<Vec<Node>>) -> S<Node> {
    let td = el("td", "", irregular, cell.clone());
    let th = el("th", "", irregular, cell);
    let row = |c: S<Node>| el("tr", "", irregular, spaced(c, 1..4));
    let head = el("thead", "", irregular, spaced(row(th.clone()), 1..2));
    let rows = spaced(row(weighted(vec![(4, td), (1, th)])), 1..4);
    let body = weighted(vec![
        (
            3,
            el("tbody", "", irregular, rows.clone())
                .prop_map(|b| vec![b])
                .boxed(),
        ),
        (1, rows),
    ]);
    let caption = proptest::option::weighted(
        0.2,
        el("caption", "", irregular, vec(text(irregular), 1..2).boxed()),
    );
    let junk = if irregular {
        vec(raw(TABLE_JUNK), 0..3).boxed()
    } else {
        Just(Vec::new()).boxed()
    };
    (
        start_tag("table", "", irregular),
        caption,
        proptest::option::of(head),
        body,
        junk,
        any::<bool>(),
        end_tag("table", irregular),
    )
        .prop_map(|(start, caption, head, body, junk, junk_first, end)| {
            let mut kids = Vec::new();
            if junk_first {
                kids.extend(junk.iter().cloned());
            }
            kids.extend(caption);
            kids.extend(head);
            kids.extend(body);
            if !junk_first {
                kids.extend(junk);
            }
            kids.push(Node::Raw("\n".into()));
            Node::El { start, kids, end }
        })
        .boxed()
}

/// `ul`, `ol` or `dl` with items made of `kids`.
fn list(irregular: bool, kids: S<Vec<Node>>) -> S<Node> {
    let li = el("li", "", irregular, kids.clone());
    let dt = el("dt", "", irregular, kids.clone());
    let dd = el("dd", "", irregular, kids);
    weighted(vec![
        (3, el("ul", "", irregular, spaced(li.clone(), 1..4))),
        (2, el("ol", "", irregular, spaced(li, 1..4))),
        (
            1,
            el(
                "dl",
                "",
                irregular,
                spaced(weighted(vec![(1, dt), (1, dd)]), 1..4),
            ),
        ),
    ])
}

fn heading(irregular: bool, kids: S<Vec<Node>>) -> S<Node> {
    let levels = ["h1", "h2", "h3", "h4", "h5", "h6"];
    weighted(
        levels
            .into_iter()
            .map(|h| (1, el(h, "", irregular, kids.clone())))
            .collect(),
    )
}

/// Flow content: blocks, lists, tables, code and phrasing, with containers
/// nested up to `depth` deep; `inline` is the phrasing content to use.
fn flow(irregular: bool, depth: u32, inline: &S<Node>) -> S<Node> {
    let inlines = vec(inline.clone(), 0..5).boxed();
    let mut leaves = vec![
        (6, inline.clone()),
        (7, el("p", "", irregular, inlines.clone())),
        (3, heading(irregular, inlines.clone())),
        (1, raw(&["<hr>"])),
        (2, pre(irregular)),
        (
            2,
            pool(SKIPPED, MESSY_SKIPPED, irregular, 12)
                .prop_map(Node::Raw)
                .boxed(),
        ),
        (2, table(irregular, inlines.clone())),
        (2, list(irregular, inlines)),
        (1, comment(irregular)),
    ];
    if irregular {
        leaves.push((4, raw(MESSY_BLOCKS)));
        leaves.push((2, misnested(irregular)));
    }
    let leaf = weighted(leaves);
    if depth == 0 {
        return leaf;
    }
    let kids = spaced(flow(irregular, depth - 1, inline), 0..5);
    let mut containers = vec![
        (2, list(irregular, kids.clone())),
        (1, table(irregular, kids.clone())),
        // The most common container.
        (4, el("div", "", irregular, kids.clone())),
    ];
    for name in [
        "section",
        "article",
        "aside",
        "blockquote",
        "figure",
        "details",
        "header",
    ] {
        containers.push((1, el(name, "", irregular, kids.clone())));
    }
    if irregular {
        for name in [
            "p", "main", "li", "form", "button", "a", "h2", "span", "template", "note",
        ] {
            containers.push((1, el(name, "", irregular, kids.clone())));
        }
    }
    weighted(vec![(2, leaf), (1, weighted(containers))])
}

/// Attributes of `<main>`.
const MAIN_ATTRS: &[&str] = &[
    "",
    "",
    "",
    r#" id="main-content""#,
    r#" class="content""#,
    r#" role="main""#,
];
const MESSY_MAIN_ATTRS: &[&str] = &[" class=note", " hidden", r#" data-x="</main>""#, " id=a>b"];

/// What a `<main>` sits in: clean pages use a wrapper `<div>` at most.
const WRAPPERS: &[(&str, &str)] = &[("", ""), ("", ""), ("<div class=\"wrap\">\n", "\n</div>")];
const MESSY_WRAPPERS: &[(&str, &str)] = &[
    ("<p>", "</p>"),
    ("<table><tr><td>", "</td></tr></table>"),
    ("<table>", "</table>"),
    ("<ul><li>", "</ul>"),
    ("<b>", "</b>"),
    ("<a href=\"/\">", "</a>"),
    ("<template>", "</template>"),
    ("<svg>", "</svg>"),
    ("<noscript>", "</noscript>"),
    ("<!--", "-->"),
    ("<button>", "</button>"),
    ("<select>", "</select>"),
    ("<form>", "</form>"),
    ("<h2>", "</h2>"),
    ("<pre>", "</pre>"),
    ("<dl><dd>", "</dl>"),
    ("<object>", "</object>"),
    ("<div hidden>", "</div>"),
    ("<math>", "</math>"),
    ("<div>", ""),
    ("", "</div>"),
    ("<main>", "</main>"),
    ("<center>", "</center>"),
    ("<li>", ""),
    ("<nobr>", "</nobr>"),
    ("<article>", "</article>"),
];

/// One `<main>` with its wrapper.
fn main_element(irregular: bool) -> S<Node> {
    let wrapper = if irregular {
        weighted(vec![
            (6, select(WRAPPERS).boxed()),
            (3, select(MESSY_WRAPPERS).boxed()),
        ])
    } else {
        select(WRAPPERS).boxed()
    };
    (
        wrapper,
        tag_name("main", irregular),
        pool(MAIN_ATTRS, MESSY_MAIN_ATTRS, irregular, 1),
        spaced(flow(irregular, 3, &phrasing(irregular, 2)), 1..8),
        end_tag("main", irregular),
    )
        .prop_map(|((open, close), name, attrs, mut kids, end)| {
            kids.push(Node::Raw("\n".into()));
            Node::Seq(vec![
                Node::Raw(open.into()),
                Node::El {
                    start: format!("<{name}{attrs}>"),
                    kids,
                    end,
                },
                Node::Raw(close.into()),
            ])
        })
        .boxed()
}

/// Page furniture outside `<main>`.
const OUTSIDE: &[&str] = &[
    "<header class=\"site-header\"><a href=\"/\">Docs home</a></header>",
    "<nav aria-label=\"Breadcrumb\"><ol><li><a href=\"/\">Home</a></li><li><a href=\"/api\">API</a></li></ol></nav>",
    "<div class=\"cookie-banner\">We use cookies.</div>",
    "<aside class=\"toc\"><ul><li><a href=\"#a\">A</a></li></ul></aside>",
    "<article><p>Outside article</p></article>",
    "<script src=\"/app.js\"></script>",
    "<!-- analytics -->",
    "<footer><p>&copy; 2026 Example Corp</p></footer>",
    "<p>Outside text</p>",
    "\n",
];
const MESSY_OUTSIDE: &[&str] = &[
    "<nav><a href=\"/\">Home</nav>",
    "<b>unclosed bold",
    "<p>open paragraph",
    "<table><tr><td>layout",
    "<li>loose item",
    "<template><main>template main</main></template>",
    "<!-- <main>commented main</main> -->",
    "<script>var m = \"<main>\";</script>",
    "</main>",
    "<svg><main>svg main</main></svg>",
    "<textarea><main>textarea main</main></textarea>",
    "<title>Late title</title>",
    "<noscript><main>noscript main</main></noscript>",
    "<a href=\"/x\">open link",
    "<div>",
    "</div>",
    "<select><option>x",
    "<h1>Site",
    "<form>",
    "<button>",
    "<object>",
    "<ul>",
    "<dl><dd>",
    "<pre>",
    "<frameset>",
    "<font color=red>",
    "<main>",
    "</body>",
    "</html>",
    "<body class=\"note\">",
    "<article>",
    "<svg><title>Icon title</title></svg>",
    "<nobr>",
    "<plaintext>",
];

fn outside(irregular: bool) -> S<Vec<Node>> {
    spaced(
        pool(OUTSIDE, MESSY_OUTSIDE, irregular, 6)
            .prop_map(Node::Raw)
            .boxed(),
        0..3,
    )
}

const DOCTYPES: &[&str] = &["<!DOCTYPE html>\n", "<!doctype html>\n", ""];
const MESSY_DOCTYPES: &[&str] = &[
    "<!DOCTYPE html PUBLIC \"-//W3C//DTD HTML 4.01 Transitional//EN\">\n",
    "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Transitional//EN\" \"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd\">\n",
    "<!DOCTYPE html SYSTEM \"about:legacy-compat\">",
    "<!DOCTYPE>",
    "<!-- lead -->\n<!DOCTYPE html>",
    "\u{feff}<!DOCTYPE html>",
    "\n\n<!DOCTYPE html>",
    "<!DOCTYPE html><!DOCTYPE html>",
    "<?xml version=\"1.0\"?>\n<!DOCTYPE html>",
];

/// Everything in `<head>` but the title.
const HEAD_ITEMS: &[&str] = &[
    "<meta charset=\"utf-8\">",
    "<meta name=\"viewport\" content=\"width=device-width\">",
    "<link rel=\"stylesheet\" href=\"/s.css\">",
    "<script>window.x = \"<title>no</title>\";</script>",
    "<style>body { margin: 0 }</style>",
];
const MESSY_HEAD_ITEMS: &[&str] = &[
    "stray text",
    "<noscript><link rel=stylesheet href=x.css></noscript>",
    "<noscript><p>no js</p></noscript>",
    "<title>Second title</title>",
    "<title>A <b>B</b> &copy C</title>",
    "<title></title>",
    "<title>  </title>",
    "<base href=/>",
    "<div>body content in head</div>",
    "</p>",
    "<template><title>tpl</title></template>",
    "<svg><title>svg in head</title></svg>",
    "<!-- c -->",
    "<head>",
    "</head>",
];

fn head(irregular: bool) -> S<String> {
    let title = proptest::option::weighted(
        0.85,
        words(irregular).prop_map(|t| format!("<title>{t}</title>")),
    );
    let items = vec(pool(HEAD_ITEMS, MESSY_HEAD_ITEMS, irregular, 5), 0..4);
    let open = pool(&["<head>\n"], &["", "<HEAD>"], irregular, 3);
    let close = pool(&["</head>\n"], &["", "</HEAD>"], irregular, 3);
    (open, title, items, close)
        .prop_map(|(open, title, items, close)| {
            format!(
                "{open}{}{}\n{close}",
                title.unwrap_or_default(),
                items.join("\n")
            )
        })
        .boxed()
}

/// Irregular snippets spliced into irregular documents at tag boundaries.
const SPLICES: &[&str] = &[
    "</span>",
    "</div>",
    "</p>",
    "</li>",
    "</td>",
    "</tr>",
    "</table>",
    "</b>",
    "</a>",
    "</main>",
    "</br>",
    "</body>",
    "</html>",
    "</h2>",
    "</ul>",
    "</pre>",
    "</svg>",
    "</section>",
    "<p>",
    "<li>",
    "<dd>",
    "<dt>",
    "<td>",
    "<tr>",
    "<th>",
    "<table>",
    "<b>",
    "<i>",
    "<a href=\"#x\">",
    "<main>",
    "<div>",
    "<div/>",
    "<p/>",
    "<span/>",
    "<br/>",
    "<h3>",
    "<pre>",
    "<svg>",
    "<math>",
    "<select>",
    "<option>",
    "<form>",
    "<button>",
    "<nobr>",
    "<font color=red>",
    "<center>",
    "<image src=x>",
    "<frameset>",
    "<body class=note>",
    "<html hidden>",
    "<head>",
    "<template>",
    "<caption>",
    "<col>",
    "<colgroup>",
    "<tbody>",
    "<hr/>",
    " < ",
    "<3",
    "</ >",
    "</>",
    "<>",
    "<!-->",
    "<!--->",
    "<!x>",
    "<?pi?>",
    "<![CDATA[x]]>",
    "&copy",
    "&ampx",
    "&",
    "& ",
    "&notit;",
    "&#0;",
    "&#128;",
    "\r\n",
    "\r",
    "\0",
    "\u{c}",
    "\u{feff}",
    "<!DOCTYPE html>",
    "<title>",
    "<textarea>",
    "<plaintext>",
];

/// An irregular snippet to splice in at a tag boundary: mostly the stray
/// and lone tags of [`SPLICES`], sometimes an irregular piece of text, block,
/// table or page furniture.
fn splice() -> S<String> {
    weighted(vec![
        (8, pick(SPLICES)),
        (1, pick(MESSY_WORDS)),
        (1, pick(MESSY_COMMENTS)),
        (1, pick(MESSY_INLINE_LEAVES)),
        (2, pick(MESSY_BLOCKS)),
        (1, pick(MESSY_SKIPPED)),
        (1, pick(TABLE_JUNK)),
        (1, pick(MESSY_OUTSIDE)),
    ])
}

/// A whole document of the given kind.
fn doc(kind: Kind) -> S<Doc> {
    let irregular = kind == Kind::Irregular;
    let frame = (
        pool(DOCTYPES, MESSY_DOCTYPES, irregular, 4),
        pool(
            &["<html lang=\"en\">\n", "<html>\n"],
            &["", "<HTML>"],
            irregular,
            2,
        ),
        head(irregular),
        pool(
            &["<body>\n", "<body class=\"docs\">\n"],
            &["", "<BODY hidden>", "<body class=note>"],
            irregular,
            2,
        ),
        pool(
            &["</body>\n</html>\n"],
            &[
                "",
                "</body>",
                "</html>",
                "</body></html><!-- after -->",
                "</body></html>\ntrailing text",
                "</html><p>after html</p>",
            ],
            irregular,
            3,
        ),
    );
    let second_main =
        proptest::option::weighted(if irregular { 0.3 } else { 0.2 }, main_element(irregular));
    let body = (
        outside(irregular),
        main_element(irregular),
        outside(irregular),
        second_main,
        outside(irregular),
    );
    let splices = match kind {
        Kind::Clean => Just(Vec::new()).boxed(),
        Kind::Touched => vec((any::<Index>(), splice()), 1..3).boxed(),
        Kind::Irregular => vec((any::<Index>(), splice()), 1..4).boxed(),
    };
    let line_ends = if kind != Kind::Clean {
        pick(&["\n", "\n", "\n", "\n", "\n", "\n", "\r\n", "\r"])
    } else {
        pick(&["\n", "\n", "\n", "\n", "\n", "\n", "\n", "\n", "\n", "\r\n"])
    };
    (frame, body, splices, line_ends)
        .prop_map(move |(frame, body, splices, line_end)| {
            let (doctype, html, head, body_open, close) = frame;
            let (before, main, between, second, after) = body;
            let mut pieces = vec![doctype, html, head, body_open];
            for n in before {
                n.pieces(&mut pieces);
            }
            main.pieces(&mut pieces);
            for n in between {
                n.pieces(&mut pieces);
            }
            if let Some(m) = second {
                m.pieces(&mut pieces);
            }
            for n in after {
                n.pieces(&mut pieces);
            }
            pieces.push(close);
            for (at, snippet) in splices {
                pieces.insert(at.index(pieces.len() + 1), snippet);
            }
            let mut html = pieces.concat();
            if line_end != "\n" {
                html = html.replace('\n', &line_end);
            }
            Doc { html, kind }
        })
        .boxed()
}

/// Clean documents half the time; touched and irregular ones a quarter each.
fn any_doc() -> S<Doc> {
    prop_oneof![
        2 => doc(Kind::Clean),
        1 => doc(Kind::Touched),
        1 => doc(Kind::Irregular),
    ]
    .boxed()
}

// ---------------------------------------------------------------------------
// Tests

proptest! {
    #![proptest_config(Config {
        cases: 3000,
        // Failures are reported with the shrunk document; write no files.
        failure_persistence: None,
        ..Config::default()
    })]

    /// Whenever the streaming pass answers, it answers what the full parse does.
    #[test]
    fn streaming_pass_agrees_with_the_full_parse(doc in any_doc()) {
        if let Err(message) = agree(&doc.html) {
            prop_assert!(false, "{}", message);
        }
    }
}

/// The streaming pass must accept a good share of clean documents (under
/// each selection), or the differential test above tests nothing. Whether
/// what it accepts is right is that test's business, not this one's.
#[test]
fn streaming_pass_accepts_most_clean_documents() {
    const DOCS: usize = 600;
    let strategy = any_doc();
    let mut runner = TestRunner::deterministic();
    // Per kind: (document × selection pairs, pairs accepted).
    let mut seen = [
        (Kind::Clean, 0, 0),
        (Kind::Touched, 0, 0),
        (Kind::Irregular, 0, 0),
    ];
    for _ in 0..DOCS {
        let doc = strategy.new_tree(&mut runner).unwrap().current();
        let counts = seen.iter_mut().find(|(k, _, _)| *k == doc.kind).unwrap();
        for sel in SELECTIONS.iter() {
            counts.1 += 1;
            counts.2 += usize::from(main_page(&doc.html, sel).is_some());
        }
    }
    for (kind, pairs, accepted) in seen {
        eprintln!(
            "streaming pass accepted {accepted} of {pairs} {kind:?} (document, selection) pairs"
        );
    }
    // 68% on the generator and streaming pass this was written against.
    let (_, clean, accepted) = seen[0];
    assert!(
        accepted * 100 >= clean * 50,
        "the streaming pass accepted only {accepted} of {clean} clean (document, selection) pairs"
    );
}

/// The HTML fixtures agree too, and most of them are read by the stream.
#[test]
fn streaming_pass_agrees_on_the_html_fixtures() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pages");
    let (mut pages, mut accepted) = (0, 0);
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "html") {
            continue;
        }
        let html = std::fs::read_to_string(&path).unwrap();
        pages += 1;
        accepted += agree(&html).unwrap_or_else(|message| panic!("{}: {message}", path.display()));
    }
    eprintln!(
        "streaming pass read {accepted} of {} (page, selection) pairs",
        pages * SELECTIONS.len()
    );
    // 20 of 22 pairs when this was written.
    assert!(
        accepted * 4 >= pages * SELECTIONS.len() * 3,
        "the streaming pass read only {accepted} of {} (page, selection) pairs",
        pages * SELECTIONS.len()
    );
}
