//! Which role a request needs, from its method and path (and, for `POST /`, whether it is a
//! Firehose call). Writing is the ingest APIs and single documents; administering is whatever
//! creates or removes indices, templates, pipelines and dashboards; reading is the rest —
//! search, counts, mappings, `_cat`, metrics, the UI.

use axum::http::{HeaderMap, Method};
use hydrant_config::Role;

/// What a request needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Any signed-in principal (who am I, one's own API keys).
    SignedIn,
    /// A principal holding this role.
    Needs(Role),
}

/// The access `method path` needs.
pub fn required(method: &Method, path: &str, headers: &HeaderMap) -> Access {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let first = segments.first().copied().unwrap_or("");
    let last = segments.last().copied().unwrap_or("");
    let has = |s: &str| segments.contains(&s);
    if first == "_security" {
        return Access::SignedIn;
    }
    // Ingest: NDJSON, `_bulk`, Firehose, single documents, making writes searchable.
    let firehose =
        segments.is_empty() && *method == Method::POST && headers.contains_key("x-amz-target");
    let documents = has("_doc") || has("_create") || has("_update");
    if firehose
        || (first == "v1" && segments.get(1) == Some(&"streams"))
        || last == "_bulk"
        || (documents && *method != Method::GET && *method != Method::HEAD)
        || matches!(last, "_refresh" | "_flush")
    {
        return Access::Needs(Role::Writer);
    }
    // Closing a point in time or a scroll is part of reading.
    if has("_pit") || (first == "_search" && segments.get(1) == Some(&"scroll")) {
        return Access::Needs(Role::Reader);
    }
    // What changes indices, templates, aliases and settings is administering, whichever
    // method it comes with (Elasticsearch takes POST for most of these too).
    let administers = matches!(
        first,
        "_index_template" | "_template" | "_component_template" | "_aliases"
    ) || matches!(
        last,
        "_mapping" | "_settings" | "_aliases" | "_close" | "_open" | "_delete_by_query"
    ) || has("_alias")
        || has("_aliases");
    if *method == Method::DELETE
        || *method == Method::PUT
        || (*method == Method::POST && administers)
    {
        return Access::Needs(Role::Admin);
    }
    Access::Needs(Role::Reader)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn needs(method: Method, path: &str) -> Access {
        required(&method, path, &HeaderMap::new())
    }

    #[test]
    fn each_api_needs_its_role() {
        use Access::*;
        use Role::*;
        let cases = [
            (Method::POST, "/v1/streams/web/records", Needs(Writer)),
            (Method::POST, "/_bulk", Needs(Writer)),
            (Method::PUT, "/web/_bulk", Needs(Writer)),
            (Method::PUT, "/web/_doc/1", Needs(Writer)),
            (Method::POST, "/web/_refresh", Needs(Writer)),
            (Method::GET, "/web/_doc/1", Needs(Reader)),
            (Method::POST, "/web/_search", Needs(Reader)),
            (Method::GET, "/_cat/indices", Needs(Reader)),
            (Method::POST, "/_msearch", Needs(Reader)),
            (Method::GET, "/_hydrant/metrics", Needs(Reader)),
            (Method::GET, "/_ui/discover", Needs(Reader)),
            (Method::GET, "/", Needs(Reader)),
            (Method::POST, "/web/_pit", Needs(Reader)),
            (Method::DELETE, "/_pit", Needs(Reader)),
            (Method::DELETE, "/_search/scroll", Needs(Reader)),
            (Method::DELETE, "/web-2026-11-26", Needs(Admin)),
            (Method::PUT, "/_hydrant/ui/dashboards/ops", Needs(Admin)),
            (Method::PUT, "/_index_template/logs", Needs(Admin)),
            (Method::POST, "/web/_delete_by_query", Needs(Admin)),
            (Method::POST, "/_index_template/logs", Needs(Admin)),
            (Method::POST, "/_template/logs", Needs(Admin)),
            (Method::POST, "/_aliases", Needs(Admin)),
            (Method::POST, "/web/_alias/all", Needs(Admin)),
            (Method::POST, "/web/_aliases/all", Needs(Admin)),
            (Method::POST, "/web/_mapping", Needs(Admin)),
            (Method::POST, "/web/_close", Needs(Admin)),
            (Method::POST, "/web/_open", Needs(Admin)),
            (Method::PUT, "/web", Needs(Admin)),
            (Method::PUT, "/_cluster/settings", Needs(Admin)),
            (Method::GET, "/_aliases", Needs(Reader)),
            (Method::GET, "/_alias/all", Needs(Reader)),
            (Method::GET, "/web/_mapping", Needs(Reader)),
            (Method::GET, "/_index_template/logs", Needs(Reader)),
            (Method::POST, "/_mget", Needs(Reader)),
            (Method::GET, "/_tasks/hydrant:1", Needs(Reader)),
            (Method::POST, "/web/_update/1", Needs(Writer)),
            (Method::DELETE, "/web/_doc/1", Needs(Writer)),
            (Method::GET, "/_security/_authenticate", SignedIn),
            (Method::POST, "/_security/api_key", SignedIn),
        ];
        for (method, path, want) in cases {
            assert_eq!(needs(method.clone(), path), want, "{method} {path}");
        }
        let mut firehose = HeaderMap::new();
        firehose.insert(
            "x-amz-target",
            "Firehose_20150804.PutRecordBatch".parse().unwrap(),
        );
        assert_eq!(
            required(&Method::POST, "/", &firehose),
            Access::Needs(Role::Writer)
        );
    }
}
