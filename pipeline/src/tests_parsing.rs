//! The parsing processors — `grok`, `dissect`, `date`, `kv` — on examples whose results are
//! worked out here, and their definition errors.

use serde_json::{Value, json};

use crate::tests::run;

fn one(processor: Value, source: Value) -> Value {
    run(json!({ "processors": [processor] }), source)
}

fn definition_reason(processor: Value) -> String {
    let (_dir, r) = crate::tests::registry();
    match r.compile("t", &json!({ "processors": [processor] })) {
        Err(crate::PipelineError::Definition(d)) => d.reason,
        Err(e) => panic!("not a definition error: {e}"),
        Ok(_) => panic!("compiled"),
    }
}

#[test]
fn grok_captures_typed_fields_and_leaves_unnamed_patterns_out() {
    let g = json!({"grok": {"field": "m", "patterns": ["%{IP:client} %{WORD:method} %{URIPATHPARAM:request} %{NUMBER:bytes:int} %{NUMBER:duration:float} %{WORD:ok:boolean}"]}});
    assert_eq!(
        one(
            g,
            json!({"m": "55.3.244.1 GET /index.html 15824 0.043 TRUE"})
        ),
        json!({"m": "55.3.244.1 GET /index.html 15824 0.043 TRUE", "client": "55.3.244.1", "method": "GET",
               "request": "/index.html", "bytes": 15824, "duration": 0.043f32 as f64, "ok": true})
    );
    let g = json!({"grok": {"field": "m", "patterns": ["%{NUMBER} %{WORD:w}"]}});
    assert_eq!(one(g, json!({"m": "12 x"})), json!({"m": "12 x", "w": "x"}));
    let g = json!({"grok": {"field": "m", "patterns": ["%{NUMBER:n:long}/%{NUMBER:d:double}"]}});
    assert_eq!(
        one(g, json!({"m": "-3/2.5"})),
        json!({"m": "-3/2.5", "n": -3, "d": 2.5})
    );
}

#[test]
fn grok_first_pattern_that_matches_wins_and_trace_match_says_which() {
    let g = json!({"grok": {"field": "m", "trace_match": true, "patterns": ["%{INT:a} %{INT:b}", "%{WORD:w}"]}});
    assert_eq!(one(g.clone(), json!({"m": "1 2"}))["a"], "1");
    let out = run(
        json!({"processors": [g, {"set": {"field": "i", "value": "{{_ingest._grok_match_index}}"}}]}),
        json!({"m": "word"}),
    );
    assert_eq!(out, json!({"m": "word", "w": "word", "i": "1"}));
    let single = json!({"grok": {"field": "m", "trace_match": true, "patterns": ["%{WORD:w}"]}});
    let out = run(
        json!({"processors": [single, {"set": {"field": "i", "value": "{{_ingest._grok_match_index}}"}}]}),
        json!({"m": "x"}),
    );
    assert_eq!(out["i"], "0");
}

#[test]
fn grok_same_field_in_alternatives_takes_the_one_that_matched() {
    let g = json!({"grok": {"field": "m", "patterns": ["(?:%{INT:v:int}|%{WORD:v})!"]}});
    assert_eq!(one(g.clone(), json!({"m": "7!"}))["v"], json!(7));
    assert_eq!(one(g, json!({"m": "abc!"}))["v"], json!("abc"));
    // HTTPD_ERRORLOG is two alternatives that both name timestamp and message.
    let g = json!({"grok": {"field": "m", "patterns": ["%{HTTPD_ERRORLOG}"]}});
    let out = one(
        g,
        json!({"m": "[Mon Dec 01 10:00:00 2025] [error] [client 1.2.3.4] File does not exist: /x"}),
    );
    assert_eq!(out["timestamp"], "Mon Dec 01 10:00:00 2025");
    assert_eq!(out["clientip"], "1.2.3.4");
    assert_eq!(out["message"], "File does not exist: /x");
}

