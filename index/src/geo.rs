//! Points on the earth, as Elasticsearch's `geo_point` reads, stores and measures them.
//!
//! A point is written in any of ES's forms — `{"lat": 41.1, "lon": -71.3}`, `"41.1,-71.3"`,
//! `[-71.3, 41.1]` (GeoJSON order), a geohash `"drm3btev3e86"`, WKT `"POINT (-71.3 41.1)"`, a
//! GeoJSON `{"type": "Point", "coordinates": [-71.3, 41.1]}` — and stored as two `f64` columns
//! rounded as Lucene's `LatLonPoint` rounds them (32 bits each, about a centimetre), so
//! centroids, bounds and grid cells agree with OpenSearch's to the last digit. Distances are
//! Lucene's haversine on its mean earth radius. Geohashes use the `geohash` crate; the map tiles
//! of `geotile_grid` (Web Mercator, a few lines) are written here.

use serde_json::Value;

/// A point: latitude and longitude in degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GeoPoint {
    /// Degrees north, −90 to 90.
    pub lat: f64,
    /// Degrees east, −180 to 180.
    pub lon: f64,
}

/// Lucene's mean earth radius in metres (`GeoUtils.EARTH_MEAN_RADIUS`).
pub const EARTH_MEAN_RADIUS_M: f64 = 6_371_008.771_4;

const LAT_DECODE: f64 = 180.0 / 4_294_967_296.0;
const LON_DECODE: f64 = 360.0 / 4_294_967_296.0;

impl GeoPoint {
    /// The point, checked to lie on the earth.
    pub fn new(lat: f64, lon: f64) -> Result<GeoPoint, String> {
        if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
            return Err(format!(
                "illegal latitude value [{lat}]: must be between -90.0 and 90.0"
            ));
        }
        if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
            return Err(format!(
                "illegal longitude value [{lon}]: must be between -180.0 and 180.0"
            ));
        }
        Ok(GeoPoint { lat, lon })
    }

    /// The point as the index keeps it: each coordinate rounded down to Lucene's 32-bit grid
    /// (`GeoEncodingUtils.encodeLatitude` then `decodeLatitude`).
    pub fn quantized(self) -> GeoPoint {
        let lat = if self.lat == 90.0 {
            self.lat.next_down()
        } else {
            self.lat
        };
        let lon = if self.lon == 180.0 {
            self.lon.next_down()
        } else {
            self.lon
        };
        GeoPoint {
            lat: (lat / LAT_DECODE).floor() * LAT_DECODE,
            lon: (lon / LON_DECODE).floor() * LON_DECODE,
        }
    }

    /// Great-circle distance in metres (haversine, as Lucene's `SloppyMath.haversinMeters`).
    pub fn distance_m(self, other: GeoPoint) -> f64 {
        let (p1, p2) = (self.lat.to_radians(), other.lat.to_radians());
        let dlat = p2 - p1;
        let dlon = (other.lon - self.lon).to_radians();
        let h = (dlat / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dlon / 2.0).sin().powi(2);
        2.0 * EARTH_MEAN_RADIUS_M * h.sqrt().min(1.0).asin()
    }

    /// Elasticsearch's flat-earth distance in metres (`GeoUtils.planeDistance`): fast, and
    /// wrong far from the point.
    pub fn plane_distance_m(self, other: GeoPoint) -> f64 {
        let x =
            (other.lon - self.lon).to_radians() * ((self.lat + other.lat) / 2.0).to_radians().cos();
        let y = (other.lat - self.lat).to_radians();
        (x * x + y * y).sqrt() * EARTH_MEAN_RADIUS_M
    }

    /// The distance in metres by haversine, or (`plane`) by the flat-earth formula.
    pub fn distance_by(self, other: GeoPoint, plane: bool) -> f64 {
        if plane {
            self.plane_distance_m(other)
        } else {
            self.distance_m(other)
        }
    }

    /// The geohash of the cell of `precision` characters (1–12) holding the point.
    pub fn geohash(self, precision: usize) -> String {
        geohash::encode(
            geohash::Coord {
                x: self.lon,
                y: self.lat,
            },
            precision.clamp(1, 12),
        )
        .unwrap_or_default()
    }

    /// The Web Mercator map tile `(x, y)` of zoom `precision` (0–29) holding the point, as
    /// Elasticsearch's `GeoTileUtils` computes it (edges clipped into the map).
    pub fn tile(self, precision: u32) -> (u32, u32) {
        let tiles = (1u64 << precision.min(29)) as f64;
        let clip = |t: f64| t.floor().clamp(0.0, tiles - 1.0) as u32;
        let x = if self.lon == -180.0 {
            0
        } else {
            clip((self.lon + 180.0) / 360.0 * tiles)
        };
        let sin = self.lat.to_radians().sin();
        let y =
            clip((0.5 - ((1.0 + sin) / (1.0 - sin)).ln() / (4.0 * std::f64::consts::PI)) * tiles);
        (x, y)
    }
}

