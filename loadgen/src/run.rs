//! The load runner: workers sending batches over HTTP, an optional target rate (open loop),
//! a live progress line, and the final report.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use parking_lot::Mutex;

use crate::error::LoadError;
use crate::generate::{Generated, Generator, LogFormat, TimeSpread};
use crate::protocol::{Payload, Protocol, build, outcome};
use crate::report::{Latency, Report, Verify};

/// Records sent when neither a count nor a duration is given.
pub const DEFAULT_COUNT: u64 = 100_000;

/// What a run does.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// Hydrant's base URL.
    pub target: String,
    /// Stream (index) written to.
    pub stream: String,
    /// How records are sent.
    pub protocol: Protocol,
    /// What is generated.
    pub format: LogFormat,
    /// Access logs as parsed JSON objects instead of text lines.
    pub parsed: bool,
    /// Records to send (with `duration`, whichever ends first).
    pub count: Option<u64>,
    /// How long to send.
    pub duration: Option<Duration>,
    /// Target records per second (`None`: as fast as possible).
    pub rate: Option<f64>,
    /// Requests in flight.
    pub concurrency: usize,
    /// Records per request.
    pub batch: usize,
    /// gzip request bodies.
    pub gzip: bool,
    /// Check afterwards that every acknowledged record is searchable.
    pub verify: bool,
    /// Generator seed.
    pub seed: u64,
    /// Where event times fall.
    pub spread: TimeSpread,
    /// Send the lines of this file instead of generated records.
    pub replay: Option<PathBuf>,
    /// Print a progress line every second.
    pub progress: bool,
    /// How long records refused for now (429, Firehose's `ServiceUnavailableException`)
    /// are sent again, with backoff, before they count as refused; zero: never.
    pub retry_for: Duration,
    /// Sign every request with AWS SigV4 (for Hydrant with `[auth.sigv4]` keys, or AWS itself).
    pub sigv4: Option<Sigv4>,
}

/// AWS SigV4 signing of loadgen's requests, with the signer of `hydrant sigproxy`.
#[derive(Clone)]
pub struct Sigv4 {
    /// Signs `_bulk`, NDJSON and `_count` requests (service `es` as a rule).
    pub search: Arc<hydrant_sigproxy::Signer>,
    /// Signs Firehose API calls (service `firehose`, as AWS SDKs sign them).
    pub firehose: Arc<hydrant_sigproxy::Signer>,
}

impl std::fmt::Debug for Sigv4 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sigv4")
            .field("region", &self.search.region())
            .field("service", &self.search.service())
            .finish()
    }
}

impl Sigv4 {
    /// Adds the signature headers for `method path` with `headers` and `body` to `request`.
    async fn sign(
        &self,
        request: reqwest::RequestBuilder,
        method: &str,
        path: &str,
        headers: &[(&'static str, String)],
        body: &bytes::Bytes,
    ) -> Result<reqwest::RequestBuilder, LoadError> {
        let mut map = http::HeaderMap::new();
        for (k, v) in headers {
            let v = http::HeaderValue::from_str(v).map_err(|e| LoadError::Http(e.to_string()))?;
            map.insert(*k, v);
        }
        // Large bodies are hashed off the async threads.
        let payload_sha256 = hydrant_http::hash_body(body.clone()).await;
        let signer = match map.get("x-amz-target") {
            Some(_) => &self.firehose,
            None => &self.search,
        };
        let signature = signer
            .sign(&hydrant_sigproxy::signer::Request {
                method,
                path_and_query: path,
                headers: &map,
                payload_sha256: &payload_sha256,
            })
            .await
            .map_err(|e| LoadError::Http(e.to_string()))?;
        Ok(request.headers(signature.headers))
    }
}

/// Where records come from.
#[derive(Clone)]
enum Source {
    Generated(Arc<Generator>),
    Replay(Arc<Vec<Generated>>),
}

impl Source {
    fn get(&self, i: u64, now_ms: i64) -> Option<Generated> {
        match self {
            Source::Generated(g) => Some(g.record(i, now_ms)),
            Source::Replay(lines) => lines.get(i as usize).cloned(),
        }
    }
}

/// Reads a file to replay: JSON objects stay JSON, other lines are text.
pub fn read_replay(path: &PathBuf) -> Result<Vec<Generated>, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|e| LoadError::Replay {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    Ok(text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            if l.trim_start().starts_with('{') {
                Generated::Json(l.to_string())
            } else {
                Generated::Text(l.to_string())
            }
        })
        .collect())
}