#[test]
fn grok_ecs_names_make_nested_fields_and_named_groups_capture() {
    let g = json!({"grok": {"field": "m", "ecs_compatibility": "v1", "patterns": ["%{COMMONAPACHELOG}"]}});
    let out = one(
        g,
        json!({"m": "1.2.3.4 - bob [17/May/2015:10:05:03 +0000] \"GET /a?b=1 HTTP/1.1\" 200 512"}),
    );
    assert_eq!(out["source"]["address"], "1.2.3.4");
    assert_eq!(out["user"]["name"], "bob");
    assert_eq!(
        out["http"],
        json!({"request": {"method": "GET"}, "version": "1.1", "response": {"status_code": 200, "body": {"bytes": 512}}})
    );
    assert_eq!(out["url"]["original"], "/a?b=1");
    assert!(
        out.get("apache").is_none(),
        "the - identity is not captured: {out}"
    );
    let g = json!({"grok": {"field": "m", "patterns": ["(?<word>\\w+) %{INT:[a][b]}"]}});
    assert_eq!(
        one(g, json!({"m": "x 5"})),
        json!({"m": "x 5", "word": "x", "a": {"b": "5"}})
    );
}

#[test]
fn grok_pattern_definitions_and_errors() {
    let g = json!({"grok": {"field": "m", "patterns": ["%{PAIR:p}"], "pattern_definitions": {"PAIR": "%{WORD}=%{WORD:v}"}}});
    assert_eq!(
        one(g, json!({"m": "a=b"})),
        json!({"m": "a=b", "p": "a=b", "v": "b"})
    );
    let g = json!({"grok": {"field": "m", "patterns": ["%{WORD:w}"]}});
    assert_eq!(
        one(g.clone(), json!({"m": "!!!"})),
        json!(
            "illegal_argument_exception: Provided Grok expressions do not match field value: [!!!]"
        )
    );
    assert_eq!(
        one(g.clone(), json!({})),
        json!("illegal_argument_exception: field [m] not present as part of path [m]")
    );
    let missing_ok =
        json!({"grok": {"field": "m", "patterns": ["%{WORD:w}"], "ignore_missing": true}});
    assert_eq!(one(missing_ok, json!({"a": 1})), json!({"a": 1}));
    assert_eq!(
        one(g, json!({"m": 3})),
        json!(
            "illegal_argument_exception: field [m] of type [java.lang.Integer] cannot be cast to [java.lang.String]"
        )
    );
    assert_eq!(
        definition_reason(json!({"grok": {"field": "m", "patterns": ["%{FOO:x}"]}})),
        "[patterns] Invalid regex pattern found in: [%{FOO:x}]. Unable to find pattern [FOO] in Grok's pattern dictionary"
    );
    let e = definition_reason(
        json!({"grok": {"field": "m", "patterns": ["%{A}"], "pattern_definitions": {"A": "x%{B}", "B": "%{A}"}}}),
    );
    assert!(e.contains("circular reference in pattern [A]"), "{e}");
    assert!(
        definition_reason(json!({"grok": {"field": "m", "patterns": ["(unclosed"]}}))
            .starts_with("[patterns] Invalid regex pattern found in: [(unclosed]. ")
    );
    assert_eq!(
        definition_reason(json!({"grok": {"field": "m", "patterns": []}})),
        "[patterns] List of patterns must not be empty"
    );
    assert_eq!(
        definition_reason(
            json!({"grok": {"field": "m", "patterns": ["x"], "ecs_compatibility": "v8"}})
        ),
        "[ecs_compatibility] unsupported mode 'v8'"
    );
    let conversion = one(
        json!({"grok": {"field": "m", "patterns": ["%{DATA:n:int}$"]}}),
        json!({"m": "1.5"}),
    );
    assert_eq!(
        conversion,
        json!("number_format_exception: For input string: \"1.5\"")
    );
}

#[test]
fn grok_pattern_list_has_both_dictionaries() {
    let legacy = crate::grok_patterns(false);
    let ecs = crate::grok_patterns(true);
    let get =
        |l: &[(String, String)], k: &str| l.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    for name in [
        "USERNAME",
        "IPORHOST",
        "HTTPDATE",
        "SYSLOGBASE",
        "COMBINEDAPACHELOG",
        "HTTPD_ERRORLOG",
        "TIMESTAMP_ISO8601",
        "LOGLEVEL",
        "UUID",
        "MAC",
    ] {
        assert!(
            get(&legacy, name).is_some() && get(&ecs, name).is_some(),
            "{name}"
        );
    }
    assert!(
        get(&legacy, "HTTPD_COMMONLOG")
            .unwrap()
            .contains("%{IPORHOST:clientip}")
    );
    assert!(
        get(&ecs, "HTTPD_COMMONLOG")
            .unwrap()
            .contains("[source][address]")
    );
    assert!(legacy.windows(2).all(|w| w[0].0 < w[1].0));
}

