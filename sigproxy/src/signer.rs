//! Signing requests with `aws-sigv4`: a reusable [`Signer`] (the proxy and ingest's
//! Elasticsearch sink both use it) over the low-level [`sign_headers`].

use std::sync::Arc;
use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SessionTokenMode, SignableBody, SignableRequest,
    SignatureLocation, SigningSettings, UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;
use http::{HeaderMap, HeaderName, HeaderValue};

use crate::SigproxyError;
use crate::credentials::{Clock, CredentialsCache, system_clock};

/// How [`sign_headers`] signs, beyond the request itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignOptions {
    /// Add and sign `x-amz-content-sha256` (OpenSearch Serverless requires it).
    pub content_sha256_header: bool,
    /// Resolve dot segments and merge repeated slashes of the path (every service but S3).
    pub normalize_path: bool,
    /// Encode the path a second time (every service but S3).
    pub double_encode_path: bool,
    /// Sign the session token (`x-amz-security-token`) rather than add it after signing.
    pub sign_session_token: bool,
}

impl Default for SignOptions {
    /// What Amazon Elasticsearch/OpenSearch Service and OpenSearch Serverless need.
    fn default() -> Self {
        SignOptions {
            content_sha256_header: true,
            normalize_path: true,
            double_encode_path: true,
            sign_session_token: true,
        }
    }
}

/// What a signature adds to a request.
#[derive(Debug, Clone)]
pub struct Signature {
    /// `authorization`, `x-amz-date`, and as configured `x-amz-content-sha256` and
    /// `x-amz-security-token`; credentials are marked sensitive.
    pub headers: HeaderMap,
    /// The hex signature (also inside `authorization`).
    pub signature: String,
}

/// One request to sign with [`sign_headers`].
#[derive(Debug, Clone, Copy)]
pub struct SignInput<'a> {
    /// The HTTP method.
    pub method: &'a str,
    /// `scheme://host/path?query`, encoded as it will be sent.
    pub url: &'a str,
    /// The headers to sign, `host` included when it must differ from the URL's.
    pub headers: &'a [(&'a str, &'a str)],
    /// Hex SHA-256 of the body.
    pub payload_sha256: &'a str,
    /// The signing region.
    pub region: &'a str,
    /// The signing service (`es`, `aoss`).
    pub service: &'a str,
    /// The signing time.
    pub time: SystemTime,
}

/// Signs `input` with `credentials`: the headers listed in the input and those SigV4 adds are
/// signed, nothing else.
pub fn sign_headers(
    input: &SignInput<'_>,
    credentials: &Credentials,
    options: SignOptions,
) -> Result<Signature, SigproxyError> {
    let signing = |e: &dyn std::fmt::Display| SigproxyError::Signing {
        reason: e.to_string(),
    };
    let settings = settings(options);
    let identity = credentials.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(input.region)
        .name(input.service)
        .time(input.time)
        .settings(settings)
        .build()
        .map_err(|e| signing(&e))?
        .into();
    let request = SignableRequest::new(
        input.method,
        input.url,
        input.headers.iter().copied(),
        SignableBody::Precomputed(input.payload_sha256.to_string()),
    )
    .map_err(|e| signing(&e))?;
    let (instructions, signature) = sign(request, &params)
        .map_err(|e| signing(&e))?
        .into_parts();
    let (added, _params) = instructions.into_parts();
    let mut headers = HeaderMap::with_capacity(added.len() + 1);
    for header in added {
        let name = HeaderName::from_static(header.name());
        let mut value =
            HeaderValue::from_str(header.value()).map_err(|_| SigproxyError::InvalidHeader {
                name: header.name().to_string(),
            })?;
        value.set_sensitive(header.sensitive());
        headers.insert(name, value);
    }
    if let Some(token) = credentials.session_token()
        && !options.sign_session_token
    {
        let mut value = HeaderValue::from_str(token).map_err(|_| SigproxyError::InvalidHeader {
            name: "x-amz-security-token".to_string(),
        })?;
        value.set_sensitive(true);
        headers.insert("x-amz-security-token", value);
    }
    if let Some(auth) = headers.get_mut(http::header::AUTHORIZATION) {
        auth.set_sensitive(true);
    }
    Ok(Signature { headers, signature })
}

fn settings(options: SignOptions) -> SigningSettings {
    let mut settings = SigningSettings::default();
    settings.percent_encoding_mode = if options.double_encode_path {
        PercentEncodingMode::Double
    } else {
        PercentEncodingMode::Single
    };
    settings.payload_checksum_kind = if options.content_sha256_header {
        PayloadChecksumKind::XAmzSha256
    } else {
        PayloadChecksumKind::NoHeader
    };
    settings.uri_path_normalization_mode = UriPathNormalizationMode::from(options.normalize_path);
    settings.session_token_mode = if options.sign_session_token {
        SessionTokenMode::Include
    } else {
        SessionTokenMode::Exclude
    };
    settings.signature_location = SignatureLocation::Headers;
    settings
}

/// Whether a request header is signed by [`Signer`]: `content-type` and `x-amz-*` (`host` is
/// always signed and given apart). Other headers go upstream unsigned, so that anything a
/// browser or a hop in between adds or changes cannot break the signature.
pub fn is_signed_header(name: &str) -> bool {
    name.eq_ignore_ascii_case("content-type")
        || name
            .get(..6)
            .is_some_and(|p| p.eq_ignore_ascii_case("x-amz-"))
}

