//! `fingerprint`: a hash of chosen fields' values, base64-encoded, byte for byte the hash
//! Elasticsearch computes, so a fingerprint made by Hydrant matches one made by ES.
//!
//! What is hashed (Elasticsearch's `FingerprintProcessor`): the salt's UTF-8 bytes, then for
//! each field in sorted order its value walked depth-first — a list's elements in order, an
//! object's entries sorted by key, each entry as `0x00` and the key's UTF-8 bytes followed
//! by its value, and each other value as `0x00` and its bytes. A value's bytes are, by the
//! Java type ES reads from JSON: a string's UTF-8; an `Integer` (fits 32 bits) as 4 bytes
//! little-endian, a `Long` as 8; a `Double` as its IEEE bits in 8 bytes little-endian;
//! `true` as `0x01`, `false` as `0x02`; `null` as nothing. Field names themselves are not
//! hashed. Keys sort as Java strings do (by UTF-16 code units).

use std::cmp::Ordering;

use base64::Engine;
use md5::Md5;
use serde_json::{Number, Value};
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha512};

use crate::doc::IngestDoc;
use crate::error::{DefinitionError, Failure};
use crate::opts::Opts;
use crate::pipeline::{Ctx, Flow, Process};
use crate::template::Template;

/// The hash methods, by ES's names.
pub const METHODS: [&str; 5] = ["MD5", "SHA-1", "SHA-256", "SHA-512", "MurmurHash3"];

#[derive(Debug, Clone, Copy, PartialEq)]
enum Method {
    Md5,
    Sha1,
    Sha256,
    Sha512,
    Murmur3,
}

struct Fingerprint {
    fields: Vec<String>,
    target: Template,
    salt: Vec<u8>,
    method: Method,
    ignore_missing: bool,
}

/// `fingerprint`: `fields`, `target_field` (`fingerprint`), `salt`, `method` (`SHA-1`, ES's
/// default), `ignore_missing`.
pub fn fingerprint(opts: &mut Opts) -> Result<Box<dyn Process>, DefinitionError> {
    let mut fields = opts.strings("fields", false)?;
    if fields.is_empty() {
        return Err(opts.error("fields", "must specify at least one field"));
    }
    fields.sort_by(|a, b| java_cmp(a, b));
    let target = Template::compile(
        "target_field",
        &opts
            .opt_string("target_field")?
            .unwrap_or_else(|| "fingerprint".into()),
    )?;
    let salt = opts.opt_string("salt")?.unwrap_or_default();
    let salt = if salt.trim().is_empty() {
        Vec::new()
    } else {
        salt.into_bytes()
    };
    let method = match opts.opt_string("method")?.as_deref().unwrap_or("SHA-1") {
        "MD5" => Method::Md5,
        "SHA-1" => Method::Sha1,
        "SHA-256" => Method::Sha256,
        "SHA-512" => Method::Sha512,
        "MurmurHash3" => Method::Murmur3,
        other => {
            return Err(opts.error(
                "method",
                format!(
                    "[{other}] must be one of the supported hash methods [{}]",
                    METHODS.join(",")
                ),
            ));
        }
    };
    Ok(Box::new(Fingerprint {
        fields,
        target,
        salt,
        method,
        ignore_missing: opts.bool_or("ignore_missing", false)?,
    }))
}

/// Java's `String.compareTo`: UTF-16 code units in order.
fn java_cmp(a: &str, b: &str) -> Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

impl Process for Fingerprint {
    fn run(&self, doc: &mut IngestDoc, _: &mut Ctx<'_>) -> Result<Flow, Failure> {
        let mut bytes = self.salt.clone();
        let mut any = false;
        for field in &self.fields {
            match doc.get(field) {
                None | Some(Value::Null) if self.ignore_missing => continue,
                None | Some(Value::Null) => {
                    return Err(Failure::illegal(format!(
                        "missing field [{field}] when calculating fingerprint"
                    )));
                }
                Some(v) => {
                    any = true;
                    feed(v, &mut bytes)?;
                }
            }
        }
        if !any {
            return Ok(Flow::Continue);
        }
        let hash = digest(self.method, &bytes);
        let target = self.target.render(doc);
        doc.set(
            &target,
            Value::String(base64::engine::general_purpose::STANDARD.encode(hash)),
        )?;
        Ok(Flow::Continue)
    }
}

