//! Object storage (`[storage]`): where backups and the error output go.

use std::path::PathBuf;

use serde::Serialize;

use crate::reader::{Choice, Section};

/// Which object store backs backups and the error output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StorageKind {
    /// A local directory (embedded default).
    Local,
    /// Amazon S3 or any S3-compatible server.
    S3,
    /// Process memory (tests; lost on exit).
    Memory,
}

impl Choice for StorageKind {
    const ALLOWED: &'static [&'static str] = &["local", "s3", "memory"];
    fn from_name(name: &str) -> Option<Self> {
        match name {
            "local" => Some(StorageKind::Local),
            "s3" => Some(StorageKind::S3),
            "memory" => Some(StorageKind::Memory),
            _ => None,
        }
    }
}

/// The `[storage]` table.
#[derive(Debug, Clone, Serialize)]
pub struct StorageConfig {
    /// Backend.
    pub kind: StorageKind,
    /// Directory of the local backend; relative paths are under `data_dir`.
    pub path: PathBuf,
    /// Bucket of the S3 backend.
    pub bucket: String,
    /// Endpoint of an S3-compatible server (`http://127.0.0.1:9000`); empty for AWS.
    pub endpoint: String,
    /// Region of the bucket.
    pub region: String,
    /// Path-style requests (`endpoint/bucket/key`), as most S3-compatible servers want.
    pub path_style: bool,
}

pub(crate) fn read_storage(mut s: Section<'_>) -> StorageConfig {
    let kind = s.choice("kind", StorageKind::Local);
    let path = PathBuf::from(s.string("path", "objects"));
    let bucket = s.string("bucket", "");
    let endpoint = s.string("endpoint", "");
    let region = s.string("region", "us-east-1");
    let path_style = s.bool("path_style", !endpoint.is_empty());
    if kind == StorageKind::S3 && bucket.is_empty() {
        let key = s.key("bucket");
        s.problem(
            "bucket",
            format!("`{key}` must name a bucket when `storage.kind` is \"s3\""),
        );
    }
    let is_url = endpoint.starts_with("http://") || endpoint.starts_with("https://");
    if !endpoint.is_empty() && !is_url {
        let key = s.key("endpoint");
        s.problem(
            "endpoint",
            format!("`{key}` must be an http:// or https:// URL, got `{endpoint}`"),
        );
    }
    s.finish();
    StorageConfig {
        kind,
        path,
        bucket,
        endpoint,
        region,
        path_style,
    }
}
