//! The command line: argument shapes (clap) and one function per command.
//! In: parsed arguments. Out: text or JSON on stdout and an exit status.
//! The only place besides `main` that uses `anyhow`.

mod claims;
mod review;
mod serve;
mod status;

use crate::report::{parse_time, rfc3339};

use crate::config::{self, Registry, Source};
use crate::fetch::{FetchSettings, Fetcher};
use crate::outbox::Channels;
use crate::pipeline::{self, CycleReport, Evaluation, Progress, SourceResult};
use crate::schedule::{Clock, SystemClock};
use crate::store::Store;
use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "capwatch",
    version,
    about = "Keeps advisory guides honest: watches the official pages behind each claim and says when a claim is stale, drifting or unreadable."
)]
pub struct Cli {
    /// The registry file.
    #[arg(
        long,
        global = true,
        env = "CAPWATCH_CONFIG",
        default_value = "sources.toml"
    )]
    pub config: PathBuf,

    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value = "human")]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Parse and check the registry; exit 0, or 3 with every error.
    Validate,
    /// Check all (or the named) sources now and summarise what happened.
    Check {
        /// Only this source (or every source of this capability); repeatable.
        #[arg(long = "only", value_name = "ID")]
        only: Vec<String>,
        /// Exit 2 when findings exist.
        #[arg(long)]
        fail_on_findings: bool,
    },
    /// One row per capability: claim, observed, evidence, validated_on, state, flags.
    Status {
        /// Print the JSON contract instead of a table.
        #[arg(long)]
        json: bool,
        /// Exit 2 when findings exist.
        #[arg(long)]
        fail_on_findings: bool,
    },
    /// The timeline of a capability: claims, observations, changes, failed checks, reviews, snoozes, alerts.
    History {
        capability: String,
        /// From this date or time (2026-11-01, 2026-11-01T08:00:00Z).
        #[arg(long)]
        since: Option<String>,
        /// Up to this date (inclusive) or time.
        #[arg(long)]
        until: Option<String>,
        /// How it stood at this time: one status row.
        #[arg(long)]
        as_of: Option<String>,
        #[arg(long, conflicts_with = "csv")]
        json: bool,
        #[arg(long)]
        csv: bool,
    },
    /// What capwatch would conclude from one page, with the evidence.
    Infer {
        /// A local file or an http(s) URL.
        target: String,
        /// The capability's name as the page writes it.
        #[arg(long)]
        name: String,
        /// Other names for it; repeatable.
        #[arg(long = "alias")]
        aliases: Vec<String>,
        /// CSS selection (default "main, article, body").
        #[arg(long)]
        select: Option<String>,
        /// How to read a URL: `http` (one GET, the default) or `browser`
        /// (load it in headless Chromium and read it once its scripts ran).
        #[arg(long, default_value = "http", value_parser = parse_render_arg)]
        render: config::Render,
        #[arg(long)]
        json: bool,
    },
    /// What each guide's own page claims for its capabilities, next to the registry's claim.
    Claims {
        /// Only this guide.
        #[arg(long)]
        guide: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// How often inference gives the expected answer on a folder of pages
    /// (`EXPECT.tsv`: file, name, aliases, stage, access, regions), each
    /// Markdown page read as written and as a docs site's HTML.
    Accuracy {
        /// The folder of pages.
        dir: PathBuf,
        /// The expectations (default: DIR/EXPECT.tsv).
        #[arg(long)]
        expect: Option<PathBuf>,
        /// List only the cases that are not right.
        #[arg(long)]
        misses: bool,
        #[arg(long)]
        json: bool,
    },
    /// The daemon: check sources on their schedules, evaluate, deliver alerts.
    Run {
        /// Also serve the HTTP surface (JSON API, dashboard, feed, metrics) here.
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
        /// Evaluate and deliver at least this often (e.g. 60s, 5m).
        #[arg(long, default_value = "60s", value_parser = parse_duration_arg)]
        evaluate_every: std::time::Duration,
        /// How long in-flight checks may run after SIGTERM/SIGINT.
        #[arg(long, default_value = "20s", value_parser = parse_duration_arg)]
        grace: std::time::Duration,
    },
    /// Print shell completions (bash, zsh, fish, elvish, powershell).
    Completions { shell: clap_complete::Shell },
    /// Record that a person validated a capability (or a whole guide) now.
    Review {
        /// The capability id.
        #[arg(required_unless_present = "guide", conflicts_with = "guide")]
        capability: Option<String>,
        /// Review a whole guide and all its capabilities instead.
        #[arg(long)]
        guide: Option<String>,
        /// Who validated it.
        #[arg(long)]
        by: String,
        /// What was checked.
        #[arg(long)]
        note: Option<String>,
    },
    /// Silence one finding of a capability for a while (at most 30 days).
    Snooze {
        capability: String,
        /// expired, due_soon, source_changed, drift or unreadable.
        #[arg(long)]
        kind: String,
        /// A date (2026-12-15) or time, at most 30 days ahead.
        #[arg(long)]
        until: String,
        /// Why it can wait.
        #[arg(long)]
        reason: String,
    },
    /// The outbox and its delivery state.
    Alerts {
        /// Only alerts not yet delivered everywhere.
        #[arg(long)]
        pending: bool,
        #[arg(long)]
        json: bool,
        /// Send every due or failed alert now, without waiting for the retry delay.
        #[arg(long, conflicts_with = "json")]
        retry: bool,
    },
    /// Copy this database (an SQLite file) into an empty PostgreSQL
    /// database, with every row and id, and compare the counts.
    MigrateStore {
        /// The target, e.g. postgres://capwatch@db.internal/capwatch.
        #[arg(long)]
        to: String,
    },
    /// The HTTP server alone: dashboard, JSON API, Atom feed, metrics.
    Serve {
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
    },
    /// Unified diff between two versions of a source (default: its latest change).
    Diff {
        /// The source id.
        source: String,
        /// The older snapshot number.
        #[arg(long)]
        from: Option<i64>,
        /// The newer snapshot number.
        #[arg(long)]
        to: Option<i64>,
    },
}