#[derive(Default)]
struct Tally {
    requests: AtomicU64,
    sent: AtomicU64,
    acked: AtomicU64,
    failed: AtomicU64,
    unknown: AtomicU64,
    bytes_sent: AtomicU64,
    bytes_acked: AtomicU64,
    wire: AtomicU64,
    in_flight: AtomicU64,
    retries: AtomicU64,
    records_retried: AtomicU64,
}

struct Shared {
    cfg: LoadConfig,
    source: Source,
    limit: u64,
    next: AtomicU64,
    tally: Tally,
    errors: Mutex<BTreeMap<String, u64>>,
    latency: Mutex<Histogram<u64>>,
    started: Instant,
    deadline: Option<Instant>,
    http: reqwest::Client,
}

/// Runs the load and returns the report.
pub async fn run(cfg: LoadConfig) -> Result<Report, LoadError> {
    let source = match &cfg.replay {
        Some(path) => Source::Replay(Arc::new(read_replay(path)?)),
        None => Source::Generated(Arc::new(Generator::new(
            cfg.format, cfg.parsed, cfg.seed, cfg.spread,
        ))),
    };
    let limit = match (&source, cfg.count, cfg.duration) {
        (Source::Replay(lines), count, _) => count.unwrap_or(u64::MAX).min(lines.len() as u64),
        (_, Some(c), _) => c,
        (_, None, Some(_)) => u64::MAX,
        (_, None, None) => DEFAULT_COUNT,
    };
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .pool_max_idle_per_host(cfg.concurrency)
        .build()
        .map_err(|e| LoadError::Http(e.to_string()))?;
    let before = if cfg.verify {
        count_docs(&http, &cfg).await?
    } else {
        0
    };
    let started = Instant::now();
    let shared = Arc::new(Shared {
        deadline: cfg.duration.map(|d| started + d),
        cfg: cfg.clone(),
        source,
        limit,
        next: AtomicU64::new(0),
        tally: Tally::default(),
        errors: Mutex::new(BTreeMap::new()),
        latency: Mutex::new(
            Histogram::new_with_bounds(1, 3_600_000_000, 3)
                .map_err(|e| LoadError::Http(e.to_string()))?,
        ),
        started,
        http,
    });
    let progress = cfg
        .progress
        .then(|| tokio::spawn(progress_loop(shared.clone())));
    let workers: Vec<_> = (0..cfg.concurrency.max(1))
        .map(|_| tokio::spawn(worker(shared.clone())))
        .collect();
    for w in workers {
        let _ = w.await;
    }
    let elapsed = started.elapsed().as_secs_f64().max(1e-9);
    if let Some(p) = progress {
        p.abort();
        eprintln!();
    }
    let t = &shared.tally;
    let acked = t.acked.load(Ordering::Relaxed);
    let bytes_acked = t.bytes_acked.load(Ordering::Relaxed);
    let unknown = t.unknown.load(Ordering::Relaxed);
    let mut report = Report {
        protocol: format!("{:?}", cfg.protocol).to_lowercase(),
        format: format!("{:?}", cfg.format).to_lowercase(),
        requests: t.requests.load(Ordering::Relaxed),
        records_sent: t.sent.load(Ordering::Relaxed),
        records_acked: acked,
        records_failed: t.failed.load(Ordering::Relaxed),
        records_unknown: unknown,
        retries: t.retries.load(Ordering::Relaxed),
        records_retried: t.records_retried.load(Ordering::Relaxed),
        bytes_sent: t.bytes_sent.load(Ordering::Relaxed),
        bytes_acked,
        wire_bytes: t.wire.load(Ordering::Relaxed),
        duration_sec: elapsed,
        records_per_sec: acked as f64 / elapsed,
        mb_per_sec: bytes_acked as f64 / elapsed / 1e6,
        latency_ms: Latency::from_histogram(&shared.latency.lock()),
        errors: shared.errors.lock().clone(),
        verify: None,
        lost: None,
        duplicated: None,
        searchable_records_per_sec: None,
        searchable_mb_per_sec: None,
    };
    if cfg.verify {
        let acked_at = Instant::now();
        let v = verify(&shared.http, &cfg, before, acked, unknown).await?;
        let total = started.elapsed().as_secs_f64().max(1e-9);
        report.searchable_records_per_sec = Some(acked as f64 / total);
        report.searchable_mb_per_sec = Some(bytes_acked as f64 / total / 1e6);
        report.lost = Some(v.lost);
        report.duplicated = Some(v.duplicated);
        report.verify = Some(Verify {
            searchable_after_sec: acked_at.elapsed().as_secs_f64(),
            ..v
        });
    }
    Ok(report)
}

