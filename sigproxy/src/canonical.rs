//! SigV4's canonical forms: of a request target (path and query), of headers, of the whole
//! request, and the string to sign.
//!
//! Signing itself is done by `aws-sigv4` ([`crate::Signer`]). That crate keeps its canonical
//! request private, yet three things here need it in the open: the proxy forwards the path and
//! query in exactly the form that was signed (so `+`, spaces, `*`, `:` and `%2F` mean upstream
//! what they meant when signed); the verifier of Hydrant's own API rebuilds the canonical request
//! of whatever a client signed; and the AWS test suites are checked line by line. The test
//! suites run both through this module and through `aws-sigv4`, so the two cannot drift apart.

use std::fmt;
use std::time::SystemTime;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

/// Everything but RFC 3986's unreserved characters is percent-encoded (SigV4's `UriEncode`).
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The same, keeping `/` (the path separator) as it is.
const UNRESERVED_AND_SLASH: &AsciiSet = &UNRESERVED.remove(b'/');

/// The algorithm name of SigV4 with HMAC-SHA256.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// The hex SHA-256 of an empty payload.
pub const EMPTY_PAYLOAD_SHA256: &str =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Lowercase hex SHA-256 of `data`, the form of `x-amz-content-sha256`.
pub use hydrant_http::sha256_hex;

/// A path and query rewritten to the form a SigV4 signer canonicalises them to, so that what is
/// sent is exactly what was signed.
///
/// The path: dot segments resolved and repeated slashes merged (as AWS does for every service
/// but S3), each segment percent-decoded and re-encoded with only unreserved characters left
/// bare (`*` → `%2A`, `:` → `%3A`; an encoded `%2F` stays inside its segment). The query:
/// decoded as `application/x-www-form-urlencoded` (so `+` is a space), re-encoded the same way,
/// and sorted — SigV4's canonical query string.
///
/// ```
/// let target = hydrant_sigproxy::canonical::ForwardTarget::new("/logs-*//_search", Some("q=a+b:c&size=5"));
/// assert_eq!(target.path, "/logs-%2A/_search");
/// assert_eq!(target.query, "q=a%20b%3Ac&size=5");
/// assert_eq!(target.path_and_query(), "/logs-%2A/_search?q=a%20b%3Ac&size=5");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardTarget {
    /// The path, normalised and encoded once.
    pub path: String,
    /// The canonical query string, without `?`; empty when there is none.
    pub query: String,
}

impl ForwardTarget {
    /// Rewrites a raw request path and query (as received on the wire).
    pub fn new(raw_path: &str, raw_query: Option<&str>) -> ForwardTarget {
        ForwardTarget {
            path: forward_path(raw_path),
            query: canonical_query(raw_query.unwrap_or("")),
        }
    }

    /// `path?query`, or just the path when there is no query.
    pub fn path_and_query(&self) -> String {
        if self.query.is_empty() {
            self.path.clone()
        } else {
            format!("{}?{}", self.path, self.query)
        }
    }
}

fn forward_path(raw: &str) -> String {
    let mut segments: Vec<String> = Vec::new();
    for segment in raw.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            other => segments.push(encode_segment(other)),
        }
    }
    let mut path = format!("/{}", segments.join("/"));
    if ends_with_slash(raw) && path.len() > 1 {
        path.push('/');
    }
    path
}

fn encode_segment(raw: &str) -> String {
    let bytes: Vec<u8> = percent_decode_str(raw).collect();
    let encoded: String = percent_encoding::percent_encode(&bytes, UNRESERVED).collect();
    // An encoded dot segment (`%2E%2E`) must not become a real one.
    if encoded == "." || encoded == ".." {
        encoded.replace('.', "%2E")
    } else {
        encoded
    }
}

fn ends_with_slash(path: &str) -> bool {
    ["/", "/.", "/..", "/./", "/../"]
        .iter()
        .any(|end| path.ends_with(end))
}

