//! The default secret-pattern set.
//!
//! Each rule is a regular expression, the kind it reports, the literal keywords that must occur
//! (ASCII case-insensitively) in a string before the expression is worth running, and a check that
//! the matched value really looks like a secret. The shapes follow the provider formats as documented
//! by the providers and as encoded in gitleaks' default rule set (MIT), narrowed where a coding
//! transcript would otherwise give false positives; each rule has a positive and a negative test in
//! `tests.rs`.
//!
//! Conventions: the part to replace is the named group `s` (or `s2`…`s4` for alternatives), else the
//! whole match; `(?-u:\b)` is an ASCII word boundary (a Unicode `\b` would stop the fast DFA on
//! non-ASCII text).

use regex::Captures;

/// What a rule reports.
#[derive(Clone, Copy)]
pub(super) enum Kind {
    /// Always this kind.
    Fixed(&'static str),
    /// `password` when the key names a password, else `generic-api-key`.
    Assignment,
}

/// One rule of the set, before compilation.
pub(super) struct RuleSpec {
    pub kind: Kind,
    pub pattern: &'static str,
    pub keywords: &'static [&'static str],
    /// Accept a match (given the match and the secret part of it).
    pub check: fn(&Captures<'_>, &str) -> bool,
}

/// The key names of generic assignments (`password = …`, `"api_key": …`), as a regex fragment.
pub(super) const KEY_WORDS: &str = r"(?i-u:pass(?:word|wd|phrase)|secret|token|api[_\-]?key|access[_\-]?key|auth[_\-]?key|private[_\-]?key|credentials?)";

/// Literals that announce a generic assignment (prefilter for [`KEY_WORDS`]).
const KEY_LITERALS: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "apikey",
    "api_key",
    "api-key",
    "accesskey",
    "access_key",
    "access-key",
    "authkey",
    "auth_key",
    "auth-key",
    "privatekey",
    "private_key",
    "private-key",
    "credential",
];

/// A whole JSON object key that names a secret (`api_key`, `X-Api-Key`, `dbPassword`, …).
pub(super) fn key_name_pattern() -> String {
    format!(r"^[A-Za-z0-9_.\-]*{KEY_WORDS}(?:[_.\-][A-Za-z0-9]+)*$")
}

/// Text assignment: key, separator, then a quoted or bare value.
pub(super) const ASSIGNMENT: &str = concat!(
    r"(?P<k>(?i-u:pass(?:word|wd|phrase)|secret|token|api[_\-]?key|access[_\-]?key|auth[_\-]?key|private[_\-]?key|credentials?)",
    r"(?:[_.\-][A-Za-z0-9]+)*)(?-u:\b)",
    r#"\\?["']?[ \t]*(?::=|=>|=|:)[ \t]*"#,
    r#"(?:\\?"(?P<s>[^"\s\\]{8,256})\\?"|\\?'(?P<s2>[^'\s\\]{8,256})\\?'|`(?P<s3>[^`\s\\]{8,256})`"#,
    // A bare value must not continue as code (`x.y`, `f(`, `a[`, `T<`, `a::b`); a final `.` is prose.
    r#"|(?P<s4>[A-Za-z0-9_\-+/=~!@#$%^*]{8,256})\.?(?:[^A-Za-z0-9_\-+/=~!@#$%^*.(\[<:]|$))"#,
);

fn always(_: &Captures<'_>, _: &str) -> bool {
    true
}

