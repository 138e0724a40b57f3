//! Object storage: the store behind backups and the error output, and Firehose's object keys.

use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use hydrant_config::{Config, StorageKind};
use hydrant_sigproxy::credentials::{AwsCredentials, CredentialsCache};
use object_store::CredentialProvider;
use object_store::aws::{AmazonS3Builder, AwsCredential};
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use rand::Rng;

/// Objects larger than this are uploaded in parts (S3 multipart).
pub const MULTIPART_THRESHOLD: usize = 8 * 1024 * 1024;

/// Errors of object storage.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The store could not be set up from the configuration.
    #[error("object storage is misconfigured: {0}")]
    Config(String),
    /// A write failed.
    #[error("writing `{key}` failed: {reason}")]
    Write {
        /// Object key.
        key: String,
        /// Why.
        reason: String,
    },
}

/// Builds the configured object store.
pub fn build_store(
    config: &Config,
    credentials: &AwsCredentials,
) -> Result<Arc<dyn ObjectStore>, StorageError> {
    let s = &config.storage;
    Ok(match s.kind {
        StorageKind::Memory => Arc::new(InMemory::new()),
        StorageKind::Local => {
            let dir = config.storage_dir();
            std::fs::create_dir_all(&dir).map_err(|e| {
                StorageError::Config(format!("cannot create `{}`: {e}", dir.display()))
            })?;
            Arc::new(
                LocalFileSystem::new_with_prefix(&dir)
                    .map_err(|e| StorageError::Config(e.to_string()))?,
            )
        }
        StorageKind::S3 => {
            // Credentials come from the standard AWS chain (environment, profile, SSO, web
            // identity, instance metadata), refreshed before they expire. The client's own
            // retries are off: destinations retry with the stream's shared policy and
            // `retry_duration`, and two layers of retries would multiply the waits. Built from
            // the typed configuration only (`new`, not `from_env`), so that stray `AWS_*`
            // variables cannot silently override the bucket, region or endpoint.
            let retry = object_store::RetryConfig {
                max_retries: 0,
                ..Default::default()
            };
            let mut b = AmazonS3Builder::new()
                .with_credentials(Arc::new(AwsChain(credentials.chain(None, None))))
                .with_retry(retry)
                .with_bucket_name(&s.bucket)
                .with_region(&s.region)
                .with_virtual_hosted_style_request(!s.path_style);
            if !s.endpoint.is_empty() {
                b = b
                    .with_endpoint(&s.endpoint)
                    .with_allow_http(s.endpoint.starts_with("http://"));
            }
            Arc::new(b.build().map_err(|e| StorageError::Config(e.to_string()))?)
        }
    })
}

/// object_store's view of the AWS credential chain.
struct AwsChain(Arc<CredentialsCache>);

impl std::fmt::Debug for AwsChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AwsChain")
    }
}

#[async_trait::async_trait]
impl CredentialProvider for AwsChain {
    type Credential = AwsCredential;

    async fn get_credential(&self) -> object_store::Result<Arc<AwsCredential>> {
        let c = self
            .0
            .credentials()
            .await
            .map_err(|e| object_store::Error::Generic {
                store: "S3",
                source: Box::new(e),
            })?;
        Ok(Arc::new(AwsCredential {
            key_id: c.access_key_id().to_string(),
            secret_key: c.secret_access_key().to_string(),
            token: c.session_token().map(str::to_string),
        }))
    }
}

/// Writes one object, in parts when it is large.
pub async fn put_object(
    store: &Arc<dyn ObjectStore>,
    key: &str,
    bytes: Bytes,
) -> Result<(), StorageError> {
    let path = Path::from(key);
    let fail = |e: object_store::Error| StorageError::Write {
        key: key.to_string(),
        reason: e.to_string(),
    };
    if bytes.len() < MULTIPART_THRESHOLD {
        store
            .put(&path, PutPayload::from(bytes))
            .await
            .map_err(fail)?;
        return Ok(());
    }
    let mut writer =
        object_store::buffered::BufWriter::with_capacity(store.clone(), path, MULTIPART_THRESHOLD);
    writer.put(bytes).await.map_err(fail)?;
    tokio::io::AsyncWriteExt::shutdown(&mut writer)
        .await
        .map_err(|e| StorageError::Write {
            key: key.to_string(),
            reason: e.to_string(),
        })?;
    Ok(())
}

