//! `_cat/indices` and `_cat/shards`: ES's columns, as aligned text (with a header under `?v`)
//! or JSON (`?format=json`, every value a string, as ES returns it), with `?bytes=`, `?h=`
//! column selection and `?s=` sorting.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

use hydrant_index::{Definitions, IndexHandle, TemplateKind};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::QueryError;

/// URL parameters of the cat endpoints.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct CatParams {
    /// Header line.
    pub v: Option<String>,
    /// `json` (or `text`).
    pub format: Option<String>,
    /// Unit of sizes: `b`, `kb`, `mb`, `gb`, `tb`, `pb`.
    pub bytes: Option<String>,
    /// Columns to show.
    pub h: Option<String>,
    /// Columns to sort by (`col:desc`).
    pub s: Option<String>,
}

/// What a cat endpoint answers.
#[derive(Debug, Clone, PartialEq)]
pub enum CatOutput {
    /// `text/plain`.
    Text(String),
    /// `application/json`.
    Json(Value),
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Text,
    Number,
    Bytes,
}

struct Column {
    name: &'static str,
    aliases: &'static [&'static str],
    kind: Kind,
}

const INDICES: &[Column] = &[
    col("health", &["h"], Kind::Text),
    col("status", &["s"], Kind::Text),
    col("index", &["i", "idx"], Kind::Text),
    col("uuid", &["id"], Kind::Text),
    col(
        "pri",
        &["p", "shards.primary", "shardsPrimary"],
        Kind::Number,
    ),
    col(
        "rep",
        &["r", "shards.replica", "shardsReplica"],
        Kind::Number,
    ),
    col("docs.count", &["dc", "docsCount"], Kind::Number),
    col("docs.deleted", &["dd", "docsDeleted"], Kind::Number),
    col("store.size", &["ss", "storeSize"], Kind::Bytes),
    col("pri.store.size", &[], Kind::Bytes),
];

const SHARDS: &[Column] = &[
    col("index", &["i", "idx"], Kind::Text),
    col("shard", &["s", "sh"], Kind::Number),
    col("prirep", &["p", "pr", "primaryOrReplica"], Kind::Text),
    col("state", &["st"], Kind::Text),
    col("docs", &["d", "dc"], Kind::Number),
    col("store", &["sto"], Kind::Bytes),
    col("ip", &[], Kind::Text),
    col("node", &["n"], Kind::Text),
];

const HEALTH: &[Column] = &[
    col("epoch", &["t", "time"], Kind::Number),
    col("timestamp", &["ts", "hms", "hhmmss"], Kind::Text),
    col("cluster", &["cl"], Kind::Text),
    col("status", &["st"], Kind::Text),
    col("node.total", &["nt", "nodeTotal"], Kind::Number),
    col("node.data", &["nd", "nodeData"], Kind::Number),
    col(
        "shards",
        &["t", "sh", "shards.total", "shardsTotal"],
        Kind::Number,
    ),
    col(
        "pri",
        &["p", "shards.primary", "shardsPrimary"],
        Kind::Number,
    ),
    col(
        "relo",
        &["r", "shards.relocating", "shardsRelocating"],
        Kind::Number,
    ),
    col(
        "init",
        &["i", "shards.initializing", "shardsInitializing"],
        Kind::Number,
    ),
    col(
        "unassign",
        &["u", "shards.unassigned", "shardsUnassigned"],
        Kind::Number,
    ),
    col(
        "unassign.pri",
        &["up", "shards.unassigned.primary"],
        Kind::Number,
    ),
    col("pending_tasks", &["pt", "pendingTasks"], Kind::Number),
    col(
        "max_task_wait_time",
        &["mtwt", "maxTaskWaitTime"],
        Kind::Text,
    ),
    col(
        "active_shards_percent",
        &["asp", "activeShardsPercent"],
        Kind::Text,
    ),
];

const COUNT: &[Column] = &[
    col("epoch", &["t", "time"], Kind::Number),
    col("timestamp", &["ts", "hms", "hhmmss"], Kind::Text),
    col("count", &["dc", "docs.count", "docsCount"], Kind::Number),
];

const ALIASES: &[Column] = &[
    col("alias", &["a"], Kind::Text),
    col("index", &["i", "idx"], Kind::Text),
    col("filter", &["f", "fi"], Kind::Text),
    col("routing.index", &["ri", "routingIndex"], Kind::Text),
    col("routing.search", &["rs", "routingSearch"], Kind::Text),
    col("is_write_index", &["w", "isWriteIndex"], Kind::Text),
];

