//! Config stage: read `sources.toml` once into a compiled [`Registry`].
//!
//! In: the registry file's path and text. Out: a `Registry` whose URLs are
//! parsed, selectors and cron expressions compiled, durations and dates typed —
//! or every problem found, each as `FILE:LINE:COL: message` naming the key and
//! the fix. Later stages never re-validate.

use crate::evaluate::infer::Vocabulary;
use crate::extract::Selection;
use crate::model::{Access, Regions, Stage, Status};
use crate::schedule::Cron;
use jiff::civil::Date;
use regex::Regex;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};
use url::Url;

/// The compiled registry.
#[derive(Debug, Clone)]
pub struct Registry {
    /// The file it came from.
    pub path: PathBuf,
    /// SHA-256 of the file's text (hex): instances sharing one PostgreSQL
    /// compare it to notice a different `sources.toml`.
    pub fingerprint: String,
    pub settings: Settings,
    pub email: Option<Email>,
    pub webhook: Option<Webhook>,
    pub guides: Vec<Guide>,
    pub capabilities: Vec<Capability>,
    /// Where each capability and source id is in `capabilities`: lookups by
    /// id are made per source per cycle, and a scan each time made a cycle
    /// of 100,000 sources quadratic.
    index: RegistryIndex,
}

#[derive(Debug, Clone, Default)]
struct RegistryIndex {
    capabilities: std::collections::HashMap<String, usize>,
    sources: std::collections::HashMap<String, (usize, usize)>,
}

impl RegistryIndex {
    fn of(capabilities: &[Capability]) -> RegistryIndex {
        let mut index = RegistryIndex::default();
        for (i, c) in capabilities.iter().enumerate() {
            index.capabilities.entry(c.id.clone()).or_insert(i);
            for (j, s) in c.sources.iter().enumerate() {
                index.sources.entry(s.id.clone()).or_insert((i, j));
            }
        }
        index
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    /// The SQLite file, resolved against the registry's folder, or a
    /// `postgres://` URL.
    pub database: PathBuf,
    pub schedule: Cron,
    pub concurrency: usize,
    pub per_host: usize,
    pub timeout: Duration,
    pub max_page_bytes: u64,
    pub failures_before_alert: u32,
    pub renotify: Duration,
    /// The time zone cron expressions are read in (default UTC).
    pub timezone: chrono_tz::Tz,
    /// Where people reach the HTTP surface (`https://capwatch.example.com`),
    /// without a trailing slash: alerts and feeds link to its pages, and
    /// signed action links point at it. None: no links.
    pub public_url: Option<Url>,
    /// The Chrome/Chromium binary for `render = "browser"` sources, as
    /// written (a path with a `/` is resolved against the registry's
    /// folder); None: look for `chromium`, `chromium-browser` or
    /// `google-chrome` on PATH when a page needs it.
    pub browser: Option<PathBuf>,
    /// Pages rendered at once in the browser (default 2).
    pub browser_tabs: usize,
}

impl Settings {
    /// `public_url` joined with an absolute path such as `/capabilities/x`.
    pub fn public_link(&self, path: &str) -> Option<String> {
        let base = self.public_url.as_ref()?;
        Some(format!("{}{path}", base.as_str().trim_end_matches('/')))
    }
}

#[derive(Debug, Clone)]
pub struct Email {
    /// `smtp://host:port` (STARTTLS when offered) or `smtps://host:port`.
    pub smtp: Url,
    pub from: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookFormat {
    Json,
    Slack,
}

#[derive(Debug, Clone)]
pub struct Webhook {
    pub url: Url,
    pub format: WebhookFormat,
}

#[derive(Debug, Clone)]
pub struct Guide {
    pub id: String,
    pub title: String,
    /// Where the guide itself is published, to read its validation date.
    pub url: Option<Url>,
    /// Has a `date` capture group.
    pub validated_pattern: Option<Regex>,
    pub validated_on: Option<Date>,
    pub max_age: Duration,
    pub warn_before: Duration,
    pub owners: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Capability {
    pub id: String,
    pub guide: String,
    pub name: String,
    pub aliases: Vec<String>,
    /// The claim typed into the registry; unknown when the registry leaves
    /// it to the guide's own text (see `pinned`).
    pub claim: Status,
    /// Whether the registry pins the claim (`claim = {…}`); without it the
    /// claim is read from the guide's page.
    pub pinned: bool,
    pub validated_on: Option<Date>,
    /// Overrides of the guide's values.
    pub max_age: Option<Duration>,
    pub warn_before: Option<Duration>,
    /// Extra owners on top of the guide's.
    pub owners: Vec<String>,
    pub vocabulary: Vocabulary,
    pub sources: Vec<Source>,
}

#[derive(Debug, Clone)]
pub struct Source {
    pub id: String,
    pub capability: String,
    pub url: Url,
    pub selection: Selection,
    pub ignore: Vec<String>,
    pub schedule: Cron,
    /// Capability vocabulary plus this source's own additions.
    pub vocabulary: Vocabulary,
    /// How the page is read: a plain GET, or loaded in headless Chromium.
    pub render: Render,
}

/// How a source's page is read (`render` in `[[capability.source]]`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Render {
    /// One HTTP GET (conditional), as the page comes from the server.
    #[default]
    Http,
    /// The page is loaded in headless Chromium and read after its scripts ran.
    Browser,
}

impl Render {
    pub fn as_str(self) -> &'static str {
        match self {
            Render::Http => "http",
            Render::Browser => "browser",
        }
    }
}

impl std::str::FromStr for Render {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "http" => Ok(Render::Http),
            "browser" => Ok(Render::Browser),
            other => Err(format!(
                "`render` = \"{other}\" is not known; use \"http\" (a plain GET, the default) or \"browser\" (load the page in headless Chromium)"
            )),
        }
    }
}

