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
mod meta;
mod msearch;
mod query_string;
mod request;
mod routes;
mod search;
mod simple_query_string;
#[cfg(test)]
mod testing;

pub use error::QueryError;
pub use routes::{QueryState, router};
