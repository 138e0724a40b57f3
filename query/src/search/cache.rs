//! The request cache: what a search found in one segment, kept for the next identical search.
//!
//! Dashboards ask the same questions again on every refresh, and log data is append-only:
//! most of an index sits in large segments that never change until a merge replaces them. So
//! the cache keeps one entry per (request, segment) — the count and the aggregations' partial
//! results of that segment — and a repeated search reruns only the segments that are new since.
//! Elasticsearch caches per shard and drops the entry on every refresh, which on a live index
//! means it is rarely hit; per segment, the sealed part of a live index stays cached.
//!
//! - **Key**: a SHA-256 of everything the segment's result depends on (the query, post filter
//!   and aggregations as parsed, the field kinds and spans they were planned with, the shard's
//!   dynamic fields), the segment's id (a UUID: a merge makes new segments, so merged-away
//!   entries are never hit again and age out), and its count of deleted documents. A segment
//!   every document of which the query matches (see `collector::Fingerprints`) is keyed by
//!   the request without its query, so moved time bounds that still hold it find it.
//! - **What is cached**: only searches Elasticsearch caches by default — `size: 0` (hits carry
//!   segment ordinals that belong to one searcher) — without scoring, `terminate_after`,
//!   a time-out in that segment, `now` anywhere in what the key holds (date math moves), `top_hits`
//!   or `significant_terms`; `request_cache=false` turns it off per request.
//! - **Bounded**: entries are weighed by the size of their results written out and the least
//!   recently used are evicted past `query.request_cache_size`; segments under
//!   `query.request_cache_min_docs` documents are cheap to rerun and not cached.

use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use sha2::{Digest, Sha256};
use tantivy::SegmentReader;
use tantivy::index::SegmentId;

use super::collector::ShardFruit;

/// The part of a cache key that names the request (and the shard's view of the fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// The fingerprint of `parts`, each written whole (length-prefixed, so that no two lists
    /// of parts run together into the same bytes).
    pub fn of(parts: &[&str]) -> Fingerprint {
        let mut h = Sha256::new();
        for p in parts {
            h.update((p.len() as u64).to_le_bytes());
            h.update(p.as_bytes());
        }
        Fingerprint(h.finalize().into())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct Key {
    request: Fingerprint,
    segment: SegmentId,
    deleted: u32,
}

struct Entry {
    count: u64,
    aggs: Option<crate::aggs::AggFruit>,
    weight: u64,
}

/// Counters of the cache, in `_nodes/stats`' `request_cache` shape.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Bytes the entries weigh.
    pub memory_size_in_bytes: u64,
    /// Entries dropped to stay within the bound.
    pub evictions: u64,
    /// Segments answered from the cache.
    pub hit_count: u64,
    /// Cacheable segments that were searched.
    pub miss_count: u64,
}

/// The per-segment request cache of one node.
pub struct RequestCache {
    entries: Mutex<State>,
    max_bytes: u64,
    min_docs: u32,
    hits: AtomicU64,
    misses: AtomicU64,
    evictions: AtomicU64,
}

struct State {
    lru: lru::LruCache<Key, Entry>,
    bytes: u64,
}

impl std::fmt::Debug for RequestCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestCache")
            .field("max_bytes", &self.max_bytes)
            .field("stats", &self.stats())
            .finish()
    }
}

/// What an entry costs besides its results: the key, the map's slot and the LRU links.
const ENTRY_OVERHEAD: u64 = 128;

impl RequestCache {
    /// A cache holding at most `max_bytes` of results, of segments of at least `min_docs`.
    pub fn new(max_bytes: u64, min_docs: u32) -> RequestCache {
        RequestCache {
            entries: Mutex::new(State {
                lru: lru::LruCache::unbounded(),
                bytes: 0,
            }),
            max_bytes,
            min_docs,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            evictions: AtomicU64::new(0),
        }
    }

    /// The cache `[query]` configures.
    pub fn from_config(config: &hydrant_config::QueryConfig) -> RequestCache {
        let min_docs = u32::try_from(config.request_cache_min_docs).unwrap_or(u32::MAX);
        RequestCache::new(config.request_cache_size, min_docs)
    }

