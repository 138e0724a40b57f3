//! `hydrant size`: the data-pattern sizing calculator.

use anyhow::bail;
use clap::Args;
use hydrant_index::sizing::{SizingInput, plan};

const EXAMPLES: &str = "\
Examples:
  hydrant size --daily 4.7GiB --retention-days 14 --replicas 1 --rotation NoRotation --target-shard-size 30GiB
  hydrant size --daily 66GiB --retention-days 1 --rotation NoRotation --growth 198GiB --json";

/// Arguments of `hydrant size`.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct SizeArgs {
    /// Source data per day, e.g. 4.7GiB.
    #[arg(long, value_parser = parse_size)]
    daily: u64,
    /// Days of data kept.
    #[arg(long, default_value_t = 14)]
    retention_days: u64,
    /// Replica copies of each primary shard (managed domain).
    #[arg(long, default_value_t = 1)]
    replicas: u64,
    /// NoRotation, OneHour, OneDay, OneWeek or OneMonth.
    #[arg(long, default_value = "OneDay")]
    rotation: String,
    /// Target shard size (AWS's guidance for logs: 30–50 GiB).
    #[arg(long, value_parser = parse_size, default_value = "30GiB")]
    target_shard_size: u64,
    /// Room to grow, added to each index's source.
    #[arg(long, value_parser = parse_size, default_value = "0")]
    growth: u64,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

fn parse_size(s: &str) -> Result<u64, String> {
    hydrant_config::parse_size_str(s)
        .ok_or_else(|| format!("`{s}` is not a size such as 4.7GiB or 512MiB"))
}

fn rotation(s: &str) -> Option<hydrant_config::Rotation> {
    use hydrant_config::Rotation::*;
    Some(match s {
        "NoRotation" => NoRotation,
        "OneHour" => OneHour,
        "OneDay" => OneDay,
        "OneWeek" => OneWeek,
        "OneMonth" => OneMonth,
        _ => return None,
    })
}

pub fn run(args: SizeArgs) -> anyhow::Result<()> {
    let Some(rot) = rotation(&args.rotation) else {
        bail!(
            "--rotation must be NoRotation, OneHour, OneDay, OneWeek or OneMonth, got `{}`",
            args.rotation
        );
    };
    if args.daily == 0 || args.target_shard_size == 0 {
        bail!("--daily and --target-shard-size must be more than 0");
    }
    let p = plan(&SizingInput {
        daily_bytes: args.daily,
        retention_days: args.retention_days,
        replicas: args.replicas,
        rotation: rot,
        target_shard_bytes: args.target_shard_size,
        growth_bytes: args.growth,
    });
    if args.json {
        return crate::print_out(&(serde_json::to_string_pretty(&p)? + "\n"));
    }
    let show = hydrant_config::show_size;
    let mut out = String::new();
    use std::fmt::Write as _;
    writeln!(
        out,
        "data pattern: {} per day, kept {} days, {} replica(s), {:?} indices, {} shards\n",
        show(args.daily),
        args.retention_days,
        args.replicas,
        rot,
        show(args.target_shard_size)
    )?;
    writeln!(out, "{:<26} {:>12}  formula", "", "value")?;
    let rows = [
        ("source held", show(p.source_bytes)),
        ("minimum storage", show(p.min_storage_bytes)),
        (
            "primary shards per index",
            p.primary_shards_per_index.to_string(),
        ),
        ("total shards", p.total_shards.to_string()),
    ];
    for ((label, value), (_, fig)) in rows.iter().zip(&p.figures) {
        writeln!(out, "{label:<26} {value:>12}  {}", fig.formula)?;
    }
    let d = &p.domain;
    writeln!(
        out,
        "\nAmazon OpenSearch Service: {} × {}, {} of storage each, about {} shards per node\n  ({})",
        d.data_nodes,
        d.instance_type,
        show(d.storage_per_node_bytes),
        d.shards_per_node,
        d.reason
    )?;
    let e = &p.embedded;
    writeln!(
        out,
        "Hydrant (embedded, one node): {} shard(s) per new index, {} shards held, about {} of disk",
        e.shards_per_index,
        e.total_shards,
        show(e.storage_bytes)
    )?;
    crate::print_out(&out)
}
