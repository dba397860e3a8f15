//! Render stage: the fetch of a `render = "browser"` source. The page is
//! loaded in headless Chromium, driven over the DevTools protocol
//! (chromiumoxide), and its DOM is read once the page has settled; the HTML
//! then goes through the same extract → store → infer steps as a fetched
//! page.
//!
//! In: a URL, the source's selection and the [`RenderSettings`]. Out: a
//! [`Fetched`] like the HTTP fetch's — `Ok` with the rendered HTML as the
//! body, or an [`Outcome`]: `Timeout` when the page does not settle within
//! the timeout, `Http` when the document itself is an error page, `Network`
//! when the browser cannot load it, `Browser` when there is no browser, it
//! will not start, it crashed or the page's renderer crashed. Nothing is `Err`.
//!
//! Policy, in one place:
//! - **One browser per [`Renderer`]**, started on the first page that needs
//!   it (a cycle with no such page never starts one), in its own process
//!   group with a fresh temporary profile. A browser found dead is ended
//!   (its whole group) and started again for the next page.
//! - **Tabs**: at most `tabs` pages at once. Each page opens in a browser
//!   context of its own (no cookies, cache or storage shared between checks)
//!   that is disposed of afterwards; a context that cannot be disposed of
//!   means the browser is restarted.
//! - **Settled** means: the selection has text (tried as `extract` tries it),
//!   or the network has been idle for [`IDLE`] after the load event —
//!   whichever comes first, within the timeout. A rendered page has no
//!   conditional request; the content hash decides whether it changed.
//! - **Ending**: [`Renderer::close`] (and dropping the last handle) ends the
//!   browser's process group — SIGTERM, then SIGKILL after [`GRACE`] — waits
//!   for it, ends any helper still using the profile and removes the profile.

use crate::fetch::Fetched;
use crate::model::Outcome;
use chromiumoxide::Page;
use chromiumoxide::browser::Browser;
use chromiumoxide::cdp::browser_protocol::browser::{BrowserContextId, CloseParams};
use chromiumoxide::cdp::browser_protocol::inspector;
use chromiumoxide::cdp::browser_protocol::network::{
    EventLoadingFailed, EventLoadingFinished, EventRequestWillBeSent, EventResponseReceived,
    ResourceType,
};
use chromiumoxide::cdp::browser_protocol::page::NavigateParams;
use chromiumoxide::cdp::browser_protocol::target::{
    CreateBrowserContextParams, CreateTargetParams, DisposeBrowserContextParams,
};
use chromiumoxide::cdp::js_protocol::runtime::EvaluateParams;
use chromiumoxide::handler::HandlerConfig;
use futures_util::StreamExt;
use std::collections::HashMap;
use std::io::BufRead;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use url::Url;

/// How long the network must be quiet after the load event to call a page settled.
pub const IDLE: Duration = Duration::from_millis(500);
/// How often a loading page is looked at.
const POLL: Duration = Duration::from_millis(100);
/// How long the browser may take to start and say where it listens.
const LAUNCH_LIMIT: Duration = Duration::from_secs(20);
/// How long disposing of a page's context may take before the browser is restarted.
const CLEANUP_LIMIT: Duration = Duration::from_secs(5);
/// Between SIGTERM and SIGKILL when the browser is ended.
pub const GRACE: Duration = Duration::from_secs(2);

/// Flags for a headless browser on a server: no sandbox (root in a
/// container), no GPU, no QUIC, nothing phoning home in the background.
pub const LAUNCH_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--disable-breakpad",
    "--remote-debugging-port=0",
    "--remote-debugging-address=127.0.0.1",
];

/// Binaries looked for on PATH when `[settings] browser` is not set.
pub const BROWSER_NAMES: &[&str] = &["chromium", "chromium-browser", "google-chrome"];