/// Expands a Firehose prefix: `!{timestamp:<pattern>}` at `at`,
/// `!{firehose:random-string}`, `!{firehose:error-output-type}` as `error_type`.
/// Returns the prefix and whether it held any expression.
pub fn render_prefix(prefix: &str, at: DateTime<Utc>, error_type: &str) -> (String, bool) {
    let mut out = String::with_capacity(prefix.len() + 16);
    let mut rest = prefix;
    let mut expanded = false;
    while let Some(start) = rest.find("!{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return (out, expanded);
        };
        let expr = &after[..end];
        expanded = true;
        match expr.split_once(':') {
            Some(("timestamp", pattern)) => out.push_str(&format_java(at, pattern)),
            Some(("firehose", "random-string")) => out.push_str(&random_hex(11)),
            Some(("firehose", "error-output-type")) => out.push_str(error_type),
            _ => out.push_str(&rest[start..start + 3 + end]),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    (out, expanded)
}

/// Formats `at` with a Java `DateTimeFormatter` pattern (`yyyy`, `MM`, `dd`, `HH`, `mm`, `ss`;
/// anything else is literal), as Firehose's `!{timestamp:…}` does.
fn format_java(at: DateTime<Utc>, pattern: &str) -> String {
    let mut out = String::new();
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        let mut n = 1;
        while chars.peek() == Some(&c) {
            chars.next();
            n += 1;
        }
        let piece = match (c, n) {
            ('y', 2) => at.format("%y").to_string(),
            ('y', _) => at.format("%Y").to_string(),
            ('M', _) => at.format("%m").to_string(),
            ('d', _) => at.format("%d").to_string(),
            ('H', _) => at.format("%H").to_string(),
            ('m', _) => at.format("%M").to_string(),
            ('s', _) => at.format("%S").to_string(),
            (c, n) => std::iter::repeat_n(c, n).collect(),
        };
        out.push_str(&piece);
    }
    out
}

fn random_hex(n: usize) -> String {
    let mut rng = rand::rng();
    (0..n)
        .map(|_| char::from_digit(rng.random_range(0..16), 16).unwrap_or('0'))
        .collect()
}

/// A UUID-shaped random string, as Firehose puts at the end of its keys.
fn random_uuid() -> String {
    let h = random_hex(32);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// Firehose's object key: `{prefix}YYYY/MM/DD/HH/{stream}-1-YYYY-MM-DD-HH-MM-SS-{uuid}{ext}`
/// (UTC, `at` being the arrival of the oldest record). A prefix with expressions replaces the
/// `YYYY/MM/DD/HH/` part, as in Firehose.
pub fn object_key(
    prefix: &str,
    stream: &str,
    at: DateTime<Utc>,
    error_type: &str,
    ext: &str,
) -> String {
    let (rendered, expanded) = render_prefix(prefix, at, error_type);
    let dated = if expanded {
        rendered
    } else {
        let typed = if error_type.is_empty() {
            rendered
        } else {
            format!("{rendered}{error_type}/")
        };
        format!("{typed}{}", at.format("%Y/%m/%d/%H/"))
    };
    format!(
        "{dated}{stream}-1-{}-{}{ext}",
        at.format("%Y-%m-%d-%H-%M-%S"),
        random_uuid()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 26, 13, 5, 9).unwrap()
    }

    #[test]
    fn default_keys_follow_firehose() {
        let k = object_key("backup/", "web", at(), "", ".gz");
        assert!(
            k.starts_with("backup/2026/11/26/13/web-1-2026-11-26-13-05-09-"),
            "{k}"
        );
        assert!(k.ends_with(".gz"));
        assert_eq!(
            k.len(),
            "backup/2026/11/26/13/web-1-2026-11-26-13-05-09-".len() + 36 + 3
        );
    }

    #[test]
    fn error_keys_carry_the_destination() {
        let k = object_key("errors/", "web", at(), "index-failed", ".gz");
        assert!(
            k.starts_with("errors/index-failed/2026/11/26/13/web-1-"),
            "{k}"
        );
    }

    #[test]
    fn expressions_replace_the_date_folders() {
        let k = object_key(
            "logs/!{timestamp:yyyy-MM-dd}/!{firehose:error-output-type}/",
            "web",
            at(),
            "index-failed",
            "",
        );
        assert!(
            k.starts_with("logs/2026-11-26/index-failed/web-1-2026-11-26-13-05-09-"),
            "{k}"
        );
        let (r, expanded) = render_prefix("x/!{firehose:random-string}/", at(), "");
        assert!(expanded);
        assert_eq!(r.len(), "x//".len() + 11);
    }
}
