//! Processors that move values around: `set`, `remove`, `rename`, `append`, `convert`,
//! `json`, and the flow ones `drop`, `fail` and `pipeline`.

use serde_json::{Map, Number, Value};

use crate::doc::{IngestDoc, not_present};
use crate::error::{DefinitionError, Failure};
use crate::opts::Opts;
use crate::pipeline::{Ctx, Flow, Process};
use crate::processors::strings::FieldOpts;
use crate::template::{Template, ValueSource};

struct Set {
    field: Template,
    value: Option<ValueSource>,
    copy_from: Option<String>,
    overwrite: bool,
    ignore_empty_value: bool,
}

/// `set`: a field to a value (templates allowed) or to a copy of another field.
pub fn set(opts: &mut Opts) -> Result<Box<dyn Process>, DefinitionError> {
    let field = opts.template("field")?;
    let copy_from = opts.opt_string("copy_from")?;
    let value = match (opts.take("value"), &copy_from) {
        (Some(_), Some(_)) => {
            return Err(opts.error(
                "copy_from",
                "cannot set both `copy_from` and `value` in the same processor",
            ));
        }
        (Some(v), None) => Some(ValueSource::compile("value", &v)?),
        (None, Some(_)) => None,
        (None, None) => return Err(opts.error("value", "required property is missing")),
    };
    let _media_type = opts.opt_string("media_type")?;
    Ok(Box::new(Set {
        field,
        value,
        copy_from,
        overwrite: opts.bool_or("override", true)?,
        ignore_empty_value: opts.bool_or("ignore_empty_value", false)?,
    }))
}

impl Process for Set {
    fn run(&self, doc: &mut IngestDoc, _: &mut Ctx<'_>) -> Result<Flow, Failure> {
        let field = self.field.render(doc);
        if !self.overwrite && doc.get(&field).is_some_and(|v| !v.is_null()) {
            return Ok(Flow::Continue);
        }
        let value = match (&self.value, &self.copy_from) {
            (Some(v), _) => v.render(doc),
            (None, Some(from)) => doc.get(from).cloned().unwrap_or(Value::Null),
            (None, None) => Value::Null,
        };
        // As Elasticsearch: only a template can come out empty; a literal "" is set.
        let templated = matches!(self.value, Some(ValueSource::Text(_)));
        if self.ignore_empty_value && templated && (value.is_null() || value.as_str() == Some("")) {
            return Ok(Flow::Continue);
        }
        doc.set(&field, value)?;
        Ok(Flow::Continue)
    }
}

struct Remove {
    fields: Vec<Template>,
    keep: Vec<Template>,
    ignore_missing: bool,
}

/// `remove`: fields (one or a list), or everything but `keep`.
pub fn remove(opts: &mut Opts) -> Result<Box<dyn Process>, DefinitionError> {
    let fields = opts.opt_strings("field", true)?;
    let keep = opts.opt_strings("keep", true)?;
    let compile =
        |key: &str, list: Option<Vec<String>>| -> Result<Vec<Template>, DefinitionError> {
            list.unwrap_or_default()
                .iter()
                .map(|f| Template::compile(key, f))
                .collect()
        };
    let (fields, keep) = match (fields, keep) {
        (Some(_), Some(_)) => return Err(opts.error("keep", "too many fields specified")),
        (None, None) => return Err(opts.error("field", "required property is missing")),
        (f, k) => (compile("field", f)?, compile("keep", k)?),
    };
    Ok(Box::new(Remove {
        fields,
        keep,
        ignore_missing: opts.bool_or("ignore_missing", false)?,
    }))
}

