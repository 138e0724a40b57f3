//! Passwords: Argon2id hashes in PHC form, made by `hydrant auth hash-password` and checked at
//! sign-in. Argon2 is slow on purpose (tens of milliseconds), so a check runs on the blocking
//! pool, and a successful one is remembered for [`CACHE_TTL`] as a SHA-256 digest of the
//! credentials (never the password itself) — as Elasticsearch caches its realms' results —
//! so that a client signing every request does not pay it each time.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use parking_lot::Mutex;
use rand::Rng;
use sha2::{Digest, Sha256};

use crate::error::SecurityError;

/// How long a successful check is remembered.
pub const CACHE_TTL: Duration = Duration::from_secs(20 * 60);

/// Most remembered checks; past it the cache starts over.
const CACHE_MAX: usize = 10_000;

/// The PHC string of `password` hashed with Argon2id and a random salt (Argon2's default
/// parameters: 19 MiB, 2 passes, 1 lane — OWASP's recommendation).
pub fn hash_password(password: &str) -> Result<String, SecurityError> {
    let mut salt = [0u8; 16];
    rand::rng().fill(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| SecurityError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| SecurityError::Hash(e.to_string()))
}

/// Checks passwords against their hashes, remembering successes for a while.
#[derive(Default)]
pub(crate) struct Verifier {
    cache: Mutex<HashMap<[u8; 32], Instant>>,
    /// Checks that ran Argon2, for the tests to see the cache answer instead.
    #[cfg(test)]
    hashed: std::sync::atomic::AtomicUsize,
}

impl Verifier {
    /// Whether `password` is the one `hash` was made from.
    pub(crate) async fn verify(&self, username: &str, password: &str, hash: &str) -> bool {
        let digest: [u8; 32] = Sha256::new()
            .chain_update(username)
            .chain_update([0])
            .chain_update(password)
            .chain_update([0])
            .chain_update(hash)
            .finalize()
            .into();
        if let Some(until) = self.cache.lock().get(&digest)
            && *until > Instant::now()
        {
            return true;
        }
        #[cfg(test)]
        self.hashed
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (password, hash) = (password.to_string(), hash.to_string());
        let ok = tokio::task::spawn_blocking(move || {
            PasswordHash::new(&hash).is_ok_and(|h| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &h)
                    .is_ok()
            })
        })
        .await
        .unwrap_or(false);
        if ok {
            let mut cache = self.cache.lock();
            if cache.len() >= CACHE_MAX {
                cache.clear();
            }
            cache.insert(digest, Instant::now() + CACHE_TTL);
        }
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_accepts_its_password_only() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(!hash.contains("correct horse"));
        let v = Verifier::default();
        assert!(v.verify("alice", "correct horse", &hash).await);
        assert!(!v.verify("alice", "battery staple", &hash).await);
        assert!(!v.verify("alice", "correct horse", "not a hash").await);
        // Remembered: the second check does not run Argon2 again; the failures were not kept.
        let hashed = || v.hashed.load(std::sync::atomic::Ordering::Relaxed);
        assert_eq!(hashed(), 3);
        assert!(v.verify("alice", "correct horse", &hash).await);
        assert_eq!(hashed(), 3);
        assert!(!v.verify("alice", "battery staple", &hash).await);
        assert_eq!((hashed(), v.cache.lock().len()), (4, 1));
        // Two hashes of one password differ (random salts).
        assert_ne!(hash, hash_password("correct horse").unwrap());
    }
}
