//! The one check pipeline, shared by `capwatch check` and the daemon.
//!
//! In: the compiled registry, an open store, a fetcher, the sources to check
//! and a clock. For each source: fetch (conditional) → extract → save the check
//! and any new version → infer and save the observation when it moved. Out: a
//! [`CycleReport`] of what happened, source by source. Failures of single
//! sources are outcomes in the report, never errors; only the database or the
//! HTTP client failing as a whole is an `Err`.

use crate::config::{Registry, Render, Source};
use crate::evaluate::infer::{self, Inference, Subject};
use crate::evaluate::{self, Assessment, GuideAssessment, GuideFacts};
use crate::extract::{self, ExtractError};
use crate::fetch::{Fetched, Fetcher, Validators};
use crate::model::{Outcome, Stage, Status};
use crate::schedule::Clock;
use crate::store::{self, CheckInput, NewObservation, Store, StoreError, StoredEvidence};
use futures_util::StreamExt;
use jiff::Timestamp;
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::time::Duration;

/// Why a whole cycle could not run.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What happened to one source in a cycle.
#[derive(Debug, Clone)]
pub struct SourceResult {
    pub source_id: String,
    pub url: String,
    pub outcome: Outcome,
    pub http_status: Option<u16>,
    /// The first version of the source was stored.
    pub baseline: bool,
    /// A new version differs from the previous one.
    pub changed: bool,
    pub snapshot_seq: Option<i64>,
    /// The observed status, when it moved in this check.
    pub observed: Option<Status>,
    pub duration: Duration,
    pub failures: u32,
    /// Consecutive failed checks before this one.
    pub previous_failures: u32,
}

/// What one cycle did.
#[derive(Debug, Default, Clone)]
pub struct CycleReport {
    pub results: Vec<SourceResult>,
}

impl CycleReport {
    pub fn checked(&self) -> usize {
        self.results.len()
    }
    pub fn changed(&self) -> usize {
        self.results.iter().filter(|r| r.changed).count()
    }
    pub fn baselines(&self) -> usize {
        self.results.iter().filter(|r| r.baseline).count()
    }
    pub fn failed(&self) -> impl Iterator<Item = &SourceResult> {
        self.results.iter().filter(|r| !r.outcome.is_success())
    }
    pub fn unchanged(&self) -> usize {
        self.results
            .iter()
            .filter(|r| r.outcome.is_success() && !r.changed && !r.baseline)
            .count()
    }
    /// Whether an evaluation could now find something else: a new version, a
    /// moved observation, a failure, or a success after failures. A batch of
    /// plain unchanged checks changes no finding.
    pub fn moved(&self) -> bool {
        self.results.iter().any(|r| {
            !r.outcome.is_success()
                || r.changed
                || r.baseline
                || r.observed.is_some()
                || r.previous_failures > 0
        })
    }
}

/// Told about progress as sources finish (a progress bar, log lines, nothing).
pub trait Progress: Send + Sync {
    fn start(&self, _total: usize) {}
    fn done(&self, _result: &SourceResult) {}
    fn finish(&self) {}
}

/// Reports nothing.
pub struct Quiet;
impl Progress for Quiet {}

/// A check ready to be saved: the source, what was read, and when.
struct Prepared {
    source: Source,
    /// The source's next slot, set when this check is saved.
    next: Option<Timestamp>,
    previous_failures: u32,
    infer_key: String,
    at: Timestamp,
    read: Read,
}

/// What fetching and reading one source found (made on a runtime worker).
struct Read {
    fetched: Fetched,
    outcome: Outcome,
    text: Option<(String, String)>,
    /// The text compressed for the store, made where the page was parsed.
    packed: Option<Vec<u8>>,
    /// The page title, stored with a new version so it can be re-read.
    title: Option<String>,
    inference: Option<Inference>,
}

impl Read {
    /// A fetch that found nothing to read.
    fn unread(fetched: Fetched) -> Read {
        Read {
            outcome: fetched.outcome.clone(),
            fetched,
            text: None,
            packed: None,
            title: None,
            inference: None,
        }
    }
}

/// How long results gather before they are saved together, and how many at most.
const SAVE_WINDOW: Duration = Duration::from_millis(20);
const SAVE_BATCH: usize = 16;

