//! Pipelines end to end through the crate's API: definitions, failures, `_simulate`, the store.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::{Outcome, PipelineError, Registry, Resources, run_doc, simulate};

const TS: &str = "2026-12-03T10:00:00.000Z";

pub(crate) fn registry() -> (tempfile::TempDir, Registry) {
    let dir = tempfile::tempdir().unwrap();
    let r = Registry::open(dir.path(), &BTreeMap::new(), Resources::default()).unwrap();
    (dir, r)
}

/// Runs `source` through the pipeline `def` and returns the processed source, `"dropped"`, or
/// the error's `type: reason`.
pub(crate) fn run(def: Value, source: Value) -> Value {
    let (_dir, r) = registry();
    let p = r.compile("t", &def).unwrap_or_else(|e| panic!("{e}"));
    match run_doc(
        &r,
        &[&p],
        source.as_object().unwrap().clone(),
        &"web".into(),
        None,
        &TS.into(),
    ) {
        Ok(Outcome::Keep { source, .. }) => Value::Object(source),
        Ok(Outcome::Dropped) => json!("dropped"),
        Err(e) => json!(format!("{}: {}", e.kind, e.reason)),
    }
}

fn one(processor: Value, source: Value) -> Value {
    run(json!({ "processors": [processor] }), source)
}

fn definition_error(def: Value) -> crate::DefinitionError {
    let (_dir, r) = registry();
    match r.compile("t", &def) {
        Err(PipelineError::Definition(d)) => d,
        Err(e) => panic!("not a definition error: {e}"),
        Ok(_) => panic!("compiled: {def}"),
    }
}

#[test]
fn set_with_templates_override_and_copy_from() {
    assert_eq!(
        one(
            json!({"set": {"field": "where.{{kind}}", "value": "{{host}}:{{port}}"}}),
            json!({"kind": "a", "host": "h", "port": 80})
        ),
        json!({"kind": "a", "host": "h", "port": 80, "where": {"a": "h:80"}})
    );
    assert_eq!(
        one(
            json!({"set": {"field": "x", "value": 2, "override": false}}),
            json!({"x": 1})
        ),
        json!({"x": 1})
    );
    assert_eq!(
        one(
            json!({"set": {"field": "x", "value": 2, "override": false}}),
            json!({"x": null})
        ),
        json!({"x": 2})
    );
    assert_eq!(
        one(
            json!({"set": {"field": "y", "copy_from": "x"}}),
            json!({"x": {"a": [1]}})
        ),
        json!({"x": {"a": [1]}, "y": {"a": [1]}})
    );
    assert_eq!(
        one(
            json!({"set": {"field": "y", "value": "{{nope}}", "ignore_empty_value": true}}),
            json!({})
        ),
        json!({})
    );
}

#[test]
fn remove_rename_append() {
    assert_eq!(
        one(
            json!({"remove": {"field": ["a", "b.c"]}}),
            json!({"a": 1, "b": {"c": 2, "d": 3}})
        ),
        json!({"b": {"d": 3}})
    );
    assert_eq!(
        one(json!({"remove": {"field": "nope"}}), json!({})),
        json!("illegal_argument_exception: field [nope] not present as part of path [nope]")
    );
    assert_eq!(
        one(
            json!({"remove": {"field": "nope", "ignore_missing": true}}),
            json!({"a": 1})
        ),
        json!({"a": 1})
    );
    assert_eq!(
        one(
            json!({"remove": {"keep": ["a.b", "c"]}}),
            json!({"a": {"b": 1, "x": 2}, "c": 3, "d": 4})
        ),
        json!({"a": {"b": 1}, "c": 3})
    );
    assert_eq!(
        one(
            json!({"rename": {"field": "a", "target_field": "b.c"}}),
            json!({"a": 1})
        ),
        json!({"b": {"c": 1}})
    );
    assert_eq!(
        one(
            json!({"rename": {"field": "a", "target_field": "b"}}),
            json!({"a": 1, "b": 2})
        ),
        json!("illegal_argument_exception: field [b] already exists")
    );
    assert_eq!(
        one(
            json!({"rename": {"field": "a", "target_field": "b"}}),
            json!({})
        ),
        json!("illegal_argument_exception: field [a] doesn't exist")
    );
    assert_eq!(
        one(
            json!({"append": {"field": "t", "value": ["b", "{{x}}"]}}),
            json!({"t": "a", "x": "c"})
        ),
        json!({"t": ["a", "b", "c"], "x": "c"})
    );
    assert_eq!(
        one(
            json!({"append": {"field": "t", "value": "a", "allow_duplicates": false}}),
            json!({"t": ["a"]})
        ),
        json!({"t": ["a"]})
    );
}

