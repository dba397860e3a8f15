//! Notify stage: compose and deliver alerts, with no database.
//!
//! In: alerts already resolved to plain data ([`Item`]s, grouped per guide in
//! [`GuideSection`]s, and per owner in a [`Digest`]). Out: one e-mail per
//! owner through SMTP ([`Mailer`], text + HTML, see [`email`]) and one POST
//! per run to a webhook ([`WebhookClient`], JSON or Slack, see [`webhook`]),
//! each returning `Ok` or a [`NotifyError`] that says whether a retry may
//! help ([`NotifyError::is_transient`]).
//!
//! Which alerts are due, retries and marking rows sent belong to the store
//! and the pipeline: they call these functions and record the result. Nothing
//! here panics on bad input, and every scraped string (summaries, quotes,
//! diffs, URLs, names) is treated as untrusted: escaped in HTML and Slack
//! mrkdwn, stripped of control characters and capped in length everywhere.

pub mod email;
pub mod link;
pub mod webhook;

pub use email::{Mailer, digest_message_id, digest_subject, render_digest};
pub use webhook::WebhookClient;

use serde::Serialize;

/// One finding to tell a person about, already resolved to plain data.
#[derive(Debug, Clone, Serialize)]
pub struct Item {
    pub alert_id: i64,
    /// `expired`, `due_soon`, `source_changed`, `drift`, `unreadable` or `resolved`.
    pub kind: String,
    /// `capability` or `guide`.
    pub subject_kind: String,
    pub subject_id: String,
    /// E.g. "Ads Agent" or the guide title.
    pub subject_name: String,
    /// One plain sentence: what is wrong.
    pub summary: String,
    /// Quoted sentences behind a drift (may be empty).
    pub evidence: Vec<Quote>,
    /// A few unified-diff lines for `source_changed`.
    pub diff_excerpt: Option<String>,
    /// The source pages involved.
    pub urls: Vec<String>,
    /// The exact command to record a review.
    pub review_command: String,
    /// Stable per alert, e.g. `<alert-42.amc@capwatch>`.
    pub message_id: String,
    /// Message-ID of the original when this is a re-notification.
    pub reminder_of: Option<String>,
    /// Pages under `[settings] public_url` (all None without it).
    pub links: Links,
    /// Signed action links for the one owner a digest goes to (never in
    /// the webhook: they act in that owner's name).
    #[serde(skip)]
    pub actions: Vec<ActionUrl>,
}

/// Dashboard pages about an item, under `[settings] public_url`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Links {
    /// The capability's page (None for a guide's item).
    pub capability: Option<String>,
    /// The change pages of the changes behind a `source_changed`.
    pub changes: Vec<String>,
    /// The guide's section of the dashboard.
    pub guide: Option<String>,
}

/// One signed action link with its label ("Mark reviewed").
#[derive(Debug, Clone)]
pub struct ActionUrl {
    pub label: String,
    pub url: String,
}

/// One quoted sentence from a source page.
#[derive(Debug, Clone, Serialize)]
pub struct Quote {
    pub source: String,
    pub url: String,
    pub quote: String,
    /// The dimensions this sentence is evidence for (`stage`, `access`,
    /// `regions`): one quote behind two dimensions is listed once.
    pub dimensions: Vec<String>,
}

impl Quote {
    /// " (stage, access)", or nothing when the dimensions are unknown.
    pub fn dimensions_label(&self) -> String {
        if self.dimensions.is_empty() {
            String::new()
        } else {
            format!(" ({})", self.dimensions.join(", "))
        }
    }
}

/// Merge quotes with the same sentence from the same page into one, with
/// the dimensions of each, in first-seen order.
pub fn merge_quotes(quotes: Vec<Quote>) -> Vec<Quote> {
    let mut out: Vec<Quote> = Vec::new();
    for q in quotes {
        match out
            .iter_mut()
            .find(|o| o.quote == q.quote && o.url == q.url && o.source == q.source)
        {
            Some(o) => {
                for d in q.dimensions {
                    if !o.dimensions.contains(&d) {
                        o.dimensions.push(d);
                    }
                }
            }
            None => out.push(q),
        }
    }
    out
}

/// Items for one guide, in a digest.
#[derive(Debug, Clone, Serialize)]
pub struct GuideSection {
    pub guide_id: String,
    pub guide_title: String,
    pub items: Vec<Item>,
    /// "Review the whole guide" for the owner a digest goes to.
    #[serde(skip)]
    pub guide_action: Option<ActionUrl>,
}

/// One e-mail to one owner.
#[derive(Debug, Clone)]
pub struct Digest {
    pub to: String,
    pub sections: Vec<GuideSection>,
}

