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
//!
//! Lucene's BM25 also counts, per field, only the documents that have the field (`docCount`):
//! it is the N of the idf and the denominator of the average length. tantivy counts every
//! document of the index, so a field most documents lack scored several times lower than in
//! Elasticsearch. Here N is the documents with at least one token in the field, read from the
//! field's norms once per segment (see [`docs_with`]).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use tantivy::index::SegmentId;
use tantivy::query::Bm25StatisticsProvider;
use tantivy::schema::Field;
use tantivy::{Searcher, SegmentReader, Term};

use crate::memo::Memo;

/// Documents with the field, per segment and field: segments never change, so a count is
/// read once; 65,536 kept.
static DOCS_WITH: Memo<(SegmentId, Field), u64> = Memo::new(65_536);

/// The documents of `reader` with at least one token in `field` (a norm above zero); every
/// document when the field keeps no norms.
fn docs_with(reader: &SegmentReader, field: Field) -> u64 {
    DOCS_WITH.get_or((reader.segment_id(), field), || {
        match reader.fieldnorms_readers().get_field(field) {
            Ok(Some(norms)) => (0..reader.max_doc())
                .filter(|doc| norms.fieldnorm_id(*doc) != 0)
                .count() as u64,
            _ => u64::from(reader.max_doc()),
        }
    })
}

/// The statistics of a group of searchers with one schema. Each term's document frequency is
/// looked up once per group (building each shard's weight asks for it again).
pub(super) struct SharedStatistics<'a> {
    searchers: Vec<&'a Searcher>,
    doc_freqs: RefCell<HashMap<Term, u64>>,
    tokens: RefCell<HashMap<Field, u64>>,
    docs: RefCell<HashMap<Field, u64>>,
    /// The field of the last `total_num_tokens` call: tantivy's `Bm25Weight::for_terms` asks
    /// for a field's tokens and then for `total_num_docs()`, which names no field — the
    /// documents counted are that field's. (Weights are built on one thread.)
    field: Cell<Option<Field>>,
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
                    docs: RefCell::default(),
                    field: Cell::new(None),
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
        self.field.set(Some(field));
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
        let readers = || self.searchers.iter().flat_map(|s| s.segment_readers());
        let all = || readers().map(|r| u64::from(r.max_doc())).sum();
        let Some(field) = self.field.get() else {
            return Ok(all());
        };
        if let Some(n) = self.docs.borrow().get(&field) {
            return Ok(*n);
        }
        let with: u64 = readers().map(|r| docs_with(r, field)).sum();
        // No document has the field, so no term of it matches: the count only must not be 0.
        let n = if with == 0 { all() } else { with };
        self.docs.borrow_mut().insert(field, n);
        Ok(n)
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
