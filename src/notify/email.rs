//! E-mail channel of the notify stage: one digest per owner over SMTP.
//!
//! In: a [`Digest`] (one owner, findings grouped by guide), the `[email]`
//! settings, and the SMTP credentials from `CAPWATCH_SMTP_USER` /
//! `CAPWATCH_SMTP_PASSWORD`. Out: a multipart/alternative message (text and
//! HTML) handed to the SMTP server, and its `Message-ID`; or a
//! [`NotifyError`] saying whether a retry may help.
//!
//! `smtp://host[:25]` connects in plain text and upgrades with STARTTLS when
//! the server offers it; `smtps://host[:465]` speaks TLS from the first byte.
//! On `smtp://` capwatch opens the TCP connection itself with `TCP_NODELAY`:
//! lettre writes the message and its final `.` separately, and with Nagle's
//! algorithm that `.` waits for the server's delayed ACK (~40 ms). That wait
//! is time in which a crash leaves a message delivered but not recorded.
//! The `Message-ID` is derived from the alert ids and the recipient, so a
//! resend of the same digest carries the same id and can be recognised.

use super::{
    Digest, GuideSection, Item, MAX_COMMAND, MAX_DIFF_COLS, MAX_DIFF_LINES, MAX_NAME, MAX_QUOTE,
    MAX_QUOTES, MAX_SUMMARY, MAX_URL, MAX_URLS, NotifyError, clean_block, clean_line, count_phrase,
    counts, http_url, kind_label, open_items, resolved_items,
};
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::authentication::Mechanism;
use lettre::transport::smtp::client::{AsyncSmtpConnection, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use maud::{DOCTYPE, Markup, html};
use sha2::Digest as _;
use std::fmt;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

/// Environment variable holding the SMTP user name.
pub const USER_VAR: &str = "CAPWATCH_SMTP_USER";
/// Environment variable holding the SMTP password.
pub const PASSWORD_VAR: &str = "CAPWATCH_SMTP_PASSWORD";

const FIX_FROM: &str = "fix `from` in the [email] table of the registry";
/// At most this many Message-IDs in In-Reply-To / References.
const MAX_THREAD_IDS: usize = 30;
const FIX_TO: &str = "fix the address in the guide's `owners` list";

/// Sends digests through one SMTP server. Built once per run.
pub struct Mailer {
    /// Used for `smtps://` (TLS from the first byte).
    transport: AsyncSmtpTransport<Tokio1Executor>,
    host: String,
    port: u16,
    tls_parameters: TlsParameters,
    credentials: Option<Credentials>,
    from: String,
    /// `host:port`, for messages.
    server: String,
    implicit_tls: bool,
    timeout: Duration,
    /// Kept only to scrub it from error text; never printed.
    password: Option<String>,
}

impl fmt::Debug for Mailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mailer")
            .field("server", &self.server)
            .field(
                "tls",
                &if self.implicit_tls {
                    "implicit"
                } else {
                    "starttls-when-offered"
                },
            )
            .field("from", &self.from)
            .field("timeout", &self.timeout)
            .field(
                "credentials",
                &if self.password.is_some() {
                    "[redacted]"
                } else {
                    "none"
                },
            )
            .finish()
    }
}

impl Mailer {
    /// Set up the SMTP transport for `config`. Credentials come only from
    /// `CAPWATCH_SMTP_USER` / `CAPWATCH_SMTP_PASSWORD`, looked up through
    /// `env` (pass `&|k| std::env::var(k).ok()`), and are used only when both
    /// are set and non-empty. `timeout` bounds the whole SMTP conversation
    /// of one send, connecting included.
    pub fn new(
        config: &crate::config::Email,
        env: &dyn Fn(&str) -> Option<String>,
        timeout: Duration,
    ) -> Result<Mailer, NotifyError> {
        let url = &config.smtp;
        let implicit_tls = match url.scheme() {
            "smtp" => false,
            "smtps" => true,
            other => {
                return Err(NotifyError::Config(format!(
                    "smtp url scheme \"{other}\" is not supported; use smtp://HOST:PORT (STARTTLS when offered) or smtps://HOST:PORT (TLS)"
                )));
            }
        };
        let host = url
            .host_str()
            .map(|h| h.trim_start_matches('[').trim_end_matches(']').to_string())
            .filter(|h| !h.is_empty())
            .ok_or_else(|| {
                NotifyError::Config(format!(
                    "smtp url \"{}\" has no host; write smtp://HOST:PORT",
                    url.scheme()
                ))
            })?;
        let port = url.port().unwrap_or(if implicit_tls { 465 } else { 25 });
        let server = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };

        let from = config.from.trim().to_string();
        from.parse::<Mailbox>().map_err(|e| NotifyError::Address {
            role: "from",
            value: from.clone(),
            reason: e.to_string(),
            fix: FIX_FROM,
        })?;

