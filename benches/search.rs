//! Search benchmark (issue #4): on a generated corpus of Chinese proposal-like texts, compares greenline's
//! index with SQLite FTS5 (trigram) and a `LIKE '%term%'` scan over the same corpus and queries:
//! indexing throughput, index size, latency (raw engine and GraphQL over HTTP at concurrency 1 and 16) and
//! recall / precision@10 against substring ground truth.
//!
//!     cargo bench --bench search                 # 100 000 documents
//!     GREENLINE_BENCH_DOCS=20000 cargo bench --bench search
//!
//! Prints a Markdown report; BENCHMARKS.md keeps the figures of the last run.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use greenline::config::Config;
use search_index::{DocKind, FacetFields, Filter, SearchIndex, SearchQuery, Sort};
use serde_json::json;
use sqlx::{sqlite::SqliteConnectOptions, Row, SqlitePool};

const EQUIPMENT: &[&str] = &[
    "转炉",
    "高炉",
    "电弧炉",
    "加热炉",
    "回转窑",
    "空压机",
    "鼓风机",
    "水泵",
    "冷却塔",
    "余热锅炉",
    "球磨机",
    "立磨",
    "辊压机",
    "篦冷机",
    "烧结机",
    "干熄焦装置",
    "退火炉",
    "数控机床",
    "液压系统",
    "车间照明",
    "蒸汽管网",
    "疏水阀",
    "布袋除尘器",
    "变压器",
    "永磁电机",
    "循环水泵",
    "引风机",
    "熟料线",
    "轧机",
    "铸造电炉",
];
const WASTE: &[&str] = &[
    "烟气温度高达三百度直接排放",
    "蒸汽放散严重",
    "长期空载运行",
    "压缩空气泄漏",
    "冷却水直排",
    "保温层老化破损",
    "定速运行浪费电能",
    "峰时用电电价高",
    "热量大量散失",
    "设备待机耗电",
    "燃烧不充分",
    "负荷波动大",
    "除尘风量过大",
];
const ACTION: &[&str] = &[
    "变频改造",
    "余热回收",
    "余热发电",
    "保温改造",
    "错峰生产",
    "循环利用",
    "中水回用",
    "更换永磁电机",
    "加装智能控制",
    "泄漏治理",
    "燃烧优化",
    "负荷优化",
    "加装节能器",
    "更换高效电机",
    "LED照明改造",
    "VFD调速",
    "PLC联锁控制",
];
const EFFECT: &[&str] = &[
    "节电{n}万千瓦时",
    "节约标煤{n}吨",
    "减排二氧化碳{n}吨",
    "年节约{n}万元",
    "能耗降低{p}%",
    "吨钢能耗下降{n}千克",
    "折合{n}tce",
    "每吨熟料节电{n}kWh",
];
const FILLER: &[&str] = &[
    "班组讨论后一致认为可行。",
    "改造期间不影响正常生产。",
    "投资回收期较短。",
    "已在同类企业应用。",
    "需要设备科配合。",
    "建议先在一条线试点。",
    "操作简单，职工容易掌握。",
    "安全风险可控。",
];

const QUERIES: &[&str] = &[
    // two-character words
    "余热",
    "节电",
    "变频",
    "保温",
    "蒸汽",
    "空压",
    "泄漏",
    "照明",
    "冷却",
    "标煤",
    "电机",
    "烟气",
    "锅炉",
    "峰时",
    "熟料",
    "除尘",
    "试点",
    "回收",
    // single characters
    "碳",
    "煤",
    "热",
    // longer words and phrases
    "余热回收",
    "变频改造",
    "压缩空气泄漏",
    "冷却水直排",
    "永磁电机",
    "燃烧优化",
    "蒸汽管网",
    "回转窑",
    "干熄焦",
    "高效电机",
    "保温层老化",
    "错峰生产",
    "中水回用",
    // English, numbers, units
    "VFD",
    "plc",
    "kWh",
    "tce",
    "30%",
    "万千瓦时",
    // several terms
    "余热 发电",
    "变频 水泵",
    "保温 蒸汽",
    "空压机 泄漏",
    "转炉 余热锅炉",
    "电机 节电",
];

struct Doc {
    id: i64,
    title: String,
    tags: String,
    body: String,
}

