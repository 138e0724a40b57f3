//! `HYDRANT_*` environment overrides, applied to the parsed file before validation.

use std::collections::BTreeMap;

use toml::Value;

use crate::Problem;

/// Variables with the `HYDRANT_` prefix that are not config keys.
const NOT_CONFIG: &[&str] = &["HYDRANT_LOG", "HYDRANT_LOG_FORMAT"];

/// Sets `a.b.c` in `table` for every `HYDRANT_A__B__C=value` in `env`.
///
/// Values are read as TOML when they parse as a TOML value (`true`, `3`, `["a"]`) and as a
/// string otherwise, so `HYDRANT_DEFAULTS__BUFFER_SIZE=2MiB` and `…=2097152` both work. Unknown
/// keys set this way are reported like unknown keys in the file.
pub(crate) fn apply_overrides(
    table: &mut toml::Table,
    env: &BTreeMap<String, String>,
    problems: &mut Vec<Problem>,
) {
    for (name, raw) in env {
        let Some(rest) = name.strip_prefix("HYDRANT_") else {
            continue;
        };
        if NOT_CONFIG.contains(&name.as_str()) || rest.is_empty() {
            continue;
        }
        let path: Vec<String> = rest.split("__").map(|p| p.to_ascii_lowercase()).collect();
        if path.iter().any(|p| p.is_empty()) {
            problems.push(Problem {
                key: name.clone(),
                message: format!(
                    "environment variable `{name}` is not a config key: use `__` between levels, as in HYDRANT_DEFAULTS__BUFFER_SIZE"
                ),
            });
            continue;
        }
        let value = parse_value(raw);
        if let Err(message) = set_path(table, &path, value, name) {
            problems.push(Problem {
                key: path.join("."),
                message,
            });
        }
    }
}

fn parse_value(raw: &str) -> Value {
    let doc = format!("v = {raw}");
    match doc.parse::<toml::Table>() {
        Ok(mut t) => t
            .remove("v")
            .unwrap_or_else(|| Value::String(raw.to_string())),
        Err(_) => Value::String(raw.to_string()),
    }
}

fn set_path(
    table: &mut toml::Table,
    path: &[String],
    value: Value,
    var: &str,
) -> Result<(), String> {
    let (last, parents) = path.split_last().ok_or_else(|| "empty key".to_string())?;
    let mut current = table;
    for (depth, part) in parents.iter().enumerate() {
        let entry = current
            .entry(part.clone())
            .or_insert_with(|| Value::Table(toml::Table::new()));
        current = match entry {
            Value::Table(t) => t,
            _ => {
                return Err(format!(
                    "environment variable `{var}` sets a key under `{}`, which is not a table",
                    path[..=depth].join(".")
                ));
            }
        };
    }
    current.insert(last.clone(), value);
    Ok(())
}
