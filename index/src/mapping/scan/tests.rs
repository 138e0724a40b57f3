use hydrant_config::{MappingConfig, MappingMode};

use super::*;
use crate::DocMapper;

fn mapper(mode: MappingMode, fields: &[(&str, FieldType)]) -> DocMapper {
    DocMapper::with_mapping(&MappingConfig {
        mode,
        fields: fields
            .iter()
            .map(|(name, kind)| (name.to_string(), *kind))
            .collect(),
    })
}

fn dynamic() -> DocMapper {
    mapper(MappingMode::Dynamic, &[])
}

#[test]
fn event_time_from_either_field_and_any_value_kind() {
    let m = dynamic();
    let time = |s: &str| m.scan(s.as_bytes()).unwrap();
    assert_eq!(time(r#"{"x":{"@timestamp":5},"timestamp":7}"#), Some(7));
    assert_eq!(
        time(r#"{"@timestamp":"1970-01-01T00:00:01Z","timestamp":7}"#),
        Some(1000)
    );
    assert_eq!(time(r#"{"@timestamp":[1],"timestamp":{"a":1}}"#), None);
    assert_eq!(time(r#"{"@timestamp":1.5e300}"#), Some(i64::MAX));
    assert_eq!(
        time(r#"{"@timestamp":"2015-05-17T10:05:00\u002B02:00"}"#),
        Some(1_431_849_900_000)
    );
    assert_eq!(
        time(r#"{"timestamp":"1431857100000"}"#),
        Some(1_431_857_100_000)
    );
    assert_eq!(time("{}"), None);
}

#[test]
fn what_is_not_one_json_object_is_told_apart() {
    let m = dynamic();
    let err = |s: &[u8]| m.scan(s).unwrap_err();
    assert!(matches!(
        err(b"[1]"),
        MappingError::NotAnObject { found: "an array" }
    ));
    assert!(matches!(
        err(b"42"),
        MappingError::NotAnObject { found: "a number" }
    ));
    assert!(matches!(err(b"{bad"), MappingError::NotJson { .. }));
    assert!(matches!(err(b"{\"a\":1} {}"), MappingError::NotJson { .. }));
    assert!(matches!(err(b"\xff\xfe"), MappingError::NotUtf8 { at: 0 }));
    assert!(matches!(
        err(b"{\"a\":\"\xff\"}"),
        MappingError::NotUtf8 { at: 6 }
    ));
    assert!(matches!(
        err(b"{\"\xff\":1}"),
        MappingError::NotUtf8 { at: 2 }
    ));
    let deep = format!("{}1{}", "{\"a\":".repeat(100_000), "}".repeat(100_000));
    let e = m.scan(deep.as_bytes()).unwrap_err();
    assert!(e.to_string().contains("recursion limit"), "{e}");
    let arrays = format!("{{\"a\":{}1{}}}", "[".repeat(200), "]".repeat(200));
    assert!(m.scan(arrays.as_bytes()).is_err());
    assert!(
        m.scan(format!("{{\"a\":{}1{}}}", "[".repeat(100), "]".repeat(100)).as_bytes())
            .is_ok()
    );
}

#[test]
fn explicit_fields_are_coerced_and_strict_refuses_unlisted_fields() {
    let m = mapper(
        MappingMode::Strict,
        &[
            ("status", FieldType::Long),
            ("http.ip", FieldType::Ip),
            ("timestamp", FieldType::Date),
        ],
    );
    assert!(
        m.scan(br#"{"status":"404","http":{"ip":"::1"},"@timestamp":5}"#)
            .is_ok()
    );
    assert!(m.scan(br#"{"status":null,"http":{}}"#).is_ok());
    let err = m.scan(br#"{"status":"four"}"#).unwrap_err();
    assert_eq!(err.es_type(), "mapper_parsing_exception");
    assert!(err.to_string().contains("[status]"), "{err}");
    let err = m.scan(br#"{"http":{"ip":"::1","port":80}}"#).unwrap_err();
    assert!(
        matches!(&err, MappingError::Strict { path } if path == "http.port"),
        "{err}"
    );
    let err = m.scan(br#"{"status":{"code":1}}"#).unwrap_err();
    assert!(err.to_string().contains("found an object"), "{err}");
    assert_eq!(
        m.scan(br#"{"timestamp":"1970-01-01T00:00:02Z"}"#).unwrap(),
        Some(2000)
    );
    let err = m.scan(br#"{"timestamp":"yesterday"}"#).unwrap_err();
    assert_eq!(err.es_type(), "mapper_parsing_exception");
}

#[test]
fn the_scan_agrees_with_the_document_builder() {
    let m = mapper(
        MappingMode::Strict,
        &[
            ("a", FieldType::Long),
            ("b.c", FieldType::Keyword),
            ("d", FieldType::Boolean),
        ],
    );
    let cases: [&[u8]; 12] = [
        br#"{"a":1}"#,
        br#"{"a":"x"}"#,
        br#"{"a":[1,2,[3]]}"#,
        br#"{"a":[1,"x"]}"#,
        br#"{"b":{"c":"v"}}"#,
        br#"{"b":{"c":{"e":1}}}"#,
        br#"{"b":{"x":null}}"#,
        br#"{"b":{"x":1}}"#,
        br#"{"d":"true","@timestamp":"2026-01-01T00:00:00Z"}"#,
        br#"{"d":"maybe"}"#,
        br#"{"e":[]}"#,
        br#"{"e":[{"f":1}]}"#,
    ];
    for source in cases {
        let scanned = m.scan(source).map(|_| ()).map_err(|e| e.to_string());
        let built = m
            .to_document(&crate::SourceDoc {
                id: "x",
                timestamp_ms: 0,
                source,
            })
            .map(|_| ())
            .map_err(|e| e.to_string());
        assert_eq!(scanned, built, "{}", String::from_utf8_lossy(source));
    }
}

/// `source` as a map; past the parser's depth limit (a pipeline's output has none) the
/// nested `{"x": …}` built by hand.
fn in_memory(source: &str) -> serde_json::Map<String, serde_json::Value> {
    if let Ok(map) = serde_json::from_str(source) {
        return map;
    }
    let levels = source.matches('{').count();
    let mut v = serde_json::json!(1);
    for _ in 0..levels {
        v = serde_json::json!({ "x": v });
    }
    match v {
        serde_json::Value::Object(map) => map,
        _ => unreachable!(),
    }
}

/// What a pipeline made is checked in memory: the same answer as over its bytes.
#[test]
fn a_document_in_memory_scans_as_its_bytes_do() {
    let mappers = [
        dynamic(),
        mapper(
            MappingMode::Strict,
            &[
                ("a", FieldType::Long),
                ("b.c", FieldType::Keyword),
                ("p", FieldType::GeoPoint),
                ("timestamp", FieldType::Date),
            ],
        ),
    ];
    // `levels` objects, the record's own included.
    let nested = |levels: usize| format!("{}1{}", r#"{"x":"#.repeat(levels), "}".repeat(levels));
    let mut cases: Vec<String> = [
        r#"{"a":1,"@timestamp":"2026-01-01T00:00:00Z","timestamp":5}"#,
        r#"{"a":"12","timestamp":"2026-01-01T00:00:01Z"}"#,
        r#"{"a":"x"}"#,
        r#"{"a":{"b":1}}"#,
        r#"{"a":[1,2,[3]],"b":{"c":["v","w"]}}"#,
        r#"{"b":{"c":{"e":1}}}"#,
        r#"{"z":1}"#,
        r#"{"p":{"lat":1.5,"lon":2},"timestamp":1.5e3}"#,
        r#"{"p":"nowhere"}"#,
        r#"{"@timestamp":{"nested":[1,{"x":2}]},"timestamp":"x"}"#,
        r#"{"e\"scaped":1,"a":-3}"#,
    ]
    .into_iter()
    .map(String::from)
    .collect();
    cases.push(nested(MAX_DEPTH));
    cases.push(nested(MAX_DEPTH + 1));
    for m in &mappers {
        for case in &cases {
            let from_bytes = m.scan(case.as_bytes());
            let map = in_memory(case);
            let from_memory = m.scan_value(&map);
            match (&from_bytes, &from_memory) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "{case}"),
                (Err(MappingError::NotJson { .. }), Err(MappingError::BadValue { reason })) => {
                    // Only nesting: the parser's limit, and the walk's.
                    assert!(reason.contains("nested deeper than [127]"), "{reason}")
                }
                (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{case}"),
                _ => panic!("{case}: {from_bytes:?} from bytes, {from_memory:?} in memory"),
            }
        }
    }
}
