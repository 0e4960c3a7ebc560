//! What GraphQL clients rely on beyond the core flows: automatic persisted queries and trusted documents
//! (over HTTP and WebSocket), compressed answers and request bodies, GraphQL JSON for every error whatever
//! the layer, graphql-transport-ws `error` messages. The client libraries themselves run against a real
//! server in `web-tests/clients.mjs` and `scripts/client-tests`.

use std::io::{Read, Write};

use greenline::domain::organisation::Role;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::{
    attacks::{ws_about, ws_connect_at, ws_next, ws_send, ws_sync},
    story, TestApp,
};

fn sha(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

fn apq(hash: &str) -> Value {
    json!({"persistedQuery": {"version": 1, "sha256Hash": hash}})
}

async fn post_at(app: &TestApp, url: &str, body: Value) -> (u16, Value) {
    let r = app.client.post(format!("{url}/graphql")).json(&body).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(data).unwrap();
    gz.finish().unwrap()
}

fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"].as_str().unwrap_or("")
}

story!(automatic_persisted_queries_register_after_checks_and_are_shared_by_instances);
async fn automatic_persisted_queries_register_after_checks_and_are_shared_by_instances(app: TestApp) {
    let worker = app.user("王师傅", Role::Worker, Some("宝山钢铁示范厂"), None, None).await;
    let query = "query Me { viewer { name role } }";
    let hash = sha(query);
    // Unknown hash: the client is asked for the text (Apollo's link retries with it).
    let (status, body) = post_at(&app, &app.url, json!({"extensions": apq(&hash)})).await;
    assert_eq!((status, code(&body)), (200, "PERSISTED_QUERY_NOT_FOUND"), "{body}");
    assert_eq!(body["errors"][0]["message"], "PersistedQueryNotFound");
    // Text and hash: runs and registers.
    let r = app
        .client
        .post(format!("{}/graphql", app.url))
        .bearer_auth(&worker)
        .json(&json!({"query": query, "extensions": apq(&hash)}))
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["data"]["viewer"]["name"], "王师傅", "{body}");
    // The hash alone now runs, over POST and over GET (Apollo's useGETForHashedQueries).
    let r = app
        .client
        .get(format!("{}/graphql", app.url))
        .query(&[("extensions", apq(&hash).to_string()), ("operationName", "Me".into())])
        .bearer_auth(&worker)
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["data"]["viewer"]["role"], "WORKER", "{body}");
    // Another instance on the same database knows it (the registrations are in the database).
    let sibling = app.sibling("index-2").await;
    let (_, body) = post_at(&app, &sibling.url, json!({"extensions": apq(&hash)})).await;
    assert_eq!(body["data"]["viewer"], Value::Null, "anonymous, but the document was found: {body}");
    assert!(body.get("errors").is_none(), "{body}");
    // A hash that is not the text's is refused and registers nothing.
    let other = "{ viewer { id } }";
    let wrong = sha("something else");
    let (status, body) = post_at(&app, &app.url, json!({"query": other, "extensions": apq(&wrong)})).await;
    assert_eq!((status, code(&body)), (400, "PERSISTED_QUERY_HASH_MISMATCH"), "{body}");
    let (_, body) = post_at(&app, &app.url, json!({"extensions": apq(&wrong)})).await;
    assert_eq!(code(&body), "PERSISTED_QUERY_NOT_FOUND");
    // A document that does not validate is answered as usual and never registered.
    let bad = "{ nothingHere }";
    let (_, body) = post_at(&app, &app.url, json!({"query": bad, "extensions": apq(&sha(bad))})).await;
    assert_eq!(code(&body), "GRAPHQL_VALIDATION_FAILED", "{body}");
    let (_, body) = post_at(&app, &app.url, json!({"extensions": apq(&sha(bad))})).await;
    assert_eq!(code(&body), "PERSISTED_QUERY_NOT_FOUND", "{body}");
    // Malformed extensions are the client's mistakes.
    let (status, body) = post_at(&app, &app.url, json!({"extensions": apq("xyz")})).await;
    assert_eq!((status, code(&body)), (400, "BAD_REQUEST"));
    let (_, body) =
        post_at(&app, &app.url, json!({"extensions": {"persistedQuery": {"version": 2, "sha256Hash": hash}}})).await;
    assert_eq!(code(&body), "PERSISTED_QUERY_NOT_SUPPORTED");
    let (status, body) = post_at(&app, &app.url, json!({"variables": {}})).await;
    assert_eq!((status, code(&body)), (400, "BAD_REQUEST"), "no query and no id: {body}");
    drop(sibling);
}

