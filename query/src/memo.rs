//! What is read once from a segment and kept: a segment never changes after it is written, so
//! its time span, its time zones or a column's table of values is the same on every search.
//! Each memo is bounded (by entries, or by a weight such as bytes) and starts over when full
//! (segments come and go with merges; an entry of a merged-away segment is never asked for
//! again).

use std::hash::Hash;

use parking_lot::Mutex;
use rustc_hash::FxBuildHasher;

type Map<K, V> = std::collections::HashMap<K, V, FxBuildHasher>;

/// A bounded map of values read from segments.
pub(crate) struct Memo<K, V> {
    kept: usize,
    weigh: fn(&V) -> usize,
    /// The entries, and the sum of their weights.
    map: Mutex<(Map<K, V>, usize)>,
}

fn one<V>(_: &V) -> usize {
    1
}

impl<K: Hash + Eq, V: Clone> Memo<K, V> {
    /// A memo of at most `kept` entries.
    pub(crate) const fn new(kept: usize) -> Memo<K, V> {
        Memo::weighed(kept, one::<V>)
    }

    /// A memo whose entries weigh at most `kept` together, each `weigh(value)`; a value
    /// heavier than `kept` alone is not kept.
    pub(crate) const fn weighed(kept: usize, weigh: fn(&V) -> usize) -> Memo<K, V> {
        Memo {
            kept,
            weigh,
            map: Mutex::new((Map::with_hasher(FxBuildHasher), 0)),
        }
    }

    /// The value kept for `key`, or `read()`, kept. `read` runs outside the lock: two searches
    /// meeting a new segment at once may both read it.
    pub(crate) fn get_or(&self, key: K, read: impl FnOnce() -> V) -> V {
        match self.try_get_or(key, || Ok::<V, std::convert::Infallible>(read())) {
            Ok(v) => v,
        }
    }

    /// [`Memo::get_or`] for a `read` that can fail: a failure is not kept.
    pub(crate) fn try_get_or<E>(
        &self,
        key: K,
        read: impl FnOnce() -> Result<V, E>,
    ) -> Result<V, E> {
        if let Some(v) = self.map.lock().0.get(&key) {
            return Ok(v.clone());
        }
        let v = read()?;
        let weight = (self.weigh)(&v);
        if weight > self.kept {
            return Ok(v);
        }
        let mut guard = self.map.lock();
        let (map, used) = &mut *guard;
        if *used + weight > self.kept {
            map.clear();
            *used = 0;
        }
        if let Some(old) = map.insert(key, v.clone()) {
            *used -= (self.weigh)(&old);
        }
        *used += weight;
        Ok(v)
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

    #[test]
    fn a_weighed_memo_keeps_what_fits_its_weight() {
        static MEMO: Memo<u32, Vec<u8>> = Memo::weighed(10, Vec::len);
        let reads = std::cell::Cell::new(0);
        let get = |k: u32, n: usize| {
            MEMO.get_or(k, || {
                reads.set(reads.get() + 1);
                vec![0; n]
            })
        };
        get(1, 4);
        get(2, 6);
        get(1, 4);
        get(2, 6);
        assert_eq!(reads.get(), 2);
        // Heavier than the whole memo: read every time, and what is kept stays.
        get(3, 11);
        get(3, 11);
        assert_eq!(reads.get(), 4);
        get(1, 4);
        assert_eq!(reads.get(), 4);
        // One more byte than fits: the memo starts over.
        get(4, 1);
        get(1, 4);
        assert_eq!(reads.get(), 6);
    }
}
