//! AWS credentials: the standard chain from `aws-config`, cached, refreshed before they expire,
//! and rebuilt when the shared credentials or config file changes.
//!
//! `aws-config`'s providers do not cache on their own (the SDK clients do that), and its profile
//! provider parses the shared files once for its lifetime. A proxy that runs for days needs both:
//! [`CredentialsCache`] keeps the current credentials, fetches new ones five minutes before they
//! expire (at once when they have), keeps serving still-valid ones when a refresh fails, and
//! rebuilds the whole chain when a watched file's size or modification time changes — so a
//! rotated `~/.aws/credentials` is used by the next request, with no restart.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use futures::future::BoxFuture;
use parking_lot::Mutex;

use crate::SigproxyError;

/// The time source: the system clock, or a fixed one in tests.
pub type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(SystemTime::now)
}

/// Builds a fresh credentials provider (the chain, with the shared files read anew).
pub type Rebuild = Arc<dyn Fn() -> BoxFuture<'static, SharedCredentialsProvider> + Send + Sync>;

/// Credentials are refreshed this long before they expire.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// While still valid, a failed or unneeded refresh is not retried more often than this.
const MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(10);

/// A chain can hang on a dead metadata endpoint; no request waits longer than this for one.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(30);

/// What the health endpoint reports about credentials; never a secret.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CredentialsStatus {
    /// Whether credentials are loaded.
    pub loaded: bool,
    /// The access key id with all but its first and last four characters hidden.
    pub access_key_id: Option<String>,
    /// Whether a session token comes with them (temporary credentials).
    pub temporary: bool,
    /// When they expire (RFC 3339), if they do.
    pub expires_at: Option<String>,
    /// Seconds left before they expire.
    pub expires_in_seconds: Option<i64>,
    /// Why the last attempt to load them failed, if it did.
    pub last_error: Option<String>,
}

struct Loaded {
    credentials: Credentials,
    fingerprint: Fingerprint,
}

#[derive(Default)]
struct State {
    loaded: Option<Loaded>,
    last_attempt: Option<SystemTime>,
    last_error: Option<String>,
    provider: Option<SharedCredentialsProvider>,
}

/// Cached credentials from a provider; see the module documentation.
pub struct CredentialsCache {
    state: Mutex<State>,
    refresh: tokio::sync::Mutex<()>,
    rebuild: Rebuild,
    watched: Vec<PathBuf>,
    clock: Clock,
}

type Fingerprint = Vec<Option<(SystemTime, u64)>>;

impl CredentialsCache {
    /// Caches one provider, with no files to watch.
    pub fn new(provider: impl ProvideCredentials + 'static) -> CredentialsCache {
        let provider = SharedCredentialsProvider::new(provider);
        CredentialsCache::rebuilding(Vec::new(), move || {
            let p = provider.clone();
            Box::pin(async move { p })
        })
    }

    /// Caches providers made by `rebuild`, making a new one whenever a file in `watched`
    /// changes (its size or modification time; a file appearing or vanishing counts).
    pub fn rebuilding(
        watched: Vec<PathBuf>,
        rebuild: impl Fn() -> BoxFuture<'static, SharedCredentialsProvider> + Send + Sync + 'static,
    ) -> CredentialsCache {
        CredentialsCache {
            state: Mutex::new(State::default()),
            refresh: tokio::sync::Mutex::new(()),
            rebuild: Arc::new(rebuild),
            watched,
            clock: system_clock(),
        }
    }

    /// Uses `clock` instead of the system clock.
    pub fn with_clock(mut self, clock: Clock) -> CredentialsCache {
        self.clock = clock;
        self
    }

    /// The current credentials, refreshed first when they are due.
    pub async fn credentials(&self) -> Result<Credentials, SigproxyError> {
        let fingerprint = self.fingerprint();
        if let Some(c) = self.fresh(&fingerprint) {
            return Ok(c);
        }
        let _guard = self.refresh.lock().await;
        // Another request may have refreshed while this one waited.
        if let Some(c) = self.fresh(&fingerprint) {
            return Ok(c);
        }
        self.refresh(fingerprint).await
    }

