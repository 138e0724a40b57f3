use std::collections::BTreeMap;
use std::time::Duration;

use super::*;

fn no_env() -> BTreeMap<String, String> {
    BTreeMap::new()
}

fn problems(text: &str) -> Vec<String> {
    match Config::parse(text, &no_env()) {
        Ok(_) => panic!("expected problems for {text:?}"),
        Err(e) => e.problems(),
    }
}

#[test]
fn empty_file_gives_documented_defaults() {
    let c = Config::parse("", &no_env()).unwrap();
    assert_eq!(c.listen.to_string(), "127.0.0.1:9200");
    assert_eq!(c.data_dir, PathBuf::from("./hydrant-data"));
    assert_eq!(c.defaults.buffer_size, MIB);
    assert_eq!(c.defaults.buffer_interval, Duration::from_secs(1));
    assert_eq!(c.defaults.fsync, FsyncPolicy::Always);
    assert_eq!(c.defaults.retry_duration, Duration::from_secs(300));
    assert!(c.ingest.auto_create_streams);
    assert_eq!(c.ingest.max_record_size, 1_024_000);
}

#[test]
fn example_file_is_valid_and_matches_defaults() {
    let text = include_str!("../../hydrant.example.toml");
    let example = Config::parse(text, &no_env()).unwrap();
    let defaults = Config::default();
    // The example documents the defaults: rendering both must agree, apart from the streams
    // the example declares.
    assert_eq!(example.listen, defaults.listen);
    assert_eq!(
        toml::to_string(&example.defaults).unwrap(),
        toml::to_string(&defaults.defaults).unwrap()
    );
    assert_eq!(
        toml::to_string(&example.http).unwrap(),
        toml::to_string(&defaults.http).unwrap()
    );
    assert_eq!(
        toml::to_string(&example.ingest).unwrap(),
        toml::to_string(&defaults.ingest).unwrap()
    );
    assert_eq!(
        toml::to_string(&example.storage).unwrap(),
        toml::to_string(&defaults.storage).unwrap()
    );
}

#[test]
fn backup_prefix_expressions_are_checked() {
    let p = problems("[defaults.backup]\nprefix = \"logs/!{date:x}/\"\n");
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].starts_with("`defaults.backup.prefix` has the expression `!{date:x}`"),
        "{p:?}"
    );
    assert!(check_prefix("logs/!{timestamp:yyyy-MM-dd}/!{firehose:random-string}/").is_ok());
    assert!(check_prefix("!{firehose:error-output-type}/").is_ok());
    assert!(check_prefix("oops!{timestamp:yyyy").is_err());
}

#[test]
fn access_keys_never_appear_in_the_rendered_config() {
    let c = Config::parse("[streams.web]\naccess_keys = [\"s3cr3t-key\"]\n", &no_env()).unwrap();
    assert_eq!(c.stream("web").access_keys[0].expose(), "s3cr3t-key");
    let text = c.to_toml();
    assert!(!text.contains("s3cr3t-key"), "{text}");
    assert!(!format!("{c:?}").contains("s3cr3t-key"));
}

#[test]
fn s3_storage_needs_a_bucket() {
    let p = problems("[storage]\nkind = \"s3\"\n");
    assert_eq!(
        p,
        vec!["`storage.bucket` must name a bucket when `storage.kind` is \"s3\""]
    );
}

