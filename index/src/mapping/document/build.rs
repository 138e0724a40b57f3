//! Building a [`LogDoc`]: one serde pass over the record's JSON that lays out the tape of its
//! members, borrowing strings from the source, and coerces the values of explicit fields.

use std::collections::HashMap;

use hydrant_config::FieldType;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use tantivy::schema::{Field, OwnedValue};

use super::{EXACT, Kind, LogDoc, NO_KEY, Node, Span, TEXT};
use crate::error::MappingError;
use crate::mapping::coerce::{Scalar, coerce};
use crate::mapping::{IGNORE_ABOVE, SchemaFields, TIMESTAMP_FIELD};
use crate::timestamp::tantivy_date;

/// What one record's walk needs and produces besides the tape.
struct Walk<'m, 's> {
    explicit: &'m HashMap<String, (Field, FieldType)>,
    strict: bool,
    /// Dynamic strings in Elasticsearch's default date formats become dates.
    date_detection: bool,
    /// The record being read (strings borrowed from it are kept as ranges).
    source: &'s str,
    unescaped: String,
    nodes: Vec<Node>,
    /// Values of explicit fields.
    out: Vec<(Field, OwnedValue)>,
    /// Why the record was refused, when it was.
    error: Option<MappingError>,
}

impl<'s> Walk<'_, 's> {
    /// A string borrowed from the source: its range (copied when it is not in the source).
    /// Records are far below 4 GiB (`max_record_size`), so ranges fit in `u32`.
    fn borrowed(&mut self, s: &'s str) -> Span {
        debug_assert!(self.source.len() <= u32::MAX as usize);
        let offset = (s.as_ptr() as usize).wrapping_sub(self.source.as_ptr() as usize);
        if offset <= self.source.len() && s.len() <= self.source.len() - offset {
            Span {
                start: offset as u32,
                len: s.len() as u32,
                unescaped: false,
            }
        } else {
            self.copied(s)
        }
    }

    /// A string the parser unescaped: copied to the side buffer.
    fn copied(&mut self, s: &str) -> Span {
        let start = self.unescaped.len() as u32;
        self.unescaped.push_str(s);
        Span {
            start,
            len: s.len() as u32,
            unescaped: true,
        }
    }

    fn text(&self, s: Span) -> &str {
        let buf = if s.unescaped {
            self.unescaped.as_str()
        } else {
            self.source
        };
        buf.get(s.start as usize..(s.start + s.len) as usize)
            .unwrap_or("")
    }

    fn refuse<E: de::Error>(&mut self, e: MappingError) -> E {
        let msg = e.to_string();
        self.error = Some(e);
        E::custom(msg)
    }

    /// Starts a container node; [`close`](Self::close) finishes it.
    fn open(&mut self, key: Span, object: bool) -> usize {
        let kind = if object {
            Kind::Object { end: 0, holds: 0 }
        } else {
            Kind::Array { end: 0, holds: 0 }
        };
        self.nodes.push(Node { key, kind });
        self.nodes.len() - 1
    }

    /// Ends the container opened at `at`, dropping it when it holds nothing (an empty object,
    /// nulls only, or only explicitly mapped fields), as if it were absent.
    fn close(&mut self, at: usize, holds: u8) -> u8 {
        if holds == 0 {
            self.nodes.truncate(at);
            return 0;
        }
        let end = self.nodes.len() as u32;
        if let Some(node) = self.nodes.get_mut(at) {
            node.kind = match node.kind {
                Kind::Object { .. } => Kind::Object { end, holds },
                _ => Kind::Array { end, holds },
            };
        }
        holds
    }
}

