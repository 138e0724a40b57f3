//! Ids for records that come without one.

/// A new document id: 20 URL-safe base64 characters of the arrival time in milliseconds (48
/// bits, big-endian, never going back within a process even if the clock does), a sequence
/// number (24 bits) and a random node id drawn once per process (48 bits). The parts are those
/// of Elasticsearch's time-based auto-generated ids; the byte order is simpler.
///
/// The ids one process makes share a prefix (the time) and a suffix (the node), so they cost
/// the term dictionary and the `_id` column little: fully random ids made the indexer use 23 %
/// more CPU (its FST building could share nothing). Two processes, or two runs, differ by node;
/// one process repeats an id only after 2^24 ids within one millisecond.
pub fn new_id(arrival_ms: i64) -> Box<str> {
    use base64::Engine;
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};
    static NODE: OnceLock<[u8; 6]> = OnceLock::new();
    static LAST_MS: AtomicI64 = AtomicI64::new(i64::MIN);
    static SEQUENCE: OnceLock<AtomicU32> = OnceLock::new();
    let node = NODE.get_or_init(rand::random);
    let sequence = SEQUENCE
        .get_or_init(|| AtomicU32::new(rand::random()))
        .fetch_add(1, Ordering::Relaxed);
    let ms = LAST_MS
        .fetch_max(arrival_ms, Ordering::Relaxed)
        .max(arrival_ms);
    let mut raw = [0u8; 15];
    raw[..6].copy_from_slice(&(ms as u64).to_be_bytes()[2..]);
    raw[6..9].copy_from_slice(&sequence.to_be_bytes()[1..]);
    raw[9..].copy_from_slice(node);
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(raw)
        .into_boxed_str()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_20_chars_distinct_and_share_time_prefix_and_node_suffix() {
        let ids: Vec<Box<str>> = (0..100_000).map(|_| new_id(1_900_000_000_123)).collect();
        assert!(ids.iter().all(|id| id.len() == 20));
        let distinct: std::collections::HashSet<&str> = ids.iter().map(|i| &**i).collect();
        assert_eq!(distinct.len(), ids.len());
        assert!(
            ids.iter()
                .all(|id| id[..8] == ids[0][..8] && id[12..] == ids[0][12..])
        );
        // A later time is a new prefix; an earlier one (a clock stepped back) is not taken.
        // (Times here are later than any other test of this binary uses.)
        let later = new_id(1_900_000_001_000);
        assert_ne!(later[..8], ids[0][..8]);
        assert_eq!(new_id(1_900_000_000_000)[..8], later[..8]);
    }

    #[test]
    fn auto_ids_spread_evenly_over_shards() {
        // Ids that share their prefix and suffix still route evenly (within 3 % of the mean).
        let ids: Vec<Box<str>> = (0..60_000)
            .map(|i| new_id(1_764_115_300_000 + i / 1000))
            .collect();
        for shards in [2usize, 3, 5, 8] {
            let mut counts = vec![0usize; shards];
            for id in &ids {
                counts[crate::route(id, shards)] += 1;
            }
            let mean = ids.len() as f64 / shards as f64;
            for c in &counts {
                assert!(
                    (*c as f64 - mean).abs() / mean < 0.03,
                    "{shards} shards: {counts:?}"
                );
            }
        }
    }
}
