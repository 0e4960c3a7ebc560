//! A closed-loop load generator for a running greenline: `CONCURRENCY` clients, each sending one request at a
//! time for `DURATION` seconds, in the mix of a working day — 80% searches, 15% reads, 5% submissions —
//! and printing throughput and p50/p99 latency per operation. `scripts/load` seeds a server and runs it.
//!
//!   cargo run --release --example load -- URL[,URL…] TOKENS_FILE [DURATION_SECS] [CONCURRENCY] [PROPOSALS]
//!
//! With several URLs (instances of one fleet) the clients are spread over them in turn. `LOAD_SUBMIT_PERCENT`
//! changes the share of submissions (100: submissions only; searches and reads keep their 80:15 ratio).
//!
//! `LOAD_UPLOADERS=N LOAD_UPLOAD_PROPOSAL=ID` adds N clients that upload a small photo to that draft in a
//! loop, each on its own keep-alive connection as an app would (the object-storage fault tests): their
//! answers are counted by HTTP status, with p50 and the slowest time.
//!
//! Searches draw their words from a Zipf-like distribution over Chinese energy terms (a few are common, most
//! are rare), with an industry filter on a third and a second page on a fifth of them. Reads open a random
//! proposal by id or list a page of proposals by status. Submissions are new proposals with fresh
//! idempotency keys.

use std::time::{Duration, Instant};

use base64::{engine::general_purpose::STANDARD, Engine};
use serde_json::{json, Value};

const TERMS: &[&str] = &[
    "余热",
    "变频",
    "空压机",
    "转炉",
    "保温",
    "冷却水",
    "电机",
    "错峰",
    "回转窑",
    "篦冷机",
    "泄漏",
    "加热炉",
    "铸造",
    "焊装线",
    "节电",
    "标煤",
    "余热回收",
    "变频改造",
    "能效",
    "循环利用",
    "空压站",
    "窑头",
    "蒸汽",
    "发电",
    "轧钢",
    "水泥",
    "方案",
    "万千瓦时",
    "节约",
    "实施",
    "能耗偏高",
    "电机能效提升",
    "冷却水循环",
    "转炉 余热",
    "\"余热回收\"",
    "空压机 泄漏",
    "水泥 窑头",
    "加热炉 保温",
    "铸造车间",
    "错峰用电",
];
const INDUSTRIES: &[&str] = &["METALLURGY", "MACHINERY", "BUILDING_MATERIALS"];
const STATUSES: &[&str] = &["SUBMITTED", "EVALUATING", "ACCEPTED", "ADOPTED"];

const SEARCH: &str = "query($q: String!, $filter: ProposalSearchFilter, $after: String) {
  searchProposals(query: $q, filter: $filter, first: 10, after: $after) {
    totalCount pageInfo { endCursor } edges { score highlights { field snippet } node { id title status } } } }";
const OPEN: &str = "query($id: ID!) { proposal(id: $id) { id title body status version expectedSavings { tce } } }";
const LIST: &str = "query($status: Status) { proposals(first: 20, filter: {status: $status}) {
  totalCount edges { node { id title status } } } }";
const SUBMIT: &str = "mutation($input: SubmitProposalInput!) { submitProposal(input: $input) {
  proposal { id } userErrors { code message } } }";

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
    /// Rank r with probability ∝ 1/(r+1).
    fn zipf(&mut self, n: usize) -> usize {
        let total: f64 = (1..=n).map(|r| 1.0 / r as f64).sum();
        let mut x = (self.next() % 1_000_000) as f64 / 1_000_000.0 * total;
        for r in 0..n {
            x -= 1.0 / (r + 1) as f64;
            if x <= 0.0 {
                return r;
            }
        }
        n - 1
    }
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Op {
    Search,
    Open,
    List,
    Submit,
}

