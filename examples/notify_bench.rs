//! Notification figures against a running greenline (`scripts/notify-bench` starts one under the mixed load):
//!
//! - latency: a worker submits a proposal every 100 ms for `DURATION` seconds; the studio lead's
//!   `notifications` subscription (graphql-transport-ws, what the page's bell uses) and a JSON webhook on a
//!   local receiver each get PROPOSAL_SUBMITTED. Prints p50/p99 from the submission's request to each arrival.
//! - throughput: `HOOKS` webhooks are paused, `N` proposals submitted (their deliveries held), then all are
//!   resumed at once; prints how long the courier takes to deliver all `N × HOOKS` to the local receiver.
//!
//!   cargo run --release --example notify_bench -- latency URL DURATION_SECS
//!   cargo run --release --example notify_bench -- throughput URL N HOOKS
//!
//! Tokens come from the environment: WORKER, LEAD (a studio lead of the worker's enterprise), ADMIN (its
//! enterprise admin).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{body::Bytes, extract::State, routing::post, Router};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::{client::IntoClientRequest, Message};

type Arrivals = Arc<Mutex<HashMap<String, Instant>>>;

async fn gql(client: &reqwest::Client, url: &str, token: &str, query: &str, variables: Value) -> Value {
    let r = client
        .post(format!("{url}/graphql"))
        .bearer_auth(token)
        .json(&json!({"query": query, "variables": variables}))
        .send()
        .await
        .expect("the server answers");
    let body: Value = r.json().await.expect("JSON");
    assert!(body.get("errors").is_none(), "{body}");
    body["data"].clone()
}