        let tls_parameters = TlsParameters::new(host.clone()).map_err(|e| {
            NotifyError::Config(format!(
                "cannot set up tls for smtp server {server}: {}",
                chain(&e)
            ))
        })?;
        let tls = if implicit_tls {
            Tls::Wrapper(tls_parameters.clone())
        } else {
            Tls::Opportunistic(tls_parameters.clone())
        };

        let non_empty = |k: &str| env(k).filter(|v| !v.is_empty());
        let (user, password) = (non_empty(USER_VAR), non_empty(PASSWORD_VAR));
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.clone())
            .port(port)
            .tls(tls)
            .timeout(Some(timeout));
        let mut credentials = None;
        let password = match (user, password) {
            (Some(user), Some(password)) => {
                if !implicit_tls && !is_loopback(&host) {
                    tracing::warn!(
                        smtp_server = %server,
                        "smtp:// sends the credentials in plain text when the server does not offer STARTTLS; prefer smtps://"
                    );
                }
                let c = Credentials::new(user, password.clone());
                builder = builder.credentials(c.clone());
                credentials = Some(c);
                Some(password)
            }
            (None, None) => None,
            (user, _) => {
                tracing::warn!(
                    smtp_server = %server,
                    missing = if user.is_none() { USER_VAR } else { PASSWORD_VAR },
                    "only one of {USER_VAR} / {PASSWORD_VAR} is set; sending without authentication"
                );
                None
            }
        };

        Ok(Mailer {
            transport: builder.build(),
            host,
            port,
            tls_parameters,
            credentials,
            from,
            server,
            implicit_tls,
            timeout,
            password,
        })
    }

    /// Send one digest; returns the `Message-ID` header used for the e-mail.
    ///
    /// Safe to call concurrently: without lettre's pool feature every send
    /// opens its own connection, and the mailer holds no mutable state.
    pub async fn send(&self, digest: &Digest) -> Result<String, NotifyError> {
        let message = render_digest(digest, &self.from)?;
        let message_id = digest_message_id(digest);
        let started = Instant::now();
        let outcome = if self.implicit_tls {
            tokio::time::timeout(self.timeout, async {
                self.transport
                    .send(message)
                    .await
                    .map_err(|e| self.classify(&e))
            })
            .await
        } else {
            tokio::time::timeout(self.timeout, self.send_nodelay(&message)).await
        };
        let duration_ms = started.elapsed().as_millis() as u64;
        let result = match outcome {
            Ok(Ok(_response)) => Ok(message_id.clone()),
            Ok(Err(e)) => Err(e),
            Err(_elapsed) => Err(NotifyError::Smtp {
                transient: true,
                message: format!(
                    "the smtp server {} did not finish the conversation within {:?}; check that it is up and not overloaded (the digest will be retried with the same Message-ID)",
                    self.server, self.timeout
                ),
            }),
        };
        match &result {
            Ok(_) => tracing::info!(
                to = %digest.to,
                message_id = %message_id,
                alerts = ?digest.alert_ids(),
                duration_ms,
                "digest sent"
            ),
            Err(e) => tracing::warn!(
                to = %digest.to,
                alerts = ?digest.alert_ids(),
                duration_ms,
                transient = e.is_transient(),
                error = %e,
                "digest not sent"
            ),
        }
        result
    }

    /// One SMTP conversation on a connection we open with `TCP_NODELAY`:
    /// EHLO, STARTTLS when offered, AUTH when configured, the message, QUIT.
    async fn send_nodelay(
        &self,
        message: &Message,
    ) -> Result<lettre::transport::smtp::response::Response, NotifyError> {
        let tcp = tokio::net::TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| NotifyError::Smtp {
                transient: true,
                message: format!(
                    "cannot connect to the smtp server {}: {e}; check that it is running and that [email] smtp names the right host and port",
                    self.server
                ),
            })?;
        let _ = tcp.set_nodelay(true);
        let lettre_err = |e: lettre::transport::smtp::Error| self.classify(&e);
        let hello = ClientId::default();
        let mut conn = AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &hello)
            .await
            .map_err(lettre_err)?;
        if conn.can_starttls() {
            conn.starttls(self.tls_parameters.clone(), &hello)
                .await
                .map_err(lettre_err)?;
        }
        if let Some(c) = &self.credentials {
            conn.auth(&[Mechanism::Plain, Mechanism::Login], c)
                .await
                .map_err(lettre_err)?;
        }
        let response = conn
            .send(message.envelope(), &message.formatted())
            .await
            .map_err(lettre_err)?;
        conn.abort().await;
        Ok(response)
    }

    /// Turn a lettre error into a message that says what and the fix, with
    /// the password scrubbed.
    fn classify(&self, e: &lettre::transport::smtp::Error) -> NotifyError {
        let server = &self.server;
        let detail = chain(e);
        let io_kind = io_kind(e);
        let (transient, message) = if let Some(code) = e.status() {
            let code = code.to_string();
            let auth = matches!(code.as_str(), "530" | "534" | "535" | "538");
            if e.is_transient() {
                (
                    true,
                    format!(
                        "the smtp server {server} deferred the digest ({detail}); it will be retried"
                    ),
                )
            } else if auth {
                (
                    false,
                    format!(
                        "the smtp server {server} refused the login ({detail}); check {USER_VAR} and {PASSWORD_VAR}"
                    ),
                )
            } else {
                (
                    false,
                    format!(
                        "the smtp server {server} rejected the digest ({detail}); check the `from` address in [email] and the owner's address"
                    ),
                )
            }
        } else if e.is_timeout() || io_kind == Some(std::io::ErrorKind::TimedOut) {
            (
                true,
                format!(
                    "connecting to the smtp server {server} timed out after {:?}; check that it is up and reachable",
                    self.timeout
                ),
            )
        } else if io_kind == Some(std::io::ErrorKind::InvalidData)
            || e.is_tls()
            || detail.contains("tls handshake")
        {
            let hint = if self.implicit_tls {
                "smtps:// speaks TLS from the first byte (usually port 465); if the server expects plain text or STARTTLS (usually port 25 or 587), write smtp:// instead"
            } else {
                "the server offered STARTTLS but the TLS handshake failed; check the server's certificate and TLS set-up"
            };
            (
                false,
                format!("tls with the smtp server {server} failed ({detail}); {hint}"),
            )
        } else if e.is_client() {
            let hint = if detail.contains("authentication mechanism") {
                format!(
                    "the server offers no AUTH PLAIN or LOGIN; unset {USER_VAR} / {PASSWORD_VAR} or use a server that accepts them"
                )
            } else {
                "check the [email] settings".to_string()
            };
            (
                false,
                format!("cannot send the digest through {server} ({detail}); {hint}"),
            )
        } else {
            (
                true,
                format!(
                    "cannot talk to the smtp server {server} ({detail}); check that it is running and that `smtp` in [email] names it"
                ),
            )
        };
        NotifyError::Smtp {
            transient,
            message: self.scrub(message),
        }
    }

    /// Remove the password from text that came from outside.
    fn scrub(&self, text: String) -> String {
        match &self.password {
            Some(p) if !p.is_empty() && text.contains(p.as_str()) => text.replace(p, "[redacted]"),
            _ => text,
        }
    }
}

