//! Who may use Hydrant's API off AWS: users who sign in with a password (HTTP basic), the API
//! keys they create (`Authorization: ApiKey …`, Elasticsearch's `_security/api_key`), and the
//! roles that separate writing, reading and administering.
//!
//! - [`Security`] holds the users (from configuration) and the API key store (a file under the
//!   data directory) and authenticates a request's credentials into a [`Principal`].
//! - [`access`] says which role a request needs, from its method and path.
//! - [`layer`] is the middleware the binary puts in front of every route: it authenticates,
//!   authorizes, answers 401/403/429 in Elasticsearch's shape, logs each refusal once without
//!   secrets, and slows down clients that keep failing to sign in.
//! - [`router`] serves `_security/_authenticate` and the API key endpoints.
//!
//! SigV4 (`[auth.sigv4]`, the managed-domain mode) is checked by the sigproxy room's verifier;
//! this room only lets requests signed that way through to it.
#![deny(missing_docs)]

pub mod access;
mod api_keys;
mod error;
pub mod layer;
mod passwords;
mod routes;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use hydrant_config::{Role, UserConfig};

pub use api_keys::{ApiKey, ApiKeyStore, NewApiKey};
pub use error::SecurityError;
pub use passwords::hash_password;
pub use routes::router;

/// Who made a request, and what they may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The user's name (for an API key: its owner's).
    pub username: String,
    /// How they signed in: `basic`, `api_key`, or `sigv4`.
    pub realm: &'static str,
    /// The API key used, if any: its id and name.
    pub api_key: Option<(String, String)>,
    /// What they may do.
    pub roles: Vec<Role>,
}

impl Principal {
    /// Whether the principal holds `role`.
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

/// The users and API keys of one process.
pub struct Security {
    users: BTreeMap<String, UserConfig>,
    passwords: passwords::Verifier,
    keys: ApiKeyStore,
    /// Requests signed with SigV4 are passed to the SigV4 verifier (`[auth.sigv4]`).
    sigv4: bool,
}

impl std::fmt::Debug for Security {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Security")
            .field("users", &self.users.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Security {
    /// Users from `users`, API keys stored under `data_dir/security/`; `sigv4` says whether a
    /// SigV4 verifier runs behind this layer.
    pub fn open(
        users: BTreeMap<String, UserConfig>,
        data_dir: &Path,
        sigv4: bool,
    ) -> Result<Arc<Security>, SecurityError> {
        Ok(Arc::new(Security {
            users,
            passwords: passwords::Verifier::default(),
            keys: ApiKeyStore::open(&data_dir.join("security"))?,
            sigv4,
        }))
    }

    /// The API key store.
    pub fn api_keys(&self) -> &ApiKeyStore {
        &self.keys
    }

    /// Checks `username` and `password` (slowly, on purpose: Argon2); `None` when they do not
    /// match a user.
    pub async fn basic(&self, username: &str, password: &str) -> Option<Principal> {
        let user = self.users.get(username)?;
        let ok = self
            .passwords
            .verify(username, password, user.password_hash.expose())
            .await;
        ok.then(|| Principal {
            username: username.to_string(),
            realm: "basic",
            api_key: None,
            roles: user.roles.clone(),
        })
    }

    /// Checks an API key; `None` when it is unknown, wrong, invalidated or expired.
    pub fn api_key(&self, id: &str, secret: &str) -> Option<Principal> {
        let key = self.keys.authenticate(id, secret, chrono::Utc::now())?;
        Some(Principal {
            username: key.owner.clone(),
            realm: "api_key",
            api_key: Some((key.id.clone(), key.name.clone())),
            roles: key.roles.clone(),
        })
    }
}
