//! The accept-time pass over a record: in one walk over its bytes, without building anything,
//! it checks that the record is one JSON object the indexer will read (valid JSON, valid UTF-8,
//! nested no deeper than the parser's limit), that it fits the mapping (explicit fields
//! coerce, `strict` has no unlisted field), and reads its event time.
//!
//! The rules are the document builder's ([`super::document`]), visited the same way, so that a
//! record accepted here is a record the indexer takes: `@timestamp` at the top is the event
//! time and no field; `timestamp` is both a fallback event time and an ordinary field; nulls
//! and empty objects are absent; arrays take their elements' path.

use std::collections::HashMap;

use hydrant_config::FieldType;
use serde::Deserializer;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use tantivy::schema::Field;

use super::TIMESTAMP_FIELD;
use super::coerce::{Scalar, coerce};
use crate::error::MappingError;
use crate::timestamp::parse_timestamp_str;

/// The fallback event-time field (also an ordinary field of the record).
const FALLBACK_TIME_FIELD: &str = "timestamp";

/// What the mapping asks of each value.
struct Rules<'m> {
    explicit: &'m HashMap<String, (Field, FieldType)>,
    strict: bool,
}

impl Rules<'_> {
    /// Whether paths are needed at all (the dynamic mapping takes any value anywhere).
    fn tracks(&self) -> bool {
        self.strict || !self.explicit.is_empty()
    }
}

/// The outcome of a record's walk, kept beside the parser's own error so that the mapping's
/// reason (not serde's rewording of it) reaches the client.
struct Walk<'m> {
    rules: Rules<'m>,
    refused: Option<MappingError>,
    /// Objects and arrays open around the value being read (the record itself is the first).
    depth: usize,
}

/// The deepest nesting the indexer's parser reads (serde_json's recursion limit): a record
/// parsed from bytes meets the parser's own bound; one walked in memory
/// ([`scan_value`]) is held to the same.
const MAX_DEPTH: usize = 127;

impl Walk<'_> {
    fn refuse<E: de::Error>(&mut self, e: MappingError) -> E {
        let msg = e.to_string();
        self.refused = Some(e);
        E::custom(msg)
    }

    /// Opens an object or array; refused past [`MAX_DEPTH`].
    fn enter<E: de::Error>(&mut self) -> Result<(), E> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            let reason = format!("the document is nested deeper than [{MAX_DEPTH}] levels");
            return Err(self.refuse(MappingError::BadValue { reason }));
        }
        Ok(())
    }
}

/// Checks `source` and returns its event time (`@timestamp`, else `timestamp`, when either is a
/// date), or why the indexer would refuse it.
pub(crate) fn scan(
    explicit: &HashMap<String, (Field, FieldType)>,
    strict: bool,
    source: &[u8],
) -> Result<Option<i64>, MappingError> {
    let first = source.iter().find(|b| !b.is_ascii_whitespace()).copied();
    let mut walk = Walk {
        rules: Rules { explicit, strict },
        refused: None,
        depth: 0,
    };
    let mut de = serde_json::Deserializer::from_slice(source);
    if first != Some(b'{') {
        let any = Value {
            walk: &mut walk,
            path: None,
            time: false,
        };
        return Err(match any.deserialize(&mut de).and_then(|_| de.end()) {
            Ok(()) => MappingError::NotAnObject {
                found: json_kind(first),
            },
            Err(e) => not_json(source, &e),
        });
    }
    let top = Top { walk: &mut walk };
    let parsed = de.deserialize_map(top).and_then(|t| de.end().map(|()| t));
    if let Some(refused) = walk.refused {
        return Err(refused);
    }
    parsed.map_err(|e| not_json(source, &e))
}

