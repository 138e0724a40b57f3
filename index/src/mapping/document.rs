//! One record as a tantivy document, built in a single pass over its JSON and without copying
//! its strings: the record is kept once (it is `_source`), strings are offsets into it, and the
//! dynamic text tree (`_text`) and exact-value tree (`_val`) are two views of one flat tape of
//! the record's members. This runs once per record on the indexing hot path; building
//! `OwnedValue` trees and a `TantivyDocument` from them allocated every key and string three
//! times.

use crate::timestamp::tantivy_date;
use tantivy::DateTime;
use tantivy::schema::document::{Document, ReferenceValue, ReferenceValueLeaf, Value};
use tantivy::schema::{Field, OwnedValue};

use super::{IGNORE_ABOVE, SchemaFields};

mod build;
pub(crate) use build::build;

/// A string of the record: a range of its source, or of the side buffer for strings that had
/// escapes.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: u32,
    len: u32,
    unescaped: bool,
}

const NO_KEY: Span = Span {
    start: 0,
    len: 0,
    unescaped: false,
};

/// The subtree holds a string (something for `_text`).
const TEXT: u8 = 1;
/// The subtree holds an exact value (something for `_val`).
const EXACT: u8 = 2;

#[derive(Debug, Clone, Copy)]
enum Kind {
    Str(Span),
    I64(i64),
    U64(u64),
    F64(f64),
    Bool(bool),
    /// A string detected as a date (epoch ms): a date in `_val`, not text.
    Date(i64),
    /// Members follow, up to node `end` (exclusive).
    Object {
        end: u32,
        holds: u8,
    },
    /// Elements follow, up to node `end` (exclusive).
    Array {
        end: u32,
        holds: u8,
    },
}

/// One member of an object (with its key) or element of an array, in document order; a
/// container's members come right after it.
#[derive(Debug, Clone, Copy)]
struct Node {
    key: Span,
    kind: Kind,
}

/// Which tree a value is seen through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// `_text`: strings only.
    Text,
    /// `_val`: numbers, booleans and strings up to [`IGNORE_ABOVE`] bytes.
    Exact,
}

/// A record ready for the index writer.
pub struct LogDoc {
    fields: SchemaFields,
    id: String,
    timestamp: DateTime,
    /// The record exactly as sent (valid UTF-8: it parsed as JSON).
    source: String,
    /// Strings that had escapes, unescaped.
    unescaped: String,
    /// The record's members; node 0 is the record itself, when it has any dynamic value.
    nodes: Vec<Node>,
    /// Values of explicitly mapped fields, coerced to their types.
    explicit: Vec<(Field, OwnedValue)>,
    /// Sequence number (0: none).
    seq_no: u64,
}

impl std::fmt::Debug for LogDoc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogDoc")
            .field("id", &self.id)
            .field("source_len", &self.source.len())
            .field("nodes", &self.nodes.len())
            .finish()
    }
}

impl LogDoc {
    /// Sets the document's sequence number (its write-ahead-log position).
    pub fn set_seq_no(&mut self, seq_no: u64) {
        self.seq_no = seq_no;
    }

    fn str(&self, s: Span) -> &str {
        let buf = if s.unescaped {
            &self.unescaped
        } else {
            &self.source
        };
        let (start, end) = (s.start as usize, s.start as usize + s.len as usize);
        buf.get(start..end).unwrap_or("")
    }

    fn root_holds(&self) -> u8 {
        match self.nodes.first().map(|n| n.kind) {
            Some(Kind::Object { holds, .. }) => holds,
            _ => 0,
        }
    }

    /// The first value of `field` (tests, and checks of explicit fields).
    pub fn get_first(&self, field: Field) -> Option<DocValue<'_>> {
        self.iter_fields_and_values()
            .find(|(f, _)| *f == field)
            .map(|(_, v)| v)
    }
}

/// A value of a [`LogDoc`], as tantivy reads it.
#[derive(Debug, Clone)]
pub enum DocValue<'a> {
    /// A leaf held outside the tape (id, time, source, explicit fields).
    Leaf(ReferenceValueLeaf<'a>),
    /// A tape node seen through one of the dynamic trees.
    Node {
        /// The document holding the tape.
        doc: &'a LogDoc,
        /// The node's place on the tape.
        at: u32,
        /// The tree it is seen through.
        view: View,
    },
}

fn visible(node: &Node, view: View) -> bool {
    match (node.kind, view) {
        (Kind::Object { holds, .. } | Kind::Array { holds, .. }, View::Text) => holds & TEXT != 0,
        (Kind::Object { holds, .. } | Kind::Array { holds, .. }, View::Exact) => holds & EXACT != 0,
        (Kind::Str(_), View::Text) => true,
        (_, View::Text) => false,
        (Kind::Str(s), View::Exact) => s.len as usize <= IGNORE_ABOVE,
        (_, View::Exact) => true,
    }
}