/// Check `sources` now: fetch, extract, store, infer. The schedule of each
/// source moves on when its check is saved (which also ends the daemon's
/// lease on it), so a check that never finishes — the daemon died — leaves
/// the source due for another daemon once the lease runs out.
pub async fn check_sources(
    store: &mut Store,
    registry: &Registry,
    fetcher: &Fetcher,
    sources: &[&Source],
    clock: &dyn Clock,
    progress: &dyn Progress,
) -> Result<CycleReport, PipelineError> {
    let start = clock.now();
    // One transaction for the whole schedule update instead of one commit per source.
    let jobs = store.batch(|store| -> Result<_, PipelineError> {
        let mut jobs = Vec::with_capacity(sources.len());
        for source in sources {
            let next = source.schedule.next_for(start, &source.id);
            let mut state = store.source_state(&source.id)?;
            let infer_key = infer_key(registry, source);
            // New rules or names read what is stored first, so a status that
            // moves only for that reason is recorded as such, and the fetch
            // below can stay conditional.
            if let Some(stored) = state.infer_key.as_deref()
                && only_reading_changed(stored, &infer_key)
                && reread_stored(store, registry, source, &infer_key, start)?
            {
                state.infer_key = Some(infer_key.clone());
            }
            // New inference inputs need the full page, not a 304.
            let validators = if state.infer_key.as_deref() == Some(infer_key.as_str()) {
                Validators {
                    etag: state.etag,
                    last_modified: state.last_modified,
                }
            } else {
                Validators::default()
            };
            jobs.push((
                (*source).clone(),
                next,
                validators,
                infer_key,
                state.failures,
            ));
        }
        Ok(jobs)
    })?;

    progress.start(jobs.len());
    let subjects: std::collections::HashMap<String, Subject> = registry
        .capabilities
        .iter()
        .map(|c| {
            (
                c.id.clone(),
                Subject {
                    name: c.name.clone(),
                    aliases: c.aliases.clone(),
                },
            )
        })
        .collect();
    let subjects = std::sync::Arc::new(subjects);

    // Parsing is CPU work: running more of it at once than there are cores
    // gains nothing and keeps more parsed pages in memory at the same time.
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let parse_slots = std::sync::Arc::new(tokio::sync::Semaphore::new(cores));

    // Fetches run concurrently; the fetcher enforces the global and per-host
    // limits. Results come back here one at a time, so only this task writes.
    let concurrency = registry.settings.concurrency.max(1);
    let mut stream = futures_util::stream::iter(jobs)
        .map(|(source, next, validators, infer_key, previous_failures)| {
            let subjects = subjects.clone();
            let parse_slots = parse_slots.clone();
            // Each check — download, then parse — is a task of its own on the
            // runtime's workers, while this task writes what is ready.
            let work = {
                let fetcher = fetcher.clone();
                let source = source.clone();
                AbortOnDrop(tokio::spawn(async move {
                    let fetched = match source.render {
                        Render::Http => fetcher.fetch(&source.url, &validators).await,
                        Render::Browser => {
                            let (selectors, first) = source.selection.tried_in_order();
                            fetcher.render(&source.url, &selectors, first).await
                        }
                    };
                    read(source, fetched, subjects, parse_slots).await
                }))
            };
            async move {
                let read = work.await.unwrap_or_else(|e| {
                    let why = format!("the check task failed: {e}");
                    Read::unread(Fetched::failed(Outcome::Network(why), source.url.as_str()))
                });
                Prepared {
                    source,
                    next,
                    previous_failures,
                    infer_key,
                    at: clock.now(),
                    read,
                }
            }
        })
        .buffer_unordered(concurrency);

    let mut report = CycleReport::default();
    while let Some(first) = stream.next().await {
        // Save what arrives with it, for a few milliseconds, in one
        // transaction: each commit rewrites the shared pages (indexes, the
        // source rows) and takes the WAL locks, so fewer, larger commits cost
        // less. What waits is held in memory only for those milliseconds.
        let mut ready = vec![first];
        let until = tokio::time::Instant::now() + SAVE_WINDOW;
        while ready.len() < SAVE_BATCH {
            match tokio::time::timeout_at(until, stream.next()).await {
                Ok(Some(p)) => ready.push(p),
                _ => break,
            }
        }
        let results = store.batch(|store| {
            ready
                .into_iter()
                .map(|p| save(store, p))
                .collect::<Result<Vec<_>, PipelineError>>()
        })?;
        for result in results {
            progress.done(&result);
            report.results.push(result);
        }
    }
    progress.finish();
    Ok(report)
}

/// Pages up to this size are parsed on the runtime's workers; larger ones on
/// a blocking thread.
const INLINE_PARSE_MAX: usize = 512 * 1024;

/// What reading one fetched body found: the outcome, the text with its hash
/// and its packed form, and the status inference.
type PageRead = (
    Outcome,
    Option<(String, String, Option<Vec<u8>>, Option<String>)>,
    Option<Inference>,
);

