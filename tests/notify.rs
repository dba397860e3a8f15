//! The notify stage against real local servers: an SMTP server speaking SMTP
//! over TCP (tests/common/smtp.rs) and an HTTP webhook receiver.

#[path = "common/smtp.rs"]
mod smtp;
#[path = "common/webhook.rs"]
mod webhook;

use capwatch::config::{Email, Webhook, WebhookFormat};
use capwatch::notify::{
    Digest, GuideSection, Item, Mailer, NotifyError, Quote, WebhookClient, digest_message_id,
};
use smtp::{Mode, Options, SmtpServer};
use std::time::{Duration, Instant};
use webhook::HookServer;

const GUIDE: &str = "Amazon Marketing Cloud — platform fit";
const SCRIPT: &str = "<script>alert(1)</script>";
const IMG: &str = "<img src=x onerror=alert(1)>";
const USER: &str = "capwatch-bot";
const PASSWORD: &str = "hunter2-Zq9!xx";

fn no_env(_: &str) -> Option<String> {
    None
}

fn creds(k: &str) -> Option<String> {
    match k {
        "CAPWATCH_SMTP_USER" => Some(USER.into()),
        "CAPWATCH_SMTP_PASSWORD" => Some(PASSWORD.into()),
        _ => None,
    }
}

fn email(url: &str) -> Email {
    Email {
        smtp: url.parse().unwrap(),
        from: "capwatch <capwatch@localhost>".into(),
    }
}

fn mailer(server: &SmtpServer, timeout: Duration) -> Mailer {
    Mailer::new(&email(&server.url()), &no_env, timeout).unwrap()
}

fn drift(id: i64) -> Item {
    Item {
        alert_id: id,
        kind: "drift".into(),
        subject_kind: "capability".into(),
        subject_id: "ads-agent".into(),
        subject_name: "Ads Agent".into(),
        summary: "Claimed beta, gated; the docs say generally available.".into(),
        evidence: vec![Quote {
            source: "ads-agent-docs".into(),
            url: "https://advertising.amazon.com/help/ads-agent".into(),
            quote: format!("Ads Agent is now generally available. {SCRIPT} {IMG}"),
            dimensions: vec![],
        }],
        diff_excerpt: None,
        urls: vec!["https://advertising.amazon.com/help/ads-agent".into()],
        review_command: "capwatch review ads-agent --by NAME --note 'checked the docs'".into(),
        message_id: format!("<alert-{id}@capwatch>"),
        reminder_of: None,
        links: Default::default(),
        actions: vec![],
    }
}

fn changed(id: i64) -> Item {
    Item {
        alert_id: id,
        kind: "source_changed".into(),
        subject_kind: "capability".into(),
        subject_id: "clean-rooms".into(),
        subject_name: "AMC on AWS Clean Rooms".into(),
        summary: "The source page changed after the last review.".into(),
        evidence: vec![],
        diff_excerpt: Some(
            "@@ -1,2 +1,2 @@\n-Available in us-east-1.\n+Available in us-east-1 and eu-west-1 <b>now</b>.\n"
                .into(),
        ),
        urls: vec!["https://docs.aws.amazon.com/clean-rooms/amc".into()],
        review_command: "capwatch review clean-rooms --by NAME --note '…'".into(),
        message_id: format!("<alert-{id}@capwatch>"),
        reminder_of: None,
        links: Default::default(),
        actions: vec![],
    }
}

fn resolved(id: i64) -> Item {
    Item {
        kind: "resolved".into(),
        summary: "Reporting API matches the docs again.".into(),
        subject_id: "reporting-api".into(),
        subject_name: "Reporting API".into(),
        evidence: vec![],
        reminder_of: Some("<alert-7@capwatch>".into()),
        links: Default::default(),
        actions: vec![],
        ..drift(id)
    }
}

fn digest() -> Digest {
    Digest {
        to: "owner@example.com".into(),
        sections: vec![GuideSection {
            guide_id: "amc".into(),
            guide_title: GUIDE.into(),
            items: vec![drift(42), changed(43), resolved(44)],
            guide_action: None,
        }],
    }
}

