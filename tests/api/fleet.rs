//! Many instances and real faults (#17): the change feed takes no global lock and followers never skip or
//! repeat a row; a frozen object store costs uploads only, quickly and with a clear 503; a token changed
//! in the database stops working on every instance at once.

use std::{
    collections::BTreeSet,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use greenline::{
    db::{rows::FeedPosition, Db},
    domain::organisation::Role,
    error::AppError,
};
use serde_json::{json, Value};

use crate::{story, Backend, TestApp};

/// Feed rows of entity "probe" after `from` once every transaction older than theirs has ended (other
/// databases of the same server count too: transaction ids are the server's), within 10 s.
async fn settled_eventually(db: &Db, from: FeedPosition) -> Vec<(i64, bool)> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let rows = settled_after(db, from).await;
        if rows.iter().all(|(_, settled)| *settled) || std::time::Instant::now() > deadline {
            return rows;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Feed rows of entity "probe": the indexer reads past them.
async fn settled_after(db: &Db, from: FeedPosition) -> Vec<(i64, bool)> {
    db.read(move |s| Box::pin(async move { s.feed_after(from, 1000).await }))
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.entity == "probe")
        .map(|r| (r.entity_id, r.settled))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_writers_append_to_the_feed_at_once_and_followers_wait_for_the_older() {
    let Some(app) = TestApp::start(Backend::Postgres).await else { return };
    let Db::Postgres(pool, _) = app.db() else { unreachable!() };
    let start = app.db().read(|s| Box::pin(async move { s.feed_end().await })).await.unwrap();
    let now = chrono::Utc::now();
    use greenline::db::store::Store;

    // A appends and stays open; B appends and commits meanwhile. Under a global lock B would wait for A.
    let mut a = pool.begin().await.unwrap();
    a.feed("probe", 1, now).await.unwrap();
    let mut b = pool.begin().await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), async {
        b.feed("probe", 2, now).await.unwrap();
        b.commit().await.unwrap();
    })
    .await
    .expect("a writer must not wait for another writer's transaction");
    // B's row is visible but not settled: A, older, may still add a row before it.
    assert_eq!(settled_after(app.db(), start).await, vec![(2, false)]);
    a.commit().await.unwrap();
    // Both settled, the older transaction's row first though it committed last.
    assert_eq!(settled_eventually(app.db(), start).await, vec![(1, true), (2, true)]);

    // A transaction that rolls back leaves nothing behind, and does not hold up the others for long.
    let end = app.db().read(|s| Box::pin(async move { s.feed_end().await })).await.unwrap();
    let mut c = pool.begin().await.unwrap();
    c.feed("probe", 3, now).await.unwrap();
    let mut d = pool.begin().await.unwrap();
    d.feed("probe", 4, now).await.unwrap();
    d.commit().await.unwrap();
    assert_eq!(settled_after(app.db(), end).await, vec![(4, false)]);
    c.rollback().await.unwrap();
    assert_eq!(settled_eventually(app.db(), end).await, vec![(4, true)]);
}

