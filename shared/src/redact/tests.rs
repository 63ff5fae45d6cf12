//! Tests of the redactor. The fake secrets are assembled at run time from pieces so that this file
//! does not itself trip secret scanners.

use std::borrow::Cow;
use std::time::Instant;

use crate::sfs::{Block, ImageSource, Message, Role};
use proptest::prelude::*;
use serde_json::{Value, json};

use super::rules::{ASSIGNMENT, KEY_WORDS};
use super::{Finding, Redactor, summarize};

fn r() -> &'static Redactor {
    static R: std::sync::OnceLock<Redactor> = std::sync::OnceLock::new();
    R.get_or_init(Redactor::new)
}

fn j(parts: &[&str]) -> String {
    parts.concat()
}

/// One positive case: the kind, the text holding the secret, and that text after redaction.
struct Case {
    kind: &'static str,
    input: String,
    expected: String,
}

fn whole(kind: &'static str, input: String) -> Case {
    Case { kind, expected: format!("[REDACTED:{kind}]"), input }
}

fn pem() -> String {
    j(&[
        "-----BEGIN RSA ",
        "PRIVATE KEY-----\n",
        "MIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi4Q2aLqjn1NuE4pS5cBqB9YmX2\n",
        "aK8dL4yR0hV7wT3uJ9xQ2sN6bF1gE5cM8iO4pZ7kD2vH6nY0rW3tU9aS5fG1jL8e\n",
        "-----END RSA ",
        "PRIVATE KEY-----",
    ])
}

fn cases() -> Vec<Case> {
    vec![
        whole("aws-access-key", j(&["AKIA", "Z2Q7RT4LMNBV5XQW"])),
        Case {
            kind: "aws-secret-key",
            input: j(&["aws_secret_access_key = ", "kF9xQ2mZ7pL4vN8sR1tY6uW3eA5bC0dH/gJ+iK2o"]),
            expected: "aws_secret_access_key = [REDACTED:aws-secret-key]".into(),
        },
        whole("github-token", j(&["ghp", "_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"])),
        whole("github-token", j(&["github", "_pat_11ABCDEFG0", &"aB3dE5fG7hI9".repeat(6)])),
        whole("gitlab-token", j(&["glpat", "-xY3kP9mQ2wE7rT5uI1oA"])),
        whole("slack-token", j(&["xoxb", "-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"])),
        Case {
            kind: "slack-webhook",
            input: j(&["https://hooks.slack.com/services/", "T01ABCDEF/B02GHIJKL/aB3dE5fG7hI9jK1lM3nO5pQ7"]),
            expected: "https://hooks.slack.com/services/[REDACTED:slack-webhook]".into(),
        },
        whole("stripe-key", j(&["sk_live", "_51HxYzAbCdEfGhIjKlMnOp"])),
        whole("stripe-key", j(&["rk_live", "_51HxYzAbCdEfGhIjKlMnOp"])),
        whole("openai-key", j(&["sk-proj", "-Ab3dEf7hIj1lMn5pQr9tUv3xYz7bCd1fGh5jKl9nOp"])),
        whole("openai-key", j(&["sk", "-Ab3dEf7hIj1lMn5pQr9tUv3xYz7bCd1f"])),
        whole("anthropic-key", j(&["sk-ant", "-api03-Ab3dEf7hIj1lMn5pQr9tUv3xYz7bCd1fGh5jKl9nOp-_xY"])),
        whole("google-api-key", j(&["AIza", "SyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q"])),
        whole("sessionfs-key", j(&["sk_sfs", "_0123456789abcdef0123456789abcdef"])),
        whole("npm-token", j(&["npm", "_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"])),
        whole("private-key", pem()),
        whole(
            "jwt",
            j(&[
                "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9",
                ".eyJzdWIiOiIxMjM0NTY3ODkwIn0",
                ".dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
            ]),
        ),
        Case {
            kind: "url-password",
            input: j(&["postgres://app:", "s3cr3tP4ss@db.internal:5432/app"]),
            expected: "postgres://app:[REDACTED:url-password]@db.internal:5432/app".into(),
        },
        Case {
            kind: "url-password",
            input: j(&["redis://:", "p@ss:w0rd@cache:6379"]),
            expected: "redis://:[REDACTED:url-password]@cache:6379".into(),
        },
        Case {
            kind: "bearer-token",
            input: j(&["Authorization: Bearer ", "q8Zr2LmX0vTy5Kp3Wn7Bd1Hs"]),
            expected: "Authorization: Bearer [REDACTED:bearer-token]".into(),
        },
        Case {
            kind: "basic-auth",
            input: j(&["Authorization: Basic ", "dXNlcjpodW50ZXIyaHVudGVy"]),
            expected: "Authorization: Basic [REDACTED:basic-auth]".into(),
        },
        Case {
            kind: "password",
            input: j(&["password = \"", "Tr0ub4dor&3x\""]),
            expected: "password = \"[REDACTED:password]\"".into(),
        },
        Case {
            kind: "password",
            input: j(&["DB_PASSWORD=", "hX7!kq2Lz9wP"]),
            expected: "DB_PASSWORD=[REDACTED:password]".into(),
        },
        Case {
            kind: "generic-api-key",
            input: j(&["\"api_key\": \"", "9f8e7d6c5b4a39281706f5e4\""]),
            expected: "\"api_key\": \"[REDACTED:generic-api-key]\"".into(),
        },
        Case {
            kind: "generic-api-key",
            input: j(&["client_secret: ", "Qm9vW2x4Zk7pT1rS"]),
            expected: "client_secret: [REDACTED:generic-api-key]".into(),
        },
    ]
}

