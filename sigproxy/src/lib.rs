//! SigV4 for Hydrant: request signing (a library, also used by the ingest room's
//! Elasticsearch destination), a local signing proxy that lets unsigned clients on
//! localhost — a browser Kibana, Grafana, curl — reach an IAM-protected Amazon
//! Elasticsearch/OpenSearch domain, and SigV4 verification for Hydrant's own API.
//!
//! The main types:
//! - [`Signer`] signs a request for one endpoint with `aws-sigv4`, using a
//!   [`CredentialsCache`] (the standard AWS chain from `aws-config`, refreshed before expiry and
//!   rebuilt when the shared files change). [`signer::sign_headers`] is the pure step beneath it.
//! - [`canonical`] holds SigV4's canonical forms; [`canonical::ForwardTarget`] rewrites a path
//!   and query to exactly what gets signed, so that what is sent is what was signed.
//! - [`proxy`] is the signing proxy server (`hydrant sigproxy`): [`proxy::ProxySettings`] from
//!   config, [`proxy::router`] for the routes.
//! - [`verify`] is a layer that checks SigV4 on requests to Hydrant's API (`[auth.sigv4]`).
//!
//! This crate owns signing, credentials, the proxy and verification. It does not own ingest,
//! indexing or search. Configuration arrives as typed structs from `hydrant-config`; the one
//! thing read from the environment and files is AWS's own credential chain, as AWS defines it.
//!
//! ```
//! use hydrant_sigproxy::canonical::{CanonicalOptions, CanonicalRequest, EMPTY_PAYLOAD_SHA256};
//!
//! let creq = CanonicalRequest::new(
//!     "GET", "/logs-%2A/_search", "q=status:404",
//!     [("Host", "search-x.eu-west-1.es.amazonaws.com"), ("X-Amz-Date", "20261126T100000Z")],
//!     &["host".to_string(), "x-amz-date".to_string()],
//!     EMPTY_PAYLOAD_SHA256, CanonicalOptions::default(),
//! );
//! assert_eq!(creq.uri, "/logs-%252A/_search");
//! assert_eq!(creq.query, "q=status%3A404");
//! assert_eq!(creq.signed_headers(), "host;x-amz-date");
//! ```
#![deny(missing_docs)]

pub mod canonical;
pub mod credentials;
pub mod endpoint;
mod error;
#[cfg(feature = "fuzz")]
#[doc(hidden)]
pub mod fuzz;
pub mod proxy;
pub mod signer;
pub mod verify;

pub use credentials::CredentialsCache;
pub use endpoint::Endpoint;
pub use error::SigproxyError;
pub use signer::Signer;
