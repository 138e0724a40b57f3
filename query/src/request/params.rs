//! URL parameters of the search endpoints.

use serde::{Deserialize, Deserializer};

/// URL parameters of `_search`, `_count`, `_msearch` and friends. Parameters Hydrant has no
/// use for (routing, preference, cross-cluster options) are accepted and ignored, as a single
/// node would.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct SearchParams {
    /// A Lucene query string.
    pub q: Option<String>,
    /// Default field of `q`.
    pub df: Option<String>,
    /// Default operator of `q`.
    pub default_operator: Option<String>,
    /// Hits to skip.
    #[serde(default, deserialize_with = "lenient")]
    pub from: Option<usize>,
    /// Hits to return.
    #[serde(default, deserialize_with = "lenient")]
    pub size: Option<usize>,
    /// `field:order` list.
    pub sort: Option<String>,
    /// `true`, `false` or a number.
    pub track_total_hits: Option<String>,
    /// Compute scores when sorting by a field.
    #[serde(default, deserialize_with = "lenient")]
    pub track_scores: Option<bool>,
    /// Skip targets that do not exist.
    #[serde(default, deserialize_with = "lenient")]
    pub ignore_unavailable: Option<bool>,
    /// Allow a target that resolves to no index.
    #[serde(default, deserialize_with = "lenient")]
    pub allow_no_indices: Option<bool>,
    /// `false` drops `_source` from hits; otherwise a list of fields to keep.
    #[serde(rename = "_source")]
    pub source: Option<String>,
    /// Fields of `_source` to keep.
    #[serde(rename = "_source_includes", alias = "_source_include")]
    pub source_includes: Option<String>,
    /// Fields of `_source` to drop.
    #[serde(rename = "_source_excludes", alias = "_source_exclude")]
    pub source_excludes: Option<String>,
    /// `_none_` drops `_source`.
    pub stored_fields: Option<String>,
    /// Comma list of fields read from columns.
    pub docvalue_fields: Option<String>,
    /// Search timeout (`10ms`, `1s`).
    pub timeout: Option<String>,
    /// Documents to collect per shard before stopping.
    #[serde(default, deserialize_with = "lenient")]
    pub terminate_after: Option<u64>,
    /// Keep a scroll context for this long.
    pub scroll: Option<String>,
    /// Hits carry `_version`.
    #[serde(default, deserialize_with = "lenient")]
    pub version: Option<bool>,
    /// Hits carry `_seq_no` and `_primary_term`.
    #[serde(default, deserialize_with = "lenient")]
    pub seq_no_primary_term: Option<bool>,
    /// `hits.total` as a plain number (the 6.x shape).
    #[serde(default, deserialize_with = "lenient")]
    pub rest_total_hits_as_int: Option<bool>,
    /// Aggregation names prefixed with their type (`sterms#name`).
    #[serde(default, deserialize_with = "lenient")]
    pub typed_keys: Option<bool>,
    /// `arrow` streams hits as Arrow IPC.
    pub format: Option<String>,
    /// Keep-alive of a point in time being opened.
    pub keep_alive: Option<String>,
    /// `q=` ignores values that do not fit a field's type instead of failing.
    #[serde(default, deserialize_with = "lenient")]
    pub lenient: Option<bool>,
    /// `_msearch`: how many of its searches run at once (default: the cores).
    #[serde(default, deserialize_with = "lenient")]
    pub max_concurrent_searches: Option<u64>,
    /// `false`: this search neither uses nor fills the request cache.
    #[serde(default, deserialize_with = "lenient")]
    pub request_cache: Option<bool>,
    /// `query_then_fetch` or `dfs_query_then_fetch`: both run as one pass on one node, but
    /// anything else is refused as Elasticsearch refuses it.
    pub search_type: Option<String>,
    /// Expand wildcards in the query string: accepted, and what Hydrant always does.
    #[serde(rename = "analyze_wildcard")]
    pub _analyze_wildcard: Option<String>,
}

/// Reads numbers and booleans given as URL text; an empty value is absent, as in ES.
fn lenient<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: std::str::FromStr,
{
    let s: Option<String> = Option::deserialize(d)?;
    match s.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => text.parse().map(Some).map_err(|_| {
            serde::de::Error::custom(format!("failed to parse parameter value [{text}]"))
        }),
    }
}