/// Extract, hash, infer and pack one body (CPU work).
fn read_page(body: &[u8], content_type: Option<&str>, src: &Source, subject: &Subject) -> PageRead {
    let kind = extract::content_kind(content_type, src.url.path());
    let extracted = extract::extract(body, kind, &src.selection);
    if let Ok(page) = &extracted
        && page.blocks.iter().all(|b| b.text.trim().is_empty())
        && let Some(unread) = unread_empty(body, kind, src)
    {
        return unread;
    }
    match extracted {
        Ok(page) => {
            let text = page.text();
            let hash = extract::content_hash(&text);
            let inference = infer::infer(&page, subject, &src.vocabulary);
            // Compress here, in parallel, rather than on the one writer.
            let packed = store::pack(&text).ok();
            (
                Outcome::Ok,
                Some((text, hash, packed, page.title)),
                Some(inference),
            )
        }
        Err(ExtractError::NoMatch(sel)) => match src.render {
            Render::Http if kind == extract::ContentKind::Html && extract::script_shell(body) => {
                (Outcome::no_match_in_shell(&sel), None, None)
            }
            _ => (Outcome::NoMatch(sel), None, None),
        },
        Err(ExtractError::Unreadable(why)) => (Outcome::Unreadable(why), None, None),
    }
}

/// What a page whose selection has no text reads as, when not as an empty
/// version. A rendered page with nothing to read is a broken read, never
/// content; so is a plain page that is an empty shell JavaScript fills (its
/// outcome says to render it). Any other empty page is kept as it always was
/// (None).
fn unread_empty(body: &[u8], kind: extract::ContentKind, src: &Source) -> Option<PageRead> {
    let select = src.selection.select_source();
    match src.render {
        Render::Browser => Some((
            Outcome::Unreadable(format!(
                "the rendered page has no text in `{select}`; nothing was stored"
            )),
            None,
            None,
        )),
        Render::Http if kind == extract::ContentKind::Html && extract::script_shell(body) => {
            Some((Outcome::no_match_in_shell(select), None, None))
        }
        Render::Http => None,
    }
}

/// A spawned task that is cancelled when its handle is dropped (a cycle
/// that is abandoned, as on shutdown, leaves no downloads behind).
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl<T> std::future::Future for AbortOnDrop<T> {
    type Output = Result<T, tokio::task::JoinError>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.0).poll(cx)
    }
}

/// Extract, infer and pack a fetched body (parsing is CPU work: at most one
/// page per core at a time).
async fn read(
    source: Source,
    mut fetched: Fetched,
    subjects: std::sync::Arc<std::collections::HashMap<String, Subject>>,
    parse_slots: std::sync::Arc<tokio::sync::Semaphore>,
) -> Read {
    // The body moves on to the parse; nothing after this reads it from `fetched`.
    let Some(body) = fetched
        .body
        .take()
        .filter(|_| fetched.outcome == Outcome::Ok)
    else {
        return Read::unread(fetched);
    };
    let body = match to_utf8(&body, fetched.content_type.as_deref()) {
        Cow::Borrowed(_) => body,
        Cow::Owned(decoded) => decoded,
    };
    let large = body.len() > INLINE_PARSE_MAX;
    let content_type = fetched.content_type.clone();
    // Waiting here holds only the body; the parse starts once a core is free.
    let _slot = parse_slots.acquire_owned().await.ok();
    let read = move || {
        read_page(
            &body,
            content_type.as_deref(),
            &source,
            &subjects[&source.capability],
        )
    };
    // A page of ordinary size is read right here, on a runtime worker (about
    // a millisecond per 100 KB): handing it to a blocking thread and back
    // cost more than the parse in context switches, and every extra thread
    // kept its own allocator arena and regex caches. A large page goes to a
    // blocking thread so that no worker stops for long.
    let work = if large {
        tokio::task::spawn_blocking(read)
            .await
            .map_err(|e| e.to_string())
    } else {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(read))
            .map_err(|_| "it panicked".to_string())
    };
    let (outcome, content, inference) = work.unwrap_or_else(|e| {
        (
            Outcome::Unreadable(format!("extraction crashed: {e}")),
            None,
            None,
        )
    });
    let (text, packed, title) = match content {
        Some((text, hash, packed, title)) => (Some((text, hash)), packed, title),
        None => (None, None, None),
    };
    Read {
        fetched,
        outcome,
        text,
        packed,
        title,
        inference,
    }
}

