//! greenline's search index: a tantivy index on disk with Chinese analysis, filters, facets, highlights
//! and duplicate hints. It knows nothing about SQL or GraphQL: the service feeds it [`IndexDoc`]s,
//! commits them with the change-feed position they reach, and asks it [`SearchQuery`]s.
//!
//! Permissions are data here: each document carries the access tokens that may see it (`public`,
//! `author:7`, `ent:3`…) and each query the tokens of its viewer; the service decides both.

pub mod analyzer;
mod bits;
mod cache;
mod facets;
pub mod highlight;
pub mod query;
pub mod variants;

use std::{
    ops::Bound,
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc, Mutex, MutexGuard,
    },
};

use serde::{Deserialize, Serialize};
use tantivy::{
    collector::{Count, TopDocs},
    indexer::UserOperation,
    query::{AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, Occur, Query, RangeQuery, TermQuery},
    schema::{
        Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions, Value, FAST, INDEXED, STORED,
        STRING,
    },
    DocAddress, Index, IndexReader, IndexWriter, Order, ReloadPolicy, TantivyDocument, Term,
};

pub use cache::CacheStats;
pub use facets::{FacetFields, Facets};

/// Bumped whenever the schema or the analysis changes; an index with another version is rebuilt.
pub const SCHEMA_VERSION: u32 = 3;

const WRITER_MEMORY: usize = 96 * 1024 * 1024;

/// The file processes lock in turn while they open (and perhaps create) the index in a directory.
const OPEN_LOCK: &str = ".greenline-open.lock";

/// Results kept for repeated searches (see [`SearchIndex::set_cache_entries`]).
pub const DEFAULT_CACHE_ENTRIES: usize = 1024;

/// Decompressed doc-store blocks kept per segment (16 KiB each, so at most 4 MiB a segment): the stored
/// text of the hits shown again and again (for highlights) is not decompressed on every search.
const DOC_STORE_CACHE_BLOCKS: usize = 256;
/// An access token held by fewer than one document in this many is checked for whether the viewer's
/// other tokens already open all its documents (see `SearchIndex::deciding_access`).
const RARE_TOKEN_RATIO: u64 = 64;
/// Segments below this many documents share the lowest merge level. tantivy's default (10,000) puts every
/// small segment in one level, so a stream of small commits rewrote a growing segment of up to 10,000
/// documents every few commits; with levels from 64 documents up, each document is rewritten a few times.
const MERGE_MIN_LAYER_DOCS: u32 = 64;

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("index directory {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("the search index is locked by another process (is a server running on it?): {0}")]
    Locked(String),
    #[error("this process only reads the search index: another process on this host writes it")]
    ReadOnly,
    #[error(transparent)]
    Tantivy(#[from] tantivy::TantivyError),
}

pub type Result<T> = std::result::Result<T, SearchError>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DocKind {
    Proposal,
    Technique,
    /// A challenge (攻关课题): its scope goes in `category`.
    Challenge,
    /// A help request (求助): its process and equipment tags in `tags`, the studio that took it in `studio_id`.
    HelpRequest,
}

impl DocKind {
    fn as_str(self) -> &'static str {
        match self {
            DocKind::Proposal => "proposal",
            DocKind::Technique => "technique",
            DocKind::Challenge => "challenge",
            DocKind::HelpRequest => "help",
        }
    }
}

/// One document as the service hands it over.
#[derive(Clone, Debug)]
pub struct IndexDoc {
    pub kind: DocKind,
    pub id: i64,
    pub title: String,
    pub body: String,
    pub tags: Vec<String>,
    pub status: String,
    pub category: String,
    pub industry: String,
    pub enterprise_id: Option<i64>,
    pub studio_id: Option<i64>,
    /// Microseconds since the epoch: submission (or creation) time.
    pub date: i64,
    /// Verified tce per year; 0 when not verified.
    pub verified_tce: f64,
    /// Access tokens that may see the document.
    pub access: Vec<String>,
}

#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub industries: Vec<String>,
    pub categories: Vec<String>,
    pub statuses: Vec<String>,
    pub enterprise_ids: Vec<i64>,
    pub studio_ids: Vec<i64>,
    pub date_from: Option<i64>,
    pub date_to: Option<i64>,
    pub min_tce: Option<f64>,
    pub max_tce: Option<f64>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Sort {
    #[default]
    Relevance,
    Newest,
    VerifiedSavings,
}

