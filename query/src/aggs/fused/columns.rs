//! Reading one block of documents' values from a single-valued fast-field column, as the `f64`
//! tantivy's collectors read them.

use std::sync::Arc;

use tantivy::columnar::{
    Cardinality, Column, ColumnIndex, ColumnType, ColumnValues, MonotonicallyMappableToU64,
};
use tantivy::{DocId, SegmentReader};

/// Documents read per pass over the columns.
pub(super) const BLOCK: usize = 64;

/// The one column of `field` of an allowed type: `Some(None)` when there is none, `None` when
/// there are several (tantivy would read the first; the fused pass leaves such segments to it).
#[allow(clippy::type_complexity)]
pub(super) fn single_column(
    reader: &SegmentReader,
    field: &str,
    allowed: &[ColumnType],
) -> tantivy::Result<Option<Option<(Column<u64>, ColumnType)>>> {
    let mut columns = reader
        .fast_fields()
        .u64_lenient_for_type_all(Some(allowed), field)?;
    Ok(match columns.len() {
        0 => Some(None),
        1 => columns.pop().map(Some),
        _ => None,
    })
}

/// Whether `field` has exactly one column in `reader` (tantivy makes buckets of every column
/// of a field: a dynamic field can hold strings and booleans, integers and dates).
pub(super) fn one_column(reader: &SegmentReader, field: &str) -> tantivy::Result<bool> {
    Ok(reader.fast_fields().dynamic_column_handles(field)?.len() == 1)
}

/// A single-valued column's values.
pub(super) enum Values {
    Full(Arc<dyn ColumnValues<u64>>, ColumnType),
    Optional(Column<u64>, ColumnType),
    Empty,
}

/// Buffers of one block's column reads.
pub(super) struct Raw {
    vals: [u64; BLOCK],
    opts: [Option<u64>; BLOCK],
}

impl Raw {
    pub(super) fn new() -> Box<Raw> {
        Box::new(Raw {
            vals: [0; BLOCK],
            opts: [None; BLOCK],
        })
    }
}

impl Values {
    /// The values of `column`, of type `kind`, unless it is multi-valued.
    pub(super) fn of(column: Column<u64>, kind: ColumnType) -> Option<Values> {
        match column.get_cardinality() {
            Cardinality::Multivalued => None,
            _ => Some(match &column.index {
                ColumnIndex::Full => Values::Full(column.values.clone(), kind),
                ColumnIndex::Empty { .. } => Values::Empty,
                _ => Values::Optional(column, kind),
            }),
        }
    }

    /// The smallest and largest value, as `f64`, if there are values.
    pub(super) fn bounds(&self) -> Option<(f64, f64)> {
        let (values, kind) = match self {
            Values::Full(v, kind) => (v.as_ref(), *kind),
            Values::Optional(c, kind) => (c.values.as_ref(), *kind),
            Values::Empty => return None,
        };
        (values.num_vals() > 0).then(|| {
            (
                to_f64(values.min_value(), kind),
                to_f64(values.max_value(), kind),
            )
        })
    }

    /// Calls `f(i, value)` for each document `docs[i]` that has a value (`docs` holds at most
    /// [`BLOCK`] documents).
    #[inline]
    pub(super) fn each(&self, docs: &[DocId], raw: &mut Raw, mut f: impl FnMut(usize, f64)) {
        let kind = self.kind();
        self.each_raw(docs, raw, |i, v| f(i, to_f64(v, kind)));
    }

    /// [`Values::each`] with the column's stored `u64`s (term ordinals of a string column).
    #[inline]
    pub(super) fn each_raw(&self, docs: &[DocId], raw: &mut Raw, mut f: impl FnMut(usize, u64)) {
        let n = docs.len();
        match self {
            Values::Full(values, _) => {
                values.get_vals(docs, &mut raw.vals[..n]);
                for (i, v) in raw.vals[..n].iter().enumerate() {
                    f(i, *v);
                }
            }
            Values::Optional(column, _) => {
                column.first_vals(docs, &mut raw.opts[..n]);
                for (i, v) in raw.opts[..n].iter().enumerate() {
                    if let Some(v) = v {
                        f(i, *v);
                    }
                }
            }
            Values::Empty => {}
        }
    }

    /// Calls `f` with each stored value, in blocks, while it returns `true`.
    pub(super) fn each_stored(&self, mut f: impl FnMut(u64) -> bool) {
        let values = match self {
            Values::Full(v, _) => v.as_ref(),
            Values::Optional(c, _) => c.values.as_ref(),
            Values::Empty => return,
        };
        let mut block = [0u64; 1024];
        let total = u64::from(values.num_vals());
        let mut start = 0;
        while start < total {
            let n = (total - start).min(block.len() as u64) as usize;
            values.get_range(start, &mut block[..n]);
            if !block[..n].iter().all(|v| f(*v)) {
                return;
            }
            start += n as u64;
        }
    }

    /// The column's type.
    pub(super) fn kind(&self) -> ColumnType {
        match self {
            Values::Full(_, kind) | Values::Optional(_, kind) => *kind,
            Values::Empty => ColumnType::U64,
        }
    }

    /// The smallest and largest stored `u64`, if there are values.
    pub(super) fn raw_bounds(&self) -> Option<(u64, u64)> {
        let values = match self {
            Values::Full(v, _) => v.as_ref(),
            Values::Optional(c, _) => c.values.as_ref(),
            Values::Empty => return None,
        };
        (values.num_vals() > 0).then(|| (values.min_value(), values.max_value()))
    }
}

/// tantivy's `f64_from_fastfield_u64` (dates as nanoseconds).
#[inline]
fn to_f64(v: u64, kind: ColumnType) -> f64 {
    match kind {
        ColumnType::U64 => v as f64,
        ColumnType::F64 => f64::from_u64(v),
        _ => i64::from_u64(v) as f64,
    }
}

/// A collector that reads documents a block at a time, keeping those collected one at a time
/// until a block is full.
pub(super) trait Blocks {
    /// The documents collected one at a time, not yet read.
    fn pending(&mut self) -> &mut Vec<DocId>;

    /// Reads `docs` (ascending).
    fn read_block(&mut self, docs: &[DocId]);

    fn collect(&mut self, doc: DocId) {
        self.pending().push(doc);
        if self.pending().len() == BLOCK {
            self.flush();
        }
    }

    /// Reads the pending documents.
    fn flush(&mut self) {
        if self.pending().is_empty() {
            return;
        }
        let pending = std::mem::take(self.pending());
        self.read_block(&pending);
        *self.pending() = pending;
        self.pending().clear();
    }
}
