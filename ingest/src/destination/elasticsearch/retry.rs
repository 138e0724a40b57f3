//! The Elasticsearch destination's retry logic: what one `_bulk` exchange means for each of
//! its documents. The shared delivery loop does the waiting; this decides, per document, what
//! is worth waiting for:
//!
//! - an item answered 2xx is delivered; with `action = "create"`, so is a 409 version conflict
//!   (the `_id` exists: it is this record, sent by an earlier attempt whose answer was lost);
//! - an item answered 429 or 5xx is retried alone;
//! - an item answered any other 4xx (a mapping error, a bad document) is refused for good and
//!   goes to the error output with the cluster's reason;
//! - when the request as a whole fails — no connection, a timeout, 408, 429, 5xx, or 401/403
//!   (credentials can be fixed or refreshed) — every document of it is retried; 413 means the
//!   request was too large and is retried smaller; any other whole-request 4xx is refused;
//! - a 2xx whose body cannot be read, or that answers a different number of items than were
//!   sent, is retried whole: with record ids as `_id` a resend overwrites, never duplicates.

use hydrant_config::BulkAction;
use serde::Deserialize;

use crate::destination::{Failure, ItemResult};

/// Longest part of an unreadable answer quoted in a failure message.
const QUOTE_LIMIT: usize = 300;

/// A request that got no HTTP answer.
#[derive(Debug, Clone)]
pub(crate) struct TransportFailure {
    /// `Timeout`, `ConnectionError` or `RequestError`.
    pub(crate) code: &'static str,
    /// The error and its causes.
    pub(crate) message: String,
}

/// What a `_bulk` request got back.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Exchange<'a> {
    /// An HTTP answer.
    Answered { status: u16, body: &'a [u8] },
    /// No answer.
    Lost(&'a TransportFailure),
}

/// What the retry logic makes of one exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// One result per document, in request order.
    Items(Vec<ItemResult>),
    /// The same result for every document.
    Whole(ItemResult),
    /// 413: the request was too large for the cluster; its documents should be resent in
    /// smaller requests.
    TooLarge,
}

#[derive(Deserialize)]
struct BulkAnswer {
    #[serde(default)]
    items: Vec<ActionItem>,
}

/// `{"index": {...}}`: one answer per action, named after it.
#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum ActionItem {
    Index(ItemAnswer),
    Create(ItemAnswer),
    Update(ItemAnswer),
    Delete(ItemAnswer),
}

impl ActionItem {
    fn answer(&self) -> &ItemAnswer {
        match self {
            ActionItem::Index(a)
            | ActionItem::Create(a)
            | ActionItem::Update(a)
            | ActionItem::Delete(a) => a,
        }
    }
}

#[derive(Deserialize)]
struct ItemAnswer {
    status: u16,
    #[serde(default)]
    error: Option<ErrorDetail>,
}

/// An ES error: an object with `type`, `reason` and maybe `caused_by`; very old versions
/// send a string.
#[derive(Deserialize, Debug)]
#[serde(untagged)]
enum ErrorDetail {
    Object {
        #[serde(rename = "type", default)]
        kind: String,
        #[serde(default)]
        reason: Option<String>,
        #[serde(default)]
        caused_by: Option<Box<ErrorDetail>>,
    },
    Text(String),
}

impl ErrorDetail {
    fn kind(&self) -> &str {
        match self {
            ErrorDetail::Object { kind, .. } => kind,
            ErrorDetail::Text(_) => "",
        }
    }

    /// `type: reason`, with the cause's reason when it adds something.
    fn describe(&self) -> String {
        match self {
            ErrorDetail::Text(t) => t.clone(),
            ErrorDetail::Object {
                kind,
                reason,
                caused_by,
            } => {
                let mut text = match reason {
                    Some(r) => format!("{kind}: {r}"),
                    None => kind.clone(),
                };
                if let Some(cause) = caused_by {
                    text.push_str(" (caused by ");
                    text.push_str(&cause.describe());
                    text.push(')');
                }
                text
            }
        }
    }
}