/// The south-west corner of a geohash's cell (where Elasticsearch places a point written as a
/// geohash).
pub fn geohash_corner(hash: &str) -> Result<GeoPoint, String> {
    let rect = geohash::decode_bbox(hash)
        .map_err(|_| format!("unsupported symbol in geohash [{hash}]"))?;
    GeoPoint::new(rect.min().y, rect.min().x)
}

/// The bounding box of a geohash's cell: (top-left, bottom-right).
pub fn geohash_cell(hash: &str) -> Option<(GeoPoint, GeoPoint)> {
    let rect = geohash::decode_bbox(hash).ok()?;
    Some((
        GeoPoint {
            lat: rect.max().y,
            lon: rect.min().x,
        },
        GeoPoint {
            lat: rect.min().y,
            lon: rect.max().x,
        },
    ))
}

/// One point in any of Elasticsearch's forms.
pub fn parse_point(v: &Value) -> Result<GeoPoint, String> {
    match v {
        Value::Object(o) => {
            if let Some(hash) = o.get("geohash") {
                let hash = hash
                    .as_str()
                    .ok_or_else(|| "[geohash] must be a string".to_string())?;
                return geohash_corner(hash);
            }
            if o.contains_key("coordinates") || o.contains_key("type") {
                let is_point = o
                    .get("type")
                    .and_then(Value::as_str)
                    .is_some_and(|t| t.eq_ignore_ascii_case("point"));
                if !is_point {
                    return Err("[type] for geo_point can only be 'Point'".into());
                }
                return match o.get("coordinates") {
                    Some(c @ Value::Array(_)) => parse_point(c),
                    _ => Err("[coordinates] must be an array of [lon, lat]".into()),
                };
            }
            let coord = |name: &str| -> Result<f64, String> {
                match o.get(name) {
                    Some(Value::Number(n)) => n
                        .as_f64()
                        .ok_or_else(|| format!("[{name}] must be a number")),
                    Some(Value::String(s)) => s
                        .trim()
                        .parse()
                        .map_err(|_| format!("[{name}] must be a number, got [{s}]")),
                    Some(_) => Err(format!("[{name}] must be a number")),
                    None => Err(format!("field [{name}] missing")),
                }
            };
            if let Some(k) = o
                .keys()
                .find(|k| !matches!(k.as_str(), "lat" | "lon" | "z"))
            {
                return Err(format!(
                    "field must be either [lat], [lon] or [geohash], got [{k}]"
                ));
            }
            GeoPoint::new(coord("lat")?, coord("lon")?)
        }
        Value::Array(a) => {
            let n = |i: usize| a.get(i).and_then(Value::as_f64);
            match (a.len(), n(0), n(1)) {
                (2 | 3, Some(lon), Some(lat)) => GeoPoint::new(lat, lon),
                _ => Err("[geo_point] as an array must be [lon, lat] (numbers)".into()),
            }
        }
        Value::String(s) => parse_point_str(s),
        _ => Err(format!("geo_point expected, got [{v}]")),
    }
}

/// `"lat,lon"`, a geohash or WKT `POINT (lon lat)`.
fn parse_point_str(s: &str) -> Result<GeoPoint, String> {
    let t = s.trim();
    if let Some((lat, lon)) = t.split_once(',') {
        let num = |x: &str| {
            x.trim()
                .parse::<f64>()
                .map_err(|_| format!("[{}] must be a number", x.trim()))
        };
        return GeoPoint::new(num(lat)?, num(lon)?);
    }
    let upper = t.to_ascii_uppercase();
    if let Some(rest) = upper.strip_prefix("POINT") {
        let inner = rest
            .trim()
            .strip_prefix('(')
            .and_then(|r| r.strip_suffix(')'))
            .ok_or_else(|| format!("invalid WKT point [{s}]"))?;
        let mut parts = inner.split_whitespace().map(str::parse::<f64>);
        return match (parts.next(), parts.next()) {
            (Some(Ok(lon)), Some(Ok(lat))) => GeoPoint::new(lat, lon),
            _ => Err(format!("invalid WKT point [{s}]")),
        };
    }
    geohash_corner(t)
}

/// Every point of a `geo_point` field's value: one point, or an array of points (an array of
/// two or three numbers is one point, `[lon, lat]`).
pub fn parse_points(v: &Value) -> Result<Vec<GeoPoint>, String> {
    match v {
        Value::Array(a) if a.first().is_some_and(|f| !f.is_number()) => {
            a.iter().filter(|e| !e.is_null()).map(parse_point).collect()
        }
        Value::Null => Ok(Vec::new()),
        _ => parse_point(v).map(|p| vec![p]),
    }
}

