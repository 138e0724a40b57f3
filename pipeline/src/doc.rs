//! The document a pipeline works on, and field paths into it.
//!
//! As in Elasticsearch, a path is a dotted list of keys (`http.request.method`); a segment
//! that is a number indexes a list (`tags.0`). `_source.` at the front names the source
//! explicitly; `_ingest.` names the ingest metadata (`_ingest.timestamp`, the
//! `_ingest.on_failure_*` fields); `_index`, `_id`, `_routing` and `_version` are the
//! document's metadata. Everything else is the source.

use std::cell::OnceCell;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::error::Failure;

/// The most segments a path may have. Field names come from the data (`kv`'s keys, a
/// templated `field`), so without a bound one line of `a.a.a…` would nest the document deep
/// enough to overflow the stack when it is serialized or dropped. Deeper than the indexer's
/// parser reads (127 levels) a document could not be indexed anyway.
pub const MAX_PATH_DEPTH: usize = 127;

/// Metadata fields a pipeline can read and set, besides the source.
const METADATA: [&str; 4] = ["_index", "_id", "_routing", "_version"];

/// A document going through a pipeline.
///
/// Its metadata maps (`_index`, `_id`…; `_ingest.*`) are made only when a processor touches
/// them: most pipelines never do, and the document should cost nothing per record beyond its
/// source. Until then they are the shared values of [`Start`].
#[derive(Debug, Clone)]
pub struct IngestDoc {
    /// The source: what is indexed.
    pub source: Map<String, Value>,
    /// `_index`, `_id`, … (see the module's documentation), once made.
    meta: OnceCell<Map<String, Value>>,
    /// `_ingest.*`: `timestamp`, `pipeline`, the `on_failure_*` fields, once made.
    ingest: OnceCell<Map<String, Value>>,
    start: Start,
}

/// What a document's metadata is until a processor touches it.
#[derive(Debug, Clone)]
struct Start {
    index: Arc<str>,
    id: Option<String>,
    timestamp: Arc<str>,
    /// The pipeline running (`_ingest.pipeline`).
    pipeline: Option<Arc<str>>,
}

/// Which of the document's maps a path names, and the path within it.
#[derive(Debug, Clone, Copy)]
enum Root {
    Source,
    Meta,
    Ingest,
}

fn split(path: &str) -> (Root, &str) {
    if let Some(rest) = path.strip_prefix("_source.") {
        return (Root::Source, rest);
    }
    if let Some(rest) = path.strip_prefix("_ingest.") {
        return (Root::Ingest, rest);
    }
    let first = path.split('.').next().unwrap_or(path);
    if METADATA.contains(&first) {
        return (Root::Meta, path);
    }
    (Root::Source, path)
}

/// The value under `key`, made null if there is none. `Map::entry` would allocate the key even
/// when it is there: this allocates only for a new member.
fn entry<'m>(map: &'m mut Map<String, Value>, key: &str) -> &'m mut Value {
    // Two lookups either way (returning `get_mut`'s borrow from one branch is refused).
    if map.contains_key(key) {
        map.get_mut(key).expect("present")
    } else {
        map.entry(key.to_owned()).or_insert(Value::Null)
    }
}

/// A field path read once, for a processor whose field names are fixed (grok's captures):
/// which of the document's maps, and the path's segments.
#[derive(Debug, Clone)]
pub struct FieldPath {
    path: String,
    root: Root,
    segments: Vec<String>,
}

impl FieldPath {
    /// `path` read as [`IngestDoc::set`] reads it.
    pub fn new(path: &str) -> FieldPath {
        let (root, rest) = split(path);
        FieldPath {
            path: path.to_string(),
            root,
            segments: rest.split('.').map(str::to_string).collect(),
        }
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.path
    }
}

fn too_deep(path: &str) -> Failure {
    Failure::illegal(format!(
        "field path [{}…] has more than [{MAX_PATH_DEPTH}] levels",
        &path[..path.floor_char_boundary(64)]
    ))
}

/// The Java type Elasticsearch would name for a value in its messages.
pub fn java_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "java.lang.Boolean",
        Value::Number(n) if n.is_f64() => "java.lang.Double",
        Value::Number(n) => match n.as_i64() {
            Some(i) if i32::try_from(i).is_ok() => "java.lang.Integer",
            _ => "java.lang.Long",
        },
        Value::String(_) => "java.lang.String",
        Value::Array(_) => "java.util.ArrayList",
        Value::Object(_) => "java.util.HashMap",
    }
}

/// A value as Java's `toString` writes it, which Elasticsearch uses when it turns a value into
/// text (`convert` to string, `join`, messages): `[a, b]` for a list, `{k=v, k2=v2}` for an
/// object, `null`.
pub fn java_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(java_string).collect();
            format!("[{}]", parts.join(", "))
        }
        Value::Object(m) => {
            let parts: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{k}={}", java_string(v)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
        other => other.to_string(),
    }
}

