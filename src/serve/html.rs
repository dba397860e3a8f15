//! Helpers for the HTML the HTTP surface writes. The pages are maud
//! templates, which escape every spliced `(value)`; these helpers cover what
//! maud does not decide: links only for http(s) URLs, path segments, and the
//! JSON data island. Page text, quotes, diff lines, names and notes are
//! untrusted.

use maud::{Markup, Render, html};
use std::fmt::Write;

/// The href for an untrusted URL: only absolute http(s) URLs with a host
/// pass, normalised (not escaped: a maud splice escapes it). Anything else
/// (`javascript:`, `data:`, `file:`, relative) gives None and is shown as
/// text instead.
pub fn http_href(url: &str) -> Option<String> {
    let u = url::Url::parse(url.trim()).ok()?;
    (matches!(u.scheme(), "http" | "https") && u.host_str().is_some()).then(|| u.into())
}

/// A link to `url` showing `label` when the URL is http(s); else the label as
/// plain text. Both are escaped by maud.
pub fn link_or_text(url: &str, label: &str) -> Markup {
    html! {
        @if let Some(href) = http_href(url) {
            a href=(href) rel="noopener noreferrer" { (label) }
        } @else {
            (label)
        }
    }
}

/// Percent-encode one path segment (an id from the registry may hold any
/// character); the result is safe in a URL path and in an attribute.
pub fn seg(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// JSON for a `<script type="application/json">` data island: `<`, `>`, `&`
/// and the JavaScript line separators are written as `\u` escapes, so no
/// string inside can close the element or open a comment.
pub fn json_for_script(v: &serde_json::Value) -> String {
    let raw = v.to_string();
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// A `<script type="application/json">` body as a maud splice. It writes
/// [`json_for_script`]'s output as it is: HTML escaping would turn the
/// JSON's quotes into `&quot;`, which a script element does not decode, and
/// `json_for_script` already escapes everything that could end the element.
pub struct JsonIsland<'a>(pub &'a serde_json::Value);

impl Render for JsonIsland<'_> {
    fn render_to(&self, buffer: &mut String) {
        buffer.push_str(&json_for_script(self.0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_urls_become_links() {
        assert_eq!(
            http_href("https://example.com/a?b=1&c=\"2\"").as_deref(),
            Some("https://example.com/a?b=1&c=%222%22")
        );
        for bad in [
            "javascript:alert(1)",
            " JavaScript:alert(1)",
            "data:text/html,<script>",
            "file:///etc/passwd",
            "/relative",
            "http://",
        ] {
            assert_eq!(http_href(bad), None, "{bad}");
        }
        assert_eq!(
            link_or_text("javascript:alert(1)", "<b>x</b>").into_string(),
            "&lt;b&gt;x&lt;/b&gt;"
        );
        assert_eq!(
            link_or_text("https://example.com/?a=1&b=\"<x>", "<b>x</b>").into_string(),
            "<a href=\"https://example.com/?a=1&amp;b=%22%3Cx%3E\" rel=\"noopener noreferrer\">\
             &lt;b&gt;x&lt;/b&gt;</a>"
        );
    }

    #[test]
    fn segments_and_json_islands() {
        assert_eq!(seg("ads-agent"), "ads-agent");
        assert_eq!(seg("a/b c\"<"), "a%2Fb%20c%22%3C");
        let v = serde_json::json!({"q": "</script><!-- \u{2028} & >"});
        let s = json_for_script(&v);
        assert!(
            !s.contains('<') && !s.contains('>') && !s.contains('&'),
            "{s}"
        );
        let back: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back, v);
        let island = html! { script type="application/json" { (JsonIsland(&v)) } };
        assert_eq!(
            island.into_string(),
            format!("<script type=\"application/json\">{s}</script>")
        );
    }
}