#[derive(Clone, Debug)]
pub struct SearchQuery {
    pub text: String,
    pub kind: DocKind,
    /// The viewer's access tokens; `None` sees everything (platform admins).
    pub access: Option<Vec<String>>,
    pub filter: Filter,
    pub sort: Sort,
    pub offset: usize,
    pub limit: usize,
    /// The facets to count over all matches (only what the caller shows: each is a column read per
    /// matching document, a large part of the cost of a broad query).
    pub facets: FacetFields,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Highlight {
    pub field: &'static str,
    pub snippet: String,
}

#[derive(Clone, Debug)]
pub struct Hit {
    pub id: i64,
    /// Relevance; `None` when sorted by something else.
    pub score: Option<f32>,
    pub highlights: Vec<Highlight>,
}

#[derive(Clone, Debug, Default)]
pub struct SearchResults {
    pub total: usize,
    pub hits: Vec<Hit>,
    pub facets: Facets,
}

#[derive(Serialize, Deserialize)]
struct CommitPayload {
    schema_version: u32,
    /// The feed row's sequence number.
    position: i64,
    /// The feed row's transaction (0 before positions had one, and always on SQLite).
    #[serde(default)]
    txid: i64,
}

/// A place in the change feed: rows are applied in `(txid, seq)` order, the transaction that wrote them
/// first. Comparing two positions compares `txid`, then `seq`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FeedPosition {
    pub txid: i64,
    pub seq: i64,
}

struct Fields {
    key: Field,
    kind: Field,
    id: Field,
    title: Field,
    title_chars: Field,
    tags: Field,
    tags_chars: Field,
    body: Field,
    body_chars: Field,
    status: Field,
    category: Field,
    industry: Field,
    enterprise: Field,
    studio: Field,
    date: Field,
    tce: Field,
    access: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let words = TextOptions::default()
        .set_indexing_options(
            TextFieldIndexing::default().set_tokenizer("jieba").set_index_option(IndexRecordOption::WithFreqs),
        )
        .set_stored();
    let chars = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default().set_tokenizer("chars").set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let number = NumericOptions::default().set_indexed().set_fast();
    let fields = Fields {
        key: b.add_text_field("key", STRING),
        kind: b.add_text_field("kind", STRING),
        id: b.add_i64_field("id", STORED | FAST),
        title: b.add_text_field("title", words.clone()),
        title_chars: b.add_text_field("title_chars", chars.clone()),
        tags: b.add_text_field("tags", words.clone()),
        tags_chars: b.add_text_field("tags_chars", chars.clone()),
        body: b.add_text_field("body", words),
        body_chars: b.add_text_field("body_chars", chars),
        status: b.add_text_field("status", STRING | FAST),
        category: b.add_text_field("category", STRING | FAST),
        industry: b.add_text_field("industry", STRING | FAST),
        enterprise: b.add_i64_field("enterprise", number.clone()),
        studio: b.add_i64_field("studio", number.clone()),
        date: b.add_i64_field("date", number),
        tce: b.add_f64_field("tce", INDEXED | FAST),
        access: b.add_text_field("access", STRING),
    };
    (b.build(), fields)
}

/// What [`SearchIndex::lookup`] found.
pub enum Lookup {
    Hit(SearchResults),
    Miss(PreparedSearch),
}

/// A search to run: its query with the access tokens that decide it, on the index generation it was
/// looked up on.
pub struct PreparedSearch {
    searcher: tantivy::Searcher,
    generation: u64,
    query: SearchQuery,
    key: Option<String>,
}

/// The index: one writer (behind a mutex) and a reader reloaded after each commit.
///
/// Several processes on one host may share a directory ([`SearchIndex::open_shared`]): the one holding
/// tantivy's writer lock writes; the others only read, loading its commits ([`SearchIndex::refresh`]), and
/// one of them takes the lock over when its holder has gone ([`SearchIndex::take_writer`]; the lock is a
/// file lock, released when a process dies).
pub struct SearchIndex {
    dir: Option<PathBuf>,
    index: Index,
    reader: IndexReader,
    /// `None` while another process writes the directory.
    writer: Mutex<Option<IndexWriter>>,
    /// Whether `writer` holds one, read without its lock (held while a batch is handed to tantivy); set
    /// once, never cleared.
    writing: AtomicBool,
    /// A fingerprint of the commit (and merged segments) the reader holds: see [`SearchIndex::refresh`].
    loaded: AtomicU64,
    f: Fields,
    cache: cache::ResultCache,
    bits: Arc<bits::TermBits>,
}

impl SearchIndex {
    /// Opens the index in `dir` to write it, creating it when missing and recreating it (empty, to be rebuilt
    /// from the database) when its schema version is not this one. Fails with [`SearchError::Locked`] when
    /// another process writes it.
    pub fn open(dir: &Path) -> Result<SearchIndex> {
        let index = Self::open_shared(dir)?;
        if !index.is_writer() {
            return Err(SearchError::Locked(format!("{} is written by another process", dir.display())));
        }
        Ok(index)
    }

