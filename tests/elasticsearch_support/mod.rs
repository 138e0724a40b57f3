//! A fake Elasticsearch cluster in the test process (axum on a loopback port) that answers
//! `_bulk` as a cluster does — documents kept by `_id`, so a resend overwrites — with faults
//! injected on demand: per-item 429, 503 and 400 `mapper_parsing_exception`, whole-request
//! 503s, connections cut after the documents were written, or down altogether.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// Requests subject to whole-request faults in [`Mode::Faulty`]; past them, only items fail,
/// so that a test's retries do not back off for long.
pub const WHOLE_FAULTS: usize = 12;

/// How the cluster behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Every document is indexed.
    Healthy,
    /// Every request answers 503.
    Down,
    /// Faults: see [`Cluster::start`].
    Faulty,
}

/// What the cluster holds and has seen.
pub struct State {
    pub mode: Mutex<Mode>,
    /// Documents by `_id`: (index, source).
    pub docs: Mutex<HashMap<String, (String, Value)>>,
    /// Times each `_id` was written (answered 2xx or written before a cut connection).
    pub writes: Mutex<HashMap<String, u32>>,
    /// Times each `_id` was received.
    pub seen: Mutex<HashMap<String, u32>>,
    /// Item statuses answered, and whole-request faults (`503 whole`, `cut`).
    pub answered: Mutex<BTreeMap<String, usize>>,
    pub requests: AtomicUsize,
}

/// A running fake cluster.
pub struct Cluster {
    pub url: String,
    pub state: Arc<State>,
    _thread: std::thread::JoinHandle<()>,
}

impl Cluster {
    /// Starts a cluster in `mode`. In [`Mode::Faulty`]: among the first [`WHOLE_FAULTS`]
    /// requests, every 5th (the 2nd, 7th, …) answers 503 whole and every 5th (the 4th, 9th, …)
    /// writes its documents and then cuts the connection before the answer; a document whose source has `"bad": true` answers 400
    /// `mapper_parsing_exception`; the first time an `_id` is seen it answers 429 or 503 one
    /// time in ten each (by a hash of the id), 201 after.
    pub fn start(mode: Mode) -> Cluster {
        let state = Arc::new(State {
            mode: Mutex::new(mode),
            docs: Mutex::new(HashMap::new()),
            writes: Mutex::new(HashMap::new()),
            seen: Mutex::new(HashMap::new()),
            answered: Mutex::new(BTreeMap::new()),
            requests: AtomicUsize::new(0),
        });
        let (tx, rx) = std::sync::mpsc::channel();
        let s = state.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let app = axum::Router::new()
                    .route("/_bulk", axum::routing::post(bulk))
                    .with_state(s);
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind");
                tx.send(listener.local_addr().expect("addr"))
                    .expect("send addr");
                axum::serve(listener, app).await.expect("serve");
            });
        });
        let addr = rx.recv().expect("cluster address");
        Cluster {
            url: format!("http://{addr}"),
            state,
            _thread: thread,
        }
    }

    pub fn set_mode(&self, mode: Mode) {
        *self.state.mode.lock().unwrap() = mode;
    }

    /// Documents held.
    pub fn docs(&self) -> HashMap<String, (String, Value)> {
        self.state.docs.lock().unwrap().clone()
    }

    pub fn answered(&self, what: &str) -> usize {
        self.state
            .answered
            .lock()
            .unwrap()
            .get(what)
            .copied()
            .unwrap_or(0)
    }
}

fn count(state: &State, what: &str) {
    *state
        .answered
        .lock()
        .unwrap()
        .entry(what.to_string())
        .or_default() += 1;
}

/// FNV-1a: a stable hash, so a run's faults do not depend on the process.
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

