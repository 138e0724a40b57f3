//! The query tree every input (Query DSL JSON, Lucene query strings) is parsed into before it
//! is compiled against an index's mapping.

pub use hydrant_index::geo::GeoPoint;

/// A field as named in a request; `None` means every field (ES's `*` default field).
pub type FieldName = Option<String>;

/// How the words of a full-text match combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    /// Any word.
    Or,
    /// Every word.
    And,
}

/// How text is matched against a field's analyzed form.
#[derive(Debug, Clone, PartialEq)]
pub enum MatchKind {
    /// The words, combined with an operator (ES `match`).
    Words {
        /// How the words combine.
        operator: Operator,
        /// `minimum_should_match` as a count, when given.
        minimum_should_match: Option<MinimumShouldMatch>,
    },
    /// The words in order, at most `slop` positions apart (ES `match_phrase`).
    Phrase {
        /// Allowed distance.
        slop: u32,
    },
    /// A query-string term: several words from one term must appear together, as a phrase.
    Term,
    /// The words in order, the last one a prefix (ES `match_phrase_prefix`).
    PhrasePrefix {
        /// How many terms the prefix may expand to.
        max_expansions: u32,
    },
    /// The words combined with an operator, the last one a prefix (ES `match_bool_prefix`).
    BoolPrefix {
        /// How the words combine.
        operator: Operator,
        /// `minimum_should_match` as a count, when given.
        minimum_should_match: Option<MinimumShouldMatch>,
        /// How many terms the prefix may expand to.
        max_expansions: u32,
    },
}

/// ES's `minimum_should_match`: a count or a percentage, possibly negative.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MinimumShouldMatch {
    /// This many clauses (negative: all but this many).
    Count(i64),
    /// This percentage of clauses (negative: all but this percentage).
    Percent(f64),
}

impl MinimumShouldMatch {
    /// The number of clauses required out of `total`.
    pub fn required(&self, total: usize) -> usize {
        let total_i = total as i64;
        let n = match *self {
            MinimumShouldMatch::Count(c) if c < 0 => total_i + c,
            MinimumShouldMatch::Count(c) => c,
            MinimumShouldMatch::Percent(p) if p < 0.0 => {
                total_i - ((total as f64) * (-p) / 100.0).floor() as i64
            }
            MinimumShouldMatch::Percent(p) => ((total as f64) * p / 100.0).floor() as i64,
        };
        n.clamp(0, total_i) as usize
    }
}

/// One bound of a range.
#[derive(Debug, Clone, PartialEq)]
pub enum RangeBound {
    /// No bound.
    Unbounded,
    /// Values equal to this are in.
    Inclusive(String),
    /// Values equal to this are out.
    Exclusive(String),
}

/// A parsed query.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryAst {
    /// Every document.
    MatchAll,
    /// No document.
    MatchNone,
    /// Boolean combination.
    Bool(BoolQuery),
    /// Full text against a field's analyzed form.
    Match {
        /// The field (`None`: every field).
        field: FieldName,
        /// The text.
        text: String,
        /// How it matches.
        kind: MatchKind,
    },
    /// An exact value.
    Term {
        /// The field.
        field: String,
        /// The value, as text.
        value: String,
    },
    /// Values starting with a prefix.
    Prefix {
        /// The field (`None`: every field).
        field: FieldName,
        /// The prefix.
        prefix: String,
        /// The query-string forms: on a text field the prefix is lower-cased as the field's
        /// words are (ES normalizes it there, not in the `prefix` query).
        normalize: bool,
    },
    /// Terms within an edit distance of a value (ES `fuzzy`).
    Fuzzy {
        /// The field.
        field: String,
        /// The value, not analyzed.
        value: String,
        /// Allowed edits (0–2).
        edits: u8,
        /// A transposition counts as one edit.
        transpositions: bool,
        /// Leading characters that must match exactly.
        prefix_length: usize,
    },
    /// Values matching a pattern with `*` (any run) and `?` (any one character).
    Wildcard {
        /// The field (`None`: every field).
        field: FieldName,
        /// The pattern.
        pattern: String,
        /// Match regardless of case.
        case_insensitive: bool,
        /// The query-string forms: on a text field the pattern is lower-cased as the field's
        /// words are (ES normalizes it there, not in the `wildcard` query).
        normalize: bool,
    },
    /// Values matching a regular expression (Lucene syntax, anchored at both ends).
    Regexp {
        /// The field (`None`: every field).
        field: FieldName,
        /// The expression.
        pattern: String,
        /// Match regardless of case.
        case_insensitive: bool,
    },
    /// The best of several queries, plus `tie_breaker` times the others' scores.
    DisMax {
        /// The queries.
        queries: Vec<QueryAst>,
        /// Weight of the non-best scores.
        tie_breaker: f32,
    },
    /// Values in a range.
    Range {
        /// The field (`None`: every field).
        field: FieldName,
        /// Lower bound.
        lower: RangeBound,
        /// Upper bound.
        upper: RangeBound,
        /// `format` of date bounds, if given.
        format: Option<String>,
        /// `time_zone` of date bounds, if given.
        time_zone: Option<String>,
    },
    /// Documents that have a value for the field.
    Exists {
        /// The field.
        field: String,
    },
    /// Documents with one of these ids.
    Ids(Vec<String>),
    /// A query with its score multiplied.
    Boost {
        /// The query.
        query: Box<QueryAst>,
        /// The factor.
        boost: f32,
    },
    /// `lenient: true`: text that is no value of a field's type (a word on a number field)
    /// matches nothing there instead of failing the request.
    Lenient(Box<QueryAst>),
    /// `query`, or every document when `text` analyzes to no terms at all (a `match` with
    /// `zero_terms_query: all` on an empty or punctuation-only text).
    ZeroTermsAll {
        /// The query when the text has terms.
        query: Box<QueryAst>,
        /// The text.
        text: String,
    },
    /// A query whose documents all get the same score.
    ConstantScore {
        /// The filter.
        filter: Box<QueryAst>,
        /// The score.
        boost: f32,
    },
    /// `terms` with its values in a field of another document (`{"index", "id", "path"}`):
    /// replaced by the plain `terms` query before the search runs (see the engine).
    TermsLookup {
        /// The field the values are matched against.
        field: String,
        /// The index (or alias) holding the document.
        index: String,
        /// The document's id.
        id: String,
        /// The dotted path of the values in its `_source`.
        path: String,
    },
    /// Points of a `geo_point` field inside a region (`geo_bounding_box`, `geo_distance`,
    /// `geo_polygon`).
    Geo {
        /// The field.
        field: String,
        /// The region.
        shape: GeoShape,
        /// How a document's points must lie in the region.
        relation: GeoRelation,
        /// A shard without the field matches nothing instead of failing.
        ignore_unmapped: bool,
    },
}

