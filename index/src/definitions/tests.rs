use hydrant_config::{FieldType, MappingConfig, MappingMode};
use serde_json::json;

use super::*;
use crate::Catalog;

fn dynamic() -> MappingConfig {
    MappingConfig {
        mode: MappingMode::Dynamic,
        fields: Vec::new(),
    }
}

#[test]
fn the_highest_priority_composable_template_applies_then_the_index_own_definition() {
    let dir = tempfile::tempdir().unwrap();
    let d = Definitions::open(dir.path()).unwrap();
    d.put_template(
        TemplateKind::Composable,
        "logs",
        &json!({"index_patterns": ["logs-*"], "priority": 1, "template": {
            "settings": {"number_of_shards": 3},
            "mappings": {"properties": {"status": {"type": "keyword"}}}}}),
        false,
    )
    .unwrap();
    d.put_template(
        TemplateKind::Composable,
        "logs-web",
        &json!({"index_patterns": ["logs-web*"], "priority": 5, "template": {
            "mappings": {"properties": {"bytes": {"type": "long"}}}}}),
        false,
    )
    .unwrap();
    // Legacy templates apply only when no composable one matches.
    d.put_template(
        TemplateKind::Legacy,
        "old",
        &json!({"index_patterns": "*", "order": 0, "mappings": {"properties": {"legacy": {"type": "ip"}}}}),
        false,
    )
    .unwrap();
    let r = d.resolve("logs-web-2026-12-03", "logs-web");
    assert_eq!(r.translated.fields, vec![("bytes".into(), FieldType::Long)]);
    assert_eq!(r.view().shards, None);
    let r = d.resolve("logs-api-2026-12-03", "logs-api");
    assert_eq!(
        r.translated.fields,
        vec![("status".into(), FieldType::Keyword)]
    );
    assert_eq!(r.view().shards, Some(3));
    let r = d.resolve("other", "other");
    assert_eq!(r.translated.fields, vec![("legacy".into(), FieldType::Ip)]);

    d.define_index(
        "logs-api",
        &json!({"mappings": {"properties": {"took": {"type": "float"}}}}),
    )
    .unwrap();
    let r = d.resolve("logs-api-2026-12-03", "logs-api");
    assert_eq!(
        r.translated.fields,
        vec![
            ("status".into(), FieldType::Keyword),
            ("took".into(), FieldType::Double)
        ]
    );
}

#[test]
fn same_priority_overlapping_templates_are_refused_as_elasticsearch_does() {
    let dir = tempfile::tempdir().unwrap();
    let d = Definitions::open(dir.path()).unwrap();
    let t = |p: &str| json!({"index_patterns": [p]});
    d.put_template(TemplateKind::Composable, "a", &t("logs-*"), false)
        .unwrap();
    let e = d
        .put_template(TemplateKind::Composable, "b", &t("logs-web-*"), false)
        .unwrap_err();
    assert!(e.to_string().contains("same priority [0]"), "{e}");
    d.put_template(TemplateKind::Composable, "b", &t("metrics-*"), false)
        .unwrap();
    let e = d
        .put_template(TemplateKind::Composable, "b", &t("x"), true)
        .unwrap_err();
    assert_eq!(e.to_string(), "index template [b] already exists");
    let e = d
        .put_template(
            TemplateKind::Composable,
            "c",
            &json!({"template": {}}),
            false,
        )
        .unwrap_err();
    assert_eq!(e.to_string(), "Required [index_patterns]");
    assert_eq!(e.client_error(), Some((400, "illegal_argument_exception")));
}

#[test]
fn templates_and_definitions_survive_a_restart_and_deletes_name_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    {
        let d = Definitions::open(dir.path()).unwrap();
        d.put_template(
            TemplateKind::Legacy,
            "t1",
            &json!({"index_patterns": ["a*"], "settings": {"index": {"refresh_interval": "5s"}}}),
            false,
        )
        .unwrap();
        d.define_index("copy", &json!({"settings": {"number_of_shards": 1}}))
            .unwrap();
    }
    let d = Definitions::open(dir.path()).unwrap();
    let all = d.get_templates(TemplateKind::Legacy, None).unwrap();
    assert_eq!(all[0].1["settings"]["index.refresh_interval"], "5s");
    assert!(d.is_defined("copy"));
    assert!(matches!(
        d.define_index("copy", &json!({})),
        Err(IndexError::ResourceAlreadyExists(_))
    ));
    let e = d
        .get_templates(TemplateKind::Legacy, Some("nope"))
        .unwrap_err();
    assert_eq!(e.to_string(), "index_template matching [nope] not found");
    assert!(
        d.get_templates(TemplateKind::Legacy, Some("no*"))
            .unwrap()
            .is_empty()
    );
    d.delete_templates(TemplateKind::Legacy, "t*").unwrap();
    assert!(
        d.get_templates(TemplateKind::Legacy, None)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn put_mapping_adds_fields_and_refuses_a_changed_type() {
    let dir = tempfile::tempdir().unwrap();
    let d = Definitions::open(dir.path()).unwrap();
    d.define_index("copy", &json!({})).unwrap();
    let current = json!({"properties": {"status": {"type": "long"}}});
    d.put_mapping(
        "copy",
        &current,
        &json!({"properties": {"ip": {"type": "ip"}}}),
    )
    .unwrap();
    let e = d
        .put_mapping(
            "copy",
            &current,
            &json!({"properties": {"status": {"type": "keyword"}}}),
        )
        .unwrap_err();
    assert_eq!(e.client_error(), Some((400, "illegal_argument_exception")));
    assert_eq!(
        d.resolve("copy-x", "copy").translated.fields,
        vec![("ip".into(), FieldType::Ip)]
    );
}

#[test]
fn a_template_shapes_every_new_index_of_a_stream_including_rotated_ones() {
    let dir = tempfile::tempdir().unwrap();
    let c = Catalog::open(dir.path()).unwrap();
    c.get_or_create("web-2026-12-02", "web", None, 1, &dynamic())
        .unwrap();
    c.definitions()
        .put_template(
            TemplateKind::Composable,
            "web",
            &json!({"index_patterns": ["web*"], "template": {
                "settings": {"number_of_shards": 2},
                "mappings": {"properties": {"status": {"type": "keyword"}, "msg": {"type": "text", "fields": {"keyword": {"type": "keyword"}}}}}}}),
            false,
        )
        .unwrap();
    let next = c
        .get_or_create("web-2026-12-03", "web", None, 1, &dynamic())
        .unwrap();
    assert_eq!(next.shards().len(), 2);
    assert_eq!(
        next.meta().mapping.fields,
        vec![("status".into(), FieldType::Keyword)]
    );
    assert_eq!(
        next.meta().declared.as_ref().unwrap()["properties"]["msg"]["type"],
        "text"
    );
    // The index that existed before keeps its schema.
    let old = c.get("web-2026-12-02").unwrap();
    assert!(old.meta().mapping.fields.is_empty());
    drop(c);
    let c = Catalog::open(dir.path()).unwrap();
    assert_eq!(
        c.get("web-2026-12-03").unwrap().meta().declared,
        next.meta().declared
    );
}
