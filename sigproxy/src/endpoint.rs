//! The upstream endpoint: parsing it with or without a scheme, and reading the signing region
//! and service from its host name.

use hydrant_config::SigningService;

use crate::SigproxyError;

/// A parsed endpoint: scheme, host and optional port, no path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `https` (the default when none is given) or `http`.
    pub scheme: String,
    /// The host name, lowercase.
    pub host: String,
    /// The port when one is given and is not the scheme's default.
    pub port: Option<u16>,
}

impl Endpoint {
    /// Parses `https://host[:port][/]`, `http://…` or a bare `host[:port]`.
    ///
    /// ```
    /// use hydrant_sigproxy::Endpoint;
    /// let e = Endpoint::parse("search-logs-x.eu-west-1.es.amazonaws.com").unwrap();
    /// assert_eq!(e.base_url(), "https://search-logs-x.eu-west-1.es.amazonaws.com");
    /// assert_eq!(e.infer().region.as_deref(), Some("eu-west-1"));
    /// ```
    pub fn parse(text: &str) -> Result<Endpoint, SigproxyError> {
        let invalid = |reason| SigproxyError::InvalidEndpoint {
            endpoint: text.to_string(),
            reason,
        };
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(SigproxyError::NoEndpoint);
        }
        let (scheme, rest) = match trimmed.split_once("://") {
            Some((s, rest)) if s.eq_ignore_ascii_case("https") => ("https", rest),
            Some((s, rest)) if s.eq_ignore_ascii_case("http") => ("http", rest),
            Some(_) => return Err(invalid("the scheme must be https or http")),
            None => ("https", trimmed),
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.contains(['/', '?', '#']) {
            return Err(invalid("it must not have a path or query"));
        }
        if authority.contains('@') {
            return Err(invalid("it must not hold credentials"));
        }
        // `[v6]:port`, `[v6]`, `host:port` or `host`.
        let (host, port_text) = match authority.strip_prefix('[') {
            Some(v6) => {
                let (addr, rest) = v6
                    .split_once(']')
                    .ok_or_else(|| invalid("an IPv6 address must end with `]`"))?;
                (&authority[..addr.len() + 2], rest.strip_prefix(':'))
            }
            None => match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            },
        };
        let port = match port_text {
            Some(p) => Some(
                p.parse::<u16>()
                    .map_err(|_| invalid("the port is not a number"))?,
            ),
            None => None,
        };
        if host.is_empty() {
            return Err(invalid("the host is empty"));
        }
        let default_port = if scheme == "https" { 443 } else { 80 };
        Ok(Endpoint {
            scheme: scheme.to_string(),
            host: host.to_ascii_lowercase(),
            port: port.filter(|p| *p != default_port),
        })
    }

    /// `host[:port]`: the `Host` header for this endpoint.
    pub fn authority(&self) -> String {
        match self.port {
            Some(p) => format!("{}:{p}", self.host),
            None => self.host.clone(),
        }
    }

    /// `scheme://host[:port]`.
    pub fn base_url(&self) -> String {
        format!("{}://{}", self.scheme, self.authority())
    }

    /// The region and service that the host name implies, where it is an AWS one.
    pub fn infer(&self) -> Inferred {
        infer_from_host(&self.host)
    }
}

/// What an endpoint host says about how to sign for it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inferred {
    /// The region, such as `eu-west-1`.
    pub region: Option<String>,
    /// `es` or `aoss`.
    pub service: Option<SigningService>,
}

