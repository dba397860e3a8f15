//! Webhook channel of the notify stage: one POST per run with every finding.
//!
//! In: the `[webhook]` settings and the run's [`GuideSection`]s. Out: one
//! HTTP POST with a JSON body, `Ok` on any 2xx answer, otherwise a
//! [`NotifyError::Webhook`] with the status (`None` when the server could not
//! be reached); 5xx, 408, 429 and network trouble are transient.
//!
//! `format = "json"` posts this documented schema (version 1):
//!
//! ```json
//! {
//!   "version": 1,
//!   "source": "capwatch",
//!   "sent_at": "2026-11-27T06:00:00Z",
//!   "findings": [
//!     {
//!       "guide_id": "amc", "guide_title": "Amazon Marketing Cloud — platform fit",
//!       "alert_id": 42, "kind": "drift", "subject_kind": "capability",
//!       "subject_id": "ads-agent", "subject_name": "Ads Agent",
//!       "summary": "…", "evidence": [{"source": "…", "url": "…", "quote": "…"}],
//!       "diff_excerpt": null, "urls": ["…"], "review_command": "capwatch review …",
//!       "message_id": "<alert-42.amc@capwatch>", "reminder_of": null
//!     }
//!   ]
//! }
//! ```
//!
//! `kind` is one of `expired`, `due_soon`, `source_changed`, `drift`,
//! `unreadable`, `resolved`. Every field of [`Item`] is present; `guide_id`
//! and `guide_title` are added from the section. Strings are passed through
//! as found (scraped text included): consumers must escape them.
//!
//! `format = "slack"` posts a Slack incoming-webhook message: `text` (the
//! notification line) and `blocks` of mrkdwn sections, with `&`, `<` and `>`
//! escaped per Slack's rules, only http(s) URLs as links, each section under
//! Slack's 3000-character limit and at most 50 blocks.
//!
//! The webhook URL's path is often a secret (Slack's are): messages and
//! `Debug` show only its scheme, host and port.

use super::{
    GuideSection, Item, MAX_COMMAND, MAX_DIFF_COLS, MAX_DIFF_LINES, MAX_NAME, MAX_QUOTE,
    MAX_QUOTES, MAX_SUMMARY, MAX_URL, MAX_URLS, NotifyError, clean_block, clean_line, count_phrase,
    counts, http_url, kind_label, open_items, resolved_items,
};
use crate::config::{Webhook, WebhookFormat};
use serde::Serialize;
use serde_json::{Value, json};
use std::fmt;
use std::time::{Duration, Instant};
use url::Url;

/// Posts findings to one webhook. Built once per run.
pub struct WebhookClient {
    client: reqwest::Client,
    url: Url,
    format: WebhookFormat,
    timeout: Duration,
}

impl fmt::Debug for WebhookClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookClient")
            .field("url", &origin(&self.url))
            .field("format", &self.format)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// `scheme://host[:port]` of a URL: what may be shown of it.
fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

impl WebhookClient {
    /// Build the HTTP client; `timeout` bounds each POST, connecting included.
    pub fn new(config: &Webhook, timeout: Duration) -> Result<WebhookClient, NotifyError> {
        if !matches!(config.url.scheme(), "http" | "https") {
            return Err(NotifyError::Config(format!(
                "webhook url scheme \"{}\" is not supported; use an http:// or https:// URL in [webhook] `url`",
                config.url.scheme()
            )));
        }
        let client = reqwest::Client::builder()
            .user_agent(crate::fetch::user_agent())
            .redirect(reqwest::redirect::Policy::none())
            .retry(reqwest::retry::never())
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(|e| {
                NotifyError::Config(format!(
                    "cannot set up the http client for the webhook: {}",
                    e.without_url()
                ))
            })?;
        Ok(WebhookClient {
            client,
            url: config.url.clone(),
            format: config.format,
            timeout,
        })
    }