    /// Opens the index in `dir` as [`SearchIndex::open`] does, but when another process holds its writer
    /// lock, to read it: the index then follows that process's commits ([`SearchIndex::refresh`]) until
    /// this one takes the lock over ([`SearchIndex::take_writer`]). An index of another schema version that
    /// another process writes cannot be read: [`SearchError::Locked`].
    pub fn open_shared(dir: &Path) -> Result<SearchIndex> {
        let io = |source| SearchError::Io { path: dir.to_owned(), source };
        std::fs::create_dir_all(dir).map_err(io)?;
        // Processes opening the directory at once (a fleet starting) take turns: each finds what the one
        // before made, and none creates or wipes an index over another's.
        let turn = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(dir.join(OPEN_LOCK))
            .map_err(io)?;
        turn.lock().map_err(io)?;
        let (schema, _) = schema();
        let existing = Index::open_in_dir(dir).ok();
        // An index of this schema is used as it is, filled or not yet (another process may be filling it).
        let usable = existing.as_ref().is_some_and(|i| {
            i.schema() == schema && read_payload(i).is_none_or(|p| p.schema_version == SCHEMA_VERSION)
        });
        let index = match existing {
            Some(index) if usable => index,
            other => {
                if let Some(old) = other {
                    // Never wipe an index another process is writing to.
                    if let Err(e @ tantivy::TantivyError::LockFailure(..)) =
                        old.writer_with_num_threads::<TantivyDocument>(1, 15_000_000)
                    {
                        return Err(SearchError::Locked(e.to_string()));
                    }
                    tracing::warn!(dir = %dir.display(), "search index schema changed: rebuilding it from the database");
                }
                for entry in std::fs::read_dir(dir).map_err(io)? {
                    let path = entry.map_err(io)?.path();
                    if path.file_name() == Some(std::ffi::OsStr::new(OPEN_LOCK)) {
                        continue;
                    }
                    if path.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) }
                        .map_err(io)?;
                }
                Index::create_in_dir(dir, schema)?
            }
        };
        let index = Self::from_index(index, Some(dir.to_owned()));
        drop(turn);
        index
    }

    /// An index in memory, for tests.
    pub fn in_memory() -> Result<SearchIndex> {
        Self::from_index(Index::create_in_ram(schema().0), None)
    }

    fn from_index(index: Index, dir: Option<PathBuf>) -> Result<SearchIndex> {
        analyzer::warm_up();
        index.tokenizers().register("jieba", analyzer::JiebaTokenizer);
        index.tokenizers().register("chars", analyzer::CharTokenizer);
        let loaded = fingerprint(&index)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .doc_store_cache_num_blocks(DOC_STORE_CACHE_BLOCKS)
            .try_into()?;
        let (_, f) = schema();
        let cache = cache::ResultCache::new(DEFAULT_CACHE_ENTRIES);
        let index = SearchIndex {
            dir,
            index,
            reader,
            writer: Mutex::new(None),
            writing: AtomicBool::new(false),
            loaded: AtomicU64::new(loaded),
            f,
            cache,
            bits: Default::default(),
        };
        index.take_writer()?;
        Ok(index)
    }

    /// Whether this process writes the index (it holds the directory's writer lock).
    pub fn is_writer(&self) -> bool {
        self.writing.load(Ordering::Relaxed)
    }

    /// Takes the directory's writer lock when no other process holds it (any more), and then loads the
    /// last commit; returns whether this process writes the index now.
    pub fn take_writer(&self) -> Result<bool> {
        let mut slot = self.writer_slot();
        if slot.is_some() {
            return Ok(true);
        }
        let writer = match self.index.writer_with_num_threads(2, WRITER_MEMORY) {
            Ok(w) => w,
            Err(tantivy::TantivyError::LockFailure(..)) => return Ok(false),
            Err(e) => return Err(e.into()),
        };
        let mut merges = tantivy::indexer::LogMergePolicy::default();
        merges.set_min_layer_size(MERGE_MIN_LAYER_DOCS);
        writer.set_merge_policy(Box::new(merges));
        *slot = Some(writer);
        self.writing.store(true, Ordering::Relaxed);
        drop(slot);
        self.refresh()?;
        Ok(true)
    }

    /// Loads the directory's last commit when the reader does not hold it yet (another process committed,
    /// or merged segments); returns whether it did. Cheap when nothing changed: one read of `meta.json`.
    /// The writing process need not call it: its commits reload its reader.
    pub fn refresh(&self) -> Result<bool> {
        let now = fingerprint(&self.index)?;
        if now == self.loaded.load(Ordering::Relaxed) {
            return Ok(false);
        }
        self.reader.reload()?;
        self.loaded.store(now, Ordering::Relaxed);
        Ok(true)
    }

    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// How many distinct searches keep their results until the next commit (0: none). A result is only
    /// ever served for the same index generation it was computed on, so a commit empties the cache.
    pub fn set_cache_entries(&self, entries: usize) {
        self.cache.resize(entries);
    }

    pub fn cache_stats(&self) -> CacheStats {
        self.cache.stats()
    }

    /// True while the index has never been filled from the database (it was just created or recreated, or
    /// the process filling it went before its first commit).
    pub fn needs_rebuild(&self) -> bool {
        read_payload(&self.index).is_none_or(|p| p.schema_version != SCHEMA_VERSION)
    }

    /// The change-feed position the last commit reached (the start for a new index).
    pub fn position(&self) -> FeedPosition {
        read_payload(&self.index).map(|p| FeedPosition { txid: p.txid, seq: p.position }).unwrap_or_default()
    }

    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Readiness: the directory is writable (or the index lives in memory).
    pub fn check(&self) -> Result<()> {
        static PROBES: AtomicU64 = AtomicU64::new(0);
        let Some(dir) = &self.dir else { return Ok(()) };
        // Named for this check alone: processes sharing the directory probe it at the same time.
        let n = PROBES.fetch_add(1, Ordering::Relaxed);
        let probe = dir.join(format!(".readyz-probe-{}-{n}", std::process::id()));
        std::fs::write(&probe, b"ok")
            .and_then(|_| std::fs::remove_file(&probe))
            .map_err(|source| SearchError::Io { path: dir.clone(), source })
    }

    /// Access tokens are indexed per kind (`proposal/public`), so one lookup checks kind and access.
    fn access_token(kind: DocKind, token: &str) -> String {
        format!("{}/{token}", kind.as_str())
    }

    fn key(kind: DocKind, id: i64) -> String {
        format!("{}:{id}", kind.as_str())
    }

    fn writer_slot(&self) -> MutexGuard<'_, Option<IndexWriter>> {
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the writer; [`SearchError::ReadOnly`] in a process that only reads.
    fn with_writer<R>(&self, f: impl FnOnce(&mut IndexWriter) -> tantivy::Result<R>) -> Result<R> {
        Ok(f(self.writer_slot().as_mut().ok_or(SearchError::ReadOnly)?)?)
    }

    /// Adds or replaces a document (visible after the next commit).
    pub fn upsert(&self, d: &IndexDoc) -> Result<()> {
        self.write([d], [])
    }

    /// Removes a document (after the next commit).
    pub fn delete(&self, kind: DocKind, id: i64) {
        // A batch of one delete cannot fail: only adds can (a closed writer).
        let _ = self.write([], [(kind, id)]);
    }

    /// Adds or replaces `docs` and removes `gone` (visible after the next commit), as one batch: one
    /// indexing thread takes it whole, so the follower's small rounds make one segment per commit, not one
    /// per thread (each segment costs its files, their fsync and a fresh memory arena, whatever its size;
    /// on a fleet every instance pays that for every commit).
    pub fn write<'a>(
        &self,
        docs: impl IntoIterator<Item = &'a IndexDoc>,
        gone: impl IntoIterator<Item = (DocKind, i64)>,
    ) -> Result<()> {
        let mut ops = Vec::new();
        for d in docs {
            let (key, doc) = self.document(d);
            ops.push(UserOperation::Delete(key));
            ops.push(UserOperation::Add(doc));
        }
        ops.extend(gone.into_iter().map(|(kind, id)| UserOperation::Delete(self.key_term(kind, id))));
        self.with_writer(|w| w.run(ops))?;
        Ok(())
    }

    fn key_term(&self, kind: DocKind, id: i64) -> Term {
        Term::from_field_text(self.f.key, &Self::key(kind, id))
    }

    /// A document's key term and its fields.
    fn document(&self, d: &IndexDoc) -> (Term, TantivyDocument) {
        let f = &self.f;
        let mut doc = TantivyDocument::default();
        doc.add_text(f.key, Self::key(d.kind, d.id));
        doc.add_text(f.kind, d.kind.as_str());
        doc.add_i64(f.id, d.id);
        doc.add_text(f.title, &d.title);
        doc.add_text(f.title_chars, &d.title);
        let tags = d.tags.join(" ");
        doc.add_text(f.tags, &tags);
        doc.add_text(f.tags_chars, &tags);
        doc.add_text(f.body, &d.body);
        doc.add_text(f.body_chars, &d.body);
        doc.add_text(f.status, &d.status);
        doc.add_text(f.category, &d.category);
        doc.add_text(f.industry, &d.industry);
        if let Some(e) = d.enterprise_id {
            doc.add_i64(f.enterprise, e);
        }
        if let Some(s) = d.studio_id {
            doc.add_i64(f.studio, s);
        }
        doc.add_i64(f.date, d.date);
        doc.add_f64(f.tce, d.verified_tce);
        for a in &d.access {
            doc.add_text(f.access, Self::access_token(d.kind, a));
        }
        (self.key_term(d.kind, d.id), doc)
    }

    /// How many segments searches read (each commit of new documents adds at least one; merges fold them).
    pub fn segments(&self) -> usize {
        self.reader.searcher().segment_readers().len()
    }

    /// Removes every document (after the next commit), before a rebuild.
    pub fn clear(&self) -> Result<()> {
        self.with_writer(|w| w.delete_all_documents())?;
        Ok(())
    }

    /// Makes everything written so far durable and searchable, recording the feed position it reaches.
    pub fn commit(&self, position: FeedPosition) -> Result<()> {
        let payload = serde_json::to_string(&CommitPayload {
            schema_version: SCHEMA_VERSION,
            position: position.seq,
            txid: position.txid,
        })
        .expect("serialisable");
        self.with_writer(|w| {
            let mut prepared = w.prepare_commit()?;
            prepared.set_payload(&payload);
            prepared.commit()
        })?;
        self.reader.reload()?;
        self.loaded.store(fingerprint(&self.index)?, Ordering::Relaxed);
        Ok(())
    }

    /// Folds every segment into one and makes it searchable (tests use it to check that what is kept per
    /// segment survives a merge).
    pub fn merge_segments(&self) -> Result<()> {
        // A background merge may have taken some of the segments meanwhile: then ask again.
        for attempt in 0.. {
            let ids = self.index.searchable_segment_ids()?;
            if ids.len() <= 1 {
                break;
            }
            match self.with_writer(|w| Ok(w.merge(&ids)))?.wait() {
                Ok(_) => break,
                Err(tantivy::TantivyError::InvalidArgument(_)) if attempt < 50 => {
                    std::thread::sleep(std::time::Duration::from_millis(20))
                }
                Err(e) => return Err(e.into()),
            }
        }
        self.reader.reload()?;
        Ok(())
    }

    fn text_fields(&self) -> query::TextFields {
        let f = &self.f;
        query::TextFields {
            views: vec![
                (f.title, f.title_chars, query::TITLE_BOOST),
                (f.tags, f.tags_chars, query::TAGS_BOOST),
                (f.body, f.body_chars, query::BODY_BOOST),
            ],
            bits: self.bits.clone(),
        }
    }

    /// Kind, access and filters: what every query must also satisfy. They decide what matches, never how
    /// well: term sets are bitsets per segment ([`bits::AnyTerm`]), ranges are scored as constants.
    fn constraints(
        &self,
        kind: DocKind,
        access: &Option<Vec<String>>,
        filter: &Filter,
    ) -> Vec<(Occur, Box<dyn Query>)> {
        let f = &self.f;
        let any =
            |terms: Vec<Term>| (Occur::Must, Box::new(bits::AnyTerm::new(terms, self.bits.clone())) as Box<dyn Query>);
        let mut c = vec![any(match access {
            Some(tokens) => {
                tokens.iter().map(|t| Term::from_field_text(f.access, &Self::access_token(kind, t))).collect()
            }
            None => vec![Term::from_field_text(f.kind, kind.as_str())],
        })];
        for (field, values) in
            [(f.industry, &filter.industries), (f.category, &filter.categories), (f.status, &filter.statuses)]
        {
            if !values.is_empty() {
                c.push(any(values.iter().map(|v| Term::from_field_text(field, v)).collect()));
            }
        }
        for (field, values) in [(f.enterprise, &filter.enterprise_ids), (f.studio, &filter.studio_ids)] {
            if !values.is_empty() {
                c.push(any(values.iter().map(|v| Term::from_field_i64(field, *v)).collect()));
            }
        }
        let constant =
            |q: RangeQuery| (Occur::Must, Box::new(ConstScoreQuery::new(Box::new(q), 0.0)) as Box<dyn Query>);
        if filter.date_from.is_some() || filter.date_to.is_some() {
            let lo = filter.date_from.map_or(Bound::Unbounded, |v| Bound::Included(Term::from_field_i64(f.date, v)));
            let hi = filter.date_to.map_or(Bound::Unbounded, |v| Bound::Included(Term::from_field_i64(f.date, v)));
            c.push(constant(RangeQuery::new(lo, hi)));
        }
        if filter.min_tce.is_some() || filter.max_tce.is_some() {
            let lo = filter.min_tce.map_or(Bound::Unbounded, |v| Bound::Included(Term::from_field_f64(f.tce, v)));
            let hi = filter.max_tce.map_or(Bound::Unbounded, |v| Bound::Included(Term::from_field_f64(f.tce, v)));
            c.push(constant(RangeQuery::new(lo, hi)));
        }
        c
    }

    /// `q` with only the access tokens that decide what it may match: a rare token (a viewer's own
    /// `author:` or `reviewer:` token) whose every document some other token of the viewer also opens
    /// (their submitted proposals are open to their whole enterprise) changes nothing and is dropped, so
    /// viewers who see the same documents share result-cache entries. Checked on `searcher`, the
    /// generation the search then runs on and caches for.
    fn deciding_access(&self, searcher: &tantivy::Searcher, q: &SearchQuery) -> Result<SearchQuery> {
        let mut q = q.clone();
        let Some(tokens) = &q.access else { return Ok(q) };
        let terms: Vec<Term> =
            tokens.iter().map(|t| Term::from_field_text(self.f.access, &Self::access_token(q.kind, t))).collect();
        let rare_below = searcher.num_docs() / RARE_TOKEN_RATIO;
        let mut rare = Vec::new();
        for term in &terms {
            rare.push(searcher.doc_freq(term)? < rare_below);
        }
        let common: Vec<Term> = terms.iter().zip(&rare).filter(|(_, r)| !**r).map(|(t, _)| t.clone()).collect();
        if common.is_empty() {
            return Ok(q);
        }
        let mut kept = Vec::new();
        for ((token, term), rare) in tokens.iter().zip(&terms).zip(rare) {
            if !rare || !bits::covered(searcher, &self.bits, term, &common)? {
                kept.push(token.clone());
            }
        }
        q.access = Some(kept);
        Ok(q)
    }

    /// Looks `q` up in the result cache: a hit is the answer (microseconds); a miss is the search prepared
    /// on the current index generation, for [`SearchIndex::run`] — so that callers can answer hits in place
    /// and move only the misses off their async threads, without preparing twice.
    pub fn lookup(&self, q: &SearchQuery) -> Result<Lookup> {
        let searcher = self.reader.searcher();
        let generation = searcher.generation().generation_id();
        let query = self.deciding_access(&searcher, q)?;
        let key = self.cache.key(&query);
        let found = key.as_ref().and_then(|k| self.cache.get(generation, k));
        if key.is_some() {
            self.cache.count(found.is_some());
        }
        Ok(match found {
            Some(hit) => Lookup::Hit(hit),
            None => Lookup::Miss(PreparedSearch { searcher, generation, query, key }),
        })
    }

    /// Runs a search the cache did not hold, on the generation it was prepared on, and keeps its results.
    pub fn run(&self, p: PreparedSearch) -> Result<SearchResults> {
        let results = self.run_search(&p.searcher, &p.query)?;
        if let Some(k) = p.key {
            self.cache.put(p.generation, k, &results);
        }
        Ok(results)
    }

    /// Full-text search with filters, facets, sorting, pagination and highlights. The same search on the
    /// same index generation (nothing committed in between) is answered from the result cache.
    pub fn search(&self, q: &SearchQuery) -> Result<SearchResults> {
        match self.lookup(q)? {
            Lookup::Hit(hit) => Ok(hit),
            Lookup::Miss(p) => self.run(p),
        }
    }

    fn run_search(&self, searcher: &tantivy::Searcher, q: &SearchQuery) -> Result<SearchResults> {
        let terms = query::terms(&q.text);
        let mut clauses = self.constraints(q.kind, &q.access, &q.filter);
        let mut any_text = false;
        for t in &terms {
            if let Some(tq) = query::term_query(&self.text_fields(), t) {
                clauses.push((Occur::Must, tq));
                any_text = true;
            }
        }
        if !any_text {
            clauses.push((Occur::Must, Box::new(AllQuery)));
        }
        let query = BooleanQuery::new(clauses);
        // No search has more hits than the index has documents: an offset past them is an empty page, and
        // the collector never reserves room for the hits it skips beyond them.
        let offset = q.offset.min(searcher.num_docs() as usize);
        let page = TopDocs::with_limit(q.limit.max(1)).and_offset(offset);
        let facet_collector = q.facets.any().then_some(facets::FacetCollector(q.facets));
        let (hits, total, facets): (Vec<(Option<f32>, DocAddress)>, usize, Facets) = match q.sort {
            Sort::Relevance => {
                let (top, total, facets) = searcher.search(&query, &(page.order_by_score(), Count, facet_collector))?;
                (top.into_iter().map(|(s, d)| (Some(s), d)).collect(), total, facets.unwrap_or_default())
            }
            Sort::Newest => {
                let (top, total, facets) = searcher
                    .search(&query, &(page.order_by_fast_field::<i64>("date", Order::Desc), Count, facet_collector))?;
                (top.into_iter().map(|(_, d)| (None, d)).collect(), total, facets.unwrap_or_default())
            }
            Sort::VerifiedSavings => {
                let (top, total, facets) = searcher
                    .search(&query, &(page.order_by_fast_field::<f64>("tce", Order::Desc), Count, facet_collector))?;
                (top.into_iter().map(|(_, d)| (None, d)).collect(), total, facets.unwrap_or_default())
            }
        };
        let hits = if q.limit == 0 { vec![] } else { hits };
        let mut out = Vec::with_capacity(hits.len());
        for (score, addr) in hits {
            let doc: TantivyDocument = searcher.doc(addr)?;
            let text = |field: Field| doc.get_first(field).and_then(|v| v.as_str()).unwrap_or("").to_owned();
            let id = doc.get_first(self.f.id).and_then(|v| v.as_i64()).unwrap_or(0);
            let mut highlights = Vec::new();
            for (name, field) in [("title", self.f.title), ("tags", self.f.tags), ("body", self.f.body)] {
                if let Some(snippet) = highlight::snippet(&text(field), &terms) {
                    highlights.push(Highlight { field: name, snippet });
                }
            }
            out.push(Hit { id, score, highlights });
        }
        Ok(SearchResults { total, hits: out, facets })
    }

    /// Documents most like `text`, most alike first: duplicate hints while a worker writes, and possible
    /// duplicates beside a proposal under review.
    ///
    /// A rewording keeps few whole words but most of its character pairs, so documents are scored by the
    /// character bigrams they share with `text` (BM25 over the title and body character views, the title
    /// counting more), after folding the ways workers write the same thing ([`variants::fold`]: full-width,
    /// traditional characters, numbers in Chinese). A long text is reduced to its [`SIMILAR_TERMS`] rarest
    /// bigrams, so that common ones (的是, 进行) do not drown the telling ones; jieba's words of the text add
    /// a little for documents that share whole terms.
    pub fn similar(&self, text: &str, kind: DocKind, access: &Option<Vec<String>>, limit: usize) -> Result<Vec<Hit>> {
        let searcher = self.reader.searcher();
        let folded = variants::fold(text);
        let Some(matching) = self.similarity(&searcher, &folded, SIMILAR_TITLE_BOOST, true)? else { return Ok(vec![]) };
        let mut clauses = self.constraints(kind, access, &Filter::default());
        clauses.push((Occur::Must, matching));
        let top = searcher.search(&BooleanQuery::new(clauses), &TopDocs::with_limit(limit.max(1)).order_by_score())?;
        let mut out = Vec::new();
        for (score, addr) in top {
            let doc: TantivyDocument = searcher.doc(addr)?;
            let id = doc.get_first(self.f.id).and_then(|v| v.as_i64()).unwrap_or(0);
            out.push(Hit { id, score: Some(score), highlights: vec![] });
        }
        Ok(out)
    }
}

