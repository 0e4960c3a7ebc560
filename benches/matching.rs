//! Help-request matching (issue #21): how well `HelpRequest.suggestedTechniques` finds the catalogue
//! techniques that answer a plant's problem, next to a plain keyword baseline, in one run.
//!
//! - **Catalogue** (`benches/matching/catalogue.jsonl`): 50 energy-saving techniques of machinery,
//!   metallurgy, building materials and every industry (compressed air, motors, waste heat, kilns,
//!   furnaces, water), written for this benchmark from published practice, indexed as the server indexes
//!   catalogue techniques (name; scope, principle and typical case as the text).
//! - **Requests** (`benches/matching/help_requests.jsonl`): 63 help requests as small plants write them —
//!   symptoms, not solutions ("the compressors load and unload all night") — each labelled with the 1–3
//!   techniques that answer it.
//!
//! Methods: greenline's `SearchIndex::suggest` (what `suggestedTechniques` calls, with the request's
//! industry), and the baseline: the request's words (jieba, two characters or more), all of which must
//! match, through the ordinary search — once over title and problem, once over the title alone.
//!
//! Figures: **precision@3** — of the first three suggestions, the share that answer the request, out of
//! as many as could (min(3, labelled answers)): 1.0 when every labelled answer, or three of them, lead;
//! **raw P@3** (out of three, whatever the labels); **recall@10**; hit@1; MRR of the first 10; latency.
//!
//!     cargo bench --bench matching

use std::time::Instant;

use search_index::{
    analyzer, request_text, DocKind, FacetFields, FeedPosition, Filter, IndexDoc, SearchIndex, SearchQuery, Sort,
};
use serde_json::Value;

struct Request {
    industry: String,
    text: String,
    title: String,
    problem: String,
    answers: Vec<i64>,
}

fn read(path: &str) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

fn s(v: &Value, k: &str) -> String {
    v[k].as_str().unwrap_or_default().to_owned()
}

#[derive(Default)]
struct Score {
    p3: f64,
    raw_p3: f64,
    r10: f64,
    hit1: f64,
    mrr: f64,
    n: usize,
    micros: Vec<u128>,
}

impl Score {
    fn add(&mut self, ranked: &[i64], answers: &[i64], micros: u128) {
        let relevant = |id: &i64| answers.contains(id);
        let in3 = ranked.iter().take(3).filter(|id| relevant(id)).count() as f64;
        let in10 = ranked.iter().take(10).filter(|id| relevant(id)).count() as f64;
        self.p3 += in3 / answers.len().min(3) as f64;
        self.raw_p3 += in3 / 3.0;
        self.r10 += in10 / answers.len() as f64;
        self.hit1 += f64::from(u8::from(ranked.first().is_some_and(relevant)));
        self.mrr += ranked.iter().take(10).position(relevant).map_or(0.0, |p| 1.0 / (p + 1) as f64);
        self.n += 1;
        self.micros.push(micros);
    }

    fn print(&mut self, name: &str) {
        let n = self.n as f64;
        self.micros.sort_unstable();
        let p50 = self.micros[self.micros.len() / 2] as f64 / 1000.0;
        let max = *self.micros.last().unwrap_or(&0) as f64 / 1000.0;
        println!(
            "{name:<40} precision@3 {:.3}  raw P@3 {:.3}  recall@10 {:.3}  hit@1 {:.3}  MRR {:.3}  p50 {p50:.2} ms  max {max:.2} ms",
            self.p3 / n,
            self.raw_p3 / n,
            self.r10 / n,
            self.hit1 / n,
            self.mrr / n
        );
    }
}

fn main() {
    let root = env!("CARGO_MANIFEST_DIR");
    let catalogue = read(&format!("{root}/benches/matching/catalogue.jsonl"));
    let requests: Vec<Request> = read(&format!("{root}/benches/matching/help_requests.jsonl"))
        .iter()
        .map(|r| {
            let tags: Vec<String> = ["processes", "equipment"]
                .iter()
                .flat_map(|k| r[*k].as_array().cloned().unwrap_or_default())
                .filter_map(|t| t.as_str().map(str::to_owned))
                .collect();
            Request {
                industry: s(r, "industry"),
                text: request_text(&s(r, "title"), &s(r, "problem"), &tags),
                title: s(r, "title"),
                problem: s(r, "problem"),
                answers: r["answers"].as_array().unwrap().iter().filter_map(Value::as_i64).collect(),
            }
        })
        .collect();
    let index = SearchIndex::in_memory().expect("index");
    for t in &catalogue {
        // As the server's technique documents: the non-empty parts in this order.
        let body = ["scope", "principle", "key_parameters", "typical_case", "effect"]
            .iter()
            .map(|k| s(t, k))
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join("\n");
        index
            .upsert(&IndexDoc {
                kind: DocKind::Technique,
                id: t["id"].as_i64().unwrap(),
                title: s(t, "name"),
                body,
                tags: vec![],
                status: "PROMOTED".into(),
                category: String::new(),
                industry: s(t, "industry"),
                enterprise_id: None,
                studio_id: None,
                date: 0,
                verified_tce: 0.0,
                access: vec!["public".into()],
            })
            .unwrap();
    }
    index.commit(FeedPosition::default()).unwrap();
    index.set_cache_entries(0);
    println!("{} techniques, {} labelled help requests", catalogue.len(), requests.len());
    let public = Some(vec!["public".to_owned()]);
    let mut suggest = Score::default();
    let mut keywords = Score::default();
    let mut title_keywords = Score::default();
    for r in &requests {
        let started = Instant::now();
        let found = index.suggest(&r.text, DocKind::Technique, &public, Some(&r.industry), 10).unwrap();
        suggest.add(&found.iter().map(|f| f.id).collect::<Vec<_>>(), &r.answers, started.elapsed().as_micros());
        for (score, text) in
            [(&mut keywords, format!("{} {}", r.title, r.problem)), (&mut title_keywords, r.title.clone())]
        {
            let mut words = analyzer::words(&text);
            words.retain(|w| w.chars().count() >= 2 && w.chars().all(char::is_alphanumeric));
            words.dedup();
            let q = SearchQuery {
                text: words.join(" "),
                kind: DocKind::Technique,
                access: public.clone(),
                filter: Filter::default(),
                sort: Sort::Relevance,
                offset: 0,
                limit: 10,
                facets: FacetFields::NONE,
            };
            let started = Instant::now();
            let hits = index.search(&q).unwrap();
            score.add(&hits.hits.iter().map(|h| h.id).collect::<Vec<_>>(), &r.answers, started.elapsed().as_micros());
        }
    }
    suggest.print("suggestedTechniques (SearchIndex::suggest)");
    keywords.print("keywords, all must match (title+problem)");
    title_keywords.print("keywords, all must match (title only)");
}