impl Command {
    /// `run` and `serve`: long-lived servers.
    pub fn is_server(&self) -> bool {
        matches!(self, Command::Run { .. } | Command::Serve { .. })
    }
}

/// Run one parsed command line.
pub fn run(cli: Cli) -> Result<ExitCode> {
    let daemon = matches!(cli.command, Command::Run { .. });
    init_logging(cli.log_format, if daemon { "info" } else { "warn" });
    match cli.command {
        Command::Run {
            listen,
            evaluate_every,
            grace,
        } => run_daemon(&cli.config, listen, evaluate_every, grace),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "capwatch",
                &mut std::io::stdout(),
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Validate => validate(&cli.config),
        Command::Check {
            only,
            fail_on_findings,
        } => check(&cli.config, &only, fail_on_findings),
        Command::Review {
            capability,
            guide,
            by,
            note,
        } => review::review(
            &cli.config,
            review::ReviewArgs {
                capability: capability.as_deref(),
                guide: guide.as_deref(),
                by: &by,
                note: note.as_deref(),
            },
        ),
        Command::Snooze {
            capability,
            kind,
            until,
            reason,
        } => review::snooze(
            &cli.config,
            review::SnoozeArgs {
                capability: &capability,
                kind: &kind,
                until: &until,
                reason: &reason,
            },
        ),
        Command::Alerts {
            retry: true,
            pending,
            ..
        } => review::retry(&cli.config, pending),
        Command::Alerts { pending, json, .. } => review::alerts(&cli.config, pending, json),
        Command::Diff { source, from, to } => diff(&cli.config, &source, from, to),
        Command::Serve { listen } => serve::serve(&cli.config, listen),
        Command::MigrateStore { to } => migrate_store(&cli.config, &to),
        Command::Status {
            json,
            fail_on_findings,
        } => status::status(&cli.config, json, fail_on_findings),
        Command::History {
            capability,
            since,
            until,
            as_of,
            json,
            csv,
        } => status::history(
            &cli.config,
            status::HistoryArgs {
                capability: &capability,
                since: since.as_deref(),
                until: until.as_deref(),
                as_of: as_of.as_deref(),
                json,
                csv,
            },
        ),
        Command::Claims { guide, json } => claims::claims(&cli.config, guide.as_deref(), json),
        Command::Accuracy {
            dir,
            expect,
            misses,
            json,
        } => {
            let expect = expect.unwrap_or_else(|| dir.join("EXPECT.tsv"));
            let cases = crate::accuracy::read_expect(&expect)?;
            let report = crate::accuracy::run(&dir, &cases);
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", crate::accuracy::render(&report, misses));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Infer {
            target,
            name,
            aliases,
            select,
            render,
            json,
        } => status::infer(status::InferArgs {
            target: &target,
            name: &name,
            aliases: &aliases,
            select: select.as_deref(),
            render,
            config: &cli.config,
            json,
        }),
    }
}

