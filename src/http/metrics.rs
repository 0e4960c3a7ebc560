//! Prometheus metrics: request counts and latency histograms per route and per GraphQL operation,
//! rendered in the text exposition format at `GET /metrics`.

use std::{
    collections::BTreeMap,
    fmt::Write,
    sync::Mutex,
    time::{Duration, Instant},
};

use axum::{
    extract::{MatchedPath, Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::state::AppState;

const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];
/// Operation names come from clients, so a name becomes a label only once it has been seen this many
/// times, and only this many names ever do; the rest are counted as `other`.
const LABEL_AFTER_SIGHTINGS: u32 = 5;
const MAX_OPERATION_LABELS: usize = 50;
/// Names being counted towards a label; when full, the count starts over.
const MAX_CANDIDATES: usize = 1_000;

#[derive(Default, Clone)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        for (i, le) in BUCKETS.iter().enumerate() {
            if seconds <= *le {
                self.buckets[i] += 1;
            }
        }
        self.count += 1;
        self.sum += seconds;
    }
}

#[derive(Default)]
struct Inner {
    http: BTreeMap<(String, String, u16), u64>,
    http_latency: BTreeMap<String, Histogram>,
    graphql: BTreeMap<(String, &'static str), u64>,
    graphql_latency: BTreeMap<String, Histogram>,
    labels: std::collections::HashSet<String>,
    candidates: std::collections::HashMap<String, u32>,
}

impl Inner {
    /// The label an operation name is counted under.
    fn label<'a>(&mut self, operation: &'a str) -> &'a str {
        if operation == "anonymous" || self.labels.contains(operation) {
            return operation;
        }
        if self.labels.len() >= MAX_OPERATION_LABELS {
            return "other";
        }
        if self.candidates.len() >= MAX_CANDIDATES && !self.candidates.contains_key(operation) {
            self.candidates.clear();
        }
        let seen = self.candidates.entry(operation.to_owned()).or_default();
        *seen += 1;
        if *seen >= LABEL_AFTER_SIGHTINGS {
            self.candidates.remove(operation);
            self.labels.insert(operation.to_owned());
            return operation;
        }
        "other"
    }
}

#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

impl Metrics {
    pub fn record_http(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        let mut m = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        *m.http.entry((route.to_owned(), method.to_owned(), status)).or_default() += 1;
        m.http_latency.entry(route.to_owned()).or_default().observe(elapsed.as_secs_f64());
    }

    /// One executed GraphQL operation; `outcome` is `ok` or `error`.
    pub fn record_graphql(&self, operation: &str, outcome: &'static str, elapsed: Duration) {
        let mut m = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let name = m.label(operation);
        *m.graphql.entry((name.to_owned(), outcome)).or_default() += 1;
        m.graphql_latency.entry(name.to_owned()).or_default().observe(elapsed.as_secs_f64());
    }

    pub fn render(&self) -> String {
        let m = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = String::new();
        out.push_str("# HELP greenline_http_requests_total HTTP requests by route, method and status.\n");
        out.push_str("# TYPE greenline_http_requests_total counter\n");
        for ((route, method, status), n) in &m.http {
            let _ = writeln!(
                out,
                "greenline_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{status}\"}} {n}",
                escape(route),
                escape(method)
            );
        }
        render_histograms(
            &mut out,
            "greenline_http_request_duration_seconds",
            "HTTP request latency by route.",
            "route",
            &m.http_latency,
        );
        out.push_str("# HELP greenline_graphql_operations_total GraphQL operations by operation name and outcome.\n");
        out.push_str("# TYPE greenline_graphql_operations_total counter\n");
        for ((op, outcome), n) in &m.graphql {
            let _ = writeln!(
                out,
                "greenline_graphql_operations_total{{operation=\"{}\",outcome=\"{outcome}\"}} {n}",
                escape(op)
            );
        }
        render_histograms(
            &mut out,
            "greenline_graphql_operation_duration_seconds",
            "GraphQL operation latency by operation name.",
            "operation",
            &m.graphql_latency,
        );
        out
    }
}

fn render_histograms(out: &mut String, name: &str, help: &str, label: &str, hs: &BTreeMap<String, Histogram>) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
    for (key, h) in hs {
        let key = escape(key);
        for (i, le) in BUCKETS.iter().enumerate() {
            let _ = writeln!(out, "{name}_bucket{{{label}=\"{key}\",le=\"{le}\"}} {}", h.buckets[i]);
        }
        let _ = writeln!(out, "{name}_bucket{{{label}=\"{key}\",le=\"+Inf\"}} {}", h.count);
        let _ = writeln!(out, "{name}_sum{{{label}=\"{key}\"}} {}", h.sum);
        let _ = writeln!(out, "{name}_count{{{label}=\"{key}\"}} {}", h.count);
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Middleware: counts every request under its matched route (never the raw path, which clients control).
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route =
        req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()).unwrap_or_else(|| "unmatched".into());
    let method = req.method().to_string();
    let start = Instant::now();
    let res = next.run(req).await;
    state.services.metrics.record_http(&route, &method, res.status().as_u16(), start.elapsed());
    res
}

pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let mut text = state.services.metrics.render();
    let cache = state.services.search.index.cache_stats();
    let _ = write!(
        text,
        "# HELP greenline_search_cache_lookups_total Searches answered from the result cache (hit) or the index (miss).\n\
         # TYPE greenline_search_cache_lookups_total counter\n\
         greenline_search_cache_lookups_total{{outcome=\"hit\"}} {}\n\
         greenline_search_cache_lookups_total{{outcome=\"miss\"}} {}\n\
         # HELP greenline_search_cache_entries Searches whose results are kept until the index changes.\n\
         # TYPE greenline_search_cache_entries gauge\n\
         greenline_search_cache_entries {}\n",
        cache.hits, cache.misses, cache.entries
    );
    text.push_str(&state.services.courier.render_metrics());
    let behind = tokio::time::timeout(std::time::Duration::from_secs(1), state.services.search.behind(1_000_000)).await;
    if let Ok(Ok(n)) = behind {
        let _ = write!(
            text,
            "# HELP greenline_search_index_behind Change-feed rows this instance's index has not applied yet.\n\
             # TYPE greenline_search_index_behind gauge\n\
             greenline_search_index_behind {n}\n"
        );
    }
    let _ = write!(
        text,
        "# HELP greenline_search_index_writer Whether this instance writes its search index (0: it reads one another instance on this host writes).\n\
         # TYPE greenline_search_index_writer gauge\n\
         greenline_search_index_writer {}\n",
        u8::from(state.services.search.index.is_writer())
    );
    let _ = write!(
        text,
        "# HELP greenline_object_storage_up Whether the last call to object storage succeeded (0 for {} s after a failure).\n\
         # TYPE greenline_object_storage_up gauge\n\
         greenline_object_storage_up {}\n",
        crate::storage::Storage::RESPITE.as_secs(),
        u8::from(state.services.storage.trouble().is_none())
    );
    ([("content-type", "text/plain; version=0.0.4; charset=utf-8")], text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counts_and_cumulative_buckets() {
        let m = Metrics::default();
        for _ in 0..LABEL_AFTER_SIGHTINGS - 1 {
            m.record_graphql("Viewer", "ok", Duration::from_millis(30));
        }
        assert!(!m.render().contains("operation=\"Viewer\""), "not a label before it has been seen enough");
        m.record_graphql("Viewer", "ok", Duration::from_millis(3));
        m.record_graphql("Viewer", "ok", Duration::from_millis(30));
        m.record_http("/graphql", "POST", 200, Duration::from_millis(3));
        let text = m.render();
        assert!(text.contains("greenline_graphql_operations_total{operation=\"Viewer\",outcome=\"ok\"} 2"));
        assert!(
            text.contains("greenline_graphql_operation_duration_seconds_bucket{operation=\"Viewer\",le=\"0.005\"} 1")
        );
        assert!(
            text.contains("greenline_graphql_operation_duration_seconds_bucket{operation=\"Viewer\",le=\"0.05\"} 2")
        );
        assert!(text.contains("greenline_http_requests_total{route=\"/graphql\",method=\"POST\",status=\"200\"} 1"));
    }

    #[test]
    fn client_chosen_names_cannot_grow_the_labels() {
        let m = Metrics::default();
        m.record_graphql("anonymous", "ok", Duration::from_millis(1));
        let before = m.render().len();
        // Thousands of names, each a few times: at most MAX_OPERATION_LABELS of them ever become labels.
        for i in 0..5_000 {
            for _ in 0..(i % 7) {
                m.record_graphql(&format!("Op{i}"), "error", Duration::from_millis(1));
            }
        }
        let text = m.render();
        let labels: std::collections::HashSet<&str> =
            text.lines().filter_map(|l| l.split("operation=\"").nth(1)?.split('"').next()).collect();
        assert!(labels.len() <= MAX_OPERATION_LABELS + 2, "{} labels", labels.len());
        assert!(labels.contains("other") && labels.contains("anonymous"));
        assert!(text.len() < before * (MAX_OPERATION_LABELS + 3), "{} bytes", text.len());
    }
}
