//! Geo queries, aggregations and sorting on a `geo_point` field, against answers computed here
//! from the same points (two shards per day, two days, so results merge across indices).

use std::sync::OnceLock;

use hydrant_config::{FieldType, MappingConfig, MappingMode};
use hydrant_index::geo::GeoPoint;
use serde_json::{Value, json};

use crate::testing::{Corpus, corpus};

/// (lat, lon) of each document, in the form it was sent (`None`: no location).
fn points() -> &'static Vec<Option<(f64, f64)>> {
    static P: OnceLock<Vec<Option<(f64, f64)>>> = OnceLock::new();
    P.get_or_init(|| {
        let mut out = Vec::new();
        for i in 0..240u32 {
            if i % 17 == 0 {
                out.push(None);
                continue;
            }
            // A deterministic spread over the map, crossing the antimeridian.
            let lat = ((i * 37) % 160) as f64 - 80.0 + f64::from(i % 7) * 0.013;
            let lon = ((i * 91) % 360) as f64 - 180.0 + f64::from(i % 5) * 0.021;
            out.push(Some((lat, lon)));
        }
        out
    })
}

fn shared() -> &'static Corpus {
    static C: OnceLock<Corpus> = OnceLock::new();
    C.get_or_init(|| {
        let docs: Vec<Value> = points()
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let day = if i % 2 == 0 { "17" } else { "18" };
                let mut d = json!({"@timestamp": format!("2015-05-{day}T10:00:00Z"), "n": i});
                if let Some((lat, lon)) = p {
                    // Every form a point takes.
                    d["loc"] = match i % 4 {
                        0 => json!({"lat": lat, "lon": lon}),
                        1 => json!(format!("{lat},{lon}")),
                        2 => json!([lon, lat]),
                        _ => json!(format!("POINT ({lon} {lat})")),
                    };
                }
                d
            })
            .collect();
        let mapping = MappingConfig {
            mode: MappingMode::Dynamic,
            fields: vec![("loc".into(), FieldType::GeoPoint)],
        };
        corpus("places", &docs, 2, Some(mapping))
    })
}

fn located() -> impl Iterator<Item = (usize, GeoPoint)> {
    points()
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.map(|(lat, lon)| (i, GeoPoint::new(lat, lon).unwrap().quantized())))
}

/// The sorted `n` values of the hits of a query.
fn hits(query: Value) -> Vec<u64> {
    let r = shared().search(
        "places",
        json!({"query": query, "size": 1000, "sort": ["n"]}),
    );
    let mut out: Vec<u64> = r["hits"]["hits"]
        .as_array()
        .unwrap_or_else(|| panic!("{r}"))
        .iter()
        .map(|h| h["_source"]["n"].as_u64().unwrap())
        .collect();
    out.sort_unstable();
    out
}

#[test]
fn bounding_box_distance_and_polygon_match_the_points_inside() {
    let want = |f: &dyn Fn(GeoPoint) -> bool| -> Vec<u64> {
        located()
            .filter(|(_, p)| f(*p))
            .map(|(i, _)| i as u64)
            .collect()
    };
    let boxed = hits(json!({"geo_bounding_box": {"loc": {
        "top_left": {"lat": 40.0, "lon": -20.0}, "bottom_right": {"lat": -10.0, "lon": 60.0}}}}));
    let expected = want(&|p| (-10.0..=40.0).contains(&p.lat) && (-20.0..=60.0).contains(&p.lon));
    assert!(!expected.is_empty());
    assert_eq!(boxed, expected);
    // Across the antimeridian: left > right.
    let wrapped = hits(json!({"geo_bounding_box": {"loc": {
        "top": 80.0, "left": 150.0, "bottom": -80.0, "right": -150.0}}}));
    let expected = want(&|p| p.lon >= 150.0 || p.lon <= -150.0);
    assert!(!expected.is_empty());
    assert_eq!(wrapped, expected);
    let origin = GeoPoint::new(10.0, 20.0).unwrap();
    let near = hits(json!({"geo_distance": {"distance": "3000km", "loc": "10,20"}}));
    let expected = want(&|p| origin.distance_m(p) <= 3_000_000.0);
    assert!(!expected.is_empty());
    assert_eq!(near, expected);
    let triangle = hits(json!({"geo_polygon": {"loc": {"points": [
        {"lat": 0.0, "lon": 0.0}, {"lat": 60.0, "lon": 0.0}, {"lat": 0.0, "lon": 60.0}]}}}));
    let expected = want(&|p| p.lat >= 0.0 && p.lon >= 0.0 && p.lat + p.lon <= 60.0);
    assert!(!expected.is_empty());
    assert_eq!(triangle, expected);
    // Not a geo field, and no such field: errors, unless told to ignore the second.
    let r = shared().search(
        "places",
        json!({"query": {"geo_distance": {"distance": "1km", "n": "1,1"}}}),
    );
    assert_eq!(r["status"], json!(400), "{r}");
    let r = shared().search("places", json!({"query": {"geo_distance": {"distance": "1km", "x": "1,1", "ignore_unmapped": true}}}));
    assert_eq!(r["hits"]["total"]["value"], json!(0), "{r}");
}

