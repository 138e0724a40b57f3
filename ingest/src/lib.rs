//! Hydrant's ingest room: a Firehose-style delivery stream.
//!
//! A request reaches a receiver ([`routes`]), which parses and validates it record by record
//! ([`ndjson`]) and hands the good records to their [`Stream`]. The stream admits them against
//! its buffer limits, appends them to its write-ahead log ([`wal`]) and answers only once they
//! are durable. Its buffer flushes on the size or interval hint, whichever comes first, and
//! each flushed [`Batch`] goes to every destination; the log is truncated once every
//! destination has a record. [`Pipeline`] holds the streams of a process, replays their logs at
//! start and shuts them down.
//!
//! This crate owns receivers, durability, buffering and delivery. It does not own how records
//! are indexed (the index room) or searched (the query room).
#![deny(missing_docs)]

mod accept;
mod auth;
mod body;
mod bulk;
mod destination;
mod documents;
mod encode;
mod error;
mod error_output;
mod firehose;
#[cfg(feature = "fuzz")]
#[doc(hidden)]
pub mod fuzz;
mod metrics;
mod ndjson;
mod objects;
mod pipeline;
mod processing;
mod record;
mod retry;
mod routes;
mod stream;
mod wal;

pub use body::BodyLimits;
pub use error::{ElasticsearchError, FirehoseFault, IngestError, StartError, WalError};
pub use pipeline::Pipeline;
pub use routes::{IngestState, MatchError, Matcher, MoreMetrics, Tasks, router};