/// [`scan`] over a document already in memory (what an ingest pipeline made), with the same
/// checks and the same event time as over its serialized bytes, without writing or parsing
/// them.
pub(crate) fn scan_value(
    explicit: &HashMap<String, (Field, FieldType)>,
    strict: bool,
    source: &serde_json::Map<String, serde_json::Value>,
) -> Result<Option<i64>, MappingError> {
    let mut walk = Walk {
        rules: Rules { explicit, strict },
        refused: None,
        depth: 0,
    };
    let parsed = serde::Deserializer::deserialize_map(source, Top { walk: &mut walk });
    if let Some(refused) = walk.refused {
        return Err(refused);
    }
    // Walking memory fails only where the walk refused (`@timestamp`'s own walk included).
    parsed.map_err(|e| MappingError::BadValue {
        reason: e.to_string(),
    })
}

/// Why the parser refused `source`, as the mapping's error: not an object, not JSON, not UTF-8.
pub(crate) fn refusal(source: &[u8], e: &serde_json::Error) -> MappingError {
    let first = source.iter().find(|b| !b.is_ascii_whitespace()).copied();
    if first != Some(b'{') && serde_json::from_slice::<de::IgnoredAny>(source).is_ok() {
        return MappingError::NotAnObject {
            found: json_kind(first),
        };
    }
    not_json(source, e)
}

/// Invalid JSON, told apart from invalid UTF-8 (which the parser reports only inside strings,
/// and as a syntax error elsewhere).
fn not_json(source: &[u8], e: &serde_json::Error) -> MappingError {
    match std::str::from_utf8(source) {
        Err(utf8) => MappingError::NotUtf8 {
            at: utf8.valid_up_to(),
        },
        Ok(_) => MappingError::NotJson {
            reason: e.to_string(),
        },
    }
}

fn json_kind(first: Option<u8>) -> &'static str {
    match first {
        Some(b'[') => "an array",
        Some(b'"') => "a string",
        Some(b't') | Some(b'f') => "a boolean",
        Some(b'n') => "null",
        None => "nothing",
        _ => "a number",
    }
}

/// The record's top-level object.
struct Top<'w, 'm> {
    walk: &'w mut Walk<'m>,
}

impl<'de> Visitor<'de> for Top<'_, '_> {
    /// `@timestamp`'s date, else `timestamp`'s.
    type Value = Option<i64>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<i64>, A::Error> {
        let (mut at_timestamp, mut timestamp) = (None, None);
        self.walk.enter()?;
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let key = key.as_str();
            if key == TIMESTAMP_FIELD {
                at_timestamp = map.next_value_seed(EventTime {
                    depth: self.walk.depth,
                })?;
                continue;
            }
            let path = self.walk.rules.tracks().then(|| key.to_owned());
            let value = Value {
                walk: &mut *self.walk,
                path,
                time: key == FALLBACK_TIME_FIELD,
            };
            let time = map.next_value_seed(value)?;
            if key == FALLBACK_TIME_FIELD {
                timestamp = time;
            }
        }
        Ok(at_timestamp.or(timestamp))
    }
}

/// One member's value or array element, at `path` (when paths are tracked).
struct Value<'w, 'm> {
    walk: &'w mut Walk<'m>,
    path: Option<String>,
    /// Read a scalar as a date too (the fallback event-time member).
    time: bool,
}

impl<'de> DeserializeSeed<'de> for Value<'_, '_> {
    /// The value read as a date, for the `timestamp` member (a scalar only).
    type Value = Option<i64>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<i64>, D::Error> {
        if let Some(path) = &self.path
            && let Some((_, FieldType::GeoPoint)) = self.walk.rules.explicit.get(path)
        {
            // As the document builder reads a point: the value whole, in any of its forms.
            let v = <serde_json::Value as serde::Deserialize>::deserialize(d)?;
            return match crate::geo::parse_points(&v) {
                Ok(_) => Ok(None),
                Err(why) => {
                    let reason =
                        format!("failed to parse field [{path}] of type [geo_point]: {why}");
                    Err(self.walk.refuse(MappingError::BadValue { reason }))
                }
            };
        }
        d.deserialize_any(self)
    }
}

impl Value<'_, '_> {
    /// A scalar: coerced when its field is explicit, refused when unlisted under `strict`.
    fn scalar<E: de::Error>(self, make: impl FnOnce() -> Scalar) -> Result<(), E> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        if let Some((_, kind)) = self.walk.rules.explicit.get(path) {
            return match coerce(path, *kind, make()) {
                Ok(_) => Ok(()),
                Err(reason) => Err(self.walk.refuse(MappingError::BadValue { reason })),
            };
        }
        if self.walk.rules.strict {
            let path = path.clone();
            return Err(self.walk.refuse(MappingError::Strict { path }));
        }
        Ok(())
    }
}

