//! `geoip`: where an IP address is, from a MaxMind-format (`.mmdb`) database, as
//! Elasticsearch's processor writes it (`geoip.country_iso_code`, `city_name`, `location`
//! {`lat`, `lon`}, …; `asn` and `organization_name` from an ASN database).
//!
//! The databases are files the server's configuration names ([`GeoIpDatabases`], one entry
//! per `database_file` name, e.g. `GeoLite2-City.mmdb`); Hydrant ships none. Each is read on
//! first use and then shared by every processor. As in Elasticsearch, a processor naming a
//! database the server does not have is not an error: documents are tagged
//! `_geoip_database_unavailable_<name>` in `tags`. An address the database does not know
//! (private ranges among them) adds no fields.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use maxminddb::{Reader, geoip2};
use serde_json::{Map, Value};

use crate::doc::{IngestDoc, not_present};
use crate::error::{DefinitionError, Failure};
use crate::opts::Opts;
use crate::pipeline::{Ctx, Flow, Process};
use crate::template::Template;

struct GeoDb {
    path: PathBuf,
    reader: OnceLock<Result<Arc<Reader<Vec<u8>>>, String>>,
}

/// The `.mmdb` databases of a server by `database_file` name, each opened once, lazily.
#[derive(Clone, Default)]
pub struct GeoIpDatabases(BTreeMap<String, Arc<GeoDb>>);

impl GeoIpDatabases {
    /// Adds the database `name` (what `database_file` says) read from `path`.
    pub fn insert(&mut self, name: impl Into<String>, path: impl Into<PathBuf>) {
        let db = GeoDb {
            path: path.into(),
            reader: OnceLock::new(),
        };
        self.0.insert(name.into(), Arc::new(db));
    }

    /// The database `name`: `None` when the server has none by that name, an error when
    /// its file cannot be read.
    fn open(&self, name: &str) -> Option<Result<Arc<Reader<Vec<u8>>>, String>> {
        let db = self.0.get(name)?;
        let r = db.reader.get_or_init(|| {
            Reader::open_readfile(&db.path)
                .map(Arc::new)
                .map_err(|e| format!("geoip database [{name}] at {}: {e}", db.path.display()))
        });
        if let Err(e) = r {
            tracing::warn!(database = name, error = %e, "geoip database cannot be read; documents are tagged instead");
        }
        Some(r.clone())
    }
}

/// What a database holds, from its metadata's `database_type` (`GeoLite2-City`, …).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    City,
    Country,
    Asn,
}

/// ES's properties in its order (which its error message follows).
const ALL: [&str; 13] = [
    "IP",
    "COUNTRY_ISO_CODE",
    "COUNTRY_NAME",
    "CONTINENT_CODE",
    "CONTINENT_NAME",
    "REGION_ISO_CODE",
    "REGION_NAME",
    "CITY_NAME",
    "TIMEZONE",
    "LOCATION",
    "ASN",
    "ORGANIZATION_NAME",
    "NETWORK",
];

impl Kind {
    fn of(database_type: &str, file: &str) -> Result<Kind, String> {
        if database_type.ends_with("-City") {
            Ok(Kind::City)
        } else if database_type.ends_with("-Country") {
            Ok(Kind::Country)
        } else if database_type.ends_with("-ASN") {
            Ok(Kind::Asn)
        } else {
            Err(format!(
                "Unsupported database type [{database_type}] for file [{file}]"
            ))
        }
    }

    fn valid(self) -> &'static [&'static str] {
        match self {
            Kind::City => &ALL[..10],
            Kind::Country => &[
                "IP",
                "COUNTRY_ISO_CODE",
                "COUNTRY_NAME",
                "CONTINENT_CODE",
                "CONTINENT_NAME",
            ],
            Kind::Asn => &["IP", "ASN", "ORGANIZATION_NAME", "NETWORK"],
        }
    }

    fn defaults(self) -> &'static [&'static str] {
        match self {
            Kind::City => &[
                "CONTINENT_NAME",
                "COUNTRY_NAME",
                "COUNTRY_ISO_CODE",
                "REGION_ISO_CODE",
                "REGION_NAME",
                "CITY_NAME",
                "LOCATION",
            ],
            Kind::Country => &["CONTINENT_NAME", "COUNTRY_NAME", "COUNTRY_ISO_CODE"],
            Kind::Asn => &["IP", "ASN", "ORGANIZATION_NAME", "NETWORK"],
        }
    }
}

struct GeoIp {
    field: Template,
    target: Template,
    reader: Arc<Reader<Vec<u8>>>,
    kind: Kind,
    properties: Vec<&'static str>,
    ignore_missing: bool,
    first_only: bool,
}

