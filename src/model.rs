//! Plain data shared by every stage: lifecycle status, fetch outcomes and the
//! extracted page. No I/O here; these types are what the stages hand each other
//! and what the store saves.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use utoipa::ToSchema;

/// Where a capability is in its lifecycle.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    Announced,
    Preview,
    Beta,
    Ga,
    Deprecated,
    Retired,
    Unknown,
}

impl Stage {
    pub const ALL: [Stage; 7] = [
        Stage::Announced,
        Stage::Preview,
        Stage::Beta,
        Stage::Ga,
        Stage::Deprecated,
        Stage::Retired,
        Stage::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Announced => "announced",
            Stage::Preview => "preview",
            Stage::Beta => "beta",
            Stage::Ga => "ga",
            Stage::Deprecated => "deprecated",
            Stage::Retired => "retired",
            Stage::Unknown => "unknown",
        }
    }
}

/// Who may use a capability.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    Open,
    Gated,
    Unknown,
}

impl Access {
    pub const ALL: [Access; 3] = [Access::Open, Access::Gated, Access::Unknown];

    pub fn as_str(self) -> &'static str {
        match self {
            Access::Open => "open",
            Access::Gated => "gated",
            Access::Unknown => "unknown",
        }
    }
}

macro_rules! str_enum {
    ($ty:ty, $what:literal) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $ty {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::ALL
                    .into_iter()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| {
                        let names: Vec<_> = Self::ALL.iter().map(|v| v.as_str()).collect();
                        format!("unknown {} `{s}`; use one of: {}", $what, names.join(", "))
                    })
            }
        }
    };
}

str_enum!(Stage, "stage");
str_enum!(Access, "access");

/// A set of region or marketplace codes, kept sorted and deduplicated.
/// Empty means "not stated"; `["global"]` means everywhere.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(transparent)]
pub struct Regions(Vec<String>);

impl Regions {
    pub const GLOBAL: &'static str = "global";

    pub fn new<I, S>(codes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut v: Vec<String> = codes.into_iter().map(Into::into).collect();
        v.sort();
        v.dedup();
        Regions(v)
    }

    pub fn is_known(&self) -> bool {
        !self.0.is_empty()
    }

    pub fn is_global(&self) -> bool {
        self.0.iter().any(|r| r == Self::GLOBAL)
    }

    pub fn codes(&self) -> &[String] {
        &self.0
    }
}

impl fmt::Display for Regions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("-")
        } else {
            f.write_str(&self.0.join(","))
        }
    }
}

/// One status: every dimension at once. Used for claims and observations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Status {
    pub stage: Stage,
    pub access: Access,
    pub regions: Regions,
}

impl Status {
    pub fn unknown() -> Self {
        Status {
            stage: Stage::Unknown,
            access: Access::Unknown,
            regions: Regions::default(),
        }
    }

    /// The dimensions on which `observed` is known and disagrees with `self` (a claim).
    pub fn drift_from(&self, observed: &Status) -> Vec<Dimension> {
        let mut out = Vec::new();
        if observed.stage != Stage::Unknown && observed.stage != self.stage {
            out.push(Dimension::Stage);
        }
        if observed.access != Access::Unknown && observed.access != self.access {
            out.push(Dimension::Access);
        }
        if observed.regions.is_known()
            && self.regions.is_known()
            && observed.regions != self.regions
        {
            out.push(Dimension::Regions);
        }
        out
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.stage, self.access)?;
        if self.regions.is_known() {
            write!(f, " [{}]", self.regions)?;
        }
        Ok(())
    }
}

/// One independent dimension of a status.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Dimension {
    Stage,
    Access,
    Regions,
}

impl Dimension {
    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::Stage => "stage",
            Dimension::Access => "access",
            Dimension::Regions => "regions",
        }
    }
}

/// What happened when a source was fetched. Saved on every check; never an `Err`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", content = "detail", rename_all = "snake_case")]
pub enum Outcome {
    /// A body arrived and the selection matched.
    Ok,
    /// The server answered 304: nothing new.
    NotModified,
    /// The server answered with an error status.
    Http(u16),
    /// The request or body took longer than the timeout.
    Timeout,
    /// The body was larger than `max_page_bytes`.
    TooLarge(u64),
    /// Too many redirects, or a redirect to a scheme we do not follow.
    Redirect(String),
    /// DNS, connection, TLS or a broken body.
    Network(String),
    /// The body could not be read as a page (binary, undecodable).
    Unreadable(String),
    /// The page arrived but the CSS selection matched nothing. Holds the
    /// select text, followed by [`JS_SHELL_HINT`] when the page is an empty
    /// shell that JavaScript fills (see [`Outcome::no_match_in_shell`]).
    NoMatch(String),
    /// A `render = "browser"` source could not be read because the browser
    /// failed: none found, it would not start, it crashed, or the page's
    /// renderer crashed. Holds what happened and the fix.
    Browser(String),
}

