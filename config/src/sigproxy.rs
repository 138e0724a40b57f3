//! The `[sigproxy]` table (the local SigV4 signing proxy, `hydrant sigproxy`) and the `[auth]`
//! table (SigV4 verification of Hydrant's own API by `hydrant serve`).
//!
//! Only the shape and ranges of values are checked here. What needs knowledge of AWS (inferring
//! the region from an endpoint host, refusing a remote bind without basic auth once command-line
//! flags are merged in) is checked by `hydrant-sigproxy`, which owns the behaviour.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use serde::Serialize;

use crate::reader::{Choice, Section};
use crate::{GIB, KIB, MIB, ser_duration, ser_size};

/// A credential (a password, a secret access key): `***` in rendered configs and debug output.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretText(String);

impl SecretText {
    /// Wraps a secret.
    pub fn new(text: impl Into<String>) -> SecretText {
        SecretText(text.into())
    }

    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl Serialize for SecretText {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("***")
    }
}

/// The AWS service a signature is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SigningService {
    /// Amazon Elasticsearch / OpenSearch Service domains.
    Es,
    /// Amazon OpenSearch Serverless collections.
    Aoss,
}

impl SigningService {
    /// The service name as it appears in the credential scope.
    pub fn as_str(self) -> &'static str {
        match self {
            SigningService::Es => "es",
            SigningService::Aoss => "aoss",
        }
    }
}

impl Choice for SigningService {
    const ALLOWED: &'static [&'static str] = &["es", "aoss"];
    fn from_name(name: &str) -> Option<Self> {
        match name {
            "es" => Some(SigningService::Es),
            "aoss" => Some(SigningService::Aoss),
            _ => None,
        }
    }
}

/// `[sigproxy]`: the settings of `hydrant sigproxy`; command-line flags override each one.
#[derive(Debug, Clone, Serialize)]
pub struct SigproxyConfig {
    /// The domain or collection endpoint, with or without `https://`. Empty: none configured.
    pub endpoint: String,
    /// Address the proxy listens on. Default `127.0.0.1:9201`.
    pub listen: SocketAddr,
    /// Signing region. Empty: inferred from the endpoint host.
    pub region: String,
    /// Signing service. `None`: inferred from the endpoint host (`es` when it cannot be).
    pub service: Option<SigningService>,
    /// AWS profile of the shared config files. Empty: `AWS_PROFILE` or `default`.
    pub profile: String,
    /// Host signed and sent upstream instead of the endpoint's (SSH tunnels, custom domains).
    pub sign_host: String,
    /// Whether a listen address other than loopback is allowed (it also needs `basic_auth`).
    pub allow_remote: bool,
    /// `user:password` required from clients (HTTP basic auth). `None`: no check.
    pub basic_auth: Option<SecretText>,
    /// Largest request body forwarded (413 past it). Default 100 MiB.
    #[serde(serialize_with = "ser_size")]
    pub max_body_size: u64,
    /// How long connecting to the endpoint may take (then 504). Default 10 s.
    #[serde(serialize_with = "ser_duration")]
    pub connect_timeout: Duration,
    /// How long the endpoint may take to start answering, and to send each part of its
    /// answer (then 504). Default 2 minutes.
    #[serde(serialize_with = "ser_duration")]
    pub request_timeout: Duration,
}

/// `[auth]`: how `hydrant serve` authenticates requests to its own API.
#[derive(Debug, Clone, Serialize, Default)]
pub struct AuthConfig {
    /// SigV4 verification; `None` (no `[auth.sigv4.keys]`): requests are not authenticated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sigv4: Option<Sigv4AuthConfig>,
    /// Users who sign in with a password (HTTP basic) and the API keys they create; none: no
    /// sign-in.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub users: BTreeMap<String, crate::UserConfig>,
}

impl AuthConfig {
    /// Whether requests must authenticate at all (users, or SigV4 keys).
    pub fn required(&self) -> bool {
        self.sigv4.is_some() || !self.users.is_empty()
    }
}

/// `[auth.sigv4]`: verify AWS Signature Version 4 on every request, as a managed domain does.
#[derive(Debug, Clone, Serialize)]
pub struct Sigv4AuthConfig {
    /// Region a signature's scope must name. Default `us-east-1`.
    pub region: String,
    /// Service a signature's scope must name. Default `es`.
    pub service: SigningService,
    /// Largest difference between a request's `X-Amz-Date` and the clock. Default 5 minutes.
    #[serde(serialize_with = "ser_duration")]
    pub max_clock_skew: Duration,
    /// Access key id → secret access key.
    pub keys: BTreeMap<String, SecretText>,
}

