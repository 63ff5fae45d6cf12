//! How figures and dates read on the page. Pure code: tested on the host.

/// `1536` → `1.5 KiB` (as the CLI prints sizes). Exact bytes go in a `data-bytes` attribute beside it, for
/// tests and tooltips.
pub use sessionfs_shared::size::human_bytes as bytes;

/// `12345` → `12,345`.
pub fn count(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// An RFC 3339 timestamp as `2026-11-24 05:17` (UTC, as the server stores it); anything else as is.
pub fn date(ts: &str) -> String {
    match ts.get(..16) {
        Some(head) if ts.as_bytes().get(10) == Some(&b'T') => head.replacen('T', " ", 1),
        _ => ts.to_owned(),
    }
}

/// Just the day of a timestamp: `2026-12-24`.
pub fn day(ts: &str) -> String {
    ts.get(..10).unwrap_or(ts).to_owned()
}

/// A share of a whole, 0 to 100, for bars.
pub fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 { 0.0 } else { (part as f64 * 100.0 / whole as f64).min(100.0) }
}

/// At most `max` characters of `s`, with an ellipsis when cut; whitespace runs collapse to one space.
pub fn preview(s: &str, max: usize) -> String {
    let mut out = String::new();
    let mut n = 0;
    for word in s.split_whitespace() {
        if !out.is_empty() {
            if n >= max {
                out.push('…');
                return out;
            }
            out.push(' ');
            n += 1;
        }
        for c in word.chars() {
            if n >= max {
                out.push('…');
                return out;
            }
            out.push(c);
            n += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_dates() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1234567), "1,234,567");
        assert_eq!(date("2026-11-24T05:17:29.123Z"), "2026-11-24 05:17");
        assert_eq!(date("yesterday"), "yesterday");
        assert_eq!(day("2026-12-24T00:00:00Z"), "2026-12-24");
    }

    #[test]
    fn previews_cut_on_characters_not_bytes() {
        assert_eq!(preview("  a\n\n b  ", 10), "a b");
        assert_eq!(preview("héllo wörld", 5), "héllo…");
        assert_eq!(percent(5, 0), 0.0);
        assert_eq!(percent(3, 2), 100.0);
    }
}