/// The error and any of its sources whose text it does not already hold,
/// as one lower-case line.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
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
    // lettre and the TLS layer both say "Connection error: …"; once is enough.
    let out = out.replacen(
        "Connection error: Connection error: ",
        "Connection error: ",
        1,
    );
    lower_first(&clean_line(&out, 400))
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) if f.is_uppercase() && c.clone().next().is_some_and(|n| n.is_lowercase()) => {
            f.to_lowercase().chain(c).collect()
        }
        _ => s.to_string(),
    }
}

/// The kind of the first I/O error among the sources.
fn io_kind(e: &(dyn std::error::Error + 'static)) -> Option<std::io::ErrorKind> {
    let mut cur = e.source();
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        cur = err.source();
    }
    None
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The subject line, e.g. "capwatch: 3 findings need you — Amazon Marketing
/// Cloud — platform fit". Several guides: the first title and "+N more guides".
pub fn digest_subject(digest: &Digest) -> String {
    let (open, resolved) = counts(&digest.sections);
    let titles: Vec<String> = digest
        .sections
        .iter()
        .filter(|s| !s.items.is_empty())
        .map(|s| clean_line(&s.guide_title, 120))
        .collect();
    let guides = match titles.len() {
        0 => String::new(),
        1 => format!(" — {}", titles[0]),
        n => format!(
            " — {} +{} more guide{}",
            titles[0],
            n - 1,
            if n == 2 { "" } else { "s" }
        ),
    };
    format!("capwatch: {}{guides}", count_phrase(open, resolved))
}

/// The stable `Message-ID` of a digest: from its sorted alert ids and a hash
/// of the recipient, e.g. `<digest-42-43.1a2b3c4d@capwatch>`.
pub fn digest_message_id(digest: &Digest) -> String {
    let ids = digest.alert_ids();
    let to_hash = short_hash(digest.to.trim().to_lowercase().as_bytes());
    let joined: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
    let ids_part = if ids.len() <= 16 {
        joined.join("-")
    } else {
        format!("n{}-{}", ids.len(), short_hash(joined.join(",").as_bytes()))
    };
    format!("<digest-{ids_part}.{to_hash}@capwatch>")
}

fn short_hash(bytes: &[u8]) -> String {
    hex::encode(&sha2::Sha256::digest(bytes)[..4])
}

/// A Message-ID we are willing to put in a header: `<local@domain>`, printable
/// ASCII without spaces, of a sane length.
fn valid_message_id(s: &str) -> bool {
    s.len() <= 250
        && s.starts_with('<')
        && s.ends_with('>')
        && s.matches('@').count() == 1
        && s.bytes().all(|b| b.is_ascii_graphic())
        && s[1..s.len() - 1].bytes().all(|b| b != b'<' && b != b'>')
}

/// Render (for tests and previews) the digest e-mail without sending it.
pub fn render_digest(digest: &Digest, from: &str) -> Result<Message, NotifyError> {
    let from_box: Mailbox = from
        .trim()
        .parse()
        .map_err(|e: lettre::address::AddressError| NotifyError::Address {
            role: "from",
            value: clean_line(from, 200),
            reason: e.to_string(),
            fix: FIX_FROM,
        })?;
    let to_box: Mailbox =
        digest
            .to
            .trim()
            .parse()
            .map_err(|e: lettre::address::AddressError| NotifyError::Address {
                role: "to",
                value: clean_line(&digest.to, 200),
                reason: e.to_string(),
                fix: FIX_TO,
            })?;
    let ids = digest.alert_ids();
    if ids.is_empty() {
        return Err(NotifyError::Build(format!(
            "the digest for {} has no findings; call send only with findings to deliver",
            clean_line(&digest.to, 200)
        )));
    }
    let ids_header = ids
        .iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ");

    // Threading: a reminder answers the original alert's Message-ID
    // (In-Reply-To); every digest also lists its alerts' own ids in
    // References, so later reminders and "resolved" notices join the thread
    // of the digest that first reported the finding.
    let mut reminders: Vec<String> = Vec::new();
    let mut thread: Vec<String> = Vec::new();
    for item in digest.sections.iter().flat_map(|s| s.items.iter()) {
        if let Some(r) = &item.reminder_of {
            let r = r.trim();
            if valid_message_id(r) {
                reminders.push(r.to_string());
            } else {
                tracing::warn!(
                    alert_id = item.alert_id,
                    "reminder_of is not a Message-ID like <x@y>; the reminder will not be threaded"
                );
            }
        }
        let own = item.message_id.trim();
        if valid_message_id(own) {
            thread.push(own.to_string());
        }
    }
    reminders.sort();
    reminders.dedup();
    reminders.truncate(MAX_THREAD_IDS);
    let mut references = reminders.clone();
    thread.sort();
    thread.dedup();
    for id in thread {
        if references.len() >= MAX_THREAD_IDS {
            break;
        }
        if !references.contains(&id) {
            references.push(id);
        }
    }

    let subject = digest_subject(digest);
    let mut builder = Message::builder()
        .from(from_box)
        .to(to_box)
        .subject(subject.clone())
        .message_id(Some(digest_message_id(digest)))
        .user_agent(format!("capwatch/{}", env!("CARGO_PKG_VERSION")))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("X-Capwatch-Alerts"),
            ids_header,
        ))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("Auto-Submitted"),
            "auto-generated".to_string(),
        ));
    if !reminders.is_empty() {
        builder = builder.in_reply_to(reminders.join(" "));
    }
    if !references.is_empty() {
        builder = builder.references(references.join(" "));
    }
    builder
        .multipart(MultiPart::alternative_plain_html(
            render_text(digest),
            render_html(digest, &subject),
        ))
        .map_err(|e| {
            NotifyError::Build(format!("{e}; this is a bug in capwatch, please report it"))
        })
}

