//! The HTTP side of the Elasticsearch destination: one `reqwest` client per stream (rustls
//! with the system's roots plus an optional CA file; connect and request timeouts), the
//! endpoints with round-robin or failover selection, gzip request bodies, and authentication
//! (HTTP basic, or SigV4 with `hydrant-sigproxy`'s signer). Credentials never reach a log:
//! the headers that carry them are marked sensitive.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine;
use bytes::{Bytes, BytesMut};
use hydrant_config::{ElasticsearchConfig, EndpointSelection, EsAuth, SigningService};
use hydrant_sigproxy::canonical::{ForwardTarget, sha256_hex};
use hydrant_sigproxy::credentials::AwsCredentials;
use hydrant_sigproxy::signer::{Request as SignRequest, Signer};
use parking_lot::Mutex;
use reqwest::header::{HeaderMap, HeaderValue};
use tokio::time::Instant;

use super::retry::{TransportFailure, transport_failure};
use crate::error::ElasticsearchError;

/// How long an endpoint that failed to answer is passed over.
const COOLDOWN: Duration = Duration::from_secs(10);

/// Only what the retry logic reads comes back: an answer per item without `_index`, `_id`,
/// `_shards`… is a third of the size.
const BULK_QUERY: &str = "filter_path=errors,items.*.status,items.*.error";

/// Longest `_bulk` answer read; past it the exchange counts as lost.
const MAX_ANSWER: usize = 64 * 1024 * 1024;

enum Auth {
    None,
    Basic(HeaderValue),
    Sigv4,
}

struct Endpoint {
    /// `scheme://authority`.
    origin: String,
    /// `host[:port]`, sent and signed as `host`.
    authority: String,
    /// `/prefix/_bulk?filter_path=…`, in the form SigV4 canonicalises to.
    target: String,
    signer: Option<Signer>,
    down_until: Mutex<Option<Instant>>,
}

/// A request body ready to send: compressed as configured, hashed when it will be signed.
pub(crate) struct Prepared {
    body: Bytes,
    sha256: Option<String>,
}

/// The endpoints of one destination and the client that reaches them.
pub(crate) struct Transport {
    client: reqwest::Client,
    endpoints: Vec<Endpoint>,
    selection: EndpointSelection,
    next: AtomicUsize,
    gzip: bool,
    auth: Auth,
}

impl Transport {
    pub(crate) fn new(
        config: &ElasticsearchConfig,
        credentials: &AwsCredentials,
    ) -> Result<Transport, ElasticsearchError> {
        let mut endpoints = Vec::with_capacity(config.endpoints.len());
        for text in &config.endpoints {
            endpoints.push(endpoint(text, config, credentials)?);
        }
        let auth = match config.auth {
            EsAuth::None => Auth::None,
            EsAuth::Sigv4 => Auth::Sigv4,
            EsAuth::Basic => {
                let password = config.password.as_ref().map_or("", |p| p.expose());
                let token = base64::engine::general_purpose::STANDARD
                    .encode(format!("{}:{password}", config.username));
                let mut value = HeaderValue::from_str(&format!("Basic {token}")).map_err(|_| {
                    ElasticsearchError::Client {
                        reason: "the basic auth header is not valid".to_string(),
                    }
                })?;
                value.set_sensitive(true);
                Auth::Basic(value)
            }
        };
        Ok(Transport {
            client: client(config)?,
            endpoints,
            selection: config.endpoint_selection,
            next: AtomicUsize::new(0),
            gzip: config.gzip,
            auth,
        })
    }

    /// Compresses and hashes `raw`; CPU work, for a blocking thread.
    pub(crate) fn prepare(&self, raw: Vec<u8>) -> Prepared {
        let body = if self.gzip { gzip_fast(&raw) } else { raw };
        let sha256 = matches!(self.auth, Auth::Sigv4).then(|| sha256_hex(&body));
        Prepared {
            body: Bytes::from(body),
            sha256,
        }
    }

    /// Sends one `_bulk` request to the endpoint whose turn it is.
    pub(crate) async fn post_bulk(
        &self,
        prepared: &Prepared,
    ) -> Result<(u16, Bytes), TransportFailure> {
        let at = self.pick();
        let endpoint = &self.endpoints[at];
        let result = self.exchange(endpoint, prepared).await;
        let failed = match &result {
            Err(_) => true,
            Ok((status, _)) => matches!(status, 502..=504),
        };
        let mut down = endpoint.down_until.lock();
        *down = failed.then(|| Instant::now() + COOLDOWN);
        result
    }