fn save(store: &mut Store, p: Prepared) -> Result<SourceResult, PipelineError> {
    if let Some(next) = p.next {
        store.set_next_check(&p.source.id, next)?;
    }
    let validators = (p.read.outcome == Outcome::Ok).then_some((
        p.read.fetched.validators.etag.as_deref(),
        p.read.fetched.validators.last_modified.as_deref(),
    ));
    let record = store.record_check(&CheckInput {
        source_id: &p.source.id,
        at: p.at,
        outcome: p.read.outcome.clone(),
        http_status: p.read.fetched.http_status,
        duration_ms: p.read.fetched.elapsed.as_millis() as u64,
        content: p.read.text.as_ref().map(|(t, h)| (t.as_str(), h.as_str())),
        packed: p.read.packed.as_deref(),
        title: p.read.title.as_deref(),
        validators,
    })?;
    let mut observed = None;
    if let Some(inference) = &p.read.inference {
        let previous = store.latest_observation(&p.source.id, None)?;
        let (status, evidence, notes) =
            observation_from(inference, previous.as_ref(), record.snapshot_seq);
        let written = store.observe(&NewObservation {
            capability_id: &p.source.capability,
            source_id: &p.source.id,
            snapshot_id: record.snapshot_id,
            at: p.at,
            status: &status,
            evidence: &evidence,
            notes: &notes,
            reread_rules: None,
        })?;
        if written.is_some() {
            observed = Some(status);
        }
        store.set_infer_key(&p.source.id, &p.infer_key)?;
    }
    Ok(SourceResult {
        source_id: p.source.id.clone(),
        url: p.source.url.to_string(),
        outcome: p.read.outcome,
        http_status: p.read.fetched.http_status,
        baseline: record.baseline,
        changed: record.change_id.is_some(),
        snapshot_seq: record.snapshot_seq,
        observed,
        duration: p.read.fetched.elapsed,
        failures: record.failures,
        previous_failures: p.previous_failures,
    })
}

/// Read a source's latest stored version again, without fetching, when
/// only how it is read changed (the rules' version, the capability's names,
/// the vocabulary: see [`only_reading_changed`]). A status that moves is
/// recorded as a re-read ("re-read with rules vN"), never as a page change:
/// no snapshot, no change, and a note that says the page did not change.
/// False when there is nothing stored to read (the fetch then reads it).
fn reread_stored(
    store: &mut Store,
    registry: &Registry,
    source: &Source,
    key: &str,
    now: jiff::Timestamp,
) -> Result<bool, PipelineError> {
    let Some(cap) = registry.capability(&source.capability) else {
        return Ok(false);
    };
    let Some(version) = store.latest_version(&source.id)? else {
        return Ok(false);
    };
    let subject = Subject {
        name: cap.name.clone(),
        aliases: cap.aliases.clone(),
    };
    let page = crate::model::Page::from_text(&version.text, version.title.clone());
    let inference = infer::infer(&page, &subject, &source.vocabulary);
    let previous = store.latest_observation(&source.id, None)?;
    let (status, evidence, mut notes) =
        observation_from(&inference, previous.as_ref(), Some(version.seq));
    notes.insert(
        0,
        format!(
            "re-read with rules v{}: the stored version {} was read again; the page did not change",
            infer::RULES_VERSION,
            version.seq
        ),
    );
    store.observe(&NewObservation {
        capability_id: &source.capability,
        source_id: &source.id,
        snapshot_id: Some(version.snapshot_id),
        at: now,
        status: &status,
        evidence: &evidence,
        notes: &notes,
        reread_rules: Some(infer::RULES_VERSION),
    })?;
    store.set_infer_key(&source.id, key)?;
    Ok(true)
}

/// Turn an inference into what is stored. A stage marker that disappears from
/// a page (a preview banner removed) is recorded as `unknown` with a note, not
/// as `ga`: a removed banner is a reason to look, not proof of GA.
fn observation_from(
    inference: &Inference,
    previous: Option<&crate::store::ObservationRow>,
    snapshot_seq: Option<i64>,
) -> (Status, Vec<StoredEvidence>, Vec<String>) {
    let evidence: Vec<StoredEvidence> = inference
        .evidence
        .iter()
        .map(|e| StoredEvidence {
            dimension: e.dimension.as_str().to_string(),
            value: e.value.clone(),
            quote: e.quote.clone(),
            rule: e.rule.clone(),
        })
        .collect();
    let mut notes = inference.notes.clone();
    if let Some(prev) = previous
        && inference.status.stage == Stage::Unknown
        && !matches!(prev.status.stage, Stage::Unknown | Stage::Ga)
    {
        let quote = prev
            .evidence
            .iter()
            .find(|e| e.dimension == "stage")
            .map(|e| format!(" (\"{}\")", e.quote))
            .unwrap_or_default();
        notes.push(format!(
            "the page no longer says `{}`{quote} as of snapshot {}; this often means it became generally available — confirm on the page and record a review",
            prev.status.stage,
            snapshot_seq.map(|s| s.to_string()).unwrap_or_else(|| "?".into()),
        ));
    }
    (inference.status.clone(), evidence, notes)
}

