//! tantivy's intermediate metric results have no public constructor, but their serde form is
//! public: they are built from it here, straight from the numbers, with no text in between (a
//! JSON round trip per bucket would cost more than collecting the bucket).

use serde::de::value::{Error, SeqDeserializer};
use serde::de::{Deserializer, IntoDeserializer, Visitor};

/// A value in serde's data model: a number, or a sequence (a struct read field by field).
pub(super) enum Part<'a> {
    U(u64),
    F(f64),
    Seq(&'a [Part<'a>]),
    /// A sequence this value owns.
    Owned(Vec<Part<'a>>),
}

/// The serde form of tantivy's `IntermediateStats`: count, sum, its compensation, min, max.
pub(super) fn stats<'a>(count: u64, [sum, delta, min, max]: [f64; 4]) -> Part<'a> {
    Part::Owned(vec![
        Part::U(count),
        Part::F(sum),
        Part::F(delta),
        Part::F(min),
        Part::F(max),
    ])
}

impl<'de, 'a> Deserializer<'de> for &'a Part<'a> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self {
            Part::U(n) => visitor.visit_u64(*n),
            Part::F(x) => visitor.visit_f64(*x),
            Part::Seq(items) => visitor.visit_seq(SeqDeserializer::new(items.iter())),
            Part::Owned(items) => visitor.visit_seq(SeqDeserializer::new(items.iter())),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

impl<'de, 'a> IntoDeserializer<'de, Error> for &'a Part<'a> {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}
