//! The data-pattern sizing calculator: AWS's sizing guidance for Amazon OpenSearch Service,
//! made executable — storage, shards per index and over the retention, a recommended domain —
//! and the plan Hydrant itself follows for its embedded shards.
//!
//! The formulas (each result carries its own, with the numbers filled in):
//!
//! - minimum storage = source × (1 + replicas) × (1 + 0.10 indexing overhead)
//!   / (1 − 0.05 Linux reserved space) / (1 − 0.20 service overhead) ≈ source × (1 + replicas) × 1.45
//! - primary shards per index = ⌈(source per index + growth) × 1.1 / target shard size⌉
//! - total shards = primaries per index × (1 + replicas) × indices held over the retention
//! - a domain: at least 3 data nodes; storage, about 1.5 vCPU per active shard and at most
//!   25 shards per GiB of JVM heap on each node.

use hydrant_config::Rotation;
use serde::Serialize;

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
/// Indexing overhead: an index takes about 10% more than its source.
pub const INDEXING_OVERHEAD: f64 = 0.10;
/// Space the operating system reserves on each volume.
pub const LINUX_RESERVED: f64 = 0.05;
/// Space Amazon OpenSearch Service reserves on each node.
pub const SERVICE_OVERHEAD: f64 = 0.20;
/// Shards a node can hold per GiB of JVM heap.
pub const SHARDS_PER_HEAP_GIB: f64 = 25.0;
/// vCPUs needed per active (written) shard.
pub const VCPU_PER_ACTIVE_SHARD: f64 = 1.5;

/// The data pattern to size for.
#[derive(Debug, Clone, Serialize)]
pub struct SizingInput {
    /// Source data per day, in bytes.
    pub daily_bytes: u64,
    /// Days of data kept.
    pub retention_days: u64,
    /// Replica copies of each primary shard.
    pub replicas: u64,
    /// How often a new index starts.
    pub rotation: Rotation,
    /// Target shard size, in bytes.
    pub target_shard_bytes: u64,
    /// Room to grow, added to each index's source, in bytes.
    pub growth_bytes: u64,
}

/// One computed quantity with the formula that gave it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Figure {
    /// The value.
    pub value: f64,
    /// The formula with the numbers filled in.
    pub formula: String,
}

/// A recommended Amazon OpenSearch Service domain.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DomainPlan {
    /// Instance type of the data nodes.
    pub instance_type: String,
    /// Data nodes.
    pub data_nodes: u64,
    /// EBS storage per data node, in bytes.
    pub storage_per_node_bytes: u64,
    /// Shards each node holds on average.
    pub shards_per_node: u64,
    /// Why this shape (the binding constraint).
    pub reason: String,
}

/// The embedded plan: what Hydrant itself does on one machine.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EmbeddedPlan {
    /// Shards of each new index.
    pub shards_per_index: u64,
    /// Shards held over the retention.
    pub total_shards: u64,
    /// Disk needed for the indices over the retention, in bytes (no replicas on one node).
    pub storage_bytes: u64,
}

/// The calculator's answer.
#[derive(Debug, Clone, Serialize)]
pub struct SizingPlan {
    /// The input.
    pub input: SizingInput,
    /// Source data held over the retention, in bytes.
    pub source_bytes: u64,
    /// Source data per index, in bytes.
    pub source_per_index_bytes: u64,
    /// Indices held over the retention.
    pub indices: u64,
    /// Minimum storage, in bytes.
    pub min_storage_bytes: u64,
    /// Primary shards per index.
    pub primary_shards_per_index: u64,
    /// Shards (primaries and replicas) held over the retention.
    pub total_shards: u64,
    /// Each figure with its formula, in a fixed order (a JSON object).
    #[serde(serialize_with = "ser_figures")]
    pub figures: Vec<(String, Figure)>,
    /// A recommended managed domain.
    pub domain: DomainPlan,
    /// The plan Hydrant itself follows.
    pub embedded: EmbeddedPlan,
}

fn ser_figures<S: serde::Serializer>(f: &[(String, Figure)], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = s.serialize_map(Some(f.len()))?;
    for (name, fig) in f {
        map.serialize_entry(name, fig)?;
    }
    map.end()
}

/// Days one index covers for `rotation`, given the retention (a single index holds it all).
fn days_per_index(rotation: Rotation, retention_days: u64) -> f64 {
    match rotation {
        Rotation::NoRotation => retention_days.max(1) as f64,
        Rotation::OneHour => 1.0 / 24.0,
        Rotation::OneDay => 1.0,
        Rotation::OneWeek => 7.0,
        Rotation::OneMonth => 30.0,
    }
}