impl QueryAst {
    /// Calls `f` on this query and every query inside it, outermost first.
    pub fn visit_mut(&mut self, f: &mut impl FnMut(&mut QueryAst)) {
        f(self);
        match self {
            QueryAst::Bool(b) => {
                for q in b
                    .must
                    .iter_mut()
                    .chain(&mut b.should)
                    .chain(&mut b.filter)
                    .chain(&mut b.must_not)
                {
                    q.visit_mut(f);
                }
            }
            QueryAst::DisMax { queries, .. } => {
                for q in queries {
                    q.visit_mut(f);
                }
            }
            QueryAst::Boost { query, .. } => query.visit_mut(f),
            QueryAst::Lenient(q) => q.visit_mut(f),
            QueryAst::ZeroTermsAll { query, .. } => query.visit_mut(f),
            QueryAst::ConstantScore { filter, .. } => filter.visit_mut(f),
            _ => {}
        }
    }
}

/// How a document's points relate to a geo query's region (`geo_shape`'s `relation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeoRelation {
    /// At least one point inside (every geo query but `geo_shape` asks this).
    Intersects,
    /// Every point inside.
    Within,
    /// Points, none inside.
    Disjoint,
}

/// A region of the earth that geo queries match points in (edges included).
#[derive(Debug, Clone, PartialEq)]
pub enum GeoShape {
    /// Between two latitudes and two longitudes; `left > right` crosses the antimeridian.
    Box {
        /// Northern edge.
        top: f64,
        /// Western edge.
        left: f64,
        /// Southern edge.
        bottom: f64,
        /// Eastern edge.
        right: f64,
    },
    /// Within a distance of a point.
    Circle {
        /// The centre.
        center: GeoPoint,
        /// The radius in metres.
        radius_m: f64,
    },
    /// Inside a polygon: its outer ring, then its holes (each ring's vertices in order; the
    /// last joins the first).
    Polygon(Vec<Vec<GeoPoint>>),
    /// Inside any of these.
    Any(Vec<GeoShape>),
}

/// Whether `p` is inside `ring` (even–odd rule: count the edges a ray going east crosses).
fn in_ring(ring: &[GeoPoint], p: GeoPoint) -> bool {
    let mut inside = false;
    let n = ring.len();
    for i in 0..n {
        let (a, b) = (ring[i], ring[(i + n - 1) % n]);
        if (a.lat > p.lat) != (b.lat > p.lat)
            && p.lon < (b.lon - a.lon) * (p.lat - a.lat) / (b.lat - a.lat) + a.lon
        {
            inside = !inside;
        }
    }
    inside
}

impl GeoShape {
    /// How many vertices its polygons have (each point is tested against every edge).
    pub fn vertices(&self) -> usize {
        match self {
            GeoShape::Box { .. } | GeoShape::Circle { .. } => 4,
            GeoShape::Polygon(rings) => rings.iter().map(Vec::len).sum(),
            GeoShape::Any(shapes) => shapes.iter().map(GeoShape::vertices).sum(),
        }
    }

    /// Whether `p` lies in the region.
    pub fn contains(&self, p: GeoPoint) -> bool {
        match self {
            GeoShape::Box {
                top,
                left,
                bottom,
                right,
            } => {
                let lon_in = if left <= right {
                    (*left..=*right).contains(&p.lon)
                } else {
                    p.lon >= *left || p.lon <= *right
                };
                (*bottom..=*top).contains(&p.lat) && lon_in
            }
            GeoShape::Circle { center, radius_m } => center.distance_m(p) <= *radius_m,
            GeoShape::Polygon(rings) => match rings.split_first() {
                Some((outer, holes)) => in_ring(outer, p) && !holes.iter().any(|h| in_ring(h, p)),
                None => false,
            },
            GeoShape::Any(shapes) => shapes.iter().any(|s| s.contains(p)),
        }
    }
}

/// ES's `bool` query.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BoolQuery {
    /// Must match, and scores.
    pub must: Vec<QueryAst>,
    /// Should match (at least `minimum_should_match` of them).
    pub should: Vec<QueryAst>,
    /// Must not match.
    pub must_not: Vec<QueryAst>,
    /// Must match, does not score.
    pub filter: Vec<QueryAst>,
    /// How many `should` clauses must match.
    pub minimum_should_match: Option<MinimumShouldMatch>,
}