/// Texts that must come out unchanged, grouped by the rule they probe.
fn negatives() -> Vec<(&'static str, String)> {
    vec![
        ("aws-access-key", "AKIAIOSFODNN7EXAMPLE is the documented example".into()),
        ("aws-access-key", j(&["XAKIA", "Z2Q7RT4LMNBV5XQW inside a word"])),
        ("aws-secret-key", "aws_secret_access_key = os.environ['AWS_SECRET_ACCESS_KEY']".into()),
        ("github-token", "tokens start with ghp_ or github_pat_ and ghp_short is too short".into()),
        ("gitlab-token", "a glpat-short token".into()),
        ("slack-token", "set SLACK_TOKEN=xoxb-your-bot-token-here".into()),
        ("slack-webhook", "post to https://hooks.slack.com/services/ with a JSON body".into()),
        ("stripe-key", j(&["publishable pk_live", "_51HxYzAbCdEfGhIjKlMnOp and sk_live_ prefix"])),
        ("openai-key", "sk-learn-compatible-estimator-class and task-runner-configuration-x".into()),
        ("anthropic-key", "see sk-ant-docs-page-for-more-details".into()),
        ("google-api-key", "AIzaShort is not a key".into()),
        ("sessionfs-key", j(&["sk_sfs", "_0123456789abcdef0123 is too short"])),
        ("npm-token", "npm_config_registry=https://registry.npmjs.org/".into()),
        ("private-key", "the file starts with -----BEGIN RSA PRIVATE KEY----- and a base64 body".into()),
        ("jwt", "the header eyJhbGciOiJIUzI1NiJ9 decodes to JSON".into()),
        ("url-password", "curl https://example.com:8080/path?x=1 and git@github.com:org/repo.git".into()),
        ("url-password", "ssh://git@github.com/org/repo and postgres://user:${DB_PASSWORD}@localhost/db".into()),
        ("url-password", "https://user:****@host/masked".into()),
        ("bearer-token", "curl -H \"Authorization: Bearer $TOKEN\" and Bearer YOUR_ACCESS_TOKEN_HERE".into()),
        ("bearer-token", "Bearer tokens are sent in the Authorization header".into()),
        ("basic-auth", "Authorization: Basic $CREDENTIALS".into()),
        ("password", "the token is expired; password reset required".into()),
        ("password", "password_hash = bcrypt(password)\ntoken = get_token()".into()),
        ("password", "let token = self.tokenizer.encode(text);\nmax_tokens = 4096".into()),
        ("password", "password: \"********\"\npassword = \"changeme123\"".into()),
        ("password", "password: Optional[str] = None\nsecret: ${{ secrets.GH_TOKEN }}".into()),
        ("generic-api-key", "api_key = os.environ[\"OPENAI_API_KEY\"]\nsecret_name = \"prod-db-password-2\"".into()),
        ("generic-api-key", "token: this.getToken()\nsecret: process.env.SECRET\naccessToken = await refresh()".into()),
        ("generic-api-key", "private_key = \"/etc/ssl/private/server.key\"\ntoken = \"GITHUB_TOKEN\"".into()),
        ("generic-api-key", "login(user, password=user_password_v2)\ncredentials: 'same-origin'".into()),
        (
            "generic-api-key",
            "\"token_type\": \"Bearer\", \"input_tokens\": 12345678, \"tokenizer\": \"cl100k_base\"".into(),
        ),
    ]
}