fn gib(bytes: f64) -> String {
    let g = bytes / GIB;
    if g >= 100.0 {
        format!("{g:.0} GiB")
    } else {
        format!("{g:.2} GiB")
    }
}

/// Primary shards for an index holding `source_per_index` plus `growth`.
pub fn primary_shards(source_per_index: f64, growth: f64, target: f64) -> u64 {
    (((source_per_index + growth) * (1.0 + INDEXING_OVERHEAD)) / target.max(1.0))
        .ceil()
        .max(1.0) as u64
}

/// Runs the calculator.
pub fn plan(input: &SizingInput) -> SizingPlan {
    let daily = input.daily_bytes as f64;
    let days = input.retention_days.max(1) as f64;
    let source = daily * days;
    let per_index_days = days_per_index(input.rotation, input.retention_days);
    let per_index = daily * per_index_days;
    let indices = (days / per_index_days).ceil().max(1.0) as u64;
    let replicas = input.replicas as f64;
    let growth = input.growth_bytes as f64;
    let target = input.target_shard_bytes as f64;

    let min_storage = source * (1.0 + replicas) * (1.0 + INDEXING_OVERHEAD)
        / (1.0 - LINUX_RESERVED)
        / (1.0 - SERVICE_OVERHEAD);
    let primaries = primary_shards(per_index, growth, target);
    let total_shards = primaries * (1 + input.replicas) * indices;
    let mut figures = vec![
        (
            "source".to_string(),
            Figure {
                value: source,
                formula: format!(
                    "{} per day × {} days = {}",
                    gib(daily),
                    input.retention_days,
                    gib(source)
                ),
            },
        ),
        (
            "min_storage".to_string(),
            Figure {
                value: min_storage,
                formula: format!(
                    "{} × (1 + {}) × (1 + 0.10) / (1 − 0.05) / (1 − 0.20) = {}",
                    gib(source),
                    input.replicas,
                    gib(min_storage)
                ),
            },
        ),
        (
            "primary_shards_per_index".to_string(),
            Figure {
                value: primaries as f64,
                formula: format!(
                    "⌈({} + {} growth) × 1.1 / {}⌉ = {primaries}",
                    gib(per_index),
                    gib(growth),
                    gib(target)
                ),
            },
        ),
        (
            "total_shards".to_string(),
            Figure {
                value: total_shards as f64,
                formula: format!(
                    "{primaries} primaries × (1 + {}) copies × {indices} indices = {total_shards}",
                    input.replicas
                ),
            },
        ),
    ];
    let domain = domain_plan(min_storage, primaries * (1 + input.replicas), total_shards);
    figures.push((
        "domain".to_string(),
        Figure {
            value: domain.data_nodes as f64,
            formula: domain.reason.clone(),
        },
    ));
    let embedded_primaries = primary_shards(per_index, growth, target);
    let embedded = EmbeddedPlan {
        shards_per_index: embedded_primaries,
        total_shards: embedded_primaries * indices,
        storage_bytes: (source * (1.0 + INDEXING_OVERHEAD) / (1.0 - LINUX_RESERVED)) as u64,
    };
    SizingPlan {
        input: input.clone(),
        source_bytes: source as u64,
        source_per_index_bytes: per_index as u64,
        indices,
        min_storage_bytes: min_storage as u64,
        primary_shards_per_index: primaries,
        total_shards,
        figures,
        domain,
        embedded,
    }
}

/// Data node shapes considered, smallest first: (name, vCPU, JVM heap GiB, max EBS GiB).
const INSTANCES: [(&str, u64, f64, f64); 5] = [
    ("r6g.large.search", 2, 8.0, 1024.0),
    ("r6g.xlarge.search", 4, 16.0, 1536.0),
    ("r6g.2xlarge.search", 8, 31.0, 3072.0),
    ("r6g.4xlarge.search", 16, 31.0, 6144.0),
    ("r6g.8xlarge.search", 32, 31.0, 12288.0),
];

