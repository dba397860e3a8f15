//! The daemon (`capwatch run`): the schedule loop around the same pipeline
//! function `check` uses.
//!
//! In: the registry path and options. On SQLite it takes a lock so only one
//! daemon runs per file; on PostgreSQL any number share the database. It
//! leases a batch of due sources from the store (no two daemons take the
//! same one; a dead daemon's leases run out and are taken over), runs
//! [`pipeline::run_cycle`] on them, and — in the one daemon holding the
//! evaluation lock — evaluates and delivers on its own cadence too (a guide
//! expiring at midnight alerts without any page check). It records the
//! registry fingerprint it loaded and works only while it agrees with the
//! database (`adopt`), reloads the registry on SIGHUP, rides out a lost
//! database connection, and on SIGTERM/SIGINT lets in-flight checks finish
//! (bounded), then exits 0. Out: rows in the store, alerts delivered, logs.

use crate::config::{self, Registry};
use crate::fetch::Fetcher;
use crate::outbox::Channels;
use crate::pipeline::{self, Progress, SourceResult};
use crate::schedule::{Clock, SystemClock};
use crate::store::Store;
use jiff::Timestamp;
use std::fs::File;
use std::io::{Read, Seek, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::signal::unix::{SignalKind, signal};

/// How the daemon runs.
#[derive(Debug, Clone)]
pub struct Options {
    pub config: PathBuf,
    /// The database (CAPWATCH_DB, or the registry's).
    pub database: PathBuf,
    /// Serve the HTTP surface here too.
    pub listen: Option<SocketAddr>,
    /// Evaluate and deliver at least this often, even with no page due.
    pub evaluate_every: Duration,
    /// How long in-flight checks may run after a stop signal.
    pub grace: Duration,
    /// The bearer token that enables `POST /api/v1/reviews`.
    pub api_token: Option<String>,
}

/// Why the daemon could not run.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Pipeline(#[from] pipeline::PipelineError),
    #[error("{0}")]
    Locked(String),
    #[error("{0}")]
    Setup(String),
}

/// An exclusive lock on `<database>.lock`, held for the daemon's lifetime.
pub struct DbLock {
    _file: File,
    path: PathBuf,
}

impl DbLock {
    /// Take the lock or say who holds it.
    pub fn acquire(database: &Path) -> Result<DbLock, DaemonError> {
        let path = PathBuf::from(format!("{}.lock", database.display()));
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| {
                DaemonError::Setup(format!("cannot open lock file {}: {e}", path.display()))
            })?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                return Err(DaemonError::Locked(format!(
                    "another capwatch daemon is already running on {} ({}); stop it first, or give this one another database with CAPWATCH_DB",
                    database.display(),
                    if holder.is_empty() {
                        "unknown process".to_string()
                    } else {
                        holder.to_string()
                    }
                )));
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(DaemonError::Setup(format!(
                    "cannot lock {}: {e}",
                    path.display()
                )));
            }
        }
        let _ = file.set_len(0);
        let _ = file.rewind();
        let _ = write!(
            file,
            "pid {} on {}, started {}",
            std::process::id(),
            hostname(),
            Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ")
        );
        let _ = file.flush();
        Ok(DbLock { _file: file, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Who runs a daemon on `database` now, if anyone (without taking the lock).
    pub fn holder(database: &Path) -> Option<String> {
        // Several daemons may share a PostgreSQL database: no lock file.
        if crate::store::postgres_url(database).is_some() {
            return None;
        }
        let path = PathBuf::from(format!("{}.lock", database.display()));
        let mut file = std::fs::File::open(&path).ok()?;
        match file.try_lock_shared() {
            Ok(()) => None,
            Err(_) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                Some(holder.trim().to_string())
            }
        }
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "this host".into())
}

/// Logs each finished check.
struct LogProgress;

impl Progress for LogProgress {
    fn done(&self, r: &SourceResult) {
        let duration_ms = r.duration.as_millis() as u64;
        if r.outcome.is_success() {
            tracing::info!(
                source_id = %r.source_id,
                url = %r.url,
                http_status = r.http_status,
                duration_ms,
                changed = r.changed,
                baseline = r.baseline,
                observed = r.observed.as_ref().map(|s| s.to_string()),
                "checked"
            );
        } else {
            tracing::warn!(
                source_id = %r.source_id,
                url = %r.url,
                http_status = r.http_status,
                duration_ms,
                outcome = %r.outcome,
                failures = r.failures,
                "check failed"
            );
        }
    }
}