pub(crate) fn read_sigproxy(mut s: Section<'_>) -> SigproxyConfig {
    let endpoint = s.string("endpoint", "").trim().to_string();
    let listen_text = s.string("listen", "127.0.0.1:9201");
    let listen = match listen_text.parse::<SocketAddr>() {
        Ok(addr) => addr,
        Err(_) => {
            let key = s.key("listen");
            s.problem(
                "listen",
                format!(
                    "`{key}` must be an address with a port such as \"127.0.0.1:9201\", got `{listen_text}`"
                ),
            );
            SocketAddr::from(([127, 0, 0, 1], 9201))
        }
    };
    let region = s.string("region", "");
    check_region(&mut s, "region", &region);
    let service = s.choice("service", None::<SigningService>);
    let profile = s.string("profile", "");
    let sign_host = s.string("sign_host", "");
    let allow_remote = s.bool("allow_remote", false);
    let basic_auth = s.string("basic_auth", "");
    let basic_auth = if basic_auth.is_empty() {
        None
    } else {
        check_basic_auth(&mut s, &basic_auth);
        Some(SecretText(basic_auth))
    };
    let config = SigproxyConfig {
        endpoint,
        listen,
        region,
        service,
        profile,
        sign_host,
        allow_remote,
        basic_auth,
        max_body_size: s.size("max_body_size", 100 * MIB, 64 * KIB, 16 * GIB),
        connect_timeout: s.duration(
            "connect_timeout",
            Duration::from_secs(10),
            Duration::from_millis(10),
            Duration::from_secs(600),
        ),
        request_timeout: s.duration(
            "request_timeout",
            Duration::from_secs(120),
            Duration::from_millis(10),
            Duration::from_secs(3600),
        ),
    };
    s.finish();
    config
}

impl Choice for Option<SigningService> {
    const ALLOWED: &'static [&'static str] = SigningService::ALLOWED;
    fn from_name(name: &str) -> Option<Self> {
        SigningService::from_name(name).map(Some)
    }
}

pub(crate) fn read_auth(mut s: Section<'_>) -> AuthConfig {
    let sigv4 = {
        let mut t = s.section("sigv4");
        let region = t.string("region", "us-east-1");
        if region.is_empty() {
            t.problem("region", format!("`{}` must not be empty", t.key("region")));
        }
        check_region(&mut t, "region", &region);
        let service = t.choice("service", SigningService::Es);
        let max_clock_skew = t.duration(
            "max_clock_skew",
            Duration::from_secs(300),
            Duration::from_secs(1),
            Duration::from_secs(3600),
        );
        let keys = read_keys(&mut t);
        t.finish();
        (!keys.is_empty()).then_some(Sigv4AuthConfig {
            region,
            service,
            max_clock_skew,
            keys,
        })
    };
    let users = crate::security::read_users(&mut s);
    s.finish();
    AuthConfig { sigv4, users }
}

fn read_keys(t: &mut Section<'_>) -> BTreeMap<String, SecretText> {
    let mut keys = BTreeMap::new();
    for (id, value) in t.raw_table("keys") {
        let key = t.key(&format!("keys.{id}"));
        let id_ok = (4..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric());
        if !id_ok {
            t.problem(
                &format!("keys.{id}"),
                format!(
                    "access key id `{id}` under `{}` must be 4 to 128 letters and digits",
                    t.key("keys")
                ),
            );
            continue;
        }
        match value {
            toml::Value::String(secret) if !secret.is_empty() => {
                keys.insert(id, SecretText(secret));
            }
            _ => t.problem(
                &format!("keys.{id}"),
                format!("`{key}` must be the secret access key as a non-empty string"),
            ),
        }
    }
    keys
}

pub(crate) fn check_region(s: &mut Section<'_>, key: &str, region: &str) {
    let ok = region
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !ok {
        let full = s.key(key);
        s.problem(
            key,
            format!("`{full}` must be a region name such as \"eu-west-1\", got `{region}`"),
        );
    }
}

