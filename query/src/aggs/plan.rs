//! Planning: an ES aggregation tree becomes the tantivy request for one shard.

use hydrant_config::FieldType;
use hydrant_index::{DocMapper, DynamicFields, FieldTarget, ValueKind};
use tantivy::SegmentReader;
use tantivy::aggregation::ValueSourceRegistry;
use tantivy::aggregation::agg_req::{Aggregation, AggregationVariants, Aggregations};
use tantivy::columnar::DynamicColumn;
use tantivy::query::{EmptyQuery, Query};

use super::fields::FieldKind;
use super::sources::{self, Target};
use super::{AggKind, AggNode, Bounds, FieldKinds};
use crate::ast::QueryAst;
use crate::compile::Compiler;
use crate::error::QueryError;

/// The values an aggregation reads from a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Want {
    /// Whatever the column holds (terms, cardinality, value_count).
    Any,
    /// Numbers (metrics, histograms, ranges).
    Numbers,
    /// Dates (date histograms, date ranges).
    Dates,
}

/// Plans the tantivy request of one shard (or, without a compiler, the request's structure
/// only, for finalizing the merged results).
pub(crate) struct Planner<'a> {
    pub mapper: &'a DocMapper,
    pub fields: &'a DynamicFields,
    pub compiler: Option<Compiler<'a>>,
    pub kinds: &'a FieldKinds,
    pub bounds: &'a Bounds,
    pub registry: ValueSourceRegistry,
    /// The shard's segments (none when planning the structure only).
    pub segments: &'a [SegmentReader],
    /// How deep in the request the node being planned is (0: top level).
    pub depth: usize,
    /// The names of the aggregations above the node being planned.
    pub path: Vec<String>,
    /// The queries of the `filter` aggregations planned at the top level, by name, and one
    /// level below, as `{parent}>{name}` (the fused passes read them).
    pub filters: super::fused::FilterQueries,
}

/// A tantivy aggregation node.
pub(crate) fn node(agg: AggregationVariants, subs: Aggregations) -> Aggregation {
    Aggregation {
        agg,
        sub_aggregation: subs,
    }
}

/// The column name of a field no document has: tantivy reads it as an empty column.
fn unmapped(field: &str) -> String {
    format!("__unmapped__{field}")
}

impl<'a> Planner<'a> {
    /// The most distinct values one segment of the shard holds in `column` when no segment
    /// holds more than `limit` (else `None`): string columns counted by their dictionaries,
    /// other columns by their number of values (at least as many as distinct ones).
    pub fn distinct_at_most(&self, column: &str, limit: u64) -> Option<u64> {
        let mut most = 0;
        for reader in self.segments {
            let mut n = 0u64;
            for handle in reader.fast_fields().dynamic_column_handles(column).ok()? {
                n += match handle.open().ok()? {
                    DynamicColumn::Str(c) => c.dictionary().num_terms() as u64,
                    DynamicColumn::Bytes(c) => c.dictionary().num_terms() as u64,
                    DynamicColumn::Bool(c) => c.values.num_vals().min(2) as u64,
                    DynamicColumn::I64(c) => c.values.num_vals() as u64,
                    DynamicColumn::U64(c) => c.values.num_vals() as u64,
                    DynamicColumn::F64(c) => c.values.num_vals() as u64,
                    DynamicColumn::IpAddr(c) => c.values.num_vals() as u64,
                    DynamicColumn::DateTime(c) => c.values.num_vals() as u64,
                };
            }
            if n > limit {
                return None;
            }
            most = most.max(n);
        }
        Some(most)
    }

    /// The tantivy request for `nodes`.
    pub fn plan(&mut self, nodes: &[AggNode]) -> Result<Aggregations, QueryError> {
        let mut out = Aggregations::default();
        for n in nodes {
            for (name, agg) in self.plan_node(n)? {
                out.insert(name, agg);
            }
        }
        Ok(out)
    }

