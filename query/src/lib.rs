//! Hydrant's query room: an Elasticsearch-compatible search API over the index room.
//!
//! A request is parsed into a [`QueryAst`](ast::QueryAst) — from Query DSL JSON ([`dsl`]) or
//! Lucene syntax ([`query_string`]) — then compiled per shard against the shard's mapping and the
//! fields its segments hold ([`compile`]), run, and merged across shards and indices into an
//! ES-shaped answer ([`search`]). [`router`] serves it over HTTP; errors are ES error bodies
//! ([`QueryError`]).
//!
//! This crate never writes: indices are created and filled by the ingest and index rooms.
#![deny(missing_docs)]

mod aggs;
mod arrow;
mod ast;
mod compile;
mod contexts;
mod dates;
mod dsl;
mod engine;
mod error;
#[cfg(feature = "fuzz")]
#[doc(hidden)]
pub mod fuzz;
mod memo;
mod meta;
mod msearch;
mod query_string;
mod request;
mod routes;
mod runtime;
mod search;
mod simple_query_string;
mod terms_lookup;
#[cfg(any(test, feature = "fuzz"))]
#[cfg_attr(not(test), allow(dead_code))]
mod testing;

pub use error::QueryError;
pub use search::{CacheStats, RequestCache};

/// The documents (index, id) a `_delete_by_query` body's `query` matches in `indices`, at most
/// `max`: what the ingest room deletes. Errors are the search API's (a bad query is a 400).
pub fn matching_docs(
    indices: &[std::sync::Arc<hydrant_index::IndexHandle>],
    query: &serde_json::Value,
    max: usize,
) -> Result<Vec<(String, String)>, QueryError> {
    let body = serde_json::json!({ "query": query }).to_string();
    let req = request::SearchRequest::parse(body.as_bytes(), &request::SearchParams::default())?;
    let targets = search::ShardTarget::open(indices);
    search::matching_ids(
        &targets,
        &req.query,
        chrono::Utc::now().timestamp_millis(),
        max,
    )
}
pub use routes::{QueryState, router};
