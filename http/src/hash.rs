//! The hex SHA-256 of a body: SigV4's payload hash, computed by the verifier, the proxy and
//! every signing client.

use bytes::Bytes;
use sha2::{Digest, Sha256};

/// Bodies up to this size are hashed on the calling thread (well under a millisecond).
const HASH_INLINE_MAX: usize = 256 * 1024;

/// Lowercase hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// [`sha256_hex`] of a body, off the async threads when it is large enough to matter.
pub async fn hash_body(body: Bytes) -> String {
    if body.len() < HASH_INLINE_MAX {
        return sha256_hex(&body);
    }
    let shared = body.clone();
    match tokio::task::spawn_blocking(move || sha256_hex(&shared)).await {
        Ok(hash) => hash,
        // Only when the runtime is shutting down: hash here rather than fail.
        Err(_) => sha256_hex(&body),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn small_and_large_bodies_hash_alike() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let big = Bytes::from(vec![7u8; HASH_INLINE_MAX + 1]);
        assert_eq!(hash_body(big.clone()).await, sha256_hex(&big));
    }
}
