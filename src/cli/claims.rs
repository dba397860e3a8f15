//! `claims`: what each guide's own page claims for its capabilities, next to
//! what the registry pins. Reads the guide pages now (http(s) or `file:`).

use super::{load, runtime};
use crate::config::Registry;
use crate::evaluate::infer::GuideClaim;
use crate::fetch::{Fetcher, Validators};
use crate::model::{Access, Outcome, Stage, Status};
use crate::pipeline;
use anyhow::{Result, bail};
use serde_json::{Value, json};
use std::path::Path;
use std::process::ExitCode;

/// One capability's claims, as `claims --json` prints it.
fn row(registry: &Registry, cap_id: &str, claim: &GuideClaim) -> Value {
    let cap = registry
        .capability(cap_id)
        .expect("capability of the registry");
    let st = &claim.inference.status;
    let agree = cap.pinned.then(|| agrees(&cap.claim, st));
    json!({
        "id": cap.id,
        "name": cap.name,
        "guide": cap.guide,
        "sentences": claim.sentences,
        "inferred": {
            "stage": st.stage,
            "access": st.access,
            "regions": st.regions,
            "regions_limited": claim.regions_limited,
            "quote": pipeline::claim_quote(claim),
            "evidence": claim.inference.evidence,
        },
        "registry": cap.pinned.then(|| json!({
            "stage": cap.claim.stage,
            "access": cap.claim.access,
            "regions": cap.claim.regions,
        })),
        "agree": agree,
    })
}

/// Whether the registry's claim and the guide's agree on every dimension
/// that both state.
fn agrees(registry: &Status, guide: &Status) -> bool {
    (guide.stage == Stage::Unknown || registry.stage == guide.stage)
        && (guide.access == Access::Unknown || registry.access == guide.access)
        && (!guide.regions.is_known()
            || !registry.regions.is_known()
            || registry.regions == guide.regions)
}

pub fn claims(config: &Path, guide: Option<&str>, json_out: bool) -> Result<ExitCode> {
    let registry = load(config)?;
    if let Some(g) = guide
        && registry.guide(g).is_none()
    {
        bail!("no guide \"{g}\" in {}", config.display());
    }
    let fetcher = Fetcher::new(Default::default())?;
    let rt = runtime()?;
    let mut rows = Vec::new();
    let mut text = String::new();
    for g in registry
        .guides
        .iter()
        .filter(|g| guide.is_none_or(|id| id == g.id))
    {
        let Some(url) = &g.url else {
            text.push_str(&format!(
                "{}: no `url` for this guide, so its own text is not read\n\n",
                g.id
            ));
            continue;
        };
        let fetched = rt.block_on(fetcher.fetch(url, &Validators::default()));
        let body = match (&fetched.outcome, &fetched.body) {
            (Outcome::Ok, Some(b)) => b.clone(),
            (o, _) => bail!("cannot read guide \"{}\" at {url}: {o}", g.id),
        };
        let body = pipeline::to_utf8(&body, fetched.content_type.as_deref());
        let page = pipeline::guide_page(&body, fetched.content_type.as_deref(), url);
        text.push_str(&format!("{} — {} ({url})\n", g.id, g.title));
        for (cap_id, claim) in pipeline::guide_claims(&registry, &g.id, &page) {
            let cap = registry.capability(&cap_id).expect("capability");
            let st = &claim.inference.status;
            let mut inferred = format!("{}/{}", st.stage, st.access);
            if st.regions.is_known() {
                inferred.push_str(&format!(" [{}]", st.regions));
            } else if claim.regions_limited {
                inferred.push_str(" [region-limited, not listed]");
            }
            text.push_str(&format!("  {} ({})\n", cap.id, cap.name));
            text.push_str(&format!("    guide says  {inferred}\n"));
            match pipeline::claim_quote(&claim) {
                Some(q) => text.push_str(&format!("      “{q}”\n")),
                None => text.push_str("      (the guide never names it)\n"),
            }
            let silent = st.stage == Stage::Unknown
                && st.access == Access::Unknown
                && !st.regions.is_known();
            if cap.pinned {
                text.push_str(&format!(
                    "    registry    {}{}\n",
                    cap.claim,
                    if silent {
                        "   (the guide states no status to compare)"
                    } else if agrees(&cap.claim, st) {
                        "   (agrees)"
                    } else {
                        "   (DISAGREES: update the registry or the guide)"
                    }
                ));
            } else {
                text.push_str("    registry    (no claim: the guide's text is the claim)\n");
            }
            rows.push(row(&registry, &cap_id, &claim));
        }
        text.push('\n');
    }
    if json_out {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        print!("{text}");
    }
    Ok(ExitCode::SUCCESS)
}
