//! Geo queries on `geo_point` fields: `geo_bounding_box`, `geo_distance`, `geo_polygon`.
//! Each matches with a constant score (its `boost`), as in Elasticsearch.

use hydrant_index::geo::{GeoPoint, geohash_cell, parse_distance as distance_m, parse_point};
use serde_json::{Map, Value};

use super::parsing;
use crate::ast::{GeoRelation, GeoShape, QueryAst};
use crate::error::QueryError;

/// Most vertices a query's polygons may have: every point of every candidate document is
/// tested against each edge, so this bounds the work one request can ask for (Kibana's drawn
/// shapes have a few hundred).
pub const MAX_VERTICES: usize = 10_000;

/// Options every geo query takes besides its field.
const COMMON: &[&str] = &["boost", "_name", "ignore_unmapped", "validation_method"];

/// The one member of `body` that is not an option: the field and its value.
fn field_member<'a>(
    query: &str,
    body: &'a Value,
    options: &[&str],
) -> Result<(&'a Map<String, Value>, String, &'a Value), QueryError> {
    let o = body
        .as_object()
        .ok_or_else(|| parsing(format!("[{query}] query malformed, expected an object")))?;
    let mut fields = o
        .iter()
        .filter(|(k, _)| !COMMON.contains(&k.as_str()) && !options.contains(&k.as_str()));
    let Some((field, value)) = fields.next() else {
        return Err(parsing(format!(
            "failed to parse [{query}] query. field name expected"
        )));
    };
    if let Some((second, _)) = fields.next() {
        return Err(parsing(format!(
            "[{query}] query doesn't support multiple fields, found [{field}] and [{second}]"
        )));
    }
    Ok((o, field.clone(), value))
}

fn finish(o: &Map<String, Value>, field: String, shape: GeoShape) -> Result<QueryAst, QueryError> {
    finish_with(o, field, shape, GeoRelation::Intersects)
}

fn finish_with(
    o: &Map<String, Value>,
    field: String,
    shape: GeoShape,
    relation: GeoRelation,
) -> Result<QueryAst, QueryError> {
    if shape.vertices() > MAX_VERTICES {
        return Err(QueryError::IllegalArgument(format!(
            "the shape of [{field}] has {} vertices; at most {MAX_VERTICES} are allowed",
            shape.vertices()
        )));
    }
    let ignore_unmapped = match o.get("ignore_unmapped") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            return Err(parsing(format!(
                "[ignore_unmapped] must be a boolean, got [{other}]"
            )));
        }
    };
    let boost = o.get("boost").and_then(Value::as_f64).unwrap_or(1.0) as f32;
    Ok(QueryAst::ConstantScore {
        filter: Box::new(QueryAst::Geo {
            field,
            shape,
            relation,
            ignore_unmapped,
        }),
        boost,
    })
}

/// A point of the query; one off the earth fails on the shard, as in Elasticsearch.
fn point(query: &str, what: &str, v: &Value) -> Result<GeoPoint, QueryError> {
    parse_point(v).map_err(|why| {
        if why.starts_with("illegal") {
            QueryError::QueryShard(format!("{why} for [{query}] [{what}]"))
        } else {
            parsing(format!("[{query}] failed to parse [{what}]: {why}"))
        }
    })
}

