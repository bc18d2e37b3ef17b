//! Bounded label sets: the cardinality guard shared by every metric family.
//!
//! A family maps a label set (a small integer key) to its series. Lookups of
//! label sets already seen are wait-free reads of an insert-only table
//! ([`super::table`]) and allocate nothing. New label sets are rare: they take
//! a mutex. Once a family holds `cap`
//! label sets, every further new set is folded into one overflow series and
//! counted in `redline_metric_overflow_total{metric}`.

use std::hash::Hash;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use prometheus::IntCounter;

use super::table::InsertOnlyMap;

/// A capped map from label-set keys to series.
pub(crate) struct LabelSets<K, V> {
    map: InsertOnlyMap<K, V>,
    insert: Mutex<()>,
    /// Set once the cap is reached: later new label sets go straight to the
    /// overflow series without taking the lock (a scanner must not be able
    /// to serialize requests on it).
    full: AtomicBool,
    cap: usize,
    overflow_key: K,
    overflow: IntCounter,
}

impl<K: Hash + Eq + Clone, V> LabelSets<K, V> {
    /// `cap` counts ordinary label sets; the overflow series comes on top.
    pub(crate) fn new(cap: usize, overflow_key: K, overflow: IntCounter) -> Self {
        Self {
            map: InsertOnlyMap::with_capacity(cap + 1),
            insert: Mutex::new(()),
            full: AtomicBool::new(false),
            cap,
            overflow_key,
            overflow,
        }
    }

    /// Runs `f` on the series for `key`, creating it with `make` if needed (or
    /// using the overflow series when the family is full).
    #[inline]
    pub(crate) fn with<R>(&self, key: &K, make: impl Fn() -> V, f: impl FnOnce(&V) -> R) -> R {
        match self.map.get(key) {
            Some(series) => f(series),
            None => self.with_slow(key, make, f),
        }
    }

    #[cold]
    fn with_slow<R>(&self, key: &K, make: impl Fn() -> V, f: impl FnOnce(&V) -> R) -> R {
        if self.full.load(Ordering::Acquire)
            && *key != self.overflow_key
            && let Some(series) = self.map.get(&self.overflow_key)
        {
            self.overflow.inc();
            return f(series);
        }
        let _guard = self.insert.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(series) = self.map.get(key) {
            return f(series);
        }
        let has_overflow = self.map.get(&self.overflow_key).is_some();
        let ordinary = self.map.len() - usize::from(has_overflow);
        let key = if ordinary >= self.cap && *key != self.overflow_key {
            self.overflow.inc();
            self.full.store(true, Ordering::Release);
            &self.overflow_key
        } else {
            key
        };
        // Capacity is `cap + 1` and ordinary inserts stop at `cap` (checked
        // under the lock), so this insert always has room.
        match self.map.get_or_insert(key, || (key.clone(), make())) {
            Some((series, _)) => f(series),
            None => f(&make()),
        }
    }

    /// Every label set and its series, for collection.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.map.iter()
    }

    /// Number of label sets, overflow included.
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }
}

/// Id of the overflow entry of an [`Interner`].
pub(crate) const OVERFLOW_ID: u32 = u32::MAX;

/// The label value shown for folded series.
pub(crate) const OVERFLOW_LABEL: &str = "_OVERFLOW";

/// Turns label strings (route templates, operation names) into small integer
/// ids, so hot-path keys are plain integers. Capped like [`LabelSets`]: past
/// the cap, new strings get [`OVERFLOW_ID`].
pub(crate) struct Interner {
    ids: InsertOnlyMap<Box<str>, u32>,
    /// Set once the cap is reached (see [`LabelSets`]'s `full`).
    full: AtomicBool,
    names: RwLock<Vec<Arc<str>>>,
    cap: usize,
    overflow: IntCounter,
}

impl Interner {
    pub(crate) fn new(cap: usize, overflow: IntCounter) -> Self {
        Self {
            ids: InsertOnlyMap::with_capacity(cap),
            full: AtomicBool::new(false),
            names: RwLock::new(Vec::new()),
            cap,
            overflow,
        }
    }

    /// The id of `name`, interning it if there is room.
    #[inline]
    pub(crate) fn id(&self, name: &str) -> u32 {
        match self.ids.get(name) {
            Some(id) => *id,
            None => self.insert_slow(name),
        }
    }

    #[cold]
    fn insert_slow(&self, name: &str) -> u32 {
        if self.full.load(Ordering::Acquire) {
            self.overflow.inc();
            return OVERFLOW_ID;
        }
        // The names lock also serializes inserts, so ids are dense.
        let mut names = self.names.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(id) = self.ids.get(name) {
            return *id;
        }
        if names.len() >= self.cap {
            self.full.store(true, Ordering::Release);
            self.overflow.inc();
            return OVERFLOW_ID;
        }
        let id = names.len() as u32;
        match self.ids.get_or_insert(name, || (Box::from(name), id)) {
            Some(_) => {
                names.push(Arc::from(name));
                id
            }
            None => {
                self.overflow.inc();
                OVERFLOW_ID
            }
        }
    }

    /// The string for `id` ([`OVERFLOW_LABEL`] for the overflow id).
    pub(crate) fn name(&self, id: u32) -> Arc<str> {
        if id == OVERFLOW_ID {
            return Arc::from(OVERFLOW_LABEL);
        }
        self.names.read().unwrap_or_else(PoisonError::into_inner)[id as usize].clone()
    }

    /// All names, indexed by id.
    pub(crate) fn names(&self) -> Vec<Arc<str>> {
        self.names
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_sets_fold_into_overflow_past_the_cap() {
        let counter = IntCounter::new("t", "t").unwrap();
        let sets: LabelSets<u32, std::sync::atomic::AtomicU64> =
            LabelSets::new(3, u32::MAX, counter.clone());
        let bump = |k: u32| {
            sets.with(&k, Default::default, |v| {
                v.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            })
        };
        for k in 0..10 {
            bump(k);
        }
        bump(1);
        assert_eq!(sets.len(), 4, "3 ordinary sets plus the overflow series");
        assert_eq!(counter.get(), 7);
        let mut entries: Vec<(u32, u64)> = sets
            .iter()
            .map(|(k, v)| (*k, v.load(std::sync::atomic::Ordering::Relaxed)))
            .collect();
        entries.sort();
        assert_eq!(entries, vec![(0, 1), (1, 2), (2, 1), (u32::MAX, 7)]);
    }

    #[test]
    fn interner_caps_distinct_names() {
        let counter = IntCounter::new("t", "t").unwrap();
        let interner = Interner::new(2, counter.clone());
        assert_eq!(interner.id("/a"), 0);
        assert_eq!(interner.id("/b"), 1);
        assert_eq!(interner.id("/a"), 0);
        assert_eq!(interner.id("/c"), OVERFLOW_ID);
        assert_eq!(interner.id("/d"), OVERFLOW_ID);
        assert_eq!(counter.get(), 2);
        assert_eq!(&*interner.name(1), "/b");
        assert_eq!(&*interner.name(OVERFLOW_ID), OVERFLOW_LABEL);
    }
}