#[tokio::test]
async fn digest_arrives_as_one_multipart_message() {
    let server = SmtpServer::start(Mode::Normal);
    let m = mailer(&server, Duration::from_secs(10));
    let d = digest();
    let mid = m.send(&d).await.expect("sent");
    assert_eq!(mid, digest_message_id(&d));

    let got = server.messages();
    assert_eq!(got.len(), 1);
    let mail = &got[0];
    assert_eq!(mail.mail_from, "capwatch@localhost");
    assert_eq!(mail.rcpt_to, ["owner@example.com"]);
    assert!(mail.auth.is_none());
    assert_eq!(mail.header("To").unwrap(), "owner@example.com");
    let subject = mail.header("Subject").unwrap();
    assert!(subject.contains(GUIDE), "{subject}");
    assert!(
        subject.starts_with("capwatch: 2 findings need you, 1 resolved"),
        "{subject}"
    );
    assert_eq!(mail.header("Message-ID").unwrap(), mid);
    assert_eq!(mail.header("X-Capwatch-Alerts").unwrap(), "42, 43, 44");
    assert_eq!(mail.header("Auto-Submitted").unwrap(), "auto-generated");
    // the resolved notice threads to the alert it resolves
    assert_eq!(mail.header("In-Reply-To").unwrap(), "<alert-7@capwatch>");
    let references = mail.header("References").unwrap();
    for id in [
        "<alert-7@capwatch>",
        "<alert-42@capwatch>",
        "<alert-43@capwatch>",
    ] {
        assert!(references.contains(id), "{references}");
    }

    assert_eq!(mail.content_type(), "multipart/alternative");
    let kinds: Vec<String> = mail.parts().into_iter().map(|p| p.content_type).collect();
    assert_eq!(kinds, ["text/plain", "text/html"]);

    let text = mail.text().unwrap();
    assert!(text.contains(&format!("== {GUIDE} ==")), "{text}");
    assert!(
        text.contains("Claim differs from the docs: Ads Agent"),
        "{text}"
    );
    assert!(text.contains("capwatch review ads-agent --by NAME --note 'checked the docs'"));
    assert!(text.contains("+Available in us-east-1 and eu-west-1 <b>now</b>."));
    assert!(text.contains("https://docs.aws.amazon.com/clean-rooms/amc"));
    assert!(text.contains("== Resolved =="), "{text}");

    let html = mail.html().unwrap();
    assert!(!html.to_lowercase().contains("<script"), "{html}");
    assert!(!html.to_lowercase().contains("<img"), "{html}");
    assert!(!html.contains("<b>now"), "{html}");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
    assert!(
        html.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "{html}"
    );
    assert!(html.contains(&format!(">{GUIDE}</h2>")), "{html}");
    // An apostrophe stays as it is: maud quotes every attribute with ".
    assert!(
        html.contains("capwatch review ads-agent --by NAME --note 'checked the docs'"),
        "{html}"
    );
    assert!(html.contains("<pre"), "{html}");
    assert!(html.contains("&lt;b&gt;now&lt;/b&gt;"), "{html}");
    assert!(html.contains("href=\"https://advertising.amazon.com/help/ads-agent\""));
    assert!(html.contains(">Resolved</h2>"), "{html}");

    // The same digest again carries the same Message-ID.
    let again = m.send(&digest()).await.expect("sent again");
    assert_eq!(again, mid);
    let got = server.messages();
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].header("Message-ID").unwrap(), mid);
}

