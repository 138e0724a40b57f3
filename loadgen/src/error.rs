//! The load generator's errors.

use std::path::PathBuf;

/// What can stop a run.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The HTTP client or the target failed outside a measured request.
    #[error("talking to the target failed: {0}")]
    Http(String),
    /// The replay file could not be read.
    #[error("cannot read replay file `{path}`: {reason}")]
    Replay {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}