/// A distance (`"12km"`, `"200m"`, `"1.5mi"`, a bare number of `default_unit`s) in metres.
pub fn parse_distance(s: &str, default_unit_m: f64) -> Result<f64, String> {
    const UNITS: &[(&str, f64)] = &[
        ("nauticalmiles", 1852.0),
        ("kilometers", 1000.0),
        ("millimeters", 0.001),
        ("centimeters", 0.01),
        ("meters", 1.0),
        ("miles", 1609.344),
        ("yards", 0.9144),
        ("inches", 0.0254),
        ("feet", 0.3048),
        ("nmi", 1852.0),
        ("km", 1000.0),
        ("mm", 0.001),
        ("cm", 0.01),
        ("mi", 1609.344),
        ("yd", 0.9144),
        ("ft", 0.3048),
        ("in", 0.0254),
        ("NM", 1852.0),
        ("m", 1.0),
    ];
    let t = s.trim();
    let (number, factor) = UNITS
        .iter()
        .find_map(|(u, f)| t.strip_suffix(u).map(|n| (n, *f)))
        .unwrap_or((t, default_unit_m));
    number
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|x| x.is_finite())
        .map(|x| x * factor)
        .ok_or_else(|| format!("failed to parse distance [{s}]"))
}

/// The metres in one `unit` (ES's `DistanceUnit` names).
pub fn unit_m(unit: &str) -> Option<f64> {
    parse_distance(&format!("1{unit}"), f64::NAN)
        .ok()
        .filter(|m| m.is_finite())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn every_form_of_a_point_reads_the_same() {
        let want = GeoPoint::new(41.12, -71.34).unwrap();
        for v in [
            json!({"lat": 41.12, "lon": -71.34}),
            json!({"lat": "41.12", "lon": "-71.34"}),
            json!("41.12,-71.34"),
            json!(" 41.12 , -71.34 "),
            json!([-71.34, 41.12]),
            json!("POINT (-71.34 41.12)"),
            json!({"type": "Point", "coordinates": [-71.34, 41.12]}),
        ] {
            assert_eq!(parse_point(&v), Ok(want), "{v}");
        }
        // A geohash is the south-west corner of its cell.
        let p = parse_point(&json!("drm3btev3e86")).unwrap();
        assert!(
            (p.lat - 41.12).abs() < 1e-6 && (p.lon + 71.34).abs() < 1e-6,
            "{p:?}"
        );
        assert_eq!(
            parse_points(&json!([[-71.34, 41.12], "1,2"]))
                .unwrap()
                .len(),
            2
        );
        assert_eq!(parse_points(&json!([-71.34, 41.12])).unwrap(), vec![want]);
    }

    #[test]
    fn bad_points_say_why() {
        assert!(
            parse_point(&json!({"lat": 91, "lon": 0}))
                .unwrap_err()
                .contains("latitude")
        );
        assert!(
            parse_point(&json!("0,181"))
                .unwrap_err()
                .contains("longitude")
        );
        assert!(
            parse_point(&json!({"lat": 1}))
                .unwrap_err()
                .contains("[lon]")
        );
        assert!(parse_point(&json!("not a hash!")).is_err());
        assert!(parse_point(&json!(true)).is_err());
    }

    #[test]
    fn distances_and_units() {
        assert_eq!(parse_distance("12km", 1.0), Ok(12_000.0));
        assert_eq!(parse_distance("1.5mi", 1.0), Ok(2414.016));
        assert_eq!(parse_distance("200", 1.0), Ok(200.0));
        assert!(parse_distance("far", 1.0).is_err());
        // Paris – London, about 344 km.
        let paris = GeoPoint::new(48.8566, 2.3522).unwrap();
        let london = GeoPoint::new(51.5074, -0.1278).unwrap();
        assert!((paris.distance_m(london) / 1000.0 - 343.9).abs() < 0.5);
    }

    #[test]
    fn cells_and_tiles() {
        let p = GeoPoint::new(41.12, -71.34).unwrap();
        assert_eq!(p.geohash(5), "drm3b");
        assert_eq!(p.tile(0), (0, 0));
        // Zoom 1: four tiles; north-west quadrant.
        assert_eq!(p.tile(1), (0, 0));
        assert_eq!(GeoPoint::new(-10.0, 10.0).unwrap().tile(1), (1, 1));
        let q = p.quantized();
        assert!(q.lat <= p.lat && p.lat - q.lat < 1e-7);
    }
}
