//! Benchmark helper: a simulated year of hourly checks, written straight into
//! the store with synthetic time, then the size of the database and the
//! latency of the status and history queries on it.
//!
//! 100 sources (one capability each, one guide), checked every hour for 365
//! days. Each source changes once a week (at its own hour of the week); every
//! other check is a 304 (`not_modified`), as with a server that honours
//! validators. Each change stores the new text (≈ `--text-bytes`, one line of
//! it replaced) and an observation, exactly as the pipeline does
//! (`record_check`, `latest_observation`, `observe`, `set_infer_key`), and the
//! schedule is advanced before every check (`set_next_check`). Once a
//! simulated day the evaluation runs and queues alerts (`assess_all`,
//! `outbox::queue`); the guide is reviewed every 30 days.
//!
//! ```sh
//! cargo run --release --example storage_year -- --dir /tmp/year [--days 365] [--sources 100]
//! ```
//!
//! Writes `DIR/capwatch.db` and `DIR/sources.toml` (so `capwatch status` and
//! `capwatch history` can be timed on the result) and prints one JSON object.

use capwatch::config;
use capwatch::model::{Access, Outcome, Regions, Stage, Status};
use capwatch::pipeline;
use capwatch::report;
use capwatch::store::{CheckInput, NewObservation, Store, StoredEvidence, Subject};
use jiff::{SignedDuration, Timestamp};
use std::path::{Path, PathBuf};
use std::time::Instant;

const WORDS: &[&str] = &[
    "campaign",
    "ad group",
    "advertiser",
    "profile",
    "portfolio",
    "keyword",
    "budget",
    "bid",
    "report",
    "snapshot",
    "audience",
    "creative",
    "placement",
    "marketplace",
    "request",
    "response",
    "endpoint",
    "returns",
    "creates",
    "updates",
    "archives",
    "the",
    "each",
    "for",
    "within",
    "optional",
    "required",
    "daily",
];

/// A small deterministic generator (xorshift), so every run writes the same text.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn word(&mut self) -> &'static str {
        WORDS[(self.next() % WORDS.len() as u64) as usize]
    }
    fn line(&mut self) -> String {
        let n = 8 + self.next() % 20;
        let mut s = String::new();
        for i in 0..n {
            if i > 0 {
                s.push(' ');
            }
            s.push_str(self.word());
        }
        s.push('.');
        s
    }
}

/// A page's normalised text: lines of documentation-like prose.
fn page_text(rng: &mut Rng, bytes: usize) -> Vec<String> {
    let mut lines = vec!["# Synthetic capability".to_string()];
    let mut len = 0;
    while len < bytes {
        let l = rng.line();
        len += l.len() + 1;
        lines.push(l);
    }
    lines
}

fn registry_text(sources: usize, db: &Path) -> String {
    let mut t = format!(
        "[settings]\ndatabase = \"{}\"\nschedule = \"0 * * * *\"\n\n\
         [[guide]]\nid = \"year\"\ntitle = \"Storage year\"\nvalidated_on = \"2026-01-01\"\n\
         max_age = \"90d\"\nowners = [\"owner@example.com\"]\n",
        db.display()
    );
    for i in 0..sources {
        t.push_str(&format!(
            "\n[[capability]]\nid = \"cap-{i:03}\"\nguide = \"year\"\nname = \"Feature {i}\"\n\
             claim = {{ stage = \"beta\" }}\n  [[capability.source]]\n  id = \"src-{i:03}\"\n\
             url = \"https://docs.example.com/feature-{i}\"\n  select = \"main\"\n"
        ));
    }
    t
}

fn file_size(p: &Path) -> u64 {
    let wal = PathBuf::from(format!("{}-wal", p.display()));
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
        + std::fs::metadata(wal).map(|m| m.len()).unwrap_or(0)
}

fn vacuum(db: &Path) -> u64 {
    let c = rusqlite::Connection::open(db).expect("open for vacuum");
    c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); VACUUM; PRAGMA wal_checkpoint(TRUNCATE);")
        .expect("vacuum");
    drop(c);
    file_size(db)
}