#[test]
fn string_processors_on_values_and_lists() {
    assert_eq!(
        one(json!({"lowercase": {"field": "m"}}), json!({"m": "GET"})),
        json!({"m": "get"})
    );
    assert_eq!(
        one(
            json!({"uppercase": {"field": "m", "target_field": "u"}}),
            json!({"m": ["a", "b"]})
        ),
        json!({"m": ["a", "b"], "u": ["A", "B"]})
    );
    assert_eq!(
        one(json!({"trim": {"field": "m"}}), json!({"m": "  x  "})),
        json!({"m": "x"})
    );
    assert_eq!(
        one(json!({"lowercase": {"field": "m"}}), json!({"m": 5})),
        json!(
            "illegal_argument_exception: field [m] of type [java.lang.Integer] cannot be cast to [java.lang.String]"
        )
    );
    assert_eq!(
        one(json!({"lowercase": {"field": "m"}}), json!({"m": null})),
        json!("illegal_argument_exception: field [m] is null, cannot process it.")
    );
    assert_eq!(
        one(
            json!({"lowercase": {"field": "m", "ignore_missing": true}}),
            json!({"m": null})
        ),
        json!({"m": null})
    );
    assert_eq!(
        one(
            json!({"urldecode": {"field": "q"}}),
            json!({"q": "a%20b+c%C3%A9"})
        ),
        json!({"q": "a b cé"})
    );
    assert!(
        one(json!({"urldecode": {"field": "q"}}), json!({"q": "100%"}))
            .as_str()
            .unwrap()
            .contains("URLDecoder: Incomplete trailing escape (%) pattern")
    );
    assert_eq!(
        one(
            json!({"gsub": {"field": "p", "pattern": "\\.", "replacement": "-"}}),
            json!({"p": "a.b.c"})
        ),
        json!({"p": "a-b-c"})
    );
    assert_eq!(
        one(
            json!({"gsub": {"field": "p", "pattern": "(\\w+)@(\\w+)", "replacement": "$2 at $1"}}),
            json!({"p": "me@home"})
        ),
        json!({"p": "home at me"})
    );
    assert_eq!(
        one(
            json!({"split": {"field": "s", "separator": ","}}),
            json!({"s": "a,b,,"})
        ),
        json!({"s": ["a", "b"]})
    );
    assert_eq!(
        one(
            json!({"split": {"field": "s", "separator": ",", "preserve_trailing": true}}),
            json!({"s": "a,b,,"})
        ),
        json!({"s": ["a", "b", "", ""]})
    );
    assert_eq!(
        one(
            json!({"join": {"field": "s", "separator": "-"}}),
            json!({"s": ["a", 1, true]})
        ),
        json!({"s": "a-1-true"})
    );
}

