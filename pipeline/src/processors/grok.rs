//! `grok`: named patterns (`%{IPORHOST:client}`) expanded into one regular expression whose
//! captures become fields, as Elasticsearch's grok processor does.
//!
//! The expression runs on Oniguruma (the `onig` crate), the engine Elasticsearch's Joni is a
//! port of, so patterns written for Elasticsearch (possessive and atomic groups, `\b`,
//! look-behind, Ruby-style named groups) mean the same here. The expansion is written here
//! rather than taken from the `grok` crate because Elasticsearch's rules differ from it:
//! `%{NAME}` without a field does not capture, `[a][b]` field names make nested fields, a
//! field named several times takes its first non-null capture, several `patterns` are one
//! alternation with `trace_match`, and errors carry Elasticsearch's wording.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::OnceLock;

use onig::{MatchParam, Region, SearchOptions};
use serde_json::{Number, Value};
use smallvec::SmallVec;

/// Backtracking steps one grok match may take (Oniguruma's retry limit in match), the
/// deterministic counterpart of Elasticsearch's one-second grok watchdog.
const GROK_RETRY_LIMIT: u32 = 1_000_000;

use crate::doc::{FieldPath, IngestDoc};
use crate::error::{DefinitionError, Failure};
use crate::opts::Opts;
use crate::pipeline::{Ctx, Flow, Process};
use crate::processors::Resources;
use crate::processors::grok_bank;
use crate::processors::strings::FieldOpts;

/// Nesting of `%{...}` references beyond this is refused (a bound on the expansion's
/// recursion whatever the definitions).
const MAX_NESTING: usize = 64;

/// What a capture is converted to (`%{NUMBER:n:int}`).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    String,
    Int,
    Long,
    Float,
    Double,
    Boolean,
}

impl Kind {
    fn parse(s: Option<&str>) -> Kind {
        match s {
            Some("int") => Kind::Int,
            Some("long") => Kind::Long,
            Some("float") => Kind::Float,
            Some("double") => Kind::Double,
            Some("boolean") => Kind::Boolean,
            _ => Kind::String,
        }
    }

    /// The value as Elasticsearch converts it (Java's `parseInt`, `parseFloat`, …).
    fn convert(self, s: &str) -> Result<Value, Failure> {
        let bad = || {
            Failure::of(
                "number_format_exception",
                format!("For input string: \"{s}\""),
            )
        };
        let float = |f: f64| Number::from_f64(f).map(Value::Number).ok_or_else(bad);
        Ok(match self {
            Kind::String => Value::String(s.to_string()),
            Kind::Int => Value::from(s.parse::<i32>().map_err(|_| bad())?),
            Kind::Long => Value::from(s.parse::<i64>().map_err(|_| bad())?),
            Kind::Float => float(java_float(s).ok_or_else(bad)? as f32 as f64)?,
            Kind::Double => float(java_float(s).ok_or_else(bad)?)?,
            Kind::Boolean => Value::Bool(s.eq_ignore_ascii_case("true")),
        })
    }
}

/// Java's `Double.parseDouble`: surrounding blanks and a trailing `d`/`f` are allowed.
fn java_float(s: &str) -> Option<f64> {
    let t = s.trim();
    let t = t.strip_suffix(['d', 'D', 'f', 'F']).unwrap_or(t);
    if t.contains(['i', 'I', 'n', 'N'])
        && !matches!(t.trim_start_matches(['+', '-']), "Infinity" | "NaN")
    {
        return None;
    }
    t.parse().ok()
}

/// One field the expression fills, from the first of its groups that matched.
#[derive(Debug)]
struct Capture {
    field: FieldPath,
    /// The groups naming the field, in order, each with its own conversion.
    groups: Vec<(usize, Kind)>,
}

/// A compiled grok expression (one or several patterns).
pub struct Grok {
    regex: onig::Regex,
    captures: Vec<Capture>,
    /// The group of each pattern when `trace_match` is on with several patterns.
    pattern_groups: Vec<usize>,
}

impl std::fmt::Debug for Grok {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Grok")
            .field("captures", &self.captures)
            .finish_non_exhaustive()
    }
}

/// `%{NAME}`, `%{NAME:field}`, `%{NAME:field:type}` (and `=definition`, which Elasticsearch
/// accepts but ignores), with Elasticsearch's grammar for names.
fn reference() -> &'static regex::Regex {
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(r"%\{(?P<pattern>[A-z0-9]+)(?::(?P<sub>[[:alnum:]@\[\]_:.-]+))?(?:=(?P<def>(?:[^{}]+|\.+)+))?\}")
            .expect("a valid expression")
    })
}

/// Where `%{...}` names are looked up: the processor's own definitions, then the
/// configuration's, then the built-in dictionary.
pub struct Dictionary<'a> {
    own: &'a HashMap<String, String>,
    configured: &'a [(String, String)],
    builtin: &'static HashMap<String, String>,
}