/// What a suggestion found: the document, how well it matched, and why (the request's words it contains).
#[derive(Clone, Debug)]
pub struct Suggestion {
    pub id: i64,
    pub score: f32,
    /// Snippets of its name and text with the words it shares with the request marked.
    pub highlights: Vec<Highlight>,
    /// Those words, most telling first.
    pub shared_words: Vec<String>,
}

impl SearchIndex {
    /// Documents of `kind` that answer a described problem, best first: a plant's help request matched
    /// against the catalogue. A problem is told in other words than its solution ("the compressors run
    /// unloaded at night" against "central control of the compressors"), so every document is scored by
    /// what it shares with the text — its rarest character bigrams and jieba's words, as [`similar`]
    /// does — and documents of `industry` count a little more (a plant's own industry's practice first;
    /// cross-industry techniques, such as variable-speed pumps, still rank on their text). Each suggestion
    /// says why: the request's words it contains, marked in snippets.
    ///
    /// [`similar`]: SearchIndex::similar
    pub fn suggest(
        &self,
        text: &str,
        kind: DocKind,
        access: &Option<Vec<String>>,
        industry: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Suggestion>> {
        let searcher = self.reader.searcher();
        let folded = variants::fold(text);
        let Some(matching) = self.similarity(&searcher, &folded, SUGGEST_TITLE_BOOST, false)? else {
            return Ok(vec![]);
        };
        let mut should: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, matching)];
        if let Some(i) = industry {
            let same = TermQuery::new(Term::from_field_text(self.f.industry, i), IndexRecordOption::Basic);
            should.push((Occur::Should, Box::new(BoostQuery::new(Box::new(same), SUGGEST_INDUSTRY_BOOST))));
        }
        let mut clauses = self.constraints(kind, access, &Filter::default());
        clauses.push((Occur::Must, Box::new(BooleanQuery::new(should))));
        let top = searcher.search(&BooleanQuery::new(clauses), &TopDocs::with_limit(limit.max(1)).order_by_score())?;
        let mut words = analyzer::words(&folded);
        words.retain(|w| w.chars().count() >= 2 && !w.chars().any(|c| c.is_ascii_digit()));
        let mut seen = std::collections::HashSet::new();
        words.retain(|w| seen.insert(w.clone()));
        words.sort_by_key(|w| std::cmp::Reverse(w.chars().count()));
        let mut out = Vec::with_capacity(top.len());
        for (score, addr) in top {
            let doc: TantivyDocument = searcher.doc(addr)?;
            let text = |field: Field| doc.get_first(field).and_then(|v| v.as_str()).unwrap_or("").to_owned();
            let id = doc.get_first(self.f.id).and_then(|v| v.as_i64()).unwrap_or(0);
            let (title, body) = (variants::fold(&text(self.f.title)), variants::fold(&text(self.f.body)));
            let found: Vec<&str> =
                words.iter().map(|w| w.as_ref() as &str).filter(|w| title.contains(*w) || body.contains(*w)).collect();
            // Longest first; a word inside a longer one found (压机 in 空压机) says nothing more.
            let shared: Vec<String> = found
                .iter()
                .filter(|w| !found.iter().any(|o| o.len() > w.len() && o.contains(**w)))
                .map(|w| (*w).to_owned())
                .collect();
            let mut highlights = Vec::new();
            for (name, field) in [("title", self.f.title), ("body", self.f.body)] {
                if let Some(snippet) = highlight::snippet(&text(field), &shared) {
                    highlights.push(Highlight { field: name, snippet });
                }
            }
            out.push(Suggestion { id, score, highlights, shared_words: shared.into_iter().take(12).collect() });
        }
        Ok(out)
    }

    /// The scoring of [`SearchIndex::similar`] for an already folded text: its rarest bigrams in the title
    /// (counting `title_boost`) and body character views, and jieba's words a little; bigrams with digits
    /// only when `numbers` (a duplicate repeats its figures; a plant's "4台" says nothing of a solution).
    /// `None` when the text shares nothing with the index.
    fn similarity(
        &self,
        searcher: &tantivy::Searcher,
        folded: &str,
        title_boost: f32,
        numbers: bool,
    ) -> Result<Option<Box<dyn Query>>> {
        let mut grams: Vec<(String, f32)> = similarity_bigrams(folded)
            .into_iter()
            .filter(|g| numbers || !g.chars().any(|c| c.is_ascii_digit()))
            .filter_map(|g| {
                let df = searcher.doc_freq(&Term::from_field_text(self.f.body_chars, &g)).ok()?
                    + searcher.doc_freq(&Term::from_field_text(self.f.title_chars, &g)).ok()?;
                (df > 0).then(|| (g, 1.0 / (df as f32 + 1.0)))
            })
            .collect();
        if grams.is_empty() {
            return Ok(None);
        }
        grams.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        grams.truncate(SIMILAR_TERMS);
        let mut should: Vec<(Occur, Box<dyn Query>)> = Vec::with_capacity(grams.len() * 2 + 16);
        for (g, _) in &grams {
            for (field, boost) in [(self.f.title_chars, title_boost), (self.f.body_chars, 1.0)] {
                let tq = TermQuery::new(Term::from_field_text(field, g), IndexRecordOption::WithFreqs);
                should.push((Occur::Should, Box::new(BoostQuery::new(Box::new(tq), boost))));
            }
        }
        if let Some(words) = query::similarity_query(&self.text_fields(), folded) {
            should.push((Occur::Should, Box::new(BoostQuery::new(words, SIMILAR_WORDS_BOOST))));
        }
        Ok(Some(Box::new(BooleanQuery::new(should))))
    }
}

