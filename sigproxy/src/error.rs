//! The crate's one error type; the HTTP status and AWS error type come from the variant here.

use std::net::SocketAddr;
use std::time::Duration;

use axum::http::StatusCode;

/// Everything that can go wrong while signing, proxying or verifying.
#[derive(Debug, thiserror::Error)]
pub enum SigproxyError {
    /// The endpoint is not a usable URL.
    #[error("endpoint `{endpoint}` is not usable: {reason}")]
    InvalidEndpoint {
        /// The endpoint as given.
        endpoint: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// No endpoint was configured.
    #[error("no endpoint: pass --endpoint or set `sigproxy.endpoint`")]
    NoEndpoint,
    /// The region cannot be read from the endpoint host and none was given.
    #[error(
        "cannot infer the region from endpoint host `{host}`: pass --region or set `sigproxy.region`"
    )]
    CannotInferRegion {
        /// The endpoint host.
        host: String,
    },
    /// A non-loopback listen address without `--allow-remote` and basic auth.
    #[error(
        "refusing to listen on non-loopback address `{addr}`: that needs both --allow-remote and --basic-auth (anyone who reaches it would act with your AWS credentials)"
    )]
    RemoteBindRefused {
        /// The address.
        addr: SocketAddr,
    },
    /// The credential chain failed.
    #[error("cannot load AWS credentials: {reason}")]
    Credentials {
        /// The chain's explanation (never a secret).
        reason: String,
    },
    /// `aws-sigv4` refused the request.
    #[error("cannot sign the request: {reason}")]
    Signing {
        /// Why.
        reason: String,
    },
    /// A request body over the limit.
    #[error("request body is larger than the {limit}-byte limit (`sigproxy.max_body_size`)")]
    BodyTooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// The client's body could not be read.
    #[error("cannot read the request body: {reason}")]
    BodyRead {
        /// Why.
        reason: String,
    },
    /// A header that cannot be sent on.
    #[error("header `{name}` has a value that cannot be signed")]
    InvalidHeader {
        /// The header name.
        name: String,
    },
    /// Connecting to the endpoint failed.
    #[error("cannot connect to {endpoint}: {reason}")]
    UpstreamConnect {
        /// The endpoint.
        endpoint: String,
        /// Why.
        reason: String,
    },
    /// The endpoint did not answer in time.
    #[error("{endpoint} did not {stage} within {}", humantime_short(*.after))]
    UpstreamTimeout {
        /// The endpoint.
        endpoint: String,
        /// What it failed to do: "accept a connection", "answer".
        stage: &'static str,
        /// The timeout.
        after: Duration,
    },
    /// The exchange with the endpoint failed after connecting.
    #[error("request to {endpoint} failed: {reason}")]
    Upstream {
        /// The endpoint.
        endpoint: String,
        /// Why.
        reason: String,
    },
    /// Basic auth missing or wrong on the proxy.
    #[error("this proxy requires HTTP basic authentication")]
    Unauthorized,
    /// A request to a SigV4-protected API without a signature.
    #[error("Missing Authentication Token")]
    MissingAuthentication,
    /// An `Authorization` header that is not a well-formed SigV4 one.
    #[error("{reason}")]
    MalformedAuthorization {
        /// What is missing or wrong.
        reason: String,
    },
    /// An access key that is not configured.
    #[error("The security token included in the request is invalid.")]
    UnknownAccessKey {
        /// The key id (not a secret; never the secret key).
        access_key_id: String,
    },
    /// A credential scope for another region, service or day.
    #[error("Credential should be scoped to {expected}, not '{got}'.")]
    WrongScope {
        /// What the scope must name.
        expected: String,
        /// What it named.
        got: String,
    },
    /// A signature made too long ago or in the future.
    #[error("Signature expired: {date} is now outside {now} +/- {}", humantime_short(*.skew))]
    ClockSkew {
        /// The request's `X-Amz-Date`.
        date: String,
        /// The server's time, same format.
        now: String,
        /// The allowed skew.
        skew: Duration,
    },
    /// `x-amz-content-sha256` that is not the hash of the body.
    #[error("The provided 'x-amz-content-sha256' header does not match what was computed.")]
    PayloadHashMismatch,
    /// A signature that does not verify.
    #[error(
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
    )]
    SignatureMismatch,
}

impl SigproxyError {
    /// The HTTP status a client gets for this error.
    pub fn status(&self) -> StatusCode {
        use SigproxyError::*;
        match self {
            BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            BodyRead { .. } | InvalidHeader { .. } => StatusCode::BAD_REQUEST,
            Unauthorized => StatusCode::UNAUTHORIZED,
            UpstreamTimeout { .. } => StatusCode::GATEWAY_TIMEOUT,
            UpstreamConnect { .. } | Upstream { .. } => StatusCode::BAD_GATEWAY,
            Credentials { .. } | Signing { .. } => StatusCode::BAD_GATEWAY,
            MissingAuthentication
            | MalformedAuthorization { .. }
            | UnknownAccessKey { .. }
            | WrongScope { .. }
            | ClockSkew { .. }
            | PayloadHashMismatch
            | SignatureMismatch => StatusCode::FORBIDDEN,
            InvalidEndpoint { .. }
            | NoEndpoint
            | CannotInferRegion { .. }
            | RemoteBindRefused { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The error type AWS names in `x-amzn-ErrorType` for a verification failure.
    pub fn aws_error_type(&self) -> &'static str {
        use SigproxyError::*;
        match self {
            MissingAuthentication => "MissingAuthenticationTokenException",
            MalformedAuthorization { .. } => "IncompleteSignatureException",
            UnknownAccessKey { .. } => "UnrecognizedClientException",
            BodyTooLarge { .. } => "RequestEntityTooLargeException",
            _ => "InvalidSignatureException",
        }
    }

    /// The Elasticsearch-style error type of a proxy failure.
    pub fn es_error_type(&self) -> &'static str {
        use SigproxyError::*;
        match self {
            BodyTooLarge { .. } => "content_too_long_exception",
            UpstreamTimeout { .. } => "sigproxy_upstream_timeout",
            UpstreamConnect { .. } | Upstream { .. } => "sigproxy_upstream_error",
            Credentials { .. } => "sigproxy_credentials_error",
            Unauthorized => "security_exception",
            _ => "sigproxy_error",
        }
    }
}

fn humantime_short(d: Duration) -> String {
    hydrant_config::show_duration(d)
}