/// A fingerprint of everything inference depends on for this source, in two
/// parts, `extract:read`: what decides the stored text (the selection), and
/// what decides how it is read (the rules' version, the capability's names,
/// the vocabulary). A change of the second part is met by re-reading the
/// stored text; a change of the first needs the page again.
fn infer_key(registry: &Registry, source: &Source) -> String {
    let mut extract = Sha256::new();
    extract.update(source.selection.select_source());
    for i in &source.ignore {
        extract.update([2]);
        extract.update(i);
    }
    let mut read = Sha256::new();
    read.update(infer::RULES_VERSION.to_le_bytes());
    if let Some(c) = registry.capability(&source.capability) {
        read.update(&c.name);
        for a in &c.aliases {
            read.update([0]);
            read.update(a);
        }
    }
    for (s, p) in &source.vocabulary.stage {
        read.update(format!("\x03{s}:{p}"));
    }
    for (a, p) in &source.vocabulary.access {
        read.update(format!("\x04{a}:{p}"));
    }
    format!(
        "{}:{}",
        hex::encode(&extract.finalize()[..8]),
        hex::encode(&read.finalize()[..8])
    )
}

/// Whether a stored key and the current one differ only in how the text is
/// read, so the stored text can be re-read. A key from before the two parts
/// (no `:`) is taken to have the same selection: an upgrade re-reads.
fn only_reading_changed(stored: &str, current: &str) -> bool {
    let extract = |k: &str| k.split_once(':').map(|(e, _)| e.to_string());
    stored != current
        && match (extract(stored), extract(current)) {
            (Some(a), Some(b)) => a == b,
            (None, _) => true,
            _ => false,
        }
}

/// Page bytes as UTF-8: as they are when valid, else decoded with the charset
/// the response or the page declares, else as windows-1252 (what browsers do
/// with undeclared legacy pages). Binary bodies are left for `extract` to refuse.
pub fn to_utf8<'a>(body: &'a [u8], content_type: Option<&str>) -> Cow<'a, [u8]> {
    if std::str::from_utf8(body).is_ok() {
        return Cow::Borrowed(body);
    }
    let head = String::from_utf8_lossy(&body[..body.len().min(2048)]).to_ascii_lowercase();
    let declared = content_type
        .map(str::to_ascii_lowercase)
        .and_then(|ct| charset_in(&ct))
        .or_else(|| charset_in(&head));
    let encoding = declared
        .and_then(|label| encoding_rs::Encoding::for_label(label.as_bytes()))
        .unwrap_or(encoding_rs::WINDOWS_1252);
    let control = body.iter().take(4096).filter(|b| **b == 0).count();
    if control > 0 {
        return Cow::Borrowed(body);
    }
    let (text, _, _) = encoding.decode(body);
    Cow::Owned(text.into_owned().into_bytes())
}

