//! Reading request bodies: size limits on the wire and after gzip, for every receiver.

use std::io::Read;

use axum::body::Body;
use axum::http::{HeaderMap, header};
use bytes::Bytes;

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
    let declared = hydrant_http::body::declared_length(headers);
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

/// Reads a body of at most `max` bytes; past it, the rest is drained before answering 413
/// (see [`hydrant_http::body`]).
async fn collect_limited(
    body: Body,
    max: u64,
    declared: Option<u64>,
) -> Result<Bytes, IngestError> {
    use hydrant_http::body::{ReadError, read_limited};
    read_limited(body, declared, max)
        .await
        .map_err(|e| match e {
            ReadError::TooLarge => IngestError::BodyTooLarge { limit: max },
            ReadError::Read(reason) => IngestError::BodyRead(reason),
        })
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