/// What the renderer needs from the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderSettings {
    /// `[settings] browser` as resolved by the registry; None: search PATH.
    pub browser: Option<PathBuf>,
    /// Pages rendered at once; at least 1.
    pub tabs: usize,
    /// Loading and settling one page, reading its DOM included.
    pub timeout: Duration,
    /// Largest rendered HTML accepted.
    pub max_bytes: u64,
}

impl Default for RenderSettings {
    fn default() -> Self {
        RenderSettings {
            browser: None,
            tabs: 2,
            timeout: Duration::from_secs(30),
            max_bytes: 5_000_000,
        }
    }
}

/// The renderer's settings from the registry, or None when no source of it
/// renders in a browser (then no renderer is made at all).
pub fn settings_for(registry: &crate::config::Registry) -> Option<RenderSettings> {
    registry
        .sources()
        .any(|s| s.render == crate::config::Render::Browser)
        .then(|| RenderSettings {
            browser: registry.settings.browser.clone(),
            tabs: registry.settings.browser_tabs,
            timeout: registry.settings.timeout,
            max_bytes: registry.settings.max_page_bytes,
        })
}

/// No browser to run: the message names the setting and the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NoBrowser(String);

/// The browser binary to run: `configured` (checked to exist) or the first
/// of [`BROWSER_NAMES`] on PATH.
pub fn find_browser(configured: Option<&Path>) -> Result<PathBuf, NoBrowser> {
    let fix = "install Chromium (`apt-get install chromium`) or set [settings] browser to the path of a Chrome or Chromium binary";
    match configured {
        Some(p) if p.components().count() > 1 || p.is_absolute() => {
            if p.is_file() {
                Ok(p.to_path_buf())
            } else {
                Err(NoBrowser(format!(
                    "settings.browser = \"{}\" does not exist; {fix}",
                    p.display()
                )))
            }
        }
        Some(name) => on_path(name.as_os_str()).ok_or_else(|| {
            NoBrowser(format!(
                "settings.browser = \"{}\" is not on PATH; {fix}",
                name.display()
            ))
        }),
        None => BROWSER_NAMES
            .iter()
            .find_map(|n| on_path(std::ffi::OsStr::new(n)))
            .ok_or_else(|| {
                NoBrowser(format!(
                    "no browser found: none of {} is on PATH and settings.browser is not set; {fix}",
                    BROWSER_NAMES.join(", ")
                ))
            }),
    }
}

fn on_path(name: &std::ffi::OsStr) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Renders pages in one shared browser, started when first needed. Cheap to
/// clone; clones share the browser and the tab limit.
#[derive(Clone)]
pub struct Renderer {
    settings: RenderSettings,
    /// Shared by clones so the tab limit holds across every task rendering.
    tabs: Arc<Semaphore>,
    /// The running browser. An async mutex: the first page to need a browser
    /// starts it while the others wait for that one instead of starting their own.
    browser: Arc<tokio::sync::Mutex<Option<Arc<Instance>>>>,
    /// Browsers started so far (restarts included), for logs and tests.
    launches: Arc<AtomicU64>,
}

impl std::fmt::Debug for Renderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Renderer")
            .field("settings", &self.settings)
            .field("launches", &self.launches.load(Ordering::Relaxed))
            .finish()
    }
}

impl Renderer {
    /// A renderer that starts no browser until a page needs one.
    pub fn new(settings: RenderSettings) -> Renderer {
        Renderer {
            tabs: Arc::new(Semaphore::new(settings.tabs.max(1))),
            settings,
            browser: Arc::new(tokio::sync::Mutex::new(None)),
            launches: Arc::new(AtomicU64::new(0)),
        }
    }

    pub fn settings(&self) -> &RenderSettings {
        &self.settings
    }

    /// How many browsers this renderer started (a restart counts).
    pub fn launches(&self) -> u64 {
        self.launches.load(Ordering::Relaxed)
    }