/// Parses a record (its bytes as sent) into a document for `fields`.
pub(crate) fn build(
    fields: SchemaFields,
    explicit: &HashMap<String, (Field, FieldType)>,
    strict: bool,
    date_detection: bool,
    id: &str,
    timestamp_ms: i64,
    source: &[u8],
) -> Result<LogDoc, MappingError> {
    let bytes = source;
    let source = match std::str::from_utf8(source) {
        Ok(s) => s.to_owned(),
        Err(utf8) => {
            return Err(MappingError::NotUtf8 {
                at: utf8.valid_up_to(),
            });
        }
    };
    let track = strict || !explicit.is_empty();
    let mut walk = Walk {
        explicit,
        strict,
        date_detection,
        source: &source,
        unescaped: String::new(),
        nodes: Vec::with_capacity(16),
        out: Vec::new(),
        error: None,
    };
    let mut de = serde_json::Deserializer::from_str(&source);
    let root = Object {
        walk: &mut walk,
        key: NO_KEY,
        prefix: track.then(String::new),
        top: true,
    };
    let parsed = de.deserialize_map(root).and_then(|_| de.end());
    if let Some(e) = walk.error.take() {
        return Err(e);
    }
    parsed.map_err(|e| crate::mapping::scan::refusal(bytes, &e))?;
    let Walk {
        unescaped,
        nodes,
        out,
        ..
    } = walk;
    Ok(LogDoc {
        fields,
        id: id.to_owned(),
        timestamp: tantivy_date(timestamp_ms),
        source,
        unescaped,
        nodes,
        explicit: out,
        seq_no: 0,
    })
}

/// An object: its node, then its members (the record itself at the top, where `@timestamp` is
/// skipped: it has its own field).
struct Object<'w, 'm, 's> {
    walk: &'w mut Walk<'m, 's>,
    key: Span,
    /// Dotted path of this object ("" at the top), when paths are tracked.
    prefix: Option<String>,
    top: bool,
}

impl<'s> Visitor<'s> for Object<'_, '_, 's> {
    /// What the object holds (0: nothing, and it was left out).
    type Value = u8;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'s>>(self, mut map: A) -> Result<u8, A::Error> {
        let walk = self.walk;
        let at = walk.open(self.key, true);
        let mut holds = 0;
        while let Some(key) = map.next_key_seed(Key { walk: &mut *walk })? {
            let name = walk.text(key);
            if self.top && name == TIMESTAMP_FIELD {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            let path = self.prefix.as_ref().map(|p| {
                if p.is_empty() {
                    name.to_owned()
                } else {
                    format!("{p}.{name}")
                }
            });
            holds |= map.next_value_seed(Leaf {
                walk: &mut *walk,
                key,
                path,
                in_array: false,
            })?;
        }
        Ok(walk.close(at, holds))
    }
}

/// A member's key.
struct Key<'w, 'm, 's> {
    walk: &'w mut Walk<'m, 's>,
}

impl<'s> DeserializeSeed<'s> for Key<'_, '_, 's> {
    type Value = Span;

    fn deserialize<D: Deserializer<'s>>(self, d: D) -> Result<Span, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'s> Visitor<'s> for Key<'_, '_, 's> {
    type Value = Span;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a key")
    }

    fn visit_borrowed_str<E: de::Error>(self, s: &'s str) -> Result<Span, E> {
        Ok(self.walk.borrowed(s))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Span, E> {
        Ok(self.walk.copied(s))
    }
}

/// One member's value, or one array element.
struct Leaf<'w, 'm, 's> {
    walk: &'w mut Walk<'m, 's>,
    key: Span,
    path: Option<String>,
    /// An element of an array: a nested array's elements join it (arrays flatten, as in
    /// Elasticsearch).
    in_array: bool,
}

