//! One request must never take the service down: the attacks of issue #16, each as it was sent, each
//! answered with a client error while the server keeps serving.

use std::time::{Duration, Instant};

use base64::{
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
    Engine,
};
use futures_util::{SinkExt, StreamExt};
use greenline::domain::organisation::Role;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::{client::IntoClientRequest, Message};

use crate::{journey::SUBMIT, story, TestApp};

/// POSTs with `Accept: application/graphql-response+json`; returns (status, body).
async fn post(app: &TestApp, body: Value) -> (u16, Value) {
    let r = app
        .client
        .post(format!("{}/graphql", app.url))
        .header("accept", "application/graphql-response+json")
        .json(&body)
        .send()
        .await
        .expect("the server answers");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"].as_str().unwrap_or("")
}

async fn still_serving(app: &TestApp) {
    let d = app.ok(None, "{ evaluationCriteria { version } }", json!({})).await;
    assert!(d["evaluationCriteria"]["version"].as_i64().is_some());
}

story!(deeply_nested_values_and_types_are_refused_not_a_crash);
async fn deeply_nested_values_and_types_are_refused_not_a_crash(app: TestApp) {
    let n = 5000;
    let (open, close) = ("[".repeat(n), "]".repeat(n));
    let objects = format!("{}1{}", "{a:".repeat(n), "}".repeat(n));
    let documents = [
        // An argument, on a field and an argument name that do not even exist.
        format!("{{ nope(x: {open}1{close}) }}"),
        format!("{{ proposals(filter: {objects}) {{ totalCount }} }}"),
        // A default value and a variable type.
        format!("query($v: Int = {open}1{close}) {{ __typename }}"),
        format!("query($v: {open}Int{close}) {{ __typename }}"),
    ];
    for doc in &documents {
        let (status, body) = post(&app, json!({"query": doc})).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(code(&body), "GRAPHQL_PARSE_FAILED", "{body}");
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("nest"), "{body}");
    }
    // The same over GET, as an <img> tag would send it.
    let r = app
        .client
        .get(format!("{}/graphql", app.url))
        .query(&[("query", documents[0].as_str())])
        .send()
        .await
        .expect("the server answers a GET");
    assert!(r.status().is_success() || r.status().is_client_error(), "{}", r.status());
    let body: Value = r.json().await.unwrap();
    assert_eq!(code(&body), "GRAPHQL_PARSE_FAILED");
    // A document of megabytes of comments is not read through.
    let comments = format!("{{ __typename }}\n{}", "# 注释注释注释注释\n".repeat(200_000));
    let (status, body) = post(&app, json!({"query": comments})).await;
    assert_eq!((status, code(&body)), (400, "GRAPHQL_PARSE_FAILED"), "{body}");
    still_serving(&app).await;
}

/// `query { viewer { ...F<n> } }` where each fragment spreads the one before it twice: 2^n selections.
fn fan_out(n: usize) -> String {
    let mut doc = format!("query {{ viewer {{ ...F{n} }} }} fragment F0 on User {{ name }}");
    for k in 1..=n {
        doc.push_str(&format!(" fragment F{k} on User {{ ...F{p} ...F{p} }}", p = k - 1));
    }
    doc
}

story!(fragment_fan_out_is_refused_before_it_is_spread);
async fn fragment_fan_out_is_refused_before_it_is_spread(app: TestApp) {
    let start = Instant::now();
    let (status, body) = post(&app, json!({"query": fan_out(30)})).await;
    assert_eq!((status, code(&body)), (400, "GRAPHQL_VALIDATION_FAILED"), "{body}");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("selects"), "{body}");
    assert!(start.elapsed() < Duration::from_secs(5), "refused at once, not after spreading: {:?}", start.elapsed());
    // The same document over WebSocket, where the executor parses the text itself.
    let mut ws = ws_connect(&app, None).await;
    ws_send(&mut ws, json!({"id": "f", "type": "subscribe", "payload": {"query": fan_out(30)}})).await;
    let reply = ws_next(&mut ws).await;
    assert_eq!(reply["type"], "error", "refused before it ran: an `error` message (graphql-transport-ws): {reply}");
    assert_eq!(reply["payload"][0]["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED", "{reply}");
    // A small fan-out is an ordinary document.
    let (status, body) = post(&app, json!({"query": fan_out(3)})).await;
    assert_eq!(status, 200, "{body}");
    still_serving(&app).await;
}