/// Writers append in transactions that overlap, sleep and commit or roll back at random, while a follower
/// reads the settled rows from its position: at the end it has read exactly the committed rows, once each.
async fn a_follower_reads_every_committed_row_once(app: TestApp) {
    let db = app.db().clone();
    let start = db.read(|s| Box::pin(async move { s.feed_end().await })).await.unwrap();
    let next_id = Arc::new(AtomicUsize::new(1));
    let writers: Vec<_> = (0..8u64)
        .map(|w| {
            let (db, next_id) = (db.clone(), next_id.clone());
            tokio::spawn(async move {
                let mut committed = vec![];
                let mut seed = 0x9E37_79B9_7F4A_7C15u64 ^ (w + 1);
                let mut roll = move || {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed
                };
                for _ in 0..30 {
                    let rows: Vec<i64> =
                        (0..1 + roll() % 3).map(|_| next_id.fetch_add(1, Ordering::Relaxed) as i64).collect();
                    let (pause, keep) = (Duration::from_millis(roll() % 6), roll() % 4 != 0);
                    let written = rows.clone();
                    let r = db
                        .write(move |tx| {
                            Box::pin(async move {
                                for id in &written {
                                    tx.feed("probe", *id, chrono::Utc::now()).await?;
                                    tokio::time::sleep(pause).await;
                                }
                                if keep {
                                    Ok(())
                                } else {
                                    Err(AppError::invalid("probe", "rolled back on purpose"))
                                }
                            })
                        })
                        .await;
                    if r.is_ok() {
                        committed.extend(rows);
                    }
                }
                committed
            })
        })
        .collect();
    let writers_done = Arc::new(tokio::sync::Notify::new());
    let follower = {
        let (db, done) = (db.clone(), writers_done.clone());
        tokio::spawn(async move {
            let mut position = start;
            let mut seen = vec![];
            let finished = done.notified();
            tokio::pin!(finished);
            let mut writing = true;
            // Reads while the writers write, then until nothing is left after its position.
            loop {
                if writing && futures_util::poll!(finished.as_mut()).is_ready() {
                    writing = false;
                }
                let rows = db.read(move |s| Box::pin(async move { s.feed_after(position, 7).await })).await.unwrap();
                if rows.is_empty() && !writing {
                    break;
                }
                let settled: Vec<_> = rows.iter().take_while(|r| r.settled).collect();
                for r in settled {
                    position = r.position();
                    seen.push(r.entity_id);
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            seen
        })
    };
    let mut committed = BTreeSet::new();
    for w in writers {
        committed.extend(w.await.unwrap());
    }
    writers_done.notify_one();
    let seen = follower.await.unwrap();
    let distinct: BTreeSet<i64> = seen.iter().copied().collect();
    assert_eq!(distinct.len(), seen.len(), "no row is read twice");
    assert_eq!(distinct, committed, "every committed row is read, and no rolled-back one");
    assert!(committed.len() > 100, "the writers committed {} rows", committed.len());
}
story!(a_follower_reads_every_committed_row_once);

/// A TCP server that accepts connections and never answers: an object store that froze.
async fn frozen_server() -> (u16, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        let mut held = vec![];
        while let Ok((socket, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            held.push(socket);
        }
    });
    (port, accepted)
}

const CREATE: &str = "mutation($t: String!) { createProposal(input: {proposal: {title: $t, body: \"冷却水泵加装变频器，按出水温度调速，预计年节电12万千瓦时。\", category: ENERGY_SAVING}}) { proposal { id version } userErrors { code message } } }";

/// With the object store frozen, uploads fail with 503 and `Retry-After` — the first after the storage
/// deadline, the next at once without calling the store — while `/readyz` stays ready (reporting the
/// store) and searches and submissions work.
async fn a_frozen_object_store_costs_uploads_only(app: TestApp) {
    let (port, accepted) = frozen_server().await;
    let worker = app.user("王师傅", Role::Worker, Some("海螺水泥"), None, None).await;
    let server = crate::harness::Child::serve(
        &app,
        "frozen-s3",
        &[
            ("GREENLINE_STORAGE", "s3://frozen/objects".to_owned()),
            ("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}")),
            ("AWS_ACCESS_KEY_ID", "greenline-test".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "greenline-test".to_owned()),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("GREENLINE_STORAGE_TIMEOUT_SECS", "3".to_owned()),
        ],
    )
    .await;
    let gql = |q: &'static str, v: Value| {
        let (client, url, token) = (app.client.clone(), server.url.clone(), worker.clone());
        async move { crate::harness::gql_at(&client, &url, Some(&token), q, v).await }
    };
    let created = gql(CREATE, json!({"t": "循环水泵变频改造"})).await;
    let id = created["data"]["createProposal"]["proposal"]["id"].clone();
    assert!(id.is_string(), "{created}");

    let upload = || {
        crate::attachments::upload_to(
            &app.client,
            &server.url,
            Some(&worker),
            &id,
            "现场.jpg",
            crate::attachments::jpeg(1, 2048),
        )
    };
    let first = upload().await;
    assert_eq!(first.status(), 503);
    assert_eq!(first.headers()["retry-after"], "1");
    let body: Value = first.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "SERVICE_UNAVAILABLE", "{body}");
    let calls = accepted.load(Ordering::SeqCst);
    assert!(calls >= 1, "the first upload tried the store");
    let second = upload().await;
    assert_eq!(second.status(), 503);
    assert_eq!(accepted.load(Ordering::SeqCst), calls, "while the store counts as down, uploads do not wait for it");

    let r = app.client.get(format!("{}/readyz", server.url)).send().await.unwrap();
    assert_eq!(r.status(), 200, "object storage does not make an instance unready");
    let ready: Value = r.json().await.unwrap();
    assert_eq!(ready["checks"]["objectStorage"]["ok"], false, "{ready}");
    assert_eq!(ready["checks"]["database"]["ok"], true, "{ready}");
    let metrics = app.client.get(format!("{}/metrics", server.url)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("greenline_object_storage_up 0"), "{metrics}");

    // Meanwhile the rest works on this instance.
    let submitted = gql(
        "mutation($id: ID!, $v: Int!) { submitProposal(input: {proposalId: $id, expectedVersion: $v}) { proposal { status } userErrors { code message } } }",
        json!({"id": id, "v": created["data"]["createProposal"]["proposal"]["version"]}),
    )
    .await;
    assert_eq!(submitted["data"]["submitProposal"]["proposal"]["status"], "SUBMITTED", "{submitted}");
    let found = gql("{ searchProposals(query: \"水泵\", first: 5) { totalCount } }", json!({})).await;
    assert!(found["data"]["searchProposals"]["totalCount"].is_number(), "{found}");
}
story!(a_frozen_object_store_costs_uploads_only);