/// `geo_bounding_box`: corners as `top_left`/`bottom_right`, `top_right`/`bottom_left`, the
/// four edges, or WKT `BBOX (left, right, top, bottom)`; a geohash corner is its cell's corner.
pub(super) fn parse_bounding_box(body: &Value) -> Result<QueryAst, QueryError> {
    const Q: &str = "geo_bounding_box";
    let (o, field, value) = field_member(Q, body, &["type"])?;
    let b = value
        .as_object()
        .ok_or_else(|| parsing(format!("[{Q}] field [{field}] must be an object")))?;
    let (mut top, mut left, mut bottom, mut right) = (None, None, None, None);
    for (k, v) in b {
        let corner = |name: &str, north: bool, west: bool| -> Result<(f64, f64), QueryError> {
            if let Some(hash) = v.as_str().filter(|s| !s.contains(',') && !s.contains('(')) {
                let (tl, br) = geohash_cell(hash)
                    .ok_or_else(|| parsing(format!("[{Q}] invalid geohash [{hash}]")))?;
                let lat = if north { tl.lat } else { br.lat };
                let lon = if west { tl.lon } else { br.lon };
                return Ok((lat, lon));
            }
            let p = point(Q, name, v)?;
            Ok((p.lat, p.lon))
        };
        let num = || {
            v.as_f64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
                .ok_or_else(|| parsing(format!("[{Q}] [{k}] must be a number")))
        };
        match k.as_str() {
            "top_left" => {
                let (lat, lon) = corner(k, true, true)?;
                (top, left) = (Some(lat), Some(lon));
            }
            "bottom_right" => {
                let (lat, lon) = corner(k, false, false)?;
                (bottom, right) = (Some(lat), Some(lon));
            }
            "top_right" => {
                let (lat, lon) = corner(k, true, false)?;
                (top, right) = (Some(lat), Some(lon));
            }
            "bottom_left" => {
                let (lat, lon) = corner(k, false, true)?;
                (bottom, left) = (Some(lat), Some(lon));
            }
            "top" => top = Some(num()?),
            "left" => left = Some(num()?),
            "bottom" => bottom = Some(num()?),
            "right" => right = Some(num()?),
            "wkt" => {
                let (t, l, bo, r) = wkt_bbox(v.as_str().unwrap_or_default())?;
                (top, left, bottom, right) = (Some(t), Some(l), Some(bo), Some(r));
            }
            other => {
                return Err(parsing(format!(
                    "failed to parse bounding box. unexpected field [{other}]"
                )));
            }
        }
    }
    let (Some(top), Some(left), Some(bottom), Some(right)) = (top, left, bottom, right) else {
        return Err(parsing(format!(
            "failed to parse bounding box. the box of [{field}] needs all four edges"
        )));
    };
    for (name, lat) in [("top", top), ("bottom", bottom)] {
        if !(-90.0..=90.0).contains(&lat) {
            return Err(QueryError::QueryShard(format!(
                "illegal latitude value [{lat}] for [{Q}] {name}"
            )));
        }
    }
    for (name, lon) in [("left", left), ("right", right)] {
        if !(-180.0..=180.0).contains(&lon) {
            return Err(QueryError::QueryShard(format!(
                "illegal longitude value [{lon}] for [{Q}] {name}"
            )));
        }
    }
    if top < bottom {
        return Err(QueryError::QueryShard(format!(
            "top is below bottom corner: {top} vs. {bottom}"
        )));
    }
    finish(
        o,
        field,
        GeoShape::Box {
            top,
            left,
            bottom,
            right,
        },
    )
}

/// WKT `BBOX (minLon, maxLon, maxLat, minLat)` → (top, left, bottom, right).
fn wkt_bbox(s: &str) -> Result<(f64, f64, f64, f64), QueryError> {
    let bad = || parsing(format!("failed to parse bounding box. invalid WKT [{s}]"));
    let upper = s.trim().to_ascii_uppercase();
    let inner = upper
        .strip_prefix("BBOX")
        .map(str::trim)
        .and_then(|r| r.strip_prefix('('))
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(bad)?;
    let n: Vec<f64> = inner
        .split(',')
        .map(|x| x.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| bad())?;
    match n[..] {
        [left, right, top, bottom] => Ok((top, left, bottom, right)),
        _ => Err(bad()),
    }
}