impl Process for Remove {
    fn run(&self, doc: &mut IngestDoc, _: &mut Ctx<'_>) -> Result<Flow, Failure> {
        if !self.keep.is_empty() {
            let keep: Vec<String> = self
                .keep
                .iter()
                .map(|k| k.render(doc).into_owned())
                .collect();
            let mut kept = doc.without_source();
            for k in &keep {
                if let Some(v) = doc.get(k).cloned() {
                    kept.set(k, v)?;
                }
            }
            doc.source = kept.source;
            return Ok(Flow::Continue);
        }
        for f in &self.fields {
            let field = f.render(doc);
            if doc.remove(&field).is_none() && !self.ignore_missing {
                return Err(not_present(&field));
            }
        }
        Ok(Flow::Continue)
    }
}

struct Rename {
    field: Template,
    target: Template,
    ignore_missing: bool,
    overwrite: bool,
}

/// `rename`: a field moved to `target_field`.
pub fn rename(opts: &mut Opts) -> Result<Box<dyn Process>, DefinitionError> {
    Ok(Box::new(Rename {
        field: opts.template("field")?,
        target: opts.template("target_field")?,
        ignore_missing: opts.bool_or("ignore_missing", false)?,
        overwrite: opts.bool_or("override", false)?,
    }))
}

impl Process for Rename {
    fn run(&self, doc: &mut IngestDoc, _: &mut Ctx<'_>) -> Result<Flow, Failure> {
        let field = self.field.render(doc);
        let target = self.target.render(doc);
        if !doc.has(&field) {
            if self.ignore_missing {
                return Ok(Flow::Continue);
            }
            return Err(Failure::illegal(format!("field [{field}] doesn't exist")));
        }
        if doc.has(&target) && !self.overwrite {
            return Err(Failure::illegal(format!("field [{target}] already exists")));
        }
        let v = doc.remove(&field).unwrap_or(Value::Null);
        if let Err(e) = doc.set(&target, v.clone()) {
            // Put it back: a failed rename leaves the document as it was.
            let _ = doc.set(&field, v);
            return Err(e);
        }
        Ok(Flow::Continue)
    }
}

struct Append {
    field: Template,
    value: ValueSource,
    allow_duplicates: bool,
}

/// `append`: values added to a field, which becomes a list.
pub fn append(opts: &mut Opts) -> Result<Box<dyn Process>, DefinitionError> {
    let field = opts.template("field")?;
    let value = opts.value_source("value")?;
    let _media_type = opts.opt_string("media_type")?;
    Ok(Box::new(Append {
        field,
        value,
        allow_duplicates: opts.bool_or("allow_duplicates", true)?,
    }))
}

impl Process for Append {
    fn run(&self, doc: &mut IngestDoc, _: &mut Ctx<'_>) -> Result<Flow, Failure> {
        let field = self.field.render(doc);
        let value = self.value.render(doc);
        doc.append(&field, value, self.allow_duplicates)?;
        Ok(Flow::Continue)
    }
}

/// `drop`: the document is not indexed.
pub struct DropDoc;

impl Process for DropDoc {
    fn run(&self, _: &mut IngestDoc, _: &mut Ctx<'_>) -> Result<Flow, Failure> {
        Ok(Flow::Drop)
    }
}

struct Fail {
    message: Template,
}

/// `fail`: the document fails with `message`.
pub fn fail(opts: &mut Opts) -> Result<Box<dyn Process>, DefinitionError> {
    Ok(Box::new(Fail {
        message: opts.template("message")?,
    }))
}

impl Process for Fail {
    fn run(&self, doc: &mut IngestDoc, _: &mut Ctx<'_>) -> Result<Flow, Failure> {
        Err(Failure::of(
            "fail_processor_exception",
            self.message.render(doc),
        ))
    }
}

struct RunPipeline {
    name: Template,
    ignore_missing_pipeline: bool,
}

/// `pipeline`: the document goes through another pipeline.
pub fn pipeline(opts: &mut Opts) -> Result<Box<dyn Process>, DefinitionError> {
    Ok(Box::new(RunPipeline {
        name: opts.template("name")?,
        ignore_missing_pipeline: opts.bool_or("ignore_missing_pipeline", false)?,
    }))
}

