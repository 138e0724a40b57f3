//! The passages of a highlighted text, cut and chosen as OpenSearch's default (`unified`)
//! highlighter does, so that a fragment shows the same words:
//!
//! - a passage is the sentence holding a match, joined with the sentences after it while they
//!   fit in `fragment_size`; a sentence longer than that is cut at word boundaries, from about
//!   `fragment_size` before the match to the end of the match's word (Lucene's
//!   `BoundedBreakIteratorScanner`, as its `preceding`/`following` are called);
//! - matches that start inside a passage belong to it; the next match starts the next passage;
//! - the `number_of_fragments` best passages are kept, scored as Lucene's `PassageScorer` scores
//!   them (BM25 over the passage, earlier passages a little higher), and shown in text order,
//!   trimmed.
//!
//! Offsets are counted in UTF-16 code units, as Java's strings (and so `fragment_size`) count
//! them. Sentences and words are Unicode's (UAX #29, `unicode-segmentation`); the JDK's break
//! rules differ from it in corner cases (an abbreviation's full stop), not in log lines.
//! Written here because no crate models Lucene's passage semantics.

use unicode_segmentation::UnicodeSegmentation;

/// A match: where it starts (a byte of the text) and the word it matched.
pub(super) struct Match<'a> {
    pub from: usize,
    pub term: &'a str,
}

/// A chosen passage: its byte range and its matches (indices into the matches given).
pub(super) struct Passage {
    pub from: usize,
    pub to: usize,
    pub matches: Vec<usize>,
}

/// Byte offsets and UTF-16 offsets of one text, both ways.
struct Units {
    of_byte: Vec<usize>,
    to_byte: Vec<usize>,
}

impl Units {
    fn new(text: &str) -> Units {
        let mut of_byte = vec![0; text.len() + 1];
        let mut to_byte = Vec::with_capacity(text.len() + 1);
        for (i, c) in text.char_indices() {
            of_byte[i] = to_byte.len();
            for _ in 0..c.len_utf16() {
                to_byte.push(i);
            }
        }
        of_byte[text.len()] = to_byte.len();
        to_byte.push(text.len());
        Units { of_byte, to_byte }
    }

    fn len(&self) -> usize {
        self.to_byte.len() - 1
    }
}

/// Boundaries of a text (in units, from 0 to its length), searched as Java's `BreakIterator`.
struct Breaks(Vec<usize>);

impl Breaks {
    fn new(starts: impl Iterator<Item = usize>, units: &Units) -> Breaks {
        let mut b: Vec<usize> = starts.map(|i| units.of_byte[i]).collect();
        b.push(units.len());
        b.dedup();
        Breaks(b)
    }

    /// The last boundary before `at`.
    fn preceding(&self, at: usize) -> Option<usize> {
        let i = self.0.partition_point(|b| *b < at);
        i.checked_sub(1).map(|i| self.0[i])
    }

    /// The first boundary after `at`.
    fn following(&self, at: usize) -> Option<usize> {
        let i = self.0.partition_point(|b| *b <= at);
        self.0.get(i).copied()
    }
}

/// Lucene's `BoundedBreakIteratorScanner`: sentences, bounded to `max_len` by words.
struct Scanner {
    sentences: Breaks,
    words: Breaks,
    max_len: usize,
    window: (usize, usize),
    inner: (usize, usize),
    started: bool,
}

