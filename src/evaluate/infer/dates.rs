//! Dates of dated sections (release notes, what's new): a heading that is
//! (nearly) only a date.

use super::*;

pub(super) static DATE: LazyLock<Regex> = LazyLock::new(|| {
    let month = r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?";
    Regex::new(&format!(
        r"(?i)\b(?:(?P<y1>\d{{4}})[-/](?P<m1>\d{{1,2}})[-/](?P<d1>\d{{1,2}})|(?P<mon2>{month})\.?\s+(?:(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?,?\s+)?(?P<y2>\d{{4}})|(?P<d3>\d{{1,2}})\s+(?P<mon3>{month})\.?,?\s+(?P<y3>\d{{4}}))\b"
    ))
    .expect("valid regex")
});

pub(super) fn month_number(name: &str) -> u32 {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let lower = name.to_ascii_lowercase();
    MONTHS
        .iter()
        .position(|m| lower.starts_with(m))
        .map_or(0, |i| i as u32 + 1)
}

/// The date a heading stands for, when the heading is (nearly) only a date:
/// "June 3, 2025", "September 2025", "2024-11-05", "Release 3 June 2025".
pub(super) fn heading_date(text: &str) -> Option<Date> {
    let c = DATE.captures(text)?;
    let m = c.get(0)?;
    let rest = format!("{} {}", &text[..m.start()], &text[m.end()..]);
    if rest
        .split_whitespace()
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .count()
        > 3
    {
        return None;
    }
    let num = |n: &str| c.name(n).and_then(|v| v.as_str().parse::<u32>().ok());
    let (y, mo, d) = if let Some(y) = num("y1") {
        (y, num("m1")?, num("d1")?)
    } else if let Some(y) = num("y2") {
        (
            y,
            month_number(c.name("mon2")?.as_str()),
            num("d2").unwrap_or(0),
        )
    } else {
        (
            num("y3")?,
            month_number(c.name("mon3")?.as_str()),
            num("d3")?,
        )
    };
    ((1900..=2200).contains(&y) && (1..=12).contains(&mo) && d <= 31).then_some((y as i32, mo, d))
}

pub(super) fn format_date((y, m, d): Date) -> String {
    if d == 0 {
        format!("{y:04}-{m:02}")
    } else {
        format!("{y:04}-{m:02}-{d:02}")
    }
}
