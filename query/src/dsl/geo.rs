//! Geo queries on `geo_point` fields: `geo_bounding_box`, `geo_distance`, `geo_polygon`.
//! Each matches with a constant score (its `boost`), as in Elasticsearch.

use hydrant_index::geo::{GeoPoint, geohash_cell, parse_distance as distance_m, parse_point};
use serde_json::{Map, Value};

use super::parsing;
use crate::ast::{GeoShape, QueryAst};
use crate::error::QueryError;

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
    finish(o, field, GeoShape::Polygon(vertices))
}
