use hydrant_config::{FieldType, MappingConfig, MappingMode};

use super::*;

fn acceptor(mode: MappingMode, fields: &[(&str, FieldType)]) -> Acceptor {
    let mapper = DocMapper::with_mapping(&MappingConfig {
        mode,
        fields: fields.iter().map(|(n, t)| (n.to_string(), *t)).collect(),
    });
    Acceptor::new(Arc::new(mapper), 64, 1_000)
}

fn dynamic() -> Acceptor {
    acceptor(MappingMode::Dynamic, &[])
}

#[test]
fn a_json_record_keeps_its_bytes_id_and_event_time() {
    let a = dynamic();
    let r = a
        .json(
            Bytes::from_static(br#"{"@timestamp":5,"x":1}"#),
            Some("id-1"),
        )
        .unwrap();
    assert_eq!(
        (&*r.id, r.client_id, r.timestamp_ms, r.arrival_ms),
        ("id-1", true, 5, 1_000)
    );
    assert_eq!(&r.data[..], br#"{"@timestamp":5,"x":1}"#);
    let r = a.json(Bytes::from_static(b"{}"), None).unwrap();
    assert!(!r.client_id && r.is_object);
    assert_eq!(r.timestamp_ms, 1_000);
}

#[test]
fn each_refusal_has_one_shape_per_receiver() {
    let a = acceptor(MappingMode::Strict, &[("n", FieldType::Long)]);
    let refused = |data: &'static [u8]| a.json(Bytes::from_static(data), None).unwrap_err();
    let cases = [
        (
            refused(b"{bad"),
            LineErrorKind::InvalidJson,
            400,
            "mapper_parsing_exception",
        ),
        (
            refused(b"[1]"),
            LineErrorKind::NotAnObject,
            400,
            "mapper_parsing_exception",
        ),
        (
            refused(b"\"\xff\""),
            LineErrorKind::NotUtf8,
            400,
            "mapper_parsing_exception",
        ),
        (
            refused(br#"{"n":"x"}"#),
            LineErrorKind::MapperParsingException,
            400,
            "mapper_parsing_exception",
        ),
        (
            refused(br#"{"m":1}"#),
            LineErrorKind::StrictDynamicMappingException,
            400,
            "strict_dynamic_mapping_exception",
        ),
        (
            a.json(Bytes::from(vec![b' '; 65]), None).unwrap_err(),
            LineErrorKind::TooLarge,
            413,
            "document_too_large_exception",
        ),
    ];
    for (e, line, status, kind) in cases {
        assert_eq!(e.line_error(), (line, e.to_string()));
        let item = e.bulk_item();
        assert_eq!((item.status, item.kind), (status, kind), "{e}");
        assert_eq!(e.firehose().0, "InvalidArgumentException");
        assert_eq!(e.firehose().1, e.to_string());
    }
}

#[test]
fn bulk_framing_refusals_carry_elasticsearchs_types() {
    let types: Vec<(u16, &str)> = [
        RecordError::MissingIndex,
        RecordError::MissingSource,
        RecordError::EmptyId,
        RecordError::IdTooLong {
            head: "x".into(),
            len: 600,
        },
        RecordError::MalformedAction {
            line: 3,
            kind: "x_content_parse_exception",
            reason: "malformed".into(),
        },
        RecordError::MissingId,
    ]
    .iter()
    .map(|e| {
        let i = e.bulk_item();
        (i.status, i.kind)
    })
    .collect();
    assert_eq!(
        types,
        [
            (400, "action_request_validation_exception"),
            (400, "action_request_validation_exception"),
            (400, "action_request_validation_exception"),
            (400, "action_request_validation_exception"),
            (400, "x_content_parse_exception"),
            (400, "action_request_validation_exception"),
        ]
    );
}

#[test]
fn firehose_data_is_opaque_but_bounded() {
    let a = acceptor(MappingMode::Strict, &[("n", FieldType::Long)]);
    let r = a.opaque(Bytes::from_static(b"plain text"), 1024).unwrap();
    assert!(!r.is_object);
    let r = a
        .opaque(Bytes::from_static(br#"{"n":"x","@timestamp":7}"#), 1024)
        .unwrap();
    assert!(
        r.is_object,
        "an object the mapping refuses is refused at delivery"
    );
    assert_eq!(r.timestamp_ms, 7);
    let r = a
        .opaque(Bytes::from_static(br#"{"n":1,"@timestamp":9}"#), 1024)
        .unwrap();
    assert!(r.is_object);
    assert_eq!(r.timestamp_ms, 9);
    let e = a.opaque(Bytes::from(vec![0u8; 2000]), 1024).unwrap_err();
    assert!(matches!(
        e,
        RecordError::TooLarge {
            size: 2000,
            limit: 1024
        }
    ));
}

#[test]
fn text_lines_are_wrapped_and_checked_for_utf8() {
    let a = dynamic();
    let r = a.text(b"GET / \"q\"").unwrap();
    assert_eq!(&r.data[..], br#"{"message":"GET / \"q\""}"#);
    assert!(matches!(
        a.text(b"\xff").unwrap_err(),
        RecordError::Content(MappingError::NotUtf8 { at: 0 })
    ));
}
