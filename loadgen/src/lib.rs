//! Realistic log traffic for Hydrant and honest reports of what it did.
//!
//! [`generate`] makes seeded, deterministic records (access logs, JSON application logs, load
//! balancer records) with realistic distributions; [`protocol`] frames them for each ingest API;
//! [`run`](run::run) sends them with a concurrency, an optional target rate and a count or
//! duration, and returns a [`Report`] with throughput, acknowledgement latency percentiles,
//! errors by kind and, with `verify`, whether every acknowledged record became searchable.
//!
//! This crate owns the generators, the runner and its reports. It talks to Hydrant only through
//! its public HTTP API, like any real client; it knows nothing of Hydrant's internals.
#![deny(missing_docs)]

mod error;
pub mod generate;
pub mod protocol;
pub mod report;
pub mod run;

pub use error::LoadError;
pub use generate::{Generated, Generator, LogFormat, TimeSpread};
pub use protocol::Protocol;
pub use report::Report;
pub use run::{LoadConfig, Sigv4, run};