/// A webhook receiver: notes when each proposal's notification arrived (by its title).
async fn receiver() -> (String, Arrivals, Arc<std::sync::atomic::AtomicUsize>) {
    let arrivals: Arrivals = Arc::default();
    let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    async fn take(State((arrivals, count)): State<(Arrivals, Arc<std::sync::atomic::AtomicUsize>)>, body: Bytes) {
        let now = Instant::now();
        count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Ok(v) = serde_json::from_slice::<Value>(&body) {
            if let Some(t) = v["data"]["proposal"]["title"].as_str() {
                arrivals.lock().unwrap().entry(t.to_owned()).or_insert(now);
            }
        }
    }
    let app = Router::new().route("/hook", post(take)).with_state((arrivals.clone(), count.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, arrivals, count)
}

async fn create_webhook(client: &reqwest::Client, url: &str, admin: &str, name: &str, target: &str) -> Value {
    let q = "mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { webhook { id } userErrors { message } } }";
    let input = json!({"name": name, "url": target, "format": "JSON", "kinds": ["PROPOSAL_SUBMITTED"]});
    let d = gql(client, url, admin, q, json!({"input": input})).await;
    assert_eq!(d["createWebhook"]["userErrors"], json!([]), "{d}");
    d["createWebhook"]["webhook"]["id"].clone()
}

const SUBMIT: &str = "mutation($input: SubmitProposalInput!) { submitProposal(input: $input) { proposal { id } userErrors { message } } }";

async fn submit(client: &reqwest::Client, url: &str, worker: &str, title: &str) {
    let input = json!({"proposal": {"title": title, "body": "通知基准测试：空压机管网查漏。"}});
    let d = gql(client, url, worker, SUBMIT, json!({"input": input})).await;
    assert_eq!(d["submitProposal"]["userErrors"], json!([]), "{d}");
}

fn quantiles(mut ms: Vec<f64>) -> String {
    if ms.is_empty() {
        return "none".into();
    }
    ms.sort_by(|a, b| a.total_cmp(b));
    let q = |p: f64| ms[((ms.len() as f64 * p).ceil() as usize).clamp(1, ms.len()) - 1];
    format!("n={} p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms", ms.len(), q(0.5), q(0.99), ms[ms.len() - 1])
}

async fn latency(url: &str, duration: u64) {
    let (worker, lead, admin) = tokens();
    let client = reqwest::Client::new();
    let (hook, arrivals, _) = receiver().await;
    create_webhook(&client, url, &admin, "延迟测试", &hook).await;
    // The lead's bell.
    let ws_url = format!("{}/graphql/ws", url.replace("http://", "ws://"));
    let mut req = ws_url.into_client_request().unwrap();
    req.headers_mut().insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.expect("WebSocket");
    ws.send(Message::text(
        json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {lead}")}}).to_string(),
    ))
    .await
    .unwrap();
    loop {
        let m = ws.next().await.unwrap().unwrap();
        if m.to_text().unwrap_or("").contains("connection_ack") {
            break;
        }
    }
    let sub = json!({"id": "1", "type": "subscribe", "payload": {"query": "subscription { notifications { body } }"}});
    ws.send(Message::text(sub.to_string())).await.unwrap();
    let bell: Arrivals = Arc::default();
    {
        let bell = bell.clone();
        tokio::spawn(async move {
            while let Some(Ok(m)) = ws.next().await {
                let now = Instant::now();
                let Ok(v) = serde_json::from_str::<Value>(m.to_text().unwrap_or("")) else { continue };
                if let Some(body) = v["payload"]["data"]["notifications"]["body"].as_str() {
                    if let Some(t) = body.split('《').nth(1).and_then(|s| s.split('》').next()) {
                        bell.lock().unwrap().entry(t.to_owned()).or_insert(now);
                    }
                }
            }
        });
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut sent: Vec<(String, Instant, Duration)> = Vec::new();
    let end = Instant::now() + Duration::from_secs(duration);
    let mut i = 0;
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    while Instant::now() < end {
        tick.tick().await;
        i += 1;
        let title = format!("通知延迟测试{i}");
        let t0 = Instant::now();
        submit(&client, url, &worker, &title).await;
        sent.push((title, t0, t0.elapsed()));
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (hooks, bells) = (arrivals.lock().unwrap().clone(), bell.lock().unwrap().clone());
    let lat = |m: &HashMap<String, Instant>| {
        sent.iter()
            .filter_map(|(t, t0, _)| m.get(t).map(|a| a.duration_since(*t0).as_secs_f64() * 1000.0))
            .collect::<Vec<_>>()
    };
    let submits: Vec<f64> = sent.iter().map(|(_, _, d)| d.as_secs_f64() * 1000.0).collect();
    println!("submissions: {}", quantiles(submits));
    println!("to the inbox (lead's notifications subscription): {} (of {} sent)", quantiles(lat(&bells)), sent.len());
    println!("to the webhook receiver: {} (of {} sent)", quantiles(lat(&hooks)), sent.len());
}

async fn throughput(url: &str, n: usize, hooks: usize) {
    let (worker, _, admin) = tokens();
    let client = reqwest::Client::new();
    let (hook, _, count) = receiver().await;
    let mut ids = Vec::new();
    for h in 0..hooks {
        ids.push(create_webhook(&client, url, &admin, &format!("吞吐测试{h}"), &hook).await);
    }
    let pause = "mutation($input: UpdateWebhookInput!) { updateWebhook(input: $input) { userErrors { message } } }";
    for id in &ids {
        gql(&client, url, &admin, pause, json!({"input": {"id": id, "paused": true}})).await;
    }
    let started = Instant::now();
    futures_util::stream::iter(0..n)
        .for_each_concurrent(8, |i| {
            let (client, worker) = (&client, &worker);
            async move { submit(client, url, worker, &format!("通知吞吐测试{i}")).await }
        })
        .await;
    println!("{n} proposals submitted in {:.1} s ({} deliveries held)", started.elapsed().as_secs_f64(), n * hooks);
    let t0 = Instant::now();
    for id in &ids {
        gql(&client, url, &admin, pause, json!({"input": {"id": id, "paused": false}})).await;
    }
    let want = n * hooks;
    while count.load(std::sync::atomic::Ordering::Relaxed) < want && t0.elapsed() < Duration::from_secs(600) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let got = count.load(std::sync::atomic::Ordering::Relaxed);
    let secs = t0.elapsed().as_secs_f64();
    println!("{got} of {want} deliveries received in {secs:.2} s: {:.0} deliveries/s", got as f64 / secs);
}

fn tokens() -> (String, String, String) {
    let get = |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("{k} is not set"));
    (get("WORKER"), get("LEAD"), get("ADMIN"))
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize, d: &str| args.get(i).cloned().unwrap_or_else(|| d.to_owned());
    match arg(1, "latency").as_str() {
        "latency" => latency(&arg(2, "http://127.0.0.1:8080"), arg(3, "30").parse().unwrap()).await,
        "throughput" => {
            throughput(&arg(2, "http://127.0.0.1:8080"), arg(3, "2000").parse().unwrap(), arg(4, "5").parse().unwrap())
                .await
        }
        other => panic!("latency or throughput, not {other}"),
    }
}