const NODES: &[Column] = &[
    col("ip", &["i"], Kind::Text),
    col("heap.percent", &["hp", "heapPercent"], Kind::Text),
    col("ram.percent", &["rp", "ramPercent"], Kind::Text),
    col("cpu", &[], Kind::Text),
    col("load_1m", &["l"], Kind::Text),
    col("load_5m", &["l"], Kind::Text),
    col("load_15m", &["l"], Kind::Text),
    col("node.role", &["r", "role", "nodeRole"], Kind::Text),
    col("master", &["m"], Kind::Text),
    col("name", &["n"], Kind::Text),
];

const TEMPLATES: &[Column] = &[
    col("name", &["n"], Kind::Text),
    col("index_patterns", &["t"], Kind::Text),
    col("order", &["o", "p"], Kind::Number),
    col("version", &["v"], Kind::Text),
    col("composed_of", &["c"], Kind::Text),
];

fn epoch_cells() -> [Cell; 2] {
    let now = chrono::Utc::now();
    [
        Cell::Number(now.timestamp() as u64),
        Cell::Text(now.format("%H:%M:%S").to_string()),
    ]
}

/// `GET /_cat/health`: one node, every shard a started primary — but those of damaged indices
/// (red, unassigned).
pub fn cat_health(
    indices: &[Arc<IndexHandle>],
    damaged: usize,
    p: &CatParams,
) -> Result<CatOutput, QueryError> {
    let shards: u64 = indices.iter().map(|i| i.shards().len() as u64).sum();
    let [epoch, ts] = epoch_cells();
    let status = if damaged > 0 { "red" } else { "green" };
    let percent = super::cluster::active_percent(shards as usize, damaged);
    let row = vec![
        epoch,
        ts,
        Cell::Text("hydrant".into()),
        Cell::Text(status.into()),
        Cell::Number(1),
        Cell::Number(1),
        Cell::Number(shards),
        Cell::Number(shards),
        Cell::Number(0),
        Cell::Number(0),
        Cell::Number(damaged as u64),
        Cell::Number(damaged as u64),
        Cell::Number(0),
        Cell::Text("-".into()),
        Cell::Text(format!("{percent:.1}%")),
    ];
    render(HEALTH, vec![row], p)
}

/// `GET /_cat/count[/{target}]`: documents in the target's indices.
pub fn cat_count(indices: &[Arc<IndexHandle>], p: &CatParams) -> Result<CatOutput, QueryError> {
    let docs = indices
        .iter()
        .flat_map(|i| i.shards().iter())
        .map(|s| s.searcher().num_docs())
        .sum();
    let [epoch, ts] = epoch_cells();
    render(COUNT, vec![vec![epoch, ts, Cell::Number(docs)]], p)
}

/// `GET /_cat/aliases`: each stream is an alias of its indices, and the aliases of
/// `POST /_aliases`, templates and `PUT /{index}`.
pub fn cat_aliases(
    indices: &[Arc<IndexHandle>],
    definitions: &Definitions,
    p: &CatParams,
) -> Result<CatOutput, QueryError> {
    let dash = || Cell::Text("-".into());
    let row = |alias: &str, index: &str, write: Cell| {
        vec![
            Cell::Text(alias.into()),
            Cell::Text(index.into()),
            dash(),
            dash(),
            dash(),
            write,
        ]
    };
    let mut rows: Vec<Vec<Cell>> = indices
        .iter()
        .filter(|i| i.stream() != i.name())
        .map(|i| row(i.stream(), i.name(), dash()))
        .collect();
    for (alias, targets) in definitions.aliases() {
        for index in indices {
            let props = targets
                .get(index.name())
                .or_else(|| targets.get(index.stream()));
            if let Some(props) = props {
                let write = match props.get("is_write_index").and_then(Value::as_bool) {
                    Some(w) => Cell::Text(w.to_string()),
                    None => dash(),
                };
                rows.push(row(&alias, index.name(), write));
            }
        }
    }
    render(ALIASES, rows, p)
}

/// `GET /_cat/nodes`: the one node. Figures Hydrant does not measure are left empty, as ES
/// leaves what it cannot read.
pub fn cat_nodes(p: &CatParams) -> Result<CatOutput, QueryError> {
    let empty = || Cell::Text(String::new());
    let row = vec![
        Cell::Text("127.0.0.1".into()),
        empty(),
        empty(),
        empty(),
        empty(),
        empty(),
        empty(),
        Cell::Text("dim".into()),
        Cell::Text("*".into()),
        Cell::Text("hydrant".into()),
    ];
    render(NODES, vec![row], p)
}