#[tokio::test]
async fn credentials_come_from_the_env_lookup_and_stay_secret() {
    let server = SmtpServer::start_with(Options {
        require_auth: Some((USER.into(), PASSWORD.into())),
        ..Options::default()
    });
    let m = Mailer::new(&email(&server.url()), &creds, Duration::from_secs(10)).unwrap();
    let shown = format!("{m:?}");
    assert!(!shown.contains(PASSWORD), "{shown}");
    assert!(!shown.contains(USER), "{shown}");
    assert!(shown.contains("[redacted]"), "{shown}");

    m.send(&digest()).await.expect("sent with AUTH");
    let got = server.messages();
    assert_eq!(got.len(), 1);
    let auth = got[0].auth.as_ref().expect("authenticated");
    assert_eq!(auth.user, USER);
    assert_eq!(auth.password, PASSWORD);

    // Without credentials the server refuses: a permanent error, no secret.
    let anonymous = Mailer::new(&email(&server.url()), &no_env, Duration::from_secs(10)).unwrap();
    let e = anonymous.send(&digest()).await.unwrap_err();
    assert!(!e.is_transient(), "{e}");
    assert!(e.to_string().contains("530"), "{e}");
    assert!(e.to_string().contains("CAPWATCH_SMTP_USER"), "{e}");

    // Wrong credentials: refused login, and the password is in no message.
    let wrong = |k: &str| match k {
        "CAPWATCH_SMTP_USER" => Some(USER.to_string()),
        "CAPWATCH_SMTP_PASSWORD" => Some("wrong-Pa55word".to_string()),
        _ => None,
    };
    let m2 = Mailer::new(&email(&server.url()), &wrong, Duration::from_secs(10)).unwrap();
    let e = m2.send(&digest()).await.unwrap_err();
    assert!(!e.is_transient());
    for text in [e.to_string(), format!("{e:?}"), format!("{m2:?}")] {
        assert!(!text.contains("wrong-Pa55word"), "{text}");
        assert!(!text.contains(PASSWORD), "{text}");
    }
    assert!(e.to_string().contains("535"), "{e}");
    assert_eq!(server.messages().len(), 1);
}

#[tokio::test]
async fn only_one_credential_variable_means_no_auth() {
    let server = SmtpServer::start(Mode::Normal);
    let half = |k: &str| (k == "CAPWATCH_SMTP_USER").then(|| USER.to_string());
    let m = Mailer::new(&email(&server.url()), &half, Duration::from_secs(10)).unwrap();
    m.send(&digest()).await.unwrap();
    assert!(server.auth_attempts().is_empty());
    assert!(server.messages()[0].auth.is_none());
}

#[tokio::test]
async fn tempfail_is_transient_and_the_retry_gets_through() {
    let server = SmtpServer::start(Mode::tempfail_first(1));
    let m = mailer(&server, Duration::from_secs(10));
    let e = m.send(&digest()).await.unwrap_err();
    assert!(e.is_transient(), "{e}");
    assert!(matches!(
        e,
        NotifyError::Smtp {
            transient: true,
            ..
        }
    ));
    assert!(e.to_string().contains("451"), "{e}");
    assert!(server.messages().is_empty());

    let mid = m.send(&digest()).await.expect("second attempt");
    assert_eq!(server.messages().len(), 1);
    assert_eq!(server.messages()[0].header("Message-ID").unwrap(), mid);
}

#[tokio::test]
async fn refused_connection_is_transient_and_quick() {
    let server = SmtpServer::start(Mode::Refuse);
    let m = mailer(&server, Duration::from_secs(10));
    let started = Instant::now();
    let e = m.send(&digest()).await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(e.is_transient(), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains(&format!("127.0.0.1:{}", server.port())),
        "{msg}"
    );
    assert!(msg.contains("check that it is running"), "{msg}");
    assert_eq!(server.connections(), 0);

    // Back up: the same mailer gets through.
    server.set_mode(Mode::Normal);
    m.send(&digest()).await.expect("server is back");
    assert_eq!(server.messages().len(), 1);
}

#[tokio::test]
async fn connection_closed_without_greeting_is_transient() {
    let server = SmtpServer::start(Mode::Close);
    let m = mailer(&server, Duration::from_secs(5));
    let e = m.send(&digest()).await.unwrap_err();
    assert!(e.is_transient(), "{e}");
}

