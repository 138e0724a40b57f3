//! The end-to-end harness: the real `hydrant` binary on a loopback port chosen by the OS, with
//! a temporary data directory, driven over HTTP.

#![allow(dead_code)]

pub mod s3;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_hydrant");

/// Path of a test-data file under `tests/data/` (sources and licenses in its README).
pub fn testdata(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(rel)
}

/// Starts `cmd` (its stderr piped) and waits for the log line `… listening on http://ADDR`
/// (or `https://`) that `serve` and `sigproxy` print once they accept connections. Returns the
/// process, the address and the log lines so far (kept growing by a reader thread). Panics with
/// the logs when the process does not start within a minute.
pub fn spawn_listening(mut cmd: Command, what: &str) -> (Child, String, Arc<Mutex<Vec<String>>>) {
    cmd.stdout(Stdio::null()).stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot spawn {what}: {e}"));
    let stderr = child.stderr.take().expect("stderr");
    let logs = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = mpsc::channel();
    let sink = logs.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let found = ["listening on http://", "listening on https://"]
                .iter()
                .find_map(|m| line.find(m).map(|i| i + m.len()));
            let addr: Option<String> = found.map(|start| {
                line[start..]
                    .chars()
                    .take_while(|c| !c.is_whitespace() && *c != ',')
                    .collect()
            });
            // The line is in the logs before the caller hears of the address.
            sink.lock().unwrap().push(line);
            if let Some(addr) = addr {
                let _ = tx.send(addr);
            }
        }
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(addr) => (child, addr, logs),
        Err(_) => {
            let _ = child.kill();
            panic!(
                "{what} did not start; logs:\n{}",
                logs.lock().unwrap().join("\n")
            );
        }
    }
}

/// Polls `check` every 100 ms until it is true or `timeout` passes; returns whether it became
/// true (checked once more at the deadline).
pub fn wait_until(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    check()
}

/// Polls `check` until it returns `Some` or `timeout` passes (then panics with `what`).
pub fn eventually<T>(timeout: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let mut found = None;
    if !wait_until(timeout, || {
        found = check();
        found.is_some()
    }) {
        panic!("timed out waiting for {what}");
    }
    found.expect("checked")
}

