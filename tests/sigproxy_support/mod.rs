//! Harness for the sigproxy end-to-end tests: the real `hydrant sigproxy` binary on a loopback
//! port, with an environment of its own (no AWS variables or files of the machine's), a raw
//! HTTP/1.1 client that sends exactly the bytes it is given, and a Hydrant that verifies SigV4.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::{BIN, Server, spawn_listening};

pub const KEY: &str = "AKIDHYDRANTE2E";
pub const SECRET: &str = "e2e/Secret+Key/0123456789abcdef";
pub const NEW_KEY: &str = "AKIDHYDRANTNEW";
pub const NEW_SECRET: &str = "e2e/New+Secret/fedcba9876543210";
pub const REGION: &str = "eu-west-1";

/// A Hydrant that accepts SigV4 signatures by `KEY` and `NEW_KEY` only, with a stream whose
/// records go to the write-ahead log alone (`bulk`).
pub fn verifying_hydrant(keys: &[(&str, &str)]) -> Server {
    let mut config = format!("[auth.sigv4]\nregion = \"{REGION}\"\n[auth.sigv4.keys]\n");
    for (k, s) in keys {
        config.push_str(&format!("{k} = \"{s}\"\n"));
    }
    config.push_str("[streams.bulk.index]\nenabled = false\n");
    Server::start_with(&[], Some(&config))
}

/// A running `hydrant sigproxy`.
pub struct Proxy {
    child: Option<Child>,
    pub addr: String,
    pub url: String,
    pub logs: Arc<Mutex<Vec<String>>>,
    pub dir: tempfile::TempDir,
}

/// What a proxy is started with: flags, extra environment, and shared AWS files (written into
/// its own temporary directory, named by `AWS_SHARED_CREDENTIALS_FILE` and `AWS_CONFIG_FILE`).
#[derive(Default)]
pub struct ProxyOptions<'a> {
    pub args: Vec<String>,
    pub env: Vec<(&'a str, String)>,
    pub credentials_file: Option<String>,
    pub config_file: Option<String>,
    pub log_filter: Option<&'a str>,
}

impl Proxy {
    /// Starts a proxy for `endpoint` signing with static credentials from the credentials file.
    pub fn with_keys(endpoint: &str, key: &str, secret: &str, token: Option<&str>) -> Proxy {
        let mut creds =
            format!("[default]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n");
        if let Some(t) = token {
            creds.push_str(&format!("aws_session_token = {t}\n"));
        }
        Proxy::start(
            endpoint,
            ProxyOptions {
                credentials_file: Some(creds),
                ..Default::default()
            },
        )
    }

    pub fn start(endpoint: &str, options: ProxyOptions<'_>) -> Proxy {
        let dir = tempfile::tempdir().expect("temp dir");
        let creds = dir.path().join("credentials");
        let config = dir.path().join("config");
        std::fs::write(&creds, options.credentials_file.unwrap_or_default()).expect("write");
        std::fs::write(&config, options.config_file.unwrap_or_default()).expect("write");
        let mut cmd = Command::new(BIN);
        cmd.arg("sigproxy");
        // An empty endpoint: everything comes from `options.args` (a config file, say).
        if !endpoint.is_empty() {
            let flags = [
                "--endpoint",
                endpoint,
                "--region",
                REGION,
                "--listen",
                "127.0.0.1:0",
            ];
            cmd.args(flags);
        }
        cmd.args(&options.args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", dir.path())
            .env("AWS_SHARED_CREDENTIALS_FILE", &creds)
            .env("AWS_CONFIG_FILE", &config)
            // No instance metadata service here: do not wait for one.
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("HYDRANT_LOG", options.log_filter.unwrap_or("info"))
            .env("NO_COLOR", "1");
        for (k, v) in &options.env {
            cmd.env(k, v);
        }
        let (child, addr, logs) = spawn_listening(cmd, "hydrant sigproxy");
        Proxy {
            child: Some(child),
            url: format!("http://{addr}"),
            addr,
            logs,
            dir,
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn log_text(&self) -> String {
        self.logs.lock().unwrap().join("\n")
    }

    /// Sends raw bytes as one request; see [`raw`].
    pub fn raw(&self, method: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
        raw(&self.addr, method, target, headers, body)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// An HTTP answer read off the wire.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|_| {
            serde_json::Value::String(String::from_utf8_lossy(&self.body).into())
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One HTTP/1.1 request with exactly this request target (as curl sends what it is given, no
/// normalising URL parser in between), `Connection: close`, and the answer read to its end.
pub fn raw(addr: &str, method: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    let mut head = format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (n, v) in headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    if !body.is_empty() || method == "POST" || method == "PUT" {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).expect("write head");
    stream.write_all(body).expect("write body");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read answer");
    parse_reply(&raw)
}

fn parse_reply(raw: &[u8]) -> Reply {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of head");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let rest = &raw[split + 4..];
    let chunked = headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_vec()
    };
    Reply {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = data.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size_text = String::from_utf8_lossy(&data[..eol]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("0").trim(), 16)
            .unwrap_or(0);
        if size == 0 {
            return out;
        }
        let start = eol + 2;
        out.extend_from_slice(&data[start..start + size]);
        data = &data[start + size + 2..];
    }
}

/// Writes `text` to `path` atomically (write then rename), as credential tools do.
pub fn replace_file(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).expect("write");
    std::fs::rename(&tmp, path).expect("rename");
}