    /// Wait for a free tab. Held for one page, cleanup included.
    pub async fn tab(&self) -> OwnedSemaphorePermit {
        // The semaphore is never closed, so acquiring cannot fail.
        self.tabs
            .clone()
            .acquire_owned()
            .await
            .expect("tab semaphore is never closed")
    }

    /// Load `url` and read its DOM once settled. The caller holds a
    /// [`Renderer::tab`] and any other limit's permits. Never fails: every
    /// problem is an [`Outcome`].
    pub async fn render(&self, url: &Url, selectors: &[String], first_match: bool) -> Fetched {
        let started = Instant::now();
        let mut fetched = match self.instance().await {
            Ok(instance) => match instance.new_context().await {
                Ok(ctx) => {
                    let probe = settle_probe(selectors, first_match);
                    let load = tokio::time::timeout(
                        self.settings.timeout,
                        instance.load(url, &probe, self.settings.max_bytes, &ctx),
                    )
                    .await;
                    // The page's context goes whatever happened; one that
                    // will not go leaves the browser in an unknown state, so
                    // it is restarted.
                    instance.dispose(ctx).await;
                    match load {
                        Ok(Ok(page)) => page,
                        Ok(Err(failure)) => failure.into_fetched(&instance, url),
                        Err(_) => Fetched::failed(Outcome::Timeout, url.as_str()),
                    }
                }
                Err(failure) => failure.into_fetched(&instance, url),
            },
            Err(why) => Fetched::failed(Outcome::Browser(why), url.as_str()),
        };
        fetched.attempts = 1;
        fetched.elapsed = started.elapsed();
        tracing::debug!(
            url = %url,
            outcome = fetched.outcome.kind(),
            detail = fetched.outcome.detail(),
            http_status = fetched.http_status,
            duration_ms = fetched.elapsed.as_millis() as u64,
            "rendered"
        );
        fetched
    }

    /// The running browser, started (or restarted) when there is none alive.
    async fn instance(&self) -> Result<Arc<Instance>, String> {
        let mut slot = self.browser.lock().await;
        if let Some(i) = slot.as_ref() {
            if i.alive() {
                return Ok(i.clone());
            }
            tracing::warn!(pid = i.pid, "the browser is gone; starting a new one");
            i.terminate();
            *slot = None;
        }
        let path = find_browser(self.settings.browser.as_deref()).map_err(|e| e.to_string())?;
        let instance = Instance::launch(&path, self.settings.timeout).await?;
        self.launches.fetch_add(1, Ordering::Relaxed);
        tracing::info!(pid = instance.pid, browser = %path.display(), "browser started");
        let instance = Arc::new(instance);
        *slot = Some(instance.clone());
        Ok(instance)
    }

    /// The process id of the running browser, if one runs.
    pub async fn browser_pid(&self) -> Option<u32> {
        let slot = self.browser.lock().await;
        slot.as_ref().filter(|i| i.alive()).map(|i| i.pid)
    }

    /// End the browser, if one runs, and wait for its processes. The next
    /// page starts a new one.
    pub async fn close(&self) {
        let instance = self.browser.lock().await.take();
        if let Some(i) = instance {
            // Asked first, the browser ends its own helpers and waits for
            // them; the signals below are for one that does not.
            if i.alive() {
                let close = i.browser.execute(CloseParams::default());
                let _ = tokio::time::timeout(Duration::from_secs(1), close).await;
            }
            // Ending waits on processes: not on a runtime worker.
            let _ = tokio::task::spawn_blocking(move || i.terminate()).await;
        }
    }
}

/// One running browser: its process (group), the DevTools connection and the
/// temporary profile.
struct Instance {
    pid: u32,
    browser: Browser,
    /// The process; taken when it is ended.
    child: Mutex<Option<std::process::Child>>,
    /// Set when the connection ended or a page found the browser broken.
    dead: Arc<AtomicBool>,
    handler: tokio::task::JoinHandle<()>,
    profile: PathBuf,
}

