//! Schedule stage: cron expressions and when a source is next due.
//!
//! In: a cron expression from the registry (5 fields, or 6 with seconds first)
//! and a time. Out: the next time it fires. The due list itself lives in the
//! database (`source.next_check_at`); the daemon asks the store what is due.

use jiff::Timestamp;
use std::fmt;
use std::str::FromStr;

/// Where "now" comes from. The pipeline asks it; evaluation is handed a value.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

/// The real clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that stands still, for tests and replays.
pub struct FixedClock(pub Timestamp);

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        self.0
    }
}

/// A compiled cron expression, evaluated in UTC.
#[derive(Clone)]
pub struct Cron {
    source: String,
    inner: cron::Schedule,
}

impl Cron {
    /// The expression as written in the registry.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The first firing strictly after `t`.
    pub fn next_after(&self, t: Timestamp) -> Option<Timestamp> {
        let after = chrono::DateTime::<chrono::Utc>::from_timestamp_millis(t.as_millisecond())?;
        let next = self.inner.after(&after).next()?;
        Timestamp::from_millisecond(next.timestamp_millis()).ok()
    }
}

impl FromStr for Cron {
    type Err = String;

    /// Accepts `m h dom mon dow` (5 fields) or `s m h dom mon dow` (6 fields).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let fields = s.split_whitespace().count();
        let full = match fields {
            5 => format!("0 {s}"),
            6 => s.to_string(),
            n => {
                return Err(format!(
                    "cron expression `{s}` has {n} fields; write 5 (`min hour day month weekday`, e.g. \"0 6 * * *\") or 6 with seconds first"
                ));
            }
        };
        let inner = cron::Schedule::from_str(&full).map_err(|e| {
            // The crate's message repeats the input with a caret; keep its last line.
            let e = e.to_string();
            let why = e.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("syntax error").trim().to_string();
            format!("cron expression `{s}` is not valid ({why}); e.g. \"0 6 * * *\" is every day at 06:00 UTC")
        })?;
        Ok(Cron {
            source: s.to_string(),
            inner,
        })
    }
}

impl fmt::Debug for Cron {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cron({:?})", self.source)
    }
}

impl PartialEq for Cron {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn five_fields_fire_on_the_minute() {
        let c: Cron = "0 6 * * *".parse().unwrap();
        assert_eq!(
            c.next_after(ts("2026-11-27T05:59:59Z")),
            Some(ts("2026-11-27T06:00:00Z"))
        );
        assert_eq!(
            c.next_after(ts("2026-11-27T06:00:00Z")),
            Some(ts("2026-11-28T06:00:00Z"))
        );
    }

    #[test]
    fn six_fields_have_seconds() {
        let c: Cron = "*/2 * * * * *".parse().unwrap();
        assert_eq!(
            c.next_after(ts("2026-11-27T00:00:01Z")),
            Some(ts("2026-11-27T00:00:02Z"))
        );
    }

    #[test]
    fn bad_expressions_say_how_to_write_one() {
        let e = "0 6 * *".parse::<Cron>().unwrap_err();
        assert!(e.contains("4 fields"), "{e}");
        let e = "0 66 * * *".parse::<Cron>().unwrap_err();
        assert!(e.contains("not valid"), "{e}");
    }
}
