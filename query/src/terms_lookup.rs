//! `terms` lookup: `{"terms": {"user.id": {"index": "users", "id": "2", "path": "followers"}}}`
//! matches the values found at `path` in the `_source` of document `id` of `index`. Before a
//! search runs, each lookup is replaced by the plain `terms` query of those values (none: a
//! query matching nothing; no such document: the same, as in Elasticsearch).

use serde_json::Value;

use crate::ast::{BoolQuery, QueryAst};
use crate::error::QueryError;

/// Reads document `id` of index `index`: its `_source`, `None` when there is no such document.
pub type Fetch<'a> = dyn Fn(&str, &str) -> Result<Option<Vec<u8>>, QueryError> + 'a;

/// Elasticsearch's `index.max_terms_count`.
pub const MAX_TERMS: usize = 65_536;

/// Replaces every lookup in `q`; `fetch(index, id)` returns the document's `_source`.
pub fn resolve(q: &mut QueryAst, fetch: &Fetch<'_>) -> Result<(), QueryError> {
    let mut failed = None;
    q.visit_mut(&mut |node| {
        if failed.is_some() {
            return;
        }
        let QueryAst::TermsLookup {
            field,
            index,
            id,
            path,
        } = node
        else {
            return;
        };
        match lookup(field, index, id, path, fetch) {
            Ok(terms) => *node = terms,
            Err(e) => failed = Some(e),
        }
    });
    failed.map_or(Ok(()), Err)
}

fn lookup(
    field: &str,
    index: &str,
    id: &str,
    path: &str,
    fetch: &Fetch<'_>,
) -> Result<QueryAst, QueryError> {
    let Some(source) = fetch(index, id)? else {
        return Ok(QueryAst::MatchNone);
    };
    let doc: Value = serde_json::from_slice(&source)
        .map_err(|e| QueryError::Search(format!("the lookup document [{id}] is not JSON: {e}")))?;
    let parts: Vec<&str> = path.split('.').collect();
    let mut values = Vec::new();
    extract(&doc, &parts, &mut values);
    if values.len() > MAX_TERMS {
        return Err(QueryError::IllegalArgument(format!(
            "The number of terms [{}] used in the Terms Query request has exceeded the allowed maximum of [{MAX_TERMS}]. This maximum can be set by changing the [index.max_terms_count] index level setting.",
            values.len()
        )));
    }
    if values.is_empty() {
        return Ok(QueryAst::MatchNone);
    }
    Ok(QueryAst::Bool(BoolQuery {
        should: values
            .into_iter()
            .map(|value| QueryAst::Term {
                field: field.to_string(),
                value,
            })
            .collect(),
        ..BoolQuery::default()
    }))
}

/// The leaf values at `path` under `v`: arrays are walked through, and a key may itself hold
/// dots (`{"a.b": 1}` is at `a.b`, as Elasticsearch reads sources).
fn extract(v: &Value, path: &[&str], out: &mut Vec<String>) {
    match v {
        Value::Array(items) => {
            for item in items {
                extract(item, path, out);
            }
        }
        Value::Object(o) if !path.is_empty() => {
            for n in 1..=path.len() {
                if let Some(child) = o.get(&path[..n].join(".")) {
                    extract(child, &path[n..], out);
                }
            }
        }
        _ if !path.is_empty() => {}
        Value::String(s) => out.push(s.clone()),
        Value::Number(n) => out.push(n.to_string()),
        Value::Bool(b) => out.push(b.to_string()),
        Value::Null | Value::Object(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn values_are_found_through_arrays_and_dotted_keys() {
        let doc = json!({"a": [{"b": ["x", 1]}, {"b": true}], "c.d": {"e": "y"}, "f": null});
        let get = |p: &str| {
            let mut out = Vec::new();
            extract(&doc, &p.split('.').collect::<Vec<_>>(), &mut out);
            out
        };
        assert_eq!(get("a.b"), vec!["x", "1", "true"]);
        assert_eq!(get("c.d.e"), vec!["y"]);
        assert!(get("f").is_empty());
        assert!(get("a").is_empty(), "objects are no values");
    }

    #[test]
    fn lookups_become_terms_or_nothing() {
        let fetch = |index: &str, id: &str| -> Result<Option<Vec<u8>>, QueryError> {
            assert_eq!(index, "users");
            Ok((id == "1").then(|| br#"{"follows": ["ann", "bob"]}"#.to_vec()))
        };
        let mut q = crate::dsl::parse_query(&json!({"bool": {"filter": {"terms": {"user": {
            "index": "users", "id": "1", "path": "follows"}}}}}))
        .unwrap();
        resolve(&mut q, &fetch).unwrap();
        let text = format!("{q:?}");
        assert!(
            text.contains("\"ann\"") && text.contains("\"bob\""),
            "{text}"
        );
        assert!(!text.contains("TermsLookup"), "{text}");
        let mut q = crate::dsl::parse_query(&json!({"terms": {"user": {
            "index": "users", "id": "2", "path": "follows"}}}))
        .unwrap();
        resolve(&mut q, &fetch).unwrap();
        assert!(format!("{q:?}").contains("MatchNone"));
    }
}