story!(the_persisted_query_store_is_bounded);
async fn the_persisted_query_store_is_bounded(app: TestApp) {
    use greenline::db::persisted::MAX_PERSISTED;
    // A full store, written in one statement: registering 10,000 documents one by one held a write
    // transaction for ~20 s on PostgreSQL, and since transaction ids are the cluster's, every follower of
    // every database on the server waited for it (the feed settles below the oldest running transaction).
    let rows: Vec<String> = (0..MAX_PERSISTED).map(|i| format!("('{i:064x}', '{{ __typename }}', {i})")).collect();
    greenline::with_db!(app.db(), pool => {
        for chunk in rows.chunks(1000) {
            let sql = format!("insert into persisted_queries (hash, document, created_ms) values {}", chunk.join(", "));
            sqlx::query(&sql).execute(pool).await.unwrap();
        }
    });
    // Five more, through the store: each drops the oldest past the bound.
    app.db()
        .write(|s| {
            Box::pin(async move {
                for i in MAX_PERSISTED..MAX_PERSISTED + 5 {
                    s.persist_query(&format!("{i:064x}"), "{ __typename }", i).await?;
                }
                Ok(())
            })
        })
        .await
        .unwrap();
    let (oldest, newest) = app
        .db()
        .read(|s| {
            Box::pin(async move {
                let oldest = s.persisted_query(&format!("{:064x}", 4)).await?;
                let kept = s.persisted_query(&format!("{:064x}", 5)).await?;
                Ok((oldest, kept))
            })
        })
        .await
        .unwrap();
    assert_eq!(oldest, None, "the five oldest registrations made room");
    assert_eq!(newest.as_deref(), Some("{ __typename }"));
}

story!(trusted_documents_only_run_by_id_over_http_and_websocket);
async fn trusted_documents_only_run_by_id_over_http_and_websocket(app: TestApp) {
    let viewer_q = "query Viewer { viewer { name } }";
    let events_q = "subscription Events { proposalEvents { sequence kind } }";
    // A Relay-style manifest (id → text) with an md5-like id, and a document keyed by its SHA-256.
    let manifest = json!({"relay-viewer-1": viewer_q, sha(events_q): events_q, "submit": crate::journey::SUBMIT});
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("persisted-documents.json");
    std::fs::write(&path, manifest.to_string()).unwrap();
    let app = app
        .restarted_with(move |c| {
            c.trusted_documents = Some(path);
            c.only_trusted = true;
        })
        .await;
    let worker = app.user("王师傅", Role::Worker, Some("宝山钢铁示范厂"), None, None).await;
    let asked = |body: Value| app.client.post(format!("{}/graphql", app.url)).bearer_auth(&worker).json(&body).send();
    for body in [
        json!({"documentId": "relay-viewer-1"}),
        json!({"doc_id": "relay-viewer-1"}),
        json!({"documentId": format!("sha256:{}", sha(viewer_q))}),
        json!({"extensions": apq(&sha(viewer_q))}),
        json!({"query": viewer_q}),
    ] {
        let r: Value = asked(body.clone()).await.unwrap().json().await.unwrap();
        assert_eq!(r["data"]["viewer"]["name"], "王师傅", "{body}: {r}");
    }
    // Anything else is refused, with a code, and registers nothing.
    let other = "{ viewer { id } }";
    for body in [
        json!({"query": other}),
        json!({"query": other, "extensions": apq(&sha(other))}),
        json!({"documentId": "unknown"}),
        json!({"extensions": apq(&sha(other))}),
    ] {
        let r = asked(body.clone()).await.unwrap();
        let status = r.status().as_u16();
        let r: Value = r.json().await.unwrap();
        assert_eq!(code(&r), "TRUSTED_DOCUMENT_REQUIRED", "{body}: {r}");
        assert_eq!(status, 200, "a request error under application/json");
    }
    // The same over WebSocket: a trusted subscription by id runs; an ad-hoc one gets an `error` message.
    let mut ws = ws_connect_at(&app.url, Some(&worker)).await;
    ws_send(
        &mut ws,
        json!({"id": "a", "type": "subscribe", "payload": {"query": "subscription { proposalEvents { sequence } }"}}),
    )
    .await;
    let m = ws_about(&mut ws, "a").await;
    assert_eq!(
        (m["type"].as_str(), m["payload"][0]["extensions"]["code"].as_str()),
        (Some("error"), Some("TRUSTED_DOCUMENT_REQUIRED")),
        "{m}"
    );
    ws_send(&mut ws, json!({"id": "b", "type": "subscribe", "payload": {"documentId": sha(events_q)}})).await;
    ws_sync(&mut ws).await;
    let input = json!({"proposal": {"title": "空压机余热回收", "body": "空压机余热用于车间供暖。"}});
    let r: Value =
        asked(json!({"documentId": "submit", "variables": {"input": input}})).await.unwrap().json().await.unwrap();
    assert!(r["data"]["submitProposal"]["proposal"]["id"].is_string(), "{r}");
    let m = ws_about(&mut ws, "b").await;
    assert_eq!(m["type"], "next", "{m}");
    assert!(matches!(m["payload"]["data"]["proposalEvents"]["kind"].as_str(), Some("CREATED" | "SUBMITTED")), "{m}");
    // A server started with only trusted documents and no manifest does not start.
    let mut config = (*app.state.services.config).clone();
    config.trusted_documents = None;
    assert!(greenline::open(config).await.is_err());
}

