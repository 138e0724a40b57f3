use std::sync::atomic::{AtomicUsize, Ordering};

use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::future;

use super::*;

/// Hands out `AKID<n>` on the n-th call, expiring `lifetime` after `clock`'s now; fails while
/// `failing` is set.
#[derive(Debug, Clone)]
struct Counting {
    calls: Arc<AtomicUsize>,
    lifetime: Option<Duration>,
    now: Arc<Mutex<SystemTime>>,
    failing: Arc<Mutex<bool>>,
}

impl ProvideCredentials for Counting {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        if *self.failing.lock() {
            return future::ProvideCredentials::ready(Err(CredentialsError::not_loaded(
                "metadata service unreachable",
            )));
        }
        let expiry = self.lifetime.map(|l| *self.now.lock() + l);
        future::ProvideCredentials::ready(Ok(Credentials::new(
            format!("AKIDTEST{n:04}"),
            "secret",
            Some("token".to_string()),
            expiry,
            "test",
        )))
    }
}

fn setup(lifetime: Option<Duration>) -> (CredentialsCache, Counting) {
    let now = Arc::new(Mutex::new(
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
    ));
    let provider = Counting {
        calls: Arc::new(AtomicUsize::new(0)),
        lifetime,
        now: now.clone(),
        failing: Arc::new(Mutex::new(false)),
    };
    let clock_now = now.clone();
    let cache =
        CredentialsCache::new(provider.clone()).with_clock(Arc::new(move || *clock_now.lock()));
    (cache, provider)
}

fn advance(p: &Counting, by: Duration) {
    *p.now.lock() += by;
}