fn surround(s: &str) -> String {
    format!("before «{s}» after\n")
}

#[test]
fn patterns_stay_in_sync() {
    assert!(ASSIGNMENT.contains(KEY_WORDS));
}

#[test]
fn redactor_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Redactor>();
}

#[test]
fn every_kind_in_a_plain_string() {
    for case in cases() {
        let (out, findings) = r().redact_str(&case.input);
        assert_eq!(out, case.expected, "{}", case.kind);
        assert_eq!(findings, vec![Finding { kind: case.kind }], "{}", case.input);

        let input = surround(&case.input);
        let (out, findings) = r().redact_str(&input);
        assert_eq!(out, surround(&case.expected), "{}", case.kind);
        assert_eq!(findings.len(), 1, "{}", case.kind);
    }
}

#[test]
fn negatives_are_untouched() {
    for (rule, text) in negatives() {
        let (out, findings) = r().redact_str(&text);
        assert!(matches!(out, Cow::Borrowed(_)), "{rule}: {text:?} became {out:?}");
        assert!(findings.is_empty(), "{rule}: {findings:?}");
    }
}

#[test]
fn every_kind_in_nested_json() {
    for case in cases() {
        let mut input = json!({
            "command": "run",
            "args": [1, true, null, ["x", {"deep": [surround(&case.input)]}]],
            "env": {"HOME": "/home/dev"},
        });
        let findings = r().redact_json(&mut input);
        assert_eq!(findings, vec![Finding { kind: case.kind }], "{}", case.kind);
        assert_eq!(input["args"][3][1]["deep"][0], Value::String(surround(&case.expected)));
        assert_eq!(input["command"], "run");
        assert_eq!(input["env"]["HOME"], "/home/dev");
    }
}

