//! `src/openapi.json` against the code, so the document cannot drift from it:
//! 1. it is an OpenAPI 3.1 document with a `bearerAuth` scheme whose every `$ref` resolves;
//! 2. its operations are exactly the routes the router registers (read from `src/api.rs` and `src/api/*.rs`);
//! 3. its component schemas have exactly the fields the `sessionfs_shared::api` types serialize;
//! 4. live responses of a real server conform to the documented statuses and schemas.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

use reqwest::Method;
use reqwest::multipart::{Form, Part};
use serde::Serialize;
use serde_json::{Value, json};
use sessionfs_shared::ErrorCode;
use sessionfs_shared::api::{
    ApiKeyInfo, CreateApiKeyRequest, CreateHandoffRequest, CreatedApiKey, ErrorEnvelope, HandoffCommentRequest,
    HandoffListResponse, HandoffResponse, MeResponse, MessagesPage, PurgeRequest, PurgeResponse, ReasonRequest,
    RestoreResponse, SearchMatch, SearchResponse, SearchResult, SessionDetail, SessionListResponse, SessionPatch,
    SessionSort, SessionSummary, SignupRequest, SignupResponse, StorageResponse, SyncMode, SyncPushResponse,
    SyncSettings, SyncSettingsUpdate, SyncStatus, ToolUsage, WatchedSession, Watchlist,
};