#[tokio::test]
async fn server_hanging_after_data_times_out() {
    let server = SmtpServer::start(Mode::HangAfterData);
    let m = mailer(&server, Duration::from_secs(2));
    let started = Instant::now();
    let e = m.send(&digest()).await.unwrap_err();
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(1900), "{took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!(e.is_transient(), "{e}");
    assert!(e.to_string().contains("within 2s"), "{e}");
}

#[tokio::test]
async fn starttls_is_used_when_offered_and_a_failed_upgrade_is_reported() {
    let server = SmtpServer::start_with(Options {
        offer_starttls: true,
        ..Options::default()
    });
    let m = Mailer::new(&email(&server.url()), &creds, Duration::from_secs(10)).unwrap();
    let started = Instant::now();
    let e = m.send(&digest()).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(
        server.transcript().iter().any(|l| l == "STARTTLS"),
        "{:?}",
        server.transcript()
    );
    // No credentials and no message went over the failed upgrade.
    assert!(server.auth_attempts().is_empty());
    assert!(server.messages().is_empty());
    assert!(!e.is_transient(), "{e}");
    assert!(e.to_string().contains("STARTTLS"), "{e}");
    assert!(!e.to_string().contains(PASSWORD));
}

#[tokio::test]
async fn plain_smtp_without_starttls_on_offer_stays_plain() {
    let server = SmtpServer::start(Mode::Normal);
    mailer(&server, Duration::from_secs(10))
        .send(&digest())
        .await
        .unwrap();
    assert!(!server.transcript().iter().any(|l| l == "STARTTLS"));
}

#[tokio::test]
async fn lines_starting_with_a_dot_survive_the_smtp_conversation() {
    let server = SmtpServer::start(Mode::Normal);
    let mut d = digest();
    d.sections[0].items[1].diff_excerpt = Some("@@ -1 +1 @@\n.\n..two dots\n+added".into());
    mailer(&server, Duration::from_secs(10))
        .send(&d)
        .await
        .unwrap();
    let mail = &server.messages()[0];
    let html = mail.html().unwrap().replace("\r\n", "\n");
    assert!(html.contains("\n.\n..two dots\n"), "{html}");
    assert!(
        html.contains("</html>"),
        "the message was cut short: {html}"
    );
}

#[tokio::test]
async fn rejected_recipient_is_permanent() {
    let server = SmtpServer::start(Mode::RejectRecipients);
    let m = mailer(&server, Duration::from_secs(10));
    let e = m.send(&digest()).await.unwrap_err();
    assert!(!e.is_transient(), "{e}");
    assert!(e.to_string().contains("550"), "{e}");
    assert!(server.messages().is_empty());
}

#[tokio::test]
async fn smtps_against_a_plain_server_fails_clearly_and_fast() {
    let server = SmtpServer::start(Mode::Normal);
    let url = format!("smtps://127.0.0.1:{}", server.port());
    let m = Mailer::new(&email(&url), &no_env, Duration::from_secs(10)).unwrap();
    let started = Instant::now();
    let e = m.send(&digest()).await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let msg = e.to_string();
    assert!(msg.contains("tls"), "{msg}");
    assert!(msg.contains("smtp://"), "{msg}");
    assert!(!e.is_transient(), "{msg}");
    assert!(server.messages().is_empty());
}

#[tokio::test]
async fn bad_owner_address_fails_before_connecting() {
    let server = SmtpServer::start(Mode::Normal);
    let m = mailer(&server, Duration::from_secs(10));
    let mut d = digest();
    d.to = "not an address".into();
    let e = m.send(&d).await.unwrap_err();
    assert!(
        matches!(e, NotifyError::Address { role: "to", .. }),
        "{e:?}"
    );
    assert!(!e.is_transient());
    assert_eq!(server.connections(), 0);
}

#[test]
fn mailer_rejects_a_bad_from_address() {
    let e = Mailer::new(
        &Email {
            smtp: "smtp://127.0.0.1:2525".parse().unwrap(),
            from: "capwatch at localhost".into(),
        },
        &no_env,
        Duration::from_secs(1),
    )
    .unwrap_err();
    assert!(e.to_string().contains("[email]"), "{e}");
}