#[test]
fn dissect_keys_modifiers_and_errors() {
    let d = |pattern: &str, sep: Option<&str>, m: &str| {
        let mut p = json!({"dissect": {"field": "m", "pattern": pattern}});
        if let Some(s) = sep {
            p["dissect"]["append_separator"] = json!(s);
        }
        let mut out = one(p, json!({ "m": m }));
        if let Some(o) = out.as_object_mut() {
            o.remove("m");
        }
        out
    };
    assert_eq!(
        d(
            "%{clientip} %{ident} %{auth} [%{@timestamp}] \"%{verb} %{request} HTTP/%{httpversion}\" %{status} %{size}",
            None,
            "1.2.3.4 - - [30/Apr/1998:22:00:52 +0000] \"GET /english/venues/cities/images/montpellier/18.gif HTTP/1.0\" 200 3171"
        ),
        json!({"clientip": "1.2.3.4", "ident": "-", "auth": "-", "@timestamp": "30/Apr/1998:22:00:52 +0000", "verb": "GET",
               "request": "/english/venues/cities/images/montpellier/18.gif", "httpversion": "1.0", "status": "200", "size": "3171"})
    );
    assert_eq!(
        d("%{a->} %{b}", None, "foo      bar"),
        json!({"a": "foo", "b": "bar"})
    );
    assert_eq!(
        d("%{a},%{b},%{c},%{d}", None, "foo,,,"),
        json!({"a": "foo", "b": "", "c": "", "d": ""})
    );
    assert_eq!(
        d("%{a} %{+a} %{+a}", Some(" "), "foo bar baz"),
        json!({"a": "foo bar baz"})
    );
    assert_eq!(
        d("%{a} %{+a/2} %{+a/1}", None, "foo bar baz"),
        json!({"a": "foobazbar"})
    );
    assert_eq!(
        d("%{*a} %{b} %{&a}", None, "foo bar baz"),
        json!({"foo": "baz", "b": "bar"})
    );
    assert_eq!(
        d("%{a} %{?skip} %{} %{c}", None, "foo bar x baz"),
        json!({"a": "foo", "c": "baz"})
    );
    assert_eq!(d("[%{a}]", None, "[x y]"), json!({"a": "x y"}));
    assert_eq!(
        d("%{a},%{b}:%{c}", None, "foo,bar,baz"),
        json!(
            "find_match: Unable to find match for dissect pattern: %{a},%{b}:%{c} against source: foo,bar,baz"
        )
    );
    assert_eq!(
        definition_reason(json!({"dissect": {"field": "m", "pattern": "%{*a} %{b}"}})),
        "Unable to parse pattern: %{*a} %{b} Reason: Found invalid key/reference associations: 'a' Please ensure each '*<key>' is matched with a matching '&<key>"
    );
    assert_eq!(
        definition_reason(json!({"dissect": {"field": "m", "pattern": "no keys"}})),
        "Unable to parse pattern: no keys Reason: Unable to find any keys or delimiters."
    );
    assert_eq!(
        definition_reason(json!({"dissect": {"field": "m", "pattern": "%{+*a}"}})),
        "Unable to parse key: +*a Reason: multiple modifiers are not allowed."
    );
}