/// Appends `v`'s bytes in ES's layout (see the module's documentation). Recursion is bounded
/// by the document's own nesting, which the accept path already limits.
fn feed(v: &Value, out: &mut Vec<u8>) -> Result<(), Failure> {
    match v {
        Value::Array(items) => {
            for i in items {
                feed(i, out)?;
            }
        }
        Value::Object(m) => {
            let mut entries: Vec<(&String, &Value)> = m.iter().collect();
            entries.sort_by(|a, b| java_cmp(a.0, b.0));
            for (k, v) in entries {
                out.push(0);
                out.extend_from_slice(k.as_bytes());
                feed(v, out)?;
            }
        }
        scalar => {
            out.push(0);
            scalar_bytes(scalar, out)?;
        }
    }
    Ok(())
}

fn scalar_bytes(v: &Value, out: &mut Vec<u8>) -> Result<(), Failure> {
    match v {
        Value::String(s) => out.extend_from_slice(s.as_bytes()),
        Value::Bool(b) => out.push(if *b { 1 } else { 2 }),
        Value::Null => {}
        Value::Number(n) => number_bytes(n, out)?,
        Value::Array(_) | Value::Object(_) => {}
    }
    Ok(())
}

fn number_bytes(n: &Number, out: &mut Vec<u8>) -> Result<(), Failure> {
    if let Some(i) = n.as_i64() {
        match i32::try_from(i) {
            Ok(small) => out.extend_from_slice(&small.to_le_bytes()),
            Err(_) => out.extend_from_slice(&i.to_le_bytes()),
        }
    } else if n.is_f64() {
        out.extend_from_slice(&n.as_f64().unwrap_or(0.0).to_bits().to_le_bytes());
    } else {
        // A u64 past i64::MAX: ES reads it as a BigInteger, which it cannot hash.
        return Err(Failure::illegal(
            "cannot convert object of type [java.math.BigInteger] to bytes",
        ));
    }
    Ok(())
}