/// The smallest domain (by total vCPUs) that holds the storage and the shards.
fn domain_plan(min_storage: f64, active_shards: u64, total_shards: u64) -> DomainPlan {
    let mut best: Option<(u64, DomainPlan)> = None;
    for (name, vcpu, heap, max_ebs) in INSTANCES {
        let by_storage = (min_storage / (max_ebs * GIB)).ceil() as u64;
        let by_cpu = (active_shards as f64 * VCPU_PER_ACTIVE_SHARD / vcpu as f64).ceil() as u64;
        let by_heap = (total_shards as f64 / (heap * SHARDS_PER_HEAP_GIB)).ceil() as u64;
        let nodes = by_storage.max(by_cpu).max(by_heap).max(3);
        let reason = match nodes {
            n if n == by_storage && n > 3 => format!(
                "{n} × {name}: storage, ⌈{} / {max_ebs} GiB per node⌉",
                gib(min_storage)
            ),
            n if n == by_cpu && n > 3 => format!(
                "{n} × {name}: CPU, ⌈{active_shards} active shards × 1.5 vCPU / {vcpu} vCPU⌉"
            ),
            n if n == by_heap && n > 3 => {
                format!("{n} × {name}: heap, ⌈{total_shards} shards / ({heap} GiB heap × 25)⌉")
            }
            n => format!("{n} × {name}: the minimum of 3 data nodes holds the storage and shards"),
        };
        let plan = DomainPlan {
            instance_type: name.to_string(),
            data_nodes: nodes,
            storage_per_node_bytes: ((min_storage / nodes as f64 / GIB).ceil() * GIB) as u64,
            shards_per_node: total_shards.div_ceil(nodes),
            reason,
        };
        let cost = nodes * vcpu;
        if best.as_ref().is_none_or(|(c, _)| cost < *c) {
            best = Some((cost, plan));
        }
    }
    best.map(|(_, p)| p).unwrap_or(DomainPlan {
        instance_type: INSTANCES[0].0.to_string(),
        data_nodes: 3,
        storage_per_node_bytes: 0,
        shards_per_node: 0,
        reason: "no instance fits".to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(
        daily_gib: f64,
        days: u64,
        replicas: u64,
        rotation: Rotation,
        growth_gib: f64,
    ) -> SizingInput {
        SizingInput {
            daily_bytes: (daily_gib * GIB) as u64,
            retention_days: days,
            replicas,
            rotation,
            target_shard_bytes: (30.0 * GIB) as u64,
            growth_bytes: (growth_gib * GIB) as u64,
        }
    }

    /// AWS's worked example: 66 GiB of data, one replica → about 191 GiB of storage.
    #[test]
    fn aws_example_storage_for_66_gib_with_one_replica() {
        let p = plan(&input(66.0, 1, 1, Rotation::NoRotation, 0.0));
        assert_eq!((p.min_storage_bytes as f64 / GIB).round(), 191.0);
    }

    /// AWS's worked example: 66 GiB in 30 GiB shards → 3 primaries; with 198 GiB to grow → 10.
    #[test]
    fn aws_example_primary_shards_with_and_without_growth() {
        assert_eq!(
            plan(&input(66.0, 1, 1, Rotation::NoRotation, 0.0)).primary_shards_per_index,
            3
        );
        assert_eq!(
            plan(&input(66.0, 1, 1, Rotation::NoRotation, 198.0)).primary_shards_per_index,
            10
        );
    }

    #[test]
    fn rotation_sets_source_per_index_and_total_shards() {
        let p = plan(&input(4.7, 14, 1, Rotation::OneDay, 0.0));
        assert_eq!(p.indices, 14);
        assert_eq!(p.primary_shards_per_index, 1);
        assert_eq!(p.total_shards, 28);
        let p = plan(&input(4.7, 14, 1, Rotation::NoRotation, 0.0));
        assert_eq!(p.indices, 1);
        // 65.8 GiB × 1.1 / 30 GiB = 2.41 → 3
        assert_eq!(p.primary_shards_per_index, 3);
        assert_eq!(p.total_shards, 6);
        let p = plan(&input(48.0, 7, 0, Rotation::OneHour, 0.0));
        assert_eq!(p.indices, 7 * 24);
    }

    #[test]
    fn domains_have_at_least_three_nodes_and_grow_with_storage() {
        let small = plan(&input(1.0, 7, 1, Rotation::OneDay, 0.0));
        assert_eq!(small.domain.data_nodes, 3);
        let big = plan(&input(2048.0, 30, 1, Rotation::OneDay, 0.0));
        let d = &big.domain;
        assert!(
            d.data_nodes * (d.storage_per_node_bytes / (GIB as u64))
                >= (big.min_storage_bytes as f64 / GIB) as u64
        );
        assert!(d.data_nodes > 3, "{d:?}");
    }

    #[test]
    fn every_figure_shows_its_formula() {
        let p = plan(&input(66.0, 1, 1, Rotation::NoRotation, 198.0));
        let shards = &p
            .figures
            .iter()
            .find(|(n, _)| n == "primary_shards_per_index")
            .unwrap()
            .1;
        assert_eq!(
            shards.formula,
            "⌈(66.00 GiB + 198 GiB growth) × 1.1 / 30.00 GiB⌉ = 10"
        );
    }
}
