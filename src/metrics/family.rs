//! Bounded label sets: the cardinality guard shared by every metric family.
//!
//! A family maps a label set (a small integer key) to its series. Lookups of
//! label sets already seen take one lock-free snapshot load (`arc-swap`) and
//! one hash lookup, and allocate nothing. New label sets are rare: they take a
//! mutex and publish a new snapshot (copy-on-write). Once a family holds `cap`
//! label sets, every further new set is folded into one overflow series and
//! counted in `redline_metric_overflow_total{metric}`.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use arc_swap::ArcSwap;
use foldhash::fast::RandomState;
use prometheus::IntCounter;

type Snapshot<K, V> = HashMap<K, Arc<V>, RandomState>;

/// A capped map from label-set keys to series.
pub(crate) struct LabelSets<K, V> {
    map: ArcSwap<Snapshot<K, V>>,
    insert: Mutex<()>,
    cap: usize,
    overflow_key: K,
    overflow: IntCounter,
}

impl<K: Hash + Eq + Clone, V> LabelSets<K, V> {
    /// `cap` counts ordinary label sets; the overflow series comes on top.
    pub(crate) fn new(cap: usize, overflow_key: K, overflow: IntCounter) -> Self {
        Self {
            map: ArcSwap::from_pointee(HashMap::with_hasher(RandomState::default())),
            insert: Mutex::new(()),
            cap,
            overflow_key,
            overflow,
        }
    }

    /// Runs `f` on the series for `key`, creating it with `make` if needed (or
    /// using the overflow series when the family is full).
    #[inline]
    pub(crate) fn with<R>(&self, key: &K, make: impl Fn() -> V, f: impl FnOnce(&V) -> R) -> R {
        {
            let snapshot = self.map.load();
            if let Some(series) = snapshot.get(key) {
                return f(series);
            }
        }
        let series = self.insert_slow(key, make);
        f(&series)
    }

    #[cold]
    fn insert_slow(&self, key: &K, make: impl Fn() -> V) -> Arc<V> {
        let _guard = self.insert.lock().unwrap_or_else(PoisonError::into_inner);
        let current = self.map.load_full();
        if let Some(series) = current.get(key) {
            return series.clone();
        }
        let ordinary = current.len() - usize::from(current.contains_key(&self.overflow_key));
        let key = if ordinary >= self.cap && *key != self.overflow_key {
            self.overflow.inc();
            if let Some(series) = current.get(&self.overflow_key) {
                return series.clone();
            }
            &self.overflow_key
        } else {
            key
        };
        let series = Arc::new(make());
        let mut next: Snapshot<K, V> = (*current).clone();
        next.insert(key.clone(), series.clone());
        self.map.store(Arc::new(next));
        series
    }

    /// Every label set and its series, for collection.
    pub(crate) fn entries(&self) -> Vec<(K, Arc<V>)> {
        self.map
            .load()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Number of label sets, overflow included.
    pub(crate) fn len(&self) -> usize {
        self.map.load().len()
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
    ids: ArcSwap<HashMap<Box<str>, u32, RandomState>>,
    names: RwLock<Vec<Arc<str>>>,
    insert: Mutex<()>,
    cap: usize,
    overflow: IntCounter,
}

impl Interner {
    pub(crate) fn new(cap: usize, overflow: IntCounter) -> Self {
        Self {
            ids: ArcSwap::from_pointee(HashMap::with_hasher(RandomState::default())),
            names: RwLock::new(Vec::new()),
            insert: Mutex::new(()),
            cap,
            overflow,
        }
    }

    /// The id of `name`, interning it if there is room.
    #[inline]
    pub(crate) fn id(&self, name: &str) -> u32 {
        if let Some(id) = self.ids.load().get(name) {
            return *id;
        }
        self.insert_slow(name)
    }

    #[cold]
    fn insert_slow(&self, name: &str) -> u32 {
        let _guard = self.insert.lock().unwrap_or_else(PoisonError::into_inner);
        let current = self.ids.load_full();
        if let Some(id) = current.get(name) {
            return *id;
        }
        if current.len() >= self.cap {
            self.overflow.inc();
            return OVERFLOW_ID;
        }
        let mut names = self.names.write().unwrap_or_else(PoisonError::into_inner);
        let id = names.len() as u32;
        names.push(Arc::from(name));
        let mut next = (*current).clone();
        next.insert(Box::from(name), id);
        self.ids.store(Arc::new(next));
        id
    }

    /// The string for `id` ([`OVERFLOW_LABEL`] for the overflow id).
    #[cfg(test)]
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
            .entries()
            .into_iter()
            .map(|(k, v)| (k, v.load(std::sync::atomic::Ordering::Relaxed)))
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