#[test]
fn convert_to_each_type_and_its_errors() {
    let c = |ty: &str, v: Value| {
        one(
            json!({"convert": {"field": "f", "type": ty}}),
            json!({ "f": v }),
        )["f"]
            .clone()
    };
    assert_eq!(c("integer", json!("42")), json!(42));
    assert_eq!(c("integer", json!("0x1F")), json!(31));
    assert_eq!(c("long", json!(["1", "-2"])), json!([1, -2]));
    assert_eq!(c("double", json!("1.5")), json!(1.5));
    // A float shows as Java prints it (0.1), not as its exact binary value.
    assert_eq!(c("float", json!("0.1")), json!(0.1));
    assert_eq!(c("boolean", json!("TRUE")), json!(true));
    assert_eq!(c("string", json!(12)), json!("12"));
    assert_eq!(c("auto", json!("12")), json!(12));
    assert_eq!(c("auto", json!("1.25")), json!(1.25));
    assert_eq!(c("auto", json!("false")), json!(false));
    assert_eq!(c("auto", json!("x1")), json!("x1"));
    assert_eq!(c("ip", json!("::1")), json!("::1"));
    assert_eq!(
        one(
            json!({"convert": {"field": "f", "type": "integer"}}),
            json!({"f": "abc"})
        ),
        json!("illegal_argument_exception: unable to convert [abc] to integer")
    );
    assert_eq!(
        one(
            json!({"convert": {"field": "f", "type": "integer"}}),
            json!({"f": "3000000000"})
        ),
        json!("illegal_argument_exception: unable to convert [3000000000] to integer")
    );
    assert_eq!(
        definition_error(json!({"processors": [{"convert": {"field": "f", "type": "nope"}}]}))
            .reason,
        "[type] type [nope] not supported, cannot convert field."
    );
}

#[test]
fn json_in_place_into_a_target_and_into_the_root() {
    assert_eq!(
        one(json!({"json": {"field": "j"}}), json!({"j": "{\"a\":1}"})),
        json!({"j": {"a": 1}})
    );
    assert_eq!(
        one(
            json!({"json": {"field": "j", "target_field": "t"}}),
            json!({"j": "[1,2]"})
        ),
        json!({"j": "[1,2]", "t": [1, 2]})
    );
    assert_eq!(
        one(
            json!({"json": {"field": "j", "add_to_root": true, "add_to_root_conflict_strategy": "merge"}}),
            json!({"j": "{\"o\":{\"b\":2}}", "o": {"a": 1}})
        ),
        json!({"j": "{\"o\":{\"b\":2}}", "o": {"a": 1, "b": 2}})
    );
    assert!(
        one(json!({"json": {"field": "j"}}), json!({"j": "{nope"}))
            .as_str()
            .unwrap()
            .starts_with("illegal_argument_exception")
    );
}

#[test]
fn failures_ignore_failure_on_failure_metadata_and_drop() {
    // A processor's own on_failure: the document goes on with the next processor.
    let def = json!({"processors": [
        {"rename": {"field": "nope", "target_field": "x", "tag": "r1", "on_failure": [
            {"set": {"field": "err", "value": "{{_ingest.on_failure_message}}|{{_ingest.on_failure_processor_type}}|{{_ingest.on_failure_processor_tag}}|{{_ingest.on_failure_pipeline}}"}}
        ]}},
        {"set": {"field": "after", "value": true}}
    ]});
    assert_eq!(
        run(def, json!({})),
        json!({"err": "field [nope] doesn't exist|rename|r1|", "after": true})
    );
    // The pipeline's on_failure: the rest of the processors are skipped.
    let def = json!({
        "processors": [{"fail": {"message": "bad {{v}}"}}, {"set": {"field": "skipped", "value": 1}}],
        "on_failure": [{"set": {"field": "why", "value": "{{_ingest.on_failure_message}}"}}]
    });
    assert_eq!(run(def, json!({"v": 7})), json!({"v": 7, "why": "bad 7"}));
    assert_eq!(
        run(
            json!({"processors": [{"fail": {"message": "no"}}]}),
            json!({})
        ),
        json!("fail_processor_exception: no")
    );
    let def = json!({"processors": [{"fail": {"message": "x", "ignore_failure": true}}, {"set": {"field": "ok", "value": 1}}]});
    assert_eq!(run(def, json!({})), json!({"ok": 1}));
    assert_eq!(
        run(
            json!({"processors": [{"drop": {}}, {"fail": {"message": "never"}}]}),
            json!({})
        ),
        json!("dropped")
    );
    // The metadata is gone from the document afterwards.
    let def = json!({"processors": [{"fail": {"message": "m", "on_failure": [{"set": {"field": "a", "value": 1}}]}}, {"set": {"field": "b", "value": "{{_ingest.on_failure_message}}"}}]});
    assert_eq!(run(def, json!({})), json!({"a": 1, "b": ""}));
}