#[tokio::test]
async fn long_lived_credentials_are_fetched_once() {
    let (cache, p) = setup(Some(Duration::from_secs(3600)));
    for _ in 0..100 {
        assert_eq!(
            cache.credentials().await.unwrap().access_key_id(),
            "AKIDTEST0001"
        );
    }
    assert_eq!(p.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn credentials_are_refreshed_five_minutes_before_expiry() {
    let (cache, p) = setup(Some(Duration::from_secs(3600)));
    cache.credentials().await.unwrap();
    advance(&p, Duration::from_secs(3600 - 301));
    assert_eq!(
        cache.credentials().await.unwrap().access_key_id(),
        "AKIDTEST0001"
    );
    advance(&p, Duration::from_secs(2));
    assert_eq!(
        cache.credentials().await.unwrap().access_key_id(),
        "AKIDTEST0002"
    );
}

#[tokio::test]
async fn expired_credentials_are_never_used() {
    let (cache, p) = setup(Some(Duration::from_secs(60)));
    cache.credentials().await.unwrap();
    advance(&p, Duration::from_secs(61));
    assert_eq!(
        cache.credentials().await.unwrap().access_key_id(),
        "AKIDTEST0002"
    );
    *p.failing.lock() = true;
    advance(&p, Duration::from_secs(61));
    let err = cache.credentials().await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot load AWS credentials: the credential provider was not enabled: metadata service unreachable"
    );
    assert!(!cache.status().loaded);
}

#[tokio::test]
async fn a_failed_refresh_keeps_still_valid_credentials_and_is_not_retried_per_request() {
    let (cache, p) = setup(Some(Duration::from_secs(3600)));
    cache.credentials().await.unwrap();
    *p.failing.lock() = true;
    advance(&p, Duration::from_secs(3400));
    for _ in 0..20 {
        assert_eq!(
            cache.credentials().await.unwrap().access_key_id(),
            "AKIDTEST0001"
        );
    }
    assert_eq!(
        p.calls.load(Ordering::SeqCst),
        2,
        "one refresh attempt, not one per request"
    );
    assert!(cache.status().last_error.is_some());
    *p.failing.lock() = false;
    advance(&p, Duration::from_secs(11));
    assert_eq!(
        cache.credentials().await.unwrap().access_key_id(),
        "AKIDTEST0003"
    );
    assert!(cache.status().last_error.is_none());
}

#[tokio::test]
async fn invalidate_forces_a_new_fetch() {
    let (cache, p) = setup(None);
    cache.credentials().await.unwrap();
    cache.invalidate();
    assert_eq!(
        cache.credentials().await.unwrap().access_key_id(),
        "AKIDTEST0002"
    );
    assert_eq!(p.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn status_masks_the_key_and_reports_expiry() {
    let (cache, _p) = setup(Some(Duration::from_secs(3600)));
    assert!(!cache.status().loaded);
    cache.credentials().await.unwrap();
    let s = cache.status();
    assert!(s.loaded && s.temporary);
    assert_eq!(s.access_key_id.as_deref(), Some("AKID…0001"));
    assert_eq!(s.expires_in_seconds, Some(3600));
    assert_eq!(s.expires_at.as_deref(), Some("2027-01-15T09:00:00Z"));
}

#[tokio::test]
async fn a_rewritten_credentials_file_rebuilds_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("credentials");
    std::fs::write(&file, "AKIDFIRSTKEY").unwrap();
    let rebuilds = Arc::new(AtomicUsize::new(0));
    let (path, count) = (file.clone(), rebuilds.clone());
    let cache = CredentialsCache::rebuilding(vec![file.clone()], move || {
        count.fetch_add(1, Ordering::SeqCst);
        let key = std::fs::read_to_string(&path).unwrap_or_default();
        let creds = Credentials::new(key, "secret", None, None, "file");
        Box::pin(async move { SharedCredentialsProvider::new(creds) })
    });
    assert_eq!(
        cache.credentials().await.unwrap().access_key_id(),
        "AKIDFIRSTKEY"
    );
    assert_eq!(
        cache.credentials().await.unwrap().access_key_id(),
        "AKIDFIRSTKEY"
    );
    assert_eq!(rebuilds.load(Ordering::SeqCst), 1);
    // A different length is a change even where the clock's granularity hides the mtime's.
    std::fs::write(&file, "AKIDROTATEDKEY2").unwrap();
    assert_eq!(
        cache.credentials().await.unwrap().access_key_id(),
        "AKIDROTATEDKEY2"
    );
    assert_eq!(rebuilds.load(Ordering::SeqCst), 2);
}

#[test]
fn shared_files_follow_the_aws_variables_then_home() {
    let env = BTreeMap::from([("HOME".to_string(), "/home/u".to_string())]);
    assert_eq!(
        shared_files(&env),
        vec![
            PathBuf::from("/home/u/.aws/credentials"),
            PathBuf::from("/home/u/.aws/config")
        ]
    );
    let env = BTreeMap::from([
        ("HOME".to_string(), "/home/u".to_string()),
        (
            "AWS_SHARED_CREDENTIALS_FILE".to_string(),
            "/etc/creds".to_string(),
        ),
    ]);
    assert_eq!(shared_files(&env)[0], PathBuf::from("/etc/creds"));
}

#[test]
fn masking_keeps_four_characters_each_side_and_hides_short_ids() {
    assert_eq!(mask_key_id("AKIAIOSFODNN7EXAMPLE"), "AKIA…MPLE");
    assert_eq!(mask_key_id("SHORT"), "*****");
    assert_eq!(mask_key_id("ÄKIDéééééééé"), "ÄKID…éééé");
}

#[test]
fn one_chain_per_profile_and_region_is_shared_by_every_user() {
    let env = BTreeMap::from([("HOME".to_string(), "/nonexistent-home".to_string())]);
    let chains = AwsCredentials::from_env(&env);
    let a = chains.chain(Some("dev"), Some("eu-west-1"));
    let b = chains.chain(Some("dev"), Some("eu-west-1"));
    let c = chains.chain(None, Some("eu-west-1"));
    assert!(Arc::ptr_eq(&a, &b));
    assert!(!Arc::ptr_eq(&a, &c));
    assert_eq!(
        chains.watched,
        vec![
            PathBuf::from("/nonexistent-home/.aws/credentials"),
            PathBuf::from("/nonexistent-home/.aws/config")
        ]
    );
}
