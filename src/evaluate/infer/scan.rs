//! One sentence scanned: its phrase hits attached to the subject and placed
//! (title, banner, sentence), as [`Candidate`]s for the decision.

use super::*;

/// A candidate value for one dimension, with where it came from.
#[derive(Debug, Clone)]
pub(super) struct Candidate {
    pub(super) dimension: Dimension,
    /// Stage/access name, or region codes joined with ",".
    pub(super) value: String,
    pub(super) quote: String,
    pub(super) rule: String,
    pub(super) place: Place,
    pub(super) date: Option<Date>,
    pub(super) weak: bool,
    /// Region codes (regions only).
    pub(super) codes: Vec<String>,
    /// Access that comes with a stage ("open beta", "closed preview") holds
    /// only while that stage does.
    pub(super) bound_stage: Option<Stage>,
    /// How decisive access wording is (see [`access_rank`]); 0 for other dimensions.
    pub(super) rank: u8,
}

pub(super) fn scan(s: &Sentence<'_>, extra: &[Rule], out: &mut Vec<Candidate>) {
    let mut hits = phrase_hits(s, &RULES, Some(&RULE_SET), false);
    hits.extend(phrase_hits(s, extra, None, true));
    hits.extend(label_hits(s));
    drop_overlaps(&mut hits);
    // A question asks; the answer, not the question, states a status
    // ("Is there any plan to deprecate X?" — "No").
    if s.text.trim_end().ends_with('?') {
        hits.clear();
    }
    // "X was sunset in 2024 … see the sunset FAQ": once a sentence says
    // something is retired, its other deprecation words are that history.
    if hits
        .iter()
        .any(|h| h.value == Value::Stage(Stage::Retired) && !h.weak)
    {
        hits.retain(|h| h.value != Value::Stage(Stage::Deprecated));
    }
    // "now available" is a GA claim only when nothing else in the sentence names a stage.
    let other_stage = hits.iter().any(|h| {
        matches!(h.value, Value::Stage(st) if st != Stage::Ga)
            || (h.value == Value::Stage(Stage::Ga) && h.kind != Kind::Weak)
    });
    hits.retain(|h| !(h.kind == Kind::Weak && h.value == Value::Stage(Stage::Ga) && other_stage));
    // "X, first released as a beta, is now generally available": the "now"
    // clause wins; the past-tense parts describe history.
    let now_stage = hits
        .iter()
        .find(|h| h.now && !h.past && h.value.dimension() == Dimension::Stage)
        .map(|h| h.value);
    if let Some(now_value) = now_stage {
        hits.retain(|h| !h.past);
        for h in &mut hits {
            if h.value.dimension() == Dimension::Stage && h.value != now_value && !h.now {
                h.weak = true;
            }
        }
    }
    // Stage words listed together define terms rather than state a status.
    let lists: Vec<(usize, usize)> = ENUMERATION
        .find_iter(s.text)
        .map(|m| (m.start(), m.end()))
        .collect();
    hits.retain(|h| {
        h.value.dimension() != Dimension::Stage
            || !lists.iter().any(|&(ls, le)| h.start < le && ls < h.end)
    });
    for h in hits {
        let attach = if h.kind == Kind::Label {
            Attach::Label
        } else {
            Attach::Phrase
        };
        let Some(place) = place_of(s, h.start, h.end, attach) else {
            continue;
        };
        // "Now available" is the weakest GA wording: in a sentence it must
        // follow the subject's name directly ("Foo is now available"), not
        // a longer name that starts with it ("Foo bespoke solutions is now…").
        if h.kind == Kind::Weak
            && matches!(h.value, Value::Stage(Stage::Ga | Stage::Announced))
            && place == Place::Sentence
            && !s.table_row
            && !s.mentions.iter().any(|&(_, me)| {
                me <= h.start
                    && s.text[me..h.start]
                        .split(|c: char| !c.is_alphanumeric())
                        .filter(|w| !w.is_empty())
                        .all(|w| {
                            matches!(
                                w.to_ascii_lowercase().as_str(),
                                "is" | "are"
                                    | "will"
                                    | "be"
                                    | "being"
                                    | "has"
                                    | "have"
                                    | "been"
                                    | "now"
                                    | "also"
                                    | "officially"
                            )
                        })
            })
        {
            continue;
        }
        let phrase = &s.text[h.start..h.end];
        let mut rule = format!(
            "{}:{} {} `{}` in {}",
            h.value.dimension().as_str(),
            h.value.as_str(),
            if h.registry {
                "registry phrase"
            } else {
                "phrase"
            },
            phrase,
            place.name()
        );
        if h.weak {
            rule.push_str(" (weak)");
        }
        if let Some(d) = s.date {
            let _ = write!(rule, " (section dated {})", format_date(d));
        }
        out.push(Candidate {
            dimension: h.value.dimension(),
            value: h.value.as_str().to_string(),
            quote: quote(s.text, h.start, h.end),
            rule,
            place,
            date: s.date,
            weak: h.weak,
            codes: Vec::new(),
            bound_stage: match h.value {
                Value::Access(_) => stage_word(phrase),
                Value::Stage(_) => None,
            },
            rank: match h.value {
                Value::Access(a) => access_rank(a, phrase),
                Value::Stage(_) => 0,
            },
        });
    }
    regions(s, None, out);
}

