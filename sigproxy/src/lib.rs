//! SigV4 for Hydrant: request signing (a library, also used by the ingest room's
//! Elasticsearch destination) and a local signing proxy that lets unsigned clients on
//! localhost — a browser Kibana, Grafana, curl — reach an IAM-protected Amazon
//! Elasticsearch/OpenSearch domain.
//!
//! This crate owns signing, credentials and the proxy server. It does not own ingest, indexing
//! or search, and reads no files or environment of its own accord: configuration arrives as
//! typed structs from `hydrant-config`.
#![deny(missing_docs)]
