//! An insert-only concurrent hash table for label sets.
//!
//! Why not a crate: label sets are looked up on every request and inserted
//! rarely (at most `cap` times per family, never removed). `arc-swap`
//! snapshots cost two SeqCst operations per lookup (measured with callgrind:
//! ~40 instructions of a ~1,100-instruction request path, plus a fence per
//! load), and lock-based maps write a shared lock word on every read, which
//! two cores then fight over. Because entries are never removed or moved, a
//! fixed-size open-addressing table of atomic pointers needs no reclamation
//! scheme at all: a lookup is a hash, one or two acquire loads (plain loads
//! on x86-64) and a key comparison, and writes nothing.
//!
//! Invariants (they make the `unsafe` blocks below sound):
//! - a slot goes from null to a pointer from `Box::into_raw` exactly once,
//!   under `insert`, and is never changed again while the table lives;
//! - entries are freed only in `Drop`, which has `&mut self`, so no shared
//!   reference returned by `get` can outlive them;
//! - the table never holds more than `capacity` entries, half its slots, so
//!   probing always ends at a null slot.

use std::borrow::Borrow;
use std::hash::{BuildHasher, Hash};
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use foldhash::fast::RandomState;

struct Entry<K, V> {
    key: K,
    value: V,
}

/// A map that only grows, up to a fixed capacity, with wait-free reads.
pub(crate) struct InsertOnlyMap<K, V> {
    slots: Box<[AtomicPtr<Entry<K, V>>]>,
    mask: usize,
    capacity: usize,
    len: AtomicUsize,
    hasher: RandomState,
    insert: Mutex<()>,
}

// SAFETY: entries are shared across threads by reference (`&K`, `&V`), and
// moved into the table from the inserting thread: the usual `Sync`/`Send`
// requirements of a concurrent map.
unsafe impl<K: Send + Sync, V: Send + Sync> Sync for InsertOnlyMap<K, V> {}
unsafe impl<K: Send, V: Send> Send for InsertOnlyMap<K, V> {}

impl<K: Hash + Eq, V> InsertOnlyMap<K, V> {
    /// A table for at most `capacity` entries.
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        let slots = (capacity.max(1) * 2).next_power_of_two();
        Self {
            slots: (0..slots)
                .map(|_| AtomicPtr::new(std::ptr::null_mut()))
                .collect(),
            mask: slots - 1,
            capacity,
            len: AtomicUsize::new(0),
            hasher: RandomState::default(),
            insert: Mutex::new(()),
        }
    }

    /// The value for `key`, if present.
    #[inline]
    pub(crate) fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let mut i = self.hasher.hash_one(key) as usize & self.mask;
        loop {
            let ptr = self.slots[i].load(Ordering::Acquire);
            if ptr.is_null() {
                return None;
            }
            // SAFETY: non-null slots point to live entries (see invariants).
            let entry = unsafe { &*ptr };
            if entry.key.borrow() == key {
                return Some(&entry.value);
            }
            i = (i + 1) & self.mask;
        }
    }

    /// Inserts `make()` under `key` unless present. Returns the value and
    /// whether this call inserted it, or `None` when the table is full.
    pub(crate) fn get_or_insert<Q>(
        &self,
        key: &Q,
        make: impl FnOnce() -> (K, V),
    ) -> Option<(&V, bool)>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if let Some(v) = self.get(key) {
            return Some((v, false));
        }
        let _guard = self.insert.lock().unwrap_or_else(PoisonError::into_inner);
        let mut i = self.hasher.hash_one(key) as usize & self.mask;
        loop {
            let ptr = self.slots[i].load(Ordering::Acquire);
            if ptr.is_null() {
                break;
            }
            // SAFETY: as in `get`.
            let entry = unsafe { &*ptr };
            if entry.key.borrow() == key {
                return Some((&entry.value, false));
            }
            i = (i + 1) & self.mask;
        }
        if self.len.load(Ordering::Relaxed) >= self.capacity {
            return None;
        }
        let (k, value) = make();
        debug_assert!(k.borrow() == key);
        let ptr = Box::into_raw(Box::new(Entry { key: k, value }));
        self.slots[i].store(ptr, Ordering::Release);
        self.len.fetch_add(1, Ordering::Relaxed);
        // SAFETY: just stored; never freed before `Drop`.
        Some((unsafe { &(*ptr).value }, true))
    }

    /// Number of entries.
    pub(crate) fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    /// Every entry (in table order).
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.slots.iter().filter_map(|slot| {
            let ptr = slot.load(Ordering::Acquire);
            // SAFETY: as in `get`.
            (!ptr.is_null()).then(|| {
                let entry = unsafe { &*ptr };
                (&entry.key, &entry.value)
            })
        })
    }
}

impl<K, V> Drop for InsertOnlyMap<K, V> {
    fn drop(&mut self) {
        for slot in self.slots.iter_mut() {
            let ptr = *slot.get_mut();
            if !ptr.is_null() {
                // SAFETY: from `Box::into_raw`, freed once, no borrows left.
                drop(unsafe { Box::from_raw(ptr) });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn insert_get_and_capacity() {
        let m: InsertOnlyMap<Box<str>, u32> = InsertOnlyMap::with_capacity(3);
        assert_eq!(m.get("a"), None);
        assert_eq!(m.get_or_insert("a", || ("a".into(), 1)), Some((&1, true)));
        assert_eq!(m.get_or_insert("a", || unreachable!()), Some((&1, false)));
        assert_eq!(m.get_or_insert("b", || ("b".into(), 2)), Some((&2, true)));
        assert_eq!(m.get_or_insert("c", || ("c".into(), 3)), Some((&3, true)));
        assert_eq!(m.get_or_insert("d", || ("d".into(), 4)), None, "full");
        assert_eq!(m.get("c"), Some(&3));
        assert_eq!(m.len(), 3);
        let mut all: Vec<u32> = m.iter().map(|(_, v)| *v).collect();
        all.sort();
        assert_eq!(all, vec![1, 2, 3]);
    }

    #[test]
    fn concurrent_inserts_agree_and_drop_frees_everything() {
        let drops = Arc::new(AtomicUsize::new(0));
        struct Counted(Arc<AtomicUsize>, u64);
        impl Drop for Counted {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::Relaxed);
            }
        }
        let m: Arc<InsertOnlyMap<u64, Counted>> = Arc::new(InsertOnlyMap::with_capacity(1000));
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let (m, drops) = (m.clone(), drops.clone());
                std::thread::spawn(move || {
                    for k in 0..1000u64 {
                        let key = (k * 7 + t) % 1000;
                        let (v, _) = m
                            .get_or_insert(&key, || (key, Counted(drops.clone(), key * 10)))
                            .unwrap();
                        assert_eq!(v.1, key * 10);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(m.len(), 1000);
        assert_eq!(drops.load(Ordering::Relaxed), 0, "no value built twice");
        drop(Arc::try_unwrap(m).ok().unwrap());
        assert_eq!(drops.load(Ordering::Relaxed), 1000);
    }
}