// ---------------------------------------------------------------------------
// Plain text.

fn render_text(digest: &Digest) -> String {
    let (open, resolved) = counts(&digest.sections);
    let mut out = String::new();
    let _ = writeln!(out, "capwatch: {}.", count_phrase(open, resolved));
    if open > 0 {
        out.push_str(
            "Each finding says what is wrong, shows the evidence, and gives the command\n\
             that records your review once you have checked the guide against the docs.\n",
        );
    }
    for section in &digest.sections {
        let items = open_items(section);
        if items.is_empty() {
            continue;
        }
        let _ = write!(
            out,
            "\n== {} ==\n",
            clean_line(&section.guide_title, MAX_NAME)
        );
        for item in items {
            text_item(&mut out, item);
        }
        if let Some(a) = &section.guide_action {
            let _ = writeln!(
                out,
                "\n  {} ({}): {}",
                a.label,
                clean_line(&section.guide_title, MAX_NAME),
                a.url
            );
        }
    }
    let resolved = resolved_items(&digest.sections);
    if !resolved.is_empty() {
        out.push_str("\n== Resolved ==\n\n");
        for (guide, item) in resolved {
            let _ = writeln!(
                out,
                "* {} — {}: {}",
                clean_line(guide, MAX_NAME),
                clean_line(&item.subject_name, MAX_NAME),
                clean_line(&item.summary, MAX_SUMMARY)
            );
        }
    }
    let _ = write!(
        out,
        "\n-- \ncapwatch · alerts {}\n",
        digest
            .alert_ids()
            .iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    out
}

fn text_item(out: &mut String, item: &Item) {
    let _ = write!(
        out,
        "\n* {}: {}\n  {}\n",
        kind_label(&item.kind),
        clean_line(&item.subject_name, MAX_NAME),
        clean_line(&item.summary, MAX_SUMMARY)
    );
    if item.reminder_of.is_some() {
        out.push_str("  (Reminder: this finding is still open.)\n");
    }
    if !item.evidence.is_empty() {
        // The docs' sentences; a drift's summary carries the guide's beside them.
        out.push_str("  Docs say:\n");
        for q in item.evidence.iter().take(MAX_QUOTES) {
            let _ = writeln!(
                out,
                "    \"{}\"{} — {} <{}>",
                clean_line(&q.quote, MAX_QUOTE),
                q.dimensions_label(),
                clean_line(&q.source, MAX_NAME),
                clean_line(&q.url, MAX_URL)
            );
        }
        if item.evidence.len() > MAX_QUOTES {
            let _ = writeln!(out, "    … and {} more", item.evidence.len() - MAX_QUOTES);
        }
    }
    if let Some(diff) = item
        .diff_excerpt
        .as_deref()
        .filter(|d| !d.trim().is_empty())
    {
        out.push_str("  What changed:\n");
        for line in clean_block(diff, MAX_DIFF_LINES, MAX_DIFF_COLS).lines() {
            let _ = writeln!(out, "    {line}");
        }
    }
    if !item.urls.is_empty() {
        out.push_str("  Sources:\n");
        for u in item.urls.iter().take(MAX_URLS) {
            let _ = writeln!(out, "    {}", clean_line(u, MAX_URL));
        }
    }
    let pages = page_links(item);
    if !pages.is_empty() {
        out.push_str("  On the dashboard:\n");
        for (label, url) in &pages {
            let _ = writeln!(out, "    {label}: {url}");
        }
    }
    let command = clean_line(&item.review_command, MAX_COMMAND);
    if !item.actions.is_empty() {
        out.push_str(
            "  When you have checked it (each link opens a page to confirm; it works once, for 14 days):\n",
        );
        for a in &item.actions {
            let _ = writeln!(out, "    {}: {}", a.label, a.url);
        }
        if !command.is_empty() {
            let _ = writeln!(out, "  or record your review from a shell:\n    {command}");
        }
    } else if !command.is_empty() {
        let _ = write!(
            out,
            "  When you have checked it, record your review:\n    {command}\n"
        );
    }
}

/// The dashboard pages of an item, labelled, http(s) only.
fn page_links(item: &Item) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if let Some(u) = item.links.capability.as_deref().and_then(http_url) {
        out.push(("Capability", u.to_string()));
    }
    for c in &item.links.changes {
        if let Some(u) = http_url(c) {
            out.push(("Change", u.to_string()));
        }
    }
    if let Some(u) = item.links.guide.as_deref().and_then(http_url) {
        out.push(("Guide", u.to_string()));
    }
    out
}