async fn worker(s: Arc<Shared>) {
    let batch = s.cfg.batch.max(1).min(s.cfg.protocol.max_batch()) as u64;
    loop {
        if s.deadline.is_some_and(|d| Instant::now() >= d) {
            return;
        }
        let first = s.next.fetch_add(batch, Ordering::Relaxed);
        if first >= s.limit {
            return;
        }
        let last = (first + batch).min(s.limit);
        // Open loop: with a rate, each batch has a scheduled time and latency counts from it.
        let scheduled = s
            .cfg
            .rate
            .map(|r| s.started + Duration::from_secs_f64(first as f64 / r));
        if let Some(at) = scheduled {
            tokio::time::sleep_until(at.into()).await;
        }
        let now_ms = chrono::Utc::now().timestamp_millis();
        let records: Vec<Generated> = (first..last)
            .filter_map(|i| s.source.get(i, now_ms))
            .collect();
        if records.is_empty() {
            return;
        }
        send_until_answered(&s, records, scheduled.unwrap_or_else(Instant::now)).await;
    }
}

/// Sends `records` and, while some are refused for now, sends those again after a pause
/// (the server's `Retry-After`, else 50 ms doubling to 2 s) until `retry_for` has passed.
/// The latency recorded runs from `from` to the last answer: what the shipper waited.
async fn send_until_answered(s: &Shared, mut records: Vec<Generated>, from: Instant) {
    let t = &s.tally;
    t.in_flight.fetch_add(1, Ordering::Relaxed);
    t.sent.fetch_add(records.len() as u64, Ordering::Relaxed);
    let bytes: usize = records.iter().map(|r| r.as_str().len()).sum();
    t.bytes_sent.fetch_add(bytes as u64, Ordering::Relaxed);
    // Retries end with the run: at `retry_for`, or at the end of `--duration`.
    let retry_limit = Instant::now() + s.cfg.retry_for;
    let give_up = s.deadline.map_or(retry_limit, |d| d.min(retry_limit));
    let mut pause = Duration::from_millis(50);
    loop {
        let p = build(s.cfg.protocol, &s.cfg.stream, &records, s.cfg.gzip);
        let Some((retry, retry_after)) = send(s, p).await else {
            break;
        };
        if retry.is_empty() {
            break;
        }
        if Instant::now() >= give_up {
            let mut errors = s.errors.lock();
            for (_, kind) in &retry {
                *errors.entry(kind.clone()).or_default() += 1;
            }
            t.failed.fetch_add(retry.len() as u64, Ordering::Relaxed);
            break;
        }
        t.retries.fetch_add(1, Ordering::Relaxed);
        t.records_retried
            .fetch_add(retry.len() as u64, Ordering::Relaxed);
        records = retry
            .into_iter()
            .filter_map(|(i, _)| records.get(i).cloned())
            .collect();
        // Equal jitter, so that workers throttled together do not come back together; the
        // server's Retry-After is a floor; never past the deadline.
        let half = pause / 2;
        let jittered = half + half.mul_f64(rand::random::<f64>());
        let wait = retry_after
            .map_or(jittered, |floor| floor.max(jittered))
            .min(give_up.saturating_duration_since(Instant::now()));
        tokio::time::sleep(wait).await;
        pause = (pause * 2).min(Duration::from_secs(2));
    }
    let micros = from.elapsed().as_micros() as u64;
    let _ = s.latency.lock().record(micros.max(1));
    t.in_flight.fetch_sub(1, Ordering::Relaxed);
}

