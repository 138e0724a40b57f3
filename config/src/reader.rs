//! Reading a TOML table key by key, so that every problem in a file is reported at once.
//!
//! serde stops at the first error it meets, while `hydrant config check` has to print every
//! problem (key, value received, what is allowed). So the file is parsed into a [`toml::Table`]
//! and each section is read by a [`Section`] that takes known keys out, validates each value
//! with its own message, and reports whatever is left over as an unknown key.

use std::time::Duration;

use bytesize::ByteSize;
use toml::Value;

use crate::Problem;

/// Values an enum-like setting accepts, spelled as they are in the file.
pub(crate) trait Choice: Sized + Copy {
    /// Every accepted spelling, in the order they are listed to the user.
    const ALLOWED: &'static [&'static str];
    /// The value for one accepted spelling.
    fn from_name(name: &str) -> Option<Self>;
}

/// One TOML table being read; keys are removed as they are read.
pub(crate) struct Section<'p> {
    path: String,
    table: toml::Table,
    problems: &'p mut Vec<Problem>,
}

impl<'p> Section<'p> {
    pub(crate) fn new(path: &str, table: toml::Table, problems: &'p mut Vec<Problem>) -> Self {
        Section {
            path: path.to_string(),
            table,
            problems,
        }
    }

    /// The dotted key of `key` in this section, as shown in messages.
    pub(crate) fn key(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    pub(crate) fn problem(&mut self, key: &str, message: String) {
        let key = self.key(key);
        self.problems.push(Problem { key, message });
    }

    fn take(&mut self, key: &str) -> Option<Value> {
        self.table.remove(key)
    }

    /// Whether the section sets `key` (without reading it).
    pub(crate) fn has(&self, key: &str) -> bool {
        self.table.contains_key(key)
    }

    /// A sub-table; a missing one reads as empty.
    pub(crate) fn section(&mut self, key: &str) -> Section<'_> {
        let path = self.key(key);
        let table = match self.take(key) {
            Some(Value::Table(table)) => table,
            Some(other) => {
                self.problem(key, format!("`{path}` must be a table, got `{other}`"));
                toml::Table::new()
            }
            None => toml::Table::new(),
        };
        Section {
            path,
            table,
            problems: self.problems,
        }
    }

    /// A sub-table kept whole, for sections whose keys are names (`[streams.<name>]`).
    pub(crate) fn raw_table(&mut self, key: &str) -> toml::Table {
        match self.take(key) {
            Some(Value::Table(table)) => table,
            Some(other) => {
                let path = self.key(key);
                self.problem(key, format!("`{path}` must be a table, got `{other}`"));
                toml::Table::new()
            }
            None => toml::Table::new(),
        }
    }

    /// Reborrow the problem list, to read a nested table built elsewhere.
    pub(crate) fn problems(&mut self) -> &mut Vec<Problem> {
        self.problems
    }

    pub(crate) fn string(&mut self, key: &str, default: &str) -> String {
        match self.take(key) {
            None => default.to_string(),
            Some(Value::String(s)) => s,
            Some(other) => {
                let path = self.key(key);
                self.problem(key, format!("`{path}` must be a string, got `{other}`"));
                default.to_string()
            }
        }
    }