// ---------------------------------------------------------------------------
// HTML: maud templates, which escape every `(splice)`; only http(s) URLs
// become links. The "\n" between blocks keeps the message source readable.

/// A link when `url` is http(s), else the label as text.
fn link(url: &str, label: &str) -> Markup {
    html! {
        @if let Some(u) = http_url(url) {
            a href=(u.as_str()) { (label) }
        } @else {
            (label)
        }
    }
}

fn kind_colour(kind: &str) -> &'static str {
    match kind {
        "expired" | "drift" => "#c62828",
        "source_changed" | "unreadable" => "#ef6c00",
        "due_soon" => "#f9a825",
        _ => "#607d8b",
    }
}

const PRE_STYLE: &str = "background:#f6f8fa;border:1px solid #ddd;padding:8px;font-family:monospace;font-size:13px;white-space:pre-wrap;word-break:break-word;margin:4px 0";

fn render_html(digest: &Digest, subject: &str) -> String {
    let (open, resolved) = counts(&digest.sections);
    let resolved_list = resolved_items(&digest.sections);
    let ids: Vec<String> = digest.alert_ids().iter().map(|i| i.to_string()).collect();
    html! {
        (DOCTYPE) "\n"
        html {
            head { meta charset="utf-8"; title { (subject) } }
            "\n"
            body style="font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;line-height:1.45;color:#222;max-width:760px" {
                "\n"
                p {
                    strong { "capwatch: " (count_phrase(open, resolved)) "." }
                    @if open > 0 {
                        " Each finding says what is wrong, shows the evidence, and gives the command \
                         that records your review once you have checked the guide against the docs."
                    }
                }
                "\n"
                @for section in &digest.sections { (html_section(section)) }
                @if !resolved_list.is_empty() {
                    h2 style="font-size:18px;margin-top:24px" { "Resolved" }
                    "\n"
                    ul {
                        "\n"
                        @for (guide, item) in &resolved_list {
                            li {
                                (clean_line(guide, MAX_NAME)) " — "
                                strong { (clean_line(&item.subject_name, MAX_NAME)) }
                                ": " (clean_line(&item.summary, MAX_SUMMARY))
                            }
                            "\n"
                        }
                    }
                    "\n"
                }
                p style="color:#777;font-size:12px;margin-top:24px" {
                    "capwatch · alerts " (ids.join(", "))
                }
                "\n"
            }
        }
        "\n"
    }
    .into_string()
}

