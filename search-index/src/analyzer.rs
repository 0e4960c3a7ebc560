//! Text analysis. Two views of the same text are indexed:
//!
//! - **words** (`jieba`): jieba segmentation in search mode with HMM, plus the domain dictionary in
//!   `dict/energy.txt`, lowercased, punctuation dropped. Good for ranking: 余热锅炉 is one word.
//! - **characters** (`chars`): every non-space character, lowercased, at its character position, and every
//!   pair of adjacent characters (a bigram) at the position of its first. A two-character query is one
//!   bigram lookup; a longer one is a phrase of overlapping bigrams; either matches exactly where the text
//!   contains the query as a substring, so recall does not depend on how jieba happened to segment a
//!   sentence (碳 alone, 电价 inside 峰谷电价…), and bigram postings are short where single characters are not.

use std::sync::LazyLock;

use tantivy::tokenizer::{Token, TokenStream, Tokenizer};
use tantivy_jieba::jieba_rs::{Jieba, TokenizeMode};

/// The domain dictionary: energy and industry terms jieba should keep whole.
pub const DOMAIN_DICTIONARY: &str = include_str!("../dict/energy.txt");

static JIEBA: LazyLock<Jieba> = LazyLock::new(|| {
    let mut jieba = Jieba::new();
    let mut reader = std::io::BufReader::new(DOMAIN_DICTIONARY.as_bytes());
    jieba.load_dict(&mut reader).expect("the bundled domain dictionary is well-formed");
    jieba
});

/// Loads jieba and the domain dictionary now rather than on the first document.
pub fn warm_up() {
    LazyLock::force(&JIEBA);
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric()
}

/// jieba's words of `text` in `mode`, lowercased, punctuation dropped.
fn segment(text: &str, mode: TokenizeMode) -> Vec<String> {
    JIEBA
        .tokenize(text, mode, true)
        .into_iter()
        .filter(|t| t.word.chars().any(is_word_char))
        .map(|t| t.word.to_lowercase())
        .collect()
}

/// Segments `text` into lowercased words (search mode: long words also yield their parts).
pub fn words(text: &str) -> Vec<String> {
    segment(text, TokenizeMode::Search)
}

/// The words a query term is scored by: jieba's default mode, the longest words only. A document
/// matches the term as a substring already (the character view), so it almost always has the parts
/// that search mode would add; the whole word is what tells a standalone 永磁电机 from a passing one.
pub fn query_words(term: &str) -> Vec<String> {
    segment(term, TokenizeMode::Default)
}

/// The characters of `text` as indexed in the character view, with their positions.
pub fn chars(text: &str) -> Vec<(usize, String)> {
    text.chars().enumerate().filter(|(_, c)| !c.is_whitespace()).map(|(i, c)| (i, c.to_lowercase().collect())).collect()
}

/// A token stream over tokens computed up front.
pub struct VecTokenStream {
    tokens: Vec<Token>,
    index: usize,
}

impl TokenStream for VecTokenStream {
    fn advance(&mut self) -> bool {
        if self.index < self.tokens.len() {
            self.index += 1;
            true
        } else {
            false
        }
    }
    fn token(&self) -> &Token {
        &self.tokens[self.index - 1]
    }
    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.index - 1]
    }
}

/// The word view.
#[derive(Clone, Default)]
pub struct JiebaTokenizer;

impl Tokenizer for JiebaTokenizer {
    type TokenStream<'a> = VecTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        let tokens = JIEBA
            .tokenize(text, TokenizeMode::Search, true)
            .into_iter()
            .filter(|t| t.word.chars().any(is_word_char))
            .enumerate()
            .map(|(i, t)| Token {
                offset_from: t.byte_start,
                offset_to: t.byte_end,
                position: i,
                text: t.word.to_lowercase(),
                position_length: 1,
            })
            .collect();
        VecTokenStream { tokens, index: 0 }
    }
}

/// The terms a query term becomes in the character view, with their offsets from the first character:
/// a bigram for each pair of adjacent characters, a single character where it stands alone.
pub fn char_terms(term: &str) -> Vec<(usize, String)> {
    let chars = chars(term);
    let Some(first) = chars.first().map(|c| c.0) else { return vec![] };
    let mut out = vec![];
    for (i, (pos, c)) in chars.iter().enumerate() {
        let next_adjacent = chars.get(i + 1).filter(|(p, _)| *p == pos + 1);
        let prev_adjacent = i > 0 && chars[i - 1].0 + 1 == *pos;
        match next_adjacent {
            Some((_, n)) => out.push((pos - first, format!("{c}{n}"))),
            None if !prev_adjacent => out.push((pos - first, c.clone())),
            None => {}
        }
    }
    out
}

