//! `/metrics` (Prometheus text exposition 0.0.4, written by prometheus-client)
//! and `/healthz`. Counters are counted from the store's rows, so they
//! survive restarts and agree with what `capwatch` shows; gauges come from
//! evaluating now. Each scrape fills a fresh registry: nothing is kept in
//! memory between requests.

use super::{Error, ServeState};
use crate::evaluate::{FindingKind, State as FreshState};
use crate::pipeline;
use crate::store::metrics::CountedTable;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet, prometheus_text};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::{MetricType, TypedMetric};
use prometheus_client::registry::Registry;

/// Histogram bounds for fetch durations, in milliseconds.
const BUCKETS_MS: [i64; 10] = [50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000];

/// Outcome kinds always exported (zero when never seen).
const OUTCOMES: [&str; 10] = [
    "ok",
    "not_modified",
    "http_error",
    "timeout",
    "too_large",
    "redirect",
    "network",
    "unreadable",
    "no_match",
    "browser",
];

const FRESH_STATES: [FreshState; 3] = [FreshState::Fresh, FreshState::DueSoon, FreshState::Expired];

/// One labelled sample per value, in the order given (prometheus-client's
/// `Family` is a hash map, so its order would change from scrape to scrape).
#[derive(Debug)]
struct Labelled<M>(Vec<([(&'static str, String); 1], M)>);

impl<M> Labelled<M> {
    fn new(label: &'static str, samples: impl IntoIterator<Item = (String, M)>) -> Self {
        Labelled(
            samples
                .into_iter()
                .map(|(v, m)| ([(label, v)], m))
                .collect(),
        )
    }
}

impl<M: EncodeMetric + TypedMetric> EncodeMetric for Labelled<M> {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        for (labels, m) in &self.0 {
            m.encode(encoder.encode_family(labels)?)?;
        }
        Ok(())
    }

    fn metric_type(&self) -> MetricType {
        M::TYPE
    }
}

/// A histogram whose buckets were counted by the store, not observed here.
#[derive(Debug)]
struct StoredHistogram {
    sum: f64,
    count: u64,
    /// (upper bound, checks in this bucket alone); the encoder accumulates.
    buckets: Vec<(f64, u64)>,
}

impl EncodeMetric for StoredHistogram {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        encoder.encode_histogram::<NoLabelSet>(self.sum, self.count, &self.buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

fn counter(n: i64) -> ConstCounter {
    ConstCounter::new(n.max(0) as u64)
}

fn gauge(n: usize) -> ConstGauge {
    ConstGauge::new(n as i64)
}

/// `GET /metrics`.
#[utoipa::path(get, path = "/metrics", operation_id = "getMetrics", tag = "operations",
    summary = "Prometheus text exposition: capwatch_checks_total{outcome}, capwatch_fetch_duration_seconds \
        (histogram), capwatch_pages_changed_total, capwatch_snapshots_total, capwatch_reviews_total, \
        capwatch_alerts{state}, capwatch_capabilities{state}, capwatch_capabilities_flagged{flag}, \
        capwatch_guides{state}, capwatch_sources, capwatch_last_check_timestamp_seconds.",
    responses((status = 200, description = "Metrics.", content_type = "text/plain; version=0.0.4", body = String)))]
pub(super) async fn metrics(State(state): State<ServeState>) -> Response {
    let result = state
        .read(|store, reg| {
            let now = Timestamp::now();
            // Counters are named without `_total`: the encoder appends it.
            let mut r = Registry::default();

            let summary = store.check_summary(&BUCKETS_MS)?;
            let mut outcomes = summary.by_outcome;
            for o in OUTCOMES {
                if !outcomes.iter().any(|(k, _)| k == o) {
                    outcomes.push((o.to_string(), 0));
                }
            }
            outcomes.sort();
            r.register(
                "capwatch_checks",
                "Checks of sources, by outcome",
                Labelled::new(
                    "outcome",
                    outcomes.into_iter().map(|(k, n)| (k, counter(n))),
                ),
            );

            let h = summary.durations;
            let mut below = 0;
            let buckets = BUCKETS_MS
                .iter()
                .zip(&h.cumulative)
                .map(|(bound, n)| {
                    let in_bucket = (n - below).max(0) as u64;
                    below = *n;
                    (*bound as f64 / 1000.0, in_bucket)
                })
                .collect();
            r.register(
                "capwatch_fetch_duration_seconds",
                "Time each check took to fetch and read its page",
                StoredHistogram {
                    sum: h.sum_ms as f64 / 1000.0,
                    count: h.count.max(0) as u64,
                    buckets,
                },
            );

            r.register(
                "capwatch_pages_changed",
                "Changes found between two versions of a page",
                counter(store.count_rows(CountedTable::Change)?),
            );
            r.register(
                "capwatch_snapshots",
                "Distinct page versions stored",
                counter(store.count_rows(CountedTable::Snapshot)?),
            );
            r.register(
                "capwatch_reviews",
                "Reviews recorded",
                counter(store.count_rows(CountedTable::Review)?),
            );

            let alerts = store.alert_state_counts()?;
            r.register(
                "capwatch_alerts",
                "Alerts in the outbox, by delivery state",
                Labelled::new(
                    "state",
                    ["pending", "sent", "failed", "withdrawn"].map(|st| {
                        let n = alerts.iter().find(|(k, _)| k == st).map_or(0, |(_, n)| *n);
                        (st.to_string(), ConstGauge::new(n))
                    }),
                ),
            );

            let (guides, caps) = pipeline::assess_all(store, reg, now)?;
            r.register(
                "capwatch_capabilities",
                "Capabilities by freshness state",
                Labelled::new(
                    "state",
                    FRESH_STATES.map(|st| {
                        let n = caps.iter().filter(|c| c.freshness.state == st).count();
                        (st.to_string(), gauge(n))
                    }),
                ),
            );
            r.register(
                "capwatch_capabilities_flagged",
                "Capabilities carrying each flag",
                Labelled::new(
                    "flag",
                    FindingKind::ALL.map(|k| {
                        let n = caps.iter().filter(|c| c.flags.contains(&k)).count();
                        (k.to_string(), gauge(n))
                    }),
                ),
            );
            r.register(
                "capwatch_guides",
                "Guides by freshness state",
                Labelled::new(
                    "state",
                    FRESH_STATES.map(|st| {
                        let n = guides.iter().filter(|g| g.freshness.state == st).count();
                        (st.to_string(), gauge(n))
                    }),
                ),
            );
            r.register(
                "capwatch_sources",
                "Sources in the registry",
                gauge(reg.sources().count()),
            );
            let last = store
                .last_check_at()?
                .map_or(0.0, |t| t.as_millisecond() as f64 / 1000.0);
            r.register(
                "capwatch_last_check_timestamp_seconds",
                "When the latest check ran (Unix time)",
                ConstGauge::new(last),
            );

            let mut out = String::with_capacity(4096);
            prometheus_text::encode(&mut out, &r)
                .map_err(|e| Error::internal(format!("encoding the metrics failed: {e}")))?;
            Ok(out)
        })
        .await;
    match result {
        Ok(body) => (
            [(header::CONTENT_TYPE, prometheus_text::CONTENT_TYPE)],
            body,
        )
            .into_response(),
        Err(e) => text(e),
    }
}

fn text(e: Error) -> Response {
    if e.status.is_server_error() {
        tracing::warn!(http_status = e.status.as_u16(), error = %e.message, "request failed");
    }
    (e.status, format!("{}\n", e.message)).into_response()
}

/// `GET /healthz`: 200 "ok" when the database answers, 503 otherwise.
#[utoipa::path(get, path = "/healthz", operation_id = "getHealth", tag = "operations",
    summary = "`ok` when the database answers.",
    responses(
        (status = 200, description = "Healthy: `ok`.", content_type = "text/plain", body = String),
        (status = 503, description = "The database cannot be read, or instances on it loaded different registries (the message names them).", content_type = "text/plain", body = String),
    ))]
pub(super) async fn healthz(State(state): State<ServeState>) -> Response {
    let checked = state
        .read(|store, reg| {
            store.ping()?;
            Ok(store.fingerprints(&reg.fingerprint, jiff::Timestamp::now())?)
        })
        .await;
    match checked {
        Ok(fp) if fp.agree() => (StatusCode::OK, "ok\n").into_response(),
        Ok(fp) => {
            let mut msg = format!(
                "registry mismatch: this instance loaded sources.toml {}",
                crate::daemon::short(&fp.mine)
            );
            if let Some(db) = fp.database.as_deref().filter(|d| *d != fp.mine) {
                msg.push_str(&format!(
                    ", the database mirrors {}",
                    crate::daemon::short(db)
                ));
            }
            for i in &fp.differing {
                msg.push_str(&format!(
                    ", {} on {} (pid {}) loaded {}",
                    i.role,
                    i.host,
                    i.pid,
                    crate::daemon::short(&i.fingerprint)
                ));
            }
            msg.push_str("; give every instance the same file and reload it (SIGHUP)\n");
            (StatusCode::SERVICE_UNAVAILABLE, msg).into_response()
        }
        Err(e) => text(Error::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("database unreachable: {}", e.message),
        )),
    }
}
