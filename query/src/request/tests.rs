//! A search body and URL parameters read into a [`SearchRequest`]: defaults, paging and its
//! limits, the URL's `q=`, sort shapes, totals, and the errors Elasticsearch gives.

use serde_json::json;

use super::*;
use crate::request::sort::SortTarget;

fn parse(body: serde_json::Value) -> Result<SearchRequest, QueryError> {
    SearchRequest::parse(body.to_string().as_bytes(), &SearchParams::default())
}

#[test]
fn an_empty_body_is_match_all_ten_hits_totals_up_to_ten_thousand() {
    let req = SearchRequest::parse(b"  ", &SearchParams::default()).unwrap();
    assert_eq!(req.query, QueryAst::MatchAll);
    assert_eq!((req.from, req.size), (0, 10));
    assert_eq!(req.track_total_hits, TrackTotalHits::UpTo(10_000));
    assert!(req.sort.is_empty() && req.aggs.is_empty() && req.timeout.is_none());
}

#[test]
fn paging_comes_from_the_body_before_the_url_and_stays_within_the_result_window() {
    let params = SearchParams {
        from: Some(5),
        size: Some(7),
        ..SearchParams::default()
    };
    let req = SearchRequest::parse(b"{}", &params).unwrap();
    assert_eq!((req.from, req.size), (5, 7));
    let req = SearchRequest::parse(br#"{"from": 1, "size": 2}"#, &params).unwrap();
    assert_eq!((req.from, req.size), (1, 2));
    let err = parse(json!({"from": 9_995, "size": 10})).unwrap_err();
    assert_eq!(err.es_type(), "illegal_argument_exception");
    assert!(err.to_string().contains("[10005]"), "{err}");
    let err = parse(json!({"size": -1})).unwrap_err();
    assert!(err.to_string().contains("cannot be negative"), "{err}");
}

#[test]
fn q_in_the_url_replaces_the_body_query_and_honours_its_options() {
    let params = SearchParams {
        q: Some("level:error".into()),
        lenient: Some(true),
        ..SearchParams::default()
    };
    let req = SearchRequest::parse(br#"{"query": {"match_none": {}}}"#, &params).unwrap();
    let QueryAst::Lenient(inner) = req.query else {
        panic!("{:?}", req.query)
    };
    assert!(
        matches!(*inner, QueryAst::Match { ref field, .. } if field.as_deref() == Some("level"))
    );
}

#[test]
fn sorts_in_every_shape_elasticsearch_takes() {
    let req = parse(json!({"sort": ["@timestamp", {"n": "desc"}, {"m": {"order": "asc", "missing": "_first"}}, "_doc"]})).unwrap();
    let targets: Vec<&SortTarget> = req.sort.iter().map(|s| &s.target).collect();
    assert_eq!(targets.len(), 4);
    assert!(!req.sort[0].desc && req.sort[1].desc && !req.sort[2].desc);
    assert_eq!(*targets[3], SortTarget::Doc);
    let err = parse(json!({"sort": {"n": "sideways"}})).unwrap_err();
    assert_eq!(err.status().as_u16(), 400, "{err}");
}

#[test]
fn track_total_hits_as_a_flag_or_a_bound() {
    let t = |v: serde_json::Value| {
        parse(json!({"track_total_hits": v}))
            .unwrap()
            .track_total_hits
    };
    assert_eq!(t(json!(true)), TrackTotalHits::Exact);
    assert_eq!(t(json!(false)), TrackTotalHits::Off);
    assert_eq!(t(json!(100)), TrackTotalHits::UpTo(100));
}

#[test]
fn unknown_keys_and_bad_json_are_elasticsearchs_errors() {
    let err = parse(json!({"querry": {}})).unwrap_err();
    assert_eq!(err.status().as_u16(), 400);
    assert!(err.to_string().contains("querry"), "{err}");
    // Jackson's types: the body ends early, or is no JSON.
    let err = SearchRequest::parse(b"{\"query\":", &SearchParams::default()).unwrap_err();
    assert_eq!(err.es_type(), "json_e_o_f_exception");
    let err = SearchRequest::parse(b"size=10", &SearchParams::default()).unwrap_err();
    assert_eq!(err.es_type(), "json_parse_exception");
    let err = SearchRequest::parse(b"[1]", &SearchParams::default()).unwrap_err();
    assert_eq!(err.es_type(), "parsing_exception");
}

#[test]
fn timeouts_are_read_as_durations() {
    let req = parse(json!({"timeout": "150ms"})).unwrap();
    assert_eq!(req.timeout, Some(Duration::from_millis(150)));
    assert!(parse(json!({"timeout": "soon"})).is_err());
}