/// The rules, in the order they are applied: specific shapes first, so that a token inside an
/// assignment or a URL is reported under its own kind, and the generic assignment last.
pub(super) const RULES: &[RuleSpec] = &[
    RuleSpec {
        kind: Kind::Fixed("private-key"),
        // A whole PEM block, or (truncated output) a header followed by base64 lines.
        pattern: concat!(
            r"-----BEGIN[ A-Z0-9_\-]{0,60}PRIVATE KEY(?: BLOCK)?-----",
            r"(?:(?s:.*?)-----END[ A-Z0-9_\-]{0,60}PRIVATE KEY(?: BLOCK)?-----",
            r"|(?:(?:\r?\n|\\r?\\n)?[A-Za-z0-9+/=]{40,})+)",
        ),
        keywords: &["private key"],
        check: always,
    },
    RuleSpec {
        kind: Kind::Fixed("jwt"),
        pattern: r"(?-u:\b)eyJ[A-Za-z0-9_\-]{10,}\.ey[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]*",
        keywords: &["eyJ"],
        check: always,
    },
    RuleSpec {
        kind: Kind::Fixed("aws-access-key"),
        pattern: r"(?-u:\b)(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}(?-u:\b)",
        keywords: &["AKIA", "ASIA", "ABIA", "ACCA", "A3T"],
        // AWS's documentation example (AKIAIOSFODNN7EXAMPLE) is not a key.
        check: |_, s| !s.ends_with("EXAMPLE"),
    },
    RuleSpec {
        kind: Kind::Fixed("github-token"),
        pattern: r"(?-u:\b)(?:gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{30,255})(?-u:\b)",
        keywords: &["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"],
        check: always,
    },
    RuleSpec {
        kind: Kind::Fixed("gitlab-token"),
        pattern: r"(?-u:\b)gl(?:pat|ptt|rt|dt|ft|soat|cbt)-[A-Za-z0-9_\-]{20,}(?:\.[A-Za-z0-9_\-]+)*",
        keywords: &["glpat-", "glptt-", "glrt-", "gldt-", "glft-", "glsoat-", "glcbt-"],
        check: always,
    },
    RuleSpec {
        kind: Kind::Fixed("slack-token"),
        pattern: r"(?-u:\b)(?:xox[abposre]-[0-9A-Za-z][0-9A-Za-z\-]{9,250}|xapp-[0-9]-[A-Z0-9]+-[0-9]+-[A-Za-z0-9]{16,})",
        keywords: &["xox", "xapp-"],
        // Real tokens carry digits (team and user ids); `xoxb-your-bot-token` does not.
        check: |_, s| s.bytes().any(|b| b.is_ascii_digit()),
    },
    RuleSpec {
        kind: Kind::Fixed("stripe-key"),
        pattern: r"(?-u:\b)[sr]k_(?:live|test|prod)_[A-Za-z0-9]{10,99}(?-u:\b)",
        keywords: &["sk_live_", "sk_test_", "sk_prod_", "rk_live_", "rk_test_", "rk_prod_"],
        check: |_, s| s.bytes().any(|b| b.is_ascii_digit()),
    },
    RuleSpec {
        kind: Kind::Fixed("sessionfs-key"),
        pattern: r"(?-u:\b)sk_sfs_[0-9a-fA-F]{32}(?-u:\b)",
        keywords: &["sk_sfs_"],
        check: always,
    },
    RuleSpec {
        kind: Kind::Fixed("anthropic-key"),
        pattern: r"(?-u:\b)sk-ant-[A-Za-z0-9_\-]{20,}",
        keywords: &["sk-ant-"],
        check: |_, s| has_digit_and_mixed_case(s),
    },
    RuleSpec {
        kind: Kind::Fixed("openai-key"),
        pattern: r"(?-u:\b)sk-(?:(?:proj|svcacct|admin)-)?[A-Za-z0-9_\-]{20,}",
        keywords: &["sk-"],
        // Random base62 has digits and both cases; `sk-learn-compatible-estimator` has not.
        check: |_, s| !s.starts_with("sk-ant-") && has_digit_and_mixed_case(s),
    },
    RuleSpec {
        kind: Kind::Fixed("google-api-key"),
        pattern: r"(?-u:\b)(?P<s>AIza[0-9A-Za-z_\-]{35})(?:[^0-9A-Za-z_\-]|$)",
        keywords: &["AIza"],
        check: always,
    },
    RuleSpec {
        kind: Kind::Fixed("npm-token"),
        pattern: r"(?-u:\b)npm_[A-Za-z0-9]{36}(?-u:\b)",
        keywords: &["npm_"],
        check: |_, s| s.bytes().any(|b| b.is_ascii_digit()),
    },
    RuleSpec {
        kind: Kind::Fixed("slack-webhook"),
        pattern: r"hooks\.slack\.com/(?:services|workflows|triggers)/(?P<s>[A-Za-z0-9+/_\-]{20,})",
        keywords: &["hooks.slack.com"],
        check: always,
    },
    RuleSpec {
        kind: Kind::Fixed("url-password"),
        // scheme://user:password@host — the user and host stay; the password is greedy up to the
        // last `@` before the host so that an unescaped `@` inside it is covered.
        pattern: r#"(?-u:\b)[A-Za-z][A-Za-z0-9+.\-]{0,30}://[^\s:/?#@"'<>\[\]\\]{0,128}:(?P<s>[^\s/?#"'<>\\]{1,256})@[A-Za-z0-9\[]"#,
        keywords: &["://"],
        check: |_, s| !is_placeholder_start(s) && !s.bytes().all(|b| b == b'*'),
    },
    RuleSpec {
        kind: Kind::Fixed("bearer-token"),
        pattern: r"(?i-u:\bbearer)[ \t]+(?P<s>[A-Za-z0-9._~+/\-]{16,}=*)",
        keywords: &["bearer"],
        check: |_, s| plausible_secret(s),
    },
    RuleSpec {
        kind: Kind::Fixed("basic-auth"),
        pattern: r#"(?i-u:authorization)\\?["']?[ \t]*[:=][ \t]*\\?["']?(?i-u:basic)[ \t]+(?P<s>[A-Za-z0-9+/]{8,}={0,2})"#,
        keywords: &["basic"],
        check: |_, s| s.len() >= 12,
    },
    RuleSpec {
        kind: Kind::Fixed("aws-secret-key"),
        pattern: r#"(?i-u:aws[_\-.]?secret[_\-.]?(?:access[_\-.]?)?key)\\?["']?[ \t]*(?::=|=>|=|:)[ \t]*\\?["']?(?P<s>[A-Za-z0-9/+=]{40})(?:[^A-Za-z0-9/+=]|$)"#,
        keywords: &["secret"],
        check: |_, s| !s.ends_with("EXAMPLEKEY"),
    },
    RuleSpec {
        kind: Kind::Assignment,
        pattern: ASSIGNMENT,
        keywords: KEY_LITERALS,
        check: |caps, s| {
            caps.name("k").is_some_and(|k| !key_is_denied(k.as_str()))
                && plausible_secret(s)
                // A bare snake_case name is a variable (`password=user_password_v2`), not a value.
                && !(caps.name("s4").is_some() && is_snake_identifier(s))
        },
    },
];

