//! Elasticsearch's error body, the one shape every refusal of Hydrant's HTTP API takes.

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::{Value, json};

/// `{"error":{"root_cause":[{"type","reason"}],"type","reason"},"status":N}`, as Elasticsearch
/// answers; `extra` fields (such as `index` or `max_buckets`) go into the cause and the error.
pub fn es_error_body(status: StatusCode, kind: &str, reason: &str, extra: Option<Value>) -> Value {
    let mut cause = json!({ "type": kind, "reason": reason });
    if let (Some(Value::Object(extra)), Value::Object(c)) = (extra, &mut cause) {
        c.extend(extra);
    }
    let mut error = cause.clone();
    error["root_cause"] = json!([cause]);
    json!({ "error": error, "status": status.as_u16() })
}

/// The response carrying [`es_error_body`].
pub fn es_error(status: StatusCode, kind: &str, reason: &str) -> Response {
    (
        status,
        axum::Json(es_error_body(status, kind, reason, None)),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_has_elasticsearchs_shape() {
        let body = es_error_body(
            StatusCode::NOT_FOUND,
            "index_not_found_exception",
            "no such index [web]",
            Some(json!({"index": "web"})),
        );
        assert_eq!(
            body,
            json!({
                "error": {
                    "root_cause": [{"type": "index_not_found_exception", "reason": "no such index [web]", "index": "web"}],
                    "type": "index_not_found_exception",
                    "reason": "no such index [web]",
                    "index": "web",
                },
                "status": 404,
            })
        );
    }
}
