//! The pipelines Hydrant ships, ready to name: `?pipeline=apache`, or a stream's `pipeline`.
//!
//! Each reads a raw line from `message` and writes Elastic Common Schema fields, so Kibana's
//! and Filebeat's dashboards and queries find them (`source.address`, `source.ip`,
//! `http.request.method`, `url.original`, `http.version`, `http.response.status_code` and
//! `http.response.body.bytes` as numbers, `http.request.referrer`, `user_agent.original`;
//! `log.syslog.*`, `host.hostname`, `process.name`, `process.pid` for syslog). The log's own
//! time becomes `@timestamp`.
//!
//! The raw line is moved from `message` to `event.original`, as Filebeat keeps it: nothing
//! of the record is lost, and `message` is left for what ECS means by it — the free text of
//! a syslog line — instead of repeating fields that are now parsed. A line a pipeline cannot
//! parse fails with the grok error (the receiver decides what a failed record becomes).
//!
//! Only processors Elasticsearch has are used, so a definition can be copied to an
//! Elasticsearch cluster as it is. That is why syslog's facility and severity come from a
//! chain of `gsub`s (one per facility, one per severity) rather than arithmetic: ingest has
//! no arithmetic outside Painless scripts, which Hydrant does not run.

/// Built-in pipelines: id and definition (JSON).
pub const BUILTIN: &[(&str, &str)] = &[
    ("alb", include_str!("../builtin/alb.json")),
    ("apache", include_str!("../builtin/apache.json")),
    ("nginx", include_str!("../builtin/nginx.json")),
    ("syslog", include_str!("../builtin/syslog.json")),
];
