//! `status`, `history` and `infer`: what the docs say, what we claimed, and how
//! that moved over time.

use super::{load, open_store, runtime};
use crate::config::Registry;
use crate::evaluate::infer::{self, Subject, Vocabulary};
use crate::evaluate::{Assessment, GuideAssessment, State};
use crate::extract::{self, Selection};
use crate::fetch::{Fetcher, Validators};
use crate::model::{Outcome, Stage};
use crate::pipeline;
use crate::report::{excerpt, parse_time, rfc3339, status_json, timeline};
use crate::store::Store;
use anyhow::{Context, Result, bail};
use jiff::Timestamp;
use serde_json::{Value, json};
use std::path::Path;
use std::process::ExitCode;

pub fn status(path: &Path, json_out: bool, fail_on_findings: bool) -> Result<ExitCode> {
    let reg = load(path)?;
    let mut store = open_store(&reg)?;
    let now = Timestamp::now();
    store.sync_registry(&reg, now)?;
    let (guides, caps) = pipeline::assess_all(&store, &reg, now)?;
    if json_out {
        let rows: Vec<Value> = caps.iter().map(status_json).collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        print_status(&store, &reg, &guides, &caps)?;
    }
    let findings = guides.iter().any(|g| g.findings.iter().any(|f| !f.snoozed))
        || caps.iter().any(|c| c.findings.iter().any(|f| !f.snoozed));
    Ok(if fail_on_findings && findings {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

fn state_words(state: State, days_left: Option<i64>) -> String {
    match (state, days_left) {
        (State::Expired, Some(d)) => format!("expired {} days ago", -d),
        (State::Expired, None) => "never validated".to_string(),
        (State::DueSoon, Some(d)) => format!("due in {d} days"),
        (_, Some(d)) => format!("fresh, {d} days left"),
        (_, None) => state.to_string(),
    }
}

fn print_status(
    store: &Store,
    reg: &Registry,
    guides: &[GuideAssessment],
    caps: &[Assessment],
) -> Result<()> {
    for g in guides {
        println!(
            "guide {} — {}: validated {}, {}{}",
            g.id,
            g.title,
            g.freshness
                .validated_on
                .map(|d| d.to_string())
                .unwrap_or_else(|| "never".into()),
            state_words(g.freshness.state, g.freshness.days_left),
            if g.flags.is_empty() {
                String::new()
            } else {
                format!(" [{}]", crate::evaluate::kinds_list(&g.flags))
            }
        );
        for f in &g.findings {
            println!("  ! {}", f.summary);
        }
    }
    println!();
    println!(
        "{:<30} {:<22} {:<22} {:<14} {:<11} {:<22} FLAGS",
        "CAPABILITY", "CLAIMED", "OBSERVED", "DRIFT", "VALIDATED", "STATE"
    );
    for a in caps {
        let drift = if a.drift.is_empty() {
            "-".to_string()
        } else {
            a.drift
                .iter()
                .map(|d| d.as_str())
                .collect::<Vec<_>>()
                .join(",")
        };
        let flags: Vec<String> = a
            .findings
            .iter()
            .map(|f| {
                if f.snoozed {
                    format!("{} (snoozed)", f.kind)
                } else {
                    f.kind.to_string()
                }
            })
            .chain(
                a.flags
                    .iter()
                    .filter(|k| !a.findings.iter().any(|f| f.kind == **k))
                    .map(|k| k.to_string()),
            )
            .collect();
        println!(
            "{:<30} {:<22} {:<22} {:<14} {:<11} {:<22} {}",
            a.id,
            a.claim.to_string(),
            a.observed.status().to_string(),
            drift,
            a.freshness
                .validated_on
                .map(|d| d.to_string())
                .unwrap_or_else(|| "never".into()),
            state_words(a.freshness.state, a.freshness.days_left),
            if flags.is_empty() {
                "-".to_string()
            } else {
                flags.join(", ")
            }
        );
        // Side by side: the guide's sentence (when the claim is the guide's)
        // and the docs' sentence.
        if let Some(q) = &a.claim_quote {
            println!("    guide says “{}”", excerpt(q, 104));
        }
        let docs = if a.claim_quote.is_some() {
            "docs say "
        } else {
            ""
        };
        match a
            .observed
            .evidence
            .iter()
            .find(|e| e.dimension == "stage")
            .or(a.observed.evidence.first())
        {
            Some(e) => println!("    {docs}“{}” — {}", excerpt(&e.quote, 110), e.source),
            None => println!("    {}", no_evidence_reason(store, reg, &a.id)?),
        }
        for n in &a.observed.notes {
            println!("    note: {n}");
        }
    }
    Ok(())
}

/// Why a capability has no evidence yet, in plain words.
fn no_evidence_reason(store: &Store, reg: &Registry, cap: &str) -> Result<String> {
    let Some(c) = reg.capability(cap) else {
        return Ok("no evidence".into());
    };
    if c.sources.is_empty() {
        return Ok("no evidence: this capability has no sources in the registry".into());
    }
    let mut reasons = Vec::new();
    for s in &c.sources {
        match store.last_check(&s.id)? {
            None => reasons.push(format!("{} never checked (run `capwatch check`)", s.id)),
            Some(ch) if !ch.outcome.is_success() => {
                reasons.push(format!("{} could not be read ({})", s.id, ch.outcome))
            }
            Some(_) => reasons.push(format!("{} says nothing about its status", s.id)),
        }
    }
    Ok(format!("observed unknown: {}", reasons.join("; ")))
}

pub struct HistoryArgs<'a> {
    pub capability: &'a str,
    pub since: Option<&'a str>,
    pub until: Option<&'a str>,
    pub as_of: Option<&'a str>,
    pub json: bool,
    pub csv: bool,
}

pub fn history(path: &Path, args: HistoryArgs<'_>) -> Result<ExitCode> {
    let reg = load(path)?;
    let store = open_store(&reg)?;
    let Some(cap) = reg.capability(args.capability) else {
        let known: Vec<&str> = reg.capabilities.iter().map(|c| c.id.as_str()).collect();
        bail!(
            "no capability \"{}\" in {}; known: {}",
            args.capability,
            reg.path.display(),
            known.join(", ")
        );
    };
    if let Some(t) = args.as_of {
        let at = parse_time(t, true).map_err(anyhow::Error::msg)?;
        let facts = store.facts(&reg, cap, at)?;
        let a = crate::evaluate::assess(&facts, at);
        if args.json {
            let mut v = status_json(&a);
            v["as_of"] = json!(rfc3339(at));
            println!("{}", serde_json::to_string_pretty(&v)?);
        } else {
            println!("{} as of {}:", a.id, rfc3339(at));
            println!("  claimed   {} (from the {})", a.claim, a.claim_origin);
            if let Some(q) = &a.claim_quote {
                println!("            guide says “{}”", excerpt(q, 110));
            }
            println!("  observed  {}", a.observed.status());
            for e in &a.observed.evidence {
                println!("            “{}” — {}", excerpt(&e.quote, 110), e.source);
            }
            println!(
                "  validated {} ({})",
                a.freshness
                    .validated_on
                    .map(|d| d.to_string())
                    .unwrap_or_else(|| "never".into()),
                state_words(a.freshness.state, a.freshness.days_left)
            );
            let flags: Vec<&str> = a.flags.iter().map(|f| f.as_str()).collect();
            println!(
                "  flags     {}",
                if flags.is_empty() {
                    "-".to_string()
                } else {
                    flags.join(", ")
                }
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let since = args
        .since
        .map(|s| parse_time(s, false))
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let until = args
        .until
        .map(|s| parse_time(s, true))
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let events = timeline(&store, &reg, cap.id.as_str(), since, until)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&events)?);
    } else if args.csv {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(std::io::stdout().lock());
        w.write_record([
            "at", "kind", "source", "stage", "access", "regions", "summary", "channel",
        ])?;
        for e in &events {
            let f = |k: &str| {
                e.get(k)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            };
            let regions = e
                .get("regions")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default();
            let row = [
                f("at"),
                f("kind"),
                f("source"),
                f("stage"),
                f("access"),
                regions,
                f("summary"),
                f("channel"),
            ];
            w.write_record(&row)?;
        }
        w.flush()?;
    } else if events.is_empty() {
        println!("no events for {} in that period", cap.id);
    } else {
        for e in &events {
            let at = e["at"].as_str().unwrap_or_default();
            let kind = e["kind"].as_str().unwrap_or_default();
            println!(
                "{at}  {kind:<13} {}",
                e["summary"].as_str().unwrap_or_default()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub struct InferArgs<'a> {
    pub target: &'a str,
    pub name: &'a str,
    pub aliases: &'a [String],
    pub select: Option<&'a str>,
    /// Load a URL in the browser instead of one GET.
    pub render: crate::config::Render,
    /// The registry, read (when it is there) for `[settings] browser`.
    pub config: &'a Path,
    pub json: bool,
}

/// Load one page in the browser as a `render = "browser"` source would be,
/// with `[settings] browser`, `timeout` and `max_page_bytes` from the
/// registry when there is one, the defaults otherwise.
fn render_one(
    url: &url::Url,
    selection: &Selection,
    config: &Path,
) -> Result<crate::fetch::Fetched> {
    use crate::render::{RenderSettings, Renderer};
    let mut settings = RenderSettings {
        tabs: 1,
        ..RenderSettings::default()
    };
    if config.exists() {
        let reg = load(config)?;
        settings.browser = reg.settings.browser.clone();
        settings.timeout = reg.settings.timeout;
        settings.max_bytes = reg.settings.max_page_bytes;
    }
    let fetcher = Fetcher::new(Default::default())?.with_renderer(Renderer::new(settings));
    let (selectors, first) = selection.tried_in_order();
    Ok(runtime()?.block_on(async {
        let fetched = fetcher.render(url, &selectors, first).await;
        fetcher.close_browser().await;
        fetched
    }))
}

/// Run extraction and inference on one page, exactly as a check would.
pub fn infer(args: InferArgs<'_>) -> Result<ExitCode> {
    let url = if args.target.starts_with("http://") || args.target.starts_with("https://") {
        url::Url::parse(args.target).with_context(|| format!("\"{}\" is not a URL", args.target))?
    } else {
        let p = Path::new(args.target.strip_prefix("file:").unwrap_or(args.target));
        let abs = std::path::absolute(p).with_context(|| format!("bad path {}", p.display()))?;
        if !abs.exists() {
            bail!(
                "no file {}; pass a local file or an http(s) URL",
                abs.display()
            );
        }
        url::Url::from_file_path(&abs).map_err(|_| anyhow::anyhow!("bad path {}", abs.display()))?
    };
    let select = args.select.unwrap_or(Selection::default_select());
    let selection = Selection::new(select, &[]).map_err(|e| anyhow::anyhow!("--select: {e}"))?;
    let browser = args.render == crate::config::Render::Browser;
    let fetched = if browser {
        render_one(&url, &selection, args.config)?
    } else {
        let fetcher = Fetcher::new(Default::default())?;
        runtime()?.block_on(fetcher.fetch(&url, &Validators::default()))
    };
    let body = match (&fetched.outcome, fetched.body) {
        (Outcome::Ok, Some(b)) => b,
        (o, _) => bail!("cannot read {url}: {o}"),
    };
    let body = pipeline::to_utf8(&body, fetched.content_type.as_deref());
    let kind = extract::content_kind(fetched.content_type.as_deref(), url.path());
    // A page JavaScript builds reads as nothing over plain HTTP: say so.
    let shell_hint = || {
        if !browser && kind == extract::ContentKind::Html && extract::script_shell(&body) {
            "; this page is built by JavaScript; try --render browser"
        } else {
            ""
        }
    };
    let page = extract::extract(&body, kind, &selection)
        .map_err(|e| anyhow::anyhow!("{url}: {e}{}", shell_hint()))?;
    if page.blocks.iter().all(|b| b.text.trim().is_empty()) {
        if browser {
            bail!(
                "{url}: the rendered page has no text in `{}`",
                selection.select_source()
            );
        }
        let hint = shell_hint();
        if !hint.is_empty() {
            bail!(
                "{url}: selector `{}` matched no text{hint}",
                selection.select_source()
            );
        }
    }
    let subject = Subject {
        name: args.name.to_string(),
        aliases: args.aliases.to_vec(),
    };
    let inference = infer::infer(&page, &subject, &Vocabulary::default());
    if args.json {
        let evidence: Vec<Value> = inference
            .evidence
            .iter()
            .map(|e| json!({"quote": e.quote, "rule": e.rule, "dimension": e.dimension, "value": e.value}))
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "stage": inference.status.stage,
                "access": inference.status.access,
                "regions": inference.status.regions,
                "evidence": evidence,
                "notes": inference.notes,
            }))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!("{} on {url}:", args.name);
    let st = &inference.status;
    for (dim, value) in [
        ("stage", st.stage.to_string()),
        ("access", st.access.to_string()),
        ("regions", st.regions.to_string()),
    ] {
        println!("  {dim:<8} {value}");
        for e in inference
            .evidence
            .iter()
            .filter(|e| e.dimension.as_str() == dim)
        {
            println!("           “{}”", excerpt(&e.quote, 200));
            println!("           rule: {}", e.rule);
        }
    }
    for n in &inference.notes {
        println!("  note: {n}");
    }
    if st.stage == Stage::Unknown && inference.evidence.is_empty() {
        println!(
            "  nothing on this page states a status for \"{}\"; check the name and aliases, or --select",
            args.name
        );
    }
    Ok(ExitCode::SUCCESS)
}
