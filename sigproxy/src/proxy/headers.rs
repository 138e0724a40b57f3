//! Which headers cross the proxy, in each direction.

use http::{HeaderMap, HeaderName, header};

/// Hop-by-hop headers (RFC 9110 §7.6.1): they describe one connection, not the message.
const HOP_BY_HOP: &[HeaderName] = &[
    header::CONNECTION,
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

fn is_hop_by_hop(name: &HeaderName, listed: &[String]) -> bool {
    HOP_BY_HOP.contains(name)
        || name.as_str() == "keep-alive"
        || name.as_str() == "proxy-connection"
        || listed.iter().any(|l| l == name.as_str())
}

/// Header names listed in `Connection` (they are hop-by-hop too).
fn connection_listed(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect()
}

/// The client's headers as they go upstream, before signing: hop-by-hop headers, `host`,
/// `content-length` (set again for the buffered body), `expect`, any `authorization` (the
/// proxy's own basic auth, or a signature of the client's) and every `x-amz-*` header (the
/// proxy signs with its own) are dropped; the rest — `kbn-xsrf`, `osd-xsrf`, `kbn-version`,
/// `osd-version`, cookies, `content-type`, `accept-encoding` — pass through.
pub(crate) fn request_headers(incoming: &HeaderMap) -> HeaderMap {
    let listed = connection_listed(incoming);
    let mut out = HeaderMap::with_capacity(incoming.len());
    for (name, value) in incoming {
        let drop = is_hop_by_hop(name, &listed)
            || name == header::HOST
            || name == header::CONTENT_LENGTH
            || name == header::EXPECT
            || name == header::AUTHORIZATION
            || name.as_str().starts_with("x-amz-");
        if !drop {
            out.append(name.clone(), value.clone());
        }
    }
    out
}

/// The endpoint's headers as they go back to the client: hop-by-hop headers dropped.
pub(crate) fn response_headers(upstream: &HeaderMap) -> HeaderMap {
    let listed = connection_listed(upstream);
    let mut out = HeaderMap::with_capacity(upstream.len());
    for (name, value) in upstream {
        if !is_hop_by_hop(name, &listed) {
            out.append(name.clone(), value.clone());
        }
    }
    out
}

/// A `Location` pointing at the endpoint (by its own or the signed host), made to point at
/// the proxy as the client reached it; any other `Location` is left alone.
pub(crate) fn rewrite_location(
    location: &str,
    upstream_hosts: &[&str],
    proxy_authority: &str,
) -> Option<String> {
    let (scheme, rest) = location.split_once("://")?;
    if !scheme.eq_ignore_ascii_case("https") && !scheme.eq_ignore_ascii_case("http") {
        return None;
    }
    let split = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(split);
    let host = authority.to_ascii_lowercase();
    let bare = host
        .strip_suffix(":443")
        .or_else(|| host.strip_suffix(":80"))
        .unwrap_or(&host);
    let ours = upstream_hosts
        .iter()
        .any(|h| h.eq_ignore_ascii_case(&host) || h.eq_ignore_ascii_case(bare));
    if !ours {
        return None;
    }
    let tail = if tail.is_empty() { "/" } else { tail };
    Some(format!("http://{proxy_authority}{tail}"))
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    #[test]
    fn credentials_signatures_and_hop_by_hop_headers_never_go_upstream() {
        let mut h = HeaderMap::new();
        for (n, v) in [
            ("authorization", "Basic dTpw"),
            ("x-amz-security-token", "tok"),
            ("x-amz-date", "20200101T000000Z"),
            ("connection", "keep-alive, x-custom-hop"),
            ("x-custom-hop", "1"),
            ("transfer-encoding", "chunked"),
            ("host", "127.0.0.1:9201"),
            ("content-length", "3"),
            ("kbn-xsrf", "true"),
            ("osd-xsrf", "true"),
            ("kbn-version", "7.10.2"),
            ("cookie", "security_authentication=abc"),
            ("content-type", "application/json"),
        ] {
            h.append(n, HeaderValue::from_static(v));
        }
        let out = request_headers(&h);
        let mut names: Vec<&str> = out.keys().map(|k| k.as_str()).collect();
        names.sort();
        assert_eq!(
            names,
            [
                "content-type",
                "cookie",
                "kbn-version",
                "kbn-xsrf",
                "osd-xsrf"
            ]
        );
    }

    #[test]
    fn location_on_the_domain_is_rewritten_to_the_proxy() {
        let hosts = ["search-x.eu-west-1.es.amazonaws.com"];
        assert_eq!(
            rewrite_location(
                "https://search-x.eu-west-1.es.amazonaws.com:443/_plugin/kibana/app/kibana?x=1",
                &hosts,
                "127.0.0.1:9201"
            )
            .as_deref(),
            Some("http://127.0.0.1:9201/_plugin/kibana/app/kibana?x=1")
        );
        assert_eq!(
            rewrite_location(
                "https://Search-X.eu-west-1.es.amazonaws.com",
                &hosts,
                "localhost:1"
            )
            .as_deref(),
            Some("http://localhost:1/")
        );
    }

    #[test]
    fn location_elsewhere_or_relative_is_left_alone() {
        let hosts = ["search-x.eu-west-1.es.amazonaws.com"];
        assert_eq!(
            rewrite_location("https://signin.aws.amazon.com/x", &hosts, "p:1"),
            None
        );
        assert_eq!(
            rewrite_location("/_dashboards/app/home", &hosts, "p:1"),
            None
        );
    }
}
