//! The expected words are what OpenSearch 2.19's `standard` analyzer (Lucene 9) gives for the
//! same text, taken from `_analyze` / Lucene's `StandardAnalyzer` with no stop words.

use tantivy::tokenizer::{TokenStream, Tokenizer};

use super::*;

fn words(text: &str) -> Vec<String> {
    let mut tokenizer = StandardTokenizer::default();
    let mut stream = tokenizer.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        let t = stream.token();
        assert!(text.is_char_boundary(t.offset_from) && t.offset_from < t.offset_to);
        out.push(t.text.clone());
    }
    out
}

/// The same text through the general segmenter, as a non-ASCII text would go.
fn words_by_segments(text: &str) -> Vec<String> {
    let mut token = Token::default();
    let mut stream = StandardTokenStream {
        text,
        cursor: 0,
        segments: Some(text.split_word_bound_indices().peekable()),
        rest: None,
        token: &mut token,
    };
    let mut out = Vec::new();
    while stream.advance() {
        out.push(stream.token().text.clone());
    }
    out
}

fn check(text: &str, expected: &[&str]) {
    assert_eq!(words(text), expected, "{text:?}");
    if text.is_ascii() {
        assert_eq!(
            words_by_segments(text),
            expected,
            "{text:?} through the segmenter"
        );
    }
}

#[test]
fn ascii_words_as_lucene_cuts_them() {
    check(
        "foo:bar user:123 a.b.c 10.0.0.1:8080 3.5s E_42 ___ _foo_ it's O'Reilly's e-mail",
        &[
            "foo:bar",
            "user",
            "123",
            "a.b.c",
            "10.0.0.1",
            "8080",
            "3.5s",
            "e_42",
            "_foo_",
            "it's",
            "o'reilly's",
            "e",
            "mail",
        ],
    );
    check(
        "user@example.com https://example.com/a/b?c=d&e=f;",
        &[
            "user",
            "example.com",
            "https",
            "example.com",
            "a",
            "b",
            "c",
            "d",
            "e",
            "f",
        ],
    );
    check(
        "foo..bar a.b. x: 'quoted' 1.2. a__b .5 -5 $100 v1.2.3-beta HTTP/1.1",
        &[
            "foo", "bar", "a.b", "x", "quoted", "1.2", "a__b", "5", "5", "100", "v1.2.3", "beta",
            "http", "1.1",
        ],
    );
    check(
        "GET /index.html?x=1 2026-03-29T01:30:00+01:00 a:b:c a::b 1,2,3 1,,2 can't'",
        &[
            "get",
            "index.html",
            "x",
            "1",
            "2026",
            "03",
            "29t01",
            "30",
            "00",
            "01",
            "00",
            "a:b:c",
            "a",
            "b",
            "1,2,3",
            "1",
            "2",
            "can't",
        ],
    );
    check(
        "1,000.50 a,b 1;2 x'1 1'2 a1.b 1.a",
        &[
            "1,000.50", "a", "b", "1;2", "x", "1", "1'2", "a1", "b", "1", "a",
        ],
    );
    check("", &[]);
    check(" .,;:'_ ", &[]);
}

#[test]
fn other_scripts_emoji_and_case() {
    check(
        "東京で会議があります カタカナ 한국어",
        &[
            "東",
            "京",
            "で",
            "会",
            "議",
            "が",
            "あ",
            "り",
            "ま",
            "す",
            "カタカナ",
            "한국어",
        ],
    );
    check(
        "deploy finished 🎉 rocket 🚀 launched 🔥🔥🔥 ©",
        &[
            "deploy", "finished", "🎉", "rocket", "🚀", "launched", "🔥", "🔥", "🔥", "©",
        ],
    );
    check(
        "Cafe\u{301} ΣΑΣ Straße İstanbul",
        &["cafe\u{301}", "σασ", "straße", "istanbul"],
    );
    check("مرحبا بالعالم ภาษาไทย", &["مرحبا", "بالعالم", "ภาษาไทย"]);
}

#[test]
fn long_words_are_cut_every_255_characters() {
    let long = "x".repeat(300);
    check(&long, &[&long[..255], &long[255..]]);
    let wide = "é".repeat(600);
    let pieces = words(&wide);
    assert_eq!(
        pieces.iter().map(|p| p.chars().count()).collect::<Vec<_>>(),
        [255, 255, 90]
    );
}

#[test]
fn positions_and_offsets() {
    let mut tokenizer = StandardTokenizer::default();
    let mut stream = tokenizer.token_stream("GET /a.png 200");
    let mut seen = Vec::new();
    while stream.advance() {
        let t = stream.token();
        seen.push((t.position, t.offset_from, t.offset_to));
    }
    assert_eq!(seen, [(0, 0, 3), (1, 5, 10), (2, 11, 14)]);
}
