//! `match_phrase_prefix` and `match_bool_prefix` with Elasticsearch's `max_expansions`: the
//! first terms of the prefix in the shard, not in each segment.
//!
//! tantivy's `PhrasePrefixQuery` expands its last word in every segment on its own, so a
//! shard of many small segments (a live index, or a backfill not yet merged down) matches
//! terms past the shard's first `max_expansions` — and how many depends on how the shard
//! happens to be cut. When the shard has no more terms with the prefix than that, every
//! segment's expansion is all of its terms, the same answer, and tantivy's query runs as it is.
//! Otherwise the first `max_expansions` terms of the shard are matched, each as its own
//! phrase (or term).

use std::collections::BTreeSet;

use tantivy::Term;
use tantivy::query::{
    BooleanQuery, EmptyQuery, EnableScoring, Occur, PhrasePrefixQuery, PhraseQuery, Query,
    TermQuery, Weight,
};
use tantivy::schema::IndexRecordOption;

/// A phrase whose last word is a prefix, expanded at most `max_expansions` times per shard.
#[derive(Debug, Clone)]
pub(super) struct ShardPhrasePrefix {
    /// The words before the prefix, then the prefix.
    terms: Vec<Term>,
    max_expansions: u32,
}

impl ShardPhrasePrefix {
    pub(super) fn new(terms: Vec<Term>, max_expansions: u32) -> ShardPhrasePrefix {
        ShardPhrasePrefix {
            terms,
            max_expansions,
        }
    }

    fn per_segment(&self) -> PhrasePrefixQuery {
        let mut q = PhrasePrefixQuery::new(self.terms.clone());
        q.set_max_expansions(self.max_expansions);
        q
    }
}

impl Query for ShardPhrasePrefix {
    fn weight(&self, scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let (Some(searcher), Some(prefix)) = (scoring.searcher(), self.terms.last()) else {
            return self.per_segment().weight(scoring);
        };
        let max = self.max_expansions as usize;
        let key = prefix.serialized_value_bytes();
        // The first `max + 1` keys of the shard are among the first `max + 1` of its segments.
        let mut keys: BTreeSet<Vec<u8>> = BTreeSet::new();
        for reader in searcher.segment_readers() {
            let index = reader.inverted_index(prefix.field())?;
            let mut stream = index.terms().range().ge(key).into_stream()?;
            let mut n = 0;
            while n <= max && stream.advance() && stream.key().starts_with(key) {
                keys.insert(stream.key().to_vec());
                n += 1;
            }
        }
        if keys.len() <= max {
            return self.per_segment().weight(scoring);
        }
        let words = &self.terms[..self.terms.len() - 1];
        let clauses: Vec<(Occur, Box<dyn Query>)> = keys
            .into_iter()
            .take(max)
            .map(|k| {
                let mut term = prefix.clone();
                term.clear_with_type(prefix.typ());
                term.append_bytes(&k);
                let q: Box<dyn Query> = if words.is_empty() {
                    Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs))
                } else {
                    let mut phrase = words.to_vec();
                    phrase.push(term);
                    Box::new(PhraseQuery::new(phrase))
                };
                (Occur::Should, q)
            })
            .collect();
        if clauses.is_empty() {
            return EmptyQuery.weight(scoring);
        }
        BooleanQuery::new(clauses).weight(scoring)
    }

    /// The words before the prefix, as tantivy's query reports them.
    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        for t in &self.terms[..self.terms.len().saturating_sub(1)] {
            visitor(t, true);
        }
    }
}