fn parse_render_arg(s: &str) -> Result<config::Render, String> {
    s.parse()
}

fn parse_duration_arg(s: &str) -> Result<std::time::Duration, String> {
    config::parse_duration(s)
}

fn run_daemon(
    path: &Path,
    listen: Option<std::net::SocketAddr>,
    evaluate_every: std::time::Duration,
    grace: std::time::Duration,
) -> Result<ExitCode> {
    let reg = load(path)?;
    let opts = crate::daemon::Options {
        config: path.to_path_buf(),
        database: database_path(&reg),
        listen,
        evaluate_every,
        grace,
        api_token: env_var("CAPWATCH_API_TOKEN"),
    };
    match runtime()?.block_on(crate::daemon::run(opts)) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(crate::daemon::DaemonError::Config(e)) => Err(e.into()),
        Err(e) => Err(anyhow::anyhow!(e)),
    }
}

fn init_logging(format: LogFormat, default: &str) {
    use tracing_subscriber::EnvFilter;
    // chromiumoxide warns about every DevTools event newer than its protocol
    // tables; those say nothing about the page being read.
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("{default},chromiumoxide=error")));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

fn load(path: &Path) -> Result<Registry> {
    Ok(config::load(path)?)
}

/// The database named by CAPWATCH_DB, else by the registry.
fn database_path(reg: &Registry) -> PathBuf {
    match std::env::var_os("CAPWATCH_DB") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => reg.settings.database.clone(),
    }
}

/// `capwatch migrate-store --to URL`.
fn migrate_store(config: &Path, to: &str) -> Result<ExitCode> {
    let reg = load(config)?;
    let from_path = database_path(&reg);
    if crate::store::postgres_url(&from_path).is_some() {
        return Err(anyhow::anyhow!(
            "the database is already PostgreSQL ({}); migrate-store copies an SQLite file up",
            crate::store::label(&from_path)
        ));
    }
    if !crate::store::db::is_postgres_url(to) {
        return Err(anyhow::anyhow!(
            "--to {to} is not a PostgreSQL URL; write postgres://user@host/database"
        ));
    }
    if !from_path.exists() {
        return Err(anyhow::anyhow!(
            "there is no database at {} to copy (settings.database or CAPWATCH_DB)",
            from_path.display()
        ));
    }
    if let Some(holder) = crate::daemon::DbLock::holder(&from_path) {
        return Err(anyhow::anyhow!(
            "a daemon is running on {} ({holder}); stop it first so nothing is written during the copy",
            from_path.display()
        ));
    }
    let from = Store::open(&from_path)?;
    let mut target = Store::open(Path::new(to))?;
    println!("copying {} into {}", from_path.display(), target.label());
    let counts = from.copy_to(&mut target, |c| {
        println!("  {:<18} {:>10} rows", c.table, c.target);
    })?;
    let total: i64 = counts.iter().map(|c| c.target).sum();
    println!(
        "done: {total} rows in {} tables, every count matches; point settings.database or CAPWATCH_DB at the new URL",
        counts.len()
    );
    Ok(ExitCode::SUCCESS)
}

