//! Dates as milliseconds after a base, for the sketches of `percentiles` and
//! `percentile_ranks`.
//!
//! tantivy's percentiles are a DDSketch, accurate to 1% of each value. A date column holds
//! nanoseconds since 1970, so 1% is months: the median of a week of logs could land half a
//! year off. Sketching the milliseconds after the earliest date of the request (its span, from
//! the pre-pass) bounds the error by 1% of the span instead — minutes for a week.

use std::sync::Arc;

use tantivy::aggregation::{ValueSource, ValueSourceProvider, ValueSourceRegistry};
use tantivy::columnar::{Cardinality, ColumnType, MonotonicallyMappableToU64, RowId};
use tantivy::{DocId, SegmentReader};

use super::sources::{Side, Target, merged};

/// Registers the computed column of `column` (a date, or numbers read as epoch milliseconds)
/// as `f64` milliseconds after `base_ms`; returns its name.
pub(crate) fn register(registry: &mut ValueSourceRegistry, column: &str, base_ms: i64) -> String {
    let name = format!("#since:{base_ms}:{column}");
    registry.register(
        &name,
        Arc::new(Since {
            column: column.to_string(),
            base_ms,
        }),
    );
    name
}

struct Since {
    column: String,
    base_ms: i64,
}

impl ValueSourceProvider for Since {
    fn for_segment(
        &self,
        reader: &SegmentReader,
        _allowed_column_types: Option<&[ColumnType]>,
    ) -> tantivy::Result<Option<Box<dyn ValueSource>>> {
        Ok(Some(Box::new(SinceSource {
            inner: Side::new(merged(reader, &self.column, Target::Dates)?),
            base_ms: self.base_ms,
        })))
    }
}

struct SinceSource {
    inner: Side,
    base_ms: i64,
}

impl std::fmt::Debug for SinceSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SinceSource")
            .field("base_ms", &self.base_ms)
            .finish()
    }
}

impl ValueSource for SinceSource {
    fn column_type(&self) -> ColumnType {
        ColumnType::F64
    }

    fn load_block(
        &mut self,
        docs: &[DocId],
        values: &mut Vec<u64>,
        docids: &mut Vec<DocId>,
        _row_ids: &mut Vec<RowId>,
    ) -> Cardinality {
        self.inner.load(docs);
        values.clear();
        docids.clear();
        let mut at = 0;
        for &doc in docs {
            for &v in self.inner.of(doc, &mut at) {
                // Date columns hold nanoseconds.
                let ms = i64::from_u64(v).div_euclid(1_000_000) - self.base_ms;
                values.push((ms as f64).to_u64());
                docids.push(doc);
            }
        }
        Cardinality::Multivalued
    }

    fn to_f64(self: Box<Self>) -> Box<dyn ValueSource> {
        self
    }
}
