//! Geo queries: a per-document test of a field's points against a region, on the field's two
//! columns (latitude and longitude).
//!
//! A `geo_point` field of the mapping has its own two columns. As a convenience beyond
//! Elasticsearch (where such a field is a plain object), a dynamic object with numeric `lat`
//! and `lon` members — what a `geoip` processor writes when no template maps `location` — is
//! read as a point too.

use std::sync::Arc;

use hydrant_config::FieldType;
use hydrant_index::geo::GeoPoint;
use hydrant_index::mapping::geo_lon_name;
use hydrant_index::{DocMapper, DynamicFields, FieldTarget, ValueKind};
use tantivy::columnar::{Column, NumericalType};
use tantivy::query::EmptyQuery;
use tantivy::query::doc_predicate_query::{DocPredicateQuery, FunctionPredicate};
use tantivy::{DocId, SegmentReader};

use super::{BoxQuery, Compiler};
use crate::ast::{GeoRelation, GeoShape};
use crate::error::QueryError;

/// Where a field's points are, in one shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum GeoField {
    /// The column names of its latitudes and longitudes.
    Columns {
        /// Latitude column.
        lat: String,
        /// Longitude column.
        lon: String,
    },
    /// No document of the shard has the field.
    Unmapped,
    /// The field holds something else (its ES type name).
    NotGeo(&'static str),
}

/// Where the points of `name` are in a shard with `mapper` whose segments hold `fields`.
pub(crate) fn geo_field(mapper: &DocMapper, fields: &DynamicFields, name: &str) -> GeoField {
    let numeric = |path: &str| {
        fields.paths.get(path).is_some_and(|k| {
            k.iter()
                .any(|k| matches!(k, ValueKind::I64 | ValueKind::U64 | ValueKind::F64))
        })
    };
    match mapper.resolve(name) {
        FieldTarget::Explicit {
            field,
            kind: FieldType::GeoPoint,
            ..
        } => {
            let lat = mapper.schema().get_field_name(field).to_string();
            let lon = geo_lon_name(&lat);
            GeoField::Columns { lat, lon }
        }
        FieldTarget::Explicit { kind, .. } => {
            GeoField::NotGeo(hydrant_index::mapping::type_name(kind))
        }
        FieldTarget::Dynamic { path } => {
            let (lat, lon) = (format!("{path}.lat"), format!("{path}.lon"));
            if numeric(&lat) && numeric(&lon) {
                let column = |p: &str| mapper.column_name(p).map(|(c, _)| c).unwrap_or_default();
                GeoField::Columns {
                    lat: column(&lat),
                    lon: column(&lon),
                }
            } else if fields.paths.contains_key(&path)
                || fields
                    .paths
                    .keys()
                    .any(|p| p.starts_with(&format!("{path}.")))
            {
                GeoField::NotGeo("object")
            } else {
                GeoField::Unmapped
            }
        }
        FieldTarget::Id | FieldTarget::Keyword { .. } => GeoField::NotGeo("keyword"),
        FieldTarget::Timestamp => GeoField::NotGeo("date"),
        FieldTarget::Missing => GeoField::Unmapped,
    }
}

/// One segment's latitude and longitude columns (several per side when a dynamic member held
/// integers and floats), read per document.
pub(crate) struct GeoColumns {
    lat: Vec<Column<f64>>,
    lon: Vec<Column<f64>>,
}

impl GeoColumns {
    /// The columns named `lat` and `lon` in `reader` (empty when the segment has none).
    pub(crate) fn open(reader: &SegmentReader, lat: &str, lon: &str) -> tantivy::Result<Self> {
        let open = |name: &str| -> tantivy::Result<Vec<Column<f64>>> {
            let mut out = Vec::new();
            for handle in reader.fast_fields().dynamic_column_handles(name)? {
                if let Some(tantivy::columnar::DynamicColumn::F64(c)) =
                    handle.open()?.coerce_numerical(NumericalType::F64)
                {
                    out.push(c);
                }
            }
            Ok(out)
        };
        Ok(GeoColumns {
            lat: open(lat)?,
            lon: open(lon)?,
        })
    }

    /// Whether the segment has any point at all.
    pub(crate) fn is_empty(&self) -> bool {
        self.lat.is_empty() || self.lon.is_empty()
    }

    /// Calls `f` with each point of `doc` (latitudes and longitudes paired in order) until it
    /// returns `true`; whether one did.
    pub(crate) fn any(&self, doc: DocId, mut f: impl FnMut(GeoPoint) -> bool) -> bool {
        if let ([lat], [lon]) = (&self.lat[..], &self.lon[..]) {
            return lat
                .values_for_doc(doc)
                .zip(lon.values_for_doc(doc))
                .any(|(lat, lon)| f(GeoPoint { lat, lon }));
        }
        let lats: Vec<f64> = self
            .lat
            .iter()
            .flat_map(|c| c.values_for_doc(doc))
            .collect();
        let lons: Vec<f64> = self
            .lon
            .iter()
            .flat_map(|c| c.values_for_doc(doc))
            .collect();
        lats.into_iter()
            .zip(lons)
            .any(|(lat, lon)| f(GeoPoint { lat, lon }))
    }
}

impl Compiler<'_> {
    /// The documents with a point of `field` inside `shape`.
    pub(super) fn geo(
        &self,
        field: &str,
        shape: &GeoShape,
        relation: GeoRelation,
        ignore_unmapped: bool,
    ) -> Result<BoxQuery, QueryError> {
        let (lat, lon) = match geo_field(self.mapper, self.fields, field) {
            GeoField::Columns { lat, lon } => (lat, lon),
            GeoField::Unmapped if ignore_unmapped => return Ok(Box::new(EmptyQuery)),
            GeoField::Unmapped => {
                return Err(QueryError::QueryShard(format!(
                    "failed to find geo field [{field}]"
                )));
            }
            GeoField::NotGeo(ty) => {
                return Err(QueryError::QueryShard(format!(
                    "field [{field}] of type [{ty}] is not a geo_point field"
                )));
            }
        };
        let shape = Arc::new(shape.clone());
        let predicate = FunctionPredicate::from(move |reader: &SegmentReader| {
            let columns = GeoColumns::open(reader, &lat, &lon)?;
            let shape = shape.clone();
            Ok(move |doc: DocId| {
                if columns.is_empty() {
                    return false;
                }
                match relation {
                    GeoRelation::Intersects => columns.any(doc, |p| shape.contains(p)),
                    GeoRelation::Within => {
                        let mut seen = false;
                        let outside = columns.any(doc, |p| {
                            seen = true;
                            !shape.contains(p)
                        });
                        seen && !outside
                    }
                    GeoRelation::Disjoint => {
                        let mut seen = false;
                        let inside = columns.any(doc, |p| {
                            seen = true;
                            shape.contains(p)
                        });
                        seen && !inside
                    }
                }
            })
        });
        Ok(Box::new(DocPredicateQuery::from(predicate)))
    }
}