/// `geo_distance`: the points within `distance` (`"12km"`; a bare number is in `unit`, metres
/// by default) of a point.
pub(super) fn parse_distance(body: &Value) -> Result<QueryAst, QueryError> {
    const Q: &str = "geo_distance";
    let (o, field, value) = field_member(Q, body, &["distance", "distance_type", "unit"])?;
    let unit = match o.get("unit").and_then(Value::as_str) {
        Some(u) => hydrant_index::geo::unit_m(u)
            .ok_or_else(|| parsing(format!("No distance unit match [{u}]")))?,
        None => 1.0,
    };
    let radius_m = match o.get("distance") {
        Some(Value::Number(n)) => n.as_f64().unwrap_or(f64::NAN) * unit,
        Some(Value::String(s)) => distance_m(s, unit).map_err(QueryError::NumberFormat)?,
        Some(other) => return Err(parsing(format!("failed to parse distance [{other}]"))),
        None => return Err(parsing("geo_distance requires 'distance' to be specified")),
    };
    if !radius_m.is_finite() || radius_m <= 0.0 {
        return Err(QueryError::IllegalArgument(format!(
            "distance must be greater than zero, got [{radius_m}]"
        )));
    }
    if let Some(t) = o.get("distance_type").and_then(Value::as_str)
        && !matches!(t.to_ascii_lowercase().as_str(), "arc" | "plane")
    {
        return Err(QueryError::IllegalArgument(format!(
            "No geo distance for [{t}]"
        )));
    }
    let center = point(Q, &field, value)?;
    finish(o, field, GeoShape::Circle { center, radius_m })
}

/// `geo_polygon`: the points inside `points` (at least three).
pub(super) fn parse_polygon(body: &Value) -> Result<QueryAst, QueryError> {
    const Q: &str = "geo_polygon";
    let (o, field, value) = field_member(Q, body, &[])?;
    let points = value
        .get("points")
        .and_then(Value::as_array)
        .ok_or_else(|| parsing(format!("[{Q}] query requires [points] for field [{field}]")))?;
    let mut vertices = points
        .iter()
        .map(|p| point(Q, "points", p))
        .collect::<Result<Vec<_>, _>>()?;
    if vertices.len() > 1 && vertices.first() == vertices.last() {
        vertices.pop();
    }
    if vertices.len() < 3 {
        return Err(QueryError::QueryShard(
            "too few points defined for geo_polygon query".to_string(),
        ));
    }
    finish(o, field, GeoShape::Polygon(vec![vertices]))
}

/// `geo_shape` on a `geo_point` field: the documents whose points are inside (`intersects`,
/// `within`) or outside (`disjoint`) an `envelope`, `polygon` or `multipolygon`, written as
/// GeoJSON or WKT.
pub(super) fn parse_shape(body: &Value) -> Result<QueryAst, QueryError> {
    const Q: &str = "geo_shape";
    let (o, field, value) = field_member(Q, body, &[])?;
    let v = value
        .as_object()
        .ok_or_else(|| parsing(format!("[{Q}] field [{field}] must be an object")))?;
    if v.contains_key("indexed_shape") {
        return Err(QueryError::Unsupported {
            what: "[indexed_shape] in [geo_shape]".to_string(),
        });
    }
    let shape = match v.get("shape") {
        Some(Value::String(wkt)) => wkt_shape(wkt)?,
        Some(Value::Object(g)) => geojson_shape(g)?,
        _ => {
            return Err(parsing(format!(
                "[{Q}] query requires a [shape] for field [{field}]"
            )));
        }
    };
    let relation = match v
        .get("relation")
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("intersects") => GeoRelation::Intersects,
        Some("within") => GeoRelation::Within,
        Some("disjoint") => GeoRelation::Disjoint,
        Some("contains") => {
            return Err(QueryError::Unsupported {
                what: "relation [contains] of [geo_shape] on a geo_point field".to_string(),
            });
        }
        Some(other) => {
            return Err(QueryError::IllegalArgument(format!(
                "Unknown shape relation [{other}]"
            )));
        }
    };
    if let Some(k) = v
        .keys()
        .find(|k| !matches!(k.as_str(), "shape" | "relation"))
    {
        return Err(parsing(format!("[{Q}] query does not support [{k}]")));
    }
    finish_with(o, field, shape, relation)
}

