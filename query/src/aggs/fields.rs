//! What type a field named in a request has across the searched shards: it decides how keys
//! and values are printed (dates as `key_as_string`, booleans as `true`/`false`) and which
//! columns an aggregation may read.

use std::collections::{BTreeMap, BTreeSet};

use hydrant_config::FieldType;
use hydrant_index::{DocMapper, DynamicFields, FieldTarget, ValueKind};

/// The type of a field as aggregations and sorting see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FieldKind {
    /// No shard has it.
    Unmapped,
    /// Tokenized text only (no column).
    Text,
    /// Exact strings.
    Keyword,
    /// Booleans.
    Bool,
    /// IP addresses.
    Ip,
    /// Integers.
    Long,
    /// Floating point numbers (or a mix of integers and floats).
    Double,
    /// Dates.
    Date,
    /// Points (`geo_point`): only the geo aggregations read them.
    GeoPoint,
}

impl FieldKind {
    /// Whether values are numbers (dates included).
    pub fn is_numeric(self) -> bool {
        matches!(self, FieldKind::Long | FieldKind::Double | FieldKind::Date)
    }

    /// The ES mapping type name.
    pub fn es_type(self) -> &'static str {
        match self {
            FieldKind::Unmapped => "unmapped",
            FieldKind::Text => "text",
            FieldKind::Keyword => "keyword",
            FieldKind::Bool => "boolean",
            FieldKind::Ip => "ip",
            FieldKind::Long => "long",
            FieldKind::Double => "float",
            FieldKind::Date => "date",
            FieldKind::GeoPoint => "geo_point",
        }
    }
}

/// The kind of `name` in one shard (its mapping and the dynamic fields its segments hold).
pub fn kind_in(mapper: &DocMapper, fields: &DynamicFields, name: &str) -> FieldKind {
    match mapper.resolve(name) {
        FieldTarget::Id => FieldKind::Keyword,
        FieldTarget::Timestamp => FieldKind::Date,
        FieldTarget::Explicit { kind, .. } => match kind {
            FieldType::Keyword => FieldKind::Keyword,
            FieldType::Text => FieldKind::Text,
            FieldType::Long => FieldKind::Long,
            FieldType::Double => FieldKind::Double,
            FieldType::Boolean => FieldKind::Bool,
            FieldType::Date => FieldKind::Date,
            FieldType::Ip => FieldKind::Ip,
            FieldType::GeoPoint => FieldKind::GeoPoint,
        },
        FieldTarget::Keyword { path } => match fields.paths.get(&path) {
            Some(k) if k.contains(&ValueKind::Keyword) => FieldKind::Keyword,
            _ => FieldKind::Unmapped,
        },
        FieldTarget::Dynamic { path } => match fields.paths.get(&path) {
            Some(kinds) => dynamic_kind(kinds.iter().copied()),
            None => FieldKind::Unmapped,
        },
        FieldTarget::Missing => FieldKind::Unmapped,
    }
}

/// The kind of a dynamic path holding values of `kinds`.
pub fn dynamic_kind(kinds: impl Iterator<Item = ValueKind>) -> FieldKind {
    let mut out = FieldKind::Unmapped;
    for k in kinds {
        let this = match k {
            ValueKind::Text => FieldKind::Text,
            ValueKind::Keyword => FieldKind::Keyword,
            ValueKind::I64 | ValueKind::U64 => FieldKind::Long,
            ValueKind::F64 => FieldKind::Double,
            ValueKind::Bool => FieldKind::Bool,
            ValueKind::Date => FieldKind::Date,
        };
        out = merge(out, this);
    }
    out
}

/// Two shards disagree: dates win, then numbers (floats over integers), then the rest.
fn merge(a: FieldKind, b: FieldKind) -> FieldKind {
    a.max(b)
}

/// The kinds of the fields a request names, across every shard it searches.
#[derive(Debug, Clone, Default)]
pub struct FieldKinds {
    // Ordered, so that the request cache's key is the same for the same request.
    map: BTreeMap<String, FieldKind>,
    /// Fields holding integers in some columns and floats in others (shards, or segments of
    /// one shard): their columns' values compare only after conversion.
    mixed: BTreeSet<String>,
}

impl FieldKinds {
    /// Resolves `names` over `shards`.
    pub fn resolve<'a>(
        shards: impl Iterator<Item = (&'a DocMapper, &'a DynamicFields)>,
        names: &[String],
    ) -> FieldKinds {
        let mut map: BTreeMap<String, FieldKind> = names
            .iter()
            .map(|n| (n.clone(), FieldKind::Unmapped))
            .collect();
        let mut seen: BTreeMap<&str, BTreeSet<FieldKind>> = BTreeMap::new();
        for (mapper, fields) in shards {
            for name in names {
                let k = kind_in(mapper, fields, name);
                let kinds = seen.entry(name.as_str()).or_default();
                kinds.insert(k);
                if let FieldTarget::Dynamic { path } = mapper.resolve(name)
                    && let Some(values) = fields.paths.get(&path)
                    && values.contains(&ValueKind::F64)
                    && (values.contains(&ValueKind::I64) || values.contains(&ValueKind::U64))
                {
                    kinds.insert(FieldKind::Long);
                }
                if let Some(slot) = map.get_mut(name) {
                    *slot = merge(*slot, k);
                }
            }
        }
        let mixed = seen
            .into_iter()
            .filter(|(_, k)| k.contains(&FieldKind::Long) && k.contains(&FieldKind::Double))
            .map(|(n, _)| n.to_string())
            .collect();
        FieldKinds { map, mixed }
    }

    /// Whether `name` holds integers in some columns and floats in others.
    pub fn mixed_numbers(&self, name: &str) -> bool {
        self.mixed.contains(name)
    }

    /// The kind of `name` (`Unmapped` when unknown).
    pub fn get(&self, name: &str) -> FieldKind {
        self.map.get(name).copied().unwrap_or(FieldKind::Unmapped)
    }
}
