//! Hostile input and limits: rate limits with `Retry-After`, alias and depth limits, and a fuzz run of
//! malformed JSON, invalid UTF-8, huge strings, deep nesting (JSON and documents), fragment fan-out, costly
//! pages of pages, random GraphQL documents, multipart bodies and WebSocket floods
//! against the running server — never a 5xx, a panic or a hang; always a clear error.
//!
//! `GREENLINE_FUZZ_CASES` sets the number of fuzz cases (default 400 per backend; `scripts/fuzz` runs 10,000).

use std::time::Duration;

use greenline::domain::organisation::Role;
use serde_json::{json, Value};

use crate::{story, TestApp};

story!(rate_limits_answer_429_with_retry_after);
async fn rate_limits_answer_429_with_retry_after(app: TestApp) {
    let app = app
        .restarted_with(|c| {
            // Two seconds per request after a burst of three: slow enough that a busy CI machine cannot
            // refill a bucket between the requests below.
            c.rate_limit_per_token = 0.5;
            c.rate_limit_per_ip = 0.5;
            c.rate_limit_burst_secs = 6.0;
        })
        .await;
    let token = app.user("王师傅", Role::Worker, Some("宝山钢铁示范厂"), None, None).await;
    let post = |token: Option<String>| {
        let mut req = app.client.post(format!("{}/graphql", app.url)).json(&json!({"query": "{ viewer { name } }"}));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send()
    };
    // A burst of three per token and per IP, then 429 with the wait and the code.
    for _ in 0..3 {
        assert_eq!(post(Some(token.clone())).await.unwrap().status(), 200);
    }
    let r = post(Some(token.clone())).await.unwrap();
    assert_eq!(r.status(), 429);
    let wait: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&wait), "retry after {wait} s");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "RATE_LIMITED");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("请"), "a message in Chinese too: {body}");
    // The IP's bucket was spent by the same requests: anonymous requests from it wait too.
    assert_eq!(post(None).await.unwrap().status(), 429);
    // Probes are never limited.
    for _ in 0..5 {
        assert_eq!(app.client.get(format!("{}/healthz", app.url)).send().await.unwrap().status(), 200);
    }
    // After the wait, requests go through again.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(post(Some(token)).await.unwrap().status(), 200);
}

