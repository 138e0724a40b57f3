//! A stream's Elasticsearch/OpenSearch destination (`[defaults.elasticsearch]`,
//! `[streams.<name>.elasticsearch]`): the scale-out path, delivering with `_bulk` into an
//! existing cluster as Firehose does.
//!
//! Only shapes and ranges are checked here. What needs the network, files or knowledge of AWS
//! (loading `ca_file`, inferring the signing region from an endpoint host) is checked by the
//! ingest room when the pipeline opens.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::reader::{Choice, Section};
use crate::sigproxy::{SecretText, SigningService};
use crate::stream::Rotation;
use crate::{KIB, MIB, ser_duration, ser_size};

/// How requests are spread over several endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EndpointSelection {
    /// Each request goes to the next endpoint in turn, skipping those that just failed.
    RoundRobin,
    /// Every request goes to the first endpoint that has not just failed.
    Failover,
}

impl Choice for EndpointSelection {
    const ALLOWED: &'static [&'static str] = &["round_robin", "failover"];
    fn from_name(name: &str) -> Option<Self> {
        match name {
            "round_robin" => Some(EndpointSelection::RoundRobin),
            "failover" => Some(EndpointSelection::Failover),
            _ => None,
        }
    }
}

/// Which time picks a record's rotated index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RotationTime {
    /// The record's arrival time, as Firehose does: a replay sends it to the same index.
    Arrival,
    /// The record's `@timestamp` (or `timestamp`), else its arrival time.
    Timestamp,
}

impl Choice for RotationTime {
    const ALLOWED: &'static [&'static str] = &["arrival", "timestamp"];
    fn from_name(name: &str) -> Option<Self> {
        match name {
            "arrival" => Some(RotationTime::Arrival),
            "timestamp" => Some(RotationTime::Timestamp),
            _ => None,
        }
    }
}

/// Where a document's `_id` comes from (Firehose's `DocumentIdOptions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DocumentIdMode {
    /// The record's id (`FIREHOSE_DEFAULT`): retries and replays overwrite, never duplicate.
    Record,
    /// No `_id`: the cluster makes one (`NO_DOCUMENT_ID`). A retry after a lost answer or a
    /// replay after a crash can index a record twice.
    None,
}

impl Choice for DocumentIdMode {
    const ALLOWED: &'static [&'static str] = &["record", "none"];
    fn from_name(name: &str) -> Option<Self> {
        match name {
            "record" => Some(DocumentIdMode::Record),
            "none" => Some(DocumentIdMode::None),
            _ => None,
        }
    }
}

/// The `_bulk` action each document is sent with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BulkAction {
    /// `index`: a document with the same `_id` is replaced.
    Index,
    /// `create`: required by data streams; a document whose `_id` exists answers 409, which
    /// counts as delivered (it is this record, sent before).
    Create,
}

impl Choice for BulkAction {
    const ALLOWED: &'static [&'static str] = &["index", "create"];
    fn from_name(name: &str) -> Option<Self> {
        match name {
            "index" => Some(BulkAction::Index),
            "create" => Some(BulkAction::Create),
            _ => None,
        }
    }
}

/// How requests to the cluster authenticate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EsAuth {
    /// No authentication.
    None,
    /// HTTP basic auth with `username` and `password`.
    Basic,
    /// AWS SigV4 with credentials from the standard AWS chain (Amazon OpenSearch Service).
    Sigv4,
}

impl Choice for EsAuth {
    const ALLOWED: &'static [&'static str] = &["none", "basic", "sigv4"];
    fn from_name(name: &str) -> Option<Self> {
        match name {
            "none" => Some(EsAuth::None),
            "basic" => Some(EsAuth::Basic),
            "sigv4" => Some(EsAuth::Sigv4),
            _ => None,
        }
    }
}

