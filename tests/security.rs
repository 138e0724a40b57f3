//! Hydrant run for a team off AWS: HTTPS with its own certificate, users who sign in with a
//! password, API keys they make, and roles that separate writing, reading and administering —
//! against the real binary, with a client that verifies the certificate.

mod common;

use std::time::Duration;

use base64::Engine;
use common::Server;
use reqwest::blocking::{Client, RequestBuilder};
use serde_json::{Value, json};

/// Passwords of the test users; their hashes are made by the binary itself.
const USERS: [(&str, &str, &str); 4] = [
    ("ada", "admin-pass", "[\"admin\", \"reader\", \"writer\"]"),
    ("wes", "writer-pass", "[\"writer\"]"),
    ("rita", "reader-pass", "[\"reader\"]"),
    ("otto", "ops-pass", "[\"admin\"]"),
];

struct Tls {
    _dir: tempfile::TempDir,
    cert: std::path::PathBuf,
    key: std::path::PathBuf,
    ca_pem: Vec<u8>,
}

/// A CA and a server certificate for 127.0.0.1 and localhost signed by it.
fn certificates() -> Tls {
    let dir = tempfile::tempdir().unwrap();
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "hydrant test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let params =
        rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let cert = params.signed_by(&key, &issuer).unwrap();
    let cert_path = dir.path().join("server.pem");
    let key_path = dir.path().join("server.key");
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    Tls {
        cert: cert_path,
        key: key_path,
        ca_pem: ca.pem().into_bytes(),
        _dir: dir,
    }
}