    fn plan_node(&mut self, n: &AggNode) -> Result<Vec<(String, Aggregation)>, QueryError> {
        self.depth += 1;
        self.path.push(n.name.clone());
        let subs = self.plan(&n.subs);
        self.path.pop();
        self.depth -= 1;
        let subs = subs?;
        let name = n.name.clone();
        Ok(match &n.kind {
            AggKind::Terms(t) => t.plan_all(self, name, subs)?,
            AggKind::Histogram(h) => vec![(name, h.plan(self, subs)?)],
            AggKind::DateHistogram(d) => vec![(name, d.plan(self, subs)?)],
            AggKind::AutoDateHistogram(a) => vec![(name, a.plan(self, subs)?)],
            AggKind::Range(r) => r.plan(self, &name, subs)?,
            AggKind::Filter(f) => vec![(name.clone(), f.plan(self, &name, subs)?)],
            AggKind::Missing(f, _) => vec![(name.clone(), f.plan(self, &name, subs)?)],
            AggKind::Composite(c) => vec![(name, c.plan(self, subs)?)],
            AggKind::MultiTerms(m) => vec![(name, m.plan(self, subs)?)],
            AggKind::Filters(f) => f.plan(self, &name, subs)?,
            AggKind::RareTerms(t) => vec![(name, t.plan(self, subs)?)],
            AggKind::SignificantTerms(t) => vec![(name, t.plan(self, subs)?)],
            AggKind::AdjacencyMatrix(a) => a.plan(self, &name, subs)?,
            AggKind::Metric(m) => vec![(name, m.plan(self)?)],
            AggKind::Cardinality(c) => vec![(name, c.plan(self)?)],
            AggKind::Percentiles(p) => vec![(name, p.plan(self)?)],
            AggKind::PercentileRanks(p) => vec![(name, p.plan(self)?)],
            AggKind::Mad(m) => vec![(name, m.plan(self)?)],
            AggKind::WeightedAvg(w) => w.plan(self, &name)?,
            AggKind::Boxplot(b) => b.plan(self, &name)?,
            AggKind::GeoGrid(g) => vec![(name, g.plan(self, subs)?)],
            AggKind::GeoCentroid(g) => g.plan(self, &name)?,
            AggKind::GeoBounds(g) => g.plan(self, &name)?,
            AggKind::TopHits(t) => t.plan(self, &name)?,
            AggKind::TopMetrics(t) => vec![(name, t.plan(self)?)],
            // Computed after rendering, from the others' results.
            AggKind::Pipeline(_) => Vec::new(),
        })
    }

    /// The tantivy query of a filter, compiled for this shard.
    pub fn compile(&mut self, q: &QueryAst) -> Result<Box<dyn Query>, QueryError> {
        match &mut self.compiler {
            Some(c) => c.compile(q),
            None => Ok(Box::new(EmptyQuery)),
        }
    }

    /// The tantivy column of a numeric `field` that a computed source of aggregation `agg`
    /// reads (checked as [`Planner::column`] checks it; an unmapped field names a column no
    /// segment has).
    pub fn source_column(&mut self, field: &str, agg: &str) -> Result<String, QueryError> {
        check_kind(field, self.kinds.get(field), Want::Numbers, agg)?;
        match self.mapper.resolve(field) {
            FieldTarget::Explicit {
                kind: FieldType::Text,
                ..
            } => Err(text_field(field)),
            FieldTarget::Missing => Ok(unmapped(field)),
            _ => Ok(self
                .mapper
                .column_name(field)
                .map_or_else(|| unmapped(field), |(c, _)| c)),
        }
    }

    /// The column an aggregation of type `agg` reads for `field`.
    pub fn column(&mut self, field: &str, want: Want, agg: &str) -> Result<String, QueryError> {
        let kind = self.kinds.get(field);
        check_kind(field, kind, want, agg)?;
        match self.mapper.resolve(field) {
            FieldTarget::Explicit {
                kind: FieldType::Text,
                ..
            } => return Err(text_field(field)),
            FieldTarget::Missing => return Ok(unmapped(field)),
            _ => {}
        }
        let Some((column, explicit)) = self.mapper.column_name(field) else {
            return Ok(unmapped(field));
        };
        let path = column.strip_prefix("_val.").filter(|_| explicit.is_none());
        let kinds = path.and_then(|p| self.fields.paths.get(p));
        let numeric_kinds = kinds
            .map(|k| {
                k.iter()
                    .filter(|k| matches!(k, ValueKind::I64 | ValueKind::U64 | ValueKind::F64))
                    .count()
            })
            .unwrap_or(0);
        // Booleans count as 0 and 1 in numeric aggregations, as in Elasticsearch; tantivy's
        // metrics read no boolean column, so they go through a computed one.
        let booleans = explicit == Some(FieldType::Boolean)
            || kinds.is_some_and(|k| k.contains(&ValueKind::Bool));
        Ok(match want {
            Want::Any => column,
            Want::Numbers if numeric_kinds > 1 || booleans => {
                sources::register(&mut self.registry, &column, Target::Numbers)
            }
            Want::Numbers => column,
            Want::Dates => {
                let native = column == "@timestamp" || explicit == Some(FieldType::Date);
                if native {
                    column
                } else {
                    sources::register(&mut self.registry, &column, Target::Dates)
                }
            }
        })
    }
}

fn text_field(field: &str) -> QueryError {
    QueryError::fielddata_disabled(field)
}

/// ES refuses numeric aggregations on strings rather than answering nothing.
fn check_kind(field: &str, kind: FieldKind, want: Want, agg: &str) -> Result<(), QueryError> {
    let refused = match want {
        Want::Any => matches!(kind, FieldKind::Text | FieldKind::GeoPoint),
        Want::Numbers | Want::Dates => matches!(
            kind,
            FieldKind::Keyword | FieldKind::Ip | FieldKind::Text | FieldKind::GeoPoint
        ),
    };
    if !refused {
        return Ok(());
    }
    if kind == FieldKind::Text {
        return Err(text_field(field));
    }
    Err(QueryError::IllegalArgument(format!(
        "Field [{field}] of type [{}] is not supported for aggregation [{agg}]",
        kind.es_type()
    )))
}