fn lon_lat(v: &Value) -> Result<GeoPoint, QueryError> {
    let pair = v.as_array().filter(|a| a.len() >= 2);
    let n = |i: usize| pair.and_then(|a| a[i].as_f64());
    match (n(0), n(1)) {
        (Some(lon), Some(lat)) => GeoPoint::new(lat, lon)
            .map_err(|why| QueryError::IllegalArgument(format!("[geo_shape] {why}"))),
        _ => Err(parsing(format!(
            "[geo_shape] expected a [lon, lat] position, got [{v}]"
        ))),
    }
}

fn rings(v: &Value) -> Result<Vec<Vec<GeoPoint>>, QueryError> {
    let rings = v
        .as_array()
        .ok_or_else(|| parsing("[geo_shape] polygon coordinates must be an array of rings"))?;
    rings
        .iter()
        .map(|ring| {
            let mut points = ring
                .as_array()
                .ok_or_else(|| parsing("[geo_shape] a ring must be an array of positions"))?
                .iter()
                .map(lon_lat)
                .collect::<Result<Vec<_>, _>>()?;
            if points.len() > 1 && points.first() == points.last() {
                points.pop();
            }
            if points.len() < 3 {
                return Err(parsing("[geo_shape] a ring needs at least four positions"));
            }
            Ok(points)
        })
        .collect()
}

fn geojson_shape(g: &Map<String, Value>) -> Result<GeoShape, QueryError> {
    let ty = g.get("type").and_then(Value::as_str).unwrap_or_default();
    let coords = g.get("coordinates").unwrap_or(&Value::Null);
    match ty.to_ascii_lowercase().as_str() {
        "envelope" => {
            let corners = coords.as_array().filter(|c| c.len() == 2).ok_or_else(|| {
                parsing("[geo_shape] an envelope is [[minLon, maxLat], [maxLon, minLat]]")
            })?;
            let (tl, br) = (lon_lat(&corners[0])?, lon_lat(&corners[1])?);
            Ok(GeoShape::Box {
                top: tl.lat,
                left: tl.lon,
                bottom: br.lat,
                right: br.lon,
            })
        }
        "polygon" => Ok(GeoShape::Polygon(rings(coords)?)),
        "multipolygon" => Ok(GeoShape::Any(
            coords
                .as_array()
                .ok_or_else(|| parsing("[geo_shape] multipolygon coordinates must be an array"))?
                .iter()
                .map(|p| rings(p).map(GeoShape::Polygon))
                .collect::<Result<_, _>>()?,
        )),
        other => Err(QueryError::Unsupported {
            what: format!("shape type [{other}] in [geo_shape] on a geo_point field"),
        }),
    }
}

