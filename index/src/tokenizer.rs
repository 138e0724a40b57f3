//! The `standard` tokenizer: words as Unicode's word boundaries (UAX #29) cut them, lower-cased,
//! as the `standard` analyzer of Elasticsearch and OpenSearch does (Lucene's
//! `StandardTokenizer`, then `LowerCaseFilter`, no stop words).
//!
//! Why not tantivy's `default` tokenizer: it cuts at every character that is neither a letter
//! nor a digit and drops tokens over 40 bytes. So `10.0.0.1`, `E_42`, `it's`, `search.png`,
//! `foo:bar` became several words, `東京` one word instead of two, and emoji nothing — and a
//! `match` found other documents than the engine whose API Hydrant answers.
//!
//! Why written here: `unicode-segmentation` finds the boundaries, but which segments are words
//! (letters, digits, ideographs, emoji — not spaces or punctuation), the lower-casing and the
//! 255-character cap are Lucene's choices, and pure-ASCII text (nearly all log text) goes
//! through a byte-class loop of the same rules restricted to ASCII, several times faster than
//! the general segmenter. A run of Thai, Lao, Myanmar or Khmer (which Lucene, lacking a
//! dictionary, keeps whole) is one word, as there.

use std::iter::Peekable;
use tantivy::tokenizer::{TextAnalyzer, Token, TokenStream, Tokenizer};

use unicode_segmentation::{UWordBoundIndices, UnicodeSegmentation};

/// The name the tokenizer is registered under in every index, and which new schemas name for
/// their text fields. Indices made before it exist keep tantivy's `default`.
pub const STANDARD: &str = "standard";

/// Lucene's `max_token_length`: a longer word is cut into pieces of this many characters.
const MAX_TOKEN_CHARS: usize = 255;

/// The analyzer of text fields: [`StandardTokenizer`] alone (it lower-cases as it goes).
pub fn standard_analyzer() -> TextAnalyzer {
    TextAnalyzer::from(StandardTokenizer::default())
}

/// The analyzer `index` cuts its text with: the one its schema names for the text field
/// (`default` in indices made before [`STANDARD`] existed), so that a query's words are cut
/// as the documents' were.
pub fn text_analyzer(index: &tantivy::Index) -> TextAnalyzer {
    let schema = index.schema();
    let name = schema
        .get_field(crate::mapping::TEXT_FIELD)
        .ok()
        .and_then(|f| match schema.get_field_entry(f).field_type() {
            tantivy::schema::FieldType::JsonObject(o) => o.get_text_indexing_options(),
            tantivy::schema::FieldType::Str(o) => o.get_indexing_options(),
            _ => None,
        })
        .map(|o| o.tokenizer().to_string());
    name.and_then(|n| index.tokenizers().get(&n))
        .unwrap_or_else(standard_analyzer)
}

/// Registers the analyzers this crate's schemas name on `index` (on every open: tantivy keeps
/// tokenizers in memory only).
pub fn register(index: &tantivy::Index) {
    index.tokenizers().register(STANDARD, standard_analyzer());
}

/// See the module documentation.
#[derive(Clone, Default)]
pub struct StandardTokenizer {
    token: Token,
}

/// The words of one text.
pub struct StandardTokenStream<'a> {
    text: &'a str,
    /// ASCII text: the byte where the next word is looked for.
    cursor: usize,
    /// Other text: its word-boundary segments.
    segments: Option<Peekable<UWordBoundIndices<'a>>>,
    /// The rest of a word longer than [`MAX_TOKEN_CHARS`], still to be emitted.
    rest: Option<(usize, usize)>,
    token: &'a mut Token,
}

impl Tokenizer for StandardTokenizer {
    type TokenStream<'a> = StandardTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> StandardTokenStream<'a> {
        self.token.reset();
        StandardTokenStream {
            text,
            cursor: 0,
            segments: (!text.is_ascii()).then(|| text.split_word_bound_indices().peekable()),
            rest: None,
            token: &mut self.token,
        }
    }
}

// Word-break classes of ASCII bytes (UAX #29 restricted to ASCII).
const OTHER: u8 = 0;
const LETTER: u8 = 1;
const DIGIT: u8 = 2;
/// ExtendNumLet: joins anything word-like on either side.
const UNDERSCORE: u8 = 3;
/// MidLetter: joins two letters.
const MID_LETTER: u8 = 4;
/// MidNum: joins two digits.
const MID_NUM: u8 = 5;
/// MidNumLet and Single_Quote: join two letters or two digits.
const MID_NUM_LET: u8 = 6;

const CLASS: [u8; 128] = {
    let mut t = [OTHER; 128];
    let mut b = 0;
    while b < 128 {
        t[b] = match b as u8 {
            b'a'..=b'z' | b'A'..=b'Z' => LETTER,
            b'0'..=b'9' => DIGIT,
            b'_' => UNDERSCORE,
            b':' => MID_LETTER,
            b',' | b';' => MID_NUM,
            b'.' | b'\'' => MID_NUM_LET,
            _ => OTHER,
        };
        b += 1;
    }
    t
};