/// The fewest of [`char_terms`] that still cover every character of `term` at its offset: 余热回收 is
/// 余热 at 0 and 回收 at 2 (the overlapping 热回 adds nothing a phrase does not already fix); an odd
/// length keeps the last bigram. A phrase of these matches exactly where the text contains `term`.
pub fn covering_terms(term: &str) -> Vec<(usize, String)> {
    let all = char_terms(term);
    let end = |(pos, t): &(usize, String)| pos + t.chars().count();
    let mut out: Vec<(usize, String)> = vec![];
    for (i, t) in all.iter().enumerate() {
        let covered = out.last().is_some_and(|last| end(last) > t.0);
        let last_char_uncovered = i + 1 == all.len() && out.last().is_some_and(|last| end(last) < end(t));
        if !covered || last_char_uncovered {
            out.push(t.clone());
        }
    }
    out
}

/// The character view: each non-space character, and each pair of adjacent ones, at its position.
#[derive(Clone, Default)]
pub struct CharTokenizer;

impl Tokenizer for CharTokenizer {
    type TokenStream<'a> = VecTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        let chars: Vec<(usize, usize, char)> =
            text.char_indices().enumerate().map(|(position, (offset, c))| (position, offset, c)).collect();
        let mut tokens = Vec::with_capacity(chars.len() * 2);
        for (i, &(position, offset, c)) in chars.iter().enumerate() {
            if c.is_whitespace() {
                continue;
            }
            let lower: String = c.to_lowercase().collect();
            if let Some(&(_, next_offset, n)) = chars.get(i + 1).filter(|(_, _, n)| !n.is_whitespace()) {
                tokens.push(Token {
                    offset_from: offset,
                    offset_to: next_offset + n.len_utf8(),
                    position,
                    text: format!("{lower}{}", n.to_lowercase()),
                    position_length: 1,
                });
            }
            tokens.push(Token {
                offset_from: offset,
                offset_to: offset + c.len_utf8(),
                position,
                text: lower,
                position_length: 1,
            });
        }
        VecTokenStream { tokens, index: 0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_words_stay_whole_and_search_mode_yields_parts() {
        let w = words("利用转炉余热回收蒸汽发电，新建余热锅炉");
        assert!(w.contains(&"余热锅炉".to_string()), "{w:?}");
        assert!(w.contains(&"余热".to_string()), "search mode yields the parts too: {w:?}");
        assert!(!w.iter().any(|t| t == "，"), "punctuation is dropped: {w:?}");
    }

    #[test]
    fn english_is_lowercased_and_numbers_kept() {
        let w = words("VFD改造后节电30%，年节约1.2万吨标煤");
        assert!(w.contains(&"vfd".to_string()), "{w:?}");
        assert!(w.iter().any(|t| t.contains("30")), "{w:?}");
        assert!(w.contains(&"标煤".to_string()), "{w:?}");
    }

    #[test]
    fn query_terms_become_overlapping_bigrams() {
        assert_eq!(char_terms("余热回收"), [(0, "余热".into()), (1, "热回".into()), (2, "回收".into())]);
        assert_eq!(char_terms("碳"), [(0, "碳".to_string())]);
        assert_eq!(char_terms("a bc"), [(0, "a".to_string()), (2, "bc".to_string())]);
    }

    #[test]
    fn a_phrase_needs_only_the_bigrams_that_cover_the_term() {
        assert_eq!(covering_terms("余热回收"), [(0, "余热".into()), (2, "回收".into())]);
        assert_eq!(covering_terms("空压机"), [(0, "空压".into()), (1, "压机".into())]);
        assert_eq!(covering_terms("余热"), [(0, "余热".to_string())]);
        assert_eq!(covering_terms("碳"), [(0, "碳".to_string())]);
        assert_eq!(covering_terms("a bc"), [(0, "a".to_string()), (2, "bc".to_string())]);
        assert_eq!(
            covering_terms("heat pump"),
            [(0, "he".into()), (2, "at".into()), (5, "pu".into()), (7, "mp".into())]
        );
    }

    #[test]
    fn chars_keep_positions_across_spaces() {
        let c = chars("余热 Heat");
        assert_eq!(c[0], (0, "余".to_string()));
        assert_eq!(c[2], (3, "h".to_string()), "the space keeps its position");
    }
}