fn html_section(section: &GuideSection) -> Markup {
    let items = open_items(section);
    html! {
        @if !items.is_empty() {
            h2 style="font-size:18px;margin-top:24px;border-bottom:1px solid #ddd" {
                (clean_line(&section.guide_title, MAX_NAME))
            }
            "\n"
            @for item in items { (html_item(item)) }
            @if let Some((a, u)) = section.guide_action.as_ref().and_then(|a| Some((a, http_url(&a.url)?))) {
                p style="margin:10px 0" {
                    a href=(u.as_str()) class="action" style=(BUTTON_STYLE) { (a.label) }
                    " " span style="color:#777" { (clean_line(&section.guide_title, MAX_NAME)) }
                }
                "\n"
            }
        }
    }
}

fn html_item(item: &Item) -> Markup {
    let diff = item
        .diff_excerpt
        .as_deref()
        .filter(|d| !d.trim().is_empty())
        .map(|d| clean_block(d, MAX_DIFF_LINES, MAX_DIFF_COLS));
    let command = clean_line(&item.review_command, MAX_COMMAND);
    html! {
        div style={ "border-left:4px solid " (kind_colour(&item.kind)) ";padding:4px 12px;margin:14px 0" } {
            "\n"
            h3 style="font-size:16px;margin:4px 0" {
                (kind_label(&item.kind)) ": " (clean_line(&item.subject_name, MAX_NAME))
            }
            "\n"
            p style="margin:4px 0" { (clean_line(&item.summary, MAX_SUMMARY)) }
            "\n"
            @if item.reminder_of.is_some() {
                p style="margin:4px 0" { em { "Reminder: this finding is still open." } }
                "\n"
            }
            @if !item.evidence.is_empty() {
                p style="margin:8px 0 2px" { "Docs say:" }
                "\n"
                @for q in item.evidence.iter().take(MAX_QUOTES) {
                    blockquote style="margin:4px 0 4px 8px;padding-left:8px;border-left:2px solid #ccc" {
                        "“" (clean_line(&q.quote, MAX_QUOTE)) "”" (q.dimensions_label()) " — "
                        (link(&q.url, &clean_line(&q.source, MAX_NAME)))
                    }
                    "\n"
                }
                @if item.evidence.len() > MAX_QUOTES {
                    p style="margin:2px 0" { "… and " (item.evidence.len() - MAX_QUOTES) " more" }
                    "\n"
                }
            }
            @if let Some(diff) = &diff {
                p style="margin:8px 0 2px" { "What changed:" }
                "\n"
                pre style=(PRE_STYLE) {
                    @for (n, line) in diff.lines().enumerate() {
                        @if n > 0 { "\n" }
                        @if let Some(colour) = diff_colour(line) {
                            span style={ "color:" (colour) } { (line) }
                        } @else {
                            (line)
                        }
                    }
                }
                "\n"
            }
            @if !item.urls.is_empty() {
                p style="margin:8px 0 2px" { "Sources:" }
                "\n"
                ul style="margin:2px 0" {
                    "\n"
                    @for u in item.urls.iter().take(MAX_URLS) {
                        li { (link(u, &clean_line(u, MAX_URL))) }
                        "\n"
                    }
                }
                "\n"
            }
            @let pages = page_links(item);
            @if !pages.is_empty() {
                p style="margin:8px 0 2px" {
                    "On the dashboard: "
                    @for (n, (label, url)) in pages.iter().enumerate() {
                        @if n > 0 { " · " }
                        a href=(url) class="page-link" { (label) }
                    }
                }
                "\n"
            }
            @if !item.actions.is_empty() {
                p style="margin:10px 0 2px" {
                    "When you have checked it "
                    span style="color:#777" { "(each link opens a page to confirm; it works once, for 14 days)" }
                    ":"
                }
                "\n"
                p style="margin:4px 0" {
                    @for a in &item.actions {
                        @if let Some(u) = http_url(&a.url) {
                            a href=(u.as_str()) class="action" style=(BUTTON_STYLE) { (a.label) }
                            " "
                        }
                    }
                }
                "\n"
                @if !command.is_empty() {
                    p style="margin:8px 0 2px;color:#777" { "or record your review from a shell:" }
                    "\n"
                    pre style=(PRE_STYLE) { (command) }
                    "\n"
                }
            } @else if !command.is_empty() {
                p style="margin:8px 0 2px" { "When you have checked it, record your review:" }
                "\n"
                pre style=(PRE_STYLE) { (command) }
                "\n"
            }
        }
        "\n"
    }
}