/// SigV4's canonical query string of a raw query: pairs decoded as form data, encoded with
/// only unreserved characters bare, sorted by name then value, `name=value` joined by `&`.
pub fn canonical_query(raw: &str) -> String {
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(raw.as_bytes())
        .map(|(k, v)| {
            (
                utf8_percent_encode(&k, UNRESERVED).to_string(),
                utf8_percent_encode(&v, UNRESERVED).to_string(),
            )
        })
        .collect();
    pairs.sort();
    let mut out = String::with_capacity(raw.len() + 8);
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// SigV4's canonical URI of a raw request path.
///
/// `normalize` resolves dot segments and merges repeated slashes; `double_encode` encodes the
/// (already encoded) path once more, as every service but S3 expects.
pub fn canonical_uri(raw_path: &str, normalize: bool, double_encode: bool) -> String {
    let path = if raw_path.is_empty() { "/" } else { raw_path };
    let path = if normalize {
        normalize_path(path)
    } else {
        path.to_string()
    };
    if double_encode {
        utf8_percent_encode(&path, UNRESERVED_AND_SLASH).to_string()
    } else {
        path
    }
}

fn normalize_path(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            other => segments.push(other),
        }
    }
    let mut out = format!("/{}", segments.join("/"));
    if ends_with_slash(path) && out.len() > 1 {
        out.push('/');
    }
    out
}

/// A header value as SigV4 canonicalises it: outer spaces trimmed, inner runs of spaces
/// merged into one.
pub fn canonical_header_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut last_space = false;
    for c in value.trim_matches(' ').chars() {
        if c == ' ' {
            if !last_space {
                out.push(c);
            }
            last_space = true;
        } else {
            out.push(c);
            last_space = false;
        }
    }
    out
}

/// A SigV4 canonical request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanonicalRequest {
    /// The HTTP method.
    pub method: String,
    /// The canonical URI.
    pub uri: String,
    /// The canonical query string.
    pub query: String,
    /// Signed headers, lowercase and sorted, each with its values canonicalised and joined.
    pub headers: Vec<(String, String)>,
    /// The hex SHA-256 of the payload (or `UNSIGNED-PAYLOAD`).
    pub payload_hash: String,
}

impl CanonicalRequest {
    /// Builds the canonical request of a raw request target and the headers named in
    /// `signed` (lowercase names; every value of a repeated header counts, in order).
    pub fn new<'a>(
        method: &str,
        raw_path: &str,
        raw_query: &str,
        headers: impl IntoIterator<Item = (&'a str, &'a str)>,
        signed: &[String],
        payload_hash: &str,
        options: CanonicalOptions,
    ) -> CanonicalRequest {
        let mut values: Vec<(String, Vec<String>)> =
            signed.iter().map(|n| (n.clone(), Vec::new())).collect();
        for (name, value) in headers {
            let lower = name.to_ascii_lowercase();
            if let Some((_, v)) = values.iter_mut().find(|(n, _)| *n == lower) {
                v.push(canonical_header_value(value));
            }
        }
        let mut headers: Vec<(String, String)> =
            values.into_iter().map(|(n, v)| (n, v.join(","))).collect();
        headers.sort();
        CanonicalRequest {
            method: method.to_string(),
            uri: canonical_uri(raw_path, options.normalize, options.double_encode),
            query: canonical_query(raw_query),
            headers,
            payload_hash: payload_hash.to_string(),
        }
    }

    /// The `SignedHeaders` list: names joined by `;`.
    pub fn signed_headers(&self) -> String {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        names.join(";")
    }

    /// The string to sign for this request at `time` in `region` for `service`.
    pub fn string_to_sign(&self, time: SystemTime, region: &str, service: &str) -> String {
        let (date, date_time) = amz_date(time);
        format!(
            "{ALGORITHM}\n{date_time}\n{date}/{region}/{service}/aws4_request\n{}",
            sha256_hex(self.to_string().as_bytes())
        )
    }
}

impl fmt::Display for CanonicalRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.method)?;
        writeln!(f, "{}", self.uri)?;
        writeln!(f, "{}", self.query)?;
        for (name, value) in &self.headers {
            writeln!(f, "{name}:{value}")?;
        }
        writeln!(f)?;
        writeln!(f, "{}", self.signed_headers())?;
        write!(f, "{}", self.payload_hash)
    }
}