story!(cost_counts_page_sizes_and_aliases);
async fn cost_counts_page_sizes_and_aliases(app: TestApp) {
    let attack = format!(
        "{{ {} }}",
        (0..40)
            .map(|i| format!(
                "a{i}: proposals(first: 100) {{ edges {{ node {{ id title events(first: 100) {{ edges {{ node {{ kind createdAt }} }} }} }} }} }}"
            ))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let (status, body) = post(&app, json!({"query": attack})).await;
    assert_eq!((status, code(&body)), (400, "COST_LIMIT_EXCEEDED"), "{body}");
    let ext = &body["errors"][0]["extensions"];
    assert!(ext["cost"].as_u64().unwrap() > 1_000_000 && ext["limit"] == 10_000, "{body}");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("10000"), "the message says the limit: {body}");
    // The page size may come from a variable.
    let q = "query($n: Int) { proposals(first: $n) { edges { node { id events(first: $n) { edges { node { kind } } } } } } }";
    let (status, body) = post(&app, json!({"query": q, "variables": {"n": 100}})).await;
    assert_eq!((status, code(&body)), (400, "COST_LIMIT_EXCEEDED"), "{body}");
    let (status, body) = post(&app, json!({"query": q, "variables": {"n": 10}})).await;
    assert_eq!(status, 200, "small pages of the same query run: {body}");
    // A lower ceiling is a setting.
    let strict = TestApp::start_with(app.backend, |c| c.max_query_cost = 50).await.unwrap();
    let (status, body) =
        post(&strict, json!({"query": "{ proposals(first: 20) { edges { node { id title } } } }"})).await;
    assert_eq!((status, code(&body)), (400, "COST_LIMIT_EXCEEDED"), "{body}");
    let (status, _) = post(&strict, json!({"query": "{ proposals(first: 5) { edges { node { id title } } } }"})).await;
    assert_eq!(status, 200);
}

story!(client_mistakes_are_client_errors_never_internal);
async fn client_mistakes_are_client_errors_never_internal(app: TestApp) {
    let cases = [
        (json!({"query": "query($id: ID!) { proposal(id: $id) { id } }"}), "BAD_USER_INPUT"),
        (json!({"query": "query A { __typename }", "operationName": "B"}), "BAD_REQUEST"),
        (json!({"query": "query A { __typename } query B { __typename }"}), "BAD_REQUEST"),
        (
            json!({"query": format!("{{ viewer {} {{ name }} }}", "@include(if: true) ".repeat(17))}),
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (
            json!({"query": "{ viewer { ...A } } fragment A on User { ...B } fragment B on User { ...A }"}),
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (json!({"query": "{ proposals(first: 5000000000) { totalCount } }"}), "GRAPHQL_VALIDATION_FAILED"),
    ];
    for (request, expected) in cases {
        let (status, body) = post(&app, request.clone()).await;
        assert_eq!((status, code(&body)), (400, expected), "{request} → {body}");
        assert!(body.get("data").is_none(), "a request error has no data: {body}");
    }
    // A nullable variable left out is null, as the spec says, not an error.
    let (status, body) =
        post(&app, json!({"query": "query($n: Int) { proposals(first: $n) { totalCount } }", "variables": {}})).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["data"]["proposals"]["totalCount"].is_i64(), "{body}");
    still_serving(&app).await;
}

story!(non_null_fields_are_never_left_out);
async fn non_null_fields_are_never_left_out(app: TestApp) {
    // A page size out of range deep inside a list is refused before anything runs (it used to leave the
    // non-null `events` out of each proposal).
    let q = "query($n: Int) { techniques(first: 2) { edges { node { sourceProposals { id events(first: $n) { totalCount } } } } } }";
    let (status, body) = post(&app, json!({"query": q, "variables": {"n": 1000}})).await;
    assert_eq!((status, code(&body)), (400, "GRAPHQL_VALIDATION_FAILED"), "{body}");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("between 0 and 100"), "{body}");
    // An error in a non-null root field during execution: data is null, not an object without the field.
    let long = "余".repeat(20_001);
    let (status, body) =
        post(&app, json!({"query": "query($t: String!) { evaluationCriteria { version } similarProposals(text: $t) { score } }", "variables": {"t": long}})).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["data"].is_null(), "{body}");
    assert_eq!(code(&body), "VALIDATION_FAILED", "{body}");
}

