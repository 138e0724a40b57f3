use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

use super::*;

fn store() -> (tempfile::TempDir, Arc<DashboardStore>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(DashboardStore::new(dir.path()));
    (dir, store)
}

async fn call(
    store: &Arc<DashboardStore>,
    method: &str,
    uri: &str,
    body: &str,
) -> (StatusCode, Value) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .body(Body::from(body.to_string()))
        .unwrap();
    let response = router(store.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn a_saved_dashboard_is_listed_read_updated_and_deleted() {
    let (_dir, store) = store();
    let body = r#"{"title":"Errors","panels":[{"type":"metric","query":"level:error"}]}"#;
    let (status, answer) = call(&store, "PUT", "/_hydrant/ui/dashboards/errors", body).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert_eq!(answer["result"], "created");
    let (status, d) = call(&store, "GET", "/_hydrant/ui/dashboards/errors", "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(d["panels"][0]["query"], "level:error");
    assert_eq!(d["id"], "errors");
    assert_eq!(d["builtin"], false);
    let (status, answer) = call(
        &store,
        "PUT",
        "/_hydrant/ui/dashboards/errors",
        r#"{"title":"Errors 2"}"#,
    )
    .await;
    assert_eq!(
        (status, answer["result"].as_str()),
        (StatusCode::OK, Some("updated"))
    );
    let (_, list) = call(&store, "GET", "/_hydrant/ui/dashboards", "").await;
    let titles: Vec<&str> = list["dashboards"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["builtin"] == false)
        .filter_map(|d| d["title"].as_str())
        .collect();
    assert_eq!(titles, ["Errors 2"]);
    let (status, _) = call(&store, "DELETE", "/_hydrant/ui/dashboards/errors", "").await;
    assert_eq!(status, StatusCode::OK);
    let (status, err) = call(&store, "GET", "/_hydrant/ui/dashboards/errors", "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(err["error"]["type"], "resource_not_found_exception");
}

#[tokio::test]
async fn dashboards_survive_a_new_store_on_the_same_directory() {
    let (dir, store) = store();
    store.put("ops", br#"{"title":"Ops"}"#).unwrap();
    let reopened = DashboardStore::new(dir.path());
    assert_eq!(reopened.get("ops").unwrap()["title"], "Ops");
    assert!(!dir.path().join("ui/dashboards/ops.json.tmp").exists());
}

#[tokio::test]
async fn bad_ids_bodies_and_sizes_are_refused_with_es_errors() {
    let (_dir, store) = store();
    for (uri, body, status, kind) in [
        (
            "/_hydrant/ui/dashboards/a.b",
            r#"{"title":"x"}"#,
            400,
            "illegal_argument_exception",
        ),
        (
            "/_hydrant/ui/dashboards/x",
            r#"[1]"#,
            400,
            "parse_exception",
        ),
        (
            "/_hydrant/ui/dashboards/x",
            r#"{"title":""}"#,
            400,
            "parse_exception",
        ),
        (
            "/_hydrant/ui/dashboards/x",
            "not json",
            400,
            "parse_exception",
        ),
    ] {
        let (s, err) = call(&store, "PUT", uri, body).await;
        assert_eq!(s.as_u16(), status, "{uri} {body}: {err}");
        assert_eq!(err["error"]["type"], kind, "{err}");
    }
    let big = format!(
        r#"{{"title":"x","pad":"{}"}}"#,
        "x".repeat(MAX_DASHBOARD_BYTES)
    );
    assert!(matches!(
        store.put("big", big.as_bytes()),
        Err(UiError::TooLarge { .. })
    ));
}

#[tokio::test]
async fn built_in_dashboards_are_listed_and_read_only() {
    let (_dir, store) = store();
    let list = store.list().unwrap();
    let builtin: Vec<String> = list
        .iter()
        .filter(|d| d["builtin"] == true)
        .filter_map(|d| d["id"].as_str().map(str::to_string))
        .collect();
    assert!(!builtin.is_empty(), "{list:?}");
    let id = &builtin[0];
    assert_eq!(store.get(id).unwrap()["builtin"], true);
    assert!(matches!(
        store.put(id, br#"{"title":"mine"}"#),
        Err(UiError::BuiltIn(_))
    ));
    assert!(matches!(store.delete(id), Err(UiError::BuiltIn(_))));
}