#[test]
fn every_kind_in_tool_result_and_thinking() {
    for case in cases() {
        let mut m = Message::new(
            "m1",
            Role::Assistant,
            vec![
                Block::Thinking {
                    text: surround(&case.input),
                    signature: Some("sig-stays".into()),
                    redacted: false,
                    summary: None,
                },
                Block::ToolUse {
                    tool_use_id: "t1".into(),
                    name: "Bash".into(),
                    input: json!({"command": ["sh", "-c", surround(&case.input)]}),
                },
                Block::ToolResult {
                    tool_use_id: "t1".into(),
                    content: surround(&case.input),
                    is_error: false,
                    exit_code: Some(0),
                    duration_ms: None,
                },
            ],
        );
        let findings = r().redact_message(&mut m);
        assert_eq!(summarize(&findings).get(case.kind), Some(&3), "{}", case.kind);
        assert_eq!(findings.len(), 3);
        let expected = surround(&case.expected);
        match &m.content[0] {
            Block::Thinking { text, signature, .. } => {
                assert_eq!(text, &expected);
                assert_eq!(signature.as_deref(), Some("sig-stays"));
            }
            other => panic!("{other:?}"),
        }
        match &m.content[1] {
            Block::ToolUse { input, .. } => assert_eq!(input["command"][2], Value::String(expected.clone())),
            other => panic!("{other:?}"),
        }
        match &m.content[2] {
            Block::ToolResult { content, .. } => assert_eq!(content, &expected),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn summaries_unknown_blocks_and_metadata() {
    let token = j(&["ghp", "_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"]);
    let mut m = Message::new(
        "m1",
        Role::System,
        vec![
            Block::Summary { text: format!("used {token}"), summarized_through_msg_id: None },
            Block::Unknown(serde_json::from_value(json!({"type": "custom", "payload": {"t": token}})).unwrap()),
        ],
    );
    m.metadata.insert("note".into(), json!(format!("t={token}")));
    m.extra.insert("other".into(), json!([token]));
    let findings = r().redact_message(&mut m);
    assert_eq!(summarize(&findings).get("github-token"), Some(&4));
    let text = serde_json::to_string(&m).unwrap();
    assert!(!text.contains(&token), "{text}");
}

#[test]
fn secret_named_json_keys() {
    let mut v = json!({
        "password": "hX7!kq2Lz9wP",
        "headers": {"Authorization": "Basic dXNlcjpodW50ZXIyaHVudGVy", "X-Api-Key": "9f8e7d6c5b4a39281706f5e4"},
        "password_hash": "$2b$12$abcdefghijklmnopqrstuv",
        "token": "short",
        "max_tokens": 4096,
        "secretName": "prod-db-9f8e7d6c",
    });
    let before = v.clone();
    let findings = r().redact_json(&mut v);
    assert_eq!(v["password"], "[REDACTED:password]");
    assert_eq!(v["headers"]["Authorization"], "Basic [REDACTED:basic-auth]");
    assert_eq!(v["headers"]["X-Api-Key"], "[REDACTED:generic-api-key]");
    for untouched in ["password_hash", "token", "max_tokens", "secretName"] {
        assert_eq!(v[untouched], before[untouched], "{untouched}");
    }
    assert_eq!(findings.len(), 3);
    // Idempotent.
    assert!(r().redact_json(&mut v).is_empty());
}

#[test]
fn secrets_in_object_keys() {
    let token = j(&["ghp", "_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"]);
    let mut v = json!({"a": 1, token.clone(): 2, "z": 3});
    let findings = r().redact_json(&mut v);
    assert_eq!(findings, vec![Finding { kind: "github-token" }]);
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["a", "[REDACTED:github-token]", "z"]);
}

#[test]
fn idempotent() {
    for case in cases() {
        let input = surround(&case.input);
        let (once, _) = r().redact_str(&input);
        let (twice, findings) = r().redact_str(&once);
        assert_eq!(once, twice, "{}", case.kind);
        assert!(findings.is_empty(), "{}: {findings:?}", case.kind);
        assert!(matches!(twice, Cow::Borrowed(_)));
    }
    let all: String = cases().iter().map(|c| surround(&c.input)).collect();
    let (once, findings) = r().redact_str(&all);
    assert_eq!(findings.len(), cases().len());
    assert!(r().redact_str(&once).1.is_empty());
}

#[test]
fn several_secrets_in_one_string_keep_the_text_between() {
    let gh = j(&["ghp", "_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"]);
    let aws = j(&["AKIA", "Z2Q7RT4LMNBV5XQW"]);
    let input = format!("export GITHUB_TOKEN={gh}\nexport AWS_ACCESS_KEY_ID={aws} # ok\n{gh}");
    let (out, findings) = r().redact_str(&input);
    assert_eq!(
        out,
        "export GITHUB_TOKEN=[REDACTED:github-token]\nexport AWS_ACCESS_KEY_ID=[REDACTED:aws-access-key] # ok\n[REDACTED:github-token]"
    );
    let counts = summarize(&findings);
    assert_eq!(counts.get("github-token"), Some(&2));
    assert_eq!(counts.get("aws-access-key"), Some(&1));
    assert_eq!(counts.len(), 2);
}

#[test]
fn private_keys_truncated_or_json_escaped() {
    let body = "MIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi4Q2aLqjn1NuE4pS5cBqB9YmX2";
    let truncated =
        j(&["$ head -3 id_rsa\n-----BEGIN OPENSSH ", "PRIVATE KEY-----\n", body, "\n", body, "\n[output truncated]"]);
    let (out, findings) = r().redact_str(&truncated);
    assert_eq!(out, "$ head -3 id_rsa\n[REDACTED:private-key]\n[output truncated]");
    assert_eq!(findings.len(), 1);

    let escaped = j(&[
        r#"{"type": "service_account", "private_key": "-----BEGIN "#,
        r#"PRIVATE KEY-----\n"#,
        body,
        r#"\n-----END PRIVATE KEY-----\n", "client_email": "a@b.iam"}"#,
    ]);
    let (out, findings) = r().redact_str(&escaped);
    assert_eq!(
        out,
        r#"{"type": "service_account", "private_key": "[REDACTED:private-key]\n", "client_email": "a@b.iam"}"#
    );
    assert_eq!(findings, vec![Finding { kind: "private-key" }]);
}

#[test]
fn token_inside_a_url_is_reported_by_its_own_kind() {
    let input =
        j(&["git clone https://x-access-token:", "ghs_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8", "@github.com/o/r.git"]);
    let (out, findings) = r().redact_str(&input);
    assert_eq!(out, "git clone https://x-access-token:[REDACTED:github-token]@github.com/o/r.git");
    assert_eq!(findings, vec![Finding { kind: "github-token" }]);
}

#[test]
fn non_ascii_text_around_secrets_is_kept() {
    let gh = j(&["ghp", "_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"]);
    let input = format!("日本語のテキスト {gh}、émoji 🔑 — ünïcödé");
    let (out, _) = r().redact_str(&input);
    assert_eq!(out, "日本語のテキスト [REDACTED:github-token]、émoji 🔑 — ünïcödé");
}

#[test]
fn bare_value_at_the_end_of_a_sentence() {
    let input = j(&["Set DB_PASSWORD=", "hX7!kq2Lz9wP. Then restart."]);
    let (out, findings) = r().redact_str(&input);
    assert_eq!(out, "Set DB_PASSWORD=[REDACTED:password]. Then restart.");
    assert_eq!(findings, vec![Finding { kind: "password" }]);
}

#[test]
fn summarize_counts_per_kind() {
    let f = |kind| Finding { kind };
    let counts = summarize(&[f("jwt"), f("aws-access-key"), f("jwt")]);
    assert_eq!(counts.into_iter().collect::<Vec<_>>(), [("aws-access-key", 1), ("jwt", 2)]);
    assert!(summarize(&[]).is_empty());
    assert_eq!(serde_json::to_string(&f("jwt")).unwrap(), r#"{"kind":"jwt"}"#);
}

/// A realistic clean session: code with `token`/`password_hash` variables, git output with SHAs,
/// UUIDs, paths, URLs, and an image whose base64 data happens to contain a key-shaped run.
fn clean_transcript() -> Vec<Message> {
    let code = r#"fn verify(password: &str, password_hash: &str) -> bool {
    let token = self.tokenizer.encode(text);
    let max_tokens = 4096;
    let secret_name = "prod/db";
    bcrypt::verify(password, password_hash).unwrap_or(false)
}
const API_KEY_ENV: &str = "OPENAI_API_KEY";
let api_key = std::env::var(API_KEY_ENV)?;
let url = format!("https://api.example.com/v1/users/{user_id}?page=2");
// Bearer tokens are read from the environment; never log the token.
"#;
    let git = "commit 3f9a1c2e7b4d5f60718293a4b5c6d7e8f9012345\nAuthor: Dev <dev@example.com>\n\n    fix: refresh token \
               on 401 (closes #42)\n\n 3 files changed, 40 insertions(+), 2 deletions(-)\n\
               a1b2c3d HEAD@{0}: commit: tokenizer cleanup\n";
    let ids = "session 550e8400-e29b-41d4-a716-446655440000, msg 6ba7b810-9dad-11d1-80b4-00c04fd430c8, \
               sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    let data = format!("iVBORw0KGgoAAAANSUhEUgAA+{}+AAAAElFTkSuQmCC", j(&["AKIA", "Z2Q7RT4LMNBV5XQW"]));
    vec![
        Message::new("u1", Role::User, vec![Block::text("The token is expired, can you fix the refresh logic?")]),
        Message::new(
            "a1",
            Role::Assistant,
            vec![
                Block::Thinking {
                    text: "The password hash check uses bcrypt; the auth token refresh needs a retry.".into(),
                    signature: Some("EqQBCkYIBRgCKkB".into()),
                    redacted: false,
                    summary: None,
                },
                Block::ToolUse {
                    tool_use_id: "toolu_01".into(),
                    name: "Read".into(),
                    input: json!({"file_path": "/src/auth/token.rs", "limit": 200, "flags": ["--password-file", "secrets.txt"]}),
                },
            ],
        ),
        Message::new(
            "t1",
            Role::Tool,
            vec![Block::ToolResult {
                tool_use_id: "toolu_01".into(),
                content: code.into(),
                is_error: false,
                exit_code: None,
                duration_ms: Some(12),
            }],
        ),
        Message::new(
            "t2",
            Role::Tool,
            vec![Block::ToolResult {
                tool_use_id: "toolu_02".into(),
                content: format!("{git}\n{ids}\nnpm install --save jsonwebtoken\ntask-runner-configuration ok"),
                is_error: false,
                exit_code: Some(0),
                duration_ms: None,
            }],
        ),
        Message::new(
            "u2",
            Role::User,
            vec![
                Block::Image {
                    source: ImageSource {
                        kind: "base64".into(),
                        data: Some(data),
                        media_type: Some("image/png".into()),
                        extra: Default::default(),
                    },
                },
                Block::text("Here is the screenshot of the login page (password field, API key settings)."),
            ],
        ),
    ]
}

#[test]
fn clean_transcript_is_untouched() {
    let original = clean_transcript();
    let mut messages = original.clone();
    for m in &mut messages {
        let findings = r().redact_message(m);
        assert!(findings.is_empty(), "{}: {findings:?}", m.msg_id);
    }
    assert_eq!(messages, original);
}

/// Substrings near which a secret could start; random text without them must come out unchanged.
const SECRET_PREFIXES: &[&str] = &[
    "akia",
    "asia",
    "abia",
    "acca",
    "a3t",
    "gh",
    "gl",
    "xox",
    "xapp",
    "sk",
    "rk_",
    "aiza",
    "npm_",
    "private",
    "eyj",
    "://",
    "bearer",
    "basic",
    "secret",
    "pass",
    "token",
    "key",
    "credential",
    "hooks",
];

fn has_secret_prefix(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    SECRET_PREFIXES.iter().any(|p| lower.contains(p))
}

proptest! {
    #[test]
    fn random_ascii_without_prefixes_is_unchanged(s in "[ -~\n\t]{0,400}") {
        prop_assume!(!has_secret_prefix(&s));
        let (out, findings) = r().redact_str(&s);
        prop_assert!(matches!(out, Cow::Borrowed(_)));
        prop_assert!(findings.is_empty());
    }

    #[test]
    fn random_unicode_without_prefixes_is_unchanged(s in any::<String>()) {
        prop_assume!(!has_secret_prefix(&s));
        let (out, findings) = r().redact_str(&s);
        prop_assert!(matches!(out, Cow::Borrowed(_)));
        prop_assert!(findings.is_empty());
    }

    #[test]
    fn a_token_in_random_text_is_redacted_and_the_rest_kept(
        before in "[a-z ,.\n]{0,80}", after in "[a-z ,.\n]{0,80}"
    ) {
        prop_assume!(!has_secret_prefix(&before) && !has_secret_prefix(&after));
        let gh = j(&["ghp", "_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"]);
        let input = format!("{before} {gh} {after}");
        let (out, findings) = r().redact_str(&input);
        prop_assert_eq!(out, format!("{before} [REDACTED:github-token] {after}"));
        prop_assert_eq!(findings.len(), 1);
    }
}

/// About 10 MB of transcript shaped like a real one (code, shell output, prose, tool inputs) with a
/// secret every few hundred messages. Run with
/// `cargo test --release -p sessionfs-client --lib redact::tests::throughput -- --ignored --nocapture`.
#[test]
#[ignore = "measurement"]
fn throughput() {
    let clean = clean_transcript();
    let secrets: Vec<String> = cases().into_iter().map(|c| c.input).collect();
    let mut messages = Vec::new();
    let mut bytes = 0usize;
    let mut i = 0usize;
    while bytes < 10 * 1024 * 1024 {
        let mut m = clean[i % clean.len()].clone();
        m.msg_id = format!("m{i}");
        if i % 300 == 7 {
            m.content.push(Block::text(format!("oops: {}", secrets[i % secrets.len()])));
        }
        bytes += serde_json::to_string(&m).map(|s| s.len()).unwrap_or(0);
        messages.push(m);
        i += 1;
    }
    let start = Instant::now();
    let mut findings = Vec::new();
    for m in &mut messages {
        findings.extend(r().redact_message(m));
    }
    let secs = start.elapsed().as_secs_f64();
    let mb = bytes as f64 / (1024.0 * 1024.0);
    println!(
        "redacted {mb:.1} MB ({} messages) in {:.3} s: {:.0} MB/s, {} findings",
        messages.len(),
        secs,
        mb / secs,
        findings.len()
    );

    // One big string too (a 10 MB tool result).
    let big: String = clean_transcript()
        .iter()
        .flat_map(|m| m.content.iter().filter_map(Block::searchable_text).map(str::to_owned).collect::<Vec<_>>())
        .collect::<Vec<_>>()
        .join("\n")
        .repeat(10 * 1024 * 1024 / 1100);
    let start = Instant::now();
    let (out, f) = r().redact_str(&big);
    let secs = start.elapsed().as_secs_f64();
    let mb = big.len() as f64 / (1024.0 * 1024.0);
    println!("one {mb:.1} MB string in {secs:.3} s: {:.0} MB/s, {} findings", mb / secs, f.len());
    assert!(matches!(out, Cow::Borrowed(_)));
}
