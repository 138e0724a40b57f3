//! `hydrant sigproxy` in front of a `hydrant serve` that verifies SigV4 (`[auth.sigv4]`), both
//! real binaries on loopback: the whole loop client → sigproxy → Hydrant as it would run
//! against AWS. Awkward paths and queries, a 50 MiB body, a chunked body, Kibana and
//! Dashboards with their redirects, and wrong credentials.

mod common;
mod sigproxy_support;

use std::io::Read;
use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{Value, json};
use sigproxy_support::{KEY, Proxy, ProxyOptions, REGION, SECRET, raw, verifying_hydrant};

const TOKEN: &str = "FwoGZXIvYXdzE-e2e-session-token-0123456789";

fn ingest(proxy: &Proxy, stream: &str, content_type: &str, body: &[u8]) -> Value {
    let target = format!("/v1/streams/{stream}/records?refresh=wait_for");
    let reply = proxy.raw("POST", &target, &[("content-type", content_type)], body);
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.json()
}

#[test]
fn awkward_paths_and_queries_reach_a_verifying_hydrant_and_the_log_holds_no_secret() {
    let hydrant = verifying_hydrant(&[(KEY, SECRET)]);
    let creds = format!(
        "[default]\naws_access_key_id = {KEY}\naws_secret_access_key = {SECRET}\naws_session_token = {TOKEN}\n"
    );
    let proxy = Proxy::start(
        &hydrant.url,
        ProxyOptions {
            credentials_file: Some(creds),
            log_filter: Some("trace"),
            ..Default::default()
        },
    );
    let records = [
        json!({"msg": "hello world", "path": "/var/log/app.log", "word": "café", "n": 1}),
        json!({"msg": "a:b*c weird", "path": "/tmp/x", "word": "crème", "n": 2}),
        json!({"msg": "third", "path": "/var/log/app.log", "word": "plain", "n": 3}),
    ];
    let ndjson: String = records.iter().map(|r| format!("{r}\n")).collect();
    let resp = ingest(&proxy, "web", "application/x-ndjson", ndjson.as_bytes());
    assert_eq!(resp["accepted"], 3, "{resp}");

    // (request target exactly as sent, expected count)
    let cases = [
        ("/web/_count?q=msg:hello", 1),
        ("/web/_count?q=n:1+OR+n:2", 2),
        ("/web/_count?q=n:1%20OR%20n:3", 2),
        ("/we*/_count?q=word:caf%C3%A9", 1),
        ("/we%2A/_count?q=word:cr%C3%A8me", 1),
        ("/web/_count?q=msg:%22a:b*c%22", 1),
        ("/web/_count?q=path:%22%2Fvar%2Flog%2Fapp.log%22", 2),
        ("//web//_count", 3),
        ("/./web/../web/_count?q=*", 3),
        ("/web/_count?q=n:%5B2+TO+3%5D&pretty", 2),
    ];
    for (target, expected) in cases {
        let reply = proxy.raw("GET", target, &[], b"");
        assert_eq!(reply.status, 200, "{target}: {}", reply.text());
        assert_eq!(
            reply.json()["count"],
            expected,
            "{target}: {}",
            reply.text()
        );
    }
    // The same requests straight to Hydrant, unsigned, are refused: the proxy's signing is
    // what let them in.
    let addr = hydrant.url.trim_start_matches("http://");
    assert_eq!(raw(addr, "GET", "/web/_count", &[], b"").status, 403);

    let logs = proxy.log_text();
    assert!(
        logs.contains("path=/we*/_count status=200"),
        "access log line missing:\n{logs}"
    );
    for field in ["method=GET", "bytes=", "latency_ms=", "upstream_ms="] {
        assert!(logs.contains(field), "{field} missing from the access log");
    }
    for secret in [SECRET, TOKEN, "Signature=", "AWS4-HMAC-SHA256 Credential"] {
        assert!(
            !logs.contains(secret),
            "`{secret}` appears in the proxy's log"
        );
    }
}

