//! API keys, as Elasticsearch's `_security/api_key` makes them: an id and a random secret that
//! a client sends as `Authorization: ApiKey base64(id:secret)`.
//!
//! Only a SHA-256 of each secret is kept. A secret is 128 random bits, so a fast hash is as
//! safe as a slow one here (nothing to guess from a dictionary), and checking one costs
//! microseconds rather than Argon2's tens of milliseconds per request.
//!
//! # Format
//!
//! `data_dir/security/api_keys.json`, written to a temporary file, synced and renamed:
//! `{"version": 1, "keys": [{"id", "name", "owner", "roles": ["reader", …], "created_ms",
//! "expiration_ms" (or null), "invalidated", "secret_sha256"}]}`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use hydrant_config::Role;
use parking_lot::RwLock;
use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::SecurityError;

const FILE: &str = "api_keys.json";
const VERSION: u32 = 1;

/// One API key as stored (its secret only as a hash).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ApiKey {
    /// The key's id.
    pub id: String,
    /// The name given at creation.
    pub name: String,
    /// The user who created it.
    pub owner: String,
    /// What it may do: its owner's roles when it was made, or fewer.
    #[serde(with = "role_names")]
    pub roles: Vec<Role>,
    /// When it was made, epoch ms.
    pub created_ms: i64,
    /// When it stops working, epoch ms (`None`: never).
    pub expiration_ms: Option<i64>,
    /// Whether it was invalidated.
    pub invalidated: bool,
    secret_sha256: String,
}

/// A key just made: the only time its secret is shown.
#[derive(Debug, Clone, Serialize)]
pub struct NewApiKey {
    /// The key's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The secret.
    pub api_key: String,
    /// `base64(id:api_key)`, what clients send after `ApiKey `.
    pub encoded: String,
    /// When it stops working, epoch ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiration: Option<i64>,
}

/// Roles on disk by this file's own names, so that the configuration's model never changes the
/// format.
mod role_names {
    use hydrant_config::Role;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(roles: &[Role], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(roles.iter().map(|r| r.name()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Role>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|n| {
                Role::from_name(n)
                    .ok_or_else(|| serde::de::Error::custom(format!("unknown role [{n}]")))
            })
            .collect()
    }
}

#[derive(Serialize, Deserialize)]
struct FileV1 {
    version: u32,
    keys: Vec<ApiKey>,
}

/// The API keys of one data directory.
pub struct ApiKeyStore {
    path: PathBuf,
    keys: RwLock<BTreeMap<String, ApiKey>>,
}

impl std::fmt::Debug for ApiKeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeyStore")
            .field("path", &self.path)
            .finish()
    }
}