fn hash(password: &str) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new(common::BIN)
        .args(["auth", "hash-password"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(password.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn secured(tls: &Tls) -> Server {
    let mut config = format!(
        "[http.tls]\ncert_file = \"{}\"\nkey_file = \"{}\"\n",
        tls.cert.display(),
        tls.key.display()
    );
    for (name, password, roles) in USERS {
        config.push_str(&format!(
            "[auth.users.{name}]\npassword_hash = \"{}\"\nroles = {roles}\n",
            hash(password)
        ));
    }
    let mut server = Server::start_with(&[], Some(&config));
    server.http = client(tls);
    server
}

fn client(tls: &Tls) -> Client {
    Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&tls.ca_pem).unwrap())
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

fn as_user(req: RequestBuilder, user: &str) -> RequestBuilder {
    let password = USERS.iter().find(|u| u.0 == user).unwrap().1;
    req.basic_auth(user, Some(password))
}

fn send(req: RequestBuilder) -> (u16, Value) {
    let resp = req.send().expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().unwrap_or(Value::Null))
}

#[test]
fn https_with_users_each_role_allowed_and_refused() {
    let tls = certificates();
    let server = secured(&tls);
    assert!(server.url.starts_with("https://"), "{}", server.url);
    let url = |p: &str| format!("{}{p}", server.url);
    // A client that does not trust the CA cannot even connect.
    let untrusting = Client::builder().build().unwrap();
    assert!(untrusting.get(url("/")).send().is_err());
    // No credentials: 401, with a challenge a browser answers with a password prompt.
    let resp = server.http.get(url("/web/_count")).send().unwrap();
    assert_eq!(resp.status(), 401);
    // One challenge per header, as Elasticsearch sends them (a browser ignores a Basic
    // challenge that shares its header with another scheme).
    let challenges: Vec<&str> = resp
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(
        challenges,
        ["Basic realm=\"hydrant\", charset=\"UTF-8\"", "ApiKey"]
    );
    let body: Value = resp.json().unwrap();
    assert_eq!(body["error"]["type"], "security_exception");
    // A wrong password: 401, naming the user but no secret.
    let (status, body) = send(server.http.get(url("/")).basic_auth("wes", Some("nope")));
    assert_eq!(status, 401);
    assert!(
        body["error"]["reason"]
            .as_str()
            .unwrap()
            .contains("user [wes]")
    );
    assert!(
        !server.log_text().contains("nope"),
        "passwords never reach the log"
    );

    let write = |user: &str| {
        send(as_user(
            server
                .http
                .post(url("/v1/streams/web/records?refresh=wait_for"))
                .header("content-type", "application/x-ndjson")
                .body("{\"msg\":\"hello\"}\n"),
            user,
        ))
    };
    let read = |user: &str| send(as_user(server.http.get(url("/web/_count")), user));
    let admin = |user: &str| {
        send(as_user(
            server
                .http
                .put(url("/_hydrant/ui/dashboards/team"))
                .body(json!({"title": "Team"}).to_string()),
            user,
        ))
    };
    // The writer writes, cannot read or administer.
    assert_eq!(write("wes").0, 200);
    assert_eq!(read("wes").0, 403);
    let (status, body) = admin("wes");
    assert_eq!(status, 403);
    assert!(
        body["error"]["reason"]
            .as_str()
            .unwrap()
            .contains("needs role [admin]"),
        "{body}"
    );
    // The reader reads, cannot write.
    let (status, body) = read("rita");
    assert_eq!((status, body["count"].as_u64()), (200, Some(1)), "{body}");
    assert_eq!(write("rita").0, 403);
    assert_eq!(admin("rita").0, 403);
    // Admin alone administers; with every role, everything.
    assert_eq!(admin("otto").0, 201);
    assert_eq!(read("otto").0, 403);
    assert_eq!(write("ada").0, 200);
    assert_eq!(read("ada").0, 200);
    // Who am I.
    let (status, me) = send(as_user(
        server.http.get(url("/_security/_authenticate")),
        "rita",
    ));
    assert_eq!(status, 200);
    assert_eq!(me["username"], "rita");
    assert_eq!(me["roles"], json!(["reader"]));
    // The refusals were logged once each, with who and why.
    let log = server.log_text();
    assert!(log.contains("request refused"), "{log}");
    assert!(log.contains("user [wes]"));
}

#[test]
fn api_keys_are_made_used_listed_and_invalidated() {
    let tls = certificates();
    let server = secured(&tls);
    let url = |p: &str| format!("{}{p}", server.url);
    // The writer makes a key: it holds the writer's role, no more.
    let (status, key) = send(as_user(
        server
            .http
            .post(url("/_security/api_key"))
            .json(&json!({"name": "shipper", "expiration": "1d"})),
        "wes",
    ));
    assert_eq!(status, 200, "{key}");
    let encoded = key["encoded"].as_str().unwrap().to_string();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(&encoded)
        .unwrap();
    assert_eq!(
        String::from_utf8(decoded).unwrap(),
        format!(
            "{}:{}",
            key["id"].as_str().unwrap(),
            key["api_key"].as_str().unwrap()
        )
    );
    let with_key = |req: RequestBuilder| req.header("authorization", format!("ApiKey {encoded}"));
    let (status, _) = send(with_key(
        server
            .http
            .post(url("/_bulk?refresh=wait_for"))
            .header("content-type", "application/x-ndjson")
            .body("{\"index\":{\"_index\":\"keyed\"}}\n{\"n\":1}\n"),
    ));
    assert_eq!(status, 200);
    assert_eq!(send(with_key(server.http.get(url("/keyed/_count")))).0, 403);
    let (_, me) = send(with_key(server.http.get(url("/_security/_authenticate"))));
    assert_eq!(me["authentication_type"], "api_key");
    assert_eq!(me["api_key"]["name"], "shipper");
    // A key asked with read privileges by a writer grants nothing the writer holds.
    let (status, _) = send(as_user(
        server.http.post(url("/_security/api_key")).json(&json!({
            "name": "peek",
            "role_descriptors": {"r": {"indices": [{"names": ["*"], "privileges": ["read"]}]}}
        })),
        "wes",
    ));
    assert_eq!(status, 400);
    // Listed for its owner and for an admin, not for others.
    let (_, mine) = send(as_user(server.http.get(url("/_security/api_key")), "wes"));
    assert_eq!(mine["api_keys"].as_array().unwrap().len(), 1);
    let (_, theirs) = send(as_user(server.http.get(url("/_security/api_key")), "rita"));
    assert!(theirs["api_keys"].as_array().unwrap().is_empty());
    let (_, all) = send(as_user(server.http.get(url("/_security/api_key")), "otto"));
    assert_eq!(all["api_keys"][0]["username"], "wes");
    // Invalidated: refused from then on, and still known as invalidated.
    let (status, done) = send(as_user(
        server
            .http
            .delete(url("/_security/api_key"))
            .json(&json!({"ids": [key["id"]]})),
        "wes",
    ));
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["invalidated_api_keys"], json!([key["id"]]));
    assert_eq!(send(with_key(server.http.get(url("/")))).0, 401);
    let (_, listed) = send(as_user(server.http.get(url("/_security/api_key")), "wes"));
    assert_eq!(listed["api_keys"][0]["invalidated"], true);
}

#[test]
fn a_client_that_keeps_failing_to_sign_in_is_slowed_down() {
    let tls = certificates();
    let server = secured(&tls);
    let url = format!("{}/", server.url);
    let mut statuses = Vec::new();
    for _ in 0..12 {
        statuses.push(send(server.http.get(&url).basic_auth("ada", Some("guess"))).0);
    }
    assert_eq!(&statuses[..10], &[401; 10]);
    assert_eq!(statuses[10], 429, "{statuses:?}");
    // Even the right password waits now.
    let resp = as_user(server.http.get(&url), "ada").send().unwrap();
    assert_eq!(resp.status(), 429);
    assert!(resp.headers().contains_key("retry-after"));
}

#[test]
fn a_remote_bind_without_tls_and_users_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(common::BIN)
        .args(["serve", "--listen", "0.0.0.0:0", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("without TLS and authentication"), "{err}");
    assert!(err.contains("allow_insecure_remote"), "{err}");
    // Said explicitly, it starts (no request is sent to it).
    let mut cmd = std::process::Command::new(common::BIN);
    cmd.args(["serve", "--listen", "0.0.0.0:0", "--data-dir"])
        .arg(dir.path())
        .env("HYDRANT_HTTP__ALLOW_INSECURE_REMOTE", "true");
    let (mut child, addr, _logs) = common::spawn_listening(cmd, "hydrant serve");
    assert!(addr.starts_with("0.0.0.0:"), "{addr}");
    child.kill().unwrap();
    let _ = child.wait();
}