    pub(crate) fn string_list(&mut self, key: &str) -> Vec<String> {
        let path = self.key(key);
        match self.take(key) {
            None => Vec::new(),
            Some(Value::Array(items)) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    match item {
                        Value::String(s) => out.push(s),
                        other => self.problem(
                            key,
                            format!("`{path}` must be a list of strings, got an item `{other}`"),
                        ),
                    }
                }
                out
            }
            Some(other) => {
                self.problem(
                    key,
                    format!("`{path}` must be a list of strings, got `{other}`"),
                );
                Vec::new()
            }
        }
    }

    pub(crate) fn bool(&mut self, key: &str, default: bool) -> bool {
        match self.take(key) {
            None => default,
            Some(Value::Boolean(b)) => b,
            Some(other) => {
                let path = self.key(key);
                self.problem(
                    key,
                    format!("`{path}` must be true or false, got `{other}`"),
                );
                default
            }
        }
    }

    /// An integer within `min..=max`.
    pub(crate) fn int(&mut self, key: &str, default: u64, min: u64, max: u64) -> u64 {
        let path = self.key(key);
        match self.take(key) {
            None => default,
            Some(Value::Integer(i)) if i >= 0 && (i as u64) >= min && (i as u64) <= max => i as u64,
            Some(other) => {
                self.problem(
                    key,
                    format!("`{path}` must be an integer from {min} to {max}, got `{other}`"),
                );
                default
            }
        }
    }

    /// A byte size (`"1MiB"`, `"512 KiB"` or a plain number of bytes) within `min..=max`.
    pub(crate) fn size(&mut self, key: &str, default: u64, min: u64, max: u64) -> u64 {
        let path = self.key(key);
        let Some(value) = self.take(key) else {
            return default;
        };
        match parse_size(&value) {
            Some(bytes) if (min..=max).contains(&bytes) => bytes,
            Some(_) => {
                self.problem(
                    key,
                    format!(
                        "`{path}` must be between {} and {}, got `{}`",
                        show_size(min),
                        show_size(max),
                        show_value(&value)
                    ),
                );
                default
            }
            None => {
                self.problem(
                    key,
                    format!(
                        "`{path}` must be a size such as \"1MiB\" or a number of bytes, got `{}`",
                        show_value(&value)
                    ),
                );
                default
            }
        }
    }

    /// A duration (`"1s"`, `"5m"`, `"250ms"` or a plain number of seconds) within `min..=max`.
    pub(crate) fn duration(
        &mut self,
        key: &str,
        default: Duration,
        min: Duration,
        max: Duration,
    ) -> Duration {
        let path = self.key(key);
        let Some(value) = self.take(key) else {
            return default;
        };
        match parse_duration(&value) {
            Some(d) if d >= min && d <= max => d,
            Some(_) => {
                self.problem(
                    key,
                    format!(
                        "`{path}` must be between {} and {}, got `{}`",
                        show_duration(min),
                        show_duration(max),
                        show_value(&value)
                    ),
                );
                default
            }
            None => {
                self.problem(
                    key,
                    format!(
                        "`{path}` must be a duration such as \"1s\", \"5m\" or a number of seconds, got `{}`",
                        show_value(&value)
                    ),
                );
                default
            }
        }
    }

    pub(crate) fn choice<T: Choice>(&mut self, key: &str, default: T) -> T {
        let path = self.key(key);
        match self.take(key) {
            None => default,
            Some(Value::String(s)) => match T::from_name(&s) {
                Some(v) => v,
                None => {
                    self.problem(
                        key,
                        format!(
                            "`{path}` must be one of {}, got `{s:?}`",
                            quoted_list(T::ALLOWED)
                        ),
                    );
                    default
                }
            },
            Some(other) => {
                self.problem(
                    key,
                    format!(
                        "`{path}` must be one of {}, got `{other}`",
                        quoted_list(T::ALLOWED)
                    ),
                );
                default
            }
        }
    }

    /// Reports every key that nobody read as unknown.
    pub(crate) fn finish(self) {
        let Section {
            path,
            table,
            problems,
        } = self;
        for key in table.keys() {
            let full = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            problems.push(Problem {
                message: format!("unknown key `{full}`"),
                key: full,
            });
        }
    }
}

fn quoted_list(items: &[&str]) -> String {
    items
        .iter()
        .map(|s| format!("\"{s}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

fn show_value(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Parses a byte size given as a TOML string or integer.
pub fn parse_size(value: &Value) -> Option<u64> {
    match value {
        Value::Integer(i) if *i >= 0 => Some(*i as u64),
        Value::String(s) => parse_size_str(s),
        _ => None,
    }
}

/// Parses a byte size such as `"4.7GiB"`, `"512 KiB"` or `"1000"`.
pub fn parse_size_str(s: &str) -> Option<u64> {
    let s = s.trim();
    if s.is_empty() || s.starts_with('-') {
        return None;
    }
    s.parse::<ByteSize>().ok().map(|b| b.as_u64())
}

/// Formats a byte size for people (`1 MiB`, `4.7 GiB`).
pub fn show_size(bytes: u64) -> String {
    let text = ByteSize(bytes).display().iec().to_string();
    // "1.0 MiB" reads better as "1 MiB" and still parses back.
    text.replace(".0 ", " ")
}

fn parse_duration(value: &Value) -> Option<Duration> {
    match value {
        Value::Integer(i) if *i >= 0 => Some(Duration::from_secs(*i as u64)),
        Value::Float(f) if *f >= 0.0 && f.is_finite() => Some(Duration::from_secs_f64(*f)),
        Value::String(s) => parse_duration_str(s),
        _ => None,
    }
}

/// Parses a duration such as `"1s"`, `"5m"`, `"1h 30m"`, `"250ms"` or `"30"` (seconds).
pub fn parse_duration_str(s: &str) -> Option<Duration> {
    let s = s.trim();
    if let Ok(secs) = s.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    humantime::parse_duration(s).ok()
}

/// Formats a duration the way it is written in the file (`1s`, `5m`, `250ms`).
pub fn show_duration(d: Duration) -> String {
    if d.is_zero() {
        return "0s".to_string();
    }
    humantime::format_duration(d).to_string().replace(' ', "")
}