fn open_store(reg: &Registry) -> Result<Store> {
    Ok(Store::open(&database_path(reg))?)
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        // Keep idle blocking threads (large pages are parsed there, and the
        // HTTP surface's database reads run there) instead of ending them
        // after 10 s: every new thread made the regex crate build fresh
        // search caches for the inference rules, and a daemon checking in
        // bursts grew by megabytes of them with each burst of changes.
        .thread_keep_alive(std::time::Duration::from_secs(24 * 3600))
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn validate(path: &Path) -> Result<ExitCode> {
    let reg = load(path)?;
    // A source rendered in a browser needs one on this machine: not a
    // registry error (`check` still reads every other source), but what
    // `validate` is asked for — will this registry work here?
    let rendered: Vec<&str> = reg
        .sources()
        .filter(|s| s.render == config::Render::Browser)
        .map(|s| s.id.as_str())
        .collect();
    if !rendered.is_empty()
        && let Err(why) = crate::render::find_browser(reg.settings.browser.as_deref())
    {
        for id in &rendered {
            eprintln!(
                "{}: source \"{id}\" has render = \"browser\" and needs a browser, but {why}",
                path.display()
            );
        }
        return Ok(ExitCode::from(3));
    }
    let sources = reg.sources().count();
    println!(
        "{}: ok — {} guide(s), {} capabilities, {} sources",
        path.display(),
        reg.guides.len(),
        reg.capabilities.len(),
        sources
    );
    // A warning, not an error: a guide page on disk that never names a
    // capability gives it no claim. (Pages over HTTP are read by `check`.)
    for g in &reg.guides {
        let Some(url) = g.url.as_ref().filter(|u| u.scheme() == "file") else {
            continue;
        };
        let Ok(path) = url.to_file_path() else {
            continue;
        };
        let Ok(body) = std::fs::read(&path) else {
            eprintln!(
                "warning: guide \"{}\": cannot read {}",
                g.id,
                path.display()
            );
            continue;
        };
        let page = pipeline::guide_page(&body, None, url);
        for (cap_id, claim) in pipeline::guide_claims(&reg, &g.id, &page) {
            if claim.sentences.is_empty() {
                let cap = reg.capability(&cap_id).expect("capability");
                eprintln!(
                    "warning: capability \"{cap_id}\": \"{}\"{} appears nowhere in the guide's text ({}); add the name the guide uses as an alias",
                    cap.name,
                    if cap.aliases.is_empty() {
                        String::new()
                    } else {
                        format!(" (or its aliases {})", cap.aliases.join(", "))
                    },
                    path.display()
                );
            }
        }
    }
    if reg.settings.public_url.is_none() {
        println!(
            "hint: [settings] public_url is not set, so alerts and feeds carry no links to the dashboard \
             and no \"Mark reviewed\" links; set it to where people reach `capwatch serve`"
        );
    } else if env_var("CAPWATCH_SECRET").is_none() {
        println!(
            "hint: CAPWATCH_SECRET is not set here, so digests carry no signed \"Mark reviewed\" / \"Snooze\" links; \
             set it (the same value) for `check`, `run` and `serve`"
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The fetch limits from the registry settings.
pub fn fetch_settings(reg: &Registry) -> FetchSettings {
    FetchSettings {
        timeout: reg.settings.timeout,
        max_bytes: reg.settings.max_page_bytes,
        concurrency: reg.settings.concurrency,
        per_host: reg.settings.per_host,
        ..FetchSettings::default()
    }
}

/// Resolve `--only` values: source ids, or capability ids meaning all their sources.
fn select_sources<'r>(reg: &'r Registry, only: &[String]) -> Result<Vec<&'r Source>> {
    if only.is_empty() {
        return Ok(reg.sources().collect());
    }
    let mut out: Vec<&Source> = Vec::new();
    for id in only {
        let matched: Vec<&Source> = match reg.capability(id) {
            Some(c) => c.sources.iter().collect(),
            None => reg.source(id).into_iter().collect(),
        };
        if matched.is_empty() {
            let known: Vec<&str> = reg.sources().map(|s| s.id.as_str()).collect();
            bail!(
                "no source or capability \"{id}\" in {}; known sources: {}",
                reg.path.display(),
                known.join(", ")
            );
        }
        for s in matched {
            if !out.iter().any(|o| o.id == s.id) {
                out.push(s);
            }
        }
    }
    Ok(out)
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn check(path: &Path, only: &[String], fail_on_findings: bool) -> Result<ExitCode> {
    let reg = load(path)?;
    let sources = select_sources(&reg, only)?;
    let mut store = open_store(&reg)?;
    let clock = SystemClock;
    store.sync_registry(&reg, clock.now())?;
    let fetcher = Fetcher::new(fetch_settings(&reg)).context("cannot build the HTTP client")?;
    let fetcher = match crate::render::settings_for(&reg) {
        Some(s) => fetcher.with_renderer(crate::render::Renderer::new(s)),
        None => fetcher,
    };
    let progress = ConsoleProgress::new(id_width(sources.iter().map(|s| s.id.as_str())));
    let daemon = crate::daemon::DbLock::holder(&database_path(&reg));
    let cycle = runtime()?.block_on(async {
        // A running daemon owns delivery; two senders could both send a due alert.
        let channels = match &daemon {
            Some(_) => Channels::default(),
            None => Channels::from_registry(&reg, &env_var)?,
        };
        let cycle = pipeline::run_cycle(
            &mut store,
            &reg,
            &fetcher,
            &sources,
            only.is_empty(),
            pipeline::Evaluate::Always,
            &clock,
            &progress,
            &channels,
        )
        .await;
        fetcher.close_browser().await;
        anyhow::Ok(cycle?)
    })?;
    let evaluation = cycle.evaluation.as_ref().expect("check always evaluates");
    print_summary(&cycle.checks);
    for g in &cycle.guide_pages {
        match g.date {
            Some(d) => println!(
                "guide {}: its page says it was last validated on {d}",
                g.guide_id
            ),
            None => println!("guide {}: {}", g.guide_id, g.outcome),
        }
    }
    print_findings(evaluation);
    match &daemon {
        Some(holder) => println!("alerts are queued; the running daemon ({holder}) delivers them"),
        None => print_outbox(evaluation),
    }
    let open = evaluation
        .guides
        .iter()
        .flat_map(|g| &g.findings)
        .chain(evaluation.capabilities.iter().flat_map(|c| &c.findings))
        .filter(|f| !f.snoozed)
        .count();
    Ok(if fail_on_findings && open > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

fn print_findings(e: &Evaluation) {
    let mut lines = Vec::new();
    for g in &e.guides {
        for f in &g.findings {
            lines.push(format!(
                "  {:<15} guide {}: {}",
                f.kind.as_str(),
                g.id,
                f.summary
            ));
        }
    }
    for c in &e.capabilities {
        for f in &c.findings {
            let snoozed = if f.snoozed { " (snoozed)" } else { "" };
            lines.push(format!(
                "  {:<15} {}: {}{snoozed}",
                f.kind.as_str(),
                c.id,
                f.summary
            ));
        }
    }
    if lines.is_empty() {
        println!("no findings: every claim is fresh, unchanged, readable and matches the docs");
    } else {
        println!("findings ({}):", lines.len());
        for l in lines {
            println!("{l}");
        }
    }
}

/// What the outbox did, in one or two lines.
fn print_outbox(e: &Evaluation) {
    let q = &e.queued;
    let d = &e.delivery;
    if q.queued + q.reminders + q.resolved > 0 {
        println!(
            "alerts: {} new, {} reminder(s), {} resolved notice(s) queued",
            q.queued, q.reminders, q.resolved
        );
    }
    if d.messages > 0 {
        println!(
            "sent {} message(s) covering {} alert(s)",
            d.messages,
            d.delivered.len()
        );
    }
    for (target, err) in &d.failed {
        println!("delivery to {target} failed: {err} — kept in the outbox and retried later");
    }
    if d.waiting_without_channel > 0 {
        println!(
            "{} alert(s) wait in the outbox: no e-mail or webhook is configured (see `capwatch alerts`)",
            d.waiting_without_channel
        );
    } else if d.pending > 0 {
        println!(
            "{} alert(s) not yet delivered (see `capwatch alerts --pending`)",
            d.pending
        );
    }
}

/// Queue and deliver after a review (resolved notices go out at once).
fn evaluate_and_deliver(
    store: &mut Store,
    reg: &Registry,
    now: jiff::Timestamp,
) -> Result<Evaluation> {
    let daemon = crate::daemon::DbLock::holder(&database_path(reg));
    runtime()?.block_on(async {
        // A running daemon owns delivery.
        let channels = match daemon {
            Some(_) => Channels::default(),
            None => Channels::from_registry(reg, &env_var)?,
        };
        Ok(pipeline::evaluate_and_deliver(store, reg, &channels, now).await?)
    })
}

/// The width of a column of source ids: the longest, at least 26.
fn id_width<'a>(ids: impl Iterator<Item = &'a str>) -> usize {
    ids.map(|s| s.chars().count()).max().unwrap_or(0).max(26)
}

/// A progress bar on a terminal; one plain line per source otherwise.
struct ConsoleProgress {
    bar: Option<indicatif::ProgressBar>,
    /// The width of the source id column.
    width: usize,
}

impl ConsoleProgress {
    fn new(width: usize) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(0);
            bar.set_style(
                indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {wide_msg}")
                    .expect("valid template"),
            );
            bar
        });
        ConsoleProgress { bar, width }
    }
}

impl Progress for ConsoleProgress {
    fn start(&self, total: usize) {
        if let Some(bar) = &self.bar {
            bar.set_length(total as u64);
        }
    }

    fn done(&self, r: &SourceResult) {
        match &self.bar {
            Some(bar) => {
                bar.set_message(r.source_id.clone());
                bar.inc(1);
            }
            None => println!("{}", result_line(r, self.width)),
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn result_line(r: &SourceResult, width: usize) -> String {
    let what = if !r.outcome.is_success() {
        format!("failed: {}", r.outcome)
    } else if r.baseline {
        format!("baseline stored (snapshot {})", r.snapshot_seq.unwrap_or(1))
    } else if r.changed {
        format!("changed → snapshot {}", r.snapshot_seq.unwrap_or(0))
    } else if r.outcome == crate::model::Outcome::NotModified {
        "unchanged (not modified)".to_string()
    } else {
        "unchanged".to_string()
    };
    let observed = r
        .observed
        .as_ref()
        .map(|s| format!("; observed {s}"))
        .unwrap_or_default();
    format!("{:<width$} {what}{observed}", r.source_id)
}

fn print_summary(report: &CycleReport) {
    let failed: Vec<&SourceResult> = report.failed().collect();
    println!(
        "checked {}: {} changed, {} unchanged, {} new baseline(s), {} failed",
        report.checked(),
        report.changed(),
        report.unchanged(),
        report.baselines(),
        failed.len()
    );
    if !failed.is_empty() {
        println!("failed sources:");
        let width = id_width(failed.iter().map(|r| r.source_id.as_str()));
        for r in &failed {
            println!("  {:<width$} {}  ({})", r.source_id, r.outcome, r.url);
        }
        let network = failed
            .iter()
            .filter(|r| matches!(r.outcome, crate::model::Outcome::Network(_)))
            .count();
        if network == failed.len() && network == report.checked() {
            println!(
                "no source could be reached: this machine seems to have no network access. \
                 Nothing was lost; run `capwatch check` again when the network is back \
                 (examples/offline/ shows the whole loop without network)."
            );
        }
    }
}

fn diff(path: &Path, source: &str, from: Option<i64>, to: Option<i64>) -> Result<ExitCode> {
    let reg = load(path)?;
    let store = open_store(&reg)?;
    let snapshots = store.snapshots(source)?;
    if snapshots.is_empty() {
        if reg.source(source).is_none() {
            bail!(
                "no source \"{source}\" in {} or the database",
                reg.path.display()
            );
        }
        bail!(
            "source \"{source}\" has no stored version yet; run `capwatch check --only {source}` first"
        );
    }
    let (from, to) = match (from, to) {
        (None, None) => match store.latest_change(source)? {
            Some(c) => (c.from.seq, c.to.seq),
            None => {
                let s = &snapshots[0];
                println!(
                    "source \"{source}\" has one version only: snapshot {} (baseline, {}); nothing to compare yet",
                    s.seq,
                    s.at.strftime("%Y-%m-%dT%H:%M:%SZ")
                );
                return Ok(ExitCode::SUCCESS);
            }
        },
        (Some(f), None) => (f, snapshots.last().expect("not empty").seq),
        (None, Some(t)) => (t - 1, t),
        (Some(f), Some(t)) => (f, t),
    };
    let a = store.snapshot(source, from)?;
    let b = store.snapshot(source, to)?;
    let old = store.content(&a.hash)?;
    let new = store.content(&b.hash)?;
    let header = |s: &crate::store::SnapshotRow| {
        format!(
            "{source} snapshot {} ({})",
            s.seq,
            s.at.strftime("%Y-%m-%dT%H:%M:%SZ")
        )
    };
    let text = crate::diff::unified(&old, &new, &header(&a), &header(&b));
    if text.is_empty() {
        println!("snapshots {from} and {to} of \"{source}\" have the same text");
    } else {
        print!("{text}");
    }
    Ok(ExitCode::SUCCESS)
}
