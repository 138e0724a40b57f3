//! `[auth.users]` and `[http.tls]`: who may use Hydrant's API off AWS, and the certificate it
//! serves HTTPS with — plus the rule that keeps a network-facing Hydrant from running in clear
//! text without anyone asked to sign in.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Serialize;

use crate::reader::Section;
use crate::sigproxy::SecretText;

/// What a user or API key may do. Each role allows its own APIs only; a user gets every role
/// it needs listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Search, counts, mappings, `_cat`, metrics and the UI.
    Reader,
    /// The ingest APIs: NDJSON, `_bulk`, Firehose.
    Writer,
    /// Indices, templates, pipelines, deletions, dashboards and API keys.
    Admin,
}

impl Role {
    /// Every role, in order.
    pub const ALL: [Role; 3] = [Role::Reader, Role::Writer, Role::Admin];

    /// The role's name in configuration and answers.
    pub fn name(self) -> &'static str {
        match self {
            Role::Reader => "reader",
            Role::Writer => "writer",
            Role::Admin => "admin",
        }
    }

    /// The role named `name`.
    pub fn from_name(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.name() == name)
    }
}

/// `[auth.users.<name>]`: one user who signs in with HTTP basic authentication.
#[derive(Debug, Clone, Serialize)]
pub struct UserConfig {
    /// The password's Argon2 hash in PHC form (`$argon2id$v=19$…`), made by
    /// `hydrant auth hash-password`; the password itself is never in the file.
    pub password_hash: SecretText,
    /// What the user may do.
    pub roles: Vec<Role>,
}

/// `[http.tls]`: serve HTTPS with this certificate.
#[derive(Debug, Clone, Serialize)]
pub struct TlsConfig {
    /// PEM file with the certificate chain, the server's first.
    pub cert_file: PathBuf,
    /// PEM file with the private key (PKCS#8, PKCS#1 or SEC1).
    pub key_file: PathBuf,
}

pub(crate) fn read_users(s: &mut Section<'_>) -> BTreeMap<String, UserConfig> {
    let mut users = BTreeMap::new();
    for (name, value) in s.raw_table("users") {
        let key = s.key(&format!("users.{name}"));
        let name_ok = (1..=64).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'@'));
        if !name_ok {
            s.problem(
                &format!("users.{name}"),
                format!("user name `{name}` under `{}` must be 1 to 64 letters, digits, `_`, `-`, `.` or `@`", s.key("users")),
            );
            continue;
        }
        let toml::Value::Table(table) = value else {
            s.problem(&format!("users.{name}"), format!("`{key}` must be a table"));
            continue;
        };
        let mut t = Section::new(&key, table, s.problems());
        let hash = t.string("password_hash", "");
        if !hash.starts_with("$argon2") {
            t.problem(
                "password_hash",
                format!(
                    "`{key}.password_hash` must be an Argon2 hash such as \"$argon2id$v=19$m=19456,t=2,p=1$…\" (make one with `hydrant auth hash-password`), never a password"
                ),
            );
        }
        let mut roles = Vec::new();
        for r in t.string_list("roles") {
            match Role::from_name(&r) {
                Some(role) if !roles.contains(&role) => roles.push(role),
                Some(_) => {}
                None => t.problem(
                    "roles",
                    format!("`{key}.roles` may hold reader, writer and admin, got `{r}`"),
                ),
            }
        }
        if roles.is_empty() {
            t.problem(
                "roles",
                format!("`{key}.roles` must name at least one of reader, writer and admin"),
            );
        }
        t.finish();
        users.insert(
            name,
            UserConfig {
                password_hash: SecretText::new(hash),
                roles,
            },
        );
    }
    users
}

pub(crate) fn read_tls(s: &mut Section<'_>) -> Option<TlsConfig> {
    if !s.has("tls") {
        return None;
    }
    let mut t = s.section("tls");
    let cert_file = PathBuf::from(t.string("cert_file", ""));
    let key_file = PathBuf::from(t.string("key_file", ""));
    for (k, v) in [("cert_file", &cert_file), ("key_file", &key_file)] {
        if v.as_os_str().is_empty() {
            let path = t.key(k);
            t.problem(k, format!("`{path}` must name a PEM file"));
        }
    }
    t.finish();
    Some(TlsConfig {
        cert_file,
        key_file,
    })
}

/// Why a Hydrant listening on `listen` would expose its API unsafely, if it would: a
/// non-loopback address without TLS, or without anyone asked to authenticate. `None` when it is
/// safe, or when `allow_insecure_remote` says the operator knows.
pub fn exposure_problem(
    listen: SocketAddr,
    tls: bool,
    authenticated: bool,
    allow_insecure_remote: bool,
) -> Option<String> {
    if listen.ip().is_loopback() || allow_insecure_remote || (tls && authenticated) {
        return None;
    }
    let missing = match (tls, authenticated) {
        (false, false) => "TLS and authentication",
        (false, true) => "TLS",
        _ => "authentication",
    };
    Some(format!(
        "refusing to listen on {listen} without {missing}: clients on the network would reach the API {}; configure [http.tls] and [auth.users] (or [auth.sigv4]), or set http.allow_insecure_remote = true",
        if tls {
            "without signing in"
        } else {
            "in clear text"
        }
    ))
}
