//! `dissect`: splits a string on the literal delimiters of a pattern
//! (`%{clientip} %{?ident} %{+ts} %{+ts}`), with Elasticsearch's key modifiers and its
//! matching rules (a byte-wise left-to-right walk; repeated delimiters give empty values
//! unless the key has `->`).
//!
//! Written here: no crate implements Elasticsearch's dissect, and its exact rules (when a
//! value may be empty, how `+`/`/n` order appends, which errors) are what users rely on.

use std::collections::HashMap;

use serde_json::Value;

use crate::doc::{IngestDoc, java_type};
use crate::error::{DefinitionError, Failure};
use crate::opts::Opts;
use crate::pipeline::{Ctx, Flow, Process};
use crate::processors::strings::FieldOpts;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Modifier {
    None,
    AppendWithOrder,
    Append,
    FieldName,
    FieldValue,
    NamedSkip,
}

impl Modifier {
    fn of(c: char) -> Option<Modifier> {
        Some(match c {
            '/' => Modifier::AppendWithOrder,
            '+' => Modifier::Append,
            '*' => Modifier::FieldName,
            '&' => Modifier::FieldValue,
            '?' => Modifier::NamedSkip,
            _ => return None,
        })
    }
}

/// One `%{...}` of a pattern: its name and what its modifiers ask.
#[derive(Debug, Clone)]
struct Key {
    name: String,
    modifier: Modifier,
    skip: bool,
    right_padding: bool,
    order: i32,
}

fn key_error(key: &str, reason: &str) -> String {
    format!("Unable to parse key: {key} Reason: {reason}")
}

impl Key {
    fn parse(key: &str) -> Result<Key, String> {
        let mut modifier = Modifier::None;
        let mut count = 0;
        for m in key.chars().filter_map(Modifier::of) {
            let prior = modifier;
            modifier = m;
            count += 1;
            if count > 1 && !(prior == Modifier::Append && m == Modifier::AppendWithOrder) {
                return Err(key_error(key, "multiple modifiers are not allowed."));
            }
        }
        let strip_padding = |s: &str| match s.strip_suffix("->") {
            Some(n) => (n.to_string(), true),
            None => (s.to_string(), false),
        };
        let mut order = 0;
        let (name, right_padding) = match modifier {
            Modifier::None => Some(strip_padding(key)),
            Modifier::AppendWithOrder => key.split_once('+').and_then(|(_, rest)| {
                let (rest, pad) = strip_padding(rest);
                let (name, digits) = rest.rsplit_once('/')?;
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                order = digits.parse::<i16>().ok()? as i32;
                Some((name.to_string(), pad))
            }),
            _ => {
                let at = key.find(['+', '*', '&', '?']).unwrap_or(0);
                Some(strip_padding(&key[at + 1..]))
            }
        }
        .ok_or_else(|| key_error(key, "The key name could be determined"))?;
        let skip =
            modifier == Modifier::NamedSkip || (modifier == Modifier::None && name.is_empty());
        if name.is_empty() && !skip {
            return Err(key_error(key, "The key name could be determined"));
        }
        Ok(Key {
            name,
            modifier,
            skip,
            right_padding,
            order,
        })
    }
}

/// A compiled dissect pattern.
#[derive(Debug)]
pub struct Dissect {
    pattern: String,
    leading: String,
    pairs: Vec<(Key, String)>,
    max_results: usize,
    append_separator: String,
}

fn pattern_error(pattern: &str, reason: &str) -> String {
    format!("Unable to parse pattern: {pattern} Reason: {reason}")
}

impl Dissect {
    /// Compiles `pattern`; appended values are joined with `append_separator`.
    pub fn compile(pattern: &str, append_separator: &str) -> Result<Dissect, String> {
        let leading = pattern.find('%').map_or("", |i| &pattern[..i]).to_string();
        let mut pairs = Vec::new();
        let mut rest = &pattern[leading.len()..];
        while let Some(start) = rest.find("%{") {
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else { break };
            let tail = &after[end + 1..];
            let delim_end = tail.find('%').unwrap_or(tail.len());
            pairs.push((Key::parse(&after[..end])?, tail[..delim_end].to_string()));
            rest = &tail[delim_end..];
        }
        let mut names: Vec<&str> = pairs
            .iter()
            .filter(|(k, _)| !k.skip)
            .map(|(k, _)| k.name.as_str())
            .collect();
        names.sort_unstable();
        names.dedup();
        let max_results = names.len();
        if pairs.is_empty() || max_results == 0 {
            return Err(pattern_error(
                pattern,
                "Unable to find any keys or delimiters.",
            ));
        }
        let appended: Vec<String> = pairs
            .iter()
            .filter(|(k, _)| matches!(k.modifier, Modifier::Append | Modifier::AppendWithOrder))
            .map(|(k, _)| k.name.clone())
            .collect();
        for (k, _) in pairs.iter_mut() {
            if k.modifier == Modifier::None && appended.contains(&k.name) {
                k.modifier = Modifier::Append;
            }
        }
        let mut references: Vec<(&str, usize)> = Vec::new();
        for (k, _) in &pairs {
            if matches!(k.modifier, Modifier::FieldName | Modifier::FieldValue) {
                match references.iter_mut().find(|(n, _)| *n == k.name) {
                    Some((_, c)) => *c += 1,
                    None => references.push((&k.name, 1)),
                }
            }
        }
        if let Some((name, count)) = references.iter().find(|(_, c)| *c != 2) {
            let listed = vec![*name; *count].join(",");
            return Err(pattern_error(
                pattern,
                &format!(
                    "Found invalid key/reference associations: '{listed}' Please ensure each '*<key>' is matched with a matching '&<key>"
                ),
            ));
        }
        Ok(Dissect {
            pattern: pattern.to_string(),
            leading,
            pairs,
            max_results,
            append_separator: append_separator.to_string(),
        })
    }

