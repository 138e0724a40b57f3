//! Pipeline aggregations: computed from the rendered output of the other aggregations, after
//! every shard's results are merged, as Elasticsearch computes them in its final reduce.
//!
//! - Parent pipelines, under a multi-bucket aggregation, add a value to (or select, or sort)
//!   its buckets: `derivative`, `cumulative_sum`, `moving_fn`, `moving_avg`, `serial_diff`,
//!   `bucket_script`, `bucket_selector`, `bucket_sort`.
//! - Sibling pipelines, beside one, summarize a metric over its buckets: `avg_bucket`,
//!   `sum_bucket`, `min_bucket`, `max_bucket`, `stats_bucket`, `extended_stats_bucket`,
//!   `percentiles_bucket`.
//!
//! Inputs are read with `buckets_path` ([`paths`]); an empty bucket or a missing value is a gap,
//! handled by `gap_policy` (`skip`, `insert_zeros`, `keep_values`).

mod expr;
mod moving;
mod parse;
pub(crate) mod paths;
mod run;

pub use parse::{Pipeline, TYPES};
pub(crate) use run::apply;
