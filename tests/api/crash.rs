//! Crash safety: a real `greenline serve` process takes concurrent submissions, is killed with SIGKILL in the
//! middle, and restarts. Every acknowledged submission must be there exactly once — retries with the same
//! idempotency keys included — and the restarted server's search must agree with the database.
//!
//! `GREENLINE_CRASH_SUBMISSIONS` sets how many (default 240; `scripts/crash` runs more).

use std::{process::Stdio, time::Duration};

use greenline::domain::organisation::Role;
use serde_json::{json, Value};

use crate::{
    harness::{gql_at, wait_healthy},
    journey::SUBMIT,
    story, TestApp,
};

fn spawn_server(app: &TestApp, port: u16) -> tokio::process::Child {
    let config = &app.state.services.config;
    tokio::process::Command::new(env!("CARGO_BIN_EXE_greenline"))
        .arg("serve")
        .env("GREENLINE_ADDR", format!("127.0.0.1:{port}"))
        .env("GREENLINE_DATABASE_URL", &config.database_url)
        .env("GREENLINE_STORAGE", &config.storage)
        .env("GREENLINE_INDEX_DIR", app.path("crash-index"))
        .env("GREENLINE_RATE_LIMIT_PER_TOKEN", "0")
        .env("GREENLINE_RATE_LIMIT_PER_IP", "0")
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

fn input(i: usize) -> Value {
    json!({"input": {"idempotencyKey": format!("crash-{i}"), "proposal": {
        "title": format!("断电测试第{i}号：空压机余热回收"), "body": "空压机余热回收用于职工浴室热水"}}})
}

story!(acknowledged_submissions_survive_sigkill_exactly_once);
async fn acknowledged_submissions_survive_sigkill_exactly_once(app: TestApp) {
    let n: usize = std::env::var("GREENLINE_CRASH_SUBMISSIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(240);
    let admin = app.user("平台管理员", Role::Admin, None, None, None).await;
    let mut workers = Vec::new();
    for w in 0..8 {
        workers.push(app.user(&format!("工人{w}"), Role::Worker, Some("宝山钢铁示范厂"), None, None).await);
    }
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
    let mut server = spawn_server(&app, port);
    wait_healthy(&client, &url).await;

    // All submissions at once; the server is killed once a quarter of them are acknowledged.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    for i in 0..n {
        let (client, url, token, tx) = (client.clone(), url.clone(), workers[i % workers.len()].clone(), tx.clone());
        tokio::spawn(async move {
            let body = client
                .post(format!("{url}/graphql"))
                .bearer_auth(&token)
                .json(&json!({"query": SUBMIT, "variables": input(i)}))
                .send()
                .await;
            let id = match body {
                Ok(r) => r
                    .json::<Value>()
                    .await
                    .ok()
                    .and_then(|b| b["data"]["submitProposal"]["proposal"]["id"].as_str().map(str::to_owned)),
                Err(_) => None,
            };
            let _ = tx.send((i, id));
        });
    }
    drop(tx);
    let mut acknowledged = std::collections::HashMap::new();
    let mut answered = 0;
    let mut killed = false;
    while let Some((i, id)) = rx.recv().await {
        answered += 1;
        if let Some(id) = id {
            acknowledged.insert(i, id);
        }
        if !killed && acknowledged.len() >= n / 4 {
            server.start_kill().unwrap();
            server.wait().await.unwrap();
            killed = true;
        }
    }
    assert_eq!(answered, n);
    assert!(killed, "the server was killed mid-way");
    let before = acknowledged.len();
    assert!(before < n, "some submissions were cut off by the kill ({before} of {n} acknowledged)");

    // Restart on the same database and index; every client retries with its idempotency key.
    let mut server = spawn_server(&app, port);
    wait_healthy(&client, &url).await;
    for i in 0..n {
        let token = &workers[i % workers.len()];
        let body = gql_at(&client, &url, Some(token), SUBMIT, input(i)).await;
        let id =
            body["data"]["submitProposal"]["proposal"]["id"].as_str().unwrap_or_else(|| panic!("retry {i}: {body}"));
        if let Some(first) = acknowledged.get(&i) {
            assert_eq!(first, id, "submission {i} was acknowledged as {first}, came back as {id}");
        }
    }
    // Exactly once each, in the database.
    let d = gql_at(&client, &url, Some(&admin), "{ proposals(filter: {status: SUBMITTED}) { totalCount } }", json!({}))
        .await;
    assert_eq!(d["data"]["proposals"]["totalCount"], n as i64, "no submission lost, none duplicated: {d}");
    // And search agrees once the restarted server has caught up with the feed.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let s =
            gql_at(&client, &url, Some(&admin), "{ searchProposals(query: \"断电测试\") { totalCount } }", json!({}))
                .await;
        if s["data"]["searchProposals"]["totalCount"] == n as i64 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "search disagrees with the database: {s}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "crash ({:?}): {n} concurrent submissions, SIGKILL after {before} acknowledged; after restart and retries: \
         {n} present, 0 lost, 0 duplicated, search agrees",
        app.backend
    );
    server.start_kill().unwrap();
    let _ = server.wait().await;
}
