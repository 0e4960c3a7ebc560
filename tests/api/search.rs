//! Search over HTTP: Chinese queries, filters, facets, highlights, pagination, permissions, duplicate
//! hints, and an index that stays in step with the database — across a kill -9 and across instances.

use std::time::{Duration, Instant};

use greenline::domain::organisation::Role;
use serde_json::{json, Value};

use crate::{
    harness::{gql_at, wait_healthy},
    journey::{cast, SUBMIT},
    story, Backend, TestApp,
};

const SEARCH: &str = "query($q: String!, $filter: ProposalSearchFilter, $first: Int, $after: String, $sort: SearchSort) {
    searchProposals(query: $q, filter: $filter, first: $first, after: $after, sort: $sort) {
        totalCount
        pageInfo { hasNextPage endCursor }
        facets { industry { value count } category { value count } status { value count } enterprise { enterprise { name } count } }
        edges { cursor score highlights { field snippet } node { id title status authorsHidden authors { name } } }
    } }";

async fn submit(app: &TestApp, token: &str, title: &str, body: &str, category: &str) -> Value {
    let d = app
        .ok(Some(token), SUBMIT, json!({"input": {"proposal": {"title": title, "body": body, "category": category}}}))
        .await;
    assert_eq!(d["submitProposal"]["userErrors"], json!([]), "{d}");
    d["submitProposal"]["proposal"]["id"].clone()
}

/// Searches until `n` hits are visible or the deadline passes (the indexer is asynchronous).
async fn search_until(app: &TestApp, token: Option<&str>, q: &str, n: i64) -> Value {
    search_at_until(&app.client, &app.url, token, q, n).await
}

