//! What clients ask about the data rather than of it: mappings, field capabilities, cluster
//! health, index resolution and the cat tables.

pub mod cat;
pub mod cluster;
pub mod mapping;

pub use cat::{
    CatOutput, CatParams, cat_aliases, cat_count, cat_health, cat_indices, cat_nodes, cat_shards,
    cat_templates,
};
pub use cluster::{health, resolve};
pub use mapping::{field_caps, field_mapping, mapping};
