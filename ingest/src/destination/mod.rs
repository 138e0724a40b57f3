//! Destinations: where flushed batches are delivered. Each runs as its own task or thread,
//! receives batches in order and reports the position it has durably delivered.

pub(crate) mod index;

/// Name of the embedded index destination.
pub(crate) const INDEX: &str = "index";