story!(answers_are_compressed_and_compressed_bodies_read);
async fn answers_are_compressed_and_compressed_bodies_read(app: TestApp) {
    let query = json!({"query": "{ __schema { types { name description fields { name description } } } }"});
    let plain = app.client.post(format!("{}/graphql", app.url)).json(&query).send().await.unwrap();
    assert!(plain.headers().get("content-encoding").is_none());
    let plain = plain.bytes().await.unwrap();
    assert!(plain.len() > 10_000);
    for encoding in ["gzip", "br"] {
        let r = app
            .client
            .post(format!("{}/graphql", app.url))
            .header("accept-encoding", encoding)
            .json(&query)
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()["content-encoding"], encoding);
        let packed = r.bytes().await.unwrap();
        assert!(packed.len() * 3 < plain.len(), "{encoding}: {} of {} bytes", packed.len(), plain.len());
        let mut unpacked = Vec::new();
        match encoding {
            "gzip" => flate2::read::GzDecoder::new(&packed[..]).read_to_end(&mut unpacked).unwrap(),
            _ => brotli_decompressor::Decompressor::new(&packed[..], 4096).read_to_end(&mut unpacked).unwrap(),
        };
        assert_eq!(unpacked, plain, "{encoding}");
    }
    // Small answers are sent as they are.
    let r = app
        .client
        .post(format!("{}/graphql", app.url))
        .header("accept-encoding", "gzip")
        .json(&json!({"query": "{ __typename }"}))
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("content-encoding").is_none());
    // A gzip request body is read.
    let r = app
        .client
        .post(format!("{}/graphql", app.url))
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(gzip(json!({"query": "{ __typename }"}).to_string().as_bytes()))
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["data"]["__typename"], "Query");
}

story!(every_error_answer_is_graphql_json_with_a_code);
async fn every_error_answer_is_graphql_json_with_a_code(app: TestApp) {
    let app = app.restarted_with(|c| c.max_body_bytes = 64 * 1024).await;
    let graphql = format!("{}/graphql", app.url);
    let check = |r: reqwest::Response, status: u16, want: &'static str, media: &'static str| async move {
        assert_eq!(r.status().as_u16(), status);
        let ct = r.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(ct.starts_with(media), "{want}: {ct}");
        let body: Value = r.json().await.unwrap_or_else(|e| panic!("{want}: not JSON: {e}"));
        assert_eq!(code(&body), want, "{body}");
        assert!(body["errors"][0]["message"].as_str().is_some_and(|m| !m.is_empty()));
    };
    let strict = "application/graphql-response+json";
    // A server that refuses a body before reading it closes the connection after its answer; a connection
    // of its own for each such request, so that the next one does not meet the closed connection.
    let once = || reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    // Over the body limit as sent, and a small gzip body that expands past it.
    let big = format!("{{\"query\": \"{{ __typename }}\", \"x\": \"{}\"}}", "a".repeat(100 * 1024));
    let r = once()
        .post(&graphql)
        .header("content-type", "application/json")
        .header("accept", strict)
        .body(big.clone())
        .send()
        .await
        .unwrap();
    check(r, 413, "PAYLOAD_TOO_LARGE", strict).await;
    let r = once()
        .post(&graphql)
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(gzip(big.as_bytes()))
        .send()
        .await
        .unwrap();
    check(r, 413, "PAYLOAD_TOO_LARGE", "application/json").await;
    // An encoding the server does not read; a method it does not answer.
    let r = once()
        .post(&graphql)
        .header("content-type", "application/json")
        .header("content-encoding", "zstd")
        .body("{}")
        .send()
        .await
        .unwrap();
    check(r, 415, "UNSUPPORTED_MEDIA_TYPE", "application/json").await;
    let r = app.client.put(&graphql).header("accept", strict).send().await.unwrap();
    check(r, 405, "METHOD_NOT_ALLOWED", strict).await;
    // A 429 speaks the media type the client asked for.
    let app = app
        .restarted_with(|c| {
            c.rate_limit_per_ip = 0.1;
            c.rate_limit_burst_secs = 10.0;
        })
        .await;
    let graphql = format!("{}/graphql", app.url);
    let mut last = None;
    for _ in 0..3 {
        last = Some(
            app.client
                .post(&graphql)
                .header("accept", strict)
                .json(&json!({"query": "{ __typename }"}))
                .send()
                .await
                .unwrap(),
        );
    }
    check(last.unwrap(), 429, "RATE_LIMITED", strict).await;
}

