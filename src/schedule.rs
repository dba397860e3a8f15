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

/// A compiled cron expression, evaluated in a time zone (UTC by default).
#[derive(Clone)]
pub struct Cron {
    source: String,
    inner: cron::Schedule,
    tz: chrono_tz::Tz,
}

impl Cron {
    /// The expression as written in the registry.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The next slot after `t`, plus a small fixed offset per source (up to a
    /// tenth of the period, at most 30 s) so sources sharing a schedule do not
    /// all start at the same instant.
    pub fn next_for(&self, t: Timestamp, source_id: &str) -> Option<Timestamp> {
        let next = self.next_after(t)?;
        let period = self
            .next_after(next)
            .map(|n| n.as_millisecond() - next.as_millisecond())
            .unwrap_or(0);
        let max = (period / 10).clamp(0, 30_000);
        if max == 0 {
            return Some(next);
        }
        let offset = (stable_hash(source_id) % max as u64) as i64;
        Timestamp::from_millisecond(next.as_millisecond() + offset).ok()
    }

    /// The first firing strictly after `t`.
    pub fn next_after(&self, t: Timestamp) -> Option<Timestamp> {
        let after = chrono::DateTime::<chrono::Utc>::from_timestamp_millis(t.as_millisecond())?
            .with_timezone(&self.tz);
        let next = self.inner.after(&after).next()?;
        Timestamp::from_millisecond(next.timestamp_millis()).ok()
    }

    /// Parse an expression evaluated in the time zone `tz` (an IANA name).
    pub fn parse_in(s: &str, tz: chrono_tz::Tz) -> Result<Cron, String> {
        let mut c: Cron = s.parse()?;
        c.tz = tz;
        Ok(c)
    }
}

/// FNV-1a: a stable hash (unlike std's, it does not change between runs).
fn stable_hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Spread `n` overdue sources after downtime: the i-th waits `i × step`,
/// where the whole spread lasts at most `window`.
pub fn spread(now: Timestamp, i: usize, n: usize, window: std::time::Duration) -> Timestamp {
    if n <= 1 {
        return now;
    }
    let step = (window.as_millis() as i64 / n as i64).min(250);
    Timestamp::from_millisecond(now.as_millisecond() + step * i as i64).unwrap_or(now)
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
            tz: chrono_tz::UTC,
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
        self.source == other.source && self.tz == other.tz
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
    fn jitter_is_small_stable_and_per_source() {
        let c: Cron = "0 */6 * * *".parse().unwrap();
        let t = ts("2026-11-27T05:00:00Z");
        let a = c.next_for(t, "alpha").unwrap();
        let b = c.next_for(t, "bravo").unwrap();
        assert_eq!(a, c.next_for(t, "alpha").unwrap());
        assert_ne!(a, b);
        for x in [a, b] {
            let off = x.as_millisecond() - ts("2026-11-27T06:00:00Z").as_millisecond();
            assert!((0..30_000).contains(&off), "{off}");
        }
        let fast: Cron = "*/2 * * * * *".parse().unwrap();
        let n = fast.next_for(ts("2026-11-27T00:00:00Z"), "x").unwrap();
        assert!(n.as_millisecond() - ts("2026-11-27T00:00:02Z").as_millisecond() < 200);
    }

    #[test]
    fn a_time_zone_moves_the_slot() {
        let c = Cron::parse_in("0 6 * * *", "Europe/Berlin".parse().unwrap()).unwrap();
        // 06:00 in Berlin is 05:00 UTC in winter.
        assert_eq!(
            c.next_after(ts("2026-11-27T00:00:00Z")),
            Some(ts("2026-11-27T05:00:00Z"))
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
