//! Foundation stories: health, readiness, metrics, tokens and the viewer, the CLI, GraphQL over HTTP.

use greenline::domain::organisation::Role;
use serde_json::{json, Value};

use crate::{story, TestApp};

story!(health_readiness_and_metrics);
async fn health_readiness_and_metrics(app: TestApp) {
    let r = app.client.get(format!("{}/healthz", app.url)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = app.client.get(format!("{}/readyz", app.url)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["checks"]["database"]["ok"], true);
    assert_eq!(body["checks"]["index"]["ok"], true);
    assert_eq!(body["checks"]["objectStorage"]["ok"], true);

    // An operation name becomes a label once it has been seen five times (clients choose names).
    for _ in 0..5 {
        app.ok(None, "query Anonymous { viewer { id } }", json!({})).await;
    }
    let text = app.client.get(format!("{}/metrics", app.url)).send().await.unwrap().text().await.unwrap();
    assert!(text.contains("greenline_graphql_operations_total{operation=\"Anonymous\",outcome=\"ok\"} 1"), "{text}");
    assert!(text.contains("greenline_graphql_operation_duration_seconds_count{operation=\"Anonymous\"} 1"), "{text}");
    assert!(
        text.contains("greenline_http_requests_total{route=\"/readyz\",method=\"GET\",status=\"200\"} 1"),
        "{text}"
    );
}

/// `viewer { enterprise { teams { enterprise … { id } } } }` with `pairs` times `teams { enterprise }`: a
/// field depth of 3 + 2 × pairs, every field real.
pub fn nested(pairs: usize) -> String {
    format!("{{ viewer {{ enterprise {{ {}id{} }} }} }}", "teams { enterprise { ".repeat(pairs), " } }".repeat(pairs))
}

story!(tokens_resolve_the_viewer);
async fn tokens_resolve_the_viewer(app: TestApp) {
    let token = app.user("张工", Role::Admin, Some("某钢厂"), Some("炼钢一班"), None).await;
    let data =
        app.ok(Some(&token), "{ viewer { id name role enterprise { name industry } team { name } } }", json!({})).await;
    assert_eq!(data["viewer"]["name"], "张工");
    assert_eq!(data["viewer"]["role"], "ADMIN");
    assert_eq!(data["viewer"]["enterprise"]["name"], "某钢厂");
    assert_eq!(data["viewer"]["enterprise"]["industry"], "METALLURGY");
    assert_eq!(data["viewer"]["team"]["name"], "炼钢一班");

    // node(id) fetches the same user by its global id (for themselves; people are not enumerable by
    // anonymous callers).
    let id = data["viewer"]["id"].clone();
    let q = "query($id: ID!) { node(id: $id) { id ... on User { name } } }";
    let node = app.ok(Some(&token), q, json!({"id": id})).await;
    assert_eq!(node["node"]["name"], "张工");
    assert!(app.ok(None, q, json!({"id": id})).await["node"].is_null());

    // Anonymous: no viewer, no error.
    let anon = app.ok(None, "{ viewer { id } }", json!({})).await;
    assert_eq!(anon["viewer"], Value::Null);

    // A wrong token is refused, never treated as anonymous.
    let r = app
        .client
        .post(format!("{}/graphql", app.url))
        .bearer_auth("glt_not-a-real-token")
        .json(&json!({"query": "{ viewer { id } }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");

    // Tokens are stored only as hashes.
    let stored: Vec<String> = greenline::with_db!(app.db(), pool => sqlx::query_scalar("select token_hash from api_tokens").fetch_all(pool).await.unwrap());
    assert!(!stored.is_empty());
    assert!(stored.iter().all(|h| h != &token && h.len() == 64));
}

story!(cli_user_add_prints_a_working_token);
async fn cli_user_add_prints_a_working_token(app: TestApp) {
    let url = app.state.services.config.database_url.clone();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_greenline"))
        .args([
            "user",
            "add",
            "--name",
            "张工",
            "--role",
            "ADMIN",
            "--enterprise",
            "某钢厂",
            "--industry",
            "METALLURGY",
        ])
        .env("GREENLINE_DATABASE_URL", &url)
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let token = stdout.lines().last().unwrap().trim();
    let data = app.ok(Some(token), "{ viewer { name role enterprise { name industry } } }", json!({})).await;
    assert_eq!(
        data["viewer"],
        json!({"name": "张工", "role": "ADMIN", "enterprise": {"name": "某钢厂", "industry": "METALLURGY"}})
    );

    let bad = tokio::process::Command::new(env!("CARGO_BIN_EXE_greenline"))
        .args(["user", "add", "--name", "x", "--role", "BOSS"])
        .env("GREENLINE_DATABASE_URL", &url)
        .output()
        .await
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("WORKER"), "the error lists the valid roles");
}

story!(graphql_over_http_rules);
async fn graphql_over_http_rules(app: TestApp) {
    let gql = "application/graphql-response+json";
    // A mutation over GET is refused with 405.
    let r = app
        .client
        .get(format!("{}/graphql", app.url))
        .query(&[("query", "mutation { __typename }")])
        .header("accept", gql)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    // A document that does not parse: 400 under graphql-response+json, with a code.
    let r = app
        .client
        .post(format!("{}/graphql", app.url))
        .header("accept", gql)
        .json(&json!({"query": "{"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with(gql));
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "GRAPHQL_PARSE_FAILED");
    // A field that does not exist: validation error, no data entry.
    let r = app
        .client
        .post(format!("{}/graphql", app.url))
        .header("accept", gql)
        .json(&json!({"query": "{ nope }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert!(body.get("data").is_none());
    assert_eq!(body["errors"][0]["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED");
    // Too deep: refused by the depth limit (16), and only by it — every field exists, one level less runs,
    // and the cost limit (which these nested lists would exceed) is lifted for the check.
    let deep = TestApp::start_with(app.backend, |c| c.max_query_cost = u64::MAX).await.unwrap();
    let token = deep.user("王师傅", Role::Worker, Some("宝山钢铁示范厂"), Some("炼钢一班"), None).await;
    let body = deep.gql(Some(&token), &nested(7), json!({})).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED", "{body}");
    assert_eq!(body["errors"][0]["message"], "Query is nested too deep.", "{body}");
    let body = deep.gql(Some(&token), &nested(6), json!({})).await;
    assert!(body.get("errors").is_none(), "{body}");
    assert!(body["data"]["viewer"]["enterprise"]["teams"][0]["enterprise"]["teams"].is_array(), "{body}");
    // A browser gets GraphiQL.
    let r = app.client.get(format!("{}/graphql", app.url)).header("accept", "text/html").send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().to_lowercase().contains("graphiql"));
}

#[test]
fn committed_schema_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema/schema.graphql");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    let current = greenline::graphql::sdl();
    assert!(
        committed == current,
        "schema/schema.graphql is out of date: run `cargo run -- schema` and commit the result"
    );
}

#[tokio::test]
async fn the_examples_match_the_schema() {
    let Some(app) = TestApp::start(crate::Backend::Sqlite).await else { return };
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/journey.graphql")).unwrap();
    let parsed = async_graphql::parser::parse_query(&doc).expect("examples/journey.graphql parses");
    let names: Vec<String> = match &parsed.operations {
        async_graphql::parser::types::DocumentOperations::Multiple(ops) => ops.keys().map(|k| k.to_string()).collect(),
        _ => panic!("expected named operations"),
    };
    assert!(names.len() >= 10);
    for name in names.iter().filter(|n| *n != "Events") {
        let body: Value = app
            .client
            .post(format!("{}/graphql", app.url))
            .json(&json!({"query": doc, "operationName": name}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for e in body["errors"].as_array().into_iter().flatten() {
            let m = e["message"].as_str().unwrap_or("");
            assert!(!m.contains("Unknown") && !m.contains("unknown"), "{name}: {m}");
        }
    }
}

story!(the_page_is_served_from_the_binary);
async fn the_page_is_served_from_the_binary(app: TestApp) {
    let r = app.client.get(format!("{}/", app.url)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8");
    assert!(r.headers()["content-security-policy"].to_str().unwrap().contains("default-src 'self'"));
    let html = r.text().await.unwrap();
    assert!(html.contains("lang=\"zh-CN\"") && html.contains("/app.js"));
    let js = app.client.get(format!("{}/app.js", app.url)).send().await.unwrap();
    assert_eq!(js.headers()["content-type"], "text/javascript; charset=utf-8");
    let js = js.text().await.unwrap();
    // Its Chinese strings take three bytes each; what a phone downloads is the compressed answer.
    assert!(js.contains("/graphql") && js.len() < 128 * 1024, "a small client of the same API: {} bytes", js.len());
    let gz = app.client.get(format!("{}/app.js", app.url)).header("accept-encoding", "gzip").send().await.unwrap();
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    let sent = gz.bytes().await.unwrap().len();
    assert!(sent < 40 * 1024, "{sent} bytes over the wire");
    for asset in ["/app.css", "/icon.svg"] {
        assert_eq!(app.client.get(format!("{}{asset}", app.url)).send().await.unwrap().status(), 200, "{asset}");
    }
}

story!(response_keys_follow_the_query_and_roots_have_their_standard_names);
async fn response_keys_follow_the_query_and_roots_have_their_standard_names(app: TestApp) {
    let r = app
        .client
        .post(format!("{}/graphql", app.url))
        .json(&json!({"query": "{ zeta: __typename viewer { id } alpha: evaluationCriteria { weights: criteria { weight key } version } }"}))
        .send()
        .await
        .unwrap();
    let text = r.text().await.unwrap();
    let at = |k: &str| text.find(k).unwrap_or_else(|| panic!("{k} in {text}"));
    assert!(at("\"zeta\"") < at("\"viewer\"") && at("\"viewer\"") < at("\"alpha\""), "{text}");
    assert!(at("\"weights\"") < at("\"version\"") && at("\"weight\"") < at("\"key\""), "{text}");
    assert!(text.contains("\"zeta\":\"Query\""), "{text}");
    let d = app
        .ok(None, "{ __schema { queryType { name } mutationType { name } subscriptionType { name } } }", json!({}))
        .await;
    assert_eq!(
        d["__schema"],
        json!({"queryType": {"name": "Query"}, "mutationType": {"name": "Mutation"}, "subscriptionType": {"name": "Subscription"}})
    );
}

story!(browsers_on_listed_origins_may_call_the_api);
async fn browsers_on_listed_origins_may_call_the_api(app: TestApp) {
    // By default no origin is allowed: no CORS headers at all.
    let r = app
        .client
        .post(format!("{}/graphql", app.url))
        .header("origin", "https://portal.example.com")
        .json(&json!({"query": "{ __typename }"}))
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());
    let app = app
        .restarted_with(|c| c.cors_origins = vec!["https://portal.example.com".into(), "http://localhost:5173".into()])
        .await;
    // A preflight from a listed origin is answered before routing and authentication.
    let r = app
        .client
        .request(reqwest::Method::OPTIONS, format!("{}/graphql", app.url))
        .header("origin", "http://localhost:5173")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type, authorization")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    assert_eq!(r.headers()["access-control-allow-origin"], "http://localhost:5173");
    assert_eq!(r.headers()["access-control-allow-credentials"], "true");
    let allowed = r.headers()["access-control-allow-headers"].to_str().unwrap().to_lowercase();
    assert!(allowed.contains("authorization") && allowed.contains("content-type"), "{allowed}");
    // The request itself carries the origin back; another origin gets nothing.
    let post = |origin: &'static str| {
        app.client
            .post(format!("{}/graphql", app.url))
            .header("origin", origin)
            .json(&json!({"query": "{ __typename }"}))
            .send()
    };
    let r = post("https://portal.example.com").await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["access-control-allow-origin"], "https://portal.example.com");
    let r = post("https://evil.example.com").await.unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());
}