    async fn exchange(
        &self,
        endpoint: &Endpoint,
        prepared: &Prepared,
    ) -> Result<(u16, Bytes), TransportFailure> {
        let mut headers = HeaderMap::new();
        headers.insert(
            reqwest::header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-ndjson"),
        );
        if self.gzip {
            headers.insert(
                reqwest::header::CONTENT_ENCODING,
                HeaderValue::from_static("gzip"),
            );
        }
        match (&self.auth, &endpoint.signer, &prepared.sha256) {
            (Auth::Basic(value), _, _) => {
                headers.insert(reqwest::header::AUTHORIZATION, value.clone());
            }
            (Auth::Sigv4, Some(signer), Some(sha256)) => {
                let signature = signer
                    .sign(&SignRequest {
                        method: "POST",
                        path_and_query: &endpoint.target,
                        headers: &headers,
                        payload_sha256: sha256,
                    })
                    .await
                    .map_err(|e| TransportFailure {
                        code: "SigningFailed",
                        message: e.to_string(),
                    })?;
                headers.extend(signature.headers);
                if let Ok(host) = HeaderValue::from_str(&endpoint.authority) {
                    headers.insert(reqwest::header::HOST, host);
                }
            }
            _ => {}
        }
        let url = format!("{}{}", endpoint.origin, endpoint.target);
        let response = self
            .client
            .post(url)
            .headers(headers)
            .body(prepared.body.clone())
            .send()
            .await
            .map_err(|e| transport_failure(&e))?;
        let status = response.status().as_u16();
        if status == 403
            && let Some(signer) = &endpoint.signer
        {
            // Temporary credentials can be revoked or expire early: load them anew next time.
            signer.credentials().invalidate();
        }
        Ok((status, read_limited(response).await?))
    }

    /// The endpoint to use: the next in turn (round robin) or the first (failover) that has
    /// not failed within the cooldown; when all have, the one that failed longest ago.
    fn pick(&self) -> usize {
        let n = self.endpoints.len();
        let start = match self.selection {
            EndpointSelection::RoundRobin => self.next.fetch_add(1, Ordering::Relaxed) % n,
            EndpointSelection::Failover => 0,
        };
        let now = Instant::now();
        let mut earliest: Option<(Instant, usize)> = None;
        for k in 0..n {
            let at = (start + k) % n;
            match *self.endpoints[at].down_until.lock() {
                Some(until) if until > now => {
                    if earliest.is_none_or(|(t, _)| until < t) {
                        earliest = Some((until, at));
                    }
                }
                _ => return at,
            }
        }
        earliest.map_or(start, |(_, at)| at)
    }
}

async fn read_limited(mut response: reqwest::Response) -> Result<Bytes, TransportFailure> {
    let mut body = BytesMut::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| transport_failure(&e))? {
        if body.len() + chunk.len() > MAX_ANSWER {
            return Err(TransportFailure {
                code: "InvalidResponse",
                message: format!("the _bulk answer is larger than {MAX_ANSWER} bytes"),
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

fn client(config: &ElasticsearchConfig) -> Result<reqwest::Client, ElasticsearchError> {
    let mut builder = reqwest::Client::builder()
        .connect_timeout(config.connect_timeout)
        .timeout(config.request_timeout)
        .tcp_keepalive(Duration::from_secs(60))
        .user_agent(concat!("hydrant/", env!("CARGO_PKG_VERSION")));
    if let Some(path) = config.ca_path() {
        let pem = std::fs::read(&path).map_err(|source| ElasticsearchError::CaFileRead {
            path: path.clone(),
            source,
        })?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
            ElasticsearchError::CaFile {
                path: path.clone(),
                reason: e.to_string(),
            }
        })?;
        if certs.is_empty() {
            return Err(ElasticsearchError::CaFile {
                path,
                reason: "no certificate found".to_string(),
            });
        }
        builder = builder.tls_certs_merge(certs);
    }
    builder.build().map_err(|e| ElasticsearchError::Client {
        reason: transport_failure(&e).message,
    })
}

fn endpoint(
    text: &str,
    config: &ElasticsearchConfig,
    credentials: &AwsCredentials,
) -> Result<Endpoint, ElasticsearchError> {
    let invalid = |reason: String| ElasticsearchError::Endpoint {
        endpoint: text.to_string(),
        reason,
    };
    let with_scheme = if text.contains("://") {
        text.to_string()
    } else {
        format!("https://{text}")
    };
    let url = reqwest::Url::parse(&with_scheme).map_err(|e| invalid(e.to_string()))?;
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| invalid("it has no host".to_string()))?;
    let authority = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    };
    let prefix = url.path().trim_end_matches('/');
    let target = ForwardTarget::new(&format!("{prefix}/_bulk"), Some(BULK_QUERY)).path_and_query();
    let signer = match config.auth {
        EsAuth::Sigv4 => {
            let inferred = hydrant_sigproxy::endpoint::infer_from_host(host);
            let region = match (config.region.as_str(), inferred.region) {
                ("", Some(r)) => r,
                ("", None) => {
                    return Err(ElasticsearchError::NoRegion {
                        host: host.to_string(),
                    });
                }
                (r, _) => r.to_string(),
            };
            let service = config
                .service
                .or(inferred.service)
                .unwrap_or(SigningService::Es);
            let profile = (!config.profile.is_empty()).then_some(config.profile.as_str());
            let cache = credentials.chain(profile, Some(&region));
            Some(Signer::new(
                cache,
                url.scheme(),
                &authority,
                &region,
                service.as_str(),
            ))
        }
        EsAuth::None | EsAuth::Basic => None,
    };
    Ok(Endpoint {
        origin: format!("{}://{authority}", url.scheme()),
        authority,
        target,
        signer,
        down_until: Mutex::new(None),
    })
}