/// One request for [`Signer::sign`].
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The HTTP method.
    pub method: &'a str,
    /// `path?query` exactly as it will be sent; make it with
    /// [`ForwardTarget`](crate::canonical::ForwardTarget) so it survives canonicalisation.
    pub path_and_query: &'a str,
    /// The request's headers; only `content-type` and `x-amz-*` among them are signed.
    pub headers: &'a HeaderMap,
    /// Hex SHA-256 of the body ([`sha256_hex`](crate::canonical::sha256_hex)).
    pub payload_sha256: &'a str,
}

/// Signs requests for one endpoint with cached, refreshed credentials.
///
/// ```no_run
/// # async fn demo() -> Result<(), hydrant_sigproxy::SigproxyError> {
/// use std::sync::Arc;
/// use hydrant_sigproxy::{Signer, canonical, credentials};
///
/// let creds = Arc::new(credentials::aws_chain(credentials::ChainOptions::default()));
/// let signer = Signer::new(creds, "https", "search-x.eu-west-1.es.amazonaws.com", "eu-west-1", "es");
/// let body = b"{\"index\":{}}\n{\"a\":1}\n";
/// let target = canonical::ForwardTarget::new("/_bulk", Some("refresh=false"));
/// let mut headers = http::HeaderMap::new();
/// headers.insert("content-type", "application/x-ndjson".parse().unwrap());
/// let added = signer
///     .sign(&hydrant_sigproxy::signer::Request {
///         method: "POST",
///         path_and_query: &target.path_and_query(),
///         headers: &headers,
///         payload_sha256: &canonical::sha256_hex(body),
///     })
///     .await?;
/// headers.extend(added.headers); // authorization, x-amz-date, x-amz-content-sha256, …
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Signer {
    credentials: Arc<CredentialsCache>,
    scheme: String,
    host: String,
    region: String,
    service: String,
    options: SignOptions,
    clock: Clock,
}

impl Signer {
    /// A signer for `scheme://host` (the `host` that is signed and sent) in `region`, for
    /// `service`.
    pub fn new(
        credentials: Arc<CredentialsCache>,
        scheme: &str,
        host: &str,
        region: &str,
        service: &str,
    ) -> Signer {
        Signer {
            credentials,
            scheme: scheme.to_string(),
            host: host.to_string(),
            region: region.to_string(),
            service: service.to_string(),
            options: SignOptions::default(),
            clock: system_clock(),
        }
    }

    /// Uses `clock` for signing times.
    pub fn with_clock(mut self, clock: Clock) -> Signer {
        self.clock = clock;
        self
    }

    /// The credentials this signer uses.
    pub fn credentials(&self) -> &Arc<CredentialsCache> {
        &self.credentials
    }

    /// The signing region.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The signing service.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// The headers to add to `request`: `authorization`, `x-amz-date`, `x-amz-content-sha256`
    /// and, with temporary credentials, `x-amz-security-token`.
    pub async fn sign(&self, request: &Request<'_>) -> Result<Signature, SigproxyError> {
        let credentials = self.credentials.credentials().await?;
        let mut signed: Vec<(&str, &str)> = vec![("host", self.host.as_str())];
        for (name, value) in request.headers {
            if !is_signed_header(name.as_str()) {
                continue;
            }
            let value = value.to_str().map_err(|_| SigproxyError::InvalidHeader {
                name: name.to_string(),
            })?;
            signed.push((name.as_str(), value));
        }
        let url = format!("{}://{}{}", self.scheme, self.host, request.path_and_query);
        let input = SignInput {
            method: request.method,
            url: &url,
            headers: &signed,
            payload_sha256: request.payload_sha256,
            region: &self.region,
            service: &self.service,
            time: (self.clock)(),
        };
        sign_headers(&input, &credentials, self.options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_content_type_and_amz_headers_are_signed() {
        assert!(is_signed_header("Content-Type"));
        assert!(is_signed_header("X-Amz-Target"));
        assert!(!is_signed_header("kbn-xsrf"));
        assert!(!is_signed_header("cookie"));
        assert!(!is_signed_header("x-amzn-trace-id"));
        assert!(!is_signed_header("user-agent"));
    }

    #[tokio::test]
    async fn signer_signs_host_content_type_and_its_own_headers_only() {
        let creds = Credentials::new("AKIDEXAMPLE", "secret", Some("tok".into()), None, "t");
        let cache = Arc::new(CredentialsCache::new(creds));
        let signer = Signer::new(
            cache,
            "https",
            "x.eu-west-1.es.amazonaws.com",
            "eu-west-1",
            "es",
        );
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        headers.insert("kbn-xsrf", HeaderValue::from_static("true"));
        let sig = signer
            .sign(&Request {
                method: "GET",
                path_and_query: "/_search",
                headers: &headers,
                payload_sha256: crate::canonical::EMPTY_PAYLOAD_SHA256,
            })
            .await
            .unwrap();
        let auth = sig.headers["authorization"].to_str().unwrap();
        assert!(
            auth.contains(
                "SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token,"
            ),
            "{auth}"
        );
        assert!(sig.headers["authorization"].is_sensitive());
        assert!(sig.headers["x-amz-security-token"].is_sensitive());
        assert_eq!(
            sig.headers["x-amz-content-sha256"],
            crate::canonical::EMPTY_PAYLOAD_SHA256
        );
    }
}