    /// Splits `input`: the fields and their values, or Elasticsearch's error when the
    /// pattern does not match all of it.
    pub fn parse(&self, input: &str) -> Result<Vec<(String, String)>, String> {
        let mut found = Found::default();
        let bytes = input.as_bytes();
        if input.len() > self.leading.len() && input.starts_with(&self.leading) {
            self.walk(bytes, &mut found);
        }
        let results = found.results(&self.append_separator);
        if found.matches != self.pairs.len() || results.len() != self.max_results {
            return Err(format!(
                "Unable to find match for dissect pattern: {} against source: {input}",
                self.pattern
            ));
        }
        Ok(results)
    }

    fn walk<'k>(&'k self, input: &[u8], found: &mut Found<'k>) {
        let text = |a: usize, b: usize| String::from_utf8_lossy(&input[a..b]).into_owned();
        let delim_at =
            |i: usize, d: &[u8]| input.len() >= i + d.len() && &input[i..i + d.len()] == d;
        let mut pairs = self.pairs.iter();
        let Some((mut key, mut delim)) = pairs.next().map(|(k, d)| (k, d.as_bytes())) else {
            return;
        };
        let mut i = self.leading.len();
        let mut value_start = i;
        while i < input.len() {
            if !delim.is_empty() && delim_at(i, delim) {
                found.add(key, text(value_start, i));
                i += delim.len();
                // Repeated delimiters: empty values for the next keys, unless `->` pads.
                while i < input.len() && delim_at(i, delim) {
                    i += delim.len();
                    if !key.right_padding {
                        let Some((k, _)) = pairs.next() else { break };
                        key = k;
                        found.add(key, String::new());
                    }
                }
                let Some((k, d)) = pairs.next() else { break };
                key = k;
                delim = d.as_bytes();
                value_start = i;
            }
            i += 1;
        }
        if found.matches != self.pairs.len() && delim.is_empty() {
            found.add(key, text(value_start.min(input.len()), input.len()));
        }
    }
}

/// What a walk found so far.
#[derive(Default)]
struct Found<'k> {
    matches: usize,
    implicit_order: i32,
    simple: Vec<(&'k str, String)>,
    references: HashMap<&'k str, (Option<String>, Option<String>)>,
    appends: Vec<(&'k str, Vec<(i32, String)>)>,
}

impl<'k> Found<'k> {
    fn add(&mut self, key: &'k Key, value: String) {
        self.matches += 1;
        if key.skip {
            return;
        }
        let name = key.name.as_str();
        let order = match key.modifier {
            Modifier::None => {
                match self.simple.iter_mut().find(|(n, _)| *n == name) {
                    Some(slot) => slot.1 = value,
                    None => self.simple.push((name, value)),
                }
                return;
            }
            Modifier::FieldName => {
                self.references.entry(name).or_default().0 = Some(value);
                return;
            }
            Modifier::FieldValue => {
                self.references.entry(name).or_default().1 = Some(value);
                return;
            }
            Modifier::Append => {
                self.implicit_order += 1;
                self.implicit_order - 1001
            }
            Modifier::AppendWithOrder => key.order,
            Modifier::NamedSkip => return,
        };
        match self.appends.iter_mut().find(|(n, _)| *n == name) {
            Some((_, values)) => values.push((order, value)),
            None => self.appends.push((name, vec![(order, value)])),
        }
    }

    fn results(&mut self, separator: &str) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        let mut put = |k: String, v: String| match out.iter_mut().find(|(n, _)| *n == k) {
            Some(slot) => slot.1 = v,
            None => out.push((k, v)),
        };
        for (k, v) in &self.simple {
            put(k.to_string(), v.clone());
        }
        for (name, v) in self.references.values() {
            if let Some(name) = name {
                put(name.clone(), v.clone().unwrap_or_default());
            }
        }
        for (k, values) in self.appends.iter_mut() {
            values.sort_by_key(|(o, _)| *o);
            let joined: Vec<&str> = values.iter().map(|(_, v)| v.as_str()).collect();
            put(k.to_string(), joined.join(separator));
        }
        out
    }
}

struct DissectProc {
    f: FieldOpts,
    dissect: Dissect,
}

/// `dissect`: `field`, `pattern`, `append_separator`, `ignore_missing`.
pub fn dissect(opts: &mut Opts) -> Result<Box<dyn Process>, DefinitionError> {
    let field = opts.template("field")?;
    let pattern = opts.string("pattern")?;
    let separator = opts.opt_string("append_separator")?.unwrap_or_default();
    let ignore_missing = opts.bool_or("ignore_missing", false)?;
    let dissect = Dissect::compile(&pattern, &separator).map_err(|reason| DefinitionError {
        reason,
        property_name: Some("pattern".into()),
        ..DefinitionError::new("")
    })?;
    let f = FieldOpts {
        field,
        target: None,
        ignore_missing,
    };
    Ok(Box::new(DissectProc { f, dissect }))
}

impl Process for DissectProc {
    fn run(&self, doc: &mut IngestDoc, _: &mut Ctx<'_>) -> Result<Flow, Failure> {
        let field = self.f.field.render(doc);
        let Some(v) = self.f.value(doc, &field)? else {
            return Ok(Flow::Continue);
        };
        let Value::String(input) = v else {
            return Err(Failure::illegal(format!(
                "field [{field}] of type [{}] cannot be cast to [java.lang.String]",
                java_type(v)
            )));
        };
        let fields = self
            .dissect
            .parse(input)
            .map_err(|e| Failure::of("find_match", e))?;
        for (k, v) in fields {
            doc.set(&k, Value::String(v))?;
        }
        Ok(Flow::Continue)
    }
}