/// The value after `charset=` in a header or a meta tag.
fn charset_in(s: &str) -> Option<String> {
    let i = s.find("charset=")?;
    let rest = s[i + 8..].trim_start_matches(['"', '\'']);
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .unwrap_or(rest.len());
    (end > 0).then(|| rest[..end].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_checks_that_moved_something_call_for_an_evaluation() {
        let plain = SourceResult {
            source_id: "s".into(),
            url: "http://127.0.0.1/".into(),
            outcome: Outcome::NotModified,
            http_status: Some(304),
            baseline: false,
            changed: false,
            snapshot_seq: Some(1),
            observed: None,
            duration: Duration::from_millis(3),
            failures: 0,
            previous_failures: 0,
        };
        let report = |r: SourceResult| CycleReport {
            results: vec![plain.clone(), r],
        };
        assert!(!report(plain.clone()).moved());
        assert!(
            !report(SourceResult {
                outcome: Outcome::Ok,
                ..plain.clone()
            })
            .moved()
        );
        for moved in [
            SourceResult {
                changed: true,
                ..plain.clone()
            },
            SourceResult {
                baseline: true,
                ..plain.clone()
            },
            SourceResult {
                observed: Some(Status::unknown()),
                ..plain.clone()
            },
            SourceResult {
                outcome: Outcome::Timeout,
                failures: 1,
                ..plain.clone()
            },
            SourceResult {
                previous_failures: 3,
                ..plain.clone()
            },
        ] {
            assert!(report(moved.clone()).moved(), "{moved:?}");
        }
    }

    #[test]
    fn legacy_charsets_become_utf8() {
        let latin1 = b"<p>Caf\xe9 cr\xe8me</p>";
        let out = to_utf8(latin1, Some("text/html; charset=ISO-8859-1"));
        assert_eq!(
            String::from_utf8(out.into_owned()).unwrap(),
            "<p>Café crème</p>"
        );
        let undeclared = to_utf8(b"<p>na\xefve</p>", None);
        assert_eq!(
            String::from_utf8(undeclared.into_owned()).unwrap(),
            "<p>naïve</p>"
        );
        let meta = to_utf8(
            b"<meta charset=\"koi8-r\"><p>\xf0\xd2\xc9</p>",
            Some("text/html"),
        );
        assert!(
            String::from_utf8(meta.into_owned())
                .unwrap()
                .contains("При")
        );
        assert_eq!(to_utf8("é".as_bytes(), None), "é".as_bytes());
    }

    #[test]
    fn guide_dates_in_the_usual_spellings() {
        for s in [
            "June 6, 2026",
            "Jun 6, 2026",
            "6 June 2026",
            "2026-06-06",
            " June 6, 2026. ",
        ] {
            assert_eq!(
                parse_human_date(s).map(|d| d.to_string()),
                Some("2026-06-06".into()),
                "{s}"
            );
        }
        assert_eq!(parse_human_date("last summer"), None);
    }
}

/// Every guide and capability assessed as of `at`: the evaluate step of the
/// pipeline, shared by `status`, alerts and the HTTP surface.
pub fn assess_all(
    store: &Store,
    registry: &Registry,
    at: Timestamp,
) -> Result<(Vec<GuideAssessment>, Vec<Assessment>), PipelineError> {
    let mut caps = Vec::with_capacity(registry.capabilities.len());
    for c in &registry.capabilities {
        let facts = store.facts(registry, c, at)?;
        caps.push(evaluate::assess(&facts, at));
    }
    let mut guides = Vec::with_capacity(registry.guides.len());
    for g in &registry.guides {
        let mut declared: Vec<_> = g.validated_on.into_iter().collect();
        declared.extend(store.guide_page_date(&g.id)?);
        let last_review = store.guide_reviews(&g.id, at)?.first().map(|r| r.at);
        let facts = GuideFacts {
            id: g.id.clone(),
            title: g.title.clone(),
            owners: g.owners.clone(),
            declared_validated_on: declared,
            last_review,
            max_age: g.max_age,
            warn_before: g.warn_before,
        };
        guides.push(evaluate::assess_guide(&facts, &mut caps, at));
    }
    Ok((guides, caps))
}

/// What reading one guide's own page found.
#[derive(Debug, Clone)]
pub struct GuidePageResult {
    pub guide_id: String,
    pub date: Option<jiff::civil::Date>,
    /// "ok", or why no date was read.
    pub outcome: String,
}

/// Read the validation date from each guide's own page (`url` +
/// `validated_pattern`) and remember it.
pub async fn check_guides(
    store: &mut Store,
    registry: &Registry,
    fetcher: &Fetcher,
    clock: &dyn Clock,
) -> Result<Vec<GuidePageResult>, PipelineError> {
    let mut out = Vec::new();
    for g in &registry.guides {
        let Some(url) = &g.url else {
            continue;
        };
        let fetched = fetcher.fetch(url, &Validators::default()).await;
        let (date, outcome) = match (&fetched.outcome, &fetched.body) {
            (Outcome::Ok, Some(body)) => {
                let body = to_utf8(body, fetched.content_type.as_deref());
                let page = guide_page(&body, fetched.content_type.as_deref(), url);
                let text = page.text();
                record_guide(store, registry, g, &fetched, &page, clock.now())?;
                let Some(pattern) = &g.validated_pattern else {
                    out.push(GuidePageResult {
                        guide_id: g.id.clone(),
                        date: None,
                        outcome: "ok".into(),
                    });
                    continue;
                };
                match pattern.captures(&text).and_then(|c| c.name("date")) {
                    Some(m) => match parse_human_date(m.as_str()) {
                        Some(d) => (Some(d), "ok".to_string()),
                        None => (
                            None,
                            format!(
                                "found \"{}\" but it is not a date capwatch reads (June 6, 2026 / 6 June 2026 / 2026-06-06)",
                                m.as_str()
                            ),
                        ),
                    },
                    None => (
                        None,
                        format!("`validated_pattern` matched nothing on {url}"),
                    ),
                }
            }
            (o, _) => (None, format!("cannot read {url}: {o}")),
        };
        store.set_guide_page(&g.id, date, &outcome, clock.now())?;
        out.push(GuidePageResult {
            guide_id: g.id.clone(),
            date,
            outcome,
        });
    }
    Ok(out)
}

/// A guide's page as blocks: its whole body (a guide is read whole).
pub fn guide_page(body: &[u8], content_type: Option<&str>, url: &url::Url) -> crate::model::Page {
    let kind = extract::content_kind(content_type, url.path());
    // A plain-text guide is read a line at a time: its lines are its cards.
    if kind == extract::ContentKind::Text {
        return crate::model::Page::from_text(&String::from_utf8_lossy(body), None);
    }
    let selection = extract::Selection::new("body", &[]).expect("`body` is a valid selector");
    extract::extract(body, kind, &selection)
        .unwrap_or_else(|_| crate::model::Page::from_text(&String::from_utf8_lossy(body), None))
}

/// What a guide's page claims for each of its capabilities.
pub fn guide_claims(
    registry: &Registry,
    guide_id: &str,
    page: &crate::model::Page,
) -> Vec<(String, infer::GuideClaim)> {
    registry
        .capabilities
        .iter()
        .filter(|c| c.guide == guide_id)
        .map(|c| {
            let subject = Subject {
                name: c.name.clone(),
                aliases: c.aliases.clone(),
            };
            (c.id.clone(), infer::infer_claim(page, &subject))
        })
        .collect()
}

/// The quote a guide claim is recorded with: its stage sentence, else any.
pub fn claim_quote(claim: &infer::GuideClaim) -> Option<String> {
    let ev = &claim.inference.evidence;
    ev.iter()
        .find(|e| e.dimension == crate::model::Dimension::Stage)
        .or(ev.first())
        .map(|e| e.quote.clone())
        .or_else(|| claim.sentences.first().cloned())
}

/// Keep the guide's page as a version of its `guide:<id>` source (a change
/// is a "guide changed" event), and record what it now claims for each
/// capability.
fn record_guide(
    store: &mut Store,
    registry: &Registry,
    guide: &crate::config::Guide,
    fetched: &Fetched,
    page: &crate::model::Page,
    at: jiff::Timestamp,
) -> Result<(), PipelineError> {
    let text = page.text();
    let hash = extract::content_hash(&text);
    store.record_check(&CheckInput {
        source_id: &store::guide_source_id(&guide.id),
        at,
        outcome: Outcome::Ok,
        http_status: fetched.http_status,
        duration_ms: fetched.elapsed.as_millis() as u64,
        content: Some((&text, &hash)),
        packed: None,
        title: page.title.as_deref(),
        validators: None,
    })?;
    for (cap_id, claim) in guide_claims(registry, &guide.id, page) {
        let quote = claim_quote(&claim);
        store.record_guide_claim(&cap_id, &claim.inference.status, quote.as_deref(), at)?;
    }
    Ok(())
}

/// A date as guides write it: "June 6, 2026", "Jun 6, 2026", "6 June 2026",
/// "2026-06-06".
pub fn parse_human_date(s: &str) -> Option<jiff::civil::Date> {
    let t = s.trim().trim_end_matches('.').trim();
    let t = t.replace(|c: char| c.is_whitespace(), " ");
    for fmt in [
        "%Y-%m-%d",
        "%B %d, %Y",
        "%b %d, %Y",
        "%d %B %Y",
        "%d %b %Y",
        "%B %d %Y",
    ] {
        if let Ok(d) = jiff::civil::Date::strptime(fmt, &t) {
            return Some(d);
        }
    }
    None
}

/// What evaluation and delivery did after a batch of checks (or on their own).
#[derive(Debug, Clone)]
pub struct Evaluation {
    pub guides: Vec<GuideAssessment>,
    pub capabilities: Vec<Assessment>,
    pub queued: crate::outbox::QueueReport,
    pub delivery: crate::outbox::DeliveryReport,
}

/// Assess everything at `now`, queue alerts for findings (before any
/// delivery), then deliver what is due.
pub async fn evaluate_and_deliver(
    store: &mut Store,
    registry: &Registry,
    channels: &crate::outbox::Channels,
    now: Timestamp,
) -> Result<Evaluation, PipelineError> {
    // One transaction: every fact read from the same state, and one commit
    // for the ended snoozes and the queued alerts (delivery, which waits on
    // the network, comes after it).
    let (guides, capabilities, queued) = store.batch(|store| -> Result<_, PipelineError> {
        // On a shared database one evaluation at a time (a `check` run
        // beside the daemons, or two daemons while the lead changes hands).
        store.lock_evaluation()?;
        let (guides, capabilities) = assess_all(store, registry, now)?;
        for c in &capabilities {
            for (id, why) in &c.snoozes_ended {
                store.end_snooze(*id, now, why)?;
            }
        }
        let queued = crate::outbox::queue(store, registry, &guides, &capabilities, now)?;
        Ok((guides, capabilities, queued))
    })?;
    let delivery = crate::outbox::deliver(store, registry, channels, now).await?;
    Ok(Evaluation {
        guides,
        capabilities,
        queued,
        delivery,
    })
}

/// When a cycle evaluates (and queues and delivers) after its checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evaluate {
    /// Every time (`capwatch check`, and the daemon on its evaluation cadence).
    Always,
    /// Only when a check moved something ([`CycleReport::moved`]) or a guide
    /// page was read: the daemon between two evaluations it owes anyway.
    IfMoved,
    /// Not here: another daemon on the same database holds the evaluation
    /// lock and evaluates what this one checked.
    Never,
}