#[test]
fn centroid_bounds_and_grids_summarise_the_points() {
    let r = shared().search(
        "places",
        json!({"size": 0, "aggs": {
            "c": {"geo_centroid": {"field": "loc"}},
            "b": {"geo_bounds": {"field": "loc", "wrap_longitude": false}},
            "h": {"geohash_grid": {"field": "loc", "precision": 1}},
            "t": {"geotile_grid": {"field": "loc", "precision": 2, "size": 3}}
        }}),
    );
    let a = &r["aggregations"];
    let pts: Vec<GeoPoint> = located().map(|(_, p)| p).collect();
    let n = pts.len() as f64;
    let lat = pts.iter().map(|p| p.lat).sum::<f64>() / n;
    let lon = pts.iter().map(|p| p.lon).sum::<f64>() / n;
    assert_eq!(a["c"]["count"], json!(pts.len()), "{a}");
    assert!(
        (a["c"]["location"]["lat"].as_f64().unwrap() - lat).abs() < 1e-9,
        "{a}"
    );
    assert!(
        (a["c"]["location"]["lon"].as_f64().unwrap() - lon).abs() < 1e-9,
        "{a}"
    );
    let max = |f: fn(&GeoPoint) -> f64| pts.iter().map(f).fold(f64::MIN, f64::max);
    let min = |f: fn(&GeoPoint) -> f64| pts.iter().map(f).fold(f64::MAX, f64::min);
    assert_eq!(
        a["b"]["bounds"]["top_left"],
        json!({"lat": max(|p| p.lat), "lon": min(|p| p.lon)})
    );
    assert_eq!(
        a["b"]["bounds"]["bottom_right"],
        json!({"lat": min(|p| p.lat), "lon": max(|p| p.lon)})
    );
    // Every point counted once, in the cell of its geohash's first character.
    let mut cells = std::collections::BTreeMap::<String, u64>::new();
    for p in &pts {
        *cells.entry(p.geohash(1)).or_default() += 1;
    }
    let got: std::collections::BTreeMap<String, u64> =
        super::key_counts(&a["h"]).into_iter().collect();
    assert_eq!(got, cells);
    let counts: Vec<u64> = a["h"]["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["doc_count"].as_u64().unwrap())
        .collect();
    assert!(
        counts.windows(2).all(|w| w[0] >= w[1]),
        "fullest first: {counts:?}"
    );
    let tiles = a["t"]["buckets"].as_array().unwrap();
    assert_eq!(tiles.len(), 3);
    let (x, y) = pts[0].tile(2);
    let first_key = format!("2/{x}/{y}");
    let in_first = pts.iter().filter(|p| p.tile(2) == (x, y)).count() as u64;
    if let Some(b) = tiles.iter().find(|b| b["key"] == json!(first_key)) {
        assert_eq!(b["doc_count"], json!(in_first));
    }
}

#[test]
fn geo_distance_sorts_nearest_first_and_ranges_count_by_distance() {
    let origin = GeoPoint::new(-30.0, 170.0).unwrap();
    let r = shared().search(
        "places",
        json!({
            "size": 5, "_source": false,
            "query": {"exists": {"field": "loc"}},
            "sort": [{"_geo_distance": {"loc": {"lat": -30.0, "lon": 170.0}, "unit": "km"}}],
            "aggs": {"d": {"geo_distance": {"field": "loc", "origin": "-30,170", "unit": "km",
                "ranges": [{"to": 2000}, {"from": 2000, "to": 8000}, {"from": 8000}]}}}
        }),
    );
    let mut want: Vec<f64> = located()
        .map(|(_, p)| origin.distance_m(p) / 1000.0)
        .collect();
    want.sort_by(f64::total_cmp);
    let got: Vec<f64> = r["hits"]["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["sort"][0].as_f64().unwrap())
        .collect();
    assert_eq!(got.len(), 5, "{r}");
    for (g, w) in got.iter().zip(&want) {
        assert!((g - w).abs() < 1e-9, "{got:?} vs {want:?}");
    }
    let buckets = r["aggregations"]["d"]["buckets"].as_array().unwrap();
    let count = |lo: f64, hi: f64| want.iter().filter(|d| **d >= lo && **d < hi).count() as u64;
    assert_eq!(buckets[0]["doc_count"], json!(count(0.0, 2000.0)));
    assert_eq!(buckets[0]["from"], json!(0.0));
    assert_eq!(buckets[1]["doc_count"], json!(count(2000.0, 8000.0)));
    assert_eq!(buckets[2]["doc_count"], json!(count(8000.0, f64::MAX)));
    let r = shared().search("places", json!({"sort": [{"loc": "asc"}]}));
    assert_eq!(
        r["error"]["type"],
        json!("illegal_argument_exception"),
        "{r}"
    );
}