fn sha256_hex(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn random_token(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    rand::rng().fill(&mut b[..]);
    URL_SAFE_NO_PAD.encode(b)
}

impl ApiKeyStore {
    /// The store in `dir` (read if it exists).
    pub fn open(dir: &Path) -> Result<ApiKeyStore, SecurityError> {
        let path = dir.join(FILE);
        let keys = match std::fs::read(&path) {
            Ok(bytes) => {
                let file: FileV1 =
                    serde_json::from_slice(&bytes).map_err(|e| SecurityError::Damaged {
                        path: path.clone(),
                        reason: e.to_string(),
                    })?;
                if file.version != VERSION {
                    return Err(SecurityError::Damaged {
                        path,
                        reason: format!("version {} is not supported", file.version),
                    });
                }
                file.keys.into_iter().map(|k| (k.id.clone(), k)).collect()
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(source) => return Err(SecurityError::Io { path, source }),
        };
        Ok(ApiKeyStore {
            path,
            keys: RwLock::new(keys),
        })
    }

    /// Makes a key for `owner` with `roles`, expiring after `expiration` if given.
    pub fn create(
        &self,
        name: &str,
        owner: &str,
        roles: Vec<Role>,
        expiration: Option<std::time::Duration>,
        now: DateTime<Utc>,
    ) -> Result<NewApiKey, SecurityError> {
        let id = random_token(15);
        let secret = random_token(16);
        let expiration_ms = expiration.map(|d| now.timestamp_millis() + d.as_millis() as i64);
        let key = ApiKey {
            id: id.clone(),
            name: name.to_string(),
            owner: owner.to_string(),
            roles,
            created_ms: now.timestamp_millis(),
            expiration_ms,
            invalidated: false,
            secret_sha256: sha256_hex(&secret),
        };
        let mut keys = self.keys.write();
        keys.insert(id.clone(), key);
        self.save(&keys)?;
        Ok(NewApiKey {
            encoded: STANDARD.encode(format!("{id}:{secret}")),
            id,
            name: name.to_string(),
            api_key: secret,
            expiration: expiration_ms,
        })
    }

    /// The keys matching every filter given (`id`, `name`, `owner`), newest first.
    pub fn list(&self, id: Option<&str>, name: Option<&str>, owner: Option<&str>) -> Vec<ApiKey> {
        let mut out: Vec<ApiKey> = self
            .keys
            .read()
            .values()
            .filter(|k| id.is_none_or(|i| k.id == i))
            .filter(|k| name.is_none_or(|n| k.name == n))
            .filter(|k| owner.is_none_or(|o| k.owner == o))
            .cloned()
            .collect();
        out.sort_by_key(|k| std::cmp::Reverse(k.created_ms));
        out
    }

    /// Invalidates the keys matching every filter given; returns (newly invalidated ids, ids
    /// that were invalidated already).
    pub fn invalidate(
        &self,
        ids: &[String],
        name: Option<&str>,
        owner: Option<&str>,
    ) -> Result<(Vec<String>, Vec<String>), SecurityError> {
        let mut keys = self.keys.write();
        let (mut done, mut before) = (Vec::new(), Vec::new());
        for k in keys.values_mut() {
            let matches = (ids.is_empty() || ids.contains(&k.id))
                && name.is_none_or(|n| k.name == n)
                && owner.is_none_or(|o| k.owner == o);
            if !matches {
                continue;
            }
            if k.invalidated {
                before.push(k.id.clone());
            } else {
                k.invalidated = true;
                done.push(k.id.clone());
            }
        }
        if !done.is_empty() {
            self.save(&keys)?;
        }
        Ok((done, before))
    }

    /// The key `id` if `secret` is its secret and it is neither invalidated nor expired.
    pub fn authenticate(&self, id: &str, secret: &str, now: DateTime<Utc>) -> Option<ApiKey> {
        let keys = self.keys.read();
        let key = keys.get(id)?;
        let same: bool = sha256_hex(secret)
            .as_bytes()
            .ct_eq(key.secret_sha256.as_bytes())
            .into();
        let live = !key.invalidated && key.expiration_ms.is_none_or(|e| e > now.timestamp_millis());
        (same && live).then(|| key.clone())
    }

    fn save(&self, keys: &BTreeMap<String, ApiKey>) -> Result<(), SecurityError> {
        use std::io::Write;
        let io = |source| SecurityError::Io {
            path: self.path.clone(),
            source,
        };
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(io)?;
        let file = FileV1 {
            version: VERSION,
            keys: keys.values().cloned().collect(),
        };
        let bytes = serde_json::to_vec_pretty(&file).unwrap_or_default();
        let tmp = self.path.with_extension("json.tmp");
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        f.write_all(&bytes).map_err(io)?;
        f.sync_all().map_err(io)?;
        std::fs::rename(&tmp, &self.path).map_err(io)?;
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_works_until_it_is_invalidated_or_expires_and_survives_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let store = ApiKeyStore::open(dir.path()).unwrap();
        let now = Utc::now();
        let k = store
            .create("ship", "alice", vec![Role::Writer], None, now)
            .unwrap();
        let decoded = String::from_utf8(STANDARD.decode(&k.encoded).unwrap()).unwrap();
        assert_eq!(decoded, format!("{}:{}", k.id, k.api_key));
        assert!(store.authenticate(&k.id, &k.api_key, now).is_some());
        assert!(store.authenticate(&k.id, "wrong", now).is_none());
        let text = std::fs::read_to_string(dir.path().join(FILE)).unwrap();
        assert!(!text.contains(&k.api_key), "the secret is never stored");
        let reopened = ApiKeyStore::open(dir.path()).unwrap();
        assert_eq!(
            reopened.authenticate(&k.id, &k.api_key, now).unwrap().roles,
            [Role::Writer]
        );
        let (done, _) = reopened
            .invalidate(std::slice::from_ref(&k.id), None, None)
            .unwrap();
        assert_eq!(done, vec![k.id.clone()]);
        assert!(reopened.authenticate(&k.id, &k.api_key, now).is_none());
        let short = store
            .create(
                "brief",
                "alice",
                vec![Role::Reader],
                Some(std::time::Duration::from_secs(60)),
                now,
            )
            .unwrap();
        let later = now + chrono::Duration::seconds(61);
        assert!(store.authenticate(&short.id, &short.api_key, now).is_some());
        assert!(
            store
                .authenticate(&short.id, &short.api_key, later)
                .is_none()
        );
    }

    #[test]
    fn keys_are_listed_and_invalidated_by_name_and_owner() {
        let dir = tempfile::tempdir().unwrap();
        let store = ApiKeyStore::open(dir.path()).unwrap();
        let now = Utc::now();
        store
            .create("a", "alice", vec![Role::Reader], None, now)
            .unwrap();
        store
            .create("b", "bob", vec![Role::Reader], None, now)
            .unwrap();
        store
            .create("a", "bob", vec![Role::Reader], None, now)
            .unwrap();
        assert_eq!(store.list(None, Some("a"), None).len(), 2);
        assert_eq!(store.list(None, None, Some("bob")).len(), 2);
        let (done, _) = store.invalidate(&[], Some("a"), Some("bob")).unwrap();
        assert_eq!(done.len(), 1);
        let (done, before) = store.invalidate(&[], Some("a"), None).unwrap();
        assert_eq!((done.len(), before.len()), (1, 1));
    }
}