#[tokio::test]
async fn two_guides_get_one_heading_each() {
    let server = SmtpServer::start(Mode::Normal);
    let m = mailer(&server, Duration::from_secs(10));
    let mut d = digest();
    d.sections.push(GuideSection {
        guide_id: "dsp".into(),
        guide_title: "Amazon DSP — <fit>".into(),
        guide_action: None,
        items: vec![Item {
            kind: "expired".into(),
            subject_kind: "guide".into(),
            subject_id: "dsp".into(),
            subject_name: "Amazon DSP — <fit>".into(),
            summary: "Validated on 2026-06-06; expired on 2026-09-04.".into(),
            evidence: vec![],
            urls: vec![],
            review_command: "capwatch review --guide dsp --by NAME".into(),
            ..drift(50)
        }],
    });
    m.send(&d).await.unwrap();
    let mail = &server.messages()[0];
    let html = mail.html().unwrap();
    assert!(html.contains(&format!(">{GUIDE}</h2>")));
    assert!(html.contains(">Amazon DSP — &lt;fit&gt;</h2>"), "{html}");
    let text = mail.text().unwrap();
    assert!(text.contains("== Amazon DSP — <fit> =="));
    assert!(text.contains("capwatch review --guide dsp --by NAME"));
    assert_eq!(mail.header("X-Capwatch-Alerts").unwrap(), "42, 43, 44, 50");
}

// ---------------------------------------------------------------------------
// Webhook.

fn hook_client(hook: &HookServer, path: &str, format: WebhookFormat) -> WebhookClient {
    WebhookClient::new(
        &Webhook {
            url: hook.url(path).parse().unwrap(),
            format,
        },
        Duration::from_secs(5),
    )
    .unwrap()
}

fn sent_at() -> jiff::Timestamp {
    "2026-11-27T06:00:00Z".parse().unwrap()
}