story!(search_cursors_far_past_the_end_are_empty_pages);
async fn search_cursors_far_past_the_end_are_empty_pages(app: TestApp) {
    let token = app.user("王师傅", Role::Worker, Some("宝山钢铁示范厂"), None, None).await;
    app.ok(
        Some(&token),
        SUBMIT,
        json!({"input": {"proposal": {"title": "余热回收", "body": "转炉余热回收发电。", "category": "ENERGY_SAVING"}}}),
    )
    .await;
    let cursor = |text: &str| URL_SAFE_NO_PAD.encode(text);
    for (query, list, far) in [
        (
            "{ searchTechniques(query: \"余热\", after: $a) { totalCount edges { node { id } } } }",
            "searchTechniques.RELEVANCE",
            "o10000000000",
        ),
        (
            "{ searchProposals(query: \"余热\", after: $a) { totalCount edges { node { id } } } }",
            "searchProposals.RELEVANCE",
            "o10000000000",
        ),
        ("{ proposals(after: $a) { totalCount edges { node { id } } } }", "proposals", "k0"),
    ] {
        let query = format!("query($a: String) {}", query);
        let d = app.gql(None, &query, json!({"a": cursor(&format!("gl1|{list}|{far}"))})).await;
        assert!(d.get("errors").is_none(), "{d}");
        let conn = d["data"].as_object().unwrap().values().next().unwrap();
        assert_eq!(conn["edges"], json!([]), "{d}");
        let bad_ones = [
            cursor(&format!("gl1|{list}|o9223372036854775807")),
            cursor(&format!("gl1|{list}|k-5")),
            cursor("gl1|techniquesX|k1"),
            STANDARD.encode("o:1"),
        ];
        for bad in bad_ones {
            let d = app.gql(None, &query, json!({"a": bad})).await;
            assert_eq!(code(&d), "GRAPHQL_VALIDATION_FAILED", "refused before it runs: {bad}: {d}");
            assert!(d.get("data").is_none(), "{d}");
        }
    }
    still_serving(&app).await;
}

story!(metrics_labels_do_not_grow_with_client_chosen_names);
async fn metrics_labels_do_not_grow_with_client_chosen_names(app: TestApp) {
    let size = |app: &TestApp| {
        let url = format!("{}/metrics", app.url);
        let client = app.client.clone();
        async move { client.get(url).send().await.unwrap().text().await.unwrap() }
    };
    for _ in 0..3 {
        app.gql(None, "query Known { __typename }", json!({})).await;
    }
    let before = size(&app).await.len();
    for i in 0..300 {
        app.gql(None, &format!("query Op{i} {{ __typename }}"), json!({})).await;
    }
    let text = size(&app).await;
    assert!(!text.contains("operation=\"Op1\""), "a name seen once is not a label");
    assert!(text.contains("operation=\"other\""));
    assert!(text.len() < before + 4_000, "{} bytes, {} before", text.len(), before);
}

story!(csv_exports_carry_no_formulas);
async fn csv_exports_carry_no_formulas(app: TestApp) {
    let admin = app.user("平台管理员", Role::Admin, None, None, None).await;
    let worker = app.user("王师傅", Role::Worker, Some("宝山钢铁示范厂"), None, None).await;
    let formulas =
        ["=HYPERLINK(\"http://evil.example\",\"点我\")", "+cmd|' /C calc'!A0", "@SUM(A1:A9)", "-2+3", "\t=1"];
    for f in formulas {
        let d = app
            .ok(
                Some(&worker),
                SUBMIT,
                json!({"input": {"proposal": {"title": format!("{} 余热", f.trim_start()), "body": format!("{f}\n转炉余热回收。"),
                    "tags": [f.trim()], "category": "ENERGY_SAVING"}}}),
            )
            .await;
        assert_eq!(d["submitProposal"]["userErrors"], json!([]), "{d}");
    }
    let r = app.client.get(format!("{}/export/proposals.csv", app.url)).bearer_auth(&admin).send().await.unwrap();
    let text = r.text().await.unwrap();
    let rows = crate::harness::parse_csv(text.trim_start_matches('\u{feff}'));
    assert_eq!(rows.len(), 1 + formulas.len());
    for row in &rows {
        for cell in row {
            assert!(
                !(cell.starts_with(['=', '+', '@', '\t', '\r'])
                    || cell.starts_with('-') && cell.parse::<f64>().is_err()),
                "a cell Excel would run: {cell:?}"
            );
        }
    }
    assert!(rows.iter().any(|r| r.iter().any(|c| c.starts_with("'=HYPERLINK"))), "the text is kept, neutralised");
}