/// One whole cycle: read guide pages, check `sources`, evaluate, queue and
/// deliver. `capwatch check` runs it once; the daemon runs it per due batch.
pub struct Cycle {
    pub checks: CycleReport,
    pub guide_pages: Vec<GuidePageResult>,
    /// None when [`Evaluate::IfMoved`] found nothing to evaluate.
    pub evaluation: Option<Evaluation>,
}

#[allow(clippy::too_many_arguments)] // the parts of a run, each passed in so tests can swap them
pub async fn run_cycle(
    store: &mut Store,
    registry: &Registry,
    fetcher: &Fetcher,
    sources: &[&Source],
    with_guides: bool,
    evaluate: Evaluate,
    clock: &dyn Clock,
    progress: &dyn Progress,
    channels: &crate::outbox::Channels,
) -> Result<Cycle, PipelineError> {
    let guide_pages = if with_guides {
        check_guides(store, registry, fetcher, clock).await?
    } else {
        Vec::new()
    };
    let checks = check_sources(store, registry, fetcher, sources, clock, progress).await?;
    let evaluation = if evaluate == Evaluate::Never {
        None
    } else if evaluate == Evaluate::Always || with_guides || checks.moved() {
        Some(evaluate_and_deliver(store, registry, channels, clock.now()).await?)
    } else {
        None
    };
    Ok(Cycle {
        checks,
        guide_pages,
        evaluation,
    })
}