/// [`search_until`] on the server at `url`: searches (panicking on any error) until `n` hits are visible or
/// 10 s have passed; returns the last answer's `searchProposals`.
async fn search_at_until(client: &reqwest::Client, url: &str, token: Option<&str>, q: &str, n: i64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let d = gql_at(client, url, token, SEARCH, json!({"q": q})).await;
        assert!(d.get("errors").is_none(), "unexpected errors: {d:#}");
        if d["data"]["searchProposals"]["totalCount"] == n || Instant::now() > deadline {
            return d["data"]["searchProposals"].clone();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

story!(chinese_search_with_facets_highlights_and_pages);
async fn chinese_search_with_facets_highlights_and_pages(app: TestApp) {
    let c = cast(&app).await;
    submit(&app, &c.worker, "转炉余热回收蒸汽发电", "利用转炉烟气余热，新建余热锅炉。", "ENERGY_SAVING").await;
    submit(&app, &c.worker, "空压机余热用于浴室", "空压机余热回收供职工浴室热水。", "CIRCULAR_ECONOMY").await;
    submit(&app, &c.coauthor, "峰谷电价错峰生产", "利用峰谷电价差安排球磨机生产，VFD变频节电30%。", "ENERGY_SAVING")
        .await;
    submit(&app, &c.coauthor, "废钢分类回收", "钢渣与废钢分类，减少碳排放。", "CIRCULAR_ECONOMY").await;

    let r = search_until(&app, Some(&c.lead), "余热", 2).await;
    assert_eq!(r["totalCount"], 2, "{r}");
    let titles: Vec<&str> =
        r["edges"].as_array().unwrap().iter().map(|e| e["node"]["title"].as_str().unwrap()).collect();
    assert!(titles.contains(&"转炉余热回收蒸汽发电") && titles.contains(&"空压机余热用于浴室"));
    let hl = &r["edges"][0]["highlights"];
    assert!(hl.as_array().unwrap().iter().any(|h| h["snippet"].as_str().unwrap().contains("<em>余热</em>")), "{hl}");
    assert_eq!(
        r["facets"]["category"],
        json!([{"value": "CIRCULAR_ECONOMY", "count": 1}, {"value": "ENERGY_SAVING", "count": 1}])
    );
    assert_eq!(r["facets"]["enterprise"][0]["enterprise"]["name"], "宝山钢铁示范厂");

    // Two-character words inside longer ones, English case-insensitively, numbers with units.
    for (q, n) in [("电价", 1), ("vfd", 1), ("30%", 1), ("碳", 1), ("余热 锅炉", 1), ("回收", 3)] {
        let r = search_until(&app, Some(&c.lead), q, n).await;
        assert_eq!(r["totalCount"], n, "{q}: {r}");
    }
    // Filters.
    let d = app.ok(Some(&c.lead), SEARCH, json!({"q": "回收", "filter": {"categories": ["CIRCULAR_ECONOMY"]}})).await;
    assert_eq!(d["searchProposals"]["totalCount"], 2);
    // Pages follow each other without overlap.
    let p1 = app.ok(Some(&c.lead), SEARCH, json!({"q": "回收", "first": 2})).await["searchProposals"].clone();
    assert_eq!(p1["pageInfo"]["hasNextPage"], true);
    let p2 = app
        .ok(Some(&c.lead), SEARCH, json!({"q": "回收", "first": 2, "after": p1["pageInfo"]["endCursor"]}))
        .await["searchProposals"]
        .clone();
    assert_eq!(p2["edges"].as_array().unwrap().len(), 1);
    assert_eq!(p2["pageInfo"]["hasNextPage"], false);
    let ids: Vec<&Value> = p1["edges"]
        .as_array()
        .unwrap()
        .iter()
        .chain(p2["edges"].as_array().unwrap())
        .map(|e| &e["node"]["id"])
        .collect();
    assert_eq!(ids.len(), 3);
    assert!(ids[2] != ids[0] && ids[2] != ids[1]);
    // Sorting by date: newest first.
    let d = app.ok(Some(&c.lead), SEARCH, json!({"q": "", "sort": "NEWEST", "first": 1})).await;
    assert_eq!(d["searchProposals"]["edges"][0]["node"]["title"], "废钢分类回收");
    // Techniques search answers too (nothing promoted yet).
    let t =
        app.ok(None, "{ searchTechniques(query: \"余热\") { totalCount edges { node { name } } } }", json!({})).await;
    assert_eq!(t["searchTechniques"]["totalCount"], 0);
}

story!(search_never_leaks_drafts_or_blind_fields);
async fn search_never_leaks_drafts_or_blind_fields(app: TestApp) {
    let c = cast(&app).await;
    let outsider = app.user("外厂职工", Role::Worker, Some("另一家水泥厂"), Some("窑炉班"), None).await;
    // A draft of the outsider, and a submitted proposal in the steel plant.
    app.ok(Some(&outsider), "mutation { createProposal(input: {proposal: {title: \"余热草稿\", body: \"窑炉余热，还没想好\"}}) { proposal { id } } }", json!({}))
        .await;
    let id = submit(&app, &c.worker, "轧钢加热炉余热利用", "加热炉烟气余热预热助燃空气。", "ENERGY_SAVING").await;

    // The outsider sees their own draft, not the plant's submission.
    let r = search_until(&app, Some(&outsider), "余热", 1).await;
    assert_eq!(r["edges"][0]["node"]["title"], "余热草稿");
    // The plant's lead sees the submission, and neither results nor facets count the draft.
    let r = search_until(&app, Some(&c.lead), "余热", 1).await;
    assert_eq!(r["totalCount"], 1);
    assert_eq!(r["edges"][0]["node"]["title"], "轧钢加热炉余热利用");
    assert!(!r["facets"]["status"].to_string().contains("DRAFT"), "{r}");
    assert!(!r.to_string().contains("余热草稿"));
    // Anonymous sees nothing that is not adopted or promoted.
    let r = search_until(&app, None, "余热", 0).await;
    assert_eq!(r["totalCount"], 0, "{r}");
    assert_eq!(r["facets"]["status"], json!([]));

    // Blind review holds in search: an assigned reviewer finds it, without its authors.
    let v = app.ok(Some(&c.admin), "query($id: ID!) { proposal(id: $id) { version } }", json!({"id": id})).await
        ["proposal"]["version"]
        .clone();
    let d = app
        .ok(
            Some(&c.lead),
            "mutation($i: AssignReviewersInput!) { assignReviewers(input: $i) { userErrors { code } } }",
            json!({"i": {"proposalId": id, "expectedVersion": v, "reviewerIds": [c.reviewer1_id]}}),
        )
        .await;
    assert_eq!(d["assignReviewers"]["userErrors"], json!([]));
    let r = search_until(&app, Some(&c.reviewer1), "加热炉", 1).await;
    assert_eq!(r["edges"][0]["node"]["authorsHidden"], true);
    assert_eq!(r["edges"][0]["node"]["authors"], json!([]));
    assert!(!r.to_string().contains("王师傅"));
}

story!(similar_proposals_hint_at_duplicates);
async fn similar_proposals_hint_at_duplicates(app: TestApp) {
    let c = cast(&app).await;
    submit(
        &app,
        &c.worker,
        "转炉余热回收蒸汽发电",
        "利用转炉烟气余热，新建余热锅炉，回收蒸汽用于发电。",
        "ENERGY_SAVING",
    )
    .await;
    submit(&app, &c.worker, "高炉鼓风机变频改造", "鼓风机定速运行浪费电，改为变频调速。", "ENERGY_SAVING").await;
    submit(&app, &c.worker, "车间照明改LED", "车间照明全部改为LED灯。", "ENERGY_SAVING").await;
    search_until(&app, Some(&c.coauthor), "", 3).await;
    let q = "query($t: String!) { similarProposals(text: $t, first: 3) { score proposal { title } } }";
    let d = app.ok(Some(&c.coauthor), q, json!({"t": "建议把转炉烟气的余热回收起来发电"})).await;
    assert_eq!(d["similarProposals"][0]["proposal"]["title"], "转炉余热回收蒸汽发电", "{d}");
    let d = app.ok(Some(&c.coauthor), q, json!({"t": "给鼓风机加装变频器"})).await;
    assert_eq!(d["similarProposals"][0]["proposal"]["title"], "高炉鼓风机变频改造", "{d}");
}

/// Starts the real binary on `port` and waits until it is healthy.
async fn spawn_binary(app: &TestApp, index_dir: &std::path::Path, port: u16) -> tokio::process::Child {
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_greenline"))
        .arg("serve")
        .env("GREENLINE_ADDR", format!("127.0.0.1:{port}"))
        .env("GREENLINE_DATABASE_URL", &app.state.services.config.database_url)
        .env("GREENLINE_INDEX_DIR", index_dir)
        .env("GREENLINE_STORAGE", app.path("objects-binary"))
        .env("RUST_LOG", "error")
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    wait_healthy(&app.client, &format!("http://127.0.0.1:{port}")).await;
    child
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

story!(index_catches_up_after_kill_9);
async fn index_catches_up_after_kill_9(app: TestApp) {
    let c = cast(&app).await;
    let index_dir = app.path("binary-index");
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let mut server = spawn_binary(&app, &index_dir, port).await;
    // Acknowledged submissions, then SIGKILL with no chance to flush anything.
    let mut acknowledged = vec![];
    for i in 0..20 {
        let d = gql_at(&app.client, &url, Some(&c.worker), SUBMIT,
            json!({"input": {"proposal": {"title": format!("冷却水循环第{i}号"), "body": "冷却水余热回收"}, "idempotencyKey": format!("k{i}")}}))
            .await;
        acknowledged.push(d["data"]["submitProposal"]["proposal"]["id"].clone());
    }
    server.start_kill().unwrap();
    server.wait().await.unwrap();
    // While it is down, another process writes (here: the test's own app on the same database).
    submit(&app, &c.coauthor, "冷却水写于宕机期间", "冷却水余热", "ENERGY_SAVING").await;

    let _server = spawn_binary(&app, &index_dir, port).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let total = loop {
        let d = gql_at(&app.client, &url, Some(&c.admin), SEARCH, json!({"q": "冷却水", "first": 100})).await;
        let n = d["data"]["searchProposals"]["totalCount"].as_i64().unwrap();
        if n >= 21 || Instant::now() > deadline {
            break d["data"]["searchProposals"].clone();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(total["totalCount"], 21, "nothing lost, nothing extra: {total}");
    let found: Vec<&Value> = total["edges"].as_array().unwrap().iter().map(|e| &e["node"]["id"]).collect();
    for id in &acknowledged {
        assert!(found.contains(&id), "acknowledged {id} is searchable after the restart");
    }
    let db_count =
        app.ok(Some(&c.admin), "{ proposals { totalCount } }", json!({})).await["proposals"]["totalCount"].clone();
    assert_eq!(db_count, 21, "the database agrees");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_postgres_keep_their_indexes_in_step() {
    let Some(app) = TestApp::start(Backend::Postgres).await else { return };
    let c = cast(&app).await;
    let other = app.sibling("index-2").await;
    // Written through instance 1, found through instance 2 (and the other way round).
    submit(&app, &c.worker, "烧结余热发电", "烧结机余热。", "ENERGY_SAVING").await;
    let d = gql_at(
        &app.client,
        &other.url,
        Some(&c.worker),
        SUBMIT,
        json!({"input": {"proposal": {"title": "干熄焦余热回收", "body": "干熄焦余热。"}}}),
    )
    .await;
    assert_eq!(d["data"]["submitProposal"]["userErrors"], json!([]));
    let deadline = Instant::now() + Duration::from_secs(10);
    for url in [&app.url, &other.url] {
        loop {
            let d = gql_at(&app.client, url, Some(&c.lead), SEARCH, json!({"q": "余热"})).await;
            if d["data"]["searchProposals"]["totalCount"] == 2 {
                break;
            }
            assert!(Instant::now() < deadline, "instance {url} did not catch up: {d}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    assert_eq!(other.state.services.search.index.num_docs(), app.state.services.search.index.num_docs());
}

/// Two instances on one host share an index directory (`greenline serve` twice, one `GREENLINE_INDEX_DIR`):
/// the first writes it, the second only reads it and finds what is submitted through it; when the first is
/// killed, the second takes its place and indexes what comes after.
async fn instances_on_one_host_share_an_index(app: TestApp) {
    use crate::harness::Child;
    let c = cast(&app).await;
    let index_detail = |url: String| {
        let client = app.client.clone();
        async move {
            let r = client.get(format!("{url}/readyz")).send().await.unwrap();
            assert_eq!(r.status(), 200);
            r.json::<Value>().await.unwrap()["checks"]["index"].clone()
        }
    };
    let find = |url: String, n: i64| {
        let (client, lead) = (app.client.clone(), c.lead.clone());
        async move {
            let r = search_at_until(&client, &url, Some(&lead), "余热", n).await;
            assert_eq!(r["totalCount"], n, "{url} does not find {n}: {r}");
        }
    };
    let submit_at = |url: String, title: &'static str| {
        let (client, worker) = (app.client.clone(), c.worker.clone());
        async move {
            let input = json!({"input": {"proposal": {"title": title, "body": "余热回收。"}}});
            let d = gql_at(&client, &url, Some(&worker), SUBMIT, input).await;
            assert_eq!(d["data"]["submitProposal"]["userErrors"], json!([]), "{d}");
        }
    };
    let first = Child::serve(&app, "shared", &[]).await;
    let second = Child::serve(&app, "shared", &[]).await;
    assert_eq!(index_detail(first.url.clone()).await["writer"], true);
    assert_eq!(index_detail(second.url.clone()).await["writer"], false);

    submit_at(second.url.clone(), "烧结余热发电").await;
    find(second.url.clone(), 1).await;
    find(first.url.clone(), 1).await;

    drop(first); // kill -9
    submit_at(second.url.clone(), "干熄焦余热回收").await;
    find(second.url.clone(), 2).await;
    let detail = index_detail(second.url.clone()).await;
    assert_eq!(detail["writer"], true, "{detail}");
    let metrics = app.client.get(format!("{}/metrics", second.url)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("greenline_search_index_writer 1"), "{metrics}");
}
story!(instances_on_one_host_share_an_index);

/// The instance writing a shared index went before it ever filled it (killed during its first rebuild):
/// the instance that takes its place rebuilds it from the database — from the entities, not the change
/// feed (which here holds none of them, as after a restore of a database without its feed).
async fn an_index_left_unfilled_is_rebuilt_by_the_instance_that_takes_over(app: TestApp) {
    let c = cast(&app).await;
    submit(&app, &c.worker, "烧结余热发电", "烧结机余热。", "ENERGY_SAVING").await;
    greenline::with_db!(app.db(), pool => {
        sqlx::query("delete from change_feed").execute(pool).await.unwrap();
    });
    let held = search_index::SearchIndex::open(&app.path("left-unfilled")).unwrap();
    assert!(held.needs_rebuild());
    let sibling = app.sibling("left-unfilled").await;
    assert!(!sibling.state.services.search.index.is_writer());
    drop(held); // never committed
    let r = search_at_until(&app.client, &sibling.url, Some(&c.lead), "余热", 1).await;
    assert_eq!(r["totalCount"], 1, "the index was not rebuilt: {r}");
    assert!(sibling.state.services.search.index.is_writer());
}
story!(an_index_left_unfilled_is_rebuilt_by_the_instance_that_takes_over);

story!(reindex_rebuilds_from_the_database);
async fn reindex_rebuilds_from_the_database(app: TestApp) {
    let c = cast(&app).await;
    for i in 0..5 {
        submit(&app, &c.worker, &format!("余热方案{i}"), "余热", "ENERGY_SAVING").await;
    }
    let fresh = app.path("rebuilt-index");
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_greenline"))
        .arg("reindex")
        .env("GREENLINE_DATABASE_URL", &app.state.services.config.database_url)
        .env("GREENLINE_INDEX_DIR", &fresh)
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("reindexed 5 documents"), "{stderr}");
    let index = search_index::SearchIndex::open(&fresh).unwrap();
    assert_eq!(index.num_docs(), 5);
    assert!(index.position() > Default::default(), "the rebuild records the feed position it covers");
    drop(index);
    // The running server's index is locked: reindex says so instead of corrupting it.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_greenline"))
        .arg("reindex")
        .env("GREENLINE_DATABASE_URL", &app.state.services.config.database_url)
        .env("GREENLINE_INDEX_DIR", &app.state.services.config.index_dir)
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("locked"), "{}", String::from_utf8_lossy(&out.stderr));
}
