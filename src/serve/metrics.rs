//! `/metrics` (Prometheus text exposition 0.0.4) and `/healthz`. Counters
//! are counted from the store's rows, so they survive restarts and agree
//! with what `capwatch` shows; gauges come from evaluating now.

use super::{Error, ServeState};
use crate::evaluate::{FindingKind, State as FreshState};
use crate::pipeline;
use crate::store::metrics::CountedTable;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use std::fmt::Write;

/// Histogram bounds for fetch durations, in milliseconds.
const BUCKETS_MS: [i64; 10] = [50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000];

/// Outcome kinds always exported (zero when never seen).
const OUTCOMES: [&str; 9] = [
    "ok",
    "not_modified",
    "http_error",
    "timeout",
    "too_large",
    "redirect",
    "network",
    "unreadable",
    "no_match",
];

fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn head(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// `GET /metrics`.
pub(super) async fn metrics(State(state): State<ServeState>) -> Response {
    let result = state
        .read(|store, reg| {
            let now = Timestamp::now();
            let mut out = String::with_capacity(4096);

            head(
                &mut out,
                "capwatch_checks_total",
                "counter",
                "Checks of sources, by outcome.",
            );
            let summary = store.check_summary(&BUCKETS_MS)?;
            let mut outcomes = summary.by_outcome;
            for o in OUTCOMES {
                if !outcomes.iter().any(|(k, _)| k == o) {
                    outcomes.push((o.to_string(), 0));
                }
            }
            outcomes.sort();
            for (k, n) in &outcomes {
                let _ = writeln!(out, "capwatch_checks_total{{outcome=\"{}\"}} {n}", label(k));
            }

            head(
                &mut out,
                "capwatch_fetch_duration_seconds",
                "histogram",
                "Time each check took to fetch and read its page.",
            );
            let h = summary.durations;
            for (bound, n) in BUCKETS_MS.iter().zip(&h.cumulative) {
                let _ = writeln!(
                    out,
                    "capwatch_fetch_duration_seconds_bucket{{le=\"{}\"}} {n}",
                    *bound as f64 / 1000.0
                );
            }
            let _ = writeln!(
                out,
                "capwatch_fetch_duration_seconds_bucket{{le=\"+Inf\"}} {}\n\
                 capwatch_fetch_duration_seconds_sum {}\ncapwatch_fetch_duration_seconds_count {}",
                h.count,
                h.sum_ms as f64 / 1000.0,
                h.count
            );

            head(
                &mut out,
                "capwatch_pages_changed_total",
                "counter",
                "Changes found between two versions of a page.",
            );
            let _ = writeln!(
                out,
                "capwatch_pages_changed_total {}",
                store.count_rows(CountedTable::Change)?
            );
            head(
                &mut out,
                "capwatch_snapshots_total",
                "counter",
                "Distinct page versions stored.",
            );
            let _ = writeln!(
                out,
                "capwatch_snapshots_total {}",
                store.count_rows(CountedTable::Snapshot)?
            );
            head(
                &mut out,
                "capwatch_reviews_total",
                "counter",
                "Reviews recorded.",
            );
            let _ = writeln!(
                out,
                "capwatch_reviews_total {}",
                store.count_rows(CountedTable::Review)?
            );

            head(
                &mut out,
                "capwatch_alerts",
                "gauge",
                "Alerts in the outbox, by delivery state.",
            );
            let alerts = store.alert_state_counts()?;
            for st in ["pending", "sent", "failed", "withdrawn"] {
                let n = alerts
                    .iter()
                    .find(|(k, _)| k == st)
                    .map(|(_, n)| *n)
                    .unwrap_or(0);
                let _ = writeln!(out, "capwatch_alerts{{state=\"{st}\"}} {n}");
            }

            let (guides, caps) = pipeline::assess_all(store, reg, now)?;
            head(
                &mut out,
                "capwatch_capabilities",
                "gauge",
                "Capabilities by freshness state.",
            );
            for st in [FreshState::Fresh, FreshState::DueSoon, FreshState::Expired] {
                let n = caps.iter().filter(|c| c.freshness.state == st).count();
                let _ = writeln!(out, "capwatch_capabilities{{state=\"{st}\"}} {n}");
            }
            head(
                &mut out,
                "capwatch_capabilities_flagged",
                "gauge",
                "Capabilities carrying each flag.",
            );
            for k in FindingKind::ALL {
                let n = caps.iter().filter(|c| c.flags.contains(&k)).count();
                let _ = writeln!(out, "capwatch_capabilities_flagged{{flag=\"{k}\"}} {n}");
            }
            head(
                &mut out,
                "capwatch_guides",
                "gauge",
                "Guides by freshness state.",
            );
            for st in [FreshState::Fresh, FreshState::DueSoon, FreshState::Expired] {
                let n = guides.iter().filter(|g| g.freshness.state == st).count();
                let _ = writeln!(out, "capwatch_guides{{state=\"{st}\"}} {n}");
            }
            head(
                &mut out,
                "capwatch_sources",
                "gauge",
                "Sources in the registry.",
            );
            let _ = writeln!(out, "capwatch_sources {}", reg.sources().count());
            head(
                &mut out,
                "capwatch_last_check_timestamp_seconds",
                "gauge",
                "When the latest check ran (Unix time).",
            );
            let last = store
                .last_check_at()?
                .map(|t| t.as_millisecond() as f64 / 1000.0)
                .unwrap_or(0.0);
            let _ = writeln!(out, "capwatch_last_check_timestamp_seconds {last}");
            Ok(out)
        })
        .await;
    match result {
        Ok(body) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
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
pub(super) async fn healthz(State(state): State<ServeState>) -> Response {
    match state.read(|store, _| Ok(store.ping()?)).await {
        Ok(()) => (StatusCode::OK, "ok\n").into_response(),
        Err(e) => text(Error::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("database unreachable: {}", e.message),
        )),
    }
}