/// What a no-match on a script-only page adds to its detail.
pub const JS_SHELL_HINT: &str = "; this page is built by JavaScript; try render = \"browser\"";

impl Outcome {
    /// The selection `select` matched nothing readable on a page that is an
    /// empty shell filled by JavaScript: the detail says to render it.
    pub fn no_match_in_shell(select: &str) -> Outcome {
        Outcome::NoMatch(format!("{select}{JS_SHELL_HINT}"))
    }

    /// The short name saved in the `check.outcome` column.
    pub fn kind(&self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::NotModified => "not_modified",
            Outcome::Http(_) => "http_error",
            Outcome::Timeout => "timeout",
            Outcome::TooLarge(_) => "too_large",
            Outcome::Redirect(_) => "redirect",
            Outcome::Network(_) => "network",
            Outcome::Unreadable(_) => "unreadable",
            Outcome::NoMatch(_) => "no_match",
            Outcome::Browser(_) => "browser",
        }
    }

    /// True when the source could be read (its content is known).
    pub fn is_success(&self) -> bool {
        matches!(self, Outcome::Ok | Outcome::NotModified)
    }

    /// The detail saved beside the kind, if any.
    pub fn detail(&self) -> Option<String> {
        match self {
            Outcome::Ok | Outcome::NotModified | Outcome::Timeout => None,
            Outcome::Http(code) => Some(code.to_string()),
            Outcome::TooLarge(limit) => Some(limit.to_string()),
            Outcome::Redirect(s)
            | Outcome::Network(s)
            | Outcome::Unreadable(s)
            | Outcome::NoMatch(s)
            | Outcome::Browser(s) => Some(s.clone()),
        }
    }

    /// Rebuild an outcome from the two saved columns.
    pub fn from_parts(kind: &str, detail: Option<&str>) -> Outcome {
        let d = || detail.unwrap_or_default().to_string();
        match kind {
            "ok" => Outcome::Ok,
            "not_modified" => Outcome::NotModified,
            "http_error" => Outcome::Http(detail.and_then(|s| s.parse().ok()).unwrap_or(0)),
            "timeout" => Outcome::Timeout,
            "too_large" => Outcome::TooLarge(detail.and_then(|s| s.parse().ok()).unwrap_or(0)),
            "redirect" => Outcome::Redirect(d()),
            "unreadable" => Outcome::Unreadable(d()),
            "no_match" => Outcome::NoMatch(d()),
            "browser" => Outcome::Browser(d()),
            _ => Outcome::Network(d()),
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Ok => f.write_str("ok"),
            Outcome::NotModified => f.write_str("not modified"),
            Outcome::Http(code) => write!(f, "HTTP {code}"),
            Outcome::Timeout => f.write_str("timed out"),
            Outcome::TooLarge(limit) => write!(f, "page larger than {limit} bytes"),
            Outcome::Redirect(s) => write!(f, "redirect: {s}"),
            Outcome::Network(s) => write!(f, "network error: {s}"),
            Outcome::Unreadable(s) => write!(f, "unreadable page: {s}"),
            Outcome::NoMatch(s) => match s.strip_suffix(JS_SHELL_HINT) {
                Some(select) => write!(f, "selector `{select}` matched nothing{JS_SHELL_HINT}"),
                None => write!(f, "selector `{s}` matched nothing"),
            },
            Outcome::Browser(s) => write!(f, "browser failure: {s}"),
        }
    }
}

/// The structural role of one block of extracted text. Inference uses it to
/// tell a page-level banner or title from a footnote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockKind {
    /// `h1`…`h6` or a Markdown heading; the number is the level.
    Heading(u8),
    Paragraph,
    ListItem,
    /// One table row, cells joined with ` | `.
    TableRow,
    /// A note, callout, alert, admonition or banner.
    Callout,
    Code,
}

/// One block of text in reading order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Block {
    pub kind: BlockKind,
    /// Normalised text: single spaces, no leading/trailing whitespace.
    pub text: String,
    /// Byte ranges of `text` that were link text (not evidence on their own).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<(usize, usize)>,
}

/// The selected part of one page, as blocks. Produced by `extract`, read by `evaluate`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    /// The document title (`<title>`, or front-matter `title:`), if any.
    pub title: Option<String>,
    pub blocks: Vec<Block>,
}

