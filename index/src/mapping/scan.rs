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
mod tests;