async fn ws_connect(
    app: &TestApp,
    token: Option<&str>,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    ws_connect_at(&app.url, token).await
}

/// A graphql-transport-ws connection to the server at `base`, initialised with `token`.
pub async fn ws_connect_at(
    base: &str,
    token: Option<&str>,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let url = format!("{}/graphql/ws", base.replace("http://", "ws://"));
    let mut req = url.into_client_request().unwrap();
    req.headers_mut().insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.expect("websocket connects");
    let payload = token.map(|t| json!({"Authorization": format!("Bearer {t}")})).unwrap_or(json!({}));
    ws.send(Message::text(json!({"type": "connection_init", "payload": payload}).to_string())).await.unwrap();
    let ack = ws_next(&mut ws).await;
    assert_eq!(ack["type"], "connection_ack", "{ack}");
    ws
}

pub async fn ws_send<S: SinkExt<Message> + Unpin>(ws: &mut S, v: Value)
where
    S::Error: std::fmt::Debug,
{
    ws.send(Message::text(v.to_string())).await.unwrap();
}

/// The next message about subscription `id` (others are skipped), or the close.
pub async fn ws_about<S: StreamExt<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin>(
    ws: &mut S,
    id: &str,
) -> Value {
    loop {
        let m = ws_next(ws).await;
        if m["id"] == id || m.get("close").is_some() || m.get("closed").is_some() {
            return m;
        }
    }
}

/// Waits until the server has read everything sent before: a connection's messages pass in order, so its
/// answer to a ping comes after them.
pub async fn ws_sync<S>(ws: &mut S)
where
    S: StreamExt<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + SinkExt<Message> + Unpin,
    <S as futures_util::Sink<Message>>::Error: std::fmt::Debug,
{
    ws_send(ws, json!({"type": "ping"})).await;
    while ws_next(ws).await["type"] != "pong" {}
}

/// The next text message as JSON, or `{"close": code}` when the server closes.
pub async fn ws_next<S: StreamExt<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin>(
    ws: &mut S,
) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next()).await.expect("an answer within 10 s");
        match msg {
            Some(Ok(Message::Text(t))) => return serde_json::from_str(&t).unwrap(),
            Some(Ok(Message::Close(frame))) => return json!({"close": frame.map(|f| u16::from(f.code))}),
            Some(Ok(_)) => continue,
            other => return json!({"closed": format!("{other:?}")}),
        }
    }
}

const EVENTS: &str = "subscription($after: Int) { proposalEvents(after: $after) { sequence kind } }";