impl Registry {
    pub fn guide(&self, id: &str) -> Option<&Guide> {
        self.guides.iter().find(|g| g.id == id)
    }

    pub fn capability(&self, id: &str) -> Option<&Capability> {
        self.index
            .capabilities
            .get(id)
            .and_then(|&i| self.capabilities.get(i))
    }

    pub fn sources(&self) -> impl Iterator<Item = &Source> {
        self.capabilities.iter().flat_map(|c| c.sources.iter())
    }

    pub fn source(&self, id: &str) -> Option<&Source> {
        self.index
            .sources
            .get(id)
            .and_then(|&(i, j)| self.capabilities.get(i)?.sources.get(j))
    }
}

/// One problem in the registry, located in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: usize,
    pub col: usize,
    pub message: String,
}

/// Why a registry could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read registry {path}: {source}; pass --config PATH or set CAPWATCH_CONFIG")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}", render_problems(.path, .problems))]
    Invalid {
        path: PathBuf,
        problems: Vec<Problem>,
    },
}

fn render_problems(path: &Path, problems: &[Problem]) -> String {
    let mut out = String::new();
    for (i, p) in problems.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&format!(
            "{}:{}:{}: {}",
            path.display(),
            p.line,
            p.col,
            p.message
        ));
    }
    out
}

/// Read and compile the registry at `path`.
pub fn load(path: &Path) -> Result<Registry, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(path, &text)
}

