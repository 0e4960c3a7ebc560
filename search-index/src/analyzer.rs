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

/// Whether jieba's `word` is kept, in the index and in queries alike: punctuation alone is dropped.
fn is_word(word: &str) -> bool {
    word.chars().any(is_word_char)
}

/// Han characters and CJK punctuation, nearly all of the text: they have no case, so they are copied
/// without a lookup in Unicode's case tables.
fn caseless_cjk(c: char) -> bool {
    matches!(c, '\u{3000}'..='\u{303f}' | '\u{3400}'..='\u{4dbf}' | '\u{4e00}'..='\u{9fff}' | '\u{ff00}'..='\u{ff20}')
}

/// Appends `c` lowercased to `out`.
fn push_lowercase_char(out: &mut String, c: char) {
    if caseless_cjk(c) {
        out.push(c);
    } else {
        out.extend(c.to_lowercase());
    }
}

/// Appends `s` lowercased to `out`: what `str::to_lowercase` gives, without a new string when nothing
/// changes (Chinese text, lowercase English, digits — nearly every token).
fn push_lowercase(out: &mut String, s: &str) {
    if s.is_ascii() {
        out.extend(s.bytes().map(|b| char::from(b.to_ascii_lowercase())));
    } else if s.chars().all(|c| caseless_cjk(c) || c.to_lowercase().eq(std::iter::once(c))) {
        out.push_str(s);
    } else {
        // Whole-string lowercasing, for what depends on context (a final Σ becomes ς).
        out.push_str(&s.to_lowercase());
    }
}

fn lowercase(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    push_lowercase(&mut out, s);
    out
}

/// jieba's words of `text` in `mode`, lowercased, punctuation dropped.
fn segment(text: &str, mode: TokenizeMode) -> Vec<String> {
    JIEBA.tokenize(text, mode, true).into_iter().filter(|t| is_word(t.word)).map(|t| lowercase(t.word)).collect()
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
    // Lowercased as the character view indexes them (`CharTokenStream`), or a query would miss.
    let lower = |c| {
        let mut s = String::new();
        push_lowercase_char(&mut s, c);
        s
    };
    text.chars().enumerate().filter(|(_, c)| !c.is_whitespace()).map(|(i, c)| (i, lower(c))).collect()
}

/// The word view.
#[derive(Clone, Default)]
pub struct JiebaTokenizer;

/// jieba's words of a text, one at a time, in one reused [`Token`].
pub struct JiebaTokenStream<'a> {
    words: std::vec::IntoIter<tantivy_jieba::jieba_rs::Token<'a>>,
    /// The next word's position: words are counted after punctuation is dropped.
    position: usize,
    token: Token,
}

impl TokenStream for JiebaTokenStream<'_> {
    fn advance(&mut self) -> bool {
        for word in self.words.by_ref() {
            if !is_word(word.word) {
                continue;
            }
            let t = &mut self.token;
            t.text.clear();
            push_lowercase(&mut t.text, word.word);
            t.offset_from = word.byte_start;
            t.offset_to = word.byte_end;
            t.position = self.position;
            t.position_length = 1;
            self.position += 1;
            return true;
        }
        false
    }
    fn token(&self) -> &Token {
        &self.token
    }
    fn token_mut(&mut self) -> &mut Token {
        &mut self.token
    }
}

impl Tokenizer for JiebaTokenizer {
    type TokenStream<'a> = JiebaTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> JiebaTokenStream<'a> {
        JiebaTokenStream {
            words: JIEBA.tokenize(text, TokenizeMode::Search, true).into_iter(),
            position: 0,
            token: Token::default(),
        }
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

/// The character view of a text, computed as it is read: for each non-space character, the bigram with
/// the next one (when that is not a space) and then the character alone, both at its position.
pub struct CharTokenStream<'a> {
    chars: std::str::CharIndices<'a>,
    /// A character read ahead (the second of a bigram), with its position.
    ahead: Option<(usize, usize, char)>,
    /// The position of the next character read from `chars`.
    next_position: usize,
    /// A character whose bigram was just given and which is still to be given alone.
    single: Option<(usize, usize, char)>,
    token: Token,
}

impl CharTokenStream<'_> {
    fn read(&mut self) -> Option<(usize, usize, char)> {
        self.ahead.take().or_else(|| {
            let (offset, c) = self.chars.next()?;
            self.next_position += 1;
            Some((self.next_position - 1, offset, c))
        })
    }

    fn set(&mut self, position: usize, offset: usize, first: char, second: Option<char>) {
        let t = &mut self.token;
        t.text.clear();
        push_lowercase_char(&mut t.text, first);
        t.offset_from = offset;
        t.offset_to = offset + first.len_utf8();
        if let Some(n) = second {
            push_lowercase_char(&mut t.text, n);
            t.offset_to += n.len_utf8();
        }
        t.position = position;
        t.position_length = 1;
    }
}