story!(websocket_connections_are_held_to_their_limits);
async fn websocket_connections_are_held_to_their_limits(app: TestApp) {
    let app = app
        .restarted_with(|c| {
            c.ws_init_timeout_secs = 1;
            c.ws_max_subscriptions = 3;
            c.ws_max_subscriptions_per_token = 5;
            c.ws_max_replay = 5;
            c.ws_messages_per_second = 5.0;
            c.rate_limit_burst_secs = 4.0;
        })
        .await;
    let worker = app.user("王师傅", Role::Worker, Some("宝山钢铁示范厂"), None, None).await;
    for i in 0..7 {
        app.ok(
            Some(&worker),
            SUBMIT,
            json!({"input": {"proposal": {"title": format!("余热回收{i}"), "body": "转炉余热回收发电。", "category": "ENERGY_SAVING"}}}),
        )
        .await;
    }

    // A connection that never sends connection_init is closed with 4408.
    let url = format!("{}/graphql/ws", app.url.replace("http://", "ws://"));
    let mut req = url.clone().into_client_request().unwrap();
    req.headers_mut().insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse().unwrap());
    let (mut silent, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    assert_eq!(ws_next(&mut silent).await, json!({"close": 4408}));

    // Per connection: three subscriptions run; the fourth is refused, and the connection stays.
    let mut ws = ws_connect(&app, Some(&worker)).await;
    for id in ["1", "2", "3"] {
        ws_send(&mut ws, json!({"id": id, "type": "subscribe", "payload": {"query": EVENTS}})).await;
    }
    ws_send(&mut ws, json!({"id": "4", "type": "subscribe", "payload": {"query": EVENTS}})).await;
    let refused = ws_about(&mut ws, "4").await;
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(refused["id"], "4");
    assert_eq!(refused["payload"][0]["extensions"]["code"], "TOO_MANY_SUBSCRIPTIONS", "{refused}");
    // Completing one frees its place.
    ws_send(&mut ws, json!({"id": "1", "type": "complete"})).await;
    ws_send(&mut ws, json!({"id": "5", "type": "subscribe", "payload": {"query": EVENTS, "variables": {"after": 0}}}))
        .await;
    // Replay reaches back at most ws_max_replay events: the 7 submissions made more.
    let reply = ws_about(&mut ws, "5").await;
    assert_eq!(reply["type"], "next", "{reply}");
    let error = &reply["payload"]["errors"][0];
    assert!(error["message"].as_str().unwrap().contains("more than 5 events"), "{reply}");
    assert_eq!(error["extensions"]["code"], "VALIDATION_FAILED", "{reply}");
    assert_eq!(ws_about(&mut ws, "5").await["type"], "complete");
    // An id that is already running closes the connection with 4409.
    ws_send(&mut ws, json!({"id": "2", "type": "subscribe", "payload": {"query": EVENTS}})).await;
    assert_eq!(ws_about(&mut ws, "none").await, json!({"close": 4409}));

    // Per token, across connections: 5 in all (the closed connection's places were given back).
    let mut a = ws_connect(&app, Some(&worker)).await;
    let mut b = ws_connect(&app, Some(&worker)).await;
    for id in ["1", "2", "3"] {
        ws_send(&mut a, json!({"id": id, "type": "subscribe", "payload": {"query": EVENTS}})).await;
    }
    ws_sync(&mut a).await;
    for id in ["1", "2"] {
        ws_send(&mut b, json!({"id": id, "type": "subscribe", "payload": {"query": EVENTS}})).await;
    }
    ws_sync(&mut b).await;
    ws_send(&mut b, json!({"id": "3", "type": "subscribe", "payload": {"query": EVENTS}})).await;
    let refused = ws_about(&mut b, "3").await;
    assert_eq!(refused["payload"][0]["extensions"]["code"], "TOO_MANY_SUBSCRIPTIONS", "{refused}");
    assert!(refused["payload"][0]["message"].as_str().unwrap().contains("account"), "{refused}");

    // A flood of messages closes the connection with 4429.
    let mut flood = ws_connect(&app, None).await;
    for _ in 0..200 {
        if flood.send(Message::text(json!({"type": "ping"}).to_string())).await.is_err() {
            break;
        }
    }
    let mut closed = None;
    for _ in 0..250 {
        let m = ws_next(&mut flood).await;
        if m.get("close").is_some() || m.get("closed").is_some() {
            closed = Some(m);
            break;
        }
    }
    assert_eq!(closed, Some(json!({"close": 4429})));
    still_serving(&app).await;
}