/// `GET /_cat/templates[/{name}]`: composable templates (their priority in `order`) and
/// legacy ones.
pub fn cat_templates(
    definitions: &Definitions,
    name: Option<&str>,
    p: &CatParams,
) -> Result<CatOutput, QueryError> {
    let mut rows = Vec::new();
    for (kind, order_key) in [
        (TemplateKind::Composable, "priority"),
        (TemplateKind::Legacy, "order"),
    ] {
        // A name that matches no template lists nothing, as in ES.
        for (n, t) in definitions.get_templates(kind, name).unwrap_or_default() {
            let list = |key: &str| {
                let items: Vec<&str> = t
                    .get(key)
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                format!("[{}]", items.join(", "))
            };
            rows.push(vec![
                Cell::Text(n),
                Cell::Text(list("index_patterns")),
                Cell::Number(t.get(order_key).and_then(Value::as_u64).unwrap_or(0)),
                Cell::Text(t.get("version").map(Value::to_string).unwrap_or_default()),
                Cell::Text(if kind == TemplateKind::Composable {
                    list("composed_of")
                } else {
                    String::new()
                }),
            ]);
        }
    }
    render(TEMPLATES, rows, p)
}

const fn col(name: &'static str, aliases: &'static [&'static str], kind: Kind) -> Column {
    Column {
        name,
        aliases,
        kind,
    }
}

/// A cell: its value (numbers and sizes raw, formatted at output).
#[derive(Clone)]
enum Cell {
    Text(String),
    Number(u64),
}

/// A stable id for an index (ES's uuids are random; this one is the same on every call).
fn uuid(index: &IndexHandle) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for salt in 0..2u8 {
        let mut h = DefaultHasher::new();
        (index.name(), index.meta().created_ms, salt).hash(&mut h);
        let mut x = h.finish();
        for _ in 0..11 {
            out.push(ALPHABET[(x % 64) as usize] as char);
            x /= 64;
        }
    }
    out
}

fn index_row(index: &IndexHandle) -> Vec<Cell> {
    let (docs, deleted, size) = index.doc_stats();
    vec![
        Cell::Text("green".into()),
        Cell::Text("open".into()),
        Cell::Text(index.name().into()),
        Cell::Text(uuid(index)),
        Cell::Number(index.shards().len() as u64),
        Cell::Number(0),
        Cell::Number(docs),
        Cell::Number(deleted),
        Cell::Number(size),
        Cell::Number(size),
    ]
}

fn shard_rows(index: &IndexHandle) -> Vec<Vec<Cell>> {
    index
        .shards()
        .iter()
        .enumerate()
        .map(|(n, shard)| {
            vec![
                Cell::Text(index.name().into()),
                Cell::Number(n as u64),
                Cell::Text("p".into()),
                Cell::Text("STARTED".into()),
                Cell::Number(shard.searcher().num_docs()),
                Cell::Number(shard.size_bytes()),
                Cell::Text("127.0.0.1".into()),
                Cell::Text("hydrant".into()),
            ]
        })
        .collect()
}

/// `GET /_cat/indices[/{target}]`.
pub fn cat_indices(indices: &[Arc<IndexHandle>], p: &CatParams) -> Result<CatOutput, QueryError> {
    let rows = indices.iter().map(|i| index_row(i)).collect();
    render(INDICES, rows, p)
}

/// `GET /_cat/shards[/{target}]`.
pub fn cat_shards(indices: &[Arc<IndexHandle>], p: &CatParams) -> Result<CatOutput, QueryError> {
    let rows = indices.iter().flat_map(|i| shard_rows(i)).collect();
    render(SHARDS, rows, p)
}

fn find(columns: &[Column], name: &str) -> Result<usize, QueryError> {
    columns
        .iter()
        .position(|c| c.name == name || c.aliases.contains(&name))
        .ok_or_else(|| QueryError::IllegalArgument(format!("header name [{name}] does not exist")))
}

