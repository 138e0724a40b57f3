//! Geo aggregations on `geo_point` fields: `geo_centroid`, `geo_bounds`, and the grids
//! `geohash_grid` and `geotile_grid` (sub-aggregations allowed).
//!
//! Each reads computed columns (see [`sources`](super::sources)) built from the field's two
//! columns: latitudes, longitudes east and west of Greenwich (for `geo_bounds`' choice of
//! wrapping the antimeridian, as Elasticsearch's `InternalGeoBounds` makes it), or each
//! point's grid cell as a number whose order is the order of ES's cell keys; tantivy's
//! `stats` and `terms` do the rest.

use std::sync::Arc;

use hydrant_index::geo::GeoPoint;
use serde_json::{Map, Value, json};
use tantivy::aggregation::agg_req::{Aggregation, AggregationVariants, Aggregations};
use tantivy::aggregation::agg_result::{
    AggregationResult, AggregationResults, BucketResult, MetricResult,
};
use tantivy::aggregation::bucket::{CustomOrder, Order, OrderTarget, TermsAggregation};
use tantivy::aggregation::metric::{Stats, StatsAggregation};
use tantivy::aggregation::{Key, ValueSource, ValueSourceProvider};
use tantivy::columnar::{Cardinality, ColumnType, MonotonicallyMappableToU64, RowId};
use tantivy::{DocId, SegmentReader};

use super::AggNode;
use super::args::Args;
use super::date_histogram::MAX_BUCKETS;
use super::plan::{Planner, node};
use super::render::Renderer;
use crate::ast::GeoShape;
use crate::compile::{GeoColumns, GeoField, geo_field};
use crate::error::QueryError;

/// Which grid a cell belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grid {
    /// `geohash_grid`: precision 1–12 characters.
    Hash,
    /// `geotile_grid`: zoom 0–29.
    Tile,
}

/// What a computed geo column yields per point.
#[derive(Debug, Clone, PartialEq)]
enum Yield {
    Lat,
    /// Longitudes: all, or only those ≥ 0 (`Some(true)`) or < 0.
    Lon(Option<bool>),
    Cell {
        grid: Grid,
        precision: u32,
        bounds: Option<GeoShape>,
    },
    /// Distances from a point, in units of `unit_m` metres (`plane`: ES's flat-earth formula).
    Distance {
        origin: GeoPoint,
        unit_m: f64,
        plane: bool,
    },
}

/// The computed column of each point's distance from `origin` (in units of `unit_m` metres),
/// for `geo_distance` ranges.
pub(crate) fn distance_column(
    p: &mut Planner<'_>,
    field: &str,
    origin: GeoPoint,
    unit_m: f64,
    plane: bool,
) -> Result<String, QueryError> {
    register(
        p,
        field,
        "geo_distance",
        Yield::Distance {
            origin,
            unit_m,
            plane,
        },
    )
}

/// The computed column of `field`'s points yielding `what`, registered for this shard; `None`
/// when the shard has no such field.
fn register(
    p: &mut Planner<'_>,
    field: &str,
    agg: &str,
    what: Yield,
) -> Result<String, QueryError> {
    let (lat, lon) = match geo_field(p.mapper, p.fields, field) {
        GeoField::Columns { lat, lon } => (lat, lon),
        GeoField::Unmapped => (String::new(), String::new()),
        GeoField::NotGeo(ty) => {
            return Err(QueryError::IllegalArgument(format!(
                "Field [{field}] of type [{ty}] is not supported for aggregation [{agg}]"
            )));
        }
    };
    let name = format!("#geo:{what:?}:{lat}:{lon}");
    p.registry
        .register(&name, Arc::new(GeoProvider { lat, lon, what }));
    Ok(name)
}

struct GeoProvider {
    lat: String,
    lon: String,
    what: Yield,
}