    /// Forgets the current credentials: the next request loads new ones (used when the
    /// endpoint says a token has expired before its announced expiry).
    pub fn invalidate(&self) {
        let mut state = self.state.lock();
        state.loaded = None;
        state.last_attempt = None;
    }

    /// What is loaded, for the health endpoint.
    pub fn status(&self) -> CredentialsStatus {
        let state = self.state.lock();
        let now = (self.clock)();
        let creds = state.loaded.as_ref().map(|l| &l.credentials);
        let expiry = creds.and_then(|c| c.expiry());
        CredentialsStatus {
            loaded: creds.is_some(),
            access_key_id: creds.map(|c| mask_key_id(c.access_key_id())),
            temporary: creds.is_some_and(|c| c.session_token().is_some()),
            expires_at: expiry.map(|e| {
                chrono::DateTime::<chrono::Utc>::from(e)
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            }),
            expires_in_seconds: expiry.map(|e| match e.duration_since(now) {
                Ok(d) => d.as_secs() as i64,
                Err(past) => -(past.duration().as_secs() as i64),
            }),
            last_error: state.last_error.clone(),
        }
    }

    /// The loaded credentials when no refresh is due.
    fn fresh(&self, fingerprint: &Fingerprint) -> Option<Credentials> {
        let state = self.state.lock();
        let loaded = state.loaded.as_ref()?;
        if loaded.fingerprint != *fingerprint {
            return None;
        }
        let now = (self.clock)();
        match loaded.credentials.expiry() {
            None => Some(loaded.credentials.clone()),
            Some(expiry) if now >= expiry => None,
            Some(expiry) if now + REFRESH_MARGIN < expiry => Some(loaded.credentials.clone()),
            // Expiring soon: refresh, but not on every request while that keeps failing or
            // keeps returning credentials that expire just as soon.
            Some(_) => {
                let recent = state
                    .last_attempt
                    .and_then(|t| now.duration_since(t).ok())
                    .is_some_and(|d| d < MIN_REFRESH_INTERVAL);
                recent.then(|| loaded.credentials.clone())
            }
        }
    }

    async fn refresh(&self, fingerprint: Fingerprint) -> Result<Credentials, SigproxyError> {
        let files_changed = {
            let state = self.state.lock();
            state
                .loaded
                .as_ref()
                .is_some_and(|l| l.fingerprint != fingerprint)
        };
        let provider = {
            let existing = self.state.lock().provider.clone();
            match existing {
                Some(p) if !files_changed => p,
                _ => {
                    let p = (self.rebuild)().await;
                    self.state.lock().provider = Some(p.clone());
                    p
                }
            }
        };
        let result = tokio::time::timeout(PROVIDER_TIMEOUT, provider.provide_credentials()).await;
        let now = (self.clock)();
        let mut state = self.state.lock();
        state.last_attempt = Some(now);
        let reason = match result {
            Ok(Ok(credentials)) => {
                if files_changed {
                    tracing::info!("AWS credentials reloaded after a shared file changed");
                }
                state.last_error = None;
                state.loaded = Some(Loaded {
                    credentials: credentials.clone(),
                    fingerprint,
                });
                return Ok(credentials);
            }
            Ok(Err(e)) => error_chain(&e),
            Err(_) => format!(
                "no credentials provider answered within {}",
                hydrant_config::show_duration(PROVIDER_TIMEOUT)
            ),
        };
        state.last_error = Some(reason.clone());
        // Credentials that are still valid beat none at all.
        if let Some(loaded) = &state.loaded
            && loaded.credentials.expiry().is_none_or(|e| now < e)
        {
            tracing::warn!(reason = %reason, "cannot refresh AWS credentials; using the current ones until they expire");
            return Ok(loaded.credentials.clone());
        }
        state.loaded = None;
        Err(SigproxyError::Credentials { reason })
    }

    fn fingerprint(&self) -> Fingerprint {
        self.watched
            .iter()
            .map(|p| {
                std::fs::metadata(p)
                    .ok()
                    .map(|m| (m.modified().unwrap_or(SystemTime::UNIX_EPOCH), m.len()))
            })
            .collect()
    }
}

pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

