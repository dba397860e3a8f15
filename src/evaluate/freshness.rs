//! Freshness: how long a validation lasts. Pure; `now` is passed in.
//!
//! `expires_on = validated_on + max_age`; the state is `due_soon` from
//! `expires_on - warn_before`, and `expired` from `expires_on` itself (a claim
//! validated for 90 days is stale on day 90). Dates are UTC calendar days.

use jiff::civil::Date;
use jiff::{Timestamp, ToSpan};
use serde::Serialize;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Fresh,
    DueSoon,
    Expired,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Fresh => "fresh",
            State::DueSoon => "due_soon",
            State::Expired => "expired",
        }
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The freshness of one claim or guide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Freshness {
    pub validated_on: Option<Date>,
    pub expires_on: Option<Date>,
    pub state: State,
    /// Days until `expires_on` (negative: overdue).
    pub days_left: Option<i64>,
}

fn days(d: Duration) -> i64 {
    (d.as_secs() / 86_400) as i64
}

/// The freshness of something last validated on `validated_on`.
/// Never validated counts as expired.
pub fn freshness(
    validated_on: Option<Date>,
    max_age: Duration,
    warn_before: Duration,
    now: Timestamp,
) -> Freshness {
    let today = now.to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
    let Some(validated) = validated_on else {
        return Freshness {
            validated_on: None,
            expires_on: None,
            state: State::Expired,
            days_left: None,
        };
    };
    let expires = validated
        .checked_add(days(max_age).days())
        .unwrap_or(Date::MAX);
    let warn_from = expires
        .checked_sub(days(warn_before).days())
        .unwrap_or(Date::MIN);
    let state = if today >= expires {
        State::Expired
    } else if today >= warn_from {
        State::DueSoon
    } else {
        State::Fresh
    };
    let days_left = i64::from((expires - today).get_days());
    Freshness {
        validated_on: Some(validated),
        expires_on: Some(expires),
        state,
        days_left: Some(days_left),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: u64 = 86_400;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn edges() {
        let v = Some("2026-06-06".parse::<Date>().unwrap());
        let max = Duration::from_secs(90 * DAY);
        let warn = Duration::from_secs(14 * DAY);
        // (now, expected state, days left)
        let cases = [
            ("2026-06-06T00:00:00Z", State::Fresh, 90),
            ("2026-08-20T23:59:59Z", State::Fresh, 15),
            ("2026-08-21T00:00:00Z", State::DueSoon, 14), // first day inside warn_before
            ("2026-09-03T23:59:59Z", State::DueSoon, 1),
            ("2026-09-04T00:00:00Z", State::Expired, 0), // exactly at expires_on
            ("2026-11-27T12:00:00Z", State::Expired, -84),
        ];
        for (now, state, left) in cases {
            let f = freshness(v, max, warn, at(now));
            assert_eq!(f.expires_on.unwrap().to_string(), "2026-09-04");
            assert_eq!((f.state, f.days_left), (state, Some(left)), "at {now}");
        }
    }

    #[test]
    fn never_validated_is_expired() {
        let f = freshness(
            None,
            Duration::from_secs(DAY),
            Duration::ZERO,
            at("2026-01-01T00:00:00Z"),
        );
        assert_eq!(f.state, State::Expired);
        assert_eq!(f.expires_on, None);
    }
}
