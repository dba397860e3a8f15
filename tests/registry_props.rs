//! Property tests of the registry parser: whatever the text, it never panics
//! and answers with a compiled registry or problems located inside the file.

use capwatch::config::{self, ConfigError};
use proptest::prelude::*;
use std::path::Path;

const VALID: &str = r#"[settings]
schedule = "0 6 * * *"
timeout = "30s"
per_host = 2

[[guide]]
id = "amc"
title = "AMC"
url = "file:guide.html"
validated_pattern = 'Last validated: (?<date>.+?)\.'
validated_on = "2026-06-06"
max_age = "90d"
owners = ["owner@example.com"]

[[capability]]
id = "ads-agent"
guide = "amc"
name = "Ads Agent"
aliases = ["Amazon Ads Agent"]
claim = { stage = "beta", access = "gated", regions = ["US"] }
phrases = { beta = ["early access"] }

  [[capability.source]]
  url = "https://example.com/ads-agent"
  select = "main"
  ignore = ["nav", ".feedback"]
  schedule = "0 */6 * * *"
"#;

/// Pieces that make interesting TOML when spliced in.
const TOKENS: &[&str] = &[
    "[",
    "]",
    "[[",
    "]]",
    "{",
    "}",
    "=",
    "\"",
    "'",
    "\n",
    ",",
    ".",
    "#",
    "\\",
    "\u{e9}",
    "\u{1F600}",
    "capability",
    "guide",
    "source",
    "settings",
    "id",
    "url",
    "select",
    "schedule",
    "claim",
    "stage",
    "access",
    "\"ga\"",
    "\"nope\"",
    "[[capability.source]]",
    "[[guide]]",
    "\"*/5 * * * *\"",
    "\"0 6 * *\"",
    "\"ftp://x\"",
    "\"file:\"",
    "\"main >> \"",
    "\"90 days\"",
    "\"2026-13-40\"",
    "9999999999999999999999",
    "-1",
    "true",
    "1979-05-27T07:32:00Z",
    "inf",
    "nan",
];

fn check_answer(text: &str) -> Result<(), TestCaseError> {
    let lines = text.split('\n').count();
    match config::parse(Path::new("/r/sources.toml"), text) {
        Ok(reg) => {
            // Every compiled source has a parsed URL and a cron schedule.
            for s in reg.sources() {
                prop_assert!(matches!(s.url.scheme(), "http" | "https" | "file"));
            }
        }
        Err(ConfigError::Invalid { problems, .. }) => {
            prop_assert!(!problems.is_empty());
            for p in &problems {
                prop_assert!(
                    p.line >= 1 && p.line <= lines + 1,
                    "line {} of {lines}: {}",
                    p.line,
                    p.message
                );
                prop_assert!(p.col >= 1, "col {}", p.col);
                prop_assert!(!p.message.is_empty());
                prop_assert!(
                    !p.message.contains('\n'),
                    "one line per problem: {:?}",
                    p.message
                );
            }
        }
        Err(e) => prop_assert!(false, "unexpected error kind: {e}"),
    }
    Ok(())
}

fn char_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
        check_answer(&text)?;
    }

    #[test]
    fn edited_registries_never_panic(
        edits in proptest::collection::vec((0usize..2000, 0usize..40, 0usize..TOKENS.len()), 1..6)
    ) {
        let mut text = VALID.to_string();
        for (at, delete, token) in edits {
            let start = char_boundary(&text, at % (text.len() + 1));
            let end = char_boundary(&text, start + delete);
            text.replace_range(start..end, TOKENS[token]);
        }
        check_answer(&text)?;
    }

    #[test]
    fn truncated_registries_never_panic(cut in 0usize..2000) {
        let end = char_boundary(VALID, cut % (VALID.len() + 1));
        check_answer(&VALID[..end])?;
    }
}

#[test]
fn the_property_fixture_is_valid() {
    config::parse(Path::new("/r/sources.toml"), VALID).unwrap();
}
