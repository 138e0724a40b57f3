//! tantivy's intermediate results have no public constructor, but their serde form is
//! public: they are built from it here, straight from the numbers, with no text in between (a
//! JSON round trip per bucket would cost more than collecting the bucket, and JSON cannot hold
//! the enum keys of tantivy's term buckets).

use serde::de::value::{Error, MapDeserializer, SeqDeserializer};
use serde::de::{
    DeserializeSeed, Deserializer, EnumAccess, IntoDeserializer, VariantAccess, Visitor,
};

/// A value in serde's data model: a number, a string, a sequence (a struct read field by
/// field), a map, or an enum's variant with its content.
#[derive(Clone)]
pub(crate) enum Part<'a> {
    B(bool),
    I(i64),
    U(u64),
    F(f64),
    Text(String),
    Seq(&'a [Part<'a>]),
    /// A sequence this value owns.
    Owned(Vec<Part<'a>>),
    Map(Vec<(Part<'a>, Part<'a>)>),
    /// A variant (its name) and its content (a newtype's value, a struct variant's fields as
    /// a sequence).
    Variant(&'static str, Box<Part<'a>>),
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
            Part::B(b) => visitor.visit_bool(*b),
            Part::I(n) => visitor.visit_i64(*n),
            Part::U(n) => visitor.visit_u64(*n),
            Part::F(x) => visitor.visit_f64(*x),
            Part::Seq(items) => visitor.visit_seq(SeqDeserializer::new(items.iter())),
            Part::Owned(items) => visitor.visit_seq(SeqDeserializer::new(items.iter())),
            Part::Text(s) => visitor.visit_str(s),
            Part::Map(entries) => {
                visitor.visit_map(MapDeserializer::new(entries.iter().map(|(k, v)| (k, v))))
            }
            Part::Variant(name, content) => visitor.visit_enum(Variant(name, content)),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

/// An enum's variant being read.
struct Variant<'a>(&'static str, &'a Part<'a>);

impl<'de, 'a> EnumAccess<'de> for Variant<'a> {
    type Error = Error;
    type Variant = &'a Part<'a>;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Self::Variant), Error> {
        let name: serde::de::value::StrDeserializer<'_, Error> = self.0.into_deserializer();
        Ok((seed.deserialize(name)?, self.1))
    }
}

impl<'de, 'a> VariantAccess<'de> for &'a Part<'a> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Error> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_any(visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_any(visitor)
    }
}

impl<'de, 'a> IntoDeserializer<'de, Error> for &'a Part<'a> {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}