const SPEC: &str = include_str!("../src/openapi.json");
const HTTP_METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
/// Operations anyone may call (`security: []`); every other one needs `bearerAuth`.
const PUBLIC: [(&str, &str); 8] = [
    ("POST", "/api/v1/auth/signup"),
    ("GET", "/api/v1/auth/verify"),
    ("GET", "/api/v1/health"),
    ("GET", "/api/v1/openapi.json"),
    ("GET", "/health"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
];

fn spec() -> Value {
    serde_json::from_str(SPEC).expect("src/openapi.json is not valid JSON")
}

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Follow `$ref`s (local JSON pointers) to the value they name.
fn deref<'a>(doc: &'a Value, mut v: &'a Value) -> &'a Value {
    while let Some(r) = v.get("$ref").and_then(Value::as_str) {
        let ptr = r.strip_prefix('#').unwrap_or_else(|| panic!("{r} is not a local reference"));
        v = doc.pointer(ptr).unwrap_or_else(|| panic!("{r} does not resolve"));
    }
    v
}

/// Every `(METHOD, path)` the document describes, with its operation object.
fn operations(doc: &Value) -> BTreeMap<(String, String), &Value> {
    let mut ops = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().expect("paths is an object") {
        for (key, op) in item.as_object().expect("a path item is an object") {
            if HTTP_METHODS.contains(&key.as_str()) {
                ops.insert((key.to_uppercase(), path.clone()), op);
            }
        }
    }
    ops
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("$ref", Value::String(r)) => out.push(r.clone()),
                    _ => collect_refs(x, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect_refs(x, out)),
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------------------------------
// 1. The document itself.

#[test]
fn document_is_openapi_3_1_and_every_ref_resolves() {
    let doc = spec();
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")), "openapi: {}", doc["openapi"]);
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string(), "info needs title and version");
    let bearer = &doc["components"]["securitySchemes"]["bearerAuth"];
    assert_eq!(bearer["type"], "http", "bearerAuth: {bearer}");
    assert_eq!(bearer["scheme"], "bearer", "bearerAuth: {bearer}");
    assert!(
        doc["security"].as_array().is_some_and(|s| s.iter().any(|r| r.get("bearerAuth").is_some())),
        "bearerAuth must be the default security requirement"
    );

    // Every $ref resolves, and every schema is used.
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    let unresolved: Vec<_> = refs
        .iter()
        .filter(|r| !r.starts_with("#/components/") || doc.pointer(&r[1..]).is_none())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    assert!(unresolved.is_empty(), "$refs that do not resolve to a component: {unresolved:?}");
    let used: BTreeSet<&str> = refs.iter().filter_map(|r| r.strip_prefix("#/components/schemas/")).collect();
    let unused: Vec<&String> =
        doc["components"]["schemas"].as_object().unwrap().keys().filter(|k| !used.contains(k.as_str())).collect();
    assert!(unused.is_empty(), "component schemas nothing refers to: {unused:?}");

    // Hand-written, but consistently indented with two spaces.
    for (n, line) in SPEC.lines().enumerate() {
        let indent = line.len() - line.trim_start_matches(' ').len();
        assert!(!line.starts_with('\t') && indent % 2 == 0, "line {}: indent with two spaces", n + 1);
    }

    // Each operation: unique ID, summary, description, responses; path parameters match the template.
    let mut ids = BTreeSet::new();
    let mut public = BTreeSet::new();
    let mut problems = Vec::new();
    for ((method, path), op) in operations(&doc) {
        let name = format!("{method} {path}");
        let id = op["operationId"].as_str().unwrap_or_default();
        if id.is_empty() || !ids.insert(id.to_owned()) {
            problems.push(format!("{name}: missing or duplicate operationId {id:?}"));
        }
        for field in ["summary", "description"] {
            if op[field].as_str().is_none_or(str::is_empty) {
                problems.push(format!("{name}: no {field}"));
            }
        }
        let responses = op["responses"].as_object().map(|r| r.keys().cloned().collect::<Vec<_>>()).unwrap_or_default();
        if responses.is_empty() || responses.iter().any(|s| s != "default" && s.parse::<u16>().is_err()) {
            problems.push(format!("{name}: responses {responses:?}"));
        }
        match op.get("security") {
            None => {
                if !responses.iter().any(|s| s == "401") {
                    problems.push(format!("{name}: needs a key but documents no 401"));
                }
            }
            Some(Value::Array(a)) if a.is_empty() => {
                public.insert((method.clone(), path.clone()));
            }
            Some(other) => problems.push(format!("{name}: unexpected security {other}")),
        }
        let in_template: BTreeSet<String> =
            path.split('/').filter_map(|s| s.strip_prefix('{')?.strip_suffix('}')).map(str::to_owned).collect();
        let declared: BTreeSet<String> = op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| deref(&doc, p))
            .filter(|p| p["in"] == "path")
            .map(|p| {
                if p["required"] != true {
                    problems.push(format!("{name}: path parameter {} must be required", p["name"]));
                }
                p["name"].as_str().unwrap_or_default().to_owned()
            })
            .collect();
        if in_template != declared {
            problems.push(format!("{name}: path parameters {declared:?}, template has {in_template:?}"));
        }
    }
    let expected_public: BTreeSet<(String, String)> =
        PUBLIC.iter().map(|(m, p)| ((*m).to_owned(), (*p).to_owned())).collect();
    if public != expected_public {
        problems.push(format!("public operations {public:?}, expected {expected_public:?}"));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// ---------------------------------------------------------------------------------------------------------------
// 2. The router's routes, read from the source.

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Punct(char),
}

/// A tokenizer for just enough Rust: identifiers, string literals (plain, raw, byte), punctuation; comments,
/// char literals and lifetimes are dropped. Layout does not matter, so rustfmt may wrap chains as it likes.
fn lex(src: &str) -> Vec<Tok> {
    let c: Vec<char> = src.chars().collect();
    let at = |i: usize| c.get(i).copied().unwrap_or('\0');
    // `r"`, `r#"`, `r##"` … starting at `i` (the `r`): the number of hashes.
    let raw_start = |i: usize| {
        let hashes = c[i + 1..].iter().take_while(|ch| **ch == '#').count();
        (at(i) == 'r' && at(i + 1 + hashes) == '"').then_some(hashes)
    };
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        if ch.is_whitespace() {
            i += 1;
        } else if ch == '/' && at(i + 1) == '/' {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if ch == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if ch == 'b' && matches!(at(i + 1), '"' | '\'') {
            i += 1; // a byte string or byte char: lex the literal that follows
        } else if let Some(hashes) = raw_start(i).or_else(|| if ch == 'b' { raw_start(i + 1) } else { None }) {
            while c[i] != '"' {
                i += 1;
            }
            i += 1;
            let start = i;
            let closing: Vec<char> = std::iter::once('"').chain(std::iter::repeat_n('#', hashes)).collect();
            while i < c.len() && !c[i..].starts_with(&closing) {
                i += 1;
            }
            out.push(Tok::Str(c[start..i].iter().collect()));
            i += closing.len();
        } else if ch == '"' {
            let mut s = String::new();
            i += 1;
            while i < c.len() && c[i] != '"' {
                if c[i] == '\\' {
                    i += 1;
                }
                s.push(at(i));
                i += 1;
            }
            out.push(Tok::Str(s));
            i += 1;
        } else if ch == '\'' {
            if at(i + 1) == '\\' {
                i += 2;
                while i < c.len() && c[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if at(i + 2) == '\'' {
                i += 3;
            } else {
                i += 1; // a lifetime: its name lexes as an identifier
            }
        } else if ch.is_alphanumeric() || ch == '_' {
            let start = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            out.push(Tok::Ident(c[start..i].iter().collect()));
        } else {
            out.push(Tok::Punct(ch));
            i += 1;
        }
    }
    out
}

fn is_punct(t: &Tok, p: char) -> bool {
    *t == Tok::Punct(p)
}

fn is_ident(t: &Tok, name: &str) -> bool {
    matches!(t, Tok::Ident(n) if n == name)
}

/// The index of the bracket closing the one at `open`.
fn matching(toks: &[Tok], open: usize) -> usize {
    let mut depth = 0;
    for (j, t) in toks.iter().enumerate().skip(open) {
        match t {
            Tok::Punct('(' | '[' | '{') => depth += 1,
            Tok::Punct(')' | ']' | '}') => {
                depth -= 1;
                if depth == 0 {
                    return j;
                }
            }
            _ => {}
        }
    }
    panic!("unbalanced brackets after token {open}")
}

/// Split at `sep` outside brackets.
fn split_top(toks: &[Tok], sep: char) -> Vec<&[Tok]> {
    let (mut parts, mut depth, mut start) = (Vec::new(), 0i32, 0);
    for (j, t) in toks.iter().enumerate() {
        match t {
            Tok::Punct('(' | '[' | '{') => depth += 1,
            Tok::Punct(')' | ']' | '}') => depth -= 1,
            Tok::Punct(p) if *p == sep && depth == 0 => {
                parts.push(&toks[start..j]);
                start = j + 1;
            }
            _ => {}
        }
    }
    parts.push(&toks[start..]);
    parts
}

/// The body of `fn name`, without its braces.
fn fn_body<'a>(toks: &'a [Tok], name: &str) -> Option<&'a [Tok]> {
    let i = toks.windows(2).position(|w| is_ident(&w[0], "fn") && is_ident(&w[1], name))?;
    let open = (i + 2..toks.len()).find(|&j| is_punct(&toks[j], '{'))?;
    Some(&toks[open + 1..matching(toks, open)])
}

/// Names of the functions in `toks` declared as returning a `Router`.
fn router_fns(toks: &[Tok]) -> Vec<String> {
    let mut names = Vec::new();
    for (i, t) in toks.iter().enumerate() {
        if let (true, Some(Tok::Ident(name))) = (is_ident(t, "fn"), toks.get(i + 1)) {
            let Some(open) = (i + 2..toks.len()).find(|&j| is_punct(&toks[j], '{')) else { continue };
            let sig = &toks[i + 2..open];
            let returns_router =
                sig.windows(3).any(|w| is_punct(&w[0], '-') && is_punct(&w[1], '>') && is_ident(&w[2], "Router"));
            if returns_router {
                names.push(name.clone());
            }
        }
    }
    names
}

/// Walks router expressions: `.route("/p", get(h).post(h2))`, `.merge(x)`, `.nest("/prefix", x)` where `x` is a
/// local `let`, a `module::function()` returning a router, or an inline router expression.
struct RouteWalk {
    /// Tokens of each source: `api` for `src/api.rs`, the file stem for `src/api/*.rs`.
    sources: BTreeMap<String, Vec<Tok>>,
    routes: BTreeSet<(String, String)>,
    visited: BTreeSet<(String, String)>,
}

impl RouteWalk {
    fn function(&mut self, module: &str, func: &str, prefix: &str) {
        self.visited.insert((module.to_owned(), func.to_owned()));
        let toks = self.sources.get(module).unwrap_or_else(|| panic!("no source for module {module}")).clone();
        let body = fn_body(&toks, func).unwrap_or_else(|| panic!("no fn {func} in module {module}"));
        let mut env = HashMap::new();
        let mut tail: &[Tok] = &[];
        for stmt in split_top(body, ';') {
            match stmt {
                [l, rest @ ..] if is_ident(l, "let") => {
                    let rest = rest.strip_prefix(&[Tok::Ident("mut".into())][..]).unwrap_or(rest);
                    if let [Tok::Ident(var), eq, expr @ ..] = rest
                        && is_punct(eq, '=')
                    {
                        env.insert(var.clone(), expr.to_vec());
                    }
                }
                [] => {}
                other => tail = other,
            }
        }
        self.expr(module, &env, tail, prefix);
    }

    fn expr(&mut self, module: &str, env: &HashMap<String, Vec<Tok>>, e: &[Tok], prefix: &str) {
        let mut i = 0;
        while i + 2 < e.len() {
            let (Tok::Punct('.'), Tok::Ident(call), Tok::Punct('(')) = (&e[i], &e[i + 1], &e[i + 2]) else {
                i += 1;
                continue;
            };
            let close = matching(e, i + 2);
            let args = &e[i + 3..close];
            match call.as_str() {
                "route" => self.route(args, prefix),
                "merge" => self.router_arg(module, env, args, prefix),
                "nest" => {
                    let [first, rest @ ..] = &split_top(args, ',')[..] else { unreachable!() };
                    let [Tok::Str(p)] = first else { panic!("nest prefix is not a string literal: {first:?}") };
                    let rest: Vec<Tok> = rest.join(&Tok::Punct(','));
                    self.router_arg(module, env, &rest, &format!("{prefix}{p}"));
                }
                // The MCP endpoint speaks JSON-RPC (README, "MCP"), not REST: it is not in the document.
                "nest_service" if matches!(args.first(), Some(Tok::Str(p)) if p == "/mcp") => {}
                "route_service" | "nest_service" => panic!(".{call}(…) registers routes this test cannot read yet"),
                _ => {}
            }
            i = close + 1;
        }
    }

    fn router_arg(&mut self, module: &str, env: &HashMap<String, Vec<Tok>>, args: &[Tok], prefix: &str) {
        let n = args.len();
        if let [Tok::Ident(var)] = args
            && let Some(e) = env.get(var)
        {
            return self.expr(module, env, &e.clone(), prefix);
        }
        if n >= 3
            && is_punct(&args[n - 2], '(')
            && is_punct(&args[n - 1], ')')
            && let Tok::Ident(func) = &args[n - 3]
        {
            if n == 3 {
                return self.function(module, func, prefix);
            }
            if n >= 6
                && is_punct(&args[n - 4], ':')
                && is_punct(&args[n - 5], ':')
                && let Tok::Ident(m) = &args[n - 6]
                && self.sources.contains_key(m)
            {
                return self.function(&m.clone(), func, prefix);
            }
        }
        self.expr(module, env, args, prefix);
    }

    fn route(&mut self, args: &[Tok], prefix: &str) {
        let parts = split_top(args, ',');
        let [Tok::Str(path)] = parts[0] else { panic!("route path is not a string literal: {:?}", parts[0]) };
        let handler: Vec<Tok> = parts[1..].join(&Tok::Punct(','));
        // Method routers chained at the top level: `get(h).post(h2)`, `routing::put(h)`, across any layout.
        let mut methods = Vec::new();
        let mut depth = 0;
        for (j, t) in handler.iter().enumerate() {
            match t {
                Tok::Punct('(' | '[' | '{') => depth += 1,
                Tok::Punct(')' | ']' | '}') => depth -= 1,
                Tok::Ident(name) if depth == 0 && handler.get(j + 1).is_some_and(|t| is_punct(t, '(')) => {
                    if HTTP_METHODS.contains(&name.as_str()) {
                        methods.push(name.to_uppercase());
                    } else if ["any", "on", "any_service", "on_service"].contains(&name.as_str())
                        || name.ends_with("_service")
                    {
                        panic!("route {path}: `{name}(…)` is not understood by this test");
                    }
                }
                _ => {}
            }
        }
        assert!(!methods.is_empty(), "route {path}: no method router found in {handler:?}");
        for m in methods {
            assert!(self.routes.insert((m.clone(), format!("{prefix}{path}"))), "{m} {prefix}{path} registered twice");
        }
    }
}

fn router_routes() -> BTreeSet<(String, String)> {
    let src = manifest_dir().join("src");
    let mut sources = BTreeMap::new();
    sources.insert("api".to_owned(), lex(&std::fs::read_to_string(src.join("api.rs")).unwrap()));
    for entry in std::fs::read_dir(src.join("api")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            sources.insert(stem, lex(&std::fs::read_to_string(&path).unwrap()));
        }
    }
    let mut walk = RouteWalk { sources, routes: BTreeSet::new(), visited: BTreeSet::new() };
    walk.function("api", "router", "");
    // A router-returning function the walk never reached means the parser missed a registration.
    let unreached: Vec<String> = walk
        .sources
        .iter()
        .flat_map(|(m, toks)| router_fns(toks).into_iter().map(move |f| (m.clone(), f)))
        .filter(|mf| !walk.visited.contains(mf) && mf.1 != "router")
        .map(|(m, f)| format!("{m}::{f}"))
        .collect();
    assert!(unreached.is_empty(), "router functions not reached from api::router: {unreached:?}");
    walk.routes
}

