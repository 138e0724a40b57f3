//! What is read once from a segment and kept: a segment never changes after it is written, so
//! its time span, its time zones or a column's table of values is the same on every search.
//! Each memo is bounded by entries and starts over when full (segments come and go with
//! merges; an entry of a merged-away segment is never asked for again).

use std::hash::Hash;

use parking_lot::Mutex;
use rustc_hash::FxBuildHasher;

type Map<K, V> = std::collections::HashMap<K, V, FxBuildHasher>;

/// A bounded map of values read from segments.
pub(crate) struct Memo<K, V> {
    kept: usize,
    map: Mutex<Map<K, V>>,
}

impl<K: Hash + Eq, V: Clone> Memo<K, V> {
    /// A memo of at most `kept` entries.
    pub(crate) const fn new(kept: usize) -> Memo<K, V> {
        Memo {
            kept,
            map: Mutex::new(Map::with_hasher(FxBuildHasher)),
        }
    }

    /// The value kept for `key`, or `read()`, kept. `read` runs outside the lock: two searches
    /// meeting a new segment at once may both read it.
    pub(crate) fn get_or(&self, key: K, read: impl FnOnce() -> V) -> V {
        if let Some(v) = self.map.lock().get(&key) {
            return v.clone();
        }
        let v = read();
        let mut map = self.map.lock();
        if map.len() >= self.kept {
            map.clear();
        }
        map.insert(key, v.clone());
        v
    }
}

#[cfg(test)]
mod tests {
    use super::Memo;

    #[test]
    fn a_value_is_read_once_and_the_memo_starts_over_when_full() {
        static MEMO: Memo<u32, u32> = Memo::new(2);
        let reads = std::cell::Cell::new(0);
        let get = |k| {
            MEMO.get_or(k, || {
                reads.set(reads.get() + 1);
                k * 10
            })
        };
        assert_eq!((get(1), get(1), get(2)), (10, 10, 20));
        assert_eq!(reads.get(), 2);
        // A third key starts over: 1 is read again.
        assert_eq!((get(3), get(1)), (30, 10));
        assert_eq!(reads.get(), 4);
    }
}