/// A stream's Elasticsearch/OpenSearch destination.
#[derive(Debug, Clone, Serialize)]
pub struct ElasticsearchConfig {
    /// Whether the stream delivers to the cluster.
    pub enabled: bool,
    /// `https://host[:port][/path]` of each node or load balancer (`https://` when no scheme).
    pub endpoints: Vec<String>,
    /// How requests are spread over `endpoints`.
    pub endpoint_selection: EndpointSelection,
    /// Index name before the rotation suffix; empty: the stream's name.
    pub index: String,
    /// Firehose's `IndexRotationPeriod`: a suffix per hour, day, week or month.
    pub rotation: Rotation,
    /// Which time picks the suffix.
    pub rotation_time: RotationTime,
    /// Where `_id` comes from.
    pub document_id: DocumentIdMode,
    /// The `_bulk` action.
    pub action: BulkAction,
    /// How requests authenticate.
    pub auth: EsAuth,
    /// User of `auth = "basic"`.
    pub username: String,
    /// Password of `auth = "basic"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<SecretText>,
    /// Signing region of `auth = "sigv4"`; empty: inferred from the endpoint host.
    pub region: String,
    /// Signing service of `auth = "sigv4"`; `None`: inferred from the endpoint host.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<SigningService>,
    /// AWS profile for `auth = "sigv4"`; empty: `AWS_PROFILE`, else `default`.
    pub profile: String,
    /// PEM file of extra CA certificates trusted besides the system's; empty: none.
    pub ca_file: String,
    /// Whether request bodies are sent gzip-compressed.
    pub gzip: bool,
    /// Longest wait to connect to an endpoint.
    #[serde(serialize_with = "ser_duration")]
    pub connect_timeout: Duration,
    /// Longest wait for a whole `_bulk` request and its answer.
    #[serde(serialize_with = "ser_duration")]
    pub request_timeout: Duration,
    /// Largest `_bulk` body before compression.
    #[serde(serialize_with = "ser_size")]
    pub max_bulk_size: u64,
    /// Most documents in one `_bulk` request.
    pub max_bulk_documents: u64,
    /// Most `_bulk` requests in flight at once for this stream.
    pub max_concurrent_requests: u64,
}

impl ElasticsearchConfig {
    /// The built-in defaults: off; when on, daily indices by arrival time, record ids as
    /// `_id`, 10 MiB gzip-compressed `_bulk` requests, four at a time.
    pub fn builtin() -> ElasticsearchConfig {
        ElasticsearchConfig {
            enabled: false,
            endpoints: Vec::new(),
            endpoint_selection: EndpointSelection::RoundRobin,
            index: String::new(),
            rotation: Rotation::OneDay,
            rotation_time: RotationTime::Arrival,
            document_id: DocumentIdMode::Record,
            action: BulkAction::Index,
            auth: EsAuth::None,
            username: String::new(),
            password: None,
            region: String::new(),
            service: None,
            profile: String::new(),
            ca_file: String::new(),
            gzip: true,
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            max_bulk_size: 10 * MIB,
            max_bulk_documents: 10_000,
            max_concurrent_requests: 4,
        }
    }

    /// The index name before its rotation suffix, for `stream`.
    pub fn index_name<'a>(&'a self, stream: &'a str) -> &'a str {
        if self.index.is_empty() {
            stream
        } else {
            &self.index
        }
    }

    /// The CA file, if one is set.
    pub fn ca_path(&self) -> Option<PathBuf> {
        (!self.ca_file.is_empty()).then(|| PathBuf::from(&self.ca_file))
    }
}

/// Reads an `elasticsearch` table, taking unset values from `base`.
pub(crate) fn read_elasticsearch(
    mut t: Section<'_>,
    base: &ElasticsearchConfig,
) -> ElasticsearchConfig {
    let enabled = t.bool("enabled", base.enabled);
    let endpoints = if t.has("endpoints") {
        t.string_list("endpoints")
    } else {
        base.endpoints.clone()
    };
    for endpoint in &endpoints {
        if let Err(why) = check_endpoint(endpoint) {
            let key = t.key("endpoints");
            t.problem(
                "endpoints",
                format!("`{key}` has the endpoint `{endpoint}`, which {why}"),
            );
        }
    }
    if enabled && endpoints.is_empty() {
        let (key, on) = (t.key("endpoints"), t.key("enabled"));
        t.problem(
            "endpoints",
            format!("`{key}` must list at least one endpoint when `{on}` is true"),
        );
    }
    let index = t.string("index", &base.index);
    if !index.is_empty()
        && let Err(why) = crate::validate_stream_name(&index)
    {
        let key = t.key("index");
        t.problem(
            "index",
            format!("`{key}` is not a valid index name ({why}), got `{index}`"),
        );
    }
    let (auth, username, password, region) = read_auth(&mut t, base);
    let config = ElasticsearchConfig {
        enabled,
        endpoints,
        endpoint_selection: t.choice("endpoint_selection", base.endpoint_selection),
        index,
        rotation: t.choice("rotation", base.rotation),
        rotation_time: t.choice("rotation_time", base.rotation_time),
        document_id: t.choice("document_id", base.document_id),
        action: t.choice("action", base.action),
        auth,
        username,
        password,
        region,
        service: t.choice("service", base.service),
        profile: t.string("profile", &base.profile),
        ca_file: t.string("ca_file", &base.ca_file),
        gzip: t.bool("gzip", base.gzip),
        connect_timeout: t.duration(
            "connect_timeout",
            base.connect_timeout,
            Duration::from_millis(10),
            Duration::from_secs(600),
        ),
        request_timeout: t.duration(
            "request_timeout",
            base.request_timeout,
            Duration::from_millis(100),
            Duration::from_secs(3600),
        ),
        max_bulk_size: t.size("max_bulk_size", base.max_bulk_size, 64 * KIB, 100 * MIB),
        max_bulk_documents: t.int("max_bulk_documents", base.max_bulk_documents, 1, 100_000),
        max_concurrent_requests: t.int(
            "max_concurrent_requests",
            base.max_concurrent_requests,
            1,
            64,
        ),
    };
    t.finish();
    config
}

