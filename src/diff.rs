//! Line diffs of snapshot text, shared by the store (change sizes), the CLI
//! (`diff`) and the HTTP surface. In: two texts. Out: counts or a unified diff.

use similar::{ChangeTag, TextDiff};

/// Lines added and removed going from `old` to `new`.
pub fn line_counts(old: &str, new: &str) -> (i64, i64) {
    let diff = TextDiff::from_lines(old, new);
    let mut added = 0;
    let mut removed = 0;
    for change in diff.iter_all_changes() {
        match change.tag() {
            ChangeTag::Insert => added += 1,
            ChangeTag::Delete => removed += 1,
            ChangeTag::Equal => {}
        }
    }
    (added, removed)
}

/// A unified diff with three lines of context and the given file headers.
pub fn unified(old: &str, new: &str, old_header: &str, new_header: &str) -> String {
    TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(old_header, new_header)
        .to_string()
}

/// One line of a diff, for renderers that style lines themselves.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct DiffLine {
    /// `"+"`, `"-"` or `" "`; `"@"` for a hunk header.
    #[schema(value_type = String, pattern = "^[-+ @]$")]
    pub tag: &'static str,
    pub text: String,
}

/// The diff as tagged lines, in hunks with three lines of context.
pub fn lines(old: &str, new: &str) -> Vec<DiffLine> {
    let diff = TextDiff::from_lines(old, new);
    let mut out = Vec::new();
    for hunk in diff.unified_diff().context_radius(3).iter_hunks() {
        out.push(DiffLine {
            tag: "@",
            text: hunk.header().to_string(),
        });
        for change in hunk.iter_changes() {
            let tag = match change.tag() {
                ChangeTag::Insert => "+",
                ChangeTag::Delete => "-",
                ChangeTag::Equal => " ",
            };
            out.push(DiffLine {
                tag,
                text: change.value().trim_end_matches('\n').to_string(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_unified() {
        assert_eq!(line_counts("a\nb\nc\n", "a\nB\nc\nd\n"), (2, 1));
        let u = unified("a\nb\n", "a\nc\n", "old", "new");
        assert!(u.contains("--- old\n+++ new\n"), "{u}");
        assert!(u.contains("-b\n+c\n"), "{u}");
        let l = lines("a\nb\n", "a\nc\n");
        assert_eq!(l[0].tag, "@");
        assert!(l.iter().any(|d| d.tag == "+" && d.text == "c"));
    }
}