    /// POST the items (one request per run with all items). Nothing is sent
    /// when the sections hold no items.
    pub async fn post(
        &self,
        sections: &[GuideSection],
        sent_at: jiff::Timestamp,
    ) -> Result<(), NotifyError> {
        let count: usize = sections.iter().map(|s| s.items.len()).sum();
        if count == 0 {
            return Ok(());
        }
        let payload = match self.format {
            WebhookFormat::Json => json_payload(sections, sent_at),
            WebhookFormat::Slack => slack_payload(sections, sent_at),
        };
        let body = serde_json::to_vec(&payload)
            .map_err(|e| NotifyError::Build(format!("cannot encode the webhook body: {e}")))?;
        let to = origin(&self.url);
        let started = Instant::now();
        let result = self.send(body, &to).await;
        let duration_ms = started.elapsed().as_millis() as u64;
        match &result {
            Ok(()) => {
                tracing::info!(webhook = %to, findings = count, duration_ms, "webhook posted")
            }
            Err(e) => tracing::warn!(
                webhook = %to,
                findings = count,
                duration_ms,
                transient = e.is_transient(),
                error = %e,
                "webhook not posted"
            ),
        }
        result
    }

    async fn send(&self, body: Vec<u8>, to: &str) -> Result<(), NotifyError> {
        let response = self
            .client
            .post(self.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| {
                let message = if e.is_timeout() {
                    format!(
                        "the webhook at {to} did not answer within {:?}; check that it is up (it will be retried)",
                        self.timeout
                    )
                } else {
                    format!(
                        "cannot reach the webhook at {to}: {}; check that it is up and that `url` in [webhook] is right",
                        error_chain(&e.without_url())
                    )
                };
                NotifyError::Webhook {
                    status: None,
                    message,
                }
            })?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let snippet = body_snippet(response).await;
        let code = status.as_u16();
        let fix = if status.is_server_error() || code == 408 || code == 429 {
            "it will be retried"
        } else if status.is_redirection() {
            "redirects are not followed; put the final URL in [webhook] `url`"
        } else {
            "check `url` and `format` in [webhook]"
        };
        let said = if snippet.is_empty() {
            String::new()
        } else {
            format!(" (\"{snippet}\")")
        };
        Err(NotifyError::Webhook {
            status: Some(code),
            message: format!("the webhook at {to} answered {status}{said}; {fix}"),
        })
    }
}

/// The start of an error answer's body, as one short line.
async fn body_snippet(mut response: reqwest::Response) -> String {
    let mut buf: Vec<u8> = Vec::new();
    while buf.len() < 512 {
        match response.chunk().await {
            Ok(Some(chunk)) => buf.extend_from_slice(&chunk),
            _ => break,
        }
    }
    clean_line(&String::from_utf8_lossy(&buf), 200)
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(err) = cur {
        let s = err.to_string();
        if !out.contains(&s) {
            out.push_str(": ");
            out.push_str(&s);
        }
        cur = err.source();
    }
    clean_line(&out, 400)
}

// ---------------------------------------------------------------------------
// JSON.

#[derive(Serialize)]
struct Finding<'a> {
    guide_id: &'a str,
    guide_title: &'a str,
    #[serde(flatten)]
    item: &'a Item,
}

#[derive(Serialize)]
struct JsonBody<'a> {
    version: u32,
    source: &'static str,
    sent_at: jiff::Timestamp,
    findings: Vec<Finding<'a>>,
}

/// The `format = "json"` body (schema version 1, see the module docs).
pub fn json_payload(sections: &[GuideSection], sent_at: jiff::Timestamp) -> Value {
    let body = JsonBody {
        version: 1,
        source: "capwatch",
        sent_at,
        findings: sections
            .iter()
            .flat_map(|s| {
                s.items.iter().map(move |item| Finding {
                    guide_id: &s.guide_id,
                    guide_title: &s.guide_title,
                    item,
                })
            })
            .collect(),
    };
    // Plain strings, numbers and a timestamp: serialising cannot fail.
    serde_json::to_value(body).unwrap_or(Value::Null)
}

// ---------------------------------------------------------------------------
// Slack.

/// Slack's limit on one section's text.
const SLACK_SECTION_MAX: usize = 3000;
/// Slack's limit on blocks per message.
const SLACK_MAX_BLOCKS: usize = 50;

/// Escape untrusted text for Slack mrkdwn: `&`, `<`, `>`.
pub(crate) fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `<url|label>` for an http(s) URL, else the escaped label.
fn slack_link(url: &str, label: &str) -> String {
    let label = slack_escape(label).replace('|', "¦");
    match http_url(url) {
        Some(u) => format!(
            "<{}|{}>",
            slack_escape(u.as_str()).replace('|', "%7C"),
            label
        ),
        None => label,
    }
}

fn section(text: String) -> Value {
    json!({"type": "section", "text": {"type": "mrkdwn", "text": text}})
}