impl Process for RunPipeline {
    fn run(&self, doc: &mut IngestDoc, ctx: &mut Ctx<'_>) -> Result<Flow, Failure> {
        let name = self.name.render(doc);
        match ctx.run_pipeline(&name, doc) {
            Err(e)
                if self.ignore_missing_pipeline && e.reason.contains("non-existent pipeline") =>
            {
                Ok(Flow::Continue)
            }
            other => other,
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Target {
    Integer,
    Long,
    Float,
    Double,
    String,
    Boolean,
    Ip,
    Auto,
}

struct Convert {
    f: FieldOpts,
    to: Target,
    type_name: String,
}

/// `convert`: a field (or each element of a list) to `type`.
pub fn convert(opts: &mut Opts) -> Result<Box<dyn Process>, DefinitionError> {
    let f = FieldOpts::read(opts)?;
    let ty = opts.string("type")?;
    let to = match ty.as_str() {
        "integer" => Target::Integer,
        "long" => Target::Long,
        "float" => Target::Float,
        "double" => Target::Double,
        "string" => Target::String,
        "boolean" => Target::Boolean,
        "ip" => Target::Ip,
        "auto" => Target::Auto,
        other => {
            return Err(opts.error(
                "type",
                format!("type [{other}] not supported, cannot convert field."),
            ));
        }
    };
    Ok(Box::new(Convert {
        f,
        to,
        type_name: ty,
    }))
}

fn text(v: &Value) -> String {
    crate::doc::java_string(v)
}

/// Java's `Long.parseLong`, or `Long.decode` for `0x` numbers, as Elasticsearch converts: no
/// surrounding whitespace, no fraction (`2.5` and `1e3` are refused).
fn parse_int(s: &str) -> Option<i64> {
    let t = s;
    let (neg, t) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let n = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        i64::from_str_radix(h, 16).ok()?
    } else {
        t.parse::<i64>().ok()?
    };
    Some(if neg { -n } else { n })
}

fn convert_one(v: &Value, to: Target) -> Result<Value, Failure> {
    let s = text(v);
    let bad = |name: &str| Failure::illegal(format!("unable to convert [{s}] to {name}"));
    Ok(match to {
        Target::Integer => {
            let n = parse_int(&s)
                .filter(|n| i32::try_from(*n).is_ok())
                .ok_or_else(|| bad("integer"))?;
            Value::from(n)
        }
        Target::Long => Value::from(parse_int(&s).ok_or_else(|| bad("long"))?),
        Target::Float | Target::Double => {
            let f = s.trim().parse::<f64>().map_err(|_| {
                bad(if to == Target::Float {
                    "float"
                } else {
                    "double"
                })
            })?;
            let f = if to == Target::Float {
                // The f32's shortest decimal, as Java prints a Float (9.9999998E10, not
                // 99999997952).
                (f as f32).to_string().parse::<f64>().unwrap_or(f)
            } else {
                f
            };
            Number::from_f64(f)
                .map(Value::Number)
                .ok_or_else(|| bad("double"))?
        }
        Target::String => Value::String(s),
        Target::Boolean => match s.to_ascii_lowercase().as_str() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => {
                return Err(Failure::illegal(format!(
                    "[{s}] is not a boolean value, cannot convert to boolean"
                )));
            }
        },
        Target::Ip => {
            s.parse::<std::net::IpAddr>()
                .map_err(|_| Failure::illegal(format!("'{s}' is not an IP string literal.")))?;
            Value::String(s)
        }
        Target::Auto => {
            if !v.is_string() {
                return Ok(v.clone());
            }
            // Elasticsearch tries integer, long, then float (Java's parseFloat, which trims
            // and gives a float, not a double), then boolean.
            if let Some(n) = parse_int(&s) {
                Value::from(n)
            } else if let Some(f) = s
                .trim()
                .parse::<f32>()
                .ok()
                .filter(|f| f.is_finite())
                .and_then(|f| f.to_string().parse::<f64>().ok())
                .and_then(Number::from_f64)
            {
                Value::Number(f)
            } else if s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false") {
                Value::Bool(s.eq_ignore_ascii_case("true"))
            } else {
                Value::String(s)
            }
        }
    })
}

