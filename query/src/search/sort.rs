//! Sort keys: how a document's sort values are read from columns, compared inside a segment,
//! and turned into the values a response carries (and `search_after` sends back).
//!
//! Inside a segment, strings compare by term ordinal (cheap); they become strings only for the
//! documents that make a segment's top k. Ordinals are stored as `2·ord + 1`, which leaves even
//! numbers for strings that are not in the segment's dictionary (a `search_after` value, a
//! `missing` substitute): `2·n` sorts between the `n`-th and the next term.

use std::cmp::Ordering;
use std::net::Ipv6Addr;
use std::sync::Arc;

use serde_json::{Value, json};
use tantivy::columnar::{Column, ColumnIndex, DynamicColumn, StrColumn};
use tantivy::{DocId, SegmentReader};

use crate::aggs::FieldKind;
use crate::compile::GeoColumns;
use crate::dates::{DateParser, Zone, format_date};
use crate::error::QueryError;
use crate::request::{GeoSort, Missing, SortMode, SortSpec, SortTarget};

/// A sort value across segments and shards.
#[derive(Debug, Clone, PartialEq)]
pub enum SortValue {
    /// The document has no value.
    Missing,
    /// Signed integer (dates are epoch ms).
    Int(i64),
    /// Unsigned integer (`_doc`, `_shard_doc`, large numbers).
    UInt(u64),
    /// Float (scores, doubles).
    Float(f64),
    /// String.
    Str(String),
    /// IP address.
    Ip(Ipv6Addr),
}

/// A sort value inside one segment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum SegVal {
    Missing,
    Int(i64),
    UInt(u64),
    Float(f64),
    /// `2·ord + 1` for a term of the segment's dictionary, `2·n` between terms.
    Ord(u64),
    Ip(u128),
}

/// Numbers before IPs before strings; numbers of different types compare as floats.
fn rank<T>(v: &T, number: impl Fn(&T) -> bool, ip: impl Fn(&T) -> bool) -> u8 {
    if number(v) {
        0
    } else if ip(v) {
        1
    } else {
        2
    }
}

fn cmp_num(a: SegVal, b: SegVal) -> Ordering {
    match (a, b) {
        (SegVal::Int(x), SegVal::Int(y)) => x.cmp(&y),
        (SegVal::UInt(x), SegVal::UInt(y)) => x.cmp(&y),
        _ => as_f64(a).total_cmp(&as_f64(b)),
    }
}

fn as_f64(v: SegVal) -> f64 {
    match v {
        SegVal::Int(x) => x as f64,
        SegVal::UInt(x) => x as f64,
        SegVal::Float(x) => x,
        _ => 0.0,
    }
}

impl SegVal {
    fn is_number(&self) -> bool {
        matches!(self, SegVal::Int(_) | SegVal::UInt(_) | SegVal::Float(_))
    }

    /// The natural (ascending) order of two present values.
    #[inline]
    fn natural(self, other: SegVal) -> Ordering {
        // Dates and longs, the sort keys of nearly every log search, first.
        if let (SegVal::Int(x), SegVal::Int(y)) = (self, other) {
            return x.cmp(&y);
        }
        let ra = rank(&self, SegVal::is_number, |v| matches!(v, SegVal::Ip(_)));
        let rb = rank(&other, SegVal::is_number, |v| matches!(v, SegVal::Ip(_)));
        match (self, other) {
            _ if ra != rb => ra.cmp(&rb),
            (SegVal::Ord(x), SegVal::Ord(y)) => x.cmp(&y),
            (SegVal::Ip(x), SegVal::Ip(y)) => x.cmp(&y),
            (a, b) => cmp_num(a, b),
        }
    }
}

impl SortValue {
    fn natural(&self, other: &SortValue) -> Ordering {
        let num = |v: &SortValue| {
            matches!(
                v,
                SortValue::Int(_) | SortValue::UInt(_) | SortValue::Float(_)
            )
        };
        let ip = |v: &SortValue| matches!(v, SortValue::Ip(_));
        let (ra, rb) = (rank(self, num, ip), rank(other, num, ip));
        match (self, other) {
            _ if ra != rb => ra.cmp(&rb),
            (SortValue::Str(a), SortValue::Str(b)) => a.as_bytes().cmp(b.as_bytes()),
            (SortValue::Ip(a), SortValue::Ip(b)) => a.cmp(b),
            (a, b) => cmp_num(a.seg(), b.seg()),
        }
    }

    fn seg(&self) -> SegVal {
        match self {
            SortValue::Int(x) => SegVal::Int(*x),
            SortValue::UInt(x) => SegVal::UInt(*x),
            SortValue::Float(x) => SegVal::Float(*x),
            _ => SegVal::Missing,
        }
    }
}

