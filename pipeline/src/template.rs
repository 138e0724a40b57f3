//! `{{ }}` templates in processor options, as Elasticsearch's ingest processors take them
//! (`"value": "{{client.ip}} at {{_ingest.timestamp}}"`).
//!
//! Written here rather than with a Mustache crate: ingest templates use only field lookups
//! (`{{field}}` and the unescaped `{{{field}}}`, which render alike here since the output is
//! a field value, not HTML), and a lookup must resolve against the document's paths
//! ([`IngestDoc::get`]), which a general Mustache context does not.

use serde_json::Value;

use crate::doc::IngestDoc;
use crate::error::DefinitionError;

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    Field(String),
}

/// A compiled template: literal text and field lookups.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    parts: Vec<Part>,
}

impl Template {
    /// Compiles `source`; `property` names the option in errors.
    pub fn compile(property: &str, source: &str) -> Result<Template, DefinitionError> {
        let mut parts = Vec::new();
        let mut rest = source;
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                parts.push(Part::Text(rest[..start].to_string()));
            }
            let triple = rest[start..].starts_with("{{{");
            let (open, close) = if triple { (3, "}}}") } else { (2, "}}") };
            let after = &rest[start + open..];
            let end = after.find(close).ok_or_else(|| {
                DefinitionError::property(
                    property,
                    format!("template [{source}] has an unclosed tag"),
                )
            })?;
            let name = after[..end].trim();
            if name.is_empty() || name.starts_with(['#', '^', '/', '!', '>', '&']) {
                return Err(DefinitionError::property(
                    property,
                    format!(
                        "template [{source}]: only field lookups ({{{{field}}}}) are supported, not [{name}]"
                    ),
                ));
            }
            parts.push(Part::Field(name.to_string()));
            rest = &after[end + close.len()..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        Ok(Template { parts })
    }

    /// Whether the template is plain text, with no lookups.
    pub fn is_literal(&self) -> bool {
        self.parts.iter().all(|p| matches!(p, Part::Text(_)))
    }

    /// The template rendered against `doc`: a missing field renders as nothing.
    pub fn render(&self, doc: &IngestDoc) -> std::borrow::Cow<'_, str> {
        // Most templates are plain field names: no allocation per document for those.
        if let [Part::Text(t)] = self.parts.as_slice() {
            return std::borrow::Cow::Borrowed(t);
        }
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Field(f) => match doc.get(f) {
                    None | Some(Value::Null) => {}
                    Some(Value::String(s)) => out.push_str(s),
                    // Mustache walks a list as a map from index to element.
                    Some(Value::Array(items)) => {
                        let parts: Vec<String> = items
                            .iter()
                            .enumerate()
                            .map(|(i, v)| format!("{i}={}", crate::doc::java_string(v)))
                            .collect();
                        out.push_str(&format!("{{{}}}", parts.join(", ")));
                    }
                    Some(v) => out.push_str(&crate::doc::java_string(v)),
                },
            }
        }
        std::borrow::Cow::Owned(out)
    }
}

/// A value option that may hold templates (`set`'s `value`, `append`'s `value`): strings are
/// templates, in lists and objects too; other values are used as they are.
#[derive(Debug, Clone, PartialEq)]
pub enum ValueSource {
    /// A value with no templates in it.
    Fixed(Value),
    /// A string template.
    Text(Template),
    /// A list whose strings may be templates.
    List(Vec<ValueSource>),
    /// An object whose string values may be templates.
    Object(Vec<(String, ValueSource)>),
}

impl ValueSource {
    /// Compiles `value`; `property` names the option in errors.
    pub fn compile(property: &str, value: &Value) -> Result<ValueSource, DefinitionError> {
        Ok(match value {
            Value::String(s) => {
                let t = Template::compile(property, s)?;
                if t.is_literal() {
                    ValueSource::Fixed(value.clone())
                } else {
                    ValueSource::Text(t)
                }
            }
            Value::Array(a) => {
                let items = a
                    .iter()
                    .map(|v| ValueSource::compile(property, v))
                    .collect::<Result<Vec<_>, _>>()?;
                if items.iter().all(|i| matches!(i, ValueSource::Fixed(_))) {
                    ValueSource::Fixed(value.clone())
                } else {
                    ValueSource::List(items)
                }
            }
            Value::Object(m) => {
                let items = m
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), ValueSource::compile(property, v)?)))
                    .collect::<Result<Vec<_>, DefinitionError>>()?;
                if items
                    .iter()
                    .all(|(_, i)| matches!(i, ValueSource::Fixed(_)))
                {
                    ValueSource::Fixed(value.clone())
                } else {
                    ValueSource::Object(items)
                }
            }
            other => ValueSource::Fixed(other.clone()),
        })
    }

    /// The value for `doc`.
    pub fn render(&self, doc: &IngestDoc) -> Value {
        match self {
            ValueSource::Fixed(v) => v.clone(),
            ValueSource::Text(t) => Value::String(t.render(doc).into_owned()),
            ValueSource::List(items) => Value::Array(items.iter().map(|i| i.render(doc)).collect()),
            ValueSource::Object(items) => Value::Object(
                items
                    .iter()
                    .map(|(k, v)| (k.clone(), v.render(doc)))
                    .collect(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lookups_render_fields_and_metadata_and_missing_ones_render_empty() {
        let src = json!({"client": {"ip": "10.0.0.1"}, "n": 3});
        let doc = IngestDoc::new(
            src.as_object().unwrap().clone(),
            "web".into(),
            None,
            "T".into(),
        );
        let t = Template::compile(
            "value",
            "{{client.ip}}/{{{n}}}/{{_index}}/{{nope}}@{{_ingest.timestamp}}",
        )
        .unwrap();
        assert_eq!(t.render(&doc), "10.0.0.1/3/web/@T");
        let e = Template::compile("value", "{{#list}}x{{/list}}").unwrap_err();
        assert_eq!(e.property_name.as_deref(), Some("value"));
        let v = ValueSource::compile("value", &json!(["{{n}}", 1])).unwrap();
        assert_eq!(v.render(&doc), json!(["3", 1]));
    }
}