story!(figures_do_not_tell_a_reviewer_who_wrote_a_proposal_under_review);
async fn figures_do_not_tell_a_reviewer_who_wrote_a_proposal_under_review(app: TestApp) {
    let c = crate::journey::cast(&app).await;
    let (id, _) = crate::journey::evaluated_proposal(&app, &c, "高炉煤气余压发电").await;
    let author_id = app.ok(Some(&c.worker), "{ viewer { id } }", json!({})).await["viewer"]["id"].clone();
    // The author's points moved at submission; the reviewer cannot read them, through any path.
    let d = app
        .ok(
            Some(&c.reviewer1),
            "query($a: ID!) { node(id: $a) { ... on User { name points greenSkillCredits pointsLedger { points } } } }",
            json!({"a": author_id}),
        )
        .await;
    assert!(d["node"]["points"].is_null() && d["node"]["greenSkillCredits"].is_null(), "{d}");
    assert_eq!(d["node"]["pointsLedger"], json!([]), "{d}");
    let mine = app.ok(Some(&c.worker), "{ viewer { points } }", json!({})).await;
    assert!(mine["viewer"]["points"].as_i64().unwrap() > 0, "the author sees their own points: {mine}");
    // Grouped by team with a filter that isolates the proposal: its team is not named while it is under
    // review, but the totals still count it.
    let q = "{ impactSummary(groupBy: TEAM, filter: {category: ENERGY_SAVING}) { totals { proposals } groups { label figures { proposals } }
        leaderboard(of: WORKERS) { name points } teams: leaderboard(of: TEAMS) { name } } }";
    for token in [&c.reviewer1, &c.lead, &c.admin] {
        let d = app.ok(Some(token), q, json!({})).await;
        assert_eq!(d["impactSummary"]["totals"]["proposals"], 1, "{d}");
        assert_eq!(d["impactSummary"]["groups"], json!([]), "no team is named for a proposal under review: {d}");
        assert_eq!(d["impactSummary"]["leaderboard"], json!([]), "no worker ranks by a proposal under review: {d}");
        assert_eq!(d["impactSummary"]["teams"], json!([]), "{d}");
    }
    // Once decided, the team and the worker appear.
    let v = app.ok(Some(&c.lead), "query($id: ID!) { proposal(id: $id) { version } }", json!({"id": id})).await
        ["proposal"]["version"]
        .clone();
    let d = app
        .ok(
            Some(&c.lead),
            crate::journey::DECIDE,
            json!({"input": {"proposalId": id, "expectedVersion": v, "decision": "ACCEPT", "reason": "可行"}}),
        )
        .await;
    assert_eq!(d["decideProposal"]["userErrors"], json!([]), "{d}");
    let d = app.ok(Some(&c.reviewer1), q, json!({})).await;
    assert_eq!(d["impactSummary"]["groups"][0]["label"], "炼钢一班", "{d}");
    assert_eq!(d["impactSummary"]["leaderboard"][0]["name"], "王师傅", "{d}");
}

story!(people_are_not_enumerable);
async fn people_are_not_enumerable(app: TestApp) {
    let worker = app.user("王师傅", Role::Worker, Some("宝山钢铁示范厂"), Some("炼钢一班"), None).await;
    let colleague = app.user("李工", Role::Worker, Some("宝山钢铁示范厂"), None, None).await;
    let outsider = app.user("外厂工人", Role::Worker, Some("河北另一钢厂"), None, None).await;
    let id = app.ok(Some(&worker), "{ viewer { id } }", json!({})).await["viewer"]["id"].clone();
    let q = "query($id: ID!) { node(id: $id) { ... on User { name team { name } } } }";
    // Anonymous and other enterprises get null for every user id, as for one that does not exist.
    for n in 1..=5 {
        let some = greenline::graphql::ids::encode("User", n).0;
        assert!(app.ok(None, q, json!({"id": some})).await["node"].is_null());
        assert!(app.ok(Some(&outsider), q, json!({"id": some})).await["node"].is_null() || n == 3);
    }
    let d = app.ok(Some(&colleague), q, json!({"id": id})).await;
    assert_eq!(d["node"]["name"], "王师傅", "a colleague finds them: {d}");
    assert_eq!(d["node"]["team"]["name"], "炼钢一班");
}

story!(control_characters_are_refused_with_the_right_field);
async fn control_characters_are_refused_with_the_right_field(app: TestApp) {
    let worker = app.user("王师傅", Role::Worker, Some("宝山钢铁示范厂"), Some("炼钢一班"), None).await;
    let base = json!({"title": "余热回收", "body": "转炉余热回收发电。\n第二段\t缩进。", "category": "ENERGY_SAVING"});
    let with = |field: &str, value: Value| {
        let mut p = base.clone();
        p[field] = value;
        p
    };
    for (proposal, field) in [
        (with("title", json!("余热\u{0}回收")), "proposal.title"),
        (with("title", json!("两行\n标题")), "proposal.title"),
        (with("body", json!("正文\u{7}响铃")), "proposal.body"),
        (with("tags", json!(["余热", "\u{1b}[31m红色"])), "proposal.tags"),
        (with("externalId", json!("OA-1\u{9b}")), "proposal.externalId"),
        (with("onBehalfOf", json!("张\u{202e}三")), "proposal.onBehalfOf"),
    ] {
        let d = app.ok(Some(&worker), SUBMIT, json!({"input": {"proposal": proposal}})).await;
        let errors = &d["submitProposal"]["userErrors"];
        assert_eq!(errors[0]["code"], "VALIDATION_FAILED", "{proposal}: {d}");
        let last = errors[0]["field"].as_array().and_then(|a| a.last()).cloned();
        assert_eq!(last, Some(json!(field.rsplit('.').next().unwrap())), "{proposal}: {d}");
        assert!(d["submitProposal"]["proposal"].is_null());
    }
    // Line breaks and tabs in a body are text.
    let d = app.ok(Some(&worker), SUBMIT, json!({"input": {"proposal": base}})).await;
    assert_eq!(d["submitProposal"]["userErrors"], json!([]), "{d}");
}

