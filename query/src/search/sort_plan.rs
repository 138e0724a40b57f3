//! What a request's sort needs before any shard is searched: each key's field kind, direction,
//! missing value and `search_after` value, checked as Elasticsearch checks them.

use std::sync::Arc;

use super::sort::{Dir, KeyReader, parse_value};
use super::{ShardTarget, SortValue, collector, kinds};
use crate::aggs::FieldKind;
use crate::compile::{GeoField, geo_field};
use crate::error::QueryError;
use crate::request::{GeoSort, Missing, SearchRequest, SortSpec, SortTarget};

/// The sort of a request, with what each key needs.
pub(super) struct SortPlan {
    pub(super) specs: Vec<SortSpec>,
    pub(super) kinds: Vec<FieldKind>,
    pub(super) dirs: Arc<[Dir]>,
    pub(super) missing: Vec<Option<SortValue>>,
    pub(super) after: Option<Vec<SortValue>>,
    pub(super) by_score: bool,
}

impl SortPlan {
    pub(super) fn new(
        targets: &[ShardTarget],
        req: &SearchRequest,
    ) -> Result<SortPlan, QueryError> {
        let specs = if req.sort.is_empty() {
            vec![SortSpec::new(SortTarget::Score)]
        } else {
            req.sort.clone()
        };
        let names: Vec<String> = specs
            .iter()
            .filter_map(|s| s.field().map(str::to_string))
            .collect();
        let field_kinds = kinds(targets, &names);
        let mut kinds_out = Vec::new();
        let mut missing = Vec::new();
        for s in &specs {
            let kind = match (&s.target, s.field()) {
                (_, Some(f)) => check_sortable(f, field_kinds.get(f), s, !targets.is_empty())?,
                (SortTarget::GeoDistance(g), None) => {
                    check_geo_sortable(targets, g)?;
                    FieldKind::Double
                }
                (SortTarget::Index, None) => FieldKind::Keyword,
                (_, None) => FieldKind::Long,
            };
            missing.push(match &s.missing {
                Missing::Value(v) => Some(parse_value(v, kind, s)?),
                _ => None,
            });
            kinds_out.push(kind);
        }
        let after = match &req.search_after {
            None => None,
            Some(values) if values.len() != specs.len() => {
                return Err(QueryError::IllegalArgument(format!(
                    "search_after has {} value(s) but sort has {}.",
                    values.len(),
                    specs.len()
                )));
            }
            Some(values) => Some(
                values
                    .iter()
                    .zip(specs.iter().zip(&kinds_out))
                    .map(|(v, (s, k))| {
                        parse_value(v, *k, s).map_err(|e| match e {
                            QueryError::NumberFormat(_) => QueryError::IllegalArgument(format!(
                                "Failed to parse search_after value for field [{}].",
                                s.field().unwrap_or("_score")
                            )),
                            e => e,
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            ),
        };
        Ok(SortPlan {
            by_score: specs.iter().any(|s| s.target == SortTarget::Score),
            dirs: specs.iter().map(Dir::of).collect(),
            specs,
            kinds: kinds_out,
            missing,
            after,
        })
    }

    /// The function building a segment's key readers on `target` (shard number `shard_no`).
    pub(super) fn keys_for(&self, target: &ShardTarget, shard_no: u64) -> Box<collector::KeysFor> {
        let specs = self.specs.clone();
        let missing = self.missing.clone();
        let columns: Vec<Option<String>> = specs
            .iter()
            .map(|s| {
                s.field()
                    .and_then(|f| target.mapper.column_name(f))
                    .map(|(c, _)| c)
            })
            .collect();
        let geo: Vec<Option<(String, String)>> = specs
            .iter()
            .map(|s| match &s.target {
                SortTarget::GeoDistance(g) => {
                    match geo_field(&target.mapper, &target.fields, &g.field) {
                        GeoField::Columns { lat, lon } => Some((lat, lon)),
                        _ => None,
                    }
                }
                _ => None,
            })
            .collect();
        let index: Arc<str> = Arc::from(target.index.name());
        let mut bases = Vec::new();
        let mut base = 0u64;
        for r in target.searcher.segment_readers() {
            bases.push(base);
            base += u64::from(r.max_doc());
        }
        Box::new(move |ord, reader| {
            let seg_base = bases.get(ord as usize).copied().unwrap_or(0);
            specs
                .iter()
                .zip(&columns)
                .zip(&missing)
                .zip(&geo)
                .map(|(((s, col), m), geo)| match &s.target {
                    SortTarget::Field(_) => KeyReader::field(reader, col.as_deref(), s, m.as_ref()),
                    SortTarget::GeoDistance(g) => KeyReader::geo(reader, geo.as_ref(), s, g),
                    SortTarget::ShardDoc => {
                        Ok(KeyReader::special(&s.target, (shard_no << 32) + seg_base))
                    }
                    SortTarget::Index => Ok(KeyReader::Index(index.clone())),
                    other => Ok(KeyReader::special(other, seg_base)),
                })
                .collect()
        })
    }
}

/// `docvalue_fields` reads columns: a text field (which has none) is refused, as in ES.
pub(super) fn check_docvalue_fields(
    targets: &[ShardTarget],
    req: &SearchRequest,
) -> Result<(), QueryError> {
    let names: Vec<String> = req
        .docvalue_fields
        .iter()
        .filter(|f| !f.pattern.contains('*'))
        .map(|f| f.pattern.clone())
        .collect();
    if names.is_empty() {
        return Ok(());
    }
    let found = kinds(targets, &names);
    for name in &names {
        if found.get(name) == FieldKind::Text {
            return Err(QueryError::fielddata_disabled(name));
        }
    }
    Ok(())
}

/// `_geo_distance` needs a `geo_point` field in every shard (or `ignore_unmapped`).
fn check_geo_sortable(targets: &[ShardTarget], g: &GeoSort) -> Result<(), QueryError> {
    for t in targets {
        match geo_field(&t.mapper, &t.fields, &g.field) {
            GeoField::Columns { .. } => {}
            GeoField::Unmapped if g.ignore_unmapped => {}
            GeoField::Unmapped => {
                return Err(QueryError::IllegalArgument(format!(
                    "failed to find mapper for [{}] for geo distance based sort",
                    g.field
                )));
            }
            GeoField::NotGeo(ty) => {
                return Err(QueryError::IllegalArgument(format!(
                    "field [{}] of type [{ty}] is not a geo_point field",
                    g.field
                )));
            }
        }
    }
    Ok(())
}

fn check_sortable(
    field: &str,
    kind: FieldKind,
    spec: &SortSpec,
    any_target: bool,
) -> Result<FieldKind, QueryError> {
    match kind {
        FieldKind::Unmapped if spec.unmapped_type.is_none() && any_target => {
            Err(QueryError::QueryShard(format!(
                "No mapping found for [{field}] in order to sort on"
            )))
        }
        FieldKind::Text => Err(QueryError::fielddata_disabled(field)),
        FieldKind::GeoPoint => Err(QueryError::IllegalArgument(format!(
            "can't sort on geo_point field without using specific sorting feature, like geo_distance: [{field}]"
        ))),
        FieldKind::Unmapped => Ok(match spec.unmapped_type.as_deref() {
            Some("date" | "date_nanos") => FieldKind::Date,
            Some("long" | "integer" | "short" | "byte") => FieldKind::Long,
            Some("double" | "float" | "half_float" | "scaled_float") => FieldKind::Double,
            Some("boolean") => FieldKind::Bool,
            _ => FieldKind::Keyword,
        }),
        other => Ok(other),
    }
}