#[test]
fn parser_reads_wrapped_chains() {
    let src = r#"
        pub fn routes() -> Router<AppState> {
            Router::new()
                .route(
                    "/a/{id}", // a comment with "quotes"
                    get(one)
                        .post(two) /* block */
                        .delete(soft_delete),
                )
                .route(r"/b", axum::routing::put(x).layer(y(get_z())))
        }
        pub fn router(s: AppState) -> Router {
            let api = Router::new().merge(routes());
            Router::new().nest("/v1", api).route("/c", patch(|| async { 'x' }))
        }
    "#;
    let mut walk = RouteWalk {
        sources: BTreeMap::from([("api".to_owned(), lex(src))]),
        routes: BTreeSet::new(),
        visited: BTreeSet::new(),
    };
    walk.function("api", "router", "");
    let got: Vec<String> = walk.routes.iter().map(|(m, p)| format!("{m} {p}")).collect();
    assert_eq!(got, ["DELETE /v1/a/{id}", "GET /v1/a/{id}", "PATCH /c", "POST /v1/a/{id}", "PUT /v1/b"]);
}

#[test]
fn document_describes_exactly_the_registered_routes() {
    let doc = spec();
    let documented: BTreeSet<(String, String)> = operations(&doc).into_keys().collect();
    let registered = router_routes();
    assert!(registered.len() > 30, "suspiciously few routes found: {registered:?}");
    let fmt = |s: Vec<&(String, String)>| s.iter().map(|(m, p)| format!("  {m} {p}")).collect::<Vec<_>>().join("\n");
    let missing = fmt(registered.difference(&documented).collect());
    let extra = fmt(documented.difference(&registered).collect());
    assert!(
        missing.is_empty() && extra.is_empty(),
        "src/openapi.json is out of date.\nRegistered but not documented:\n{missing}\nDocumented but not registered:\n{extra}"
    );
}

// ---------------------------------------------------------------------------------------------------------------
// 3. Schemas against the shared types.

/// The properties and required names of an object schema, through `$ref` and `allOf`; `None` when it declares
/// none (a free-form object). `open` when it allows other properties.
fn object_shape<'a>(
    doc: &'a Value,
    schema: &'a Value,
) -> Option<(BTreeMap<String, &'a Value>, BTreeSet<String>, bool)> {
    let schema = deref(doc, schema);
    let mut props = BTreeMap::new();
    let mut required = BTreeSet::new();
    let mut open = schema["additionalProperties"] == true;
    let mut any = false;
    if let Some(p) = schema["properties"].as_object() {
        any = true;
        props.extend(p.iter().map(|(k, v)| (k.clone(), v)));
    }
    required.extend(schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_owned));
    for part in schema["allOf"].as_array().into_iter().flatten() {
        if let Some((p, r, o)) = object_shape(doc, part) {
            any = true;
            props.extend(p);
            required.extend(r);
            open |= o;
        }
    }
    any.then_some((props, required, open))
}