#[test]
fn a_50_mib_body_and_a_chunked_body_are_signed_and_delivered_whole() {
    let hydrant = verifying_hydrant(&[(KEY, SECRET)]);
    let proxy = Proxy::with_keys(&hydrant.url, KEY, SECRET, None);
    let line = format!("{}\n", "x".repeat(1023));
    let body = line.repeat(50 * 1024);
    assert_eq!(body.len(), 50 * 1024 * 1024);
    let resp = ingest(&proxy, "bulk", "text/plain", body.as_bytes());
    assert_eq!(resp["accepted"], 50 * 1024, "{resp}");

    // A body of unknown length goes out chunked.
    let records: String = (0..20_000).map(|i| format!("{{\"i\":{i}}}\n")).collect();
    let reader = std::io::Cursor::new(records.into_bytes()).chain(std::io::empty());
    let client = reqwest::blocking::Client::new();
    let reply = client
        .post(format!("{}/v1/streams/bulk/records", proxy.url))
        .header("content-type", "application/x-ndjson")
        .body(reqwest::blocking::Body::new(reader))
        .send()
        .expect("chunked request");
    assert_eq!(reply.status(), 200);
    let resp: Value = reply.json().expect("json");
    assert_eq!(resp["accepted"], 20_000, "{resp}");
}

#[test]
fn wrong_credentials_get_hydrants_403_unchanged() {
    let hydrant = verifying_hydrant(&[(KEY, SECRET)]);
    let wrong_secret = Proxy::with_keys(&hydrant.url, KEY, "not-the-secret", None);
    let reply = wrong_secret.raw("GET", "/web/_search?q=*", &[], b"");
    assert_eq!(reply.status, 403);
    assert_eq!(
        reply.header("x-amzn-errortype"),
        Some("InvalidSignatureException")
    );
    assert_eq!(
        reply.json(),
        json!({
            "__type": "InvalidSignatureException",
            "message": "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
        })
    );
    let unknown = Proxy::with_keys(&hydrant.url, "AKIDNOBODYKNOWS", SECRET, None);
    let reply = unknown.raw("GET", "/", &[], b"");
    assert_eq!(reply.status, 403);
    assert_eq!(
        reply.header("x-amzn-errortype"),
        Some("UnrecognizedClientException")
    );
}

/// A stand-in for a managed domain's Kibana and Dashboards: it verifies SigV4 as the domain
/// does (with the crate's verifier) and redirects the way they do.
fn mock_domain(sign_host: &'static str) -> SocketAddr {
    use axum::Router;
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::IntoResponse;
    use axum::routing::{get, post};

    let redirect = |to: String| (StatusCode::FOUND, [("location", to)]).into_response();
    let page = |name: &'static str| {
        (
            [
                ("content-type", "text/html"),
                ("set-cookie", "session=abc; Path=/; HttpOnly"),
            ],
            format!("<html><title>{name}</title></html>"),
        )
    };
    let api = |xsrf: &'static str| {
        move |headers: HeaderMap| async move {
            match headers.get(xsrf) {
                Some(_) => (StatusCode::OK, format!("{{\"{xsrf}\":true}}")),
                None => (StatusCode::BAD_REQUEST, format!("missing {xsrf}")),
            }
        }
    };
    let router =
        Router::new()
            .route(
                "/_plugin/kibana",
                get(
                    move || async move { redirect(format!("https://{sign_host}/_plugin/kibana/")) },
                ),
            )
            .route(
                "/_plugin/kibana/",
                get(move || async move { redirect("/_plugin/kibana/app/kibana".into()) }),
            )
            .route(
                "/_plugin/kibana/app/kibana",
                get(move || async move { page("Kibana") }),
            )
            .route(
                "/_plugin/kibana/api/saved_objects/_find",
                post(api("kbn-xsrf")),
            )
            .route(
                "/_dashboards",
                get(move || async move {
                    redirect(format!("https://{sign_host}/_dashboards/app/home"))
                }),
            )
            .route(
                "/_dashboards/app/home",
                get(move || async move { page("OpenSearch Dashboards") }),
            )
            .route(
                "/_dashboards/api/saved_objects/_find",
                post(api("osd-xsrf")),
            );
    let policy = hydrant_sigproxy::verify::Policy {
        keys: [(KEY.to_string(), SECRET.to_string())].into(),
        region: REGION.to_string(),
        service: "es".to_string(),
        max_clock_skew: Duration::from_secs(300),
    };
    let app = hydrant_sigproxy::verify::Verifier::new(policy, 1 << 20).protect(router);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("rt");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            let _ = axum::serve(listener, app).await;
        });
    });
    addr
}

