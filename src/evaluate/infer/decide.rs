//! The decision between competing evidence: per dimension, weak wording,
//! place, date, then strong over weak; disagreement left `unknown` with every
//! competing quote.

use super::*;

pub(super) const EVIDENCE_PER_DIMENSION: usize = 6;

/// The stage a qualifier phrase names: "open beta" → beta.
pub(super) fn stage_word(phrase: &str) -> Option<Stage> {
    let lower = phrase.to_ascii_lowercase();
    if lower.contains("beta") {
        Some(Stage::Beta)
    } else if lower.contains("preview") {
        Some(Stage::Preview)
    } else {
        None
    }
}

pub(super) fn resolve(cands: Vec<Candidate>) -> Inference {
    let mut evidence = Vec::new();
    let mut notes = Vec::new();
    let mut status = Status::unknown();
    for dim in [Dimension::Stage, Dimension::Access, Dimension::Regions] {
        let all: Vec<&Candidate> = cands
            .iter()
            .filter(|c| c.dimension == dim)
            .filter(|c| match (c.bound_stage, status.stage) {
                // "Public preview" access is stale once the page says the stage moved on.
                (Some(bound), decided) if decided != Stage::Unknown && decided != bound => {
                    notes.push(format!(
                        "access evidence tied to {bound} set aside: stage is now {decided}"
                    ));
                    false
                }
                _ => true,
            })
            .collect();
        if all.is_empty() {
            continue;
        }
        let kept = winners(&all, dim, &mut notes);
        let values: BTreeSet<&str> = kept.iter().map(|c| c.value.as_str()).collect();
        match dim {
            Dimension::Stage | Dimension::Access if values.len() > 1 => {
                notes.push(format!(
                    "conflicting {} evidence: {}",
                    dim.as_str(),
                    values.iter().copied().collect::<Vec<_>>().join(" vs ")
                ));
            }
            Dimension::Stage => {
                status.stage = kept[0].value.parse().unwrap_or(Stage::Unknown);
            }
            Dimension::Access => {
                status.access = kept[0].value.parse().unwrap_or(Access::Unknown);
            }
            Dimension::Regions => {
                let codes: BTreeSet<&str> = kept
                    .iter()
                    .flat_map(|c| c.codes.iter().map(String::as_str))
                    .collect();
                if codes.contains(Regions::GLOBAL) && codes.len() > 1 {
                    notes.push(format!(
                        "conflicting regions evidence: global vs {}",
                        codes
                            .iter()
                            .filter(|c| **c != Regions::GLOBAL)
                            .copied()
                            .collect::<Vec<_>>()
                            .join(",")
                    ));
                } else {
                    status.regions = Regions::new(codes);
                }
            }
        }
        let mut seen = BTreeSet::new();
        let mut shown = 0;
        for c in &kept {
            if !seen.insert((c.value.clone(), c.quote.clone())) {
                continue;
            }
            if shown == EVIDENCE_PER_DIMENSION {
                notes.push(format!(
                    "{} more {} evidence sentences not shown",
                    kept.len() - shown,
                    dim.as_str()
                ));
                break;
            }
            shown += 1;
            evidence.push(Evidence {
                dimension: dim,
                value: c.value.clone(),
                quote: c.quote.clone(),
                rule: c.rule.clone(),
            });
        }
    }
    let mut seen = BTreeSet::new();
    notes.retain(|n| seen.insert(n.clone()));
    Inference {
        status,
        evidence,
        notes,
    }
}

/// The candidates that decide a dimension: weak wording loses to strong
/// wording from the same section, then the strongest place wins, then the
/// latest dated section, then strong over weak. Notes what was set aside when
/// it disagreed.
pub(super) fn winners<'a>(
    all: &[&'a Candidate],
    dim: Dimension,
    notes: &mut Vec<String>,
) -> Vec<&'a Candidate> {
    // Access: the most decisive wording wins before places are compared
    // (a waitlist outranks "public preview" in the title).
    let top_rank = all.iter().map(|c| c.rank).max().unwrap_or(0);
    let (all, outranked): (Vec<&Candidate>, Vec<&Candidate>) =
        all.iter().copied().partition(|c| c.rank == top_rank);
    note_dropped(&all, &outranked, dim, "less decisive access wording", notes);
    let (mut kept, weak): (Vec<&Candidate>, Vec<&Candidate>) =
        all.iter().copied().partition(|c| !c.weak);
    let mut dropped = Vec::new();
    for w in weak {
        if kept.iter().any(|k| !k.weak && k.date == w.date) {
            dropped.push(w);
        } else {
            kept.push(w);
        }
    }
    note_dropped(&kept, &dropped, dim, "weak or past-tense wording", notes);
    let best = kept
        .iter()
        .map(|c| c.place)
        .max()
        .unwrap_or(Place::Sentence);
    let (top, lower): (Vec<_>, Vec<_>) = kept.into_iter().partition(|c| c.place == best);
    note_dropped(
        &top,
        &lower,
        dim,
        &format!("a weaker place than the {}", best.name()),
        notes,
    );
    kept = top;
    if let Some(latest) = kept.iter().filter_map(|c| c.date).max() {
        let (newest, older): (Vec<_>, Vec<_>) =
            kept.into_iter().partition(|c| c.date == Some(latest));
        note_dropped(
            &newest,
            &older,
            dim,
            &format!("sections older than {}", format_date(latest)),
            notes,
        );
        kept = newest;
    }
    if kept.iter().any(|c| !c.weak) {
        let (strong, weak): (Vec<_>, Vec<_>) = kept.into_iter().partition(|c| !c.weak);
        note_dropped(&strong, &weak, dim, "weak or past-tense wording", notes);
        kept = strong;
    }
    kept
}

pub(super) fn note_dropped(
    kept: &[&Candidate],
    dropped: &[&Candidate],
    dim: Dimension,
    why: &str,
    notes: &mut Vec<String>,
) {
    let kept_values: BTreeSet<&str> = kept.iter().map(|c| c.value.as_str()).collect();
    let other: BTreeSet<&str> = dropped
        .iter()
        .map(|c| c.value.as_str())
        .filter(|v| !kept_values.contains(v))
        .collect();
    if !other.is_empty() {
        notes.push(format!(
            "{} evidence from {} set aside: {}",
            dim.as_str(),
            why,
            other.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
}