/// Direction and missing-value placement of one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Dir {
    pub desc: bool,
    pub missing_first: bool,
}

impl Dir {
    pub fn of(spec: &SortSpec) -> Dir {
        Dir {
            desc: spec.desc,
            missing_first: spec.missing == Missing::First,
        }
    }
}

macro_rules! cmp_with_dirs {
    ($a:expr, $b:expr, $dirs:expr, $missing:path, $natural:expr) => {{
        for ((x, y), d) in $a.iter().zip($b.iter()).zip($dirs.iter()) {
            let o = match (x, y) {
                ($missing, $missing) => Ordering::Equal,
                ($missing, _) if d.missing_first => Ordering::Less,
                ($missing, _) => Ordering::Greater,
                (_, $missing) if d.missing_first => Ordering::Greater,
                (_, $missing) => Ordering::Less,
                (x, y) => {
                    let o = $natural(x, y);
                    if d.desc { o.reverse() } else { o }
                }
            };
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    }};
}

/// Output order of two segment keys (`Less`: `a` comes first).
#[inline]
pub(crate) fn cmp_seg(a: &[SegVal], b: &[SegVal], dirs: &[Dir]) -> Ordering {
    cmp_with_dirs!(a, b, dirs, SegVal::Missing, |x: &SegVal, y: &SegVal| x
        .natural(*y))
}

/// Output order of two global keys.
pub fn cmp_values(a: &[SortValue], b: &[SortValue], dirs: &[Dir]) -> Ordering {
    cmp_with_dirs!(
        a,
        b,
        dirs,
        SortValue::Missing,
        |x: &SortValue, y: &SortValue| x.natural(y)
    )
}

/// A numeric column of a sort field, with how its values read as sort values.
pub(crate) enum NumCol {
    I64(Column<i64>),
    U64(Column<u64>),
    F64(Column<f64>),
    Bool(Column<bool>),
    Date(Column<tantivy::DateTime>),
    Ip(Column<Ipv6Addr>),
}

impl NumCol {
    /// Whether a document has at most one value.
    fn single_valued(&self) -> bool {
        let index = match self {
            NumCol::I64(c) => &c.index,
            NumCol::U64(c) => &c.index,
            NumCol::F64(c) => &c.index,
            NumCol::Bool(c) => &c.index,
            NumCol::Date(c) => &c.index,
            NumCol::Ip(c) => &c.index,
        };
        !matches!(index, ColumnIndex::Multivalued(_))
    }

    /// The value of a document of a single-valued column.
    #[inline]
    fn first(&self, doc: DocId) -> Option<SegVal> {
        match self {
            NumCol::I64(c) => c.first(doc).map(SegVal::Int),
            NumCol::U64(c) => c.first(doc).map(SegVal::UInt),
            NumCol::F64(c) => c.first(doc).map(SegVal::Float),
            NumCol::Bool(c) => c.first(doc).map(|b| SegVal::Int(i64::from(b))),
            NumCol::Date(c) => c.first(doc).map(|d| SegVal::Int(d.into_timestamp_millis())),
            NumCol::Ip(c) => c.first(doc).map(|ip| SegVal::Ip(u128::from(ip))),
        }
    }

    fn values(&self, doc: DocId, out: &mut Vec<SegVal>) {
        match self {
            NumCol::I64(c) => out.extend(c.values_for_doc(doc).map(SegVal::Int)),
            NumCol::U64(c) => out.extend(c.values_for_doc(doc).map(SegVal::UInt)),
            NumCol::F64(c) => out.extend(c.values_for_doc(doc).map(SegVal::Float)),
            NumCol::Bool(c) => out.extend(c.values_for_doc(doc).map(|b| SegVal::Int(i64::from(b)))),
            NumCol::Date(c) => out.extend(
                c.values_for_doc(doc)
                    .map(|d| SegVal::Int(d.into_timestamp_millis())),
            ),
            NumCol::Ip(c) => out.extend(c.values_for_doc(doc).map(|ip| SegVal::Ip(u128::from(ip)))),
        }
    }
}

/// Which documents [`KeyReader::read_many`] reads: a run from a document on, or a list.
#[derive(Clone, Copy)]
enum Rows<'a> {
    From(DocId),
    Docs(&'a [DocId]),
}

/// How one key's value is read in one segment.
pub(crate) enum KeyReader {
    Score,
    /// `_doc` (`base` is the segment's first doc in the shard) or `_shard_doc` (`base`
    /// includes the shard's number in the high bits).
    Doc {
        base: u64,
    },
    Field {
        nums: Vec<NumCol>,
        strs: Option<StrColumn>,
        mode: SortMode,
        missing: SegVal,
        scratch: Vec<SegVal>,
        /// One numeric column with at most one value per document (a timestamp): read as is,
        /// with no mode to apply (the common sort, newest first, over millions of documents).
        single: bool,
        /// The column's name (for per-segment facts kept by name, such as its time zones).
        column: Option<Arc<str>>,
    },
    /// `_index`: the shard's index name, a one-term dictionary (every document has ord 0).
    Index(Arc<str>),
    /// `_geo_distance`: the nearest (or farthest) of a document's points.
    Geo {
        columns: GeoColumns,
        sort: GeoSort,
        mode: SortMode,
    },
}

/// The position of `s` among a dictionary's terms, as an `Ord` value.
fn virtual_ord(strs: Option<&StrColumn>, s: &str) -> SegVal {
    let Some(col) = strs else {
        return SegVal::Ord(0);
    };
    let dict = col.dictionary();
    let (mut lo, mut hi) = (0u64, dict.num_terms() as u64);
    let mut term = String::new();
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        term.clear();
        if col.ord_to_str(mid, &mut term).unwrap_or(false) && term.as_bytes() < s.as_bytes() {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    term.clear();
    let exact = col.ord_to_str(lo, &mut term).unwrap_or(false) && term == s;
    SegVal::Ord(if exact { 2 * lo + 1 } else { 2 * lo })
}

impl KeyReader {
    /// The reader of a field key in `segment`; `column` is the field's column there.
    pub fn field(
        segment: &SegmentReader,
        column: Option<&str>,
        spec: &SortSpec,
        missing: Option<&SortValue>,
    ) -> Result<KeyReader, QueryError> {
        let mut nums = Vec::new();
        let mut strs = None;
        if let Some(column) = column {
            for handle in segment.fast_fields().dynamic_column_handles(column)? {
                match handle
                    .open()
                    .map_err(|e| QueryError::Search(e.to_string()))?
                {
                    DynamicColumn::I64(c) => nums.push(NumCol::I64(c)),
                    DynamicColumn::U64(c) => nums.push(NumCol::U64(c)),
                    DynamicColumn::F64(c) => nums.push(NumCol::F64(c)),
                    DynamicColumn::Bool(c) => nums.push(NumCol::Bool(c)),
                    DynamicColumn::DateTime(c) => nums.push(NumCol::Date(c)),
                    DynamicColumn::IpAddr(c) => nums.push(NumCol::Ip(c)),
                    DynamicColumn::Str(c) => strs = Some(c),
                    DynamicColumn::Bytes(_) => {}
                }
            }
        }
        let missing = match missing {
            Some(v) => seg_value(v, strs.as_ref()),
            None => SegVal::Missing,
        };
        let single = strs.is_none() && nums.len() == 1 && nums[0].single_valued();
        Ok(KeyReader::Field {
            nums,
            strs,
            mode: spec.mode,
            missing,
            scratch: Vec::new(),
            single,
            column: column.map(Arc::from),
        })
    }

    /// The reader of a `_geo_distance` key in `segment`, whose field's points are in the
    /// columns `lat` and `lon` (`None`: the shard has no such field).
    pub fn geo(
        segment: &SegmentReader,
        columns: Option<&(String, String)>,
        spec: &SortSpec,
        sort: &GeoSort,
    ) -> Result<KeyReader, QueryError> {
        let columns = match columns {
            Some((lat, lon)) => GeoColumns::open(segment, lat, lon)?,
            None => GeoColumns::open(segment, "", "")?,
        };
        Ok(KeyReader::Geo {
            columns,
            sort: sort.clone(),
            mode: spec.mode,
        })
    }

    /// The reader of a non-field key.
    pub fn special(target: &SortTarget, base: u64) -> KeyReader {
        match target {
            SortTarget::Score => KeyReader::Score,
            _ => KeyReader::Doc { base },
        }
    }

    /// The value of `doc`.
    pub fn read(&mut self, doc: DocId, score: f32) -> SegVal {
        match self {
            KeyReader::Score => SegVal::Float(f64::from(score)),
            KeyReader::Doc { base } => SegVal::UInt(*base + u64::from(doc)),
            KeyReader::Index(_) => SegVal::Ord(1),
            KeyReader::Field {
                nums,
                strs,
                mode,
                missing,
                scratch,
                single,
                ..
            } => {
                if *single {
                    return nums[0].first(doc).unwrap_or(*missing);
                }
                scratch.clear();
                for c in nums.iter() {
                    c.values(doc, scratch);
                }
                if let Some(s) = strs {
                    scratch.extend(s.term_ords(doc).map(|o| SegVal::Ord(2 * o + 1)));
                }
                let pick = match mode {
                    SortMode::Min => scratch.iter().copied().min_by(|a, b| a.natural(*b)),
                    SortMode::Max => scratch.iter().copied().max_by(|a, b| a.natural(*b)),
                };
                pick.unwrap_or(*missing)
            }
            KeyReader::Geo {
                columns,
                sort,
                mode,
            } => {
                let mut pick: Option<f64> = None;
                if !columns.is_empty() {
                    columns.any(doc, |p| {
                        let d = sort.origin.distance_by(p, sort.plane) / sort.unit_m;
                        pick = Some(match (pick, *mode) {
                            (None, _) => d,
                            (Some(x), SortMode::Min) => x.min(d),
                            (Some(x), SortMode::Max) => x.max(d),
                        });
                        false
                    });
                }
                pick.map_or(SegVal::Missing, SegVal::Float)
            }
        }
    }

    /// The name and column of a key read from one date per document (`@timestamp`).
    pub fn date_column(&self) -> Option<(&str, &Column<tantivy::DateTime>)> {
        match self {
            KeyReader::Field {
                nums,
                single: true,
                column: Some(name),
                ..
            } => match nums.as_slice() {
                [NumCol::Date(c)] => Some((name, c)),
                _ => None,
            },
            _ => None,
        }
    }

    /// The values of documents `start..start + out.len()` into `out`, when this reader reads
    /// one column every document has exactly one value of (`false`: read them one at a time).
    pub fn read_range(&self, start: DocId, out: &mut [SegVal]) -> bool {
        self.read_many(Rows::From(start), out)
    }

    /// The values of `docs` into `out`, on the same terms: one call into the column for a
    /// block of documents, rather than one per document.
    pub fn read_docs(&self, docs: &[DocId], out: &mut [SegVal]) -> bool {
        self.read_many(Rows::Docs(docs), out)
    }

    fn read_many(&self, rows: Rows<'_>, out: &mut [SegVal]) -> bool {
        let KeyReader::Field {
            nums, single: true, ..
        } = self
        else {
            return false;
        };
        fn many<T: PartialOrd + Copy + Default + std::fmt::Debug + Send + Sync + 'static>(
            c: &Column<T>,
            rows: Rows<'_>,
            out: &mut [SegVal],
            to: impl Fn(T) -> SegVal,
        ) -> bool {
            if !matches!(c.index, ColumnIndex::Full) {
                return false;
            }
            const CHUNK: usize = 128;
            let mut values = [T::default(); CHUNK];
            for (i, outs) in out.chunks_mut(CHUNK).enumerate() {
                let values = &mut values[..outs.len()];
                match rows {
                    Rows::From(start) => c
                        .values
                        .get_range(u64::from(start) + (i * CHUNK) as u64, values),
                    Rows::Docs(docs) => c
                        .values
                        .get_vals(&docs[i * CHUNK..i * CHUNK + outs.len()], values),
                }
                for (o, v) in outs.iter_mut().zip(values.iter()) {
                    *o = to(*v);
                }
            }
            true
        }
        match &nums[0] {
            NumCol::I64(c) => many(c, rows, out, SegVal::Int),
            NumCol::U64(c) => many(c, rows, out, SegVal::UInt),
            NumCol::F64(c) => many(c, rows, out, SegVal::Float),
            NumCol::Date(c) => many(c, rows, out, |d| SegVal::Int(d.into_timestamp_millis())),
            NumCol::Bool(_) | NumCol::Ip(_) => false,
        }
    }

    /// A global value as this segment compares it.
    pub fn seg_value(&self, v: &SortValue) -> SegVal {
        match self {
            KeyReader::Field { strs, .. } => seg_value(v, strs.as_ref()),
            KeyReader::Index(name) => match v {
                SortValue::Str(s) => SegVal::Ord(match s.as_bytes().cmp(name.as_bytes()) {
                    Ordering::Less => 0,
                    Ordering::Equal => 1,
                    Ordering::Greater => 2,
                }),
                other => seg_value(other, None),
            },
            _ => seg_value(v, None),
        }
    }

    /// The global value of a segment value read by this reader.
    pub fn global(&self, v: SegVal, missing: Option<&SortValue>) -> SortValue {
        match v {
            SegVal::Missing => SortValue::Missing,
            SegVal::Int(x) => SortValue::Int(x),
            SegVal::UInt(x) => SortValue::UInt(x),
            SegVal::Float(x) => SortValue::Float(x),
            SegVal::Ip(x) => SortValue::Ip(Ipv6Addr::from(x)),
            SegVal::Ord(o) if o % 2 == 1 => {
                let mut s = String::new();
                match self {
                    KeyReader::Field { strs: Some(c), .. } => {
                        let _ = c.ord_to_str((o - 1) / 2, &mut s);
                    }
                    KeyReader::Index(name) => s.push_str(name),
                    _ => {}
                }
                SortValue::Str(s)
            }
            SegVal::Ord(_) => missing.cloned().unwrap_or(SortValue::Missing),
        }
    }
}

fn seg_value(v: &SortValue, strs: Option<&StrColumn>) -> SegVal {
    match v {
        SortValue::Missing => SegVal::Missing,
        SortValue::Int(x) => SegVal::Int(*x),
        SortValue::UInt(x) => SegVal::UInt(*x),
        SortValue::Float(x) => SegVal::Float(*x),
        SortValue::Ip(ip) => SegVal::Ip(u128::from(*ip)),
        SortValue::Str(s) => virtual_ord(strs, s),
    }
}

/// Reads a sort value a client sent (`search_after`, `missing`) for a key of `kind`.
pub fn parse_value(v: &Value, kind: FieldKind, spec: &SortSpec) -> Result<SortValue, QueryError> {
    Ok(match v {
        Value::Null => SortValue::Missing,
        Value::Bool(b) => SortValue::Int(i64::from(*b)),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                // The stand-in a response showed for "no value" reads back as no value.
                if Some(i) == missing_sentinel(kind, spec) {
                    SortValue::Missing
                } else {
                    SortValue::Int(i)
                }
            } else if let Some(u) = n.as_u64() {
                SortValue::UInt(u)
            } else {
                SortValue::Float(n.as_f64().unwrap_or(0.0))
            }
        }
        Value::String(s) if kind == FieldKind::Date => {
            let dates = DateParser::new(spec.format.as_deref(), None, 0)?;
            SortValue::Int(dates.parse(s, false)?)
        }
        Value::String(s) if matches!(kind, FieldKind::Long | FieldKind::Double) => {
            match s.parse::<i64>() {
                Ok(i) => SortValue::Int(i),
                Err(_) => SortValue::Float(
                    s.parse::<f64>()
                        .map_err(|_| QueryError::NumberFormat(s.clone()))?,
                ),
            }
        }
        Value::String(s) if kind == FieldKind::Ip => match s.parse::<std::net::IpAddr>() {
            Ok(std::net::IpAddr::V4(v4)) => SortValue::Ip(v4.to_ipv6_mapped()),
            Ok(std::net::IpAddr::V6(v6)) => SortValue::Ip(v6),
            Err(_) => SortValue::Str(s.clone()),
        },
        Value::String(s) => SortValue::Str(s.clone()),
        other => {
            return Err(QueryError::Parsing(format!(
                "sort values must be scalars, got [{other}]"
            )));
        }
    })
}