impl Digest {
    /// Every alert id in the digest, sorted and without repeats.
    pub fn alert_ids(&self) -> Vec<i64> {
        let mut ids: Vec<i64> = self
            .sections
            .iter()
            .flat_map(|s| s.items.iter().map(|i| i.alert_id))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }
}

/// Why a notification could not be built or delivered.
///
/// Messages are lower case, name the thing and say the fix. They never hold
/// the SMTP password or a webhook URL's path (which often is a secret).
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// A `from` or `to` address is not a mailbox.
    #[error("{role} address \"{value}\" is not a valid mailbox: {reason}; {fix}")]
    Address {
        /// `from` or `to`.
        role: &'static str,
        value: String,
        reason: String,
        fix: &'static str,
    },
    /// The channel settings cannot be used (bad URL, TLS set-up).
    #[error("{0}")]
    Config(String),
    /// The message could not be composed.
    #[error("cannot compose the notification: {0}")]
    Build(String),
    /// The SMTP server could not be reached or did not take the message.
    #[error("{message}")]
    Smtp { transient: bool, message: String },
    /// The webhook could not be reached or did not answer 2xx.
    #[error("{message}")]
    Webhook {
        /// The HTTP status, when the server answered.
        status: Option<u16>,
        message: String,
    },
}

impl NotifyError {
    /// True when the same delivery may succeed later unchanged (network
    /// trouble, timeouts, SMTP 4xx, HTTP 5xx/408/429); false when a person
    /// has to fix something first. Either way the caller keeps the alert.
    pub fn is_transient(&self) -> bool {
        match self {
            NotifyError::Address { .. } | NotifyError::Config(_) | NotifyError::Build(_) => false,
            NotifyError::Smtp { transient, .. } => *transient,
            NotifyError::Webhook { status, .. } => match status {
                None => true,
                Some(s) => *s >= 500 || *s == 408 || *s == 429,
            },
        }
    }
}

/// Kinds in the order a reader should see them: the most urgent first.
const KIND_ORDER: &[&str] = &[
    "expired",
    "drift",
    "source_changed",
    "unreadable",
    "due_soon",
];

/// Sort key for an item kind; unknown kinds go after the known ones.
fn kind_rank(kind: &str) -> usize {
    KIND_ORDER
        .iter()
        .position(|k| *k == kind)
        .unwrap_or(KIND_ORDER.len())
}

/// A short human label for an item kind.
pub fn kind_label(kind: &str) -> String {
    match kind {
        "expired" => "Validation expired".into(),
        "due_soon" => "Validation due soon".into(),
        "source_changed" => "Source page changed".into(),
        "drift" => "Claim differs from the docs".into(),
        "unreadable" => "Source cannot be read".into(),
        "resolved" => "Resolved".into(),
        other => clean_line(other, 60),
    }
}

fn is_resolved(item: &Item) -> bool {
    item.kind == "resolved"
}

/// The open (not resolved) items of a section, most urgent first.
fn open_items(section: &GuideSection) -> Vec<&Item> {
    let mut items: Vec<&Item> = section.items.iter().filter(|i| !is_resolved(i)).collect();
    items.sort_by_key(|i| (kind_rank(&i.kind), i.alert_id));
    items
}

/// Every resolved item with the title of its guide, in digest order.
fn resolved_items(sections: &[GuideSection]) -> Vec<(&str, &Item)> {
    sections
        .iter()
        .flat_map(|s| {
            s.items
                .iter()
                .filter(|i| is_resolved(i))
                .map(move |i| (s.guide_title.as_str(), i))
        })
        .collect()
}

/// How many open and resolved items there are.
fn counts(sections: &[GuideSection]) -> (usize, usize) {
    let all = sections.iter().flat_map(|s| s.items.iter());
    let resolved = all.clone().filter(|i| is_resolved(i)).count();
    (all.count() - resolved, resolved)
}

/// "3 findings need you", "1 finding needs you, 2 resolved", "2 findings resolved".
fn count_phrase(open: usize, resolved: usize) -> String {
    let plural = |n: usize| if n == 1 { "finding" } else { "findings" };
    match (open, resolved) {
        (0, r) => format!("{r} {} resolved", plural(r)),
        (o, 0) => format!(
            "{o} {} {}",
            plural(o),
            if o == 1 { "needs you" } else { "need you" }
        ),
        (o, r) => format!(
            "{o} {} {}, {r} resolved",
            plural(o),
            if o == 1 { "needs you" } else { "need you" }
        ),
    }
}