impl Dictionary<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        if let Some(d) = self.own.get(name) {
            return Some(d);
        }
        if let Some((_, d)) = self.configured.iter().rev().find(|(n, _)| n == name) {
            return Some(d);
        }
        self.builtin.get(name).map(String::as_str)
    }
}

/// The expansion of a grok expression into a regular expression.
#[derive(Default)]
struct Expansion {
    regex: String,
    /// The field and type of each `_hN` group, by N.
    fields: Vec<(String, Kind)>,
    stack: Vec<String>,
}

impl Expansion {
    fn expand(&mut self, pattern: &str, dict: &Dictionary<'_>) -> Result<(), String> {
        let mut last = 0;
        for m in reference().captures_iter(pattern) {
            let whole = m.get(0).map_or(0..0, |g| g.range());
            self.regex.push_str(&pattern[last..whole.start]);
            last = whole.end;
            let name = &m["pattern"];
            let def = dict.get(name).ok_or_else(|| {
                format!("Unable to find pattern [{name}] in Grok's pattern dictionary")
            })?;
            if let Some(pos) = self.stack.iter().position(|s| s == name) {
                let mut msg = format!("circular reference in pattern [{name}][{def}]");
                if pos + 1 < self.stack.len() {
                    msg.push_str(&format!(" via patterns [{}]", self.stack[pos..].join("=>")));
                }
                return Err(msg);
            }
            if self.stack.len() >= MAX_NESTING {
                return Err(format!(
                    "patterns nested deeper than {MAX_NESTING} at [{name}]"
                ));
            }
            match m.name("sub") {
                Some(sub) => {
                    let (field, kind) = match sub.as_str().split_once(':') {
                        Some((f, k)) => (f, Kind::parse(Some(k.split(':').next().unwrap_or(k)))),
                        None => (sub.as_str(), Kind::String),
                    };
                    self.regex.push_str(&format!("(?<_h{}>", self.fields.len()));
                    self.fields.push((field_path(field), kind));
                }
                None => self.regex.push_str("(?:"),
            }
            self.stack.push(name.to_string());
            self.expand(def, dict)?;
            self.stack.pop();
            self.regex.push(')');
        }
        self.regex.push_str(&pattern[last..]);
        Ok(())
    }
}

/// `[source][address]` (Logstash's field reference syntax, used by the ECS patterns) is the
/// path `source.address`; other names are paths already.
fn field_path(name: &str) -> String {
    match name.strip_prefix('[').and_then(|n| n.strip_suffix(']')) {
        Some(inner) => inner.split("][").collect::<Vec<_>>().join("."),
        None => name.to_string(),
    }
}

impl Grok {
    /// Compiles `patterns` (several are tried as one alternation, first listed first).
    pub fn compile(
        patterns: &[String],
        dict: &Dictionary<'_>,
        trace_match: bool,
    ) -> Result<Grok, String> {
        let mut exp = Expansion::default();
        let several = patterns.len() > 1;
        for (i, p) in patterns.iter().enumerate() {
            if i > 0 {
                exp.regex.push('|');
            }
            match (several, trace_match) {
                (false, _) => {}
                (true, true) => exp.regex.push_str(&format!("(?<_m{i}>")),
                (true, false) => exp.regex.push_str("(?:"),
            }
            exp.expand(p, dict)?;
            if several {
                exp.regex.push(')');
            }
        }
        let regex = onig::Regex::new(&exp.regex).map_err(|e| e.description().to_string())?;
        let mut captures: Vec<Capture> = Vec::new();
        let mut pattern_groups = vec![
            0;
            if several && trace_match {
                patterns.len()
            } else {
                0
            }
        ];
        let mut named: Vec<(usize, String, Kind)> = Vec::new();
        regex.foreach_name(|name, groups| {
            let (field, kind) = if let Some(n) = name
                .strip_prefix("_h")
                .and_then(|n| n.parse::<usize>().ok())
            {
                exp.fields[n].clone()
            } else if let Some(i) = name
                .strip_prefix("_m")
                .and_then(|n| n.parse::<usize>().ok())
            {
                if let (Some(slot), Some(g)) = (pattern_groups.get_mut(i), groups.first()) {
                    *slot = *g as usize;
                }
                return true;
            } else {
                // A named group written in the pattern itself: its name is the field.
                (field_path(name), Kind::String)
            };
            for g in groups {
                named.push((*g as usize, field.clone(), kind));
            }
            true
        });
        // Fields in the order their first group appears; each keeps its groups in order.
        named.sort_by_key(|(g, _, _)| *g);
        for (g, field, kind) in named {
            match captures.iter_mut().find(|c| c.field.as_str() == field) {
                Some(c) => c.groups.push((g, kind)),
                None => captures.push(Capture {
                    field: FieldPath::new(&field),
                    groups: vec![(g, kind)],
                }),
            }
        }
        Ok(Grok {
            regex,
            captures,
            pattern_groups,
        })
    }