/// Where a page failed, before it settled.
enum Failure {
    /// The page's renderer process crashed.
    Crashed,
    /// The browser could not load the URL (connection refused, DNS…).
    Navigate(String),
    /// The document is an error page.
    Status(u16),
    /// The rendered HTML is larger than the cap.
    TooLarge(u64),
    /// A DevTools command failed.
    Protocol(String),
}

impl Failure {
    fn into_fetched(self, instance: &Instance, url: &Url) -> Fetched {
        let (outcome, status) = match self {
            Failure::Crashed => (
                Outcome::Browser(
                    "the page crashed the browser's renderer; nothing was read (the next check loads it again)"
                        .into(),
                ),
                None,
            ),
            Failure::Navigate(why) => (
                Outcome::Network(format!("the browser could not load {url}: {why}")),
                None,
            ),
            Failure::Status(code) => (Outcome::Http(code), Some(code)),
            Failure::TooLarge(max) => (Outcome::TooLarge(max), None),
            Failure::Protocol(why) => {
                let outcome = if instance.alive() {
                    Outcome::Browser(format!("the browser failed on this page: {why}"))
                } else {
                    Outcome::Browser(
                        "the browser exited while rendering this page; it is started again for the next page"
                            .into(),
                    )
                };
                (outcome, None)
            }
        };
        let mut fetched = Fetched::failed(outcome, url.as_str());
        fetched.http_status = status;
        fetched
    }
}