/// Judges one exchange that carried `docs` documents with `action`.
pub(crate) fn judge(exchange: Exchange<'_>, docs: usize, action: BulkAction) -> Verdict {
    let (status, body) = match exchange {
        Exchange::Lost(t) => {
            return Verdict::Whole(ItemResult::Retry(Failure {
                code: t.code.to_string(),
                message: t.message.clone(),
            }));
        }
        Exchange::Answered { status, body } => (status, body),
    };
    if !(200..300).contains(&status) {
        return judge_request_failure(status, body, docs);
    }
    let answer: BulkAnswer = match serde_json::from_slice(body) {
        Ok(a) => a,
        Err(e) => {
            return Verdict::Whole(ItemResult::Retry(Failure {
                code: "InvalidResponse".to_string(),
                message: format!("the _bulk answer is not readable ({e}): {}", quote(body)),
            }));
        }
    };
    if answer.items.len() != docs {
        return Verdict::Whole(ItemResult::Retry(Failure {
            code: "InvalidResponse".to_string(),
            message: format!(
                "the _bulk answer has {} items for {docs} documents",
                answer.items.len()
            ),
        }));
    }
    Verdict::Items(
        answer
            .items
            .iter()
            .map(|item| {
                let a = item.answer();
                judge_item(a.status, a.error.as_ref(), action)
            })
            .collect(),
    )
}

fn judge_item(status: u16, error: Option<&ErrorDetail>, action: BulkAction) -> ItemResult {
    if (200..300).contains(&status) {
        return ItemResult::Delivered;
    }
    let kind = error.map_or("", ErrorDetail::kind);
    if status == 409 && action == BulkAction::Create && kind == "version_conflict_engine_exception"
    {
        return ItemResult::Delivered;
    }
    let failure = Failure {
        code: status.to_string(),
        message: error.map_or_else(|| format!("status {status}"), ErrorDetail::describe),
    };
    if status == 429 || status >= 500 {
        ItemResult::Retry(failure)
    } else {
        ItemResult::Fail(failure)
    }
}

fn judge_request_failure(status: u16, body: &[u8], docs: usize) -> Verdict {
    let failure = Failure {
        code: status.to_string(),
        message: request_error_message(body),
    };
    match status {
        413 if docs > 1 => Verdict::TooLarge,
        413 => Verdict::Whole(ItemResult::Fail(Failure {
            message: format!(
                "the document alone is larger than the cluster accepts in one request (http.max_content_length): {}",
                failure.message
            ),
            ..failure
        })),
        401 | 403 | 408 | 429 | 500.. => Verdict::Whole(ItemResult::Retry(failure)),
        _ => Verdict::Whole(ItemResult::Fail(failure)),
    }
}

/// ES's `{"error": {...}}`, AWS's `{"message": ...}`, or the start of the body.
fn request_error_message(body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct Shape {
        #[serde(default)]
        error: Option<ErrorDetail>,
        #[serde(default, alias = "Message")]
        message: Option<String>,
    }
    match serde_json::from_slice::<Shape>(body) {
        Ok(Shape { error: Some(e), .. }) => e.describe(),
        Ok(Shape {
            message: Some(m), ..
        }) => m,
        _ if body.is_empty() => "empty answer".to_string(),
        _ => quote(body),
    }
}

fn quote(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    match text.char_indices().nth(QUOTE_LIMIT) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.into_owned(),
    }
}

