//! `kv`: `key=value` pairs in a string become fields, as Elasticsearch's key-value
//! processor reads them: pairs split on the `field_split` expression, each pair on the first
//! match of `value_split`, a key seen twice makes a list.

use std::collections::HashSet;

use regex::Regex;
use serde_json::Value;

use crate::doc::{IngestDoc, java_type};
use crate::error::{DefinitionError, Failure};
use crate::opts::Opts;
use crate::pipeline::{Ctx, Flow, Process};
use crate::processors::strings::FieldOpts;

struct Kv {
    f: FieldOpts,
    field_split: Regex,
    value_split: Regex,
    value_split_src: String,
    include: Option<HashSet<String>>,
    exclude: HashSet<String>,
    prefix: String,
    trim_key: Option<Regex>,
    trim_value: Option<Regex>,
    strip_brackets: bool,
}

fn regex_opt(opts: &Opts, key: &str, src: &str) -> Result<Regex, DefinitionError> {
    Regex::new(src).map_err(|e| opts.error(key, format!("invalid regular expression [{src}]: {e}")))
}

/// Removes the characters of `chars` at both ends, as ES's `(^[chars]+)|([chars]+$)` does.
fn trimmer(
    opts: &Opts,
    key: &str,
    chars: Option<String>,
) -> Result<Option<Regex>, DefinitionError> {
    chars
        .map(|c| regex_opt(opts, key, &format!("(^([{c}]+))|([{c}]+$)")))
        .transpose()
}

/// `kv`: `field`, `field_split`, `value_split`, `target_field`, `include_keys`,
/// `exclude_keys`, `prefix`, `trim_key`, `trim_value`, `strip_brackets`, `ignore_missing`.
pub fn kv(opts: &mut Opts) -> Result<Box<dyn Process>, DefinitionError> {
    let f = FieldOpts::read(opts)?;
    let field_split_src = opts.string("field_split")?;
    let field_split = regex_opt(opts, "field_split", &field_split_src)?;
    let value_split_src = opts.string("value_split")?;
    let value_split = regex_opt(opts, "value_split", &value_split_src)?;
    let include = opts
        .opt_strings("include_keys", false)?
        .map(|v| v.into_iter().collect());
    let exclude = opts
        .opt_strings("exclude_keys", false)?
        .unwrap_or_default()
        .into_iter()
        .collect();
    let prefix = opts.opt_string("prefix")?.unwrap_or_default();
    let trim_key = opts.opt_string("trim_key")?;
    let trim_key = trimmer(opts, "trim_key", trim_key)?;
    let trim_value = opts.opt_string("trim_value")?;
    let trim_value = trimmer(opts, "trim_value", trim_value)?;
    let strip_brackets = opts.bool_or("strip_brackets", false)?;
    Ok(Box::new(Kv {
        f,
        field_split,
        value_split,
        value_split_src,
        include,
        exclude,
        prefix,
        trim_key,
        trim_value,
        strip_brackets,
    }))
}

/// Java's `String.split(regex)`: no leading empty part for a match of nothing at the start,
/// trailing empty parts dropped.
fn java_split<'t>(re: &Regex, s: &'t str) -> Vec<&'t str> {
    let mut parts = Vec::new();
    let mut last = 0;
    for m in re.find_iter(s) {
        if m.end() == 0 {
            continue;
        }
        parts.push(&s[last..m.start()]);
        last = m.end();
    }
    parts.push(&s[last..]);
    if parts.len() > 1 {
        while parts.last() == Some(&"") {
            parts.pop();
        }
    }
    parts
}

fn trim(re: &Option<Regex>, s: &str) -> String {
    match re {
        Some(re) => re.replace_all(s, "").into_owned(),
        None => s.to_string(),
    }
}

/// `strip_brackets`: one of `([<"'` at the start and one of `)]>"'` at the end go.
fn strip_brackets(s: &str) -> &str {
    let s = s.strip_prefix(['(', '[', '<', '"', '\'']).unwrap_or(s);
    s.strip_suffix([')', ']', '>', '"', '\'']).unwrap_or(s)
}

impl Process for Kv {
    fn run(&self, doc: &mut IngestDoc, _: &mut Ctx<'_>) -> Result<Flow, Failure> {
        let field = self.f.field.render(doc);
        if !self.f.ignore_missing && doc.get(&field).is_some_and(Value::is_null) {
            return Err(Failure::illegal(format!(
                "field [{field}] is null, cannot extract key-value pairs."
            )));
        }
        let Some(v) = self.f.value(doc, &field)? else {
            return Ok(Flow::Continue);
        };
        let Value::String(text) = v else {
            return Err(Failure::illegal(format!(
                "field [{field}] of type [{}] cannot be cast to [java.lang.String]",
                java_type(v)
            )));
        };
        let mut pairs = Vec::new();
        for part in java_split(&self.field_split, text) {
            let Some(m) = self.value_split.find_iter(part).find(|m| m.end() > 0) else {
                return Err(Failure::illegal(format!(
                    "field [{field}] does not contain value_split [{}]",
                    self.value_split_src
                )));
            };
            let key = trim(&self.trim_key, &part[..m.start()]);
            if self.include.as_ref().is_some_and(|i| !i.contains(&key))
                || self.exclude.contains(&key)
            {
                continue;
            }
            let mut value = &part[m.end()..];
            if self.strip_brackets {
                value = strip_brackets(value);
            }
            pairs.push((key, trim(&self.trim_value, value)));
        }
        let base = self.f.target.as_ref().map(|t| t.render(doc));
        for (key, value) in pairs {
            let path = match &base {
                Some(b) => format!("{b}.{}{key}", self.prefix),
                None => format!("{}{key}", self.prefix),
            };
            if doc.has(&path) {
                doc.append(&path, Value::String(value), true)?;
            } else {
                doc.set(&path, Value::String(value))?;
            }
        }
        Ok(Flow::Continue)
    }
}