impl Instance {
    async fn launch(path: &Path, timeout: Duration) -> Result<Instance, String> {
        let profile =
            profile_dir().map_err(|e| format!("cannot make a temporary browser profile: {e}"))?;
        let mut cmd = std::process::Command::new(path);
        cmd.args(LAUNCH_FLAGS)
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            // Its own process group, so ending it ends every helper process too.
            .process_group(0);
        // SAFETY: only prctl(2) between fork and exec. If capwatch itself is
        // killed outright (SIGKILL: no cleanup runs), the browser is killed
        // with it instead of living on; its helpers follow their browser.
        // (The signal comes when the spawning thread ends: a runtime worker,
        // which lives as long as the runtime.)
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&profile);
                return Err(format!(
                    "cannot start the browser {}: {e}; install Chromium (`apt-get install chromium`) or set [settings] browser",
                    path.display()
                ));
            }
        };
        let pid = child.id();
        // The browser writes where it listens on stderr, then keeps writing
        // logs there: a thread reads it to the end so the pipe never fills.
        let stderr = child.stderr.take().expect("stderr is piped");
        let (tx, rx) = tokio::sync::oneshot::channel::<String>();
        std::thread::Builder::new()
            .name("browser-stderr".into())
            .spawn(move || {
                let mut tx = Some(tx);
                for line in std::io::BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    if let Some(ws) = line.strip_prefix("DevTools listening on ")
                        && let Some(tx) = tx.take()
                    {
                        let _ = tx.send(ws.trim().to_string());
                    } else {
                        tracing::trace!(target: "capwatch::browser", "{line}");
                    }
                }
            })
            .map_err(|e| format!("cannot start a thread: {e}"))?;
        let half_built = |child: std::process::Child, why: String| {
            end_group(pid, child, &profile);
            Err(why)
        };
        let ws = match tokio::time::timeout(LAUNCH_LIMIT, rx).await {
            Ok(Ok(ws)) => ws,
            Ok(Err(_)) => {
                return half_built(
                    child,
                    format!(
                        "the browser {} exited at start without saying where it listens; try running it by hand with --headless",
                        path.display()
                    ),
                );
            }
            Err(_) => {
                return half_built(
                    child,
                    format!(
                        "the browser {} did not start within {}s",
                        path.display(),
                        LAUNCH_LIMIT.as_secs()
                    ),
                );
            }
        };
        let config = HandlerConfig {
            // Our own timeouts bound every page; the handler's only has to
            // outlast them.
            request_timeout: timeout + Duration::from_secs(30),
            ..HandlerConfig::default()
        };
        let (browser, mut handler) = match Browser::connect_with_config(ws.clone(), config).await {
            Ok(b) => b,
            Err(e) => {
                return half_built(child, format!("cannot connect to the browser at {ws}: {e}"));
            }
        };
        let dead = Arc::new(AtomicBool::new(false));
        let handler = {
            let dead = dead.clone();
            // The connection's event loop: it ends when the browser goes.
            tokio::spawn(async move {
                use chromiumoxide::error::CdpError;
                while let Some(event) = handler.next().await {
                    match event {
                        Ok(()) => {}
                        // A broken socket stays broken: polling it again
                        // would only repeat the error.
                        Err(e @ (CdpError::Ws(_) | CdpError::Io(_))) => {
                            tracing::debug!(error = %e, "the browser connection broke");
                            break;
                        }
                        Err(e) => tracing::trace!(error = %e, "browser connection"),
                    }
                }
                dead.store(true, Ordering::SeqCst);
            })
        };
        if child.try_wait().ok().flatten().is_some() {
            dead.store(true, Ordering::SeqCst);
        }
        Ok(Instance {
            pid,
            browser,
            child: Mutex::new(Some(child)),
            dead,
            handler,
            profile,
        })
    }

    /// Whether the browser still runs and its connection is open.
    fn alive(&self) -> bool {
        if self.dead.load(Ordering::SeqCst) {
            return false;
        }
        let mut child = self.child.lock().unwrap_or_else(|p| p.into_inner());
        match child.as_mut().map(|c| c.try_wait()) {
            Some(Ok(None)) => true,
            _ => {
                self.dead.store(true, Ordering::SeqCst);
                false
            }
        }
    }

    /// A fresh browser context (its own cookies, cache and storage) for one page.
    async fn new_context(&self) -> Result<BrowserContextId, Failure> {
        let create = self
            .browser
            .create_browser_context(CreateBrowserContextParams::default());
        match tokio::time::timeout(CLEANUP_LIMIT, create).await {
            Ok(Ok(ctx)) => Ok(ctx),
            Ok(Err(e)) => Err(Failure::Protocol(format!(
                "cannot open a browser context: {e}"
            ))),
            Err(_) => {
                self.dead.store(true, Ordering::SeqCst);
                Err(Failure::Protocol("the browser did not answer".into()))
            }
        }
    }

    /// Open `url` in context `ctx`, wait until it settles, read its HTML.
    async fn load(
        &self,
        url: &Url,
        probe: &str,
        max_bytes: u64,
        ctx: &BrowserContextId,
    ) -> Result<Fetched, Failure> {
        let proto = |e: chromiumoxide::error::CdpError| Failure::Protocol(e.to_string());
        let mut target = CreateTargetParams::new("about:blank");
        target.browser_context_id = Some(ctx.clone());
        let page = self.browser.new_page(target).await.map_err(proto)?;
        // Listen before navigating, so no event of the page is missed.
        let mut crashed = page
            .event_listener::<inspector::EventTargetCrashed>()
            .await
            .map_err(proto)?;
        let mut sent = page
            .event_listener::<EventRequestWillBeSent>()
            .await
            .map_err(proto)?;
        let mut finished = page
            .event_listener::<EventLoadingFinished>()
            .await
            .map_err(proto)?;
        let mut failed = page
            .event_listener::<EventLoadingFailed>()
            .await
            .map_err(proto)?;
        let mut responses = page
            .event_listener::<EventResponseReceived>()
            .await
            .map_err(proto)?;
        page.execute(inspector::EnableParams::default())
            .await
            .map_err(proto)?;

        let nav = page
            .execute(NavigateParams::new(url.as_str()))
            .await
            .map_err(proto)?
            .result;
        if let Some(why) = nav.error_text.filter(|t| !t.is_empty()) {
            return Err(Failure::Navigate(why));
        }
        let main_frame = nav.frame_id;

        let mut in_flight: HashMap<String, String> = HashMap::new();
        let mut last_network = Instant::now();
        let mut status: Option<u16> = None;
        let mut tick = tokio::time::interval(POLL);
        let mut probing: Option<ProbeFuture> = None;
        loop {
            tokio::select! {
                Some(_) = crashed.next() => return Err(Failure::Crashed),
                Some(ev) = sent.next() => {
                    // Documents are the load event's business (`readyState`
                    // "complete"); the browser does not always report the
                    // end of the page's own request.
                    if ev.r#type != Some(ResourceType::Document) {
                        in_flight.insert(ev.request_id.inner().clone(), ev.request.url.clone());
                    }
                    last_network = Instant::now();
                }
                Some(ev) = finished.next() => {
                    in_flight.remove(ev.request_id.inner());
                    last_network = Instant::now();
                }
                Some(ev) = failed.next() => {
                    in_flight.remove(ev.request_id.inner());
                    last_network = Instant::now();
                }
                Some(ev) = responses.next() => {
                    if ev.r#type == ResourceType::Document
                        && ev.frame_id.as_ref() == Some(&main_frame)
                    {
                        status = u16::try_from(ev.response.status).ok();
                    }
                }
                r = async { probing.as_mut().expect("probing").await }, if probing.is_some() => {
                    probing = None;
                    let (ready, has_text) = r.map_err(Failure::Protocol)?;
                    if let Some(code) = status.filter(|c| *c >= 400) {
                        return Err(Failure::Status(code));
                    }
                    let idle = ready == "complete"
                        && in_flight.is_empty()
                        && last_network.elapsed() >= IDLE;
                    if (has_text && ready != "loading") || idle {
                        break;
                    }
                    tracing::trace!(ready, has_text, in_flight = ?in_flight, "not settled");
                }
                _ = tick.tick() => {
                    // A killed browser may leave the socket open for a while
                    // and the page's commands unanswered: look at the process.
                    if !self.alive() {
                        return Err(Failure::Protocol("the browser process exited".into()));
                    }
                    if probing.is_none() {
                        probing = Some(probe_page(page.clone(), probe.to_string()));
                    }
                }
            }
        }
        let html = evaluate(
            &page,
            "document.documentElement ? document.documentElement.outerHTML : ''",
        )
        .await
        .map_err(Failure::Protocol)?;
        let html = html.as_str().unwrap_or_default().to_string();
        if html.len() as u64 > max_bytes {
            return Err(Failure::TooLarge(max_bytes));
        }
        let mut fetched = Fetched::failed(Outcome::Ok, url.as_str());
        fetched.http_status = status;
        fetched.body = Some(html.into_bytes());
        fetched.content_type = Some("text/html; charset=utf-8".into());
        Ok(fetched)
    }

    /// Dispose of a page's context (closing its page). A browser that does not
    /// manage it in time is restarted for the next page.
    async fn dispose(&self, ctx: BrowserContextId) {
        if !self.alive() {
            return;
        }
        let dispose = self.browser.execute(DisposeBrowserContextParams::new(ctx));
        match tokio::time::timeout(CLEANUP_LIMIT, dispose).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "cannot close a page; the browser will be restarted");
                self.dead.store(true, Ordering::SeqCst);
            }
            Err(_) => {
                tracing::warn!("closing a page took too long; the browser will be restarted");
                self.dead.store(true, Ordering::SeqCst);
            }
        }
    }

    /// End the browser's process group and wait for it; remove the profile.
    /// Safe to call more than once.
    fn terminate(&self) {
        self.dead.store(true, Ordering::SeqCst);
        self.handler.abort();
        let child = self.child.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(child) = child {
            end_group(self.pid, child, &self.profile);
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.terminate();
    }
}