/// gzip at the fastest level: logs compress well even so, and a 10 MiB request should not
/// cost a core for long.
fn gzip_fast(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(
        Vec::with_capacity(data.len() / 4 + 64),
        flate2::Compression::fast(),
    );
    // Writing to a Vec cannot fail.
    let _ = e.write_all(data);
    e.finish().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transport(endpoints: &[&str], selection: EndpointSelection) -> Transport {
        let mut config = ElasticsearchConfig::builtin();
        config.endpoints = endpoints.iter().map(|e| e.to_string()).collect();
        config.endpoint_selection = selection;
        Transport::new(&config, &AwsCredentials::default()).unwrap()
    }

    fn fail(t: &Transport, at: usize) {
        *t.endpoints[at].down_until.lock() = Some(Instant::now() + COOLDOWN);
    }

    #[tokio::test(start_paused = true)]
    async fn round_robin_takes_turns_and_skips_an_endpoint_that_just_failed() {
        let t = transport(
            &["http://a:9200", "http://b:9200", "http://c:9200"],
            EndpointSelection::RoundRobin,
        );
        let picks: Vec<usize> = (0..4).map(|_| t.pick()).collect();
        assert_eq!(picks, [0, 1, 2, 0]);
        fail(&t, 1);
        let picks: Vec<usize> = (0..4).map(|_| t.pick()).collect();
        assert_eq!(picks, [2, 2, 0, 2]);
        tokio::time::advance(COOLDOWN).await;
        let picks: Vec<usize> = (0..3).map(|_| t.pick()).collect();
        assert_eq!(picks, [2, 0, 1]);
    }

    #[tokio::test(start_paused = true)]
    async fn failover_sticks_to_the_first_endpoint_that_works() {
        let t = transport(
            &["http://a:9200", "http://b:9200"],
            EndpointSelection::Failover,
        );
        assert_eq!((t.pick(), t.pick()), (0, 0));
        fail(&t, 0);
        assert_eq!((t.pick(), t.pick()), (1, 1));
        tokio::time::advance(Duration::from_secs(1)).await;
        fail(&t, 1);
        // Both failed: the one that failed first is tried first.
        assert_eq!(t.pick(), 0);
        tokio::time::advance(COOLDOWN).await;
        assert_eq!(t.pick(), 0);
    }

    #[test]
    fn endpoints_keep_their_path_prefix_and_default_to_https() {
        let t = transport(
            &[
                "search-x.eu-west-1.es.amazonaws.com",
                "http://[::1]:9200/es/",
            ],
            EndpointSelection::RoundRobin,
        );
        assert_eq!(
            t.endpoints[0].origin,
            "https://search-x.eu-west-1.es.amazonaws.com"
        );
        assert_eq!(
            t.endpoints[0].target,
            "/_bulk?filter_path=errors%2Citems.%2A.status%2Citems.%2A.error"
        );
        assert_eq!(t.endpoints[1].origin, "http://[::1]:9200");
        assert!(t.endpoints[1].target.starts_with("/es/_bulk?"));
    }

    #[tokio::test]
    async fn sigv4_region_comes_from_the_host_or_must_be_given() {
        let mut config = ElasticsearchConfig::builtin();
        config.auth = EsAuth::Sigv4;
        config.endpoints = vec!["https://search-x.eu-west-1.es.amazonaws.com".into()];
        let t = Transport::new(&config, &AwsCredentials::default()).unwrap();
        let signer = t.endpoints[0].signer.as_ref().unwrap();
        assert_eq!((signer.region(), signer.service()), ("eu-west-1", "es"));
        config.endpoints = vec!["http://127.0.0.1:9200".into()];
        let err = Transport::new(&config, &AwsCredentials::default())
            .err()
            .unwrap();
        assert_eq!(
            err.to_string(),
            "`elasticsearch.region` must be set for auth = \"sigv4\": the endpoint host `127.0.0.1` does not name a region"
        );
        config.region = "us-west-2".into();
        assert!(Transport::new(&config, &AwsCredentials::default()).is_ok());
    }

    #[test]
    fn a_ca_file_that_is_missing_or_not_pem_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = ElasticsearchConfig::builtin();
        config.endpoints = vec!["https://es.internal:9200".into()];
        config.ca_file = dir.path().join("nope.pem").display().to_string();
        let err = Transport::new(&config, &AwsCredentials::default())
            .err()
            .unwrap();
        assert!(
            err.to_string().contains("nope.pem` cannot be read"),
            "{err}"
        );
        let bad = dir.path().join("bad.pem");
        std::fs::write(&bad, "not a certificate").unwrap();
        config.ca_file = bad.display().to_string();
        let err = Transport::new(&config, &AwsCredentials::default())
            .err()
            .unwrap();
        assert!(
            err.to_string().contains("holds no usable PEM certificate"),
            "{err}"
        );
    }
}
