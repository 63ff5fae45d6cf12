//! `--since` values: `7d`, `12h`, `30m`, `2026-03-20`, or an RFC 3339 time.

use chrono::{Duration, NaiveDate, Utc};
use sessionfs_shared::Timestamp;

/// Parse a `--since` value into the canonical RFC 3339 form the index sorts by.
pub fn parse_since(s: &str) -> Result<String, String> {
    let s = s.trim();
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
            return Err(format!("{s:?} is in the future: give how long ago, such as 7d"));
        }
        if let Some(d) = d {
            let since = d.and_then(|d| Utc::now().checked_sub_signed(d)).map(Timestamp::from_datetime);
            return since
                .map(|t| t.to_rfc3339())
                .ok_or_else(|| format!("{s:?} reaches too far back: give a date instead, such as 2000-01-01"));
        }
    }
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        // Read as a Unix time it would be 1970: almost surely a unit left out.
        return Err(format!("{s:?} needs a unit: {s}d, {s}h or {s}m, or a date such as 2026-03-20"));
    }
    if let Ok(day) = NaiveDate::parse_from_str(s, "%Y-%m-%d")
        && let Some(t) = day.and_hms_opt(0, 0, 0)
    {
        return Ok(Timestamp::from_datetime(t.and_utc()).to_rfc3339());
    }
    Timestamp::parse(s)
        .map(|t| t.to_rfc3339())
        .ok_or_else(|| format!("invalid time {s:?}: use 7d, 12h, 30m, 2026-03-20 or an RFC 3339 time"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        assert_eq!(parse_since("2026-03-20").unwrap(), "2026-03-20T00:00:00.000Z");
        assert!(parse_since("7d").unwrap() < Timestamp::now().to_rfc3339());
        assert!(parse_since("soon").unwrap_err().contains("7d"));
    }

    #[test]
    fn out_of_range_and_unitless_are_errors_not_panics() {
        assert!(parse_since("99999999d").unwrap_err().contains("too far back"));
        assert!(parse_since("99999999999999d").unwrap_err().contains("too far back"));
        assert!(parse_since("-5d").unwrap_err().contains("future"));
        assert!(parse_since("24").unwrap_err().contains("24h"));
    }
}
