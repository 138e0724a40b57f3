//! `user_agent`: a browser's `User-Agent` string as ECS fields (`user_agent.name`,
//! `version`, `os.name`, `os.version`, `os.full`, `device.name`, `original`), as
//! Elasticsearch 8 writes them.
//!
//! The rules are uap-core's `regexes.yaml` (the ua-parser project's database, the one ES
//! ships too), embedded as `data/uap-core/regexes.json` and run by the project's own Rust
//! port, the `ua-parser` crate. Compiling its ~1,200 regexes takes a noticeable moment, so
//! it happens once per server, on first use, in [`UserAgents`] (part of
//! [`Resources`](crate::Resources)).

use std::sync::{Arc, OnceLock};

use serde_json::{Map, Value};

use crate::doc::{IngestDoc, not_present};
use crate::error::{DefinitionError, Failure};
use crate::opts::Opts;
use crate::pipeline::{Ctx, Flow, Process};
use crate::template::Template;

/// uap-core's rules (see `pipeline/NOTICE`).
const REGEXES: &str = include_str!("../../data/uap-core/regexes.json");

/// The name ES gives its one built-in database, the only `regex_file` Hydrant knows.
const DEFAULT_REGEX_FILE: &str = "_default_";

type Parsed = Result<ua_parser::Extractor<'static>, String>;

/// The user-agent database of a server, compiled on first use and shared by every
/// `user_agent` processor.
#[derive(Clone, Default)]
pub struct UserAgents(Arc<OnceLock<Parsed>>);

impl UserAgents {
    /// The compiled rules (compiled now if this is the first call).
    fn get(&self) -> Result<&ua_parser::Extractor<'static>, Failure> {
        self.0.get_or_init(compile).as_ref().map_err(|e| {
            Failure::of(
                "illegal_state_exception",
                format!("the user agent database cannot be used: {e}"),
            )
        })
    }
}

fn compile() -> Parsed {
    let regexes: ua_parser::Regexes<'static> =
        serde_json::from_str(REGEXES).map_err(|e| e.to_string())?;
    ua_parser::Extractor::try_from(regexes).map_err(|e| e.to_string())
}

/// ES's properties, in its order (the order of its error message).
const PROPERTIES: [&str; 5] = ["NAME", "OS", "DEVICE", "ORIGINAL", "VERSION"];

struct UserAgent {
    field: Template,
    target: Template,
    properties: [bool; 5],
    ignore_missing: bool,
    db: UserAgents,
}

/// `user_agent`: `field`, `target_field` (`user_agent`), `properties`, `ignore_missing`,
/// `regex_file` (only ES's built-in name), `extract_device_type` (only `false`).
pub fn user_agent(opts: &mut Opts, db: &UserAgents) -> Result<Box<dyn Process>, DefinitionError> {
    let field = opts.template("field")?;
    let target = opts
        .opt_string("target_field")?
        .unwrap_or_else(|| "user_agent".into());
    let target = Template::compile("target_field", &target)?;
    if let Some(file) = opts
        .opt_string("regex_file")?
        .filter(|f| f != DEFAULT_REGEX_FILE)
    {
        return Err(opts.error(
            "regex_file",
            format!(
                "regex file [{file}] doesn't exist (has to exist at node startup); Hydrant has only its built-in database (uap-core's regexes), used when regex_file is left out"
            ),
        ));
    }
    let properties = match opts.opt_strings("properties", false)? {
        None => [true; 5],
        Some(names) => {
            let mut set = [false; 5];
            for n in names {
                let Some(i) = PROPERTIES.iter().position(|p| p.eq_ignore_ascii_case(&n)) else {
                    return Err(opts.error(
                        "properties",
                        format!(
                            "illegal property value [{n}]. valid values are [{}]",
                            PROPERTIES.join(", ")
                        ),
                    ));
                };
                set[i] = true;
            }
            set
        }
    };
    if opts.bool_or("extract_device_type", false)? {
        return Err(opts.error(
            "extract_device_type",
            "is not supported: Hydrant does not have Elasticsearch's device type rules; leave it out (false)",
        ));
    }
    Ok(Box::new(UserAgent {
        field,
        target,
        properties,
        ignore_missing: opts.bool_or("ignore_missing", false)?,
        db: db.clone(),
    }))
}

/// `a.b.c.d` from the parts there are, stopping at the first missing one, as ES joins them.
fn version(parts: [Option<&str>; 4]) -> Option<String> {
    let mut out: Option<String> = None;
    for p in parts {
        let Some(p) = p else { break };
        match &mut out {
            None => out = Some(p.to_string()),
            Some(v) => {
                v.push('.');
                v.push_str(p);
            }
        }
    }
    out
}

impl Process for UserAgent {
    fn run(&self, doc: &mut IngestDoc, _: &mut Ctx<'_>) -> Result<Flow, Failure> {
        let field = self.field.render(doc);
        let ua = match doc.get(&field) {
            None | Some(Value::Null) if self.ignore_missing => return Ok(Flow::Continue),
            None => return Err(not_present(&field)),
            Some(Value::Null) => {
                return Err(Failure::illegal(format!(
                    "field [{field}] is null, cannot parse user-agent."
                )));
            }
            Some(_) => doc.require_str(&field)?.to_string(),
        };
        let details = describe(self.db.get()?, &ua, &self.properties);
        let target = self.target.render(doc);
        doc.set(&target, Value::Object(details))?;
        Ok(Flow::Continue)
    }
}

