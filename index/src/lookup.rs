//! Finding one document by id among indices — what the read-modify-write APIs (`_update`,
//! `DELETE /{index}/_doc/{id}`, `if_seq_no`) need before they write: where the document is,
//! its `_source`, its event time and its sequence number. Only the shard the id routes to is
//! searched in each index.

use std::sync::Arc;

use tantivy::collector::TopDocs;
use tantivy::query::TermQuery;
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::{TantivyDocument, Term};

use crate::catalog::IndexHandle;
use crate::error::IndexError;
use crate::indexer::route;
use crate::mapping::{SEQ_NO_FIELD, TIMESTAMP_FIELD};

/// A document found by id.
#[derive(Debug, Clone, PartialEq)]
pub struct FoundDoc {
    /// The index that holds it.
    pub index: String,
    /// Its `_source`, as stored.
    pub source: Vec<u8>,
    /// Its event time, epoch milliseconds.
    pub timestamp_ms: i64,
    /// Its sequence number (0 in indices from before they were kept).
    pub seq_no: u64,
}

/// The document `id` in `indices` (the newest index first, as a replaced document's latest
/// version is there), from what is searchable now.
pub fn find_doc(indices: &[Arc<IndexHandle>], id: &str) -> Result<Option<FoundDoc>, IndexError> {
    let mut ordered: Vec<&Arc<IndexHandle>> = indices.iter().collect();
    ordered.sort_by_key(|h| std::cmp::Reverse(h.meta().created_ms));
    for handle in ordered {
        let shard = &handle.shards()[route(id, handle.shards().len())];
        let searcher = shard.searcher();
        let fields = handle.mapper().fields();
        let query = TermQuery::new(
            Term::from_field_text(fields.id, id),
            IndexRecordOption::Basic,
        );
        let top = searcher
            .search(&query, &TopDocs::with_limit(1).order_by_score())
            .map_err(|e| IndexError::tantivy(shard.name(), e))?;
        let Some((_, address)) = top.into_iter().next() else {
            continue;
        };
        let doc: TantivyDocument = searcher
            .doc(address)
            .map_err(|e| IndexError::tantivy(shard.name(), e))?;
        let source = doc
            .get_first(fields.source)
            .and_then(|v| v.as_bytes())
            .map(<[u8]>::to_vec)
            .unwrap_or_default();
        let columns = searcher.segment_reader(address.segment_ord).fast_fields();
        let timestamp_ms = columns
            .date(TIMESTAMP_FIELD)
            .ok()
            .and_then(|c| c.first(address.doc_id))
            .map_or(0, |d| d.into_timestamp_millis());
        let seq_no = columns
            .u64(SEQ_NO_FIELD)
            .ok()
            .and_then(|c| c.first(address.doc_id))
            .unwrap_or(0);
        return Ok(Some(FoundDoc {
            index: handle.name().to_string(),
            source,
            timestamp_ms,
            seq_no,
        }));
    }
    Ok(None)
}
