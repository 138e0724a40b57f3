//! The search router in-process (`oneshot`): answers and refusals in Elasticsearch's shapes,
//! the body limit from `http.max_body_size`, and the search gate that bounds how many searches
//! run and wait.

use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use serde_json::json;
use tower::ServiceExt;

use super::*;
use crate::testing::corpus;

fn limits(running: u64, queued: u64) -> hydrant_config::QueryConfig {
    hydrant_config::QueryConfig {
        max_concurrent_searches: running,
        max_queued_searches: queued,
        default_search_timeout: Duration::from_secs(60),
        request_cache_size: 1 << 20,
        request_cache_min_docs: 0,
    }
}

/// The search routes over corpus `c`, with room for two searches and ten waiting.
fn app_over(c: &crate::testing::Corpus) -> Router {
    router(QueryState {
        catalog: c.catalog.clone(),
        node_name: "test".into(),
        max_body: 64 * 1024,
        limits: limits(2, 10),
        request_cache: Arc::new(crate::RequestCache::new(1 << 20, 0)),
    })
}

async fn call(router: &Router, request: Request<Body>) -> (u16, Value) {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn post_json(uri: &str, body: Value) -> Request<Body> {
    Request::post(uri)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

#[tokio::test]
async fn search_count_and_errors_over_the_router() {
    let c = corpus("web", &[json!({"n": 1}), json!({"n": 2})], 1, None);
    let app = app_over(&c);
    let (status, a) = call(
        &app,
        post_json("/web/_search", json!({"query": {"term": {"n": 2}}})),
    )
    .await;
    assert_eq!(status, 200, "{a}");
    assert_eq!(a["hits"]["total"]["value"], 1);
    let (status, a) = call(
        &app,
        Request::get("/web/_count").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!((status, a["count"].as_u64()), (200, Some(2)));
    // terminate_after stops each shard's count there, and says so.
    let (status, a) = call(
        &app,
        Request::get("/web/_count?terminate_after=1")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{a}");
    assert_eq!(
        (a["count"].as_u64(), &a["terminated_early"]),
        (Some(1), &json!(true))
    );
    let (status, a) = call(&app, post_json("/nope/_search", json!({}))).await;
    assert_eq!(
        (status, a["error"]["type"].as_str()),
        (404, Some("index_not_found_exception"))
    );
    let (status, a) = call(
        &app,
        post_json("/web/_search", json!({"query": {"bogus": {}}})),
    )
    .await;
    assert_eq!((status, a["status"].as_u64()), (400, Some(400)));
}

#[tokio::test]
async fn a_small_search_runs_where_it_arrived_and_a_large_one_on_the_blocking_pool() {
    // 40,000 documents, one a millisecond.
    let docs: Vec<Value> = (0..40_000)
        .map(|i| json!({"@timestamp": crate::testing::T0 + i, "n": i}))
        .collect();
    let c = corpus("web", &docs, 1, None);
    let app = app_over(&c);
    let here = || search::RAN_HERE.with(std::cell::Cell::get);
    let total = |a: &Value| a["hits"]["total"]["value"].as_u64().unwrap();
    let before = here();
    // The last second: about 1,000 documents to read.
    let last_second = json!({"size": 0, "query": {"range": {"@timestamp": {
        "gte": crate::testing::T0 + 39_000, "format": "epoch_millis"}}}});
    let (status, a) = call(&app, post_json("/web/_search", last_second)).await;
    assert_eq!((status, total(&a)), (200, 1000), "{a}");
    assert_eq!(here(), before + 1, "the small search ran on the pool");
    // Every document: too many to hold the runtime's thread for.
    let (status, a) = call(
        &app,
        post_json("/web/_search", json!({"size": 0, "track_total_hits": true})),
    )
    .await;
    assert_eq!((status, total(&a)), (200, 40_000), "{a}");
    assert_eq!(here(), before + 1, "the large search ran where it arrived");
}

#[tokio::test]
async fn the_body_limit_follows_the_configured_size() {
    let c = corpus("web", &[json!({"n": 1})], 1, None);
    let app = app_over(&c);
    let big = json!({"query": {"match": {"msg": "x".repeat(70 * 1024)}}});
    let (status, a) = call(&app, post_json("/web/_search", big)).await;
    assert_eq!(status, 413, "{a}");
    assert_eq!(a["error"]["type"], "content_too_long_exception");
    assert!(
        a["error"]["reason"].as_str().unwrap().contains("65536"),
        "{a}"
    );
}

#[tokio::test]
async fn a_full_gate_refuses_with_429_and_frees_its_place_when_a_search_ends() {
    let gate = Arc::new(SearchGate::new(&limits(1, 1)));
    let (release, held) = std::sync::mpsc::channel::<()>();
    let first = tokio::spawn({
        let gate = gate.clone();
        async move {
            gate.run(move || {
                let _ = held.recv();
                Ok(1)
            })
            .await
        }
    });
    // Wait until the first search holds the only place.
    while gate.places.available_permits() > 0 {
        tokio::task::yield_now().await;
    }
    let second = tokio::spawn({
        let gate = gate.clone();
        async move { gate.run(|| Ok(2)).await }
    });
    while gate.waiting.load(std::sync::atomic::Ordering::Acquire) == 0 {
        tokio::task::yield_now().await;
    }
    // One running, one waiting: the queue of one is full.
    let refused = gate.run(|| Ok(3)).await.unwrap_err();
    assert_eq!(refused.status().as_u16(), 429);
    assert_eq!(refused.es_type(), "es_rejected_execution_exception");
    release.send(()).unwrap();
    assert_eq!(first.await.unwrap().unwrap(), 1);
    assert_eq!(second.await.unwrap().unwrap(), 2);
    assert_eq!(gate.run(|| Ok(4)).await.unwrap(), 4);
}

#[tokio::test]
async fn the_request_cache_shows_in_node_stats_obeys_request_cache_false_and_clears() {
    let docs: Vec<Value> = (0..20)
        .map(|i| json!({"n": i, "team": if i % 2 == 0 { "a" } else { "b" }}))
        .collect();
    let c = corpus("web", &docs, 1, None);
    let app = app_over(&c);
    let panel = json!({"size": 0, "aggs": {"t": {"terms": {"field": "team.keyword"}}}});
    let stats = |app: Router| async move {
        let (status, s) = call(
            &app,
            Request::get("/_nodes/stats").body(Body::empty()).unwrap(),
        )
        .await;
        assert_eq!(status, 200);
        s["nodes"]["hydrant"]["indices"]["request_cache"].clone()
    };
    let (_, first) = call(&app, post_json("/web/_search", panel.clone())).await;
    let (_, again) = call(&app, post_json("/web/_search", panel.clone())).await;
    assert_eq!(first["aggregations"], again["aggregations"]);
    assert_eq!(again["aggregations"]["t"]["buckets"][0]["doc_count"], 10);
    let s = stats(app.clone()).await;
    assert_eq!(
        (s["hit_count"].as_u64(), s["miss_count"].as_u64()),
        (Some(1), Some(1)),
        "{s}"
    );
    assert!(s["memory_size_in_bytes"].as_u64() > Some(0));
    call(
        &app,
        post_json("/web/_search?request_cache=false", panel.clone()),
    )
    .await;
    assert_eq!(stats(app.clone()).await["hit_count"], 1);
    let (status, cleared) =
        call(&app, post_json("/web/_cache/clear?request=true", json!({}))).await;
    assert_eq!(
        (status, cleared["_shards"]["failed"].as_u64()),
        (200, Some(0)),
        "{cleared}"
    );
    let s = stats(app.clone()).await;
    assert_eq!(s["memory_size_in_bytes"], 0, "{s}");
    let (status, missing) = call(&app, post_json("/nope/_cache/clear", json!({}))).await;
    assert_eq!(
        (status, &missing["error"]["type"]),
        (404, &json!("index_not_found_exception"))
    );
    call(&app, post_json("/web/_search", panel)).await;
    assert_eq!(stats(app.clone()).await["miss_count"], 2);
}