#[test]
fn nested_pipelines_cycles_and_missing_ones() {
    let (_dir, r) = registry();
    r.put(
        "inner",
        &json!({"processors": [{"set": {"field": "inner", "value": "{{_ingest.pipeline}}"}}]}),
    )
    .unwrap();
    r.put("outer", &json!({"processors": [{"pipeline": {"name": "inner"}}, {"set": {"field": "outer", "value": "{{_ingest.pipeline}}"}}]})).unwrap();
    let p = r.get("outer").unwrap();
    let out = run_doc(
        &r,
        &[&*p],
        Default::default(),
        &"web".into(),
        None,
        &TS.into(),
    )
    .unwrap();
    assert_eq!(
        out,
        Outcome::Keep {
            source: json!({"inner": "inner", "outer": "outer"})
                .as_object()
                .unwrap()
                .clone(),
            id: None
        }
    );
    r.put(
        "loop",
        &json!({"processors": [{"pipeline": {"name": "loop"}}]}),
    )
    .unwrap();
    let e = run_doc(
        &r,
        &[r.get("loop").unwrap()],
        Default::default(),
        &"web".into(),
        None,
        &TS.into(),
    )
    .unwrap_err();
    assert!(
        e.reason.contains("Cycle detected for pipeline: loop"),
        "{e}"
    );
    r.put(
        "dangling",
        &json!({"processors": [{"pipeline": {"name": "gone"}}]}),
    )
    .unwrap();
    let e = run_doc(
        &r,
        &[r.get("dangling").unwrap()],
        Default::default(),
        &"web".into(),
        None,
        &TS.into(),
    )
    .unwrap_err();
    assert_eq!(
        e.reason,
        "Pipeline processor configured for non-existent pipeline [gone]"
    );
}

#[test]
fn a_pipeline_may_set_the_id_but_not_move_the_document() {
    let (_dir, r) = registry();
    let p = r
        .compile(
            "t",
            &json!({"processors": [{"set": {"field": "_id", "value": "{{k}}"}}]}),
        )
        .unwrap();
    let out = run_doc(
        &r,
        &[&p],
        json!({"k": "key-1"}).as_object().unwrap().clone(),
        &"web".into(),
        None,
        &TS.into(),
    )
    .unwrap();
    assert!(matches!(out, Outcome::Keep { id: Some(ref id), .. } if id == "key-1"));
    let p = r
        .compile(
            "t",
            &json!({"processors": [{"set": {"field": "_index", "value": "other"}}]}),
        )
        .unwrap();
    let e = run_doc(
        &r,
        &[&p],
        Default::default(),
        &"web".into(),
        None,
        &TS.into(),
    )
    .unwrap_err();
    assert!(e.reason.contains("does not reroute"), "{e}");
}

#[test]
fn definition_errors_name_the_processor_tag_and_property() {
    let e = definition_error(json!({"processors": [{"nope": {}}]}));
    assert_eq!(e.reason, "No processor type exists with name [nope]");
    assert_eq!(e.processor_type.as_deref(), Some("nope"));
    let e = definition_error(json!({"processors": [{"set": {"tag": "t1", "value": 1}}]}));
    assert_eq!(e.reason, "[field] required property is missing");
    assert_eq!(
        (
            e.processor_type.as_deref(),
            e.processor_tag.as_deref(),
            e.property_name.as_deref()
        ),
        (Some("set"), Some("t1"), Some("field"))
    );
    let e =
        definition_error(json!({"processors": [{"set": {"field": "a", "value": 1, "bogus": 2}}]}));
    assert_eq!(
        e.reason,
        "processor [set] doesn't support one or more provided configuration parameters [bogus]"
    );
    let e = definition_error(json!({"description": "x"}));
    assert_eq!(e.reason, "[processors] required property is missing");
    let e = definition_error(
        json!({"processors": [{"set": {"field": "a", "value": 1, "on_failure": [{"rename": {"field": "x"}}]}}]}),
    );
    assert_eq!(
        (e.reason.as_str(), e.processor_type.as_deref()),
        (
            "[target_field] required property is missing",
            Some("rename")
        )
    );
    let e = definition_error(
        json!({"processors": [{"set": {"field": "a", "value": 1, "if": "ctx.a != null"}}]}),
    );
    assert!(e.reason.contains("Painless"), "{e}");
}