/// The transport failure for a `reqwest` error, its causes spelled out.
pub(crate) fn transport_failure(e: &reqwest::Error) -> TransportFailure {
    let code = if e.is_timeout() {
        "Timeout"
    } else if e.is_connect() {
        "ConnectionError"
    } else {
        "RequestError"
    };
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let part = s.to_string();
        if !message.contains(&part) {
            message.push_str(": ");
            message.push_str(&part);
        }
        source = s.source();
    }
    TransportFailure { code, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answered(status: u16, body: &str) -> Verdict {
        judge(
            Exchange::Answered {
                status,
                body: body.as_bytes(),
            },
            3,
            BulkAction::Index,
        )
    }

    fn code(r: &ItemResult) -> (&'static str, &str) {
        match r {
            ItemResult::Delivered => ("delivered", ""),
            ItemResult::Retry(f) => ("retry", &f.code),
            ItemResult::Fail(f) => ("fail", &f.code),
        }
    }

    #[test]
    fn bulk_item_429_and_5xx_are_retried_alone_and_other_4xx_refused() {
        let body = r#"{"took":3,"errors":true,"items":[
            {"index":{"_index":"logs","_id":"a","status":201,"result":"created"}},
            {"index":{"_index":"logs","_id":"b","status":429,"error":{"type":"es_rejected_execution_exception","reason":"rejected execution"}}},
            {"index":{"_index":"logs","_id":"c","status":400,"error":{"type":"mapper_parsing_exception","reason":"failed to parse field [n] of type [long]","caused_by":{"type":"illegal_argument_exception","reason":"For input string: \"x\""}}}}
        ]}"#;
        let Verdict::Items(items) = answered(200, body) else {
            panic!("per item")
        };
        let codes: Vec<_> = items.iter().map(code).collect();
        assert_eq!(
            codes,
            [("delivered", ""), ("retry", "429"), ("fail", "400")]
        );
        let ItemResult::Fail(f) = &items[2] else {
            panic!()
        };
        assert_eq!(
            f.message,
            "mapper_parsing_exception: failed to parse field [n] of type [long] (caused by illegal_argument_exception: For input string: \"x\")"
        );
    }

    #[test]
    fn filtered_answers_are_read_too() {
        let body = r#"{"errors":true,"items":[{"index":{"status":200}},{"create":{"status":503,"error":{"type":"unavailable_shards_exception","reason":"primary shard is not active"}}},{"index":{"status":201}}]}"#;
        let Verdict::Items(items) = answered(200, body) else {
            panic!("per item")
        };
        let codes: Vec<_> = items.iter().map(code).collect();
        assert_eq!(
            codes,
            [("delivered", ""), ("retry", "503"), ("delivered", "")]
        );
    }

    #[test]
    fn a_create_conflict_means_the_document_is_already_there() {
        let body = r#"{"errors":true,"items":[{"create":{"status":409,"error":{"type":"version_conflict_engine_exception","reason":"document already exists"}}}]}"#;
        let judged = |action| {
            judge(
                Exchange::Answered {
                    status: 200,
                    body: body.as_bytes(),
                },
                1,
                action,
            )
        };
        assert_eq!(
            judged(BulkAction::Create),
            Verdict::Items(vec![ItemResult::Delivered])
        );
        let Verdict::Items(items) = judged(BulkAction::Index) else {
            panic!()
        };
        assert_eq!(code(&items[0]), ("fail", "409"));
    }

    #[test]
    fn whole_request_failures_retry_the_request_or_refuse_it() {
        let es_503 = r#"{"error":{"root_cause":[],"type":"cluster_block_exception","reason":"blocked by: [SERVICE_UNAVAILABLE/2/no master];"},"status":503}"#;
        let Verdict::Whole(ItemResult::Retry(f)) = answered(503, es_503) else {
            panic!("retried")
        };
        assert_eq!(f.code, "503");
        assert_eq!(
            f.message,
            "cluster_block_exception: blocked by: [SERVICE_UNAVAILABLE/2/no master];"
        );
        for status in [401, 403, 408, 429, 500, 502, 504] {
            assert!(
                matches!(answered(status, ""), Verdict::Whole(ItemResult::Retry(_))),
                "{status}"
            );
        }
        let Verdict::Whole(ItemResult::Fail(f)) =
            answered(400, r#"{"message":"bad request shape"}"#)
        else {
            panic!("refused")
        };
        assert_eq!(
            (f.code.as_str(), f.message.as_str()),
            ("400", "bad request shape")
        );
        assert_eq!(answered(413, "too big"), Verdict::TooLarge);
    }

    #[test]
    fn a_single_document_too_large_for_the_cluster_is_refused() {
        let v = judge(
            Exchange::Answered {
                status: 413,
                body: b"",
            },
            1,
            BulkAction::Index,
        );
        assert!(matches!(v, Verdict::Whole(ItemResult::Fail(ref f)) if f.code == "413"));
    }

    #[test]
    fn unreadable_or_mismatched_answers_are_retried_whole() {
        assert!(matches!(
            answered(200, "<html>proxy error</html>"),
            Verdict::Whole(ItemResult::Retry(ref f)) if f.code == "InvalidResponse" && f.message.ends_with("<html>proxy error</html>")
        ));
        assert!(matches!(
            answered(200, r#"{"errors":false,"items":[{"index":{"status":201}}]}"#),
            Verdict::Whole(ItemResult::Retry(ref f)) if f.message == "the _bulk answer has 1 items for 3 documents"
        ));
    }

    #[test]
    fn lost_requests_are_retried() {
        let lost = TransportFailure {
            code: "ConnectionError",
            message: "connection reset by peer".into(),
        };
        assert!(matches!(
            judge(Exchange::Lost(&lost), 5, BulkAction::Index),
            Verdict::Whole(ItemResult::Retry(ref f)) if f.code == "ConnectionError"
        ));
    }
}