fn describe(
    db: &ua_parser::Extractor<'static>,
    ua: &str,
    properties: &[bool; 5],
) -> Map<String, Value> {
    let [name, os, device, original, ver] = *properties;
    let mut out = Map::new();
    if original {
        out.insert("original".into(), Value::String(ua.to_string()));
    }
    if name || ver {
        let agent = db.ua.extract(ua);
        if name {
            let n = agent.as_ref().map_or("Other", |a| a.family.as_ref());
            out.insert("name".into(), Value::String(n.to_string()));
        }
        if let Some(v) = agent
            .filter(|_| ver)
            .and_then(|a| version([a.major, a.minor, a.patch, a.patch_minor]))
        {
            out.insert("version".into(), Value::String(v));
        }
    }
    if os && let Some(o) = db.os.extract(ua) {
        let mut m = Map::new();
        m.insert("name".into(), Value::String(o.os.to_string()));
        let parts = [
            o.major.as_deref(),
            o.minor.as_deref(),
            o.patch.as_deref(),
            o.patch_minor.as_deref(),
        ];
        if let Some(v) = version(parts) {
            m.insert("full".into(), Value::String(format!("{} {v}", o.os)));
            m.insert("version".into(), Value::String(v));
        }
        out.insert("os".into(), Value::Object(m));
    }
    if device {
        let d = db.dev.extract(ua);
        let n = d.as_ref().map_or("Other", |d| d.device.as_ref());
        let mut m = Map::new();
        m.insert("name".into(), Value::String(n.to_string()));
        out.insert("device".into(), Value::Object(m));
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use crate::tests::run;

    fn ua(options: Value, source: Value) -> Value {
        run(json!({"processors": [{"user_agent": options}]}), source)
    }

    const MAC_CHROME: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_10_5) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/51.0.2704.103 Safari/537.36";

    #[test]
    fn elasticsearchs_documented_example() {
        let out = ua(json!({"field": "agent"}), json!({"agent": MAC_CHROME}));
        assert_eq!(
            out["user_agent"],
            json!({
                "name": "Chrome", "version": "51.0.2704.103", "original": MAC_CHROME,
                "os": {"name": "Mac OS X", "version": "10.10.5", "full": "Mac OS X 10.10.5"},
                "device": {"name": "Mac"}
            })
        );
    }

    #[test]
    fn a_phone_and_an_unknown_agent() {
        let phone = "Mozilla/5.0 (Linux; Android 10; SM-G973F) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/83.0.4103.106 Mobile Safari/537.36";
        let out = ua(
            json!({"field": "a", "properties": ["name", "version", "os", "device"]}),
            json!({"a": phone}),
        );
        assert_eq!(
            out["user_agent"],
            json!({
                "name": "Chrome Mobile", "version": "83.0.4103.106",
                "os": {"name": "Android", "version": "10", "full": "Android 10"},
                "device": {"name": "Samsung SM-G973F"}
            })
        );
        // Nothing known: the name and device are "Other", and there is no version or os.
        let out = ua(
            json!({"field": "a", "target_field": "ua"}),
            json!({"a": "zzz"}),
        );
        assert_eq!(
            out["ua"],
            json!({"name": "Other", "original": "zzz", "device": {"name": "Other"}})
        );
    }

    #[test]
    fn missing_null_and_wrong_type_fields() {
        assert_eq!(
            ua(
                json!({"field": "a", "ignore_missing": true}),
                json!({"b": 1})
            ),
            json!({"b": 1})
        );
        assert_eq!(
            ua(
                json!({"field": "a", "ignore_missing": true}),
                json!({"a": null})
            ),
            json!({"a": null})
        );
        assert_eq!(
            ua(json!({"field": "a"}), json!({})),
            json!("illegal_argument_exception: field [a] not present as part of path [a]")
        );
        assert_eq!(
            ua(json!({"field": "a"}), json!({"a": null})),
            json!("illegal_argument_exception: field [a] is null, cannot parse user-agent.")
        );
        assert_eq!(
            ua(json!({"field": "a"}), json!({"a": 3})),
            json!(
                "illegal_argument_exception: field [a] of type [java.lang.Integer] cannot be cast to [java.lang.String]"
            )
        );
    }

    #[test]
    fn options_hydrant_cannot_honour_are_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let r = crate::Registry::open(dir.path(), &Default::default(), crate::Resources::default())
            .unwrap();
        let err = |o: Value| {
            r.compile("t", &json!({"processors": [{"user_agent": o}]}))
                .unwrap_err()
                .to_string()
        };
        assert!(
            err(json!({"field": "a", "regex_file": "mine.yml"}))
                .starts_with("[regex_file] regex file [mine.yml] doesn't exist")
        );
        assert!(
            err(json!({"field": "a", "extract_device_type": true}))
                .starts_with("[extract_device_type] is not supported")
        );
        assert_eq!(
            err(json!({"field": "a", "properties": ["name", "browser"]})),
            "[properties] illegal property value [browser]. valid values are [NAME, OS, DEVICE, ORIGINAL, VERSION]"
        );
        assert!(r.compile("t", &json!({"processors": [{"user_agent": {"field": "a", "regex_file": "_default_", "extract_device_type": false}}]})).is_ok());
    }
}
