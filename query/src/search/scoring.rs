//! BM25 statistics shared by the shards of one search.
//!
//! tantivy scores a shard's documents with that shard's statistics: how many of its documents
//! hold a term, and their average length. Hydrant writes a stream to many shards (time-rotated
//! indices, several shards each), so the same document would score differently in Monday's
//! index and Tuesday's, and a term common on one day and rare on the next would rank by day.
//! Elasticsearch has the same effect across shards (and `dfs_query_then_fetch` to undo it);
//! an index of one shard — the reference this project compares with — has one set of
//! statistics. Here every searched shard with the same schema shares the statistics of all of
//! them, so scores compare across the shards of a stream.

use std::cell::RefCell;
use std::collections::HashMap;

use tantivy::query::Bm25StatisticsProvider;
use tantivy::schema::Field;
use tantivy::{Searcher, Term};

/// The statistics of a group of searchers with one schema. Each term's document frequency is
/// looked up once per group (building each shard's weight asks for it again).
pub(super) struct SharedStatistics<'a> {
    searchers: Vec<&'a Searcher>,
    doc_freqs: RefCell<HashMap<Term, u64>>,
    tokens: RefCell<HashMap<Field, u64>>,
}

impl<'a> SharedStatistics<'a> {
    /// For each searcher, the index of its group in the returned groups: searchers whose
    /// schemas are equal share one.
    pub(super) fn group(searchers: &[&'a Searcher]) -> (Vec<SharedStatistics<'a>>, Vec<usize>) {
        let mut groups: Vec<SharedStatistics<'a>> = Vec::new();
        let mut of = Vec::with_capacity(searchers.len());
        for s in searchers {
            let found = groups
                .iter()
                .position(|g| g.searchers[0].schema() == s.schema());
            let g = found.unwrap_or_else(|| {
                groups.push(SharedStatistics {
                    searchers: Vec::new(),
                    doc_freqs: RefCell::default(),
                    tokens: RefCell::default(),
                });
                groups.len() - 1
            });
            groups[g].searchers.push(s);
            of.push(g);
        }
        (groups, of)
    }
}

impl Bm25StatisticsProvider for SharedStatistics<'_> {
    fn total_num_tokens(&self, field: Field) -> tantivy::Result<u64> {
        if let Some(n) = self.tokens.borrow().get(&field) {
            return Ok(*n);
        }
        let mut n = 0;
        for s in &self.searchers {
            n += Bm25StatisticsProvider::total_num_tokens(*s, field)?;
        }
        self.tokens.borrow_mut().insert(field, n);
        Ok(n)
    }

    fn total_num_docs(&self) -> tantivy::Result<u64> {
        Ok(self
            .searchers
            .iter()
            .flat_map(|s| s.segment_readers())
            .map(|r| u64::from(r.max_doc()))
            .sum())
    }

    fn doc_freq(&self, term: &Term) -> tantivy::Result<u64> {
        if let Some(n) = self.doc_freqs.borrow().get(term) {
            return Ok(*n);
        }
        let mut n = 0;
        for s in &self.searchers {
            n += s.doc_freq(term)?;
        }
        self.doc_freqs.borrow_mut().insert(term.clone(), n);
        Ok(n)
    }
}
