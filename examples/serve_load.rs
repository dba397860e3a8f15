//! Load figures for the HTTP surface: build a database with 100 capabilities
//! and over 100k history rows by driving the store directly, then serve it.
//!
//! ```text
//! cargo run --release --example serve_load -- /tmp/capwatch-load 127.0.0.1:8099
//! wrk -t2 -c32 -d20s --latency http://127.0.0.1:8099/
//! wrk -t2 -c32 -d20s --latency http://127.0.0.1:8099/api/v1/capabilities
//! ```
//!
//! The database is generated once per folder; delete the folder to start over.

use capwatch::config;
use capwatch::model::{Access, Outcome, Regions, Stage, Status};
use capwatch::serve::{self, ServeState};
use capwatch::store::{CheckInput, NewAlert, NewObservation, Store, StoredEvidence, Subject};
use jiff::{SignedDuration, Timestamp};
use std::fmt::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

const GUIDES: usize = 4;
const CAPABILITIES: usize = 100;
const CHECKS_PER_SOURCE: usize = 1000;
const CHANGE_EVERY: usize = 50;
const OBSERVATION_EVERY: usize = 100;
const REVIEW_EVERY: usize = 250;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().unwrap_or_else(|| "/tmp/capwatch-load".into()));
    let addr: SocketAddr = args
        .next()
        .unwrap_or_else(|| "127.0.0.1:8099".into())
        .parse()?;
    std::fs::create_dir_all(&dir)?;
    let registry_path = dir.join("sources.toml");
    let db = dir.join("capwatch.db");
    if !db.exists() {
        std::fs::write(&registry_path, registry_text())?;
        let reg = config::load(&registry_path)?;
        let started = std::time::Instant::now();
        let rows = generate(&reg, &db)?;
        println!(
            "generated {rows} history rows for {} capabilities in {:.1?}",
            reg.capabilities.len(),
            started.elapsed()
        );
    }
    let reg = config::load(&registry_path)?;
    let state = ServeState::new(Arc::new(RwLock::new(reg)), db, None);
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        println!("serving http://{}/ ; Ctrl-C stops", listener.local_addr()?);
        serve::serve(listener, state, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
    })?;
    Ok(())
}

fn registry_text() -> String {
    let today = Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .date();
    let day = |n: i64| {
        today
            .checked_sub(jiff::Span::new().days(n))
            .unwrap()
            .to_string()
    };
    let mut r = String::from("[settings]\ndatabase = \"capwatch.db\"\n\n");
    for g in 0..GUIDES {
        let _ = write!(
            r,
            "[[guide]]\nid = \"guide-{g}\"\ntitle = \"Guide {g} — platform fit\"\nvalidated_on = \"{}\"\nowners = [\"owner{g}@example.com\"]\n\n",
            day(30)
        );
    }
    for c in 0..CAPABILITIES {
        let stage = ["beta", "ga", "preview", "ga"][c % 4];
        let validated = match c % 5 {
            0 => format!("validated_on = \"{}\"\n", day(200)),
            1 => format!("validated_on = \"{}\"\n", day(80)),
            _ => String::new(),
        };
        let _ = write!(
            r,
            "[[capability]]\nid = \"cap-{c:03}\"\nguide = \"guide-{}\"\nname = \"Capability {c:03}\"\n\
             claim = {{ stage = \"{stage}\", access = \"open\", regions = [\"US\", \"UK\"] }}\n{validated}\n\
               [[capability.source]]\n  url = \"https://docs.example.com/capability-{c:03}\"\n\n",
            c % GUIDES
        );
    }
    r
}

fn page_text(c: usize, version: usize) -> String {
    let mut t = format!("# Capability {c:03}\n");
    for line in 0..60 {
        let _ = writeln!(
            t,
            "Paragraph {line} of the documentation for Capability {c:03}, revision {}.",
            if line % 7 == 0 { version } else { 0 }
        );
    }
    t
}

fn generate(reg: &config::Registry, db: &Path) -> anyhow::Result<usize> {
    let mut store = Store::open(db)?;
    let hour = SignedDuration::from_hours(1);
    let t0 = Timestamp::now() - hour * (CHECKS_PER_SOURCE as i32 + 2);
    store.sync_registry(reg, t0)?;
    let mut rows = 0;
    for (c, cap) in reg.capabilities.iter().enumerate() {
        let source = &cap.sources[0];
        for i in 0..CHECKS_PER_SOURCE {
            let at = t0 + hour * (i as i32 + 1);
            let version = i / CHANGE_EVERY;
            let text = page_text(c, version);
            let hash = format!("load-{c}-{version}");
            let (outcome, content) = match i % 97 {
                13 => (Outcome::Http(503), None),
                41 => (Outcome::Network("connection reset".into()), None),
                _ if i % CHANGE_EVERY == 0 => (Outcome::Ok, Some((text.as_str(), hash.as_str()))),
                _ => (Outcome::NotModified, None),
            };
            let record = store.record_check(&CheckInput {
                source_id: &source.id,
                at,
                outcome,
                http_status: Some(200),
                duration_ms: 40 + (i as u64 * 37 % 900),
                content,
                packed: None,
                title: None,
                validators: None,
            })?;
            rows += 1 + usize::from(record.change_id.is_some()) * 2;
            if i % OBSERVATION_EVERY == 0 {
                let stage = if (i / OBSERVATION_EVERY).is_multiple_of(2) {
                    Stage::Beta
                } else {
                    Stage::Ga
                };
                let status = Status {
                    stage,
                    access: Access::Open,
                    regions: Regions::new(["US", "UK"]),
                };
                let quote = format!("{} is {} in the US and UK.", cap.name, stage);
                store.observe(&NewObservation {
                    capability_id: &cap.id,
                    source_id: &source.id,
                    snapshot_id: record.snapshot_id,
                    at,
                    status: &status,
                    evidence: &[StoredEvidence {
                        dimension: "stage".into(),
                        value: stage.to_string(),
                        quote,
                        rule: "load".into(),
                    }],
                    notes: &[],
                    reread_rules: None,
                })?;
                rows += 1;
            }
            if i % REVIEW_EVERY == REVIEW_EVERY - 1 {
                store.record_review(
                    Subject::Capability(&cap.id),
                    std::slice::from_ref(&source.id),
                    "Load Tester",
                    Some("generated"),
                    at,
                    &capwatch::model::Origin::cli(),
                )?;
                rows += 1;
            }
        }
        let payload = serde_json::json!({ "summary": format!("{} drifted", cap.name) });
        store.queue_alert(
            &NewAlert {
                dedupe_key: &format!("load-drift-{c}"),
                kind: "drift",
                subject_kind: "capability",
                subject_id: &cap.id,
                guide_id: &cap.guide,
                payload: &payload,
                resolves: None,
                targets: &[],
            },
            t0 + hour * (CHECKS_PER_SOURCE as i32),
        )?;
        rows += 1;
    }
    Ok(rows)
}
