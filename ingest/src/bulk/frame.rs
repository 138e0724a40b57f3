//! Framing a bulk body: action/source line pairs into items, each with its target, `_id`,
//! pipeline and source line (or why it has none worth accepting). Only action lines are parsed.

use hydrant_http::ndjson::{Line, lines};
use serde_json::{Map, Value};

use crate::accept::{RecordError, check_id};

/// One action of a bulk request, framed: what it targets, and its source line or why it has
/// none worth accepting.
#[derive(Debug, Clone)]
pub struct BulkItem {
    /// `index`, `create`, `update` or `delete` (as named in the request).
    pub action: &'static str,
    /// The target (`_index`, or the path's index).
    pub index: Option<String>,
    /// The `_id` given, if any.
    pub id: Option<String>,
    /// The ingest pipeline the action line names, if any.
    pub pipeline: Option<String>,
    /// The source line's range in the body, or why this item fails before its content is read.
    pub source: Result<std::ops::Range<usize>, RecordError>,
}

const ACTIONS: [&str; 4] = ["index", "create", "update", "delete"];

/// The usual action line, read without building a JSON tree (the hot path of `_bulk`).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionLine<'a> {
    #[serde(borrow, default)]
    index: Option<FastMeta<'a>>,
    #[serde(borrow, default)]
    create: Option<FastMeta<'a>>,
}

#[derive(serde::Deserialize)]
struct FastMeta<'a> {
    #[serde(rename = "_index", borrow, default)]
    index: Option<std::borrow::Cow<'a, str>>,
    #[serde(rename = "_id", borrow, default)]
    id: Option<&'a serde_json::value::RawValue>,
    #[serde(borrow, default)]
    pipeline: Option<std::borrow::Cow<'a, str>>,
}

/// An action line's action, `_index`, `_id` and `pipeline`.
type Action = (&'static str, Option<String>, Option<String>, Option<String>);

/// `index`/`create` lines with a string or number `_id`, read fast; anything else is `None`
/// and goes through [`parse_action`].
fn parse_action_fast(line: &[u8]) -> Option<Action> {
    let a: ActionLine<'_> = serde_json::from_slice(line).ok()?;
    let (action, meta) = match (a.index, a.create) {
        (Some(m), None) => ("index", m),
        (None, Some(m)) => ("create", m),
        _ => return None,
    };
    let id = match meta.id {
        None => None,
        Some(raw) => match serde_json::from_str::<Value>(raw.get()).ok()? {
            Value::String(s) => Some(s),
            Value::Number(n) => Some(n.to_string()),
            _ => return None,
        },
    };
    Some((
        action,
        meta.index.map(|c| c.into_owned()),
        id,
        meta.pipeline.map(|c| c.into_owned()),
    ))
}

/// The action name and its metadata, when `line` is a well-formed action line. Keys after the
/// action (`{"index":{…},"attempts":0}`, as winston-elasticsearch sends) are ignored with a
/// warning, as Elasticsearch 8 does; `warnings` gets the warning once per request.
fn parse_action(
    line: &Line<'_>,
    warnings: &mut Vec<String>,
) -> Result<(&'static str, Map<String, Value>), RecordError> {
    let malformed = |kind: &'static str, reason: String| RecordError::MalformedAction {
        line: line.number,
        kind,
        reason,
    };
    let members: Members = serde_json::from_slice(line.bytes).map_err(|e| {
        malformed(
            "x_content_parse_exception",
            format!("malformed action/metadata line: {e}"),
        )
    })?;
    let illegal = |reason: String| malformed("illegal_argument_exception", reason);
    let Members::Object(members) = members else {
        return Err(illegal(
            "Malformed action/metadata line, expected START_OBJECT".into(),
        ));
    };
    let mut iter = members.into_iter();
    let (action, meta) = iter
        .next()
        .ok_or_else(|| illegal("Malformed action/metadata line, expected a field".into()))?;
    let Some(action) = ACTIONS.into_iter().find(|a| *a == action) else {
        return Err(illegal(format!(
            "Malformed action/metadata line, expected field [create], [delete], [index] or [update] but found [{action}]"
        )));
    };
    if let Some((extra, _)) = iter.next() {
        let warning = format!(
            "Malformed action/metadata line [{}], expected END_OBJECT but found [{extra}]: ignored, as a future version will refuse it",
            line.number
        );
        if warnings.is_empty() {
            warnings.push(warning);
        }
    }
    match meta {
        Value::Object(m) => Ok((action, m)),
        _ => Err(illegal(format!(
            "Malformed action/metadata line, [{action}] must be an object"
        ))),
    }
}

