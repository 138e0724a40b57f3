//! Hydrant's index room: how records become searchable tantivy documents and where they live.
//!
//! - [`DocMapper`] (in [`mapping`]) defines an index's schema, turns a record into a tantivy
//!   document and tells the query room where a field named in a query lives.
//! - [`Catalog`] holds every index on disk (`indices/<index>/<shard>/`), with its shards and
//!   metadata, and resolves names, stream aliases, wildcard patterns and comma lists.
//! - [`StreamIndexer`] writes one stream's records into its time-rotated indices
//!   ([`rotation`]), routes them to shards by id, and commits with the stream's write-ahead-log
//!   position in the commit payload so that replay after a crash adds each record once.
//!
//! This crate knows nothing of HTTP, ingest or queries: it is given records and a directory,
//! and hands out searchers.
//!
//! ```
//! use std::sync::Arc;
//! use hydrant_index::{Catalog, SourceDoc, StreamIndexer, ResolveOptions};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let catalog = Arc::new(Catalog::open(dir.path()).unwrap());
//! let settings = hydrant_config::StreamConfig::builtin().index;
//! let mut indexer = StreamIndexer::new(catalog.clone(), "web", settings);
//! let doc = SourceDoc { id: "a1", timestamp_ms: 1_764_162_000_000, source: br#"{"status":200}"# };
//! indexer.add(1, &doc, false).unwrap();
//! indexer.commit(1).unwrap();
//! let indices = catalog.resolve("web", ResolveOptions::default()).unwrap();
//! assert_eq!(indices[0].shards()[0].searcher().num_docs(), 1);
//! ```
#![deny(missing_docs)]

pub mod catalog;
pub mod definitions;
mod error;
pub mod fields;
pub mod geo;
mod id;
mod indexer;
mod lookup;
pub mod mapping;
mod meta;
pub mod rotation;
mod shard;
pub mod sizing;
pub mod timestamp;
pub mod tokenizer;

pub use catalog::{
    Catalog, DamagedIndex, IndexHandle, IndexMeta, ResolveOptions, wildcard_match, with_declared,
};
pub use definitions::{Definitions, TemplateKind};
pub use error::{IndexError, MappingError};
pub use fields::{DynamicFields, ValueKind, dynamic_fields, searcher_fields};
pub use id::new_id;
pub use indexer::{AddOutcome, Maintenance, SEAL_GRACE_MS, StreamIndexer, route};
pub use lookup::{FoundDoc, find_doc};
pub use mapping::{DocMapper, FieldTarget, SchemaFields, SourceDoc};
pub use shard::Shard;
pub use sizing::{SizingInput, SizingPlan, plan};

#[cfg(test)]
mod tests;