const BUTTON_STYLE: &str = "display:inline-block;padding:6px 12px;margin:2px 6px 2px 0;border-radius:4px;background:#0b57d0;color:#fff;text-decoration:none;font-weight:600";

/// The colours of an added or removed diff line; None for the rest.
fn diff_colour(line: &str) -> Option<&'static str> {
    if line.starts_with('+') && !line.starts_with("+++") {
        Some("#1b5e20;background:#e6ffed")
    } else if line.starts_with('-') && !line.starts_with("---") {
        Some("#b71c1c;background:#ffeef0")
    } else {
        None
    }
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
            subject_name: "Ads Agent".into(),
            summary: "Claimed beta; the docs say generally available.".into(),
            evidence: vec![Quote {
                source: "ads-agent-docs".into(),
                url: "https://docs.example.com/ads-agent".into(),
                quote: "Ads Agent is now generally available.".into(),
                dimensions: vec![],
            }],
            diff_excerpt: None,
            urls: vec!["https://docs.example.com/ads-agent".into()],
            review_command: "capwatch review ads-agent --by NAME --note '…'".into(),
            message_id: format!("<alert-{id}.amc@capwatch>"),
            reminder_of: None,
            links: Default::default(),
            actions: vec![],
        }
    }

    fn digest(items: Vec<Item>) -> Digest {
        Digest {
            to: "owner@example.com".into(),
            sections: vec![GuideSection {
                guide_id: "amc".into(),
                guide_title: "Amazon Marketing Cloud — platform fit".into(),
                items,
                guide_action: None,
            }],
        }
    }

    #[test]
    fn subject_names_count_and_guide() {
        let d = digest(vec![
            item(1, "drift"),
            item(2, "expired"),
            item(3, "due_soon"),
        ]);
        assert_eq!(
            digest_subject(&d),
            "capwatch: 3 findings need you — Amazon Marketing Cloud — platform fit"
        );
        let mut d2 = d.clone();
        d2.sections.push(GuideSection {
            guide_id: "b".into(),
            guide_title: "Other".into(),
            items: vec![item(4, "resolved")],
            guide_action: None,
        });
        assert_eq!(
            digest_subject(&d2),
            "capwatch: 3 findings need you, 1 resolved — Amazon Marketing Cloud — platform fit +1 more guide"
        );
    }

    #[test]
    fn message_id_is_stable_and_order_free() {
        let a = digest(vec![item(43, "drift"), item(42, "expired")]);
        let b = digest(vec![item(42, "expired"), item(43, "drift")]);
        assert_eq!(digest_message_id(&a), digest_message_id(&b));
        assert!(digest_message_id(&a).starts_with("<digest-42-43."));
        assert!(valid_message_id(&digest_message_id(&a)));
        let mut c = a.clone();
        c.to = "other@example.com".into();
        assert_ne!(digest_message_id(&a), digest_message_id(&c));
        let many = digest((1..=40).map(|i| item(i, "drift")).collect());
        let id = digest_message_id(&many);
        assert!(id.starts_with("<digest-n40-"), "{id}");
        assert!(valid_message_id(&id));
    }

    #[test]
    fn message_id_validation() {
        assert!(valid_message_id("<alert-1.amc@capwatch>"));
        assert!(!valid_message_id("<a b@c>"));
        assert!(!valid_message_id("<a@c>\r\nBcc: x@y"));
        assert!(!valid_message_id("a@c"));
        assert!(!valid_message_id("<a@b@c>"));
    }

    #[test]
    fn html_escapes_and_links_only_http() {
        let mut i = item(1, "drift");
        i.evidence[0].quote = "<script>alert(1)</script> & \"x\"".into();
        i.evidence[0].url = "javascript:alert(1)".into();
        i.urls = vec![
            "https://docs.example.com/a?x=1&y=\"2\"".into(),
            "data:text/html,<b>".into(),
        ];
        let html = render_html(&digest(vec![i]), "s");
        assert!(!html.contains("<script"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;x&quot;"));
        assert!(!html.contains("href=\"javascript"));
        assert!(!html.contains("href=\"data"));
        assert!(html.contains("href=\"https://docs.example.com/a?x=1&amp;y=%222%22\""));
        assert!(html.contains("data:text/html,&lt;b&gt;"));
    }

    #[test]
    fn hostile_name_quote_and_diff_line_are_escaped_in_the_html_part() {
        const HOSTILE: &str = "<script>alert(1)</script>\"'&";
        const ESCAPED: &str = "&lt;script&gt;alert(1)&lt;/script&gt;&quot;'&amp;";
        let mut i = item(1, "source_changed");
        i.subject_name = format!("Ads {HOSTILE}");
        i.evidence[0].quote = format!("Now {HOSTILE}");
        i.diff_excerpt = Some(format!("@@ -1 +1 @@\n-old\n+new {HOSTILE}"));
        let mut r = item(2, "resolved");
        r.subject_name = format!("Gone {HOSTILE}");
        let html = render_html(&digest(vec![i, r]), &format!("subject {HOSTILE}"));
        assert!(!html.contains(HOSTILE), "{html}");
        assert!(!html.contains("<script"), "{html}");
        for shown in [
            "<title>subject ",
            ": Ads ",
            "“Now ",
            "+new ",
            "<strong>Gone ",
        ] {
            assert!(
                html.contains(&format!("{shown}{ESCAPED}")),
                "{shown}: {html}"
            );
        }
        // Parsed back, the text is exactly what came in, and no element was added.
        let doc = scraper::Html::parse_document(&html);
        let text = |css: &str| -> Vec<String> {
            let sel = scraper::Selector::parse(css).unwrap();
            doc.select(&sel).map(|e| e.text().collect()).collect()
        };
        assert!(text("script").is_empty());
        assert_eq!(text("title"), [format!("subject {HOSTILE}")]);
        assert_eq!(text("h3"), [format!("Source page changed: Ads {HOSTILE}")]);
        assert!(text("blockquote")[0].starts_with(&format!("“Now {HOSTILE}”")));
        assert_eq!(text("pre span")[1], format!("+new {HOSTILE}"));
        assert!(text("li strong").contains(&format!("Gone {HOSTILE}")));
    }

    #[test]
    fn resolved_items_go_last_in_their_own_section() {
        let mut r = item(9, "resolved");
        r.summary = "Ads Agent matches the docs again.".into();
        let text = render_text(&digest(vec![r, item(1, "drift")]));
        let drift = text.find("Claim differs from the docs: Ads Agent").unwrap();
        let resolved = text.find("== Resolved ==").unwrap();
        assert!(drift < resolved, "{text}");
        assert!(text.contains(
            "* Amazon Marketing Cloud — platform fit — Ads Agent: Ads Agent matches the docs again."
        ));
    }

    #[test]
    fn empty_digest_is_an_error_not_a_mail() {
        let e = render_digest(&digest(vec![]), "capwatch <c@example.com>").unwrap_err();
        assert!(matches!(e, NotifyError::Build(_)));
        assert!(!e.is_transient());
    }

    #[test]
    fn bad_addresses_are_reported() {
        let e = render_digest(&digest(vec![item(1, "drift")]), "not an address").unwrap_err();
        assert!(
            e.to_string().starts_with("from address \"not an address\""),
            "{e}"
        );
        let mut d = digest(vec![item(1, "drift")]);
        d.to = "nobody".into();
        let e = render_digest(&d, "c@example.com").unwrap_err();
        assert!(e.to_string().contains("owners"), "{e}");
    }

    #[test]
    fn reminders_thread_to_the_original() {
        let mut a = item(1, "drift");
        a.reminder_of = Some("<digest-1.abcd@capwatch>".into());
        let mut b = item(2, "expired");
        b.reminder_of = Some("bad id\r\nBcc: evil@example.com".into());
        let m = render_digest(&digest(vec![a, b]), "c@example.com").unwrap();
        let raw = String::from_utf8(m.formatted()).unwrap();
        assert!(
            raw.contains("In-Reply-To: <digest-1.abcd@capwatch>\r\n"),
            "{raw}"
        );
        let unfolded = raw.replace("\r\n ", " ");
        assert!(
            unfolded.contains(
                "References: <digest-1.abcd@capwatch> <alert-1.amc@capwatch> <alert-2.amc@capwatch>\r\n"
            ),
            "{raw}"
        );
        assert!(!raw.contains("Bcc"));
        assert!(raw.contains("X-Capwatch-Alerts: 1, 2\r\n"));
    }

    #[test]
    fn first_digest_lists_alert_ids_as_thread_anchors() {
        let items: Vec<Item> = (1..=40).map(|i| item(i, "drift")).collect();
        let m = render_digest(&digest(items), "c@example.com").unwrap();
        let raw = String::from_utf8(m.formatted()).unwrap();
        assert!(!raw.contains("In-Reply-To"));
        assert!(raw.contains("References: <alert-1.amc@capwatch>"), "{raw}");
        assert!(raw.lines().all(|l| l.len() <= 998));
        assert_eq!(
            raw.matches("@capwatch>").count() - 1,
            MAX_THREAD_IDS,
            "{raw}"
        );
    }
}
