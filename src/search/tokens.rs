//! How text is cut into searchable words, the same way for indexing, for queries and
//! for highlights: runs of letters and digits in any script, lowercased; and runs of
//! CJK characters (written without spaces) as every pair of neighbouring characters,
//! so that any two-character word inside such a run is found.

use std::ops::Range;

use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

/// One word of a text and where it is (byte offsets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    pub text: String,
    pub at: Range<usize>,
}

/// Whether `c` belongs to a script written without spaces between words.
fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF   // Hiragana, Katakana
        | 0x31F0..=0x31FF // Katakana phonetic extensions
        | 0x3400..=0x4DBF // CJK extension A
        | 0x4E00..=0x9FFF // CJK unified ideographs
        | 0xAC00..=0xD7AF // Hangul syllables
        | 0xF900..=0xFAFF // CJK compatibility ideographs
        | 0xFF66..=0xFF9F // half-width Katakana
        | 0x20000..=0x2FA1F // CJK extensions B to F, compatibility supplement
    )
}

/// The words of `text`, in order.
pub fn words(text: &str) -> Vec<Word> {
    let mut words = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if is_cjk(c) {
            let mut run: Vec<(usize, char)> = Vec::new();
            while let Some(&(at, c)) = chars.peek().filter(|(_, c)| is_cjk(*c)) {
                run.push((at, c));
                chars.next();
            }
            let end_of = |i: usize| run[i].0 + run[i].1.len_utf8();
            if run.len() == 1 {
                words.push(Word {
                    text: run[0].1.to_string(),
                    at: start..end_of(0),
                });
            }
            for pair in 0..run.len().saturating_sub(1) {
                words.push(Word {
                    text: [run[pair].1, run[pair + 1].1].iter().collect(),
                    at: run[pair].0..end_of(pair + 1),
                });
            }
        } else if c.is_alphanumeric() {
            let mut end = start;
            let mut word = String::new();
            while let Some(&(at, c)) = chars
                .peek()
                .filter(|(_, c)| c.is_alphanumeric() && !is_cjk(*c))
            {
                word.extend(c.to_lowercase());
                end = at + c.len_utf8();
                chars.next();
            }
            words.push(Word {
                text: word,
                at: start..end,
            });
        } else {
            chars.next();
        }
    }
    words
}

/// [`words`] as a tantivy tokenizer, registered under [`TOKENIZER`].
#[derive(Clone, Default)]
pub struct WordTokenizer;

/// The name the index's text field refers to.
pub const TOKENIZER: &str = "parley_words";

pub struct WordStream {
    tokens: Vec<Token>,
    next: usize,
}

impl Tokenizer for WordTokenizer {
    type TokenStream<'a> = WordStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> WordStream {
        let tokens = words(text)
            .into_iter()
            .enumerate()
            .map(|(position, word)| Token {
                offset_from: word.at.start,
                offset_to: word.at.end,
                position,
                text: word.text,
                position_length: 1,
            })
            .collect();
        WordStream { tokens, next: 0 }
    }
}

impl TokenStream for WordStream {
    fn advance(&mut self) -> bool {
        self.next += 1;
        self.next <= self.tokens.len()
    }

    fn token(&self) -> &Token {
        &self.tokens[self.next - 1]
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.next - 1]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(text: &str) -> Vec<String> {
        words(text).into_iter().map(|word| word.text).collect()
    }

    #[test]
    fn words_are_lowercased_runs_of_letters_and_digits() {
        assert_eq!(texts("Hello, World! v2.0"), ["hello", "world", "v2", "0"]);
        assert_eq!(texts("Привет, МИР"), ["привет", "мир"]);
        assert_eq!(texts("  ...  "), Vec::<String>::new());
    }

    #[test]
    fn cjk_runs_become_every_pair_of_characters() {
        assert_eq!(texts("東京タワー"), ["東京", "京タ", "タワ", "ワー"]);
        assert_eq!(texts("我 爱"), ["我", "爱"]);
        assert_eq!(texts("deploy到服务器"), ["deploy", "到服", "服务", "务器"]);
    }

    #[test]
    fn offsets_point_into_the_text() {
        let text = "Ünïcode 東京";
        for word in words(text) {
            assert_eq!(text[word.at.clone()].to_lowercase(), word.text, "{word:?}");
        }
    }

    #[test]
    fn the_tokenizer_streams_the_same_words() {
        let mut tokenizer = WordTokenizer;
        let mut stream = tokenizer.token_stream("Ab 東京");
        let mut seen = Vec::new();
        while stream.advance() {
            seen.push(stream.token().text.clone());
        }
        assert_eq!(seen, ["ab", "東京"]);
    }
}