const RESPOND: &str =
    "mutation($input: RespondToCoAuthorInvitationInput!) { respondToCoAuthorInvitation(input: $input) {
    proposal { id authors { name } } userErrors { code message } } }";

story!(co_authors_are_invited_and_must_accept);
async fn co_authors_are_invited_and_must_accept(app: TestApp) {
    let c = crate::journey::cast(&app).await;
    let outsider = app.user("外厂工人", Role::Worker, Some("河北另一钢厂"), None, None).await;
    let outsider_id = app.ok(Some(&outsider), "{ viewer { id } }", json!({})).await["viewer"]["id"].clone();
    let submit = |co: Vec<Value>| json!({"input": {"proposal": {"title": "余热回收", "body": "转炉余热回收发电。", "category": "ENERGY_SAVING", "coAuthorIds": co}}});
    // Another enterprise's worker cannot be named.
    let d = app.ok(Some(&c.worker), SUBMIT, submit(vec![outsider_id])).await;
    assert_eq!(d["submitProposal"]["userErrors"][0]["code"], "VALIDATION_FAILED", "{d}");
    assert_eq!(d["submitProposal"]["userErrors"][0]["field"], json!(["input", "coAuthorIds"]), "{d}");
    // Naming a reviewer does not make them an author: no points, no conflict of interest, until they say yes.
    let d = app.ok(Some(&c.worker), SUBMIT, submit(vec![c.reviewer1_id.clone(), c.coauthor_id.clone()])).await;
    let p = &d["submitProposal"]["proposal"];
    assert_eq!(
        p["authors"],
        json!([{"name": "王师傅", "user": {"id": app.ok(Some(&c.worker), "{ viewer { id } }", json!({})).await["viewer"]["id"]}}])
    );
    let id = p["id"].clone();
    let points = |t: &str| {
        let t = t.to_owned();
        let app = &app;
        async move { app.ok(Some(&t), "{ viewer { points } }", json!({})).await["viewer"]["points"].as_i64().unwrap() }
    };
    assert_eq!(points(&c.reviewer1).await, 0);
    let d = app
        .ok(
            Some(&c.lead),
            "mutation($input: AssignReviewersInput!) { assignReviewers(input: $input) { userErrors { code } } }",
            json!({"input": {"proposalId": id, "expectedVersion": p["version"], "reviewerIds": [c.reviewer1_id]}}),
        )
        .await;
    assert_eq!(d["assignReviewers"]["userErrors"], json!([]), "an invitation is no conflict of interest: {d}");
    // The invited reviewer now reviews it, and cannot join its authors.
    let d = app.ok(Some(&c.reviewer1), RESPOND, json!({"input": {"proposalId": id, "accept": true}})).await;
    assert_eq!(d["respondToCoAuthorInvitation"]["userErrors"][0]["code"], "CONFLICT_OF_INTEREST", "{d}");
    // Someone not invited gets NOT_FOUND; declining closes the invitation; a second answer finds none.
    let d = app.ok(Some(&c.reviewer2), RESPOND, json!({"input": {"proposalId": id, "accept": true}})).await;
    assert_eq!(d["respondToCoAuthorInvitation"]["userErrors"][0]["code"], "NOT_FOUND", "{d}");
    let d = app.ok(Some(&c.coauthor), RESPOND, json!({"input": {"proposalId": id, "accept": false}})).await;
    assert_eq!(d["respondToCoAuthorInvitation"], json!({"proposal": null, "userErrors": []}), "{d}");
    let d = app.ok(Some(&c.coauthor), RESPOND, json!({"input": {"proposalId": id, "accept": true}})).await;
    assert_eq!(d["respondToCoAuthorInvitation"]["userErrors"][0]["code"], "NOT_FOUND", "{d}");
    let inv = app.ok(Some(&c.coauthor), "{ viewer { coAuthorInvitations { title } } }", json!({})).await;
    assert_eq!(inv["viewer"]["coAuthorInvitations"], json!([]));
    assert_eq!(points(&c.coauthor).await, 0);
    // Nobody else sees someone's invitations.
    let coauthor_id = c.coauthor_id.clone();
    let d = app
        .ok(
            Some(&c.worker),
            "query($id: ID!) { node(id: $id) { ... on User { coAuthorInvitations { title } } } }",
            json!({"id": coauthor_id}),
        )
        .await;
    assert_eq!(d["node"]["coAuthorInvitations"], json!([]));
}

