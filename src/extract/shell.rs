//! Is this page an empty shell that JavaScript fills? Asked only when a
//! plain GET gave a page whose selection matched nothing or had no text, to
//! say `render = "browser"` in the outcome instead of a bare "matched
//! nothing".
//!
//! In: the page's bytes. Out: true when the body has at least one `<script>`
//! and, apart from scripts, styles, `<noscript>` and templates, almost no
//! text (a root `<div>` waiting to be filled, perhaps a "Loading…").

use scraper::{ElementRef, Html, Node};

/// Visible body text, in characters, below which a page with scripts is a shell.
const SHELL_TEXT_MAX: usize = 200;

/// Whether `body` looks like a single-page app's empty shell.
pub fn script_shell(body: &[u8]) -> bool {
    let text = String::from_utf8_lossy(body);
    // Cheap refusals first: no script at all, or no HTML.
    let lower_has_script = memchr::memmem::find(body, b"<script").is_some()
        || memchr::memmem::find(body, b"<SCRIPT").is_some();
    if !lower_has_script {
        return false;
    }
    let html = Html::parse_document(&text);
    let mut visible = 0usize;
    let root = html.root_element();
    let body = root
        .children()
        .filter_map(ElementRef::wrap)
        .find(|e| e.value().name() == "body")
        .unwrap_or(root);
    count_visible(body, &mut visible);
    visible < SHELL_TEXT_MAX
}

/// Adds the non-space characters of `el`'s text outside scripts, styles,
/// `<noscript>` and templates to `n`, stopping early once past the limit.
fn count_visible(el: ElementRef<'_>, n: &mut usize) {
    for child in el.children() {
        if *n >= SHELL_TEXT_MAX {
            return;
        }
        match child.value() {
            Node::Text(t) => *n += t.chars().filter(|c| !c.is_whitespace()).count(),
            Node::Element(e) => {
                if matches!(e.name(), "script" | "style" | "noscript" | "template") {
                    continue;
                }
                if let Some(el) = ElementRef::wrap(child) {
                    count_visible(el, n);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::script_shell;

    #[test]
    fn an_empty_root_and_a_bundle_is_a_shell() {
        for page in [
            r#"<!doctype html><html><head><title>Docs</title><script src="/app.js" defer></script></head>
               <body><div id="root"></div><noscript>Turn on JavaScript to read these docs.</noscript></body></html>"#,
            r#"<html><body><div id="app">Loading…</div><script>window.boot()</script></body></html>"#,
            r#"<html><body><main></main><SCRIPT type="module" src="/main.js"></SCRIPT></body></html>"#,
        ] {
            assert!(script_shell(page.as_bytes()), "{page}");
        }
    }

    #[test]
    fn pages_with_text_or_without_scripts_are_not() {
        let long = "Widget Builder is generally available in every region we serve. ".repeat(5);
        for page in [
            format!("<html><body><div>{long}</div><script>track()</script></body></html>"),
            "<html><body><div id=\"root\"></div></body></html>".to_string(),
            format!(
                "<html><body><article><p>{long}</p></article><script src=\"/a.js\"></script></body></html>"
            ),
        ] {
            assert!(!script_shell(page.as_bytes()), "{page}");
        }
    }
}