impl<'s> DeserializeSeed<'s> for Leaf<'_, '_, 's> {
    /// What the value holds (0: nothing, and it was left out).
    type Value = u8;

    fn deserialize<D: Deserializer<'s>>(self, d: D) -> Result<u8, D::Error> {
        if let Some(path) = &self.path
            && let Some(&(lat, FieldType::GeoPoint)) = self.walk.explicit.get(path)
        {
            // A point can be an object, an array or a string: read the value whole.
            let v = <serde_json::Value as serde::Deserialize>::deserialize(d)?;
            return match crate::geo::parse_points(&v) {
                Ok(points) => {
                    let lon = crate::mapping::geo_lon_field(lat);
                    for p in points {
                        let p = p.quantized();
                        self.walk.out.push((lat, OwnedValue::F64(p.lat)));
                        self.walk.out.push((lon, OwnedValue::F64(p.lon)));
                    }
                    Ok(0)
                }
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

impl Leaf<'_, '_, '_> {
    /// A scalar: to its explicit field (coerced), refused (strict), or onto the tape. `owned`
    /// makes the string of an explicit field only when there is one.
    fn scalar<E: de::Error>(
        self,
        kind: Kind,
        owned: impl FnOnce(&Walk<'_, '_>) -> Scalar,
    ) -> Result<u8, E> {
        let walk = self.walk;
        if let Some(path) = &self.path {
            if let Some((field, ty)) = walk.explicit.get(path) {
                let value = owned(walk);
                return match coerce(path, *ty, value) {
                    Ok(value) => {
                        walk.out.push((*field, value));
                        Ok(0)
                    }
                    Err(reason) => Err(walk.refuse(MappingError::BadValue { reason })),
                };
            }
            if walk.strict {
                let path = path.clone();
                return Err(walk.refuse(MappingError::Strict { path }));
            }
        }
        let kind = match kind {
            Kind::Str(s) if walk.date_detection => {
                crate::mapping::dates::detect(walk.text(s)).map_or(kind, Kind::Date)
            }
            other => other,
        };
        walk.nodes.push(Node {
            key: self.key,
            kind,
        });
        Ok(match kind {
            Kind::Str(s) if s.len as usize <= IGNORE_ABOVE => TEXT | EXACT,
            Kind::Str(_) => TEXT,
            _ => EXACT,
        })
    }

    fn string<E: de::Error>(self, span: Span) -> Result<u8, E> {
        self.scalar(Kind::Str(span), |w| Scalar::Str(w.text(span).to_owned()))
    }
}

impl<'s> Visitor<'s> for Leaf<'_, '_, 's> {
    type Value = u8;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<u8, E> {
        Ok(0)
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<u8, E> {
        self.scalar(Kind::Bool(b), |_| Scalar::Bool(b))
    }

    fn visit_i64<E: de::Error>(self, i: i64) -> Result<u8, E> {
        self.scalar(Kind::I64(i), |_| Scalar::I64(i))
    }

    fn visit_u64<E: de::Error>(self, u: u64) -> Result<u8, E> {
        let kind = i64::try_from(u).map_or(Kind::U64(u), Kind::I64);
        self.scalar(kind, |_| Scalar::U64(u))
    }

    fn visit_f64<E: de::Error>(self, x: f64) -> Result<u8, E> {
        self.scalar(Kind::F64(x), |_| Scalar::F64(x))
    }

    fn visit_borrowed_str<E: de::Error>(self, s: &'s str) -> Result<u8, E> {
        let span = self.walk.borrowed(s);
        self.string(span)
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<u8, E> {
        let span = self.walk.copied(s);
        self.string(span)
    }

    fn visit_seq<A: SeqAccess<'s>>(self, mut seq: A) -> Result<u8, A::Error> {
        let walk = self.walk;
        let at = (!self.in_array).then(|| walk.open(self.key, false));
        let mut holds = 0;
        while let Some(h) = seq.next_element_seed(Leaf {
            walk: &mut *walk,
            key: NO_KEY,
            path: self.path.clone(),
            in_array: true,
        })? {
            holds |= h;
        }
        Ok(match at {
            Some(at) => walk.close(at, holds),
            None => holds,
        })
    }

    fn visit_map<A: MapAccess<'s>>(self, map: A) -> Result<u8, A::Error> {
        if let Some(path) = &self.path
            && let Some((_, kind)) = self.walk.explicit.get(path)
        {
            let reason = format!(
                "failed to parse field [{path}] of type [{}]: found an object",
                format!("{kind:?}").to_lowercase()
            );
            return Err(self.walk.refuse(MappingError::BadValue { reason }));
        }
        Object {
            walk: self.walk,
            key: self.key,
            prefix: self.path,
            top: false,
        }
        .visit_map(map)
    }
}