fn type_ok(ty: &str, v: &Value) -> bool {
    match ty {
        "null" => v.is_null(),
        "boolean" => v.is_boolean(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "string" => v.is_string(),
        "array" => v.is_array(),
        "object" => v.is_object(),
        _ => false,
    }
}

/// Check `v` against `schema`. Stricter than JSON Schema on purpose: an object schema that lists properties
/// is closed unless it says `additionalProperties: true`, so a field the code sends but the document does not
/// list is an error.
fn validate(doc: &Value, schema: &Value, v: &Value, at: &str, errs: &mut Vec<String>) {
    let schema = deref(doc, schema);
    if let Some(alts) = schema.get("anyOf").or_else(|| schema.get("oneOf")).and_then(Value::as_array) {
        let fits = |s: &Value| {
            let mut e = Vec::new();
            validate(doc, s, v, at, &mut e);
            e.is_empty()
        };
        if !alts.iter().any(fits) {
            errs.push(format!("{at}: {v} matches none of the alternatives"));
        }
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !types.is_empty() && !types.iter().any(|t| type_ok(t, v)) {
        errs.push(format!("{at}: {v} is not of type {types:?}"));
        return;
    }
    if let Some(e) = schema["enum"].as_array()
        && !e.contains(v)
    {
        errs.push(format!("{at}: {v} is not one of {e:?}"));
    }
    if let Some(c) = schema.get("const")
        && c != v
    {
        errs.push(format!("{at}: {v} is not {c}"));
    }
    if let Some(n) = v.as_f64()
        && (schema["minimum"].as_f64().is_some_and(|min| n < min)
            || schema["maximum"].as_f64().is_some_and(|max| n > max))
    {
        errs.push(format!("{at}: {v} is out of the documented bounds"));
    }
    match v {
        Value::Object(m) => {
            if let Some((props, required, open)) = object_shape(doc, schema) {
                for k in m.keys().filter(|k| !props.contains_key(*k) && !open) {
                    errs.push(format!("{at}: field `{k}` is not among the schema's properties"));
                }
                for r in required.iter().filter(|r| !m.contains_key(*r)) {
                    errs.push(format!("{at}: required field `{r}` is absent"));
                }
                for (k, x) in m {
                    if let Some(s) = props.get(k) {
                        validate(doc, s, x, &format!("{at}.{k}"), errs);
                    }
                }
            }
        }
        Value::Array(a) => {
            if let Some(items) = schema.get("items") {
                for (i, x) in a.iter().enumerate() {
                    validate(doc, items, x, &format!("{at}[{i}]"), errs);
                }
            }
        }
        _ => {
            if schema.get("allOf").is_some() {
                errs.push(format!("{at}: {v} is not an object"));
            }
        }
    }
}

const ID: &str = "ses_0a1b2c3d4e5f6071";
const T: &str = "2026-03-20T10:00:00.000Z";

fn opt(full: bool, s: &str) -> Option<String> {
    full.then(|| s.to_owned())
}

fn key_info(full: bool) -> ApiKeyInfo {
    ApiKeyInfo {
        id: "0123456789abcdef0123456789abcdef".into(),
        name: "laptop".into(),
        key_prefix: "sk_sfs_01234".into(),
        created_at: T.into(),
        expires_at: opt(full, T),
        last_used_at: opt(full, T),
        is_active: full,
    }
}

fn summary(full: bool) -> SessionSummary {
    SessionSummary {
        id: ID.into(),
        title: opt(full, "Fix the build"),
        alias: opt(full, "fix-build"),
        tags: vec!["rust".into()],
        source_tool: "claude-code".into(),
        model_id: opt(full, "claude-sonnet-4-6"),
        message_count: 4,
        turn_count: 2,
        tool_use_count: 1,
        total_input_tokens: 10,
        total_output_tokens: 5,
        blob_size_bytes: 1234,
        etag: "ab".repeat(32),
        parent_session_id: opt(full, "ses_0011223344556677"),
        created_at: T.into(),
        updated_at: T.into(),
        is_deleted: full,
        deleted_at: opt(full, T),
        deleted_by: opt(full, "0123456789abcdef0123456789abcdef"),
        delete_scope: opt(full, "everywhere"),
        purge_after: opt(full, T),
    }
}

fn detail(full: bool) -> SessionDetail {
    SessionDetail {
        summary: summary(full),
        original_session_id: opt(full, "abc"),
        source_tool_version: opt(full, "2.1.197"),
        model_provider: opt(full, "anthropic"),
        duration_ms: full.then_some(1000),
        uploaded_at: T.into(),
    }
}

fn search_result(full: bool) -> SearchResult {
    SearchResult {
        session_id: ID.into(),
        title: opt(full, "t"),
        alias: opt(full, "a-b"),
        source_tool: "codex".into(),
        model_id: opt(full, "gpt-5"),
        message_count: 3,
        updated_at: T.into(),
        matches: vec![SearchMatch { snippet: "the <mark>word</mark>".into() }],
    }
}

fn watched(full: bool) -> WatchedSession {
    WatchedSession {
        session_id: ID.into(),
        title: opt(full, "t"),
        source_tool: opt(full, "claude-code"),
        message_count: full.then_some(3),
        status: "queued".into(),
        last_synced_at: opt(full, T),
    }
}

fn handoff(full: bool) -> HandoffResponse {
    HandoffResponse {
        id: "hnd_0123456789abcdef".into(),
        session_id: ID.into(),
        sender_id: "0123456789abcdef0123456789abcdef".into(),
        sender_email: "alice@example.com".into(),
        recipient_email: "bob@example.com".into(),
        message: opt(full, "have a look"),
        status: if full { "claimed" } else { "pending" }.into(),
        created_at: T.into(),
        expires_at: T.into(),
        claimed_at: opt(full, T),
        recipient_session_id: opt(full, "ses_8899aabbccddeeff"),
        session_title: opt(full, "t"),
        session_tool: opt(full, "claude-code"),
        session_model_id: opt(full, "m"),
        session_message_count: 3,
        handoff_kind: "individual".into(),
        recipient_user_id: opt(full, "0123456789abcdef0123456789abcdef"),
        recipient_team_id: None,
        ticket_id: None,
        persona_name: None,
        viewed_at: opt(full, T),
        revoked_at: opt(full, T),
        revoke_reason: opt(full, "no"),
        attachments: Vec::new(),
        comments: Vec::new(),
        events: Vec::new(),
    }
}

fn tool_usage() -> ToolUsage {
    ToolUsage { source_tool: "claude-code".into(), sessions: 1, bytes: 1234 }
}

fn sample<T: Serialize>(name: &str, v: &T) -> (String, Value) {
    (name.to_owned(), serde_json::to_value(v).unwrap())
}

/// Serialized instances of every `sessionfs_shared::api` type, each with its optional fields set and unset.
fn samples() -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for full in [true, false] {
        let mut envelope = ErrorEnvelope::new(ErrorCode::EtagMismatch, full.then_some("the server has abc"));
        envelope.error.details.insert("current_etag".into(), "abc".into());
        out.extend([
            sample("ErrorEnvelope", &envelope),
            sample("ErrorBody", &envelope.error),
            sample("SignupRequest", &SignupRequest { email: "a@example.com".into() }),
            sample(
                "SignupResponse",
                &SignupResponse {
                    user_id: "u".into(),
                    email: "a@example.com".into(),
                    raw_key: format!("sk_sfs_{}", "0".repeat(32)),
                    key_id: "k".into(),
                    message: "Account created.".into(),
                },
            ),
            sample(
                "MeResponse",
                &MeResponse {
                    user_id: "u".into(),
                    email: "a@example.com".into(),
                    display_name: opt(full, "A"),
                    email_verified: full,
                    tier: "user".into(),
                    effective_tier: "user".into(),
                    created_at: T.into(),
                    storage_used_bytes: 10,
                    storage_quota_bytes: full.then_some(1 << 30),
                },
            ),
            sample("ApiKeyInfo", &key_info(full)),
            sample(
                "CreateApiKeyRequest",
                &CreateApiKeyRequest { name: "ci".into(), expires_in_days: full.then_some(30) },
            ),
            sample("CreatedApiKey", &CreatedApiKey { info: key_info(full), key: format!("sk_sfs_{}", "1".repeat(32)) }),
            sample("SessionSummary", &summary(full)),
            sample("SessionDetail", &detail(full)),
            sample(
                "SessionListResponse",
                &SessionListResponse {
                    sessions: vec![summary(full)],
                    total: 1,
                    page: 1,
                    page_size: 20,
                    has_more: false,
                },
            ),
            sample(
                "SyncPushResponse",
                &SyncPushResponse {
                    session_id: ID.into(),
                    etag: "ab".repeat(32),
                    blob_size_bytes: 12,
                    synced_at: T.into(),
                },
            ),
            sample(
                "SessionPatch",
                &SessionPatch { title: opt(full, "t"), alias: opt(full, ""), tags: full.then(|| vec!["x".into()]) },
            ),
            sample(
                "MessagesPage",
                &MessagesPage {
                    messages: vec![json!({"msg_id": "m0", "role": "user", "content": []})],
                    total: 1,
                    page: 1,
                    page_size: 50,
                    has_more: false,
                },
            ),
            sample(
                "RestoreResponse",
                &RestoreResponse {
                    session: detail(full),
                    restored_from_scope: opt(full, "cloud"),
                    local_copy_may_be_missing: false,
                },
            ),
            sample(
                "SearchResponse",
                &SearchResponse {
                    results: vec![search_result(full)],
                    total: 1,
                    page: 1,
                    page_size: 20,
                    query: "word".into(),
                },
            ),
            sample("SearchResult", &search_result(full)),
            sample("SearchMatch", &SearchMatch { snippet: "s".into() }),
            sample(
                "SyncSettings",
                &SyncSettings {
                    mode: SyncMode::Selective,
                    debounce_seconds: 30,
                    max_member_bytes: 1 << 20,
                    max_upload_bytes: Some(1 << 30),
                },
            ),
            sample(
                "SyncSettingsUpdate",
                &SyncSettingsUpdate { mode: SyncMode::All, debounce_seconds: full.then_some(30) },
            ),
            sample("WatchedSession", &watched(full)),
            sample("Watchlist", &Watchlist { sessions: vec![watched(full)] }),
            sample(
                "SyncStatus",
                &SyncStatus {
                    mode: SyncMode::Off,
                    total_sessions: 2,
                    synced_sessions: 2,
                    watched_sessions: 1,
                    queued: 0,
                    failed: 0,
                    storage_used_bytes: 10,
                    storage_limit_bytes: 100,
                    storage_quota_bytes: full.then_some(1000),
                },
            ),
            sample(
                "CreateHandoffRequest",
                &CreateHandoffRequest {
                    session_id: ID.into(),
                    recipient_email: opt(full, "b@example.com"),
                    recipient_user_id: opt(!full, "0123456789abcdef0123456789abcdef"),
                    recipient_team_id: None,
                    message: opt(full, "hi"),
                    expires_in_hours: full.then_some(48),
                },
            ),
            sample("HandoffResponse", &handoff(full)),
            sample("HandoffListResponse", &HandoffListResponse { handoffs: vec![handoff(full)], total: 1 }),
            sample("ReasonRequest", &ReasonRequest { reason: opt(full, "no") }),
            sample("HandoffCommentRequest", &HandoffCommentRequest { content: "looks good".into() }),
            sample("PurgeRequest", &PurgeRequest { session_id: opt(full, ID), user_id: opt(full, "u") }),
            sample("PurgeResponse", &PurgeResponse { purged: 1, bytes_reclaimed: 100 }),
            sample("ToolUsage", &tool_usage()),
            sample(
                "StorageResponse",
                &StorageResponse {
                    used_bytes: 1234,
                    quota_bytes: full.then_some(1 << 30),
                    session_count: 1,
                    deleted_count: 1,
                    deleted_bytes: 99,
                    by_tool: vec![tool_usage()],
                    largest: vec![summary(full)],
                },
            ),
        ]);
    }
    for sort in SessionSort::ALL {
        out.push(sample("SessionSort", &sort));
    }
    for mode in [SyncMode::Off, SyncMode::All, SyncMode::Selective] {
        out.push(sample("SyncMode", &mode));
    }
    for code in ErrorCode::ALL {
        out.push(sample("ErrorEnvelope", &ErrorEnvelope::new(code, Some("detail"))));
        out.push(sample("ErrorCode", &code.code()));
    }
    out
}

/// `pub struct`/`pub enum` names declared in `shared/src/api.rs`.
fn shared_api_types() -> BTreeSet<String> {
    let path = manifest_dir().join("../shared/src/api.rs");
    let toks = lex(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())));
    toks.windows(3)
        .filter_map(|w| match (&w[0], &w[1], &w[2]) {
            (Tok::Ident(p), Tok::Ident(kind), Tok::Ident(name))
                if p == "pub" && (kind == "struct" || kind == "enum") =>
            {
                Some(name.clone())
            }
            _ => None,
        })
        .collect()
}