    /// The counters as Prometheus text (`hydrant_request_cache_*`), for `GET /metrics`.
    pub fn metrics_text(&self) -> String {
        let s = self.stats();
        let mut out = String::new();
        for (name, kind, help, value) in [
            (
                "hydrant_request_cache_hits",
                "counter",
                "Segments answered from the request cache.",
                s.hit_count,
            ),
            (
                "hydrant_request_cache_misses",
                "counter",
                "Cacheable segments searched.",
                s.miss_count,
            ),
            (
                "hydrant_request_cache_evictions",
                "counter",
                "Request cache entries evicted to stay within query.request_cache_size.",
                s.evictions,
            ),
            (
                "hydrant_request_cache_bytes",
                "gauge",
                "Bytes the request cache's entries weigh.",
                s.memory_size_in_bytes,
            ),
        ] {
            let suffix = if kind == "counter" { "_total" } else { "" };
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name}{suffix} {value}\n"
            ));
        }
        out
    }

    /// Whether the cache holds anything at all (a size of 0 turns it off).
    pub fn enabled(&self) -> bool {
        self.max_bytes > 0
    }

    /// The counters.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            memory_size_in_bytes: self.entries.lock().bytes,
            evictions: self.evictions.load(Ordering::Relaxed),
            hit_count: self.hits.load(Ordering::Relaxed),
            miss_count: self.misses.load(Ordering::Relaxed),
        }
    }

    /// Drops every entry (`POST /_cache/clear`).
    pub fn clear(&self) {
        let mut state = self.entries.lock();
        state.lru.clear();
        state.bytes = 0;
    }

    fn key(&self, request: Fingerprint, segment: &SegmentReader) -> Option<Key> {
        (self.enabled() && segment.max_doc() >= self.min_docs).then(|| Key {
            request,
            segment: segment.segment_id(),
            deleted: segment.num_deleted_docs(),
        })
    }

    /// The cached result of `request` on `segment`, counted as a hit or a miss; `None` also
    /// when the segment is not one the cache keeps.
    pub(super) fn get(&self, request: Fingerprint, segment: &SegmentReader) -> Lookup {
        let Some(key) = self.key(request, segment) else {
            return Lookup::NotCached;
        };
        let found = self.entries.lock().lru.get(&key).map(|e| ShardFruit {
            count: e.count,
            hits: Vec::new(),
            aggs: e.aggs.clone(),
            terminated_early: false,
            timed_out: false,
        });
        match found {
            Some(fruit) => {
                self.hits.fetch_add(1, Ordering::Relaxed);
                Lookup::Hit(fruit)
            }
            None => {
                self.misses.fetch_add(1, Ordering::Relaxed);
                Lookup::Miss(key)
            }
        }
    }

    /// Keeps `fruit` as the result of the search [`get`](Self::get) missed, unless it is one
    /// the cache must not keep (hits, a time-out, an early stop).
    pub(super) fn put(&self, key: Key, fruit: &ShardFruit) {
        if !fruit.hits.is_empty() || fruit.timed_out || fruit.terminated_early {
            return;
        }
        let weight = fruit.aggs.as_ref().map_or(0, |a| a.weight() as u64) + ENTRY_OVERHEAD;
        if weight > self.max_bytes {
            return;
        }
        let entry = Entry {
            count: fruit.count,
            aggs: fruit.aggs.clone(),
            weight,
        };
        let mut state = self.entries.lock();
        if let Some(old) = state.lru.put(key, entry) {
            state.bytes -= old.weight;
        }
        state.bytes += weight;
        while state.bytes > self.max_bytes {
            let Some((_, old)) = state.lru.pop_lru() else {
                break;
            };
            state.bytes -= old.weight;
            self.evictions.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// What the cache had for a segment.
pub(super) enum Lookup {
    /// Not a segment the cache keeps: search it, keep nothing.
    NotCached,
    /// Search it and keep the result under this key.
    Miss(Key),
    /// The result.
    Hit(ShardFruit),
}
