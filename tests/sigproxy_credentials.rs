//! `hydrant sigproxy` and its credentials, against a `hydrant serve` that verifies SigV4:
//! temporary credentials replaced when they expire, a rotated credentials file picked up with
//! no restart, the health endpoint, and the refusal of an unprotected remote listen address.

mod common;
mod sigproxy_support;

use std::process::Command;
use std::time::{Duration, SystemTime};

use serde_json::json;
use sigproxy_support::{
    KEY, NEW_KEY, NEW_SECRET, Proxy, ProxyOptions, SECRET, replace_file, verifying_hydrant,
};

fn rfc3339(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    // Civil date from days since the epoch (Howard Hinnant's algorithm), to avoid a dependency.
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn process_output(key: &str, secret: &str, lifetime: Duration) -> String {
    json!({
        "Version": 1,
        "AccessKeyId": key,
        "SecretAccessKey": secret,
        "SessionToken": format!("token-for-{key}"),
        "Expiration": rfc3339(SystemTime::now() + lifetime),
    })
    .to_string()
}

#[test]
fn expired_temporary_credentials_are_replaced_without_a_restart() {
    // Hydrant knows only the new key: a request signed with the old one is refused.
    let hydrant = verifying_hydrant(&[(NEW_KEY, NEW_SECRET)]);
    let dir = tempfile::tempdir().expect("temp dir");
    let issued = dir.path().join("issued.json");
    std::fs::write(&issued, process_output(KEY, SECRET, Duration::from_secs(2))).expect("write");
    // `credential_process`: what SSO helpers, Vault and the like plug into.
    let config = format!(
        "[profile e2e]\ncredential_process = cat {}\n",
        issued.display()
    );
    let proxy = Proxy::start(
        &hydrant.url,
        ProxyOptions {
            args: vec!["--profile".into(), "e2e".into()],
            config_file: Some(config),
            ..Default::default()
        },
    );
    let health = proxy.raw("GET", "/_sigproxy/health", &[], b"").json();
    assert_eq!(health["credentials"]["loaded"], true, "{health}");
    assert_eq!(health["credentials"]["temporary"], true, "{health}");
    assert!(
        health["credentials"]["expires_in_seconds"]
            .as_i64()
            .unwrap_or(99)
            <= 2
    );
    let reply = proxy.raw("GET", "/", &[], b"");
    assert_eq!(reply.status, 403, "the old key is not Hydrant's");

    // The issuer hands out new credentials; once the old ones expire they are used.
    std::fs::write(
        &issued,
        process_output(NEW_KEY, NEW_SECRET, Duration::from_secs(3600)),
    )
    .expect("write");
    let renewed = common::wait_until(Duration::from_secs(20), || {
        proxy.raw("GET", "/", &[], b"").status == 200
    });
    assert!(renewed, "still refused:\n{}", proxy.log_text());
    let health = proxy.raw("GET", "/_sigproxy/health", &[], b"").json();
    assert_eq!(
        health["credentials"]["access_key_id"], "AKID…TNEW",
        "{health}"
    );
    let left = health["credentials"]["expires_in_seconds"]
        .as_i64()
        .unwrap_or(0);
    assert!((3500..=3600).contains(&left), "{health}");
}

#[test]
fn a_rotated_credentials_file_is_used_without_a_restart() {
    let hydrant = verifying_hydrant(&[(NEW_KEY, NEW_SECRET)]);
    let proxy = Proxy::with_keys(&hydrant.url, KEY, SECRET, None);
    assert_eq!(proxy.raw("GET", "/", &[], b"").status, 403);
    replace_file(
        &proxy.path("credentials"),
        &format!(
            "[default]\naws_access_key_id = {NEW_KEY}\naws_secret_access_key = {NEW_SECRET}\n"
        ),
    );
    // Bounded wait rather than one request: under load, one CI run saw the first request
    // after the rename still refused (the change is seen by the file's mtime and length).
    let renewed = common::wait_until(Duration::from_secs(10), || {
        proxy.raw("GET", "/", &[], b"").status == 200
    });
    assert!(renewed, "still refused:\n{}", proxy.log_text());
    // The log is written by its own thread: the line may land just after the answer.
    let logged = common::wait_until(Duration::from_secs(10), || {
        proxy
            .log_text()
            .contains("AWS credentials reloaded after a shared file changed")
    });
    assert!(logged, "no reload logged:\n{}", proxy.log_text());
}

#[test]
fn without_credentials_requests_get_502_and_health_says_why() {
    let hydrant = verifying_hydrant(&[(KEY, SECRET)]);
    let proxy = Proxy::start(&hydrant.url, ProxyOptions::default());
    let reply = proxy.raw("GET", "/_search", &[], b"");
    assert_eq!(reply.status, 502, "{}", reply.text());
    let reason = reply.json()["error"]["reason"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(
        reason.starts_with("cannot load AWS credentials"),
        "{reason}"
    );
    let health = proxy.raw("GET", "/_sigproxy/health", &[], b"");
    assert_eq!(health.status, 503);
    assert_eq!(health.json()["credentials"]["loaded"], false);
}

#[test]
fn a_remote_listen_address_is_refused_without_allow_remote_and_basic_auth() {
    for extra in [
        &[][..],
        &["--allow-remote"][..],
        &["--basic-auth", "u:p"][..],
    ] {
        let out = Command::new(common::BIN)
            .args([
                "sigproxy",
                "--endpoint",
                "search-x.eu-west-1.es.amazonaws.com",
            ])
            .args(["--listen", "0.0.0.0:0"])
            .args(extra)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .output()
            .expect("run");
        assert!(!out.status.success(), "{extra:?} was accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("refusing to listen on non-loopback address `0.0.0.0:0`: that needs both --allow-remote and --basic-auth"),
            "{err}"
        );
    }
}

#[test]
fn an_endpoint_without_a_known_region_names_the_flag() {
    let out = Command::new(common::BIN)
        .args(["sigproxy", "--endpoint", "https://search.example.com"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "cannot infer the region from endpoint host `search.example.com`: pass --region"
        ),
        "{err}"
    );
}