/// A deterministic generator (64-bit LCG).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[(self.next() as usize) % xs.len()]
    }
}

fn corpus(n: usize) -> Vec<Doc> {
    let mut r = Rng(20261129);
    (1..=n as i64)
        .map(|id| {
            let eq = r.pick(EQUIPMENT);
            let act = r.pick(ACTION);
            let effect = |r: &mut Rng| {
                r.pick(EFFECT)
                    .replace("{n}", &(r.next() % 500 + 1).to_string())
                    .replace("{p}", &(r.next() % 40 + 1).to_string())
            };
            let body = format!(
                "{eq}{}，建议{act}。预计{}，{}。{}{}",
                r.pick(WASTE),
                effect(&mut r),
                effect(&mut r),
                r.pick(FILLER),
                r.pick(FILLER)
            );
            Doc { id, title: format!("{eq}{act}"), tags: format!("{} {}", eq, r.pick(ACTION)), body }
        })
        .collect()
}

fn truth(docs: &[Doc], q: &str) -> Vec<i64> {
    let terms: Vec<String> = q.split_whitespace().map(str::to_lowercase).collect();
    docs.iter()
        .filter(|d| {
            let text = format!("{}\n{}\n{}", d.title, d.tags, d.body).to_lowercase();
            terms.iter().all(|t| text.contains(t.as_str()))
        })
        .map(|d| d.id)
        .collect()
}

fn pct(xs: &mut [f64], p: f64) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    if xs.is_empty() {
        return f64::NAN;
    }
    xs[((xs.len() as f64 - 1.0) * p).round() as usize]
}

fn dir_size(path: &std::path::Path) -> u64 {
    std::fs::read_dir(path)
        .map(|rd| {
            rd.flatten()
                .map(
                    |e| {
                        if e.path().is_dir() {
                            dir_size(&e.path())
                        } else {
                            e.metadata().map(|m| m.len()).unwrap_or(0)
                        }
                    },
                )
                .sum()
        })
        .unwrap_or(0)
}

/// A LIKE query with one `%term%` bound per term of `q`.
fn like<'a>(sql: &'a str, q: &str) -> sqlx::query::Query<'a, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'a>> {
    let mut query = sqlx::query(sql);
    for term in q.split_whitespace() {
        query = query.bind(format!("%{term}%"));
    }
    query
}

struct Quality {
    recall: f64,
    precision10: f64,
}