/// `auth` and what it needs: the user and password of `basic`, the region of `sigv4`.
fn read_auth(
    t: &mut Section<'_>,
    base: &ElasticsearchConfig,
) -> (EsAuth, String, Option<SecretText>, String) {
    let auth = t.choice("auth", base.auth);
    let username = t.string("username", &base.username);
    let password = match t.string("password", "") {
        p if p.is_empty() => base.password.clone(),
        p => Some(SecretText::new(p)),
    };
    if auth == EsAuth::Basic && (username.is_empty() || password.is_none()) {
        let (u, p, a) = (t.key("username"), t.key("password"), t.key("auth"));
        t.problem(
            "auth",
            format!("`{u}` and `{p}` must both be set when `{a}` is \"basic\""),
        );
    }
    let region = t.string("region", &base.region);
    crate::sigproxy::check_region(t, "region", &region);
    (auth, username, password, region)
}

/// Checks `[http(s)://]host[:port][/path]`; the message completes "the endpoint … ".
fn check_endpoint(text: &str) -> Result<(), &'static str> {
    let rest = match text.split_once("://") {
        Some((scheme, rest)) if scheme == "http" || scheme == "https" => rest,
        Some(_) => return Err("must use http:// or https://"),
        None => text,
    };
    let authority = rest.split('/').next().unwrap_or("");
    if rest.contains(['?', '#']) {
        return Err("must not have a query or fragment");
    }
    if authority.contains('@') {
        return Err("must not hold credentials (use `username` and `password`)");
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((addr, port)) => {
                check_port(port)?;
                addr
            }
            None => return Err("has an IPv6 address without `]`"),
        },
        None => match authority.rsplit_once(':') {
            Some((host, port)) => {
                check_port(&format!(":{port}"))?;
                host
            }
            None => authority,
        },
    };
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err("has no host");
    }
    Ok(())
}