fn digest(method: Method, bytes: &[u8]) -> Vec<u8> {
    match method {
        Method::Md5 => Md5::digest(bytes).to_vec(),
        Method::Sha1 => Sha1::digest(bytes).to_vec(),
        Method::Sha256 => Sha256::digest(bytes).to_vec(),
        Method::Sha512 => Sha512::digest(bytes).to_vec(),
        Method::Murmur3 => {
            // x64 128-bit, seed 0; ES writes h1 then h2, each big-endian. The crate returns
            // h2 in the high and h1 in the low 64 bits. Reading a slice cannot fail.
            let h = murmur3::murmur3_x64_128(&mut std::io::Cursor::new(bytes), 0).unwrap_or(0);
            let mut out = (h as u64).to_be_bytes().to_vec();
            out.extend_from_slice(&((h >> 64) as u64).to_be_bytes());
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_marks_types_and_sorts_keys() {
        let mut out = Vec::new();
        feed(
            &serde_json::json!({"b": [1, 5_000_000_000_i64, 1.5, true, false, null], "a": "x"}),
            &mut out,
        )
        .unwrap();
        let mut want = vec![0, b'a', 0, b'x', 0, b'b', 0];
        want.extend_from_slice(&1i32.to_le_bytes());
        want.push(0);
        want.extend_from_slice(&5_000_000_000i64.to_le_bytes());
        want.push(0);
        want.extend_from_slice(&1.5f64.to_bits().to_le_bytes());
        want.extend_from_slice(&[0, 1, 0, 2, 0]);
        assert_eq!(out, want);
        let e = feed(&serde_json::json!(u64::MAX), &mut Vec::new()).unwrap_err();
        assert_eq!(
            e.reason,
            "cannot convert object of type [java.math.BigInteger] to bytes"
        );
    }

    #[test]
    fn keys_sort_as_java_strings() {
        // U+FF21 sorts before U+10000 in UTF-8 but after it in UTF-16 (a surrogate pair).
        assert_eq!(java_cmp("\u{FF21}", "\u{10000}"), Ordering::Greater);
        assert_eq!("\u{FF21}".cmp("\u{10000}"), Ordering::Less);
    }

    use crate::tests::run;
    use serde_json::json;

    fn fp(options: Value, source: Value) -> Value {
        run(json!({"processors": [{"fingerprint": options}]}), source)
    }

    #[test]
    fn matches_the_hash_in_elasticsearchs_documentation() {
        let user = json!({"user": {"last_name": "Smith", "first_name": "John", "date_of_birth": "1980-01-15", "is_active": true}});
        let out = fp(json!({"fields": ["user"]}), user);
        assert_eq!(out["fingerprint"], "WbSUPW4zY1PBPehh2AA/sSxiRjw=");
    }

    #[test]
    fn salt_fields_sorted_and_each_method_hash_the_expected_bytes() {
        let src = json!({"b": {"k": 7}, "a": "x"});
        // Salt, then field a ("x"), then field b (entry k: 7 as a 4-byte int).
        let mut bytes = b"pepper".to_vec();
        bytes.extend_from_slice(&[0, b'x', 0, b'k', 0, 7, 0, 0, 0]);
        let b64 = |h: &[u8]| base64::engine::general_purpose::STANDARD.encode(h);
        let opts = |m: &str| json!({"fields": ["b", "a"], "salt": "pepper", "method": m, "target_field": "h"});
        assert_eq!(
            fp(opts("SHA-256"), src.clone())["h"],
            b64(&Sha256::digest(&bytes))
        );
        assert_eq!(
            fp(opts("SHA-512"), src.clone())["h"],
            b64(&Sha512::digest(&bytes))
        );
        assert_eq!(
            fp(opts("SHA-1"), src.clone())["h"],
            b64(&Sha1::digest(&bytes))
        );
        assert_eq!(fp(opts("MD5"), src.clone())["h"], b64(&Md5::digest(&bytes)));
        // MurmurHash3 x64 128 of 00 'x' (a field's own name is not hashed), h1 then h2
        // big-endian, computed independently with Python's mmh3.
        assert_eq!(
            fp(json!({"fields": ["a"], "method": "MurmurHash3"}), src)["fingerprint"],
            "mbtCz0HWh7F+J1lV1jfouw=="
        );
    }

    #[test]
    fn missing_fields_fail_unless_ignored_and_bad_options_are_refused() {
        assert_eq!(
            fp(json!({"fields": ["a", "nope"]}), json!({"a": 1})),
            json!("illegal_argument_exception: missing field [nope] when calculating fingerprint")
        );
        let out = fp(
            json!({"fields": ["a", "nope"], "ignore_missing": true}),
            json!({"a": 1}),
        );
        let mut bytes = vec![0];
        bytes.extend_from_slice(&1i32.to_le_bytes());
        assert_eq!(
            out["fingerprint"],
            base64::engine::general_purpose::STANDARD.encode(Sha1::digest(&bytes))
        );
        assert_eq!(
            fp(
                json!({"fields": ["nope"], "ignore_missing": true}),
                json!({"a": 1})
            ),
            json!({"a": 1})
        );
        let dir = tempfile::tempdir().unwrap();
        let r = crate::Registry::open(dir.path(), &Default::default(), crate::Resources::default())
            .unwrap();
        let e = r
            .compile(
                "t",
                &json!({"processors": [{"fingerprint": {"fields": ["a"], "method": "SHA-3"}}]}),
            )
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "[method] [SHA-3] must be one of the supported hash methods [MD5,SHA-1,SHA-256,SHA-512,MurmurHash3]"
        );
        let e = r
            .compile(
                "t",
                &json!({"processors": [{"fingerprint": {"fields": []}}]}),
            )
            .unwrap_err();
        assert_eq!(e.to_string(), "[fields] must specify at least one field");
    }
}