/// The members of a container visible in a view.
#[derive(Debug, Clone)]
pub struct Members<'a> {
    doc: &'a LogDoc,
    at: u32,
    end: u32,
    view: View,
}

impl<'a> Members<'a> {
    fn next_node(&mut self) -> Option<(u32, &'a Node)> {
        while self.at < self.end {
            let at = self.at;
            let node = self.doc.nodes.get(at as usize)?;
            self.at = match node.kind {
                Kind::Object { end, .. } | Kind::Array { end, .. } => end,
                _ => at + 1,
            };
            if visible(node, self.view) {
                return Some((at, node));
            }
        }
        None
    }
}

/// Elements of an array.
#[derive(Debug, Clone)]
pub struct Elements<'a>(Members<'a>);

impl<'a> Iterator for Elements<'a> {
    type Item = DocValue<'a>;

    fn next(&mut self) -> Option<DocValue<'a>> {
        let m = &mut self.0;
        let (at, _) = m.next_node()?;
        Some(DocValue::Node {
            doc: m.doc,
            at,
            view: m.view,
        })
    }
}

impl<'a> Iterator for Members<'a> {
    type Item = (&'a str, DocValue<'a>);

    fn next(&mut self) -> Option<(&'a str, DocValue<'a>)> {
        let (at, node) = self.next_node()?;
        Some((
            self.doc.str(node.key),
            DocValue::Node {
                doc: self.doc,
                at,
                view: self.view,
            },
        ))
    }
}

impl<'a> Value<'a> for DocValue<'a> {
    type ArrayIter = Elements<'a>;
    type ObjectIter = Members<'a>;

    fn as_value(&self) -> ReferenceValue<'a, Self> {
        let (doc, at, view) = match self {
            DocValue::Leaf(leaf) => return ReferenceValue::Leaf(leaf.clone()),
            DocValue::Node { doc, at, view } => (*doc, *at, *view),
        };
        let Some(node) = doc.nodes.get(at as usize) else {
            return ReferenceValue::Leaf(ReferenceValueLeaf::Null);
        };
        let members = |end| Members {
            doc,
            at: at + 1,
            end,
            view,
        };
        ReferenceValue::Leaf(match node.kind {
            Kind::Str(s) => ReferenceValueLeaf::Str(doc.str(s)),
            Kind::I64(i) => ReferenceValueLeaf::I64(i),
            Kind::U64(u) => ReferenceValueLeaf::U64(u),
            Kind::F64(x) => ReferenceValueLeaf::F64(x),
            Kind::Bool(b) => ReferenceValueLeaf::Bool(b),
            Kind::Date(ms) => ReferenceValueLeaf::Date(tantivy_date(ms)),
            Kind::Object { end, .. } => return ReferenceValue::Object(members(end)),
            Kind::Array { end, .. } => return ReferenceValue::Array(Elements(members(end))),
        })
    }
}

/// The fields of a [`LogDoc`]: id, time, source, explicit fields, then the dynamic trees.
#[derive(Debug)]
pub struct FieldValues<'a> {
    doc: &'a LogDoc,
    step: usize,
}

impl<'a> Iterator for FieldValues<'a> {
    type Item = (Field, DocValue<'a>);

    fn next(&mut self) -> Option<(Field, DocValue<'a>)> {
        let doc = self.doc;
        let f = &doc.fields;
        loop {
            let step = self.step;
            self.step += 1;
            let n = doc.explicit.len();
            return Some(match step {
                0 => (f.id, DocValue::Leaf(ReferenceValueLeaf::Str(&doc.id))),
                1 => (
                    f.timestamp,
                    DocValue::Leaf(ReferenceValueLeaf::Date(doc.timestamp)),
                ),
                2 => (
                    f.source,
                    DocValue::Leaf(ReferenceValueLeaf::Bytes(doc.source.as_bytes())),
                ),
                s if s < 3 + n => {
                    let (field, value) = &doc.explicit[s - 3];
                    match value.as_value() {
                        ReferenceValue::Leaf(leaf) => (*field, DocValue::Leaf(leaf)),
                        _ => continue,
                    }
                }
                s if s == 3 + n || s == 4 + n => {
                    let (field, view, bit) = if s == 3 + n {
                        (f.text, View::Text, TEXT)
                    } else {
                        (f.value, View::Exact, EXACT)
                    };
                    if doc.root_holds() & bit == 0 {
                        continue;
                    }
                    (field, DocValue::Node { doc, at: 0, view })
                }
                s if s == 5 + n => match f.seq_no {
                    Some(field) if doc.seq_no > 0 => {
                        (field, DocValue::Leaf(ReferenceValueLeaf::U64(doc.seq_no)))
                    }
                    _ => continue,
                },
                _ => return None,
            });
        }
    }
}

impl Document for LogDoc {
    type Value<'a> = DocValue<'a>;
    type FieldsValuesIter<'a> = FieldValues<'a>;

    fn iter_fields_and_values(&self) -> FieldValues<'_> {
        FieldValues { doc: self, step: 0 }
    }
}
