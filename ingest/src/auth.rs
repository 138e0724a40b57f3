//! Per-stream access keys: `X-Amz-Firehose-Access-Key: <key>` or `Authorization: Bearer <key>`.
//! Keys are compared in constant time and never logged.

use axum::http::{HeaderMap, header};
use hydrant_config::StreamConfig;

/// Why a writer was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessDenied {
    /// No key was presented (401).
    Missing,
    /// The key presented is not one of the stream's (403).
    Wrong,
}

impl AccessDenied {
    /// The message, which never contains the key.
    pub fn message(&self, stream: &str) -> String {
        match self {
            AccessDenied::Missing => format!(
                "stream [{stream}] requires an access key (X-Amz-Firehose-Access-Key or Authorization: Bearer)"
            ),
            AccessDenied::Wrong => format!("the access key is not valid for stream [{stream}]"),
        }
    }
}

/// The key presented with a request, if any.
fn presented(headers: &HeaderMap) -> Option<&[u8]> {
    if let Some(v) = headers.get("x-amz-firehose-access-key") {
        return Some(v.as_bytes());
    }
    let auth = headers.get(header::AUTHORIZATION)?.as_bytes();
    let token = auth
        .strip_prefix(b"Bearer ")
        .or_else(|| auth.strip_prefix(b"bearer "))?;
    Some(token)
}

/// Checks the request against the stream's keys (no keys configured: open).
pub fn check_access(config: &StreamConfig, headers: &HeaderMap) -> Result<(), AccessDenied> {
    if config.access_keys.is_empty() {
        return Ok(());
    }
    let Some(key) = presented(headers) else {
        return Err(AccessDenied::Missing);
    };
    // Every key is compared, each in constant time, so timing says nothing about which
    // key or how much of one matched.
    let mut ok = subtle::Choice::from(0);
    for k in &config.access_keys {
        ok |= subtle::ConstantTimeEq::ct_eq(k.expose().as_bytes(), key);
    }
    if bool::from(ok) {
        Ok(())
    } else {
        Err(AccessDenied::Wrong)
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;
    use hydrant_config::Config;

    use super::*;

    fn config() -> StreamConfig {
        Config::parse(
            "[streams.s]\naccess_keys = [\"k1\", \"k2\"]\n",
            &Default::default(),
        )
        .unwrap()
        .stream("s")
    }

    #[test]
    fn either_header_works_and_wrong_or_missing_keys_are_told_apart() {
        let c = config();
        let mut h = HeaderMap::new();
        assert_eq!(check_access(&c, &h), Err(AccessDenied::Missing));
        h.insert("x-amz-firehose-access-key", HeaderValue::from_static("k2"));
        assert_eq!(check_access(&c, &h), Ok(()));
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer k1"));
        assert_eq!(check_access(&c, &h), Ok(()));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer nope"),
        );
        assert_eq!(check_access(&c, &h), Err(AccessDenied::Wrong));
        assert!(!AccessDenied::Wrong.message("s").contains("nope"));
    }

    #[test]
    fn streams_without_keys_are_open() {
        let c = StreamConfig::builtin();
        assert_eq!(check_access(&c, &HeaderMap::new()), Ok(()));
    }
}