impl TokenStream for CharTokenStream<'_> {
    fn advance(&mut self) -> bool {
        if let Some((position, offset, c)) = self.single.take() {
            self.set(position, offset, c, None);
            return true;
        }
        loop {
            let Some((position, offset, c)) = self.read() else { return false };
            if c.is_whitespace() {
                continue;
            }
            self.ahead = self.read();
            match self.ahead {
                Some((_, _, n)) if !n.is_whitespace() => {
                    self.set(position, offset, c, Some(n));
                    self.single = Some((position, offset, c));
                }
                _ => self.set(position, offset, c, None),
            }
            return true;
        }
    }
    fn token(&self) -> &Token {
        &self.token
    }
    fn token_mut(&mut self) -> &mut Token {
        &mut self.token
    }
}

impl Tokenizer for CharTokenizer {
    type TokenStream<'a> = CharTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> CharTokenStream<'a> {
        CharTokenStream {
            chars: text.char_indices(),
            ahead: None,
            next_position: 0,
            single: None,
            token: Token::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a tokenizer gives for `text`: (text, byte offsets, position) of each token in order.
    fn tokens<T: Tokenizer>(mut tokenizer: T, text: &str) -> Vec<(String, usize, usize, usize)> {
        let mut stream = tokenizer.token_stream(text);
        let mut out = vec![];
        while let Some(t) = stream.next() {
            assert_eq!(t.position_length, 1);
            out.push((t.text.clone(), t.offset_from, t.offset_to, t.position));
        }
        out
    }

    /// The word view as first written (a token list built up front, `to_lowercase` per word): the
    /// streaming tokenizer must give exactly this.
    fn words_as_before(text: &str) -> Vec<(String, usize, usize, usize)> {
        JIEBA
            .tokenize(text, TokenizeMode::Search, true)
            .into_iter()
            .filter(|t| t.word.chars().any(is_word_char))
            .enumerate()
            .map(|(i, t)| (t.word.to_lowercase(), t.byte_start, t.byte_end, i))
            .collect()
    }

    /// The character view as first written.
    fn chars_as_before(text: &str) -> Vec<(String, usize, usize, usize)> {
        let chars: Vec<(usize, usize, char)> =
            text.char_indices().enumerate().map(|(position, (offset, c))| (position, offset, c)).collect();
        let mut tokens = vec![];
        for (i, &(position, offset, c)) in chars.iter().enumerate() {
            if c.is_whitespace() {
                continue;
            }
            let lower: String = c.to_lowercase().collect();
            if let Some(&(_, next_offset, n)) = chars.get(i + 1).filter(|(_, _, n)| !n.is_whitespace()) {
                tokens.push((format!("{lower}{}", n.to_lowercase()), offset, next_offset + n.len_utf8(), position));
            }
            tokens.push((lower, offset, offset + c.len_utf8(), position));
        }
        tokens
    }

    const SAMPLES: &[&str] = &[
        "",
        " ",
        "碳",
        "利用转炉余热回收蒸汽发电，新建余热锅炉",
        "VFD改造后节电30%，年节约1.2万吨标煤",
        "  空压机 Heat Pump\t改造\n\n（二期）  ",
        "ΣΑΣ ΟΔΟΣ İstanbul ǅemal ß ẞ Ⅻ ＡＢＣ ｆｕｌｌ",
        "a",
        "ab c",
        "余热 Heat",
        "余热\u{3000}回收　改造",
        "WES-5.4.5 型号 ABB-ACS880，见 https://example.com/a?b=1",
        "🔥节能🌱 emoji 😀",
    ];

    #[test]
    fn the_streaming_tokenizers_give_what_the_token_lists_gave() {
        for text in SAMPLES {
            assert_eq!(tokens(JiebaTokenizer, text), words_as_before(text), "words of {text:?}");
            assert_eq!(tokens(CharTokenizer, text), chars_as_before(text), "characters of {text:?}");
        }
    }

    #[test]
    fn what_is_copied_without_a_lookup_has_no_case() {
        for c in ('\u{3000}'..='\u{ff20}').filter(|c| caseless_cjk(*c)) {
            assert!(c.to_lowercase().eq([c]) && c.to_uppercase().eq([c]), "{c:?} has a case");
        }
        assert!(!caseless_cjk('Ａ'), "fullwidth letters do have one");
    }

    #[test]
    fn lowercasing_without_a_copy_is_lowercasing() {
        for text in SAMPLES.iter().flat_map(|t| t.split_whitespace().chain([*t])) {
            assert_eq!(lowercase(text), text.to_lowercase(), "{text:?}");
        }
        assert_eq!(lowercase("ΟΔΟΣ"), "\u{3bf}\u{3b4}\u{3bf}\u{3c2}", "a final sigma depends on its word");
    }

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
