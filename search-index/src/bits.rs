//! Constraints as bitsets. Every query is intersected with its constraints (kind and access tokens,
//! industry, status…), and those match large parts of the index: as unions of posting lists, seeking
//! through them for every candidate was the most expensive part of a search under load. Here the
//! documents any of a few terms match become one bitset per segment, which answers a seek in a step.
//!
//! Dense terms (public, an enterprise, a status) are read once per segment and kept: a segment never
//! changes once written (deletions are applied by tantivy's alive bitset, which collection consults),
//! so its bits stay true for the segment's life. Sparse terms (one author's documents) are read each time.
//!
//! Phrases of the character view ([`PhraseBits`]) are kept the same way, whatever their density: a
//! phrase of bigrams reads positions for every document that holds all its bigrams, which was half of
//! a search's cost, and the same words come back in query after query (Lucene's query cache keeps
//! clauses per segment for the same reason).

use std::{
    fmt,
    num::NonZeroUsize,
    sync::{Arc, Mutex},
};

use lru::LruCache;
use tantivy::{
    index::SegmentId,
    query::{EnableScoring, Explanation, PhraseQuery, Query, Scorer, Weight},
    schema::{Field, IndexRecordOption},
    DocId, DocSet, Score, SegmentReader, Term, TERMINATED,
};

/// How many (segment, term or phrase) bitsets are kept; each is one bit per document of its segment
/// (12.5 KB for 100,000 documents).
const CACHED_SETS: usize = 4096;

/// A term is kept as a bitset when it matches at least one document in this many of its segment.
const DENSE_RATIO: u32 = 32;

/// One bit per document of a segment.
type Words = Arc<Vec<u64>>;

/// What a kept bitset holds: the documents of one term, or of one phrase in one field.
#[derive(Clone, PartialEq, Eq, Hash)]
enum Key {
    Term(Term),
    Phrase(Field, String),
}

/// The bitsets of dense terms and of phrases, per segment.
pub struct TermBits {
    sets: Mutex<LruCache<(SegmentId, Key), Words>>,
}

impl Default for TermBits {
    fn default() -> Self {
        TermBits { sets: Mutex::new(LruCache::new(NonZeroUsize::new(CACHED_SETS).expect("non-zero"))) }
    }
}

impl TermBits {
    fn get(&self, key: &(SegmentId, Key)) -> Option<Words> {
        self.sets.lock().unwrap_or_else(|p| p.into_inner()).get(key).cloned()
    }

    fn put(&self, key: (SegmentId, Key), bits: Words) {
        self.sets.lock().unwrap_or_else(|p| p.into_inner()).put(key, bits);
    }

    /// The kept bitset of `key` in `reader`'s segment, made by `make` when it is not kept yet.
    fn get_or_make(
        &self,
        reader: &SegmentReader,
        key: Key,
        make: impl FnOnce(&mut [u64]) -> tantivy::Result<()>,
    ) -> tantivy::Result<Words> {
        let key = (reader.segment_id(), key);
        if let Some(bits) = self.get(&key) {
            return Ok(bits);
        }
        let mut bits = words_for(reader.max_doc());
        make(&mut bits)?;
        let bits = Arc::new(bits);
        self.put(key, bits.clone());
        Ok(bits)
    }
}

/// Documents containing any of `terms` (no score: a constraint decides what matches, never how well).
#[derive(Clone)]
pub struct AnyTerm {
    terms: Vec<Term>,
    bits: Arc<TermBits>,
}

impl AnyTerm {
    pub fn new(terms: Vec<Term>, bits: Arc<TermBits>) -> AnyTerm {
        AnyTerm { terms, bits }
    }
}

impl fmt::Debug for AnyTerm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnyTerm").field("terms", &self.terms).finish()
    }
}

impl Query for AnyTerm {
    fn weight(&self, _: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(self.clone()))
    }
}

fn words_for(max_doc: DocId) -> Vec<u64> {
    vec![0u64; (max_doc as usize).div_ceil(64)]
}

fn set(words: &mut [u64], doc: DocId) {
    words[doc as usize / 64] |= 1u64 << (doc % 64);
}

/// Sets the bit of every document of `docs` from where it stands.
fn set_all<D: DocSet + ?Sized>(words: &mut [u64], docs: &mut D) {
    let mut doc = docs.doc();
    while doc != TERMINATED {
        set(words, doc);
        doc = docs.advance();
    }
}