#[test]
fn date_formats_time_zones_and_output() {
    let d = |formats: Value, value: Value, extra: Value| {
        let mut p = json!({"date": {"field": "t", "formats": formats}});
        for (k, v) in extra.as_object().unwrap() {
            p["date"][k] = v.clone();
        }
        one(p, json!({ "t": value }))
    };
    let ts = |v: Value| v["@timestamp"].clone();
    assert_eq!(
        ts(d(
            json!(["dd/MMM/yyyy:HH:mm:ss Z"]),
            json!("25/Oct/2016:14:49:33 +0200"),
            json!({})
        )),
        "2016-10-25T12:49:33.000Z"
    );
    assert_eq!(
        ts(d(
            json!(["ISO8601"]),
            json!("2018-07-02T22:23:00.186641Z"),
            json!({})
        )),
        "2018-07-02T22:23:00.186Z"
    );
    assert_eq!(
        ts(d(
            json!(["ISO8601"]),
            json!("2018-07-02T22:23:00"),
            json!({"timezone": "Europe/Amsterdam"})
        )),
        "2018-07-02T22:23:00.000+02:00"
    );
    assert_eq!(
        ts(d(json!(["ISO8601"]), json!("2018-07-02"), json!({}))),
        "2018-07-02T00:00:00.000Z"
    );
    assert_eq!(
        ts(d(json!(["UNIX"]), json!(1500000000.5), json!({}))),
        "2017-07-14T02:40:00.500Z"
    );
    assert_eq!(
        ts(d(json!(["UNIX_MS"]), json!("1500000000123"), json!({}))),
        "2017-07-14T02:40:00.123Z"
    );
    assert_eq!(
        ts(d(
            json!(["TAI64N"]),
            json!("@4000000050d506482dbdf024"),
            json!({})
        )),
        "2012-12-22T01:00:46.767Z"
    );
    assert_eq!(
        ts(d(
            json!(["yyyy-MM-dd HH:mm:ss,SSS"]),
            json!("2025-03-04 05:06:07,089"),
            json!({"timezone": "-05:00"})
        )),
        "2025-03-04T05:06:07.089-05:00"
    );
    assert_eq!(
        ts(d(
            json!(["EEE, dd MMM yyyy HH:mm:ss Z"]),
            json!("Tue, 03 Jun 2008 11:05:30 +0000"),
            json!({})
        )),
        "2008-06-03T11:05:30.000Z"
    );
    let year = chrono::Datelike::year(&chrono::Utc::now());
    assert_eq!(
        ts(d(
            json!(["MMM  d HH:mm:ss"]),
            json!("Feb  5 17:32:18"),
            json!({})
        )),
        format!("{year}-02-05T17:32:18.000Z")
    );
    assert_eq!(
        ts(d(
            json!(["MMM dd HH:mm:ss"]),
            json!("Feb 15 17:32:18"),
            json!({})
        )),
        format!("{year}-02-15T17:32:18.000Z")
    );
    // The first format that fits; target_field and output_format.
    let out = d(
        json!(["UNIX_MS", "dd/MM/yyyy"]),
        json!("05/02/2024"),
        json!({"target_field": "day", "output_format": "yyyy.MM.dd"}),
    );
    assert_eq!(out["day"], "2024.02.05");
    // A template time zone, read per document.
    let p = json!({"date": {"field": "t", "formats": ["yyyy-MM-dd HH:mm"], "timezone": "{{tz}}"}});
    assert_eq!(
        one(p, json!({"t": "2024-01-01 12:00", "tz": "Asia/Tokyo"}))["@timestamp"],
        "2024-01-01T12:00:00.000+09:00"
    );
    assert_eq!(
        d(json!(["ISO8601"]), json!("yesterday"), json!({})),
        json!("illegal_argument_exception: unable to parse date [yesterday]")
    );
    assert_eq!(
        definition_reason(json!({"date": {"field": "t", "formats": ["ISO8601"], "locale": "fr"}})),
        "[locale] locale [fr] is not supported: Hydrant reads month and day names in English (ENGLISH, ROOT or en) only"
    );
    assert_eq!(
        ts(d(
            json!(["dd MMM yyyy"]),
            json!("01 Mar 2024"),
            json!({"locale": "ENGLISH"})
        )),
        "2024-03-01T00:00:00.000Z"
    );
    assert_eq!(
        definition_reason(
            json!({"date": {"field": "t", "formats": ["ISO8601"], "timezone": "Mars/Base"}})
        ),
        "[timezone] Unknown time-zone ID: Mars/Base"
    );
    assert!(
        definition_reason(json!({"date": {"field": "t", "formats": ["yyyy ww"]}}))
            .contains("pattern letter [ww] is not supported")
    );
}

