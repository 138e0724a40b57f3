//! `matched_queries`: which of the request's named queries (`_name`) each hit matches.
//!
//! Each named query is compiled on its own, per shard, and asked whether it matches the hit's
//! document (a scorer advanced to it), as Elasticsearch's matched-queries fetch phase does. Only
//! the page's hits are tested, so the cost is the page's size times the names.

use tantivy::query::EnableScoring;
use tantivy::{DocAddress, DocSet};

use super::ShardTarget;
use crate::ast::QueryAst;
use crate::error::QueryError;

/// For each of `page`'s hits (document and shard), the names of the queries it matches, in the
/// order the request names them; `None` for a hit that matches none.
pub(crate) fn matched(
    targets: &[ShardTarget],
    named: &[(String, QueryAst)],
    page: &[(DocAddress, usize)],
    now_ms: i64,
) -> Result<Vec<Option<Vec<String>>>, QueryError> {
    let mut out: Vec<Option<Vec<String>>> = vec![None; page.len()];
    if named.is_empty() {
        return Ok(out);
    }
    let mut shards: Vec<usize> = page.iter().map(|(_, s)| *s).collect();
    shards.sort_unstable();
    shards.dedup();
    for (name, ast) in named {
        for &shard in &shards {
            let t = &targets[shard];
            let query = t.compiler(now_ms).compile(ast)?;
            let weight = query.weight(EnableScoring::disabled_from_searcher(&t.searcher))?;
            for (i, (doc, _)) in page.iter().enumerate().filter(|(_, (_, s))| *s == shard) {
                let reader = t.searcher.segment_reader(doc.segment_ord);
                let mut scorer = weight.scorer(reader, 1.0)?;
                if scorer.doc() == doc.doc_id || scorer.seek(doc.doc_id) == doc.doc_id {
                    out[i].get_or_insert_with(Vec::new).push(name.clone());
                }
            }
        }
    }
    Ok(out)
}