impl ValueSourceProvider for GeoProvider {
    fn for_segment(
        &self,
        reader: &SegmentReader,
        _allowed_column_types: Option<&[ColumnType]>,
    ) -> tantivy::Result<Option<Box<dyn ValueSource>>> {
        if self.lat.is_empty() {
            return Ok(None);
        }
        let columns = GeoColumns::open(reader, &self.lat, &self.lon)?;
        if columns.is_empty() {
            return Ok(None);
        }
        Ok(Some(Box::new(GeoSource {
            columns,
            what: self.what.clone(),
            cells: Vec::new(),
        })))
    }
}

struct GeoSource {
    columns: GeoColumns,
    what: Yield,
    cells: Vec<u64>,
}

impl std::fmt::Debug for GeoSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeoSource")
            .field("what", &self.what)
            .finish()
    }
}

/// A cell as a number ordered as ES orders its keys: a geohash's characters, 5 bits each
/// (the alphabet is in ASCII order); a tile's x, then y.
fn cell(grid: Grid, precision: u32, p: GeoPoint) -> u64 {
    match grid {
        Grid::Hash => p
            .geohash(precision as usize)
            .bytes()
            .fold(0, |acc, c| (acc << 5) | base32_value(c)),
        Grid::Tile => {
            let (x, y) = p.tile(precision);
            (u64::from(x) << 32) | u64::from(y)
        }
    }
}

const BASE32: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";

fn base32_value(c: u8) -> u64 {
    BASE32.iter().position(|b| *b == c).unwrap_or(0) as u64
}

/// The key ES shows for a cell.
fn cell_key(grid: Grid, precision: u32, cell: u64) -> String {
    match grid {
        Grid::Hash => (0..precision)
            .rev()
            .map(|i| char::from(BASE32[((cell >> (5 * i)) & 31) as usize]))
            .collect(),
        Grid::Tile => format!("{precision}/{}/{}", cell >> 32, cell & 0xffff_ffff),
    }
}

impl ValueSource for GeoSource {
    fn column_type(&self) -> ColumnType {
        match self.what {
            Yield::Cell { .. } => ColumnType::U64,
            _ => ColumnType::F64,
        }
    }

    fn load_block(
        &mut self,
        docs: &[DocId],
        values: &mut Vec<u64>,
        docids: &mut Vec<DocId>,
        _row_ids: &mut Vec<RowId>,
    ) -> Cardinality {
        values.clear();
        docids.clear();
        for &doc in docs {
            match &self.what {
                Yield::Lat => {
                    self.columns.any(doc, |p| {
                        values.push(p.lat.to_u64());
                        docids.push(doc);
                        false
                    });
                }
                Yield::Lon(side) => {
                    self.columns.any(doc, |p| {
                        if side.is_none_or(|east| (p.lon >= 0.0) == east) {
                            values.push(p.lon.to_u64());
                            docids.push(doc);
                        }
                        false
                    });
                }
                Yield::Distance {
                    origin,
                    unit_m,
                    plane,
                } => {
                    self.columns.any(doc, |p| {
                        let m = origin.distance_by(p, *plane);
                        values.push((m / unit_m).to_u64());
                        docids.push(doc);
                        false
                    });
                }
                Yield::Cell {
                    grid,
                    precision,
                    bounds,
                } => {
                    // A document counts once per cell, however many of its points fall in it.
                    self.cells.clear();
                    self.columns.any(doc, |p| {
                        if bounds.as_ref().is_none_or(|b| b.contains(p)) {
                            self.cells.push(cell(*grid, *precision, p));
                        }
                        false
                    });
                    self.cells.sort_unstable();
                    self.cells.dedup();
                    values.extend_from_slice(&self.cells);
                    docids.extend(std::iter::repeat_n(doc, self.cells.len()));
                }
            }
        }
        Cardinality::Multivalued
    }

    fn to_f64(self: Box<Self>) -> Box<dyn ValueSource> {
        self
    }
}

fn stats(column: String) -> Aggregation {
    node(
        AggregationVariants::Stats(StatsAggregation {
            field: column,
            missing: None,
        }),
        Aggregations::default(),
    )
}