#[test]
fn schemas_have_the_fields_the_shared_types_serialize() {
    let doc = spec();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let samples = samples();
    let sampled: BTreeSet<&str> = samples.iter().map(|(n, _)| n.as_str()).collect();
    let mut errs = Vec::new();
    for ty in shared_api_types() {
        if !schemas.contains_key(&ty) {
            errs.push(format!("shared::api::{ty} has no schema under components/schemas"));
        }
        if !sampled.contains(ty.as_str()) {
            errs.push(format!("shared::api::{ty} has no sample in this test; add one to samples()"));
        }
    }
    for must in [
        "SessionSummary",
        "SessionDetail",
        "SessionListResponse",
        "SyncPushResponse",
        "HandoffResponse",
        "SyncSettings",
        "SyncStatus",
        "MeResponse",
        "SignupResponse",
        "ErrorEnvelope",
    ] {
        assert!(sampled.contains(must), "{must} must be sampled");
    }
    for (name, value) in &samples {
        let Some(schema) = schemas.get(name) else {
            errs.push(format!("no schema {name}"));
            continue;
        };
        if value.is_object() {
            // Every serialized field is a documented property, and every documented property is serialized.
            let (props, _, _) = object_shape(&doc, schema).unwrap_or_else(|| panic!("{name} lists no properties"));
            let keys: BTreeSet<&String> = value.as_object().unwrap().keys().collect();
            let documented: BTreeSet<&String> = props.keys().collect();
            if keys != documented {
                errs.push(format!("{name}: serialized fields {keys:?}, documented properties {documented:?}"));
            }
        }
        validate(&doc, schema, value, name, &mut errs);
    }
    // Enumerations list every variant.
    let listed = |n: &str| -> BTreeSet<String> {
        schemas[n]["enum"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect()
    };
    let codes: BTreeSet<String> = ErrorCode::ALL.iter().map(|c| c.code().to_owned()).collect();
    assert_eq!(listed("ErrorCode"), codes, "ErrorCode enum");
    let modes: BTreeSet<String> = ["off", "all", "selective"].map(str::to_owned).into();
    assert_eq!(listed("SyncMode"), modes, "SyncMode enum");
    let sorts: BTreeSet<String> = SessionSort::ALL.iter().map(|s| s.as_str().to_owned()).collect();
    assert_eq!(listed("SessionSort"), sorts, "SessionSort enum");
    assert!(errs.is_empty(), "schemas drifted from sessionfs_shared::api:\n{}", errs.join("\n"));
}

// ---------------------------------------------------------------------------------------------------------------
// 4. A live server's answers against the document.

struct Conformance {
    doc: Value,
    exercised: BTreeSet<(String, String)>,
    errs: Vec<String>,
}

fn essence(content_type: &str) -> &str {
    content_type.split(';').next().unwrap_or("").trim()
}

impl Conformance {
    /// Check a response to `method template` against the document; returns its status and JSON body (or Null).
    async fn check(&mut self, method: &str, template: &str, resp: reqwest::Response) -> (u16, Value) {
        let status = resp.status().as_u16();
        let content_type = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        let retry_after = resp.headers().contains_key("retry-after");
        let bytes = resp.bytes().await.unwrap();
        let body: Value = if essence(&content_type) == "application/json" {
            serde_json::from_slice(&bytes).unwrap()
        } else {
            Value::Null
        };
        let at = format!("{method} {template} → {status}");
        self.exercised.insert((method.to_uppercase(), template.to_owned()));
        let doc = self.doc.clone();
        let Some(op) = doc["paths"][template].get(method.to_lowercase()) else {
            self.errs.push(format!("{at}: operation not documented"));
            return (status, body);
        };
        let Some(documented) = op["responses"].get(status.to_string()) else {
            self.errs.push(format!("{at}: status not documented (body {body})"));
            return (status, body);
        };
        let documented = deref(&doc, documented);
        if status == 429 && documented["headers"].get("Retry-After").is_some() && !retry_after {
            self.errs.push(format!("{at}: no Retry-After header"));
        }
        if bytes.is_empty() {
            return (status, body);
        }
        let media = documented["content"]
            .as_object()
            .and_then(|c| c.iter().find(|(k, _)| essence(k) == essence(&content_type)).map(|(_, m)| m));
        match media {
            None => self.errs.push(format!("{at}: content type {content_type:?} not documented")),
            Some(m) if body.is_null() => {
                let _ = m; // not JSON: the media type is what can be checked
            }
            Some(m) => {
                let mut errs = Vec::new();
                validate(&doc, &m["schema"], &body, &at, &mut errs);
                self.errs.extend(errs);
            }
        }
        (status, body)
    }
}

fn upload_form(bytes: Vec<u8>) -> Form {
    Form::new().part("file", Part::bytes(bytes).file_name("session.tar.gz").mime_str("application/gzip").unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_responses_conform_to_the_document() {
    let s = common::TestServer::start().await;
    let http = reqwest::Client::new();
    let base = s.url.clone();
    let mut c = Conformance { doc: spec(), exercised: BTreeSet::new(), errs: Vec::new() };
    macro_rules! expect {
        ($method:literal, $template:literal, $req:expr, $status:expr) => {{
            let (status, body) = c.check($method, $template, $req.send().await.unwrap()).await;
            assert_eq!(status, $status, "{} {}: {body}", $method, $template);
            body
        }};
    }

    for p in ["/healthz", "/readyz", "/health", "/metrics"] {
        let template = p; // top-level paths have no parameters
        let (status, _) = c.check("get", template, http.get(format!("{base}{p}")).send().await.unwrap()).await;
        assert_eq!(status, 200, "{p}");
    }
    expect!("get", "/api/v1/health", http.get(format!("{base}/api/v1/health")), 200);
    expect!("get", "/api/v1/openapi.json", http.get(format!("{base}/api/v1/openapi.json")), 200);

    // Accounts and keys.
    let signup = |email: &str| http.post(format!("{base}/api/v1/auth/signup")).json(&json!({ "email": email }));
    let body = expect!("post", "/api/v1/auth/signup", signup("alice@example.com"), 201);
    let alice = common::Client {
        url: base.clone(),
        key: body["raw_key"].as_str().unwrap().to_owned(),
        http: http.clone(),
        email: "alice@example.com".into(),
    };
    expect!("post", "/api/v1/auth/signup", signup("alice@example.com"), 409);
    expect!("post", "/api/v1/auth/signup", signup("not an email"), 400);
    expect!("get", "/api/v1/auth/verify", http.get(format!("{base}/api/v1/auth/verify?token=nope")), 400);
    expect!("get", "/api/v1/auth/verify", http.get(format!("{base}/api/v1/auth/verify")), 400);
    let bob = s.signup("bob@example.com").await;
    let admin = s.signup("admin@example.com").await;

    expect!("get", "/api/v1/auth/me", alice.req(Method::GET, "/auth/me"), 200);
    expect!("get", "/api/v1/auth/me", http.get(format!("{base}/api/v1/auth/me")), 401);
    let key = expect!(
        "post",
        "/api/v1/auth/me/api-keys",
        alice.req(Method::POST, "/auth/me/api-keys").json(&json!({"name": "laptop", "expires_in_days": 30})),
        201
    );
    expect!(
        "post",
        "/api/v1/auth/me/api-keys",
        alice.req(Method::POST, "/auth/me/api-keys").json(&json!({"name": ""})),
        400
    );
    expect!("get", "/api/v1/auth/me/api-keys", alice.req(Method::GET, "/auth/me/api-keys"), 200);
    let key_path = format!("/auth/me/api-keys/{}", key["id"].as_str().unwrap());
    expect!("delete", "/api/v1/auth/me/api-keys/{key_id}", alice.req(Method::DELETE, &key_path), 204);
    expect!("delete", "/api/v1/auth/me/api-keys/{key_id}", alice.req(Method::DELETE, "/auth/me/api-keys/nope"), 404);
    let legacy = expect!("post", "/api/v1/auth/keys", alice.req(Method::POST, "/auth/keys"), 201);
    expect!("get", "/api/v1/auth/keys", alice.req(Method::GET, "/auth/keys"), 200);
    let legacy_path = format!("/auth/keys/{}", legacy["key_id"].as_str().unwrap());
    expect!("delete", "/api/v1/auth/keys/{key_id}", alice.req(Method::DELETE, &legacy_path), 204);
    expect!("delete", "/api/v1/auth/keys/{key_id}", alice.req(Method::DELETE, &legacy_path), 204);
    expect!("delete", "/api/v1/auth/keys/{key_id}", alice.req(Method::DELETE, "/auth/keys/nope"), 404);

    // Sessions.
    let sync = format!("/sessions/{ID}/sync");
    let push = |bytes: Vec<u8>| alice.req(Method::PUT, &sync).multipart(upload_form(bytes));
    let first = expect!("put", "/api/v1/sessions/{id}/sync", push(common::archive(ID, "alpha", 3)), 201);
    let etag = first["etag"].as_str().unwrap().to_owned();
    let stale = expect!(
        "put",
        "/api/v1/sessions/{id}/sync",
        push(common::archive(ID, "beta", 4)).header("If-Match", "\"deadbeef\""),
        409
    );
    assert_eq!(stale["error"]["details"]["current_etag"], etag.as_str());
    let second = expect!(
        "put",
        "/api/v1/sessions/{id}/sync",
        push(common::archive(ID, "beta", 4)).header("If-Match", format!("\"{etag}\"")),
        200
    );
    let etag = second["etag"].as_str().unwrap().to_owned();
    expect!("put", "/api/v1/sessions/{id}/sync", push(b"not a tarball".to_vec()), 400);
    expect!(
        "put",
        "/api/v1/sessions/{id}/sync",
        alice.req(Method::PUT, "/sessions/ses_XYZ/sync").multipart(upload_form(common::archive(ID, "x", 1))),
        400
    );
    let uploaded = expect!(
        "post",
        "/api/v1/sessions",
        alice.req(Method::POST, "/sessions?source_tool=codex&title=x").multipart(upload_form(common::archive(
            "ses_1111222233334444",
            "gamma",
            2
        ))),
        201
    );
    let other = uploaded["session_id"].as_str().unwrap().to_owned();
    expect!("get", "/api/v1/sessions", alice.req(Method::GET, "/sessions?page=1&page_size=10&tag=x"), 200);
    expect!("get", "/api/v1/sessions", alice.req(Method::GET, "/sessions"), 200);
    expect!("get", "/api/v1/sessions", alice.req(Method::GET, "/sessions?page_size=0"), 400);
    for sort in SessionSort::ALL {
        expect!("get", "/api/v1/sessions", alice.req(Method::GET, &format!("/sessions?sort={}", sort.as_str())), 200);
    }
    expect!("get", "/api/v1/sessions", alice.req(Method::GET, "/sessions?sort=newest"), 400);
    expect!("get", "/api/v1/storage", alice.req(Method::GET, "/storage"), 200);
    expect!("get", "/api/v1/storage", http.get(format!("{base}/api/v1/storage")), 401);
    expect!("get", "/api/v1/sessions/search", alice.req(Method::GET, "/sessions/search?q=beta"), 200);
    expect!("get", "/api/v1/sessions/search", alice.req(Method::GET, "/sessions/search"), 400);
    expect!("get", "/api/v1/sessions/{id}", alice.req(Method::GET, &format!("/sessions/{ID}")), 200);
    expect!("get", "/api/v1/sessions/{id}", alice.req(Method::GET, "/sessions/ses_ffffffffffffffff"), 404);
    expect!("get", "/api/v1/sessions/{id}", alice.req(Method::GET, "/sessions/ses_XYZ"), 400);
    expect!(
        "patch",
        "/api/v1/sessions/{id}",
        alice.req(Method::PATCH, &format!("/sessions/{ID}")).json(&json!({"alias": "my-fix", "tags": ["a"]})),
        200
    );
    expect!(
        "patch",
        "/api/v1/sessions/{id}",
        alice.req(Method::PATCH, &format!("/sessions/{ID}")).json(&json!({})),
        400
    );
    expect!("get", "/api/v1/sessions/{id}/download", alice.req(Method::GET, "/sessions/my-fix/download"), 200);
    expect!("get", "/api/v1/sessions/{id}/sync", alice.req(Method::GET, &sync), 200);
    expect!(
        "get",
        "/api/v1/sessions/{id}/sync",
        alice.req(Method::GET, &sync).header("If-None-Match", format!("\"{etag}\"")),
        304
    );
    expect!(
        "get",
        "/api/v1/sessions/{id}/messages",
        alice.req(Method::GET, &format!("/sessions/{ID}/messages?order=newest&page_size=2")),
        200
    );
    expect!(
        "get",
        "/api/v1/sessions/{id}/messages",
        alice.req(Method::GET, &format!("/sessions/{ID}/messages?page_size=1000")),
        200
    );
    expect!(
        "get",
        "/api/v1/sessions/{id}/messages",
        alice.req(Method::GET, &format!("/sessions/{ID}/messages?page_size=1001")),
        400
    );
    expect!(
        "get",
        "/api/v1/sessions/{id}/workspace",
        alice.req(Method::GET, &format!("/sessions/{ID}/workspace")),
        200
    );
    expect!("get", "/api/v1/sessions/{id}/tools", alice.req(Method::GET, &format!("/sessions/{ID}/tools")), 200);

    // Autosync.
    expect!("get", "/api/v1/sync/settings", alice.req(Method::GET, "/sync/settings"), 200);
    let set = expect!(
        "put",
        "/api/v1/sync/settings",
        alice.req(Method::PUT, "/sync/settings").json(&json!({"mode": "selective", "debounce_seconds": 1})),
        200
    );
    assert_eq!(set["debounce_seconds"], 5, "clamped");
    expect!("put", "/api/v1/sync/settings", alice.req(Method::PUT, "/sync/settings").json(&json!({"mode": "x"})), 400);
    expect!("post", "/api/v1/sync/watch/{id}", alice.req(Method::POST, &format!("/sync/watch/{ID}")), 200);
    expect!(
        "put",
        "/api/v1/sync/watch/{id}/{status}",
        alice.req(Method::PUT, &format!("/sync/watch/{ID}/queued")),
        200
    );
    expect!("put", "/api/v1/sync/watch/{id}/{status}", alice.req(Method::PUT, &format!("/sync/watch/{ID}/bogus")), 400);
    expect!("get", "/api/v1/sync/watchlist", alice.req(Method::GET, "/sync/watchlist"), 200);
    expect!("get", "/api/v1/sync/status", alice.req(Method::GET, "/sync/status"), 200);
    expect!("delete", "/api/v1/sync/watch/{id}", alice.req(Method::DELETE, &format!("/sync/watch/{ID}")), 200);
    expect!("post", "/api/v1/sync/watch/{id}", alice.req(Method::POST, "/sync/watch/nope"), 400);

    // Handoffs.
    let offer = |session: &str| {
        alice
            .req(Method::POST, "/handoffs")
            .json(&json!({"session_id": session, "recipient_email": "bob@example.com", "message": "have a look"}))
    };
    let h1 = expect!("post", "/api/v1/handoffs", offer(ID), 201)["id"].as_str().unwrap().to_owned();
    expect!("post", "/api/v1/handoffs", offer("ses_ffffffffffffffff"), 404);
    expect!("post", "/api/v1/handoffs", offer("my-fix"), 400);
    expect!("get", "/api/v1/handoffs/inbox", bob.req(Method::GET, "/handoffs/inbox"), 200);
    expect!("get", "/api/v1/handoffs/inbox/", bob.req(Method::GET, "/handoffs/inbox/"), 200);
    expect!("get", "/api/v1/handoffs/sent", alice.req(Method::GET, "/handoffs/sent"), 200);
    expect!("get", "/api/v1/handoffs/sent/", alice.req(Method::GET, "/handoffs/sent/"), 200);
    expect!("get", "/api/v1/handoffs/{id}", bob.req(Method::GET, &format!("/handoffs/{h1}")), 200);
    expect!("get", "/api/v1/handoffs/{id}", admin.req(Method::GET, &format!("/handoffs/{h1}")), 404);
    expect!("get", "/api/v1/handoffs/{id}", bob.req(Method::GET, "/handoffs/hnd_nope"), 400);
    expect!("post", "/api/v1/handoffs/{id}/claim", bob.req(Method::POST, &format!("/handoffs/{h1}/claim")), 200);
    expect!("post", "/api/v1/handoffs/{id}/claim", bob.req(Method::POST, &format!("/handoffs/{h1}/claim")), 409);
    expect!("post", "/api/v1/handoffs/{id}/revoke", alice.req(Method::POST, &format!("/handoffs/{h1}/revoke")), 409);
    expect!(
        "post",
        "/api/v1/handoffs/{id}/comments",
        bob.req(Method::POST, &format!("/handoffs/{h1}/comments")).json(&json!({"content": "thanks"})),
        201
    );
    expect!(
        "post",
        "/api/v1/handoffs/{id}/comments",
        bob.req(Method::POST, &format!("/handoffs/{h1}/comments")).json(&json!({"content": ""})),
        400
    );
    expect!("get", "/api/v1/handoffs/{id}/comments", alice.req(Method::GET, &format!("/handoffs/{h1}/comments")), 200);
    expect!("get", "/api/v1/handoffs/{id}/comments", admin.req(Method::GET, &format!("/handoffs/{h1}/comments")), 404);
    expect!(
        "get",
        "/api/v1/handoffs/{id}/events",
        alice.req(Method::GET, &format!("/handoffs/{h1}/events?limit=5")),
        200
    );
    expect!("get", "/api/v1/handoffs/{id}/events", admin.req(Method::GET, &format!("/handoffs/{h1}/events")), 404);
    let h2 = expect!("post", "/api/v1/handoffs", offer(ID), 201)["id"].as_str().unwrap().to_owned();
    expect!(
        "post",
        "/api/v1/handoffs/{id}/decline",
        bob.req(Method::POST, &format!("/handoffs/{h2}/decline")).json(&json!({"reason": "busy"})),
        200
    );
    let h3 = expect!("post", "/api/v1/handoffs", offer(ID), 201)["id"].as_str().unwrap().to_owned();
    expect!("post", "/api/v1/handoffs/{id}/decline", alice.req(Method::POST, &format!("/handoffs/{h3}/decline")), 404);
    expect!("post", "/api/v1/handoffs/{id}/revoke", alice.req(Method::POST, &format!("/handoffs/{h3}/revoke")), 200);

    // Trash.
    let del = format!("/sessions/{ID}?scope=cloud");
    expect!("delete", "/api/v1/sessions/{id}", alice.req(Method::DELETE, &del), 200);
    expect!("delete", "/api/v1/sessions/{id}", alice.req(Method::DELETE, &del), 410);
    expect!(
        "delete",
        "/api/v1/sessions/{id}",
        alice.req(Method::DELETE, &format!("/sessions/{ID}?scope=nowhere")),
        400
    );
    expect!("delete", "/api/v1/sessions/{id}", alice.req(Method::DELETE, &format!("/sessions/{other}")), 200);
    expect!("put", "/api/v1/sessions/{id}/sync", push(common::archive(ID, "delta", 2)), 410);
    expect!("get", "/api/v1/sessions", alice.req(Method::GET, "/sessions?deleted=true&sort=title"), 200);
    expect!("get", "/api/v1/storage", alice.req(Method::GET, "/storage"), 200);
    expect!("post", "/api/v1/sessions/{id}/restore", alice.req(Method::POST, &format!("/sessions/{ID}/restore")), 200);
    expect!("post", "/api/v1/sessions/{id}/restore", alice.req(Method::POST, &format!("/sessions/{ID}/restore")), 409);

    // Admin.
    expect!("get", "/api/v1/admin/users", alice.req(Method::GET, "/admin/users"), 403);
    expect!("get", "/api/v1/admin/users", admin.req(Method::GET, "/admin/users?page_size=10&search=example"), 200);
    expect!("get", "/api/v1/admin/users", admin.req(Method::GET, "/admin/users?page=0"), 400);
    expect!("get", "/api/v1/admin/stats", admin.req(Method::GET, "/admin/stats"), 200);
    expect!("post", "/api/v1/admin/purge-deleted", admin.req(Method::POST, "/admin/purge-deleted"), 200);
    expect!(
        "post",
        "/api/v1/admin/purge-deleted",
        admin
            .req(Method::POST, "/admin/purge-deleted")
            .json(&json!({"session_id": other, "user_id": "0123456789abcdef0123456789abcdef"})),
        404
    );

    // A small upload limit and a rate limit; then verification required.
    let strict = common::TestServer::start_with(|cfg| {
        cfg.max_upload_size = 64 << 10;
        cfg.rate_limit_per_minute = 5;
    })
    .await;
    let carol = strict.signup("carol@example.com").await;
    expect!(
        "put",
        "/api/v1/sessions/{id}/sync",
        carol.req(Method::PUT, &sync).multipart(upload_form(vec![7; 128 << 10])),
        413
    );
    // A new connection pool: the server answers 413 before reading the upload and then closes that
    // connection, and a request sent on it in the meantime failed as an incomplete message (a CI flake).
    let carol = common::Client { http: reqwest::Client::new(), ..carol };
    let mut limited = false;
    for _ in 0..20 {
        let (status, _) = c.check("get", "/api/v1/auth/me", carol.get("/auth/me").await).await;
        if status == 429 {
            limited = true;
            break;
        }
    }
    assert!(limited, "the rate limit never answered 429");
    let verifying = common::TestServer::start_with(|cfg| cfg.require_email_verification = Some(true)).await;
    let dave = verifying.signup("dave@example.com").await;
    expect!(
        "put",
        "/api/v1/sessions/{id}/sync",
        dave.req(Method::PUT, &sync).multipart(upload_form(common::archive(ID, "x", 1))),
        403
    );
    expect!(
        "post",
        "/api/v1/sessions",
        dave.req(Method::POST, "/sessions").multipart(upload_form(common::archive(ID, "x", 1))),
        403
    );

    assert!(c.errs.is_empty(), "responses that do not match src/openapi.json:\n{}", c.errs.join("\n"));
    let all: BTreeSet<(String, String)> = operations(&c.doc).into_keys().collect();
    let untested: Vec<_> = all.difference(&c.exercised).collect();
    assert!(untested.is_empty(), "documented operations this test does not exercise: {untested:?}");
}