fn quality(results: &[(Vec<i64>, Vec<i64>)], truths: &[Vec<i64>]) -> Quality {
    let (mut recall, mut precision, mut n) = (0.0, 0.0, 0.0);
    for ((all, top10), t) in results.iter().zip(truths) {
        if t.is_empty() {
            continue;
        }
        let set: std::collections::HashSet<&i64> = t.iter().collect();
        recall += all.iter().filter(|i| set.contains(i)).count() as f64 / t.len() as f64;
        let expected_top = t.len().min(10) as f64;
        precision += top10.iter().filter(|i| set.contains(i)).count() as f64 / expected_top.max(1.0);
        n += 1.0;
    }
    Quality { recall: recall / n, precision10: precision / n }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let n: usize = std::env::var("GREENLINE_BENCH_DOCS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let tmp = tempfile::tempdir()?;
    println!("# search benchmark: {n} documents, {} queries\n", QUERIES.len());
    let docs = corpus(n);
    let truths: Vec<Vec<i64>> = QUERIES.iter().map(|q| truth(&docs, q)).collect();

    // --- greenline index, raw engine ---------------------------------------------------------------
    let index_dir = tmp.path().join("raw-index");
    let index = Arc::new(SearchIndex::open(&index_dir)?);
    // The raw engine is measured without its result cache: every query runs against the index.
    index.set_cache_entries(0);
    let t = Instant::now();
    for d in &docs {
        index.upsert(&search_index::IndexDoc {
            kind: DocKind::Proposal,
            id: d.id,
            title: d.title.clone(),
            body: d.body.clone(),
            tags: d.tags.split(' ').map(str::to_owned).collect(),
            status: "ADOPTED".into(),
            category: "ENERGY_SAVING".into(),
            industry: "METALLURGY".into(),
            enterprise_id: Some(d.id % 50),
            studio_id: None,
            date: d.id,
            verified_tce: 0.0,
            access: vec!["public".into()],
        })?;
    }
    index.commit(search_index::FeedPosition { txid: 0, seq: 1 })?;
    let index_secs = t.elapsed().as_secs_f64();
    let index_bytes = dir_size(&index_dir);

    let query = |q: &str, limit: usize| SearchQuery {
        text: q.into(),
        kind: DocKind::Proposal,
        access: Some(vec!["public".into()]),
        filter: Filter::default(),
        sort: Sort::Relevance,
        offset: 0,
        limit,
        facets: if std::env::var("GREENLINE_BENCH_NO_FACETS").is_ok() {
            FacetFields::NONE
        } else {
            FacetFields { industry: true, ..FacetFields::NONE }
        },
    };
    let mut tantivy_results = vec![];
    for q in QUERIES {
        let all = index.search(&query(q, n))?.hits.iter().map(|h| h.id).collect::<Vec<_>>();
        let top = index.search(&query(q, 10))?.hits.iter().map(|h| h.id).collect::<Vec<_>>();
        tantivy_results.push((all, top));
    }
    let tq = quality(&tantivy_results, &truths);
    let raw_latency = |concurrency: usize, rounds: usize| -> (f64, f64, f64) {
        let start = Instant::now();
        let lat: Vec<f64> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..concurrency)
                .map(|c| {
                    let index = index.clone();
                    s.spawn(move || {
                        (0..rounds)
                            .map(|i| {
                                let q = QUERIES[(i + c) % QUERIES.len()];
                                let t = Instant::now();
                                index.search(&query(q, 10)).unwrap();
                                t.elapsed().as_secs_f64() * 1000.0
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
        });
        let qps = lat.len() as f64 / start.elapsed().as_secs_f64();
        let mut l = lat;
        (pct(&mut l, 0.5), pct(&mut l, 0.99), qps)
    };
    let raw1 = raw_latency(1, 400);
    let raw16 = raw_latency(16, 50);
    if std::env::var("GREENLINE_BENCH_PROFILE").is_ok() {
        // Per-query cost, slowest first: where to look when the figures disappoint.
        let mut per: Vec<(f64, &str, usize)> = QUERIES
            .iter()
            .map(|q| {
                let t = Instant::now();
                let mut total = 0;
                for _ in 0..20 {
                    total = index.search(&query(q, 10)).unwrap().total;
                }
                (t.elapsed().as_secs_f64() * 1000.0 / 20.0, *q, total)
            })
            .collect();
        per.sort_by(|a, b| b.0.total_cmp(&a.0));
        for (ms, q, total) in per.iter().take(15) {
            println!("{ms:8.2} ms  {total:6} matches  {q}");
        }
        println!(
            "raw c=1 p50/p99 {:.2}/{:.2} ms; c=16 p50/p99 {:.2}/{:.2} ms ({:.0} q/s)",
            raw1.0, raw1.1, raw16.0, raw16.1, raw16.2
        );
        return Ok(());
    }

    // --- SQLite: FTS5 trigram and LIKE ---------------------------------------------------------------
    let sqlite_path = tmp.path().join("fts.db");
    let pool =
        SqlitePool::connect_with(SqliteConnectOptions::new().filename(&sqlite_path).create_if_missing(true)).await?;
    sqlx::raw_sql("create table docs (id integer primary key, title text, tags text, body text);
                   create virtual table fts using fts5(title, tags, body, content='docs', content_rowid='id', tokenize='trigram');")
        .execute(&pool)
        .await?;
    let mut tx = pool.begin().await?;
    for d in &docs {
        sqlx::query("insert into docs (id, title, tags, body) values ($1, $2, $3, $4)")
            .bind(d.id)
            .bind(&d.title)
            .bind(&d.tags)
            .bind(&d.body)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    let db_bytes_before = std::fs::metadata(&sqlite_path)?.len();
    let t = Instant::now();
    sqlx::raw_sql("insert into fts(fts) values('rebuild')").execute(&pool).await?;
    let fts_secs = t.elapsed().as_secs_f64();
    sqlx::raw_sql("vacuum").execute(&pool).await?;
    let fts_bytes = std::fs::metadata(&sqlite_path)?.len().saturating_sub(db_bytes_before);

    let fts_match = |q: &str| {
        q.split_whitespace().map(|t| format!("\"{}\"", t.replace('"', "\"\""))).collect::<Vec<_>>().join(" AND ")
    };
    let like_where = |q: &str| {
        q.split_whitespace()
            .map(|_| "(title || char(10) || tags || char(10) || body) like ?".to_string())
            .collect::<Vec<_>>()
            .join(" and ")
    };
    let mut fts_results = vec![];
    let mut like_results = vec![];
    let (mut fts_lat, mut like_lat) = (vec![], vec![]);
    for q in QUERIES {
        let m = fts_match(q);
        let all: Vec<i64> = sqlx::query("select rowid from fts where fts match $1")
            .bind(&m)
            .fetch_all(&pool)
            .await
            .map(|rows| rows.iter().map(|r| r.get::<i64, _>(0)).collect())
            .unwrap_or_default();
        let t = Instant::now();
        let _count: i64 = sqlx::query_scalar("select count(*) from fts where fts match $1")
            .bind(&m)
            .fetch_one(&pool)
            .await
            .unwrap_or(0);
        let top: Vec<i64> = sqlx::query("select rowid from fts where fts match $1 order by rank limit 10")
            .bind(&m)
            .fetch_all(&pool)
            .await
            .map(|rows| rows.iter().map(|r| r.get::<i64, _>(0)).collect())
            .unwrap_or_default();
        fts_lat.push(t.elapsed().as_secs_f64() * 1000.0);
        fts_results.push((all, top));

        let w = like_where(q);
        let (sql_all, sql_count, sql_top) = (
            format!("select id from docs where {w}"),
            format!("select count(*) from docs where {w}"),
            format!("select id from docs where {w} limit 10"),
        );
        let all: Vec<i64> = like(&sql_all, q).fetch_all(&pool).await?.iter().map(|r| r.get::<i64, _>(0)).collect();
        let t = Instant::now();
        let _count = like(&sql_count, q).fetch_one(&pool).await?;
        let top: Vec<i64> = like(&sql_top, q).fetch_all(&pool).await?.iter().map(|r| r.get::<i64, _>(0)).collect();
        like_lat.push(t.elapsed().as_secs_f64() * 1000.0);
        like_results.push((all, top));
    }
    let fq = quality(&fts_results, &truths);
    let lq = quality(&like_results, &truths);
    pool.close().await;

    // --- greenline over HTTP ------------------------------------------------------------------------
    let mut config = Config::defaults();
    config.database_url = format!("sqlite://{}", tmp.path().join("greenline.db").display());
    config.index_dir = tmp.path().join("service-index");
    config.storage = tmp.path().join("objects").display().to_string();
    // One client address sends everything here: the per-IP limit would measure itself, not search.
    config.rate_limit_per_ip = 0.0;
    config.rate_limit_per_token = 0.0;
    {
        // Fill the database directly (the journey is exercised by the tests; here we need volume).
        let db = greenline::db::Db::connect(&config.database_url).await?;
        greenline::with_db!(&db, pool => {
            let now = chrono::Utc::now();
            let mut tx = pool.begin().await?;
            for d in &docs {
                sqlx::query("insert into proposals (id, title, body, category, industry, tags, status, version, round, created_at, updated_at, submitted_at)
                             values ($1, $2, $3, 'ENERGY_SAVING', 'METALLURGY', $4, 'ADOPTED', 1, 1, $5, $5, $5)")
                    .bind(d.id).bind(&d.title).bind(&d.body).bind(serde_json::to_string(&d.tags.split(' ').collect::<Vec<_>>())?).bind(now)
                    .execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        db.close().await;
    }
    let t = Instant::now();
    let state = greenline::open(config).await?; // the index is new: rebuilt from the database here
    let service_index_secs = t.elapsed().as_secs_f64();
    let service_index = state.services.search.index.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/graphql", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(greenline::serve(listener, state, async move {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::new();
    let gql = "query Search($q: String!) { searchProposals(query: $q, first: 10) { totalCount
        facets { industry { value count } } edges { score highlights { field snippet } node { id title } } } }";
    let http_latency = |concurrency: usize, rounds: usize| {
        let client = client.clone();
        let url = url.clone();
        async move {
            let start = Instant::now();
            let tasks: Vec<_> = (0..concurrency)
                .map(|c| {
                    let client = client.clone();
                    let url = url.clone();
                    tokio::spawn(async move {
                        let mut lat = vec![];
                        for i in 0..rounds {
                            let q = QUERIES[(i + c) % QUERIES.len()];
                            let t = Instant::now();
                            let r = client
                                .post(&url)
                                .json(&json!({"query": gql, "variables": {"q": q}}))
                                .send()
                                .await
                                .unwrap();
                            assert!(r.status().is_success(), "{}", r.status());
                            let _ = r.bytes().await.unwrap();
                            lat.push(t.elapsed().as_secs_f64() * 1000.0);
                        }
                        lat
                    })
                })
                .collect();
            let mut lat = vec![];
            for t in tasks {
                lat.extend(t.await.unwrap());
            }
            let qps = lat.len() as f64 / start.elapsed().as_secs_f64();
            (pct(&mut lat, 0.5), pct(&mut lat, 0.99), qps)
        }
    };
    // First with the service's result cache off (every request runs its query on the index), then as
    // the service runs by default: the 46 queries repeat, so after the first round they are cache hits.
    service_index.set_cache_entries(0);
    http_latency(4, 20).await; // warm-up
    let http1 = http_latency(1, 300).await;
    let http16 = http_latency(16, 60).await;
    service_index.set_cache_entries(search_index::DEFAULT_CACHE_ENTRIES);
    let before = service_index.cache_stats();
    let cached1 = http_latency(1, 300).await;
    let cached16 = http_latency(16, 60).await;
    let after = service_index.cache_stats();
    let hit_rate =
        (after.hits - before.hits) as f64 / ((after.hits + after.misses) - (before.hits + before.misses)).max(1) as f64;
    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(15), server).await;

    let mut like_l = like_lat.clone();
    let mut fts_l = fts_lat.clone();
    let like_p50 = pct(&mut like_l, 0.5);
    println!("| engine | indexing | index size | p50 / p99 (ms), c=1 | p50 / p99 (ms), c=16 | recall | precision@10 |");
    println!("|---|---|---|---|---|---|---|");
    println!(
        "| greenline, raw engine | {:.0} docs/s | {:.1} MiB | {:.2} / {:.2} | {:.2} / {:.2} ({:.0} q/s) | {:.4} | {:.4} |",
        n as f64 / index_secs, index_bytes as f64 / 1048576.0, raw1.0, raw1.1, raw16.0, raw16.1, raw16.2, tq.recall, tq.precision10
    );
    println!(
        "| greenline, GraphQL over HTTP, result cache off | {:.0} docs/s (rebuild from the database) | | {:.2} / {:.2} ({:.0} q/s) | {:.2} / {:.2} ({:.0} q/s) | same index | same index |",
        n as f64 / service_index_secs, http1.0, http1.1, http1.2, http16.0, http16.1, http16.2
    );
    println!(
        "| greenline, GraphQL over HTTP, result cache on ({:.0} % hits) | | | {:.2} / {:.2} ({:.0} q/s) | {:.2} / {:.2} ({:.0} q/s) | same index | same index |",
        hit_rate * 100.0, cached1.0, cached1.1, cached1.2, cached16.0, cached16.1, cached16.2
    );
    println!(
        "| SQLite FTS5 trigram | {:.0} docs/s | {:.1} MiB | {:.2} / {:.2} | | {:.4} | {:.4} |",
        n as f64 / fts_secs,
        fts_bytes as f64 / 1048576.0,
        pct(&mut fts_l, 0.5),
        pct(&mut fts_l, 0.99),
        fq.recall,
        fq.precision10
    );
    println!(
        "| SQLite LIKE '%term%' scan | (none) | (none) | {:.2} / {:.2} | | {:.4} | {:.4} |",
        like_p50,
        pct(&mut like_l, 0.99),
        lq.recall,
        lq.precision10
    );
    println!();
    println!(
        "raw-engine median {:.1}× below the LIKE scan; HTTP c=1 median {:.1}× below (cache off), {:.1}× (cache on).",
        like_p50 / raw1.0,
        like_p50 / http1.0,
        like_p50 / cached1.0
    );
    let empty = truths.iter().filter(|t| t.is_empty()).count();
    println!("queries: {} ({} with no substring match, excluded from recall and precision)", QUERIES.len(), empty);
    Ok(())
}