#[tokio::test]
async fn json_webhook_posts_the_documented_schema() {
    let hook = HookServer::start();
    let c = hook_client(&hook, "/hook", WebhookFormat::Json);
    c.post(&digest().sections, sent_at()).await.expect("posted");
    let posts = hook.posts();
    assert_eq!(posts.len(), 1);
    let p = &posts[0];
    assert_eq!(p.method, "POST");
    assert_eq!(p.path, "/hook");
    assert_eq!(p.content_type.as_deref(), Some("application/json"));
    assert!(p.user_agent.as_deref().unwrap().starts_with("capwatch/"));
    let v = p.json();
    let top: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(top.len(), 4, "{top:?}");
    assert_eq!(v["version"], 1);
    assert_eq!(v["source"], "capwatch");
    assert_eq!(v["sent_at"], "2026-11-27T06:00:00Z");
    let findings = v["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 3);
    let f = &findings[0];
    for key in [
        "guide_id",
        "guide_title",
        "alert_id",
        "kind",
        "subject_kind",
        "subject_id",
        "subject_name",
        "summary",
        "evidence",
        "diff_excerpt",
        "urls",
        "review_command",
        "message_id",
        "reminder_of",
    ] {
        assert!(f.get(key).is_some(), "missing {key} in {f}");
    }
    assert_eq!(f["guide_id"], "amc");
    assert_eq!(f["guide_title"], GUIDE);
    assert_eq!(f["alert_id"], 42);
    assert_eq!(f["kind"], "drift");
    assert_eq!(f["evidence"][0]["source"], "ads-agent-docs");
    assert!(f["evidence"][0]["quote"].as_str().unwrap().contains(SCRIPT));
    assert_eq!(findings[1]["kind"], "source_changed");
    assert!(
        findings[1]["diff_excerpt"]
            .as_str()
            .unwrap()
            .contains("eu-west-1")
    );
    assert_eq!(findings[2]["reminder_of"], "<alert-7@capwatch>");
}

#[tokio::test]
async fn slack_webhook_posts_text_and_escaped_blocks() {
    let hook = HookServer::start();
    let c = hook_client(&hook, "/services/T0/B0/xyz", WebhookFormat::Slack);
    c.post(&digest().sections, sent_at()).await.expect("posted");
    let v = hook.posts()[0].json();
    let text = v["text"].as_str().unwrap();
    assert!(
        text.starts_with("capwatch: 2 findings need you, 1 resolved"),
        "{text}"
    );
    assert!(text.contains(GUIDE));
    let blocks = v["blocks"].as_array().unwrap();
    assert!(!blocks.is_empty() && blocks.len() <= 50);
    let all = v.to_string();
    assert!(!all.contains("<script"), "{all}");
    assert!(!all.contains("<img"), "{all}");
    assert!(all.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(all.contains("<https://advertising.amazon.com/help/ads-agent|ads-agent-docs>"));
    assert!(all.contains("`capwatch review ads-agent --by NAME --note 'checked the docs'`"));
}

#[tokio::test]
async fn webhook_500_is_transient_and_hides_the_path() {
    let hook = HookServer::start();
    hook.set_status(500);
    let c = hook_client(&hook, "/services/T0/B0/s3cr3t-token", WebhookFormat::Slack);
    let e = c.post(&digest().sections, sent_at()).await.unwrap_err();
    assert!(e.is_transient(), "{e}");
    assert!(
        matches!(
            e,
            NotifyError::Webhook {
                status: Some(500),
                ..
            }
        ),
        "{e:?}"
    );
    let msg = e.to_string();
    assert!(msg.contains("500"), "{msg}");
    assert!(!msg.contains("s3cr3t-token"), "{msg}");
    assert!(!format!("{c:?}").contains("s3cr3t-token"));
}

#[tokio::test]
async fn webhook_400_is_permanent() {
    let hook = HookServer::start();
    hook.set_status(400);
    let c = hook_client(&hook, "/hook", WebhookFormat::Json);
    let e = c.post(&digest().sections, sent_at()).await.unwrap_err();
    assert!(!e.is_transient(), "{e}");
    assert!(
        matches!(
            e,
            NotifyError::Webhook {
                status: Some(400),
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("receiver says no"), "{e}");
    assert!(e.to_string().contains("[webhook]"), "{e}");
}

#[tokio::test]
async fn unreachable_webhook_is_transient_without_status() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let c = WebhookClient::new(
        &Webhook {
            url: format!("http://127.0.0.1:{port}/hook/secret-part")
                .parse()
                .unwrap(),
            format: WebhookFormat::Json,
        },
        Duration::from_secs(5),
    )
    .unwrap();
    let e = c.post(&digest().sections, sent_at()).await.unwrap_err();
    assert!(e.is_transient(), "{e}");
    assert!(
        matches!(e, NotifyError::Webhook { status: None, .. }),
        "{e:?}"
    );
    assert!(!e.to_string().contains("secret-part"), "{e}");
}

#[tokio::test]
async fn slow_webhook_times_out() {
    let hook = HookServer::start();
    hook.set_delay(Duration::from_secs(5));
    let c = WebhookClient::new(
        &Webhook {
            url: hook.url("/hook").parse().unwrap(),
            format: WebhookFormat::Json,
        },
        Duration::from_secs(1),
    )
    .unwrap();
    let started = Instant::now();
    let e = c.post(&digest().sections, sent_at()).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(e.is_transient(), "{e}");
    assert!(e.to_string().contains("did not answer within"), "{e}");
}

#[tokio::test]
async fn nothing_to_post_sends_nothing() {
    let hook = HookServer::start();
    let c = hook_client(&hook, "/hook", WebhookFormat::Json);
    c.post(&[], sent_at()).await.unwrap();
    c.post(
        &[GuideSection {
            guide_id: "amc".into(),
            guide_title: GUIDE.into(),
            items: vec![],
            guide_action: None,
        }],
        sent_at(),
    )
    .await
    .unwrap();
    assert!(hook.posts().is_empty());
}
