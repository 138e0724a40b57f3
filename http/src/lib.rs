//! HTTP pieces shared by every entry point of Hydrant — the ingest receivers, the search API,
//! the UI, the SigV4 verifier and the signing proxy — so that none of them reaches into
//! another room for them:
//!
//! - [`body`]: reading a whole request body within a size limit, draining past it;
//! - [`ndjson`]: splitting newline-delimited bodies into lines;
//! - [`es_error`]: Elasticsearch's error body (`{"error":{"root_cause":…},"status":N}`);
//! - [`sha256_hex`] and [`hash_body`]: the body hash SigV4 signs and checks;
//! - [`response_params`]: `filter_path` and `pretty` on every JSON answer;
//! - [`server_timing`]: the `Server-Timing` header on every answer;
//! - [`es_media_type`]: Elasticsearch's refusal of request bodies that are not JSON.
#![deny(missing_docs)]

pub mod body;
mod error_body;
mod hash;
mod media_type;
pub mod ndjson;
mod response_params;
mod server_timing;

pub use error_body::{es_error, es_error_body};
pub use hash::{hash_body, sha256_hex};
pub use media_type::es_media_type;
pub use response_params::{filter_path, response_params};
pub use server_timing::server_timing;

/// Marks a request that one authentication layer already authenticated (a user's password or
/// an API key), so that another one (SigV4 verification) leaves it alone.
#[derive(Debug, Clone, Copy)]
pub struct Authenticated;
