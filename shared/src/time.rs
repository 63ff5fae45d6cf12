//! Timestamps as `.sfs` writes them: RFC 3339, UTC, millisecond precision (`2026-03-20T14:00:00.000Z`).
//! Reading is lenient: any RFC 3339 offset, a naive date-time (taken as UTC), or epoch seconds/millis.

use std::fmt;

use chrono::{DateTime, NaiveDateTime, SecondsFormat, TimeZone, Utc};
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
