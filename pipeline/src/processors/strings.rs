//! Processors that turn one string field into another value: `lowercase`, `uppercase`,
//! `trim`, `urldecode`, `gsub`, `split`, and `join` (a list into a string).

use serde_json::Value;

use crate::doc::{IngestDoc, java_type, not_present};
use crate::error::{DefinitionError, Failure};
use crate::opts::Opts;
use crate::pipeline::{Ctx, Flow, Process};
use crate::template::Template;

/// `field`, `target_field` and `ignore_missing`: the options every field processor takes.
pub struct FieldOpts {
    /// The field read.
    pub field: Template,
    /// Where the result goes (the field itself when absent).
    pub target: Option<Template>,
    /// A missing or `null` field is not an error.
    pub ignore_missing: bool,
}

impl FieldOpts {
    /// Reads the three options.
    pub fn read(opts: &mut Opts) -> Result<FieldOpts, DefinitionError> {
        Ok(FieldOpts {
            field: opts.template("field")?,
            target: opts.opt_template("target_field")?,
            ignore_missing: opts.bool_or("ignore_missing", false)?,
        })
    }

    /// The field's value, or `None` when it is missing and that is allowed.
    pub fn value<'d>(&self, doc: &'d IngestDoc, field: &str) -> Result<Option<&'d Value>, Failure> {
        match doc.get(field) {
            None | Some(Value::Null) if self.ignore_missing => Ok(None),
            None => Err(not_present(field)),
            Some(Value::Null) => Err(Failure::illegal(format!(
                "field [{field}] is null, cannot process it."
            ))),
            Some(v) => Ok(Some(v)),
        }
    }

    /// Writes the result to the target field (the field itself when none is given).
    pub fn put(&self, doc: &mut IngestDoc, field: &str, v: Value) -> Result<(), Failure> {
        match &self.target {
            Some(t) => doc.set(&t.render(doc), v),
            None => doc.set(field, v),
        }
    }
}

/// A processor applying a function to a string field, or to each string of a list field.
struct StringProc<F> {
    f: FieldOpts,
    apply: F,
}

impl<F> Process for StringProc<F>
where
    F: Fn(&str) -> Result<Value, Failure> + Send + Sync + 'static,
{
    fn run(&self, doc: &mut IngestDoc, _: &mut Ctx<'_>) -> Result<Flow, Failure> {
        let field = self.f.field.render(doc);
        let Some(v) = self.f.value(doc, &field)? else {
            return Ok(Flow::Continue);
        };
        let out = match v {
            Value::String(s) => (self.apply)(s)?,
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|i| match i {
                        Value::String(s) => (self.apply)(s),
                        other => Err(Failure::illegal(format!(
                            "value [{}] of type [{}] in list field [{field}] cannot be cast to [java.lang.String]",
                            crate::doc::java_string(other),
                            java_type(other)
                        ))),
                    })
                    .collect::<Result<_, _>>()?,
            ),
            other => return Err(cast_error(&field, other)),
        };
        self.f.put(doc, &field, out)?;
        Ok(Flow::Continue)
    }
}

fn cast_error(field: &str, v: &Value) -> Failure {
    Failure::illegal(format!(
        "field [{field}] of type [{}] cannot be cast to [java.lang.String]",
        java_type(v)
    ))
}

fn boxed<F>(f: FieldOpts, apply: F) -> Box<dyn Process>
where
    F: Fn(&str) -> Result<Value, Failure> + Send + Sync + 'static,
{
    Box::new(StringProc { f, apply })
}

/// Which of the simple string processors.
pub enum Case {
    /// `lowercase`
    Lower,
    /// `uppercase`
    Upper,
    /// `trim`
    Trim,
}

/// `lowercase`, `uppercase`, `trim`.
pub fn case(opts: &mut Opts, case: Case) -> Result<Box<dyn Process>, DefinitionError> {
    let f = FieldOpts::read(opts)?;
    Ok(match case {
        Case::Lower => boxed(f, |s| Ok(Value::String(s.to_lowercase()))),
        Case::Upper => boxed(f, |s| Ok(Value::String(s.to_uppercase()))),
        Case::Trim => boxed(f, |s| Ok(Value::String(s.trim().to_string()))),
    })
}

/// `urldecode`: `%XX` escapes (UTF-8) and `+` as a space, as Java's `URLDecoder` reads them.
pub fn urldecode(opts: &mut Opts) -> Result<Box<dyn Process>, DefinitionError> {
    let f = FieldOpts::read(opts)?;
    Ok(boxed(f, |s| {
        check_escapes(s)?;
        let plus = s.replace('+', " ");
        let bytes: Vec<u8> = percent_encoding::percent_decode_str(&plus).collect();
        String::from_utf8(bytes)
            .map(Value::String)
            .map_err(|_| Failure::illegal(format!("[{s}] does not decode to UTF-8")))
    }))
}