fn take_stats(
    results: &mut AggregationResults,
    name: &str,
    n: &AggNode,
    r: &Renderer<'_>,
) -> Result<Stats, QueryError> {
    match results.0.remove(name) {
        Some(AggregationResult::MetricResult(MetricResult::Stats(s))) => Ok(s),
        _ => Err(r.mismatch(n)),
    }
}

fn point_json(lat: f64, lon: f64) -> Value {
    json!({"lat": lat, "lon": lon})
}

/// `geo_centroid`: the mean latitude and longitude of the points, and their number.
#[derive(Debug, Clone)]
pub struct GeoCentroid {
    /// The field.
    pub field: String,
}

impl GeoCentroid {
    /// Parses the options.
    pub fn parse(v: &Value) -> Result<GeoCentroid, QueryError> {
        let a = Args::new("geo_centroid", v)?;
        a.allow(&["field"])?;
        Ok(GeoCentroid { field: a.field()? })
    }

    fn names(name: &str) -> [String; 2] {
        [format!("{name}#lat"), format!("{name}#lon")]
    }

    pub(crate) fn plan(
        &self,
        p: &mut Planner<'_>,
        name: &str,
    ) -> Result<Vec<(String, Aggregation)>, QueryError> {
        let [lat, lon] = Self::names(name);
        let lat_col = register(p, &self.field, "geo_centroid", Yield::Lat)?;
        let lon_col = register(p, &self.field, "geo_centroid", Yield::Lon(None))?;
        Ok(vec![(lat, stats(lat_col)), (lon, stats(lon_col))])
    }

    pub(crate) fn render(
        &self,
        n: &AggNode,
        results: &mut AggregationResults,
        r: &Renderer<'_>,
    ) -> Result<Value, QueryError> {
        let [lat, lon] = Self::names(&n.name);
        let lat = take_stats(results, &lat, n, r)?;
        let lon = take_stats(results, &lon, n, r)?;
        if lat.count == 0 {
            return Ok(json!({"count": 0}));
        }
        let count = lat.count as f64;
        Ok(json!({
            "location": point_json(lat.sum / count, lon.sum / count),
            "count": lat.count,
        }))
    }
}

/// `geo_bounds`: the smallest box holding every point, crossing the antimeridian when that is
/// narrower (`wrap_longitude`, on by default).
#[derive(Debug, Clone)]
pub struct GeoBounds {
    /// The field.
    pub field: String,
    wrap_longitude: bool,
}

impl GeoBounds {
    /// Parses the options.
    pub fn parse(v: &Value) -> Result<GeoBounds, QueryError> {
        let a = Args::new("geo_bounds", v)?;
        a.allow(&["field", "wrap_longitude"])?;
        Ok(GeoBounds {
            field: a.field()?,
            wrap_longitude: a.bool("wrap_longitude")?.unwrap_or(true),
        })
    }

    pub(crate) fn plan(
        &self,
        p: &mut Planner<'_>,
        name: &str,
    ) -> Result<Vec<(String, Aggregation)>, QueryError> {
        let lat = register(p, &self.field, "geo_bounds", Yield::Lat)?;
        let east = register(p, &self.field, "geo_bounds", Yield::Lon(Some(true)))?;
        let west = register(p, &self.field, "geo_bounds", Yield::Lon(Some(false)))?;
        Ok(vec![
            (format!("{name}#lat"), stats(lat)),
            (format!("{name}#lon"), stats(east)),
            (format!("{name}#west"), stats(west)),
        ])
    }

    pub(crate) fn render(
        &self,
        n: &AggNode,
        results: &mut AggregationResults,
        r: &Renderer<'_>,
    ) -> Result<Value, QueryError> {
        let lat = take_stats(results, &format!("{}#lat", n.name), n, r)?;
        let east = take_stats(results, &format!("{}#lon", n.name), n, r)?;
        let west = take_stats(results, &format!("{}#west", n.name), n, r)?;
        let (Some(top), Some(bottom)) = (lat.max, lat.min) else {
            return Ok(json!({}));
        };
        let (left, right) = match (east.min.zip(east.max), west.min.zip(west.max)) {
            (None, Some((wl, wr))) => (wl, wr),
            (Some((el, er)), None) => (el, er),
            (Some((el, er)), Some((wl, wr))) => {
                let unwrapped = er - wl;
                let wrapped = (180.0 - el) - (-180.0 - wr);
                if !self.wrap_longitude || unwrapped <= wrapped {
                    (wl, er)
                } else {
                    (el, wr)
                }
            }
            (None, None) => return Ok(json!({})),
        };
        Ok(json!({"bounds": {
            "top_left": point_json(top, left),
            "bottom_right": point_json(bottom, right),
        }}))
    }
}