/// The place a phrase at `start..end` counts in, if any.
pub(super) fn place_of(
    s: &Sentence<'_>,
    start: usize,
    end: usize,
    attach: Attach,
) -> Option<Place> {
    if s.place.title {
        // A title speaks for the page; but "Foo Classic (deprecated) vs Foo"
        // labels a different name than the subject's, and "Planned
        // deprecations" or "API betas" titles a list of many things.
        if attach == Attach::Label && !s.mentions.is_empty() && !owned(s, start, end, attach) {
            return None;
        }
        let phrase = s.text[start..end].to_ascii_lowercase();
        if ["deprecations", "betas", "previews", "retirements"]
            .iter()
            .any(|p| phrase.ends_with(p))
        {
            return None;
        }
        return Some(Place::Title);
    }
    let about = !s.mentions.is_empty() && owned(s, start, end, attach);
    if s.place.banner || (s.place.callout && about) {
        return Some(Place::Banner);
    }
    if about || s.place.implicit || (attach == Attach::Regions && s.place.regions_scope) {
        return Some(Place::Sentence);
    }
    None
}

/// How decisive an access phrase is. 3: an explicit gate (approval, a
/// waitlist or sign-up form, an allow-list, invitation, "contact your account
/// team", a closed or private stage) or an explicit opening ("available to
/// all advertisers", "whether you are A, B or C", "anyone can"). 2: a step
/// that may or may not gate ("request access", "requires an account",
/// eligibility). 1: what a stage name implies ("public preview", "open
/// beta"). The highest rank on the page decides access.
pub(super) fn access_rank(access: Access, phrase: &str) -> u8 {
    let p = phrase.to_ascii_lowercase();
    let staged = ["beta", "preview", "alpha"].iter().any(|w| p.contains(w))
        && !p.contains("join")
        && !p.contains("sign up")
        && !p.contains("apply")
        && !p.contains("register");
    match access {
        Access::Open if staged => 1,
        Access::Gated if staged => 3,
        Access::Open => 3,
        Access::Gated => {
            if STRONG_GATE.is_match(&p) {
                3
            } else {
                2
            }
        }
        Access::Unknown => 0,
    }
}

static STRONG_GATE: LazyLock<Regex> = LazyLock::new(|| {
    ascii_regex(
        r"(?i)approv|wait-?\s?list|sign[- ]?up|apply|application|allow[- ]?list|white[- ]?list|invit|selected|account (?:executive|team|manager|representative|rep)|sales|sole discretion|nomination|by request|on request|upon request|only|exclusively",
    )
    .expect("valid regex")
});