story!(invalid_subscriptions_are_error_messages_with_codes);
async fn invalid_subscriptions_are_error_messages_with_codes(app: TestApp) {
    let worker = app.user("王师傅", Role::Worker, Some("宝山钢铁示范厂"), None, None).await;
    let mut ws = ws_connect_at(&app.url, Some(&worker)).await;
    for (id, query, want) in [
        ("1", "subscription { nothingHere }", "GRAPHQL_VALIDATION_FAILED"),
        ("2", "subscription {", "GRAPHQL_PARSE_FAILED"),
        ("3", "subscription A { proposalEvents { kind } } subscription B { proposalEvents { kind } }", "BAD_REQUEST"),
    ] {
        ws_send(&mut ws, json!({"id": id, "type": "subscribe", "payload": {"query": query}})).await;
        let m = ws_about(&mut ws, id).await;
        assert_eq!(m["type"], "error", "{query}: {m}");
        let errors = m["payload"].as_array().expect("an error message's payload is a list of errors");
        assert!(!errors.is_empty() && errors.iter().all(|e| e["extensions"]["code"].is_string()), "{m}");
        let codes: Vec<&str> = errors.iter().filter_map(|e| e["extensions"]["code"].as_str()).collect();
        assert!(codes.contains(&want), "{query}: {codes:?}");
    }
    // No `complete` follows an `error`; the connection stays usable.
    ws_send(&mut ws, json!({"type": "ping"})).await;
    assert_eq!(ws_next(&mut ws).await["type"], "pong");
    // Lower-case `bearer` works over HTTP as over WebSocket.
    let r: Value = app
        .client
        .post(format!("{}/graphql", app.url))
        .header("authorization", format!("bEaReR {worker}"))
        .json(&json!({"query": "{ viewer { name } }"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["data"]["viewer"]["name"], "王师傅");
}

story!(cursors_are_keys_bound_to_their_list_and_page_both_ways);
async fn cursors_are_keys_bound_to_their_list_and_page_both_ways(app: TestApp) {
    let worker = app.user("王师傅", Role::Worker, Some("宝山钢铁示范厂"), None, None).await;
    let submit = |n: usize| {
        let input =
            json!({"proposal": {"title": format!("第{n}号：空压机余热回收"), "body": "空压机余热用于车间供暖。"}});
        app.ok(Some(&worker), crate::journey::SUBMIT, json!({"input": input}))
    };
    for n in 0..5 {
        submit(n).await;
    }
    const PAGE: &str = "query($first: Int, $after: String, $last: Int, $before: String) {
        proposals(first: $first, after: $after, last: $last, before: $before) {
            totalCount edges { cursor node { id title } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }";
    let titles = |d: &Value| -> Vec<String> {
        d["proposals"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["title"].as_str().unwrap().to_owned())
            .collect()
    };
    let p1 = app.ok(Some(&worker), PAGE, json!({"first": 2})).await;
    assert_eq!(titles(&p1), ["第4号：空压机余热回收", "第3号：空压机余热回收"]);
    assert_eq!(p1["proposals"]["pageInfo"]["hasNextPage"], true);
    assert_eq!(p1["proposals"]["pageInfo"]["hasPreviousPage"], false);
    // A proposal submitted between two page loads does not push page 1's last item onto page 2.
    submit(5).await;
    let end = p1["proposals"]["pageInfo"]["endCursor"].clone();
    let p2 = app.ok(Some(&worker), PAGE, json!({"first": 2, "after": end})).await;
    assert_eq!(titles(&p2), ["第2号：空压机余热回收", "第1号：空压机余热回收"]);
    assert_eq!(p2["proposals"]["totalCount"], 6);
    // Backward from page 2's start: page 1 as it is now (the new proposal is before it, not in it).
    let start = p2["proposals"]["pageInfo"]["startCursor"].clone();
    let back = app.ok(Some(&worker), PAGE, json!({"last": 2, "before": start})).await;
    assert_eq!(titles(&back), ["第4号：空压机余热回收", "第3号：空压机余热回收"]);
    assert_eq!(back["proposals"]["pageInfo"]["hasPreviousPage"], true, "the new one is before");
    assert_eq!(back["proposals"]["pageInfo"]["hasNextPage"], true);
    // `last` alone: the end of the list.
    let tail = app.ok(Some(&worker), PAGE, json!({"last": 2})).await;
    assert_eq!(titles(&tail), ["第1号：空压机余热回收", "第0号：空压机余热回收"]);
    assert_eq!(tail["proposals"]["pageInfo"]["hasPreviousPage"], true);
    // A cursor of another list, or first and last together, is refused with a client code.
    let events_q = "query($id: ID!) { proposal(id: $id) { events(first: 1) { pageInfo { endCursor } } } }";
    let id = p1["proposals"]["edges"][0]["node"]["id"].clone();
    let events = app.ok(Some(&worker), events_q, json!({"id": id})).await;
    let foreign = events["proposal"]["events"]["pageInfo"]["endCursor"].clone();
    assert!(foreign.is_string(), "{events}");
    use base64::Engine;
    let technique = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("gl1|techniques|k1");
    for foreign in [foreign, json!(technique)] {
        let d = app.gql(Some(&worker), PAGE, json!({"first": 2, "after": foreign})).await;
        assert_eq!(code(&d), "GRAPHQL_VALIDATION_FAILED", "{d}");
    }
    let d = app.gql(Some(&worker), PAGE, json!({"first": 2, "last": 2})).await;
    assert!(matches!(code(&d), "BAD_USER_INPUT" | "VALIDATION_FAILED"), "{d}");
    // Search results page backward too.
    const SEARCH: &str = "query($first: Int, $after: String, $last: Int, $before: String) {
        searchProposals(query: \"余热\", first: $first, after: $after, last: $last, before: $before, sort: NEWEST) {
            totalCount edges { node { title } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }";
    let all = |d: &Value| -> Vec<String> {
        d["searchProposals"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["title"].as_str().unwrap().to_owned())
            .collect()
    };
    // The index follows the database: wait until it has all six.
    let mut s1 = Value::Null;
    for _ in 0..100 {
        s1 = app.ok(Some(&worker), SEARCH, json!({"first": 3})).await;
        if s1["searchProposals"]["totalCount"] == 6 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(s1["searchProposals"]["totalCount"], 6, "{s1}");
    let s2 = app
        .ok(Some(&worker), SEARCH, json!({"first": 3, "after": s1["searchProposals"]["pageInfo"]["endCursor"]}))
        .await;
    let s0 = app
        .ok(Some(&worker), SEARCH, json!({"last": 3, "before": s2["searchProposals"]["pageInfo"]["startCursor"]}))
        .await;
    assert_eq!(all(&s0), all(&s1));
    assert_eq!(s0["searchProposals"]["pageInfo"]["hasPreviousPage"], false);
    let tail = app.ok(Some(&worker), SEARCH, json!({"last": 3})).await;
    assert_eq!(all(&tail), all(&s2));
}

story!(the_schema_describes_itself_to_client_tooling);
async fn the_schema_describes_itself_to_client_tooling(app: TestApp) {
    let d = app
        .ok(
            None,
            "{ __schema { description queryType { name } mutationType { name } subscriptionType { name } }
               date: __type(name: \"Date\") { description specifiedByURL }
               event: __type(name: \"ProposalEvent\") { fields { name type { kind name ofType { name kind } } } } }",
            json!({}),
        )
        .await;
    let schema = &d["__schema"];
    assert_eq!(schema["description"], greenline::http::graphql::SCHEMA_DESCRIPTION);
    assert_eq!(
        (&schema["queryType"]["name"], &schema["mutationType"]["name"], &schema["subscriptionType"]["name"]),
        (&json!("Query"), &json!("Mutation"), &json!("Subscription"))
    );
    assert!(d["date"]["specifiedByURL"].as_str().is_some_and(|u| u.starts_with("https://")), "{d}");
    assert!(d["date"]["description"].as_str().unwrap().contains("YYYY-MM-DD"));
    let fields = d["event"]["fields"].as_array().unwrap();
    let field =
        |n: &str| fields.iter().find(|f| f["name"] == n).cloned().unwrap_or_else(|| panic!("ProposalEvent.{n}"));
    assert_eq!(field("id")["type"]["ofType"]["name"], "ID");
    assert_eq!(field("proposal")["type"]["name"], "Proposal");
    assert_eq!(field("kind")["type"]["ofType"], json!({"name": "EventKind", "kind": "ENUM"}));
}