/// Every `%` is followed by two hex digits, else Java's `URLDecoder` message.
fn check_escapes(s: &str) -> Result<(), Failure> {
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '%' {
            i += 1;
            continue;
        }
        let Some(pair) = chars.get(i + 1..i + 3) else {
            return Err(Failure::illegal(
                "URLDecoder: Incomplete trailing escape (%) pattern",
            ));
        };
        if pair[0] == '-' && pair[1].is_ascii_hexdigit() {
            return Err(Failure::illegal(
                "URLDecoder: Illegal hex characters in escape (%) pattern - negative value",
            ));
        }
        if let Some(at) = pair.iter().position(|c| !c.is_ascii_hexdigit()) {
            let text: String = pair.iter().collect();
            return Err(Failure::illegal(format!(
                "URLDecoder: Illegal hex characters in escape (%) pattern - Error at index {at} in: \"{text}\""
            )));
        }
        i += 3;
    }
    Ok(())
}

/// `gsub`: every match of `pattern` replaced by `replacement` (`$1` names a group).
pub fn gsub(opts: &mut Opts) -> Result<Box<dyn Process>, DefinitionError> {
    let f = FieldOpts::read(opts)?;
    let pattern = opts.string("pattern")?;
    let replacement = opts.string("replacement")?;
    let re = regex::Regex::new(&pattern)
        .map_err(|e| opts.error("pattern", format!("Invalid regex pattern. {e}")))?;
    let replacement = java_replacement(&replacement, re.captures_len() - 1);
    Ok(boxed(f, move |s| {
        Ok(Value::String(
            re.replace_all(s, replacement.as_str()).into_owned(),
        ))
    }))
}

/// Java's `Matcher.replaceAll` syntax in the regex crate's: `$12` takes as many digits as
/// name an existing group (`$2_` is group 2 then `_`, not a group named `2_`), `${name}` a
/// named group, `\\x` a literal `x`; a literal `$` is written `$$`.
fn java_replacement(java: &str, groups: usize) -> String {
    let mut out = String::with_capacity(java.len() + 8);
    let mut chars = java.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('$') => out.push_str("$$"),
                Some(x) => out.push(x),
                None => out.push('\\'),
            },
            '$' if chars.peek().is_some_and(char::is_ascii_digit) => {
                let mut n = 0usize;
                while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
                    let next = n * 10 + d as usize;
                    if n > 0 && next > groups {
                        break;
                    }
                    n = next;
                    chars.next();
                }
                out.push_str(&format!("${{{n}}}"));
            }
            '$' if chars.peek() == Some(&'{') => out.push('$'),
            '$' => out.push_str("$$"),
            c => out.push(c),
        }
    }
    out
}

/// `split`: a string into a list at each match of `separator`; trailing empty parts are
/// dropped unless `preserve_trailing`, as Java's `String.split` does.
pub fn split(opts: &mut Opts) -> Result<Box<dyn Process>, DefinitionError> {
    let f = FieldOpts::read(opts)?;
    let separator = opts.string("separator")?;
    let preserve_trailing = opts.bool_or("preserve_trailing", false)?;
    let re = regex::Regex::new(&separator)
        .map_err(|e| opts.error("separator", format!("Invalid regex pattern. {e}")))?;
    Ok(Box::new(Split {
        f,
        re,
        preserve_trailing,
    }))
}

struct Split {
    f: FieldOpts,
    re: regex::Regex,
    preserve_trailing: bool,
}

impl Process for Split {
    fn run(&self, doc: &mut IngestDoc, _: &mut Ctx<'_>) -> Result<Flow, Failure> {
        let field = self.f.field.render(doc);
        if !self.f.ignore_missing && doc.get(&field) == Some(&Value::Null) {
            return Err(Failure::illegal(format!(
                "field [{field}] is null, cannot split."
            )));
        }
        let Some(v) = self.f.value(doc, &field)? else {
            return Ok(Flow::Continue);
        };
        let Value::String(s) = v else {
            return Err(cast_error(&field, v));
        };
        let mut parts: Vec<Value> = self
            .re
            .split(s)
            .map(|p| Value::String(p.to_string()))
            .collect();
        if !self.preserve_trailing {
            while parts.len() > 1 && parts.last().is_some_and(|p| p.as_str() == Some("")) {
                parts.pop();
            }
        }
        self.f.put(doc, &field, Value::Array(parts))?;
        Ok(Flow::Continue)
    }
}

/// `join`: a list's elements as one string, with `separator` between them.
pub fn join(opts: &mut Opts) -> Result<Box<dyn Process>, DefinitionError> {
    let f = FieldOpts::read(opts)?;
    let separator = opts.string("separator")?;
    Ok(Box::new(Join { f, separator }))
}

struct Join {
    f: FieldOpts,
    separator: String,
}

impl Process for Join {
    fn run(&self, doc: &mut IngestDoc, _: &mut Ctx<'_>) -> Result<Flow, Failure> {
        let field = self.f.field.render(doc);
        let Some(v) = self.f.value(doc, &field)? else {
            return Ok(Flow::Continue);
        };
        let Value::Array(items) = v else {
            return Err(Failure::illegal(format!(
                "field [{field}] of type [{}] cannot be cast to [java.util.List]",
                java_type(v)
            )));
        };
        let joined = items
            .iter()
            .map(crate::doc::java_string)
            .collect::<Vec<_>>()
            .join(&self.separator);
        self.f.put(doc, &field, Value::String(joined))?;
        Ok(Flow::Continue)
    }
}
