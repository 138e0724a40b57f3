//! One log line per class of failed document (outcome, status, error type), at most once per
//! [`EVERY`] per class, with how many were not logged since: a cluster refusing every
//! document of a busy stream must not flood the log, nor hide a new kind of failure.

use std::collections::HashMap;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::time::Instant;

use crate::destination::Failure;

/// Least time between two lines of one class.
pub(crate) const EVERY: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Class {
    outcome: &'static str,
    code: String,
    kind: String,
}

struct Seen {
    logged_at: Instant,
    unlogged: u64,
}

/// What the log says about a failed document.
pub(crate) struct Example<'a> {
    /// `retrying` or `refused`.
    pub(crate) outcome: &'static str,
    pub(crate) failure: &'a Failure,
    pub(crate) document_id: &'a str,
    pub(crate) index: &'a str,
}

/// The rate limiter of failure lines.
#[derive(Default)]
pub(crate) struct FailureLog {
    classes: Mutex<HashMap<Class, Seen>>,
}

impl FailureLog {
    /// Notes one failed document; logs it when its class has not been logged for [`EVERY`].
    /// Returns whether it was logged.
    pub(crate) fn note(&self, stream: &str, example: &Example<'_>) -> bool {
        let class = Class {
            outcome: example.outcome,
            code: example.failure.code.clone(),
            // Messages made by the retry logic start with the ES error type.
            kind: example
                .failure
                .message
                .split(':')
                .next()
                .unwrap_or("")
                .to_string(),
        };
        let now = Instant::now();
        let unlogged = {
            let mut classes = self.classes.lock();
            match classes.get_mut(&class) {
                Some(seen) if now.duration_since(seen.logged_at) < EVERY => {
                    seen.unlogged += 1;
                    return false;
                }
                Some(seen) => {
                    let n = seen.unlogged;
                    *seen = Seen {
                        logged_at: now,
                        unlogged: 0,
                    };
                    n
                }
                None => {
                    classes.insert(
                        class,
                        Seen {
                            logged_at: now,
                            unlogged: 0,
                        },
                    );
                    0
                }
            }
        };
        tracing::warn!(
            stream,
            destination = super::super::ELASTICSEARCH,
            outcome = example.outcome,
            code = %example.failure.code,
            error = %example.failure.message,
            document_id = example.document_id,
            index = example.index,
            similar_since_last_line = unlogged,
            "elasticsearch did not take a document"
        );
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(code: &str, message: &str) -> Failure {
        Failure {
            code: code.into(),
            message: message.into(),
        }
    }

    fn note(log: &FailureLog, outcome: &'static str, f: &Failure) -> bool {
        log.note(
            "web",
            &Example {
                outcome,
                failure: f,
                document_id: "d",
                index: "logs",
            },
        )
    }

    #[tokio::test(start_paused = true)]
    async fn each_failure_class_is_logged_at_most_once_per_interval() {
        let log = FailureLog::default();
        let mapping = failure("400", "mapper_parsing_exception: failed to parse [a]");
        let other_field = failure("400", "mapper_parsing_exception: failed to parse [b]");
        let throttled = failure("429", "es_rejected_execution_exception: queue full");
        assert!(note(&log, "refused", &mapping));
        assert!(!note(&log, "refused", &other_field));
        assert!(note(&log, "retrying", &throttled));
        assert!(!note(&log, "retrying", &throttled));
        tokio::time::advance(EVERY).await;
        assert!(note(&log, "refused", &mapping));
        assert!(note(&log, "retrying", &throttled));
    }
}
