//! `uri_parts`: a URI string split into ECS `url.*` fields (`scheme`, `domain`, `port`,
//! `path`, `extension`, `query`, `fragment`, `user_info`, `username`, `password`), as
//! Elasticsearch's processor splits it.
//!
//! Elasticsearch reads the string with Java's `java.net.URI` (RFC 2396: components are
//! returned as written, explicit default ports kept, `%XX` escapes decoded, relative and
//! opaque references accepted), and only when that refuses the string with `java.net.URL`
//! (lenient, a known scheme required, components returned raw). The `url` crate implements
//! WHATWG URLs instead, which normalise (lower-case hosts, drop default ports, resolve `..`,
//! re-escape), so the first reading is the RFC 3986 appendix B split below, and `url` plays
//! the part of Java's lenient fallback.

use percent_encoding::percent_decode_str;
use serde_json::{Map, Value};

use crate::doc::IngestDoc;
use crate::error::{DefinitionError, Failure};
use crate::opts::Opts;
use crate::pipeline::{Ctx, Flow, Process};
use crate::processors::strings::FieldOpts;
use crate::template::Template;

struct UriParts {
    f: FieldOpts,
    target: Template,
    keep_original: bool,
    remove_if_successful: bool,
}

/// `uri_parts`: `field`, `target_field` (`url`), `keep_original` (true),
/// `remove_if_successful` (false), `ignore_missing`.
pub fn uri_parts(opts: &mut Opts) -> Result<Box<dyn Process>, DefinitionError> {
    let f = FieldOpts::read(opts)?;
    let target = match f.target.clone() {
        Some(t) => t,
        None => Template::compile("target_field", "url")?,
    };
    Ok(Box::new(UriParts {
        f,
        target,
        keep_original: opts.bool_or("keep_original", true)?,
        remove_if_successful: opts.bool_or("remove_if_successful", false)?,
    }))
}

impl Process for UriParts {
    fn run(&self, doc: &mut IngestDoc, _: &mut Ctx<'_>) -> Result<Flow, Failure> {
        let field = self.f.field.render(doc);
        if self.f.value(doc, &field)?.is_none() {
            return Ok(Flow::Continue);
        }
        let s = doc.require_str(&field)?.to_string();
        let mut parts = parse(&s)?;
        if self.keep_original {
            parts.insert("original".into(), Value::String(s));
        }
        let target = self.target.render(doc);
        if self.remove_if_successful && target != field {
            doc.remove(&field);
        }
        doc.set(&target, Value::Object(parts))?;
        Ok(Flow::Continue)
    }
}

/// The raw components of a URI reference.
#[derive(Debug, Default, PartialEq)]
struct Raw<'a> {
    scheme: Option<&'a str>,
    user_info: Option<&'a str>,
    host: Option<&'a str>,
    port: Option<u16>,
    path: Option<&'a str>,
    query: Option<&'a str>,
    fragment: Option<&'a str>,
}

/// The parts of `s` as Elasticsearch's `uri_parts` names them.
pub fn parse(s: &str) -> Result<Map<String, Value>, Failure> {
    let (raw, decode) = match split(s) {
        Some(raw) => (raw, true),
        None => (
            lenient(s).ok_or_else(|| Failure::illegal(format!("unable to parse URI [{s}]")))?,
            false,
        ),
    };
    let text = |v: Option<&str>| -> Option<String> {
        v.map(|v| {
            if decode {
                percent_decode_str(v).decode_utf8_lossy().into_owned()
            } else {
                v.to_string()
            }
        })
    };
    let mut out = Map::new();
    out.insert(
        "domain".into(),
        raw.host
            .map_or(Value::Null, |h| Value::String(h.to_string())),
    );
    out.insert(
        "scheme".into(),
        raw.scheme
            .map_or(Value::Null, |h| Value::String(h.to_string())),
    );
    if let Some(f) = text(raw.fragment) {
        out.insert("fragment".into(), Value::String(f));
    }
    if let Some(path) = text(raw.path) {
        // The extension is read from the last segment only: a dot in a directory is not one.
        if let Some(i) = path.rfind('/')
            && let Some(dot) = path[i..].rfind('.')
        {
            let extension = path[i + dot + 1..].to_string();
            out.insert("extension".into(), Value::String(extension));
        }
        out.insert("path".into(), Value::String(path));
    }
    if let Some(port) = raw.port {
        out.insert("port".into(), Value::from(port));
    }
    if let Some(q) = text(raw.query) {
        out.insert("query".into(), Value::String(q));
    }
    if let Some(ui) = text(raw.user_info) {
        if let Some((user, password)) = ui.split_once(':') {
            out.insert("username".into(), Value::String(user.to_string()));
            out.insert("password".into(), Value::String(password.to_string()));
        }
        out.insert("user_info".into(), Value::String(ui));
    }
    Ok(out)
}