/// Bytes per table and index, from SQLite's `dbstat` view (after VACUUM).
fn table_sizes(db: &Path) -> Vec<(String, i64)> {
    let c = rusqlite::Connection::open(db).expect("open");
    let mut stmt = match c
        .prepare("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY SUM(pgsize) DESC")
    {
        Ok(s) => s,
        Err(_) => return Vec::new(), // built without dbstat
    };
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

fn median_ms(mut f: impl FnMut(), reps: usize) -> f64 {
    let mut v: Vec<f64> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

struct Sim {
    store: Store,
    texts: Vec<Vec<String>>,
    rng: Rng,
}

impl Sim {
    /// One check of source `i` at `at`, written as the pipeline writes it.
    fn check(&mut self, i: usize, at: Timestamp, change: bool) {
        let source = format!("src-{i:03}");
        let cap = format!("cap-{i:03}");
        let next = at + SignedDuration::from_hours(1);
        self.store.set_next_check(&source, next).expect("schedule");
        if !change {
            self.store
                .record_check(&CheckInput {
                    source_id: &source,
                    at,
                    outcome: Outcome::NotModified,
                    http_status: Some(304),
                    duration_ms: 40,
                    content: None,
                    packed: None,
                    title: None,
                    validators: None,
                })
                .expect("check");
            return;
        }
        let lines = &mut self.texts[i];
        let k = 1 + (self.rng.next() as usize % (lines.len() - 1));
        lines[k] = self.rng.line();
        let text = lines.join("\n");
        let hash = capwatch::extract::content_hash(&text);
        let etag = format!("\"{}\"", &hash[..16]);
        let record = self
            .store
            .record_check(&CheckInput {
                source_id: &source,
                at,
                outcome: Outcome::Ok,
                http_status: Some(200),
                duration_ms: 120,
                content: Some((&text, &hash)),
                packed: None,
                title: None,
                validators: Some((Some(&etag), None)),
            })
            .expect("check");
        // Inference moves now and then (a banner flips between beta and GA).
        let stage = if self.rng.next().is_multiple_of(8) {
            Stage::Ga
        } else {
            Stage::Beta
        };
        let status = Status {
            stage,
            access: Access::Open,
            regions: Regions::new(["us-east-1", "eu-west-1"]),
        };
        let evidence = vec![StoredEvidence {
            dimension: "stage".into(),
            value: stage.to_string(),
            quote: format!("This feature is {stage} and is available in us-east-1, eu-west-1."),
            rule: "banner".into(),
        }];
        let _previous = self
            .store
            .latest_observation(&source, None)
            .expect("observation");
        self.store
            .observe(&NewObservation {
                capability_id: &cap,
                source_id: &source,
                snapshot_id: record.snapshot_id,
                at,
                status: &status,
                evidence: &evidence,
                notes: &[],
                reread_rules: None,
            })
            .expect("observe");
        self.store
            .set_infer_key(&source, "bench")
            .expect("infer key");
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut dir = PathBuf::from("bench/out/storage");
    let mut days: i64 = 365;
    let mut sources: usize = 100;
    let mut text_bytes: usize = 40_000;
    while let Some(a) = args.next() {
        let mut val = || args.next().expect("a value after the flag");
        match a.as_str() {
            "--dir" => dir = PathBuf::from(val()),
            "--days" => days = val().parse().expect("--days N"),
            "--sources" => sources = val().parse().expect("--sources N"),
            "--text-bytes" => text_bytes = val().parse().expect("--text-bytes N"),
            other => panic!("unknown argument {other}"),
        }
    }
    std::fs::create_dir_all(&dir).expect("output directory");
    let dir = dir.canonicalize().expect("absolute directory");
    let db = dir.join("capwatch.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    let toml_path = dir.join("sources.toml");
    std::fs::write(&toml_path, registry_text(sources, &db)).expect("write registry");
    let reg = config::load(&toml_path).expect("valid registry");

    let start: Timestamp = "2026-01-05T00:00:00Z".parse().expect("time");
    let mut store = Store::open(&db).expect("open store");
    store.sync_registry(&reg, start).expect("sync");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let texts: Vec<Vec<String>> = (0..sources)
        .map(|_| page_text(&mut rng, text_bytes))
        .collect();
    let mut sim = Sim { store, texts, rng };

    // Hour 0: every source's baseline.
    let t0 = Instant::now();
    for i in 0..sources {
        sim.check(i, start, true);
    }
    let hours = days * 24;
    let week = 7 * 24;
    let mut checks: u64 = sources as u64;
    let mut changes: u64 = 0;
    let mut unchanged: u64 = 0;
    let mut eval_ms = Vec::new();
    for h in 1..hours {
        let at = start + SignedDuration::from_hours(h);
        for i in 0..sources {
            // Source i changes once a week, at its own hour of the week.
            let change = h % week == (i as i64 * week / sources as i64) % week;
            sim.check(i, at, change);
            checks += 1;
            if change {
                changes += 1;
            } else {
                unchanged += 1;
            }
        }
        if h % (30 * 24) == 0 {
            let ids: Vec<String> = reg.sources().map(|s| s.id.clone()).collect();
            sim.store
                .record_review(
                    Subject::Guide("year"),
                    &ids,
                    "bench",
                    Some("monthly"),
                    at,
                    &capwatch::model::Origin::cli(),
                )
                .expect("review");
        }
        if h % 24 == 0 {
            let t = Instant::now();
            let (guides, caps) = pipeline::assess_all(&sim.store, &reg, at).expect("assess");
            capwatch::outbox::queue(&mut sim.store, &reg, &guides, &caps, at).expect("queue");
            eval_ms.push(t.elapsed().as_secs_f64() * 1e3);
        }
    }
    let write_s = t0.elapsed().as_secs_f64();
    let end = start + SignedDuration::from_hours(hours);
    let Sim { store, texts, rng } = sim;
    drop(store);
    let size_before_vacuum = file_size(&db);
    let size_year = vacuum(&db);
    let tables = table_sizes(&db);

    // The bytes one unchanged check adds: a week of 304s only, VACUUM before and after.
    let mut sim = Sim {
        store: Store::open(&db).expect("reopen"),
        texts,
        rng,
    };
    let extra_hours = week;
    for h in 0..extra_hours {
        let at = end + SignedDuration::from_hours(h);
        for i in 0..sources {
            sim.check(i, at, false);
        }
    }
    drop(sim);
    let size_after_week = vacuum(&db);
    let extra_checks = (extra_hours as u64) * sources as u64;
    let bytes_per_unchanged = (size_after_week as f64 - size_year as f64) / extra_checks as f64;

    // Query latency on the year's database.
    let store = Store::open(&db).expect("reopen");
    let now = end + SignedDuration::from_hours(extra_hours);
    let status_ms = median_ms(
        || {
            let (g, c) = pipeline::assess_all(&store, &reg, now).expect("assess");
            std::hint::black_box((g, c));
        },
        7,
    );
    let history_ms = median_ms(
        || {
            let t = report::timeline(&store, &reg, "cap-000", None, None).expect("timeline");
            std::hint::black_box(t);
        },
        7,
    );
    let history_len = report::timeline(&store, &reg, "cap-000", None, None)
        .expect("timeline")
        .len();
    let mut eval_sorted = eval_ms.clone();
    eval_sorted.sort_by(|a, b| a.total_cmp(b));

    let tables_json: Vec<String> = tables
        .iter()
        .map(|(n, b)| format!("{{\"name\": \"{n}\", \"bytes\": {b}}}"))
        .collect();
    println!(
        "{{\"sources\": {sources}, \"days\": {days}, \"text_bytes\": {text_bytes}, \"checks\": {checks}, \
         \"changes\": {changes}, \"unchanged\": {unchanged}, \"write_s\": {write_s:.2}, \
         \"us_per_check\": {:.1}, \"db_bytes_before_vacuum\": {size_before_vacuum}, \
         \"db_bytes_year\": {size_year}, \"extra_unchanged_checks\": {extra_checks}, \
         \"db_bytes_after_extra_week\": {size_after_week}, \
         \"bytes_per_unchanged_check\": {bytes_per_unchanged:.1}, \
         \"daily_evaluation_ms_median\": {:.2}, \"status_ms\": {status_ms:.2}, \
         \"history_ms\": {history_ms:.2}, \"history_events\": {history_len}, \
         \"tables\": [{}], \"database\": \"{}\", \"registry\": \"{}\"}}",
        write_s * 1e6 / checks as f64,
        eval_sorted
            .get(eval_sorted.len() / 2)
            .copied()
            .unwrap_or(0.0),
        tables_json.join(", "),
        db.display(),
        toml_path.display(),
    );
}
