//! Computed columns for tantivy's aggregations, where a dynamic field's values live in several
//! columns or in the wrong type.
//!
//! A dynamic JSON path that holds both integers and floats (`"latency": 3` and
//! `"latency": 2.5`) has two columns per segment, and tantivy's metric aggregations read one
//! column per field: without this module they would silently skip half the values. A numeric
//! field holding epoch milliseconds (a dynamic `timestamp`) is not a date column, so a
//! `date_histogram` on it would find nothing. Both are answered by a [`ValueSource`] that reads
//! every numeric column of the path and yields one stream of values in the type asked for.
//! Booleans are numbers there too (0 and 1), as Elasticsearch's metrics read them.

use std::sync::Arc;

use hydrant_index::timestamp::tantivy_date;
use tantivy::aggregation::{ValueSource, ValueSourceProvider, ValueSourceRegistry};
use tantivy::columnar::{
    Cardinality, Column, ColumnType, DynamicColumn, MonotonicallyMappableToU64, RowId,
};
use tantivy::{DocId, SegmentReader};

/// What a computed column yields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// Every number of the path as `f64`.
    Numbers,
    /// Dates: date columns as they are, numbers read as epoch milliseconds.
    Dates,
}

/// Whether `column` names a computed column: every one this crate registers (here, in
/// `shifted`, `weighted_avg` and `geo`) is named `#…`. A field whose own column starts with `#`
/// is taken for one too, which only keeps it off the fused pass.
pub(crate) fn is_computed(column: &str) -> bool {
    column.starts_with('#')
}

/// Registers the computed column for `column` (a tantivy column name) and returns the name
/// aggregation requests use for it.
pub(crate) fn register(registry: &mut ValueSourceRegistry, column: &str, target: Target) -> String {
    let name = match target {
        Target::Numbers => format!("#numbers:{column}"),
        Target::Dates => format!("#dates:{column}"),
    };
    registry.register(
        &name,
        Arc::new(Merged {
            column: column.to_string(),
            target,
        }),
    );
    name
}

struct Merged {
    column: String,
    target: Target,
}

/// Registers the computed column of `column` in which a document without a value has
/// `missing` (already in the output's u64 mapping) — ES's `missing` on histograms, which
/// tantivy's histograms lack.
pub(crate) fn register_with_missing(
    registry: &mut ValueSourceRegistry,
    column: &str,
    target: Target,
    missing: u64,
) -> String {
    let name = format!("#missing:{target:?}:{missing}:{column}");
    registry.register(
        &name,
        Arc::new(WithMissing {
            column: column.to_string(),
            target,
            missing,
        }),
    );
    name
}

struct WithMissing {
    column: String,
    target: Target,
    missing: u64,
}

impl ValueSourceProvider for WithMissing {
    fn for_segment(
        &self,
        reader: &SegmentReader,
        _allowed_column_types: Option<&[ColumnType]>,
    ) -> tantivy::Result<Option<Box<dyn ValueSource>>> {
        Ok(Some(Box::new(MissingSource {
            inner: Side::new(merged(reader, &self.column, self.target)?),
            out_type: match self.target {
                Target::Numbers => ColumnType::F64,
                Target::Dates => ColumnType::DateTime,
            },
            missing: self.missing,
        })))
    }
}

/// A segment's values, with `missing` for every document of a block that has none.
struct MissingSource {
    inner: Side,
    out_type: ColumnType,
    missing: u64,
}

impl std::fmt::Debug for MissingSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MissingSource")
            .field("missing", &self.missing)
            .finish()
    }
}

impl ValueSource for MissingSource {
    fn column_type(&self) -> ColumnType {
        self.out_type
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
            let own = self.inner.of(doc, &mut at);
            if own.is_empty() {
                values.push(self.missing);
                docids.push(doc);
            } else {
                values.extend_from_slice(own);
                docids.extend(std::iter::repeat_n(doc, own.len()));
            }
        }
        Cardinality::Multivalued
    }

    fn to_f64(self: Box<Self>) -> Box<dyn ValueSource> {
        self
    }
}

/// The values of every column of `column` in one segment as one stream in `target`'s type
/// (`None` when the segment has none), for sources built on top of it.
pub(crate) fn merged(
    reader: &SegmentReader,
    column: &str,
    target: Target,
) -> tantivy::Result<Option<Box<dyn ValueSource>>> {
    Merged {
        column: column.to_string(),
        target,
    }
    .for_segment(reader, None)
}

/// One input column and how its values become the output's.
type Converter = fn(u64) -> u64;

impl ValueSourceProvider for Merged {
    fn for_segment(
        &self,
        reader: &SegmentReader,
        _allowed_column_types: Option<&[ColumnType]>,
    ) -> tantivy::Result<Option<Box<dyn ValueSource>>> {
        let mut inputs: Vec<(Column<u64>, Converter)> = Vec::new();
        for handle in reader.fast_fields().dynamic_column_handles(&self.column)? {
            let column = handle.open()?;
            if let Some(input) = convert(column, self.target) {
                inputs.push(input);
            }
        }
        let out_type = match self.target {
            Target::Numbers => ColumnType::F64,
            Target::Dates => ColumnType::DateTime,
        };
        // A segment without the field still reads it, as an empty column of the output type:
        // tantivy types a merged result (dates or numbers) by the segment it starts from, and
        // an absent source is an empty column of integers, whose keys would stay raw.
        Ok(Some(Box::new(MergedSource {
            inputs,
            out_type,
            scratch_docs: Vec::new(),
            scratch_values: Vec::new(),
            pairs: Vec::new(),
        })))
    }
}