/// SIGTERM to the whole process group, SIGKILL after [`GRACE`], wait for the
/// browser itself; then end any helper that left the group but still uses the
/// profile (the crash reporter), and remove the profile.
fn end_group(pid: u32, mut child: std::process::Child, profile: &Path) {
    let group = -(pid as i32);
    // SAFETY: kill(2) with a negative pid signals our own child's process group.
    unsafe {
        libc::kill(group, libc::SIGTERM);
    }
    let deadline = Instant::now() + GRACE;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: as above; helpers still in the group go too.
    unsafe {
        libc::kill(group, libc::SIGKILL);
    }
    let _ = child.kill();
    let _ = child.wait();
    kill_profile_users(profile);
    let _ = std::fs::remove_dir_all(profile);
}

/// SIGKILL every process whose command line names `profile` (Linux).
fn kill_profile_users(profile: &Path) {
    let needle = profile.as_os_str().as_encoded_bytes();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        if memchr::memmem::find(&cmdline, needle).is_some() {
            // SAFETY: kill(2) on a process that runs with our profile.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }
}

/// A fresh, empty folder for one browser's profile.
fn profile_dir() -> std::io::Result<PathBuf> {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!(
        "capwatch-browser-{}-{}-{nanos:x}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir(&dir)?;
    Ok(dir)
}

type ProbeFuture =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(String, bool), String>> + Send>>;

/// Ask the page how far it is: its `readyState`, and whether the selection
/// has text yet.
fn probe_page(page: Page, probe: String) -> ProbeFuture {
    Box::pin(async move {
        let v = evaluate(&page, &probe).await?;
        let ready = v["ready"].as_str().unwrap_or("loading").to_string();
        Ok((ready, v["text"].as_bool().unwrap_or(false)))
    })
}

/// The probe's JavaScript: `{ready, text}`. The selectors are tried as
/// `extract` tries them: the default's alternatives in order, the first that
/// matches deciding; a written select as one list.
fn settle_probe(selectors: &[String], first_match: bool) -> String {
    let list = serde_json::to_string(selectors).unwrap_or_else(|_| "[]".into());
    format!(
        r#"(() => {{
  const sels = {list}; const first = {first_match};
  const hasText = (els) => els.some(e => (e.innerText || e.textContent || '').trim() !== '');
  let text = false;
  try {{
    for (const s of sels) {{
      const els = Array.from(document.querySelectorAll(s));
      if (els.length === 0) continue;
      text = hasText(els);
      if (first) break;
    }}
  }} catch (e) {{}}
  return {{ ready: document.readyState, text }};
}})()"#
    )
}

