//! The sessions page's filters, kept in the URL query (`?q=&tool=&tag=&sort=&page=`) so a filtered view
//! can be bookmarked, shared and restored with the back button. Pure code: tested on the host.

use sessionfs_shared::api::SessionSort;

/// Rows per page of the session list.
pub const PAGE_SIZE: u32 = 25;

/// What the sessions page shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionQuery {
    /// Full-text query; when set the page shows search hits.
    pub q: String,
    /// Only this agent (`claude-code`, …).
    pub tool: String,
    /// Only sessions with this tag.
    pub tag: String,
    /// Order of the list.
    pub sort: SessionSort,
    /// Page, from 1.
    pub page: u32,
}

impl SessionQuery {
    /// Read from the URL's query pairs; unknown or bad values fall back to defaults.
    pub fn from_pairs<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Self {
        let text = |k: &str| get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
        Self {
            q: text("q"),
            tool: text("tool"),
            tag: text("tag"),
            sort: get("sort").and_then(SessionSort::parse).unwrap_or_default(),
            page: get("page").and_then(|p| p.parse().ok()).filter(|p| *p >= 1).unwrap_or(1),
        }
    }

    /// The dashboard URL for this view.
    pub fn to_url(&self) -> String {
        let mut pairs = Vec::new();
        for (k, v) in [("q", &self.q), ("tool", &self.tool), ("tag", &self.tag)] {
            if !v.is_empty() {
                pairs.push(format!("{k}={}", encode(v)));
            }
        }
        if self.sort != SessionSort::default() {
            pairs.push(format!("sort={}", self.sort.as_str()));
        }
        if self.page > 1 {
            pairs.push(format!("page={}", self.page));
        }
        if pairs.is_empty() { "/sessions".to_owned() } else { format!("/sessions?{}", pairs.join("&")) }
    }

    /// Query parameters of `GET /api/v1/sessions`.
    pub fn list_params(&self, deleted: bool) -> String {
        let mut p = format!("page={}&page_size={PAGE_SIZE}", self.page.max(1));
        if deleted {
            p.push_str("&deleted=true");
        } else {
            p.push_str(&format!("&sort={}", self.sort.as_str()));
        }
        if !self.tool.is_empty() {
            p.push_str(&format!("&source_tool={}", encode(&self.tool)));
        }
        if !self.tag.is_empty() {
            p.push_str(&format!("&tag={}", encode(&self.tag)));
        }
        p
    }

    /// Query parameters of `GET /api/v1/sessions/search`.
    pub fn search_params(&self) -> String {
        let mut p = format!("q={}&page={}&page_size={PAGE_SIZE}", encode(&self.q), self.page.max(1));
        if !self.tool.is_empty() {
            p.push_str(&format!("&tool={}", encode(&self.tool)));
        }
        p
    }

    /// The same view on another page.
    pub fn with_page(&self, page: u32) -> Self {
        Self { page: page.max(1), ..self.clone() }
    }
}

/// Percent-encode a query value (RFC 3986 unreserved characters pass through). Written here rather than
/// through `js_sys` so the query code runs in host tests.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(char::from(b)),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&'static str, &'static str)]) -> SessionQuery {
        SessionQuery::from_pairs(|k| pairs.iter().find(|(pk, _)| *pk == k).map(|(_, v)| *v))
    }

    #[test]
    fn round_trips_through_the_url() {
        let q = SessionQuery {
            q: "fix the bug & ship".into(),
            tool: "codex".into(),
            tag: "ops".into(),
            sort: SessionSort::Size,
            page: 3,
        };
        let url = q.to_url();
        assert_eq!(url, "/sessions?q=fix%20the%20bug%20%26%20ship&tool=codex&tag=ops&sort=size&page=3");
        let back =
            parse(&[("q", "fix the bug & ship"), ("tool", "codex"), ("tag", "ops"), ("sort", "size"), ("page", "3")]);
        assert_eq!(back, q);
    }

    #[test]
    fn bad_values_fall_back_to_defaults() {
        let q = parse(&[("sort", "sideways"), ("page", "0")]);
        assert_eq!(q, SessionQuery { page: 1, ..SessionQuery::default() });
        assert_eq!(q.to_url(), "/sessions");
        assert_eq!(parse(&[("page", "-4")]).page, 1);
    }

    #[test]
    fn api_parameters() {
        let q = parse(&[("tool", "gemini-cli"), ("tag", "a b")]);
        assert_eq!(q.list_params(false), "page=1&page_size=25&sort=updated&source_tool=gemini-cli&tag=a%20b");
        assert_eq!(q.list_params(true), "page=1&page_size=25&deleted=true&source_tool=gemini-cli&tag=a%20b");
        let s = parse(&[("q", "naïve"), ("page", "2")]);
        assert_eq!(s.search_params(), "q=na%C3%AFve&page=2&page_size=25");
    }
}