impl<'de> Visitor<'de> for Value<'_, '_> {
    type Value = Option<i64>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Option<i64>, E> {
        Ok(None)
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Option<i64>, E> {
        self.scalar(|| Scalar::Bool(b)).map(|()| None)
    }

    fn visit_i64<E: de::Error>(self, i: i64) -> Result<Option<i64>, E> {
        let time = self.time.then_some(i);
        self.scalar(|| Scalar::I64(i)).map(|()| time)
    }

    fn visit_u64<E: de::Error>(self, u: u64) -> Result<Option<i64>, E> {
        let time = self.time.then(|| i64::try_from(u).ok()).flatten();
        self.scalar(|| Scalar::U64(u)).map(|()| time)
    }

    fn visit_f64<E: de::Error>(self, x: f64) -> Result<Option<i64>, E> {
        // Epoch milliseconds beyond i64 are no date; the cast saturates.
        let time = (self.time && x.is_finite()).then_some(x as i64);
        self.scalar(|| Scalar::F64(x)).map(|()| time)
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Option<i64>, E> {
        let time = self.time.then(|| parse_timestamp_str(s)).flatten();
        self.scalar(|| Scalar::Str(s.to_owned())).map(|()| time)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Option<i64>, A::Error> {
        self.walk.enter()?;
        while seq
            .next_element_seed(Value {
                walk: &mut *self.walk,
                path: self.path.clone(),
                time: false,
            })?
            .is_some()
        {}
        self.walk.depth -= 1;
        Ok(None)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<i64>, A::Error> {
        if let Some(path) = &self.path
            && let Some((_, kind)) = self.walk.rules.explicit.get(path)
        {
            let reason = format!(
                "failed to parse field [{path}] of type [{}]: found an object",
                format!("{kind:?}").to_lowercase()
            );
            return Err(self.walk.refuse(MappingError::BadValue { reason }));
        }
        self.walk.enter()?;
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let path = self.path.as_ref().map(|p| format!("{p}.{}", key.as_str()));
            map.next_value_seed(Value {
                walk: &mut *self.walk,
                path,
                time: false,
            })?;
        }
        self.walk.depth -= 1;
        Ok(None)
    }
}

/// `@timestamp`'s value: a date when it is one, walked (and bounded) whatever it is, at
/// `depth` (the record's own object open).
struct EventTime {
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for EventTime {
    type Value = Option<i64>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<i64>, D::Error> {
        let explicit = HashMap::new();
        let mut walk = Walk {
            rules: Rules {
                explicit: &explicit,
                strict: false,
            },
            refused: None,
            depth: self.depth,
        };
        Value {
            walk: &mut walk,
            path: None,
            time: true,
        }
        .deserialize(d)
    }
}

/// A member's name, borrowed from the input when it has no escapes. (`Cow<str>`'s own
/// `Deserialize` always allocates, once per member of every record.)
enum Key<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl Key<'_> {
    fn as_str(&self) -> &str {
        match self {
            Key::Borrowed(s) => s,
            Key::Owned(s) => s,
        }
    }
}

struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Key<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Key<'de>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Key<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a member name")
    }

    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Key<'de>, E> {
        Ok(Key::Borrowed(s))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Key<'de>, E> {
        Ok(Key::Owned(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use hydrant_config::{MappingConfig, MappingMode};

    use super::*;
    use crate::DocMapper;

    fn mapper(mode: MappingMode, fields: &[(&str, FieldType)]) -> DocMapper {
        DocMapper::with_mapping(&MappingConfig {
            mode,
            fields: fields
                .iter()
                .map(|(name, kind)| (name.to_string(), *kind))
                .collect(),
        })
    }

    fn dynamic() -> DocMapper {
        mapper(MappingMode::Dynamic, &[])
    }

    #[test]
    fn event_time_from_either_field_and_any_value_kind() {
        let m = dynamic();
        let time = |s: &str| m.scan(s.as_bytes()).unwrap();
        assert_eq!(time(r#"{"x":{"@timestamp":5},"timestamp":7}"#), Some(7));
        assert_eq!(
            time(r#"{"@timestamp":"1970-01-01T00:00:01Z","timestamp":7}"#),
            Some(1000)
        );
        assert_eq!(time(r#"{"@timestamp":[1],"timestamp":{"a":1}}"#), None);
        assert_eq!(time(r#"{"@timestamp":1.5e300}"#), Some(i64::MAX));
        assert_eq!(
            time(r#"{"@timestamp":"2015-05-17T10:05:00\u002B02:00"}"#),
            Some(1_431_849_900_000)
        );
        assert_eq!(
            time(r#"{"timestamp":"1431857100000"}"#),
            Some(1_431_857_100_000)
        );
        assert_eq!(time("{}"), None);
    }

    #[test]
    fn what_is_not_one_json_object_is_told_apart() {
        let m = dynamic();
        let err = |s: &[u8]| m.scan(s).unwrap_err();
        assert!(matches!(
            err(b"[1]"),
            MappingError::NotAnObject { found: "an array" }
        ));
        assert!(matches!(
            err(b"42"),
            MappingError::NotAnObject { found: "a number" }
        ));
        assert!(matches!(err(b"{bad"), MappingError::NotJson { .. }));
        assert!(matches!(err(b"{\"a\":1} {}"), MappingError::NotJson { .. }));
        assert!(matches!(err(b"\xff\xfe"), MappingError::NotUtf8 { at: 0 }));
        assert!(matches!(
            err(b"{\"a\":\"\xff\"}"),
            MappingError::NotUtf8 { at: 6 }
        ));
        assert!(matches!(
            err(b"{\"\xff\":1}"),
            MappingError::NotUtf8 { at: 2 }
        ));
        let deep = format!("{}1{}", "{\"a\":".repeat(100_000), "}".repeat(100_000));
        let e = m.scan(deep.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("recursion limit"), "{e}");
        let arrays = format!("{{\"a\":{}1{}}}", "[".repeat(200), "]".repeat(200));
        assert!(m.scan(arrays.as_bytes()).is_err());
        assert!(
            m.scan(format!("{{\"a\":{}1{}}}", "[".repeat(100), "]".repeat(100)).as_bytes())
                .is_ok()
        );
    }

    #[test]
    fn explicit_fields_are_coerced_and_strict_refuses_unlisted_fields() {
        let m = mapper(
            MappingMode::Strict,
            &[
                ("status", FieldType::Long),
                ("http.ip", FieldType::Ip),
                ("timestamp", FieldType::Date),
            ],
        );
        assert!(
            m.scan(br#"{"status":"404","http":{"ip":"::1"},"@timestamp":5}"#)
                .is_ok()
        );
        assert!(m.scan(br#"{"status":null,"http":{}}"#).is_ok());
        let err = m.scan(br#"{"status":"four"}"#).unwrap_err();
        assert_eq!(err.es_type(), "mapper_parsing_exception");
        assert!(err.to_string().contains("[status]"), "{err}");
        let err = m.scan(br#"{"http":{"ip":"::1","port":80}}"#).unwrap_err();
        assert!(
            matches!(&err, MappingError::Strict { path } if path == "http.port"),
            "{err}"
        );
        let err = m.scan(br#"{"status":{"code":1}}"#).unwrap_err();
        assert!(err.to_string().contains("found an object"), "{err}");
        assert_eq!(
            m.scan(br#"{"timestamp":"1970-01-01T00:00:02Z"}"#).unwrap(),
            Some(2000)
        );
        let err = m.scan(br#"{"timestamp":"yesterday"}"#).unwrap_err();
        assert_eq!(err.es_type(), "mapper_parsing_exception");
    }

    #[test]
    fn the_scan_agrees_with_the_document_builder() {
        let m = mapper(
            MappingMode::Strict,
            &[
                ("a", FieldType::Long),
                ("b.c", FieldType::Keyword),
                ("d", FieldType::Boolean),
            ],
        );
        let cases: [&[u8]; 12] = [
            br#"{"a":1}"#,
            br#"{"a":"x"}"#,
            br#"{"a":[1,2,[3]]}"#,
            br#"{"a":[1,"x"]}"#,
            br#"{"b":{"c":"v"}}"#,
            br#"{"b":{"c":{"e":1}}}"#,
            br#"{"b":{"x":null}}"#,
            br#"{"b":{"x":1}}"#,
            br#"{"d":"true","@timestamp":"2026-01-01T00:00:00Z"}"#,
            br#"{"d":"maybe"}"#,
            br#"{"e":[]}"#,
            br#"{"e":[{"f":1}]}"#,
        ];
        for source in cases {
            let scanned = m.scan(source).map(|_| ()).map_err(|e| e.to_string());
            let built = m
                .to_document(&crate::SourceDoc {
                    id: "x",
                    timestamp_ms: 0,
                    source,
                })
                .map(|_| ())
                .map_err(|e| e.to_string());
            assert_eq!(scanned, built, "{}", String::from_utf8_lossy(source));
        }
    }

    /// `source` as a map; past the parser's depth limit (a pipeline's output has none) the
    /// nested `{"x": …}` built by hand.
    fn in_memory(source: &str) -> serde_json::Map<String, serde_json::Value> {
        if let Ok(map) = serde_json::from_str(source) {
            return map;
        }
        let levels = source.matches('{').count();
        let mut v = serde_json::json!(1);
        for _ in 0..levels {
            v = serde_json::json!({ "x": v });
        }
        match v {
            serde_json::Value::Object(map) => map,
            _ => unreachable!(),
        }
    }

    /// What a pipeline made is checked in memory: the same answer as over its bytes.
    #[test]
    fn a_document_in_memory_scans_as_its_bytes_do() {
        let mappers = [
            dynamic(),
            mapper(
                MappingMode::Strict,
                &[
                    ("a", FieldType::Long),
                    ("b.c", FieldType::Keyword),
                    ("p", FieldType::GeoPoint),
                    ("timestamp", FieldType::Date),
                ],
            ),
        ];
        // `levels` objects, the record's own included.
        let nested =
            |levels: usize| format!("{}1{}", r#"{"x":"#.repeat(levels), "}".repeat(levels));
        let mut cases: Vec<String> = [
            r#"{"a":1,"@timestamp":"2026-01-01T00:00:00Z","timestamp":5}"#,
            r#"{"a":"12","timestamp":"2026-01-01T00:00:01Z"}"#,
            r#"{"a":"x"}"#,
            r#"{"a":{"b":1}}"#,
            r#"{"a":[1,2,[3]],"b":{"c":["v","w"]}}"#,
            r#"{"b":{"c":{"e":1}}}"#,
            r#"{"z":1}"#,
            r#"{"p":{"lat":1.5,"lon":2},"timestamp":1.5e3}"#,
            r#"{"p":"nowhere"}"#,
            r#"{"@timestamp":{"nested":[1,{"x":2}]},"timestamp":"x"}"#,
            r#"{"e\"scaped":1,"a":-3}"#,
        ]
        .into_iter()
        .map(String::from)
        .collect();
        cases.push(nested(MAX_DEPTH));
        cases.push(nested(MAX_DEPTH + 1));
        for m in &mappers {
            for case in &cases {
                let from_bytes = m.scan(case.as_bytes());
                let map = in_memory(case);
                let from_memory = m.scan_value(&map);
                match (&from_bytes, &from_memory) {
                    (Ok(a), Ok(b)) => assert_eq!(a, b, "{case}"),
                    (Err(MappingError::NotJson { .. }), Err(MappingError::BadValue { reason })) => {
                        // Only nesting: the parser's limit, and the walk's.
                        assert!(reason.contains("nested deeper than [127]"), "{reason}")
                    }
                    (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{case}"),
                    _ => panic!("{case}: {from_bytes:?} from bytes, {from_memory:?} in memory"),
                }
            }
        }
    }
}