/// Compile registry text; `path` names the file in messages and anchors relative paths.
pub fn parse(path: &Path, text: &str) -> Result<Registry, ConfigError> {
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut cx = Compiler {
        text,
        declared_guides: Vec::new(),
        timezone: chrono_tz::UTC,
        base,
        problems: Vec::new(),
    };
    let registry = cx.compile(path);
    if cx.problems.is_empty() {
        Ok(registry)
    } else {
        let mut problems: Vec<Problem> = cx
            .problems
            .iter()
            .map(|(span, message)| {
                let (line, col) = line_col(text, span.start);
                Problem {
                    line,
                    col,
                    message: message.clone(),
                }
            })
            .collect();
        problems.sort_by_key(|p| (p.line, p.col));
        problems.dedup();
        Err(ConfigError::Invalid {
            path: path.to_path_buf(),
            problems,
        })
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let col = text[line_start..offset].chars().count() + 1;
    (line, col)
}

// ---------------------------------------------------------------------------
// Raw shapes, exactly as written in the file.

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    database: Option<Spanned<String>>,
    schedule: Option<Spanned<String>>,
    concurrency: Option<Spanned<i64>>,
    per_host: Option<Spanned<i64>>,
    timeout: Option<Spanned<String>>,
    max_page_bytes: Option<Spanned<i64>>,
    failures_before_alert: Option<Spanned<i64>>,
    renotify: Option<Spanned<String>>,
    timezone: Option<Spanned<String>>,
    public_url: Option<Spanned<String>>,
    browser: Option<Spanned<String>>,
    browser_tabs: Option<Spanned<i64>>,
}
const SETTINGS_KEYS: &[&str] = &[
    "database",
    "schedule",
    "concurrency",
    "per_host",
    "timeout",
    "max_page_bytes",
    "failures_before_alert",
    "renotify",
    "timezone",
    "public_url",
    "browser",
    "browser_tabs",
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEmail {
    smtp: Spanned<String>,
    from: Spanned<String>,
}
const EMAIL_KEYS: &[&str] = &["smtp", "from"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWebhook {
    url: Spanned<String>,
    format: Option<Spanned<String>>,
}
const WEBHOOK_KEYS: &[&str] = &["url", "format"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGuide {
    id: Spanned<String>,
    title: String,
    url: Option<Spanned<String>>,
    validated_pattern: Option<Spanned<String>>,
    validated_on: Option<Spanned<String>>,
    max_age: Option<Spanned<String>>,
    warn_before: Option<Spanned<String>>,
    #[serde(default)]
    owners: Vec<Spanned<String>>,
}
const GUIDE_KEYS: &[&str] = &[
    "id",
    "title",
    "url",
    "validated_pattern",
    "validated_on",
    "max_age",
    "warn_before",
    "owners",
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCapability {
    id: Spanned<String>,
    guide: Spanned<String>,
    name: String,
    #[serde(default)]
    aliases: Vec<String>,
    claim: Option<Spanned<RawClaim>>,
    validated_on: Option<Spanned<String>>,
    max_age: Option<Spanned<String>>,
    warn_before: Option<Spanned<String>>,
    #[serde(default)]
    owners: Vec<Spanned<String>>,
    phrases: Option<Spanned<BTreeMap<String, Vec<String>>>>,
}
const CAPABILITY_KEYS: &[&str] = &[
    "id",
    "guide",
    "name",
    "aliases",
    "claim",
    "validated_on",
    "max_age",
    "warn_before",
    "owners",
    "phrases",
    "source",
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClaim {
    stage: Spanned<String>,
    access: Option<Spanned<String>>,
    #[serde(default)]
    regions: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    id: Option<Spanned<String>>,
    url: Spanned<String>,
    select: Option<Spanned<String>>,
    #[serde(default)]
    ignore: Vec<Spanned<String>>,
    schedule: Option<Spanned<String>>,
    phrases: Option<Spanned<BTreeMap<String, Vec<String>>>>,
    render: Option<Spanned<String>>,
}
const SOURCE_KEYS: &[&str] = &[
    "id", "url", "select", "ignore", "schedule", "phrases", "render",
];

const TOP_KEYS: &[&str] = &["settings", "email", "webhook", "guide", "capability"];

// ---------------------------------------------------------------------------

struct Compiler<'t> {
    text: &'t str,
    /// Guide ids as written, even in guides that fail to compile, so one
    /// broken guide does not also make every capability's `guide` an error.
    declared_guides: Vec<String>,
    /// Cron expressions are read in this zone (from [settings]).
    timezone: chrono_tz::Tz,
    base: PathBuf,
    problems: Vec<(Range<usize>, String)>,
}

type Span = Range<usize>;
/// A capability as written, its sources, and where it starts.
type RawCapabilityEntry = (RawCapability, Vec<(Span, RawSource)>, Span);

impl Compiler<'_> {
    fn problem(&mut self, span: Span, message: impl fmt::Display) {
        // One problem, one line: messages from other crates may span several.
        let one_line = message
            .to_string()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        self.problems.push((span, one_line));
    }

    fn compile(&mut self, path: &Path) -> Registry {
        let (doc, syntax) = DeTable::parse_recoverable(self.text);
        for e in syntax {
            let span = e.span().unwrap_or(0..0);
            self.problem(span, format!("TOML syntax: {}", e.message()));
        }
        let doc = doc.into_inner();

        let mut raw_settings = None;
        let mut raw_email = None;
        let mut raw_webhook = None;
        let mut raw_guides = Vec::new();
        let mut raw_caps = Vec::new();
        for (key, value) in doc.iter() {
            let name: &str = key.get_ref();
            match name {
                "settings" => {
                    raw_settings = self.table::<RawSettings>(value, "[settings]", SETTINGS_KEYS)
                }
                "email" => raw_email = self.table::<RawEmail>(value, "[email]", EMAIL_KEYS),
                "webhook" => {
                    raw_webhook = self.table::<RawWebhook>(value, "[webhook]", WEBHOOK_KEYS)
                }
                "guide" => {
                    for item in self.array_of_tables(value, "guide") {
                        if let DeValue::Table(t) = item.get_ref()
                            && let Some(id) = t.get("id").and_then(|v| v.get_ref().as_str())
                        {
                            self.declared_guides.push(id.to_string());
                        }
                        if let Some(g) = self.table::<RawGuide>(item, "[[guide]]", GUIDE_KEYS) {
                            raw_guides.push(g);
                        }
                    }
                }
                "capability" => {
                    for item in self.array_of_tables(value, "capability") {
                        if let Some(c) = self.raw_capability(item) {
                            raw_caps.push(c);
                        }
                    }
                }
                other => {
                    let hint = suggest(other, TOP_KEYS);
                    self.problem(
                        key.span(),
                        format!("unknown top-level key `{other}`{hint}; the registry has [settings], [email], [webhook], [[guide]] and [[capability]]"),
                    );
                }
            }
        }

        let settings = self.settings(raw_settings.unwrap_or_default());
        let email = raw_email.and_then(|e| self.email(e));
        let webhook = raw_webhook.and_then(|w| self.webhook(w));
        let guides = self.guides(raw_guides);
        let capabilities = self.capabilities(raw_caps, &guides, &settings);
        use sha2::Digest;
        Registry {
            path: path.to_path_buf(),
            fingerprint: hex::encode(sha2::Sha256::digest(self.text.as_bytes())),
            settings,
            email,
            webhook,
            guides,
            index: RegistryIndex::of(&capabilities),
            capabilities,
        }
    }

    fn array_of_tables<'a, 'i>(
        &mut self,
        value: &'a Spanned<DeValue<'i>>,
        name: &str,
    ) -> Vec<&'a Spanned<DeValue<'i>>> {
        match value.get_ref() {
            DeValue::Array(items) => items.iter().collect(),
            _ => {
                self.problem(
                    value.span(),
                    format!("`{name}` must be an array of tables; write each entry under its own [[{name}]] header"),
                );
                Vec::new()
            }
        }
    }

    /// Deserialize one table, first reporting every unknown key with a suggestion.
    fn table<T: DeserializeOwned>(
        &mut self,
        value: &Spanned<DeValue<'_>>,
        what: &str,
        known: &[&str],
    ) -> Option<T> {
        let DeValue::Table(table) = value.get_ref() else {
            self.problem(value.span(), format!("{what} must be a table"));
            return None;
        };
        let mut clean = table.clone();
        let mut unknown = Vec::new();
        for (k, _) in table.iter() {
            let name: &str = k.get_ref();
            if !known.contains(&name) {
                unknown.push((k.span(), name.to_string()));
            }
        }
        for (span, name) in unknown {
            let hint = suggest(&name, known);
            self.problem(
                span,
                format!(
                    "unknown key `{name}` in {what}{hint}; known keys: {}",
                    known.join(", ")
                ),
            );
            clean.remove(name.as_str());
        }
        let spanned = Spanned::new(value.span(), DeValue::Table(clean));
        match T::deserialize(ValueDeserializer::from(spanned)) {
            Ok(v) => Some(v),
            Err(e) => {
                let span = e.span().unwrap_or(value.span());
                let msg = e.message().trim();
                let fix = match msg.strip_prefix("missing field `") {
                    Some(rest) => {
                        let field = rest.trim_end_matches('`');
                        format!("; add `{field} = …` to this table")
                    }
                    None => String::new(),
                };
                self.problem(span, format!("in {what}: {msg}{fix}"));
                None
            }
        }
    }

    fn raw_capability(&mut self, value: &Spanned<DeValue<'_>>) -> Option<RawCapabilityEntry> {
        let DeValue::Table(table) = value.get_ref() else {
            self.problem(value.span(), "[[capability]] must be a table");
            return None;
        };
        let mut rest = table.clone();
        let mut sources = Vec::new();
        if let Some(src) = rest.remove("source") {
            for item in self.array_of_tables(&src, "capability.source") {
                if let Some(s) = self.table::<RawSource>(item, "[[capability.source]]", SOURCE_KEYS)
                {
                    sources.push((item.span(), s));
                }
            }
        }
        let spanned = Spanned::new(value.span(), DeValue::Table(rest));
        let cap = self.table::<RawCapability>(&spanned, "[[capability]]", CAPABILITY_KEYS)?;
        Some((cap, sources, value.span()))
    }

    fn settings(&mut self, raw: RawSettings) -> Settings {
        let database = match &raw.database {
            // A PostgreSQL URL is kept as written; a path is relative to the registry.
            Some(d) if crate::store::db::is_postgres_url(d.get_ref()) => PathBuf::from(d.get_ref()),
            Some(d) => self.base.join(d.get_ref()),
            None => self.base.join("capwatch.db"),
        };
        let timezone = match &raw.timezone {
            None => chrono_tz::UTC,
            Some(t) => t.get_ref().parse::<chrono_tz::Tz>().unwrap_or_else(|_| {
                self.problem(
                    t.span(),
                    format!("`timezone` = \"{}\" is not a time zone; write an IANA name such as \"UTC\", \"Europe/Berlin\" or \"America/New_York\"", t.get_ref()),
                );
                chrono_tz::UTC
            }),
        };
        self.timezone = timezone;
        let schedule = match &raw.schedule {
            Some(s) => self.cron(s),
            None => None,
        }
        .unwrap_or_else(|| Cron::parse_in("0 6 * * *", timezone).expect("default cron is valid"));
        let concurrency = self.positive(&raw.concurrency, "concurrency", 16);
        let per_host = self.positive(&raw.per_host, "per_host", 2);
        let max_page_bytes = self.positive(&raw.max_page_bytes, "max_page_bytes", 5_000_000);
        let failures_before_alert =
            self.positive(&raw.failures_before_alert, "failures_before_alert", 3);
        Settings {
            database,
            schedule,
            concurrency: concurrency as usize,
            per_host: per_host as usize,
            timeout: self.duration_or(&raw.timeout, "timeout", Duration::from_secs(30)),
            max_page_bytes: max_page_bytes as u64,
            failures_before_alert: failures_before_alert as u32,
            renotify: self.duration_or(&raw.renotify, "renotify", Duration::from_secs(7 * 86400)),
            timezone,
            public_url: raw.public_url.as_ref().and_then(|u| self.public_url(u)),
            browser: raw.browser.as_ref().and_then(|b| self.browser(b)),
            browser_tabs: self.positive(&raw.browser_tabs, "browser_tabs", 2) as usize,
        }
    }

    /// `browser`: a binary name looked up on PATH when the page is needed,
    /// or a path (relative ones against the registry's folder). Whether it
    /// exists is a fact of the machine, told by `validate` and by each
    /// check, not a registry error.
    fn browser(&mut self, s: &Spanned<String>) -> Option<PathBuf> {
        let raw = s.get_ref().trim();
        if raw.is_empty() {
            self.problem(
                s.span(),
                "`browser` is empty; name a Chrome/Chromium binary such as \"/usr/bin/chromium\", or leave it out to look for chromium on PATH",
            );
            return None;
        }
        let path = Path::new(raw);
        Some(if raw.contains('/') && path.is_relative() {
            self.base.join(path)
        } else {
            path.to_path_buf()
        })
    }

    /// `public_url`: an absolute http(s) URL with a host and nothing after
    /// the path (no query, no fragment).
    fn public_url(&mut self, s: &Spanned<String>) -> Option<Url> {
        let raw = s.get_ref().trim();
        let problem = match Url::parse(raw) {
            Ok(u) if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() => {
                "it must be an http:// or https:// address with a host"
            }
            Ok(u) if u.query().is_some() || u.fragment().is_some() => {
                "it must not have a query (?…) or a fragment (#…)"
            }
            Ok(mut u) => {
                let path = u.path().trim_end_matches('/').to_string();
                u.set_path(&path);
                return Some(u);
            }
            Err(_) => "it is not a URL",
        };
        self.problem(
            s.span(),
            format!("`public_url` = \"{raw}\": {problem}; write where people reach capwatch's HTTP surface, e.g. \"https://capwatch.example.com\""),
        );
        None
    }

    fn positive(&mut self, v: &Option<Spanned<i64>>, key: &str, default: i64) -> i64 {
        match v {
            None => default,
            Some(n) if *n.get_ref() >= 1 && *n.get_ref() <= u32::MAX as i64 => *n.get_ref(),
            Some(n) => {
                self.problem(
                    n.span(),
                    format!("`{key}` must be a whole number of at least 1, not {}; the default is {default}", n.get_ref()),
                );
                default
            }
        }
    }

    fn duration_or(
        &mut self,
        v: &Option<Spanned<String>>,
        key: &str,
        default: Duration,
    ) -> Duration {
        match v {
            None => default,
            Some(s) => match parse_duration(s.get_ref()) {
                Ok(d) => d,
                Err(e) => {
                    self.problem(s.span(), format!("`{key}`: {e}"));
                    default
                }
            },
        }
    }

    fn cron(&mut self, s: &Spanned<String>) -> Option<Cron> {
        match Cron::parse_in(s.get_ref(), self.timezone) {
            Ok(c) => Some(c),
            Err(e) => {
                self.problem(s.span(), format!("`schedule`: {e}"));
                None
            }
        }
    }

    fn date(&mut self, s: &Spanned<String>, key: &str) -> Option<Date> {
        match parse_date(s.get_ref()) {
            Some(d) => Some(d),
            None => {
                self.problem(
                    s.span(),
                    format!("`{key}` = \"{}\" is not a date; write it as YYYY-MM-DD, e.g. \"2026-06-06\"", s.get_ref()),
                );
                None
            }
        }
    }

    fn url(&mut self, s: &Spanned<String>, key: &str, allow_file: bool) -> Option<Url> {
        match parse_url(s.get_ref(), &self.base, allow_file) {
            Ok(u) => Some(u),
            Err(e) => {
                self.problem(s.span(), format!("`{key}`: {e}"));
                None
            }
        }
    }

    fn owners(&mut self, owners: &[Spanned<String>]) -> Vec<String> {
        let mut out = Vec::new();
        for o in owners {
            let v = o.get_ref().trim();
            if v.parse::<lettre::message::Mailbox>().is_ok() {
                out.push(v.to_string());
            } else {
                self.problem(
                    o.span(),
                    format!("owner \"{v}\" is not an e-mail address; write e.g. \"content-owner@example.com\""),
                );
            }
        }
        out
    }

    fn id(&mut self, s: &Spanned<String>, what: &str) -> String {
        let v = s.get_ref();
        let ok = !v.is_empty()
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !ok {
            self.problem(
                s.span(),
                format!("{what} id \"{v}\" may use only letters, digits, `-`, `_` and `.` (it is typed in commands and URLs)"),
            );
        }
        v.clone()
    }

    fn email(&mut self, raw: RawEmail) -> Option<Email> {
        let smtp = match Url::parse(raw.smtp.get_ref()) {
            Ok(u) if matches!(u.scheme(), "smtp" | "smtps") && u.host_str().is_some() => Some(u),
            _ => {
                self.problem(
                    raw.smtp.span(),
                    format!("`smtp` = \"{}\" must be smtp://HOST:PORT (STARTTLS when offered) or smtps://HOST:PORT; credentials go in CAPWATCH_SMTP_USER / CAPWATCH_SMTP_PASSWORD", raw.smtp.get_ref()),
                );
                None
            }
        };
        if let Some(u) = &smtp
            && (!u.username().is_empty() || u.password().is_some())
        {
            self.problem(
                raw.smtp.span(),
                "`smtp` must not contain credentials; set CAPWATCH_SMTP_USER and CAPWATCH_SMTP_PASSWORD instead",
            );
        }
        let from = raw.from.get_ref().trim().to_string();
        if from.parse::<lettre::message::Mailbox>().is_err() {
            self.problem(
                raw.from.span(),
                format!("`from` = \"{from}\" is not a mailbox; write e.g. \"capwatch <capwatch@example.com>\""),
            );
            return None;
        }
        Some(Email { smtp: smtp?, from })
    }

    fn webhook(&mut self, raw: RawWebhook) -> Option<Webhook> {
        let url = self.url(&raw.url, "url", false);
        let format = match raw.format.as_ref().map(|f| f.get_ref().as_str()) {
            None | Some("json") => WebhookFormat::Json,
            Some("slack") => WebhookFormat::Slack,
            Some(other) => {
                let span = raw.format.as_ref().map(|f| f.span()).unwrap_or_default();
                self.problem(
                    span,
                    format!(
                        "webhook `format` = \"{other}\" is not known; use \"json\" or \"slack\""
                    ),
                );
                WebhookFormat::Json
            }
        };
        Some(Webhook { url: url?, format })
    }

    fn guides(&mut self, raw: Vec<RawGuide>) -> Vec<Guide> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for g in raw {
            let id = self.id(&g.id, "guide");
            if !seen.insert(id.clone()) {
                self.problem(
                    g.id.span(),
                    format!("duplicate guide id \"{id}\"; each [[guide]] needs its own id"),
                );
                continue;
            }
            let url = g.url.as_ref().and_then(|u| self.url(u, "url", true));
            let validated_pattern = g.validated_pattern.as_ref().and_then(|p| {
                match Regex::new(p.get_ref()) {
                    Ok(re) if re.capture_names().flatten().any(|n| n == "date") => Some(re),
                    Ok(_) => {
                        self.problem(p.span(), "`validated_pattern` needs a capture group named `date`, e.g. 'Last validated: (?<date>.+?)\\.'");
                        None
                    }
                    Err(e) => {
                        self.problem(p.span(), format!("`validated_pattern` is not a valid regular expression: {}", first_line(&e.to_string())));
                        None
                    }
                }
            });
            if validated_pattern.is_some() && url.is_none() {
                let span = g
                    .validated_pattern
                    .as_ref()
                    .map(|p| p.span())
                    .unwrap_or_default();
                self.problem(
                    span,
                    "`validated_pattern` needs the guide's `url` to read the date from",
                );
            }
            let validated_on = g
                .validated_on
                .as_ref()
                .and_then(|d| self.date(d, "validated_on"));
            let max_age = self.duration_or(&g.max_age, "max_age", Duration::from_secs(90 * 86400));
            let warn_before = self.duration_or(
                &g.warn_before,
                "warn_before",
                Duration::from_secs(14 * 86400),
            );
            let owners = self.owners(&g.owners);
            if g.owners.is_empty() {
                self.problem(g.id.span(), format!("guide \"{id}\" has no `owners`; add owners = [\"you@example.com\"] so alerts reach someone"));
            }
            out.push(Guide {
                id,
                title: g.title,
                url,
                validated_pattern,
                validated_on,
                max_age,
                warn_before,
                owners,
            });
        }
        out
    }

    fn vocabulary(
        &mut self,
        phrases: &Option<Spanned<BTreeMap<String, Vec<String>>>>,
        into: &mut Vocabulary,
    ) {
        let Some(p) = phrases else { return };
        for (key, list) in p.get_ref() {
            if let Ok(stage) = key.parse::<Stage>() {
                into.stage.extend(list.iter().map(|s| (stage, s.clone())));
            } else if let Ok(access) = key.parse::<Access>() {
                into.access.extend(list.iter().map(|s| (access, s.clone())));
            } else {
                self.problem(
                    p.span(),
                    format!("`phrases` key `{key}` is neither a stage ({}) nor an access value (open, gated)", stage_names()),
                );
            }
            if list.iter().any(|s| s.trim().is_empty()) {
                self.problem(
                    p.span(),
                    format!("`phrases.{key}` contains an empty phrase"),
                );
            }
        }
    }

    fn capabilities(
        &mut self,
        raw: Vec<RawCapabilityEntry>,
        guides: &[Guide],
        settings: &Settings,
    ) -> Vec<Capability> {
        let mut cap_ids = HashSet::new();
        let mut source_ids = HashSet::new();
        let mut out = Vec::new();
        for (c, sources, cap_span) in raw {
            let id = self.id(&c.id, "capability");
            if !cap_ids.insert(id.clone()) {
                self.problem(
                    c.id.span(),
                    format!(
                        "duplicate capability id \"{id}\"; each [[capability]] needs its own id"
                    ),
                );
                continue;
            }
            if !self.declared_guides.iter().any(|g| g == c.guide.get_ref()) {
                let known: Vec<&str> = guides.iter().map(|g| g.id.as_str()).collect();
                let hint = suggest(c.guide.get_ref(), &known);
                self.problem(
                    c.guide.span(),
                    format!("capability \"{id}\" names guide \"{}\", which is not defined{hint}; add a [[guide]] with that id or fix the name", c.guide.get_ref()),
                );
            }
            let pinned = c.claim.is_some();
            let claim = match &c.claim {
                Some(raw) => self.claim(raw),
                None => {
                    let guide_has_page = guides
                        .iter()
                        .any(|g| g.id == *c.guide.get_ref() && g.url.is_some());
                    if !guide_has_page
                        && self.declared_guides.iter().any(|g| g == c.guide.get_ref())
                    {
                        self.problem(
                            c.id.span(),
                            format!("capability \"{id}\" has no `claim` and its guide \"{}\" has no `url` to read one from; add `claim = {{ stage = \"…\" }}` or set the guide's `url`", c.guide.get_ref()),
                        );
                    }
                    Status::unknown()
                }
            };
            let validated_on = c
                .validated_on
                .as_ref()
                .and_then(|d| self.date(d, "validated_on"));
            let max_age = c
                .max_age
                .as_ref()
                .map(|_| self.duration_or(&c.max_age, "max_age", Duration::ZERO));
            let warn_before = c
                .warn_before
                .as_ref()
                .map(|_| self.duration_or(&c.warn_before, "warn_before", Duration::ZERO));
            let owners = self.owners(&c.owners);
            let mut vocabulary = Vocabulary::default();
            self.vocabulary(&c.phrases, &mut vocabulary);
            // Sized up front: most capabilities have one source, and a Vec grown
            // by push reserves room for four (≈ 2 KB wasted per capability).
            let mut compiled_sources = Vec::with_capacity(sources.len());
            for (n, (span, s)) in sources.into_iter().enumerate() {
                let sid = match &s.id {
                    Some(sid) => self.id(sid, "source"),
                    None if n == 0 => id.clone(),
                    None => format!("{id}-{}", n + 1),
                };
                if !source_ids.insert(sid.clone()) {
                    let at = s.id.as_ref().map(|x| x.span()).unwrap_or(span.clone());
                    self.problem(at, format!("duplicate source id \"{sid}\"; give this [[capability.source]] its own `id`"));
                    continue;
                }
                if let Some(src) = self.source(sid, &id, s, settings, &vocabulary) {
                    compiled_sources.push(src);
                }
            }
            let _ = cap_span;
            out.push(Capability {
                id,
                guide: c.guide.into_inner(),
                name: c.name,
                aliases: c.aliases,
                claim,
                pinned,
                validated_on,
                max_age,
                warn_before,
                owners,
                vocabulary,
                sources: compiled_sources,
            });
        }
        out
    }

    fn claim(&mut self, raw: &Spanned<RawClaim>) -> Status {
        let r = raw.get_ref();
        let stage = match r.stage.get_ref().parse::<Stage>() {
            Ok(Stage::Unknown) | Err(_) => {
                self.problem(
                    r.stage.span(),
                    format!(
                        "claim stage \"{}\" is not known; use one of: {}",
                        r.stage.get_ref(),
                        claimable_stages()
                    ),
                );
                Stage::Unknown
            }
            Ok(s) => s,
        };
        let access = match &r.access {
            None => Access::Open,
            Some(a) => match a.get_ref().parse::<Access>() {
                Ok(Access::Unknown) | Err(_) => {
                    self.problem(
                        a.span(),
                        format!(
                            "claim access \"{}\" is not known; use \"open\" or \"gated\"",
                            a.get_ref()
                        ),
                    );
                    Access::Unknown
                }
                Ok(a) => a,
            },
        };
        let mut regions = Vec::new();
        for code in &r.regions {
            let c = code.trim();
            if c.is_empty() || c.contains(char::is_whitespace) {
                self.problem(raw.span(), format!("claim region \"{code}\" must be one code, e.g. \"us-east-1\", \"US\" or \"global\""));
            } else if c.eq_ignore_ascii_case(Regions::GLOBAL) {
                regions.push(Regions::GLOBAL.to_string());
            } else {
                regions.push(c.to_string());
            }
        }
        Status {
            stage,
            access,
            regions: Regions::new(regions),
        }
    }

    fn source(
        &mut self,
        id: String,
        capability: &str,
        s: RawSource,
        settings: &Settings,
        cap_vocabulary: &Vocabulary,
    ) -> Option<Source> {
        let url = self.url(&s.url, "url", true);
        let select_text = s
            .select
            .as_ref()
            .map(|x| x.get_ref().clone())
            .unwrap_or_else(|| Selection::default_select().to_string());
        let mut ok = true;
        for ig in &s.ignore {
            if let Err(e) = check_selector(ig.get_ref()) {
                self.problem(ig.span(), format!("`ignore`: {e}"));
                ok = false;
            }
        }
        let ignore: Vec<String> = s.ignore.iter().map(|x| x.get_ref().clone()).collect();
        let selection = match check_selector(&select_text) {
            Ok(()) if ok => Selection::new(&select_text, &ignore).ok(),
            Ok(()) => None,
            Err(e) => {
                let span = s.select.as_ref().map(|x| x.span()).unwrap_or(s.url.span());
                self.problem(span, format!("`select`: {e}"));
                None
            }
        };
        let schedule = match &s.schedule {
            Some(c) => self.cron(c),
            None => Some(settings.schedule.clone()),
        };
        let mut vocabulary = cap_vocabulary.clone();
        self.vocabulary(&s.phrases, &mut vocabulary);
        let render = match &s.render {
            None => Render::Http,
            Some(r) => r.get_ref().parse::<Render>().unwrap_or_else(|e| {
                self.problem(r.span(), e);
                Render::Http
            }),
        };
        Some(Source {
            id,
            capability: capability.to_string(),
            url: url?,
            selection: selection?,
            ignore,
            schedule: schedule?,
            vocabulary,
            render,
        })
    }
}

/// A CSS selector list that scraper accepts, or a one-line reason.
fn check_selector(css: &str) -> Result<(), String> {
    if css.trim().is_empty() {
        return Err("the selector is empty; write one such as \"main\"".into());
    }
    scraper::Selector::parse(css).map(|_| ()).map_err(|e| {
        let why = e.to_string();
        let why = why.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("syntax error").trim().to_string();
        format!("CSS selector `{css}` is not valid ({why}); write e.g. \"main\", \"article.docs\" or \"#content\"")
    })
}

fn first_line(s: &str) -> &str {
    s.lines().last().unwrap_or(s).trim()
}

fn stage_names() -> String {
    Stage::ALL
        .iter()
        .filter(|s| **s != Stage::Unknown)
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn claimable_stages() -> String {
    stage_names()
}

/// ` ; did you mean `x`?` when a known name is close to `got`.
fn suggest(got: &str, known: &[&str]) -> String {
    known
        .iter()
        .map(|k| (strsim::levenshtein(got, k), k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 3))
        .min()
        .map(|(_, k)| format!(" (did you mean `{k}`?)"))
        .unwrap_or_default()
}

/// `90d`, `12h`, `30m`, `45s`, `2w`, or a sum such as `1d12h`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || {
        format!(
            "duration \"{s}\" is not valid; write a number and a unit: s, m, h, d or w (e.g. \"30s\", \"90d\")"
        )
    };
    let t = s.trim();
    if t.is_empty() {
        return Err(bad());
    }
    let mut total: u64 = 0;
    let mut num = String::new();
    for c in t.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let n: u64 = num.parse().map_err(|_| bad())?;
        num.clear();
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86400,
            'w' => 7 * 86400,
            _ => return Err(bad()),
        };
        total = total
            .checked_add(n.checked_mul(unit).ok_or_else(bad)?)
            .ok_or_else(bad)?;
    }
    if !num.is_empty() {
        return Err(bad());
    }
    Ok(Duration::from_secs(total))
}

