use super::*;

fn frame(body: &str) -> Vec<BulkItem> {
    frame_bulk(body.as_bytes(), Some("web")).0
}

fn refusal(item: &BulkItem) -> ItemError {
    item.source.as_ref().unwrap_err().bulk_item()
}

#[test]
fn index_and_create_keep_index_id_and_source() {
    let body =
        "{\"index\":{\"_index\":\"logs\",\"_id\":\"a1\"}}\n{\"x\":1}\n{\"create\":{}}\n{\"y\":2}\n";
    let items = frame(body);
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].index.as_deref(), Some("logs"));
    assert_eq!(items[0].id.as_deref(), Some("a1"));
    let range = items[0].source.clone().unwrap();
    assert_eq!(&body.as_bytes()[range], b"{\"x\":1}");
    assert_eq!(items[1].index.as_deref(), Some("web"));
    assert_eq!(items[1].id, None);
}

#[test]
fn update_and_delete_items_keep_their_lines_and_need_an_id() {
    let items = frame(
        "{\"update\":{\"_id\":\"1\"}}\n{\"doc\":{}}\n{\"delete\":{\"_id\":\"2\"}}\n{\"delete\":{}}\n{\"index\":{}}\n{\"ok\":true}\n",
    );
    assert_eq!(items.len(), 4);
    assert!(items[0].source.is_ok());
    assert_eq!(items[1].action, "delete");
    assert_eq!(items[1].source.as_ref().ok(), Some(&(0..0)));
    assert_eq!(
        refusal(&items[2]).kind,
        "action_request_validation_exception"
    );
    assert!(items[3].source.is_ok());
}

#[test]
fn a_malformed_action_costs_only_itself() {
    let items = frame("{\"index\":\n{\"lost\":1}\n{\"index\":{}}\n{\"ok\":1}\n");
    assert_eq!(items.len(), 2);
    let e = refusal(&items[0]);
    assert_eq!(e.kind, "x_content_parse_exception");
    assert!(e.reason.ends_with("(line 1)"), "{}", e.reason);
    assert!(items[1].source.is_ok());
    // An unknown action keeps the next action line.
    let items = frame("{\"upsert\":{}}\n{\"index\":{}}\n{\"ok\":1}\n");
    assert_eq!(items.len(), 2);
    assert_eq!(refusal(&items[0]).kind, "illegal_argument_exception");
    assert!(items[1].source.is_ok());
}

#[test]
fn keys_after_the_action_are_ignored_with_a_warning() {
    // winston-elasticsearch's action lines.
    let body = "{\"index\":{\"_index\":\"w\",\"pipeline\":null},\"attempts\":0}\n{\"a\":1}\n\
                {\"index\":{\"_index\":\"w\"},\"attempts\":1}\n{\"a\":2}\n";
    let (items, warnings) = frame_bulk(body.as_bytes(), None);
    assert_eq!(items.len(), 2);
    assert!(items.iter().all(|i| i.source.is_ok()), "{items:?}");
    assert_eq!(items[0].index.as_deref(), Some("w"));
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].contains("[attempts]"), "{warnings:?}");
}

#[test]
fn refused_action_lines_keep_the_index_and_id_they_were_sent_with() {
    let body = "{\"foo\":{\"_index\":\"w\",\"_id\":\"7\"}}\n{\"a\":1}\n[]\n";
    let (items, _) = frame_bulk(body.as_bytes(), Some("d"));
    assert_eq!(items.len(), 2);
    assert_eq!(
        (items[0].index.as_deref(), items[0].id.as_deref()),
        (Some("w"), Some("7"))
    );
    assert!(items[0].source.is_err());
    assert_eq!(
        (items[1].index.as_deref(), items[1].id.as_deref()),
        (Some("d"), None)
    );
}

#[test]
fn missing_index_source_and_bad_ids() {
    let items = frame_bulk(b"{\"index\":{}}\n{\"a\":1}\n", None).0;
    assert_eq!(
        refusal(&items[0]).kind,
        "action_request_validation_exception"
    );
    let long = "x".repeat(600);
    let body = format!(
        "{{\"index\":{{\"_id\":\"\"}}}}\n{{}}\n{{\"index\":{{\"_id\":\"{long}\"}}}}\n{{}}\n{{\"index\":{{}}}}\n"
    );
    let items = frame(&body);
    assert!(refusal(&items[0]).reason.contains("must not be empty"));
    assert!(refusal(&items[1]).reason.contains("too long"));
    assert!(refusal(&items[2]).reason.contains("source is missing"));
}

#[test]
fn the_answer_is_the_json_elasticsearch_writes_for_each_item() {
    let answers = vec![
        Some(Answer::Created {
            index: "web-2026-12-04".into(),
            id: "a\"b\\c\u{1}é".into(),
            seq_no: 41,
        }),
        Some(Answer::Failed {
            index: "web".into(),
            id: None,
            error: RecordError::MissingSource.bulk_item(),
        }),
        Some(Answer::Created {
            index: "web".into(),
            id: "plain".into(),
            seq_no: u64::MAX,
        }),
        None,
    ];
    let out = answer::write_response(7, true, &["index", "create", "create", "index"], &answers);
    let v: Value = serde_json::from_slice(&out).expect("the answer is JSON");
    let created = |action: &str, index: &str, id: &str, seq_no: u64| {
        json!({action: {"_index": index, "_id": id, "_version": 1, "result": "created",
            "_shards": {"total": 1, "successful": 1, "failed": 0}, "_seq_no": seq_no,
            "_primary_term": 1, "status": 201}})
    };
    let refused = RecordError::MissingSource.bulk_item();
    assert_eq!(
        v,
        json!({"took": 7, "errors": true, "items": [
            created("index", "web-2026-12-04", "a\"b\\c\u{1}é", 41),
            {"create": {"_index": "web", "_id": null, "status": refused.status,
                "error": {"type": refused.kind, "reason": refused.reason}}},
            created("create", "web", "plain", u64::MAX),
            {"index": {"status": 500, "error": {"type": "exception", "reason": "item was not processed"}}},
        ]})
    );
    assert_eq!(
        answer::write_response(0, false, &[], &[]),
        br#"{"took":0,"errors":false,"items":[]}"#
    );
}