/// Join lines until the section limit; whole lines only, so no escape or
/// link is cut in half.
fn fit_lines(lines: &[String]) -> String {
    let mut out = String::new();
    for line in lines {
        let extra = line.len() + usize::from(!out.is_empty());
        if out.len() + extra > SLACK_SECTION_MAX - 10 {
            out.push_str("\n…");
            break;
        }
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(line);
    }
    out
}

fn slack_item(item: &Item) -> String {
    let mut lines = vec![
        format!(
            "*{}: {}*",
            slack_escape(&kind_label(&item.kind)),
            slack_escape(&clean_line(&item.subject_name, MAX_NAME))
        ),
        slack_escape(&clean_line(&item.summary, MAX_SUMMARY)),
    ];
    if item.reminder_of.is_some() {
        lines.push("_Reminder: this finding is still open._".into());
    }
    for q in item.evidence.iter().take(MAX_QUOTES) {
        lines.push(format!(
            "> “{}” — {}",
            slack_escape(&clean_line(&q.quote, MAX_QUOTE)),
            slack_link(&q.url, &clean_line(&q.source, MAX_NAME))
        ));
    }
    if let Some(diff) = item
        .diff_excerpt
        .as_deref()
        .filter(|d| !d.trim().is_empty())
    {
        let body = slack_escape(&clean_block(diff, MAX_DIFF_LINES.min(20), MAX_DIFF_COLS))
            .replace("```", "``\u{200b}`");
        lines.push(format!("```{body}```"));
    }
    for u in item.urls.iter().take(MAX_URLS) {
        let shown = clean_line(u, MAX_URL);
        lines.push(slack_link(u, &shown));
    }
    let command = clean_line(&item.review_command, MAX_COMMAND);
    if !command.is_empty() {
        let command = slack_escape(&command);
        lines.push(if command.contains('`') {
            format!("Record your review: {command}")
        } else {
            format!("Record your review: `{command}`")
        });
    }
    fit_lines(&lines)
}