#[test]
fn simulate_plain_verbose_dropped_and_failed() {
    let (_dir, r) = registry();
    let body = json!({
        "pipeline": {"processors": [
            {"lowercase": {"field": "m", "tag": "low"}},
            {"fail": {"message": "boom", "ignore_failure": true}}
        ]},
        "docs": [{"_source": {"m": "A"}}, {"_index": "web", "_id": "7", "_source": {"m": 1}}]
    });
    let v = simulate(&r, None, &body, false, TS).unwrap();
    assert_eq!(
        v["docs"][0]["doc"],
        json!({"_index": "_index", "_id": "_id", "_source": {"m": "a"}, "_ingest": {"timestamp": TS}})
    );
    assert_eq!(v["docs"][1]["error"]["type"], "illegal_argument_exception");
    assert_eq!(
        v["docs"][1]["error"]["root_cause"][0]["reason"],
        "field [m] of type [java.lang.Integer] cannot be cast to [java.lang.String]"
    );
    let v = simulate(&r, None, &body, true, TS).unwrap();
    let steps = &v["docs"][0]["processor_results"];
    assert_eq!(steps[0]["processor_type"], "lowercase");
    assert_eq!(steps[0]["tag"], "low");
    assert_eq!(steps[0]["status"], "success");
    assert_eq!(steps[0]["doc"]["_source"], json!({"m": "a"}));
    assert_eq!(steps[0]["doc"]["_ingest"]["pipeline"], "_simulate_pipeline");
    assert_eq!(steps[1]["status"], "error_ignored");
    assert_eq!(
        steps[1]["ignored_error"]["error"]["type"],
        "fail_processor_exception"
    );
    let dropped = json!({"pipeline": {"processors": [{"drop": {}}]}, "docs": [{"_source": {}}]});
    assert_eq!(
        simulate(&r, None, &dropped, false, TS).unwrap(),
        json!({"docs": [null]})
    );
    assert!(matches!(
        simulate(&r, Some("nope"), &dropped, false, TS),
        Err(PipelineError::NotFound(_))
    ));
}

#[test]
fn stored_pipelines_survive_a_reopen_and_config_ones_are_read_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = BTreeMap::new();
    config.insert(
        "fixed".to_string(),
        json!({"processors": [{"set": {"field": "f", "value": 1}}]}),
    );
    let r = Registry::open(dir.path(), &config, Resources::default()).unwrap();
    r.put(
        "mine",
        &json!({"description": "d", "processors": [{"set": {"field": "a", "value": 1}}]}),
    )
    .unwrap();
    r.put("other", &json!({"processors": []})).unwrap();
    assert!(matches!(
        r.put("fixed", &json!({"processors": []})),
        Err(PipelineError::ReadOnly { .. })
    ));
    assert!(matches!(
        r.delete("fixed"),
        Err(PipelineError::ReadOnly { .. })
    ));
    assert!(matches!(
        r.put("bad id", &json!({"processors": []})),
        Err(PipelineError::BadRequest(_))
    ));
    drop(r);
    let r = Registry::open(dir.path(), &config, Resources::default()).unwrap();
    assert_eq!(r.get("mine").unwrap().definition()["description"], "d");
    let ids: Vec<String> = r
        .list(Some("m*,fixed"))
        .into_iter()
        .map(|(id, _, _)| id)
        .collect();
    assert_eq!(ids, ["fixed", "mine"]);
    assert_eq!(r.delete("o*").unwrap(), ["other"]);
    assert!(matches!(r.delete("o*"), Err(PipelineError::NotFound(_))));
    drop(r);
    let r = Registry::open(dir.path(), &config, Resources::default()).unwrap();
    assert!(r.get("other").is_none());
    assert!(r.get("mine").is_some());
}