/// Borrowed view of owned environment pairs, for `Server::start_with`.
pub fn env_refs(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// A running `hydrant serve`.
pub struct Server {
    child: Option<Child>,
    pub url: String,
    pub data_dir: PathBuf,
    pub env: HashMap<String, String>,
    pub config: Option<PathBuf>,
    pub logs: Arc<Mutex<Vec<String>>>,
    _tmp: Option<tempfile::TempDir>,
    pub http: reqwest::blocking::Client,
}

impl Server {
    /// Starts a server on embedded defaults with a fresh data directory.
    pub fn start() -> Server {
        Server::start_with(&[], None)
    }

    /// Starts a server with extra `HYDRANT_*` variables and an optional config file body.
    pub fn start_with(env: &[(&str, &str)], config: Option<&str>) -> Server {
        Server::start_in(env, config, |_| {})
    }

    /// Like [`Server::start_with`], with `prepare` run on the (empty) data directory first —
    /// to put part of it on a filesystem of the test's choosing.
    pub fn start_in(
        env: &[(&str, &str)],
        config: Option<&str>,
        prepare: impl FnOnce(&Path),
    ) -> Server {
        let tmp = tempfile::tempdir().expect("temp dir");
        let data_dir = tmp.path().join("data");
        std::fs::create_dir_all(&data_dir).expect("data dir");
        prepare(&data_dir);
        let config = config.map(|text| {
            let path = tmp.path().join("hydrant.toml");
            std::fs::write(&path, text).expect("write config");
            path
        });
        let mut server = Server {
            child: None,
            url: String::new(),
            data_dir,
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            config,
            logs: Arc::new(Mutex::new(Vec::new())),
            _tmp: Some(tmp),
            http: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(120))
                .build()
                .expect("http client"),
        };
        server.spawn();
        server
    }

    fn spawn(&mut self) {
        let mut cmd = Command::new(BIN);
        cmd.arg("serve")
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(&self.data_dir)
            .env("HYDRANT_LOG", "info,tantivy=warn")
            .env("NO_COLOR", "1");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        if let Some(c) = &self.config {
            cmd.arg("--config").arg(c);
        }
        let (child, addr, logs) = spawn_listening(cmd, "hydrant serve");
        // Lines of earlier runs stay first: a restart's logs follow them.
        let earlier = std::mem::take(&mut *self.logs.lock().unwrap());
        let https = logs
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("listening on https://"));
        logs.lock().unwrap().splice(0..0, earlier);
        self.logs = logs;
        self.url = format!("{}://{addr}", if https { "https" } else { "http" });
        self.child = Some(child);
    }

    /// Log lines so far.
    pub fn log_text(&self) -> String {
        self.logs.lock().unwrap().join("\n")
    }

    /// Sends SIGTERM and waits for a clean exit.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        let child = self.child.as_mut().expect("running");
        let pid = child.id().to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill -TERM");
        let status = wait_timeout(child, Duration::from_secs(60))
            .expect("hydrant did not stop after SIGTERM");
        self.child = None;
        status
    }

    /// Kills the process with SIGKILL: no chance to flush anything.
    pub fn kill9(&mut self) {
        let mut child = self.child.take().expect("running");
        child.kill().expect("SIGKILL");
        let _ = child.wait();
    }

    /// Starts the process again on the same data directory (a new port).
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "stop or kill first");
        self.spawn();
    }

    pub fn post(
        &self,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::blocking::Body>,
    ) -> (u16, Value) {
        let resp = self
            .http
            .post(format!("{}{path}", self.url))
            .header("content-type", content_type)
            .body(body)
            .send()
            .expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// Any method, with an optional JSON body; the answer's status and JSON (`null` when the
    /// body is empty or not JSON).
    pub fn send(&self, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
        let mut req = self.http.request(
            method.parse().expect("method"),
            format!("{}{path}", self.url),
        );
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        let resp = req.send().expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub fn post_json(&self, path: &str, body: &Value) -> (u16, Value) {
        self.post(path, "application/json", body.to_string())
    }

    pub fn get(&self, path: &str) -> (u16, Value) {
        let resp = self
            .http
            .get(format!("{}{path}", self.url))
            .send()
            .expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// One metric's value from `/_hydrant/metrics` (the first line that starts with `prefix`).
    pub fn metric(&self, prefix: &str) -> f64 {
        let text = self
            .http
            .get(format!("{}/_hydrant/metrics", self.url))
            .send()
            .expect("metrics")
            .text()
            .expect("metrics body");
        text.lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    }

    /// Waits until every record `stream` accepted (replayed ones included) is delivered to
    /// every destination: its `hydrant_buffered_bytes` gauge reads 0. Replay after a restart is
    /// finished then, so counting afterwards cannot miss records still on their way.
    pub fn wait_delivered(&self, stream: &str) {
        let gauge = format!("hydrant_buffered_bytes{{stream=\"{stream}\"}}");
        eventually(
            Duration::from_secs(60),
            &format!("{stream} delivered"),
            || {
                let text = self
                    .http
                    .get(format!("{}/_hydrant/metrics", self.url))
                    .send()
                    .ok()?
                    .text()
                    .ok()?;
                let value: f64 = text
                    .lines()
                    .find(|l| l.starts_with(&gauge))?
                    .rsplit(' ')
                    .next()?
                    .parse()
                    .ok()?;
                (value == 0.0).then_some(())
            },
        );
    }

    /// Process id of the running server.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// `_count` of `target` for a Lucene query (`None`: everything).
    pub fn count(&self, target: &str, q: Option<&str>) -> u64 {
        let mut req = self.http.get(format!("{}/{target}/_count", self.url));
        if let Some(q) = q {
            req = req.query(&[("q", q)]);
        }
        let resp = req.send().expect("request");
        let status = resp.status();
        let body: Value = resp.json().expect("json");
        assert!(status.is_success(), "count failed: {body}");
        body["count"].as_u64().expect("count")
    }

    /// Polls `_count` until it reaches `expected` (or a generous deadline passes), returning
    /// the last count seen. Freshness is a stated property, not a timed assertion.
    pub fn wait_count(&self, target: &str, expected: u64) -> u64 {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let (status, body) = self.get(&format!("/{target}/_count"));
            let n = if status == 200 {
                body["count"].as_u64().unwrap_or(0)
            } else {
                0
            };
            if n >= expected || Instant::now() > deadline {
                return n;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A size-limited tmpfs mounted for one test: a real full disk (ENOSPC from the kernel), not a
/// simulated one. Unmounted (lazily, so open files do not block it) when dropped.
pub struct Tmpfs {
    pub path: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (`mount`'s syntax: `8m`) at `path`, creating it. `None` where
    /// this machine does not let the test mount (not root, or no `CAP_SYS_ADMIN`): the caller
    /// skips with a message then.
    pub fn mount(path: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(path).expect("mount point");
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(path)
            .output()
            .ok()?;
        if !out.status.success() {
            eprintln!(
                "SKIPPED: cannot mount a tmpfs here ({})",
                String::from_utf8_lossy(&out.stderr).trim()
            );
            return None;
        }
        Some(Tmpfs {
            path: path.to_path_buf(),
        })
    }

    /// Fills the filesystem with `name` until the kernel says it is full; returns its path.
    pub fn fill(&self, name: &str) -> PathBuf {
        use std::io::Write;
        let path = self.path.join(name);
        let mut f = std::fs::File::create(&path).expect("filler");
        let chunk = vec![0x5a_u8; 64 * 1024];
        loop {
            if let Err(e) = f.write_all(&chunk) {
                assert_eq!(e.kind(), std::io::ErrorKind::StorageFull, "{e}");
                break;
            }
        }
        // The last partial chunk too: byte by byte until not one more fits.
        while f.write_all(&chunk[..1]).is_ok() {}
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

fn wait_timeout(child: &mut Child, timeout: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(Some(s)) = child.try_wait() {
            return Some(s);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