/// WKT `BBOX (minLon, maxLon, maxLat, minLat)`, `POLYGON ((lon lat, ...), ...)` or
/// `MULTIPOLYGON (((...)), ...)`.
fn wkt_shape(wkt: &str) -> Result<GeoShape, QueryError> {
    let t = wkt.trim();
    let upper = t.to_ascii_uppercase();
    if upper.starts_with("BBOX") {
        let (top, left, bottom, right) = wkt_bbox(t)?;
        return Ok(GeoShape::Box {
            top,
            left,
            bottom,
            right,
        });
    }
    if !upper.starts_with("POLYGON") && !upper.starts_with("MULTIPOLYGON") {
        return Err(QueryError::Unsupported {
            what: format!(
                "WKT shape [{}] in [geo_shape] on a geo_point field",
                t.split([' ', '(']).next().unwrap_or(t)
            ),
        });
    }
    let bad = || parsing(format!("[geo_shape] cannot read the WKT shape [{wkt}]"));
    // Positions "lon lat" inside nested parentheses become GeoJSON-style nested arrays.
    let body = upper
        .trim_start_matches("MULTIPOLYGON")
        .trim_start_matches("POLYGON")
        .trim();
    let json: String = body
        .chars()
        .map(|c| match c {
            '(' => '[',
            ')' => ']',
            other => other,
        })
        .collect();
    let mut out = String::with_capacity(json.len() * 2);
    for piece in json.split(',') {
        let piece = piece.trim();
        let open = piece.chars().take_while(|c| *c == '[').count();
        let close = piece.chars().rev().take_while(|c| *c == ']').count();
        let inner = &piece[open..piece.len() - close];
        let nums: Vec<&str> = inner.split_whitespace().collect();
        if nums.len() != 2 || nums.iter().any(|n| n.parse::<f64>().is_err()) {
            return Err(bad());
        }
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(&"[".repeat(open));
        out.push_str(&format!("[{},{}]", nums[0], nums[1]));
        out.push_str(&"]".repeat(close));
    }
    let coords: Value = serde_json::from_str(&out).map_err(|_| bad())?;
    if upper.starts_with("MULTIPOLYGON") {
        let mut g = Map::new();
        g.insert("type".into(), Value::from("multipolygon"));
        g.insert("coordinates".into(), coords);
        geojson_shape(&g)
    } else {
        Ok(GeoShape::Polygon(rings(&coords)?))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn shape(q: Value) -> (GeoShape, GeoRelation) {
        match super::super::parse_query(&q).unwrap() {
            QueryAst::ConstantScore { filter, .. } => match *filter {
                QueryAst::Geo {
                    shape, relation, ..
                } => (shape, relation),
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn wkt_and_geojson_polygons_read_the_same() {
        let ring = [
            [-1.5, 53.0],
            [1.0, 53.0],
            [1.0, 50.5],
            [-1.5, 50.5],
            [-1.5, 53.0],
        ];
        let (geojson, rel) = shape(json!({"geo_shape": {"loc": {"shape": {
            "type": "Polygon", "coordinates": [ring]}}}}));
        assert_eq!(rel, GeoRelation::Intersects);
        let (wkt, _) = shape(json!({"geo_shape": {"loc": {"shape":
            "POLYGON ((-1.5 53.0, 1.0 53.0, 1.0 50.5, -1.5 50.5, -1.5 53.0))", "relation": "within"}}}));
        assert_eq!(geojson, wkt);
        let inside = GeoPoint::new(52.0, 0.0).unwrap();
        let outside = GeoPoint::new(52.0, 2.0).unwrap();
        assert!(wkt.contains(inside) && !wkt.contains(outside));
        let (multi, _) = shape(json!({"geo_shape": {"loc": {"shape":
            "MULTIPOLYGON (((0 0, 1 0, 1 1, 0 0)), ((10 10, 11 10, 11 11, 10 10)))"}}}));
        assert!(
            matches!(multi, GeoShape::Any(ref v) if v.len() == 2),
            "{multi:?}"
        );
        let err = super::super::parse_query(
            &json!({"geo_shape": {"loc": {"shape": "LINESTRING (0 0, 1 1)"}}}),
        )
        .unwrap_err();
        assert!(err.to_string().contains("is not supported"), "{err}");
    }

    #[test]
    fn shapes_with_too_many_vertices_are_refused() {
        let ring: Vec<Value> = (0..=MAX_VERTICES)
            .map(|i| {
                let a = i as f64 / MAX_VERTICES as f64 * std::f64::consts::TAU;
                json!([a.cos(), a.sin()])
            })
            .collect();
        let err = super::super::parse_query(&json!({"geo_polygon": {"loc": {"points": ring}}}))
            .unwrap_err();
        assert_eq!(err.es_type(), "illegal_argument_exception", "{err}");
    }

    #[test]
    fn a_polygon_hole_is_outside() {
        let (s, _) = shape(
            json!({"geo_shape": {"loc": {"shape": {"type": "polygon", "coordinates": [
            [[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0], [0.0, 0.0]],
            [[4.0, 4.0], [6.0, 4.0], [6.0, 6.0], [4.0, 6.0], [4.0, 4.0]]]}}}}),
        );
        assert!(s.contains(GeoPoint::new(2.0, 2.0).unwrap()));
        assert!(!s.contains(GeoPoint::new(5.0, 5.0).unwrap()));
    }
}
