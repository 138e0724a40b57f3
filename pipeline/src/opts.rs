//! Reading a processor's options the way Elasticsearch reads them: each option taken once,
//! with ES's errors for one that is missing or of the wrong type, and every option left over
//! at the end named as unsupported.

use serde_json::{Map, Value};

use crate::doc::java_type;
use crate::error::DefinitionError;
use crate::template::{Template, ValueSource};

/// The options of one processor, being read.
pub struct Opts {
    kind: String,
    map: Map<String, Value>,
}

impl Opts {
    /// The options `map` of a processor of type `kind`.
    pub fn new(kind: &str, map: Map<String, Value>) -> Opts {
        Opts {
            kind: kind.to_string(),
            map,
        }
    }

    /// Takes the option `key`, if present (a `null` counts as absent).
    pub fn take(&mut self, key: &str) -> Option<Value> {
        self.map.remove(key).filter(|v| !v.is_null())
    }

    /// A required string option.
    pub fn string(&mut self, key: &str) -> Result<String, DefinitionError> {
        self.opt_string(key)?
            .ok_or_else(|| DefinitionError::property(key, "required property is missing"))
    }

    /// An optional string option (numbers and booleans are read as their text, as ES does).
    pub fn opt_string(&mut self, key: &str) -> Result<Option<String>, DefinitionError> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(v @ (Value::Number(_) | Value::Bool(_))) => Ok(Some(v.to_string())),
            Some(v) => Err(DefinitionError::property(
                key,
                format!("property isn't a string, but of type [{}]", java_type(&v)),
            )),
        }
    }

    /// A boolean option with its default (`"true"`/`"false"` strings are read too).
    pub fn bool_or(&mut self, key: &str, default: bool) -> Result<bool, DefinitionError> {
        match self.take(key) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(b),
            Some(Value::String(s)) if s == "true" || s == "false" => Ok(s == "true"),
            Some(v) => Err(DefinitionError::property(
                key,
                format!("property isn't a boolean, but of type [{}]", java_type(&v)),
            )),
        }
    }

    /// A list of strings; a single string is taken as a list of one when `single_ok`.
    pub fn opt_strings(
        &mut self,
        key: &str,
        single_ok: bool,
    ) -> Result<Option<Vec<String>>, DefinitionError> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::String(s)) if single_ok => Ok(Some(vec![s])),
            Some(Value::Array(a)) => a
                .into_iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s),
                    other => Err(DefinitionError::property(
                        key,
                        format!(
                            "property isn't a list of strings: found [{}]",
                            java_type(&other)
                        ),
                    )),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(v) => Err(DefinitionError::property(
                key,
                format!("property isn't a list, but of type [{}]", java_type(&v)),
            )),
        }
    }

    /// A required list of strings.
    pub fn strings(&mut self, key: &str, single_ok: bool) -> Result<Vec<String>, DefinitionError> {
        self.opt_strings(key, single_ok)?
            .ok_or_else(|| DefinitionError::property(key, "required property is missing"))
    }

    /// An optional object option.
    pub fn opt_map(&mut self, key: &str) -> Result<Option<Map<String, Value>>, DefinitionError> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::Object(m)) => Ok(Some(m)),
            Some(v) => Err(DefinitionError::property(
                key,
                format!("property isn't a map, but of type [{}]", java_type(&v)),
            )),
        }
    }

    /// A required field-name option that may be a template (`field`, `target_field`).
    pub fn template(&mut self, key: &str) -> Result<Template, DefinitionError> {
        let s = self.string(key)?;
        Template::compile(key, &s)
    }

    /// An optional template option.
    pub fn opt_template(&mut self, key: &str) -> Result<Option<Template>, DefinitionError> {
        self.opt_string(key)?
            .map(|s| Template::compile(key, &s))
            .transpose()
    }

    /// A required value option whose strings may be templates (`set`'s and `append`'s
    /// `value`).
    pub fn value_source(&mut self, key: &str) -> Result<ValueSource, DefinitionError> {
        match self.map.remove(key) {
            None => Err(DefinitionError::property(
                key,
                "required property is missing",
            )),
            Some(v) => ValueSource::compile(key, &v),
        }
    }

    /// An error about `key`.
    pub fn error(&self, key: &str, reason: impl std::fmt::Display) -> DefinitionError {
        DefinitionError::property(key, reason)
    }

    /// Every option was read: anything left is an option the processor does not take.
    pub fn finish(self) -> Result<(), DefinitionError> {
        if self.map.is_empty() {
            return Ok(());
        }
        let keys: Vec<&str> = self.map.keys().map(String::as_str).collect();
        Err(DefinitionError::new(format!(
            "processor [{}] doesn't support one or more provided configuration parameters [{}]",
            self.kind,
            keys.join(", ")
        )))
    }
}
