//! Reading request bodies: size limits on the wire and after gzip, for every receiver.

use std::io::Read;

use axum::body::Body;
use axum::http::{HeaderMap, header};
use bytes::Bytes;
use http_body_util::BodyExt;

use crate::error::IngestError;

/// Bodies at least this large are inflated on the blocking pool, not on a runtime thread.
const INLINE_INFLATE_MAX: usize = 64 * 1024;

/// The two size limits of a request body.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimits {
    /// Bytes on the wire.
    pub max_body: u64,
    /// Bytes after `Content-Encoding: gzip` is undone.
    pub max_decompressed: u64,
}

/// Reads a whole body within `limits`, undoing `Content-Encoding: gzip`.
pub async fn read_body(
    headers: &HeaderMap,
    body: Body,
    limits: BodyLimits,
) -> Result<Bytes, IngestError> {
    let gzip = match headers.get(header::CONTENT_ENCODING).map(|v| {
        String::from_utf8_lossy(v.as_bytes())
            .trim()
            .to_ascii_lowercase()
    }) {
        None => false,
        Some(e) if e.is_empty() || e == "identity" => false,
        Some(e) if e == "gzip" || e == "x-gzip" => true,
        Some(e) => return Err(IngestError::UnsupportedEncoding(e)),
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let raw = collect_limited(body, limits.max_body, declared).await?;
    if !gzip {
        return Ok(raw);
    }
    let max = limits.max_decompressed;
    if raw.len() < INLINE_INFLATE_MAX {
        inflate(&raw, max)
    } else {
        tokio::task::spawn_blocking(move || inflate(&raw, max))
            .await
            .map_err(|e| IngestError::BodyRead(e.to_string()))?
    }
}

/// A body past the limit is still read (and thrown away) up to this many bytes, so that the
/// client, still sending, gets the 413 instead of a reset connection.
const DRAIN_MAX: u64 = 256 * 1024 * 1024;

/// Reads a body of at most `max` bytes. Past it, the rest is drained (up to [`DRAIN_MAX`])
/// before answering 413.
async fn collect_limited(
    body: Body,
    max: u64,
    declared: Option<u64>,
) -> Result<Bytes, IngestError> {
    let mut body = body;
    let too_large = IngestError::BodyTooLarge { limit: max };
    if declared.is_some_and(|len| len > max) {
        drain(&mut body, DRAIN_MAX).await;
        return Err(too_large);
    }
    let mut out = bytes::BytesMut::with_capacity(declared.unwrap_or(0).min(max) as usize);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| IngestError::BodyRead(e.to_string()))?;
        if let Ok(data) = frame.into_data() {
            if out.len() as u64 + data.len() as u64 > max {
                drain(&mut body, DRAIN_MAX.saturating_sub(out.len() as u64)).await;
                return Err(too_large);
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(out.freeze())
}

/// A drain takes at most this long: a client trickling bytes gets its 413 regardless.
const DRAIN_TIME_MAX: std::time::Duration = std::time::Duration::from_secs(10);

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

/// Inflates gzip (all members) into at most `max` bytes.
pub fn inflate(data: &[u8], max: u64) -> Result<Bytes, IngestError> {
    let mut out = Vec::with_capacity((data.len() * 4).min(max as usize));
    let mut decoder = flate2::read::MultiGzDecoder::new(data).take(max + 1);
    decoder
        .read_to_end(&mut out)
        .map_err(|e| IngestError::BadGzip(e.to_string()))?;
    if out.len() as u64 > max {
        return Err(IngestError::DecompressedTooLarge { limit: max });
    }
    Ok(Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn gzip_round_trips_within_limit() {
        let out = inflate(&gzip(b"hello\n"), 100).unwrap();
        assert_eq!(&out[..], b"hello\n");
    }

    #[test]
    fn gzip_bomb_stops_at_the_limit() {
        let bomb = gzip(&vec![0u8; 50 * 1024 * 1024]);
        assert!(bomb.len() < 100 * 1024);
        assert!(matches!(
            inflate(&bomb, 1024 * 1024),
            Err(IngestError::DecompressedTooLarge { limit }) if limit == 1024 * 1024
        ));
    }

    #[test]
    fn not_gzip_is_a_clear_error() {
        assert!(matches!(
            inflate(b"plain text", 100),
            Err(IngestError::BadGzip(_))
        ));
    }
}