/// Evaluate an expression in the page's main frame and return its value.
async fn evaluate(page: &Page, expression: &str) -> Result<serde_json::Value, String> {
    let mut params = EvaluateParams::new(expression);
    params.return_by_value = Some(true);
    let r = page
        .execute(params)
        .await
        .map_err(|e| e.to_string())?
        .result;
    if let Some(e) = r.exception_details {
        return Err(format!("the page's script failed: {}", e.text));
    }
    Ok(r.result.value.unwrap_or(serde_json::Value::Null))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_configured_browser_that_is_missing_names_the_setting_and_the_fix() {
        let err = find_browser(Some(Path::new("/nowhere/chromium")))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("settings.browser = \"/nowhere/chromium\" does not exist"),
            "{err}"
        );
        assert!(err.contains("apt-get install chromium"), "{err}");
        let err = find_browser(Some(Path::new("no-such-browser-binary")))
            .unwrap_err()
            .to_string();
        assert!(err.contains("is not on PATH"), "{err}");
    }

    #[test]
    fn the_probe_carries_the_selectors_as_json() {
        let js = settle_probe(&["main".into(), "a[title=\"x, y\"]".into()], true);
        assert!(
            js.contains(r#"const sels = ["main","a[title=\"x, y\"]"]; const first = true;"#),
            "{js}"
        );
    }
}
