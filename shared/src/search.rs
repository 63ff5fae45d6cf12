//! Turning what a person typed into a safe full-text query, for every surface that searches (the local
//! index, the server's SQLite backend).

/// The longest query, in characters: the server's `GET /api/v1/sessions/search` limit, which `sfs search` and
/// the MCP `search_sessions` tool keep too.
pub const MAX_QUERY_CHARS: usize = 500;
/// The most words in a query: each word is one more doclist for the full-text index to walk.
pub const MAX_QUERY_WORDS: usize = 64;

/// Check a query's size before searching. The error names the limits without echoing the query.
pub fn check_query_size(input: &str) -> Result<(), String> {
    let chars = input.chars().count();
    if chars > MAX_QUERY_CHARS {
        return Err(format!("the query is {chars} characters long; at most {MAX_QUERY_CHARS} are searched"));
    }
    let words = input.split_whitespace().count();
    if words > MAX_QUERY_WORDS {
        return Err(format!("the query has {words} words; at most {MAX_QUERY_WORDS} are searched"));
    }
    Ok(())
}

/// An FTS5 query from free text: every word quoted (so `-`, `:`, `*`, `NEAR(` and quotes are text, not
/// syntax) and all words required. A trailing `*` on a word keeps its prefix meaning. Control characters
/// separate words like spaces: FTS5 reads a query as a C string, so a NUL inside a quoted word ends the query
/// there and leaves the quote unterminated (a syntax error). `None` when nothing searchable is left.
pub fn fts_query(input: &str) -> Option<String> {
    let terms: Vec<String> = input
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
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

/// The words of an FTS query made by [`fts_query`], lowercased, with whether each is a prefix.
pub fn query_terms(fts: &str) -> Vec<(String, bool)> {
    fts.split_whitespace()
        .filter_map(|t| {
            let prefix = t.ends_with('*');
            let word = t.trim_end_matches('*').trim_matches('"');
            (!word.is_empty()).then(|| (word.to_lowercase(), prefix))
        })
        .collect()
}

/// Text around the best match of `terms` (from [`query_terms`]) in `text`, matches between `«` and `»`, about
/// `words` words long, with `…` where it was cut. Tokens are runs of letters and digits compared without
/// case, as FTS5's `unicode61` tokenizer sees them (less its diacritic folding: a match that differs only by
/// accents is found by the index but not marked here, and the snippet then starts at the text's beginning).
/// A term is the run of tokens FTS5 makes of it (`snake_case` is `snake` then `case`), and the best match of
/// several is where they all stand side by side in the order given, else the first of any.
pub fn snippet(text: &str, terms: &[(String, bool)], words: usize) -> String {
    let tokens: Vec<(usize, usize)> = token_spans(text);
    let patterns: Vec<Vec<(&str, bool)>> = terms
        .iter()
        .map(|(term, prefix)| {
            let parts = token_spans(term);
            let last = parts.len().saturating_sub(1);
            parts.iter().enumerate().map(|(k, &(a, b))| (&term[a..b], *prefix && k == last)).collect::<Vec<_>>()
        })
        .filter(|parts| !parts.is_empty())
        .collect();
    let matches_at = |at: usize, pattern: &[(&str, bool)]| {
        pattern.iter().enumerate().all(|(k, &(part, prefix))| {
            tokens.get(at + k).is_some_and(|&(a, b)| token_matches(&text[a..b], part, prefix))
        })
    };
    let mut marked = vec![false; tokens.len()];
    for at in 0..tokens.len() {
        for pattern in &patterns {
            if matches_at(at, pattern) {
                marked[at..at + pattern.len()].iter_mut().for_each(|m| *m = true);
            }
        }
    }
    let phrase: Vec<(&str, bool)> = patterns.concat();
    let first = (patterns.len() > 1)
        .then(|| (0..tokens.len()).find(|&at| matches_at(at, &phrase)))
        .flatten()
        .or_else(|| marked.iter().position(|&m| m))
        .unwrap_or(0);
    let start = first.saturating_sub(words / 4);
    let end = (start + words).min(tokens.len());
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    let Some(&(from, _)) = tokens.get(start) else {
        return out;
    };
    // From the text's start when nothing is cut there, so leading punctuation (`[Bash]`, a quote) stays.
    let mut pos = if start == 0 { text.len() - text.trim_start().len() } else { from };
    // Marked tokens side by side are one mark: `«snake_case»`, `«connection refused»`.
    let mut open = false;
    for (at, &(a, b)) in tokens.iter().enumerate().take(end).skip(start) {
        out.push_str(&text[pos..a]);
        if marked[at] && !open {
            out.push('«');
            open = true;
        }
        out.push_str(&text[a..b]);
        if open && !(at + 1 < end && marked[at + 1]) {
            out.push('»');
            open = false;
        }
        pos = b;
    }
    if end < tokens.len() {
        out.push('…');
    } else {
        out.push_str(text[pos..].trim_end()); // and trailing punctuation when nothing is cut at the end
    }
    out
}

/// Whether `token` is `part` (lowercase), or starts with it for a prefix, regardless of case. Without
/// allocating for ASCII tokens: a long message has thousands, and every hit's message is read this way.
fn token_matches(token: &str, part: &str, prefix: bool) -> bool {
    if token.is_ascii() {
        let head = if prefix { token.get(..part.len()) } else { Some(token).filter(|t| t.len() == part.len()) };
        return head.is_some_and(|head| head.eq_ignore_ascii_case(part));
    }
    let token = token.to_lowercase();
    if prefix { token.starts_with(part) } else { token == part }
}

/// Byte ranges of the letter-and-digit runs of `text`.
fn token_spans(text: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_alphanumeric(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                spans.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        spans.push((s, text.len()));
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oversized_queries_are_refused_without_echo() {
        assert!(check_query_size(&"w ".repeat(64)).is_ok());
        assert!(check_query_size(&"word ".repeat(65)).unwrap_err().contains("65 words"));
        let long = "x".repeat(100_000);
        let err = check_query_size(&long).unwrap_err();
        assert!(err.contains("100000 characters") && err.len() < 100, "{err}");
    }

    #[test]
    fn snippets_mark_words_and_prefixes() {
        let terms = query_terms(&fts_query("Deploy kube*").unwrap_or_default());
        assert_eq!(terms, vec![("deploy".to_owned(), false), ("kube".to_owned(), true)]);
        let text = "one two three four five six seven eight nine ten: we DEPLOY to kubernetes, then eleven twelve";
        assert_eq!(snippet(text, &terms, 8), "…ten: we «DEPLOY» to «kubernetes», then eleven twelve");
        // No match marked (say, it differed only by accents): the beginning of the text.
        assert_eq!(snippet("alpha beta gamma", &query_terms("\"zeta\""), 2), "alpha beta…");
        assert_eq!(snippet("", &terms, 8), "");
        assert_eq!(snippet("a b c d e f g h deploy i j k l m n", &terms, 4), "…h «deploy» i j…");
        assert_eq!(snippet("naïve «x» café", &query_terms("\"café\""), 8), "naïve «x» «café»");
        // Nothing cut at an end: the punctuation there stays, the surrounding space does not.
        assert_eq!(snippet("\n[Bash] cargo test?  ", &query_terms("\"cargo\""), 8), "[Bash] «cargo» test?");
    }

    #[test]
    fn snippets_mark_words_of_several_tokens_whole_and_start_at_a_phrase() {
        let terms = |q: &str| query_terms(&fts_query(q).unwrap_or_default());
        assert_eq!(snippet("call snake_case here", &terms("snake_case"), 8), "call «snake_case» here");
        assert_eq!(snippet("call snake_case here", &terms("SNAKE_ca*"), 8), "call «snake_case» here");
        assert_eq!(snippet("edit src/main.rs now", &terms("main.rs"), 8), "edit src/«main.rs» now");
        // Both words occur early, apart; the snippet starts where they stand side by side, in order.
        let text = "refused once. a b c d e f g h i j k connection refused now";
        assert_eq!(snippet(text, &terms("connection refused"), 4), "…k «connection refused» now");
        // In the other order they are never side by side: the first of either.
        assert_eq!(snippet(text, &terms("refused connection"), 4), "«refused» once. a b…");
    }

    #[test]
    fn neutralises_syntax() {
        assert_eq!(fts_query("hello world").as_deref(), Some("\"hello\" \"world\""));
        assert_eq!(fts_query("NEAR(a b) \"x").as_deref(), Some("\"NEAR(a\" \"b)\" \"x\""));
        assert_eq!(fts_query("pref*").as_deref(), Some("\"pref\"*"));
        assert_eq!(fts_query("   "), None);
        assert_eq!(fts_query("\"\""), None);
    }

    #[test]
    fn control_characters_separate_words() {
        assert_eq!(fts_query("a\0b").as_deref(), Some("\"a\" \"b\""));
        assert_eq!(fts_query("x\u{1b}[0m*\u{7f}").as_deref(), Some("\"x\" \"[0m\"*"));
        assert_eq!(fts_query("\0\u{1}\t"), None);
    }
}