/// ES's processor for a database the server does not have: it tags documents.
struct Unavailable {
    tag: String,
}

impl Process for Unavailable {
    fn run(&self, doc: &mut IngestDoc, _: &mut Ctx<'_>) -> Result<Flow, Failure> {
        doc.append("tags", Value::String(self.tag.clone()), true)?;
        Ok(Flow::Continue)
    }
}

/// `geoip`: `field`, `target_field` (`geoip`), `database_file` (`GeoLite2-City.mmdb`),
/// `properties`, `ignore_missing`, `first_only` (true).
pub fn geoip(opts: &mut Opts, dbs: &GeoIpDatabases) -> Result<Box<dyn Process>, DefinitionError> {
    let field = opts.template("field")?;
    let target = Template::compile(
        "target_field",
        &opts
            .opt_string("target_field")?
            .unwrap_or_else(|| "geoip".into()),
    )?;
    let file = opts
        .opt_string("database_file")?
        .unwrap_or_else(|| "GeoLite2-City.mmdb".into());
    let names = opts.opt_strings("properties", false)?;
    let ignore_missing = opts.bool_or("ignore_missing", false)?;
    let first_only = opts.bool_or("first_only", true)?;
    // Read for ES's sake; Hydrant never downloads databases.
    opts.bool_or("download_database_on_pipeline_creation", true)?;
    let _ = opts.take("fallback_to_default_databases");
    let reader = match dbs.open(&file) {
        Some(Ok(r)) => r,
        None | Some(Err(_)) => {
            return Ok(Box::new(Unavailable {
                tag: format!("_geoip_database_unavailable_{file}"),
            }));
        }
    };
    let kind = Kind::of(&reader.metadata().database_type, &file)
        .map_err(|e| opts.error("database_file", e))?;
    let properties = match names {
        None => kind.defaults().to_vec(),
        Some(names) => {
            let mut out = Vec::new();
            for n in names {
                let Some(p) = kind.valid().iter().find(|p| p.eq_ignore_ascii_case(&n)) else {
                    return Err(opts.error(
                        "properties",
                        format!(
                            "illegal property value [{n}]. valid values are [{}]",
                            kind.valid().join(", ")
                        ),
                    ));
                };
                if !out.contains(p) {
                    out.push(*p);
                }
            }
            out
        }
    };
    Ok(Box::new(GeoIp {
        field,
        target,
        reader,
        kind,
        properties,
        ignore_missing,
        first_only,
    }))
}

impl Process for GeoIp {
    fn run(&self, doc: &mut IngestDoc, _: &mut Ctx<'_>) -> Result<Flow, Failure> {
        let field = self.field.render(doc);
        let value = match doc.get(&field) {
            None | Some(Value::Null) if self.ignore_missing => return Ok(Flow::Continue),
            None => return Err(not_present(&field)),
            Some(Value::Null) => {
                return Err(Failure::illegal(format!(
                    "field [{field}] is null, cannot extract geoip information."
                )));
            }
            Some(v) => v.clone(),
        };
        let target = self.target.render(doc);
        match value {
            Value::String(ip) => {
                let data = self.lookup(&ip)?;
                if !data.is_empty() {
                    doc.set(&target, Value::Object(data))?;
                }
            }
            Value::Array(ips) => {
                let mut found = Vec::with_capacity(ips.len());
                let mut any = false;
                for ip in ips {
                    let Value::String(ip) = ip else {
                        return Err(Failure::illegal(format!(
                            "array in field [{field}] should only contain strings"
                        )));
                    };
                    let data = self.lookup(&ip)?;
                    if data.is_empty() {
                        found.push(Value::Null);
                        continue;
                    }
                    if self.first_only {
                        doc.set(&target, Value::Object(data))?;
                        return Ok(Flow::Continue);
                    }
                    any = true;
                    found.push(Value::Object(data));
                }
                if any {
                    doc.set(&target, Value::Array(found))?;
                }
            }
            _ => {
                return Err(Failure::illegal(format!(
                    "field [{field}] should contain only string or array of strings"
                )));
            }
        }
        Ok(Flow::Continue)
    }
}