/// Reads region and service from AWS endpoint host names:
/// `search-<domain>-<id>.<region>.es.amazonaws.com` and `vpc-…` (domains),
/// `<id>.<region>.aoss.amazonaws.com` (Serverless collections), the same under
/// `.amazonaws.com.cn` (China) and in GovCloud regions, and PrivateLink names
/// `vpce-….<service>.<region>.vpce.amazonaws.com`.
pub fn infer_from_host(host: &str) -> Inferred {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let Some(rest) = host
        .strip_suffix(".amazonaws.com")
        .or_else(|| host.strip_suffix(".amazonaws.com.cn"))
    else {
        return Inferred::default();
    };
    let labels: Vec<&str> = rest.split('.').collect();
    let (service, region) = match labels.as_slice() {
        [.., service, region, "vpce"] => (*service, *region),
        [.., region, service] => (*service, *region),
        _ => return Inferred::default(),
    };
    let service = match service {
        "es" => SigningService::Es,
        "aoss" => SigningService::Aoss,
        _ => return Inferred::default(),
    };
    Inferred {
        region: is_region(region).then(|| region.to_string()),
        service: Some(service),
    }
}

/// `xx-name-N` with any number of middle parts: `eu-west-1`, `us-gov-west-1`, `cn-north-1`.
fn is_region(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inferred(host: &str) -> (Option<String>, Option<&'static str>) {
        let i = infer_from_host(host);
        (i.region, i.service.map(|s| s.as_str()))
    }

    #[test]
    fn domain_hosts_give_region_and_es() {
        assert_eq!(
            inferred("search-logs-abc123.eu-west-1.es.amazonaws.com"),
            (Some("eu-west-1".into()), Some("es"))
        );
        assert_eq!(
            inferred("vpc-logs-abc123.ap-southeast-2.es.amazonaws.com"),
            (Some("ap-southeast-2".into()), Some("es"))
        );
    }

    #[test]
    fn serverless_hosts_give_aoss() {
        assert_eq!(
            inferred("0123abcd.us-east-1.aoss.amazonaws.com"),
            (Some("us-east-1".into()), Some("aoss"))
        );
    }

    #[test]
    fn china_and_govcloud_hosts_are_recognised() {
        assert_eq!(
            inferred("search-x-1.cn-north-1.es.amazonaws.com.cn"),
            (Some("cn-north-1".into()), Some("es"))
        );
        assert_eq!(
            inferred("search-x-1.us-gov-west-1.es.amazonaws.com"),
            (Some("us-gov-west-1".into()), Some("es"))
        );
    }

    #[test]
    fn privatelink_hosts_are_recognised() {
        assert_eq!(
            inferred("vpce-0abc-def.aoss.eu-central-1.vpce.amazonaws.com"),
            (Some("eu-central-1".into()), Some("aoss"))
        );
    }

    #[test]
    fn other_hosts_infer_nothing() {
        assert_eq!(inferred("localhost"), (None, None));
        assert_eq!(inferred("s3.eu-west-1.amazonaws.com"), (None, None));
        assert_eq!(inferred("search.example.com"), (None, None));
    }

    #[test]
    fn endpoint_scheme_is_optional_and_default_ports_dropped() {
        let e = Endpoint::parse("https://Search-X.eu-west-1.es.amazonaws.com:443/").unwrap();
        assert_eq!(e.base_url(), "https://search-x.eu-west-1.es.amazonaws.com");
        let e = Endpoint::parse("http://127.0.0.1:9200").unwrap();
        assert_eq!(e.authority(), "127.0.0.1:9200");
        let e = Endpoint::parse("localhost:8443").unwrap();
        assert_eq!(e.base_url(), "https://localhost:8443");
        let e = Endpoint::parse("http://[::1]:9200").unwrap();
        assert_eq!(e.authority(), "[::1]:9200");
        assert_eq!(
            Endpoint::parse("[::1]").unwrap().base_url(),
            "https://[::1]"
        );
    }

    #[test]
    fn endpoint_with_a_path_or_other_scheme_is_refused() {
        let err = Endpoint::parse("https://x.es.amazonaws.com/_plugin/kibana").unwrap_err();
        assert_eq!(
            err.to_string(),
            "endpoint `https://x.es.amazonaws.com/_plugin/kibana` is not usable: it must not have a path or query"
        );
        assert!(Endpoint::parse("ftp://x").is_err());
        assert!(Endpoint::parse("x:notaport").is_err());
        assert!(matches!(
            Endpoint::parse(" "),
            Err(SigproxyError::NoEndpoint)
        ));
    }
}