fn check_basic_auth(s: &mut Section<'_>, value: &str) {
    let user_ok = value
        .split_once(':')
        .is_some_and(|(user, _)| !user.is_empty());
    if !user_ok {
        // The value is a password: the message must not repeat it.
        let full = s.key("basic_auth");
        s.problem(
            "basic_auth",
            format!("`{full}` must be \"user:password\" with a non-empty user"),
        );
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use crate::Config;

    use super::*;

    fn problems(text: &str) -> Vec<String> {
        match Config::parse(text, &BTreeMap::new()) {
            Ok(_) => panic!("expected problems for {text:?}"),
            Err(e) => e.problems(),
        }
    }

    #[test]
    fn sigproxy_defaults_bind_loopback_with_a_100_mib_body_limit() {
        let c = Config::parse("", &BTreeMap::new()).unwrap();
        assert_eq!(c.sigproxy.listen.to_string(), "127.0.0.1:9201");
        assert_eq!(c.sigproxy.max_body_size, 100 * MIB);
        assert!(!c.sigproxy.allow_remote);
        assert!(c.sigproxy.basic_auth.is_none());
        assert!(c.auth.sigv4.is_none());
    }

    #[test]
    fn example_file_documents_the_sigproxy_and_auth_defaults() {
        let text = include_str!("../../hydrant.example.toml");
        let example = Config::parse(text, &BTreeMap::new()).unwrap();
        let defaults = Config::default();
        assert_eq!(
            toml::to_string(&example.sigproxy).unwrap(),
            toml::to_string(&defaults.sigproxy).unwrap()
        );
        assert!(example.auth.sigv4.is_none());
    }

    #[test]
    fn auth_keys_turn_verification_on_and_are_never_rendered() {
        let c = Config::parse(
            "[auth.sigv4]\nregion = \"eu-west-1\"\n[auth.sigv4.keys]\nAKIDTEST = \"s3cr3t\"\n",
            &BTreeMap::new(),
        )
        .unwrap();
        let sigv4 = c.auth.sigv4.as_ref().unwrap();
        assert_eq!(sigv4.region, "eu-west-1");
        assert_eq!(sigv4.service, SigningService::Es);
        assert_eq!(sigv4.max_clock_skew, Duration::from_secs(300));
        assert_eq!(sigv4.keys["AKIDTEST"].expose(), "s3cr3t");
        let rendered = c.to_toml();
        assert!(!rendered.contains("s3cr3t"), "{rendered}");
        assert!(!format!("{c:?}").contains("s3cr3t"));
    }

    #[test]
    fn basic_auth_without_a_user_is_rejected_without_echoing_the_password() {
        let p = problems("[sigproxy]\nbasic_auth = \"hunter2\"\n");
        assert_eq!(
            p,
            vec!["`sigproxy.basic_auth` must be \"user:password\" with a non-empty user"]
        );
    }

    #[test]
    fn sigproxy_service_must_be_es_or_aoss() {
        let p = problems("[sigproxy]\nservice = \"s3\"\n");
        assert_eq!(
            p,
            vec!["`sigproxy.service` must be one of \"es\", \"aoss\", got `\"s3\"`"]
        );
    }

    #[test]
    fn auth_key_ids_must_be_alphanumeric() {
        let p = problems("[auth.sigv4.keys]\n\"bad key\" = \"x\"\n");
        assert_eq!(
            p,
            vec![
                "access key id `bad key` under `auth.sigv4.keys` must be 4 to 128 letters and digits"
            ]
        );
    }

    #[test]
    fn sigproxy_values_are_overridable_from_the_environment() {
        let env = BTreeMap::from([
            (
                "HYDRANT_SIGPROXY__ENDPOINT".to_string(),
                "search-x.eu-west-1.es.amazonaws.com".to_string(),
            ),
            (
                "HYDRANT_SIGPROXY__REQUEST_TIMEOUT".to_string(),
                "30s".to_string(),
            ),
        ]);
        let c = Config::parse("", &env).unwrap();
        assert_eq!(c.sigproxy.endpoint, "search-x.eu-west-1.es.amazonaws.com");
        assert_eq!(c.sigproxy.request_timeout, Duration::from_secs(30));
    }

    #[test]
    fn unknown_sigproxy_and_auth_keys_are_errors() {
        let p = problems("[sigproxy]\nendpont = \"x\"\n[auth.sigv4]\nregoin = \"x\"\n");
        assert!(
            p.contains(&"unknown key `sigproxy.endpont`".to_string()),
            "{p:?}"
        );
        assert!(
            p.contains(&"unknown key `auth.sigv4.regoin`".to_string()),
            "{p:?}"
        );
    }
}