impl GeoIp {
    /// The fields for one address; empty when the database does not know it.
    fn lookup(&self, ip: &str) -> Result<Map<String, Value>, Failure> {
        let addr: IpAddr = ip
            .parse()
            .map_err(|_| Failure::illegal(format!("'{ip}' is not an IP string literal.")))?;
        let db_error = |e: maxminddb::MaxMindDbError| {
            Failure::of("exception", format!("geoip lookup of [{ip}] failed: {e}"))
        };
        let found = self.reader.lookup(addr).map_err(db_error)?;
        let mut out = Map::new();
        let mut put = |k: &str, v: Option<Value>| {
            if let Some(v) = v {
                out.insert(k.to_string(), v);
            }
        };
        let s = |v: Option<&str>| v.map(|v| Value::String(v.to_string()));
        match self.kind {
            Kind::City => {
                let Some(c) = found.decode::<geoip2::City<'_>>().map_err(db_error)? else {
                    return Ok(out);
                };
                let sub = c.subdivisions.last();
                for p in &self.properties {
                    match *p {
                        "IP" => put("ip", Some(Value::String(addr.to_string()))),
                        "COUNTRY_ISO_CODE" => put("country_iso_code", s(c.country.iso_code)),
                        "COUNTRY_NAME" => put("country_name", s(c.country.names.english)),
                        "CONTINENT_CODE" => put("continent_code", s(c.continent.code)),
                        "CONTINENT_NAME" => put("continent_name", s(c.continent.names.english)),
                        "REGION_ISO_CODE" => put(
                            "region_iso_code",
                            c.country.iso_code.zip(sub.and_then(|d| d.iso_code)).map(
                                |(country, region)| Value::String(format!("{country}-{region}")),
                            ),
                        ),
                        "REGION_NAME" => put("region_name", s(sub.and_then(|d| d.names.english))),
                        "CITY_NAME" => put("city_name", s(c.city.names.english)),
                        "TIMEZONE" => put("timezone", s(c.location.time_zone)),
                        "LOCATION" => put(
                            "location",
                            c.location
                                .latitude
                                .zip(c.location.longitude)
                                .map(|(lat, lon)| serde_json::json!({"lat": lat, "lon": lon})),
                        ),
                        _ => {}
                    }
                }
            }
            Kind::Country => {
                let Some(c) = found.decode::<geoip2::Country<'_>>().map_err(db_error)? else {
                    return Ok(out);
                };
                for p in &self.properties {
                    match *p {
                        "IP" => put("ip", Some(Value::String(addr.to_string()))),
                        "COUNTRY_ISO_CODE" => put("country_iso_code", s(c.country.iso_code)),
                        "COUNTRY_NAME" => put("country_name", s(c.country.names.english)),
                        "CONTINENT_CODE" => put("continent_code", s(c.continent.code)),
                        "CONTINENT_NAME" => put("continent_name", s(c.continent.names.english)),
                        _ => {}
                    }
                }
            }
            Kind::Asn => {
                let Some(a) = found.decode::<geoip2::Asn<'_>>().map_err(db_error)? else {
                    return Ok(out);
                };
                let network = found.network().ok().map(|n| Value::String(n.to_string()));
                for p in &self.properties {
                    match *p {
                        "IP" => put("ip", Some(Value::String(addr.to_string()))),
                        "ASN" => put("asn", a.autonomous_system_number.map(Value::from)),
                        "ORGANIZATION_NAME" => {
                            put("organization_name", s(a.autonomous_system_organization))
                        }
                        "NETWORK" => put("network", network.clone()),
                        _ => {}
                    }
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use serde_json::{Value, json};

    use crate::{Outcome, Registry, Resources, run_doc};

    /// Made-up databases written by `pipeline/tests/geoip/make_fixtures.py`.
    fn fixtures() -> Resources {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/geoip");
        Resources::default()
            .with_geoip("GeoLite2-City.mmdb", dir.join("Hydrant-Test-City.mmdb"))
            .with_geoip("asn.mmdb", dir.join("Hydrant-Test-ASN.mmdb"))
            .with_geoip("broken.mmdb", dir.join("make_fixtures.py"))
    }

    fn geo(options: Value, source: Value) -> Value {
        let dir = tempfile::tempdir().unwrap();
        let r = Registry::open(dir.path(), &Default::default(), fixtures()).unwrap();
        let p = r
            .compile("t", &json!({"processors": [{"geoip": options}]}))
            .unwrap_or_else(|e| panic!("{e}"));
        match run_doc(
            &r,
            &[&p],
            source.as_object().unwrap().clone(),
            &"web".into(),
            None,
            &"T".into(),
        ) {
            Ok(Outcome::Keep { source, .. }) => Value::Object(source),
            Ok(Outcome::Dropped) => json!("dropped"),
            Err(e) => json!(format!("{}: {}", e.kind, e.reason)),
        }
    }

    fn london() -> Value {
        json!({
            "continent_name": "Europe", "country_iso_code": "GB", "country_name": "United Kingdom",
            "region_iso_code": "GB-ENG", "region_name": "England", "city_name": "London",
            "location": {"lat": 51.5142, "lon": -0.0931}
        })
    }

    #[test]
    fn city_fields_as_elasticsearch_names_them() {
        assert_eq!(
            geo(json!({"field": "ip"}), json!({"ip": "81.2.69.142"}))["geoip"],
            london()
        );
        // The most specific subdivision is the region; IPv6 works the same.
        let out = geo(
            json!({"field": "ip", "target_field": "where"}),
            json!({"ip": "2001:db8:1::7"}),
        );
        assert_eq!(out["where"]["region_iso_code"], "FR-75");
        assert_eq!(out["where"]["region_name"], "Paris Department");
        assert_eq!(out["where"]["city_name"], "Paris");
        // What the database lacks is left out.
        let out = geo(json!({"field": "ip"}), json!({"ip": "203.0.113.9"}));
        assert_eq!(
            out["geoip"],
            json!({"continent_name": "Oceania", "country_iso_code": "AU", "country_name": "Australia"})
        );
        let out = geo(
            json!({"field": "ip", "properties": ["ip", "timezone", "continent_code"]}),
            json!({"ip": "81.2.69.1"}),
        );
        assert_eq!(
            out["geoip"],
            json!({"ip": "81.2.69.1", "timezone": "Europe/London", "continent_code": "EU"})
        );
    }

    #[test]
    fn unknown_addresses_add_nothing_and_bad_ones_fail() {
        assert_eq!(
            geo(json!({"field": "ip"}), json!({"ip": "10.1.2.3"})),
            json!({"ip": "10.1.2.3"})
        );
        assert_eq!(
            geo(json!({"field": "ip"}), json!({"ip": "not-an-ip"})),
            json!("illegal_argument_exception: 'not-an-ip' is not an IP string literal.")
        );
        assert_eq!(
            geo(json!({"field": "ip"}), json!({"ip": null})),
            json!(
                "illegal_argument_exception: field [ip] is null, cannot extract geoip information."
            )
        );
        assert_eq!(
            geo(json!({"field": "ip", "ignore_missing": true}), json!({})),
            json!({})
        );
        assert_eq!(
            geo(json!({"field": "ip"}), json!({"ip": 5})),
            json!(
                "illegal_argument_exception: field [ip] should contain only string or array of strings"
            )
        );
    }

    #[test]
    fn lists_give_the_first_match_or_all() {
        let ips = json!({"ip": ["10.0.0.1", "81.2.69.142", "203.0.113.1"]});
        assert_eq!(geo(json!({"field": "ip"}), ips.clone())["geoip"], london());
        let all = geo(
            json!({"field": "ip", "first_only": false, "properties": ["country_iso_code"]}),
            ips,
        );
        assert_eq!(
            all["geoip"],
            json!([null, {"country_iso_code": "GB"}, {"country_iso_code": "AU"}])
        );
        assert_eq!(
            geo(
                json!({"field": "ip"}),
                json!({"ip": ["10.0.0.1", 1, "81.2.69.142"]})
            ),
            json!("illegal_argument_exception: array in field [ip] should only contain strings")
        );
    }

    #[test]
    fn asn_databases_and_missing_ones() {
        let out = geo(
            json!({"field": "ip", "database_file": "asn.mmdb"}),
            json!({"ip": "81.2.69.200"}),
        );
        assert_eq!(
            out["geoip"],
            json!({"ip": "81.2.69.200", "asn": 64500, "organization_name": "Example Transit Ltd", "network": "81.2.69.0/24"})
        );
        // A database the server does not have (or cannot read) tags documents, as in ES.
        let out = geo(
            json!({"field": "ip", "database_file": "GeoIP2-City.mmdb"}),
            json!({"ip": "81.2.69.200", "tags": "t"}),
        );
        assert_eq!(
            out["tags"],
            json!(["t", "_geoip_database_unavailable_GeoIP2-City.mmdb"])
        );
        let out = geo(
            json!({"field": "ip", "database_file": "broken.mmdb"}),
            json!({"ip": "81.2.69.200"}),
        );
        assert_eq!(
            out["tags"],
            json!(["_geoip_database_unavailable_broken.mmdb"])
        );
    }

    #[test]
    fn properties_are_checked_against_the_database() {
        let dir = tempfile::tempdir().unwrap();
        let r = Registry::open(dir.path(), &Default::default(), fixtures()).unwrap();
        let e = r
            .compile("t", &json!({"processors": [{"geoip": {"field": "ip", "database_file": "asn.mmdb", "properties": ["city_name"]}}]}))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "[properties] illegal property value [city_name]. valid values are [IP, ASN, ORGANIZATION_NAME, NETWORK]"
        );
    }
}