impl Process for Convert {
    fn run(&self, doc: &mut IngestDoc, _: &mut Ctx<'_>) -> Result<Flow, Failure> {
        let field = self.f.field.render(doc);
        if !self.f.ignore_missing && doc.get(&field) == Some(&Value::Null) {
            return Err(Failure::illegal(format!(
                "Field [{field}] is null, cannot be converted to type [{}]",
                self.type_name
            )));
        }
        let Some(v) = self.f.value(doc, &field)? else {
            return Ok(Flow::Continue);
        };
        let out = match v {
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|i| convert_one(i, self.to))
                    .collect::<Result<_, _>>()?,
            ),
            one => convert_one(one, self.to)?,
        };
        self.f.put(doc, &field, out)?;
        Ok(Flow::Continue)
    }
}

#[derive(PartialEq)]
enum Conflict {
    Replace,
    Merge,
}

struct Json {
    field: Template,
    target: Option<Template>,
    add_to_root: bool,
    conflict: Conflict,
    strict: bool,
}

/// `json`: a string field parsed as JSON, in place, into `target_field` or into the root.
pub fn json(opts: &mut Opts) -> Result<Box<dyn Process>, DefinitionError> {
    let field = opts.template("field")?;
    let target = opts.opt_template("target_field")?;
    let add_to_root = opts.bool_or("add_to_root", false)?;
    if add_to_root && target.is_some() {
        return Err(opts.error(
            "target_field",
            "Cannot set a target field while also setting `add_to_root` to true",
        ));
    }
    let conflict = match opts.opt_string("add_to_root_conflict_strategy")?.as_deref() {
        None | Some("replace") => Conflict::Replace,
        Some("merge") => Conflict::Merge,
        Some(other) => {
            return Err(opts.error(
                "add_to_root_conflict_strategy",
                format!("conflict strategy [{other}] not supported, cannot convert field."),
            ));
        }
    };
    let _dups = opts.bool_or("allow_duplicate_keys", false)?;
    Ok(Box::new(Json {
        field,
        target,
        add_to_root,
        conflict,
        strict: opts.bool_or("strict_json_parsing", true)?,
    }))
}

fn merge(into: &mut Map<String, Value>, from: Map<String, Value>) {
    for (k, v) in from {
        match (into.get_mut(&k), v) {
            (Some(Value::Object(a)), Value::Object(b)) => merge(a, b),
            (_, v) => {
                into.insert(k, v);
            }
        }
    }
}

impl Process for Json {
    fn run(&self, doc: &mut IngestDoc, _: &mut Ctx<'_>) -> Result<Flow, Failure> {
        let field = self.field.render(doc);
        let value = doc.require(&field)?;
        let parsed: Value = match value {
            Value::String(s) => {
                let mut de = serde_json::Deserializer::from_str(s);
                let v = serde::Deserialize::deserialize(&mut de)
                    .map_err(|e: serde_json::Error| Failure::illegal(format!("{e}")))?;
                if self.strict {
                    de.end().map_err(|e| Failure::illegal(format!("{e}")))?;
                }
                v
            }
            other => other.clone(),
        };
        if self.add_to_root {
            let Value::Object(m) = parsed else {
                return Err(Failure::illegal(
                    "cannot add non-map fields to root of document",
                ));
            };
            match self.conflict {
                Conflict::Replace => doc.source.extend(m),
                Conflict::Merge => merge(&mut doc.source, m),
            }
        } else {
            let target = self
                .target
                .as_ref()
                .map_or_else(|| field.clone(), |t| t.render(doc));
            doc.set(&target, parsed)?;
        }
        Ok(Flow::Continue)
    }
}
