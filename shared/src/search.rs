//! Turning what a person typed into a safe full-text query, for every surface that searches (the local
//! index, the server's SQLite backend).

/// An FTS5 query from free text: every word quoted (so `-`, `:`, `*`, `NEAR(` and quotes are text, not
/// syntax) and all words required. A trailing `*` on a word keeps its prefix meaning. `None` when nothing
/// searchable is left.
pub fn fts_query(input: &str) -> Option<String> {
    let terms: Vec<String> = input
        .split_whitespace()
        .filter_map(|w| {
            let (word, prefix) = match w.strip_suffix('*') {
                Some(stem) if !stem.is_empty() => (stem, true),
                _ => (w, false),
            };
            let cleaned: String = word.chars().filter(|c| *c != '"').collect();
            (!cleaned.is_empty()).then(|| format!("\"{cleaned}\"{}", if prefix { "*" } else { "" }))
        })
        .collect();
    (!terms.is_empty()).then(|| terms.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neutralises_syntax() {
        assert_eq!(fts_query("hello world").as_deref(), Some("\"hello\" \"world\""));
        assert_eq!(fts_query("NEAR(a b) \"x").as_deref(), Some("\"NEAR(a\" \"b)\" \"x\""));
        assert_eq!(fts_query("pref*").as_deref(), Some("\"pref\"*"));
        assert_eq!(fts_query("   "), None);
        assert_eq!(fts_query("\"\""), None);
    }
}
