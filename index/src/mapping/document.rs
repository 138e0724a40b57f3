//! Reading one record into a tantivy document: a single pass over the JSON that sends every
//! leaf to its place — an explicitly mapped field (coerced to its type), or the dynamic text and
//! exact-value trees — without building a `serde_json::Value` first (this runs once per record
//! on the indexing hot path).

use std::collections::HashMap;

use hydrant_config::FieldType;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use tantivy::schema::{Field, OwnedValue};

use super::coerce::{Scalar, coerce};
use super::{IGNORE_ABOVE, TIMESTAMP_FIELD};
use crate::error::MappingError;

pub(crate) type Tree = Vec<(String, OwnedValue)>;

/// What one record's walk needs and produces besides the dynamic trees.
pub(crate) struct Walk<'m> {
    explicit: &'m HashMap<String, (Field, FieldType)>,
    strict: bool,
    /// Whether leaves need their dotted path (explicit fields or strict mode).
    track: bool,
    /// Values of explicit fields.
    pub(crate) out: Vec<(Field, OwnedValue)>,
    /// Why the record was refused, when it was.
    pub(crate) error: Option<MappingError>,
}

impl<'m> Walk<'m> {
    pub(crate) fn new(explicit: &'m HashMap<String, (Field, FieldType)>, strict: bool) -> Walk<'m> {
        Walk {
            explicit,
            strict,
            track: strict || !explicit.is_empty(),
            out: Vec::new(),
            error: None,
        }
    }

    /// Whether leaves need their dotted paths.
    pub(crate) fn tracks(&self) -> bool {
        self.track
    }

    fn refuse<E: de::Error>(&mut self, e: MappingError) -> E {
        let msg = e.to_string();
        self.error = Some(e);
        E::custom(msg)
    }
}

/// The members of an object (the record itself at the top, where `@timestamp` is skipped).
pub(crate) struct Members<'w, 'm> {
    pub(crate) text: &'w mut Tree,
    pub(crate) value: &'w mut Tree,
    pub(crate) walk: &'w mut Walk<'m>,
    /// Dotted path of this object ("" at the top), when paths are tracked.
    pub(crate) prefix: Option<String>,
    /// The record's top level.
    pub(crate) top: bool,
}

impl<'de> Visitor<'de> for Members<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            if self.top && key == TIMESTAMP_FIELD {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            let path = self.prefix.as_ref().map(|p| {
                if p.is_empty() {
                    key.clone()
                } else {
                    format!("{p}.{key}")
                }
            });
            let (t, v) = map.next_value_seed(Leaf {
                walk: self.walk,
                path,
            })?;
            match (t, v) {
                (Some(t), Some(v)) => {
                    self.value.push((key.clone(), v));
                    self.text.push((key, t));
                }
                (Some(t), None) => self.text.push((key, t)),
                (None, Some(v)) => self.value.push((key, v)),
                (None, None) => {}
            }
        }
        Ok(())
    }
}

/// One JSON value as its (text form, exact form) for the dynamic trees; either may be absent.
type Split = (Option<OwnedValue>, Option<OwnedValue>);

struct Leaf<'w, 'm> {
    walk: &'w mut Walk<'m>,
    path: Option<String>,
}

impl<'de> DeserializeSeed<'de> for Leaf<'_, '_> {
    type Value = Split;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Split, D::Error> {
        d.deserialize_any(self)
    }
}

impl Leaf<'_, '_> {
    fn scalar<E: de::Error>(self, v: Scalar) -> Result<Split, E> {
        if let Some(path) = &self.path {
            if let Some((field, kind)) = self.walk.explicit.get(path) {
                return match coerce(path, *kind, v) {
                    Ok(value) => {
                        self.walk.out.push((*field, value));
                        Ok((None, None))
                    }
                    Err(reason) => Err(self.walk.refuse(MappingError::BadValue { reason })),
                };
            }
            if self.walk.strict {
                let path = path.clone();
                return Err(self.walk.refuse(MappingError::Strict { path }));
            }
        }
        Ok(match v {
            Scalar::Bool(b) => (None, Some(OwnedValue::Bool(b))),
            Scalar::I64(i) => (None, Some(OwnedValue::I64(i))),
            Scalar::U64(u) => (
                None,
                Some(match i64::try_from(u) {
                    Ok(i) => OwnedValue::I64(i),
                    Err(_) => OwnedValue::U64(u),
                }),
            ),
            Scalar::F64(x) => (None, Some(OwnedValue::F64(x))),
            Scalar::Str(s) => {
                let exact = (s.len() <= IGNORE_ABOVE).then(|| OwnedValue::Str(s.clone()));
                (Some(OwnedValue::Str(s)), exact)
            }
        })
    }
}

impl<'de> Visitor<'de> for Leaf<'_, '_> {
    type Value = Split;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Split, E> {
        Ok((None, None))
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Split, E> {
        self.scalar(Scalar::Bool(b))
    }

    fn visit_i64<E: de::Error>(self, i: i64) -> Result<Split, E> {
        self.scalar(Scalar::I64(i))
    }

    fn visit_u64<E: de::Error>(self, u: u64) -> Result<Split, E> {
        self.scalar(Scalar::U64(u))
    }

    fn visit_f64<E: de::Error>(self, x: f64) -> Result<Split, E> {
        self.scalar(Scalar::F64(x))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Split, E> {
        self.scalar(Scalar::Str(s.to_string()))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<Split, E> {
        self.scalar(Scalar::Str(s))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Split, A::Error> {
        let mut text = Vec::new();
        let mut value = Vec::new();
        while let Some((t, v)) = seq.next_element_seed(Leaf {
            walk: self.walk,
            path: self.path.clone(),
        })? {
            // Nested arrays flatten, as in Elasticsearch.
            for (out, item) in [(&mut text, t), (&mut value, v)] {
                match item {
                    Some(OwnedValue::Array(items)) => out.extend(items),
                    Some(x) => out.push(x),
                    None => {}
                }
            }
        }
        let wrap = |items: Vec<OwnedValue>| (!items.is_empty()).then_some(OwnedValue::Array(items));
        Ok((wrap(text), wrap(value)))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Split, A::Error> {
        if let Some(path) = &self.path
            && let Some((_, kind)) = self.walk.explicit.get(path)
        {
            let reason = format!(
                "failed to parse field [{path}] of type [{}]: found an object",
                format!("{kind:?}").to_lowercase()
            );
            return Err(self.walk.refuse(MappingError::BadValue { reason }));
        }
        let mut text = Vec::new();
        let mut value = Vec::new();
        Members {
            text: &mut text,
            value: &mut value,
            walk: self.walk,
            prefix: self.path,
            top: false,
        }
        .visit_map(map)?;
        let wrap = |tree: Tree| (!tree.is_empty()).then_some(OwnedValue::Object(tree));
        Ok((wrap(text), wrap(value)))
    }
}