/// A registry date: `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Option<Date> {
    let t = s.trim();
    if t.len() != 10 {
        return None;
    }
    t.parse::<Date>().ok()
}

/// http(s) URLs, and (when allowed) `file:` URLs: `file:relative/path` is
/// resolved against the registry's folder, `file:///abs` is absolute.
pub fn parse_url(s: &str, base: &Path, allow_file: bool) -> Result<Url, String> {
    let t = s.trim();
    if let Some(rest) = t.strip_prefix("file:") {
        if !allow_file {
            return Err(format!("\"{t}\" must be an http:// or https:// URL"));
        }
        let path = if let Some(abs) = rest.strip_prefix("//") {
            PathBuf::from(abs)
        } else {
            base.join(rest)
        };
        let path = if path.is_absolute() {
            path
        } else {
            std::env::current_dir()
                .map(|d| d.join(&path))
                .unwrap_or(path)
        };
        return Url::from_file_path(&path)
            .map_err(|_| format!("\"{t}\" is not a usable file path"));
    }
    match Url::parse(t) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => Ok(u),
        Ok(u) => Err(format!(
            "scheme `{}` is not supported in \"{t}\"; use http://, https://{}",
            u.scheme(),
            if allow_file { " or file:" } else { "" }
        )),
        Err(e) => Err(format!(
            "\"{t}\" is not a URL ({e}); write e.g. \"https://example.com/docs/page\""
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[settings]
schedule = "0 6 * * *"
timeout = "20s"

[[guide]]
id = "amc"
title = "AMC"
validated_on = "2026-06-06"
owners = ["owner@example.com"]

[[capability]]
id = "ads-agent"
guide = "amc"
name = "Ads Agent"
claim = { stage = "beta", access = "gated", regions = ["US"] }

  [[capability.source]]
  url = "https://example.com/a"

  [[capability.source]]
  url = "file:pages/b.html"
  select = "main"
  schedule = "*/5 * * * *"
"#;

    #[test]
    fn good_registry_compiles() {
        let r = parse(Path::new("/reg/sources.toml"), GOOD).unwrap();
        assert_eq!(r.settings.timeout, Duration::from_secs(20));
        assert_eq!(r.settings.database, PathBuf::from("/reg/capwatch.db"));
        let c = &r.capabilities[0];
        assert_eq!(c.claim.stage, Stage::Beta);
        assert_eq!(c.claim.access, Access::Gated);
        assert_eq!(c.sources[0].id, "ads-agent");
        assert_eq!(c.sources[1].id, "ads-agent-2");
        assert_eq!(c.sources[1].url.as_str(), "file:///reg/pages/b.html");
        assert_eq!(c.sources[0].schedule.as_str(), "0 6 * * *");
    }

    fn problems(text: &str) -> Vec<String> {
        match parse(Path::new("s.toml"), text) {
            Ok(_) => vec![],
            Err(ConfigError::Invalid { problems, .. }) => problems
                .into_iter()
                .map(|p| format!("{}:{}: {}", p.line, p.col, p.message))
                .collect(),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn every_error_is_reported_with_its_place() {
        let text = GOOD
            .replace(
                "timeout = \"20s\"",
                "timeout = \"20 parsecs\"\nshedule = \"x\"",
            )
            .replace("stage = \"beta\"", "stage = \"bta\"")
            .replace("*/5 * * * *", "*/5 * * *");
        let p = problems(&text);
        assert_eq!(p.len(), 4, "{p:#?}");
        assert!(p[0].starts_with("4:11: `timeout`: duration"), "{}", p[0]);
        assert!(
            p[1].starts_with("5:1: unknown key `shedule`")
                && p[1].contains("did you mean `schedule`"),
            "{}",
            p[1]
        );
        assert!(p[2].contains("claim stage \"bta\""), "{}", p[2]);
        assert!(p[3].contains("has 4 fields"), "{}", p[3]);
    }

    #[test]
    fn render_and_the_browser_settings() {
        let text = GOOD
            .replace(
                "timeout = \"20s\"",
                "timeout = \"20s\"\nbrowser = \"bin/chromium\"\nbrowser_tabs = 3",
            )
            .replace(
                "select = \"main\"",
                "select = \"main\"\n  render = \"browser\"",
            );
        let r = parse(Path::new("/reg/sources.toml"), &text).unwrap();
        assert_eq!(r.settings.browser, Some(PathBuf::from("/reg/bin/chromium")));
        assert_eq!(r.settings.browser_tabs, 3);
        let c = &r.capabilities[0];
        assert_eq!(c.sources[0].render, Render::Http);
        assert_eq!(c.sources[1].render, Render::Browser);

        let defaults = parse(Path::new("/reg/sources.toml"), GOOD).unwrap();
        assert_eq!(defaults.settings.browser, None);
        assert_eq!(defaults.settings.browser_tabs, 2);
        let named = GOOD.replace("timeout = \"20s\"", "browser = \"chromium\"");
        let r = parse(Path::new("/reg/sources.toml"), &named).unwrap();
        assert_eq!(r.settings.browser, Some(PathBuf::from("chromium")));

        let bad = GOOD
            .replace("timeout = \"20s\"", "browser_tabs = 0")
            .replace(
                "select = \"main\"",
                "select = \"main\"\n  render = \"chrome\"",
            );
        let p = problems(&bad);
        assert_eq!(p.len(), 2, "{p:#?}");
        assert!(
            p[0].contains("`browser_tabs` must be a whole number of at least 1"),
            "{}",
            p[0]
        );
        assert!(
            p[1].contains("`render` = \"chrome\" is not known; use \"http\"")
                && p[1].contains("\"browser\""),
            "{}",
            p[1]
        );
    }

    #[test]
    fn durations_and_dates() {
        assert_eq!(
            parse_duration("90d").unwrap(),
            Duration::from_secs(90 * 86400)
        );
        assert_eq!(
            parse_duration("1d12h").unwrap(),
            Duration::from_secs(36 * 3600)
        );
        assert!(parse_duration("90").is_err());
        assert!(parse_duration("d").is_err());
        assert!(parse_date("2026-06-06").is_some());
        assert!(parse_date("2026-13-06").is_none());
        assert!(parse_date("June 6").is_none());
    }

    #[test]
    fn line_col_counts_characters() {
        assert_eq!(line_col("ab\ncé d", 7), (2, 4));
    }
}