/// The kind of a generic assignment with this key name.
pub(super) fn assignment_kind(key: &str) -> &'static str {
    let has = |needle: &str| key.as_bytes().windows(needle.len()).any(|w| w.eq_ignore_ascii_case(needle.as_bytes()));
    if has("pass") { "password" } else { "generic-api-key" }
}

/// Key names whose last part says the value is not the secret itself (`password_hash`,
/// `token_url`, `secret_name`, …).
pub(super) fn key_is_denied(key: &str) -> bool {
    const DENY: &[&str] = &[
        "hash",
        "hashed",
        "digest",
        "salt",
        "file",
        "path",
        "dir",
        "env",
        "var",
        "name",
        "names",
        "len",
        "length",
        "size",
        "count",
        "limit",
        "max",
        "min",
        "id",
        "ids",
        "type",
        "kind",
        "field",
        "url",
        "uri",
        "endpoint",
        "expiry",
        "expires",
        "expiration",
        "ttl",
        "timeout",
        "regex",
        "pattern",
        "placeholder",
        "label",
        "header",
        "prompt",
        "policy",
        "format",
        "mode",
        "version",
        "source",
        "provider",
        "hint",
        "strength",
        "reset",
        "confirm",
        "confirmation",
        "required",
        "enabled",
        "usage",
        "index",
        "ref",
        "arn",
    ];
    let last = key.rsplit(['_', '.', '-']).next().unwrap_or(key);
    DENY.iter().any(|d| last.eq_ignore_ascii_case(d))
}

fn is_snake_identifier(s: &str) -> bool {
    s.contains('_')
        && s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn is_placeholder_start(s: &str) -> bool {
    s.starts_with(['$', '{', '<']) || s.starts_with("%(")
}

fn has_digit_and_mixed_case(s: &str) -> bool {
    let b = s.as_bytes();
    b.iter().any(u8::is_ascii_digit) && b.iter().any(u8::is_ascii_uppercase) && b.iter().any(u8::is_ascii_lowercase)
}

/// Shannon entropy in bits per byte.
fn entropy(s: &str) -> f64 {
    let mut counts = [0u32; 256];
    for &b in s.as_bytes() {
        counts[usize::from(b)] += 1;
    }
    let n = s.len() as f64;
    counts.iter().filter(|&&c| c > 0).map(|&c| f64::from(c) / n).map(|p| -p * p.log2()).sum()
}

/// Does a value assigned to a secret-named key look like a real secret rather than code, a
/// placeholder, a path or prose? Secrets are random-looking: they mix letters with digits or symbols
/// and have some entropy; identifiers (`self.token`, `GITHUB_TOKEN`), placeholders (`${TOKEN}`,
/// `<your-key>`, `xxxx`), paths and plain words are not.
pub(super) fn plausible_secret(v: &str) -> bool {
    if v.len() < 8 || v.contains("[REDACTED:") || is_placeholder_start(v) {
        return false;
    }
    if v.contains("${") || v.contains("{{") || v.contains("://") {
        return false;
    }
    if v.starts_with('/') || v.starts_with("./") || v.starts_with("../") || v.starts_with("~/") {
        return false;
    }
    const PLACEHOLDERS: &[&str] = &[
        "xxxx",
        "****",
        "....",
        "example",
        "your_",
        "your-",
        "yourkey",
        "changeme",
        "change_me",
        "placeholder",
        "redacted",
        "dummy",
        "<",
        ">",
    ];
    let lower_has =
        |needle: &str| v.as_bytes().windows(needle.len()).any(|w| w.eq_ignore_ascii_case(needle.as_bytes()));
    if PLACEHOLDERS.iter().any(|p| lower_has(p)) {
        return false;
    }
    let b = v.as_bytes();
    let alpha = b.iter().any(u8::is_ascii_alphabetic);
    let digit = b.iter().any(u8::is_ascii_digit);
    let upper = b.iter().any(u8::is_ascii_uppercase);
    let lower = b.iter().any(u8::is_ascii_lowercase);
    let symbol = b.iter().any(|c| !c.is_ascii_alphanumeric() && !matches!(c, b'-' | b'_' | b'.' | b'/' | b'\\'));
    if !alpha {
        return false;
    }
    if (v.contains('/') || v.contains('\\')) && !digit {
        return false;
    }
    let e = entropy(v);
    if digit || symbol {
        e >= if v.len() >= 12 { 3.0 } else { 2.5 }
    } else {
        upper && lower && v.len() >= 16 && e >= 3.5
    }
}