fn is_wordish(class: u8) -> bool {
    matches!(class, LETTER | DIGIT | UNDERSCORE)
}

/// The next word of ASCII `text` at or after `from`: its byte range.
fn next_ascii_word(text: &[u8], mut i: usize) -> Option<(usize, usize)> {
    let n = text.len();
    loop {
        while i < n && !is_wordish(CLASS[text[i] as usize]) {
            i += 1;
        }
        if i >= n {
            return None;
        }
        let start = i;
        let mut prev = CLASS[text[i] as usize];
        let mut alphanumeric = prev != UNDERSCORE;
        i += 1;
        while i < n {
            let class = CLASS[text[i] as usize];
            if is_wordish(class) {
                alphanumeric |= class != UNDERSCORE;
                prev = class;
                i += 1;
                continue;
            }
            let Some(&after) = text.get(i + 1) else { break };
            let next = CLASS[after as usize];
            let joins = match class {
                MID_LETTER => prev == LETTER && next == LETTER,
                MID_NUM => prev == DIGIT && next == DIGIT,
                MID_NUM_LET => prev == next && (prev == LETTER || prev == DIGIT),
                _ => false,
            };
            if !joins {
                break;
            }
            prev = next;
            i += 2;
        }
        // A run of underscores alone is not a word.
        if alphanumeric {
            return Some((start, i));
        }
    }
}

/// Whether a word-boundary segment is a word: it holds a letter or digit, or is an emoji.
fn is_word(segment: &str) -> bool {
    let mut chars = segment.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    first.is_alphanumeric() || is_pictographic(first) || chars.any(char::is_alphanumeric)
}

/// Extended_Pictographic, approximately: the blocks where emoji live (Lucene emits an emoji
/// as a token of its own). The exact property has some 80 ranges; these cover what logs carry.
fn is_pictographic(c: char) -> bool {
    matches!(c as u32,
        0xA9 | 0xAE | 0x203C | 0x2049 | 0x2122 | 0x2139 | 0x2194..=0x21AA | 0x231A..=0x23FF
        | 0x24C2 | 0x25AA..=0x25FE | 0x2600..=0x27BF | 0x2934..=0x2935 | 0x2B05..=0x2B55
        | 0x3030 | 0x303D | 0x3297 | 0x3299 | 0x1F000..=0x1FAFF | 0x1FC00..=0x1FFFD)
}

/// Scripts written without spaces between words, which UAX #29 cuts per character.
fn is_southeast_asian(c: char) -> bool {
    matches!(c as u32, 0x0E00..=0x0EFF | 0x1000..=0x109F | 0x1780..=0x17FF | 0x19E0..=0x19FF)
}

/// Lower case as Java's `Character.toLowerCase`, which Lucene applies per character: one
/// character each (no final sigma, `İ` to `i`).
fn push_lowercase(out: &mut String, c: char) {
    match c {
        '\u{130}' => out.push('i'),
        c => out.extend(c.to_lowercase()),
    }
}

impl StandardTokenStream<'_> {
    /// The byte range of the next word, before the length cap.
    fn next_word(&mut self) -> Option<(usize, usize)> {
        match &mut self.segments {
            None => {
                let word = next_ascii_word(self.text.as_bytes(), self.cursor)?;
                self.cursor = word.1;
                Some(word)
            }
            Some(segments) => loop {
                let (from, segment) = segments.next()?;
                if !is_word(segment) {
                    continue;
                }
                let mut to = from + segment.len();
                if segment.starts_with(is_southeast_asian) {
                    while let Some((next, s)) =
                        segments.next_if(|(_, s)| s.starts_with(is_southeast_asian))
                    {
                        to = next + s.len();
                    }
                }
                break Some((from, to));
            },
        }
    }

    /// Emits `text[from..to]`, or its first [`MAX_TOKEN_CHARS`] characters, keeping the rest.
    fn emit(&mut self, from: usize, to: usize) {
        let word = &self.text[from..to];
        let cut = if word.len() <= MAX_TOKEN_CHARS {
            to
        } else {
            word.char_indices()
                .nth(MAX_TOKEN_CHARS)
                .map_or(to, |(i, _)| from + i)
        };
        self.rest = (cut < to).then_some((cut, to));
        let token = &mut *self.token;
        token.text.clear();
        let piece = &self.text[from..cut];
        if piece.is_ascii() {
            token.text.push_str(piece);
            token.text.make_ascii_lowercase();
        } else {
            for c in piece.chars() {
                push_lowercase(&mut token.text, c);
            }
        }
        token.offset_from = from;
        token.offset_to = cut;
        token.position = token.position.wrapping_add(1);
        token.position_length = 1;
    }
}

impl TokenStream for StandardTokenStream<'_> {
    fn advance(&mut self) -> bool {
        let next = self.rest.take().or_else(|| self.next_word());
        match next {
            Some((from, to)) => {
                self.emit(from, to);
                true
            }
            None => false,
        }
    }

    fn token(&self) -> &Token {
        self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        self.token
    }
}

#[cfg(test)]
mod tests;