/// `AKIA…WXYZ`: enough to tell keys apart, not enough to use one.
pub fn mask_key_id(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() <= 8 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

/// Where the AWS chain is told to look: the profile and the shared files to watch.
#[derive(Debug, Clone, Default)]
pub struct ChainOptions {
    /// The profile; `None`: `AWS_PROFILE`, else `default`.
    pub profile: Option<String>,
    /// The region for STS calls (assume-role, web identity).
    pub region: Option<String>,
    /// Files whose change rebuilds the chain; see [`shared_files`].
    pub watched: Vec<PathBuf>,
}

/// The shared credentials and config files the AWS chain reads, given the environment:
/// `AWS_SHARED_CREDENTIALS_FILE` and `AWS_CONFIG_FILE`, else `~/.aws/credentials` and
/// `~/.aws/config`.
pub fn shared_files(env: &BTreeMap<String, String>) -> Vec<PathBuf> {
    let home = env.get("HOME").map(PathBuf::from);
    let pick = |var: &str, default: &str| {
        env.get(var)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(".aws").join(default)))
    };
    [
        pick("AWS_SHARED_CREDENTIALS_FILE", "credentials"),
        pick("AWS_CONFIG_FILE", "config"),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The AWS credential chains of one process, built once by the binary from the environment it
/// read at start and shared by everything that signs (object storage, the Elasticsearch
/// destination, the proxy, the load generator): one cache per (profile, region), so each
/// refreshes once however many users it has.
#[derive(Default)]
pub struct AwsCredentials {
    /// The shared files whose change rebuilds a chain.
    watched: Vec<PathBuf>,
    caches: Mutex<std::collections::HashMap<ChainKey, Arc<CredentialsCache>>>,
}

/// A chain's profile and region.
type ChainKey = (Option<String>, Option<String>);

impl std::fmt::Debug for AwsCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsCredentials")
            .field("watched", &self.watched)
            .finish_non_exhaustive()
    }
}

impl AwsCredentials {
    /// The chains for a process whose environment is `env`.
    pub fn from_env(env: &BTreeMap<String, String>) -> AwsCredentials {
        AwsCredentials {
            watched: shared_files(env),
            caches: Mutex::default(),
        }
    }

    /// The cached chain for `profile` (`None`: `AWS_PROFILE`, else `default`) and `region`
    /// (for STS calls), made on first use.
    pub fn chain(&self, profile: Option<&str>, region: Option<&str>) -> Arc<CredentialsCache> {
        let key = (profile.map(str::to_string), region.map(str::to_string));
        self.caches
            .lock()
            .entry(key.clone())
            .or_insert_with(|| {
                Arc::new(aws_chain(ChainOptions {
                    profile: key.0,
                    region: key.1,
                    watched: self.watched.clone(),
                }))
            })
            .clone()
    }

    /// Uses `cache` for (`profile`, `region`) instead of the AWS chain (tests).
    pub fn preset(
        &self,
        profile: Option<&str>,
        region: Option<&str>,
        cache: Arc<CredentialsCache>,
    ) {
        let key = (profile.map(str::to_string), region.map(str::to_string));
        self.caches.lock().insert(key, cache);
    }
}

/// The standard AWS credential chain from `aws-config` — environment, shared files with
/// `profile` (assume-role through `role_arn` + `source_profile`, `credential_process`, SSO), web
/// identity, ECS and EC2 instance metadata — cached and watched as described above.
///
/// The chain reads the process environment and the shared files itself: that is how AWS
/// defines it, and the one place this crate reads either.
pub fn aws_chain(options: ChainOptions) -> CredentialsCache {
    let ChainOptions {
        profile,
        region,
        watched,
    } = options;
    CredentialsCache::rebuilding(watched, move || {
        let profile = profile.clone();
        let region = region.clone();
        Box::pin(async move {
            let mut builder =
                aws_config::default_provider::credentials::DefaultCredentialsChain::builder();
            if let Some(p) = &profile {
                builder = builder.profile_name(p);
            }
            if let Some(r) = region {
                builder = builder.region(aws_config::Region::new(r));
            }
            SharedCredentialsProvider::new(builder.build().await)
        })
    })
}

#[cfg(test)]
mod tests;
