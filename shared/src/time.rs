//! Timestamps as `.sfs` writes them: RFC 3339, UTC, millisecond precision (`2026-03-20T14:00:00.000Z`).
//! Reading is lenient: any RFC 3339 offset, a naive date-time (taken as UTC), or epoch seconds/millis.

use std::fmt;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, SecondsFormat, TimeZone, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A UTC instant.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(DateTime<Utc>);

impl Timestamp {
    /// Wrap a chrono time.
    pub fn from_datetime(t: DateTime<Utc>) -> Self {
        Self(t)
    }

    /// The current time. (Uses the system clock; callers in `shared` itself never call it.)
    pub fn now() -> Self {
        Self(Utc::now())
    }

    /// From epoch milliseconds.
    pub fn from_millis(ms: i64) -> Option<Self> {
        Utc.timestamp_millis_opt(ms).single().map(Self)
    }

    /// Parse leniently; `None` when the text is no time at all.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        if let Ok(t) = DateTime::parse_from_rfc3339(s) {
            return Some(Self(t.with_timezone(&Utc)));
        }
        for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"] {
            if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
                return Some(Self(t.and_utc()));
            }
        }
        if let Ok(n) = s.parse::<i64>() {
            return Self::from_number(n);
        }
        None
    }

    /// Epoch seconds or milliseconds (values past year 33658 in seconds are taken as millis).
    pub fn from_number(n: i64) -> Option<Self> {
        if n.abs() >= 1_000_000_000_000 { Self::from_millis(n) } else { Utc.timestamp_opt(n, 0).single().map(Self) }
    }

    /// The chrono value.
    pub fn datetime(self) -> DateTime<Utc> {
        self.0
    }

    /// Milliseconds since the epoch.
    pub fn millis(self) -> i64 {
        self.0.timestamp_millis()
    }

    /// RFC 3339 with milliseconds and `Z`, the canonical `.sfs` form.
    pub fn to_rfc3339(self) -> String {
        self.0.to_rfc3339_opts(SecondsFormat::Millis, true)
    }
}

/// A `since` value that is no time: the message says which forms work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidSince(String);

/// Parse a "since" filter, as `sfs list --since` and the MCP `list_sessions` tool take it: `7d`, `12h`,
/// `30m`, `2w` (that long before `now`), a day `2026-03-20` (its start, UTC), or a time in any form
/// [`Timestamp::parse`] reads (an RFC 3339 offset is converted to UTC). Lists compare the canonical UTC
/// form ([`Timestamp::to_rfc3339`]) with the stored times.
pub fn parse_since(s: &str, now: Timestamp) -> Result<Timestamp, InvalidSince> {
    let s = s.trim();
    // The value is echoed in errors: a long one is cut.
    let shown: String = s.chars().take(40).collect();
    let shown = if shown.len() < s.len() { format!("{shown}…") } else { shown };
    if let Some((num, unit)) = s.char_indices().last().map(|(i, c)| (&s[..i], c))
        && let Ok(n) = num.parse::<i64>()
    {
        let d = match unit {
            'd' => Some(Duration::try_days(n)),
            'h' => Some(Duration::try_hours(n)),
            'm' => Some(Duration::try_minutes(n)),
            'w' => Some(Duration::try_weeks(n)),
            _ => None,
        };
        if n < 0 {
            return Err(InvalidSince(format!("{shown:?} is in the future: give how long ago, such as 7d")));
        }
        if let Some(d) = d {
            return d.and_then(|d| now.0.checked_sub_signed(d)).map(Timestamp).ok_or_else(|| {
                InvalidSince(format!("{shown:?} reaches too far back: give a date instead, such as 2000-01-01"))
            });
        }
    }
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        // Read as a Unix time it would be 1970: almost surely a unit left out.
        return Err(InvalidSince(format!(
            "{shown:?} needs a unit: {shown}d, {shown}h or {shown}m, or a date such as 2026-03-20"
        )));
    }
    if let Ok(day) = NaiveDate::parse_from_str(s, "%Y-%m-%d")
        && let Some(t) = day.and_hms_opt(0, 0, 0)
    {
        return Ok(Timestamp(t.and_utc()));
    }
    Timestamp::parse(s).ok_or_else(|| {
        InvalidSince(format!("invalid time {shown:?}: use 7d, 12h, 30m, 2026-03-20 or an RFC 3339 time"))
    })
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Int(i64),
            Float(f64),
        }
        let parsed = match Raw::deserialize(d)? {
            Raw::Text(s) => Self::parse(&s),
            Raw::Int(n) => Self::from_number(n),
            // Epoch seconds with a fraction; the cast keeps millisecond precision.
            Raw::Float(f) => Self::from_millis((f * 1000.0) as i64),
        };
        parsed
            .ok_or_else(|| serde::de::Error::custom("not a timestamp: expected RFC 3339 text or epoch seconds/millis"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_forms() {
        let now = Timestamp::parse("2026-03-20T12:00:00Z").unwrap();
        let since = |s: &str| parse_since(s, now).map(Timestamp::to_rfc3339);
        assert_eq!(since("2026-03-20").unwrap(), "2026-03-20T00:00:00.000Z");
        assert_eq!(since("7d").unwrap(), "2026-03-13T12:00:00.000Z");
        assert_eq!(since("2w").unwrap(), "2026-03-06T12:00:00.000Z");
        assert_eq!(since("30m").unwrap(), "2026-03-20T11:30:00.000Z");
        // An offset is converted: 05:00 at +05:00 is midnight UTC.
        assert_eq!(since("2026-11-24T05:00:00+05:00").unwrap(), "2026-11-24T00:00:00.000Z");
        assert!(since("soon").unwrap_err().to_string().contains("7d"));
        assert!(since("yesterday").is_err());
        assert!(since(&"x".repeat(100_000)).unwrap_err().to_string().len() < 200, "long input is not echoed");
    }

    #[test]
    fn since_out_of_range_and_unitless_are_errors_not_panics() {
        let now = Timestamp::now();
        let err = |s: &str| parse_since(s, now).unwrap_err().to_string();
        assert!(err("99999999d").contains("too far back"));
        assert!(err("99999999999999d").contains("too far back"));
        assert!(err("-5d").contains("future"));
        assert!(err("24").contains("24h"));
    }

    #[test]
    fn lenient_forms() {
        let canonical = "2026-03-20T14:00:00.000Z";
        for s in ["2026-03-20T14:00:00Z", "2026-03-20T16:00:00+02:00", "2026-03-20T14:00:00", "2026-03-20 14:00:00.000"]
        {
            assert_eq!(Timestamp::parse(s).unwrap().to_rfc3339(), canonical, "{s}");
        }
        let from_ms: Timestamp = serde_json::from_str("1774015200000").unwrap();
        assert_eq!(from_ms.to_rfc3339(), canonical);
        let from_s: Timestamp = serde_json::from_str("1774015200").unwrap();
        assert_eq!(from_s.to_rfc3339(), canonical);
        assert!(serde_json::from_str::<Timestamp>("\"yesterday\"").is_err());
    }
}