/// How the canonical URI is formed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CanonicalOptions {
    /// Resolve dot segments and merge repeated slashes (every service but S3).
    pub normalize: bool,
    /// Encode the path a second time (every service but S3).
    pub double_encode: bool,
}

impl Default for CanonicalOptions {
    fn default() -> Self {
        CanonicalOptions {
            normalize: true,
            double_encode: true,
        }
    }
}

/// `(yyyymmdd, yyyymmddThhmmssZ)` of `time`, in UTC.
pub fn amz_date(time: SystemTime) -> (String, String) {
    let time: chrono::DateTime<chrono::Utc> = time.into();
    (
        time.format("%Y%m%d").to_string(),
        time.format("%Y%m%dT%H%M%SZ").to_string(),
    )
}

/// Parses an `X-Amz-Date` value (`20150830T123600Z`).
pub fn parse_amz_date(text: &str) -> Option<SystemTime> {
    chrono::NaiveDateTime::parse_from_str(text, "%Y%m%dT%H%M%SZ")
        .ok()
        .map(|t| t.and_utc().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_plus_is_a_space_and_literal_plus_stays_encoded() {
        assert_eq!(canonical_query("q=a+b&r=a%2Bb"), "q=a%20b&r=a%2Bb");
    }

    #[test]
    fn query_reserved_characters_are_encoded_and_pairs_sorted() {
        assert_eq!(
            canonical_query("z=*&a=x:y&a=%2F&b"),
            "a=%2F&a=x%3Ay&b=&z=%2A"
        );
    }

    #[test]
    fn canonical_query_is_idempotent_on_its_own_output() {
        let once = canonical_query("q=é+ö*&x=%2Fa b");
        assert_eq!(canonical_query(&once), once);
    }

    #[test]
    fn forward_path_keeps_an_encoded_slash_inside_its_segment() {
        let t = ForwardTarget::new("/idx/_doc/a%2Fb", None);
        assert_eq!(t.path, "/idx/_doc/a%2Fb");
    }

    #[test]
    fn forward_path_merges_slashes_and_resolves_dot_segments() {
        assert_eq!(ForwardTarget::new("//a/./b/../c//", None).path, "/a/c/");
        assert_eq!(ForwardTarget::new("", None).path, "/");
        assert_eq!(ForwardTarget::new("/..", None).path, "/");
    }

    #[test]
    fn forward_path_does_not_turn_encoded_dots_into_dot_segments() {
        assert_eq!(ForwardTarget::new("/a/%2E%2E/b", None).path, "/a/%2E%2E/b");
    }

    #[test]
    fn forward_path_encodes_reserved_and_non_ascii_bytes_once() {
        let t = ForwardTarget::new("/a:b/*/caf%C3%A9/x+y/sp%20ace", None);
        assert_eq!(t.path, "/a%3Ab/%2A/caf%C3%A9/x%2By/sp%20ace");
    }

    #[test]
    fn forward_target_is_a_fixed_point_of_itself() {
        let t = ForwardTarget::new("/a:b//*/%2F", Some("x=1+2&y=*"));
        let again = ForwardTarget::new(&t.path, Some(&t.query));
        assert_eq!(t, again);
    }

    #[test]
    fn canonical_uri_double_encodes_an_encoded_path() {
        assert_eq!(canonical_uri("/a%2Fb/%2A", true, true), "/a%252Fb/%252A");
        assert_eq!(canonical_uri("/a%2Fb", true, false), "/a%2Fb");
    }

    #[test]
    fn header_values_are_trimmed_and_inner_spaces_merged() {
        assert_eq!(canonical_header_value("  a   b  c "), "a b c");
    }

    #[test]
    fn amz_date_round_trips() {
        let t = parse_amz_date("20150830T123600Z").unwrap();
        assert_eq!(
            amz_date(t),
            ("20150830".to_string(), "20150830T123600Z".to_string())
        );
        assert!(parse_amz_date("2015-08-30").is_none());
    }
}