async fn call(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    query: &str,
    variables: Value,
) -> Result<Value, String> {
    let r = client
        .post(format!("{url}/graphql"))
        .bearer_auth(token)
        .json(&json!({"query": query, "variables": variables}))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = r.status();
    let body: Value = r.json().await.map_err(|e| e.to_string())?;
    if !status.is_success() || body.get("errors").is_some() {
        return Err(format!("{status} {body}"));
    }
    Ok(body)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: load URL TOKENS_FILE [DURATION_SECS] [CONCURRENCY] [PROPOSALS]");
        std::process::exit(2);
    }
    let urls: Vec<String> = args[1].split(',').map(|u| u.trim_end_matches('/').to_owned()).collect();
    let url = urls.join(",");
    let submit_percent: usize =
        std::env::var("LOAD_SUBMIT_PERCENT").ok().and_then(|v| v.parse().ok()).unwrap_or(5).min(100);
    // Searches take 80/95 of the rest, reads 15/95.
    let search_below = (100 - submit_percent) * 80 / 95;
    let read_below = 100 - submit_percent;
    let tokens: Vec<String> = std::fs::read_to_string(&args[2])
        .expect("tokens file")
        .lines()
        .map(str::to_owned)
        .filter(|l| !l.is_empty())
        .collect();
    let duration = Duration::from_secs(args.get(3).and_then(|v| v.parse().ok()).unwrap_or(30));
    let concurrency: usize = args.get(4).and_then(|v| v.parse().ok()).unwrap_or(32);
    let proposals: usize = args.get(5).and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let client = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build().unwrap();
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = Vec::new();
    for c in 0..concurrency {
        let (client, url, token) = (client.clone(), urls[c % urls.len()].clone(), tokens[c % tokens.len()].clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ ((c as u64 + 1) * 0x2545_F491_4F6C_DD1D));
            let mut samples: Vec<(Op, u32, bool)> = Vec::new();
            let mut n = 0u64;
            while Instant::now() < deadline {
                let roll = rng.below(100);
                let t = Instant::now();
                let (op, result) = if roll < search_below {
                    let q = TERMS[rng.zipf(TERMS.len())];
                    let filter = if rng.below(3) == 0 { json!({"industries": [INDUSTRIES[rng.below(3)]]}) } else { json!(null) };
                    let mut r = call(&client, &url, &token, SEARCH, json!({"q": q, "filter": filter})).await;
                    if rng.below(5) == 0 {
                        if let Ok(body) = &r {
                            let cursor = body["data"]["searchProposals"]["pageInfo"]["endCursor"].clone();
                            if cursor.is_string() {
                                r = call(&client, &url, &token, SEARCH, json!({"q": q, "filter": filter, "after": cursor})).await;
                            }
                        }
                    }
                    (Op::Search, r)
                } else if roll < read_below {
                    if rng.below(2) == 0 {
                        let id = STANDARD.encode(format!("Proposal:{}", 1 + rng.below(proposals)));
                        (Op::Open, call(&client, &url, &token, OPEN, json!({"id": id})).await)
                    } else {
                        let status = STATUSES[rng.below(STATUSES.len())];
                        (Op::List, call(&client, &url, &token, LIST, json!({"status": status})).await)
                    }
                } else {
                    n += 1;
                    let input = json!({"idempotencyKey": format!("load-{c}-{n}-{}", rng.next()), "proposal": {
                        "title": format!("压力测试第{c}-{n}号：空压机余热回收"), "body": "空压机余热回收用于职工浴室热水，预计年节约标煤30吨。",
                        "category": "ENERGY_SAVING", "expectedSavings": {"electricityKwh": 200000}}});
                    let r = call(&client, &url, &token, SUBMIT, json!({"input": input})).await.and_then(|b| {
                        if b["data"]["submitProposal"]["proposal"]["id"].is_string() { Ok(b) } else { Err(b.to_string()) }
                    });
                    (Op::Submit, r)
                };
                if let Err(e) = &result {
                    if samples.iter().filter(|s| !s.2).count() < 3 {
                        eprintln!("{op:?} failed: {}", e.chars().take(300).collect::<String>());
                    }
                }
                samples.push((op, t.elapsed().as_micros() as u32, result.is_ok()));
            }
            samples
        }));
    }
    let uploads = uploaders(&urls, &tokens, deadline);
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let secs = start.elapsed().as_secs_f64();
    println!("{} clients for {:.0} s against {url}", concurrency, secs);
    println!("{:<8} {:>8} {:>9} {:>9} {:>9} {:>7}", "op", "count", "ops/s", "p50 ms", "p99 ms", "errors");
    let line = |name: &str, mut lat: Vec<u32>, errors: usize| {
        lat.sort_unstable();
        let p = |q: f64| {
            lat.get(((lat.len() as f64 * q) as usize).min(lat.len().saturating_sub(1))).copied().unwrap_or(0) as f64
                / 1000.0
        };
        println!(
            "{name:<8} {:>8} {:>9.0} {:>9.1} {:>9.1} {errors:>7}",
            lat.len(),
            lat.len() as f64 / secs,
            p(0.50),
            p(0.99)
        );
    };
    for (op, name) in [(Op::Search, "search"), (Op::Open, "open"), (Op::List, "list"), (Op::Submit, "submit")] {
        let lat: Vec<u32> = all.iter().filter(|s| s.0 == op).map(|s| s.1).collect();
        let errors = all.iter().filter(|s| s.0 == op && !s.2).count();
        line(name, lat, errors);
    }
    let errors = all.iter().filter(|s| !s.2).count();
    line("all", all.iter().map(|s| s.1).collect(), errors);
    let mut answers: Vec<(u16, u32)> = Vec::new();
    for t in uploads {
        answers.extend(t.await.unwrap());
    }
    if !answers.is_empty() {
        let mut codes = std::collections::BTreeMap::new();
        answers.iter().for_each(|(code, _)| *codes.entry(code).or_insert(0) += 1);
        let mut lat: Vec<u32> = answers.iter().map(|a| a.1).collect();
        lat.sort_unstable();
        println!(
            "uploads: {} answered {codes:?}, p50 {:.0} ms, max {:.0} ms",
            lat.len(),
            lat[lat.len() / 2] as f64 / 1000.0,
            lat[lat.len() - 1] as f64 / 1000.0
        );
    }
}

