use hydrant_config::{FieldType, MappingConfig, MappingMode};
use tantivy::schema::Value;

use super::*;

fn mapper(mode: MappingMode, fields: &[(&str, FieldType)]) -> DocMapper {
    DocMapper::with_mapping(&MappingConfig {
        mode,
        fields: fields.iter().map(|(p, k)| (p.to_string(), *k)).collect(),
    })
}

fn doc(m: &DocMapper, json: &str) -> Result<LogDoc, MappingError> {
    m.to_document(&SourceDoc {
        id: "1",
        timestamp_ms: 0,
        source: json.as_bytes(),
    })
}

#[test]
fn non_object_record_is_a_mapping_error() {
    let err = doc(&DocMapper::new(), "[1,2]").unwrap_err();
    assert_eq!(err.es_type(), "mapper_parsing_exception");
}

#[test]
fn keyword_suffix_resolves_to_exact_form() {
    let m = DocMapper::new();
    assert_eq!(
        m.resolve("user.name.keyword"),
        FieldTarget::Keyword {
            path: "user.name".into()
        }
    );
    assert_eq!(
        m.resolve("user.name"),
        FieldTarget::Dynamic {
            path: "user.name".into()
        }
    );
    assert_eq!(m.resolve("@timestamp"), FieldTarget::Timestamp);
}

#[test]
fn explicit_fields_take_their_values_coerced_and_leave_the_dynamic_trees() {
    let m = mapper(
        MappingMode::Dynamic,
        &[
            ("http.status", FieldType::Long),
            ("client.ip", FieldType::Ip),
        ],
    );
    // Dotted keys and nested objects reach the same field.
    let d = doc(
        &m,
        r#"{"http":{"status":"404"},"client.ip":"10.1.2.3","msg":"x"}"#,
    )
    .unwrap();
    let FieldTarget::Explicit { field: status, .. } = m.resolve("http.status") else {
        panic!()
    };
    assert_eq!(d.get_first(status).and_then(|v| v.as_i64()), Some(404));
    let FieldTarget::Explicit { field: ip, .. } = m.resolve("client.ip") else {
        panic!()
    };
    assert!(d.get_first(ip).is_some());
    assert_eq!(
        m.column_name("http.status"),
        Some(("m0".to_string(), Some(FieldType::Long)))
    );
    assert_eq!(m.column_name("msg"), Some(("_val.msg".to_string(), None)));
}