fn identity(v: u64) -> u64 {
    v
}

fn i64_to_f64(v: u64) -> u64 {
    (i64::from_u64(v) as f64).to_u64()
}

fn u64_to_f64(v: u64) -> u64 {
    (v as f64).to_u64()
}

fn bool_to_f64(v: u64) -> u64 {
    (v as f64).to_u64()
}

fn ms_i64_to_date(v: u64) -> u64 {
    tantivy_date(i64::from_u64(v)).to_u64()
}

fn ms_u64_to_date(v: u64) -> u64 {
    tantivy_date(i64::try_from(v).unwrap_or(i64::MAX)).to_u64()
}

fn ms_f64_to_date(v: u64) -> u64 {
    tantivy_date(f64::from_u64(v) as i64).to_u64()
}

/// The u64-mapped column of `column` and the conversion of its values, when it can feed
/// `target`.
fn convert(column: DynamicColumn, target: Target) -> Option<(Column<u64>, Converter)> {
    let (col, conv): (Column<u64>, Converter) = match (column, target) {
        (DynamicColumn::I64(c), Target::Numbers) => (c.to_u64_monotonic(), i64_to_f64),
        (DynamicColumn::U64(c), Target::Numbers) => (c, u64_to_f64),
        (DynamicColumn::F64(c), Target::Numbers) => (c.to_u64_monotonic(), identity),
        (DynamicColumn::Bool(c), Target::Numbers) => (c.to_u64_monotonic(), bool_to_f64),
        (DynamicColumn::DateTime(c), Target::Dates) => (c.to_u64_monotonic(), identity),
        (DynamicColumn::I64(c), Target::Dates) => (c.to_u64_monotonic(), ms_i64_to_date),
        (DynamicColumn::U64(c), Target::Dates) => (c, ms_u64_to_date),
        (DynamicColumn::F64(c), Target::Dates) => (c.to_u64_monotonic(), ms_f64_to_date),
        // Dates in a numbers request stay out (ES would refuse the mix), as do strings.
        _ => return None,
    };
    Some((col, conv))
}

/// Several columns read as one, values grouped by document in ascending order.
struct MergedSource {
    inputs: Vec<(Column<u64>, Converter)>,
    out_type: ColumnType,
    scratch_docs: Vec<DocId>,
    scratch_values: Vec<u64>,
    pairs: Vec<(DocId, u64)>,
}

impl std::fmt::Debug for MergedSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MergedSource")
            .field("inputs", &self.inputs.len())
            .field("out_type", &self.out_type)
            .finish()
    }
}

impl ValueSource for MergedSource {
    fn column_type(&self) -> ColumnType {
        self.out_type
    }

    fn load_block(
        &mut self,
        docs: &[DocId],
        values: &mut Vec<u64>,
        docids: &mut Vec<DocId>,
        row_ids: &mut Vec<RowId>,
    ) -> Cardinality {
        self.pairs.clear();
        for (column, conv) in &self.inputs {
            self.scratch_docs.clear();
            row_ids.clear();
            column.row_ids_for_docs(docs, &mut self.scratch_docs, row_ids);
            self.scratch_values.clear();
            self.scratch_values.resize(row_ids.len(), 0);
            column.values.get_vals(row_ids, &mut self.scratch_values);
            self.pairs.extend(
                self.scratch_docs
                    .iter()
                    .zip(&self.scratch_values)
                    .map(|(d, v)| (*d, conv(*v))),
            );
        }
        if self.inputs.len() > 1 {
            self.pairs.sort_by_key(|(d, _)| *d);
        }
        docids.clear();
        values.clear();
        for (d, v) in &self.pairs {
            docids.push(*d);
            values.push(*v);
        }
        Cardinality::Multivalued
    }

    fn to_f64(self: Box<Self>) -> Box<dyn ValueSource> {
        self
    }
}

/// One input's values for a block of documents, grouped by document, ascending.
pub(crate) struct Side {
    source: Option<Box<dyn ValueSource>>,
    values: Vec<u64>,
    docs: Vec<DocId>,
    rows: Vec<RowId>,
}

impl Side {
    pub(crate) fn new(source: Option<Box<dyn ValueSource>>) -> Side {
        Side {
            source,
            values: Vec::new(),
            docs: Vec::new(),
            rows: Vec::new(),
        }
    }

    pub(crate) fn load(&mut self, block: &[DocId]) {
        self.values.clear();
        self.docs.clear();
        if let Some(s) = &mut self.source {
            s.load_block(block, &mut self.values, &mut self.docs, &mut self.rows);
        }
    }

    /// The values of `doc`, which follows the documents of the previous call (`at` walks on).
    pub(crate) fn of(&self, doc: DocId, at: &mut usize) -> &[u64] {
        while *at < self.docs.len() && self.docs[*at] < doc {
            *at += 1;
        }
        let start = *at;
        while *at < self.docs.len() && self.docs[*at] == doc {
            *at += 1;
        }
        &self.values[start..*at]
    }
}