impl AnyTerm {
    fn words(&self, reader: &SegmentReader) -> tantivy::Result<Words> {
        let max_doc = reader.max_doc();
        // The union, made only when it is not one kept bitset as it stands.
        let mut union: Option<Vec<u64>> = None;
        for term in &self.terms {
            let index = reader.inverted_index(term.field())?;
            let Some(info) = index.get_term_info(term)? else { continue };
            let read = |words: &mut [u64]| -> tantivy::Result<()> {
                set_all(words, &mut index.read_postings_from_terminfo(&info, IndexRecordOption::Basic)?);
                Ok(())
            };
            if info.doc_freq < max_doc / DENSE_RATIO {
                read(union.get_or_insert_with(|| words_for(max_doc)))?;
                continue;
            }
            let cached = self.bits.get_or_make(reader, Key::Term(term.clone()), read)?;
            if self.terms.len() == 1 {
                return Ok(cached);
            }
            for (w, b) in union.get_or_insert_with(|| words_for(max_doc)).iter_mut().zip(cached.iter()) {
                *w |= b;
            }
        }
        Ok(Arc::new(union.unwrap_or_else(|| words_for(max_doc))))
    }
}

/// Whether every live document holding `rare` also holds one of `others`, in every segment: then `rare`
/// opens nothing beyond them and a viewer holding all of them sees what a viewer without `rare` sees.
pub fn covered(
    searcher: &tantivy::Searcher,
    bits: &Arc<TermBits>,
    rare: &Term,
    others: &[Term],
) -> tantivy::Result<bool> {
    let others = AnyTerm::new(others.to_vec(), bits.clone());
    for reader in searcher.segment_readers() {
        let index = reader.inverted_index(rare.field())?;
        let Some(info) = index.get_term_info(rare)? else { continue };
        let mut postings = index.read_postings_from_terminfo(&info, IndexRecordOption::Basic)?;
        let mut words: Option<Words> = None;
        let mut doc = postings.doc();
        while doc != TERMINATED {
            if reader.alive_bitset().is_none_or(|alive| alive.is_alive(doc)) {
                let w = match &words {
                    Some(w) => w,
                    None => words.insert(others.words(reader)?),
                };
                if w[doc as usize / 64] & (1u64 << (doc % 64)) == 0 {
                    return Ok(false);
                }
            }
            doc = postings.advance();
        }
    }
    Ok(true)
}

impl Weight for AnyTerm {
    fn scorer(&self, reader: &SegmentReader, _boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        Ok(Box::new(Bits::new(self.words(reader)?)))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let mut bits = Bits::new(self.words(reader)?);
        if bits.seek(doc) != doc {
            return Err(tantivy::TantivyError::InvalidArgument(format!("document {doc} does not match")));
        }
        Ok(Explanation::new("AnyTerm", 0.0))
    }
}

/// Documents where a phrase of the character view matches in any of a few fields, scored as the sum
/// of the boosts of the fields it matches in: whether a document holds the words is decided here, how
/// well it matches by the word view. One docset over the fields' bitsets, not a union of scorers.
#[derive(Clone)]
pub struct PhraseBits {
    /// The text the phrases were made from: with a field, the key of its bitsets.
    text: String,
    fields: Vec<(Field, PhraseQuery, Score)>,
    bits: Arc<TermBits>,
}

impl PhraseBits {
    pub fn new(text: &str, fields: Vec<(Field, PhraseQuery, Score)>, bits: Arc<TermBits>) -> PhraseBits {
        PhraseBits { text: text.to_owned(), fields, bits }
    }
}

impl fmt::Debug for PhraseBits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fields: Vec<_> = self.fields.iter().map(|(field, _, boost)| (field, boost)).collect();
        f.debug_struct("PhraseBits").field("text", &self.text).field("fields", &fields).finish()
    }
}

impl Query for PhraseBits {
    fn weight(&self, scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let phrases = self
            .fields
            .iter()
            .map(|(_, phrase, _)| phrase.weight(EnableScoring::disabled_from_schema(scoring.schema())))
            .collect::<tantivy::Result<_>>()?;
        Ok(Box::new(PhraseBitsWeight { query: self.clone(), phrases }))
    }
}

struct PhraseBitsWeight {
    query: PhraseBits,
    phrases: Vec<Box<dyn Weight>>,
}

impl PhraseBitsWeight {
    /// Per field, the bitset of the documents the phrase matches in it, and the field's boost.
    fn parts(&self, reader: &SegmentReader) -> tantivy::Result<Vec<(Words, Score)>> {
        let mut parts = Vec::with_capacity(self.phrases.len());
        for ((field, _, boost), phrase) in self.query.fields.iter().zip(&self.phrases) {
            let key = Key::Phrase(*field, self.query.text.clone());
            let words = self.query.bits.get_or_make(reader, key, |words| {
                set_all(words, phrase.scorer(reader, 1.0)?.as_mut());
                Ok(())
            })?;
            parts.push((words, *boost));
        }
        Ok(parts)
    }

