//! Results of recent searches, kept until the next commit: the same words (余热, 节电…) are searched
//! over and over by many people, and an unchanged index gives the same answer. Entries are tagged with
//! the index generation they were computed on and never served for another one, so the cache cannot
//! show what the index no longer holds; a commit empties it on the next search.

use std::{
    num::NonZeroUsize,
    sync::{
        atomic::{AtomicU64, Ordering},
        Mutex,
    },
};

use lru::LruCache;

use crate::{SearchQuery, SearchResults};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
    pub entries: usize,
}

/// Most hits (with their highlights, a few hundred bytes each) kept over all entries, whatever their
/// number: long pages are evicted sooner than short ones, and the cache stays within a few MiB.
const MAX_CACHED_HITS: usize = 16 * 1024;

struct Inner {
    generation: u64,
    entries: Option<LruCache<String, SearchResults>>,
    /// Hits held by `entries`.
    hits: usize,
}

impl Inner {
    fn clear(&mut self) {
        if let Some(entries) = self.entries.as_mut() {
            entries.clear();
        }
        self.hits = 0;
    }
}

pub struct ResultCache {
    inner: Mutex<Inner>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl ResultCache {
    pub fn new(entries: usize) -> ResultCache {
        ResultCache {
            inner: Mutex::new(Inner { generation: 0, entries: NonZeroUsize::new(entries).map(LruCache::new), hits: 0 }),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn resize(&self, entries: usize) {
        let mut inner = self.lock();
        inner.entries = NonZeroUsize::new(entries).map(LruCache::new);
        inner.hits = 0;
    }

    /// The key of a search (`None` when caching is off): every part of the query, the viewer's access
    /// tokens included, so two viewers share an entry only when they may see exactly the same.
    pub fn key(&self, q: &SearchQuery) -> Option<String> {
        self.lock().entries.as_ref()?;
        Some(format!("{q:?}"))
    }

    pub fn get(&self, generation: u64, key: &str) -> Option<SearchResults> {
        let mut inner = self.lock();
        if generation > inner.generation {
            inner.generation = generation;
            inner.clear();
        }
        // A search still holding an older searcher neither reads nor (in `put`) writes the entries.
        let found = if generation == inner.generation {
            inner.entries.as_mut().and_then(|e| e.get(key).cloned())
        } else {
            None
        };
        drop(inner);
        found
    }

    /// Counts a lookup that answered (a hit) or led to running the query (a miss).
    pub fn count(&self, hit: bool) {
        let counter = if hit { &self.hits } else { &self.misses };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Keeps `results`, unless the index moved on while they were computed.
    pub fn put(&self, generation: u64, key: String, results: &SearchResults) {
        let mut inner = self.lock();
        if inner.generation != generation || results.hits.len() > MAX_CACHED_HITS {
            return;
        }
        let Inner { entries: Some(entries), hits, .. } = &mut *inner else { return };
        *hits += results.hits.len();
        if let Some((_, old)) = entries.push(key, results.clone()) {
            *hits -= old.hits.len();
        }
        while *hits > MAX_CACHED_HITS {
            let Some((_, old)) = entries.pop_lru() else { break };
            *hits -= old.hits.len();
        }
    }

    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            entries: self.lock().entries.as_ref().map_or(0, |e| e.len()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Hit;

    fn results(n: usize) -> SearchResults {
        SearchResults {
            total: n,
            hits: (0..n as i64).map(|id| Hit { id, score: None, highlights: vec![] }).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn long_pages_are_evicted_to_stay_within_the_hit_budget() {
        let cache = ResultCache::new(1024);
        for i in 0..40 {
            cache.put(0, format!("q{i}"), &results(1000));
        }
        let inner = cache.lock();
        let held: usize = inner.entries.as_ref().unwrap().iter().map(|(_, r)| r.hits.len()).sum();
        assert_eq!(held, inner.hits);
        assert!(held <= MAX_CACHED_HITS, "{held} hits held");
        assert_eq!(inner.entries.as_ref().unwrap().len(), MAX_CACHED_HITS / 1000);
        drop(inner);
        assert!(cache.get(0, "q39").is_some(), "the newest stays");
        assert!(cache.get(0, "q0").is_none(), "the oldest went first");
        assert!(cache.get(1, "q39").is_none(), "a new generation empties the cache");
        assert_eq!(cache.stats().entries, 0);
    }
}
