//! Realistic log traffic for Hydrant and honest reports of what it did.
//!
//! This crate owns the log generators (access logs, application logs, load-balancer records),
//! the load runner and its throughput/latency reports. It talks to Hydrant only through its
//! public HTTP API, like any real client; it knows nothing of Hydrant's internals.
#![deny(missing_docs)]