/// `LOAD_UPLOADERS` clients uploading a 4 KiB JPEG to `LOAD_UPLOAD_PROPOSAL` until the deadline, each with
/// a client (and so a connection) of its own; each answer as (HTTP status, microseconds), 0 for no answer.
fn uploaders(urls: &[String], tokens: &[String], deadline: Instant) -> Vec<tokio::task::JoinHandle<Vec<(u16, u32)>>> {
    let n: usize = std::env::var("LOAD_UPLOADERS").ok().and_then(|v| v.parse().ok()).unwrap_or(0);
    let Ok(proposal) = std::env::var("LOAD_UPLOAD_PROPOSAL") else { return vec![] };
    const UPLOAD: &str =
        "mutation($input: UploadAttachmentInput!) { uploadAttachment(input: $input) { attachment { id } } }";
    (0..n)
        .map(|u| {
            let (url, token, proposal) = (urls[u % urls.len()].clone(), tokens[0].clone(), proposal.clone());
            tokio::spawn(async move {
                let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
                let mut rng = Rng(0x51_7CC1_B727_220A ^ (u as u64 + 1));
                let mut answers = Vec::new();
                while Instant::now() < deadline {
                    let mut photo = vec![0xff, 0xd8, 0xff, 0xe0];
                    photo.extend((0..4096).map(|_| rng.next() as u8));
                    let operations =
                        json!({"query": UPLOAD, "variables": {"input": {"proposalId": proposal, "file": null}}});
                    let form = reqwest::multipart::Form::new()
                        .text("operations", operations.to_string())
                        .text("map", r#"{"0":["variables.input.file"]}"#)
                        .part(
                            "0",
                            reqwest::multipart::Part::bytes(photo)
                                .file_name("photo.jpg")
                                .mime_str("image/jpeg")
                                .unwrap(),
                        );
                    let t = Instant::now();
                    let code =
                        match client.post(format!("{url}/graphql")).bearer_auth(&token).multipart(form).send().await {
                            Ok(r) => {
                                let code = r.status().as_u16();
                                let _ = r.bytes().await;
                                code
                            }
                            Err(_) => 0,
                        };
                    answers.push((code, t.elapsed().as_micros() as u32));
                }
                answers
            })
        })
        .collect()
}