#[test]
fn unknown_keys_are_errors_at_every_level() {
    let p = problems("lisen = \"x\"\n[defaults]\nbufer_size = 3\n[defaults.index]\nrefresh = 1\n");
    assert!(p.contains(&"unknown key `lisen`".to_string()), "{p:?}");
    assert!(
        p.contains(&"unknown key `defaults.bufer_size`".to_string()),
        "{p:?}"
    );
    assert!(
        p.contains(&"unknown key `defaults.index.refresh`".to_string()),
        "{p:?}"
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let p = problems(
        "listen = \"nowhere\"\n[defaults]\nbuffer_size = \"512KiB\"\nbuffer_interval = \"1000s\"\nfsync = \"sometimes\"\n",
    );
    assert_eq!(p.len(), 4, "{p:?}");
}

#[test]
fn buffer_size_below_firehose_range_names_key_and_value() {
    let p = problems("[defaults]\nbuffer_size = \"512KiB\"\n");
    assert_eq!(
        p,
        vec!["`defaults.buffer_size` must be between 1 MiB and 128 MiB, got `512KiB`"]
    );
}

#[test]
fn buffer_interval_above_900s_is_rejected() {
    let p = problems("[defaults]\nbuffer_interval = 901\n");
    assert_eq!(
        p,
        vec!["`defaults.buffer_interval` must be between 0s and 15m, got `901`"]
    );
}

#[test]
fn retry_duration_above_7200s_is_rejected() {
    let p = problems("[streams.web]\nretry_duration = \"3h\"\n");
    assert_eq!(
        p,
        vec!["`streams.web.retry_duration` must be between 0s and 2h, got `3h`"]
    );
}

#[test]
fn fsync_lists_allowed_values() {
    let p = problems("[defaults]\nfsync = \"sometimes\"\n");
    assert_eq!(
        p,
        vec!["`defaults.fsync` must be one of \"always\", \"interval\", got `\"sometimes\"`"]
    );
}

#[test]
fn listen_must_be_an_address() {
    let p = problems("listen = \"localhost\"\n");
    assert_eq!(
        p,
        vec!["`listen` must be an address with a port such as \"127.0.0.1:9200\", got `localhost`"]
    );
}

#[test]
fn wrong_type_is_reported_with_value() {
    let p = problems("[ingest]\nauto_create_streams = \"yes\"\n");
    assert_eq!(
        p,
        vec!["`ingest.auto_create_streams` must be true or false, got `\"yes\"`"]
    );
}

#[test]
fn stream_names_follow_index_name_rules() {
    let p = problems("[streams.Web]\n");
    assert_eq!(
        p,
        vec!["stream name `Web` under `[streams]` is not allowed: it must be lowercase"]
    );
    assert!(validate_stream_name("_x").is_err());
    assert!(validate_stream_name("a*b").is_err());
    assert!(validate_stream_name("web-logs.2").is_ok());
}

#[test]
fn streams_inherit_defaults_and_override_their_own_keys() {
    let c = Config::parse(
        "[defaults]\nbuffer_interval = \"5s\"\n[streams.web]\nrecord_format = \"text\"\n",
        &no_env(),
    )
    .unwrap();
    let web = c.stream("web");
    assert_eq!(web.record_format, RecordFormat::Text);
    assert_eq!(web.buffer_interval, Duration::from_secs(5));
    let other = c.stream("other");
    assert_eq!(other.record_format, RecordFormat::Json);
    assert_eq!(other.buffer_interval, Duration::from_secs(5));
}

#[test]
fn env_overrides_file_values() {
    let env = BTreeMap::from([
        (
            "HYDRANT_DEFAULTS__BUFFER_SIZE".to_string(),
            "2MiB".to_string(),
        ),
        (
            "HYDRANT_INGEST__AUTO_CREATE_STREAMS".to_string(),
            "false".to_string(),
        ),
        (
            "HYDRANT_STREAMS__WEB__FSYNC".to_string(),
            "interval".to_string(),
        ),
        ("HYDRANT_DATA_DIR".to_string(), "/tmp/x".to_string()),
        ("HYDRANT_LOG".to_string(), "debug".to_string()),
        ("PATH".to_string(), "/bin".to_string()),
    ]);
    let c = Config::parse("[defaults]\nbuffer_size = \"4MiB\"\n", &env).unwrap();
    assert_eq!(c.defaults.buffer_size, 2 * MIB);
    assert!(!c.ingest.auto_create_streams);
    assert_eq!(c.stream("web").fsync, FsyncPolicy::Interval);
    assert_eq!(c.data_dir, PathBuf::from("/tmp/x"));
}

#[test]
fn env_override_of_unknown_key_is_an_error() {
    let env = BTreeMap::from([("HYDRANT_DEFAULTS__NOPE".to_string(), "1".to_string())]);
    let err = Config::parse("", &env).unwrap_err();
    assert_eq!(err.problems(), vec!["unknown key `defaults.nope`"]);
}

#[test]
fn effective_config_round_trips() {
    let c = Config::parse("[streams.web]\nbuffer_size = \"3MiB\"\n", &no_env()).unwrap();
    let text = c.to_toml();
    let again = Config::parse(&text, &no_env()).unwrap();
    assert_eq!(again.to_toml(), text);
    assert_eq!(again.stream("web").buffer_size, 3 * MIB);
}

#[test]
fn syntax_errors_are_reported() {
    let err = Config::parse("listen = ", &no_env()).unwrap_err();
    assert!(
        err.to_string().starts_with("config file is not valid TOML"),
        "{err}"
    );
}

#[test]
fn sizes_and_durations_parse_common_spellings() {
    assert_eq!(parse_size_str("4.7GiB"), Some((4.7 * GIB as f64) as u64));
    assert_eq!(parse_size_str("512 KiB"), Some(512 * KIB));
    assert_eq!(parse_size_str("1000"), Some(1000));
    assert_eq!(parse_size_str("-1"), None);
    assert_eq!(
        parse_duration_str("250ms"),
        Some(Duration::from_millis(250))
    );
    assert_eq!(parse_duration_str("30"), Some(Duration::from_secs(30)));
    assert_eq!(show_size(MIB), "1 MiB");
    assert_eq!(show_duration(Duration::from_secs(300)), "5m");
}

#[test]
fn explicit_mapping_is_read_in_order_with_types() {
    let c = Config::parse(
        "[streams.web.index.mapping]\nmode = \"strict\"\n[streams.web.index.mapping.fields]\n\"http.status\" = \"long\"\n\"client.ip\" = \"ip\"\n",
        &no_env(),
    )
    .unwrap();
    let m = c.stream("web").index.mapping;
    assert_eq!(m.mode, MappingMode::Strict);
    assert!(
        m.fields
            .contains(&("http.status".to_string(), FieldType::Long))
    );
    assert!(m.fields.contains(&("client.ip".to_string(), FieldType::Ip)));
    assert!(c.stream("other").index.mapping.fields.is_empty());
}

#[test]
fn bad_mapping_fields_are_each_reported() {
    let p = problems(
        "[defaults.index.mapping.fields]\n\"a\" = \"integer\"\n\"@timestamp\" = \"date\"\n\"b..c\" = \"long\"\n",
    );
    assert_eq!(p.len(), 3, "{p:?}");
    assert!(
        p.iter().any(|m| m
            .contains("`defaults.index.mapping.fields.a` must be one of \"keyword\", \"text\"")),
        "{p:?}"
    );
    assert!(
        p.iter()
            .any(|m| m.contains("field `@timestamp`") && m.contains("reserved")),
        "{p:?}"
    );
    assert!(p.iter().any(|m| m.contains("field `b..c`")), "{p:?}");
}

#[test]
fn retention_and_sizing_are_read() {
    let c = Config::parse(
        "[defaults.index]\nretention = \"30d\"\n[defaults.index.sizing]\nmode = \"observed\"\ndaily_volume = \"4.7GiB\"\n",
        &no_env(),
    )
    .unwrap();
    assert_eq!(c.defaults.index.retention, Duration::from_secs(30 * 86_400));
    assert_eq!(c.defaults.index.sizing.mode, SizingMode::Observed);
    assert_eq!(
        c.defaults.index.sizing.daily_volume,
        (4.7 * GIB as f64) as u64
    );
}