/// The `format = "slack"` body: `text` and `blocks`.
pub fn slack_payload(sections: &[GuideSection], sent_at: jiff::Timestamp) -> Value {
    let (open, resolved) = counts(sections);
    let titles: Vec<String> = sections
        .iter()
        .filter(|s| !s.items.is_empty())
        .map(|s| clean_line(&s.guide_title, 120))
        .collect();
    let headline = match titles.len() {
        0 => format!("capwatch: {}", count_phrase(open, resolved)),
        1 => format!("capwatch: {} — {}", count_phrase(open, resolved), titles[0]),
        n => format!(
            "capwatch: {} — {} +{} more",
            count_phrase(open, resolved),
            titles[0],
            n - 1
        ),
    };

    // Keep room for the "more" note, the resolved list and the footer.
    let budget = SLACK_MAX_BLOCKS - 4;
    let mut blocks: Vec<Value> = vec![section(format!("*{}*", slack_escape(&headline)))];
    let mut left_out = 0usize;
    for s in sections {
        let items = open_items(s);
        if items.is_empty() {
            continue;
        }
        if blocks.len() + 2 > budget {
            left_out += items.len();
            continue;
        }
        blocks.push(json!({"type": "divider"}));
        blocks.push(section(format!(
            "*{}*",
            slack_escape(&clean_line(&s.guide_title, MAX_NAME))
        )));
        for item in items {
            if blocks.len() >= budget {
                left_out += 1;
                continue;
            }
            blocks.push(section(slack_item(item)));
        }
    }
    if left_out > 0 {
        blocks.push(section(format!(
            "…and {left_out} more finding{}; run `capwatch alerts` to see them all.",
            if left_out == 1 { "" } else { "s" }
        )));
    }
    let resolved_list = resolved_items(sections);
    if !resolved_list.is_empty() {
        let mut lines = vec!["*Resolved*".to_string()];
        for (guide, item) in resolved_list {
            lines.push(format!(
                "• {} — {}: {}",
                slack_escape(&clean_line(guide, MAX_NAME)),
                slack_escape(&clean_line(&item.subject_name, MAX_NAME)),
                slack_escape(&clean_line(&item.summary, MAX_SUMMARY))
            ));
        }
        blocks.push(json!({"type": "divider"}));
        blocks.push(section(fit_lines(&lines)));
    }
    let mut ids: Vec<i64> = sections
        .iter()
        .flat_map(|s| s.items.iter().map(|i| i.alert_id))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let ids: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
    let mut footer = format!("capwatch · {sent_at} · alerts {}", ids.join(", "));
    if footer.len() > 2000 {
        footer = format!("capwatch · {sent_at} · {} alerts", ids.len());
    }
    blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": footer}]}));
    json!({"text": slack_escape(&headline), "blocks": blocks})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::Quote;

    fn item(id: i64, kind: &str) -> Item {
        Item {
            alert_id: id,
            kind: kind.into(),
            subject_kind: "capability".into(),
            subject_id: "ads-agent".into(),
            subject_name: "Ads <Agent> & co".into(),
            summary: "Claimed beta; the docs say <b>GA</b>.".into(),
            evidence: vec![Quote {
                source: "docs|x".into(),
                url: "https://docs.example.com/a|b".into(),
                quote: "<!channel> Ads Agent is generally available.".into(),
                dimensions: vec![],
            }],
            diff_excerpt: Some("-beta\n+GA ```\n".into()),
            urls: vec!["https://docs.example.com/a".into(), "javascript:x".into()],
            review_command: "capwatch review ads-agent --by NAME --note '…'".into(),
            message_id: format!("<alert-{id}.amc@capwatch>"),
            reminder_of: None,
            links: Default::default(),
            actions: vec![],
        }
    }

    fn sections(items: Vec<Item>) -> Vec<GuideSection> {
        vec![GuideSection {
            guide_id: "amc".into(),
            guide_title: "AMC & friends".into(),
            items,
            guide_action: None,
        }]
    }

    fn ts() -> jiff::Timestamp {
        "2026-11-27T06:00:00Z".parse().unwrap()
    }

    #[test]
    fn json_has_schema_fields() {
        let v = json_payload(&sections(vec![item(42, "drift")]), ts());
        assert_eq!(v["version"], 1);
        assert_eq!(v["source"], "capwatch");
        assert_eq!(v["sent_at"], "2026-11-27T06:00:00Z");
        let f = &v["findings"][0];
        assert_eq!(f["alert_id"], 42);
        assert_eq!(f["guide_id"], "amc");
        assert_eq!(f["kind"], "drift");
        assert_eq!(f["evidence"][0]["source"], "docs|x");
        assert!(f["reminder_of"].is_null());
    }

    #[test]
    fn slack_escapes_untrusted_text() {
        let v = slack_payload(&sections(vec![item(1, "drift")]), ts());
        let all = v.to_string();
        assert!(!all.contains("<!channel>"));
        assert!(!all.contains("<b>"));
        assert!(!all.contains("<Agent>"));
        assert!(all.contains("&lt;!channel&gt;"));
        assert!(v["text"].as_str().unwrap().contains("AMC &amp; friends"));
        assert!(all.contains("<https://docs.example.com/a%7Cb|docs¦x>"));
        assert!(!all.contains("<javascript"));
        // the diff cannot close its code block early
        assert!(all.contains("``\u{200b}`"));
    }

    #[test]
    fn slack_respects_block_and_length_limits() {
        let mut many: Vec<Item> = (1..=120).map(|i| item(i, "drift")).collect();
        many[0].summary = "x".repeat(10_000);
        many[0].evidence = (0..50)
            .map(|_| Quote {
                source: "s".into(),
                url: "https://e.com".into(),
                quote: "<".repeat(2000),
                dimensions: vec![],
            })
            .collect();
        let v = slack_payload(&sections(many), ts());
        let blocks = v["blocks"].as_array().unwrap();
        assert!(blocks.len() <= SLACK_MAX_BLOCKS, "{}", blocks.len());
        for b in blocks {
            if let Some(t) = b["text"]["text"].as_str() {
                assert!(t.len() <= SLACK_SECTION_MAX, "{}", t.len());
            }
        }
        assert!(
            v.to_string()
                .contains("more findings; run `capwatch alerts`")
        );
    }

    #[test]
    fn debug_hides_the_webhook_path() {
        let c = WebhookClient::new(
            &Webhook {
                url: "https://hooks.example.com/services/T0/B0/SECRET"
                    .parse()
                    .unwrap(),
                format: WebhookFormat::Slack,
            },
            Duration::from_secs(5),
        )
        .unwrap();
        let d = format!("{c:?}");
        assert!(!d.contains("SECRET"), "{d}");
        assert!(d.contains("https://hooks.example.com"));
    }
}
