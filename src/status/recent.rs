//! The recent requests the status page lists: the slowest of the last
//! [`SPAN`](super::history::SPAN) and the latest failures, each a small
//! fixed ring.
//!
//! On the request path this costs one relaxed load and a comparison: a
//! request enters the slowest ring only when it is slower than the
//! fastest one kept (the `floor`), and a failure takes the failure ring's
//! lock only if nobody holds it (`try_lock`: under an error storm some
//! failures are not listed, and no request waits). The entry is built
//! (route name, ids) only then.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

/// Slowest requests kept.
pub(crate) const SLOWEST: usize = 10;
/// Failed requests kept.
pub(crate) const FAILED: usize = 20;

/// One request, as the page lists it. Every text was checked or built
/// by redline: the route is a template, the request id passed the
/// layer's `x-request-id` check, the trace id is hex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Recent {
    pub(crate) at_ms: u64,
    pub(crate) method: &'static str,
    pub(crate) route: Box<str>,
    pub(crate) status: u16,
    pub(crate) nanos: u64,
    pub(crate) request_id: Option<Box<str>>,
    pub(crate) trace_id: Option<Box<str>>,
    /// The `error_type` label, for failures.
    pub(crate) error: Option<&'static str>,
}

/// Both rings.
pub(crate) struct RecentRequests {
    enabled: AtomicBool,
    /// Requests at or below this many nanoseconds do not enter the slowest
    /// ring (`u64::MAX` while off).
    floor: AtomicU64,
    slowest: Mutex<Vec<Recent>>,
    failed: Mutex<std::collections::VecDeque<Recent>>,
}

impl Default for RecentRequests {
    fn default() -> Self {
        Self {
            enabled: AtomicBool::new(false),
            floor: AtomicU64::new(u64::MAX),
            slowest: Mutex::new(Vec::with_capacity(SLOWEST)),
            failed: Mutex::new(std::collections::VecDeque::with_capacity(FAILED)),
        }
    }
}

impl RecentRequests {
    /// Starts keeping requests (the status page is on).
    pub(crate) fn enable(&self) {
        self.enabled.store(true, Ordering::Relaxed);
        self.floor.store(0, Ordering::Relaxed);
    }

    /// Whether a request of `nanos`, failed or not, is wanted: the one
    /// check on the request path.
    #[inline]
    pub(crate) fn wants(&self, nanos: u64, failed: bool) -> bool {
        nanos > self.floor.load(Ordering::Relaxed)
            || (failed && self.enabled.load(Ordering::Relaxed))
    }

    /// Keeps `entry` (call when [`RecentRequests::wants`] said so).
    #[cold]
    pub(crate) fn offer(&self, entry: Recent, failed: bool) {
        if failed && let Ok(mut ring) = self.failed.try_lock() {
            if ring.len() == FAILED {
                ring.pop_front();
            }
            ring.push_back(entry.clone());
        }
        if entry.nanos > self.floor.load(Ordering::Relaxed) {
            let mut ring = self.slowest.lock().unwrap_or_else(PoisonError::into_inner);
            if ring.len() == SLOWEST {
                let (i, _) = ring
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, r)| r.nanos)
                    .unwrap_or((0, &entry));
                if ring[i].nanos >= entry.nanos {
                    return;
                }
                ring[i] = entry;
            } else {
                ring.push(entry);
            }
            self.update_floor(&ring);
        }
    }

    fn update_floor(&self, ring: &[Recent]) {
        let floor = if ring.len() == SLOWEST {
            ring.iter().map(|r| r.nanos).min().unwrap_or(0)
        } else {
            0
        };
        self.floor.store(floor, Ordering::Relaxed);
    }

    /// Forgets the slowest requests older than `oldest_ms`, so the ring
    /// always shows recent ones.
    pub(crate) fn expire(&self, oldest_ms: u64) {
        if !self.enabled.load(Ordering::Relaxed) {
            return;
        }
        let mut ring = self.slowest.lock().unwrap_or_else(PoisonError::into_inner);
        ring.retain(|r| r.at_ms >= oldest_ms);
        self.update_floor(&ring);
    }

    /// The slowest requests, slowest first.
    pub(crate) fn slowest(&self) -> Vec<Recent> {
        let mut v = self
            .slowest
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        v.sort_by_key(|r| std::cmp::Reverse(r.nanos));
        v
    }

    /// The latest failures, latest first.
    pub(crate) fn failed(&self) -> Vec<Recent> {
        let ring = self.failed.lock().unwrap_or_else(PoisonError::into_inner);
        ring.iter().rev().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(at_ms: u64, nanos: u64) -> Recent {
        Recent {
            at_ms,
            method: "GET",
            route: "/a".into(),
            status: 200,
            nanos,
            request_id: None,
            trace_id: None,
            error: None,
        }
    }

    #[test]
    fn off_until_enabled() {
        let r = RecentRequests::default();
        assert!(!r.wants(u64::MAX - 1, true));
        r.enable();
        assert!(r.wants(1, false));
    }

    #[test]
    fn keeps_the_slowest_and_raises_the_floor() {
        let r = RecentRequests::default();
        r.enable();
        for n in 1..=100u64 {
            if r.wants(n, false) {
                r.offer(entry(n, n), false);
            }
        }
        let kept: Vec<u64> = r.slowest().iter().map(|e| e.nanos).collect();
        assert_eq!(kept, (91..=100).rev().collect::<Vec<_>>());
        assert!(!r.wants(90, false));
        assert!(r.wants(95, false));
        // Expiry lowers the floor again.
        r.expire(96);
        assert_eq!(r.slowest().len(), 5);
        assert!(r.wants(1, false));
    }

    #[test]
    fn failures_are_a_bounded_ring_latest_first() {
        let r = RecentRequests::default();
        r.enable();
        for n in 0..50u64 {
            r.offer(entry(n, 0), true);
        }
        let failed = r.failed();
        assert_eq!(failed.len(), FAILED);
        assert_eq!(failed[0].at_ms, 49);
    }
}