/// `_ingest.pipeline` before a pipeline ran, to put back after it ([`IngestDoc::enter`]).
pub struct Previous(Option<Value>);

impl PartialEq for IngestDoc {
    fn eq(&self, other: &IngestDoc) -> bool {
        self.source == other.source
            && self.meta() == other.meta()
            && self.ingest() == other.ingest()
    }
}

impl IngestDoc {
    /// A document with `source`, going to `index`, with `id` if the client gave one;
    /// `timestamp` is `_ingest.timestamp` (when the request arrived, RFC 3339).
    pub fn new(
        source: Map<String, Value>,
        index: Arc<str>,
        id: Option<&str>,
        timestamp: Arc<str>,
    ) -> Self {
        IngestDoc {
            source,
            meta: OnceCell::new(),
            ingest: OnceCell::new(),
            start: Start {
                index,
                id: id.map(str::to_string),
                timestamp,
                pipeline: None,
            },
        }
    }

    /// The same document with no source (its metadata kept).
    pub fn without_source(&self) -> IngestDoc {
        IngestDoc {
            source: Map::new(),
            meta: self.meta.clone(),
            ingest: self.ingest.clone(),
            start: self.start.clone(),
        }
    }

    /// `_index`, `_id`, …
    pub fn meta(&self) -> &Map<String, Value> {
        self.meta.get_or_init(|| {
            let mut m = Map::new();
            m.insert("_index".into(), Value::String(self.start.index.to_string()));
            if let Some(id) = &self.start.id {
                m.insert("_id".into(), Value::String(id.clone()));
            }
            m
        })
    }

    /// `_ingest.*`.
    pub fn ingest(&self) -> &Map<String, Value> {
        self.ingest.get_or_init(|| {
            let mut m = Map::new();
            m.insert(
                "timestamp".into(),
                Value::String(self.start.timestamp.to_string()),
            );
            if let Some(p) = &self.start.pipeline {
                m.insert("pipeline".into(), Value::String(p.to_string()));
            }
            m
        })
    }

    /// `_ingest.*`, to change.
    pub fn ingest_mut(&mut self) -> &mut Map<String, Value> {
        self.ingest();
        self.ingest.get_mut().expect("made above")
    }

    fn meta_mut(&mut self) -> &mut Map<String, Value> {
        self.meta();
        self.meta.get_mut().expect("made above")
    }

    /// `_index` as the pipelines left it (a string when it is one).
    pub fn index(&self) -> Option<&str> {
        match self.meta.get() {
            None => Some(&self.start.index),
            Some(m) => m.get("_index").and_then(Value::as_str),
        }
    }

    /// `_index`'s value as the pipelines left it, for a message.
    pub fn index_value(&self) -> Option<&Value> {
        self.meta().get("_index")
    }

