//! The fetch phase: a selected document rendered as a hit (id, filtered source, `fields`,
//! highlight, sort values), and documents looked up by id for `top_hits`.

use serde_json::Value;
use tantivy::collector::TopDocs;
use tantivy::query::TermQuery;
use tantivy::schema::{IndexRecordOption, Value as _};
use tantivy::{DocAddress, TantivyDocument, Term};

use super::ShardTarget;
use super::collector::Candidate;
use super::fields::{HitValues, hit_fields};
use super::highlight::{QueryTerms, highlight};
use super::response::{Hit, raw_source, raw_value};
use super::sort::value_json;
use crate::aggs::{FetchedHit, FieldKind, HitLookup};
use crate::error::QueryError;
use crate::request::{FieldSpec, SearchRequest, SortSpec};

/// The stored id and source bytes of a document.
fn stored(t: &ShardTarget, addr: DocAddress) -> Result<(String, Vec<u8>), QueryError> {
    let doc: TantivyDocument = t.searcher.doc(addr)?;
    let fields = t.mapper.fields();
    let id = doc
        .get_first(fields.id)
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string();
    let source = doc
        .get_first(fields.source)
        .and_then(|v| v.as_bytes())
        .map(<[u8]>::to_vec)
        .unwrap_or_default();
    Ok((id, source))
}

/// The event time of a document, from its column.
pub(crate) fn timestamp_of(t: &ShardTarget, addr: DocAddress) -> Option<i64> {
    let reader = t.searcher.segment_reader(addr.segment_ord);
    let column = reader.fast_fields().date("@timestamp").ok()?;
    column.first(addr.doc_id).map(|d| d.into_timestamp_millis())
}

/// The sequence number of a document (0 in indices from before they were kept).
fn seq_no_of(t: &ShardTarget, addr: DocAddress) -> u64 {
    let reader = t.searcher.segment_reader(addr.segment_ord);
    reader
        .fast_fields()
        .u64(hydrant_index::mapping::SEQ_NO_FIELD)
        .ok()
        .and_then(|c| c.first(addr.doc_id))
        .unwrap_or(0)
}

/// One hit of the page.
pub(crate) fn render_hit(
    t: &ShardTarget,
    c: &Candidate,
    req: &SearchRequest,
    specs: &[SortSpec],
    kinds: &[FieldKind],
    terms: Option<&QueryTerms>,
    show_score: bool,
) -> Result<Hit, QueryError> {
    let (id, bytes) = stored(t, c.doc)?;
    let needs_parsed = !req.source.is_whole()
        || !req.fields.is_empty()
        || !req.docvalue_fields.is_empty()
        || req.highlight.is_some();
    let parsed: Value = if needs_parsed {
        serde_json::from_slice(&bytes).unwrap_or(Value::Null)
    } else {
        Value::Null
    };
    let source = if !req.source.enabled {
        None
    } else if req.source.is_whole() {
        Some(raw_source(&bytes))
    } else {
        Some(raw_value(&req.source.apply(&parsed)))
    };
    let mut fields = None;
    if !req.fields.is_empty() || !req.docvalue_fields.is_empty() {
        let values = HitValues {
            source: &parsed,
            timestamp_ms: timestamp_of(t, c.doc),
            mapper: &t.mapper,
            fields: &t.fields,
        };
        let mut f = hit_fields(&req.fields, &values, false);
        for (k, v) in hit_fields(&req.docvalue_fields, &values, true) {
            f.entry(k).or_insert(v);
        }
        // No `fields` key when none of them has a value, as Elasticsearch answers.
        fields = (!f.is_empty()).then_some(f);
    }
    let highlight = match (&req.highlight, terms) {
        (Some(spec), Some(terms)) => {
            Some(highlight(spec, terms, &parsed)).filter(|h| !h.is_empty())
        }
        _ => None,
    };
    let sort = (!req.sort.is_empty()).then(|| {
        c.key
            .iter()
            .zip(specs.iter().zip(kinds))
            .map(|(v, (s, k))| value_json(v, *k, s))
            .collect()
    });
    Ok(Hit {
        index: t.index.name().to_string(),
        id: if req.hide_ids { String::new() } else { id },
        version: req.version.then_some(1),
        seq_no: req.seq_no_primary_term.then(|| seq_no_of(t, c.doc)),
        primary_term: req.seq_no_primary_term.then_some(1),
        score: show_score.then_some(c.score),
        matched_queries: None,
        source,
        fields,
        highlight,
        sort,
    })
}

/// Finds documents by id across the searched shards.
pub(crate) struct Lookup<'a> {
    pub targets: &'a [ShardTarget],
}

impl HitLookup for Lookup<'_> {
    fn fetch(
        &self,
        id: &str,
        fields: &[FieldSpec],
        docvalue_fields: &[FieldSpec],
    ) -> Option<FetchedHit> {
        for t in self.targets {
            let field = t.mapper.fields().id;
            let q = TermQuery::new(Term::from_field_text(field, id), IndexRecordOption::Basic);
            let Ok(top) = t
                .searcher
                .search(&q, &TopDocs::with_limit(1).order_by_score())
            else {
                continue;
            };
            if let Some((_, addr)) = top.first()
                && let Ok((_, bytes)) = stored(t, *addr)
            {
                let source = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                let shown = (!fields.is_empty() || !docvalue_fields.is_empty()).then(|| {
                    let values = HitValues {
                        source: &source,
                        timestamp_ms: timestamp_of(t, *addr),
                        mapper: &t.mapper,
                        fields: &t.fields,
                    };
                    let mut f = hit_fields(fields, &values, false);
                    for (k, v) in hit_fields(docvalue_fields, &values, true) {
                        f.entry(k).or_insert(v);
                    }
                    f
                });
                return Some(FetchedHit {
                    index: t.index.name().to_string(),
                    source,
                    fields: shown,
                });
            }
        }
        None
    }
}