    /// Matches `text`: the captured fields with their values (none for groups that did not
    /// take part) and the index of the pattern that matched, or `None` when nothing matched.
    pub fn captures(&self, text: &str) -> Result<Option<GrokMatch<'_>>, Failure> {
        thread_local! {
            // One region per thread, reused: a match allocates nothing but the output values.
            static REGION: RefCell<Region> = RefCell::new(Region::new());
        }
        REGION.with(|region| {
            let mut region = region.borrow_mut();
            // Bounded backtracking: a pattern that would run away on this text (`(a+)+$`) is
            // this record's failure, as Elasticsearch's grok watchdog makes it, never a hang
            // or a panic (`search_with_options` panics when Oniguruma gives up).
            let mut limits = MatchParam::default();
            limits.set_retry_limit_in_match(GROK_RETRY_LIMIT);
            let found = self
                .regex
                .search_with_param(
                    text,
                    0,
                    text.len(),
                    SearchOptions::SEARCH_OPTION_NONE,
                    Some(&mut region),
                    limits,
                )
                .map_err(|e| {
                    Failure::illegal(format!(
                        "grok pattern matching was interrupted: {}",
                        e.description()
                    ))
                })?;
            if found.is_none() {
                return Ok(None);
            }
            let mut out = SmallVec::new();
            for c in &self.captures {
                if let Some((kind, (s, e))) = c
                    .groups
                    .iter()
                    .find_map(|(g, k)| Some((k, region.pos(*g)?)))
                {
                    out.push((&c.field, kind.convert(&text[s..e])?));
                }
            }
            let index = self
                .pattern_groups
                .iter()
                .position(|g| region.pos(*g).is_some())
                .unwrap_or(0);
            Ok(Some(GrokMatch {
                fields: out,
                pattern: index,
            }))
        })
    }
}

/// A match: each captured field's path and value, and which of the patterns matched.
pub struct GrokMatch<'g> {
    /// Field paths (borrowed from the compiled expression) and their converted values, on
    /// the stack for up to 16 fields.
    pub fields: SmallVec<[(&'g FieldPath, Value); 16]>,
    /// The index of the pattern in `patterns`.
    pub pattern: usize,
}

struct GrokProc {
    f: FieldOpts,
    grok: Grok,
    trace_match: bool,
}

/// `grok`: `field`, `patterns`, `pattern_definitions`, `ignore_missing`, `trace_match`,
/// `ecs_compatibility` (`disabled` or `v1`).
pub fn grok(opts: &mut Opts, res: &Resources) -> Result<Box<dyn Process>, DefinitionError> {
    let field = opts.template("field")?;
    let trace_match = opts.bool_or("trace_match", false)?;
    let ignore_missing = opts.bool_or("ignore_missing", false)?;
    let patterns = opts.strings("patterns", false)?;
    if patterns.is_empty() {
        return Err(opts.error("patterns", "List of patterns must not be empty"));
    }
    let mut own = HashMap::new();
    for (k, v) in opts.opt_map("pattern_definitions")?.unwrap_or_default() {
        match v {
            Value::String(s) => own.insert(k, s),
            other => own.insert(k, other.to_string()),
        };
    }
    let ecs = match opts.opt_string("ecs_compatibility")?.as_deref() {
        None | Some("disabled") => false,
        Some("v1") => true,
        Some(other) => {
            return Err(opts.error("ecs_compatibility", format!("unsupported mode '{other}'")));
        }
    };
    let dict = Dictionary {
        own: &own,
        configured: &res.grok_patterns,
        builtin: grok_bank::bank(ecs),
    };
    let grok = Grok::compile(&patterns, &dict, trace_match).map_err(|e| {
        opts.error(
            "patterns",
            format!(
                "Invalid regex pattern found in: [{}]. {e}",
                patterns.join(", ")
            ),
        )
    })?;
    let f = FieldOpts {
        field,
        target: None,
        ignore_missing,
    };
    Ok(Box::new(GrokProc {
        f,
        grok,
        trace_match,
    }))
}

impl Process for GrokProc {
    fn run(&self, doc: &mut IngestDoc, _: &mut Ctx<'_>) -> Result<Flow, Failure> {
        let field = self.f.field.render(doc);
        let Some(v) = self.f.value(doc, &field)? else {
            return Ok(Flow::Continue);
        };
        let Value::String(text) = v else {
            return Err(Failure::illegal(format!(
                "field [{field}] of type [{}] cannot be cast to [java.lang.String]",
                crate::doc::java_type(v)
            )));
        };
        let GrokMatch {
            fields,
            pattern: index,
        } = match self.grok.captures(text)? {
            Some(m) => m,
            None => {
                return Err(Failure::illegal(format!(
                    "Provided Grok expressions do not match field value: [{text}]"
                )));
            }
        };
        // The captures borrow the compiled processor, not the document: set them now.
        for (path, value) in fields {
            doc.set_at(path, value)?;
        }
        if self.trace_match {
            doc.set(
                "_ingest._grok_match_index",
                Value::String(index.to_string()),
            )?;
        }
        Ok(Flow::Continue)
    }
}