/// Untrusted text as one line: control characters and runs of white space
/// become one space, and at most `max` characters are kept (then "…").
pub(crate) fn clean_line(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max * 4));
    let mut chars = 0;
    let mut space = false;
    for c in s.trim().chars() {
        let c = if c.is_control() || c.is_whitespace() {
            ' '
        } else {
            c
        };
        if c == ' ' {
            if space {
                continue;
            }
            space = true;
        } else {
            space = false;
        }
        if chars == max {
            out.push('…');
            return out;
        }
        out.push(c);
        chars += 1;
    }
    out
}

/// Untrusted text as a block: at most `max_lines` lines of at most
/// `max_cols` characters, control characters (but tabs) replaced.
pub(crate) fn clean_block(s: &str, max_lines: usize, max_cols: usize) -> String {
    let mut lines: Vec<String> = Vec::new();
    let all: Vec<&str> = s.lines().collect();
    for line in all.iter().take(max_lines) {
        let mut out = String::new();
        for (n, c) in line.chars().enumerate() {
            if n == max_cols {
                out.push('…');
                break;
            }
            out.push(if c == '\t' {
                ' '
            } else if c.is_control() {
                '\u{fffd}'
            } else {
                c
            });
        }
        lines.push(out.trim_end().to_string());
    }
    if all.len() > max_lines {
        lines.push(format!("… ({} more lines)", all.len() - max_lines));
    }
    lines.join("\n")
}

/// The URL when it is http(s) and parses, normalised; `None` otherwise.
pub(crate) fn http_url(s: &str) -> Option<url::Url> {
    let u = url::Url::parse(s.trim()).ok()?;
    matches!(u.scheme(), "http" | "https").then_some(u)
}

/// Limits on what one item may carry into a message.
pub(crate) const MAX_SUMMARY: usize = 600;
pub(crate) const MAX_QUOTES: usize = 5;
pub(crate) const MAX_QUOTE: usize = 500;
pub(crate) const MAX_URLS: usize = 10;
pub(crate) const MAX_URL: usize = 300;
pub(crate) const MAX_DIFF_LINES: usize = 40;
pub(crate) const MAX_DIFF_COLS: usize = 200;
pub(crate) const MAX_NAME: usize = 200;
pub(crate) const MAX_COMMAND: usize = 400;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_quote_for_two_dimensions_is_listed_once_with_both() {
        let q = |quote: &str, d: &str| Quote {
            source: "s".into(),
            url: "https://example.com/".into(),
            quote: quote.into(),
            dimensions: vec![d.into()],
        };
        let merged = merge_quotes(vec![
            q("Closed beta.", "stage"),
            q("Closed beta.", "access"),
            q("US only.", "regions"),
        ]);
        assert_eq!(merged.len(), 2);
        assert_eq!(merged[0].dimensions, ["stage", "access"]);
        assert_eq!(merged[0].dimensions_label(), " (stage, access)");
    }

    #[test]
    fn clean_line_collapses_controls_and_caps() {
        assert_eq!(clean_line("  a\r\n\tb\u{1b}[31m  c ", 100), "a b [31m c");
        assert_eq!(clean_line("abcdef", 3), "abc…");
        assert_eq!(clean_line("", 3), "");
    }

    #[test]
    fn clean_block_keeps_lines_and_caps() {
        let s = "+a\u{7}\n-b\n c\n d";
        assert_eq!(clean_block(s, 2, 10), "+a\u{fffd}\n-b\n… (2 more lines)");
        assert_eq!(clean_block("abcdef", 5, 3), "abc…");
    }

    #[test]
    fn http_url_takes_only_http() {
        assert!(http_url("https://docs.example.com/a?b=1").is_some());
        assert!(http_url("javascript:alert(1)").is_none());
        assert!(http_url("file:///etc/passwd").is_none());
        assert!(http_url("not a url").is_none());
    }

    #[test]
    fn count_phrases() {
        assert_eq!(count_phrase(3, 0), "3 findings need you");
        assert_eq!(count_phrase(1, 0), "1 finding needs you");
        assert_eq!(count_phrase(1, 2), "1 finding needs you, 2 resolved");
        assert_eq!(count_phrase(0, 1), "1 finding resolved");
    }

    #[test]
    fn transient_classification() {
        let w = |status| NotifyError::Webhook {
            status,
            message: String::new(),
        };
        assert!(w(None).is_transient());
        assert!(w(Some(500)).is_transient());
        assert!(w(Some(503)).is_transient());
        assert!(w(Some(429)).is_transient());
        assert!(!w(Some(400)).is_transient());
        assert!(!w(Some(404)).is_transient());
        assert!(!NotifyError::Build("x".into()).is_transient());
    }
}