    /// `_id` as the pipelines left it (`None` when there is none, or it is null).
    pub fn id(&self) -> Option<String> {
        match self.meta.get() {
            None => self.start.id.clone(),
            Some(m) => match m.get("_id") {
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Null) | None => None,
                Some(other) => Some(other.to_string()),
            },
        }
    }

    /// Marks `pipeline` as the one running (`_ingest.pipeline`); what was there before is
    /// returned for [`leave`](Self::leave).
    pub fn enter(&mut self, pipeline: &Arc<str>) -> Previous {
        let before = self.start.pipeline.replace(pipeline.clone());
        match self.ingest.get_mut() {
            Some(m) => Previous(m.insert("pipeline".into(), Value::String(pipeline.to_string()))),
            None => Previous(before.map(|p| Value::String(p.to_string()))),
        }
    }

    /// Puts back `_ingest.pipeline` as it was before [`enter`](Self::enter).
    pub fn leave(&mut self, previous: Previous) {
        self.start.pipeline = match &previous.0 {
            Some(Value::String(s)) => Some(Arc::from(s.as_str())),
            Some(other) => Some(Arc::from(other.to_string())),
            None => None,
        };
        if let Some(m) = self.ingest.get_mut() {
            match previous.0 {
                Some(p) => m.insert("pipeline".into(), p),
                None => m.remove("pipeline"),
            };
        }
    }

    fn root(&self, root: Root) -> &Map<String, Value> {
        match root {
            Root::Source => &self.source,
            Root::Meta => self.meta(),
            Root::Ingest => self.ingest(),
        }
    }

    fn root_mut(&mut self, root: Root) -> &mut Map<String, Value> {
        match root {
            Root::Source => &mut self.source,
            Root::Meta => self.meta_mut(),
            Root::Ingest => self.ingest_mut(),
        }
    }

    /// The value at `path`, if there is one.
    pub fn get(&self, path: &str) -> Option<&Value> {
        let (root, rest) = split(path);
        let mut segments = rest.split('.');
        let mut cur = self.root(root).get(segments.next()?)?;
        for s in segments {
            cur = match cur {
                Value::Object(m) => m.get(s)?,
                Value::Array(a) => a.get(s.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(cur)
    }

    /// The value at `path`, mutably.
    pub fn get_mut(&mut self, path: &str) -> Option<&mut Value> {
        let (root, rest) = split(path);
        let mut segments = rest.split('.');
        let mut cur = self.root_mut(root).get_mut(segments.next()?)?;
        for s in segments {
            cur = match cur {
                Value::Object(m) => m.get_mut(s)?,
                Value::Array(a) => a.get_mut(s.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(cur)
    }

    /// Whether there is a value (possibly `null`) at `path`.
    pub fn has(&self, path: &str) -> bool {
        self.get(path).is_some()
    }

    /// The value at `path`, or Elasticsearch's error for a field that is not there.
    pub fn require(&self, path: &str) -> Result<&Value, Failure> {
        self.get(path).ok_or_else(|| not_present(path))
    }

    /// The string at `path`: Elasticsearch's errors for a missing, `null` or non-string value.
    pub fn require_str(&self, path: &str) -> Result<&str, Failure> {
        match self.require(path)? {
            Value::String(s) => Ok(s),
            Value::Null => Err(Failure::illegal(format!(
                "field [{path}] is null, cannot process it."
            ))),
            other => Err(Failure::illegal(format!(
                "field [{path}] of type [{}] cannot be cast to [java.lang.String]",
                java_type(other)
            ))),
        }
    }

    /// Sets `path` to `value`, making the objects on the way.
    pub fn set(&mut self, path: &str, value: Value) -> Result<(), Failure> {
        let slot = self.slot(path)?;
        *slot = value;
        Ok(())
    }

    /// The place `path` names, made if it is not there (objects on the way are made; a list
    /// on the way must already have the index).
    pub fn slot(&mut self, path: &str) -> Result<&mut Value, Failure> {
        let (root, rest) = split(path);
        if rest.split('.').nth(MAX_PATH_DEPTH).is_some() {
            return Err(too_deep(path));
        }
        self.slot_in(root, rest.split('.'), path)
    }

    /// [`set`](Self::set) at a path read once.
    pub fn set_at(&mut self, path: &FieldPath, value: Value) -> Result<(), Failure> {
        if path.segments.len() > MAX_PATH_DEPTH {
            return Err(too_deep(&path.path));
        }
        let slot = self.slot_in(
            path.root,
            path.segments.iter().map(String::as_str),
            &path.path,
        )?;
        *slot = value;
        Ok(())
    }

    /// The place the `segments` of `path` name under `root`, made if it is not there.
    fn slot_in<'p>(
        &mut self,
        root: Root,
        mut segments: impl Iterator<Item = &'p str>,
        path: &str,
    ) -> Result<&mut Value, Failure> {
        let first = segments.next().unwrap_or("");
        if first.is_empty() {
            return Err(Failure::illegal("path cannot be null nor empty"));
        }
        let mut cur = entry(self.root_mut(root), first);
        for s in segments {
            if cur.is_null() {
                *cur = Value::Object(Map::new());
            }
            cur = match cur {
                Value::Object(m) => entry(m, s),
                Value::Array(a) => {
                    let len = a.len();
                    let i = s.parse::<usize>().map_err(|_| {
                        Failure::illegal(format!(
                            "[{s}] is not an integer, cannot be used as an index as part of path [{path}]"
                        ))
                    })?;
                    a.get_mut(i).ok_or_else(|| {
                        Failure::illegal(format!(
                            "[{i}] is out of bounds for array with length [{len}] as part of path [{path}]"
                        ))
                    })?
                }
                other => {
                    return Err(Failure::illegal(format!(
                        "cannot set [{s}] with parent object of type [{}] as part of path [{path}]",
                        java_type(other)
                    )));
                }
            };
        }
        Ok(cur)
    }

    /// Removes and returns the value at `path`, if there is one.
    pub fn remove(&mut self, path: &str) -> Option<Value> {
        let (root, rest) = split(path);
        let (parent, last) = match rest.rsplit_once('.') {
            Some((p, l)) => (Some(p), l),
            None => (None, rest),
        };
        let map = self.root_mut(root);
        let container = match parent {
            None => return map.remove(last),
            Some(p) => {
                let mut segments = p.split('.');
                let mut cur = map.get_mut(segments.next()?)?;
                for s in segments {
                    cur = match cur {
                        Value::Object(m) => m.get_mut(s)?,
                        Value::Array(a) => a.get_mut(s.parse::<usize>().ok()?)?,
                        _ => return None,
                    };
                }
                cur
            }
        };
        match container {
            Value::Object(m) => m.remove(last),
            Value::Array(a) => {
                let i = last.parse::<usize>().ok()?;
                (i < a.len()).then(|| a.remove(i))
            }
            _ => None,
        }
    }

    /// Appends `value` (or each of its elements, if it is a list) to the field at `path`,
    /// turning a single value (`null` too) into a list; `allow_duplicates: false` skips values
    /// already in it, and leaves a single value as it is when nothing was added. A missing
    /// field gets every value, as Elasticsearch's `IngestDocument.appendFieldValue` does.
    pub fn append(
        &mut self,
        path: &str,
        value: Value,
        allow_duplicates: bool,
    ) -> Result<(), Failure> {
        let existed = self.has(path);
        let slot = self.slot(path)?;
        let new: Vec<Value> = match value {
            Value::Array(a) => a,
            v => vec![v],
        };
        if !existed {
            *slot = Value::Array(new);
            return Ok(());
        }
        if !allow_duplicates && !slot.is_array() {
            let current = [std::mem::take(slot)];
            let mut list = current.to_vec();
            for v in new {
                if !list.contains(&v) {
                    list.push(v);
                }
            }
            let [single] = current;
            *slot = if list.len() == 1 {
                single
            } else {
                Value::Array(list)
            };
            return Ok(());
        }
        let list = match slot {
            Value::Array(a) => a,
            other => {
                let single = std::mem::take(other);
                *other = Value::Array(vec![single]);
                other.as_array_mut().expect("just made")
            }
        };
        for v in new {
            if allow_duplicates || !list.contains(&v) {
                list.push(v);
            }
        }
        Ok(())
    }

    /// The document as `_simulate` shows it: `_index`, `_id`, … `_source` and `_ingest`.
    pub fn to_simulate_json(&self) -> Value {
        let mut out = Map::new();
        for (k, v) in self.meta() {
            out.insert(k.clone(), v.clone());
        }
        out.entry("_id")
            .or_insert_with(|| Value::String("_id".into()));
        out.insert("_source".into(), Value::Object(self.source.clone()));
        out.insert("_ingest".into(), Value::Object(self.ingest().clone()));
        Value::Object(out)
    }
}

/// Elasticsearch's error for a field that is not in the document.
pub fn not_present(path: &str) -> Failure {
    let last = path.rsplit('.').next().unwrap_or(path);
    Failure::illegal(format!(
        "field [{last}] not present as part of path [{path}]"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(v: Value) -> IngestDoc {
        IngestDoc::new(
            v.as_object().unwrap().clone(),
            "web".into(),
            None,
            "2026-12-03T00:00:00Z".into(),
        )
    }

    #[test]
    fn paths_read_and_write_nested_objects_lists_and_metadata() {
        let mut d = doc(json!({"a": {"b": 1}, "tags": ["x", "y"]}));
        assert_eq!(d.get("a.b"), Some(&json!(1)));
        assert_eq!(d.get("_source.a.b"), Some(&json!(1)));
        assert_eq!(d.get("tags.1"), Some(&json!("y")));
        assert_eq!(d.get("_index"), Some(&json!("web")));
        assert_eq!(
            d.get("_ingest.timestamp"),
            Some(&json!("2026-12-03T00:00:00Z"))
        );
        d.set("x.y.z", json!(true)).unwrap();
        assert_eq!(d.source["x"], json!({"y": {"z": true}}));
        d.set("tags.0", json!("w")).unwrap();
        assert_eq!(d.source["tags"], json!(["w", "y"]));
        let e = d.set("tags.5", json!(1)).unwrap_err();
        assert_eq!(
            e.reason,
            "[5] is out of bounds for array with length [2] as part of path [tags.5]"
        );
        let e = d.set("a.b.c", json!(1)).unwrap_err();
        assert_eq!(
            e.reason,
            "cannot set [c] with parent object of type [java.lang.Integer] as part of path [a.b.c]"
        );
        d.set("_id", json!("abc")).unwrap();
        assert_eq!(d.meta()["_id"], json!("abc"));
        assert!(!d.source.contains_key("_id"));
        assert_eq!(d.remove("a.b"), Some(json!(1)));
        assert_eq!(d.source["a"], json!({}));
        assert_eq!(d.remove("nope.x"), None);
        assert_eq!(
            d.require("q.r").unwrap_err().reason,
            "field [r] not present as part of path [q.r]"
        );
    }

    #[test]
    fn append_makes_a_list_and_can_skip_duplicates() {
        let mut d = doc(json!({"one": "a"}));
        d.append("one", json!(["b", "a"]), false).unwrap();
        assert_eq!(d.source["one"], json!(["a", "b"]));
        d.append("new", json!("z"), true).unwrap();
        assert_eq!(d.source["new"], json!(["z"]));
    }
}
