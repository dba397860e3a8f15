//! Notify stage (placeholder until the notify work lands on main).
use std::time::Duration;

#[derive(Debug, Clone, serde::Serialize)]
pub struct Item {
    pub alert_id: i64,
    pub kind: String,
    pub subject_kind: String,
    pub subject_id: String,
    pub subject_name: String,
    pub summary: String,
    pub evidence: Vec<Quote>,
    pub diff_excerpt: Option<String>,
    pub urls: Vec<String>,
    pub review_command: String,
    pub message_id: String,
    pub reminder_of: Option<String>,
}
#[derive(Debug, Clone, serde::Serialize)]
pub struct Quote {
    pub source: String,
    pub url: String,
    pub quote: String,
}
#[derive(Debug, Clone, serde::Serialize)]
pub struct GuideSection {
    pub guide_id: String,
    pub guide_title: String,
    pub items: Vec<Item>,
}
#[derive(Debug, Clone)]
pub struct Digest {
    pub to: String,
    pub sections: Vec<GuideSection>,
}
#[derive(Debug, thiserror::Error)]
#[error("stub")]
pub struct NotifyError;
impl NotifyError {
    pub fn is_transient(&self) -> bool {
        true
    }
}
pub struct Mailer;
impl Mailer {
    pub fn new(
        _config: &crate::config::Email,
        _env: &dyn Fn(&str) -> Option<String>,
        _timeout: Duration,
    ) -> Result<Mailer, NotifyError> {
        Ok(Mailer)
    }
    pub async fn send(&self, _digest: &Digest) -> Result<String, NotifyError> {
        Err(NotifyError)
    }
}
pub struct WebhookClient;
impl WebhookClient {
    pub fn new(
        _config: &crate::config::Webhook,
        _timeout: Duration,
    ) -> Result<WebhookClient, NotifyError> {
        Ok(WebhookClient)
    }
    pub async fn post(
        &self,
        _sections: &[GuideSection],
        _sent_at: jiff::Timestamp,
    ) -> Result<(), NotifyError> {
        Err(NotifyError)
    }
}