#[test]
fn a_value_that_does_not_fit_its_type_rejects_the_record() {
    let m = mapper(MappingMode::Dynamic, &[("bytes", FieldType::Long)]);
    let err = doc(&m, r#"{"bytes":"lots"}"#).unwrap_err();
    assert_eq!(err.es_type(), "mapper_parsing_exception");
    assert_eq!(
        err.to_string(),
        "failed to parse field [bytes] of type [long]: cannot read 'lots' as long"
    );
    let err = doc(&m, r#"{"bytes":{"n":1}}"#).unwrap_err();
    assert!(err.to_string().contains("found an object"), "{err}");
    assert!(doc(&m, r#"{"bytes":null}"#).is_ok());
}

#[test]
fn strict_mode_refuses_unmapped_fields_anywhere() {
    let m = mapper(MappingMode::Strict, &[("level", FieldType::Keyword)]);
    assert!(
        doc(
            &m,
            r#"{"level":"info","@timestamp":"2026-01-01T00:00:00Z"}"#
        )
        .is_ok()
    );
    let err = doc(&m, r#"{"level":"info","user":{"id":7}}"#).unwrap_err();
    assert_eq!(err.es_type(), "strict_dynamic_mapping_exception");
    assert_eq!(
        err.to_string(),
        "mapping set to strict, dynamic introduction of [user.id] within [_doc] is not allowed"
    );
    assert_eq!(m.resolve("user.id"), FieldTarget::Missing);
    assert!(m.checks_records());
    assert!(!DocMapper::new().checks_records());
}

#[test]
fn keyword_of_an_explicit_text_field_is_missing_and_of_a_keyword_is_itself() {
    let m = mapper(
        MappingMode::Dynamic,
        &[("msg", FieldType::Text), ("host", FieldType::Keyword)],
    );
    assert_eq!(m.resolve("msg.keyword"), FieldTarget::Missing);
    assert!(matches!(
        m.resolve("host.keyword"),
        FieldTarget::Explicit {
            kind: FieldType::Keyword,
            ..
        }
    ));
    assert_eq!(m.column_name("msg"), None);
}

#[test]
fn arrays_and_nested_timestamps_are_kept() {
    let m = DocMapper::new();
    let d = doc(&m, r#"{"tags":["a",["b"]],"inner":{"@timestamp":"x"}}"#).unwrap();
    let text = d.get_first(m.fields().text).expect("text tree");
    let json = serde_json::to_string(&tantivy::schema::OwnedValue::from(text.as_value())).unwrap();
    assert!(json.contains("\"inner\":{\"@timestamp\":\"x\"}"), "{json}");
    assert!(json.contains("\"tags\":[\"a\",\"b\"]"), "{json}");
}

/// A dynamic tree of `d` as JSON text (`None` when the document has none).
fn tree(d: &LogDoc, field: tantivy::schema::Field) -> Option<serde_json::Value> {
    let v = d.get_first(field)?;
    let owned = tantivy::schema::OwnedValue::from(v.as_value());
    Some(serde_json::to_value(&owned).unwrap())
}

#[test]
fn dynamic_trees_split_text_and_exact_values_as_elasticsearch_does() {
    let m = DocMapper::new();
    let long = "x".repeat(IGNORE_ABOVE + 1);
    let source = format!(
        r#"{{"@timestamp":"2026-01-01T00:00:00Z","msg":"a \"quoted\" line","long":"{long}","n":-3,"big":18446744073709551615,"f":1.5,"ok":true,"none":null,"empty":{{}},"nulls":{{"a":null}},"nums":{{"a":1}},"tab\tkey":"v","arr":[{{"k":"s","c":2}},[3,"t"]],"@timestamp2":"u"}}"#
    );
    let d = doc(&m, &source).unwrap();
    let text = tree(&d, m.fields().text).unwrap();
    let exact = tree(&d, m.fields().value).unwrap();
    assert_eq!(
        text,
        serde_json::json!({"msg": "a \"quoted\" line", "long": long, "tab\tkey": "v",
            "arr": [{"k": "s"}, "t"], "@timestamp2": "u"})
    );
    assert_eq!(
        exact,
        serde_json::json!({"msg": "a \"quoted\" line", "n": -3, "big": 18446744073709551615u64,
            "f": 1.5, "ok": true, "nums": {"a": 1}, "tab\tkey": "v",
            "arr": [{"k": "s", "c": 2}, 3, "t"], "@timestamp2": "u"})
    );
    // `_source` is the record exactly as sent.
    let src = d.get_first(m.fields().source).and_then(|v| v.as_bytes());
    assert_eq!(src, Some(source.as_bytes()));
    assert_eq!(
        d.get_first(m.fields().id).and_then(|v| v.as_str()),
        Some("1")
    );
}

#[test]
fn records_without_dynamic_values_have_no_trees() {
    let m = DocMapper::new();
    let d = doc(&m, r#"{"@timestamp":1,"a":null,"b":{"c":{}}}"#).unwrap();
    assert!(d.get_first(m.fields().text).is_none());
    assert!(d.get_first(m.fields().value).is_none());
    let d = doc(&m, r#"{"n":1}"#).unwrap();
    assert!(d.get_first(m.fields().text).is_none());
    assert_eq!(
        tree(&d, m.fields().value),
        Some(serde_json::json!({"n": 1}))
    );
}

#[test]
fn invalid_utf8_and_trailing_data_are_mapping_errors() {
    let m = DocMapper::new();
    let err = m
        .to_document(&SourceDoc {
            id: "1",
            timestamp_ms: 0,
            source: b"{\"a\":\"\xff\"}",
        })
        .unwrap_err();
    assert_eq!(err.es_type(), "mapper_parsing_exception");
    assert!(doc(&m, r#"{"a":1} {"b":2}"#).is_err());
    assert!(doc(&m, r#"{"a":1"#).is_err());
}

#[test]
fn geo_points_in_every_form_become_two_rounded_columns() {
    let m = mapper(
        MappingMode::Dynamic,
        &[("geo.location", FieldType::GeoPoint)],
    );
    let FieldTarget::Explicit {
        field: lat, kind, ..
    } = m.resolve("geo.location")
    else {
        panic!("geo.location is explicit");
    };
    assert_eq!(kind, FieldType::GeoPoint);
    let lon = geo_lon_field(lat);
    assert_eq!(m.schema().get_field_name(lon), "m0_lon");
    for json in [
        r#"{"geo":{"location":{"lat":41.12,"lon":-71.34}}}"#,
        r#"{"geo.location":"41.12,-71.34"}"#,
        r#"{"geo":{"location":[-71.34,41.12]}}"#,
        r#"{"geo":{"location":"POINT (-71.34 41.12)"}}"#,
    ] {
        assert_eq!(m.scan(json.as_bytes()), Ok(None), "{json}");
        let d = doc(&m, json).unwrap();
        let lat = d.get_first(lat).and_then(|v| v.as_f64()).unwrap();
        let lon = d.get_first(lon).and_then(|v| v.as_f64()).unwrap();
        assert!((lat - 41.12).abs() < 1e-6 && lat <= 41.12, "{json}: {lat}");
        assert!((lon + 71.34).abs() < 1e-6 && lon <= -71.34, "{json}: {lon}");
        // The point is not also a dynamic value.
        assert!(d.get_first(m.fields().value).is_none(), "{json}");
    }
    for bad in [
        r#"{"geo":{"location":"somewhere"}}"#,
        r#"{"geo":{"location":{"lat":95,"lon":0}}}"#,
        r#"{"geo":{"location":true}}"#,
    ] {
        let err = doc(&m, bad).unwrap_err();
        assert_eq!(err.es_type(), "mapper_parsing_exception", "{bad}");
        assert!(
            err.to_string()
                .contains("[geo.location] of type [geo_point]"),
            "{err}"
        );
        assert_eq!(
            m.scan(bad.as_bytes()).unwrap_err().to_string(),
            err.to_string()
        );
    }
}
