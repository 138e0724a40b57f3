//! The index room's error type.

use std::path::PathBuf;

/// Errors of the index room. Each variant carries the values involved.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// A name or pattern resolved to no index (Elasticsearch's `index_not_found_exception`).
    #[error("no such index [{0}]")]
    IndexNotFound(String),
    /// A name that cannot be an index or pattern.
    #[error("invalid index name [{name}], {reason}")]
    InvalidIndexName {
        /// The name received.
        name: String,
        /// Why it is refused.
        reason: String,
    },
    /// tantivy failed on an index directory.
    #[error("index [{index}] failed: {source}")]
    Tantivy {
        /// Index (and shard) name.
        index: String,
        /// The underlying error.
        source: tantivy::TantivyError,
    },
    /// A file of an index could not be read or written.
    #[error("cannot access `{path}`: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// `PUT /{index}` of an index or stream that exists.
    #[error("index [{0}] already exists")]
    ResourceAlreadyExists(String),
    /// An alias that does not exist (where it was to be removed or read).
    #[error("aliases [{0}] missing")]
    AliasMissing(String),
    /// A template name that matches no template.
    #[error("{noun} matching [{name}] not found")]
    TemplateNotFound {
        /// `index template` or `index_template` (the legacy API's word).
        noun: &'static str,
        /// The name asked for.
        name: String,
    },
    /// A template, mapping or settings body Elasticsearch would refuse.
    #[error("{reason}")]
    InvalidDefinition {
        /// Elasticsearch's error type (`mapper_parsing_exception`, …).
        es_type: &'static str,
        /// What is wrong, in Elasticsearch's words.
        reason: String,
    },
    /// An index on disk that could not be opened (a damaged or unreadable file): it is left
    /// alone, reported, and refused to readers and writers until it is deleted.
    #[error("index [{index}] is damaged and cannot be used: {reason}")]
    Damaged {
        /// The index.
        index: String,
        /// What opening it said.
        reason: String,
    },
    /// Index metadata on disk is not what this version writes.
    #[error("index metadata `{path}` is unreadable: {reason}")]
    BadMetadata {
        /// The metadata file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

impl IndexError {
    /// The HTTP status and Elasticsearch error type of the errors a request causes (`None`: a
    /// server-side failure).
    pub fn client_error(&self) -> Option<(u16, &'static str)> {
        match self {
            IndexError::IndexNotFound(_) => Some((404, "index_not_found_exception")),
            IndexError::InvalidIndexName { .. } => Some((400, "invalid_index_name_exception")),
            IndexError::ResourceAlreadyExists(_) => {
                Some((400, "resource_already_exists_exception"))
            }
            IndexError::TemplateNotFound { .. } => Some((404, "resource_not_found_exception")),
            IndexError::AliasMissing(_) => Some((404, "aliases_not_found_exception")),
            IndexError::InvalidDefinition { es_type, .. } => Some((400, es_type)),
            IndexError::Tantivy { .. }
            | IndexError::Io { .. }
            | IndexError::BadMetadata { .. }
            | IndexError::Damaged { .. } => None,
        }
    }

    pub(crate) fn tantivy(index: impl Into<String>, source: tantivy::TantivyError) -> Self {
        IndexError::Tantivy {
            index: index.into(),
            source,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        IndexError::Io {
            path: path.into(),
            source,
        }
    }
}

/// Why one record could not be turned into an index document. The record is rejected alone.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MappingError {
    /// The record is valid JSON but not an object (Elasticsearch's `mapper_parsing_exception`).
    #[error("failed to parse: expected a JSON object, got {found}")]
    NotAnObject {
        /// What was found instead (`an array`, `a string`, …).
        found: &'static str,
    },
    /// The record is not valid JSON.
    #[error("failed to parse: invalid JSON: {reason}")]
    NotJson {
        /// The parser's words, with line and column.
        reason: String,
    },
    /// The record is not valid UTF-8.
    #[error("failed to parse: invalid UTF-8 at byte {at}")]
    NotUtf8 {
        /// Offset of the first invalid byte.
        at: usize,
    },
    /// A value does not fit its mapped type (`mapper_parsing_exception`).
    #[error("{reason}")]
    BadValue {
        /// Which field, which value, which type.
        reason: String,
    },
    /// A field that the strict mapping does not list (`strict_dynamic_mapping_exception`).
    #[error("mapping set to strict, dynamic introduction of [{path}] within [_doc] is not allowed")]
    Strict {
        /// The unmapped field.
        path: String,
    },
}

impl MappingError {
    /// Elasticsearch's error `type` for this error.
    pub fn es_type(&self) -> &'static str {
        match self {
            MappingError::NotAnObject { .. }
            | MappingError::NotJson { .. }
            | MappingError::NotUtf8 { .. }
            | MappingError::BadValue { .. } => "mapper_parsing_exception",
            MappingError::Strict { .. } => "strict_dynamic_mapping_exception",
        }
    }
}