fn check_port(rest: &str) -> Result<(), &'static str> {
    match rest.strip_prefix(':') {
        None if rest.is_empty() => Ok(()),
        Some(p) if p.parse::<u16>().is_ok() => Ok(()),
        _ => Err("has a port that is not a number from 0 to 65535"),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use crate::Config;

    use super::*;

    fn problems(text: &str) -> Vec<String> {
        match Config::parse(text, &BTreeMap::new()) {
            Ok(_) => panic!("expected problems for {text:?}"),
            Err(e) => e.problems(),
        }
    }

    #[test]
    fn the_destination_is_off_by_default_with_firehose_like_settings() {
        let c = Config::parse("", &BTreeMap::new()).unwrap();
        let es = &c.stream("web").elasticsearch;
        assert!(!es.enabled);
        assert_eq!(es.rotation, Rotation::OneDay);
        assert_eq!(es.rotation_time, RotationTime::Arrival);
        assert_eq!(es.document_id, DocumentIdMode::Record);
        assert_eq!(es.max_bulk_size, 10 * MIB);
        assert_eq!(es.index_name("web"), "web");
    }

    #[test]
    fn example_file_documents_the_elasticsearch_defaults() {
        let text = include_str!("../../hydrant.example.toml");
        let example = Config::parse(text, &BTreeMap::new()).unwrap();
        assert_eq!(
            toml::to_string(&example.defaults.elasticsearch).unwrap(),
            toml::to_string(&ElasticsearchConfig::builtin()).unwrap()
        );
    }

    #[test]
    fn a_stream_turns_it_on_and_inherits_the_rest_from_defaults() {
        let c = Config::parse(
            "[defaults.elasticsearch]\nendpoints = [\"https://a:9200\", \"b\"]\nrotation = \"OneHour\"\n[streams.web.elasticsearch]\nenabled = true\nindex = \"logs\"\n",
            &BTreeMap::new(),
        )
        .unwrap();
        let es = &c.stream("web").elasticsearch;
        assert!(es.enabled);
        assert_eq!(es.endpoints, ["https://a:9200", "b"]);
        assert_eq!(es.rotation, Rotation::OneHour);
        assert_eq!(es.index_name("web"), "logs");
        assert!(!c.stream("other").elasticsearch.enabled);
    }

    #[test]
    fn enabled_without_endpoints_is_rejected() {
        assert_eq!(
            problems("[defaults.elasticsearch]\nenabled = true\n"),
            vec![
                "`defaults.elasticsearch.endpoints` must list at least one endpoint when `defaults.elasticsearch.enabled` is true"
            ]
        );
    }

    #[test]
    fn malformed_endpoints_are_each_named() {
        let p = problems(
            "[defaults.elasticsearch]\nendpoints = [\"ftp://x\", \"https://u:p@x\", \"http://x:port\", \"https://x/p?q=1\", \"http://[::1]:9200/es\"]\n",
        );
        assert_eq!(
            p,
            vec![
                "`defaults.elasticsearch.endpoints` has the endpoint `ftp://x`, which must use http:// or https://",
                "`defaults.elasticsearch.endpoints` has the endpoint `https://u:p@x`, which must not hold credentials (use `username` and `password`)",
                "`defaults.elasticsearch.endpoints` has the endpoint `http://x:port`, which has a port that is not a number from 0 to 65535",
                "`defaults.elasticsearch.endpoints` has the endpoint `https://x/p?q=1`, which must not have a query or fragment",
            ]
        );
    }

    #[test]
    fn basic_auth_needs_a_user_and_a_password_that_is_never_rendered() {
        assert_eq!(
            problems("[defaults.elasticsearch]\nauth = \"basic\"\nusername = \"hy\"\n"),
            vec![
                "`defaults.elasticsearch.username` and `defaults.elasticsearch.password` must both be set when `defaults.elasticsearch.auth` is \"basic\""
            ]
        );
        let c = Config::parse(
            "[defaults.elasticsearch]\nauth = \"basic\"\nusername = \"hy\"\npassword = \"hunter2\"\n",
            &BTreeMap::new(),
        )
        .unwrap();
        let es = &c.defaults.elasticsearch;
        assert_eq!(es.password.as_ref().map(|p| p.expose()), Some("hunter2"));
        assert!(!c.to_toml().contains("hunter2"));
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn bad_index_names_and_choices_name_key_and_value() {
        let p = problems(
            "[streams.web.elasticsearch]\nindex = \"Logs\"\nrotation = \"Daily\"\ndocument_id = \"auto\"\nauth = \"iam\"\n",
        );
        assert_eq!(
            p,
            vec![
                "`streams.web.elasticsearch.index` is not a valid index name (it must be lowercase), got `Logs`",
                "`streams.web.elasticsearch.auth` must be one of \"none\", \"basic\", \"sigv4\", got `\"iam\"`",
                "`streams.web.elasticsearch.rotation` must be one of \"NoRotation\", \"OneHour\", \"OneDay\", \"OneWeek\", \"OneMonth\", got `\"Daily\"`",
                "`streams.web.elasticsearch.document_id` must be one of \"record\", \"none\", got `\"auto\"`",
            ]
        );
    }

    #[test]
    fn bulk_limits_are_bounded() {
        let p = problems(
            "[defaults.elasticsearch]\nmax_bulk_size = \"200MiB\"\nmax_concurrent_requests = 0\n",
        );
        assert_eq!(
            p,
            vec![
                "`defaults.elasticsearch.max_bulk_size` must be between 64 KiB and 100 MiB, got `200MiB`",
                "`defaults.elasticsearch.max_concurrent_requests` must be an integer from 1 to 64, got `0`",
            ]
        );
    }

    #[test]
    fn endpoints_can_be_set_from_the_environment() {
        let env = BTreeMap::from([(
            "HYDRANT_STREAMS__WEB__ELASTICSEARCH__ENDPOINTS".to_string(),
            "[\"http://127.0.0.1:9300\"]".to_string(),
        )]);
        let c = Config::parse("", &env).unwrap();
        assert_eq!(
            c.stream("web").elasticsearch.endpoints,
            ["http://127.0.0.1:9300"]
        );
    }
}