/// Whether `c` may appear in a URI as Java's `URI` reads one: RFC 2396's characters, `%`
/// for escapes (checked separately), and any non-ASCII character other than spaces and
/// controls ("other" characters).
fn allowed(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric() || "-_.!~*'();/?:@&=+$,%#[]".contains(c)
    } else {
        !c.is_whitespace() && !c.is_control()
    }
}

/// Every `%` starts a two-digit escape.
fn escapes_ok(s: &str) -> bool {
    let b = s.as_bytes();
    b.iter()
        .enumerate()
        .filter(|(_, c)| **c == b'%')
        .all(|(i, _)| {
            b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
        })
}

/// RFC 3986 appendix B's split, with the checks of Java's `URI`; `None` where it refuses.
fn split(s: &str) -> Option<Raw<'_>> {
    if s.is_empty() || !s.chars().all(allowed) || !escapes_ok(s) {
        return None;
    }
    let (rest, fragment) = match s.split_once('#') {
        Some((r, f)) => (r, Some(f)),
        None => (s, None),
    };
    if fragment.is_some_and(|f| f.contains('#')) {
        return None;
    }
    let scheme_end = rest
        .find(':')
        .filter(|&i| i < rest.find(['/', '?']).unwrap_or(usize::MAX));
    let (scheme, rest) = match scheme_end {
        Some(i) => {
            let scheme = &rest[..i];
            let valid = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
            if !valid {
                return None;
            }
            (Some(scheme), &rest[i + 1..])
        }
        None => (None, rest),
    };
    if scheme.is_some() && !rest.starts_with('/') {
        // An opaque URI (`mailto:a@b`): no authority, path or query.
        if rest.is_empty() {
            return None;
        }
        return Some(Raw {
            scheme,
            fragment,
            ..Raw::default()
        });
    }
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, Some(q)),
        None => (rest, None),
    };
    let mut raw = Raw {
        scheme,
        query,
        fragment,
        ..Raw::default()
    };
    let path = match rest.strip_prefix("//") {
        Some(after) => {
            let end = after.find('/').unwrap_or(after.len());
            authority(&after[..end], &mut raw)?;
            &after[end..]
        }
        None => rest,
    };
    raw.path = Some(path);
    Some(raw)
}

/// `[user_info@]host[:port]`; an authority that is not a server's (a port that is not a
/// number) leaves host and port unset, as Java's registry-based authorities do.
fn authority<'a>(a: &'a str, raw: &mut Raw<'a>) -> Option<()> {
    let (user_info, host_port) = match a.rfind('@') {
        Some(i) => (Some(&a[..i]), &a[i + 1..]),
        None => (None, a),
    };
    let (host, port) = match host_port.rfind(':') {
        Some(i) if !host_port[i..].contains(']') => (&host_port[..i], Some(&host_port[i + 1..])),
        _ => (host_port, None),
    };
    let port = match port {
        None | Some("") => None,
        Some(p) => match p.parse::<u16>() {
            Ok(p) => Some(p),
            Err(_) => return Some(()),
        },
    };
    if host.starts_with('[') != host.ends_with(']') {
        return None;
    }
    raw.user_info = user_info;
    raw.host = (!host.is_empty()).then_some(host);
    raw.port = port;
    Some(())
}

