//! Reading a whole request body within a size limit, shared by every HTTP entry point of
//! Hydrant (the receivers, the search API, the SigV4 verifier and the signing proxy).
//!
//! Past the limit the rest of the body is still read and thrown away — up to [`DRAIN_MAX`]
//! bytes and [`DRAIN_TIME_MAX`] — so that a client still sending gets its 413 instead of a reset
//! connection, and a client trickling bytes cannot hold the connection for long.

use std::time::Duration;

use axum::body::Body;
use bytes::{Bytes, BytesMut};
use http::HeaderMap;
use http_body_util::BodyExt;

/// Most bytes drained past the limit before answering.
pub const DRAIN_MAX: u64 = 256 * 1024 * 1024;

/// Longest a drain may take.
pub const DRAIN_TIME_MAX: Duration = Duration::from_secs(10);

/// Why a body could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    /// The body is larger than the limit (declared by `content-length` or seen).
    TooLarge,
    /// The connection failed while reading.
    Read(String),
}

/// The `content-length` a request declares, if any.
pub fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
}

/// Reads a whole body of at most `limit` bytes; past it, drains the rest (within
/// [`DRAIN_MAX`] and [`DRAIN_TIME_MAX`]) and returns [`ReadError::TooLarge`].
pub async fn read_limited(
    mut body: Body,
    declared: Option<u64>,
    limit: u64,
) -> Result<Bytes, ReadError> {
    if declared.is_some_and(|len| len > limit) {
        drain(&mut body, DRAIN_MAX).await;
        return Err(ReadError::TooLarge);
    }
    let mut out = BytesMut::with_capacity(declared.unwrap_or(0).min(limit) as usize);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| ReadError::Read(e.to_string()))?;
        if let Ok(data) = frame.into_data() {
            if out.len() as u64 + data.len() as u64 > limit {
                drain(&mut body, DRAIN_MAX.saturating_sub(out.len() as u64)).await;
                return Err(ReadError::TooLarge);
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(out.freeze())
}

/// Reads and discards up to `max` more bytes of `body`, for at most [`DRAIN_TIME_MAX`].
async fn drain(body: &mut Body, max: u64) {
    let discard = async {
        let mut seen = 0u64;
        while seen <= max {
            match body.frame().await {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        seen += data.len() as u64;
                    }
                }
                _ => return,
            }
        }
    };
    let _ = tokio::time::timeout(DRAIN_TIME_MAX, discard).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bodies_within_the_limit_are_read_whole_and_larger_ones_refused() {
        let body = Body::from(vec![b'x'; 1000]);
        assert_eq!(
            read_limited(body, Some(1000), 1000).await.unwrap().len(),
            1000
        );
        let body = Body::from(vec![b'x'; 1001]);
        assert_eq!(
            read_limited(body, None, 1000).await,
            Err(ReadError::TooLarge)
        );
        let body = Body::from(vec![b'x'; 10]);
        assert_eq!(
            read_limited(body, Some(5000), 1000).await,
            Err(ReadError::TooLarge)
        );
    }
}
