//! Reading an aggregation's options the way Elasticsearch does: numbers may come as strings
//! (Grafana sends `"size": "10"`), unknown options are errors that name the option.

use serde_json::{Map, Value};

use crate::error::QueryError;

/// The options object of one aggregation.
pub(crate) struct Args<'a> {
    /// Aggregation type, for messages.
    pub kind: &'static str,
    /// The options.
    pub o: &'a Map<String, Value>,
}

impl<'a> Args<'a> {
    /// The options of aggregation `kind`, which must be an object.
    pub fn new(kind: &'static str, v: &'a Value) -> Result<Args<'a>, QueryError> {
        let o = v.as_object().ok_or_else(|| {
            QueryError::Parsing(format!("[{kind}] aggregation must be an object, got [{v}]"))
        })?;
        Ok(Args { kind, o })
    }

    /// Fails on an option not in `known`.
    pub fn allow(&self, known: &[&str]) -> Result<(), QueryError> {
        for (key, v) in self.o {
            if key == "script" {
                return Err(QueryError::Unsupported {
                    what: format!("[script] in the [{}] aggregation", self.kind),
                });
            }
            if !known.contains(&key.as_str()) && !v.is_null() {
                // ES reads aggregation options with an object parser, which answers
                // `x_content_parse_exception`.
                return Err(QueryError::XContentParse(format!(
                    "[{}] unknown field [{key}]",
                    self.kind
                )));
            }
        }
        Ok(())
    }

    /// The raw option.
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.o.get(key).filter(|v| !v.is_null())
    }

    /// The required `field`.
    pub fn field(&self) -> Result<String, QueryError> {
        self.str("field")?.ok_or_else(|| {
            QueryError::IllegalArgument(format!(
                "Required one of fields [field, script], but none were specified. (in the [{}] aggregation)",
                self.kind
            ))
        })
    }

    /// A string option.
    pub fn str(&self, key: &str) -> Result<Option<String>, QueryError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(self.bad(key, "a string", other)),
        }
    }

    /// A number option (numbers as strings are accepted).
    pub fn f64(&self, key: &str) -> Result<Option<f64>, QueryError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => number(v)
                .map(Some)
                .ok_or_else(|| self.bad(key, "a number", v)),
        }
    }

    /// A non-negative integer option.
    pub fn u64(&self, key: &str) -> Result<Option<u64>, QueryError> {
        match self.f64(key)? {
            None => Ok(None),
            Some(x) if x >= 0.0 && x.fract() == 0.0 && x <= u64::MAX as f64 => Ok(Some(x as u64)),
            Some(x) => Err(QueryError::IllegalArgument(format!(
                "[{key}] must be a non-negative integer in [{}], got [{x}]",
                self.kind
            ))),
        }
    }

    /// A boolean option (`"true"` accepted).
    pub fn bool(&self, key: &str) -> Result<Option<bool>, QueryError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) if s == "true" || s == "false" => Ok(Some(s == "true")),
            Some(other) => Err(self.bad(key, "a boolean", other)),
        }
    }

    fn bad(&self, key: &str, want: &str, got: &Value) -> QueryError {
        QueryError::XContentParse(format!(
            "[{}] failed to parse field [{key}]: must be {want}, got [{got}]",
            self.kind
        ))
    }
}

/// A JSON number, or a string that spells one.
pub(crate) fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|x| x.is_finite()),
        _ => None,
    }
}
