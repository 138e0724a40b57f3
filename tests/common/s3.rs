//! An S3-compatible server in the test process (`s3s-fs`, objects as files in a temp dir),
//! on a loopback port, with optional fault injection in front of it.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use axum::response::IntoResponse;
use std::sync::Mutex as StdMutex;

/// Faults the server injects into writes (`PUT`/`POST`).
#[derive(Default)]
pub struct Faults {
    /// Fail this many writes whose key contains `fail_prefix`, then work.
    pub fail_next: AtomicUsize,
    /// Fail every write whose key contains this (`None`: no such rule).
    pub always_fail: StdMutex<Option<String>>,
    /// Only keys containing this are subject to `fail_next` (empty: every key).
    pub fail_prefix: StdMutex<String>,
    /// Writes refused so far.
    pub refused: AtomicUsize,
}

/// A running S3 server.
pub struct S3Server {
    pub endpoint: String,
    pub bucket: String,
    pub root: tempfile::TempDir,
    pub faults: Arc<Faults>,
    _thread: std::thread::JoinHandle<()>,
}

impl S3Server {
    pub fn start() -> S3Server {
        let root = tempfile::tempdir().expect("s3 root");
        let bucket = "hydrant".to_string();
        std::fs::create_dir_all(root.path().join(&bucket)).expect("bucket dir");
        let faults = Arc::new(Faults::default());
        let (tx, rx) = std::sync::mpsc::channel();
        let path = root.path().to_path_buf();
        let f = faults.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let fs = s3s_fs::FileSystem::new(path).expect("s3s-fs");
                // Requests are signed (SigV4) and checked, as a real S3 would.
                let mut builder = s3s::service::S3ServiceBuilder::new(fs);
                builder.set_auth(s3s::auth::SimpleAuth::from_single("test", "testsecret"));
                let s3 = builder.build();
                let app = axum::Router::new().fallback(move |req: Request<Body>| {
                    let s3 = s3.clone();
                    let f = f.clone();
                    async move {
                        if injected_fault(&f, &req) {
                            f.refused.fetch_add(1, Ordering::SeqCst);
                            let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>";
                            return (StatusCode::SERVICE_UNAVAILABLE, xml).into_response();
                        }
                        match tower::ServiceExt::oneshot(s3, req).await {
                            Ok(resp) => resp.map(Body::new).into_response(),
                            Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e:?}")).into_response(),
                        }
                    }
                });
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
                tx.send(listener.local_addr().expect("addr")).expect("send addr");
                axum::serve(listener, app).await.expect("serve");
            });
        });
        let addr = rx.recv().expect("s3 server address");
        S3Server {
            endpoint: format!("http://{addr}"),
            bucket,
            root,
            faults,
            _thread: thread,
        }
    }

    /// Environment for a hydrant child to use this server as its object store.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("HYDRANT_STORAGE__KIND".into(), "s3".into()),
            ("HYDRANT_STORAGE__BUCKET".into(), self.bucket.clone()),
            ("HYDRANT_STORAGE__ENDPOINT".into(), self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID".into(), "test".into()),
            ("AWS_SECRET_ACCESS_KEY".into(), "testsecret".into()),
            ("AWS_REGION".into(), "us-east-1".into()),
        ]
    }

    /// Every object in the bucket: (key, bytes), sorted by key.
    pub fn objects(&self) -> Vec<(String, Vec<u8>)> {
        let base = self.root.path().join(&self.bucket);
        let mut out = Vec::new();
        let mut stack = vec![base.clone()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let p: PathBuf = entry.path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    let key = p
                        .strip_prefix(&base)
                        .unwrap()
                        .to_string_lossy()
                        .replace('\\', "/");
                    // s3s-fs keeps upload bookkeeping beside the objects.
                    if key.starts_with(".") || key.contains("/.") {
                        continue;
                    }
                    out.push((key, std::fs::read(&p).unwrap()));
                }
            }
        }
        out.sort();
        out
    }
}

fn injected_fault(f: &Faults, req: &Request<Body>) -> bool {
    if !(req.method() == Method::PUT || req.method() == Method::POST) {
        return false;
    }
    let path = req.uri().path();
    if let Some(p) = f.always_fail.lock().unwrap().as_deref()
        && path.contains(p)
    {
        return true;
    }
    let prefix = f.fail_prefix.lock().unwrap().clone();
    if path.contains(&prefix) {
        return f
            .fail_next
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
    }
    false
}