fn fetcher_for(reg: &Registry) -> Result<Fetcher, DaemonError> {
    let fetcher = Fetcher::new(crate::fetch::FetchSettings {
        timeout: reg.settings.timeout,
        max_bytes: reg.settings.max_page_bytes,
        concurrency: reg.settings.concurrency,
        per_host: reg.settings.per_host,
        ..Default::default()
    })
    .map_err(|e| DaemonError::Setup(format!("cannot build the HTTP client: {e}")))?;
    // The browser itself starts only when a page due needs it.
    Ok(match crate::render::settings_for(reg) {
        Some(s) => fetcher.with_renderer(crate::render::Renderer::new(s)),
        None => fetcher,
    })
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// How many due sources one daemon leases at a time (twice as many as it
/// fetches at once): the rest stay for its next batch, or another daemon.
fn lease_batch(reg: &Registry) -> usize {
    reg.settings.concurrency.max(1) * 2
}

/// Between two evaluations the cadence owes, a batch of checks that moved
/// something is evaluated at most this often: evaluating every capability
/// after each small leased batch cost more than the checks themselves.
const EVALUATE_GAP: Duration = Duration::from_secs(10);

/// How long a leased source stays with this daemon: one fetch timeout per
/// wave the batch may need when all its pages share one host, one more, and
/// ten seconds to save. A daemon that dies holds its sources this long.
fn lease_ttl(reg: &Registry) -> Duration {
    let per_wave = reg.settings.per_host.clamp(1, lease_batch(reg));
    let waves = lease_batch(reg).div_ceil(per_wave) as u32;
    reg.settings.timeout * (waves + 1) + Duration::from_secs(10)
}

/// May this instance work with its registry? When the database mirrors it,
/// yes. Otherwise it makes the database mirror it (sync, reschedule) unless
/// a live instance loaded another `sources.toml`; `reload` (SIGHUP: the
/// operator's intent) syncs regardless. Says why when it may not.
fn adopt(
    store: &mut Store,
    registry: &Registry,
    now: Timestamp,
    reload: bool,
    was_in_step: bool,
) -> Result<bool, crate::store::StoreError> {
    let fp = store.fingerprints(&registry.fingerprint, now)?;
    if !reload && fp.database.as_deref() == Some(registry.fingerprint.as_str()) {
        return Ok(true);
    }
    if reload || fp.differing.is_empty() {
        store.batch(|store| {
            store.write_registry(registry, now)?;
            store.set_registry_fingerprint(&registry.fingerprint, now)?;
            let overdue = store.reschedule(registry, now)?;
            tracing::info!(
                sources = registry.sources().count(),
                overdue,
                fingerprint = short(&registry.fingerprint),
                "registry loaded into the database"
            );
            Ok::<_, crate::store::StoreError>(())
        })?;
        return Ok(true);
    }
    if was_in_step {
        let others: Vec<String> = fp
            .differing
            .iter()
            .map(|i| {
                format!(
                    "{} {} pid {} (registry {})",
                    i.role,
                    i.host,
                    i.pid,
                    short(&i.fingerprint)
                )
            })
            .collect();
        tracing::error!(
            mine = short(&registry.fingerprint),
            others = %others.join(", "),
            "this instance loaded a different sources.toml than the instances running on this database; \
             it checks nothing until it is reloaded (SIGHUP) with the same file, or they stop"
        );
    }
    Ok(false)
}

/// The first 12 hex digits of a fingerprint, as logs and /healthz show it.
pub fn short(fingerprint: &str) -> &str {
    &fingerprint[..fingerprint.len().min(12)]
}

/// Run until a stop signal. Returns after in-flight work finished or the grace ran out.
pub async fn run(opts: Options) -> Result<(), DaemonError> {
    let clock = SystemClock;
    let mut registry = config::load(&opts.config)?;
    let shared_db = crate::store::postgres_url(&opts.database).is_some();
    let _lock = if shared_db {
        None
    } else {
        Some(DbLock::acquire(&opts.database)?)
    };
    let mut store = Store::open(&opts.database)?;
    if !shared_db {
        // Leases left by a daemon that was killed: this one holds the lock.
        store.release_all_leases()?;
    }
    store.register_instance("run", &registry.fingerprint, clock.now())?;
    // On start the registry is synced (new sources, a changed schedule, the
    // overdue spread) unless a live instance loaded another one.
    let alone = store
        .fingerprints(&registry.fingerprint, clock.now())?
        .differing
        .is_empty();
    let mut in_step = adopt(&mut store, &registry, clock.now(), alone, true)?;
    let mut fetcher = fetcher_for(&registry)?;
    let mut channels = Channels::from_registry(&registry, &env_var)
        .map_err(|e| DaemonError::Setup(format!("cannot set up alert delivery: {e}")))?;
    tracing::info!(
        database = %store.label(),
        instance = store.owner(),
        sources = registry.sources().count(),
        in_step,
        "capwatch daemon started"
    );

    let mut term =
        signal(SignalKind::terminate()).map_err(|e| DaemonError::Setup(e.to_string()))?;
    let mut int = signal(SignalKind::interrupt()).map_err(|e| DaemonError::Setup(e.to_string()))?;
    let mut hup = signal(SignalKind::hangup()).map_err(|e| DaemonError::Setup(e.to_string()))?;

    // The HTTP surface reads the same database through its own read-only
    // connections; the registry is shared so a reload reaches it.
    let shared = Arc::new(RwLock::new(registry.clone()));
    let (stop_http, stop_http_rx) = tokio::sync::oneshot::channel::<()>();
    let http = match opts.listen {
        Some(addr) => {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| DaemonError::Setup(format!("cannot listen on {addr}: {e}")))?;
            tracing::info!(addr = %listener.local_addr().map(|a| a.to_string()).unwrap_or_default(), "serving HTTP");
            let state = crate::serve::ServeState::with_link_key(
                shared.clone(),
                opts.database.clone(),
                opts.api_token.clone(),
                crate::notify::link::LinkKey::from_env(&|k| std::env::var(k).ok()),
            );
            Some(tokio::spawn(crate::serve::serve(listener, state, async {
                let _ = stop_http_rx.await;
            })))
        }
        None => None,
    };

    let mut next_eval = clock.now();
    let mut next_guides = clock.now();
    let mut stopping = false;
    let mut was_leading = false;
    let mut last_eval = Timestamp::UNIX_EPOCH;
    while !stopping {
        let now = clock.now();
        // What the database says this turn; when it cannot be reached, wait
        // a little and ask again (the store reconnects by itself).
        let turn = (|| -> Result<(bool, bool, Vec<String>), crate::store::StoreError> {
            store.heartbeat(now)?;
            let step = adopt(&mut store, &registry, now, false, in_step)?;
            let leading = step && store.try_lead()?;
            let due = if step {
                store
                    .lease_due(now, lease_ttl(&registry), lease_batch(&registry))?
                    .into_iter()
                    .map(|l| l.source_id)
                    .collect()
            } else {
                Vec::new()
            };
            Ok((step, leading, due))
        })();
        let (step, leading, due) = match turn {
            Ok(t) => t,
            Err(e) => {
                tracing::error!(error = %e, "database unavailable; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(2)) => {}
                    _ = term.recv() => stopping = true,
                    _ = int.recv() => stopping = true,
                }
                continue;
            }
        };
        in_step = step;
        if leading != was_leading && shared_db {
            tracing::info!(
                leading,
                "evaluation lock {}",
                if leading {
                    "taken: this daemon evaluates and delivers"
                } else {
                    "held by another daemon"
                }
            );
            was_leading = leading;
        }
        let with_guides = leading && now >= next_guides;
        let eval_due = leading && now >= next_eval;
        if !due.is_empty() || eval_due || with_guides {
            let sources: Vec<&config::Source> =
                due.iter().filter_map(|id| registry.source(id)).collect();
            let mut cycle = std::pin::pin!(pipeline::run_cycle(
                &mut store,
                &registry,
                &fetcher,
                &sources,
                with_guides,
                // Between two evaluations owed by the cadence, a batch of
                // unchanged checks changes no finding: evaluating all
                // capabilities after each such batch only burned CPU.
                if !leading {
                    pipeline::Evaluate::Never
                } else if eval_due {
                    pipeline::Evaluate::Always
                } else if now >= last_eval.checked_add(EVALUATE_GAP).unwrap_or(now) {
                    pipeline::Evaluate::IfMoved
                } else {
                    pipeline::Evaluate::Never
                },
                &clock,
                &LogProgress,
                &channels,
            ));
            let result = tokio::select! {
                r = &mut cycle => Some(r),
                _ = term.recv() => { stopping = true; None }
                _ = int.recv() => { stopping = true; None }
            };
            let result = match result {
                Some(r) => Some(r),
                None => {
                    tracing::info!(
                        grace_ms = opts.grace.as_millis() as u64,
                        "stopping: letting in-flight checks finish"
                    );
                    tokio::time::timeout(opts.grace, &mut cycle).await.ok()
                }
            };
            let mut evaluated = false;
            match result {
                Some(Ok(c)) => {
                    evaluated = c.evaluation.is_some();
                    let (queued, sent, pending) = c.evaluation.as_ref().map_or((0, 0, 0), |e| {
                        (
                            e.queued.queued + e.queued.reminders + e.queued.resolved,
                            e.delivery.messages,
                            e.delivery.pending,
                        )
                    });
                    if c.checks.checked() > 0 || queued + sent > 0 {
                        tracing::info!(
                            checked = c.checks.checked(),
                            changed = c.checks.changed(),
                            failed = c.checks.failed().count(),
                            evaluated,
                            alerts_queued = queued,
                            messages_sent = sent,
                            alerts_pending = pending,
                            "cycle done"
                        );
                    }
                }
                Some(Err(e)) => {
                    tracing::error!(error = %e, "cycle failed; will retry on the next tick")
                }
                None if stopping => tracing::warn!(
                    "in-flight checks did not finish within the grace period; they will run again after restart"
                ),
                None => {}
            }
            let now = clock.now();
            if evaluated {
                last_eval = now;
            }
            if evaluated || eval_due {
                next_eval = now.checked_add(opts.evaluate_every).unwrap_or(now);
            }
            if with_guides {
                next_guides = registry
                    .settings
                    .schedule
                    .next_after(now)
                    .unwrap_or(next_eval);
            }
        }
        if stopping {
            break;
        }
        // Sleep until the next source is due, the next evaluation, or a signal.
        let now = clock.now();
        let mut wake = next_eval.min(next_guides);
        match store.next_due() {
            Ok(Some(t)) if in_step => wake = wake.min(t),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "database unavailable; retrying"),
        }
        let wait = Duration::from_millis(
            (wake.as_millisecond() - now.as_millisecond()).clamp(0, 60_000) as u64,
        );
        // The browser (if a rendered page started one) is kept between
        // batches close together, not through a quiet spell: with nothing
        // due within the minute, end it; the next rendered page starts one.
        if wait >= Duration::from_secs(60) {
            fetcher.close_browser().await;
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = term.recv() => stopping = true,
            _ = int.recv() => stopping = true,
            _ = hup.recv() => {
                match config::load(&opts.config) {
                    Ok(new) => {
                        let now = clock.now();
                        if let Err(e) = store
                            .register_instance("run", &new.fingerprint, now)
                            .and_then(|()| adopt(&mut store, &new, now, true, true).map(|_| ()))
                        {
                            tracing::error!(error = %e, "registry not reloaded, keeping the previous one: the database is unavailable");
                            continue;
                        }
                        in_step = true;
                        fetcher = fetcher_for(&new)?;
                        match Channels::from_registry(&new, &env_var) {
                            Ok(c) => channels = c,
                            Err(e) => tracing::error!(error = %e, "alert delivery not reconfigured"),
                        }
                        if let Ok(mut w) = shared.write() {
                            *w = new.clone();
                        }
                        registry = new;
                        tracing::info!(sources = registry.sources().count(), "registry reloaded");
                    }
                    Err(e) => tracing::error!("registry not reloaded, keeping the previous one:\n{e}"),
                }
            }
        }
    }
    // Sources leased but not checked go back at once instead of when their
    // leases run out.
    let now = clock.now();
    if let Err(e) = store
        .release_leases()
        .and_then(|_| store.stop_instance(now))
    {
        tracing::warn!(error = %e, "could not hand back leases; they run out by themselves");
    }
    let _ = stop_http.send(());
    if let Some(h) = http {
        let _ = tokio::time::timeout(Duration::from_secs(5), h).await;
    }
    // No browser outlives the daemon: its whole process group is ended.
    // (On SIGHUP the old fetcher is dropped, which ends its browser too.)
    fetcher.close_browser().await;
    tracing::info!("capwatch daemon stopped");
    Ok(())
}