#[test]
fn kv_splits_filters_trims_and_collects_repeats() {
    let kv = |extra: Value, m: &str| {
        let mut p = json!({"kv": {"field": "m", "field_split": " ", "value_split": "="}});
        for (k, v) in extra.as_object().unwrap() {
            p["kv"][k] = v.clone();
        }
        let mut out = one(p, json!({ "m": m }));
        if let Some(o) = out.as_object_mut() {
            o.remove("m");
        }
        out
    };
    assert_eq!(
        kv(json!({}), "ip=1.2.3.4 error=REFUSED"),
        json!({"ip": "1.2.3.4", "error": "REFUSED"})
    );
    assert_eq!(
        kv(json!({}), "a=1 a=2 b=x=y"),
        json!({"a": ["1", "2"], "b": "x=y"})
    );
    assert_eq!(
        kv(json!({"target_field": "kv", "prefix": "p_"}), "a=1"),
        json!({"kv": {"p_a": "1"}})
    );
    assert_eq!(
        kv(json!({"include_keys": ["a"]}), "a=1 b=2"),
        json!({"a": "1"})
    );
    assert_eq!(
        kv(json!({"exclude_keys": ["a"]}), "a=1 b=2"),
        json!({"b": "2"})
    );
    assert_eq!(
        kv(json!({"trim_key": "<>", "trim_value": "\""}), "<a>=\"1\""),
        json!({"a": "1"})
    );
    assert_eq!(
        kv(
            json!({"strip_brackets": true}),
            "a=(1) b=[2] c=<3> d=\"4\" e='5'"
        ),
        json!({"a": "1", "b": "2", "c": "3", "d": "4", "e": "5"})
    );
    let p = json!({"kv": {"field": "m", "field_split": "&|;", "value_split": ":\\s*"}});
    assert_eq!(
        one(p, json!({"m": "a: 1;b:2&c:3"})),
        json!({"m": "a: 1;b:2&c:3", "a": "1", "b": "2", "c": "3"})
    );
    assert_eq!(
        kv(json!({}), "a=1 junk"),
        json!("illegal_argument_exception: field [m] does not contain value_split [=]")
    );
    assert_eq!(
        one(
            json!({"kv": {"field": "m", "field_split": " ", "value_split": "="}}),
            json!({"m": null})
        ),
        json!("illegal_argument_exception: field [m] is null, cannot extract key-value pairs.")
    );
    let p = json!({"kv": {"field": "m", "field_split": " ", "value_split": "=", "ignore_missing": true}});
    assert_eq!(one(p, json!({})), json!({}));
    assert!(
        definition_reason(json!({"kv": {"field": "m", "field_split": "(", "value_split": "="}}))
            .starts_with("[field_split] invalid regular expression [(]")
    );
}

#[test]
fn a_runaway_grok_pattern_fails_the_record_instead_of_hanging_or_panicking() {
    // Found by the `grok` fuzz target: Oniguruma gives up on catastrophic backtracking.
    let g = json!({"grok": {"field": "m", "patterns": ["(?<x>a+)+$"]}});
    let out = one(g, json!({"m": format!("{}!", "a".repeat(40))}));
    let text = out.as_str().unwrap_or_default();
    assert!(
        text.starts_with("illegal_argument_exception: grok pattern matching was interrupted"),
        "{out}"
    );
}

/// A key from the data that would nest the document beyond what can be indexed costs its
/// record with a clear error, rather than overflowing the stack (one log line through `kv`
/// used to take the whole process down).
#[test]
fn a_path_nested_past_the_limit_fails_the_record_not_the_process() {
    let deep = vec!["a"; 200_000].join(".");
    let kv = json!({"kv": {"field": "m", "field_split": " ", "value_split": "="}});
    let out = one(kv.clone(), json!({ "m": format!("{deep}=1 b=2") }));
    let err = out.as_str().expect("an error");
    assert!(
        err.starts_with("illegal_argument_exception: field path [a.a.a"),
        "{err}"
    );
    assert!(err.ends_with("…] has more than [127] levels"), "{err}");
    // At the limit the path is set.
    let at_limit = vec!["a"; 127].join(".");
    let out = one(kv, json!({ "m": format!("{at_limit}=1") }));
    let mut v = &out;
    for _ in 0..127 {
        v = &v["a"];
    }
    assert_eq!(v, &json!("1"));
}