/// What Elasticsearch shows as the sort value of a document without one: the number its sort
/// put in the document's place, the largest or smallest long (int for booleans); `None` (shown
/// as `null`) for strings, floats and a `missing` value of the client's.
fn missing_sentinel(kind: FieldKind, spec: &SortSpec) -> Option<i64> {
    let high = match spec.missing {
        Missing::First => spec.desc,
        Missing::Last => !spec.desc,
        Missing::Value(_) => return None,
    };
    match kind {
        FieldKind::Long | FieldKind::Date if spec.format.is_none() => {
            Some(if high { i64::MAX } else { i64::MIN })
        }
        FieldKind::Bool => Some(i64::from(if high { i32::MAX } else { i32::MIN })),
        _ => None,
    }
}

/// A sort value as a response shows it (dates in the key's `format` when it has one).
pub fn value_json(v: &SortValue, kind: FieldKind, spec: &SortSpec) -> Value {
    match v {
        SortValue::Missing => missing_sentinel(kind, spec).map_or(Value::Null, Value::from),
        SortValue::Int(ms) if kind == FieldKind::Date && spec.format.is_some() => {
            json!(format_date(*ms, spec.format.as_deref(), Zone::Utc))
        }
        SortValue::Int(x) => json!(x),
        SortValue::UInt(x) => json!(x),
        SortValue::Float(x) if x.is_finite() => json!(x),
        SortValue::Float(_) => Value::Null,
        SortValue::Str(s) => json!(s),
        SortValue::Ip(ip) => match ip.to_ipv4_mapped() {
            Some(v4) => json!(v4.to_string()),
            None => json!(ip.to_string()),
        },
    }
}