/// `geohash_grid` and `geotile_grid`: one bucket per cell holding points, the fullest first.
#[derive(Debug, Clone)]
pub struct GeoGrid {
    /// The field.
    pub field: String,
    /// Which grid.
    pub grid: Grid,
    precision: u32,
    size: u32,
    shard_size: Option<u32>,
    bounds: Option<GeoShape>,
}

impl GeoGrid {
    /// Parses the options of a `geohash_grid` or `geotile_grid`.
    pub fn parse(grid: Grid, v: &Value) -> Result<GeoGrid, QueryError> {
        let agg = match grid {
            Grid::Hash => "geohash_grid",
            Grid::Tile => "geotile_grid",
        };
        let a = Args::new(agg, v)?;
        a.allow(&["field", "precision", "size", "shard_size", "bounds"])?;
        let precision = match (grid, a.get("precision")) {
            (Grid::Hash, None) => 5,
            (Grid::Tile, None) => 7,
            (Grid::Hash, Some(Value::String(s))) if s.parse::<u64>().is_err() => {
                // A distance: the smallest cells at least that wide.
                let m = hydrant_index::geo::parse_distance(s, 1.0).map_err(QueryError::Parsing)?;
                geohash_level_for(m)
            }
            (_, Some(v)) => super::args::number(v)
                .filter(|x| x.fract() == 0.0)
                .ok_or_else(|| {
                    QueryError::Parsing(format!("[{agg}] failed to parse field [precision]"))
                })? as u32,
        };
        let max = match grid {
            Grid::Hash => 12,
            Grid::Tile => 29,
        };
        if !(grid == Grid::Tile || precision >= 1) || precision > max {
            let min = if grid == Grid::Hash { 1 } else { 0 };
            return Err(QueryError::XContentParse(format!(
                "[{agg}] failed to parse field [precision]: Invalid {} aggregation precision of \
                 {precision}. Must be between {min} and {max}.",
                if grid == Grid::Hash {
                    "geohash"
                } else {
                    "geotile"
                }
            )));
        }
        let size = a.u64("size")?.unwrap_or(10_000);
        if size == 0 {
            return Err(QueryError::IllegalArgument(format!(
                "[size] must be greater than 0. Found [0] in [{agg}]"
            )));
        }
        let bounds = match a.get("bounds") {
            None => None,
            Some(b) => {
                let q = crate::dsl::parse_query(&json!({"geo_bounding_box": {"_bounds": b}}))?;
                match q {
                    crate::ast::QueryAst::ConstantScore { filter, .. } => match *filter {
                        crate::ast::QueryAst::Geo { shape, .. } => Some(shape),
                        _ => None,
                    },
                    _ => None,
                }
            }
        };
        let clamp = |n: u64| n.min(MAX_BUCKETS + 1) as u32;
        Ok(GeoGrid {
            field: a.field()?,
            grid,
            precision,
            size: clamp(size),
            shard_size: a.u64("shard_size")?.map(clamp),
            bounds,
        })
    }