/// Java's `URL`, for what `URI` refuses: only its known schemes, components as written.
fn lenient(s: &str) -> Option<Raw<'_>> {
    let url = url::Url::parse(s).ok()?;
    if !["http", "https", "ftp", "file", "jar"].contains(&url.scheme()) {
        return None;
    }
    let scheme_len = url.scheme().len();
    let after = s.get(scheme_len + 1..)?;
    let mut raw = Raw {
        scheme: s.get(..scheme_len),
        ..Raw::default()
    };
    let (rest, fragment) = match after.split_once('#') {
        Some((r, f)) => (r, Some(f)),
        None => (after, None),
    };
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, Some(q)),
        None => (rest, None),
    };
    raw.fragment = fragment;
    raw.query = query;
    let path = match rest.strip_prefix("//") {
        Some(a) => {
            let end = a.find('/').unwrap_or(a.len());
            authority(&a[..end], &mut raw)?;
            &a[end..]
        }
        None => rest,
    };
    raw.path = Some(path);
    Some(raw)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn components_are_as_written_with_escapes_decoded() {
        let p = parse(
            "http://myusername:mypassword@www.example.com:80/foo.gif?key1=val1&key2=val2#fragment",
        )
        .unwrap();
        assert_eq!(
            Value::Object(p),
            json!({
                "scheme": "http", "domain": "www.example.com", "port": 80, "path": "/foo.gif",
                "extension": "gif", "query": "key1=val1&key2=val2", "fragment": "fragment",
                "user_info": "myusername:mypassword", "username": "myusername", "password": "mypassword"
            })
        );
        let p = parse("https://Example.COM/a%20b/c.d/e?q=%41").unwrap();
        assert_eq!(
            Value::Object(p),
            json!({"scheme": "https", "domain": "Example.COM", "path": "/a b/c.d/e", "query": "q=A"})
        );
    }

    #[test]
    fn relative_opaque_and_lenient_references() {
        assert_eq!(
            Value::Object(parse("/x/y.tar.gz").unwrap()),
            json!({"scheme": null, "domain": null, "path": "/x/y.tar.gz", "extension": "gz"})
        );
        assert_eq!(
            Value::Object(parse("mailto:a@b.org").unwrap()),
            json!({"scheme": "mailto", "domain": null})
        );
        assert_eq!(
            Value::Object(parse("http://h").unwrap()),
            json!({"scheme": "http", "domain": "h", "path": ""})
        );
        assert_eq!(
            Value::Object(parse("http://u@[::1]:9200/").unwrap()),
            json!({"scheme": "http", "domain": "[::1]", "port": 9200, "path": "/", "user_info": "u"})
        );
        // A space is refused by Java's URI but read by its URL, raw.
        assert_eq!(
            Value::Object(parse("http://h/a b%20c").unwrap()),
            json!({"scheme": "http", "domain": "h", "path": "/a b%20c"})
        );
        assert_eq!(
            parse("no scheme here").unwrap_err().reason,
            "unable to parse URI [no scheme here]"
        );
        assert_eq!(
            parse("gopher://h/a b").unwrap_err().reason,
            "unable to parse URI [gopher://h/a b]"
        );
    }
}

#[cfg(test)]
mod pipeline_tests {
    use serde_json::{Value, json};

    use crate::tests::run;

    fn up(options: Value, source: Value) -> Value {
        run(json!({"processors": [{"uri_parts": options}]}), source)
    }

    #[test]
    fn elasticsearchs_documented_example() {
        let u =
            "http://myusername:mypassword@www.example.com:80/foo.gif?key1=val1&key2=val2#fragment";
        let out = up(
            json!({"field": "input_field", "target_field": "url", "keep_original": true, "remove_if_successful": false}),
            json!({"input_field": u}),
        );
        assert_eq!(
            out["url"],
            json!({
                "path": "/foo.gif", "fragment": "fragment", "extension": "gif", "password": "mypassword",
                "original": u, "scheme": "http", "port": 80, "user_info": "myusername:mypassword",
                "domain": "www.example.com", "query": "key1=val1&key2=val2", "username": "myusername"
            })
        );
        assert_eq!(out["input_field"], u);
    }

    #[test]
    fn remove_keep_and_missing() {
        let out = up(
            json!({"field": "u", "remove_if_successful": true, "keep_original": false}),
            json!({"u": "https://h/x"}),
        );
        assert_eq!(
            out,
            json!({"url": {"scheme": "https", "domain": "h", "path": "/x"}})
        );
        // The field stays when it is also the target.
        let out = up(
            json!({"field": "u", "target_field": "u", "remove_if_successful": true}),
            json!({"u": "https://h/"}),
        );
        assert_eq!(
            out,
            json!({"u": {"scheme": "https", "domain": "h", "path": "/", "original": "https://h/"}})
        );
        assert_eq!(
            up(json!({"field": "u", "ignore_missing": true}), json!({})),
            json!({})
        );
        assert_eq!(
            up(json!({"field": "u"}), json!({})),
            json!("illegal_argument_exception: field [u] not present as part of path [u]")
        );
        assert_eq!(
            up(json!({"field": "u"}), json!({"u": "a b"})),
            json!("illegal_argument_exception: unable to parse URI [a b]")
        );
    }
}