impl Scanner {
    /// The start of the passage holding the match that starts at `offset - 1`; its end is
    /// then `self.inner.1`.
    fn preceding(&mut self, offset: usize) -> usize {
        let (ws, we) = self.window;
        if self.started && offset > ws && offset < we {
            // Still in the window: the next passage goes on from where the last one ended.
            self.inner = (self.inner.1, we);
        } else {
            self.started = true;
            let start = self.sentences.preceding(offset).unwrap_or(0);
            let mut end = self
                .sentences
                .following(offset - 1)
                .unwrap_or(offset.max(start));
            while end - start < self.max_len {
                match self.sentences.following(end) {
                    Some(next) if next - start <= self.max_len => end = next,
                    _ => break,
                }
            }
            self.window = (start, end);
            self.inner = (start, end);
        }
        let (window_end, max) = (self.window.1, self.max_len);
        if self.inner.1 - self.inner.0 > max {
            // Too long: from a word about `max` before the match, to a word end after it.
            if offset > max && offset - max > self.inner.0 {
                let word = self.words.preceding(offset - max).unwrap_or(0);
                self.inner.0 = self.inner.0.max(word);
            }
            let remaining = max.saturating_sub(offset - self.inner.0);
            if offset + remaining < window_end {
                let word = self
                    .words
                    .following(offset + remaining)
                    .unwrap_or(window_end);
                self.inner.1 = window_end.min(word);
            }
        }
        self.inner.0
    }
}

// Lucene's `PassageScorer` defaults.
const K1: f32 = 1.2;
const B: f32 = 0.75;
const PIVOT: f32 = 87.0;

/// Lucene's `PassageScorer.score` of a passage of `len` units starting at `start`, whose
/// matches are `terms` (each match's word and how often that word occurs in the whole text).
fn score(terms: &[(&str, usize)], start: usize, len: usize, content_len: usize) -> f32 {
    let docs = 1.0 + content_len as f32 / PIVOT;
    let mut seen: Vec<(&str, usize, usize)> = Vec::new();
    for (term, in_doc) in terms {
        match seen.iter_mut().find(|(t, _, _)| t == term) {
            Some(entry) => entry.1 += 1,
            None => seen.push((term, 1, *in_doc)),
        }
    }
    let norm = K1 * ((1.0 - B) + B * (len as f32 / PIVOT));
    let mut total = 0.0f32;
    for (_, in_passage, in_doc) in seen {
        let tf = in_passage as f32 / (in_passage as f32 + norm);
        let weight =
            (K1 + 1.0) * (1.0 + (f64::from(docs) + 0.5) / (in_doc as f64 + 0.5)).ln() as f32;
        total += tf * weight;
    }
    total * (1.0 + 1.0 / (PIVOT + start as f32).ln())
}