impl Page {
    /// A page again from its stored text ([`Page::text`]) and title: each
    /// line's prefix gives its kind back. Link ranges are not stored, so link
    /// text reads as plain text.
    pub fn from_text(text: &str, title: Option<String>) -> Page {
        let blocks = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|line| {
                let hashes = line.bytes().take_while(|&b| b == b'#').count();
                let (kind, body) = if (1..=6).contains(&hashes) && line[hashes..].starts_with(' ') {
                    (BlockKind::Heading(hashes as u8), &line[hashes + 1..])
                } else if let Some(rest) = line.strip_prefix("- ") {
                    (BlockKind::ListItem, rest)
                } else if let Some(rest) = line.strip_prefix("> ") {
                    (BlockKind::Callout, rest)
                } else if let Some(rest) = line.strip_prefix("| ") {
                    (BlockKind::TableRow, rest.strip_suffix(" |").unwrap_or(rest))
                } else if let Some(rest) = line.strip_prefix("    ") {
                    (BlockKind::Code, rest)
                } else {
                    (BlockKind::Paragraph, line)
                };
                Block {
                    kind,
                    text: body.to_string(),
                    links: Vec::new(),
                }
            })
            .collect();
        Page { title, blocks }
    }

    /// The normalised text that is hashed, stored as a snapshot and diffed:
    /// one line per block, with a light Markdown prefix for structure.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for b in &self.blocks {
            match b.kind {
                BlockKind::Heading(level) => {
                    for _ in 0..level.clamp(1, 6) {
                        out.push('#');
                    }
                    out.push(' ');
                }
                BlockKind::ListItem => out.push_str("- "),
                BlockKind::Callout => out.push_str("> "),
                BlockKind::TableRow => out.push_str("| "),
                BlockKind::Code => out.push_str("    "),
                BlockKind::Paragraph => {}
            }
            out.push_str(&b.text);
            if b.kind == BlockKind::TableRow {
                out.push_str(" |");
            }
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drift_ignores_unknown_dimensions() {
        let claim = Status {
            stage: Stage::Beta,
            access: Access::Gated,
            regions: Regions::new(["US"]),
        };
        assert!(claim.drift_from(&Status::unknown()).is_empty());
        let observed = Status {
            stage: Stage::Ga,
            access: Access::Unknown,
            regions: Regions::new(["UK", "US"]),
        };
        assert_eq!(
            claim.drift_from(&observed),
            vec![Dimension::Stage, Dimension::Regions]
        );
    }

    #[test]
    fn outcome_round_trips_through_columns() {
        for o in [
            Outcome::Ok,
            Outcome::NotModified,
            Outcome::Http(503),
            Outcome::Timeout,
            Outcome::TooLarge(5),
            Outcome::Redirect("loop".into()),
            Outcome::Network("refused".into()),
            Outcome::Unreadable("binary".into()),
            Outcome::NoMatch("main".into()),
            Outcome::no_match_in_shell("main"),
            Outcome::Browser("the page's renderer crashed".into()),
        ] {
            let back = Outcome::from_parts(o.kind(), o.detail().as_deref());
            assert_eq!(back, o);
        }
    }

    #[test]
    fn stage_parse_names_the_choices() {
        let err = "bta".parse::<Stage>().unwrap_err();
        assert!(err.contains("beta"), "{err}");
        assert_eq!("ga".parse::<Stage>().unwrap(), Stage::Ga);
    }

    #[test]
    fn page_text_marks_structure() {
        let page = Page {
            title: None,
            blocks: vec![
                Block {
                    kind: BlockKind::Heading(2),
                    text: "Setup".into(),
                    links: vec![],
                },
                Block {
                    kind: BlockKind::TableRow,
                    text: "a | b".into(),
                    links: vec![],
                },
            ],
        };
        assert_eq!(page.text(), "## Setup\n| a | b |\n");
    }

    #[test]
    fn stored_text_reads_back_as_the_same_blocks() {
        let block = |kind, text: &str| Block {
            kind,
            text: text.into(),
            links: vec![],
        };
        let page = Page {
            title: Some("Foo (beta)".into()),
            blocks: vec![
                block(BlockKind::Heading(1), "Foo"),
                block(BlockKind::Callout, "Preview"),
                block(BlockKind::Paragraph, "Foo is in beta."),
                block(BlockKind::ListItem, "us-east-1"),
                block(BlockKind::TableRow, "Foo | | ✅"),
                block(BlockKind::Code, "foo --beta"),
            ],
        };
        let back = Page::from_text(&page.text(), page.title.clone());
        assert_eq!(back, page);
    }
}

/// Where a review or a snooze was recorded from, kept for the audit trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Channel {
    /// `capwatch review` / `capwatch snooze`.
    Cli,
    /// `POST /api/v1/reviews` with the bearer token.
    Api,
    /// A form on the dashboard, signed in.
    Web,
    /// A signed action link from an alert e-mail.
    MailLink,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Cli => "cli",
            Channel::Api => "api",
            Channel::Web => "web",
            Channel::MailLink => "mail-link",
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Channel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "cli" => Ok(Channel::Cli),
            "api" => Ok(Channel::Api),
            "web" => Ok(Channel::Web),
            "mail-link" => Ok(Channel::MailLink),
            other => Err(format!(
                "unknown channel \"{other}\"; known: cli, api, web, mail-link"
            )),
        }
    }
}

/// Who recorded something and through which channel; the remote address for
/// the web ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub channel: Channel,
    pub remote_addr: Option<String>,
}

impl Origin {
    /// Recorded on this machine by the command line.
    pub fn cli() -> Origin {
        Origin {
            channel: Channel::Cli,
            remote_addr: None,
        }
    }
}