/// The orphan sweeper lists the store page by page within the deadline: a frozen store ends a sweep with
/// an error instead of holding it forever (the sweeper then tries again at its next round).
async fn a_frozen_object_store_does_not_hold_the_sweeper(app: TestApp) {
    let (port, accepted) = frozen_server().await;
    let s3 = object_store::aws::AmazonS3Builder::new()
        .with_bucket_name("frozen")
        .with_endpoint(format!("http://127.0.0.1:{port}"))
        .with_allow_http(true)
        .with_region("us-east-1")
        .with_access_key_id("greenline-test")
        .with_secret_access_key("greenline-test")
        .build()
        .unwrap();
    let storage = greenline::storage::Storage::from_store(Arc::new(s3), "frozen").with_timeout(Duration::from_secs(1));
    let swept =
        tokio::time::timeout(Duration::from_secs(10), greenline::storage::sweep(app.db(), &storage, Duration::ZERO))
            .await
            .expect("the sweep gives up within its deadline");
    assert!(swept.is_err(), "a store that does not answer is an error: {swept:?}");
    assert!(accepted.load(Ordering::SeqCst) >= 1, "the sweep did call the store");
}
story!(a_frozen_object_store_does_not_hold_the_sweeper);

/// A token deleted in the database stops working on every instance — for requests and for open
/// subscriptions — without waiting for a cache to expire (it kept working for 60 s).
async fn a_revoked_token_stops_working_everywhere_at_once(app: TestApp) {
    use crate::attacks::{ws_about, ws_connect_at, ws_send, ws_sync};
    let second = app.sibling("second-instance").await;
    let worker = app.user("李师傅", Role::Worker, Some("宝山钢铁示范厂"), None, None).await;
    for url in [&app.url, &second.url] {
        let d = crate::harness::gql_at(&app.client, url, Some(&worker), "{ viewer { name } }", json!({})).await;
        assert_eq!(d["data"]["viewer"]["name"], "李师傅", "{d}");
    }
    let mut ws = ws_connect_at(&second.url, Some(&worker)).await;
    ws_send(
        &mut ws,
        json!({"id": "e", "type": "subscribe", "payload": {"query": "subscription { proposalEvents { sequence } }"}}),
    )
    .await;
    ws_sync(&mut ws).await;

    let hash = greenline::db::users::hash_token(&worker);
    greenline::with_db!(app.db(), pool => {
        sqlx::query("delete from api_tokens where token_hash = $1").bind(&hash).execute(pool).await.unwrap();
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    for url in [&app.url, &second.url] {
        loop {
            let r = app
                .client
                .post(format!("{url}/graphql"))
                .bearer_auth(&worker)
                .json(&json!({"query": "{ viewer { name } }"}))
                .send()
                .await
                .unwrap();
            if r.status() == 401 {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "{url} still accepts the revoked token");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    assert_eq!(ws_about(&mut ws, "e").await, json!({"close": 4403}), "the open subscription ends too");
}
story!(a_revoked_token_stops_working_everywhere_at_once);

/// A subscription receives what commits after it opens, never an event of a commit before it — even one
/// another instance made, which this instance's event hub has not read yet (it reads at most every 50 ms,
/// and on SQLite learns of another writer only when it polls), and (PostgreSQL, round 1) one that committed
/// but had not settled yet, because an older transaction was still in progress: it settles after the
/// subscription opened, and must still not reach it.
async fn a_subscription_starts_after_the_commits_before_it(app: TestApp) {
    use crate::attacks::{ws_about, ws_connect_at, ws_send, ws_sync};
    let second = app.sibling("second-instance").await;
    let worker = app.user("李师傅", Role::Worker, Some("宝山钢铁示范厂"), None, None).await;
    let create = |url: String, title: &'static str| {
        let (client, worker) = (app.client.clone(), worker.clone());
        async move {
            let q = "mutation($input: CreateProposalInput!) { createProposal(input: $input) { proposal { id } } }";
            let input = json!({"input": {"proposal": {"title": title, "body": "空压机余热回收用于车间供暖。"}}});
            let d = crate::harness::gql_at(&client, &url, Some(&worker), q, input).await;
            d["data"]["createProposal"]["proposal"]["id"].as_str().unwrap_or_else(|| panic!("{d}")).to_owned()
        }
    };
    for round in 0..3 {
        // An older transaction (with a transaction id) open across the first commit and the subscription.
        let held = match (round, app.db()) {
            (1, Db::Postgres(pool, _)) => {
                let mut tx = pool.begin().await.unwrap();
                sqlx::query("select pg_current_xact_id()").execute(&mut *tx).await.unwrap();
                Some(tx)
            }
            _ => None,
        };
        let before = create(second.url.clone(), "另一台实例上的提案").await;
        let mut ws = ws_connect_at(&app.url, Some(&worker)).await;
        ws_send(
            &mut ws,
            json!({"id": "e", "type": "subscribe", "payload": {"query": "subscription { proposalEvents { proposalId } }"}}),
        )
        .await;
        ws_sync(&mut ws).await;
        let after = create(app.url.clone(), "订阅之后的提案").await;
        if let Some(tx) = held {
            tx.rollback().await.unwrap();
        }
        let m = ws_about(&mut ws, "e").await;
        assert_eq!(
            m["payload"]["data"]["proposalEvents"]["proposalId"].as_str(),
            Some(after.as_str()),
            "round {round}: the first event is of the commit after subscribing, not of {before}: {m}"
        );
    }
}
story!(a_subscription_starts_after_the_commits_before_it);

/// The machine's Redis for the shared-state stories.
fn redis_url() -> Option<String> {
    crate::harness::service_url("GREENLINE_TEST_REDIS_URL", "Redis")
}

/// Status codes of `n` requests by `token`, sent to the servers at `urls` in turn.
async fn statuses(client: &reqwest::Client, urls: &[&str], token: &str, n: usize) -> Vec<(u16, Option<String>)> {
    let mut out = vec![];
    for i in 0..n {
        let r = client
            .post(format!("{}/graphql", urls[i % urls.len()]))
            .bearer_auth(token)
            .json(&json!({"query": "{ viewer { name } }"}))
            .send()
            .await
            .unwrap();
        let retry = r.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
        out.push((r.status().as_u16(), retry));
    }
    out
}

/// Two instances naming one Redis draw from the same buckets: a token's burst of 3 is 3 over the fleet,
/// not 3 per instance. With Redis unreachable, each instance limits on its own and nothing fails.
async fn a_fleet_shares_its_rate_limits_in_redis(app: TestApp) {
    let Some(redis) = redis_url() else { return };
    let prefix = format!(
        "greenline-test-{}-{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
    );
    let limits = |c: &mut greenline::config::Config| {
        c.rate_limit_per_token = 0.2;
        c.rate_limit_burst_secs = 15.0;
        c.rate_limit_per_ip = 0.0;
    };
    let (url, p) = (redis.clone(), prefix.clone());
    let app = app
        .restarted_with(move |c| {
            limits(c);
            c.redis_url = Some(url);
            c.redis_prefix = p;
        })
        .await;
    let second = app.sibling("second-instance").await;
    let worker = app.user("赵师傅", Role::Worker, Some("徐工机械"), None, None).await;
    let seen = statuses(&app.client, &[&app.url, &second.url], &worker, 8).await;
    let passed = seen.iter().filter(|(s, _)| *s == 200).count();
    assert!((3..=4).contains(&passed), "the burst of 3 is the fleet's, not each instance's: {seen:?}");
    assert!(seen.iter().all(|(s, retry)| *s == 200 || (*s == 429 && retry.is_some())), "{seen:?}");
    let r = greenline::redis::Redis::from_url(&redis).unwrap();
    let keys = r.call(&[b"KEYS", format!("{prefix}:rl:*").as_bytes()]).await.unwrap();
    let greenline::redis::Reply::Array(Some(keys)) = keys else { panic!("{keys:?}") };
    assert_eq!(keys.len(), 1, "one bucket, for the token (the per-IP limit is off): {keys:?}");
    let greenline::redis::Reply::Bulk(Some(key)) = &keys[0] else { panic!() };
    assert!(!String::from_utf8_lossy(key).contains(&worker), "the token itself is never stored");
    r.call(&[b"DEL", key]).await.unwrap();
    drop(second);

    // Redis gone: requests still pass, limited per process.
    let app = app
        .restarted_with(move |c| {
            limits(c);
            c.redis_url = Some("redis://127.0.0.1:1".into());
        })
        .await;
    let worker = app.user("赵师傅", Role::Worker, Some("徐工机械"), None, None).await;
    let seen = statuses(&app.client, &[&app.url], &worker, 5).await;
    assert_eq!(seen.iter().map(|(s, _)| *s).collect::<Vec<_>>()[..3], [200, 200, 200], "{seen:?}");
    assert_eq!(seen[4].0, 429, "{seen:?}");
}
story!(a_fleet_shares_its_rate_limits_in_redis);
