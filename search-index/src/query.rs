//! From what a user typed to a tantivy query.
//!
//! Whitespace separates terms, `"double quotes"` keep a phrase together, and every term must match.
//! A term matches where the text contains it as a substring (the character view, exact phrase of
//! characters); jieba words of the term add to the score, title above tags above body.

use std::sync::Arc;

use tantivy::{
    query::{BooleanQuery, BoostQuery, Occur, PhraseQuery, Query, TermQuery},
    schema::{Field, IndexRecordOption},
    Term,
};

use crate::{
    analyzer,
    bits::{PhraseBits, TermBits},
};

/// Boosts: a match in the title counts more than in the tags, which counts more than in the body.
pub const TITLE_BOOST: f32 = 3.0;
pub const TAGS_BOOST: f32 = 2.0;
pub const BODY_BOOST: f32 = 1.0;

/// Splits the query into terms; quoted phrases stay whole. Terms are lowercased.
pub fn terms(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_quotes = false;
    let mut current = String::new();
    for c in text.chars() {
        match c {
            '"' | '“' | '”' => {
                if !current.trim().is_empty() {
                    out.push(current.trim().to_lowercase());
                }
                current.clear();
                in_quotes = !in_quotes;
            }
            c if c.is_whitespace() && !in_quotes => {
                if !current.is_empty() {
                    out.push(current.to_lowercase());
                }
                current.clear();
            }
            c => current.push(c),
        }
    }
    if !current.trim().is_empty() {
        out.push(current.trim().to_lowercase());
    }
    out.truncate(32);
    out
}

/// (word-view field, character-view field, boost) for each searchable text.
pub struct TextFields {
    pub views: Vec<(Field, Field, f32)>,
    /// Where the phrases' bitsets are kept.
    pub bits: Arc<TermBits>,
}

fn boxed(q: impl Query) -> Box<dyn Query> {
    Box::new(q)
}

/// Exact substring match of `term` in the character views: for two characters one bigram lookup per
/// field, for one character the character, either scored by BM25 field by field; for more a phrase of
/// bigrams covering every character (positions make it exact), whose matches are kept per segment and
/// score the boosts of the fields they are in.
fn char_match(fields: &TextFields, term: &str) -> Option<Box<dyn Query>> {
    let terms = analyzer::covering_terms(term);
    let in_field = |field: Field| -> Vec<(usize, Term)> {
        terms.iter().map(|(pos, t)| (*pos, Term::from_field_text(field, t))).collect()
    };
    match &terms[..] {
        [] => None,
        [(_, only)] => {
            let any_field = fields
                .views
                .iter()
                .map(|(_, chars, boost)| {
                    let tq = TermQuery::new(Term::from_field_text(*chars, only), IndexRecordOption::WithFreqs);
                    (Occur::Should, boxed(BoostQuery::new(boxed(tq), *boost)))
                })
                .collect();
            Some(boxed(BooleanQuery::new(any_field)))
        }
        _ => {
            let phrases = fields
                .views
                .iter()
                .map(|(_, chars, boost)| (*chars, PhraseQuery::new_with_offset(in_field(*chars)), *boost))
                .collect();
            Some(boxed(PhraseBits::new(term, phrases, fields.bits.clone())))
        }
    }
}

/// The query for one term: must occur somewhere (characters), scored by words too.
pub fn term_query(fields: &TextFields, term: &str) -> Option<Box<dyn Query>> {
    let must = char_match(fields, term)?;
    let mut words = Vec::new();
    let term_words = analyzer::query_words(term);
    // A term that is one word of at most two characters is already scored by its bigram, field by field:
    // the word view would count the same occurrences again (at the cost of three more postings per match).
    let redundant = matches!(&term_words[..], [w] if w == term && w.chars().count() <= 2);
    for w in term_words.into_iter().filter(|_| !redundant) {
        for (word_field, _, boost) in &fields.views {
            let tq = TermQuery::new(Term::from_field_text(*word_field, &w), IndexRecordOption::WithFreqs);
            words.push((Occur::Should, boxed(BoostQuery::new(boxed(tq), *boost))));
        }
    }
    let mut clauses = vec![(Occur::Must, must)];
    if !words.is_empty() {
        clauses.push((Occur::Should, boxed(BooleanQuery::new(words))));
    }
    Some(boxed(BooleanQuery::new(clauses)))
}

/// A query scoring documents by the words they share with `text` (for duplicate hints).
pub fn similarity_query(fields: &TextFields, text: &str) -> Option<Box<dyn Query>> {
    let mut words = analyzer::words(text);
    words.retain(|w| w.chars().count() >= 2);
    words.sort();
    words.dedup();
    words.truncate(64);
    let clauses: Vec<(Occur, Box<dyn Query>)> = words
        .iter()
        .flat_map(|w| {
            fields.views.iter().map(move |(word_field, _, boost)| {
                let tq = TermQuery::new(Term::from_field_text(*word_field, w), IndexRecordOption::WithFreqs);
                (Occur::Should, boxed(BoostQuery::new(boxed(tq), *boost)))
            })
        })
        .collect();
    (!clauses.is_empty()).then(|| boxed(BooleanQuery::new(clauses)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_terms_and_keeps_quoted_phrases() {
        assert_eq!(terms("余热  锅炉"), ["余热", "锅炉"]);
        assert_eq!(terms("\"heat Recovery\" 节电"), ["heat recovery", "节电"]);
        assert_eq!(terms("  "), Vec::<String>::new());
    }
}