/// The text a help request is matched by: its title, its problem and its process and equipment tags
/// (what `HelpRequest.suggestedTechniques` and the matching benchmark both use).
pub fn request_text(title: &str, problem: &str, tags: &[String]) -> String {
    format!("{title}\n{problem}\n{}", tags.join(" "))
}

/// How much a technique's name counts beside its text when matching a problem (a name repeats the
/// equipment every request about it mentions; what tells techniques apart is in their text).
const SUGGEST_TITLE_BOOST: f32 = 1.0;
/// How much a suggestion of the request's own industry counts beyond its text.
const SUGGEST_INDUSTRY_BOOST: f32 = 1.0;

impl SearchIndex {
    /// The duplicate hints as they were before the character view was used (jieba's words only): kept
    /// for `cargo bench --bench duplicates`, which measures both side by side.
    #[doc(hidden)]
    pub fn similar_by_words(
        &self,
        text: &str,
        kind: DocKind,
        access: &Option<Vec<String>>,
        limit: usize,
    ) -> Result<Vec<i64>> {
        let Some(sim) = query::similarity_query(&self.text_fields(), text) else { return Ok(vec![]) };
        let mut clauses = self.constraints(kind, access, &Filter::default());
        clauses.push((Occur::Must, sim));
        let searcher = self.reader.searcher();
        let top = searcher.search(&BooleanQuery::new(clauses), &TopDocs::with_limit(limit.max(1)).order_by_score())?;
        top.into_iter()
            .map(|(_, addr)| {
                let doc: TantivyDocument = searcher.doc(addr)?;
                Ok(doc.get_first(self.f.id).and_then(|v| v.as_i64()).unwrap_or(0))
            })
            .collect()
    }
}

/// How many of a text's rarest character bigrams a similarity search uses.
pub const SIMILAR_TERMS: usize = 96;
const SIMILAR_TITLE_BOOST: f32 = 2.0;
const SIMILAR_WORDS_BOOST: f32 = 0.3;

/// The distinct bigrams of adjacent letters or digits of `text` (punctuation and spaces break them).
fn similarity_bigrams(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut grams: Vec<String> =
        chars.windows(2).filter(|w| w.iter().all(|c| c.is_alphanumeric())).map(|w| w.iter().collect()).collect();
    grams.sort();
    grams.dedup();
    grams
}

/// What the directory's last commit holds: its opstamp and segments (a merge changes those, not the opstamp).
fn fingerprint(index: &Index) -> Result<u64> {
    use std::hash::{Hash, Hasher};
    let metas = index.load_metas()?;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    metas.opstamp.hash(&mut h);
    for s in &metas.segments {
        s.id().uuid_string().hash(&mut h);
        s.num_deleted_docs().hash(&mut h);
    }
    Ok(h.finish())
}

fn read_payload(index: &Index) -> Option<CommitPayload> {
    index.load_metas().ok()?.payload.and_then(|p| serde_json::from_str(&p).ok())
}