story!(a_database_that_went_away_is_a_503_to_retry_never_a_401_or_internal);
async fn a_database_that_went_away_is_a_503_to_retry_never_a_401_or_internal(app: TestApp) {
    let worker = app.user("王师傅", Role::Worker, Some("宝山钢铁示范厂"), None, None).await;
    app.db().close().await;
    let ask = |token: Option<&str>, query: &str| {
        let mut req = app.client.post(format!("{}/graphql", app.url)).json(&json!({"query": query}));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send()
    };
    // The token was never looked up, so its check needs the database: that is a fault, not a verdict.
    for (token, query) in [
        (Some(worker.as_str()), "{ viewer { name } }"),
        (None, "{ proposals { totalCount } }"),
        (None, "{ evaluationCriteria { version } }"),
    ] {
        let r = ask(token, query).await.unwrap();
        assert_eq!(r.status(), 503, "{query}");
        assert_eq!(r.headers()["retry-after"], "1");
        let body: Value = r.json().await.unwrap();
        assert_eq!(code(&body), "SERVICE_UNAVAILABLE", "{body}");
        assert!(!body.to_string().contains("pool"), "no internal detail: {body}");
    }
    let r = app.client.get(format!("{}/export/proposals.csv", app.url)).bearer_auth(&worker).send().await.unwrap();
    assert_eq!(r.status(), 503);
}

story!(websocket_credentials_in_every_common_shape_and_protocol_close_codes);
async fn websocket_credentials_in_every_common_shape_and_protocol_close_codes(app: TestApp) {
    let worker = app.user("王师傅", Role::Worker, Some("宝山钢铁示范厂"), None, None).await;
    let open = || async {
        let url = format!("{}/graphql/ws", app.url.replace("http://", "ws://"));
        let mut req = url.into_client_request().unwrap();
        req.headers_mut().insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse().unwrap());
        tokio_tungstenite::connect_async(req).await.unwrap().0
    };
    let init = |payload: Value| json!({"type": "connection_init", "payload": payload});
    // Accepted shapes, the scheme in any case.
    for payload in [
        json!({"Authorization": format!("Bearer {worker}")}),
        json!({"authorization": format!("bearer {worker}")}),
        json!({"headers": {"Authorization": format!("BEARER {worker}")}}),
    ] {
        let mut ws = open().await;
        ws_send(&mut ws, init(payload.clone())).await;
        assert_eq!(ws_next(&mut ws).await["type"], "connection_ack", "{payload}");
    }
    // A wrong token, or credentials in a shape that is not a bearer token: 4403, never anonymous.
    for payload in [
        json!({"Authorization": "Bearer nope"}),
        json!({"Authorization": worker}),
        json!({"headers": {"authorization": 42}}),
    ] {
        let mut ws = open().await;
        ws_send(&mut ws, init(payload.clone())).await;
        assert_eq!(ws_next(&mut ws).await, json!({"close": 4403}), "{payload}");
    }
    // Subscribing before connection_init: 4401; a message that is not the protocol's: 4400.
    let mut ws = open().await;
    ws_send(&mut ws, json!({"id": "1", "type": "subscribe", "payload": {"query": EVENTS}})).await;
    assert_eq!(ws_next(&mut ws).await, json!({"close": 4401}));
    let mut ws = open().await;
    ws_send(&mut ws, json!({"type": "nonsense"})).await;
    assert_eq!(ws_next(&mut ws).await, json!({"close": 4400}));
}