    fn scorer_of(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<FieldBits> {
        let parts = self.parts(reader)?;
        let mut any = words_for(reader.max_doc());
        for (words, _) in &parts {
            for (a, w) in any.iter_mut().zip(words.iter()) {
                *a |= w;
            }
        }
        Ok(FieldBits { any: Bits::new(Arc::new(any)), parts, boost })
    }
}

impl Weight for PhraseBitsWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        Ok(Box::new(self.scorer_of(reader, boost)?))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let mut scorer = self.scorer_of(reader, 1.0)?;
        if scorer.seek(doc) != doc {
            return Err(tantivy::TantivyError::InvalidArgument(format!("document {doc} does not match")));
        }
        Ok(Explanation::new("PhraseBits", scorer.score()))
    }
}

/// The documents of any of the parts, scored by the boosts of the parts that hold them.
struct FieldBits {
    any: Bits,
    parts: Vec<(Words, Score)>,
    boost: Score,
}

impl DocSet for FieldBits {
    fn advance(&mut self) -> DocId {
        self.any.advance()
    }
    fn seek(&mut self, target: DocId) -> DocId {
        self.any.seek(target)
    }
    fn doc(&self) -> DocId {
        self.any.doc()
    }
    fn size_hint(&self) -> u32 {
        self.any.size_hint()
    }
}

impl Scorer for FieldBits {
    fn score(&mut self) -> Score {
        let doc = self.any.doc() as usize;
        let (word, bit) = (doc / 64, 1u64 << (doc % 64));
        self.boost
            * self.parts.iter().filter(|(words, _)| words[word] & bit != 0).map(|(_, boost)| boost).sum::<Score>()
    }
}

/// A docset over a bitset.
struct Bits {
    words: Words,
    /// Index of the word `rest` came from.
    word: usize,
    /// The bits of `words[word]` after `doc`.
    rest: u64,
    doc: DocId,
    len: u32,
}

impl Bits {
    fn new(words: Words) -> Bits {
        let len = words.iter().map(|w| w.count_ones()).sum();
        let rest = words.first().copied().unwrap_or(0);
        let mut bits = Bits { words, word: 0, rest, doc: 0, len };
        bits.next_set();
        bits
    }

    /// Moves to the lowest bit in `rest` or in the words after it.
    fn next_set(&mut self) -> DocId {
        loop {
            if self.rest != 0 {
                let bit = self.rest.trailing_zeros();
                self.rest &= self.rest - 1;
                self.doc = (self.word * 64) as DocId + bit;
                return self.doc;
            }
            self.word += 1;
            if self.word >= self.words.len() {
                self.doc = TERMINATED;
                return self.doc;
            }
            self.rest = self.words[self.word];
        }
    }
}

impl DocSet for Bits {
    fn advance(&mut self) -> DocId {
        if self.doc == TERMINATED {
            return TERMINATED;
        }
        self.next_set()
    }

    fn seek(&mut self, target: DocId) -> DocId {
        if target <= self.doc {
            return self.doc;
        }
        let word = target as usize / 64;
        if word >= self.words.len() {
            self.doc = TERMINATED;
            return self.doc;
        }
        self.word = word;
        self.rest = self.words[word] & (u64::MAX << (target % 64));
        self.next_set()
    }

    fn doc(&self) -> DocId {
        self.doc
    }

    fn size_hint(&self) -> u32 {
        self.len
    }
}

impl Scorer for Bits {
    fn score(&mut self) -> Score {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(mut b: Bits) -> Vec<DocId> {
        let mut out = vec![];
        while b.doc() != TERMINATED {
            out.push(b.doc());
            b.advance();
        }
        out
    }

    #[test]
    fn iterates_and_seeks_over_word_boundaries() {
        let mut words = words_for(300);
        for d in [0, 63, 64, 127, 200, 299] {
            set(&mut words, d);
        }
        let words = Arc::new(words);
        assert_eq!(collect(Bits::new(words.clone())), [0, 63, 64, 127, 200, 299]);
        let mut b = Bits::new(words.clone());
        assert_eq!(b.size_hint(), 6);
        assert_eq!(b.seek(1), 63);
        assert_eq!(b.seek(63), 63);
        assert_eq!(b.seek(65), 127);
        assert_eq!(b.seek(201), 299);
        assert_eq!(b.advance(), TERMINATED);
        assert_eq!(b.seek(1000), TERMINATED);
        let mut b = Bits::new(words);
        assert_eq!(b.seek(5000), TERMINATED);
        assert_eq!(collect(Bits::new(Arc::new(words_for(100)))), Vec::<DocId>::new());
        assert_eq!(collect(Bits::new(Arc::new(vec![]))), Vec::<DocId>::new());
    }
}