/// The sources a review of `subject` re-baselines: the capability's, or
/// every source of the guide's capabilities. None when the registry does
/// not name the subject.
pub fn review_sources(
    registry: &Registry,
    subject: crate::store::Subject<'_>,
) -> Option<Vec<String>> {
    use crate::store::Subject;
    match subject {
        Subject::Capability(id) => registry
            .capability(id)
            .map(|c| c.sources.iter().map(|s| s.id.clone()).collect()),
        Subject::Guide(id) => registry.guide(id).map(|g| {
            registry
                .capabilities
                .iter()
                .filter(|c| c.guide == g.id)
                .flat_map(|c| c.sources.iter().map(|s| s.id.clone()))
                .collect()
        }),
    }
}

/// Snooze one finding kind of a capability until `until`, remembering the
/// versions and the drift seen now (a new change or new drift ends it
/// early). Returns the snooze id and whether that finding is open now.
#[allow(clippy::too_many_arguments)] // what a snooze records, one each
pub fn snooze(
    store: &mut Store,
    registry: &Registry,
    cap: &crate::config::Capability,
    kind: evaluate::FindingKind,
    until: Timestamp,
    reason: &str,
    by: Option<&str>,
    origin: &crate::model::Origin,
    now: Timestamp,
) -> Result<(i64, bool), PipelineError> {
    let facts = store.facts(registry, cap, now)?;
    let assessment = evaluate::assess(&facts, now);
    let seen: std::collections::BTreeMap<String, Option<i64>> = facts
        .sources
        .iter()
        .map(|s| (s.id.clone(), s.current_snapshot))
        .collect();
    let id = store.record_snooze(
        &cap.id,
        kind,
        now,
        until,
        reason,
        &seen,
        &assessment.drift,
        by,
        origin,
    )?;
    Ok((id, assessment.findings.iter().any(|f| f.kind == kind)))
}
