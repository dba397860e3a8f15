//! Regions: AWS, Azure and Google Cloud region codes and names, Amazon
//! marketplaces and countries, "worldwide" — found in sentences that say where
//! something is available.

use super::*;

pub(super) static AWS_REGION: LazyLock<Regex> = LazyLock::new(|| {
    ascii_regex(
        r"\b(?:us-gov|us|eu|ap|sa|ca|me|af|il|mx|cn)-(?:north|south|east|west|central|northeast|southeast|northwest|southwest)-\d\b",
    )
    .expect("valid regex")
});

pub(super) static COUNTRY: LazyLock<Regex> = LazyLock::new(|| {
    ascii_regex(
        r"\b(?:US|UK|GB|CA|MX|BR|DE|FR|IT|ES|NL|SE|PL|BE|TR|AE|SA|EG|IN|JP|AU|SG|IE|ZA|NZ|KR|CN|AT|CH|DK|NO|FI|PT|CO|CL|AR)\b",
    )
    .expect("valid regex")
});

pub(super) static REGION_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*([A-Za-z][A-Za-z /]{0,30}?)\s*:\s*(.*)$").expect("valid regex")
});

pub(super) static AVAILABILITY_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    ascii_regex(r"(?i)^(?:regions?|supported regions|availability|available in|marketplaces?|supported marketplaces|countries|locations)$")
        .expect("valid regex")
});

pub(super) static REGION_TRIGGER: LazyLock<Regex> = LazyLock::new(|| {
    ascii_regex(
        r"(?i)\b(?:available|availability|supported|support|supports|launch(?:es|ed)?|expand(?:s|ed)?|offered|enabled|only|limited to|live|rolled out|rolling out|(?:in|into) (?:open |closed |public |private |limited )?(?:beta|preview))\b",
    )
    .expect("valid regex")
});

pub(super) static REGION_WORD: LazyLock<Regex> = LazyLock::new(|| {
    ascii_regex(
        r"(?i)\b(?:regions?|marketplaces?|markets?|countr(?:y|ies)|locales?|geograph(?:y|ies))\b",
    )
    .expect("valid regex")
});

pub(super) static REGION_NEGATION: LazyLock<Regex> = LazyLock::new(|| {
    ascii_regex(r"(?i)\b(?:not|isn't|aren't|unavailable|except|excluding|outside)\b")
        .expect("valid regex")
});

pub(super) static GLOBAL: LazyLock<Regex> = LazyLock::new(|| {
    ascii_regex(
        r"(?i)\b(?:(?:in |across )?(?:all|every) (?:(?:aws|azure|google cloud|gcp|public|global|commercial|supported|available|standard|the) ){0,3}(?:regions?|marketplaces?|markets?|countries|country|locations?|geographies)|globally|worldwide|world-wide|available everywhere|around the world)\b",
    )
    .expect("valid regex")
});

/// Region and marketplace codes in a sentence that says where something is
/// available. In a list (`list`: the items after a lead-in such as "available
/// in the following regions:"), every place counts without a trigger word;
/// `list` is where the items start in the sentence (the lead-in before it
/// only introduces them).
pub(super) fn regions(s: &Sentence<'_>, list: Option<usize>, out: &mut Vec<Candidate>) {
    let text = s.text;
    let (skip, list) = (list.unwrap_or(0), list.is_some());
    // "Label: value" lines count only when the label is about availability;
    // in a list, a label ("North America: Canada, Mexico") only groups.
    let (body, body_off) = match REGION_LABEL.captures(text) {
        Some(c) if !c[1].contains("  ") && !list => {
            if !AVAILABILITY_LABEL.is_match(c[1].trim()) {
                return;
            }
            let v = c.get(2).expect("group 2");
            (v.as_str(), v.start())
        }
        _ => {
            if !list && !REGION_TRIGGER.is_match(text) && !REGION_WORD.is_match(text) {
                return;
            }
            (&text[skip..], skip)
        }
    };
    let labelled = body_off > 0 || list;
    // "not available in CA", "all marketplaces except JP": not a list of where it is.
    if REGION_NEGATION.is_match(body) {
        return;
    }
    let mut codes: Vec<(usize, usize, String)> = AWS_REGION
        .find_iter(body)
        .map(|m| (m.start(), m.end(), m.as_str().to_string()))
        .collect();
    let named = named_places(body);
    let inside_name =
        |start: usize, end: usize| named.iter().any(|&(ns, ne, _)| ns <= start && end <= ne);
    let countries: Vec<_> = COUNTRY
        .find_iter(body)
        .filter(|m| !inside_name(m.start(), m.end()))
        .filter(|m| {
            let before = body[..m.start()].chars().next_back();
            let mut rest = body[m.end()..].chars();
            let after = rest.next();
            // A full stop ends the sentence ("… in the US and UK."), but
            // "US.gov" or "uk.example" is an identifier.
            let sentence_end = after == Some('.') && rest.next().is_none_or(char::is_whitespace);
            !before.is_some_and(|c| c == '-' || c == '_' || c == '.')
                && (sentence_end || !after.is_some_and(|c| c == '-' || c == '_' || c == '.'))
        })
        .map(|m| (m.start(), m.end(), m.as_str().replace("GB", "UK")))
        .collect();
    let named_count = named.len();
    if countries.len() + named_count >= 2
        || labelled
        || (!countries.is_empty() && REGION_WORD.is_match(body))
    {
        codes.extend(countries);
    }
    // Names are proper nouns: they count where the sentence talks about
    // availability (checked above), or in a list.
    let fresh: Vec<_> = named
        .into_iter()
        .filter(|(s, e, _)| !codes.iter().any(|c| c.0 <= *s && *e <= c.1))
        .collect();
    codes.extend(fresh);
    let global = GLOBAL.find(body).map(|m| (m.start(), m.end())).or_else(|| {
        (labelled
            && body
                .trim()
                .trim_end_matches('.')
                .eq_ignore_ascii_case("all"))
        .then_some((0, body.len()))
    });
    let mut found: Vec<(usize, usize, Vec<String>)> = Vec::new();
    if !codes.is_empty() {
        codes.sort();
        let start = codes.first().map_or(0, |c| c.0);
        let end = codes.iter().map(|c| c.1).max().unwrap_or(start);
        let set: BTreeSet<String> = codes.into_iter().map(|c| c.2).collect();
        found.push((start, end, set.into_iter().collect()));
    }
    if let Some((gs, ge)) = global {
        found.push((gs, ge, vec![Regions::GLOBAL.to_string()]));
    }
    for (start, end, list) in found {
        let (start, end) = (start + body_off, end + body_off);
        if s.links.iter().any(|&(ls, le)| ls <= start && end <= le) {
            continue;
        }
        let Some(place) = place_of(s, start, end, Attach::Regions) else {
            continue;
        };
        let value = list.join(",");
        let mut rule = format!("regions:{value} stated in {}", place.name());
        if let Some(d) = s.date {
            let _ = write!(rule, " (section dated {})", format_date(d));
        }
        out.push(Candidate {
            dimension: Dimension::Regions,
            value,
            quote: quote(text, start, end),
            rule,
            place,
            date: s.date,
            weak: false,
            codes: list,
            bound_stage: None,
            rank: 0,
        });
    }
}