story!(documents_over_the_limits_are_refused_before_they_run);
async fn documents_over_the_limits_are_refused_before_they_run(app: TestApp) {
    let aliases = |n: usize| {
        format!(
            "{{ {} }}",
            (0..n).map(|i| format!("a{i}: evaluationCriteria {{ version }}")).collect::<Vec<_>>().join(" ")
        )
    };
    let ok = app.gql(None, &aliases(50), json!({})).await;
    assert!(ok.get("errors").is_none(), "50 aliases are allowed: {ok}");
    // Twice: the second time the parsed document comes from the server's document cache, and the limits
    // still apply to it.
    for _ in 0..2 {
        let too_many = app.gql(None, &aliases(51), json!({})).await;
        assert_eq!(too_many["errors"][0]["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED");
        assert!(too_many["errors"][0]["message"].as_str().unwrap().contains("51 aliases"));
    }
    // Aliases hidden in a fragment count too.
    let fragment = format!(
        "query {{ ...F }} fragment F on Query {{ {} }}",
        (0..60).map(|i| format!("b{i}: evaluationCriteria {{ version }}")).collect::<Vec<_>>().join(" ")
    );
    assert_eq!(
        app.gql(None, &fragment, json!({})).await["errors"][0]["extensions"]["code"],
        "GRAPHQL_VALIDATION_FAILED"
    );

    // Depth: every field real, so that only the depth limit can refuse it; twice, the second time from the
    // document cache.
    let deep = crate::foundation::nested(10);
    let uncosted = TestApp::start_with(app.backend, |c| c.max_query_cost = u64::MAX).await.unwrap();
    for _ in 0..2 {
        let d = uncosted.gql(None, &deep, json!({})).await;
        assert_eq!(d["errors"][0]["message"], "Query is nested too deep.", "{d}");
        assert_eq!(d["errors"][0]["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED", "{d}");
    }

    // Batches are not part of GraphQL over HTTP: an array body is a bad request, not a way around the limits.
    let r = app
        .client
        .post(format!("{}/graphql", app.url))
        .json(&json!([{"query": "{ __typename }"}, {"query": "{ __typename }"}]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // A body over the limit is refused with 413. (A small limit, so that the whole body is in the socket
    // before the server answers: with a huge one the client may still be writing when the server closes.)
    let small = TestApp::start_with(app.backend, |c| c.max_body_bytes = 64 * 1024).await.unwrap();
    // Its own client: the server closes a connection whose body it did not read, and a pooled connection
    // must not be reused after that.
    let r = reqwest::Client::new()
        .post(format!("{}/graphql", small.url))
        .header("content-type", "application/json")
        .body(format!("{{\"query\": \"{}\"}}", "x".repeat(100 * 1024)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let ok = small.gql(None, "{ __typename }", json!({})).await;
    assert_eq!(ok["data"]["__typename"], "Query", "a body under the limit still goes through");
}

/// A small deterministic generator (xorshift), so that a failing case can be replayed by its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
    /// Up to `max` random bytes.
    fn bytes(&mut self, max: usize) -> Vec<u8> {
        let n = self.below(max);
        (0..n).map(|_| self.next() as u8).collect()
    }
}

const WORDS: &[&str] = &[
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ":",
    "...",
    "$",
    "@",
    "!",
    "=",
    ",",
    "query",
    "mutation",
    "subscription",
    "fragment",
    "on",
    "viewer",
    "proposal",
    "proposals",
    "searchProposals",
    "similarProposals",
    "impactSummary",
    "techniques",
    "node",
    "id",
    "title",
    "body",
    "status",
    "edges",
    "totalCount",
    "first",
    "after",
    "\"余热\"",
    "\"\\u0000\"",
    "-1",
    "99999999999999999999",
    "1e309",
    "null",
    "true",
    "__typename",
    "__schema",
    "types",
    "name",
    "fields",
    "$id",
    "ID!",
    "String",
    "Int",
    "createProposal",
    "input",
    "submitProposal",
    "\"",
    "#",
    "\n",
    "query Q",
    "Q",
    "alias:",
    "@include(if: true)",
    "@skip(if: $x)",
    "leaderboard(of: WORKERS)",
    "groupBy: MONTH",
    "filter: {}",
];

const MUTATIONS: &[&str] = &[
    "mutation($input: CreateProposalInput!) { createProposal(input: $input) { proposal { id } userErrors { code } } }",
    "mutation($input: SubmitProposalInput!) { submitProposal(input: $input) { proposal { id } userErrors { code } } }",
    "mutation($input: UpdateProposalInput!) { updateProposal(input: $input) { proposal { id } userErrors { code } } }",
    "mutation($input: SubmitEvaluationInput!) { submitEvaluation(input: $input) { proposal { id } userErrors { code } } }",
    "mutation($input: RecordMeasurementInput!) { recordMeasurement(input: $input) { proposal { id } userErrors { code } } }",
    "query($q: String!, $first: Int) { searchProposals(query: $q, first: $first) { totalCount edges { highlights { snippet } } } }",
    "query($text: String!) { similarProposals(text: $text) { score } }",
];

/// A hostile value for a variable.
fn value(rng: &mut Rng, depth: usize) -> Value {
    match rng.below(if depth > 3 { 8 } else { 11 }) {
        0 => json!(null),
        1 => json!(rng.next() as i64),
        2 => json!(-(rng.below(1000) as i64)),
        3 => json!(f64::MAX),
        4 => json!("余热回收".repeat(rng.below(3000))),
        5 => json!(String::from_utf8_lossy(&rng.bytes(64)).into_owned()),
        6 => json!("\u{0000}\u{202e}<script>alert(1)</script>"),
        7 => json!(["a", 1, null]),
        8 => Value::Array((0..rng.below(5)).map(|_| value(rng, depth + 1)).collect()),
        _ => {
            let keys = [
                "title",
                "body",
                "proposal",
                "proposalId",
                "scores",
                "criterion",
                "score",
                "expectedSavings",
                "electricityKwh",
                "idempotencyKey",
                "tags",
                "carrier",
                "baseline",
                "after",
                "periodStart",
                "periodEnd",
                "x",
            ];
            Value::Object((0..rng.below(6)).map(|_| ((*rng.pick(&keys)).to_owned(), value(rng, depth + 1))).collect())
        }
    }
}

/// One hostile request: (content type, body).
fn case(rng: &mut Rng) -> (String, Vec<u8>) {
    let json_type = "application/json".to_owned();
    match rng.below(12) {
        // Documents nested thousands deep: in an argument, a default value or a variable type.
        9 => {
            let n = 1 + rng.below(12_000);
            let (open, close) = (*rng.pick(&[("[", "]"), ("{a:", "}"), ("(", ")"), ("{ a ", "}")])).to_owned();
            let inner = format!("{}1{}", open.repeat(n), close.repeat(n));
            let doc = match rng.below(3) {
                0 => format!("{{ {}(x: {inner}) }}", rng.pick(&["proposals", "nope", "viewer"])),
                1 => format!("query($v: Int = {inner}) {{ __typename }}"),
                _ => format!("query($v: {}Int{}) {{ __typename }}", "[".repeat(n), "]".repeat(n)),
            };
            (json_type, json!({"query": doc}).to_string().into_bytes())
        }
        // Fragment fan-out: each fragment spreads the previous one twice (2^n selections once spread).
        10 => {
            let n = 1 + rng.below(40);
            let mut doc = format!("query {{ viewer {{ ...F{n} }} }} fragment F0 on User {{ name }}");
            for k in 1..=n {
                doc.push_str(&format!(" fragment F{k} on User {{ ...F{p} ...F{p} }}", p = k - 1));
            }
            (json_type, json!({"query": doc}).to_string().into_bytes())
        }
        // Cost: aliased pages of pages.
        11 => {
            let aliases = 1 + rng.below(60);
            let (outer, inner) = (rng.below(200), rng.below(200));
            let doc = format!(
                "{{ {} }}",
                (0..aliases)
                    .map(|i| format!("a{i}: proposals(first: {outer}) {{ edges {{ node {{ id events(first: {inner}) {{ edges {{ node {{ kind }} }} }} }} }} }}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            );
            (json_type, json!({"query": doc}).to_string().into_bytes())
        }
        // Random bytes, often not UTF-8.
        0 => (json_type, rng.bytes(512)),
        // Valid JSON cut short, or with bytes flipped.
        1 => {
            let mut b = json!({"query": "{ viewer { name } }", "variables": {"a": [1, 2, {"b": "余热"}]}})
                .to_string()
                .into_bytes();
            let cut = rng.below(b.len());
            if rng.below(2) == 0 {
                b.truncate(cut);
            } else {
                b[cut] = rng.next() as u8;
            }
            (json_type, b)
        }
        // Deeply nested JSON.
        2 => {
            let n = 1 + rng.below(20_000);
            (
                json_type,
                format!(
                    "{{\"query\": \"{{ __typename }}\", \"variables\": {{\"x\": {}1{}}}}}",
                    "[".repeat(n),
                    "]".repeat(n)
                )
                .into_bytes(),
            )
        }
        // Token soup.
        3 => {
            let doc: Vec<&str> = (0..rng.below(80)).map(|_| *rng.pick(WORDS)).collect();
            (json_type, json!({"query": doc.join(" ")}).to_string().into_bytes())
        }
        // Deep selections and many operations.
        4 => {
            let n = 1 + rng.below(3000);
            let doc = if rng.below(2) == 0 {
                format!("{{ {}id{} }}", "viewer { ".repeat(n), " }".repeat(n))
            } else {
                (0..n.min(500)).map(|i| format!("query Q{i} {{ __typename }}")).collect::<Vec<_>>().join("\n")
            };
            (json_type, json!({"query": doc, "operationName": format!("Q{}", rng.below(600))}).to_string().into_bytes())
        }
        // Real operations with hostile variables.
        5 | 6 => {
            let q = *rng.pick(MUTATIONS);
            let vars =
                json!({"input": value(rng, 0), "q": value(rng, 2), "text": value(rng, 2), "first": value(rng, 3)});
            (json_type, json!({"query": q, "variables": vars}).to_string().into_bytes())
        }
        // Multipart bodies: broken boundaries, maps pointing nowhere, garbage parts.
        7 => {
            let boundary = format!("b{}", rng.next());
            let map = *rng.pick(&[
                "{\"0\": [\"variables.input.file\"]}",
                "{\"0\": [\"variables.nope\"]}",
                "[]",
                "{",
                "{\"9\": [\"x\"]}",
            ]);
            let ops = json!({"query": "mutation($input: UploadAttachmentInput!) { uploadAttachment(input: $input) { userErrors { code } } }",
                "variables": {"input": {"proposalId": value(rng, 3), "file": null}}});
            let mut body = format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"operations\"\r\n\r\n{ops}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"map\"\r\n\r\n{map}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"0\"; filename=\"a.jpg\"\r\n\r\n"
            )
            .into_bytes();
            body.extend(rng.bytes(2048));
            if rng.below(2) == 0 {
                body.extend(format!("\r\n--{boundary}--\r\n").into_bytes());
            }
            let ct = if rng.below(4) == 0 {
                "multipart/form-data".to_owned()
            } else {
                format!("multipart/form-data; boundary={boundary}")
            };
            (ct, body)
        }
        // Odd content types.
        _ => {
            let ct = (*rng.pick(&[
                "text/plain",
                "application/graphql",
                "application/json; charset=latin1",
                "",
                "application/x-www-form-urlencoded",
            ]))
            .to_owned();
            (ct, json!({"query": "{ __typename }"}).to_string().into_bytes())
        }
    }
}

story!(hostile_input_never_gets_a_5xx_a_panic_or_a_hang);
async fn hostile_input_never_gets_a_5xx_a_panic_or_a_hang(app: TestApp) {
    let token = app.user("王师傅", Role::Worker, Some("宝山钢铁示范厂"), None, None).await;
    let cases: u64 = std::env::var("GREENLINE_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(400);
    let seed: u64 =
        std::env::var("GREENLINE_FUZZ_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0x9E37_79B9_7F4A_7C15);
    let client = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
    let mut by_status = std::collections::BTreeMap::new();
    for i in 0..cases {
        let mut rng = Rng(seed ^ (i + 1).wrapping_mul(0x2545_F491_4F6C_DD1D));
        let (ct, body) = case(&mut rng);
        let mut req = client.post(format!("{}/graphql", app.url)).body(body);
        if !ct.is_empty() {
            req = req.header("content-type", ct);
        }
        if rng.below(2) == 0 {
            req = req.bearer_auth(&token);
        }
        let r = req.send().await.unwrap_or_else(|e| panic!("case {i} (seed {seed}): no answer: {e}"));
        let status = r.status().as_u16();
        let text = r.text().await.unwrap_or_default();
        assert!(status < 500, "case {i} (seed {seed}): {status} {text}");
        if status >= 400 {
            assert!(!text.trim().is_empty(), "case {i}: an error without a message");
        }
        if status == 200 || status == 400 {
            let v: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("case {i}: not JSON: {text}"));
            if let Some(errors) = v.get("errors") {
                assert!(errors[0]["message"].as_str().is_some_and(|m| !m.is_empty()), "case {i}: {text}");
            }
        }
        *by_status.entry(status).or_insert(0u64) += 1;
    }
    // WebSocket floods: subscribe storms, junk frames and replays from the start, on a few connections.
    let ws_cases = (cases / 100).max(4);
    for i in 0..ws_cases {
        let mut rng = Rng(seed ^ (i + 7).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        ws_flood(&app, &token, &mut rng).await;
    }
    // Still serving, and still sane.
    let d = app.ok(Some(&token), "{ viewer { name } }", json!({})).await;
    assert_eq!(d["viewer"]["name"], "王师傅");
    eprintln!(
        "fuzz ({:?}): {cases} cases and {ws_cases} WebSocket floods, seed {seed}, by status {by_status:?}, 0 failures",
        app.backend
    );
}

/// One hostile WebSocket connection: a burst of subscribes (some replaying from 0, some with ids reused),
/// junk and oversized frames. The server may close it (4429, 4409, 4400…) but must answer and survive.
async fn ws_flood(app: &TestApp, token: &str, rng: &mut Rng) {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::{client::IntoClientRequest, Message};
    let url = format!("{}/graphql/ws", app.url.replace("http://", "ws://"));
    let mut req = url.into_client_request().unwrap();
    req.headers_mut().insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse().unwrap());
    let Ok((mut ws, _)) = tokio_tungstenite::connect_async(req).await else { panic!("the WebSocket endpoint answers") };
    let init = json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {token}")}});
    let _ = ws.send(Message::text(init.to_string())).await;
    for k in 0..rng.below(300) {
        let msg = match rng.below(5) {
            0 | 1 => json!({"id": format!("{}", if rng.below(4) == 0 { 0 } else { k }), "type": "subscribe",
                "payload": {"query": "subscription($a: Int) { proposalEvents(after: $a) { sequence } }", "variables": {"a": 0}}})
            .to_string(),
            2 => String::from_utf8_lossy(&rng.bytes(200)).into_owned(),
            3 => json!({"type": "subscribe", "id": "x", "payload": {"query": format!("subscription {{ {}proposalEvents{} }}", "[".repeat(5000), "]".repeat(5000))}}).to_string(),
            _ => json!({"type": "ping"}).to_string(),
        };
        if ws.send(Message::text(msg)).await.is_err() {
            break;
        }
    }
    // Read until the server closes or goes quiet: it must not hang the test or die.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while std::time::Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_millis(500), ws.next()).await {
            Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Ok(Some(Err(_))) | Err(_) => break,
            Ok(Some(Ok(_))) => {}
        }
    }
    assert_eq!(app.client.get(format!("{}/healthz", app.url)).send().await.unwrap().status(), 200);
}
