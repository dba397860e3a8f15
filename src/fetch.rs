//! Fetch stage (placeholder until the fetch work lands on main).
use crate::model::Outcome;
use std::time::Duration;

pub struct FetchSettings {
    pub timeout: Duration,
    pub max_bytes: u64,
    pub concurrency: usize,
    pub per_host: usize,
    pub max_redirects: usize,
    pub retries: u32,
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
}
impl Default for FetchSettings {
    fn default() -> Self {
        FetchSettings {
            timeout: Duration::from_secs(30),
            max_bytes: 5_000_000,
            concurrency: 16,
            per_host: 2,
            max_redirects: 5,
            retries: 2,
            backoff_base: Duration::from_millis(500),
            backoff_cap: Duration::from_secs(10),
        }
    }
}
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}
#[derive(Debug)]
pub struct Fetched {
    pub outcome: Outcome,
    pub http_status: Option<u16>,
    pub body: Option<Vec<u8>>,
    pub content_type: Option<String>,
    pub validators: Validators,
    pub final_url: String,
    pub attempts: u32,
    pub elapsed: Duration,
}
#[derive(Debug, thiserror::Error)]
#[error("client")]
pub struct FetchError;
pub struct Fetcher;
impl Fetcher {
    pub fn new(_settings: FetchSettings) -> Result<Fetcher, FetchError> {
        Ok(Fetcher)
    }
    pub async fn fetch(&self, url: &url::Url, _validators: &Validators) -> Fetched {
        Fetched {
            outcome: Outcome::Network("stub".into()),
            http_status: None,
            body: None,
            content_type: None,
            validators: Validators::default(),
            final_url: url.to_string(),
            attempts: 1,
            elapsed: Duration::ZERO,
        }
    }
}
