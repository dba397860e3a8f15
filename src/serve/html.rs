//! Escaping for everything the HTTP surface writes. Page text, quotes, diff
//! lines, names and notes are untrusted: they go through one of these before
//! they reach HTML, an attribute, SVG, XML or a `<script>` data island.

use std::fmt::Write;

/// Escape for HTML and XML text and for quoted attribute values (also SVG and
/// Atom): `& < > " '` become entities. Control characters that XML 1.0 forbids
/// are dropped, so a feed stays well-formed whatever a page contained.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => out.push(c),
        }
    }
    out
}

/// An href value for an untrusted URL: only absolute http(s) URLs pass, already
/// escaped for a quoted attribute. Anything else (`javascript:`, `data:`,
/// `file:`, relative) gives None and is shown as text instead.
pub fn http_href(url: &str) -> Option<String> {
    let u = url::Url::parse(url.trim()).ok()?;
    matches!(u.scheme(), "http" | "https")
        .then(|| esc(u.as_str()))
        .filter(|_| u.host_str().is_some())
}

/// A link to `url` showing `label` when the URL is http(s); else the label as
/// plain text.
pub fn link_or_text(url: &str, label: &str) -> String {
    match http_href(url) {
        Some(h) => format!(
            "<a href=\"{h}\" rel=\"noopener noreferrer\">{}</a>",
            esc(label)
        ),
        None => esc(label),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_text_and_attributes() {
        assert_eq!(
            esc("<script>alert(1)</script> & \"x\" 'y'"),
            "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;x&quot; &#39;y&#39;"
        );
        assert_eq!(esc("a\u{0}b\u{1b}c\nd"), "abc\nd");
    }

    #[test]
    fn only_http_urls_become_links() {
        assert_eq!(
            http_href("https://example.com/a?b=1&c=\"2\"").as_deref(),
            Some("https://example.com/a?b=1&amp;c=%222%22")
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
            link_or_text("javascript:alert(1)", "<b>x</b>"),
            "&lt;b&gt;x&lt;/b&gt;"
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
    }
}