fn list(text: &Option<String>) -> Vec<&str> {
    text.as_deref()
        .map(|t| {
            t.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

fn render(
    columns: &[Column],
    mut rows: Vec<Vec<Cell>>,
    p: &CatParams,
) -> Result<CatOutput, QueryError> {
    let unit = match p.bytes.as_deref() {
        None => None,
        Some(u) => Some(unit_divisor(u).ok_or_else(|| {
            QueryError::IllegalArgument(format!(
                "failed to parse [bytes] parameter [{u}]: expected one of b, kb, mb, gb, tb, pb"
            ))
        })?),
    };
    let shown: Vec<usize> = match list(&p.h).as_slice() {
        [] => (0..columns.len()).collect(),
        names => names
            .iter()
            .map(|n| find(columns, n))
            .collect::<Result<_, _>>()?,
    };
    for key in list(&p.s).iter().rev() {
        let (name, desc) = match key.split_once(':') {
            Some((n, o)) => (n, o.eq_ignore_ascii_case("desc")),
            None => (*key, false),
        };
        let i = find(columns, name)?;
        rows.sort_by(|a, b| {
            let o = match (&a[i], &b[i]) {
                (Cell::Number(x), Cell::Number(y)) => x.cmp(y),
                (Cell::Text(x), Cell::Text(y)) => x.cmp(y),
                _ => std::cmp::Ordering::Equal,
            };
            if desc { o.reverse() } else { o }
        });
    }
    let text = |c: &Cell, kind: Kind| match (c, kind, unit) {
        (Cell::Text(t), _, _) => t.clone(),
        (Cell::Number(n), Kind::Bytes, Some(d)) => (n / d).to_string(),
        (Cell::Number(n), Kind::Bytes, None) => human_bytes(*n),
        (Cell::Number(n), _, _) => n.to_string(),
    };
    if p.format.as_deref() == Some("json") {
        let out: Vec<Value> = rows
            .iter()
            .map(|row| {
                let mut o = Map::new();
                for &i in &shown {
                    o.insert(
                        columns[i].name.into(),
                        Value::String(text(&row[i], columns[i].kind)),
                    );
                }
                Value::Object(o)
            })
            .collect();
        return Ok(CatOutput::Json(Value::Array(out)));
    }
    let verbose = p.v.as_deref().is_some_and(|v| v.is_empty() || v == "true");
    let mut table: Vec<Vec<String>> = Vec::new();
    if verbose {
        table.push(shown.iter().map(|&i| columns[i].name.to_string()).collect());
    }
    for row in &rows {
        table.push(
            shown
                .iter()
                .map(|&i| text(&row[i], columns[i].kind))
                .collect(),
        );
    }
    let widths: Vec<usize> = (0..shown.len())
        .map(|c| {
            table
                .iter()
                .map(|r| r[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in &table {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(c, v)| {
                let pad = " ".repeat(widths[c] - v.chars().count());
                if columns[shown[c]].kind == Kind::Text {
                    format!("{v}{pad}")
                } else {
                    format!("{pad}{v}")
                }
            })
            .collect();
        out.push_str(cells.join(" ").trim_end());
        out.push('\n');
    }
    Ok(CatOutput::Text(out))
}

fn unit_divisor(unit: &str) -> Option<u64> {
    Some(match unit {
        "b" => 1,
        "kb" | "k" => 1 << 10,
        "mb" | "m" => 1 << 20,
        "gb" | "g" => 1 << 30,
        "tb" | "t" => 1 << 40,
        "pb" | "p" => 1 << 50,
        _ => return None,
    })
}

/// ES's human sizes: `225b`, `10.4kb`, `3mb`.
pub fn human_bytes(n: u64) -> String {
    let units = [("pb", 50), ("tb", 40), ("gb", 30), ("mb", 20), ("kb", 10)];
    for (name, shift) in units {
        let d = 1u64 << shift;
        if n >= d {
            let v = n as f64 / d as f64;
            let text = format!("{v:.1}");
            let text = text.strip_suffix(".0").unwrap_or(&text);
            return format!("{text}{name}");
        }
    }
    format!("{n}b")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_sizes_follow_elasticsearch() {
        assert_eq!(human_bytes(225), "225b");
        assert_eq!(human_bytes(1024), "1kb");
        assert_eq!(human_bytes(10_649), "10.4kb");
        assert_eq!(human_bytes(3 * 1024 * 1024), "3mb");
    }

    #[test]
    fn unknown_columns_and_units_are_errors() {
        let p = CatParams {
            h: Some("index,nope".into()),
            ..CatParams::default()
        };
        assert!(render(INDICES, Vec::new(), &p).is_err());
        let p = CatParams {
            bytes: Some("parsecs".into()),
            ..CatParams::default()
        };
        assert!(render(INDICES, Vec::new(), &p).is_err());
    }
}