/// Sends one request; counts what was acknowledged and refused for good, and returns the
/// records refused for now with the server's `Retry-After` (`None`: the request failed in
/// transport or could not be signed, and its records are counted).
async fn send(s: &Shared, p: Payload) -> Option<(Vec<(usize, String)>, Option<Duration>)> {
    let t = &s.tally;
    t.requests.fetch_add(1, Ordering::Relaxed);
    t.wire.fetch_add(p.body.len() as u64, Ordering::Relaxed);
    let mut req = s.http.post(format!("{}{}", s.cfg.target, p.path));
    for (k, v) in &p.headers {
        req = req.header(*k, v);
    }
    if let Some(sigv4) = &s.cfg.sigv4 {
        match sigv4.sign(req, "POST", &p.path, &p.headers, &p.body).await {
            Ok(signed) => req = signed,
            Err(e) => {
                // Not sent: the records failed, and why is logged (once per kind is enough).
                t.failed.fetch_add(p.records as u64, Ordering::Relaxed);
                let mut errors = s.errors.lock();
                let n = errors.entry("signing".to_string()).or_default();
                if *n == 0 {
                    tracing::warn!(error = %e, "cannot sign the request");
                }
                *n += p.records as u64;
                return None;
            }
        }
    }
    let result = match req.body(p.body).send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            let retry_after = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            resp.bytes()
                .await
                .map(|b| (status, retry_after, b))
                .map_err(|e| e.to_string())
        }
        Err(e) => Err(e.to_string()),
    };
    match result {
        Ok((status, retry_after, body)) => {
            let o = outcome(s.cfg.protocol, status, &body, p.records);
            t.acked.fetch_add(o.acked as u64, Ordering::Relaxed);
            let acked_bytes = p.record_bytes * o.acked as u64 / p.records.max(1) as u64;
            t.bytes_acked.fetch_add(acked_bytes, Ordering::Relaxed);
            let failed: u64 = o.errors.values().sum();
            t.failed.fetch_add(failed, Ordering::Relaxed);
            let mut e = s.errors.lock();
            for (k, v) in o.errors {
                *e.entry(k).or_default() += v;
            }
            if o.unaccounted > 0 {
                t.unknown.fetch_add(o.unaccounted as u64, Ordering::Relaxed);
                *e.entry("unaccounted".to_string()).or_default() += o.unaccounted as u64;
            }
            Some((o.retry, retry_after))
        }
        Err(_) => {
            t.unknown.fetch_add(p.records as u64, Ordering::Relaxed);
            *s.errors.lock().entry("transport".to_string()).or_default() += p.records as u64;
            None
        }
    }
}

async fn progress_loop(s: Arc<Shared>) {
    let mut last = (0u64, 0u64, Instant::now());
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let t = &s.tally;
        let acked = t.acked.load(Ordering::Relaxed);
        let bytes = t.bytes_acked.load(Ordering::Relaxed);
        let dt = last.2.elapsed().as_secs_f64().max(1e-9);
        eprint!(
            "\r[{:>5.0}s] acked {:>10}  {:>8.0} rec/s  {:>6.2} MB/s  errors {:>8}  in-flight {:>3}   ",
            s.started.elapsed().as_secs_f64(),
            acked,
            (acked - last.0) as f64 / dt,
            (bytes - last.1) as f64 / dt / 1e6,
            t.failed.load(Ordering::Relaxed) + t.unknown.load(Ordering::Relaxed),
            t.in_flight.load(Ordering::Relaxed),
        );
        last = (acked, bytes, Instant::now());
    }
}

/// Documents in the stream now (0 when it does not exist yet).
async fn count_docs(http: &reqwest::Client, cfg: &LoadConfig) -> Result<u64, LoadError> {
    let path = format!("/{}/_count", cfg.stream);
    let mut request = http.get(format!("{}{path}", cfg.target));
    if let Some(sigv4) = &cfg.sigv4 {
        request = sigv4
            .sign(request, "GET", &path, &[], &bytes::Bytes::new())
            .await?;
    }
    let resp = request
        .send()
        .await
        .map_err(|e| LoadError::Http(e.to_string()))?;
    if resp.status().as_u16() == 404 {
        return Ok(0);
    }
    let v: serde_json::Value = resp
        .json()
        .await
        .map_err(|e| LoadError::Http(e.to_string()))?;
    v["count"]
        .as_u64()
        .ok_or_else(|| LoadError::Http(format!("unexpected _count answer: {v}")))
}

/// Polls `_count` until every acknowledged record is searchable (or the count stops moving).
async fn verify(
    http: &reqwest::Client,
    cfg: &LoadConfig,
    before: u64,
    acked: u64,
    unknown: u64,
) -> Result<Verify, LoadError> {
    let want = before + acked;
    let mut last = (u64::MAX, Instant::now());
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let n = count_docs(http, cfg).await?;
        if n != last.0 {
            last = (n, Instant::now());
        }
        let settled = last.1.elapsed() > Duration::from_secs(30);
        if n >= want || settled || Instant::now() > deadline {
            if n >= want {
                // Give stragglers (records of unknown fate) a moment to show up as duplicates.
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            let n = count_docs(http, cfg).await?;
            return Ok(Verify {
                before,
                after: n,
                lost: want.saturating_sub(n),
                duplicated: n.saturating_sub(want + unknown),
                searchable_after_sec: 0.0,
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