/// The best `max` passages of `text` around `matches` (in text order, non-empty), with at
/// most `max_len` units each.
pub(super) fn passages(
    text: &str,
    matches: &[Match<'_>],
    max_len: usize,
    max: usize,
) -> Vec<Passage> {
    let units = Units::new(text);
    let content_len = units.len();
    let mut scanner = Scanner {
        sentences: Breaks::new(text.split_sentence_bound_indices().map(|(i, _)| i), &units),
        words: Breaks::new(text.split_word_bound_indices().map(|(i, _)| i), &units),
        max_len,
        window: (0, 0),
        inner: (0, 0),
        started: false,
    };
    let in_doc = |term: &str| matches.iter().filter(|m| m.term == term).count();
    // (score, start, end, matches): the queue keeps the `max` best; ties go to later passages,
    // as Lucene's queue evicts the earlier of two equal scores.
    let mut kept: Vec<(f32, usize, usize, Vec<usize>)> = Vec::new();
    let mut current: Option<(usize, usize, Vec<usize>)> = None;
    let finish = |p: (usize, usize, Vec<usize>),
                  kept: &mut Vec<(f32, usize, usize, Vec<usize>)>| {
        let terms: Vec<(&str, usize)> =
            p.2.iter()
                .map(|i| (matches[*i].term, in_doc(matches[*i].term)))
                .collect();
        let s = score(&terms, p.0, p.1 - p.0, content_len);
        let lowest = |k: &Vec<(f32, usize, usize, Vec<usize>)>| {
            (0..k.len()).min_by(|a, b| k[*a].0.total_cmp(&k[*b].0).then(k[*a].1.cmp(&k[*b].1)))
        };
        if kept.len() == max
            && let Some(low) = lowest(kept)
            && s < kept[low].0
        {
            return;
        }
        kept.push((s, p.0, p.1, p.2));
        if kept.len() > max
            && let Some(low) = lowest(kept)
        {
            kept.remove(low);
        }
    };
    for (i, m) in matches.iter().enumerate() {
        let start = units.of_byte[m.from];
        if start >= content_len {
            break;
        }
        let inside = matches!(&current, Some((_, end, _)) if start < *end);
        if !inside {
            if let Some(p) = current.take() {
                finish(p, &mut kept);
            }
            let from = scanner.preceding(start + 1);
            let to = scanner.inner.1.min(content_len);
            current = Some((from, to, Vec::new()));
        }
        if let Some((_, _, found)) = &mut current {
            found.push(i);
        }
    }
    if let Some(p) = current.take() {
        finish(p, &mut kept);
    }
    kept.sort_by_key(|p| p.1);
    kept.into_iter()
        .map(|(_, from, to, matches)| Passage {
            from: units.to_byte[from],
            to: units.to_byte[to],
            matches,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cut(text: &str, words: &[&str], max_len: usize, max: usize) -> Vec<String> {
        let lower = text.to_lowercase();
        let mut found = Vec::new();
        for w in words {
            let mut at = 0;
            while let Some(i) = lower[at..].find(w) {
                found.push(Match {
                    from: at + i,
                    term: w,
                });
                at += i + w.len();
            }
        }
        found.sort_by_key(|m| m.from);
        passages(text, &found, max_len, max)
            .into_iter()
            .map(|p| text[p.from..p.to].trim().to_string())
            .collect()
    }

    #[test]
    fn a_long_sentence_is_cut_from_a_word_before_the_match_to_the_end_of_its_word() {
        // The fragments OpenSearch 2.19 returns for these lines with `fragment_size: 40`.
        let line = r#"66.249.73.135 - - [17/May/2015:10:05:16 +0000] "GET /blog/tags/munin HTTP/1.1" 200 9746 "-" "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)""#;
        assert_eq!(
            cut(line, &["googlebot"], 40, 2),
            [r#"200 9746 "-" "Mozilla/5.0 (compatible; Googlebot"#]
        );
        let line = r#"1.2.3.4 - - [x] "GET / HTTP/1.1" 200 1 "-" "Mozilla/5.0 (iPhone; CPU iPhone OS 6_0 like Mac OS X) AppleWebKit/536.26 (KHTML, like Gecko) Version/6.0 Mobile/10A5376e Safari/8536.25 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)""#;
        assert_eq!(
            cut(line, &["googlebot"], 40, 2),
            ["Mobile/10A5376e Safari/8536.25 (compatible; Googlebot"]
        );
    }

    #[test]
    fn short_sentences_join_up_to_the_size_and_start_at_the_matching_one() {
        let text = "Nothing here. Disk full on sda. Retrying soon. Then giving up on it all.";
        assert_eq!(
            cut(text, &["disk"], 40, 1),
            ["Disk full on sda. Retrying soon."],
            "the sentence before the match is not shown"
        );
        assert_eq!(
            cut(text, &["disk"], 100, 1),
            ["Disk full on sda. Retrying soon. Then giving up on it all."]
        );
    }

    #[test]
    fn the_best_passages_are_kept_in_text_order() {
        let text = "Alpha one. Beta two. Alpha beta alpha. Gamma three.";
        // The passage with three matches of two words beats those with one; its sentence is
        // longer than 12, so it ends with the word that reaches 12 units after the match.
        assert_eq!(cut(text, &["alpha", "beta"], 12, 1), ["Alpha beta alpha"]);
        let two = cut(text, &["alpha", "beta"], 12, 2);
        // Then the passage of the rarer word (2 in the text against 3), in text order.
        assert_eq!(two, ["Beta two.", "Alpha beta alpha"]);
    }

    #[test]
    fn offsets_count_utf16_units() {
        // An emoji is two units: the passage starts at the word 10 units before the match
        // (and one after its start), five emoji back.
        let text = format!("{} needle end", "😀".repeat(20));
        assert_eq!(cut(&text, &["needle"], 10, 1), ["😀😀😀😀😀 needle"]);
    }
}