    pub(crate) fn plan(
        &self,
        p: &mut Planner<'_>,
        subs: Aggregations,
    ) -> Result<Aggregation, QueryError> {
        let what = Yield::Cell {
            grid: self.grid,
            precision: self.precision,
            bounds: self.bounds.clone(),
        };
        let agg = match self.grid {
            Grid::Hash => "geohash_grid",
            Grid::Tile => "geotile_grid",
        };
        let field = register(p, &self.field, agg, what)?;
        // A few more buckets than asked, so that ties at the cut are broken as ES breaks them.
        let fetched = self.size.saturating_add(self.size / 2 + 10);
        let req = TermsAggregation {
            field,
            size: Some(fetched.min(MAX_BUCKETS as u32)),
            segment_size: self.shard_size,
            show_term_doc_count_error: Some(false),
            min_doc_count: Some(1),
            order: Some(CustomOrder {
                target: OrderTarget::Count,
                order: Order::Desc,
            }),
            missing: None,
            include: None,
            exclude: None,
        };
        Ok(node(AggregationVariants::Terms(req), subs))
    }

    pub(crate) fn render(
        &self,
        n: &AggNode,
        result: AggregationResult,
        r: &Renderer<'_>,
    ) -> Result<Value, QueryError> {
        let AggregationResult::BucketResult(BucketResult::Terms { buckets, .. }) = result else {
            return Err(r.mismatch(n));
        };
        let mut cells: Vec<(u64, u64, AggregationResults)> = buckets
            .into_iter()
            .map(|b| {
                let cell = match b.key {
                    Key::U64(u) => u,
                    Key::I64(i) => i as u64,
                    Key::F64(x) => x as u64,
                    Key::Str(_) => 0,
                };
                (cell, b.doc_count, b.sub_aggregation)
            })
            .collect();
        // The fullest first; ties by key, descending (ES's `InternalGeoGrid` order).
        cells.sort_by(|a, b| b.1.cmp(&a.1).then(b.0.cmp(&a.0)));
        cells.truncate(self.size as usize);
        let mut out = Vec::with_capacity(cells.len());
        for (cell, doc_count, subs) in cells {
            let mut bucket = Map::new();
            bucket.insert(
                "key".into(),
                json!(cell_key(self.grid, self.precision, cell)),
            );
            bucket.insert("doc_count".into(), json!(doc_count));
            r.subs(&n.subs, subs, &mut bucket)?;
            out.push(Value::Object(bucket));
        }
        Ok(json!({ "buckets": out }))
    }
}

/// The geohash length whose cells are about `m` metres wide, as Elasticsearch's
/// `GeoUtils.geoHashLevelsForPrecision` computes it.
fn geohash_level_for(m: f64) -> u32 {
    const EARTH_EQUATOR: f64 = 2.0 * std::f64::consts::PI * 6_378_137.0;
    const EARTH_POLAR_DISTANCE: f64 = std::f64::consts::PI * 6_356_752.314245;
    if m <= 0.0 {
        return 12;
    }
    let ratio = 1.0 + EARTH_POLAR_DISTANCE / EARTH_EQUATOR;
    let width = m / ratio;
    let part = (EARTH_EQUATOR / width).ceil().max(1.0);
    // Bits to tell `part` cells apart; each geohash character holds 5, alternately 3 and 2
    // of them for longitude and latitude.
    let bits = part.log2().ceil() as u32;
    let (full, left) = (bits / 5, bits % 5);
    let even = full + u32::from(left > 0);
    let odd = full + u32::from(left > 3);
    (even + odd).clamp(1, 12)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_number_in_key_order_and_back() {
        let p = GeoPoint::new(52.3760, 4.894).unwrap();
        for precision in [1, 5, 12] {
            let c = cell(Grid::Hash, precision, p);
            assert_eq!(
                cell_key(Grid::Hash, precision, c),
                p.geohash(precision as usize)
            );
        }
        let q = GeoPoint::new(52.3760, 4.9).unwrap();
        assert!((cell(Grid::Hash, 8, p) < cell(Grid::Hash, 8, q)) == (p.geohash(8) < q.geohash(8)));
        let t = cell(Grid::Tile, 7, p);
        let (x, y) = p.tile(7);
        assert_eq!(cell_key(Grid::Tile, 7, t), format!("7/{x}/{y}"));
        assert_eq!(geohash_level_for(50_000.0), 5);
        assert_eq!(geohash_level_for(1.0), 11);
    }
}