async fn bulk(
    axum::extract::State(state): axum::extract::State<Arc<State>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let n = state.requests.fetch_add(1, Ordering::SeqCst) + 1;
    let mode = *state.mode.lock().unwrap();
    let faulty = mode == Mode::Faulty && n <= WHOLE_FAULTS;
    if mode == Mode::Down || (faulty && n % 5 == 2) {
        count(&state, "503 whole");
        let error = json!({"error": {"type": "cluster_block_exception", "reason": "blocked by: [SERVICE_UNAVAILABLE/2/no master];"}, "status": 503});
        return (StatusCode::SERVICE_UNAVAILABLE, error.to_string()).into_response();
    }
    let text = if headers.get("content-encoding").is_some_and(|v| v == "gzip") {
        let mut t = String::new();
        flate2::read::GzDecoder::new(&body[..])
            .read_to_string(&mut t)
            .expect("gzip body");
        t
    } else {
        String::from_utf8(body.to_vec()).expect("utf-8 body")
    };
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    let items: Vec<Value> = lines
        .chunks(2)
        .map(|pair| item(&state, mode, &pair[0], &pair[1]))
        .collect();
    if faulty && n % 5 == 4 {
        count(&state, "cut");
        // The documents are written; the answer is lost on the way.
        let parts: Vec<Result<Bytes, std::io::Error>> = vec![
            Ok(Bytes::from_static(b"{\"took\":1,\"errors\":")),
            Err(std::io::Error::other("connection cut")),
        ];
        return Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .body(Body::from_stream(futures::stream::iter(parts)))
            .expect("response");
    }
    axum::Json(json!({"took": 1, "errors": true, "items": items})).into_response()
}

fn item(state: &State, mode: Mode, action: &Value, source: &Value) -> Value {
    let (name, meta) = action
        .as_object()
        .and_then(|o| o.iter().next())
        .expect("action line");
    let index = meta["_index"].as_str().expect("_index").to_string();
    let id = meta["_id"].as_str().expect("_id").to_string();
    let seen = {
        let mut seen = state.seen.lock().unwrap();
        let n = seen.entry(id.clone()).or_default();
        *n += 1;
        *n
    };
    let status = if mode != Mode::Faulty {
        201
    } else if source["bad"] == json!(true) {
        400
    } else if seen == 1 && fnv(&id).is_multiple_of(10) {
        429
    } else if seen == 1 && fnv(&id) % 10 == 1 {
        503
    } else {
        201
    };
    count(state, &status.to_string());
    let mut answer = json!({"_index": index, "_id": id, "status": status});
    match status {
        201 => {
            state
                .docs
                .lock()
                .unwrap()
                .insert(id.clone(), (index, source.clone()));
            *state.writes.lock().unwrap().entry(id).or_default() += 1;
            answer["result"] = json!("created");
        }
        400 => {
            answer["error"] = json!({"type": "mapper_parsing_exception", "reason": "failed to parse field [bad] of type [long] in document", "caused_by": {"type": "illegal_argument_exception", "reason": "Cannot parse boolean as long"}});
        }
        429 => {
            answer["error"] = json!({"type": "es_rejected_execution_exception", "reason": "rejected execution of coordinating operation"});
        }
        _ => {
            answer["error"] = json!({"type": "unavailable_shards_exception", "reason": "primary shard is not active"});
        }
    }
    json!({ name.as_str(): answer })
}

/// Every failure record in the error output under `objects` (a local store), with its key.
pub fn error_records(objects: &Path) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let mut stack = vec![objects.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let key = path
                .strip_prefix(objects)
                .expect("under objects")
                .to_string_lossy()
                .into_owned();
            let bytes = std::fs::read(&path).expect("read object");
            let mut text = String::new();
            if key.ends_with(".gz") {
                flate2::read::MultiGzDecoder::new(&bytes[..])
                    .read_to_string(&mut text)
                    .expect("gzip object");
            } else {
                text = String::from_utf8(bytes).expect("utf-8 object");
            }
            for line in text.lines() {
                out.push((key.clone(), serde_json::from_str(line).expect("json line")));
            }
        }
    }
    out
}