/// A JSON value read with an object's members in the order they were written (serde_json's
/// map sorts its keys, and in an action line the first key is the action).
enum Members {
    Object(Vec<(String, Value)>),
    Other,
}

impl<'de> serde::Deserialize<'de> for Members {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Members, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Members;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Members, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Value>()? {
                    out.push((k, v));
                }
                Ok(Members::Object(out))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Members, A::Error> {
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(Members::Other)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Members, E> {
                Ok(Members::Other)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Members, E> {
                Ok(Members::Other)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Members, E> {
                Ok(Members::Other)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Members, E> {
                Ok(Members::Other)
            }
            fn visit_str<E>(self, _: &str) -> Result<Members, E> {
                Ok(Members::Other)
            }
            fn visit_unit<E>(self) -> Result<Members, E> {
                Ok(Members::Other)
            }
        }
        d.deserialize_any(V)
    }
}

fn meta_string(meta: &Map<String, Value>, key: &str) -> Option<String> {
    match meta.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The `_index` and `_id` a refused action line was sent with, when it is a JSON object whose
/// member holds them, so that its item names them as Elasticsearch's would.
fn salvage_target(line: &[u8]) -> (Option<String>, Option<String>) {
    let Ok(Value::Object(outer)) = serde_json::from_slice::<Value>(line) else {
        return (None, None);
    };
    let Some(meta) = outer.values().find_map(Value::as_object) else {
        return (None, None);
    };
    (meta_string(meta, "_index"), meta_string(meta, "_id"))
}

/// Frames a bulk body into items, in request order, with the warnings of lenient reading. Only
/// the action lines are parsed here; sources are accepted later, by their stream.
pub fn frame_bulk(body: &[u8], default_index: Option<&str>) -> (Vec<BulkItem>, Vec<String>) {
    let mut warnings = Vec::new();
    let items = frame_items(body, default_index, &mut warnings);
    (items, warnings)
}

fn frame_items(
    body: &[u8],
    default_index: Option<&str>,
    warnings: &mut Vec<String>,
) -> Vec<BulkItem> {
    let lines: Vec<Line<'_>> = lines(body).filter(|l| !l.is_blank()).collect();
    let mut items = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let action_line = &lines[i];
        i += 1;
        let parsed = match parse_action_fast(action_line.bytes) {
            Some(a) => Ok(a),
            None => parse_action(action_line, warnings).map(|(action, meta)| {
                let index = meta_string(&meta, "_index");
                let id = meta_string(&meta, "_id");
                let pipeline = meta_string(&meta, "pipeline");
                (action, index, id, pipeline)
            }),
        };
        let (action, index, id, pipeline) = match parsed {
            Ok(a) => a,
            Err(e) => {
                // Without a readable action we cannot know whether a source line follows;
                // a next line that is not itself an action is taken as this one's source.
                if i < lines.len() && parse_action(&lines[i], &mut Vec::new()).is_err() {
                    i += 1;
                }
                let (index, id) = salvage_target(action_line.bytes);
                items.push(BulkItem {
                    action: "index",
                    index: index.or_else(|| default_index.map(str::to_string)),
                    id,
                    pipeline: None,
                    source: Err(e),
                });
                continue;
            }
        };
        let index = index.or_else(|| default_index.map(str::to_string));
        let source_line = if action == "delete" {
            None
        } else {
            let s = lines.get(i);
            if s.is_some() {
                i += 1;
            }
            s
        };
        let source = match action {
            "update" | "delete" if id.is_none() => Err(RecordError::MissingId),
            "delete" if index.is_none() => Err(RecordError::MissingIndex),
            // A deletion has no source line: its item carries an empty range.
            "delete" => Ok(0..0),
            _ => check_item(index.as_deref(), id.as_deref(), source_line),
        };
        items.push(BulkItem {
            action,
            index,
            id,
            pipeline,
            source,
        });
    }
    items
}

/// What `_bulk` itself requires of an item: an index, an acceptable `_id`, a source line.
fn check_item(
    index: Option<&str>,
    id: Option<&str>,
    source: Option<&Line<'_>>,
) -> Result<std::ops::Range<usize>, RecordError> {
    if index.is_none() {
        return Err(RecordError::MissingIndex);
    }
    if let Some(id) = id {
        check_id(id)?;
    }
    source.map(Line::range).ok_or(RecordError::MissingSource)
}