#[test]
fn kibana_and_dashboards_load_through_the_proxy_and_redirects_come_back_to_it() {
    const DOMAIN: &str = "search-logs-abc123.eu-west-1.es.amazonaws.com";
    let domain = mock_domain(DOMAIN);
    let proxy = Proxy::start(
        &format!("http://{domain}"),
        ProxyOptions {
            args: vec!["--sign-host".into(), DOMAIN.into()],
            credentials_file: Some(format!(
                "[default]\naws_access_key_id = {KEY}\naws_secret_access_key = {SECRET}\n"
            )),
            ..Default::default()
        },
    );
    // Redirects are not followed; one to the domain comes back pointing at the proxy.
    let reply = proxy.raw("GET", "/_plugin/kibana", &[], b"");
    assert_eq!(reply.status, 302, "{}", reply.text());
    assert_eq!(
        reply.header("location"),
        Some(format!("{}/_plugin/kibana/", proxy.url).as_str())
    );
    let reply = proxy.raw("GET", "/_plugin/kibana/", &[], b"");
    assert_eq!(reply.header("location"), Some("/_plugin/kibana/app/kibana"));
    let reply = proxy.raw("GET", "/_dashboards", &[], b"");
    assert_eq!(
        reply.header("location"),
        Some(format!("{}/_dashboards/app/home", proxy.url).as_str())
    );

    // A browser following them lands on the apps, cookies and XSRF headers intact.
    let browser = reqwest::blocking::Client::new();
    for (start, title) in [
        ("/_plugin/kibana", "Kibana"),
        ("/_dashboards", "OpenSearch Dashboards"),
    ] {
        let page = browser
            .get(format!("{}{start}", proxy.url))
            .send()
            .expect("page");
        assert_eq!(page.status(), 200);
        assert!(
            page.url().as_str().starts_with(&proxy.url),
            "left the proxy: {}",
            page.url()
        );
        assert!(
            page.headers()["set-cookie"]
                .to_str()
                .unwrap_or("")
                .starts_with("session=")
        );
        assert!(page.text().unwrap_or_default().contains(title));
    }
    for (path, xsrf) in [
        ("/_plugin/kibana/api/saved_objects/_find", "kbn-xsrf"),
        ("/_dashboards/api/saved_objects/_find", "osd-xsrf"),
    ] {
        let reply = proxy.raw(
            "POST",
            path,
            &[(xsrf, "true"), ("cookie", "session=abc")],
            b"{}",
        );
        assert_eq!(reply.status, 200, "{path}: {}", reply.text());
    }
}

#[test]
fn settings_come_from_the_config_file_and_flags_override_them() {
    let hydrant = verifying_hydrant(&[(KEY, SECRET)]);
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("hydrant.toml");
    let text = format!(
        "[sigproxy]\nendpoint = \"{}\"\nregion = \"us-west-2\"\nlisten = \"127.0.0.1:0\"\nrequest_timeout = \"30s\"\n",
        hydrant.url
    );
    std::fs::write(&config, text).expect("write");
    let creds = format!("[default]\naws_access_key_id = {KEY}\naws_secret_access_key = {SECRET}\n");
    let start = |extra: &[&str]| {
        let mut args = vec!["--config".to_string(), config.display().to_string()];
        args.extend(extra.iter().map(|a| a.to_string()));
        Proxy::start(
            "",
            ProxyOptions {
                args,
                credentials_file: Some(creds.clone()),
                ..Default::default()
            },
        )
    };
    // From the file alone: the region is us-west-2, which Hydrant (eu-west-1) refuses.
    let from_file = start(&[]);
    let health = from_file.raw("GET", "/_sigproxy/health", &[], b"").json();
    assert_eq!(health["endpoint"], hydrant.url.as_str(), "{health}");
    assert_eq!(health["region"], "us-west-2", "{health}");
    let reply = from_file.raw("GET", "/", &[], b"");
    assert_eq!(reply.status, 403);
    assert!(reply.text().contains("not 'us-west-2'"), "{}", reply.text());
    // A flag wins over the file.
    let overridden = start(&["--region", REGION]);
    assert_eq!(overridden.raw("GET", "/", &[], b"").status, 200);
}
