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

struct Inner {
    generation: u64,
    entries: Option<LruCache<String, SearchResults>>,
}

pub struct ResultCache {
    inner: Mutex<Inner>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl ResultCache {
    pub fn new(entries: usize) -> ResultCache {
        ResultCache {
            inner: Mutex::new(Inner { generation: 0, entries: NonZeroUsize::new(entries).map(LruCache::new) }),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn resize(&self, entries: usize) {
        self.lock().entries = NonZeroUsize::new(entries).map(LruCache::new);
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
            if let Some(entries) = inner.entries.as_mut() {
                entries.clear();
            }
        }
        // A search still holding an older searcher neither reads nor (in `put`) writes the entries.
        let found = if generation == inner.generation {
            inner.entries.as_mut().and_then(|e| e.get(key).cloned())
        } else {
            None
        };
        drop(inner);
        let counter = if found.is_some() { &self.hits } else { &self.misses };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Keeps `results`, unless the index moved on while they were computed.
    pub fn put(&self, generation: u64, key: String, results: &SearchResults) {
        let mut inner = self.lock();
        if inner.generation == generation {
            if let Some(entries) = inner.entries.as_mut() {
                entries.put(key, results.clone());
            }
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
